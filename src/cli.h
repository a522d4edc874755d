/* cli.h — argv (+ AJAIL_ARGS) → struct opts. Pure: no syscalls; paths are kept as the user wrote
 * them and resolved later by plan_build against the facts of the machine. */
#ifndef AJAIL_CLI_H
#define AJAIL_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

/* How a directory is made visible in the jail. The cwd options and --mount share these. */
enum mount_mode {
	MODE_RW,   /* --rw: read-write bind, changes reach the host */
	MODE_RO,   /* --ro: overlay with a throw-away upper, changes never reach the host */
	MODE_ROL,  /* --rol: read-only bind */
	MODE_HIDE, /* --hide: an empty tmpfs (or empty file) over it */
	MODE_DEV,  /* --mount=…,dev: read-write bind where device nodes work */
};

/* One directory option, in command-line order: later ones layer on earlier ones. */
struct opt_mount {
	char *src;         /* host path as written; NULL means the working directory */
	char *dst;         /* jail path as written (only --mount has its own); NULL: same as src */
	enum mount_mode mode;
	char *origin;      /* the option as written, for messages: "--rw=build" */
};

enum tristate { TRI_AUTO = -1, TRI_NO = 0, TRI_YES = 1 };

enum cli_verb { VERB_RUN, VERB_FS, VERB_CLONE, VERB_DOCTOR, VERB_STATE, VERB_TRUST };

/* The jail's network: the host's (as the original ajail), none (a namespace with only lo), or one of
 * its own whose only way out is ajail's filtering proxy (--allow-net). The last of --net=,
 * --no-net and --allow-net decides, so the command line overrides AJAIL_ARGS. */
enum net_mode { NET_HOST, NET_NONE, NET_ALLOW };

/* --publish=[HOSTPORT:]PORT: the jail's PORT at the host's 127.0.0.1:HOSTPORT. */
struct opt_publish {
	uint16_t host_port;
	uint16_t port;
};

struct opts {
	enum cli_verb verb;
	char *fs;              /* --fs: a store name, "host", or an absolute path; NULL: default */
	bool fs_edit;          /* --fs-edit without a directory: the whole rootfs read-write */
	char **fs_edit_dirs;   /* --fs-edit=/DIR, each an absolute path inside the rootfs */
	char *commit;          /* --commit=NAME: the session's root changes become layer NAME on success */
	bool home_edit;        /* --home-edit without a subdirectory: all of /root */
	char **home_edit_dirs; /* --home-edit=SUBDIR, relative to /root */
	struct opt_mount *mounts;
	size_t n_mounts;
	char **devs;           /* --dev=DEV, device names under /dev */
	uint64_t cap_add;      /* --cap-add bitmask, bit N = capability N */
	bool no_net;           /* net == NET_NONE, kept for what predates --net */
	enum net_mode net;
	bool net_host_given;   /* --net=host was written (a --lockdown conflict) */
	char **allow_net;      /* each --allow-net value, as written (patterns are checked by plan_build) */
	struct opt_publish *publish;
	size_t n_publish;
	char *net_log;         /* --net-log=FILE, as written */
	char *profile;         /* --profile=NAME: an agent profile for any command; NULL: by the command's name */
	bool no_profile;       /* --no-profile: none, whatever the command */
	bool no_host_ca;       /* --no-host-ca: the host's CA bundle is not handed to the jail */
	bool no_project;       /* --no-project: the repository's .ajail.conf is not read (trust_cmd.h) */
	bool clone;
	char *clone_branch;
	bool clone_dirty;      /* --clone-dirty: carry uncommitted changes into the clone */
	bool clone_push;       /* --clone-push: origin writable (hooks, config, info stay read-only) */
	enum tristate new_session;
	/* Defense-in-depth layers: each on unless turned off (issue 5). */
	bool no_cap_drop;      /* keep every capability of the jail's user namespace */
	bool no_seccomp;
	bool allow_ptrace;     /* seccomp lets ptrace and process_vm_* through (debuggers) */
	bool no_landlock;
	bool no_rlimits;
	bool no_mask;          /* no masks over /proc and /sys */
	bool lockdown;
	uint64_t memory;       /* --memory, bytes; 0: unset */
	unsigned cpus_milli;   /* --cpus=1.5 -> 1500; 0: unset */
	unsigned pids;         /* --pids; 0: unset */
	bool quiet, dry_run, help, version;
	int verbose;
	/* Options of AJAIL_ARGS that --lockdown on the command line does not honour, as written there:
	 * standing defaults such as --rw=~/.cache would otherwise make every lockdown a usage error. */
	char **lockdown_dropped;
	char **argv;           /* command and arguments; NULL: the default shell */
	char **verb_args;      /* arguments after a verb (fs, clone, doctor) */
};

void opts_init(struct opts *o);
void opts_release(struct opts *o);

/* Parse options. ajail_args is $AJAIL_ARGS (may be NULL): semicolon-separated options read before
 * the command line, so the command line wins where they conflict. Fills err (AJ_ERR_USAGE) and
 * returns -1 on a malformed or unknown option. */
int cli_parse(int argc, char *const argv[], const char *ajail_args, struct opts *o, struct aj_err *err);

/* The first option in o that would give a jail more than --lockdown allows (host directories
 * writable or mounted elsewhere, anything persisting, a layer off), as the user wrote it; NULL when
 * there is none. Pure. */
const char *cli_lockdown_conflict(const struct opts *o);

/* Usage text for --help. */
const char *cli_usage(void);

/* Capability names: "CAP_NET_RAW", "net_raw" and "NET_RAW" all give 13; -1 when unknown. */
int cli_cap_from_name(const char *name);
const char *cli_cap_name(int cap);
int cli_cap_last(void);

/* "512M", "2G", "1.5GiB", "1073741824" -> bytes (binary units); -1 on anything else. */
int cli_parse_size(const char *s, uint64_t *out);
/* "2", "1.5", "0.25" -> thousandths of a CPU; -1 below 0.01, above 4096, or garbage. */
int cli_parse_cpus(const char *s, unsigned *milli);

#endif
