#include "lazy_archive.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

struct lazy_archive lazy_archive;

int lazy_archive_load(struct aj_err *err)
{
	static void *handle;
	if (handle)
		return 0;
	void *h = dlopen("libarchive.so.13", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return aj_fail(err, 0, "cannot load libarchive (%s); install libarchive13 (make deps)", dlerror());
#define LAZY_ARCHIVE_LOOKUP(f)                                                                          \
	if (!(lazy_archive.f = (__typeof__(f) *)dlsym(h, #f))) {                                        \
		dlclose(h);                                                                             \
		return aj_fail(err, 0, "libarchive has no %s: it is too old (ajail needs 3.6 or newer)", #f); \
	}
	LAZY_ARCHIVE_FUNCS(LAZY_ARCHIVE_LOOKUP)
#undef LAZY_ARCHIVE_LOOKUP
	handle = h;
	return 0;
}

const char *lazy_archive_msg(struct archive *a)
{
	const char *m = LA(archive_error_string)(a);
	return m ? m : "unknown libarchive error";
}

int lazy_archive_fail(struct aj_err *err, struct archive *a, const char *fmt, ...)
{
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return aj_fail(err, 0, "%s: %s", what, lazy_archive_msg(a));
}

void lazy_archive_read_freep(struct archive **a)
{
	if (*a)
		LA(archive_read_free)(*a);
}

void lazy_archive_write_freep(struct archive **a)
{
	if (*a)
		LA(archive_write_free)(*a);
}
