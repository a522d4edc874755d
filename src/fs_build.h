/* fs_build.h — running a rootfs builder (mkrootfs/<builder>) for `ajail fs build`.
 *
 * The builder runs in a session of its own, so that what it signals to its process group (mmdebstrap
 * sends SIGHUP to its whole group when a write fails) never reaches ajail, and with its output on a
 * pipe: ajail copies that to the store's fs/.log/<name>.log and shows one progress line at a terminal
 * (or, with --verbose, every line). Between ajail and the builder a reaper process, the subreaper of
 * the builder's tree, notices when ajail is gone, whatever killed it (SIGKILL included): it stops the
 * tree, SIGTERM to the builder alone first (the builders in mkrootfs/ pass it on to their main
 * process, which cleans up what it made outside the store with helpers a SIGTERM to the whole tree
 * would kill), the rest of the tree after a grace period, then SIGKILL, and removes the build's
 * leftovers in fs/.tmp.
 *
 * A layer recipe (recipe.h: `base NAME`) is built the same way, with ajail itself as the builder: it
 * runs mkrootfs/layer in a jail on the base and commits the jail's root changes as the layer
 * (--commit, layer.h), see fs_build_layer(). */
#ifndef AJAIL_FS_BUILD_H
#define AJAIL_FS_BUILD_H

#include <stdbool.h>

#include "error.h"
#include "store.h"

struct fs_build {
	const char *name;	  /* the rootfs being built: the log's and the leftovers' names */
	const char *builder;	  /* path of the builder */
	const char *builder_name; /* its name in mkrootfs/ ("debian"), for what a failure means */
	char *const *argv;	  /* the builder's argv, argv[0] included */
	const char *host_ca;	  /* AJAIL_HOST_CA for the builder, or NULL */
	const char *store_dir;	  /* $AJAIL_HOME, for messages */
	int fsfd;		  /* $AJAIL_HOME/fs */
	int lockfd;		  /* fs/.tmp/<lock_name>.lock, held: the reaper holds it too until it is done */
	bool quiet, verbose;
	/* A layer build (NULL for a builder that writes a tarball): the base, the program run instead
	 * of the builder (ajail, which takes the import lock of name itself: then lock_name is
	 * "<name>@build", the build's own directory, and name's leftovers are removed only under its
	 * lock), its environment and working directory. */
	const char *layer_base;
	const char *exec;
	char *const *envp;
	const char *cwd;
	const char *lock_name; /* NULL: name */
};

/* Run the builder to its end. 0 when it exited 0 (*secs: how long it ran); else -1 with err saying
 * why in one line (a full disk, an unreachable mirror, an exit status), after the last lines of its
 * output; when a signal N stopped ajail (SIGINT, SIGTERM, SIGHUP), err's exit status is 128+N and the
 * builder's tree is gone and its files removed by the time this returns (err names what could not be:
 * a directory in fs/.tmp, a temporary directory the builder announced, processes that would not
 * end). -2 when a second signal
 * made ajail stop waiting for that: the reaper still holds the build's lock and removes its files,
 * so the caller must leave them (and the lock) alone. */
int fs_build_run(const struct fs_build *b, double *secs, struct aj_err *err);

/* After a failed import of what the builder wrote: when the store's disk is (nearly) full, err is
 * rewritten to say so. */
void fs_build_explain_import(const struct fs_build *b, struct aj_err *err);

/* `ajail fs build` of a layer recipe: the store's rootfs base must exist, and name must not. The
 * build's directory fs/.tmp/<name>@build (under its own lock, fs/.tmp/<name>@build.lock) holds the
 * recipe's text and an empty work/, the jail's working directory; then fs_build_run() runs
 *   ajail --fs=BASE --commit=NAME --no-profile --no-project --quiet --net=host
 *         --mount=DATADIR/mkrootfs/layer,/run/ajail-build/layer,rol
 *         --mount=<store>/fs/.tmp/NAME@build/recipe,/run/ajail-build/recipe,rol
 *         -- sh /run/ajail-build/layer /run/ajail-build/recipe
 * with an environment of its own (AJAIL_HOME, no AJAIL_ARGS, no AJAIL_ENV_* but the proxy
 * variables), so that what the user set for jails does not change the build. The jail gets the
 * host's CA bundle as any jail on the network does. Nothing is left but the layer on success, and
 * nothing at all on failure. 0, or -1 with err (exit status 128+N when stopped by signal N). */
struct fs_build_layer {
	const char *name, *base;
	const char *text;	 /* the recipe as parsed (with -p's packages): what the builder reads */
	const char *recipe_path; /* where it came from, for messages */
	const char *datadir;	 /* holds mkrootfs/layer */
	bool quiet, verbose;
};
int fs_build_layer(struct store *s, const struct fs_build_layer *l, struct aj_err *err);

#endif
