/* error.h — errors as values (crun/git style).
 *
 * A function that can fail returns 0 or a negative value and fills a struct aj_err. Callers may wrap
 * the message with context (aj_err_wrap), so the user sees `import "alpine": open "x.tar": No such
 * file or directory`. Only main() prints, once. Pure: no syscalls. */
#ifndef AJAIL_ERROR_H
#define AJAIL_ERROR_H

#include <stddef.h>

/* What kind of failure, which decides the exit status: usage errors exit 2, everything else 1,
 * except a command that cannot be run inside the jail (126/127, as shells do). */
enum aj_err_kind {
	AJ_ERR_FAIL = 1,
	AJ_ERR_USAGE = 2,
	AJ_ERR_NOEXEC = 126,
	AJ_ERR_NOTFOUND = 127,
};

struct aj_err {
	enum aj_err_kind kind;
	int errnum;   /* 0 when not from a syscall */
	char msg[1024]; /* full message, without the "ajail: " prefix; "" when no error */
};

/* Set an error; returns -1 so callers can `return aj_err_set(...)`. A non-zero errnum appends
 * ": strerror(errnum)". */
int aj_err_set(struct aj_err *e, enum aj_err_kind kind, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Shortcuts for the two common kinds. */
int aj_fail(struct aj_err *e, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int aj_usage(struct aj_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefix the existing message with context: "<context>: <old message>". Returns -1. */
int aj_err_wrap(struct aj_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Exit status main() should use for this error. */
int aj_err_exit_code(const struct aj_err *e);

#endif
