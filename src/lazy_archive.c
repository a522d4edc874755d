#include "lazy_archive.h"

#include <dlfcn.h>
#include <stddef.h>

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
