/* fs_cmd.h — the `ajail fs` verb: import, list, rm, build, cp, export. Turns arguments into store and
 * archive calls, prints summaries; returns the exit status (0, 1 failure, 2 usage). */
#ifndef AJAIL_FS_CMD_H
#define AJAIL_FS_CMD_H

int fs_cmd_main(char **args, const char *store_dir);

#endif
