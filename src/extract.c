/* extract.c — the safe writer beneath a directory fd. See extract.h and archive.h for the rules; the
 * comments here say why.
 *
 * We do not use libarchive's archive_write_disk: its checks are per-call and path-based, and it
 * would chown and mknod. Ours resolve every parent with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS), so a symlink made by an earlier entry can never be written through, and we
 * keep the resolved parent fd across consecutive entries of the same directory (what makes 100 000
 * tiny files fast). */
#include "extract.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

/* Resolution rules for every path we open beneath the rootfs: no "..", no absolute jump, no symlink
 * (not even one inside the tree: an entry's parent must be a real directory), no /proc magic link,
 * no mount crossing. */
#define BENEATH (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

static int openat2_beneath(int dirfd, const char *path, int flags)
{
	struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .resolve = BENEATH};
	for (int tries = 0;; tries++) {
		long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
		/* EAGAIN: a concurrent rename somewhere on the system made the kernel unsure; retry. */
		if (fd < 0 && errno == EAGAIN && tries < 16)
			continue;
		return (int)fd;
	}
}

struct fixup {
	char *path; /* normalised, "" = the root */
	mode_t mode;
	bool has_times;
	struct timespec ts[2];
	unsigned depth; /* number of components: deeper directories are finished first */
	size_t seq;	/* entry order: for the same directory, the last entry wins */
};

uint64_t xtract_entries(const struct archive_stats *st)
{
	return st->files + st->dirs + st->symlinks + st->hardlinks;
}

void xtract_progress(struct xtract *x)
{
	if (x->prog.on)
		output_progress_update(&x->prog, __atomic_load_n(x->in_bytes, __ATOMIC_RELAXED), x->in_total,
				       xtract_entries(x->st));
}

int xtract_write_fail(struct xtract *x, int errnum, const char *name, const char *what)
{
	if (errnum == ENOSPC || errnum == EDQUOT)
		return aj_fail(x->err, errnum, "disk full while writing entry '%s'", name);
	return aj_fail(x->err, errnum, "entry '%s': %s", name, what);
}

void xtract_init(struct xtract *x, int root, struct archive_stats *st, struct aj_err *err)
{
	memset(x, 0, sizeof *x);
	x->root = root;
	x->st = st;
	x->err = err;
	x->own_uid = x->own_gid = -1;
	x->in_bytes = &st->input_bytes;
	x->cache_fd = -1;
	/* Read the umask without keeping it changed: files whose mode it would cut get an fchmod. */
	x->umask = umask(022);
	umask(x->umask);
}

static void xtract_cache_drop(struct xtract *x)
{
	if (x->cache_fd >= 0)
		close(x->cache_fd);
	x->cache_fd = -1;
	free(x->cache_path);
	x->cache_path = NULL;
}

void xtract_release(struct xtract *x)
{
	xtract_cache_drop(x);
	for (size_t i = 0; i < x->nfix; i++)
		free(x->fix[i].path);
	free(x->fix);
	strv_free(x->skipped);
	x->skipped = NULL;
	free(x->path);
	free(x->tpath);
	x->fix = NULL;
	x->path = x->tpath = NULL;
	x->path_cap = x->tpath_cap = 0;
	x->nfix = x->capfix = 0;
}

static unsigned path_depth(const char *p)
{
	if (!*p)
		return 0;
	unsigned d = 1;
	for (; *p; p++)
		d += *p == '/';
	return d;
}

static void fixup_add(struct xtract *x, const char *path, mode_t mode, const struct timespec *ts)
{
	if (x->nfix == x->capfix) {
		x->capfix = x->capfix ? x->capfix * 2 : 256;
		x->fix = xrealloc(x->fix, x->capfix * sizeof *x->fix);
	}
	struct fixup *f = &x->fix[x->nfix];
	f->path = xstrdup(path);
	f->mode = mode;
	f->has_times = ts != NULL;
	if (ts) {
		f->ts[0] = ts[0];
		f->ts[1] = ts[1];
	}
	f->depth = path_depth(path);
	f->seq = x->nfix++;
}

static bool entry_times(const struct xtract_entry *e, struct timespec ts[2])
{
	if (!e->has_mtime)
		return false;
	ts[1] = e->mtime;
	if (e->has_atime) {
		ts[0] = e->atime;
	} else {
		ts[0].tv_sec = 0;
		ts[0].tv_nsec = UTIME_OMIT;
	}
	return true;
}

/* Open the directory rel (normalised, non-empty) beneath the root, one component at a time, so the
 * error can name the component that is a symlink or not a directory. With create, missing
 * directories are made (tar archives may omit them), mode 0755 in the end, like tar. */
static int resolve_walk(struct xtract *x, const char *rel, const char *name, bool create)
{
	cleanup_free char *buf = xstrdup(rel);
	int cur = x->root;
	char *p = buf;
	for (;;) {
		char *slash = strchr(p, '/');
		if (slash)
			*slash = '\0';
		int fd = openat2_beneath(cur, p, O_PATH | O_DIRECTORY);
		if (fd < 0 && errno == ENOENT && create) {
			if (mkdirat(cur, p, 0700) < 0 && errno != EEXIST) {
				int e = errno;
				if (cur != x->root)
					close(cur);
				return xtract_write_fail(x, e, name, "create parent directory");
			}
			fixup_add(x, buf, 0755, NULL);
			fd = openat2_beneath(cur, p, O_PATH | O_DIRECTORY);
		}
		int e = errno;
		if (cur != x->root)
			close(cur);
		if (fd < 0) {
			/* buf now ends at the failing component: it names what is wrong. */
			if (e == ELOOP)
				return aj_fail(x->err, 0,
					       "entry '%s': '%s' is a symbolic link; refusing to write through it",
					       name, buf);
			if (e == ENOTDIR)
				return aj_fail(x->err, 0, "entry '%s': '%s' is not a directory", name, buf);
			if (e == EXDEV)
				return aj_fail(x->err, 0, "entry '%s' leaves the rootfs", name);
			if (e == ENOENT)
				return aj_fail(x->err, 0, "entry '%s': '%s' does not exist", name, buf);
			return aj_fail(x->err, e, "entry '%s': open '%s'", name, buf);
		}
		cur = fd;
		if (!slash)
			return cur;
		*slash = '/';
		p = slash + 1;
	}
}

/* The fd of the parent directory of the current entry (borrowed: do not close). */
static int xtract_parent(struct xtract *x, const char *parent, const char *name)
{
	if (!*parent)
		return x->root;
	if (x->cache_path && strcmp(x->cache_path, parent) == 0)
		return x->cache_fd;
	xtract_cache_drop(x);
	int fd = openat2_beneath(x->root, parent, O_PATH | O_DIRECTORY);
	if (fd < 0)
		fd = resolve_walk(x, parent, name, true);
	if (fd < 0)
		return -1;
	x->cache_fd = fd;
	x->cache_path = xstrdup(parent);
	return fd;
}

/* Make room for the current entry at pfd/leaf, as tar does: an existing non-directory is unlinked
 * (never followed), an empty directory removed, a non-empty one refused. Returns 1 when want_dir
 * and a directory is already there (keep it), 0 when the name is free, -1 on error. */
static int make_room(struct xtract *x, int pfd, const char *leaf, const char *name, bool want_dir)
{
	struct stat sb;
	if (fstatat(pfd, leaf, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : aj_fail(x->err, errno, "entry '%s': stat", name);
	if (S_ISDIR(sb.st_mode)) {
		if (want_dir)
			return 1;
		if (unlinkat(pfd, leaf, AT_REMOVEDIR) < 0) {
			if (errno == ENOTEMPTY || errno == EEXIST)
				return aj_fail(x->err, 0, "entry '%s' would replace a non-empty directory", name);
			return aj_fail(x->err, errno, "entry '%s': remove the directory in its way", name);
		}
		/* The cached parent may be the directory just removed (or below it): forget it. */
		size_t n = strlen(x->path);
		if (x->cache_path && strncmp(x->cache_path, x->path, n) == 0 &&
		    (x->cache_path[n] == '\0' || x->cache_path[n] == '/'))
			xtract_cache_drop(x);
		return 0;
	}
	if (unlinkat(pfd, leaf, 0) < 0)
		return aj_fail(x->err, errno, "entry '%s': remove the file in its way", name);
	return 0;
}

/* The entry's data into fd, then the size reached with a trailing hole. */
static int write_data(struct xtract *x, const struct xtract_entry *e, int fd, const char *name)
{
	int64_t end = 0;
	if (e->data && e->data(x, e->data_ctx, fd, name, &end) < 0)
		return -1;
	if (e->size > end) {
		if (ftruncate(fd, e->size) < 0)
			return xtract_write_fail(x, errno, name, "extend");
		end = e->size;
	}
	x->st->bytes += (uint64_t)end;
	return 0;
}

static int extract_file(struct xtract *x, const struct xtract_entry *e, int pfd, const char *leaf, const char *name,
			mode_t mode)
{
	int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	cleanup_close int fd = openat(pfd, leaf, flags, mode);
	if (fd < 0 && errno == EEXIST) {
		if (make_room(x, pfd, leaf, name, false) < 0)
			return -1;
		fd = openat(pfd, leaf, flags, mode);
	}
	if (fd < 0)
		return xtract_write_fail(x, errno, name, "create");
	if (write_data(x, e, fd, name) < 0)
		return -1;
	/* openat applied the umask: put back what it took (the common 0644/0755 need no syscall). */
	if ((mode & x->umask) && fchmod(fd, mode) < 0)
		return aj_fail(x->err, errno, "entry '%s': chmod", name);
	struct timespec ts[2];
	if (entry_times(e, ts) && futimens(fd, ts) < 0)
		return aj_fail(x->err, errno, "entry '%s': set times", name);
	int r = close(fd);
	fd = -1;
	if (r < 0 && errno != EINTR)
		return xtract_write_fail(x, errno, name, "close");
	x->st->files++;
	return 0;
}

static int extract_dir(struct xtract *x, const struct xtract_entry *e, int pfd, const char *leaf, const char *name,
		       mode_t mode)
{
	/* 0700 until the end: a 0555 directory must still take its contents. */
	if (mkdirat(pfd, leaf, 0700) < 0) {
		if (errno != EEXIST)
			return xtract_write_fail(x, errno, name, "mkdir");
		int r = make_room(x, pfd, leaf, name, true);
		if (r < 0)
			return -1;
		if (r == 0 && mkdirat(pfd, leaf, 0700) < 0)
			return xtract_write_fail(x, errno, name, "mkdir");
	}
	struct timespec ts[2];
	bool t = entry_times(e, ts);
	fixup_add(x, x->path, mode, t ? ts : NULL);
	x->st->dirs++;
	return 0;
}

static int extract_symlink(struct xtract *x, const struct xtract_entry *e, int pfd, const char *leaf, const char *name)
{
	const char *target = e->symlink;
	if (!target || !*target)
		return aj_fail(x->err, 0, "entry '%s': symbolic link without a target", name);
	/* Stored as given: a symlink is only ever resolved inside the jail, and we never follow one. */
	if (symlinkat(target, pfd, leaf) < 0) {
		if (errno != EEXIST)
			return xtract_write_fail(x, errno, name, "symlink");
		if (make_room(x, pfd, leaf, name, false) < 0)
			return -1;
		if (symlinkat(target, pfd, leaf) < 0)
			return xtract_write_fail(x, errno, name, "symlink");
	}
	struct timespec ts[2];
	if (entry_times(e, ts) && utimensat(pfd, leaf, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return aj_fail(x->err, errno, "entry '%s': set times", name);
	x->st->symlinks++;
	return 0;
}

static int extract_hardlink(struct xtract *x, const struct xtract_entry *e, const char *parent, const char *leaf,
			    const char *name)
{
	const char *target = e->hardlink;
	size_t n = strlen(target) + 1;
	if (n > x->tpath_cap) {
		x->tpath = xrealloc(x->tpath, n);
		x->tpath_cap = n;
	}
	if (!archive_path_clean(target, x->tpath))
		return aj_fail(x->err, 0, "entry '%s': hard link target '%s' leaves the rootfs", name, target);
	if (!*x->tpath)
		return aj_fail(x->err, 0, "entry '%s': hard link target '%s' is not a regular file", name, target);
	if (strcmp(x->tpath, x->path) == 0) {
		/* A link to itself (some archivers write these): it already is what it should be. */
		x->st->hardlinks++;
		return 0;
	}
	char *slash = strrchr(x->tpath, '/');
	const char *tleaf = slash ? slash + 1 : x->tpath;
	int tfd = x->root;
	if (slash) {
		*slash = '\0';
		tfd = openat2_beneath(x->root, x->tpath, O_PATH | O_DIRECTORY);
		if (tfd < 0 && errno == ENAMETOOLONG) {
			/* Longer than PATH_MAX: a component at a time, with the same checks. */
			tfd = resolve_walk(x, x->tpath, name, false);
			*slash = '/';
			if (tfd < 0)
				return -1;
		}
		int e0 = errno;
		*slash = '/';
		if (tfd < 0) {
			if (e0 == ENOENT || e0 == ENOTDIR)
				return aj_fail(x->err, 0,
					       "entry '%s': hard link target '%s' does not exist in the archive", name,
					       target);
			if (e0 == ELOOP)
				return aj_fail(x->err, 0,
					       "entry '%s': hard link target '%s' goes through a symbolic link", name,
					       target);
			if (e0 == EXDEV)
				return aj_fail(x->err, 0, "entry '%s': hard link target '%s' leaves the rootfs", name,
					       target);
			return aj_fail(x->err, e0, "entry '%s': hard link target '%s'", name, target);
		}
	}
	struct stat sb;
	int r = fstatat(tfd, tleaf, &sb, AT_SYMLINK_NOFOLLOW);
	int e1 = errno;
	if (r < 0 || !S_ISREG(sb.st_mode)) {
		if (tfd != x->root)
			close(tfd);
		if (r < 0 && e1 == ENOENT && strv_contains(x->skipped, x->tpath)) {
			x->st->skipped_devices++;
			return 0;
		}
		if (r < 0 && e1 == ENOENT)
			return aj_fail(x->err, 0, "entry '%s': hard link target '%s' does not exist in the archive",
				       name, target);
		if (r < 0)
			return aj_fail(x->err, e1, "entry '%s': hard link target '%s'", name, target);
		return aj_fail(x->err, 0, "entry '%s': hard link target '%s' is not a regular file", name, target);
	}
	int pfd = xtract_parent(x, parent, name);
	if (pfd < 0) {
		if (tfd != x->root)
			close(tfd);
		return -1;
	}
	/* flags 0: never follow; the target was just checked to be a regular file. */
	r = linkat(tfd, tleaf, pfd, leaf, 0);
	if (r < 0 && errno == EEXIST) {
		if (make_room(x, pfd, leaf, name, false) < 0) {
			if (tfd != x->root)
				close(tfd);
			return -1;
		}
		r = linkat(tfd, tleaf, pfd, leaf, 0);
	}
	e1 = errno;
	if (tfd != x->root)
		close(tfd);
	if (r < 0)
		return xtract_write_fail(x, e1, name, "hard link");
	/* pax and cpio may carry data with a link: it belongs to the (shared) file. */
	if (e->data && e->size > 0) {
		cleanup_close int fd = openat(pfd, leaf, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return xtract_write_fail(x, errno, name, "open");
		if (write_data(x, e, fd, name) < 0)
			return -1;
	}
	x->st->hardlinks++;
	return 0;
}

int xtract_entry(struct xtract *x, const struct xtract_entry *e)
{
	const char *name = e->name;
	if (!name)
		return aj_fail(x->err, 0, "an entry without a name");
	size_t n = strlen(name) + 1;
	if (n > x->path_cap) {
		x->path = xrealloc(x->path, n);
		x->path_cap = n;
	}
	if (!archive_path_clean(name, x->path))
		return aj_fail(x->err, 0, "entry '%s' leaves the rootfs", name);

	mode_t type = e->type & S_IFMT;
	const char *hardlink = e->hardlink;
	if (!hardlink && (type == S_IFCHR || type == S_IFBLK || type == S_IFIFO || type == S_IFSOCK)) {
		/* Unprivileged, mknod fails; the jail mounts its own /dev anyway. */
		x->st->skipped_devices++;
		strv_push(&x->skipped, xstrdup(x->path));
		return 0;
	}
	if ((e->uid != 0 && e->uid != x->own_uid) || (e->gid != 0 && e->gid != x->own_gid))
		x->st->owners_flattened++;
	mode_t mode = e->perm & 07777;
	if (mode & (S_ISUID | S_ISGID)) {
		mode &= ~(mode_t)(S_ISUID | S_ISGID);
		x->st->setid_dropped++;
	}

	if (!*x->path) {
		/* "./": the root itself. It keeps u+rwx so the store can rename and delete it. */
		if (type != S_IFDIR || hardlink)
			return aj_fail(x->err, 0, "entry '%s' would replace the root directory", name);
		struct timespec ts[2];
		bool t = entry_times(e, ts);
		fixup_add(x, "", mode | S_IRWXU, t ? ts : NULL);
		x->st->dirs++;
		return 0;
	}

	/* Split into parent and leaf in place; put the '/' back before returning. */
	char *slash = strrchr(x->path, '/');
	const char *parent = "", *leaf = x->path;
	if (slash) {
		*slash = '\0';
		parent = x->path;
		leaf = slash + 1;
	}
	int r;
	if (hardlink) {
		/* make_room compares against the full path: restore it for the duration. */
		if (slash)
			*slash = '/';
		char *par = slash ? xstrndup(x->path, (size_t)(slash - x->path)) : xstrdup("");
		r = extract_hardlink(x, e, par, leaf, name);
		free(par);
		return r;
	}
	int pfd = xtract_parent(x, parent, name);
	if (slash)
		*slash = '/';
	if (pfd < 0)
		return -1;
	switch (type) {
	case S_IFREG:
		return extract_file(x, e, pfd, leaf, name, mode);
	case S_IFDIR:
		return extract_dir(x, e, pfd, leaf, name, mode);
	case S_IFLNK:
		return extract_symlink(x, e, pfd, leaf, name);
	default:
		return aj_fail(x->err, 0, "entry '%s' has an unsupported type (0%o)", name, (unsigned)type);
	}
}

static int fixup_cmp(const void *pa, const void *pb)
{
	const struct fixup *a = pa, *b = pb;
	if (a->depth != b->depth)
		return a->depth > b->depth ? -1 : 1;
	int c = strcmp(a->path, b->path);
	if (c)
		return c;
	return a->seq > b->seq ? -1 : a->seq < b->seq ? 1 : 0;
}

/* Open the directory path (normalised) beneath the root for fchmod/futimens. A path longer than
 * PATH_MAX is resolved a component at a time. */
static int open_dir_beneath(struct xtract *x, const char *path)
{
	if (!*path)
		return openat(x->root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int fd = openat2_beneath(x->root, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	if (fd >= 0 || errno != ENAMETOOLONG)
		return fd;
	const char *slash = strrchr(path, '/');
	if (!slash)
		return -1;
	cleanup_free char *parent = xstrndup(path, (size_t)(slash - path));
	struct aj_err ignored = {0}, *saved = x->err;
	x->err = &ignored;
	int pfd = resolve_walk(x, parent, path, false);
	x->err = saved;
	if (pfd < 0) {
		errno = ignored.errnum ? ignored.errnum : ENOENT;
		return -1;
	}
	fd = openat(pfd, slash + 1, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int e = errno;
	close(pfd);
	errno = e;
	return fd;
}

/* Give directories their final modes and mtimes, deepest first: a parent that loses its x bit must
 * come after everything beneath it, and creating entries inside a directory changes its mtime. */
int xtract_finish(struct xtract *x)
{
	xtract_cache_drop(x);
	if (x->nfix)
		qsort(x->fix, x->nfix, sizeof *x->fix, fixup_cmp);
	for (size_t i = 0; i < x->nfix; i++) {
		struct fixup *f = &x->fix[i];
		if (i > 0 && strcmp(f->path, x->fix[i - 1].path) == 0)
			continue; /* an earlier entry for the same directory: the later one won */
		int fd = open_dir_beneath(x, f->path);
		if (fd < 0) {
			/* Replaced by a later non-directory entry: nothing to finish. */
			if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
				continue;
			return aj_fail(x->err, errno, "directory '%s': open", f->path);
		}
		int r = fchmod(fd, f->mode);
		if (r == 0 && f->has_times)
			r = futimens(fd, f->ts);
		int e = errno;
		close(fd);
		if (r < 0)
			return aj_fail(x->err, e, "directory '%s': set mode and times", *f->path ? f->path : ".");
	}
	return 0;
}
