/* extract.h — writing a rootfs, entry by entry, beneath a directory fd: the security boundary of the
 * store. archive.h states the rules (what is refused, what is flattened or skipped); this is where
 * they are enforced, for both sources of entries: the archive reader (archive.c) and the directory
 * walker (walk.c), which describe each entry as a struct xtract_entry. No libarchive here.
 *
 * Whatever an entry's name says, nothing is written outside the root: every parent is opened with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV) from the
 * root fd, so neither "..", an absolute name, nor a symlink made by an earlier entry can lead out,
 * and each leaf is created relative to that parent without following anything (O_EXCL, O_NOFOLLOW,
 * symlinkat, linkat without AT_SYMLINK_FOLLOW). Makes syscalls; call it from one thread only.
 *
 * On a machine with more than one CPU, a small regular file whose data comes as blocks (blocks
 * below) is copied into memory and created by a worker thread, in the background: creating a file
 * is most of an import's time, and the kernel can create files of different directories at once.
 * Entries still behave as if written in order: an entry that could see the difference (the same
 * name, one beneath a pending file, a hard link to one, or anything that would remove a directory)
 * first waits for what is pending. A few MiB of data at most wait for the workers (extract.c). */
#ifndef AJAIL_EXTRACT_H
#define AJAIL_EXTRACT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "archive.h"
#include "error.h"
#include "output.h"

struct xtract;

/* Where a regular file's contents come from: write them into fd (a new, empty file) at their
 * offsets, holes left as holes, and set *end just past the last byte written. Returns 0, or -1 with
 * x->err set (xtract_write_fail for a failed write). Call xtract_progress now and then. */
typedef int (*xtract_data_fn)(struct xtract *x, void *ctx, int fd, const char *name, int64_t *end);

/* The other way for a regular file's contents to come (libarchive's read_data_block): the next block
 * in *buf (valid until the next call), its length and its offset in the file; returns 1, 0 after the
 * last block, -1 with x->err set. Pulled rather than pushed into an fd so that a small file can be
 * copied into memory and written by a worker; xtract_progress is called for each block. */
typedef int (*xtract_block_fn)(struct xtract *x, void *ctx, const void **buf, size_t *len, int64_t *off,
			       const char *name);

/* One entry, as the source describes it. Nothing here is trusted: the name is checked, the type
 * decides, the mode is cut down. Borrowed for the duration of xtract_entry. */
struct xtract_entry {
	const char *name; /* as the source names it ("./etc/passwd", "/etc/passwd", "etc"); NULL: none */
	mode_t type;	  /* S_IFREG, S_IFDIR, S_IFLNK are written; S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK
			   * skipped and counted; anything else refused */
	mode_t perm;	  /* 07777 bits; setuid/setgid are dropped (and counted) */
	int64_t uid, gid; /* only counted: nothing is chowned */
	bool has_mtime;	  /* else the times are left as they come */
	bool has_atime;	  /* else the atime is left alone */
	struct timespec mtime, atime;
	int64_t size;	      /* a regular file's size, reached with a hole when the data stops short; -1 unknown */
	const char *symlink;  /* S_IFLNK: the target, stored as it is (never followed by us) */
	const char *hardlink; /* non-NULL: a hard link to this earlier entry (a regular file in the tree) */
	xtract_data_fn data;  /* a regular file's contents (a hard link's, when it carries some); NULL: none */
	xtract_block_fn blocks; /* or the same contents as blocks (set one of the two) */
	void *data_ctx;		/* for either */
};

struct fixup;
struct xdir;
struct xpool;

struct xtract {
	/* Set by xtract_init; the caller may set own_uid/own_gid, in_bytes and in_total. */
	int root;		  /* the directory everything goes beneath (not owned) */
	struct archive_stats *st; /* counters, added to */
	struct aj_err *err;
	int64_t own_uid, own_gid; /* owners that are not "flattened" besides 0 (-1: none) */
	struct output_progress prog;
	const uint64_t *in_bytes; /* for the progress bar: input consumed so far (read atomically) */
	uint64_t in_total;	  /* and its total, 0 when unknown */

	/* Private. */
	mode_t umask;
	char *path, *tpath; /* normalised names of the current entry and of its hard link target */
	size_t path_cap, tpath_cap;
	struct xdir *cache; /* the last parent directory: its fd and normalised path */
	struct xpool *pool; /* the worker threads and what waits for them; NULL until the first small file */
	bool no_pool;	    /* one CPU, or the threads could not start: everything is written in place */
	struct fixup *fix;
	size_t nfix, capfix;
	char **skipped; /* device nodes not written: a hard link to one is skipped too */
};

/* Start writing beneath root. Reads the umask (without changing it for good). */
void xtract_init(struct xtract *x, int root, struct archive_stats *st, struct aj_err *err);
/* Write one entry (a small file maybe later, by a worker). -1 with x->err naming it when it is
 * refused or cannot be written, or naming an earlier entry whose deferred write failed. */
int xtract_entry(struct xtract *x, const struct xtract_entry *e);
/* Wait until every entry passed to xtract_entry so far is fully written (data, mode, times), and
 * forget the cached parent directory fd. Needed because small files are written by worker threads
 * after xtract_entry has returned: after xtract_sync, the caller may remove or replace paths beneath
 * x->root with its own *at() calls (an OCI layer's whiteouts), and nothing of ours can be stale.
 * -1 with x->err naming the entry if deferred work failed (a full disk says so plainly); it stays
 * failed. */
int xtract_sync(struct xtract *x);
/* After the last entry: xtract_sync, then give directories their final modes and times, deepest
 * first. */
int xtract_finish(struct xtract *x);
/* Free everything: stops the workers (what they have not written yet is dropped: on failure the
 * caller deletes the tree), closes the cached parent fd; the root stays open. Safe to call twice. */
void xtract_release(struct xtract *x);

/* Redraw the progress bar (cheap when it is off). */
void xtract_progress(struct xtract *x);
/* The error for a failed write of entry name: a full disk says so plainly. Returns -1. */
int xtract_write_fail(struct xtract *x, int errnum, const char *name, const char *what);
/* Files, directories, symlinks and hard links written so far. */
uint64_t xtract_entries(const struct archive_stats *st);

#endif
