/* harden.h — the last steps before exec: capabilities and no_new_privs. Makes syscalls; called
 * only in the jail's processes, after every mount is in place. (Seccomp, landlock and rlimits
 * belong here too as they arrive.) */
#ifndef AJAIL_HARDEN_H
#define AJAIL_HARDEN_H

#include <stdint.h>

#include "error.h"

/* For the command: drop every capability not in keep from the bounding, effective, permitted and
 * inheritable sets, raise keep as ambient, set no_new_privs. Uid 0 inside would otherwise regain the
 * whole bounding set at execve. */
int harden_command(uint64_t keep, struct aj_err *err);

/* For the jail's init: it only reaps and forwards signals, so it keeps no capability at all and is
 * not dumpable (the command, same uid, must not ptrace it or read its memory). */
int harden_init(struct aj_err *err);

#endif
