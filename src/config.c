#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

const char *config_getenv(char *const *env, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; env && env[i]; i++)
		if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
			return env[i] + n + 1;
	return NULL;
}

char *config_store_dir(char *const *env)
{
	const char *h = config_getenv(env, "AJAIL_HOME");
	if (h && *h)
		return xstrdup(h);
	h = config_getenv(env, "HOME");
	if (h && *h)
		return path_join(h, ".ajail");
	return NULL;
}

char *config_user_file(char *const *env, const char *rel)
{
	const char *xdg = config_getenv(env, "XDG_CONFIG_HOME"), *home = config_getenv(env, "HOME");
	if (xdg && xdg[0] == '/')
		return xasprintf("%s/ajail/%s", xdg, rel);
	if (home && home[0] == '/')
		return xasprintf("%s/.config/ajail/%s", home, rel);
	return NULL;
}

void config_env_set(char ***v, const char *key, size_t keylen, const char *value)
{
	char *entry = xasprintf("%.*s=%s", (int)keylen, key, value);
	for (size_t i = 0; *v && (*v)[i]; i++) {
		if (strncmp((*v)[i], key, keylen) == 0 && (*v)[i][keylen] == '=') {
			free((*v)[i]);
			(*v)[i] = entry;
			return;
		}
	}
	strv_push(v, entry);
}

char **config_jail_env(char *const *host_env, bool git_checkstat)
{
	char **v = NULL;
	config_env_set(&v, "HOME", 4, "/root");
	config_env_set(&v, "USER", 4, "root");
	config_env_set(&v, "PATH", 4, CONFIG_JAIL_PATH);
	const char *term = config_getenv(host_env, "TERM");
	if (term)
		config_env_set(&v, "TERM", 4, term);
	config_env_set(&v, "IS_SANDBOX", 10, "1");
	if (git_checkstat && !config_getenv(host_env, "AJAIL_ENV_GIT_CONFIG_COUNT")) {
		config_env_set(&v, "GIT_CONFIG_COUNT", 16, "1");
		config_env_set(&v, "GIT_CONFIG_KEY_0", 16, "core.checkStat");
		config_env_set(&v, "GIT_CONFIG_VALUE_0", 18, "minimal");
	}
	static const char prefix[] = "AJAIL_ENV_";
	for (size_t i = 0; host_env && host_env[i]; i++) {
		const char *e = host_env[i];
		if (!str_has_prefix(e, prefix))
			continue;
		const char *key = e + sizeof prefix - 1;
		const char *eq = strchr(key, '=');
		if (!eq || eq == key)
			continue;
		config_env_set(&v, key, (size_t)(eq - key), eq + 1);
	}
	return v;
}

int config_validate_name(const char *name, struct aj_err *err)
{
	size_t n = strlen(name);
	if (n == 0 || n > CONFIG_NAME_MAX)
		return aj_usage(err, "rootfs name '%s' must be 1 to %d characters", name, CONFIG_NAME_MAX);
	if (!isalnum((unsigned char)name[0]))
		return aj_usage(err, "rootfs name '%s' must start with a letter or digit", name);
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isalnum(c) && c != '.' && c != '_' && c != '-')
			return aj_usage(err, "rootfs name '%s' may only contain letters, digits, '.', '_' and '-'", name);
	}
	/* The store keeps files named NAME.use, NAME.lock, NAME.pending, NAME.PID.tmp beside NAME's: a
	 * rootfs called x.use would share x's lock. */
	static const char *const reserved[] = { ".use", ".lock", ".pending", ".tmp" };
	for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
		size_t k = strlen(reserved[i]);
		if (n > k && strcmp(name + n - k, reserved[i]) == 0)
			return aj_usage(err, "rootfs name '%s' may not end in '%s' (the store's own files do)", name, reserved[i]);
	}
	return 0;
}
