/* util.h — cleanup attributes, string vectors and lexical path helpers. Pure: no syscalls except
 * close() in the cleanup helper and the allocation functions, which abort on out-of-memory (a
 * sandbox launcher has nothing sensible to do half-way through building a plan without memory). */
#ifndef AJAIL_UTIL_H
#define AJAIL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define cleanup_free __attribute__((cleanup(util_freep)))
#define cleanup_close __attribute__((cleanup(util_closep)))
#define cleanup_strv __attribute__((cleanup(strv_freep)))
void util_freep(void *p);
void util_closep(int *fd);

/* Return *pp and set it to NULL: hands ownership out of a cleanup-annotated variable. */
#define steal_pointer(pp) ((__typeof__(*(pp)))util_steal((void **)(pp)))
void *util_steal(void **pp);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* NULL-terminated, heap-owned string vectors. */
size_t strv_len(char *const *v);
void strv_push(char ***v, char *s);     /* takes ownership of s */
void strv_free(char **v);
void strv_freep(char ***v);
bool strv_contains(char *const *v, const char *s);
char *strv_join(char *const *v, const char *sep); /* "" for NULL or empty; caller frees */

bool str_has_prefix(const char *s, const char *prefix);

/* "3.2 MB", "812 kB", "12 B" (decimal units, as du --si). Caller frees. */
char *util_human_size(uint64_t bytes);

/* write() until all n bytes are written (EINTR retried); -1 with errno on failure, ENOSPC for a
 * write that wrote nothing. */
int write_all(int fd, const void *buf, size_t n);
/* The same with pwrite() at off (the file offset is left alone: threads may share the fd). */
int pwrite_all(int fd, const void *buf, size_t n, int64_t off);

/* The integer at the start of a small file (a /proc/sys knob), or dflt when it cannot be read. */
int read_int_file(const char *path, int dflt);
/* The whole of a file no larger than max bytes, NUL-terminated (caller frees); the last component is
 * not followed, and only a regular file is read (opened without blocking: a fifo put in its place
 * fails with EINVAL instead of hanging, a directory with EISDIR). NULL with errno set on failure,
 * EFBIG when it is larger. Reads, changes nothing. */
char *read_file_at(int dirfd, const char *name, size_t max);
/* The same on an fd opened without blocking; *len (when not NULL) gets the bytes read, which may
 * hold a NUL. */
char *read_open_file(int fd, size_t max, size_t *len);

/* Which of /proc, /sys and /dev path is or is beneath (the jail's own, made fresh), with *rest what
 * follows it ("" or "/..."); NULL for any other path. */
const char *path_kernel_dir(const char *path, const char **rest);

/* Milliseconds of CLOCK_MONOTONIC: for deadlines and durations. */
uint64_t util_now_ms(void);

/* For trees a jail may have written (a clone's .git, a rootfs, the working directory): open rel
 * beneath dirfd with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
 * RESOLVE_NO_XDEV), so that no symlink anywhere on the way, no "..", no absolute name and no mount
 * crossing is followed; O_CLOEXEC, O_NOFOLLOW and O_NOCTTY always, O_NONBLOCK for a read-only open.
 * Returns the fd or -1 (ELOOP: a symlink was in the way, EXDEV: it would leave dirfd). */
int open_untrusted(int dirfd, const char *rel, int flags);
/* read_file_at through open_untrusted: rel may have several components, none of them a symlink. */
char *read_file_untrusted(int dirfd, const char *rel, size_t max);

/* s made safe to print on a terminal: C0 and C1 control characters, DEL, bidirectional-text controls
 * and bytes that are not UTF-8 become \n, \t, \r, \xHH or \u{HHHH}; a backslash becomes \\. Valid
 * printable UTF-8 passes through. For everything a clone, a rootfs or an archive named (file names,
 * branch names, messages). Caller frees. */
char *util_escape(const char *s);
/* The same, for n bytes that may contain NUL. */
char *util_escape_n(const char *s, size_t n);
/* The same, but a backslash stays one: for paths shown beside others (the status block, --dry-run),
 * where readability wins over telling "\x1b" typed from an escaped ESC apart. */
char *util_escape_controls(const char *s);

/* Lexical path helpers (no filesystem access). */
/* Join dir and rel with one '/', rel may be absolute (then it is returned as is). */
char *path_join(const char *dir, const char *rel);
/* Normalise an absolute path: collapse "//" and "/./", resolve ".." lexically, drop trailing '/'.
 * Sets *had_dotdot when a ".." component was present. */
char *path_normalize(const char *path, bool *had_dotdot);
/* True when path equals dir or lies beneath it (both normalised, absolute). */
bool path_is_under(const char *path, const char *dir);
/* path relative to dir ("" when equal); path must be under dir. */
const char *path_relative(const char *path, const char *dir);

#endif
