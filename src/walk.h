/* walk.h — a walk of a directory tree that someone else may be changing while it runs: a jail writes
 * the working directory, and a rootfs under --fs-edit, and can race the walk. Shared by `fs import
 * DIR`, `fs cp` (archive.c) and `fs export` (export.c).
 *
 * Each entry is opened exactly once, relative to its parent directory's fd and without following a
 * symlink (openat O_PATH | O_NOFOLLOW, which opens nothing: no fifo blocks, no device acts); fstat
 * on that fd decides what it is, and everything after goes through the fd: a directory is listed,
 * and a regular file's data read, through the very inode that was fstat'ed (the O_PATH fd reopened
 * through /proc/self/fd, which cannot lead to another file), a symlink's target is read with
 * readlinkat(fd, ""). So no name can be exchanged for a symlink, a fifo or another file between the
 * look and the use. Device nodes, fifos and sockets are reported, for the caller to skip and count,
 * and never opened for reading. Hard links are found by (dev, ino) when nlink > 1.
 *
 * The walk is iterative (no recursion) and holds one directory fd per level; a tree deeper than
 * WALK_MAX_DEPTH directories is refused with an error naming the path and the limit, so a jail that
 * nests directories 100 000 deep costs neither the stack nor the fd table. Memory: one directory
 * buffer per level, the current path, and one path per inode with more links still to come.
 * Makes syscalls; not thread-safe. */
#ifndef AJAIL_WALK_H
#define AJAIL_WALK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "error.h"

/* No system tree comes near it (a Debian rootfs is about 15 deep); each level costs an fd and a
 * directory buffer, and 512 levels stay well inside the usual limit of 1024 open files. */
#define WALK_MAX_DEPTH 512

struct walk_entry {
	const char *path;     /* relative to the top: "" for the top itself, "etc", "etc/passwd" */
	int fd;		      /* the entry, opened as described above (borrowed; valid until the next call) */
	struct stat st;	      /* fstat of fd */
	const char *link;     /* a symlink: its target */
	const char *hardlink; /* a regular file whose inode (nlink > 1) an earlier entry had: that entry's path */
	bool other_fs;	      /* a directory on another filesystem than the top (a mount): reported, not entered */
};

struct walk_opts {
	const char *label; /* what the top is called in messages ("/src/dir", "."); entries are label/path */
	bool skip;	   /* a directory with this (dev, ino) is neither reported nor entered */
	dev_t skip_dev;
	ino_t skip_ino;
};

struct walk;

/* Start a walk at topfd (a directory; O_PATH will do; not taken over). NULL with err set. */
struct walk *walk_open(int topfd, const struct walk_opts *o, struct aj_err *err);
/* The next entry, directories before what they hold (the top first): 1 with *e set, 0 at the end,
 * -1 with err set. An entry that vanishes between readdir and open is left out. */
int walk_next(struct walk *w, const struct walk_entry **e, struct aj_err *err);
/* Close every fd the walk holds and free it; NULL is fine. */
void walk_close(struct walk *w);

/* A regular file of the walk, opened for reading through e->fd (O_RDONLY | O_NONBLOCK | O_NOCTTY |
 * O_CLOEXEC): the inode that was fstat'ed, never what its name leads to now. The caller closes it.
 * -1 with err set (/proc must be mounted: the reopening goes through /proc/self/fd). */
int walk_open_data(const struct walk *w, const struct walk_entry *e, struct aj_err *err);

/* The next stretch of data at or after *off within the first size bytes of fd, as SEEK_DATA and
 * SEEK_HOLE tell: 1 with [*off, *off + *len), 0 when nothing but a hole is left, -1 with errno. On a
 * filesystem that cannot tell, the rest of the file is one stretch. */
int walk_data_extent(int fd, int64_t size, int64_t *off, int64_t *len);

/* For messages: s itself when short, else its head and tail around "...". Caller frees. */
char *walk_shorten(const char *s);

#endif
