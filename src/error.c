#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int vset(struct aj_err *e, enum aj_err_kind kind, int errnum, const char *fmt, va_list ap)
{
	e->kind = kind;
	e->errnum = errnum;
	int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	if (errnum && n >= 0 && (size_t)n < sizeof e->msg)
		snprintf(e->msg + n, sizeof e->msg - (size_t)n, ": %s", strerror(errnum));
	return -1;
}

int aj_err_set(struct aj_err *e, enum aj_err_kind kind, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vset(e, kind, errnum, fmt, ap);
	va_end(ap);
	return -1;
}

int aj_fail(struct aj_err *e, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vset(e, AJ_ERR_FAIL, errnum, fmt, ap);
	va_end(ap);
	return -1;
}

int aj_usage(struct aj_err *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vset(e, AJ_ERR_USAGE, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int aj_err_wrap(struct aj_err *e, const char *fmt, ...)
{
	char buf[sizeof e->msg];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	size_t used = (size_t)n < sizeof buf - 3 ? (size_t)n : sizeof buf - 3;
	memcpy(buf + used, ": ", 3);
	used += 2;
	size_t rest = strnlen(e->msg, sizeof e->msg - 1);
	if (rest > sizeof buf - 1 - used)
		rest = sizeof buf - 1 - used;
	memcpy(buf + used, e->msg, rest);
	buf[used + rest] = '\0';
	memcpy(e->msg, buf, sizeof buf);
	return -1;
}

int aj_err_exit_code(const struct aj_err *e)
{
	return e->kind ? (int)e->kind : 1;
}
