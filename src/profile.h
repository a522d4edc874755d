/* profile.h — agent profiles: what an agent (claude, codex, ...) needs in a jail, declared in a small
 * file rather than in code. Pure: parsing and lookup only; main.c reads the user's files and
 * plan.c applies a profile.
 *
 * A profile is shipped in share/profiles/NAME (compiled in, installed under share/ajail/profiles)
 * and replaced as a whole by the user's own $XDG_CONFIG_HOME/ajail/profiles/NAME (default
 * ~/.config/ajail/profiles/NAME). It applies when the command's name is NAME, or to any command
 * with --profile=NAME. One `key value` per line, `#` comments:
 *
 *   state .claude/         a path under /root the agent keeps between sessions, in
 *   state .claude.json {}  $AJAIL_HOME/state/NAME/ (never in a rootfs); a trailing '/' makes it a
 *                          directory, anything else is a file, made with the rest of the line as its
 *                          content (Claude Code takes an empty .claude.json for a corrupted one)
 *   env VAR ...            host variables passed through when set
 *   set VAR=VALUE          a variable set in the jail (AJAIL_ENV_VAR still wins)
 *   arg ARG                an argument put right after the command's name, when the command is the
 *                          agent itself (not `--profile=codex bash`); ${VAR} is the jail's VAR
 *   arg-if VAR ARG         the same, only when the jail's VAR is set
 *   net PATTERN ...        --allow-net patterns (usually a preset: @claude) used whenever the network is
 *                          filtered (--net=allow, --allow-net)
 *   secret VAR HEADER URL BASE_VAR
 *                          VAR is an API key that stays outside a filtered jail: ajail's proxy adds it
 *                          as HEADER to requests the jail sends to $BASE_VAR, forwarding them to the
 *                          host's $BASE_VAR or URL (see plan.h's struct plan_keygate)
 */
#ifndef AJAIL_PROFILE_H
#define AJAIL_PROFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define PROFILE_MAX_TEXT (64 * 1024)
#define PROFILE_MAX_SECRETS 4

struct profile_state {
	char *path;    /* relative to /root, normalised, no trailing '/' */
	bool dir;
	char *initial; /* a file's content when it is made (`state .claude.json {}`), or NULL: empty */
};

struct profile_secret {
	char *env, *header, *upstream, *base_env;
};

struct profile {
	char *name;
	char *description; /* the first comment line */
	char *source;      /* "shipped", or the user's file */
	struct profile_state *state;
	size_t n_state;
	char **pass_env; /* env */
	char **set_env;  /* set: "VAR=VALUE" */
	char **args;     /* arg / arg-if: "ARG", or "?VAR\nARG" for arg-if */
	char **net;      /* net: patterns */
	struct profile_secret secret[PROFILE_MAX_SECRETS];
	size_t n_secret;
};

void profile_release(struct profile *p);

/* Parse a profile's text. Fills err (AJ_ERR_USAGE, naming source:line) on anything malformed. */
int profile_parse(const char *text, const char *name, const char *source, struct profile *p, struct aj_err *err);

/* Is name a plain profile name (letters, digits, '-', '_', '.', not starting with '.')? */
bool profile_name_ok(const char *name);

/* The shipped profile's text, or NULL. */
const char *profile_shipped(const char *name);
/* The shipped profiles' names, in order (a static NULL-terminated array). */
const char *const *profile_shipped_names(void);

/* The kind a shipped profile gives the home path rel (relative to /root): 1 a file, 2 a directory,
 * 0 when none declares it; *initial (if asked) a file's first content (caller frees) or NULL. For
 * --home-edit of a path that does not exist yet. */
int profile_known_kind(const char *rel, char **initial);

/* The profile a command selects by its name (the last component of argv0), or NULL. */
const char *profile_command_name(const char *argv0);

#endif
