/* sandbox.c — namespaces, id maps, mounts, pivot_root, init, exec.
 *
 * Safety reasoning, in one place:
 *  - Unprivileged: we never have more privilege than the caller. CLONE_NEWUSER gives the child
 *    capabilities only over namespaces it owns; it maps exactly one uid and one gid (the caller's,
 *    as 0) and denies setgroups, so it cannot drop a group to gain access.
 *  - Mounts happen after the new mount namespace is made a slave of the host's, so nothing
 *    propagates back to the host; when the jail's last process exits they are all gone.
 *  - Every destination is opened with openat2(RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS) relative to
 *    the new root and mounted onto that fd (move_mount), so a symlink or ".." in a rootfs or in a
 *    user's path can never redirect a mount, or the creation of a mount point, outside the jail.
 *  - Bind sources are the host's paths, canonicalised by the plan, read through the old root
 *    (/oldroot) before it is detached; binds are recursive clones (open_tree) so that no submount is
 *    revealed underneath, then restricted with mount_setattr (never loosened: locked flags stay).
 *  - /proc is mounted while the host's /proc is still visible in this namespace, as the kernel
 *    requires; after that the old root is detached and the jail pivots into the new one.
 *  - Before exec: capabilities dropped (harden.c), inherited file descriptors closed, so no fd from
 *    the caller leads outside. */
#include "proxy.h"
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cgroup.h"
#include "config.h"
#include "harden.h"
#include "fdpass.h"
#include "hostpath.h"
#include "store.h"
#include "tty.h"
#include "util.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* ---- thin syscall wrappers (glibc 2.36's collide with <linux/mount.h>) ---- */

static int sys_openat2(int dirfd, const char *path, int flags, unsigned long long resolve)
{
	struct open_how how = { .flags = (unsigned long long)flags, .resolve = resolve };
	for (int tries = 0;; tries++) {
		int fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
		/* EAGAIN: a rename anywhere on the system while a RESOLVE_BENEATH walk went through ".."
		 * (a jail's symlink) made the kernel unsure; it asks for a retry. A jail racing renames
		 * can make this last: after 64 tries the error stands. */
		if (fd >= 0 || errno != EAGAIN || tries >= 64)
			return fd;
	}
}

static int sys_open_tree(int dirfd, const char *path, unsigned flags)
{
	return (int)syscall(SYS_open_tree, dirfd, path, flags);
}

static int sys_move_mount(int from, int to)
{
	return (int)syscall(SYS_move_mount, from, "", to, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

static int sys_mount_setattr(int fd, unsigned flags, unsigned long long set)
{
	struct mount_attr attr = { .attr_set = set };
	return (int)syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | flags, &attr, sizeof attr);
}

static int sys_fsopen(const char *fs)
{
	return (int)syscall(SYS_fsopen, fs, FSOPEN_CLOEXEC);
}

static int sys_fsconfig(int fd, unsigned cmd, const char *key, const void *value)
{
	return (int)syscall(SYS_fsconfig, fd, cmd, key, value, 0);
}

static int sys_fsmount(int fd, unsigned attrs)
{
	return (int)syscall(SYS_fsmount, fd, FSMOUNT_CLOEXEC, attrs);
}

static int sys_pivot_root(const char *new_root, const char *put_old)
{
	return (int)syscall(SYS_pivot_root, new_root, put_old);
}

/* ---- the error channel: between clone and exec the jail cannot return, it reports ---- */

struct wire_err {
	int kind;
	int errnum;
	char msg[sizeof(((struct aj_err *)0)->msg)];
};

static void report_and_exit(int fd, const struct aj_err *e)
{
	struct wire_err w = { .kind = e->kind ? (int)e->kind : AJ_ERR_FAIL, .errnum = e->errnum };
	memcpy(w.msg, e->msg, sizeof w.msg);
	/* One write below PIPE_BUF is atomic; nothing else can be done if it fails. */
	if (write(fd, &w, sizeof w) < 0) {
	}
	_exit(w.kind == AJ_ERR_NOTFOUND || w.kind == AJ_ERR_NOEXEC ? w.kind : 127);
}

/* ---- creating paths beneath a directory fd, without ever leaving it ---- */

/* Called for each entry created: the directory it was made in (an fd, valid during the call), its
 * name there, and its path relative to the base. */
typedef void (*created_fn)(int parent, const char *name, const char *rel, bool is_dir, void *ctx);

static int open_beneath(int base, const char *rel, int flags)
{
	if (!*rel)
		return fcntl(base, F_DUPFD_CLOEXEC, 3);
	return sys_openat2(base, rel, flags | O_CLOEXEC, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
}

/* Make sure rel exists beneath base (a directory, or a file when is_file), creating what is missing
 * with mode 0755/0644. A symlink may be followed only where it stays beneath base. */
static int mkpath_beneath(int base, const char *rel, bool is_file, created_fn cb, void *ctx, struct aj_err *err)
{
	cleanup_free char *buf = xstrdup(rel);
	size_t len = strlen(buf);
	for (size_t i = 0; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		if (i == 0)
			continue;
		char saved = buf[i];
		buf[i] = '\0';
		bool last = i == len;
		int fd = open_beneath(base, buf, O_PATH);
		if (fd >= 0) {
			close(fd);
		} else if (errno == EXDEV || errno == ELOOP) {
			return aj_fail(err, 0, "/%s escapes the jail's root through a symlink or '..'", buf);
		} else if (errno == ENOENT) {
			char *slash = strrchr(buf, '/');
			cleanup_close int parent = slash ? ({
				*slash = '\0';
				int p = open_beneath(base, buf, O_PATH | O_DIRECTORY);
				*slash = '/';
				p;
			})
							 : fcntl(base, F_DUPFD_CLOEXEC, 3);
			const char *name = slash ? slash + 1 : buf;
			if (parent < 0)
				return aj_fail(err, errno, "open parent of /%s", buf);
			int r;
			if (last && is_file) {
				r = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
				if (r >= 0)
					close(r);
			} else {
				r = mkdirat(parent, name, 0755);
			}
			if (r < 0 && errno != EEXIST)
				return aj_fail(err, errno, "create mount point /%s", buf);
			if (r >= 0 && cb)
				cb(parent, name, buf, !(last && is_file), ctx);
		} else {
			return aj_fail(err, errno, "/%s", buf);
		}
		buf[i] = saved;
	}
	return 0;
}

/* ---- the supervisor's share: mount points in persistent directories ----
 *
 * These directories (the cwd, a --rw directory, a rootfs under --fs-edit) are the jail's to write,
 * and another jail may be running in them now. So each is opened once, without following any
 * symlink, and checked against what the plan saw; each mount point made in it is remembered as the
 * directory fd it was made in, its name and its (dev, ino); and it is removed afterwards through that
 * fd, only if it is still that inode and still empty. Nothing goes by path a second time. */

struct created {
	int parent; /* O_PATH fd of the directory it was made in, held since */
	char *name;
	char *path; /* absolute host path, for the pending list of another jail */
	bool is_dir;
	uint64_t dev, ino;
};

struct created_list {
	struct created *v;
	size_t n;
	const char *base; /* host path of the directory being filled (for the pending list) */
};

static void record_created(int parent, const char *name, const char *rel, bool is_dir, void *ctx)
{
	struct created_list *c = ctx;
	struct stat st;
	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return; /* gone already: nothing of ours to remove */
	c->v = xrealloc(c->v, (c->n + 1) * sizeof *c->v);
	c->v[c->n++] = (struct created){ .parent = fcntl(parent, F_DUPFD_CLOEXEC, 3),
					 .name = xstrdup(name),
					 .path = path_join(c->base, rel),
					 .is_dir = is_dir,
					 .dev = (uint64_t)st.st_dev,
					 .ino = (uint64_t)st.st_ino };
}

/* Remove parent/name if it is still what we made (same inode) and still empty: if the command put
 * something there on purpose (it is a persistent directory), it stays. rmdir refuses a non-empty
 * directory by itself; a file is removed only while it is an empty regular file. */
static void remove_created(int parent, const char *name, bool is_dir, uint64_t dev, uint64_t ino)
{
	struct stat st;
	if (parent < 0 || fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || (uint64_t)st.st_dev != dev ||
	    (uint64_t)st.st_ino != ino)
		return;
	if (is_dir && S_ISDIR(st.st_mode))
		unlinkat(parent, name, AT_REMOVEDIR);
	else if (!is_dir && S_ISREG(st.st_mode) && st.st_size == 0)
		unlinkat(parent, name, 0);
}

/* A line of the pending list, "d|f DEV INO /path": its parent is opened without following any
 * symlink, so a jail that put one in the way since gets nothing removed. */
static void remove_pending(const char *line)
{
	char kind;
	unsigned long long dev, ino;
	int off = 0;
	if (sscanf(line, "%c %llu %llu %n", &kind, &dev, &ino, &off) != 3 || off <= 0 || line[off] != '/' ||
	    (kind != 'd' && kind != 'f'))
		return;
	cleanup_free char *parent = xstrdup(line + off);
	char *slash = strrchr(parent, '/');
	cleanup_free char *name = xstrdup(slash + 1);
	if (slash == parent)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return;
	cleanup_close int pfd = hostpath_open(parent, O_PATH | O_DIRECTORY);
	remove_created(pfd, name, kind == 'd', dev, ino);
}

/* Remove what prepare_host created, newest first. Not while another jail runs on the same rootfs
 * (use->fd, our shared lock on it, cannot become exclusive): the empty directory may be that jail's
 * mount point too, and removing it would detach the mount under it. Then the entries go to
 * use->pending, and the last jail to end removes them with its own. */
static void cleanup_host(struct created_list *c, const struct sandbox_use *use)
{
	bool last = !use || use->fd < 0 || flock(use->fd, LOCK_EX | LOCK_NB) == 0;
	cleanup_close int pfd = -1;
	if (use && use->fd >= 0 && use->pending && (c->n || last))
		pfd = open(use->pending, O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (!last) {
		/* Newest last; O_APPEND keeps concurrent writers' lines whole. */
		for (size_t i = 0; pfd >= 0 && i < c->n; i++) {
			cleanup_free char *line = xasprintf("%c %llu %llu %s\n", c->v[i].is_dir ? 'd' : 'f',
							    (unsigned long long)c->v[i].dev, (unsigned long long)c->v[i].ino,
							    c->v[i].path);
			if (!strchr(c->v[i].path, '\n') && write(pfd, line, strlen(line)) < 0)
				break;
		}
	} else {
		for (size_t i = c->n; i-- > 0;)
			remove_created(c->v[i].parent, c->v[i].name, c->v[i].is_dir, c->v[i].dev, c->v[i].ino);
		cleanup_strv char **lines = NULL;
		cleanup_free char *text = pfd >= 0 ? read_file_at(AT_FDCWD, use->pending, 16u << 20) : NULL;
		for (char *line = text, *next; line && *line; line = next) {
			next = strchrnul(line, '\n');
			if (*next)
				*next++ = '\0';
			strv_push(&lines, xstrdup(line));
		}
		for (size_t i = strv_len(lines); i-- > 0;)
			remove_pending(lines[i]);
		if (lines && ftruncate(pfd, 0) < 0) {
		}
	}
	for (size_t i = 0; i < c->n; i++) {
		if (c->v[i].parent >= 0)
			close(c->v[i].parent);
		free(c->v[i].name);
		free(c->v[i].path);
	}
	free(c->v);
	memset(c, 0, sizeof *c);
}

/* A persistent directory of the plan, opened without following any symlink, if it is still what
 * the plan saw. */
static int open_layer(const char *path, uint64_t dev, uint64_t ino, const char *origin, struct aj_err *err)
{
	int fd = hostpath_open(path, O_PATH | O_DIRECTORY);
	if (fd < 0) {
		if (errno == ELOOP)
			return aj_fail(err, 0, "%s: %s has become a symlink since ajail looked; nothing was mounted", origin, path);
		return aj_fail(err, errno, "%s: open %s", origin, path);
	}
	if (!hostpath_same(fd, dev, ino)) {
		close(fd);
		return aj_fail(err, 0, "%s: %s was replaced while ajail set up the jail; nothing was mounted", origin, path);
	}
	return fd;
}

/* A file just made for --home-edit or an agent's state gets its first content (Claude Code takes an
 * empty .claude.json for a corrupted one), only while it is still empty: never over what a jail
 * wrote. Opened beneath base through no symlink. */
static int fill_new_file(int base, const char *rel, const char *content)
{
	cleanup_close int fd = sys_openat2(base, rel, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
					   RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return -1;
	if (!S_ISREG(st.st_mode) || st.st_size != 0)
		return 0;
	return write_all(fd, content, strlen(content)) < 0 ? -1 : 0;
}

/* Is rel (a mount point, or a symlink's parent) in one of the lower layers of a kept root overlay?
 * Looked at beneath each layer without following anything: a layer no jail writes meanwhile (the
 * rootfs and its bases are held by this jail's use locks). */
static bool in_lowers(const struct mount_step *root, const char *rel)
{
	for (size_t i = 0; i <= root->n_lowers; i++) {
		const char *path = i == 0 ? root->src : root->lowers[i - 1].path;
		cleanup_close int dir = hostpath_open(path, O_PATH | O_DIRECTORY);
		if (dir < 0)
			continue;
		cleanup_close int fd = *rel ? (int)sys_openat2(dir, rel, O_PATH | O_NOFOLLOW | O_CLOEXEC,
							       RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
					    : -1;
		if (fd >= 0)
			return true;
	}
	return false;
}

/* Where a directory is made in a layer or a kept upper (a mount point's parent, --home-edit's new
 * path), the merged tree shows the upper's directory, with the upper's mode: it takes the mode the
 * layers beneath give that directory (/var/tmp stays 1777, /root 0700), not mkdir's. */
struct made_in_upper {
	struct created_list *created; /* NULL: made to be kept (--home-edit), not recorded */
	const char *top;	      /* the first lower (a kept root's src), or NULL */
	const struct rootfs_base *lowers;
	size_t n_lowers;
};

static void made_in_upper(int parent, const char *name, const char *rel, bool is_dir, void *ctx)
{
	struct made_in_upper *m = ctx;
	if (m->created)
		record_created(parent, name, rel, is_dir, m->created);
	for (size_t i = 0; is_dir && i <= m->n_lowers; i++) {
		const char *path = i == 0 ? m->top : m->lowers[i - 1].path;
		cleanup_close int dir = path ? hostpath_open(path, O_PATH | O_DIRECTORY) : -1;
		cleanup_close int fd = dir < 0 ? -1
					       : (int)sys_openat2(dir, rel, O_PATH | O_NOFOLLOW | O_CLOEXEC,
								  RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			fchmodat(parent, name, st.st_mode & 07777, AT_SYMLINK_NOFOLLOW);
		break;
	}
}

static int prepare_host(const struct plan *p, struct created_list *created, struct aj_err *err)
{
	for (size_t i = 0; i < p->n_steps; i++) {
		const struct mount_step *s = &p->steps[i];
		if (s->flags & MF_CREATE_SRC) {
			/* --home-edit=SUB (in the rootfs) and an agent's state (in its state directory): made on
			 * purpose, and kept. The rootfs is checked against what the plan saw; the state
			 * directory is ajail's own (made by main.c, 0700, no jail ever sees it, only entries
			 * beneath it), opened without following a symlink. */
			const char *rel = path_relative(s->src, s->create_base);
			bool in_rootfs = p->rootfs.path && strcmp(s->create_base, p->rootfs.path) == 0;
			cleanup_close int base = in_rootfs ? open_layer(p->rootfs.path, p->rootfs.dev, p->rootfs.ino, s->origin, err)
							   : hostpath_open(s->create_base, O_PATH | O_DIRECTORY);
			if (base < 0)
				return in_rootfs ? -1 : aj_fail(err, errno, "%s: open %s", s->origin, s->create_base);
			struct made_in_upper m = { .lowers = p->rootfs.bases, .n_lowers = p->rootfs.n_bases };
			bool layer = in_rootfs && p->rootfs.n_bases;
			if (mkpath_beneath(base, rel, (s->flags & MF_FILE) != 0, layer ? made_in_upper : NULL, layer ? &m : NULL,
					   err) < 0)
				return aj_err_wrap(err, "%s", s->origin);
			if (s->create_content && (s->flags & MF_FILE) && fill_new_file(base, rel, s->create_content) < 0)
				return aj_fail(err, errno, "%s: write %s", s->origin, s->src);
		}
		if (s->persist_layer < 0)
			continue;
		const struct mount_step *layer = &p->steps[s->persist_layer];
		cleanup_free char *rel = xstrdup(path_relative(s->dst, layer->dst));
		/* A kept root overlay: the mount points go into its upper directory (made here, removed
		 * after), but only those that its lower layers lack too, so that the upper holds nothing of
		 * ours where the rootfs has the directory already. */
		bool kept_root = layer->kind == MK_ROOT_OVERLAY_KEEP;
		if (kept_root && in_lowers(layer, rel))
			continue;
		bool is_file = (s->flags & MF_FILE) != 0;
		if (s->kind == MK_SYMLINK) {
			char *slash = strrchr(rel, '/');
			if (!slash)
				continue;
			*slash = '\0';
			is_file = false;
		}
		cleanup_close int base = kept_root ? open_layer(layer->upper, layer->upper_dev, layer->upper_ino, layer->origin, err)
						   : open_layer(layer->src, layer->src_dev, layer->src_ino, layer->origin, err);
		if (base < 0)
			return -1;
		created->base = kept_root ? layer->upper : layer->src;
		struct made_in_upper m = { .created = created, .top = layer->src, .lowers = layer->lowers,
					   .n_lowers = layer->n_lowers };
		if (mkpath_beneath(base, rel, is_file, kept_root ? made_in_upper : record_created, kept_root ? (void *)&m : created,
				   err) < 0)
			return aj_err_wrap(err, "%s: mount point %s", s->origin, s->dst);
	}
	return 0;
}

/* ---- inside: one function per mount kind ---- */

#define OLDROOT "/oldroot"
#define NEWROOT "/newroot"
#define SCRATCH "/scratch"

/* The host's root as this namespace saw it before the pivot, open while the mounts are made. */
static int g_oldroot = -1;

/* Open a host source of the plan (canonical, absolute) beneath the old root, without following any
 * symlink on the way, and check that it is still what the plan saw: a jail running now in the
 * same directories may have swapped a component for a symlink, or exchanged two directories, since
 * the plan looked (a rename exchange between the look and the mount). The fd is what gets mounted,
 * so nothing is resolved by path again. */
static int open_source(const char *src, uint64_t dev, uint64_t ino, bool want_dir, struct aj_err *err)
{
	const char *rel = src[1] ? src + 1 : ".";
	/* No O_NOFOLLOW: with RESOLVE_NO_SYMLINKS a symlink at the end fails with ELOOP too, instead of
	 * coming back as itself. */
	int fd = sys_openat2(g_oldroot, rel, O_PATH | O_CLOEXEC, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	if (fd < 0) {
		if (errno == ELOOP)
			return aj_fail(err, 0, "%s is, or goes through, a symlink (now, or since ajail looked at it): not "
					       "followed",
				       src);
		return aj_fail(err, errno, "open %s", src);
	}
	if (dev == 0 && ino == 0)
		return fd; /* a system path (/sys, /dev/null): nothing recorded to compare, no jail can swap it */
	struct stat st;
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_dev != dev || (uint64_t)st.st_ino != ino) {
		close(fd);
		return aj_fail(err, 0, "%s was replaced while ajail set up the jail (it is not what the plan saw); nothing "
				       "is mounted from it",
			       src);
	}
	if (want_dir != S_ISDIR(st.st_mode)) {
		close(fd);
		return aj_fail(err, 0, "%s is %s a directory now", src, want_dir ? "no longer" : "");
	}
	return fd;
}

/* A path for what fd holds that the kernel resolves to exactly it: for overlayfs, whose layers are
 * given as strings. The host's /proc still sees this process. */
static char *fd_path(int fd)
{
	return xasprintf(OLDROOT "/proc/self/fd/%d", fd);
}

/* fsconfig's own error text (e.g. overlayfs explaining why) is more useful than errno alone. */
static int fs_fail(struct aj_err *err, int fsfd, const char *what)
{
	int saved = errno;
	char log[512];
	ssize_t n = fsfd >= 0 ? read(fsfd, log, sizeof log - 1) : -1;
	if (n > 2) {
		log[n] = '\0';
		log[strcspn(log, "\n")] = '\0';
		return aj_fail(err, saved, "%s (%s)", what, log + 2);
	}
	return aj_fail(err, saved, "%s", what);
}

/* Create and attach a new filesystem instance; params are key=value pairs (value NULL: a flag). */
static int new_fs(const char *type, const char *const *params, unsigned attrs, int target, struct aj_err *err)
{
	cleanup_close int fs = sys_fsopen(type);
	if (fs < 0) {
		if (errno == ENOSYS)
			return aj_fail(err, 0, "the kernel has no fsopen(2): ajail needs Linux 5.12 or newer");
		return aj_fail(err, errno, "fsopen %s", type);
	}
	for (size_t i = 0; params && params[i]; i += 2) {
		int r = params[i + 1] ? sys_fsconfig(fs, FSCONFIG_SET_STRING, params[i], params[i + 1])
				      : sys_fsconfig(fs, FSCONFIG_SET_FLAG, params[i], NULL);
		if (r < 0)
			return fs_fail(err, fs, params[i]);
	}
	if (sys_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL) < 0)
		return fs_fail(err, fs, type);
	cleanup_close int mnt = sys_fsmount(fs, attrs);
	if (mnt < 0)
		return aj_fail(err, errno, "fsmount %s", type);
	if (sys_move_mount(mnt, target) < 0)
		return aj_fail(err, errno, "attach %s", type);
	return 0;
}

/* An overlay on the host directory s->src (and, for a layer, its bases s->lowers beneath it). Its
 * upper and work directories are the given host directories (a clone workspace, a layer edited, a
 * commit's new layer: changes persist), or fresh ones on the session's tmpfs (changes vanish). Every
 * host directory is opened by open_source, checked against what the plan saw, and named to overlayfs
 * through its fd. */
static int mount_overlay(const struct mount_step *s, bool keep, int index, int target, struct aj_err *err)
{
	cleanup_free char *dir = xasprintf(SCRATCH "/%d", index);
	int fds[STORE_MAX_DEPTH + 1];
	size_t nfds = 0;
	int ret = -1;
	cleanup_close int ufd = -1, wfd = -1;
	cleanup_free char *upper = NULL, *work = NULL, *lower = NULL;
	cleanup_strv char **each = NULL;
	if (s->n_lowers + 1 > sizeof fds / sizeof fds[0])
		return aj_fail(err, 0, "more than %d layers", STORE_MAX_DEPTH);
	fds[nfds] = open_source(s->src, s->src_dev, s->src_ino, true, err);
	if (fds[nfds] < 0)
		return -1;
	lower = fd_path(fds[nfds++]);
	for (size_t i = 0; i < s->n_lowers; i++) {
		fds[nfds] = open_source(s->lowers[i].path, s->lowers[i].dev, s->lowers[i].ino, true, err);
		if (fds[nfds] < 0)
			goto out;
		cleanup_free char *more = fd_path(fds[nfds++]);
		char *joined = xasprintf("%s:%s", lower, more);
		free(lower);
		lower = joined;
	}
	if (keep) {
		ufd = open_source(s->upper, s->upper_dev, s->upper_ino, true, err);
		wfd = ufd < 0 ? -1 : open_source(s->work, 0, 0, true, err);
		if (ufd < 0 || wfd < 0)
			goto out;
		upper = fd_path(ufd);
		work = fd_path(wfd);
	} else {
		upper = xasprintf("%s/upper", dir);
		work = xasprintf("%s/work", dir);
		if (mkdir(dir, 0700) < 0 || mkdir(upper, 0755) < 0 || mkdir(work, 0700) < 0) {
			aj_fail(err, errno, "create overlay directories");
			goto out;
		}
	}
	/* A layer's stack, one "lowerdir+" each (Linux 6.8): fsconfig takes at most 256 bytes in one value,
	 * about ten /oldroot/proc/self/fd/N paths. Older kernels get the joined string. */
	const char *params[2 * (STORE_MAX_DEPTH + 1) + 8];
	size_t np = 0;
	if (nfds > 1)
		for (size_t i = 0; i < nfds; i++) {
			strv_push(&each, fd_path(fds[i]));
			params[np++] = "lowerdir+";
			params[np++] = each[i];
		}
	else {
		params[np++] = "lowerdir";
		params[np++] = lower;
	}
	const char *rest[] = { "upperdir", upper, "workdir", work, "userxattr", NULL, NULL };
	memcpy(params + np, rest, sizeof rest);
	int r = new_fs("overlay", params, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, target, err);
	if (r < 0 && nfds > 1 && err->errnum == EINVAL && strncmp(err->msg, "lowerdir+", 9) == 0) {
		params[0] = "lowerdir";
		params[1] = lower;
		memcpy(params + 2, rest, sizeof rest);
		r = new_fs("overlay", params, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, target, err);
	}
	if (r < 0) {
		if (err->errnum == EPERM || err->errnum == EINVAL)
			aj_err_wrap(err, "overlayfs in a user namespace needs Linux 5.11 or newer and a lower directory the "
					 "user can read");
		goto out;
	}
	ret = 0;
out:
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
	return ret;
}

static int mount_bind(const struct mount_step *s, unsigned long long attrs, int target, struct aj_err *err)
{
	cleanup_close int src = open_source(s->src, s->src_dev, s->src_ino, !(s->flags & MF_FILE), err);
	if (src < 0)
		return -1;
	/* Recursive: cloning a tree without its submounts could reveal what they cover, and the kernel
	 * refuses that for mounts locked by the user namespace anyway. */
	cleanup_close int tree = sys_open_tree(src, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
	if (tree < 0) {
		if (errno == ENOSYS)
			return aj_fail(err, 0, "the kernel has no open_tree(2): ajail needs Linux 5.12 or newer");
		return aj_fail(err, errno, "bind %s", s->src);
	}
	if (sys_mount_setattr(tree, AT_RECURSIVE, attrs) < 0)
		return aj_fail(err, errno, "restrict %s", s->src);
	if (sys_move_mount(tree, target) < 0)
		return aj_fail(err, errno, "attach %s", s->src);
	return 0;
}

/* Put a read-only clone of path (an empty file or directory on the set-up tmpfs) over target. One
 * of each serves every mask: a mask costs one mount and no new filesystem. */
static int attach_empty(const char *path, int target, struct aj_err *err)
{
	cleanup_close int tree = sys_open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0 || sys_mount_setattr(tree, 0, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
							   MOUNT_ATTR_NOEXEC) < 0 ||
	    sys_move_mount(tree, target) < 0)
		return aj_fail(err, errno, "cover with %s", path);
	return 0;
}

static int mount_hide_file(int target, struct aj_err *err)
{
	static const char empty[] = SCRATCH "/empty";
	int fd = open(empty, O_CREAT | O_WRONLY | O_CLOEXEC, 0444);
	if (fd < 0)
		return aj_fail(err, errno, "create %s", empty);
	close(fd);
	return attach_empty(empty, target, err);
}

static bool dir_is_empty(int fd)
{
	cleanup_close int dir = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char buf[256];
	long n = dir < 0 ? -1 : syscall(SYS_getdents64, dir, buf, sizeof buf);
	if (n < 0)
		return false;
	for (long off = 0; off < n;) {
		const char *name = buf + off + 19; /* d_ino 8, d_off 8, d_reclen 2, d_type 1 */
		unsigned short reclen;
		memcpy(&reclen, buf + off + 16, sizeof reclen);
		if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0)
			return false;
		off += reclen;
	}
	return true;
}

/* An empty read-only directory over target. */
static int mount_mask_dir(int target, struct aj_err *err)
{
	static const char empty[] = SCRATCH "/empty.d";
	if (mkdir(empty, 0555) < 0 && errno != EEXIST)
		return aj_fail(err, errno, "create %s", empty);
	return attach_empty(empty, target, err);
}

/* What is mounted at target, again on top of itself, read-only with everything beneath it: the
 * jail's own mount of /proc stays writable elsewhere, /proc/sys does not. */
static int mount_readonly(int target, struct aj_err *err)
{
	cleanup_close int tree = (int)syscall(SYS_open_tree, target, "",
					      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
	if (tree < 0)
		return aj_fail(err, errno, "clone mount");
	if (sys_mount_setattr(tree, AT_RECURSIVE, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV) < 0)
		return aj_fail(err, errno, "make read-only");
	if (sys_move_mount(tree, target) < 0)
		return aj_fail(err, errno, "attach read-only");
	return 0;
}

/* Split "/a/b/c" into an O_PATH fd of "/a/b" (beneath root) and "c". */
static int open_parent(int root, const char *dst, const char **name, struct aj_err *err)
{
	cleanup_free char *parent = xstrdup(dst + 1);
	char *slash = strrchr(parent, '/');
	*name = strrchr(dst, '/') + 1;
	if (slash)
		*slash = '\0';
	else
		parent[0] = '\0';
	int fd = open_beneath(root, parent, O_PATH | O_DIRECTORY);
	if (fd < 0)
		aj_fail(err, errno, "open %s", parent);
	return fd;
}

/* The plan refuses a mount point in /proc, /sys or /dev as written; a symlink the rootfs holds
 * (../proc, which RESOLVE_BENEATH follows as it stays beneath the root) could still lead there and
 * hide the jail's processes or undo its masks. So where the path as written is elsewhere, the
 * opened target must be on none of those filesystems: not proc, sysfs or devpts, and not the
 * device of the jail's /dev. */
static bool lands_in_kernel_dirs(int root, const struct mount_step *s, int fd)
{
	const char *rest;
	if (path_kernel_dir(s->dst, &rest))
		return false; /* the plan's own steps there (proc, masks, --dev), as written */
	struct statfs sf;
	if (fstatfs(fd, &sf) == 0 && (sf.f_type == PROC_SUPER_MAGIC || sf.f_type == SYSFS_MAGIC ||
				       sf.f_type == DEVPTS_SUPER_MAGIC))
		return true;
	/* Only once the jail's /dev is a mount of its own: before that (the steps ahead of it, such as
	 * --home-edit) "dev" is the rootfs's directory, on the root's own device, and what a symlink
	 * puts there the /dev mount will cover. Once it is, it stays: found once per jail, not per step. */
	static dev_t jail_dev;
	static bool jail_dev_known;
	if (!jail_dev_known) {
		struct stat dev, rootst;
		cleanup_close int devfd = open_beneath(root, "dev", O_PATH | O_DIRECTORY | O_NOFOLLOW);
		if (devfd < 0 || fstat(devfd, &dev) < 0 || fstat(root, &rootst) < 0 || dev.st_dev == rootst.st_dev)
			return false;
		jail_dev = dev.st_dev;
		jail_dev_known = true;
	}
	struct stat st;
	return fstat(fd, &st) == 0 && st.st_dev == jail_dev;
}

/* Open the mount point of step s, creating it where it is missing (in an ephemeral layer: the
 * supervisor already made those in persistent ones). Returns 0 and *skip when a symlink that may
 * not be replaced stands there (resolv.conf in a persistent root). */
static int open_target(int root, const struct mount_step *s, int *out, bool *skip, struct aj_err *err)
{
	const char *rel = s->dst + 1;
	bool is_file = (s->flags & MF_FILE) != 0;
	*skip = false;
	/* Only a step that may replace a symlink needs to see one as itself; every other opens its
	 * target at once (a symlink on the way is followed only while it stays beneath the root). */
	int fd = open_beneath(root, rel, (s->flags & MF_REPLACE_LINK) ? O_PATH | O_NOFOLLOW : O_PATH);
	if (fd >= 0 && (s->flags & MF_REPLACE_LINK)) {
		struct stat st;
		if (fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
			close(fd);
			if (s->persist_layer >= 0) {
				*skip = true;
				return 0;
			}
			const char *name;
			cleanup_close int parent = open_parent(root, s->dst, &name, err);
			if (parent < 0)
				return -1;
			if (unlinkat(parent, name, 0) < 0)
				return aj_fail(err, errno, "replace symlink %s", s->dst);
			fd = -1;
			errno = ENOENT;
		}
	}
	if (fd >= 0 && (s->flags & MF_REPLACE_LINK)) {
		close(fd);
		fd = open_beneath(root, rel, O_PATH);
	}
	if (fd < 0 && errno == ENOENT && (s->flags & MF_OPTIONAL)) {
		*skip = true; /* this kernel has no such file in /proc or /sys: nothing to mask */
		return 0;
	}
	if (fd < 0 && errno == ENOENT) {
		if (mkpath_beneath(root, rel, is_file, NULL, NULL, err) < 0) {
			/* resolv.conf is a convenience: a rootfs where it cannot go still runs. */
			*skip = (s->flags & MF_REPLACE_LINK) != 0;
			return *skip ? 0 : -1;
		}
		fd = open_beneath(root, rel, O_PATH);
	}
	if (fd < 0) {
		if (errno == EXDEV || errno == ELOOP)
			return aj_fail(err, 0, "%s escapes the jail's root through a symlink or '..'", s->dst);
		return aj_fail(err, errno, "%s", s->dst);
	}
	if (lands_in_kernel_dirs(root, s, fd)) {
		close(fd);
		return aj_fail(err, 0, "%s leads into the jail's own /proc, /sys or /dev through a symlink in the rootfs; "
				       "mount it somewhere else", s->dst);
	}
	*out = fd;
	return 0;
}

/* A fresh sysfs for a jail with a network namespace of its own: it shows that namespace's
 * interfaces only. The kernel refuses one where the host's sysfs is partly covered (in some
 * containers); then the host's /sys, read-only, with /sys/class/net hidden instead. */
static int mount_sysfs(int root, const struct mount_step *s, int target, struct aj_err *err)
{
	if (new_fs("sysfs", NULL, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, target,
		   err) == 0)
		return 0;
	if (err->errnum != EPERM && err->errnum != EACCES)
		return -1;
	struct mount_step host = { .kind = MK_BIND_RO, .src = (char *)"/sys", .dst = s->dst };
	if (mount_bind(&host, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, target, err) < 0)
		return -1;
	cleanup_close int net = open_beneath(root, "sys/class/net", O_PATH | O_DIRECTORY);
	return net < 0 ? 0 : mount_mask_dir(net, err);
}

static int apply_step(int root, const struct mount_step *s, int index, struct aj_err *err)
{
	if (s->kind == MK_SYMLINK) {
		const char *name;
		cleanup_close int parent = open_parent(root, s->dst, &name, err);
		if (parent < 0 && err->errnum == ENOENT) {
			/* The parent is missing (most often it is there: /dev): made, then opened again. */
			cleanup_free char *dir = xstrdup(s->dst + 1);
			char *slash = strrchr(dir, '/');
			if (slash) {
				*slash = '\0';
				if (mkpath_beneath(root, dir, false, NULL, NULL, err) < 0)
					return -1;
			}
			parent = open_parent(root, s->dst, &name, err);
		}
		if (parent < 0)
			return -1;
		if (symlinkat(s->src, parent, name) < 0 && errno != EEXIST)
			return aj_fail(err, errno, "symlink %s", s->dst);
		return 0;
	}
	if (s->kind == MK_REMOVE) {
		/* Through the overlay: the kernel records the deletion as a whiteout in the upper layer. */
		const char *name;
		cleanup_close int parent = open_parent(root, s->dst, &name, err);
		if (parent < 0)
			return errno == ENOENT ? 0 : -1;
		if (unlinkat(parent, name, 0) < 0 && errno != ENOENT && (errno != EISDIR || unlinkat(parent, name, AT_REMOVEDIR) < 0))
			return aj_fail(err, errno, "remove %s", s->dst);
		return 0;
	}
	if (s->kind == MK_DIR) {
		if (mkpath_beneath(root, s->dst + 1, false, NULL, NULL, err) < 0)
			return -1;
		cleanup_close int fd = open_beneath(root, s->dst + 1, O_RDONLY | O_DIRECTORY);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0)
			return aj_fail(err, errno, "chmod %s", s->dst);
		/* Only a change: a chmod through an overlay copies the directory up, and a --commit would
		 * then keep a /root it never touched. */
		if ((st.st_mode & 07777) != s->mode && fchmod(fd, s->mode) < 0)
			return aj_fail(err, errno, "chmod %s", s->dst);
		return 0;
	}
	cleanup_close int target = -1;
	bool skip;
	if (open_target(root, s, &target, &skip, err) < 0)
		return -1;
	if (skip)
		return 0;
	char mode[16];
	snprintf(mode, sizeof mode, "%o", s->mode);
	switch (s->kind) {
	case MK_BIND_RW:
		return mount_bind(s, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, target, err);
	case MK_BIND_RO:
		return mount_bind(s, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, target, err);
	case MK_BIND_DEV:
		return mount_bind(s, MOUNT_ATTR_NOSUID, target, err);
	case MK_OVERLAY:
		return mount_overlay(s, false, index, target, err);
	case MK_OVERLAY_KEEP:
		/* overlayfs refuses an upper directory another mount uses: one jail per workspace. */
		if (mount_overlay(s, true, index, target, err) < 0) {
			if (err->errnum == EBUSY)
				aj_err_wrap(err, "the clone workspace is in use by another jail");
			return -1;
		}
		return 0;
	case MK_TMPFS: {
		const char *params[] = { "mode", mode, NULL };
		return new_fs("tmpfs", params, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, target, err);
	}
	case MK_HIDE_FILE:
		return mount_hide_file(target, err);
	case MK_MASK_DIR:
		/* An empty directory hides nothing: where the kernel has only the mount point (no debugfs
		 * mounted on /sys/kernel/debug), the mask would cost a mount and gain nothing. */
		if ((s->flags & MF_OPTIONAL) && dir_is_empty(target))
			return 0;
		return mount_mask_dir(target, err);
	case MK_READONLY:
		return mount_readonly(target, err);
	case MK_SYSFS:
		return mount_sysfs(root, s, target, err);
	case MK_PROC:
		return new_fs("proc", NULL, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, target, err);
	case MK_DEVPTS: {
		const char *params[] = { "newinstance", NULL, "ptmxmode", "0666", "mode", "620", NULL };
		return new_fs("devpts", params, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, target, err);
	}
	case MK_ROOT_OVERLAY:
	case MK_ROOT_OVERLAY_KEEP:
	case MK_ROOT_BIND:
	case MK_ROOT_TMPFS:
		return aj_fail(err, 0, "a root step can only come first");
	case MK_SYMLINK:
	case MK_DIR:
	case MK_REMOVE:
		break;
	}
	return 0;
}

static int apply_root(const struct mount_step *s, struct aj_err *err)
{
	cleanup_close int target = open(NEWROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (target < 0)
		return aj_fail(err, errno, NEWROOT);
	switch (s->kind) {
	case MK_ROOT_OVERLAY:
		return mount_overlay(s, false, 0, target, err);
	case MK_ROOT_OVERLAY_KEEP:
		if (mount_overlay(s, true, 0, target, err) < 0) {
			if (err->errnum == EBUSY)
				aj_err_wrap(err, "the layer is in use by another jail");
			return -1;
		}
		return 0;
	case MK_ROOT_BIND:
		return mount_bind(s, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, target, err);
	case MK_ROOT_TMPFS: {
		const char *params[] = { "mode", "0755", NULL };
		return new_fs("tmpfs", params, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, target, err);
	}
	case MK_BIND_RW:
	case MK_BIND_RO:
	case MK_BIND_DEV:
	case MK_OVERLAY:
	case MK_TMPFS:
	case MK_HIDE_FILE:
	case MK_PROC:
	case MK_DEVPTS:
	case MK_SYMLINK:
	case MK_DIR:
	case MK_OVERLAY_KEEP:
	case MK_REMOVE:
	case MK_MASK_DIR:
	case MK_READONLY:
	case MK_SYSFS:
		break;
	}
	return aj_fail(err, 0, "the first step must make the root");
}

static int write_file(const char *path, const char *s, struct aj_err *err)
{
	cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		return aj_fail(err, errno, "write %s", path);
	return 0;
}

static int setup_ids(const struct plan *p, struct aj_err *err)
{
	char map[64];
	/* setgroups must be denied before an unprivileged process may write gid_map; it also keeps a
	 * jail from dropping a supplementary group that a file's permissions deny. */
	if (write_file("/proc/self/setgroups", "deny", err) < 0)
		return -1;
	snprintf(map, sizeof map, "0 %u 1", (unsigned)p->outer_uid);
	if (write_file("/proc/self/uid_map", map, err) < 0)
		return -1;
	snprintf(map, sizeof map, "0 %u 1", (unsigned)p->outer_gid);
	return write_file("/proc/self/gid_map", map, err);
}

static int loopback_up(struct aj_err *err)
{
	cleanup_close int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = { 0 };
	strcpy(ifr.ifr_name, "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return aj_fail(err, errno, "loopback");
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return aj_fail(err, errno, "bring loopback up");
	return 0;
}

static int setup_mounts(const struct plan *p, struct aj_err *err)
{
	/* Nothing we mount may propagate to the host (a userns-owned mount namespace already turns
	 * shared mounts into slaves; this makes it explicit). */
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return aj_fail(err, errno, "make / a slave mount");
	/* A scratch tmpfs, private to this namespace, becomes the root for the set-up; the host's tree
	 * stays reachable under /oldroot until it is detached. Mounting it over /tmp hides nothing from
	 * the host: the host never sees this namespace. */
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") < 0)
		return aj_fail(err, errno, "mount the set-up tmpfs");
	if (chdir("/tmp") < 0 || mkdir("newroot", 0755) < 0 || mkdir("oldroot", 0755) < 0 || mkdir("scratch", 0700) < 0)
		return aj_fail(err, errno, "prepare the set-up tmpfs");
	if (sys_pivot_root(".", "oldroot") < 0 || chdir("/") < 0)
		return aj_fail(err, errno, "pivot_root into the set-up tmpfs");
	g_oldroot = open(OLDROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (g_oldroot < 0)
		return aj_fail(err, errno, OLDROOT);
	if (apply_root(&p->steps[0], err) < 0)
		return aj_err_wrap(err, "root (%s)", p->steps[0].origin);
	cleanup_close int root = open(NEWROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return aj_fail(err, errno, NEWROOT);
	for (size_t i = 1; i < p->n_steps; i++)
		if (apply_step(root, &p->steps[i], (int)i, err) < 0)
			return aj_err_wrap(err, "%s %s (%s)", plan_kind_name(p->steps[i].kind), p->steps[i].dst,
					   p->steps[i].origin);
	close(g_oldroot);
	g_oldroot = -1;
	if (umount2(OLDROOT, MNT_DETACH) < 0)
		return aj_fail(err, errno, "detach the host's root");
	/* pivot_root(".", ".") stacks the old root under the new one at "/"; detaching "." then drops
	 * the set-up tmpfs (kept alive only by the overlays that use it). */
	if (chdir(NEWROOT) < 0 || sys_pivot_root(".", ".") < 0 || umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		return aj_fail(err, errno, "pivot_root into the jail");
	return 0;
}

/* execve along the jail's PATH, as a shell would; reports "not found" with the name. */
static void exec_command(char *const argv[], char *const env[], int errfd)
{
	struct aj_err err = { 0 };
	const char *cmd = argv[0];
	if (strchr(cmd, '/')) {
		execve(cmd, argv, env);
		int e = errno;
		aj_err_set(&err, e == ENOENT ? AJ_ERR_NOTFOUND : AJ_ERR_NOEXEC, e, "%s", cmd);
		report_and_exit(errfd, &err);
	}
	const char *path = config_getenv(env, "PATH");
	if (!path)
		path = CONFIG_JAIL_PATH;
	int seen = ENOENT;
	for (const char *p = path;; p++) {
		const char *end = strchrnul(p, ':');
		char full[PATH_MAX];
		int n = snprintf(full, sizeof full, "%.*s/%s", (int)(end - p), end == p ? "." : p, cmd);
		if (n > 0 && (size_t)n < sizeof full) {
			execve(full, argv, env);
			if (errno == EACCES || errno == ENOEXEC || errno == ETXTBSY)
				seen = errno;
		}
		if (!*end)
			break;
		p = end;
	}
	if (seen == ENOENT)
		aj_err_set(&err, AJ_ERR_NOTFOUND, 0, "%s: command not found in the jail (PATH=%s)", cmd, path);
	else
		aj_err_set(&err, AJ_ERR_NOEXEC, seen, "%s", cmd);
	report_and_exit(errfd, &err);
}

static bool in_path(const char *cmd, char *const env[])
{
	const char *path = config_getenv(env, "PATH");
	for (const char *p = path ? path : CONFIG_JAIL_PATH;; p++) {
		const char *end = strchrnul(p, ':');
		char full[PATH_MAX];
		snprintf(full, sizeof full, "%.*s/%s", (int)(end - p), p, cmd);
		if (access(full, X_OK) == 0)
			return true;
		if (!*end)
			return false;
		p = end;
	}
}

/* Signals the supervisor and init pass on. Job-control stops are left to the terminal. */
static const int forwarded[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGALRM, SIGCONT };

static void forward_set(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
		sigaddset(set, forwarded[i]);
	sigaddset(set, SIGCHLD);
}

/* A signal the terminal sent to its foreground process group reached the jail directly when it
 * shares the terminal's session; passing it on too would deliver it twice. */
static bool should_forward(const siginfo_t *si, bool new_session)
{
	return new_session || si->si_code != SI_KERNEL;
}

static int status_code(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return 1;
}

/* In the jail, after the pivot: a pty from the jail's own devpts, set up like the user's terminal.
 * The master goes to the supervisor, which relays; the slave becomes the command's terminal. */
static int open_pty(const struct tty_relay *relay, int sock, int *slave, struct aj_err *err)
{
	cleanup_close int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	int unlock = 0;
	if (master < 0 || ioctl(master, TIOCSPTLCK, &unlock) < 0)
		return aj_fail(err, errno, "open the jail's pty");
	*slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*slave < 0)
		return aj_fail(err, errno, "open the jail's pty (TIOCGPTPEER needs Linux 4.13)");
	if (relay->have_termios)
		tcsetattr(*slave, TCSANOW, &relay->saved);
	if (relay->ws.ws_row)
		ioctl(*slave, TIOCSWINSZ, &relay->ws);
	if (fdpass_send(sock, 0, &master, 1) < 0)
		return aj_fail(err, errno, "pass the pty to ajail");
	return 0;
}

static int recv_fd(int sock)
{
	char c;
	int fd = -1;
	return fdpass_recv(sock, &c, &fd, 1) == 1 ? fd : -1;
}

/* pid 1 of the jail, after set-up: start the command, then reap every orphan and pass signals on
 * until the command exits; leaving takes the rest of the pid namespace with it. */
static void __attribute__((noreturn)) init_main(const struct plan *p, const sigset_t *orig_mask, int errfd,
						 const struct tty_relay *relay, int sock, const struct sock_fprog *filter)
{
	struct aj_err err = { 0 };
	int slave = -1;
	if (p->pty_fds && open_pty(relay, sock, &slave, &err) < 0)
		report_and_exit(errfd, &err);
	close(sock);
	char *const *argv = p->argv;
	char *fallback[] = { (char *)"sh", NULL };
	if (p->argv_default && !in_path("bash", p->env))
		argv = fallback;
	pid_t cmd = fork();
	if (cmd < 0) {
		aj_fail(&err, errno, "fork the command");
		report_and_exit(errfd, &err);
	}
	if (cmd == 0) {
		for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
			signal(forwarded[i], SIG_DFL);
		sigprocmask(SIG_SETMASK, orig_mask, NULL);
		if (slave >= 0) {
			/* Its own session, with the jail's pty as controlling terminal: job control inside. */
			if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0) {
				aj_fail(&err, errno, "make the pty the controlling terminal");
				report_and_exit(errfd, &err);
			}
			for (int fd = 0; fd < 3; fd++)
				if ((p->pty_fds & (1u << fd)) && dup2(slave, fd) < 0) {
					aj_fail(&err, errno, "attach the pty");
					report_and_exit(errfd, &err);
				}
		}
		if (chdir(p->cwd) < 0) {
			aj_fail(&err, errno, "chdir %s in the jail", p->cwd);
			report_and_exit(errfd, &err);
		}
		/* The layers, last: each only takes away, and seccomp would deny the set-up's own calls. */
		const struct plan_layers *l = &p->layers;
		if (harden_rlimits(l, &err) < 0 || (l->cap_drop && harden_command(p->caps_keep, &err) < 0) ||
		    (l->landlock && harden_landlock(l, &err) < 0) || (filter && harden_seccomp(filter, &err) < 0))
			report_and_exit(errfd, &err);
		/* Every fd but stdio and the error channel closes at exec: an inherited directory fd
		 * would be a way out of the jail's mount namespace. */
		if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
			for (int fd = 3; fd < 1024; fd++)
				if (fd != errfd)
					fcntl(fd, F_SETFD, FD_CLOEXEC);
		}
		exec_command(argv, p->env, errfd);
	}
	close(errfd);
	if (slave >= 0)
		close(slave);
	if (harden_init(&err) < 0) {
		kill(cmd, SIGKILL);
		_exit(1);
	}
	sigset_t set;
	forward_set(&set);
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&set, &si);
		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			if (should_forward(&si, p->new_session))
				kill(cmd, sig);
			continue;
		}
		int ws;
		pid_t pid;
		while ((pid = waitpid(-1, &ws, WNOHANG)) > 0)
			if (pid == cmd)
				_exit(status_code(ws));
	}
}

/* The jail's first process is a copy of the supervisor, its environment included: a keygate's key
 * is wiped from that copy before anything of the jail runs (the command's environment is the
 * plan's, which never holds a key). The supervisor's own, which the proxy read, is untouched. */
static void forget_keys(const struct plan_net *n)
{
	extern char **environ;
	for (size_t i = 0; i < n->n_keygate; i++) {
		size_t kl = strlen(n->keygate[i].env);
		for (char **e = environ; e && *e; e++)
			if (strncmp(*e, n->keygate[i].env, kl) == 0 && (*e)[kl] == '=')
				explicit_bzero(*e + kl + 1, strlen(*e + kl + 1));
	}
}

static void __attribute__((noreturn)) child_main(const struct plan *p, const sigset_t *orig_mask, int errfd,
						  int alive_fd, const struct tty_relay *relay, int sock, int netsock,
						  const struct sock_fprog *filter, const char *join_cgroup)
{
	struct aj_err err = { 0 };
	forget_keys(&p->net);
	/* A cgroup v1 cannot be entered through clone3: the jail's first process moves itself in, before
	 * it can start anything else. (Only root's jails use v1, and uid 0 inside is root's own uid.) */
	if (join_cgroup) {
		cleanup_free char *procs = path_join(join_cgroup, "cgroup.procs");
		if (write_file(procs, "0", &err) < 0)
			report_and_exit(errfd, &err);
	}
	/* If the supervisor dies, init dies, and with it every process of the pid namespace. The
	 * supervisor may already be gone before prctl: its end of alive_fd then reads as hung up. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		_exit(1);
	struct pollfd pfd = { .fd = alive_fd, .events = POLLIN };
	if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLHUP | POLLIN)))
		_exit(1);
	close(alive_fd);
	if (setup_ids(p, &err) < 0 || setup_mounts(p, &err) < 0)
		report_and_exit(errfd, &err);
	if (sethostname(p->hostname, strlen(p->hostname)) < 0) {
		aj_fail(&err, errno, "set the hostname");
		report_and_exit(errfd, &err);
	}
	if (p->no_net && loopback_up(&err) < 0)
		report_and_exit(errfd, &err);
	/* The proxy's listening sockets are made here, in the jail's namespace, before the command
	 * runs: so the proxy's ports are taken before the jail could bind them itself. */
	if (netsock >= 0 && proxy_jail_side(&p->net, netsock, &err) < 0)
		report_and_exit(errfd, &err);
	if (p->new_session && setsid() < 0) {
		aj_fail(&err, errno, "start a new session");
		report_and_exit(errfd, &err);
	}
	init_main(p, orig_mask, errfd, relay, sock, filter);
}

/* Why clone(CLONE_NEWUSER) failed, in terms a user can act on: the knobs distributions use to turn
 * unprivileged user namespaces off, each with the value that means "off". */
static int explain_clone_failure(int e, struct aj_err *err)
{
	static const struct {
		const char *file;
		int off;
		const char *fix;
	} knobs[] = {
		{ "/proc/sys/kernel/unprivileged_userns_clone", 0,
		  "unprivileged user namespaces are disabled; enable them with 'sysctl -w kernel.unprivileged_userns_clone=1'" },
		{ "/proc/sys/user/max_user_namespaces", 0,
		  "user.max_user_namespaces is 0; raise it with 'sysctl -w user.max_user_namespaces=10000'" },
		{ "/proc/sys/kernel/apparmor_restrict_unprivileged_userns", 1,
		  "AppArmor restricts them; allow it with 'sysctl -w kernel.apparmor_restrict_unprivileged_userns=0' or an "
		  "AppArmor profile for ajail" },
	};
	for (size_t i = 0; i < sizeof knobs / sizeof knobs[0]; i++)
		if (read_int_file(knobs[i].file, -1) == knobs[i].off)
			return aj_fail(err, 0, "cannot create a user namespace (%s): %s", strerror(e), knobs[i].fix);
	return aj_fail(err, 0, "cannot create the jail's namespaces (%s): user namespaces need CONFIG_USER_NS; "
			       "is ajail itself running in a restricted container?", strerror(e));
}

/* clone(2) as fork, or clone3(2) straight into the jail's cgroup: nothing of the jail ever runs
 * outside its limits, not even for the moment between a fork and a write to cgroup.procs. */
static pid_t clone_jail(int flags, int cgroup_fd)
{
	if (cgroup_fd < 0)
		return (pid_t)syscall(SYS_clone, (unsigned long)flags | SIGCHLD, NULL, NULL, NULL, NULL);
	struct {
		uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
			cgroup;
	} args = { .flags = (uint64_t)(unsigned)flags | 0x200000000ULL /* CLONE_INTO_CGROUP */,
		   .exit_signal = SIGCHLD,
		   .cgroup = (uint64_t)cgroup_fd };
	return (pid_t)syscall(SYS_clone3, &args, sizeof args);
}

int sandbox_run(const struct plan *p, struct sandbox_use *use, int *status, struct aj_err *err)
{
	struct created_list created = { 0 };
	struct proxy px = PROXY_INIT;
	int netsock[2] = { -1, -1 };
	struct tty_relay relay;
	int ret = -1;
	int errpipe[2] = { -1, -1 }, alive[2] = { -1, -1 }, sock[2] = { -1, -1 };
	cleanup_close int sfd = -1;
	sigset_t set, orig;
	bool blocked = false;
	pid_t pid = -1;
	struct sock_fprog filter = { 0 };
	struct cgroup cg = CGROUP_INIT;

	tty_relay_init(&relay, p->pty_fds);
	if (p->layers.seccomp)
		harden_seccomp_filter(&p->layers, &filter);
	if (p->layers.cgroup_parent) {
		struct cg_limits lim = { .memory = p->layers.memory, .cpus_milli = p->layers.cpus_milli, .pids = p->layers.pids };
		if (cgroup_create("", p->layers.cgroup_parent, &lim, &cg, err) < 0)
			goto out;
	}
	if (prepare_host(p, &created, err) < 0)
		goto out;
	if (p->net.mode == NET_ALLOW || p->net.n_publish) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, netsock) < 0) {
			aj_fail(err, errno, "socketpair");
			goto out;
		}
		/* Forked before the signals are blocked, so it starts with a plain signal mask. */
		if (proxy_start(p, netsock[0], p->pty_fds && isatty(STDERR_FILENO), &px, err) < 0)
			goto out;
		close(netsock[0]);
		netsock[0] = -1;
	}
	if (pipe2(errpipe, O_CLOEXEC) < 0 || pipe2(alive, O_CLOEXEC) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sock) < 0) {
		aj_fail(err, errno, "pipe");
		goto out;
	}
	forward_set(&set);
	sigprocmask(SIG_BLOCK, &set, &orig);
	blocked = true;
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		aj_fail(err, errno, "signalfd");
		goto restore;
	}
	/* A fork-like clone: the child continues here with a copy of our memory, the plan included. */
	pid = clone_jail(p->clone_flags, cg.v1 ? -1 : cg.fd);
	if (pid < 0) {
		if (cg.fd >= 0 && errno != EPERM && errno != EINVAL)
			aj_fail(err, errno, "start the jail in its cgroup %s (clone3 with CLONE_INTO_CGROUP needs Linux 5.7)", cg.path);
		else
			explain_clone_failure(errno, err);
		goto restore;
	}
	if (pid == 0) {
		close(errpipe[0]);
		close(alive[1]);
		close(sock[0]);
		child_main(p, &orig, errpipe[1], alive[0], &relay, sock[1], netsock[1], filter.filter ? &filter : NULL,
			   cg.v1 ? cg.path : NULL);
	}
	if (netsock[1] >= 0) {
		close(netsock[1]);
		netsock[1] = -1;
	}
	close(errpipe[1]);
	errpipe[1] = -1;
	close(alive[0]);
	alive[0] = -1;
	close(sock[1]);
	sock[1] = -1;

	struct wire_err w = { 0 };
	bool got_err = false;
	int errfd = errpipe[0], sockfd = p->pty_fds ? sock[0] : -1;
	for (;;) {
		struct pollfd pfds[3 + TTY_RELAY_POLLFDS] = { { .fd = errfd, .events = POLLIN },
							      { .fd = sfd, .events = POLLIN },
							      { .fd = sockfd, .events = POLLIN } };
		size_t nrelay = tty_relay_pollfds(&relay, pfds + 3);
		if (poll(pfds, 3 + nrelay, -1) < 0) {
			if (errno == EINTR)
				continue;
			aj_fail(err, errno, "poll");
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			goto restore;
		}
		if (errfd >= 0 && (pfds[0].revents & (POLLIN | POLLHUP))) {
			if (read(errfd, &w, sizeof w) == (ssize_t)sizeof w)
				got_err = true;
			errfd = -1; /* EOF: the command was exec'd, or it failed and said why */
		}
		if (sockfd >= 0 && (pfds[2].revents & (POLLIN | POLLHUP))) {
			int master = recv_fd(sockfd);
			sockfd = -1;
			if (master >= 0 && tty_relay_start(&relay, master, err) < 0) {
				close(master);
				kill(pid, SIGKILL);
				waitpid(pid, NULL, 0);
				goto restore;
			}
		}
		tty_relay_handle(&relay, pfds + 3, nrelay);
		if (!(pfds[1].revents & POLLIN))
			continue;
		struct signalfd_siginfo si;
		if (read(sfd, &si, sizeof si) != (ssize_t)sizeof si)
			continue;
		if (si.ssi_signo == SIGWINCH && p->pty_fds) {
			tty_relay_winch(&relay); /* the jail's pty tells its foreground job */
			continue;
		}
		if (si.ssi_signo != SIGCHLD) {
			siginfo_t fake = { .si_code = si.ssi_code };
			if (should_forward(&fake, p->new_session))
				kill(pid, (int)si.ssi_signo);
			continue;
		}
		int ws;
		if (waitpid(pid, &ws, WNOHANG) != pid)
			continue;
		if (!got_err && errfd >= 0 && read(errfd, &w, sizeof w) == (ssize_t)sizeof w)
			got_err = true;
		tty_relay_finish(&relay);
		if (got_err) {
			aj_err_set(err, (enum aj_err_kind)w.kind, 0, "%s", w.msg);
			err->errnum = w.errnum;
			goto restore;
		}
		*status = status_code(ws);
		ret = 0;
		break;
	}
restore:
	tty_relay_finish(&relay);
out:
	use->net_summary = proxy_finish(&px);
	for (int i = 0; i < 2; i++)
		if (netsock[i] >= 0)
			close(netsock[i]);
	/* A kept root overlay's upper (a commit's new layer, a layer under --fs-edit) is this jail's
	 * alone: what was made in it goes now, whoever else runs on the rootfs beneath. */
	cleanup_host(&created, p->n_steps && p->steps[0].kind == MK_ROOT_OVERLAY_KEEP ? NULL : use);
	if (cg.path) {
		unsigned ooms = 0;
		struct aj_err cerr = { 0 };
		if (cgroup_remove(&cg, &ooms, &cerr) < 0)
			fprintf(stderr, "ajail: %s\n", cerr.msg);
		if (ooms && !p->quiet)
			fprintf(stderr, "ajail: the jail hit its --memory limit: the kernel killed %u process%s\n", ooms,
				ooms == 1 ? "" : "es");
	}
	/* Signals sent after the jail ended were meant for it: taken here, once the mount points and
	 * the cgroup are gone, instead of killing ajail half-way through its cleanup (or the clone's
	 * delivery that follows) when the mask is lifted. */
	if (blocked) {
		struct signalfd_siginfo si;
		while (sfd >= 0 && read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
			;
		sigprocmask(SIG_SETMASK, &orig, NULL);
	}
	for (int i = 0; i < 2; i++) {
		if (errpipe[i] >= 0)
			close(errpipe[i]);
		if (alive[i] >= 0)
			close(alive[i]);
		if (sock[i] >= 0)
			close(sock[i]);
	}
	return ret;
}

/* ---- ajail doctor ---- */

/* In a fresh user + mount namespace: map ourselves, then mount an overlay on a private tmpfs the way a
 * jail's root is made. Exit 0 on success, else 10 + the step that failed. */
static int doctor_child(uid_t uid, gid_t gid, int errfd)
{
	struct aj_err err = { 0 };
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
		int e = errno;
		if (write(errfd, &e, sizeof e) < 0) {
		}
		return 10;
	}
	char map[64];
	snprintf(map, sizeof map, "0 %u 1", (unsigned)uid);
	if (write_file("/proc/self/setgroups", "deny", &err) < 0 || write_file("/proc/self/uid_map", map, &err) < 0)
		return 11;
	snprintf(map, sizeof map, "0 %u 1", (unsigned)gid);
	if (write_file("/proc/self/gid_map", map, &err) < 0)
		return 11;
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0 || mount("tmpfs", "/tmp", "tmpfs", 0, "mode=0700") < 0)
		return 12;
	if (mkdir("/tmp/l", 0755) < 0 || mkdir("/tmp/m", 0755) < 0)
		return 12;
	cleanup_close int target = open("/tmp/m", O_PATH | O_CLOEXEC);
	const char *params[] = { "lowerdir", "/tmp/l", "upperdir", "/tmp/u", "workdir", "/tmp/w", "userxattr", NULL, NULL };
	if (mkdir("/tmp/u", 0755) < 0 || mkdir("/tmp/w", 0755) < 0)
		return 12;
	if (new_fs("overlay", params, 0, target, &err) < 0) {
		if (write(errfd, err.msg, strlen(err.msg)) < 0) {
		}
		return err.errnum == ENOSYS || strstr(err.msg, "fsopen") ? 13 : 14;
	}
	return 0;
}

size_t sandbox_doctor(struct sandbox_check *c, size_t max)
{
	size_t n = 0;
	struct utsname u;
	if (n < max) {
		c[n] = (struct sandbox_check){ .name = "kernel", .ok = true, .required = false };
		if (uname(&u) == 0)
			snprintf(c[n].detail, sizeof c[n].detail, "%s %s", u.sysname, u.release);
		n++;
	}
	int pipefd[2];
	int code = -1;
	char msg[200] = "";
	if (pipe2(pipefd, O_CLOEXEC) == 0) {
		pid_t pid = fork();
		if (pid == 0) {
			close(pipefd[0]);
			_exit(doctor_child(getuid(), getgid(), pipefd[1]));
		}
		close(pipefd[1]);
		ssize_t r = pid > 0 ? read(pipefd[0], msg, sizeof msg - 1) : -1;
		msg[r > 0 ? r : 0] = '\0';
		close(pipefd[0]);
		int ws;
		if (pid > 0 && waitpid(pid, &ws, 0) == pid && WIFEXITED(ws))
			code = WEXITSTATUS(ws);
	}
	if (n + 2 < max) {
		struct aj_err e = { 0 };
		c[n] = (struct sandbox_check){ .name = "user namespaces", .ok = code == 0 || code > 11, .required = true };
		if (c[n].ok)
			snprintf(c[n].detail, sizeof c[n].detail, "unprivileged user namespaces work");
		else {
			int en = EPERM;
			if (code == 10)
				memcpy(&en, msg, sizeof en);
			explain_clone_failure(en, &e);
			snprintf(c[n].detail, sizeof c[n].detail, "%s", e.msg);
		}
		n++;
		c[n] = (struct sandbox_check){ .name = "overlayfs in a user namespace", .ok = code == 0, .required = true };
		if (code == 0)
			snprintf(c[n].detail, sizeof c[n].detail, "works (the jail's ephemeral root)");
		else if (code == 13)
			snprintf(c[n].detail, sizeof c[n].detail, "no new mount API: ajail needs Linux 5.12 or newer");
		else if (code > 11)
			snprintf(c[n].detail, sizeof c[n].detail, "fails (%s): needs Linux 5.11 or newer", msg[0] ? msg : "mount");
		else
			snprintf(c[n].detail, sizeof c[n].detail, "not tried: no user namespace");
		n++;
	}
	if (n < max) {
		int tiocsti = read_int_file("/proc/sys/dev/tty/legacy_tiocsti", -1);
		c[n] = (struct sandbox_check){ .name = "TIOCSTI", .ok = true, .required = false };
		snprintf(c[n].detail, sizeof c[n].detail, "%s",
			 tiocsti == 0 ? "disabled by the kernel (dev.tty.legacy_tiocsti=0)"
				      : "allowed by the kernel: jails get a pty of their own at a terminal, else a new session");
		n++;
	}
	return n;
}
