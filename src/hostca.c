#include "hostca.h"

#include "config.h"

#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int usable(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, R_OK) == 0;
}

/* $SSL_CERT_FILE may name a file in a directory a jail writes (the working directory): a symlink
 * there may be one a jail planted, to a file of the user's it could not read itself. Only a path
 * with no symlink anywhere is taken (ajail's plan then mounts that very inode); the distribution's
 * own paths below are in /etc, which no jail writes. */
static int canonical(const char *path)
{
	char real[PATH_MAX];
	return realpath(path, real) && strcmp(real, path) == 0;
}

const char *hostca_path(char *const *env)
{
	static const char *const known[] = {
		"/etc/ssl/certs/ca-certificates.crt",
		"/etc/pki/tls/certs/ca-bundle.crt",
		"/etc/ssl/ca-bundle.pem",
		"/etc/ssl/cert.pem",
	};
	const char *own = config_getenv(env, "SSL_CERT_FILE");
	if (own && own[0] == '/' && usable(own) && canonical(own))
		return own;
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (usable(known[i]))
			return known[i];
	return NULL;
}
