#include "store.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "hostpath.h"
#include "util.h"
#include "walk.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **store_list_names(const char *store_dir)
{
	char **names = NULL;
	cleanup_free char *fsdir = path_join(store_dir, "fs");
	DIR *d = opendir(fsdir);
	if (!d)
		return NULL;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		struct stat st;
		cleanup_free char *p = path_join(fsdir, e->d_name);
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
			strv_push(&names, xstrdup(e->d_name));
	}
	closedir(d);
	if (names)
		qsort(names, strv_len(names), sizeof *names, cmp_str);
	return names;
}

static int resolve_layers(const char *store_dir, const char *name, struct rootfs *r, struct aj_err *err);

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Owner and identity of a canonical rootfs path, read without following anything: the jail's mount
 * of it checks the identity again. */
static void identify(struct rootfs *r)
{
	struct stat st;
	cleanup_close int fd = hostpath_open(r->path, O_PATH | O_DIRECTORY | O_NOFOLLOW);
	if (fd >= 0 && fstat(fd, &st) == 0) {
		r->owner = st.st_uid;
		r->dev = (uint64_t)st.st_dev;
		r->ino = (uint64_t)st.st_ino;
	} else {
		r->owner = (uid_t)-1;
	}
}

void store_rootfs_release(struct rootfs *r)
{
	free(r->name);
	free(r->path);
	free(r->store_name);
	for (size_t i = 0; i < r->n_bases; i++) {
		free(r->bases[i].name);
		free(r->bases[i].path);
	}
	free(r->bases);
	free(r->edit_work);
	strv_free(r->image_env);
	memset(r, 0, sizeof *r);
}

int store_resolve(const char *store_dir, const char *fs, struct rootfs *out, struct aj_err *err)
{
	memset(out, 0, sizeof *out);
	if (!fs || strcmp(fs, "host") == 0) {
		if (!fs && store_dir) {
			cleanup_free char *def = xasprintf("%s/fs/default", store_dir);
			char real[PATH_MAX];
			struct stat st;
			bool found = stat(def, &st) == 0;
			if (!found && errno != ENOENT)
				return aj_fail(err, errno, "cannot look for a 'default' rootfs in the store %s/fs (check its "
						   "permissions, set AJAIL_HOME to a store of yours, or use --fs=host)", store_dir);
			if (found && S_ISDIR(st.st_mode) && realpath(def, real)) {
				out->kind = ROOTFS_DIR;
				out->name = xstrdup("default");
				out->path = xstrdup(real);
				out->implicit = true;
				identify(out);
				if (resolve_layers(store_dir, "default", out, err) < 0) {
					store_rootfs_release(out);
					return -1;
				}
				return 0;
			}
		}
		out->kind = ROOTFS_HOST;
		out->name = xstrdup("host");
		out->implicit = !fs;
		return 0;
	}
	if (strchr(fs, '/')) {
		char real[PATH_MAX];
		if (!realpath(fs, real))
			return aj_usage(err, "--fs=%s: %s; give a rootfs directory or a name from 'ajail fs list'", fs,
					strerror(errno));
		if (!is_dir(real))
			return aj_usage(err, "--fs=%s: not a directory", fs);
		if (strcmp(real, "/") == 0)
			return aj_usage(err, "--fs=%s: the host's / cannot be a rootfs; use --fs=host", fs);
		/* In the working directory a jail may have planted the symlink (the rule of --rw). */
		if (hostpath_check_in_cwd("--fs", fs, real, err) < 0)
			return -1;
		out->kind = ROOTFS_DIR;
		out->name = xstrdup(fs);
		out->path = xstrdup(real);
		identify(out);
		return 0;
	}
	if (config_validate_name(fs, err) < 0)
		return aj_err_wrap(err, "--fs");
	if (!store_dir)
		return aj_usage(err, "--fs=%s: neither AJAIL_HOME nor HOME is set, so there is no store", fs);
	cleanup_free char *path = xasprintf("%s/fs/%s", store_dir, fs);
	char real[PATH_MAX];
	struct stat st;
	bool found = stat(path, &st) == 0;
	if (!found && errno != ENOENT) {
		/* Not "no such rootfs": the store itself cannot be read, and that is what to fix. */
		int e = errno;
		cleanup_free char *fsdir = xasprintf("%s/fs", store_dir);
		return aj_fail(err, e, "--fs=%s: cannot look in the store %s (check its permissions, or set AJAIL_HOME "
				       "to a store of yours)", fs, e == ENOTDIR ? store_dir : fsdir);
	}
	if (!found || !S_ISDIR(st.st_mode) || !realpath(path, real)) {
		cleanup_strv char **names = store_list_names(store_dir);
		size_t cap = 256;
		for (size_t i = 0; names && names[i]; i++)
			cap += strlen(names[i]) + 2;
		cleanup_free char *list = xcalloc(1, cap);
		for (size_t i = 0; names && names[i]; i++) {
			if (i)
				strcat(list, ", ");
			strcat(list, names[i]);
		}
		return aj_usage(err, "no rootfs named '%s' in %s/fs (%s%s); make it with 'ajail fs import %s TARBALL' or "
				"'ajail fs build RECIPE %s', or use --fs=host",
				fs, store_dir, names ? "available: " : "the store is empty", names ? list : "", fs, fs);
	}
	out->kind = ROOTFS_DIR;
	out->name = xstrdup(fs);
	out->path = xstrdup(real);
	identify(out);
	if (resolve_layers(store_dir, fs, out, err) < 0) {
		store_rootfs_release(out);
		return -1;
	}
	return 0;
}

/* ---- locks: flock on a file, robust against the file being unlinked and recreated meanwhile ---- */

int store_lock_at(int dirfd, const char *name, int how)
{
	for (;;) {
		int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			return -1;
		int r;
		while ((r = flock(fd, how)) < 0 && errno == EINTR)
			;
		if (r < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		/* A sweeper may have unlinked the file between our open and our flock: then we hold a lock
		 * nobody else can see, and must take the one that is there now. */
		struct stat a, b;
		if (fstat(fd, &a) == 0 && fstatat(dirfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev)
			return fd;
		close(fd);
	}
}

/* ---- recursive removal ---- */

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452 /* Linux 6.6; the same number on every architecture */
#endif

/* chmod of the inode an O_PATH fd holds (fchmod refuses O_PATH fds): fchmodat2 with AT_EMPTY_PATH
 * where the kernel has it, else through /proc/self/fd, which leads to that inode and nowhere else. */
static int chmod_fd(int fd, mode_t mode)
{
	if (syscall(SYS_fchmodat2, fd, "", mode, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
		return -1;
	char p[64];
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	return chmod(p, mode);
}

/* Open the directory name in dfd to empty it, made u+rwx, never following a symlink a jail may
 * have swapped in: a directory we cannot read (0000, 0300) is opened O_PATH, chmod'ed through that
 * fd, and opened again through it, so the chmod and the listing hit the inode that was looked at.
 * A directory on another filesystem than dev (a mount) is refused (EXDEV): its contents are not
 * ours to delete. -1 with errno (ENOTDIR or ELOOP: not a directory, or no longer one). */
static int open_to_empty(int dfd, const char *name, dev_t dev)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno != EACCES)
			return -1;
		cleanup_close int pfd = openat(dfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (pfd < 0 || chmod_fd(pfd, 0700) < 0)
			return -1;
		char p[64];
		snprintf(p, sizeof p, "/proc/self/fd/%d", pfd);
		fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return -1;
	}
	struct stat st;
	int e = fstat(fd, &st) < 0 ? errno : dev && st.st_dev != dev ? EXDEV : 0;
	if (!e && (st.st_mode & 0700) != 0700 && fchmod(fd, 0700) < 0)
		e = errno;
	if (e) {
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Deeper than WALK_MAX_DEPTH, a directory is not entered but moved up into the top of the tree
 * being removed (where it is one level deep) and dealt with from there: one fd per level, however
 * deep a jail nested its directories. Moving a directory to another parent needs write permission
 * on it, hence the chmod, through an O_PATH fd as above. */
static int move_up(int dfd, const char *name, int topfd, unsigned long *seq)
{
	cleanup_close int pfd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (pfd >= 0 && fstat(pfd, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0700) != 0700)
		chmod_fd(pfd, 0700);
	for (;;) {
		char to[64];
		snprintf(to, sizeof to, ".ajail-deep.%lu", (*seq)++);
		if (renameat2(dfd, name, topfd, to, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
}

struct rm_frame {
	DIR *dir;   /* being emptied; owns its fd */
	char *name; /* its name in the directory of the frame below (the first frame's: in at) */
};

/* Unlink name in dfd, or, when it is a directory, open it to be emptied (made writable: it may be
 * 0555, as many rootfs directories are): 1 with *fd set, 0 when it is gone, -1 with errno. A name
 * that stops being a directory in between is unlinked again. */
static int unlink_or_open(int dfd, const char *name, dev_t dev, int *fd)
{
	for (int tries = 0;; tries++) {
		if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
			return 0;
		int unlink_errno = errno;
		if (unlink_errno != EISDIR && unlink_errno != EPERM)
			return -1;
		*fd = open_to_empty(dfd, name, dev);
		if (*fd >= 0)
			return 1;
		if (errno == ENOENT)
			return 0;
		if (errno != ENOTDIR && errno != ELOOP)
			return -1;
		if (tries == 2) {
			errno = unlink_errno; /* not a directory after all: why the unlink failed */
			return -1;
		}
	}
}

int store_remove_tree(int at, const char *name)
{
	int fd;
	int r = unlink_or_open(at, name, 0, &fd);
	if (r <= 0)
		return r;
	struct stat top;
	DIR *d = fstat(fd, &top) == 0 ? fdopendir(fd) : NULL;
	if (!d) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	/* Iterative, depth first, one frame per level: no recursion a deep tree could overflow. */
	struct rm_frame *stack = xcalloc(WALK_MAX_DEPTH, sizeof *stack);
	stack[0] = (struct rm_frame){d, xstrdup(name)};
	size_t depth = 1;
	int failed = 0; /* the first errno that stopped something from going */
	unsigned long seq = 0;
	bool rescan = false; /* something was moved up into the top since its listing began */
	while (depth > 0) {
		struct rm_frame *f = &stack[depth - 1];
		int pfd = dirfd(f->dir);
		errno = 0;
		struct dirent *e = readdir(f->dir);
		if (!e) {
			if (errno && !failed)
				failed = errno;
			if (depth == 1 && rescan && !errno) {
				rescan = false;
				rewinddir(f->dir);
				continue;
			}
			closedir(f->dir);
			int parent = depth > 1 ? dirfd(stack[depth - 2].dir) : at;
			if (unlinkat(parent, f->name, AT_REMOVEDIR) < 0 && errno != ENOENT && !failed)
				failed = errno;
			free(f->name);
			depth--;
			continue;
		}
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (depth == WALK_MAX_DEPTH) {
			if (unlinkat(pfd, e->d_name, 0) == 0 || errno == ENOENT)
				continue;
			if ((errno == EISDIR || errno == EPERM) && move_up(pfd, e->d_name, dirfd(stack[0].dir), &seq) == 0)
				rescan = true;
			else if (errno != ENOENT && !failed)
				failed = errno;
			continue;
		}
		int sub;
		r = unlink_or_open(pfd, e->d_name, top.st_dev, &sub);
		DIR *sd = r > 0 ? fdopendir(sub) : NULL;
		if (!sd) {
			if (r != 0 && !failed)
				failed = errno;
			if (r > 0)
				close(sub);
			continue;
		}
		stack[depth++] = (struct rm_frame){sd, xstrdup(e->d_name)};
	}
	free(stack);
	errno = failed;
	return failed ? -1 : 0;
}

/* ---- opening and sweeping ---- */

static int mkdir_at(int dirfd, const char *name, mode_t mode)
{
	return mkdirat(dirfd, name, mode) < 0 && errno != EEXIST ? -1 : 0;
}

void store_tmp_sweep_name(int tmpfd, const char *name)
{
	store_remove_tree(tmpfd, name);
	static const char *const suffixes[] = { STORE_BUILD_SUFFIX, STORE_WORK_SUFFIX, STORE_OCI_SUFFIX };
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		cleanup_free char *aside = xasprintf("%s%s", name, suffixes[i]);
		store_remove_tree(tmpfd, aside);
	}
	/* Where builds kept their tarball before they had a directory of their own. */
	static const char *const old[] = { ".tar", ".tar.part" };
	for (size_t i = 0; i < sizeof old / sizeof old[0]; i++) {
		cleanup_free char *f = xasprintf("%s%s", name, old[i]);
		unlinkat(tmpfd, f, 0);
	}
}

/* Imports killed half-way left fs/.tmp/<name> with a lock nobody holds; removals, fs/.trash/<x>. */
static void sweep(struct store *s)
{
	cleanup_close int tmp = openat(s->fsfd, ".tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tmp >= 0) {
		DIR *d = fdopendir(dup(tmp));
		struct dirent *e;
		while (d && (e = readdir(d))) {
			size_t n = strlen(e->d_name);
			if (n < 6 || strcmp(e->d_name + n - 5, ".lock") != 0)
				continue;
			int fd = store_lock_at(tmp, e->d_name, LOCK_EX | LOCK_NB);
			if (fd < 0)
				continue; /* an import in progress */
			cleanup_free char *base = xstrndup(e->d_name, n - 5);
			store_tmp_sweep_name(tmp, base);
			unlinkat(tmp, e->d_name, 0);
			close(fd);
		}
		if (d)
			closedir(d);
	}
	cleanup_close int trash = openat(s->fsfd, ".trash", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (trash >= 0) {
		DIR *d = fdopendir(dup(trash));
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			/* A removal in progress holds the lock of its own entry. */
			cleanup_free char *lock = xasprintf("%s.lock", e->d_name);
			if (strstr(e->d_name, ".lock"))
				continue;
			int fd = store_lock_at(trash, lock, LOCK_EX | LOCK_NB);
			if (fd < 0)
				continue;
			store_remove_tree(trash, e->d_name);
			unlinkat(trash, lock, 0);
			close(fd);
		}
		if (d)
			closedir(d);
	}
}

int store_open(const char *dir, bool create, struct store *s, struct aj_err *err)
{
	memset(s, 0, sizeof *s);
	s->fsfd = -1;
	if (!dir)
		return aj_usage(err, "neither AJAIL_HOME nor HOME is set, so there is no store");
	cleanup_free char *fs = path_join(dir, "fs");
	if (create) {
		/* mkdir -p of the store itself; its parents are the user's business. */
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return aj_fail(err, errno, "create the store %s", dir);
		if (mkdir(fs, 0755) < 0 && errno != EEXIST)
			return aj_fail(err, errno, "create %s", fs);
	}
	s->fsfd = open(fs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->fsfd < 0) {
		if (errno == ENOENT && !create) {
			s->dir = xstrdup(dir);
			return 0; /* an empty store */
		}
		return aj_fail(err, errno, "open the store %s", fs);
	}
	s->dir = xstrdup(dir);
	if (create && (mkdir_at(s->fsfd, ".tmp", 0700) < 0 || mkdir_at(s->fsfd, ".trash", 0700) < 0 ||
		       mkdir_at(s->fsfd, ".meta", 0755) < 0)) {
		int e = errno;
		store_close(s);
		return aj_fail(err, e, "prepare the store %s", fs);
	}
	sweep(s);
	return 0;
}

void store_close(struct store *s)
{
	if (s->fsfd >= 0)
		close(s->fsfd);
	free(s->dir);
	memset(s, 0, sizeof *s);
	s->fsfd = -1;
}

int store_open_rootfs(struct store *s, const char *name, struct aj_err *err)
{
	if (config_validate_name(name, err) < 0)
		return -1;
	int fd = s->fsfd >= 0 ? openat(s->fsfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (fd < 0) {
		/* A usage error, as --fs=NAME's: the name was wrong, not the disk. */
		if (s->fsfd < 0 || errno == ENOENT || errno == ENOTDIR)
			return aj_usage(err, "no rootfs named '%s' in %s/fs; see 'ajail fs list'", name, s->dir);
		return aj_fail(err, errno, "open rootfs '%s'", name);
	}
	return fd;
}

/* ---- metadata ---- */

/* Reversible: any byte string comes back as it went in, and a value is always one line. */
static void meta_put(FILE *b, const char *key, const char *v)
{
	fprintf(b, "%s=", key);
	for (const unsigned char *c = (const unsigned char *)v; *c; c++) {
		if (*c == '\\')
			fputs("\\\\", b);
		else if (*c == '\n')
			fputs("\\n", b);
		else if (*c < 0x20 || *c == 0x7f)
			fprintf(b, "\\x%02x", *c);
		else
			fputc(*c, b);
	}
	fputc('\n', b);
}

static char *meta_unescape(const char *p, size_t n)
{
	char *out = xmalloc(n + 1), *o = out;
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\\' || i + 1 >= n) {
			*o++ = p[i];
		} else if (p[i + 1] == 'n') {
			*o++ = '\n';
			i++;
		} else if (p[i + 1] == 'x' && i + 3 < n && isxdigit((unsigned char)p[i + 2]) &&
			   isxdigit((unsigned char)p[i + 3])) {
			char hex[3] = { p[i + 2], p[i + 3], 0 };
			unsigned v = (unsigned)strtoul(hex, NULL, 16);
			*o++ = v ? (char)v : '?'; /* a NUL would cut the string short: never one */
			i += 3;
		} else {
			*o++ = p[i + 1];
			i++;
		}
	}
	*o = '\0';
	return out;
}

char *store_meta_format(const struct store_meta *m)
{
	char *text = NULL;
	size_t len = 0;
	FILE *b = open_memstream(&text, &len);
	if (!b)
		abort(); /* out of memory, as x* allocations treat it */
	meta_put(b, "source", m->source ? m->source : "");
	fprintf(b, "created=%lld\n", (long long)m->created);
	if (m->base)
		meta_put(b, "base", m->base);
	for (size_t i = 0; m->env && m->env[i]; i++)
		meta_put(b, "env", m->env[i]);
	if (m->workdir)
		meta_put(b, "workdir", m->workdir);
	for (size_t i = 0; m->entrypoint && m->entrypoint[i]; i++)
		meta_put(b, "entrypoint", m->entrypoint[i]);
	for (size_t i = 0; m->cmd && m->cmd[i]; i++)
		meta_put(b, "cmd", m->cmd[i]);
	if (m->user)
		meta_put(b, "user", m->user);
	fclose(b);
	return text;
}

void store_meta_parse(const char *text, struct store_meta *m)
{
	memset(m, 0, sizeof *m);
	for (const char *p = text; p && *p;) {
		const char *end = strchrnul(p, '\n');
		const char *eq = memchr(p, '=', (size_t)(end - p));
		if (eq) {
			size_t k = (size_t)(eq - p);
			char *v = meta_unescape(eq + 1, (size_t)(end - eq - 1));
#define KEY(name) (k == sizeof name - 1 && strncmp(p, name, k) == 0)
			char **one = KEY("source") ? &m->source : KEY("base") ? &m->base : KEY("workdir") ? &m->workdir
								 : KEY("user") ? &m->user : NULL;
			char ***list = KEY("env") ? &m->env : KEY("entrypoint") ? &m->entrypoint : KEY("cmd") ? &m->cmd : NULL;
			if (KEY("created"))
				m->created = strtoll(v, NULL, 10);
#undef KEY
			if (one) {
				free(*one);
				*one = v;
			} else if (list && strv_len(*list) < 4096) {
				strv_push(list, v);
			} else {
				free(v);
			}
		}
		p = *end ? end + 1 : end;
	}
	if (m->base && !*m->base) {
		free(m->base);
		m->base = NULL;
	}
	if (!m->source)
		m->source = xstrdup("");
}

void store_meta_release(struct store_meta *m)
{
	free(m->source);
	free(m->base);
	strv_free(m->env);
	free(m->workdir);
	strv_free(m->entrypoint);
	strv_free(m->cmd);
	free(m->user);
	memset(m, 0, sizeof *m);
}

/* fs/.meta is the store's own (no jail sees it), but read it bounded all the same. */
static int meta_read_at(int fsfd, const char *name, struct store_meta *m)
{
	cleanup_close int meta = openat(fsfd, ".meta", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cleanup_free char *text = meta >= 0 ? read_file_at(meta, name, 1u << 16) : NULL;
	store_meta_parse(text, m);
	return text ? 0 : -1;
}

int store_meta_read(struct store *s, const char *name, struct store_meta *m)
{
	return meta_read_at(s->fsfd, name, m);
}

static int write_meta(struct store *s, const char *name, const struct store_meta *given)
{
	cleanup_close int meta = openat(s->fsfd, ".meta", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (meta < 0)
		return -1;
	cleanup_free char *tmp = xasprintf("%s.%d.tmp", name, (int)getpid());
	struct store_meta m = *given;
	m.created = (int64_t)time(NULL);
	cleanup_free char *text = store_meta_format(&m);
	int fd = openat(meta, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, text, strlen(text));
	close(fd);
	if (w != (ssize_t)strlen(text) || renameat(meta, tmp, meta, name) < 0) {
		unlinkat(meta, tmp, 0);
		return -1;
	}
	return 0;
}

int store_meta_set_source(struct store *s, const char *name, const char *source)
{
	struct store_meta m;
	meta_read_at(s->fsfd, name, &m);
	free(m.source);
	m.source = xstrdup(source);
	int r = write_meta(s, name, &m);
	store_meta_release(&m);
	return r;
}

/* ---- layers ---- */

/* A store name's own name: "default" (a symlink in fs/) resolved, one level, to a name of the store. */
static char *real_name(int fsfd, const char *name)
{
	char target[256];
	ssize_t n = readlinkat(fsfd, name, target, sizeof target - 1);
	if (n <= 0)
		return xstrdup(name);
	target[n] = '\0';
	const char *slash = strrchr(target, '/');
	return xstrdup(slash ? slash + 1 : target);
}

static int chain_at(int fsfd, const char *store_dir, const char *name, char ***names, struct aj_err *err)
{
	*names = NULL;
	strv_push(names, real_name(fsfd, name));
	for (;;) {
		const char *top = (*names)[strv_len(*names) - 1];
		struct store_meta m;
		meta_read_at(fsfd, top, &m);
		if (!m.base) {
			store_meta_release(&m);
			return 0;
		}
		struct stat st;
		bool loop = strv_contains(*names, m.base);
		if (loop || strv_len(*names) >= STORE_MAX_DEPTH) {
			if (loop)
				aj_fail(err, 0, "rootfs '%s': its layers form a loop (%s on %s); remove one of them", (*names)[0],
					top, m.base);
			else
				aj_fail(err, 0, "rootfs '%s': more than %d layers deep (%s on %s); build it on a flatter base",
					(*names)[0], STORE_MAX_DEPTH, top, m.base);
			store_meta_release(&m);
			goto fail;
		}
		if (config_validate_name(m.base, err) < 0 || fstatat(fsfd, m.base, &st, 0) < 0 || !S_ISDIR(st.st_mode)) {
			aj_fail(err, 0, "rootfs '%s' is a layer on '%s', which is not in %s/fs; import or build '%s' again, or "
					"remove the layer ('ajail fs rm %s')", top, m.base, store_dir, m.base, top);
			store_meta_release(&m);
			goto fail;
		}
		strv_push(names, steal_pointer(&m.base));
		store_meta_release(&m);
	}
fail:
	strv_free(*names);
	*names = NULL;
	return -1;
}

int store_layer_chain(struct store *s, const char *name, char ***names, struct aj_err *err)
{
	return chain_at(s->fsfd, s->dir, name, names, err);
}

char **store_layers_on(struct store *s, const char *name)
{
	char **out = NULL;
	/* The rootfses are fs/'s entries (a name may hold dots: never guess from .meta's file names). */
	DIR *d = s->fsfd >= 0 ? fdopendir(dup(s->fsfd)) : NULL;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		struct stat st;
		if (e->d_name[0] == '.' || fstatat(s->fsfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
			continue;
		struct store_meta m;
		meta_read_at(s->fsfd, e->d_name, &m);
		if (m.base && strcmp(m.base, name) == 0)
			strv_push(&out, xstrdup(e->d_name));
		store_meta_release(&m);
	}
	if (d)
		closedir(d);
	if (out)
		qsort(out, strv_len(out), sizeof *out, cmp_str);
	return out;
}

/* Fill r's store name and, for a layer, its bases (store_resolve's last step). */
static int resolve_layers(const char *store_dir, const char *name, struct rootfs *r, struct aj_err *err)
{
	/* Canonical: the jail opens each layer beneath the old root without following a symlink. */
	cleanup_free char *given = xasprintf("%s/fs", store_dir);
	char fsdir[PATH_MAX];
	cleanup_close int fsfd = realpath(given, fsdir) ? open(fsdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (fsfd < 0)
		return 0;
	cleanup_strv char **names = NULL;
	if (chain_at(fsfd, store_dir, name, &names, err) < 0)
		return -1;
	r->store_name = xstrdup(names[0]);
	for (size_t i = 0; names[i] && !r->image_env; i++) {
		struct store_meta m;
		meta_read_at(fsfd, names[i], &m);
		r->image_env = steal_pointer(&m.env);
		store_meta_release(&m);
	}
	size_t n = strv_len(names) - 1;
	if (!n)
		return 0;
	r->bases = xcalloc(n, sizeof *r->bases);
	for (size_t i = 0; i < n; i++) {
		struct rootfs_base *b = &r->bases[i];
		b->name = xstrdup(names[i + 1]);
		b->path = xasprintf("%s/%s", fsdir, b->name);
		struct stat st;
		cleanup_close int fd = hostpath_open(b->path, O_PATH | O_DIRECTORY | O_NOFOLLOW);
		if (fd < 0 || fstat(fd, &st) < 0) {
			r->n_bases = i + 1;
			return aj_fail(err, errno, "rootfs '%s': open its base '%s'", names[0], b->name);
		}
		b->dev = (uint64_t)st.st_dev;
		b->ino = (uint64_t)st.st_ino;
	}
	r->n_bases = n;
	return 0;
}

/* ---- transactions: import into a temp directory, then rename into place ---- */

int store_txn_begin(struct store *s, const char *name, struct store_txn *t, struct aj_err *err)
{
	memset(t, 0, sizeof *t);
	t->lockfd = t->dirfd = -1;
	if (config_validate_name(name, err) < 0)
		return -1;
	if (strcmp(name, "host") == 0)
		return aj_usage(err, "'host' is reserved for the built-in host rootfs; choose another name");
	struct stat st;
	if (fstatat(s->fsfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return aj_fail(err, 0, "rootfs '%s' exists already; remove it first with 'ajail fs rm %s'", name, name);
	cleanup_close int tmp = openat(s->fsfd, ".tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tmp < 0)
		return aj_fail(err, errno, "open %s/fs/.tmp", s->dir);
	cleanup_free char *lock = xasprintf("%s.lock", name);
	t->lockfd = store_lock_at(tmp, lock, LOCK_EX | LOCK_NB);
	if (t->lockfd < 0) {
		if (errno == EWOULDBLOCK)
			return aj_fail(err, 0, "another import of '%s' is in progress", name);
		return aj_fail(err, errno, "lock %s", lock);
	}
	/* We hold the lock: whatever is there under the name is a leftover. */
	store_remove_tree(tmp, name);
	if (mkdirat(tmp, name, 0755) < 0) {
		aj_fail(err, errno, "create %s/fs/.tmp/%s", s->dir, name);
		goto fail;
	}
	t->dirfd = openat(tmp, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (t->dirfd < 0) {
		aj_fail(err, errno, "open %s/fs/.tmp/%s", s->dir, name);
		goto fail;
	}
	t->store = s;
	t->name = xstrdup(name);
	return 0;
fail:
	unlinkat(tmp, lock, 0);
	close(t->lockfd);
	t->lockfd = -1;
	return -1;
}

int store_txn_commit(struct store_txn *t, const char *source, struct aj_err *err)
{
	struct store_meta m = { .source = (char *)source };
	return store_txn_commit_meta(t, &m, err);
}

int store_txn_commit_meta(struct store_txn *t, const struct store_meta *m, struct aj_err *err)
{
	struct store *s = t->store;
	cleanup_close int biglock = store_lock_at(s->fsfd, ".lock", LOCK_EX);
	if (biglock < 0)
		return aj_fail(err, errno, "lock the store");
	struct stat st;
	/* `fs rm` of the base takes the same lock and refuses while a layer names it: under it, the
	 * base either is there now and stays, or the layer is not installed. */
	if (m->base && (fstatat(s->fsfd, m->base, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode)))
		return aj_fail(err, 0, "the base '%s' of '%s' was removed meanwhile; nothing was kept", m->base, t->name);
	cleanup_close int tmp = openat(s->fsfd, ".tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tmp < 0)
		return aj_fail(err, errno, "open the store's .tmp");
	struct stat there;
	if (fstatat(s->fsfd, t->name, &there, AT_SYMLINK_NOFOLLOW) == 0)
		return aj_fail(err, 0, "rootfs '%s' was created by someone else meanwhile; nothing was changed", t->name);
	/* The metadata first: a layer without its base= is a broken flat rootfs, so a kill between the
	 * two steps must leave at most a metadata file with no rootfs (ignored, overwritten next time). */
	if (write_meta(s, t->name, m) < 0) {
		if (m->base)
			return aj_fail(err, errno, "write the metadata of '%s'", t->name);
		fprintf(stderr, "ajail: warning: could not write the metadata of '%s': %s\n", t->name, strerror(errno));
	}
	if (renameat2(tmp, t->name, s->fsfd, t->name, RENAME_NOREPLACE) < 0) {
		int e = errno;
		cleanup_close int meta = openat(s->fsfd, ".meta", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (meta >= 0)
			unlinkat(meta, t->name, 0);
		if (e == EEXIST)
			return aj_fail(err, 0, "rootfs '%s' was created by someone else meanwhile; nothing was changed", t->name);
		return aj_fail(err, e, "install rootfs '%s'", t->name);
	}
	cleanup_free char *lock = xasprintf("%s.lock", t->name);
	close(t->dirfd);
	t->dirfd = -1;
	unlinkat(tmp, lock, 0);
	close(t->lockfd);
	t->lockfd = -1;
	free(t->name);
	t->name = NULL;
	return 0;
}

void store_txn_abort(struct store_txn *t)
{
	if (!t->name)
		return;
	cleanup_close int tmp = openat(t->store->fsfd, ".tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t->dirfd >= 0)
		close(t->dirfd);
	if (tmp >= 0) {
		store_tmp_sweep_name(tmp, t->name);
		cleanup_free char *lock = xasprintf("%s.lock", t->name);
		unlinkat(tmp, lock, 0);
	}
	if (t->lockfd >= 0)
		close(t->lockfd);
	free(t->name);
	memset(t, 0, sizeof *t);
	t->lockfd = t->dirfd = -1;
}

/* ---- running jails ----
 *
 * Each jail on a store rootfs holds a shared flock on fs/.meta/<name>.use while it runs; `fs rm`
 * takes it exclusively. Opening an existing file and locking it costs two syscalls, where a record
 * file per jail cost a file creation on every start (slow on some disks). Who holds the lock, for
 * "in use by pid N", comes from /proc/locks. */

/* The store name of a rootfs directory, if it is one: its canonical path is <store>/fs/<name>. */
static char *store_name_of(const char *store_dir, const char *rootfs_path)
{
	char real[PATH_MAX];
	cleanup_free char *fs = path_join(store_dir, "fs");
	if (!realpath(fs, real) || !path_is_under(rootfs_path, real))
		return NULL;
	const char *rel = path_relative(rootfs_path, real);
	return *rel && !strchr(rel, '/') ? xstrdup(rel) : NULL;
}

static char *lock_holders(int fd);

int store_register_jail(const char *store_dir, const char *rootfs_path, bool edit, struct aj_err *err)
{
	if (!store_dir)
		return -1;
	cleanup_free char *name = store_name_of(store_dir, rootfs_path);
	if (!name)
		return -1; /* not a store rootfs: fs rm cannot remove it anyway */
	cleanup_free char *meta = xasprintf("%s/fs/.meta", store_dir);
	if (mkdir(meta, 0755) < 0 && errno != EEXIST)
		return -1;
	cleanup_free char *use = xasprintf("%s/%s.use", meta, name);
	int fd = open(use, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -1;
	/* An --fs-edit jail writes the directory that every other jail on this rootfs has as its overlay's
	 * lower layer, and overlayfs leaves changes beneath a mounted overlay undefined: so it holds the
	 * lock exclusively, as `fs rm` does. `fs rm` holds it only while it moves the rootfs away, a
	 * jail for its whole run: a short wait tells the two apart. */
	for (int tries = 0;; tries++) {
		if (flock(fd, (edit ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0)
			return fd;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK || tries >= 200) /* 2 s */
			break;
		usleep(10000);
	}
	if (errno != EWOULDBLOCK) {
		close(fd);
		return -1;
	}
	cleanup_free char *who = lock_holders(fd);
	close(fd);
	if (edit)
		aj_fail(err, 0, "--fs-edit: rootfs '%s' is in use by a running jail (%s), and the changes would land "
				"beneath it; stop it first, or run without --fs-edit", name, who);
	else
		aj_fail(err, 0, "rootfs '%s' is being changed by a jail with --fs-edit (%s); wait for it to exit", name, who);
	return -2;
}

char *store_pending_path(const char *store_dir, const char *rootfs_path)
{
	cleanup_free char *name = store_dir ? store_name_of(store_dir, rootfs_path) : NULL;
	return name ? xasprintf("%s/fs/.meta/%s.pending", store_dir, name) : NULL;
}

void store_unregister_jail(const char *store_dir, int fd)
{
	(void)store_dir;
	if (fd >= 0)
		close(fd);
}

/* "pid N: its command line" for every process holding a lock on fd's file; NULL when none. */
static char *lock_holders(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return NULL;
	FILE *f = fopen("/proc/locks", "re");
	if (!f)
		return xstrdup("a running jail");
	char *found = NULL;
	char line[512];
	while (fgets(line, sizeof line, f)) {
		if (strstr(line, "->")) /* a waiter, not a holder */
			continue;
		int pid;
		unsigned maj, min;
		unsigned long ino;
		if (sscanf(line, "%*d: %*s %*s %*s %d %x:%x:%lu", &pid, &maj, &min, &ino) != 4)
			continue;
		if (ino != st.st_ino || maj != major(st.st_dev) || min != minor(st.st_dev))
			continue;
		char path[64], cmd[256] = "?";
		snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
		cleanup_close int cfd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = cfd >= 0 ? read(cfd, cmd, sizeof cmd - 1) : -1;
		if (n > 0) {
			cmd[n] = '\0';
			for (ssize_t i = 0; i < n - 1; i++)
				if (!cmd[i])
					cmd[i] = ' ';
		}
		char *next = xasprintf("%s%spid %d: %s", found ? found : "", found ? "; " : "", pid, cmd);
		free(found);
		found = next;
	}
	fclose(f);
	return found ? found : xstrdup("a running jail");
}

/* Who runs a jail on rootfs name, or NULL. With hold, the exclusive lock stays taken in *lockfd
 * (when nobody uses it) so that no jail can start on it until the caller closes it. */
static char *jails_using(struct store *s, const char *name, int *lockfd)
{
	if (lockfd)
		*lockfd = -1;
	cleanup_free char *use = xasprintf(".meta/%s.use", name);
	int fd = openat(s->fsfd, use, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		if (lockfd)
			*lockfd = fd;
		else
			close(fd);
		return NULL;
	}
	char *who = lock_holders(fd);
	close(fd);
	return who;
}

/* ---- listing and removing ---- */

/* du and find in one walk: bytes on disk and number of entries. Iterative, one fd per level, at
 * most WALK_MAX_DEPTH levels (what lies deeper is not counted: a listing's figures are not worth
 * failing for), and never into another filesystem. Takes dfd over. */
/* Inodes with several names, so that a hard-linked file counts once, as du counts it. Open
 * addressing on ino + 1 (0: empty); one filesystem, so the inode number alone is the identity. */
struct inoset {
	uint64_t *v;
	size_t cap, n;
};

static bool inoset_add(struct inoset *s, uint64_t ino)
{
	if (2 * (s->n + 1) > s->cap) {
		struct inoset big = { .cap = s->cap ? 2 * s->cap : 1024 };
		big.v = xcalloc(big.cap, sizeof *big.v);
		for (size_t i = 0; i < s->cap; i++)
			if (s->v[i])
				inoset_add(&big, s->v[i] - 1);
		free(s->v);
		*s = big;
	}
	for (size_t i = (size_t)(ino * 0x9e3779b97f4a7c15ULL) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		if (s->v[i] == ino + 1)
			return false;
		if (!s->v[i]) {
			s->v[i] = ino + 1;
			s->n++;
			return true;
		}
	}
}

static void measure(int dfd, uint64_t *size, uint64_t *files)
{
	struct inoset links = { 0 };
	struct stat top;
	DIR *d = fstat(dfd, &top) == 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		close(dfd);
		return;
	}
	DIR **stack = xcalloc(WALK_MAX_DEPTH, sizeof *stack);
	stack[0] = d;
	size_t depth = 1;
	while (depth > 0) {
		d = stack[depth - 1];
		struct dirent *e = readdir(d);
		if (!e) {
			closedir(d);
			depth--;
			continue;
		}
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		(*files)++;
		if (S_ISDIR(st.st_mode) || st.st_nlink < 2 || inoset_add(&links, (uint64_t)st.st_ino))
			*size += (uint64_t)st.st_blocks * 512;
		if (!S_ISDIR(st.st_mode) || st.st_dev != top.st_dev || depth == WALK_MAX_DEPTH)
			continue;
		/* O_DIRECTORY | O_NOFOLLOW: whatever the name is by now, nothing but a directory opens. */
		int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		DIR *sd = sub >= 0 ? fdopendir(sub) : NULL;
		if (sd)
			stack[depth++] = sd;
		else if (sub >= 0)
			close(sub);
	}
	free(stack);
	free(links.v);
}

void store_entries_free(struct store_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(e[i].name);
		free(e[i].link);
		store_meta_release(&e[i].meta);
	}
	free(e);
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct store_entry *)a)->name, ((const struct store_entry *)b)->name);
}

int store_entries(struct store *s, struct store_entry **out, size_t *n, struct aj_err *err)
{
	*out = NULL;
	*n = 0;
	if (s->fsfd < 0)
		return 0;
	DIR *d = fdopendir(dup(s->fsfd));
	if (!d)
		return aj_fail(err, errno, "read the store");
	cleanup_close int meta = openat(s->fsfd, ".meta", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		struct stat lst, st;
		if (fstatat(s->fsfd, e->d_name, &lst, AT_SYMLINK_NOFOLLOW) < 0 || fstatat(s->fsfd, e->d_name, &st, 0) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		*out = xrealloc(*out, (*n + 1) * sizeof **out);
		struct store_entry *x = &(*out)[(*n)++];
		memset(x, 0, sizeof *x);
		x->name = xstrdup(e->d_name);
		if (S_ISLNK(lst.st_mode)) {
			char target[PATH_MAX];
			ssize_t k = readlinkat(s->fsfd, e->d_name, target, sizeof target - 1);
			x->link = xstrndup(target, k > 0 ? (size_t)k : 0);
		}
		cleanup_free char *text = meta >= 0 && !x->link ? read_file_at(meta, e->d_name, 1u << 16) : NULL;
		store_meta_parse(text, &x->meta);
		if (!x->meta.created)
			x->meta.created = (int64_t)st.st_mtime;
		if (!x->link) {
			int sub = openat(s->fsfd, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (sub >= 0)
				measure(sub, &x->size, &x->files);
		}
		if (!x->link) {
			cleanup_free char *users = jails_using(s, e->d_name, NULL);
			x->in_use = users != NULL;
		}
	}
	closedir(d);
	if (*n)
		qsort(*out, *n, sizeof **out, cmp_entry);
	return 0;
}

int store_remove(struct store *s, const char *name, bool force, struct aj_err *err)
{
	if (config_validate_name(name, err) < 0)
		return -1;
	struct stat st;
	if (s->fsfd < 0 || fstatat(s->fsfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return aj_usage(err, "no rootfs named '%s' in %s/fs; see 'ajail fs list'", name, s->dir);
	if (S_ISLNK(st.st_mode)) {
		/* default -> debian: removing the name, not what it points to. */
		if (unlinkat(s->fsfd, name, 0) < 0)
			return aj_fail(err, errno, "remove '%s'", name);
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		return aj_fail(err, 0, "%s/fs/%s is not a rootfs directory; remove it by hand", s->dir, name);
	cleanup_strv char **layers = store_layers_on(s, name);
	if (layers) {
		cleanup_free char *list = strv_join(layers, ", ");
		return aj_fail(err, 0, "rootfs '%s' is the base of %s %s; remove %s first", name,
			       strv_len(layers) > 1 ? "the layers" : "the layer", list, strv_len(layers) > 1 ? "them" : "it");
	}
	/* Held until the rootfs is moved away: no jail starts on it meanwhile. */
	cleanup_close int use = -1;
	if (!force) {
		cleanup_free char *users = jails_using(s, name, &use);
		if (users)
			return aj_fail(err, 0, "rootfs '%s' is in use by a running jail (%s); stop it first, or use --force", name,
				       users);
	}
	if (mkdir_at(s->fsfd, ".trash", 0700) < 0)
		return aj_fail(err, errno, "create %s/fs/.trash", s->dir);
	cleanup_close int trash = openat(s->fsfd, ".trash", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (trash < 0)
		return aj_fail(err, errno, "open %s/fs/.trash", s->dir);
	char victim[128];
	snprintf(victim, sizeof victim, "%s.%d.%lld", name, (int)getpid(), (long long)time(NULL));
	cleanup_free char *vlock = xasprintf("%s.lock", victim);
	cleanup_close __attribute__((unused)) int mine = store_lock_at(trash, vlock, LOCK_EX); /* held until the end */
	{
		cleanup_close int biglock = store_lock_at(s->fsfd, ".lock", LOCK_EX);
		if (biglock < 0)
			return aj_fail(err, errno, "lock the store");
		/* Again under the lock a layer's install takes (store_txn_commit_meta). */
		cleanup_strv char **late = store_layers_on(s, name);
		if (late)
			return aj_fail(err, 0, "rootfs '%s' is the base of the layer %s, made meanwhile; remove it first", name,
				       late[0]);
		if (renameat(s->fsfd, name, trash, victim) < 0)
			return aj_fail(err, errno, "remove rootfs '%s'", name);
		cleanup_close int meta = openat(s->fsfd, ".meta", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (meta >= 0) {
			unlinkat(meta, name, 0);
			cleanup_free char *usefile = xasprintf("%s.use", name);
			unlinkat(meta, usefile, 0);
			cleanup_free char *pending = xasprintf("%s.pending", name);
			unlinkat(meta, pending, 0);
		}
		cleanup_close int work = openat(s->fsfd, ".work", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (work >= 0)
			store_remove_tree(work, name);
	}
	/* From here the name is free; the data goes at our pace (or the next sweep's, if we die). */
	int r = store_remove_tree(trash, victim);
	unlinkat(trash, vlock, 0);
	if (r < 0)
		return aj_fail(err, errno, "delete %s/fs/.trash/%s (the rootfs is already gone from the store)", s->dir,
			       victim);
	return 0;
}
