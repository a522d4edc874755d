/* lazy_archive.h — libarchive, loaded when an `fs` verb first needs it.
 *
 * Linking libarchive would load it (and libxml2, ICU and libstdc++ behind it) at every exec of ajail,
 * which more than doubled the start-up of a jail for a library the run path never calls. So the
 * functions archive.c (import of archives) and export.c use are looked up with dlopen/dlsym on first
 * use instead; each keeps its exact type through __typeof__ of libarchive's own declaration. A
 * directory import (walk.c, extract.c) needs none of it. */
#ifndef AJAIL_LAZY_ARCHIVE_H
#define AJAIL_LAZY_ARCHIVE_H

#include <archive.h>
#include <archive_entry.h>

#include "error.h"

#define LAZY_ARCHIVE_FUNCS(X) \
	X(archive_entry_atime) \
	X(archive_entry_atime_is_set) \
	X(archive_entry_atime_nsec) \
	X(archive_entry_clear) \
	X(archive_entry_copy_gname) \
	X(archive_entry_copy_hardlink) \
	X(archive_entry_copy_pathname) \
	X(archive_entry_copy_symlink) \
	X(archive_entry_copy_uname) \
	X(archive_entry_filetype) \
	X(archive_entry_free) \
	X(archive_entry_gid) \
	X(archive_entry_hardlink) \
	X(archive_entry_mtime) \
	X(archive_entry_mtime_is_set) \
	X(archive_entry_mtime_nsec) \
	X(archive_entry_new) \
	X(archive_entry_pathname) \
	X(archive_entry_pathname_utf8) \
	X(archive_entry_perm) \
	X(archive_entry_set_atime) \
	X(archive_entry_set_ctime) \
	X(archive_entry_set_filetype) \
	X(archive_entry_set_gid) \
	X(archive_entry_set_mtime) \
	X(archive_entry_set_perm) \
	X(archive_entry_set_size) \
	X(archive_entry_set_uid) \
	X(archive_entry_size) \
	X(archive_entry_size_is_set) \
	X(archive_entry_sparse_add_entry) \
	X(archive_entry_symlink) \
	X(archive_entry_symlink_utf8) \
	X(archive_entry_uid) \
	X(archive_error_string) \
	X(archive_read_close) \
	X(archive_read_data) \
	X(archive_read_data_block) \
	X(archive_read_free) \
	X(archive_read_new) \
	X(archive_read_next_header) \
	X(archive_read_open) \
	X(archive_read_open1) \
	X(archive_read_set_callback_data) \
	X(archive_read_set_read_callback) \
	X(archive_read_set_seek_callback) \
	X(archive_read_support_filter_all) \
	X(archive_read_support_format_7zip) \
	X(archive_read_support_format_cpio) \
	X(archive_read_support_format_empty) \
	X(archive_read_support_format_iso9660) \
	X(archive_read_support_format_raw) \
	X(archive_read_support_format_tar) \
	X(archive_read_support_format_zip) \
	X(archive_set_error) \
	X(archive_write_add_filter_bzip2) \
	X(archive_write_add_filter_gzip) \
	X(archive_write_add_filter_xz) \
	X(archive_write_close) \
	X(archive_write_data) \
	X(archive_write_finish_entry) \
	X(archive_write_free) \
	X(archive_write_header) \
	X(archive_write_new) \
	X(archive_write_open) \
	X(archive_write_set_bytes_in_last_block) \
	X(archive_write_set_bytes_per_block) \
	X(archive_write_set_filter_option) \
	X(archive_write_set_format_pax_restricted)

struct lazy_archive {
#define LAZY_ARCHIVE_FIELD(f) __typeof__(f) *f;
	LAZY_ARCHIVE_FUNCS(LAZY_ARCHIVE_FIELD)
#undef LAZY_ARCHIVE_FIELD
};

extern struct lazy_archive lazy_archive;

/* Load libarchive once; returns -1 with err set when it is not installed. */
int lazy_archive_load(struct aj_err *err);

/* A call through the table: LA(archive_read_new)(). */
#define LA(f) (lazy_archive.f)

/* The one boundary where libarchive's errors become ours: err = "<fmt...>: <libarchive's message>".
 * Returns -1. */
int lazy_archive_fail(struct aj_err *err, struct archive *a, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* libarchive's message for a, never NULL. */
const char *lazy_archive_msg(struct archive *a);

/* Cleanup attributes for libarchive's objects (NULL is fine). */
void lazy_archive_read_freep(struct archive **a);
void lazy_archive_write_freep(struct archive **a);
#define cleanup_archive_read __attribute__((cleanup(lazy_archive_read_freep)))
#define cleanup_archive_write __attribute__((cleanup(lazy_archive_write_freep)))

#endif
