#include "lazy_ssl.h"

#include <dlfcn.h>

struct lazy_ssl lazy_ssl;

int lazy_ssl_load(struct aj_err *err)
{
	static void *handle;
	if (handle)
		return 0;
	/* libcrypto's functions (ERR_*, X509_*) are found through libssl's own dependency on it. */
	void *h = dlopen("libssl.so.3", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return aj_fail(err, 0, "cannot load OpenSSL for an https:// keygate (%s); install libssl3", dlerror());
#define LAZY_SSL_LOOKUP(f)                                                                               \
	if (!(lazy_ssl.f = (__typeof__(f) *)dlsym(h, #f))) {                                             \
		dlclose(h);                                                                              \
		return aj_fail(err, 0, "libssl.so.3 has no %s: ajail needs OpenSSL 3", #f);            \
	}
	LAZY_SSL_FUNCS(LAZY_SSL_LOOKUP)
#undef LAZY_SSL_LOOKUP
	handle = h;
	return 0;
}
