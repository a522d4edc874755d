/* state_cmd.h — the `ajail state list|rm|path` verb: agents' state in $AJAIL_HOME/state/NAME, kept
 * outside every rootfs (profile.h says what goes there).
 *
 * The trees were written by jails: sizes are counted by walk.c (no symlink followed, bounded depth),
 * removal goes through store_remove_tree (no symlink followed), names are escaped when printed.
 * A running jail of that agent holds a shared lock ($AJAIL_HOME/state/.NAME.lock, state_lock);
 * `rm` takes it exclusively, so it never pulls the state from under a running agent. Makes syscalls. */
#ifndef AJAIL_STATE_CMD_H
#define AJAIL_STATE_CMD_H

/* args: the words after `state`. Returns the exit status: 0, 1 (failure), 2 (usage). `state list
 * --json` prints an array of objects with exactly these keys: "name", "dir", "size" (bytes), "files"
 * (number), "modified" (ISO 8601 UTC), "in_use" (bool), "profile" (bool: a profile of that name
 * exists, shipped or the user's). */
int state_cmd_main(char **args, const char *store_dir);

/* For a run: hold $AJAIL_HOME/state/.NAME.lock shared while the jail runs. The fd (close it at the
 * end), or -1 when the lock cannot be taken (the run goes on: the lock only guards `state rm`). */
int state_lock(const char *store_dir, const char *name);

#endif
