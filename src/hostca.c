#include "hostca.h"

#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *env_get(char *const *env, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; env && env[i]; i++)
		if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
			return env[i] + n + 1;
	return NULL;
}

static int usable(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, R_OK) == 0;
}

const char *hostca_path(char *const *env)
{
	static const char *const known[] = {
		"/etc/ssl/certs/ca-certificates.crt",
		"/etc/pki/tls/certs/ca-bundle.crt",
		"/etc/ssl/ca-bundle.pem",
		"/etc/ssl/cert.pem",
	};
	const char *own = env_get(env, "SSL_CERT_FILE");
	if (own && own[0] == '/' && usable(own))
		return own;
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (usable(known[i]))
			return known[i];
	return NULL;
}
