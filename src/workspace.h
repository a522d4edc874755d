/* workspace.h — clone workspaces for `ajail --clone`: each agent gets its own clone of the user's
 * repository, on its own branch, so that a fleet can work on one repository at once.
 *
 * Layout under $AJAIL_HOME/clone:
 *   .base/<oid>/tree      a read-only checkout of commit <oid>, shared by every workspace based on it
 *   .base/<oid>/index     an index of that checkout whose stat data match the files (mtimes set to the
 *                         commit's time, so no entry is racily clean): git inside sees a clean tree
 *                         without rehashing anything
 *   .base/<oid>.lock      flock held while the base is made (others wait, then share it)
 *   <repo>-<YYYYMMDD>-<id>/
 *       git/              the clone's git directory: objects shared through objects/info/alternates
 *                         (/ajail/origin/objects, the user's objects as the jail sees them), HEAD on
 *                         the workspace's branch, origin = /ajail/origin, core.checkStat=minimal
 *       upper/ work/      the overlay's upper and work directories: the agent's changes
 *       record            key=value: id, repo (work tree), commondir, branch, base, created, argv,
 *                         rootfs, start, end, exit (the last three per session)
 *       lock              flocked by the supervisor while a jail uses the workspace
 *
 * In the jail the working tree is an overlay (lower = the base tree, upper = upper/) mounted at the
 * repository's own path, with git/ bound at <toplevel>/.git and the user's common git directory bound
 * read-only at /ajail/origin. Nothing in the jail can change the user's repository, hooks or config.
 *
 * Delivery (workspace_deliver) runs outside the jail, with libgit2: it reads the clone's objects and
 * its branch's ref file, never its config or hooks, and writes the new objects and
 * refs/heads/<prefix><id> (prefix $AJAIL_CLONE_PREFIX, default "ajail/") into the user's repository.
 *
 * libgit2 is loaded with dlopen on first use (see lazy_archive.h for why). Makes syscalls. */
#ifndef AJAIL_WORKSPACE_H
#define AJAIL_WORKSPACE_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

/* The user's repository, as found from a directory. */
struct ws_repo {
	char *toplevel;  /* canonical work tree root */
	char *gitdir;    /* the work tree's git dir (for a linked worktree: <common>/worktrees/<name>) */
	char *commondir; /* the common git dir: objects, refs, hooks, config */
	char *head;      /* hex oid of HEAD's commit */
	char *head_ref;  /* "refs/heads/main", or NULL when HEAD is detached */
	char *name;      /* basename of toplevel, for workspace names */
	bool linked;     /* the work tree is a linked worktree (its .git is a file) */
	bool has_lfs;    /* .gitattributes mentions filter=lfs: files stay LFS pointers */
	bool has_submodules;
};

/* Find the repository containing dir. Errors (AJ_ERR_USAGE): not in a git repository, a bare
 * repository, HEAD unborn (no commit yet). */
int workspace_find_repo(const char *dir, struct ws_repo *r, struct aj_err *err);
void workspace_repo_release(struct ws_repo *r);

struct workspace {
	char *id;      /* 8 hex digits, random */
	char *dir;     /* $AJAIL_HOME/clone/<repo>-<YYYYMMDD>-<id> */
	char *branch;  /* "ajail/<id>", or the --clone=BRANCH name */
	char *base;    /* hex oid the branch started at */
	char *lower;   /* .base/<oid>/tree */
	char *upper;   /* dir/upper */
	char *work;    /* dir/work */
	char *gitdir;  /* dir/git */
	int lockfd;    /* dir/lock, flocked while in use; -1 when not held */
};

/* Make a new workspace for r on a new branch (NULL: "ajail/<id>") at r->head, making the shared base
 * checkout first when it does not exist yet. dirty: carry the user's uncommitted changes (tracked
 * files modified or deleted, untracked files not ignored) into upper/. Takes the workspace's lock.
 * On failure nothing is left behind. */
int workspace_create(const char *store_dir, const struct ws_repo *r, const char *branch, bool dirty,
		     struct workspace *w, struct aj_err *err);
/* Remove a workspace that was just created (the jail could not start). */
void workspace_discard(struct workspace *w);
void workspace_release(struct workspace *w); /* frees, releases the lock */

/* Session bookkeeping in the record. */
int workspace_record_start(struct workspace *w, char *const argv[], const char *rootfs, struct aj_err *err);
int workspace_record_end(struct workspace *w, int exit_status, struct aj_err *err);

/* Deliver the workspace dir (its branch) into its user's repository. Sets *commits to the number of
 * commits the branch is ahead of its base (0: nothing to deliver, no ref written). Refuses to move a
 * ref the user has checked out. */
int workspace_deliver(const char *ws_dir, int *commits, char **ref, struct aj_err *err);

/* `ajail clone list|show|rm|gc|sync ...`: returns the exit status.
 * `clone list --json` prints an array of objects with exactly these keys: "id", "dir", "repo",
 * "branch", "base", "ahead" (number), "dirty" (bool), "size" (bytes), "created" (ISO 8601 UTC),
 * "in_use" (bool), "delivered" (bool: the user's ref equals the tip), "merged" (bool). */
int workspace_cmd_main(char **args, const char *store_dir);

#endif
