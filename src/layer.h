/* layer.h — a jail's part in the store's layers (store.h): the commit of a session's root changes
 * as a new layer (--commit), the work directory of an --fs-edit on a layer, and the use locks of a
 * layer's bases. Makes syscalls; called by main.c around sandbox_run. */
#ifndef AJAIL_LAYER_H
#define AJAIL_LAYER_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "plan.h"
#include "store.h"

struct layer_commit {
	struct store store;
	struct store_txn txn;
	char *upper, *work; /* canonical paths: fs/.tmp/NAME and fs/.tmp/NAME@work */
	uint64_t dev, ino;  /* of upper */
	char *base;	    /* the rootfs the layer goes on (a store name, "default" resolved) */
	bool open;
};

/* --commit=name on rootfs r: take the store's import lock of name (refused when it exists or is
 * being made) and make the session's upper and work directories. Nothing is left on failure. */
int layer_commit_begin(const char *store_dir, const char *name, const struct rootfs *r, struct layer_commit *c,
		       struct aj_err *err);
/* After the jail: keep the upper as layer c->txn.name when ok (atomic: renamed into place under
 * the store's lock), else remove it. Says which on stderr, -q or not: a session's work kept or
 * thrown away is never silent. cmd describes the command for the layer's source. Returns 0, or -1
 * with err when keeping it failed (then nothing is kept). */
int layer_commit_end(struct layer_commit *c, bool ok, int status, char *const argv[], struct aj_err *err);

/* --fs-edit on a layer: a fresh overlayfs work directory for it, fs/.work/<name>.<pid> (the
 * overlay's work directory must be on the upper's filesystem and outside it). Sets r->edit_work. */
int layer_edit_prepare(const char *store_dir, struct rootfs *r, struct aj_err *err);
void layer_edit_finish(const char *store_dir, const struct rootfs *r);

/* Take the use lock (shared) of each of r's bases while a jail runs on r: `fs rm` and an --fs-edit
 * jail of a base then wait or refuse. fds gets r->n_bases fds (or -1s). -1 with err: a base is
 * being edited now. */
int layer_register_bases(const char *store_dir, const struct rootfs *r, int *fds, struct aj_err *err);
void layer_unregister_bases(const char *store_dir, const struct rootfs *r, int *fds);

#endif
