/* walk.c — the fd walker. See walk.h for what it promises; the comments here say why. */
#include "walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

/* An inode seen with nlink > 1: where its first name is, and how many more names may come. */
struct link_slot {
	dev_t dev;
	ino_t ino;
	char *path;   /* NULL in a used slot: every name was seen, the slot is a tombstone */
	nlink_t left; /* names still to come */
	bool used;
};

struct frame {
	DIR *dir;	 /* the directory being listed; owns its fd */
	size_t path_len; /* its path's length in w->path */
};

struct walk {
	struct walk_opts o;
	dev_t top_dev;
	int top_fd; /* O_RDONLY directory fd of the top, until it is reported */
	bool started;
	struct frame *stack; /* one frame per directory being listed: the top, then WALK_MAX_DEPTH levels */
	size_t depth;
	int enter_fd; /* the last entry is a directory to enter: its O_RDONLY fd */
	int cur_fd;   /* the last entry's fd, closed on the next call (unless it is enter_fd) */
	char *path;
	size_t path_len, path_cap;
	char link[PATH_MAX + 1];
	struct link_slot *links;
	size_t nlinks, links_used, links_cap; /* live slots; used slots, tombstones too; slots */
	char *links_done;		      /* the path of a finished slot, freed on the next call */
	struct walk_entry e;
};

char *walk_shorten(const char *s)
{
	size_t n = strlen(s);
	if (n <= 240)
		return xstrdup(s);
	return xasprintf("%.100s...%s", s, s + n - 100);
}

/* "label/path" for messages, shortened: a jail can make paths as long as it likes. */
static char *shown(const struct walk *w, const char *path)
{
	const char *label = w->o.label ? w->o.label : ".";
	size_t n = strlen(label);
	cleanup_free char *full =
	    *path ? xasprintf("%s%s%s", label, n && label[n - 1] == '/' ? "" : "/", path) : xstrdup(label);
	return walk_shorten(full);
}

static int walk_fail(const struct walk *w, struct aj_err *err, int errnum, const char *path, const char *what)
{
	cleanup_free char *p = shown(w, path);
	return aj_fail(err, errnum, "'%s': %s", p, what);
}

static size_t link_hash(dev_t dev, ino_t ino, size_t cap)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)dev * 0xc2b2ae3d27d4eb4full;
	return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

static void links_grow(struct walk *w)
{
	struct link_slot *old = w->links;
	size_t oldcap = w->links_cap;
	/* Tombstones are dropped on the way: when they were most of the table, it keeps its size. */
	w->links_cap = !oldcap ? 256 : w->nlinks * 4 < oldcap ? oldcap : oldcap * 2;
	w->links = xcalloc(w->links_cap, sizeof *w->links);
	w->links_used = 0;
	for (size_t i = 0; i < oldcap; i++) {
		if (!old[i].used || !old[i].path)
			continue;
		size_t j = link_hash(old[i].dev, old[i].ino, w->links_cap);
		while (w->links[j].used)
			j = (j + 1) & (w->links_cap - 1);
		w->links[j] = old[i];
		w->links_used++;
	}
	free(old);
}

/* The path an earlier name of this inode had, or NULL when this is the first (then remembered). */
static const char *links_seen(struct walk *w, const struct stat *st, const char *path)
{
	if ((w->links_used + 1) * 2 > w->links_cap)
		links_grow(w);
	size_t mask = w->links_cap - 1, i = link_hash(st->st_dev, st->st_ino, w->links_cap);
	for (; w->links[i].used; i = (i + 1) & mask) {
		struct link_slot *s = &w->links[i];
		if (!s->path || s->dev != st->st_dev || s->ino != st->st_ino)
			continue;
		if (s->left > 1) {
			s->left--;
			return s->path;
		}
		/* Its last name: the slot becomes a tombstone, the path lives until the next call. (A
		 * name added meanwhile comes as a first one again: a copy instead of a link.) */
		w->links_done = s->path;
		s->path = NULL;
		w->nlinks--;
		return w->links_done;
	}
	w->links[i] = (struct link_slot){
	    .dev = st->st_dev, .ino = st->st_ino, .path = xstrdup(path), .left = st->st_nlink - 1, .used = true};
	w->links_used++;
	w->nlinks++;
	return NULL;
}

/* w->path = its first base bytes, then "/" and name. */
static void path_set(struct walk *w, size_t base, const char *name)
{
	size_t n = strlen(name), need = base + 1 + n + 1;
	if (need > w->path_cap) {
		w->path_cap = need * 2;
		w->path = xrealloc(w->path, w->path_cap);
	}
	size_t at = base;
	if (base > 0)
		w->path[at++] = '/';
	memcpy(w->path + at, name, n + 1);
	w->path_len = at + n;
}

struct walk *walk_open(int topfd, const struct walk_opts *o, struct aj_err *err)
{
	/* "." through the fd is the directory itself: nothing to exchange. O_RDONLY to list it. */
	int fd = openat(topfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		aj_fail(err, errno, "'%s'", o->label ? o->label : ".");
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	struct walk *w = xcalloc(1, sizeof *w);
	w->o = *o;
	w->top_fd = fd;
	w->top_dev = st.st_dev;
	w->enter_fd = w->cur_fd = -1;
	w->stack = xcalloc(WALK_MAX_DEPTH + 1, sizeof *w->stack);
	path_set(w, 0, "");
	return w;
}

void walk_close(struct walk *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->depth; i++)
		closedir(w->stack[i].dir);
	if (w->top_fd >= 0)
		close(w->top_fd);
	if (w->enter_fd >= 0)
		close(w->enter_fd);
	if (w->cur_fd >= 0 && w->cur_fd != w->enter_fd)
		close(w->cur_fd);
	for (size_t i = 0; i < w->links_cap; i++)
		free(w->links[i].path);
	free(w->links);
	free(w->links_done);
	free(w->stack);
	free(w->path);
	free(w);
}

/* An O_PATH fd opened again with flags: the same inode, whatever its name leads to by now. */
static int reopen(int fd, int flags)
{
	char p[64];
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	return open(p, flags | O_CLOEXEC);
}

int walk_open_data(const struct walk *w, const struct walk_entry *e, struct aj_err *err)
{
	if (!S_ISREG(e->st.st_mode))
		return walk_fail(w, err, 0, e->path, "not a regular file");
	/* O_NONBLOCK and O_NOCTTY cannot matter for a regular file; they are there in case. */
	int fd = reopen(e->fd, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT && access("/proc/self/fd", F_OK) < 0)
			return aj_fail(err, 0, "/proc is not mounted: files cannot be read safely without it");
		return walk_fail(w, err, errno, e->path, "open");
	}
	return fd;
}

int walk_next(struct walk *w, const struct walk_entry **out, struct aj_err *err)
{
	if (w->cur_fd >= 0 && w->cur_fd != w->enter_fd)
		close(w->cur_fd);
	w->cur_fd = -1;
	free(w->links_done);
	w->links_done = NULL;
	memset(&w->e, 0, sizeof w->e);
	w->e.fd = -1;
	if (!w->started) {
		w->started = true;
		if (fstat(w->top_fd, &w->e.st) < 0)
			return walk_fail(w, err, errno, "", "stat");
		w->cur_fd = w->enter_fd = w->top_fd;
		w->top_fd = -1;
		w->e.path = w->path;
		w->e.fd = w->enter_fd;
		*out = &w->e;
		return 1;
	}
	if (w->enter_fd >= 0) {
		int fd = w->enter_fd;
		w->enter_fd = -1;
		DIR *d = fdopendir(fd);
		if (!d) {
			int e = errno;
			close(fd);
			return walk_fail(w, err, e, w->path, "read the directory");
		}
		w->stack[w->depth++] = (struct frame){.dir = d, .path_len = w->path_len};
	}
	while (w->depth > 0) {
		struct frame *f = &w->stack[w->depth - 1];
		errno = 0;
		struct dirent *de = readdir(f->dir);
		if (!de) {
			if (errno) {
				int e = errno;
				w->path[f->path_len] = '\0';
				w->path_len = f->path_len;
				return walk_fail(w, err, e, w->path, "read the directory");
			}
			closedir(f->dir);
			w->depth--;
			continue;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		path_set(w, f->path_len, de->d_name);
		/* O_PATH opens nothing: not a fifo (no hang), not a device (no side effect), not an
		 * automount point; with O_NOFOLLOW, a symlink is the symlink itself. */
		int fd = openat(dirfd(f->dir), de->d_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT)
				continue; /* gone since readdir: there is nothing to copy */
			return walk_fail(w, err, errno, w->path, "open");
		}
		w->cur_fd = fd;
		if (fstat(fd, &w->e.st) < 0)
			return walk_fail(w, err, errno, w->path, "stat");
		const struct stat *st = &w->e.st;
		w->e.path = w->path;
		w->e.fd = fd;
		if (S_ISDIR(st->st_mode)) {
			if (w->o.skip && st->st_dev == w->o.skip_dev && st->st_ino == w->o.skip_ino) {
				close(fd);
				w->cur_fd = -1;
				continue;
			}
			if (st->st_dev != w->top_dev) {
				w->e.other_fs = true;
			} else {
				if (w->depth > WALK_MAX_DEPTH) { /* this directory is level depth + 1 */
					char what[96];
					snprintf(what, sizeof what,
						 "the tree is deeper than %d directories (the limit)", WALK_MAX_DEPTH);
					return walk_fail(w, err, 0, w->path, what);
				}
				/* Listed through the inode that was fstat'ed, whatever the name is now. */
				int rfd = reopen(fd, O_RDONLY | O_DIRECTORY);
				if (rfd < 0)
					return walk_fail(w, err, errno, w->path, "open");
				close(fd);
				w->cur_fd = w->enter_fd = w->e.fd = rfd;
			}
		} else if (S_ISLNK(st->st_mode)) {
			ssize_t n = readlinkat(fd, "", w->link, sizeof w->link);
			if (n < 0)
				return walk_fail(w, err, errno, w->path, "read the symbolic link");
			if ((size_t)n >= sizeof w->link)
				return walk_fail(w, err, ENAMETOOLONG, w->path, "read the symbolic link");
			w->link[n] = '\0';
			w->e.link = w->link;
		} else if (S_ISREG(st->st_mode) && st->st_nlink > 1) {
			w->e.hardlink = links_seen(w, st, w->path);
		}
		*out = &w->e;
		return 1;
	}
	return 0;
}

int walk_data_extent(int fd, int64_t size, int64_t *off, int64_t *len)
{
	if (*off >= size)
		return 0;
	off_t d = lseek(fd, (off_t)*off, SEEK_DATA);
	if (d < 0) {
		if (errno == ENXIO)
			return 0; /* a hole up to the end (or the file shrank) */
		if (errno != EINVAL && errno != EOPNOTSUPP)
			return -1;
		*len = size - *off; /* no hole reporting here: all data */
		return 1;
	}
	if (d >= size)
		return 0;
	off_t h = lseek(fd, d, SEEK_HOLE);
	if (h < 0 || h > size)
		h = (off_t)size;
	*off = d;
	*len = h - d;
	return 1;
}
