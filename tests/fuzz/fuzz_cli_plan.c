/* fuzz_cli_plan — the option parser and the planner: cli_parse, plan_build, plan_print,
 * plan_print_status and plan_release, against a small fake machine the input describes. Pure code:
 * no syscall, no file is touched.
 *
 * Input: fields separated by NUL bytes, in sections that an empty field ends:
 *
 *   FLAGS \0 AJAIL_ARGS \0 ARGV... \0\0 MACHINE... \0\0 ENV... \0\0 DELETED...
 *
 * FLAGS: one character per fact, others are ignored: H host rootfs (else a store rootfs), I it is
 * the implicit default, R the user is root, O the rootfs belongs to someone else, T/t fds 0-2/1-2
 * are a terminal, L/l legacy_tiocsti is 1/absent, 0-9 the landlock ABI (default 5), G the cwd is in
 * a git work tree, W a linked worktree at the cwd, w a .git warning, P --clone-push, S no store, c a
 * delegated cgroup, v it is cgroup v1, E why there is none, / the cwd is /, N the cwd is unreadable.
 *
 * AJAIL_ARGS: "" means unset. ARGV: the words after "ajail".
 *
 * MACHINE: host paths that add to (and override) the base machine below, one per field: "d/path"
 * directory, "f/path" file, "o/path" device, "e/path" unreadable (EACCES), "x/path" missing,
 * "l/path\tTARGET" symlink, "c/path" the working directory, "r/path" the rootfs, "s PATH" sets
 * AJAIL_HOME=PATH (the store as configured: it may be relative, or missing), "g/commondir\tNAME" a
 * linked worktree (its git dir is commondir/worktrees/NAME), "C/path" the clone's toplevel (used
 * with --clone). Facts the rest of ajail guarantees (a canonical cwd, a rootfs directory) fall back
 * to the defaults when the input breaks them.
 *
 * ENV: the host's environment ("HOME=/x", "AJAIL_ENV_A=b"), before the base one (HOME=/home/u...).
 * DELETED: --clone-dirty's deleted paths (those git could list).
 *
 * Parents of every path in the table are directories; everything else is missing. The probe resolves
 * like the kernel does: ".." after a symlink goes to the parent of its target, 40 links at most.
 *
 * When plan_build succeeds, the invariants sandbox.c relies on are checked (check_plan). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "error.h"
#include "plan.h"
#include "util.h"

#include "fuzz.h"

/* ---- the fake machine ------------------------------------------------------------------------ */

struct entry {
	const char *path; /* normalised */
	enum fact_type type;
	const char *target; /* FT_SYMLINK */
	int err;            /* non-zero: looking at it (or through it) fails with this errno */
};

#define HOME "/home/u"
#define STORE HOME "/.ajail"
#define ROOTFS STORE "/fs/alpine"
#define CWD "/work/x"

static const struct entry base[] = {
	{ "/usr/bin", FT_DIR, NULL, 0 },
	{ "/usr/sbin", FT_DIR, NULL, 0 },
	{ "/usr/lib", FT_DIR, NULL, 0 },
	{ "/bin", FT_SYMLINK, "usr/bin", 0 },
	{ "/sbin", FT_SYMLINK, "usr/sbin", 0 },
	{ "/lib", FT_SYMLINK, "usr/lib", 0 },
	{ "/lib64", FT_SYMLINK, "usr/lib64", 0 },
	{ "/etc/shadow", FT_FILE, NULL, 0 },
	{ "/etc/gshadow", FT_FILE, NULL, 0 },
	{ "/etc/resolv.conf", FT_SYMLINK, "../run/systemd/resolve/stub-resolv.conf", 0 },
	{ "/run/systemd/resolve/stub-resolv.conf", FT_FILE, NULL, 0 },
	{ "/opt", FT_DIR, NULL, 0 },
	{ CWD "/build", FT_DIR, NULL, 0 },
	{ CWD "/sub", FT_DIR, NULL, 0 },
	{ CWD "/file.txt", FT_FILE, NULL, 0 },
	{ CWD "/.git/objects", FT_DIR, NULL, 0 },
	{ CWD "/.git/refs", FT_DIR, NULL, 0 },
	{ CWD "/.git/config", FT_FILE, NULL, 0 },
	{ CWD "/inlink", FT_SYMLINK, "sub", 0 },
	{ CWD "/uplink", FT_SYMLINK, "../x/sub", 0 },
	{ CWD "/outlink", FT_SYMLINK, "/data/target", 0 },
	{ CWD "/loop", FT_SYMLINK, "loop", 0 },
	{ "/data/target", FT_DIR, NULL, 0 },
	{ "/noaccess", FT_DIR, NULL, EACCES },
	{ "/repo/.git/objects", FT_DIR, NULL, 0 },
	{ "/repo/.git/refs", FT_DIR, NULL, 0 },
	{ "/repo/.git/logs", FT_DIR, NULL, 0 },
	{ "/repo/.git/worktrees/x/commondir", FT_FILE, NULL, 0 },
	{ "/repo/.git/worktrees/x/gitdir", FT_FILE, NULL, 0 },
	{ "/dev/null", FT_OTHER, NULL, 0 },
	{ "/dev/kvm", FT_OTHER, NULL, 0 },
	{ "/dev/dri/card0", FT_OTHER, NULL, 0 },
	{ "/dev/sym", FT_SYMLINK, "kvm", 0 },
	{ HOME "/.ssh/id_ed25519", FT_FILE, NULL, 0 },
	{ STORE "/clone/1/lower", FT_DIR, NULL, 0 },
	{ STORE "/clone/1/upper", FT_DIR, NULL, 0 },
	{ STORE "/clone/1/work", FT_DIR, NULL, 0 },
	{ STORE "/clone/1/git", FT_DIR, NULL, 0 },
	{ ROOTFS "/etc", FT_DIR, NULL, 0 },
	{ ROOTFS "/root", FT_DIR, NULL, 0 },
	{ ROOTFS "/bin", FT_SYMLINK, "usr/bin", 0 },
	{ ROOTFS "/usr/bin", FT_DIR, NULL, 0 },
};

#define MAX_EXTRA 64

struct machine {
	struct entry extra[MAX_EXTRA]; /* from the input: consulted first, the last one wins */
	size_t n_extra;
	const char *cwd; /* for relative paths */
};

/* The entry for a normalised path; an implicit directory for a parent of any entry; NULL: missing. */
static const struct entry *lookup(const struct machine *m, const char *path)
{
	static const struct entry implicit_dir = { NULL, FT_DIR, NULL, 0 };
	for (size_t i = m->n_extra; i-- > 0;)
		if (strcmp(m->extra[i].path, path) == 0)
			return m->extra[i].type == FT_MISSING && !m->extra[i].err ? NULL : &m->extra[i];
	for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
		if (strcmp(base[i].path, path) == 0)
			return &base[i];
	if (strcmp(path, "/") == 0)
		return &implicit_dir;
	for (size_t i = 0; i < m->n_extra; i++)
		if (m->extra[i].type != FT_MISSING && path_is_under(m->extra[i].path, path))
			return &implicit_dir;
	for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
		if (path_is_under(base[i].path, path))
			return &implicit_dir;
	return NULL;
}

static char *parent_of(const char *dir)
{
	const char *slash = strrchr(dir, '/');
	return slash == dir ? xstrdup("/") : xstrndup(dir, (size_t)(slash - dir));
}

/* Resolve path as the kernel would: every component but the last followed when it is a symlink, the
 * last one too when follow. *canon: where it leads (the link itself for an unfollowed last symlink);
 * *e: what is there, NULL when missing (*canon is then set only when just the last component is
 * missing). Returns 0, or -1 with errno (ELOOP, EACCES). */
static int walk(const struct machine *m, const char *path, bool follow, char **canon, const struct entry **e)
{
	*canon = NULL;
	*e = NULL;
	char *cur = xstrdup(path[0] == '/' ? "/" : m->cwd);
	char *rest = xstrdup(path);
	int hops = 0;
	const struct entry *at = lookup(m, cur);
	for (;;) {
		char *p = rest;
		while (*p == '/')
			p++;
		if (!*p)
			break;
		char *end = strchrnul(p, '/');
		char *comp = xstrndup(p, (size_t)(end - p));
		while (*end == '/')
			end++;
		bool last = *end == '\0';
		char *tail = xstrdup(end);
		free(rest);
		rest = tail;
		if (strcmp(comp, ".") == 0) {
			free(comp);
			continue;
		}
		if (strcmp(comp, "..") == 0) {
			char *up = parent_of(cur);
			free(cur);
			cur = up;
			at = lookup(m, cur);
			free(comp);
			continue;
		}
		char *next = path_join(cur, comp);
		free(comp);
		const struct entry *ne = lookup(m, next);
		if (ne && ne->err) {
			free(next);
			free(cur);
			free(rest);
			errno = ne->err;
			return -1;
		}
		if (!ne) {
			if (last)
				*canon = next;
			else
				free(next);
			free(cur);
			free(rest);
			return 0;
		}
		if (ne->type == FT_SYMLINK && (!last || follow)) {
			if (++hops > 40) {
				free(next);
				free(cur);
				free(rest);
				errno = ELOOP;
				return -1;
			}
			char *again = xasprintf("%s/%s", ne->target, rest);
			free(rest);
			rest = again;
			if (ne->target[0] == '/') {
				free(cur);
				cur = xstrdup("/");
			}
			free(next);
			at = lookup(m, cur);
			continue;
		}
		if (!last && ne->type != FT_DIR) {
			free(next);
			free(cur);
			free(rest);
			return 0; /* ENOTDIR: missing, as hostpath_probe reports it */
		}
		free(cur);
		cur = next;
		at = ne;
	}
	free(rest);
	*canon = cur;
	*e = at;
	return 0;
}

static uint64_t fake_ino(const char *path)
{
	uint64_t h = 1469598103934665603ULL;
	for (const char *p = path; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h | 1;
}

/* facts->probe, with hostpath_probe's contract. */
static int fake_probe(const char *path, bool follow, struct probe_res *res, void *ctx)
{
	const struct machine *m = ctx;
	res->type = FT_MISSING;
	res->path = NULL;
	fuzz_check(path && path[0], "plan_build probed an empty path");
	char *canon;
	const struct entry *e;
	if (walk(m, path, follow, &canon, &e) < 0)
		return -1;
	if (!e) {
		free(canon);
		return 0;
	}
	res->dev = 7;
	res->ino = fake_ino(canon);
	res->type = e->type;
	if (follow)
		res->path = canon;
	else {
		res->path = xstrdup(e->type == FT_SYMLINK ? e->target : path);
		free(canon);
	}
	return 0;
}

/* Is path (normalised, absolute) a directory of the machine reached without any symlink? What
 * getcwd and store_resolve return always is. */
static bool is_canonical_dir(const struct machine *m, const char *path)
{
	char *canon;
	const struct entry *e;
	bool ok = walk(m, path, true, &canon, &e) == 0 && e && e->type == FT_DIR && strcmp(canon, path) == 0;
	free(canon);
	return ok;
}

/* ---- invariants ----------------------------------------------------------------------------------- */

static bool is_normal_abs(const char *p)
{
	if (!p || p[0] != '/')
		return false;
	bool dotdot;
	char *n = path_normalize(p, &dotdot);
	bool ok = !dotdot && strcmp(n, p) == 0;
	free(n);
	return ok;
}

static void check_plan(const struct plan *p, const struct opts *o)
{
	fuzz_check(p->n_steps > 0 && p->steps, "a plan without steps");
	const struct mount_step *r = &p->steps[0];
	fuzz_check(strcmp(r->dst, "/") == 0 &&
			   (r->kind == MK_ROOT_OVERLAY || r->kind == MK_ROOT_BIND || r->kind == MK_ROOT_TMPFS),
		   "step 0 is %s at %s, not the root", plan_kind_name(r->kind), r->dst);
	for (size_t i = 0; i < p->n_steps; i++) {
		const struct mount_step *s = &p->steps[i];
		fuzz_check(s->origin, "step %zu has no origin", i);
		fuzz_check(is_normal_abs(s->dst), "step %zu (%s, %s): dst '%s' is not absolute and normalised", i,
			   plan_kind_name(s->kind), s->origin, s->dst);
		fuzz_check(i == 0 || (s->kind != MK_ROOT_OVERLAY && s->kind != MK_ROOT_BIND && s->kind != MK_ROOT_TMPFS),
			   "step %zu is a second root", i);
		fuzz_check(i == 0 || strcmp(s->dst, "/") != 0, "step %zu (%s, %s) mounts over the root", i,
			   plan_kind_name(s->kind), s->origin);
		if (plan_kind_shows_host_dir(s->kind))
			fuzz_check(is_normal_abs(s->src), "step %zu (%s at %s, %s): src '%s' is not absolute and normalised", i,
				   plan_kind_name(s->kind), s->dst, s->origin, s->src ? s->src : "(null)");
		if (s->kind == MK_OVERLAY_KEEP)
			fuzz_check(s->upper && s->work && s->upper[0] == '/' && s->work[0] == '/', "step %zu: overlay dirs", i);
		if (s->kind == MK_SYMLINK)
			fuzz_check(s->src && s->src[0], "step %zu: symlink at %s without a target", i, s->dst);
		if (s->persist_layer >= 0) {
			fuzz_check((size_t)s->persist_layer < i, "step %zu at %s: persist_layer %d is not an earlier step", i,
				   s->dst, s->persist_layer);
			const struct mount_step *c = &p->steps[s->persist_layer];
			fuzz_check(plan_kind_is_persistent(c->kind), "step %zu: persist_layer %d is a %s", i, s->persist_layer,
				   plan_kind_name(c->kind));
			fuzz_check(path_is_under(s->dst, c->dst) && strcmp(s->dst, c->dst) != 0,
				   "step %zu at %s: persist_layer %d at %s does not hold it", i, s->dst, s->persist_layer, c->dst);
		} else {
			fuzz_check(s->persist_layer == -1, "step %zu: persist_layer %d", i, s->persist_layer);
		}
		/* --lockdown: "host directories stay read-only, nothing persists". */
		if (o->lockdown) {
			fuzz_check(s->kind != MK_BIND_RW && s->kind != MK_ROOT_BIND, "--lockdown, yet step %zu (%s) binds %s at %s read-write",
				   i, s->origin, s->src, s->dst);
			fuzz_check(s->kind != MK_BIND_DEV || strcmp(s->origin, "system") == 0,
				   "--lockdown, yet step %zu (%s) binds device %s", i, s->origin, s->src);
		}
	}
	if (o->lockdown) {
		fuzz_check(p->no_net && p->new_session && p->layers.lockdown, "--lockdown without its defaults");
		fuzz_check(!cli_lockdown_conflict(o), "--lockdown planned with %s", cli_lockdown_conflict(o));
	}
	fuzz_check(p->layers.n_rl <= sizeof p->layers.rl / sizeof p->layers.rl[0], "n_rl %zu", p->layers.n_rl);
	for (size_t i = 0; p->layers.ll_write && p->layers.ll_write[i]; i++)
		fuzz_check(is_normal_abs(p->layers.ll_write[i]), "landlock write rule '%s'", p->layers.ll_write[i]);
	fuzz_check(p->env && p->argv && p->argv[0] && p->cwd && p->hostname, "plan without env, argv, cwd or hostname");
	fuzz_check(config_getenv(p->env, "PATH") && config_getenv(p->env, "HOME"), "the jail's env lacks PATH or HOME");
}

/* ---- the input ------------------------------------------------------------------------------------ */

static const char *const base_env[] = { "HOME=" HOME, "TERM=xterm", "SSH_AUTH_SOCK=/run/ssh", "AJAIL_ENV_FOO=bar", NULL };

/* Fields up to the next empty one (or the end), as a NULL-terminated vector of borrowed strings. */
static const char **section(struct fuzz_fields *in, size_t max)
{
	const char **v = calloc(max + 1, sizeof *v);
	size_t n = 0;
	const char *f;
	while ((f = fuzz_fields_next(in)) && f[0]) {
		if (n < max)
			v[n++] = f;
	}
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0; /* options and a handful of paths: no need for more */
	struct fuzz_fields in;
	fuzz_fields_init(&in, data, size);
	const char *flags = fuzz_fields_next(&in);
	const char *ajail_args = fuzz_fields_next(&in);
	if (!flags || !ajail_args) {
		fuzz_fields_release(&in);
		return 0;
	}
	const char **words = section(&in, 64);
	const char **mach = section(&in, MAX_EXTRA);
	const char **env_in = section(&in, 32);
	const char **deleted_in = section(&in, 16);

	/* The machine. */
	struct machine m = { .cwd = CWD };
	char *owned[MAX_EXTRA * 2 + 8];
	size_t n_owned = 0;
	const char *cwd = CWD, *rootfs_path = ROOTFS, *ajail_home = NULL, *toplevel = NULL;
	const char *commondir = "/repo/.git", *wtdir = "/repo/.git/worktrees/x";
	for (size_t i = 0; mach[i]; i++) {
		const char *f = mach[i];
		char kind = f[0];
		const char *arg = f + 1;
		if (kind == 's') {
			ajail_home = arg + (arg[0] == ' ');
			continue;
		}
		if (arg[0] != '/')
			continue;
		const char *tab = strchr(arg, '\t');
		char *path = path_normalize(arg, NULL);
		if (tab) {
			free(path);
			char *head = xstrndup(arg, (size_t)(tab - arg));
			path = path_normalize(head, NULL);
			free(head);
		}
		owned[n_owned++] = path;
		struct entry e = { path, FT_MISSING, NULL, 0 };
		switch (kind) {
		case 'd': e.type = FT_DIR; break;
		case 'f': e.type = FT_FILE; break;
		case 'o': e.type = FT_OTHER; break;
		case 'e': e.type = FT_DIR; e.err = EACCES; break;
		case 'x': break;
		case 'l':
			if (!tab || !tab[1])
				continue;
			e.type = FT_SYMLINK;
			e.target = tab + 1;
			break;
		case 'c': cwd = path; continue;
		case 'r': rootfs_path = path; continue;
		case 'C': toplevel = path; continue;
		case 'g':
			/* hostpath.c believes a worktree only as <commondir>/worktrees/<name>. */
			if (!tab || !tab[1] || strchr(tab + 1, '/') || !strcmp(tab + 1, ".") || !strcmp(tab + 1, "..") ||
			    !strcmp(path, "/"))
				continue;
			commondir = path;
			wtdir = owned[n_owned++] = xasprintf("%s/worktrees/%s", path, tab + 1);
			continue;
		default: continue;
		}
		if (strcmp(path, "/") != 0)
			m.extra[m.n_extra++] = e;
	}
	/* What the rest of ajail guarantees about these facts: canonical directories that exist. */
	if (!is_canonical_dir(&m, cwd))
		cwd = CWD;
	m.cwd = cwd;
	if (!is_canonical_dir(&m, rootfs_path) || strcmp(rootfs_path, "/") == 0) /* store_resolve refuses / */
		rootfs_path = ROOTFS;
	if (!toplevel || !path_is_under(cwd, toplevel) || !is_canonical_dir(&m, toplevel))
		toplevel = cwd;

	/* The facts. */
	bool host = strchr(flags, 'H'), root = strchr(flags, 'R');
	struct rootfs rootfs = {
		.kind = host ? ROOTFS_HOST : ROOTFS_DIR,
		.name = host ? "host" : "alpine",
		.path = host ? NULL : (char *)rootfs_path,
		.implicit = strchr(flags, 'I'),
		.owner = strchr(flags, 'O') ? 0 : root ? 0 : 1000,
		.dev = 7,
		.ino = fake_ino(rootfs_path),
	};
	if (strchr(flags, 'O') && root)
		rootfs.owner = 1000;
	char **env = NULL;
	if (ajail_home)
		strv_push(&env, xasprintf("AJAIL_HOME=%s", ajail_home));
	for (size_t i = 0; env_in[i]; i++)
		strv_push(&env, xstrdup(env_in[i]));
	for (size_t i = 0; base_env[i]; i++)
		strv_push(&env, xstrdup(base_env[i]));
	/* main.c: the store is where the environment says, whether or not it exists. */
	char *store = strchr(flags, 'S') ? NULL : config_store_dir(env);
	int abi = 5;
	for (const char *c = flags; *c; c++)
		if (*c >= '0' && *c <= '9')
			abi = *c - '0';
	char **deleted = NULL;
	for (size_t i = 0; deleted_in[i]; i++) {
		/* What workspace.c reads back is git's own list of paths: relative, no ".", ".." or empty
		 * component (git refuses such names in an index). */
		const char *d = deleted_in[i];
		bool ok = d[0] != '/';
		for (const char *c = d; ok && *c;) {
			const char *e = strchrnul(c, '/');
			size_t n = (size_t)(e - c);
			ok = n > 0 && !(n == 1 && c[0] == '.') && !(n == 2 && c[0] == '.' && c[1] == '.');
			c = *e ? e + 1 : e;
			if (*e && !*c)
				ok = false;
		}
		if (ok)
			strv_push(&deleted, xstrdup(d));
	}
	struct clone_facts clone = {
		.toplevel = toplevel,
		.commondir = commondir,
		.lower = STORE "/clone/1/lower",
		.upper = STORE "/clone/1/upper",
		.work = STORE "/clone/1/work",
		.gitdir = STORE "/clone/1/git",
		.branch = "ajail/1",
		.id = "1",
		.push = strchr(flags, 'P'),
		.deleted = deleted,
	};
	struct facts f = {
		.cwd = strchr(flags, 'N') ? NULL : strchr(flags, '/') ? "/" : cwd,
		.cwd_errno = strchr(flags, 'N') ? EACCES : 0,
		.uid = root ? 0 : 1000,
		.gid = root ? 0 : 1000,
		.legacy_tiocsti = strchr(flags, 'L') ? 1 : strchr(flags, 'l') ? -1 : 0,
		.environ = env,
		.rootfs = &rootfs,
		.cwd_in_git = strchr(flags, 'G'),
		.git_commondir = strchr(flags, 'W') ? commondir : NULL,
		.git_worktree_dir = strchr(flags, 'W') ? wtdir : NULL,
		.git_warning = strchr(flags, 'w') ? "a .git file git's back-links do not confirm" : NULL,
		.store_dir = store,
		.tty_fds = strchr(flags, 'T') ? 7 : strchr(flags, 't') ? 6 : 0,
		.landlock_abi = abi,
		.cgroup_parent = strchr(flags, 'c') ? "/sys/fs/cgroup/user.slice/user-1000.slice/ajail" : NULL,
		.cgroup_v1 = strchr(flags, 'v'),
		.cgroup_error = strchr(flags, 'E') ? "no cgroup v2 pids controller is delegated" : NULL,
		.probe = fake_probe,
		.probe_ctx = &m,
	};
	if (f.cwd && strcmp(f.cwd, "/") == 0)
		m.cwd = "/";

	/* argv: "ajail" and the words. */
	size_t argc = 1;
	char *argv[66] = { "ajail" };
	for (size_t i = 0; words[i]; i++)
		argv[argc++] = (char *)words[i];
	argv[argc] = NULL;

	struct opts o;
	struct aj_err err = { 0 };
	opts_init(&o);
	int r = cli_parse((int)argc, argv, ajail_args[0] ? ajail_args : NULL, &o, &err);
	if (r < 0) {
		fuzz_check(err.msg[0] && err.kind == AJ_ERR_USAGE, "cli_parse failed without a usage error: '%s'", err.msg);
	} else if (o.verb == VERB_RUN) {
		fuzz_check(!o.fs || o.fs[0], "--fs with an empty name");
		if (o.fs)
			(void)config_validate_name(o.fs, &err);
		memset(&err, 0, sizeof err);
		/* main.c: a workspace is made for --clone (not for --dry-run), and then no worktree is. */
		if (o.clone && f.cwd && !o.dry_run) {
			f.clone = &clone;
			f.git_commondir = NULL;
		}
		struct plan p;
		r = plan_build(&o, &f, &p, &err);
		if (r < 0) {
			fuzz_check(err.msg[0], "plan_build failed without a message");
			fuzz_check(p.n_steps == 0 && !p.steps && !p.argv, "a failed plan_build left a plan behind");
		} else {
			check_plan(&p, &o);
			char *text = NULL;
			size_t len = 0;
			FILE *out = open_memstream(&text, &len);
			plan_print(&p, out);
			plan_print_status(&p, out);
			fclose(out);
			fuzz_check(len > 0, "plan_print printed nothing");
			free(text);
		}
		plan_release(&p);
	}
	opts_release(&o);

	free(store);
	strv_free(deleted);
	strv_free(env);
	for (size_t i = 0; i < n_owned; i++)
		free(owned[i]);
	free(words);
	free(mach);
	free(env_in);
	free(deleted_in);
	fuzz_fields_release(&in);
	return 0;
}
