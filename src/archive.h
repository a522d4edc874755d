/* archive.h — rootfs import (safe, unprivileged extraction) and export, on top of libarchive and libzstd.
 *
 * Import is the security boundary of the store: whatever the archive says, nothing is ever written
 * outside the target directory. Every entry is written with *at() calls relative to a directory fd
 * that was resolved with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), so neither "..", an absolute
 * name, nor a symlink planted by an earlier entry can lead out (extract.c). A directory source and a
 * rootfs being exported are read with the fd walker of walk.h, never by path, so a jail changing the
 * tree meanwhile cannot make either read what lies outside it. The modules behind this header:
 * archive.c (import; the decoding pipeline), extract.c (the writer), walk.c (the walker), export.c.
 * Makes syscalls; not thread-safe (an archive import starts one helper thread of its own for
 * decompression and, with more than one CPU, extract.c's workers for small files, all joined before
 * it returns; an export libzstd's workers). */
#ifndef AJAIL_ARCHIVE_H
#define AJAIL_ARCHIVE_H

/* libarchive's header has this file's name. With -Isrc, archive.c's #include <archive.h> finds this
 * file first; continue the search so that libarchive's own comes in right behind. (With -iquote src
 * the angle form finds libarchive's directly, ARCHIVE_VERSION_NUMBER is defined, and this is skipped.) */
#if defined(AJAIL_ARCHIVE_IMPL) && !defined(ARCHIVE_VERSION_NUMBER)
#include_next <archive.h>
#endif

#include <stdbool.h>
#include <stdint.h>

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "util.h"

struct archive_stats {
	uint64_t files, dirs, symlinks, hardlinks; /* entries written */
	uint64_t bytes;				   /* bytes of file data written (apparent size) */
	uint64_t skipped_devices;  /* device nodes and fifos/sockets skipped: the jail's /dev replaces them */
	uint64_t owners_flattened; /* entries whose uid/gid was not 0: they become the user's (root inside) */
	uint64_t setid_dropped;	   /* setuid/setgid bits removed */
	uint64_t input_bytes;	   /* import: bytes of input read (compressed);
				    * export: bytes of output written (compressed) */
};

/* Extract SOURCE into the empty directory dirfd, never writing outside it. SOURCE is a file in any
 * format/compression libarchive reads (detected by content, not name), "-" for standard input, or a
 * directory (SOURCE itself may be a symlink to one), copied with the same rules by the fd walker
 * (walk.h): nothing beneath SOURCE is followed, each file's data comes from the inode that was looked
 * at, other filesystems mounted inside are not entered, the target directory itself is never copied
 * into itself, hard links and holes are kept, and a tree deeper than WALK_MAX_DEPTH (512) directories
 * is refused (a one-line error naming the path and the limit). label is for messages (the rootfs
 * name). progress: draw a progress bar on stderr when it is a terminal.
 * Returns 0, or -1 with err naming the offending entry for a rejected archive. The caller removes
 * dirfd's contents on failure (it is a temp dir), so you need not clean up.
 *
 * Rules: ownership is never kept. owners_flattened counts entries not owned by 0:0 (for a directory
 * source: by neither 0 nor the calling user, whose own files are simply copied). Device nodes, fifos
 * and sockets are skipped (skipped_devices); setuid/setgid bits are dropped (setid_dropped); other
 * mode bits and mtimes are kept. Directories stay 0700 while the archive is extracted and get their
 * final mode and mtime at the very end, so on failure everything left behind is writable by the
 * user and easy to delete (after success, a rootfs may hold 0555 or 0700 directories: deleting it
 * needs a chmod u+rwx on the way down). The root directory's own mode ("./" entry) is applied with
 * u+rwx kept, so the store can still rename and delete it. A ".." component anywhere, a write
 * through a symlink or a non-directory, a hard link to something that is not a regular file inside
 * the tree, or a non-directory replacing a non-empty directory rejects the whole archive. An archive
 * without any entry is rejected too. Formats: tar (ustar, pax, GNU, v7), cpio, zip, 7z, iso9660;
 * compressions: zstd (own decoder thread), gzip, xz, bzip2, lz4, lzip, compress (libarchive's
 * filters, in the decoder thread). */
int archive_import(const char *source, int dirfd, const char *label, bool progress, struct archive_stats *st,
		   struct aj_err *err);

/* Write the tree at dirfd to path: ".tar" plain (pax restricted / GNU-compatible ustar), ".tar.zst"/".tzst" through
 * libzstd with multi-threaded compression (ZSTD_c_nbWorkers = number of CPUs), ".tar.gz"/".tgz", ".tar.xz"/".txz" and
 * ".tar.bz2"/".tbz2" through libarchive's filters; "-" writes a plain tar to stdout. Any other name is a usage error.
 * Every entry is owned by 0:0 (root), as the jail sees it; names are "./etc/passwd"-style, hard links and sparse files
 * are kept, other filesystems mounted inside are not descended into; the tree is read with the fd walker (walk.h), with
 * its rules: devices, fifos and sockets skipped (skipped_devices), setuid/setgid dropped (setid_dropped), nothing
 * deeper than 512 directories. Write to path+".part" and rename at the end so a failed export leaves nothing. */
/* A struct xtract_entry's .blocks (extract.h) for the current entry of the libarchive reader ctx (a
 * struct archive *): its next block, at the offset libarchive gives, so holes stay holes. Also the
 * OCI importer's, for each layer. */
struct xtract;
int archive_blocks(struct xtract *x, void *ctx, const void **buf, size_t *len, int64_t *off, const char *name);

int archive_export(int dirfd, const char *path, const char *label, bool progress, struct archive_stats *st,
		   struct aj_err *err);

/* Pure helper, the lexical half of the safety checks (inline so that the unit tests, which link no
 * library, can call it). Normalise an archive entry name into out (room for strlen(in) + 1 bytes):
 * leading '/'s are stripped (like GNU tar), "." and empty components dropped, a trailing '/' dropped;
 * "" means the root itself. Returns false, leaving out unspecified, when a ".." component is present:
 * such an entry would leave the rootfs. */
static inline bool archive_path_clean(const char *in, char *out)
{
	bool dotdot;
	char *n = path_normalize(in, &dotdot);
	if (!dotdot)
		strcpy(out, n + 1); /* without the leading '/' that path_normalize always gives */
	free(n);
	return !dotdot;
}

#endif
