/* clone_cmd.h — the `ajail clone list|show|rm|gc|sync` verb: the workspaces of $AJAIL_HOME/clone.
 *
 * What it prints about a workspace came partly from its jail (file names in the first change found,
 * the record's argv and branch): every such string is escaped (util_escape, output_note), and
 * `list --json` stays valid JSON for any bytes (output_json_string). Its git side is read through
 * deliver.h, bounded in time and memory; removal goes through store_remove_tree, which follows no
 * symlink. Makes syscalls. */
#ifndef AJAIL_CLONE_CMD_H
#define AJAIL_CLONE_CMD_H

/* args: the words after `clone`. Returns the exit status: 0, 1 (something failed), 2 (usage).
 * `clone list --json` prints an array of objects with exactly these keys: "id", "dir", "repo",
 * "branch", "base", "ahead" (number), "dirty" (bool), "size" (bytes), "created" (ISO 8601 UTC),
 * "in_use" (bool), "delivered" (bool: the user's ref equals the tip), "merged" (bool), plus "error"
 * (string) when something could not be read. */
int clone_cmd_main(char **args, const char *store_dir);

#endif
