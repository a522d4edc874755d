/* trust_cmd.h — per-project options on the disk: finding and reading a repository's .ajail.conf
 * (projconf.h has the rules), the trust records under $AJAIL_HOME/trust/, the `ajail trust` verb,
 * and the hook main() calls before a run. Reads the repository, writes only beneath $AJAIL_HOME. */
#ifndef AJAIL_TRUST_CMD_H
#define AJAIL_TRUST_CMD_H

#include <stdbool.h>
#include <stdio.h>

#include "cli.h"
#include "error.h"

/* `ajail trust [--yes] [--revoke] [--list] [--json] [DIR]`: returns the exit status (0 trusted or
 * done, 1 declined or failure, 2 usage, or no terminal to ask on without --yes). */
int trust_cmd_main(char **args, const char *store_dir);

/* What became of the working directory's project file in one run, for the status and --dry-run. */
struct trust_project {
	char *path;  /* the .ajail.conf that exists (canonical), or NULL: none, or skipped */
	char *state; /* "trusted", "not trusted", "changed since trusted", "refused", "skipped" */
	char **opts; /* the options it added (trusted only) */
};
void trust_project_release(struct trust_project *p);

/* Before a run: with o parsed from argv and $AJAIL_ARGS, look for the working directory's project
 * file (unless --no-project, AJAIL_NO_PROJECT=1, or o is not a run). When it is trusted, o is parsed
 * again with its options after $AJAIL_ARGS; otherwise one warning line says why it is ignored.
 * -1 with err only when the options together fail to parse (o is then released). */
int trust_cmd_apply(int argc, char *const argv[], struct opts *o, struct trust_project *p, struct aj_err *err);

/* One line for the status block (status: "ajail: project  ..."; none when skipped) or --dry-run's
 * plan ("project:     ..."). */
void trust_cmd_print(const struct trust_project *p, FILE *out, bool status);

#endif
