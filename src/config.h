/* config.h — what the environment decides: the store location and the jail's environment.
 * Pure: every function reads only the environment array it is given. */
#ifndef AJAIL_CONFIG_H
#define AJAIL_CONFIG_H

#include <stdbool.h>

#include "error.h"

/* Value of NAME in env (a NULL-terminated "K=V" array), or NULL. */
const char *config_getenv(char *const *env, const char *name);

/* The store: $AJAIL_HOME, else $HOME/.ajail. NULL (with neither set). Caller frees. */
char *config_store_dir(char *const *env);
/* The user's own ajail file REL (net-presets, profiles/NAME): $XDG_CONFIG_HOME/ajail/REL when that is
 * absolute, else $HOME/.config/ajail/REL; NULL without either. Caller frees. */
char *config_user_file(char *const *env, const char *rel);
/* Set KEY=VALUE (KEY is key's first keylen bytes) in the environment *v, replacing an existing KEY. */
void config_env_set(char ***v, const char *key, size_t keylen, const char *value);

/* The jail's environment: HOME=/root USER=root PATH TERM IS_SANDBOX=1, then every AJAIL_ENV_X=v of
 * the host as X=v (overriding the defaults). git_checkstat adds core.checkStat=minimal through
 * GIT_CONFIG_COUNT/KEY/VALUE, so that git inside, where the user's files look owned by uid 0, does
 * not rehash and rewrite the user's index (unless AJAIL_ENV_ sets GIT_CONFIG_COUNT itself).
 * Returns a heap-owned NULL-terminated array. */
char **config_jail_env(char *const *host_env, bool git_checkstat);

/* Rootfs names: [A-Za-z0-9][A-Za-z0-9._-]*, at most CONFIG_NAME_MAX characters (so a name is never a
 * path, an option, or a hidden entry of the store). */
#define CONFIG_NAME_MAX 64
int config_validate_name(const char *name, struct aj_err *err);

#define CONFIG_JAIL_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#endif
