/* projconf.h — per-project options: a `.ajail.conf` at the root of the repository the working
 * directory is in, one option per line as on the command line, applied only once the user trusts
 * that very content (`ajail trust`), as direnv's `allow`.
 *
 * The repository may be hostile (a stranger's clone, or written by an earlier jail, which can write
 * the working directory), so the file is data from an attacker until the user says otherwise:
 * nothing in it applies before its SHA-256 matches a trust record the user made, a changed file is
 * ignored until trusted again, and the trust prompt names every option that loosens the jail.
 *
 * Pure: parsing, classifying and the trust records' format. Reading the file and the records
 * (without following symlinks, bounded, non-blocking) is trust_cmd.c's. */
#ifndef AJAIL_PROJCONF_H
#define AJAIL_PROJCONF_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "sha256.h"

#define PROJCONF_NAME ".ajail.conf"
/* Larger than any list of options a person writes; a bound so a planted file cannot cost much. */
#define PROJCONF_MAX (64 * 1024)

/* The options of one file, in file order, each exactly as written (surrounding blanks trimmed). */
struct projconf {
	char **opts; /* NULL-terminated, heap-owned; NULL when the file has none */
};
void projconf_release(struct projconf *c);

/* Parse text (len bytes; a NUL byte inside refuses the file) read from path (used in messages only).
 * Each line is blank, a comment (first non-blank character '#'), or one option as on the command
 * line with any value after '=' (`--rw=build`, `-q`). Refused, naming path:line: a command or any
 * other word that is not an option, `--`, a ';' (AJAIL_ARGS separates options with it, and that is
 * how the file's options are handed on), a control character, an option written with its value
 * after a blank, an option cli_parse does not accept (unknown, a bad value), and options that mean
 * nothing in a project file (--help, --version, --no-project). -1 with err (AJ_ERR_USAGE) on the
 * first bad line: the whole file is then ignored, never half of it. */
int projconf_parse(const char *text, size_t len, const char *path, struct projconf *out, struct aj_err *err);

/* The options joined for AJAIL_ARGS: env_args (may be NULL or empty) first, then each option, all
 * separated by ';', so the command line still wins and a command-line --lockdown drops the loosening
 * ones exactly as it drops those of AJAIL_ARGS. Caller frees. */
char *projconf_ajail_args(const char *env_args, const struct projconf *c);

/* Why opt (one option as written in the file) loosens the jail: "the jail can change build on the
 * host"; NULL when it does not (it tightens, as --ro, --hide, --no-net, --lockdown, --memory, or
 * changes nothing the jail can reach, as -q). Loosening: whatever makes a host path writable or
 * visible (--rw, --mount, --dev, --fs-edit, --home-edit, --fs=PATH, --ro=/--rol= of a directory
 * outside the working directory, --net-log, which writes a host file), the network (--net=host,
 * --net=allow, --allow-net, --publish), a layer off (--no-seccomp, --no-landlock, --no-cap-drop,
 * --no-rlimits, --no-mask, --allow-ptrace, --cap-add), --clone-push, --profile, --no-profile and
 * --no-host-ca. An option this function does not know counts as loosening. Caller frees. */
char *projconf_loosening(const char *opt);

/* Trust records: $AJAIL_HOME/trust/NAME, NAME the SHA-256 (hex) of the file's canonical path.
 * Content (the path last: it may hold any byte but NUL, a newline included):
 *     ajail-trust 1
 *     sha256 <hex of the content the user trusted>
 *     path <canonical path of the .ajail.conf>
 */
enum projconf_trust {
	PROJCONF_UNTRUSTED, /* no record (or one that is not for this path) */
	PROJCONF_CHANGED,   /* a record for this path, of another content */
	PROJCONF_TRUSTED,   /* the record's hash is the content's */
};
/* NAME of path's record: 64 hex digits. */
void projconf_record_name(const char *path, char name[SHA256_HEX_LEN + 1]);
/* The record's text. Caller frees. */
char *projconf_record_format(const char *path, const char *hash_hex);
/* Split a record; -1 when it is not one (then *path is NULL). *path: caller frees. */
int projconf_record_parse(const char *text, char **path, char hash_hex[SHA256_HEX_LEN + 1]);
/* What record (NULL: none) says of path with content hash hash_hex. */
enum projconf_trust projconf_trust_state(const char *record, const char *path, const char *hash_hex);

#endif
