/* hostpath.h — looking at host paths a jail may have prepared: the working directory, a --rw
 * directory, a rootfs under --fs-edit, a .git file. Reads only; never changes anything.
 *
 * The rules (see the threat model in README.md): a path is resolved once without following a
 * symlink the jail could have planted, what is there is recorded as (dev, ino), and whoever acts on
 * it later opens it again without following any symlink and compares. File contents a jail wrote
 * are read bounded, without blocking, and checked against what they claim before anything trusts
 * them. */
#ifndef AJAIL_HOSTPATH_H
#define AJAIL_HOSTPATH_H

#include <stdbool.h>

#include "plan.h"

/* The facts->probe of a real run: see struct facts. follow: realpath, then the canonical path is
 * opened without following any symlink and fstat'ed; !follow: lstat, and a symlink's target. */
int hostpath_probe(const char *path, bool follow, struct probe_res *res, void *ctx);

/* Open a canonical absolute host path (no symlink in it) with openat2(RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS): if any component has become a symlink since it was resolved, this fails
 * with ELOOP instead of following it. flags gets O_CLOEXEC. */
int hostpath_open(const char *path, int flags);

/* For a path the user named on the command line (--fs=DIR, fs import SOURCE, fs build RECIPE): a
 * jail can write the working directory, so a path beneath it (relative, or absolute beneath it) that
 * leads out of it through a symlink is refused, in one line naming where it leads (naming that place
 * itself is how to use it anyway). real is its realpath. -1 with err set (a usage error). */
int hostpath_check_in_cwd(const char *what, const char *path, const char *real, struct aj_err *err);

/* Is the fd what the plan saw (dev, ino)? dev = ino = 0: nothing was recorded, any will do. */
bool hostpath_same(int fd, uint64_t dev, uint64_t ino);

/* The git repository the working directory is in, found by a walk up the tree (no git process, no
 * libgit2). A .git file (a linked worktree, a submodule) says where the git directory is, and a jail
 * can write it: its claim is believed only when git's own back-links agree. */
struct hostpath_git {
	bool in_tree;     /* a .git (directory, file or link) was found at top or above */
	char *top;        /* the directory holding it (canonical) */
	bool dotgit_file; /* it is a file: "gitdir: X" */
	bool verified;    /* ...and X was confirmed: a linked worktree or a submodule of top */
	char *gitdir;     /* X, canonical, when verified */
	char *commondir;  /* a linked worktree's common git dir (X is <commondir>/worktrees/<name>) */
	char *warning;    /* why a .git file that claims a linked worktree was not believed */
};
/* home: the user's home (canonical), or NULL. Never fails: what cannot be read is not believed. */
void hostpath_find_git(const char *dir, const char *home, struct hostpath_git *g);
void hostpath_git_release(struct hostpath_git *g);

#endif
