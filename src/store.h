/* store.h — the rootfs store under $AJAIL_HOME.
 *
 *   fs/<name>/        a rootfs: the directory is the root itself (a directory put there by hand is a
 *                     valid rootfs; "default" may be a symlink to another one)
 *   fs/.meta/<name>   what ajail knows of it, beside it, never inside: source=, created=, base=, and an
 *                     OCI image's env=, workdir=, entrypoint=, cmd=, user= (struct store_meta)
 *   fs/.work/<name>   overlayfs's work directory while an --fs-edit jail writes the layer <name>
 *   fs/.tmp/<name>    an import in progress, owned by whoever holds fs/.tmp/<name>.lock
 *   fs/.tmp/<name>@build  a build in progress (its tarball), under the same lock
 *   fs/.log/<name>.log    the output of the last build of <name>
 *   fs/.trash/        removals in progress
 *   fs/.lock          held for the short critical sections (install, remove)
 *   fs/.meta/<name>.use  flocked shared by every jail running on <name>, exclusively by `fs rm`
 *
 * Installing is atomic (extract into fs/.tmp, renameat2(RENAME_NOREPLACE) into place); removing renames
 * into fs/.trash first. Leftovers of a killed run are swept by the next store operation. Every path
 * below the store goes through *at() calls relative to the fs/ directory fd. */
#ifndef AJAIL_STORE_H
#define AJAIL_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "error.h"
#include "plan.h"

/* A layer is a rootfs that holds only its own changes over another rootfs of the store, its base
 * (base= in its metadata), in overlayfs's own format, as a jail's upper directory leaves them: a
 * deleted path is a whiteout (a character device 0/0), a directory that hides everything of the
 * same name beneath it carries the xattr user.overlay.opaque="y". A jail on a layer stacks the
 * layer and its bases as overlay lower directories. Bases may be layers themselves, at most
 * STORE_MAX_DEPTH rootfses in all (overlayfs allows far more; start-up grows with each). */
#define STORE_MAX_DEPTH 16
#define STORE_OPAQUE_XATTR "user.overlay.opaque"

/* Resolve --fs (NULL: the store's "default", else the host rootfs) into *out. Reads the disk.
 * A missing rootfs is an error that lists what the store has. */
int store_resolve(const char *store_dir, const char *fs, struct rootfs *out, struct aj_err *err);
/* A store rootfs also gets its real name (what "default" leads to: store_name) and, for a layer, its
 * bases, nearest first, each identified as the rootfs is. */
void store_rootfs_release(struct rootfs *r);

/* Names of the rootfses in the store, sorted; NULL-terminated, caller frees (strv_free). */
char **store_list_names(const char *store_dir);

struct store {
	char *dir;  /* $AJAIL_HOME */
	int fsfd;   /* $AJAIL_HOME/fs */
};

/* Open (creating it when create) the store and sweep what killed runs left behind. */
int store_open(const char *dir, bool create, struct store *s, struct aj_err *err);
void store_close(struct store *s);

/* What ajail knows of a rootfs (fs/.meta/<name>): one key=value per line, values escaped (\\, \n,
 * \xHH) so that any string comes back as it went in; a list is its key repeated. */
struct store_meta {
	char *source;	   /* where it came from; "" when unknown (a rootfs put there by hand) */
	int64_t created;   /* seconds since the epoch; 0: unknown */
	char *base;	   /* a layer: the rootfs it sits on; NULL: a flat rootfs */
	/* An OCI image's config, as imported (NULL: not given). */
	char **env;	   /* "KEY=VALUE", NULL-terminated */
	char *workdir;
	char **entrypoint; /* NULL-terminated */
	char **cmd;
	char *user;
};
/* Read name's metadata into m (zeroed first; source is never NULL after). Returns 0, or -1 when
 * there is none (m still usable). Bounded read (64 KiB). */
int store_meta_read(struct store *s, const char *name, struct store_meta *m);
void store_meta_release(struct store_meta *m);
/* Replace what name's metadata says of where it came from (a layer committed by fs build's jail
 * is "recipe PATH", not the jail's command line); the rest is kept. */
int store_meta_set_source(struct store *s, const char *name, const char *source);
/* Pure: the file's text for m (created as given), and back. */
char *store_meta_format(const struct store_meta *m);
void store_meta_parse(const char *text, struct store_meta *m);

struct store_entry {
	char *name;
	char *link;        /* for a symlink such as default -> debian: its target; else NULL */
	uint64_t size;     /* bytes on disk (st_blocks): a layer's own files only */
	uint64_t files;    /* entries of every type */
	struct store_meta meta; /* meta.created: from the metadata, else the directory's mtime */
	bool in_use;       /* a jail runs on it now */
};
/* Every rootfs, sorted by name. */
int store_entries(struct store *s, struct store_entry **out, size_t *n, struct aj_err *err);
void store_entries_free(struct store_entry *e, size_t n);

/* Called by an import (or a build, or a copy) to get its private temp directory: fails at once when
 * the name exists or another import of it is under way. */
struct store_txn {
	struct store *store;
	char *name;
	int lockfd;  /* fs/.tmp/<name>.lock, flocked */
	int dirfd;   /* fs/.tmp/<name> */
};
int store_txn_begin(struct store *s, const char *name, struct store_txn *t, struct aj_err *err);
/* Move the temp directory into place and write its metadata. */
int store_txn_commit(struct store_txn *t, const char *source, struct aj_err *err);
/* The same with all of the metadata (m->created is set to now). A layer (m->base set) is refused
 * when its base is gone meanwhile (checked under the store's lock, which `fs rm` takes too). */
int store_txn_commit_meta(struct store_txn *t, const struct store_meta *m, struct aj_err *err);
/* Remove the temp directory (after a failure); safe after commit. */
void store_txn_abort(struct store_txn *t);

/* A build's own directory in fs/.tmp, beside the import's fs/.tmp/<name>: its derived recipe, its
 * tarball and whatever the builder writes beside it. '@' is in no rootfs name, so no other name's
 * entries can be taken for it. */
#define STORE_BUILD_SUFFIX "@build"
/* --commit's overlayfs work directory, beside the upper directory fs/.tmp/<name> it fills. */
#define STORE_WORK_SUFFIX "@work"
/* An OCI image archive's members, unpacked while it is imported. */
#define STORE_OCI_SUFFIX "@oci"
/* Remove what an import or build of name left in fs/.tmp (not its lock): for whoever holds the lock,
 * or a sweeper that took it. */
void store_tmp_sweep_name(int tmpfd, const char *name);

/* The chain of a store rootfs: names[0] = name (resolved through a symlink such as "default"),
 * then its base, the base's base... (at most STORE_MAX_DEPTH; a missing base, a cycle or a deeper
 * chain is an error naming the rootfses). Caller frees (strv_free). */
int store_layer_chain(struct store *s, const char *name, char ***names, struct aj_err *err);
/* Layers whose base is name (directly), sorted; NULL when none. Caller frees (strv_free). */
char **store_layers_on(struct store *s, const char *name);

/* Remove a rootfs. Refuses while a jail runs on it unless force; says which jail. Refuses (even
 * with force) a base that layers sit on, naming them. */
int store_remove(struct store *s, const char *name, bool force, struct aj_err *err);

/* Open a rootfs directory of the store (O_PATH|O_DIRECTORY). */
int store_open_rootfs(struct store *s, const char *name, struct aj_err *err);

/* Registration of a running jail on a store rootfs, so that `fs rm` can refuse to pull its root
 * away. Returns an fd to keep open while the jail runs (its shared flock says a jail uses the
 * rootfs), or -1 (not a store rootfs, or not fatal: a jail whose registration failed still runs).
 * With edit (--fs-edit) the lock is exclusive. -2 with err set: refused, because an --fs-edit jail
 * holds the rootfs, or (edit) any jail runs on it. */
int store_register_jail(const char *store_dir, const char *rootfs_path, bool edit, struct aj_err *err);
void store_unregister_jail(const char *store_dir, int fd);
/* Where jails on this store rootfs leave the mount points they made in it (--fs-edit) when another
 * jail still runs there; the last one to end removes them. NULL when not a store rootfs. */
char *store_pending_path(const char *store_dir, const char *rootfs_path);

/* flock dirfd/name (created when missing) with how (LOCK_EX, LOCK_SH, | LOCK_NB); returns the locked
 * fd, or -1 (errno EWOULDBLOCK: someone else holds it). Robust against the file being unlinked and
 * recreated by a sweeper between open and flock, so lock files may be deleted safely. */
int store_lock_at(int dirfd, const char *name, int how);

/* Remove a tree below dirfd without following symlinks, making read-only directories writable on
 * the way (through the directory's own fd, never by name). ENOENT is not an error (someone else may
 * be sweeping the same leftovers). Any depth, with bounded memory and fds (deeper directories are
 * moved up into the tree first). A filesystem mounted inside is not entered: EXDEV. */
int store_remove_tree(int dirfd, const char *name);

#endif
