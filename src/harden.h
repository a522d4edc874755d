/* harden.h — the last steps before exec: rlimits, capabilities and securebits, no_new_privs,
 * landlock, seccomp. The seccomp filter is compiled at build time (gen_seccomp.c), so the jail's
 * start pays no compilation; everything is applied by the command's own process, after every mount
 * is in place and after chdir. */
#ifndef AJAIL_HARDEN_H
#define AJAIL_HARDEN_H

#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "plan.h"

/* The compiled deny list for this plan's layers; prog points at static data. */
void harden_seccomp_filter(const struct plan_layers *l, struct sock_fprog *prog);

/* The landlock ABI this kernel offers, 0 when none (a fact for the plan). */
int harden_landlock_abi(void);

/* In the command's process, in this order, just before exec. */
int harden_rlimits(const struct plan_layers *l, struct aj_err *err);
/* Drop every capability not in keep from the bounding, effective, permitted and inheritable sets,
 * raise keep as ambient, lock the securebits so uid 0 gains nothing at execve, set no_new_privs. */
int harden_command(uint64_t keep, struct aj_err *err);
int harden_landlock(const struct plan_layers *l, struct aj_err *err);
int harden_seccomp(const struct sock_fprog *prog, struct aj_err *err);

/* For ajail's own helper processes that read what a jail wrote with libgit2 (deliver.c's reader):
 * should a malformed object take over the process, it still writes nothing but beneath the given
 * directory fds, reaches no TCP port, no abstract unix socket and no process outside its own
 * (landlock, where the kernel has it), and makes none of the deny list's system calls (seccomp);
 * no_new_privs. Only takes away; the fds may be closed afterwards. */
int harden_confine(const int *dirs, size_t n, struct aj_err *err);
/* The same for ajail's network proxy, with no directory writable and TCP allowed (it connects out for
 * the jail, from the host's namespace); and where landlock is, nothing readable but what name
 * lookups read (/etc, /usr, /lib*, /run), nothing executable. */
int harden_confine_net(struct aj_err *err);

/* For the jail's init: it only reaps and forwards signals, so it keeps no capability at all and is
 * not dumpable (the command, same uid, must not ptrace it or read its memory). */
int harden_init(struct aj_err *err);

#endif
