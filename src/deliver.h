/* deliver.h — reading a clone workspace from outside its jail (its tip, how far ahead it is, whether
 * it holds uncommitted work, whether it was delivered) and delivering its branch into the user's
 * repository as refs/heads/<prefix><id> ($AJAIL_CLONE_PREFIX, default "ajail/").
 *
 * The command in the jail wrote <workspace>/git and <workspace>/upper, and it is hostile; ajail reads
 * them with the user's full rights. So:
 *   - the branch's ref is read by ajail itself (the loose file, then packed-refs), beneath git/
 *     through no symlink (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), non-blocking, bounded;
 *   - libgit2 never opens the clone's git directory. git/objects is walked with fds the same way,
 *     and each regular file named as a loose object or as a pack (and its index) is hard-linked, by
 *     its fd, into a private staging directory <workspace>/stage.<pid>/objects, never mounted in any
 *     jail. A symlink, fifo, socket or device where git keeps objects refuses the workspace;
 *     objects/info (alternates, commit-graph) is never looked at: ajail adds the user's objects
 *     itself. libgit2 then opens the staging directory, which holds nothing but directories and
 *     regular files;
 *   - before any object is read, the header of every staged object (loose or packed) is read, and
 *     an object that declares more than the object cap refuses the workspace: "blob 2147483648" is
 *     seen in its first bytes, before anything is allocated for it;
 *   - all of that, and all of libgit2's work on the workspace, runs in a child process with
 *     RLIMIT_DATA, RLIMIT_CPU, RLIMIT_NOFILE and no core dump, which ajail kills at a wall-clock
 *     deadline; its answer comes back over a pipe. A child that times out, dies or runs out of
 *     memory fails that workspace's operation with one line, never a hang;
 *   - upper/ is walked with fds through no symlink, bounded in depth and entries; a file is hashed
 *     (through its fd) only when its size equals the blob's, so a huge sparse file costs nothing.
 *
 * Limits, from the environment (sizes in bytes, or with a K, M or G suffix, powers of 1024):
 *   AJAIL_CLONE_MAX_OBJECT  256M   what one object may declare; also caps a loose object's file
 *                                  and the clone's index file
 *   AJAIL_CLONE_MAX_MEMORY  1G     the reader's RLIMIT_DATA (at least 4x the object cap)
 *   AJAIL_CLONE_MAX_FILES   1000000  files in git/objects, objects in it, and entries walked in upper/
 *   AJAIL_CLONE_TIMEOUT     60     seconds of wall-clock time (and of CPU) per workspace
 *
 * Strings in a state or an error may hold any bytes a jail chose (file names): escape them before
 * printing (output_error and output_note do). libgit2 must be loaded (lazy_git2_load) first: the
 * child is forked after it is, and never loads anything. Makes syscalls: fork, hard links in the
 * workspace directory, and, for delivery, a pack and a ref in the user's repository. */
#ifndef AJAIL_DELIVER_H
#define AJAIL_DELIVER_H

#include <stdbool.h>

#include "error.h"
#include "workspace.h"

enum deliver_status {
	DELIVER_NOTHING, /* no commits ahead of the base */
	DELIVER_YES,     /* the user's refs/heads/<prefix><id> equals the tip */
	DELIVER_MERGED,  /* the tip is in one of the user's branches */
	DELIVER_NO,
	DELIVER_UNKNOWN,
};

/* What `ajail clone list|show|rm|gc` know of a workspace's git side. Owns its strings. */
struct deliver_state {
	char tip[41];    /* 40 hex digits; "" when unknown */
	int ahead;       /* commits on the tip not on the base; -1 unknown */
	int dirty;       /* 1 uncommitted work, 0 clean, -1 unknown */
	enum deliver_status delivered;
	char *why_dirty; /* the first change found ("a.txt: modified"), or NULL */
	char *error;     /* why something is unknown, or NULL */
};

/* The prefix of delivered branches, after checking it and every limit variable above: a usage error
 * names a variable whose value is not valid. Reads the environment only. */
int deliver_env_check(const char **prefix, struct aj_err *err);

/* Fill s for the workspace of record i. Never fails: what cannot be known is marked unknown and
 * s->error says why (a timeout, a refused object, a missing branch). Forks. */
void deliver_state_load(const struct workspace_info *i, const char *prefix, struct deliver_state *s);
void deliver_state_release(struct deliver_state *s);

/* Deliver the branch of the workspace in ws_dir into its user's repository: writes a pack of the new
 * objects and refs/heads/<prefix><id>. *commits: how far the branch is ahead of its base (0: nothing
 * to deliver, nothing written). *ref (caller frees; may be NULL): the ref, when one is there. Refuses
 * to move a ref the user has checked out in any work tree. Forks. */
int deliver_workspace(const char *ws_dir, int *commits, char **ref, struct aj_err *err);

/* The same two, in this process: no child, no limits, no deadline. Only for tests/fuzz/fuzz_deliver,
 * which needs the coverage of the reading itself and bounds the whole process instead. */
void deliver_state_load_unbounded(const struct workspace_info *i, const char *prefix, struct deliver_state *s);
int deliver_workspace_unbounded(const char *ws_dir, int *commits, char **ref, struct aj_err *err);

#endif
