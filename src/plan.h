/* plan.h — what a jail will be, decided before anything is changed.
 *
 * plan_build turns options and facts about the machine into a struct plan: namespaces, id maps, an
 * ordered list of mount steps, environment, argv, cwd. It is pure: the only syscalls it can reach go
 * through facts->probe, which reads (stat, realpath, readlink) and never changes anything, so unit
 * tests pass a fake probe. sandbox_run applies a plan; plan_print shows one (--dry-run). */
#ifndef AJAIL_PLAN_H
#define AJAIL_PLAN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "cli.h"
#include "error.h"
#include "netpolicy.h"
#include "profile.h"

/* Where the host's CA bundle appears in a jail (the variables common tools read point at it). */
#define PLAN_HOST_CA "/run/ajail/ca-certificates.crt"

/* Mount steps, applied in order inside the jail's mount namespace. Closed set: sandbox.c switches
 * over it with one audited case each. */
enum mount_kind {
	MK_ROOT_OVERLAY, /* "/": overlay, lower = src (the rootfs), upper on the session's tmpfs */
	MK_ROOT_BIND,    /* "/": src bound read-write (--fs-edit) */
	MK_ROOT_OVERLAY_KEEP, /* "/": overlay, lower = src (and lowers), upper and work = host upper/work: the
			       * layer itself (--fs-edit on a layer) or the commit's new layer (--commit) */
	MK_ROOT_TMPFS,   /* "/": empty tmpfs (the host rootfs, filled by read-only binds) */
	MK_BIND_RW,      /* host src at dst, read-write, nosuid, nodev */
	MK_BIND_RO,      /* host src at dst, read-only (recursively), nosuid, nodev */
	MK_BIND_DEV,     /* host src at dst, read-write, nosuid, device nodes usable */
	MK_OVERLAY,      /* overlay, lower = host src, upper on the session's tmpfs */
	MK_OVERLAY_KEEP, /* overlay, lower = host src, upper and work = host upper/work (a clone workspace) */
	MK_TMPFS,        /* empty tmpfs with `mode` */
	MK_HIDE_FILE,    /* empty read-only file over a file */
	MK_PROC,         /* fresh procfs for the jail's pid namespace */
	MK_DEVPTS,       /* new devpts instance */
	MK_SYMLINK,      /* symlink dst -> src */
	MK_DIR,          /* directory dst with `mode`, if missing */
	MK_REMOVE,       /* remove dst (a file deleted in the user's tree, carried by --clone-dirty) */
	MK_MASK_DIR,     /* empty read-only directory over a directory (/sys/firmware, /proc/acpi, the store) */
	MK_READONLY,     /* what is mounted at dst, bound over itself read-only (/proc/sys) */
	MK_SYSFS,        /* a fresh sysfs, read-only: in a network namespace of the jail's own it shows
			  * that namespace's interfaces only (the host's /sys shows the host's, MACs and
			  * all); where the kernel refuses one, the host's /sys with /sys/class/net hidden */
};

enum mount_flags {
	MF_FILE = 1 << 0,         /* dst is a file, not a directory */
	MF_CREATE_SRC = 1 << 1,   /* create src beneath create_base when missing: --home-edit, agent state */
	MF_REPLACE_LINK = 1 << 2, /* dst may be a symlink in an ephemeral root: replace it (resolv.conf) */
	MF_SYSTEM = 1 << 3,       /* part of the standard jail (/proc, /dev, ...): not in the status block */
	MF_OPTIONAL = 1 << 4,     /* skip when dst does not exist (what a kernel offers in /proc and /sys varies) */
	MF_FOLDED = 1 << 5,       /* a part of the step before it (a writable hole in a read-only git dir): the
				   * status block shows them on that step's line */
};

struct mount_step {
	enum mount_kind kind;
	char *src;         /* canonical host path, link target, or NULL */
	char *upper;       /* MK_OVERLAY_KEEP, MK_ROOT_OVERLAY_KEEP: host upper and work directories */
	char *work;
	uint64_t upper_dev, upper_ino; /* the upper's identity, checked when mounted; 0: not recorded */
	/* Overlay steps: more lower directories beneath src, nearest first (a layer's bases); borrowed
	 * from the plan's rootfs. */
	const struct rootfs_base *lowers;
	size_t n_lowers;
	char *dst;         /* normalised absolute path inside the jail */
	unsigned flags;    /* enum mount_flags */
	unsigned mode;     /* MK_TMPFS, MK_DIR */
	char *origin;      /* why this step exists: "rootfs", "cwd", "--rw=build" */
	/* MF_CREATE_SRC: the directory (the rootfs, an agent's state directory) beneath which src is made
	 * when missing, as a directory or (MF_FILE) an empty file, by the supervisor and without
	 * following any symlink. */
	char *create_base;
	char *create_content; /* ...and what a file made so holds at first; NULL: nothing */
	/* What the plan saw at src (a host path the jail may be able to change: the cwd, a --rw
	 * directory, a rootfs). The child opens src once, without following any symlink, and mounts
	 * that fd only if it is still this inode; 0: no identity recorded (system paths the jail cannot
	 * touch, a source made just before the jail starts). */
	uint64_t src_dev, src_ino;
	/* When dst is missing, where is it created? Index of the earlier read-write bind whose host
	 * directory holds it (so the supervisor must create it on the host and remove it afterwards,
	 * or it would leak into the user's files or the rootfs), or -1 when it is created in something
	 * ephemeral or already exists. */
	int persist_layer;
};

enum rootfs_kind { ROOTFS_HOST, ROOTFS_DIR };

/* A resolved rootfs (a fact, found by store_resolve). */
struct rootfs {
	enum rootfs_kind kind;
	char *name; /* "host", a store name, or the path given */
	char *path; /* canonical directory; NULL for host */
	bool implicit; /* chosen because nothing was asked for */
	uid_t owner;   /* owner of the rootfs directory: only its owner can change it from a jail */
	uint64_t dev, ino; /* identity of path, checked again when the jail mounts it */
	char *store_name;  /* a store rootfs: its own name ("default" resolved); else NULL */
	/* A layer (store.h): the rootfses beneath it, nearest first; the jail stacks path and these. */
	struct rootfs_base {
		char *name, *path;
		uint64_t dev, ino;
	} *bases;
	size_t n_bases;
	char *edit_work; /* --fs-edit on a layer: overlayfs's work directory (fs/.work/<name>) */
	char **image_env; /* an imported OCI image's Env (of the rootfs or its nearest base that has one) */
};

enum fact_type { FT_MISSING, FT_DIR, FT_FILE, FT_SYMLINK, FT_OTHER };

/* What a probe saw at a host path. */
struct probe_res {
	enum fact_type type;
	char *path;        /* malloc'd; follow: the canonical path; !follow: the path, or a symlink's target */
	uint64_t dev, ino; /* of what is there (what the canonical path names, when following) */
};

/* A clone workspace to mount instead of the working directory (made by workspace_create). */
struct clone_facts {
	const char *toplevel;  /* the user's work tree root: where the clone appears */
	const char *commondir; /* the user's common git dir: /ajail/origin */
	const char *lower;     /* the shared base checkout */
	const char *upper;     /* the workspace's upper and work directories */
	const char *work;
	const char *gitdir;    /* the clone's git dir: <toplevel>/.git */
	const char *branch;
	const char *id;
	bool push;             /* --clone-push */
	char *const *deleted;  /* paths relative to toplevel to remove (--clone-dirty), or NULL */
};

/* A resource limit the command gets (soft = hard = value, never above what the caller has). */
struct plan_rlimit {
	int resource;     /* RLIMIT_* */
	const char *name; /* "nproc" */
	uint64_t value;
};

/* The defense-in-depth layers, applied by harden.c as the last steps before exec (issue 5). Each is
 * on unless its flag turns it off; --dry-run prints them. */
struct plan_layers {
	bool cap_drop;        /* every capability dropped but --cap-add, securebits locked, no_new_privs */
	bool seccomp;         /* the deny list (harden.c's table) */
	bool allow_ptrace;    /* ... minus ptrace and process_vm_* */
	bool landlock;        /* wanted, and the kernel has it */
	int landlock_abi;     /* the kernel's landlock ABI; 0: none */
	bool landlock_net;    /* TCP handled (ABI 4): connect denied but to ll_tcp_connect; bind too when
			       * ll_tcp_bind_handled (--no-net, --lockdown), but to ll_tcp_bind */
	bool ll_tcp_bind_handled;
	uint16_t ll_tcp_connect[64];
	size_t n_ll_tcp_connect;
	uint16_t ll_tcp_bind[64];
	size_t n_ll_tcp_bind;
	/* Writes are allowed beneath these jail paths only. The root is writable (an overlay or the
	 * rootfs itself), but a rule on "/" would cover /proc, /sys and /dev too: each top-level entry of
	 * the root is granted instead, except these names. */
	char **ll_write;
	char **ll_root_skip;
	bool rlimits;         /* the caps below; RLIMIT_CORE is 0 even without them */
	struct plan_rlimit rl[4];
	size_t n_rl;
	bool mask;            /* masks over /proc and /sys */
	bool lockdown;
	/* cgroup v2 limits: parent is the delegated cgroup the jail's own is made in. */
	char *cgroup_parent;
	bool cgroup_v1;       /* the jail joins it itself: clone3 cannot place a process in v1 */
	uint64_t memory;
	unsigned cpus_milli;
	unsigned pids;
	bool pids_by_rlimit;  /* --pids without a cgroup: RLIMIT_NPROC, counted per user namespace */
};

/* Facts about the machine that plan_build needs. All strings are borrowed. */
struct facts {
	const char *cwd;      /* canonical working directory; NULL when unreadable */
	int cwd_errno;
	uid_t uid;
	gid_t gid;
	int legacy_tiocsti;   /* /proc/sys/dev/tty/legacy_tiocsti: 0, 1, or -1 when absent */
	char *const *environ;
	const struct rootfs *rootfs;
	bool cwd_in_git;      /* cwd is inside a git work tree */
	/* For a linked worktree (its .git is a file): the repository's common git dir, which git inside
	 * must reach at its own path; NULL otherwise. */
	const char *git_commondir;
	/* ...and the worktree's own git dir, <commondir>/worktrees/<name> (its HEAD and index), which
	 * committing writes; NULL with git_commondir. Only ever set once git's own back-links agree:
	 * a jail can write any .git file in the working directory. */
	const char *git_worktree_dir;
	const char *git_warning; /* why a .git file was not trusted, for a warning; NULL otherwise */
	const struct clone_facts *clone; /* --clone: the workspace, else NULL */
	/* --commit: the new layer's upper and overlayfs work directories (the store's fs/.tmp/NAME and
	 * NAME@work, made by main.c under the store's import lock), and the upper's identity. */
	const char *commit_upper, *commit_work;
	uint64_t commit_dev, commit_ino;
	const char *store_dir; /* $AJAIL_HOME as configured (probed, not trusted to exist), or NULL */
	unsigned tty_fds;     /* bit N: fd N (0..2) is the terminal we run in the foreground of */
	int landlock_abi;     /* landlock_create_ruleset(LANDLOCK_CREATE_RULESET_VERSION); 0: none */
	/* --memory/--cpus/--pids: the delegated cgroup v2 parent, or NULL and why not. */
	const char *cgroup_parent;
	bool cgroup_v1;       /* cgroup_parent is in the cgroup v1 pids hierarchy (root only) */
	const char *cgroup_error;
	/* Look at a host path. follow: canonicalise (realpath) and stat the target; !follow: lstat and,
	 * for a symlink, return its target. res->path may stay NULL for FT_MISSING. Returns -1 with
	 * errno on an error other than "missing". */
	int (*probe)(const char *path, bool follow, struct probe_res *res, void *ctx);
	void *probe_ctx;
	/* The user's network presets file (~/.config/ajail/net-presets): its text, or NULL when there is
	 * none; and its path, for messages. */
	const char *net_presets;
	const char *net_presets_path;
	/* The agent profile this run uses (main.c picked and parsed it), or NULL; and its state
	 * directory, $AJAIL_HOME/state/NAME (canonical once made; as configured under --dry-run). */
	const struct profile *profile;
	const char *state_dir;
	/* The host's CA bundle (hostca_path), or NULL. */
	const char *host_ca;
};

/* The most ports --publish and localhost:PORT rules may name together (each is a listening socket
 * and a landlock rule). */
#define PLAN_NET_PORTS_MAX 32

/* The jail's network (cli.h's enum net_mode). With NET_ALLOW, the jail's own namespace has
 * listening sockets made by ajail before the command starts: the proxy's (HTTP on http_port, SOCKS5
 * on socks_port, on 127.0.0.1) and one per localhost:PORT rule (the jail's 127.0.0.1:PORT is the
 * host's); ajail's supervisor accepts on them and connects from the host's namespace. */
struct plan_net {
	enum net_mode mode;
	struct netpolicy policy;          /* NET_ALLOW */
	uint16_t http_port, socks_port;   /* NET_ALLOW: in the jail, on 127.0.0.1 */
	uint16_t forward[PLAN_NET_PORTS_MAX]; /* NET_ALLOW: localhost:PORT rules */
	size_t n_forward;
	struct opt_publish publish[PLAN_NET_PORTS_MAX];
	size_t n_publish;
	char *log_path;                   /* --net-log, absolute; NULL: none */
	/* An agent's API key that never enters the jail (a profile's `secret` line, NET_ALLOW only).
	 * The jail's base_env points at http://127.0.0.1:port, where the proxy takes each request,
	 * puts the real key (read from the supervisor's own environment at start, never stored in the
	 * plan) into header, and sends it on to upstream; the jail's env holds a placeholder. */
	struct plan_keygate {
		char *env;      /* ANTHROPIC_API_KEY */
		char *header;   /* "x-api-key", or "authorization" (sent as "Bearer KEY") */
		char *upstream; /* where requests go: the host's base_env when set, else the profile's default */
		char *base_env; /* ANTHROPIC_BASE_URL: the jail's variable that names the API's address */
		uint16_t port;  /* in the jail, on 127.0.0.1 */
	} keygate[4];
	size_t n_keygate;
};

struct plan {
	int clone_flags;         /* CLONE_NEW* */
	uid_t outer_uid;         /* mapped to 0 inside */
	gid_t outer_gid;
	struct rootfs rootfs;    /* owned copy */
	bool root_persistent;    /* --fs-edit: the root itself is the rootfs */
	char *commit;            /* --commit=NAME: the root's upper becomes this layer */
	struct mount_step *steps;
	size_t n_steps;
	char **env;
	char **argv;
	bool argv_default;       /* no command given: bash, else sh */
	char *cwd;               /* inside the jail */
	char *hostname;
	bool new_session;
	unsigned pty_fds;        /* fds 0..2 the command gets the jail's own pty on; 0: no pty */
	bool no_net;             /* a network namespace of its own (net.mode is NET_NONE or NET_ALLOW) */
	struct plan_net net;
	uint64_t caps_keep;      /* capabilities kept (--cap-add) */
	struct plan_layers layers;
	char *profile;           /* the agent profile applied, and where it came from ("shipped" or a file) */
	char *profile_source;
	char *state_dir;         /* its state directory, when it keeps state */
	char *host_ca;           /* the host's CA bundle, handed to the jail at PLAN_HOST_CA */
	char *clone_id;          /* --clone: the workspace id and branch, for the status block */
	char *clone_branch;
	bool quiet;
	int verbose;
	char **notes;            /* decisions explained by -v */
	char **warnings;         /* lines shown even without -v (the host-rootfs note, what --lockdown left out) */
};

void plan_init(struct plan *p);
void plan_release(struct plan *p);

int plan_build(const struct opts *o, const struct facts *f, struct plan *p, struct aj_err *err);

/* What the jail's key variable holds instead of the key: nothing any API would take for one. */
#define PLAN_KEYGATE_PLACEHOLDER "ajail-keygate-placeholder"
/* The keygates' rest, once plan_build (the profile's `secret` lines) has put env, header, upstream
 * (the profile's default) and base_env into p->net.keygate[] of a NET_ALLOW plan, after the jail's
 * env is made: each upstream becomes the host's $base_env when set (a usage error naming the
 * variable when it is not http[s]://HOST[:PORT][/PATH]); each gets a port of the jail's 127.0.0.1
 * clear of the proxy's, the forwards and the published ports, in the landlock connect list; the
 * jail's env gets env=PLAN_KEYGATE_PLACEHOLDER and base_env=http://127.0.0.1:PORT, and a NO_PROXY
 * that takes 127.0.0.1 direct. Never reads the key itself. Pure: reads only f->environ. */
int plan_keygate_finish(struct plan *p, const struct facts *f, struct aj_err *err);

/* --dry-run: the whole plan. */
void plan_print(const struct plan *p, FILE *out);
/* The layers section of --dry-run. */
void plan_print_layers(const struct plan *p, FILE *out);
/* The status block on stderr before a run. */
void plan_print_status(const struct plan *p, FILE *out);

const char *plan_kind_name(enum mount_kind k);
bool plan_kind_is_persistent(enum mount_kind k);
/* Does the jail see the host path src through a step of this kind (at dst)? */
bool plan_kind_shows_host_dir(enum mount_kind k);
/* --home-edit=PATH of a path missing from the rootfs: made as a file (true) or a directory?
 * as_written keeps a trailing '/'; rel is the path without it; *initial (caller frees): what a
 * profile says a new file of that name holds, or NULL. Pure. */
bool plan_home_path_is_file(const char *as_written, const char *rel, char **initial);

/* Escape a path for an overlayfs lowerdir: '\', ':' and ',' get a backslash. Caller frees. */
char *plan_overlay_escape(const char *path);
/* The overlay option string that mount(8) would show, for --dry-run and tests. */
char *plan_overlay_options(const char *lower, const char *upper, const char *work);

#endif
