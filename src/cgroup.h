/* cgroup.h — --memory, --cpus and --pids through a delegated cgroup v2 subtree.
 *
 * ajail has no privileges, so it can limit a jail only where the system has handed the user part of
 * the cgroup v2 tree (systemd's Delegate=yes chowns a cgroup to the user). The supervisor finds such
 * a cgroup (cgroup_find_parent), makes a child in it that carries the limits (cgroup_create), starts
 * the jail's first process inside it with clone3's CLONE_INTO_CGROUP and cg.fd, so that nothing of the
 * jail ever runs unlimited, and removes the child once the jail is gone (cgroup_remove).
 *
 *
 * cgroup_limits_set is pure. The rest reads /proc and the cgroup filesystem under a root directory, "" in production
 * and a fake tree of plain files in the unit tests. */
#ifndef AJAIL_CGROUP_H
#define AJAIL_CGROUP_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct cg_limits {
	uint64_t memory;     /* bytes, for memory.max; 0 = unset */
	unsigned cpus_milli; /* thousandths of a CPU: --cpus=1.5 is 1500, cpu.max "150000 100000"; 0 = unset */
	unsigned pids;       /* pids.max; 0 = unset */
};

/* Pure. Whether l asks for any limit, i.e. whether a cgroup is needed at all. */
bool cgroup_limits_set(const struct cg_limits *l);
/* Find the cgroup to make the jail's cgroup in. Reads <root>/proc/self/cgroup (the "0::" line) and
 * <root>/proc/self/mountinfo (the cgroup2 mount: /sys/fs/cgroup on a pure v2 system,
 * /sys/fs/cgroup/unified on a hybrid one), then walks from our own cgroup up through its ancestors
 * while they are delegated to us (the directory and its cgroup.procs owned by our euid and writable,
 * or writable by our group or others); the first whose cgroup.subtree_control lists every controller
 * l needs is the parent. It never enables a controller itself: see cgroup.c.
 * Returns 0 and the parent's path (<root>/sys/fs/cgroup/..., caller frees), or -1 and a one-line
 * error that names the options concerned and what is missing. */
int cgroup_find_parent(const char *root, const struct cg_limits *l, char **parent, struct aj_err *err);

/* For root only, where pids is on cgroup v1: our own cgroup in the v1 pids hierarchy (the kernel
 * exempts root from RLIMIT_NPROC, so this is the only process limit root's jails can have there). */
int cgroup_v1_pids_parent(const char *root, char **parent, struct aj_err *err);

/* The jail's cgroup, owned by the supervisor. */
struct cgroup {
	char *path; /* absolute path of <parent>/ajail-<pid>-<n>; NULL when there is none */
	int fd;     /* O_RDONLY|O_DIRECTORY|O_CLOEXEC on it, for clone_args.cgroup; -1 when none */
	bool fake;  /* made under a test root: plain files stand in for the kernel's */
	bool v1;    /* on a cgroup v1 hierarchy: the jail joins it itself (cgroup.procs), not by clone3 */
};
#define CGROUP_INIT { .path = NULL, .fd = -1, .fake = false, .v1 = false }

/* mkdir <parent>/ajail-<pid>-<n> and write l into it: memory.max (and memory.swap.max 0 where swap
 * is accounted, so the limit is not stretched with swap), cpu.max, pids.max. root is what was given
 * to cgroup_find_parent: with "" the directory must be on a cgroup2 filesystem and the limit files
 * must already exist (the kernel makes them); under a test root they are created. Nothing is left
 * behind on failure. */
int cgroup_create(const char *root, const char *parent, const struct cg_limits *l, struct cgroup *cg,
		  struct aj_err *err);

/* After the jail's last process is gone: read memory.events' oom_kill count into *oom_kills (0 when
 * there is no memory controller; oom_kills may be NULL), close cg->fd and rmdir, retrying for about
 * a second on EBUSY while the kernel finishes tearing down the pid namespace, and writing
 * cgroup.kill half way in case anything survived. Resets cg to CGROUP_INIT, even on failure.
 * A cgroup that is already gone is not an error. */
int cgroup_remove(struct cgroup *cg, unsigned *oom_kills, struct aj_err *err);

#endif
