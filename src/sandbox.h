/* sandbox.h — applies a plan: the only module that creates namespaces and mounts.
 *
 * Process tree:  ajail (supervisor, outside) ── clone(CLONE_NEWUSER|NEWNS|NEWPID|…) ──▶ init (pid 1
 * in the jail: writes its id maps, mounts the plan, pivots, then reaps and forwards signals)
 * ──fork──▶ the command (drops capabilities, execs). Every mount lives in the jail's mount
 * namespace and dies with it: nothing is mounted on the host. The supervisor only creates (and
 * afterwards removes) mount points that must exist in a persistent directory, see
 * mount_step.persist_layer. */
#ifndef AJAIL_SANDBOX_H
#define AJAIL_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "plan.h"

/* Run the plan; *status gets the exit status ajail should report (the command's, or 128+N for a
 * signal). Returns -1 with err set when the jail could not be set up or the command not started;
 * err->kind then says which exit code (1, 126, 127). Blocks until the jail is gone. */
/* A jail on a store rootfs: fd holds the shared lock of store_register_jail, pending is
 * store_pending_path. Either may be -1/NULL. */
struct sandbox_use {
	int fd;
	const char *pending;
	char *net_summary; /* out: with --allow-net, the proxy's summary line (caller frees), else NULL */
};
int sandbox_run(const struct plan *p, struct sandbox_use *use, int *status, struct aj_err *err);

/* What `ajail doctor` reports: can this kernel, for this user, make a jail? Each check runs in a
 * throw-away child (user + mount namespace) that exits at once; nothing outside it changes. */
struct sandbox_check {
	const char *name;
	bool ok;
	bool required;     /* a jail cannot start without it */
	char detail[1100];  /* what was found, or what to do */
};
/* Fill up to max checks; returns how many. */
size_t sandbox_doctor(struct sandbox_check *checks, size_t max);

#endif
