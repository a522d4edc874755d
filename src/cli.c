#include "cli.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "util.h"

static const char usage_text[] =
	"Usage: ajail [OPTIONS] [--] [COMMAND [ARG...]]\n"
	"       ajail fs import|list|rm|build|cp|export ...     (ajail fs --help)\n"
	"       ajail clone list|show|rm|gc|sync ...             (ajail clone --help)\n"
	"       ajail state list|rm|path ...                     (ajail state --help)\n"
	"       ajail doctor [--json]                            (ajail doctor --help)\n"
	"       ajail trust [--yes|--revoke|--list [--json]] [DIR]   (ajail trust --help)\n"
	"\n"
	"Run COMMAND (default: bash, or sh where the rootfs has none) in an unprivileged sandbox whose root\n"
	"is a named rootfs under an ephemeral overlay. The working directory is mounted read-write at its\n"
	"own path; everything else the command changes vanishes when it exits.\n"
	"\n"
	"Root filesystem:\n"
	"  --fs=NAME            rootfs NAME from $AJAIL_HOME/fs (default ~/.ajail/fs), an absolute path,\n"
	"                       or 'host' (the host's /usr /bin /lib* /sbin /etc /opt, read-only)\n"
	"  --fs-edit[=/DIR]     keep changes to the rootfs (all of it, or just /DIR)\n"
	"  --commit=NAME        when COMMAND exits with status 0, keep the session's changes to the rootfs\n"
	"                       as a new rootfs NAME: a layer on this one (the working directory and\n"
	"                       other mounts are never part of it); otherwise keep nothing\n"
	"  --home-edit[=PATH]   keep changes to /root (all of it, or just /root/PATH; a missing PATH is made\n"
	"                       a file when it has an extension or ends in rc, or a profile keeps it as\n"
	"                       one (.claude.json), else a directory; PATH/ is always a directory)\n"
	"\n"
	"Directories (DIR defaults to the working directory; later options layer on earlier ones):\n"
	"  --ro[=DIR]           overlay: writable inside, changes never reach the host\n"
	"  --rol[=DIR]          read-only bind\n"
	"  --rw[=DIR]           read-write bind: changes reach the host\n"
	"  --hide[=DIR]         replace with an empty directory\n"
	"  --mount=SRC,DST[,ro|rol|rw|hide|dev]\n"
	"                       mount host SRC at DST in the jail (default ro: an overlay whose changes never\n"
	"                       reach the host; rw writes through; dev allows device nodes)\n"
	"  --dev=DEV            make host /dev/DEV available in the jail\n"
	"\n"
	"Clone workspaces (in a git repository):\n"
	"  --clone[=BRANCH]     run in a clone of this repository of its own, on branch ajail/ID (or BRANCH),\n"
	"                       mounted at the repository's path; its commits arrive as branch ajail/ID\n"
	"  --clone-dirty        carry uncommitted changes of the working tree into the clone\n"
	"  --clone-push         let the clone push to origin (its hooks, config and info stay read-only)\n"
	"\n"
	"Agents:\n"
	"  --profile=NAME       apply agent profile NAME (claude, codex, gemini, opencode, aider, or your own\n"
	"                       in ~/.config/ajail/profiles); by default the command's name picks one. It keeps\n"
	"                       the agent's state in $AJAIL_HOME/state/NAME, passes its variables (API keys),\n"
	"                       and names its network preset\n"
	"  --no-profile         no agent profile\n"
	"  --no-host-ca         do not hand the host's CA bundle to the jail (/run/ajail/ca-certificates.crt,\n"
	"                       SSL_CERT_FILE, NODE_EXTRA_CA_CERTS, ...)\n"
	"\n"
	"Isolation:\n"
	"  --no-net, --net=none\n"
	"                       no network: a new network namespace with only lo\n"
	"  --net=host           the host's network (the default)\n"
	"  --net=allow          only what --allow-net and the agent's profile allow (see --allow-net)\n"
	"  --allow-net=PATTERN[,PATTERN...]\n"
	"                       a network namespace whose only way out is ajail's proxy, which lets\n"
	"                       through: example.com, *.example.com, HOST:PORT (default ports 80, 443),\n"
	"                       an address or CIDR, localhost:PORT (the host's), @PRESET (claude, codex,\n"
	"                       gemini, opencode, aider, npm, pypi, github, debian, alpine, rust, go; your\n"
	"                       own in ~/.config/ajail/net-presets)\n"
	"  --publish=[HOSTPORT:]PORT\n"
	"                       the jail's PORT at the host's 127.0.0.1:HOSTPORT (with --allow-net or --no-net)\n"
	"  --net-log=FILE       with --allow-net: one JSON line per connection (-v prints each as it happens)\n"
	"  --cap-add=CAP        keep capability CAP (e.g. NET_RAW); all others are dropped\n"
	"  --new-session        always detach from the terminal's session (default: only when the kernel\n"
	"                       still allows TIOCSTI, /proc/sys/dev/tty/legacy_tiocsti)\n"
	"  --lockdown           for code you do not trust at all: working directory read-only, no network,\n"
	"                       empty home, no --rw/--mount, a new session, the tightest limits (options\n"
	"                       that would loosen it are refused, or left out with a warning from AJAIL_ARGS)\n"
	"  --memory=SIZE        memory limit, e.g. 4G   (needs a cgroup v2 subtree delegated to you)\n"
	"  --cpus=N             CPU limit, e.g. 1.5     (likewise)\n"
	"  --pids=N             process and thread limit (cgroup v2, else RLIMIT_NPROC for the jail)\n"
	"\n"
	"Defense-in-depth layers, all on by default (--dry-run shows them); each can be turned off:\n"
	"  --no-cap-drop        keep the capabilities of the jail's user namespace (no no_new_privs)\n"
	"  --no-seccomp         no system-call deny list\n"
	"  --allow-ptrace       let the deny list pass ptrace and process_vm_* (gdb, strace, and the leak\n"
	"                       checker of -fsanitize=address)\n"
	"  --no-landlock        no landlock: writes are limited by the mounts alone\n"
	"  --no-rlimits         no resource limits beyond the caller's (core dumps stay off)\n"
	"  --no-mask            no masks over the sensitive parts of /proc and /sys\n"
	"\n"
	"Output:\n"
	"  -q, --quiet          no status block\n"
	"  -v, --verbose        explain each decision\n"
	"  --dry-run            print the plan and run nothing\n"
	"  -h, --help           print this help ('ajail VERB --help' prints a verb's own)\n"
	"  -V, --version        print the version\n"
	"\n"
	"Project options: a repository's .ajail.conf (one option per line) applies, after AJAIL_ARGS, once\n"
	"you trust it with 'ajail trust':\n"
	"  --no-project         leave .ajail.conf unread (AJAIL_NO_PROJECT=1 does the same)\n"
	"\n"
	"Environment: AJAIL_ARGS='--fs=x;--no-net' adds options before the command line; AJAIL_ENV_X=v sets\n"
	"X=v in the jail, whose environment is otherwise only HOME USER PATH TERM IS_SANDBOX.\n"
	"AJAIL_HOME is the store (default ~/.ajail).\n"
	"\n"
	"Exit status: the command's own; 128+N when it was killed by signal N; 127 when it is not found in\n"
	"the jail, 126 when it cannot be executed; 2 for a usage error; 1 when the sandbox could not be set\n"
	"up.\n";

const char *cli_usage(void)
{
	return usage_text;
}

/* Capability names as the kernel numbers them (linux/capability.h, up to CAP_CHECKPOINT_RESTORE). */
static const char *const cap_names[] = {
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
	"SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
	"IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
	"SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
	"LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
	"WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
};

int cli_cap_last(void)
{
	return (int)(sizeof cap_names / sizeof cap_names[0]) - 1;
}

int cli_cap_from_name(const char *name)
{
	if (strncasecmp(name, "CAP_", 4) == 0)
		name += 4;
	for (int i = 0; i <= cli_cap_last(); i++)
		if (strcasecmp(name, cap_names[i]) == 0)
			return i;
	return -1;
}

const char *cli_cap_name(int cap)
{
	return cap >= 0 && cap <= cli_cap_last() ? cap_names[cap] : "?";
}

int cli_parse_size(const char *s, uint64_t *out)
{
	/* Digits, an optional fraction, then K, M, G or T with an optional "iB"/"B"; no unit is bytes. */
	uint64_t whole = 0, frac = 0, frac_div = 1;
	const char *p = s;
	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		if (whole > UINT64_MAX / 10 - 10)
			return -1;
		whole = whole * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		for (; isdigit((unsigned char)*p); p++)
			if (frac_div < 1000000) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				frac_div *= 10;
			}
	}
	int shift = 0;
	switch (toupper((unsigned char)*p)) {
	case 'K': shift = 10; break;
	case 'M': shift = 20; break;
	case 'G': shift = 30; break;
	case 'T': shift = 40; break;
	case 'B':
		if (p[1])
			return -1;
		p++;
		break;
	case '\0': break;
	default: return -1;
	}
	if (shift) {
		p++;
		if (strcasecmp(p, "ib") == 0 || strcasecmp(p, "b") == 0)
			p += strlen(p);
	} else if (frac) {
		return -1; /* a fraction of a byte */
	}
	if (*p || (shift && whole > (UINT64_MAX >> shift) - 1))
		return -1;
	*out = (whole << shift) + ((frac << shift) / frac_div);
	return 0;
}

int cli_parse_cpus(const char *s, unsigned *milli)
{
	unsigned whole = 0, frac = 0, digits = 0;
	const char *p = s;
	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		whole = whole * 10 + (unsigned)(*p - '0');
		if (whole > 4096)
			return -1;
	}
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++)
			if (digits < 3) {
				frac = frac * 10 + (unsigned)(*p - '0');
				digits++;
			}
		if (!digits)
			return -1;
		for (; digits < 3; digits++)
			frac *= 10;
	}
	/* Under 0.01 the quota would be below the 1 ms cpu.max accepts. */
	if (*p || whole * 1000 + frac < 10 || whole * 1000 + frac > 4096000)
		return -1;
	*milli = whole * 1000 + frac;
	return 0;
}

void opts_init(struct opts *o)
{
	memset(o, 0, sizeof *o);
	o->new_session = TRI_AUTO;
}

void opts_release(struct opts *o)
{
	free(o->fs);
	strv_free(o->fs_edit_dirs);
	free(o->commit);
	strv_free(o->home_edit_dirs);
	for (size_t i = 0; i < o->n_mounts; i++) {
		free(o->mounts[i].src);
		free(o->mounts[i].dst);
		free(o->mounts[i].origin);
	}
	free(o->mounts);
	strv_free(o->devs);
	strv_free(o->lockdown_dropped);
	strv_free(o->allow_net);
	free(o->publish);
	free(o->net_log);
	free(o->profile);
	free(o->clone_branch);
	strv_free(o->argv);
	strv_free(o->verb_args);
	opts_init(o);
}

static int parse_port(const char *s, size_t len, uint16_t *out)
{
	unsigned long v = 0;
	if (len == 0 || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* --publish=[HOSTPORT:]PORT; a second --publish of the same host port is an error, not a silent
 * replacement: two services cannot share it. */
static int parse_publish(struct opts *o, const char *val, const char *origin, struct aj_err *err)
{
	struct opt_publish pub;
	const char *colon = strchr(val, ':');
	if (colon ? parse_port(val, (size_t)(colon - val), &pub.host_port) < 0 ||
			    parse_port(colon + 1, strlen(colon + 1), &pub.port) < 0
		  : parse_port(val, strlen(val), &pub.port) < 0)
		return aj_usage(err, "%s: expected [HOSTPORT:]PORT with ports from 1 to 65535, e.g. --publish=3000 or "
				     "--publish=8080:3000",
				origin);
	if (!colon)
		pub.host_port = pub.port;
	for (size_t i = 0; i < o->n_publish; i++)
		if (o->publish[i].host_port == pub.host_port)
			return aj_usage(err, "%s: host port %u is already published", origin, pub.host_port);
	o->publish = xrealloc(o->publish, (o->n_publish + 1) * sizeof *o->publish);
	o->publish[o->n_publish++] = pub;
	return 0;
}

static void add_mount(struct opts *o, const char *src, const char *dst, enum mount_mode mode, const char *origin)
{
	o->mounts = xrealloc(o->mounts, (o->n_mounts + 1) * sizeof *o->mounts);
	struct opt_mount *m = &o->mounts[o->n_mounts++];
	m->src = src ? xstrdup(src) : NULL;
	m->dst = dst ? xstrdup(dst) : NULL;
	m->mode = mode;
	m->origin = xstrdup(origin);
}

static int parse_mode(const char *s, enum mount_mode *mode)
{
	static const struct {
		const char *name;
		enum mount_mode mode;
	} modes[] = { { "rw", MODE_RW }, { "ro", MODE_RO }, { "rol", MODE_ROL }, { "hide", MODE_HIDE }, { "dev", MODE_DEV } };
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
		if (strcmp(s, modes[i].name) == 0) {
			*mode = modes[i].mode;
			return 0;
		}
	return -1;
}

/* --mount=SRC,DST[,MODE]. Commas inside paths can be written as "\,". */
static int parse_mount_spec(struct opts *o, const char *spec, const char *origin, struct aj_err *err)
{
	char *fields[4] = { 0 };
	int nf = 0;
	cleanup_free char *buf = xmalloc(strlen(spec) + 1);
	char *w = buf;
	fields[nf++] = w;
	for (const char *p = spec; *p; p++) {
		if (*p == '\\' && (p[1] == ',' || p[1] == '\\')) {
			*w++ = *++p;
		} else if (*p == ',') {
			*w++ = '\0';
			if (nf == 3)
				return aj_usage(err, "%s: too many fields; expected --mount=SRC,DST[,ro|rol|rw|hide|dev]", origin);
			fields[nf++] = w;
		} else {
			*w++ = *p;
		}
	}
	*w = '\0';
	if (nf < 2 || !*fields[0] || !*fields[1])
		return aj_usage(err, "%s: expected --mount=SRC,DST[,ro|rol|rw|hide|dev]", origin);
	/* The original ajail's meaning: a mount is an ephemeral overlay unless `,rw` asks for writes to
	 * reach the host (`,ro` names that default explicitly). */
	enum mount_mode mode = MODE_RO;
	if (nf == 3 && parse_mode(fields[2], &mode) < 0)
		return aj_usage(err, "%s: unknown mode '%s'; use one of ro, rol, rw, hide, dev", origin, fields[2]);
	add_mount(o, fields[0], fields[1], mode, origin);
	return 0;
}

enum arg_kind { ARG_NONE, ARG_OPTIONAL, ARG_REQUIRED };

enum opt_id {
	O_FS, O_FS_EDIT, O_COMMIT, O_HOME_EDIT, O_RO, O_ROL, O_RW, O_HIDE, O_MOUNT, O_DEV, O_CAP_ADD, O_NO_NET, O_NET, O_ALLOW_NET, O_PUBLISH, O_NET_LOG,
	O_PROFILE, O_NO_PROFILE, O_NO_HOST_CA, O_NO_PROJECT,
	O_CLONE, O_CLONE_DIRTY, O_CLONE_PUSH, O_NEW_SESSION, O_QUIET, O_VERBOSE, O_DRY_RUN, O_HELP, O_VERSION,
	O_NO_CAP_DROP, O_NO_SECCOMP, O_ALLOW_PTRACE, O_NO_LANDLOCK, O_NO_RLIMITS, O_NO_MASK, O_LOCKDOWN, O_MEMORY,
	O_CPUS, O_PIDS,
};

static const struct optdef {
	const char *name;
	char shortname;
	enum arg_kind arg;
	enum opt_id id;
} optdefs[] = {
	{ "fs", 0, ARG_REQUIRED, O_FS },
	{ "fs-edit", 0, ARG_OPTIONAL, O_FS_EDIT },
	{ "commit", 0, ARG_REQUIRED, O_COMMIT },
	{ "home-edit", 0, ARG_OPTIONAL, O_HOME_EDIT },
	{ "ro", 0, ARG_OPTIONAL, O_RO },
	{ "rol", 0, ARG_OPTIONAL, O_ROL },
	{ "rw", 0, ARG_OPTIONAL, O_RW },
	{ "hide", 0, ARG_OPTIONAL, O_HIDE },
	{ "mount", 0, ARG_REQUIRED, O_MOUNT },
	{ "dev", 0, ARG_REQUIRED, O_DEV },
	{ "cap-add", 0, ARG_REQUIRED, O_CAP_ADD },
	{ "no-net", 0, ARG_NONE, O_NO_NET },
	{ "net", 0, ARG_REQUIRED, O_NET },
	{ "allow-net", 0, ARG_REQUIRED, O_ALLOW_NET },
	{ "publish", 0, ARG_REQUIRED, O_PUBLISH },
	{ "net-log", 0, ARG_REQUIRED, O_NET_LOG },
	{ "profile", 0, ARG_REQUIRED, O_PROFILE },
	{ "no-profile", 0, ARG_NONE, O_NO_PROFILE },
	{ "no-host-ca", 0, ARG_NONE, O_NO_HOST_CA },
	{ "no-project", 0, ARG_NONE, O_NO_PROJECT },
	{ "clone", 0, ARG_OPTIONAL, O_CLONE },
	{ "clone-dirty", 0, ARG_NONE, O_CLONE_DIRTY },
	{ "clone-push", 0, ARG_NONE, O_CLONE_PUSH },
	{ "new-session", 0, ARG_NONE, O_NEW_SESSION },
	{ "no-cap-drop", 0, ARG_NONE, O_NO_CAP_DROP },
	{ "no-seccomp", 0, ARG_NONE, O_NO_SECCOMP },
	{ "allow-ptrace", 0, ARG_NONE, O_ALLOW_PTRACE },
	{ "no-landlock", 0, ARG_NONE, O_NO_LANDLOCK },
	{ "no-rlimits", 0, ARG_NONE, O_NO_RLIMITS },
	{ "no-mask", 0, ARG_NONE, O_NO_MASK },
	{ "lockdown", 0, ARG_NONE, O_LOCKDOWN },
	{ "memory", 0, ARG_REQUIRED, O_MEMORY },
	{ "cpus", 0, ARG_REQUIRED, O_CPUS },
	{ "pids", 0, ARG_REQUIRED, O_PIDS },
	{ "quiet", 'q', ARG_NONE, O_QUIET },
	{ "verbose", 'v', ARG_NONE, O_VERBOSE },
	{ "dry-run", 0, ARG_NONE, O_DRY_RUN },
	{ "help", 'h', ARG_NONE, O_HELP },
	{ "version", 'V', ARG_NONE, O_VERSION },
};

static const struct optdef *find_long(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof optdefs / sizeof optdefs[0]; i++)
		if (strlen(optdefs[i].name) == len && strncmp(optdefs[i].name, name, len) == 0)
			return &optdefs[i];
	return NULL;
}

static const struct optdef *find_short(char c)
{
	for (size_t i = 0; i < sizeof optdefs / sizeof optdefs[0]; i++)
		if (optdefs[i].shortname == c)
			return &optdefs[i];
	return NULL;
}

static int apply(struct opts *o, const struct optdef *d, const char *val, const char *origin, struct aj_err *err)
{
	if (val && !*val && d->arg != ARG_NONE)
		return aj_usage(err, "%s: empty value", origin);
	switch (d->id) {
	case O_FS:
		free(o->fs);
		o->fs = xstrdup(val);
		break;
	case O_FS_EDIT:
		if (!val) {
			o->fs_edit = true;
		} else {
			/* The original took a subtree of the rootfs, so `--fs-edit=etc` is /etc. */
			cleanup_free char *abs = val[0] == '/' ? xstrdup(val) : xasprintf("/%s", val);
			bool dotdot;
			char *n = path_normalize(abs, &dotdot);
			if (dotdot) {
				free(n);
				return aj_usage(err, "%s: '..' is not allowed in the rootfs directory", origin);
			}
			/* The whole rootfs is --fs-edit itself (as --home-edit=/ is --home-edit): a bind of it over
			 * the overlay root would persist every change while the status says they are discarded. */
			if (strcmp(n, "/") == 0) {
				free(n);
				o->fs_edit = true;
			} else {
				strv_push(&o->fs_edit_dirs, n);
			}
		}
		break;
	case O_COMMIT:
		if (config_validate_name(val, err) < 0)
			return aj_err_wrap(err, "%s", origin);
		if (strcmp(val, "host") == 0 || strcmp(val, "default") == 0)
			return aj_usage(err, "%s: '%s' is a reserved name; choose another", origin, val);
		free(o->commit);
		o->commit = xstrdup(val);
		break;
	case O_HOME_EDIT:
		if (!val) {
			o->home_edit = true;
		} else {
			/* PATH is relative to the jail's home: /root/PATH is the same place, but any other absolute
			 * path (/etc, the host's $HOME/.claude) would silently become /root/etc, kept for good. */
			if (val[0] == '/' && strcmp(val, "/") != 0) {
				if (strcmp(val, "/root") == 0)
					val = "/";
				else if (str_has_prefix(val, "/root/"))
					val += 5;
				else
					return aj_usage(err, "%s: PATH is relative to the jail's home /root (e.g. --home-edit=.config); "
							     "to keep %s in the rootfs use --fs-edit=%s", origin, val, val);
			}
			bool dotdot;
			cleanup_free char *n = path_normalize(val, &dotdot);
			if (dotdot)
				return aj_usage(err, "%s: '..' is not allowed; SUBDIR is relative to /root", origin);
			if (strcmp(n, "/") == 0)
				o->home_edit = true;
			else /* a trailing '/' says "a directory" when it has to be made (plan.c) */
				strv_push(&o->home_edit_dirs, val[strlen(val) - 1] == '/' ? xasprintf("%s/", n + 1) : xstrdup(n + 1));
		}
		break;
	case O_RO:
	case O_ROL:
	case O_RW:
	case O_HIDE: {
		enum mount_mode mode = d->id == O_RO ? MODE_RO : d->id == O_ROL ? MODE_ROL : d->id == O_RW ? MODE_RW : MODE_HIDE;
		add_mount(o, val, NULL, mode, origin);
		break;
	}
	case O_MOUNT:
		return parse_mount_spec(o, val, origin, err);
	case O_DEV: {
		const char *dev = str_has_prefix(val, "/dev/") ? val + 5 : val;
		bool dotdot;
		cleanup_free char *n = path_normalize(dev, &dotdot);
		if (dotdot || strcmp(n, "/") == 0)
			return aj_usage(err, "%s: expected a device under /dev, e.g. --dev=kvm", origin);
		strv_push(&o->devs, xstrdup(n + 1));
		break;
	}
	case O_CAP_ADD: {
		int cap = cli_cap_from_name(val);
		if (cap < 0)
			return aj_usage(err, "%s: unknown capability '%s' (e.g. NET_RAW, SYS_PTRACE)", origin, val);
		o->cap_add |= UINT64_C(1) << cap;
		break;
	}
	case O_NO_NET:
		o->no_net = true;
		o->net = NET_NONE;
		break;
	case O_NET:
		if (strcmp(val, "host") == 0) {
			o->net = NET_HOST;
			o->net_host_given = true;
		} else if (strcmp(val, "none") == 0) {
			o->net = NET_NONE;
		} else if (strcmp(val, "allow") == 0) {
			/* The allow-list's own namespace with only what --allow-net and the agent's profile name. */
			o->net = NET_ALLOW;
		} else {
			return aj_usage(err, "%s: expected --net=host, --net=none or --net=allow (for an allow-list: "
					     "--allow-net=PATTERN)",
					origin);
		}
		o->no_net = o->net == NET_NONE;
		break;
	case O_ALLOW_NET:
		strv_push(&o->allow_net, xstrdup(val));
		o->net = NET_ALLOW;
		o->no_net = false;
		break;
	case O_PUBLISH:
		return parse_publish(o, val, origin, err);
	case O_PROFILE:
		free(o->profile);
		o->profile = xstrdup(val);
		o->no_profile = false;
		break;
	case O_NO_PROFILE:
		free(o->profile);
		o->profile = NULL;
		o->no_profile = true;
		break;
	case O_NO_HOST_CA:
		o->no_host_ca = true;
		break;
	case O_NO_PROJECT:
		o->no_project = true;
		break;
	case O_NET_LOG:
		free(o->net_log);
		o->net_log = xstrdup(val);
		break;
	case O_CLONE:
		o->clone = true;
		free(o->clone_branch);
		o->clone_branch = val ? xstrdup(val) : NULL;
		break;
	case O_CLONE_DIRTY: /* both imply --clone: they only mean something for a clone */
		o->clone = o->clone_dirty = true;
		break;
	case O_CLONE_PUSH:
		o->clone = o->clone_push = true;
		break;
	case O_NEW_SESSION:
		o->new_session = TRI_YES;
		break;
	case O_NO_CAP_DROP:
		o->no_cap_drop = true;
		break;
	case O_NO_SECCOMP:
		o->no_seccomp = true;
		break;
	case O_ALLOW_PTRACE:
		o->allow_ptrace = true;
		break;
	case O_NO_LANDLOCK:
		o->no_landlock = true;
		break;
	case O_NO_RLIMITS:
		o->no_rlimits = true;
		break;
	case O_NO_MASK:
		o->no_mask = true;
		break;
	case O_LOCKDOWN:
		o->lockdown = true;
		break;
	case O_MEMORY:
		if (cli_parse_size(val, &o->memory) < 0 || o->memory < (UINT64_C(4) << 20))
			return aj_usage(err, "%s: expected a size of at least 4M, e.g. --memory=512M or --memory=4G", origin);
		break;
	case O_CPUS:
		if (cli_parse_cpus(val, &o->cpus_milli) < 0)
			return aj_usage(err, "%s: expected a number of CPUs from 0.01 to 4096, e.g. --cpus=2 or --cpus=0.5", origin);
		break;
	case O_PIDS: {
		char *end;
		unsigned long n = strtoul(val, &end, 10);
		if (*end || !isdigit((unsigned char)val[0]) || n < 8 || n > 4194304)
			return aj_usage(err, "%s: expected a number of processes from 8 up, e.g. --pids=512", origin);
		o->pids = (unsigned)n;
		break;
	}
	case O_QUIET:
		o->quiet = true;
		break;
	case O_VERBOSE:
		o->verbose++;
		break;
	case O_DRY_RUN:
		o->dry_run = true;
		break;
	case O_HELP:
		o->help = true;
		break;
	case O_VERSION:
		o->version = true;
		break;
	}
	return 0;
}

/* Parse one option word; *consumed tells whether the next word was used as its value. */
static int parse_word(struct opts *o, const char *word, const char *next, bool *consumed, const char *where,
		      struct aj_err *err)
{
	*consumed = false;
	if (word[1] != '-') {
		/* bundled short flags: -qv */
		for (const char *p = word + 1; *p; p++) {
			const struct optdef *d = find_short(*p);
			if (!d)
				return aj_usage(err, "%sunknown option '-%c'; see ajail --help", where, *p);
			char origin[3] = { '-', *p, 0 };
			if (apply(o, d, NULL, origin, err) < 0)
				return -1;
		}
		return 0;
	}
	const char *name = word + 2;
	const char *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	const struct optdef *d = find_long(name, len);
	if (!d)
		return aj_usage(err, "%sunknown option '--%.*s'; see ajail --help", where, (int)len, name);
	const char *val = eq ? eq + 1 : NULL;
	if (d->arg == ARG_NONE && val)
		return aj_usage(err, "%soption '--%s' takes no value", where, d->name);
	if (d->arg == ARG_REQUIRED && !val) {
		if (!next)
			return aj_usage(err, "%soption '--%s' needs a value (--%s=VALUE)", where, d->name, d->name);
		val = next;
		*consumed = true;
	}
	cleanup_free char *origin = val ? xasprintf("--%s=%s", d->name, val) : xasprintf("--%s", d->name);
	if (apply(o, d, val, origin, err) < 0) {
		if (*where)
			aj_err_wrap(err, "%.*s", (int)strlen(where) - 2, where);
		return -1;
	}
	return 0;
}

/* With --lockdown on the command line, each option of AJAIL_ARGS is tried on its own first, and one
 * that would loosen the lockdown is recorded in o->lockdown_dropped instead of applied. */
static int parse_ajail_args(struct opts *o, const char *env, bool lockdown, struct aj_err *err)
{
	cleanup_strv char **words = NULL;
	const char *p = env;
	while (*p) {
		const char *end = strchrnul(p, ';');
		size_t n = (size_t)(end - p);
		/* tolerate spaces around separators: "--fs=x; --no-net" */
		while (n && isspace((unsigned char)*p)) {
			p++;
			n--;
		}
		while (n && isspace((unsigned char)p[n - 1]))
			n--;
		if (n)
			strv_push(&words, xstrndup(p, n));
		p = *end ? end + 1 : end;
	}
	for (size_t i = 0; words && words[i]; i++) {
		if (words[i][0] != '-' || strcmp(words[i], "-") == 0 || strcmp(words[i], "--") == 0)
			return aj_usage(err, "AJAIL_ARGS: '%s' is not an option; AJAIL_ARGS holds options separated by ';'",
					words[i]);
		/* "--fs=x --no-net" is one word here, which would fail with a confusing "rootfs name" error:
		 * a space before a known option's name is what a shell user writes by habit. */
		for (const char *q = words[i]; (q = strstr(q, " -")); q++) {
			const char *name = q + 1;
			while (*name == '-')
				name++;
			size_t len = strcspn(name, "= \t");
			if ((q[2] == '-' && find_long(name, len)) || (q[2] != '-' && len == 1 && find_short(*name)))
				return aj_usage(err, "AJAIL_ARGS: '%s' holds two options separated by a space; separate them with "
						     "';', e.g. AJAIL_ARGS='--fs=busybox;--no-net'", words[i]);
		}
		bool consumed;
		if (lockdown) {
			struct opts one;
			opts_init(&one);
			int r = parse_word(&one, words[i], words[i + 1], &consumed, "AJAIL_ARGS: ", err);
			bool bad = r == 0 && cli_lockdown_conflict(&one);
			if (bad)
				strv_push(&o->lockdown_dropped,
					  consumed ? xasprintf("%s=%s", words[i], words[i + 1]) : xstrdup(words[i]));
			opts_release(&one);
			if (r < 0)
				return -1;
			if (bad) {
				i += consumed;
				continue;
			}
		}
		if (parse_word(o, words[i], words[i + 1], &consumed, "AJAIL_ARGS: ", err) < 0)
			return -1;
		i += consumed;
	}
	return 0;
}

const char *cli_lockdown_conflict(const struct opts *o)
{
	for (size_t i = 0; i < o->n_mounts; i++)
		if (o->mounts[i].mode == MODE_RW || o->mounts[i].mode == MODE_DEV || o->mounts[i].dst)
			return o->mounts[i].origin;
	return o->fs_edit || o->fs_edit_dirs     ? "--fs-edit"
	       : o->home_edit || o->home_edit_dirs ? "--home-edit"
	       : o->devs                          ? "--dev"
	       : o->net == NET_ALLOW               ? "--allow-net"
	       : o->net_host_given                ? "--net=host"
	       : o->clone_push                    ? "--clone-push"
	       : o->clone_dirty                   ? "--clone-dirty"
	       : o->clone                         ? "--clone"
	       : o->cap_add                       ? "--cap-add"
	       : o->no_cap_drop                   ? "--no-cap-drop"
	       : o->no_seccomp                    ? "--no-seccomp"
	       : o->allow_ptrace                  ? "--allow-ptrace"
	       : o->no_landlock                   ? "--no-landlock"
	       : o->no_rlimits                    ? "--no-rlimits"
	       : o->no_mask                       ? "--no-mask"
						  : NULL;
}

static const struct {
	const char *name;
	enum cli_verb verb;
} verbs[] = { { "fs", VERB_FS }, { "clone", VERB_CLONE }, { "doctor", VERB_DOCTOR }, { "state", VERB_STATE },
	       { "trust", VERB_TRUST } };

/* Options up to "--" or the first word that is not one, then the command. */
static int parse_cmdline(struct opts *o, int argc, char *const argv[], struct aj_err *err)
{
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == '\0')
			break;
		bool consumed;
		if (parse_word(o, a, i + 1 < argc ? argv[i + 1] : NULL, &consumed, "", err) < 0)
			return -1;
		i += consumed;
	}
	for (; i < argc; i++)
		strv_push(&o->argv, xstrdup(argv[i]));
	return 0;
}

int cli_parse(int argc, char *const argv[], const char *ajail_args, struct opts *o, struct aj_err *err)
{
	/* A verb is only a verb as the very first word: `ajail -- fs` and `ajail -q fs` run a program. */
	if (argc > 1) {
		for (size_t v = 0; v < sizeof verbs / sizeof verbs[0]; v++) {
			if (strcmp(argv[1], verbs[v].name) == 0) {
				o->verb = verbs[v].verb;
				for (int k = 2; k < argc; k++)
					strv_push(&o->verb_args, xstrdup(argv[k]));
				return 0;
			}
		}
	}
	/* Whether the command line asks for --lockdown decides how AJAIL_ARGS is read, and AJAIL_ARGS
	 * comes first (the command line wins): the command line is parsed twice, once to learn that. */
	bool lockdown = false;
	if (ajail_args) {
		struct opts cmd;
		opts_init(&cmd);
		int r = parse_cmdline(&cmd, argc, argv, err);
		lockdown = cmd.lockdown;
		opts_release(&cmd);
		if (r < 0)
			return -1;
		if (parse_ajail_args(o, ajail_args, lockdown, err) < 0)
			return -1;
	}
	return parse_cmdline(o, argc, argv, err);
}
