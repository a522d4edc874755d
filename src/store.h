/* store.h — the rootfs store, $AJAIL_HOME/fs/<name>/ (each directory is a root filesystem itself;
 * metadata lives beside it, never inside). Reads only, for now: resolving what --fs names. */
#ifndef AJAIL_STORE_H
#define AJAIL_STORE_H

#include "error.h"
#include "plan.h"

#define STORE_NAME_MAX 64

/* Names: [A-Za-z0-9][A-Za-z0-9._-]*, at most 64 characters. Pure. */
int store_validate_name(const char *name, struct aj_err *err);

/* Resolve --fs (NULL: the store's "default", else the host rootfs) into *out. Reads the disk.
 * A missing rootfs is an error that lists what the store has. */
int store_resolve(const char *store_dir, const char *fs, struct rootfs *out, struct aj_err *err);
void store_rootfs_release(struct rootfs *r);

/* Names of the rootfses in the store, sorted; NULL-terminated, caller frees (strv_free). */
char **store_list_names(const char *store_dir);

#endif
