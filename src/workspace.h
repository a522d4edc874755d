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
 *       deleted           what --clone-dirty found deleted in the user's work tree (the jail
 *                         removes these paths at its start; the overlay cannot hold whiteouts we make)
 *       stage.<pid>/      while ajail reads the workspace (deliver.c): hard links to the files of
 *                         git/objects that passed its checks, and the index; removed after each read
 *
 * In the jail the working tree is an overlay (lower = the base tree, upper = upper/) mounted at the
 * repository's own path, with git/ bound at <toplevel>/.git and the user's common git directory bound
 * read-only at /ajail/origin. Nothing in the jail can change the user's repository, hooks or config.
 *
 * Everything under git/ and upper/ is written by the command in the jail, which is hostile: ajail
 * reads it only through deliver.h (no symlink followed, regular files and directories only, bounded,
 * in a child process with limits). record, lock and deleted are ajail's own and never mounted.
 *
 * Split: workspace.c makes workspaces (the repository, the base checkout, the record); deliver.c
 * reads them from outside and delivers their branch; clone_cmd.c is `ajail clone`.
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
 * checkout first when it does not exist yet. A commit can have been made by a jail (a plain run
 * writes the user's repository), so a base tree with an entry git fsck refuses ("", ".", "..", ".git",
 * a name with '/') is refused, and files are created beneath the tree without following symlinks.
 * dirty: carry the user's uncommitted changes (tracked files modified or deleted, untracked files
 * not ignored) into upper/: regular files and symlinks (as links), each opened beneath the work
 * tree without following a symlink on the way, since a jail may race to swap its directories.
 * Takes the workspace's lock. On failure nothing is left behind. */
int workspace_create(const char *store_dir, const struct ws_repo *r, const char *branch, bool dirty,
		     struct workspace *w, struct aj_err *err);
/* workspace_find_repo(dir) and workspace_create, in a child process that may write nothing but the
 * store's clone/ directory (landlock), reaches no network and makes none of the seccomp deny list's
 * calls, killed after 10 x AJAIL_CLONE_TIMEOUT seconds (10 minutes): the user's repository may hold what a jail wrote (a fifo for an
 * object, a malformed one). r and w are filled as those two would; w's lock is held by this process. */
int workspace_make(const char *dir, const char *store_dir, const char *branch, bool dirty, struct ws_repo *r,
		   struct workspace *w, struct aj_err *err);

/* Draw a progress line on stderr while a base checkout is written (a terminal, no -q). */
void workspace_set_progress(bool on);

/* Remove a workspace that was just created (the jail could not start). */
void workspace_discard(struct workspace *w);
void workspace_release(struct workspace *w); /* frees, releases the lock */

/* Session bookkeeping in the record. */
int workspace_record_start(struct workspace *w, char *const argv[], const char *rootfs, struct aj_err *err);
int workspace_record_end(struct workspace *w, int exit_status, struct aj_err *err);
/* --allow-net: the proxy's summary line, which `clone show` prints. */
int workspace_record_network(struct workspace *w, const char *summary, struct aj_err *err);

/* A workspace's record, as ajail wrote it (key=value lines; see the layout above). */
struct workspace_info {
	char *name;      /* the directory's name: <repo>-<YYYYMMDD>-<id> */
	char *dir;       /* $AJAIL_HOME/clone/<name> */
	char *id, *repo, *commondir, *branch, *base; /* repo may be NULL (old records) */
	char *rec;       /* the whole record */
	int64_t created; /* seconds since the epoch */
};
/* Read dir/record (ajail's own file: read bounded, without following a symlink). Fails when a key
 * that every record has is missing or base is not an object id. i is always safe to release. */
int workspace_info_load(const char *dir, const char *name, struct workspace_info *i, struct aj_err *err);
void workspace_info_release(struct workspace_info *i);
/* The value of key in a record, or NULL. Pure; caller frees. */
char *workspace_record_get(const char *rec, const char *key);

#endif
