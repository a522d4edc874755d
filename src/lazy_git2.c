#include "lazy_git2.h"

#include <dlfcn.h>
#include <stddef.h>

struct lazy_git2 lazy_git2;
struct lazy_z lazy_z;

int lazy_git2_load(struct aj_err *err)
{
	static void *handle;
	if (handle)
		return 0;
	void *h = dlopen("libgit2.so.1.5", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return aj_fail(err, 0, "cannot load libgit2 (%s); install libgit2-1.5 (make deps)", dlerror());
#define LAZY_GIT2_LOOKUP(f)                                                                             \
	if (!(lazy_git2.f = (__typeof__(f) *)dlsym(h, #f))) {                                           \
		dlclose(h);                                                                             \
		return aj_fail(err, 0, "libgit2 has no %s: ajail needs libgit2 1.5", #f);               \
	}
	LAZY_GIT2_FUNCS(LAZY_GIT2_LOOKUP)
#undef LAZY_GIT2_LOOKUP
	/* libgit2 needs libz: it is in the process now, and this only finds it. */
	void *z = dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!z) {
		dlclose(h);
		return aj_fail(err, 0, "cannot load zlib (%s)", dlerror());
	}
#define LAZY_Z_LOOKUP(f)                                                                                \
	if (!(lazy_z.f = (__typeof__(f) *)dlsym(z, #f))) {                                              \
		dlclose(h);                                                                             \
		return aj_fail(err, 0, "zlib has no %s", #f);                                           \
	}
	LAZY_Z_FUNCS(LAZY_Z_LOOKUP)
#undef LAZY_Z_LOOKUP
	/* Once per process: libgit2 keeps its global state (thread-local errors, caches) until exit. */
	if (lazy_git2.git_libgit2_init() < 0) {
		dlclose(h);
		return aj_fail(err, 0, "cannot initialise libgit2");
	}
	handle = h;
	return 0;
}
