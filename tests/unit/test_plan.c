/* Unit tests for plan.c. plan_build sees the machine only through facts->probe, so every test runs
 * against a fake probe: a small table of paths, their types, canonical paths and link targets. No
 * filesystem access, no privileges. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"
#include "config.h"
#include "plan.h"
#include "profile.h"
#include "util.h"

/* ---- the fake machine -------------------------------------------------------------------------- */

#define ROOTFS "/home/u/.ajail/fs/alpine"
#define CWD "/work/x"
#define ODD "/data/a,b:c\\d e"

struct fake_entry {
	const char *path;
	enum fact_type ltype; /* what lstat says */
	const char *link;     /* FT_SYMLINK: the target readlink gives */
	const char *real;     /* what realpath gives; NULL: the path itself */
	enum fact_type rtype; /* type of the real path (stat); FT_MISSING: same as ltype */
	int err;              /* non-zero: the probe fails with this errno */
};

#define DIR_(p) { p, FT_DIR, NULL, NULL, FT_MISSING, 0 }
#define FILE_(p) { p, FT_FILE, NULL, NULL, FT_MISSING, 0 }
#define OTHER_(p) { p, FT_OTHER, NULL, NULL, FT_MISSING, 0 }
#define LINK_(p, target, realpath, type) { p, FT_SYMLINK, target, realpath, type, 0 }
#define ERR_(p, e) { p, FT_MISSING, NULL, NULL, FT_MISSING, e }
#define MISSING_(p) { p, FT_MISSING, NULL, NULL, FT_MISSING, 0 }

static const struct fake_entry machine[] = {
	/* the host, merged-usr, no /lib32 /libx32 /opt */
	DIR_("/usr"),
	LINK_("/bin", "usr/bin", "/usr/bin", FT_DIR),
	LINK_("/sbin", "usr/sbin", "/usr/sbin", FT_DIR),
	LINK_("/lib", "usr/lib", "/usr/lib", FT_DIR),
	LINK_("/lib64", "usr/lib64", "/usr/lib64", FT_DIR),
	DIR_("/etc"),
	FILE_("/etc/shadow"),
	FILE_("/etc/gshadow"),
	LINK_("/etc/resolv.conf", "../run/systemd/resolve/stub-resolv.conf", "/run/systemd/resolve/stub-resolv.conf",
	      FT_FILE),
	DIR_("/"),
	/* the working directory and things in it */
	DIR_(CWD),
	DIR_(CWD "/build"),
	DIR_(CWD "/sub"),
	DIR_(CWD "/.git"),
	DIR_(CWD "/.git/hooks"),
	FILE_(CWD "/.git/config"),
	DIR_(CWD "/.git/objects"),
	DIR_(CWD "/.git/refs"),
	DIR_(CWD "/.git/logs"),
	DIR_(CWD "/.git/info"),
	LINK_(CWD "/inlink", "sub", CWD "/sub", FT_DIR),
	LINK_(CWD "/uplink", "../x/sub", CWD "/sub", FT_DIR),
	LINK_(CWD "/sub/deep", "../build", CWD "/build", FT_DIR),
	LINK_(CWD "/loop", "loop", NULL, FT_MISSING),
	/* a repository with a linked worktree at CWD */
	DIR_("/repo/.git"),
	DIR_("/repo/.git/objects"),
	DIR_("/repo/.git/refs"),
	DIR_("/repo/.git/logs"),
	DIR_("/repo/.git/hooks"),
	FILE_("/repo/.git/config"),
	DIR_("/repo/.git/worktrees"),
	DIR_("/repo/.git/worktrees/x"),
	FILE_("/repo/.git/worktrees/x/commondir"),
	FILE_("/repo/.git/worktrees/x/gitdir"),
	FILE_(CWD "/secret.txt"),
	LINK_(CWD "/link", "/data/target", "/data/target", FT_DIR),
	DIR_("/data/target"),
	DIR_(ODD),
	DIR_(ODD "/in"),
	DIR_("/data/new\nline"),
	ERR_("/noaccess", EACCES),
	/* devices */
	OTHER_("/dev/kvm"),
	DIR_("/dev/dri"),
	LINK_("/dev/sym", "kvm", "/dev/kvm", FT_OTHER),
	OTHER_("/dev/null"),
	/* the rootfs */
	DIR_(ROOTFS),
	DIR_(ROOTFS "/etc"),
	DIR_(ROOTFS "/root"),
	FILE_(ROOTFS "/root/.present.json"),
	FILE_("/etc/ssl/certs/ca-certificates.crt"),
	LINK_(ROOTFS "/bin", "usr/bin", ROOTFS "/usr/bin", FT_DIR),
};

static const struct fake_entry *lookup(const char *path)
{
	for (size_t i = 0; i < sizeof machine / sizeof machine[0]; i++)
		if (strcmp(machine[i].path, path) == 0)
			return &machine[i];
	return NULL;
}

struct probe_log {
	size_t calls;
	size_t resolv_calls;
	const struct fake_entry *over; /* consulted before the machine table */
	size_t n_over;
};

/* A stable, distinct inode number per path: what the plan records as the identity of a source. */
static uint64_t fake_ino(const char *path)
{
	uint64_t h = 1469598103934665603ULL;
	for (const char *p = path; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h | 1;
}

static int fake_probe(const char *path, bool follow, struct probe_res *res, void *ctx)
{
	struct probe_log *log = ctx;
	log->calls++;
	if (strcmp(path, "/etc/resolv.conf") == 0)
		log->resolv_calls++;
	/* plan_build only ever asks about absolute host paths */
	assert_true(path[0] == '/');
	res->path = NULL;
	res->type = FT_MISSING;
	/* realpath collapses "..", "." and "//"; the table holds canonical paths */
	cleanup_free char *norm = follow ? path_normalize(path, NULL) : xstrdup(path);
	const struct fake_entry *e = NULL;
	for (size_t i = 0; i < log->n_over && !e; i++)
		if (strcmp(log->over[i].path, norm) == 0)
			e = &log->over[i];
	if (!e)
		e = lookup(norm);
	if (!e)
		return 0;
	if (e->err) {
		errno = e->err;
		return -1;
	}
	res->dev = 7;
	if (!follow) {
		res->type = e->ltype;
		res->path = xstrdup(e->ltype == FT_SYMLINK ? e->link : e->path);
		res->ino = fake_ino(e->path);
		return 0;
	}
	res->type = e->rtype != FT_MISSING ? e->rtype : e->ltype;
	res->path = xstrdup(e->real ? e->real : e->path);
	res->ino = fake_ino(res->path);
	return 0;
}

/* ---- fixture ----------------------------------------------------------------------------------- */

static char *host_env[] = { "HOME=/home/u", "TERM=xterm", "SSH_AUTH_SOCK=/run/ssh", "AJAIL_ENV_FOO=bar", NULL };

struct ctx {
	struct opts o;
	struct plan p;
	struct aj_err err;
	struct facts f;
	struct rootfs rootfs;
	struct probe_log log;
};

static int setup_common(void **state, enum rootfs_kind kind)
{
	struct ctx *c = calloc(1, sizeof *c);
	if (!c)
		return -1;
	opts_init(&c->o);
	plan_init(&c->p);
	if (kind == ROOTFS_HOST)
		c->rootfs = (struct rootfs){ .kind = ROOTFS_HOST, .name = "host", .path = NULL, .implicit = false };
	else
		c->rootfs = (struct rootfs){ .kind = ROOTFS_DIR, .name = "alpine", .path = ROOTFS, .implicit = false, .owner = 1000 };
	c->f = (struct facts){
		.cwd = CWD,
		.cwd_errno = 0,
		.uid = 1000,
		.gid = 1001,
		.legacy_tiocsti = 0,
		.environ = host_env,
		.rootfs = &c->rootfs,
		.cwd_in_git = false,
		.probe = fake_probe,
		.probe_ctx = &c->log,
	};
	*state = c;
	return 0;
}

static int setup_store(void **state)
{
	return setup_common(state, ROOTFS_DIR);
}

static int setup_host(void **state)
{
	return setup_common(state, ROOTFS_HOST);
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	opts_release(&c->o);
	plan_release(&c->p);
	free(c);
	return 0;
}

/* Parse the NULL-terminated words as a command line (must succeed), then build the plan. */
static int build(struct ctx *c, ...)
{
	char *argv[64];
	int argc = 0;
	argv[argc++] = "ajail";
	va_list ap;
	va_start(ap, c);
	for (char *w; (w = va_arg(ap, char *)) != NULL;)
		argv[argc++] = w;
	va_end(ap);
	argv[argc] = NULL;
	opts_release(&c->o);
	plan_release(&c->p);
	memset(&c->err, 0, sizeof c->err);
	int r = cli_parse(argc, argv, NULL, &c->o, &c->err);
	if (r < 0)
		print_error("cli_parse: %s\n", c->err.msg);
	assert_int_equal(r, 0);
	return plan_build(&c->o, &c->f, &c->p, &c->err);
}

static void dump(const struct plan *p)
{
	for (size_t i = 0; i < p->n_steps; i++)
		print_error("  step %zu: %s %s <- %s [%s] flags=%u persist=%d\n", i, plan_kind_name(p->steps[i].kind),
			    p->steps[i].dst, p->steps[i].src ? p->steps[i].src : "-", p->steps[i].origin, p->steps[i].flags,
			    p->steps[i].persist_layer);
}

static void ok(struct ctx *c, int r)
{
	if (r != 0)
		print_error("plan_build: %s\n", c->err.msg);
	assert_int_equal(r, 0);
}

static void expect_error(struct ctx *c, int r, enum aj_err_kind kind, ...)
{
	if (r == 0)
		dump(&c->p);
	assert_int_equal(r, -1);
	assert_int_equal(c->err.kind, kind);
	va_list ap;
	va_start(ap, kind);
	for (const char *n; (n = va_arg(ap, const char *)) != NULL;) {
		if (!strstr(c->err.msg, n))
			print_error("message \"%s\" lacks \"%s\"\n", c->err.msg, n);
		assert_non_null(strstr(c->err.msg, n));
	}
	va_end(ap);
	/* a failed build leaves nothing behind */
	assert_int_equal(c->p.n_steps, 0);
	assert_null(c->p.steps);
	assert_null(c->p.argv);
	assert_null(c->p.env);
}

/* Index of the first step with this dst and origin (origin NULL: any), or -1. */
static int find(const struct plan *p, const char *dst, const char *origin)
{
	for (size_t i = 0; i < p->n_steps; i++)
		if (strcmp(p->steps[i].dst, dst) == 0 && (!origin || strcmp(p->steps[i].origin, origin) == 0))
			return (int)i;
	return -1;
}

static void check_step(const struct plan *p, int i, enum mount_kind kind, const char *src, const char *dst,
		       unsigned flags, const char *origin)
{
	if (i < 0 || (size_t)i >= p->n_steps) {
		print_error("no step for %s (%s)\n", dst, origin);
		dump(p);
	}
	assert_true(i >= 0 && (size_t)i < p->n_steps);
	const struct mount_step *s = &p->steps[i];
	if (s->kind != kind || strcmp(s->dst, dst) != 0)
		dump(p);
	assert_string_equal(plan_kind_name(s->kind), plan_kind_name(kind));
	assert_int_equal(s->kind, kind);
	assert_string_equal(s->dst, dst);
	if (src)
		assert_string_equal(s->src, src);
	else
		assert_null(s->src);
	assert_int_equal(s->flags, flags);
	assert_string_equal(s->origin, origin);
}

/* Index of the cwd step; it must exist. */
static int cwd_step(const struct plan *p)
{
	int i = find(p, CWD, "cwd");
	assert_true(i >= 0);
	return i;
}

/* ---- host rootfs ------------------------------------------------------------------------------- */

static void test_host_root(void **state)
{
	struct ctx *c = *state;
	ok(c, build(c, NULL));
	struct plan *p = &c->p;
	assert_int_equal(p->rootfs.kind, ROOTFS_HOST);
	assert_string_equal(p->rootfs.name, "host");
	assert_null(p->rootfs.path);
	assert_false(p->root_persistent);
	check_step(p, 0, MK_ROOT_TMPFS, NULL, "/", MF_SYSTEM, "rootfs");
	assert_int_equal(p->steps[0].mode, 0755);
	/* the host's directories in a fixed order; links stay links; /lib32 /libx32 /opt are missing */
	check_step(p, 1, MK_BIND_RO, "/usr", "/usr", 0, "host");
	check_step(p, 2, MK_SYMLINK, "usr/bin", "/bin", 0, "host");
	check_step(p, 3, MK_SYMLINK, "usr/sbin", "/sbin", 0, "host");
	check_step(p, 4, MK_SYMLINK, "usr/lib", "/lib", 0, "host");
	check_step(p, 5, MK_SYMLINK, "usr/lib64", "/lib64", 0, "host");
	check_step(p, 6, MK_BIND_RO, "/etc", "/etc", 0, "host");
	/* the host's password hashes are hidden (the backups /etc/shadow- /etc/gshadow- are missing here) */
	check_step(p, 7, MK_HIDE_FILE, NULL, "/etc/shadow", MF_FILE | MF_SYSTEM, "host");
	check_step(p, 8, MK_HIDE_FILE, NULL, "/etc/gshadow", MF_FILE | MF_SYSTEM, "host");
	check_step(p, 9, MK_DIR, NULL, "/root", MF_SYSTEM, "home");
	assert_int_equal(p->steps[9].mode, 0700);
	check_step(p, 10, MK_DIR, NULL, "/var/tmp", MF_SYSTEM, "host");
	assert_int_equal(p->steps[10].mode, 01777);
	check_step(p, 11, MK_PROC, NULL, "/proc", MF_SYSTEM, "system");
	assert_int_equal(find(p, "/etc/shadow-", NULL), -1);
	assert_int_equal(find(p, "/etc/gshadow-", NULL), -1);
	assert_int_equal(find(p, "/lib32", NULL), -1);
	assert_int_equal(find(p, "/libx32", NULL), -1);
	assert_int_equal(find(p, "/opt", NULL), -1);
	/* no host home, /run, /var, /tmp: /tmp and /run are fresh tmpfses */
	assert_int_equal(find(p, "/home", NULL), -1);
	assert_int_equal(find(p, "/var", NULL), -1);
	check_step(p, find(p, "/tmp", NULL), MK_TMPFS, NULL, "/tmp", MF_SYSTEM, "system");
	check_step(p, find(p, "/run", NULL), MK_TMPFS, NULL, "/run", MF_SYSTEM, "system");
	/* /etc comes from the host as a whole: no separate resolv.conf, not even a look at it */
	assert_int_equal(find(p, "/etc/resolv.conf", NULL), -1);
	assert_int_equal(c->log.resolv_calls, 0);
	/* asked for explicitly: no warning */
	assert_null(p->warnings);
}

static void test_host_root_implicit_warns(void **state)
{
	struct ctx *c = *state;
	c->rootfs.implicit = true;
	ok(c, build(c, NULL));
	assert_int_equal(strv_len(c->p.warnings), 1);
	assert_non_null(strstr(c->p.warnings[0], "--fs=host"));
	assert_non_null(strstr(c->p.warnings[0], "ajail fs import default"));
	assert_true(c->p.rootfs.implicit);
	assert_null(strchr(c->p.warnings[0], '\n'));
}

static void test_host_root_no_edit(void **state)
{
	struct ctx *c = *state;
	expect_error(c, build(c, "--fs-edit", NULL), AJ_ERR_USAGE, "--fs-edit", "host", NULL);
	expect_error(c, build(c, "--fs-edit=/etc", NULL), AJ_ERR_USAGE, "--fs-edit", "host", NULL);
	expect_error(c, build(c, "--home-edit", NULL), AJ_ERR_USAGE, "--home-edit", "host", NULL);
	expect_error(c, build(c, "--home-edit=.claude", NULL), AJ_ERR_USAGE, "--home-edit", NULL);
}

static void test_host_probe_error(void **state)
{
	struct ctx *c = *state;
	/* a host directory that cannot be examined fails the build (it is not silently skipped) */
	static const struct fake_entry over[] = { ERR_("/etc", EIO) };
	c->log.over = over;
	c->log.n_over = 1;
	expect_error(c, build(c, NULL), AJ_ERR_FAIL, "host rootfs", "/etc", strerror(EIO), NULL);
	assert_int_equal(c->err.errnum, EIO);
	c->log.n_over = 0;
	/* so does a mount source that cannot be examined */
	expect_error(c, build(c, "--rw=/noaccess", NULL), AJ_ERR_FAIL, "--rw=/noaccess", strerror(EACCES), NULL);
	assert_int_equal(c->err.errnum, EACCES);
}

/* ---- store rootfs ------------------------------------------------------------------------------ */

static void test_store_root_overlay(void **state)
{
	struct ctx *c = *state;
	ok(c, build(c, NULL));
	struct plan *p = &c->p;
	assert_int_equal(p->rootfs.kind, ROOTFS_DIR);
	assert_string_equal(p->rootfs.name, "alpine");
	assert_string_equal(p->rootfs.path, ROOTFS);
	assert_false(p->root_persistent);
	check_step(p, 0, MK_ROOT_OVERLAY, ROOTFS, "/", 0, "rootfs");
	check_step(p, 1, MK_PROC, NULL, "/proc", MF_SYSTEM, "system");
	/* exactly one root step */
	for (size_t i = 1; i < p->n_steps; i++)
		assert_string_not_equal(p->steps[i].dst, "/");
	/* the host's resolver configuration, followed to the real file */
	check_step(p, find(p, "/etc/resolv.conf", NULL), MK_BIND_RO, "/run/systemd/resolve/stub-resolv.conf",
		   "/etc/resolv.conf", MF_FILE | MF_REPLACE_LINK | MF_SYSTEM, "network");
	assert_null(p->warnings);
}

static void test_store_root_foreign_owner_warns(void **state)
{
	struct ctx *c = *state;
	c->rootfs.owner = 0;
	ok(c, build(c, NULL));
	assert_int_equal(strv_len(c->p.warnings), 1);
	assert_non_null(strstr(c->p.warnings[0], "'alpine'"));
	assert_non_null(strstr(c->p.warnings[0], "uid 0"));
	assert_non_null(strstr(c->p.warnings[0], "uid 1000"));
	assert_int_equal(c->p.rootfs.owner, 0);
	c->rootfs.owner = 1000;
	ok(c, build(c, NULL));
	assert_null(c->p.warnings);
}

static void test_store_root_no_net_no_resolv(void **state)
{
	struct ctx *c = *state;
	ok(c, build(c, "--no-net", NULL));
	assert_int_equal(find(&c->p, "/etc/resolv.conf", NULL), -1);
}

static void test_store_root_fs_edit(void **state)
{
	struct ctx *c = *state;
	ok(c, build(c, "--fs-edit", "apk", "add", "vim", NULL));
	struct plan *p = &c->p;
	assert_true(p->root_persistent);
	check_step(p, 0, MK_ROOT_BIND, ROOTFS, "/", 0, "--fs-edit");
	for (size_t i = 0; i < p->n_steps; i++)
		assert_int_not_equal(p->steps[i].kind, MK_ROOT_OVERLAY);
	assert_string_equal(p->argv[0], "apk");
}

static void test_store_fs_edit_dir(void **state)
{
	struct ctx *c = *state;
	ok(c, build(c, "--fs-edit=/etc", NULL));
	struct plan *p = &c->p;
	assert_false(p->root_persistent);
	check_step(p, 0, MK_ROOT_OVERLAY, ROOTFS, "/", 0, "rootfs");
	check_step(p, 1, MK_BIND_RW, ROOTFS "/etc", "/etc", 0, "--fs-edit=/etc");
	/* the rootfs /etc is bound before the system mounts, so resolv.conf goes over it */
	assert_true(find(p, "/etc/resolv.conf", NULL) > 1);
}

static void test_store_fs_edit_slash_is_whole_root(void **state)
{
	struct ctx *c = *state;
	/* not a read-write bind of the rootfs over the overlay root, which the status would call discarded */
	ok(c, build(c, "--fs-edit=/", NULL));
	assert_true(c->p.root_persistent);
	check_step(&c->p, 0, MK_ROOT_BIND, ROOTFS, "/", 0, "--fs-edit");
	assert_int_equal(find(&c->p, "/", NULL), 0);
	for (size_t i = 1; i < c->p.n_steps; i++)
		assert_string_not_equal(c->p.steps[i].dst, "/");
}

static void test_store_fs_edit_dir_errors(void **state)
{
	struct ctx *c = *state;
	/* a symlink in the rootfs is not followed out of it */
	expect_error(c, build(c, "--fs-edit=/bin", NULL), AJ_ERR_USAGE, "--fs-edit=/bin", "/bin", "alpine", NULL);
	expect_error(c, build(c, "--fs-edit=/nope", NULL), AJ_ERR_USAGE, "--fs-edit=/nope", "alpine", NULL);
}

static void test_store_fs_edit_whole_ignores_dirs(void **state)
{
	struct ctx *c = *state;
	ok(c, build(c, "--fs-edit=/etc", "--fs-edit", NULL));
	check_step(&c->p, 0, MK_ROOT_BIND, ROOTFS, "/", 0, "--fs-edit");
	assert_int_equal(find(&c->p, "/etc", NULL), -1);
}

static void test_store_home_edit(void **state)
{
	struct ctx *c = *state;
	ok(c, build(c, "--home-edit=.x", "--home-edit=.config/gh", NULL));
	struct plan *p = &c->p;
	check_step(p, 1, MK_BIND_RW, ROOTFS "/root/.x", "/root/.x", MF_CREATE_SRC, "--home-edit=.x");
	check_step(p, 2, MK_BIND_RW, ROOTFS "/root/.config/gh", "/root/.config/gh", MF_CREATE_SRC,
		   "--home-edit=.config/gh");

	ok(c, build(c, "--home-edit", NULL));
	check_step(&c->p, 1, MK_BIND_RW, ROOTFS "/root", "/root", MF_CREATE_SRC, "--home-edit");
	assert_int_equal(find(&c->p, "/root/.x", NULL), -1);
}

static void test_store_home_edit_with_fs_edit(void **state)
{
	struct ctx *c = *state;
	/* the whole rootfs is read-write already: no extra bind */
	ok(c, build(c, "--fs-edit", "--home-edit=.x", NULL));
	assert_int_equal(find(&c->p, "/root/.x", NULL), -1);
	ok(c, build(c, "--fs-edit", "--home-edit", NULL));
	assert_int_equal(find(&c->p, "/root", NULL), -1);
	for (size_t i = 0; i < c->p.n_steps; i++)
		assert_false(c->p.steps[i].flags & MF_CREATE_SRC);
}

/* ---- order: root, system, cwd, user mounts, devices -------------------------------------------- */

static void test_system_mounts(void **state)
{
	struct ctx *c = *state;
	ok(c, build(c, NULL));
	struct plan *p = &c->p;
	int i = find(p, "/proc", NULL);
	check_step(p, i++, MK_PROC, NULL, "/proc", MF_SYSTEM, "system");
	/* the host's /sys, read-only */
	check_step(p, i++, MK_BIND_RO, "/sys", "/sys", MF_SYSTEM, "system");
	/* the masks: each only where the kernel has it */
	static const char *const readonly[] = { "/proc/sys", "/proc/bus", "/proc/fs", "/proc/irq" };
	for (size_t k = 0; k < sizeof readonly / sizeof readonly[0]; k++)
		check_step(p, i++, MK_READONLY, NULL, readonly[k], MF_SYSTEM | MF_OPTIONAL, "mask");
	static const char *const hidden[] = {
		"/proc/kcore", "/proc/sysrq-trigger", "/proc/kallsyms", "/proc/keys", "/proc/timer_list",
		"/proc/sched_debug", "/proc/latency_stats", "/proc/kpagecount", "/proc/kpageflags", "/proc/kpagecgroup",
	};
	for (size_t k = 0; k < sizeof hidden / sizeof hidden[0]; k++)
		check_step(p, i++, MK_HIDE_FILE, NULL, hidden[k], MF_FILE | MF_SYSTEM | MF_OPTIONAL, "mask");
	static const char *const masked[] = {
		"/proc/acpi", "/proc/scsi", "/proc/asound", "/sys/firmware", "/sys/kernel/security", "/sys/kernel/debug",
		"/sys/kernel/tracing", "/sys/fs/fuse", "/sys/fs/bpf", "/sys/fs/pstore", "/sys/devices/virtual/powercap",
	};
	for (size_t k = 0; k < sizeof masked / sizeof masked[0]; k++)
		check_step(p, i++, MK_MASK_DIR, NULL, masked[k], MF_SYSTEM | MF_OPTIONAL, "mask");
	check_step(p, i, MK_TMPFS, NULL, "/dev", MF_SYSTEM, "system");
	assert_int_equal(p->steps[i++].mode, 0755);
	static const char *const devs[] = { "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty" };
	for (size_t k = 0; k < 6; k++)
		check_step(p, i++, MK_BIND_DEV, devs[k], devs[k], MF_FILE | MF_SYSTEM, "system");
	check_step(p, i++, MK_DIR, NULL, "/dev/pts", MF_SYSTEM, "system");
	check_step(p, i++, MK_DEVPTS, NULL, "/dev/pts", MF_SYSTEM, "system");
	check_step(p, i++, MK_SYMLINK, "pts/ptmx", "/dev/ptmx", MF_SYSTEM, "system");
	check_step(p, i, MK_TMPFS, NULL, "/dev/shm", MF_SYSTEM, "system");
	assert_int_equal(p->steps[i++].mode, 01777);
	check_step(p, i++, MK_SYMLINK, "/proc/self/fd", "/dev/fd", MF_SYSTEM, "system");
	check_step(p, i++, MK_SYMLINK, "/proc/self/fd/0", "/dev/stdin", MF_SYSTEM, "system");
	check_step(p, i++, MK_SYMLINK, "/proc/self/fd/1", "/dev/stdout", MF_SYSTEM, "system");
	check_step(p, i++, MK_SYMLINK, "/proc/self/fd/2", "/dev/stderr", MF_SYSTEM, "system");
	check_step(p, i, MK_TMPFS, NULL, "/tmp", MF_SYSTEM, "system");
	assert_int_equal(p->steps[i++].mode, 01777);
	check_step(p, i, MK_TMPFS, NULL, "/run", MF_SYSTEM, "system");
	assert_int_equal(p->steps[i++].mode, 0755);
	check_step(p, i++, MK_BIND_RO, "/run/systemd/resolve/stub-resolv.conf", "/etc/resolv.conf",
		   MF_FILE | MF_REPLACE_LINK | MF_SYSTEM, "network");
	check_step(p, i++, MK_BIND_RW, CWD, CWD, 0, "cwd");
	assert_int_equal((size_t)i, p->n_steps);
}

static void test_order_system_cwd_user(void **state)
{
	struct ctx *c = *state;
	ok(c, build(c, "--hide=secret.txt", "--rol=.git", "--mount=/data/target,/opt/t,ro", "--rw=build", "--dev=kvm",
		    NULL));
	struct plan *p = &c->p;
	int proc = find(p, "/proc", NULL), dev = find(p, "/dev", NULL), tmp = find(p, "/tmp", NULL),
	    run = find(p, "/run", NULL), cwd = cwd_step(p);
	assert_true(proc > 0 && dev > proc && tmp > dev && run > tmp);
	assert_true(cwd > run);
	/* the user's mounts follow the cwd, in command-line order, then the devices */
	check_step(p, cwd + 1, MK_HIDE_FILE, CWD "/secret.txt", CWD "/secret.txt", MF_FILE, "--hide=secret.txt");
	check_step(p, cwd + 2, MK_BIND_RO, CWD "/.git", CWD "/.git", 0, "--rol=.git");
	check_step(p, cwd + 3, MK_OVERLAY, "/data/target", "/opt/t", 0, "--mount=/data/target,/opt/t,ro");
	check_step(p, cwd + 4, MK_BIND_RW, CWD "/build", CWD "/build", 0, "--rw=build");
	check_step(p, cwd + 5, MK_BIND_DEV, "/dev/kvm", "/dev/kvm", MF_FILE, "--dev=kvm");
	assert_int_equal(p->n_steps, (size_t)cwd + 6);
}

static void test_ro_then_rw(void **state)
{
	struct ctx *c = *state;
	ok(c, build(c, "--ro", "--rw=build", NULL));
	struct plan *p = &c->p;
	int cwd = cwd_step(p);
	check_step(p, cwd + 1, MK_OVERLAY, CWD, CWD, 0, "--ro");
	check_step(p, cwd + 2, MK_BIND_RW, CWD "/build", CWD "/build", 0, "--rw=build");
	assert_int_equal(p->n_steps, (size_t)cwd + 3);
	/* the other order gives the other layering */
	ok(c, build(c, "--rw=build", "--ro", NULL));
	cwd = cwd_step(&c->p);
	check_step(&c->p, cwd + 1, MK_BIND_RW, CWD "/build", CWD "/build", 0, "--rw=build");
	check_step(&c->p, cwd + 2, MK_OVERLAY, CWD, CWD, 0, "--ro");
}

static void test_modes_dir_and_file(void **state)
{
	struct ctx *c = *state;
	ok(c, build(c, "--hide=sub", "--hide=secret.txt", "--ro=secret.txt", "--rol=secret.txt", "--rol=sub", "--rw=secret.txt",
		    NULL));
	struct plan *p = &c->p;
	int cwd = cwd_step(p);
	check_step(p, cwd + 1, MK_TMPFS, CWD "/sub", CWD "/sub", 0, "--hide=sub");
	assert_int_equal(p->steps[cwd + 1].mode, 0755);
	check_step(p, cwd + 2, MK_HIDE_FILE, CWD "/secret.txt", CWD "/secret.txt", MF_FILE, "--hide=secret.txt");
	/* an overlay needs a directory: --ro on a file is a read-only bind */
	check_step(p, cwd + 3, MK_BIND_RO, CWD "/secret.txt", CWD "/secret.txt", MF_FILE, "--ro=secret.txt");
	check_step(p, cwd + 4, MK_BIND_RO, CWD "/secret.txt", CWD "/secret.txt", MF_FILE, "--rol=secret.txt");
	check_step(p, cwd + 5, MK_BIND_RO, CWD "/sub", CWD "/sub", 0, "--rol=sub");
	check_step(p, cwd + 6, MK_BIND_RW, CWD "/secret.txt", CWD "/secret.txt", MF_FILE, "--rw=secret.txt");
}

static void test_source_is_canonicalised(void **state)
{
	struct ctx *c = *state;
	/* a symlinked source is mounted at its real path, and "." ".." are resolved; a symlink inside
	 * the working directory is followed while it stays inside; an absolute path outside it is taken
	 * as typed */
	ok(c, build(c, "--rw=inlink", "--rol=./sub/../build", "--ro=/data//target/", "--rw=uplink", "--rol=sub/deep", NULL));
	struct plan *p = &c->p;
	int cwd = cwd_step(p);
	check_step(p, cwd + 1, MK_BIND_RW, CWD "/sub", CWD "/sub", 0, "--rw=inlink");
	check_step(p, cwd + 2, MK_BIND_RO, CWD "/build", CWD "/build", 0, "--rol=./sub/../build");
	check_step(p, cwd + 3, MK_OVERLAY, "/data/target", "/data/target", 0, "--ro=/data//target/");
	check_step(p, cwd + 4, MK_BIND_RW, CWD "/sub", CWD "/sub", 0, "--rw=uplink");
	check_step(p, cwd + 5, MK_BIND_RO, CWD "/build", CWD "/build", 0, "--rol=sub/deep");
	/* each records the identity of what it found, for the jail's mount to check again */
	assert_int_equal(p->steps[cwd].src_ino, fake_ino(CWD));
	assert_int_equal(p->steps[cwd + 1].src_ino, fake_ino(CWD "/sub"));
	assert_int_equal(p->steps[cwd + 3].src_ino, fake_ino("/data/target"));
	assert_int_equal(p->steps[cwd + 5].src_ino, fake_ino(CWD "/build"));
	assert_int_equal(p->steps[0].src_ino, 0); /* the rootfs of this fixture has none */
}

/* A symlink in the working directory that leads out of it is never followed: a jail can plant one
 * (build -> ~/.ssh) for the next run's --rw=build. The message names where it leads. */
static void test_source_symlink_out_of_cwd(void **state)
{
	struct ctx *c = *state;
	const char *bad[][2] = { { "--rw=link", "link" }, { "--ro=link", "link" }, { "--rol=link/x", "link" },
				 { "--hide=link", "link" }, { "--mount=link,/x", "link" }, { "--rw=" CWD "/link", "link" } };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_error(c, build(c, bad[i][0], NULL), AJ_ERR_USAGE, bad[i][0],
			     CWD "/link is a symlink to /data/target, outside the working directory", NULL);
	expect_error(c, build(c, "--rw=loop", NULL), AJ_ERR_USAGE, "too many levels", NULL);
	/* named by its real path, it is the user's choice */
	ok(c, build(c, "--rw=/data/target", NULL));
}

static void test_mount_destinations(void **state)
{
	struct ctx *c = *state;
	ok(c, build(c, "--mount=build,out,rw", "--mount=/data/target,//opt///t/,rol", "--mount=/dev/kvm,/dev/kvm,dev",
		    "--mount=secret.txt,/etc/secret,hide", NULL));
	struct plan *p = &c->p;
	int cwd = cwd_step(p);
	/* a relative destination is relative to the working directory */
	check_step(p, cwd + 1, MK_BIND_RW, CWD "/build", CWD "/out", 0, "--mount=build,out,rw");
	check_step(p, cwd + 2, MK_BIND_RO, "/data/target", "/opt/t", 0, "--mount=/data/target,//opt///t/,rol");
	/* ,dev accepts a device node */
	check_step(p, cwd + 3, MK_BIND_DEV, "/dev/kvm", "/dev/kvm", MF_FILE, "--mount=/dev/kvm,/dev/kvm,dev");
	check_step(p, cwd + 4, MK_HIDE_FILE, CWD "/secret.txt", "/etc/secret", MF_FILE, "--mount=secret.txt,/etc/secret,hide");
}

/* The original ajail's meaning: --mount without a mode is an overlay whose changes are discarded. */
static void test_mount_default_overlay(void **state)
{
	struct ctx *c = *state;
	ok(c, build(c, "--mount=/data/target,/data", NULL));
	int cwd = cwd_step(&c->p);
	check_step(&c->p, cwd + 1, MK_OVERLAY, "/data/target", "/data", 0, "--mount=/data/target,/data");
}

static void test_mount_errors(void **state)
{
	struct ctx *c = *state;
	/* the jail's own /proc, /sys and /dev (a device goes through --dev or ,dev) */
	expect_error(c, build(c, "--mount=/data/target,/proc", NULL), AJ_ERR_USAGE, "/proc is the jail's own /proc",
		     "/mnt/target", NULL);
	expect_error(c, build(c, "--mount=/data/target,/proc/1,rw", NULL), AJ_ERR_USAGE, "is in the jail's own /proc", NULL);
	expect_error(c, build(c, "--mount=/data/target,/sys//fs", NULL), AJ_ERR_USAGE, "/sys/fs is in the jail's own /sys",
		     NULL);
	expect_error(c, build(c, "--mount=/data/target,/dev", NULL), AJ_ERR_USAGE, "--dev=NAME", NULL);
	expect_error(c, build(c, "--mount=/data/target,/dev/shm,rol", NULL), AJ_ERR_USAGE, "/dev/shm", NULL);
	ok(c, build(c, "--mount=/data/target,/devices", "--mount=/data/target,/procfs", NULL));
	/* a device node beneath /dev with ,dev is what that mode is for */
	ok(c, build(c, "--mount=/dev/kvm,/dev/k,dev", NULL));
	/* nor an --fs-edit of them: the jail's own cover them, so nothing would be kept */
	expect_error(c, build(c, "--fs-edit=proc", NULL), AJ_ERR_USAGE, "--fs-edit=/proc", "its own", NULL);
	expect_error(c, build(c, "--fs-edit=/dev/shm", NULL), AJ_ERR_USAGE, "/dev", NULL);
	expect_error(c, build(c, "--mount=/data/target,/opt/../etc", NULL), AJ_ERR_USAGE, "--mount=/data/target,/opt/../etc",
		     "'..'", NULL);
	expect_error(c, build(c, "--mount=build,../escape", NULL), AJ_ERR_USAGE, "'..'", NULL);
	expect_error(c, build(c, "--mount=/data/target,/", NULL), AJ_ERR_USAGE, "root", NULL);
	expect_error(c, build(c, "--mount=/data/target,/.", NULL), AJ_ERR_USAGE, "root", NULL);
	/* a missing source names the path it looked for */
	expect_error(c, build(c, "--rw=nope", NULL), AJ_ERR_USAGE, "--rw=nope", CWD "/nope", "does not exist", NULL);
	expect_error(c, build(c, "--mount=/missing/dir,/x", NULL), AJ_ERR_USAGE, "/missing/dir", NULL);
	expect_error(c, build(c, "--hide=gone", NULL), AJ_ERR_USAGE, CWD "/gone", NULL);
	/* devices only with ,dev */
	expect_error(c, build(c, "--rw=/dev/kvm", NULL), AJ_ERR_USAGE, "/dev/kvm", "neither", NULL);
	expect_error(c, build(c, "--mount=/dev/kvm,/k,ro", NULL), AJ_ERR_USAGE, "neither", NULL);
}

static void test_devices(void **state)
{
	struct ctx *c = *state;
	ok(c, build(c, "--dev=dri", "--dev=/dev/kvm", NULL));
	struct plan *p = &c->p;
	size_t n = p->n_steps;
	check_step(p, (int)n - 2, MK_BIND_DEV, "/dev/dri", "/dev/dri", 0, "--dev=dri");
	check_step(p, (int)n - 1, MK_BIND_DEV, "/dev/kvm", "/dev/kvm", MF_FILE, "--dev=kvm");
	expect_error(c, build(c, "--dev=nope", NULL), AJ_ERR_USAGE, "--dev=nope", "/dev/nope", NULL);
	/* a symlink under /dev could point anywhere on the host */
	expect_error(c, build(c, "--dev=sym", NULL), AJ_ERR_USAGE, "/dev/sym", NULL);
}

/* ---- the working directory --------------------------------------------------------------------- */

static void test_cwd_root_not_mounted(void **state)
{
	struct ctx *c = *state;
	c->f.cwd = "/";
	ok(c, build(c, NULL));
	struct plan *p = &c->p;
	for (size_t i = 0; i < p->n_steps; i++)
		assert_string_not_equal(p->steps[i].origin, "cwd");
	/* the only step at "/" is the root itself */
	assert_int_equal(find(p, "/", NULL), 0);
	assert_int_equal(find(p, "/", "cwd"), -1);
	assert_string_equal(p->cwd, "/");
	/* and explicit mounts resolve against "/" */
	ok(c, build(c, "--rw=data/target", NULL));
	check_step(&c->p, (int)c->p.n_steps - 1, MK_BIND_RW, "/data/target", "/data/target", 0, "--rw=data/target");
	/* "--rw" alone would mount the whole host: refused */
	expect_error(c, build(c, "--rw", NULL), AJ_ERR_USAGE, "root", NULL);
}

static void test_cwd_unreadable(void **state)
{
	struct ctx *c = *state;
	c->f.cwd = NULL;
	c->f.cwd_errno = EACCES;
	expect_error(c, build(c, NULL), AJ_ERR_FAIL, "working directory", strerror(EACCES), NULL);
	assert_int_equal(aj_err_exit_code(&c->err), 1);
	/* no errno recorded (getcwd gave a relative "(unreachable)" path): still an explanation */
	c->f.cwd_errno = 0;
	expect_error(c, build(c, NULL), AJ_ERR_FAIL, "working directory", strerror(ENOENT), NULL);
}

static void test_cwd_odd_characters(void **state)
{
	struct ctx *c = *state;
	c->f.cwd = ODD;
	ok(c, build(c, "--ro", "--rw=in", NULL));
	struct plan *p = &c->p;
	int cwd = find(p, ODD, "cwd");
	check_step(p, cwd, MK_BIND_RW, ODD, ODD, 0, "cwd");
	check_step(p, cwd + 1, MK_OVERLAY, ODD, ODD, 0, "--ro");
	check_step(p, cwd + 2, MK_BIND_RW, ODD "/in", ODD "/in", 0, "--rw=in");
	assert_string_equal(p->cwd, ODD);
}

/* ---- persist_layer ----------------------------------------------------------------------------- */

static void test_persist_layer_fs_edit(void **state)
{
	struct ctx *c = *state;
	ok(c, build(c, "--fs-edit", NULL));
	struct plan *p = &c->p;
	assert_int_equal(p->steps[0].persist_layer, -1);
	/* mount points missing from the rootfs would be created in it: the root bind, step 0 */
	assert_int_equal(p->steps[cwd_step(p)].persist_layer, 0);
	assert_int_equal(p->steps[find(p, "/proc", NULL)].persist_layer, 0);
	assert_int_equal(p->steps[find(p, "/etc/resolv.conf", NULL)].persist_layer, 0);
	/* inside the fresh /dev tmpfs: nothing persists */
	assert_int_equal(p->steps[find(p, "/dev/null", NULL)].persist_layer, -1);
	assert_int_equal(p->steps[find(p, "/dev/pts", NULL)].persist_layer, -1);
}

static void test_persist_layer_overlay(void **state)
{
	struct ctx *c = *state;
	ok(c, build(c, NULL));
	struct plan *p = &c->p;
	for (size_t i = 0; i < p->n_steps; i++) {
		if (p->steps[i].persist_layer != -1)
			dump(p);
		assert_int_equal(p->steps[i].persist_layer, -1);
	}
}

static void test_persist_layer_under_cwd(void **state)
{
	struct ctx *c = *state;
	ok(c, build(c, "--hide=sub", "--rw=build", "--mount=/data/target,/work/x/new/t,rol", NULL));
	struct plan *p = &c->p;
	int cwd = cwd_step(p);
	assert_int_equal(p->steps[cwd].persist_layer, -1);
	/* their mount points lie in the user's directory, bound read-write */
	assert_int_equal(p->steps[cwd + 1].persist_layer, cwd);
	assert_int_equal(p->steps[cwd + 2].persist_layer, cwd);
	assert_int_equal(p->steps[cwd + 3].persist_layer, cwd);
}

static void test_persist_layer_nearest_wins(void **state)
{
	struct ctx *c = *state;
	/* under an overlay of the cwd, the mount point is made in the overlay: nothing persists */
	ok(c, build(c, "--ro", "--hide=sub", NULL));
	int cwd = cwd_step(&c->p);
	assert_int_equal(c->p.steps[cwd + 1].persist_layer, -1); /* same place as the cwd bind */
	assert_int_equal(c->p.steps[cwd + 2].persist_layer, -1);

	/* under a read-write bind of build, build is the layer, not the cwd */
	ok(c, build(c, "--rw=build", "--mount=/data/target,build/t,rol", NULL));
	cwd = cwd_step(&c->p);
	assert_int_equal(c->p.steps[cwd + 1].persist_layer, cwd);
	assert_int_equal(c->p.steps[cwd + 2].persist_layer, cwd + 1);

	/* --fs-edit=/etc: mount points under /etc are made in the rootfs's /etc */
	ok(c, build(c, "--fs-edit=/etc", "--mount=/data/target,/etc/t", NULL));
	int etc = find(&c->p, "/etc", "--fs-edit=/etc");
	assert_int_equal(etc, 1);
	assert_int_equal(c->p.steps[find(&c->p, "/etc/t", NULL)].persist_layer, etc);
	assert_int_equal(c->p.steps[find(&c->p, "/etc/resolv.conf", NULL)].persist_layer, etc);

	/* a file bind is never a layer */
	ok(c, build(c, "--rw=secret.txt", "--mount=/data/target,secret.txt/x,rol", NULL));
	cwd = cwd_step(&c->p);
	assert_int_equal(c->p.steps[cwd + 2].persist_layer, cwd);
}

static void test_persist_layer_home_edit(void **state)
{
	struct ctx *c = *state;
	ok(c, build(c, "--home-edit", "--mount=/data/target,/root/t,rol", NULL));
	assert_int_equal(c->p.steps[1].persist_layer, -1); /* /root on the overlay root */
	assert_int_equal(c->p.steps[find(&c->p, "/root/t", NULL)].persist_layer, 1);
}

/* ---- namespaces, session, argv, env, the rest -------------------------------------------------- */

static void test_namespaces(void **state)
{
	struct ctx *c = *state;
	ok(c, build(c, NULL));
	int want = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;
	assert_int_equal(c->p.clone_flags, want);
	assert_false(c->p.no_net);
	ok(c, build(c, "--no-net", NULL));
	assert_int_equal(c->p.clone_flags, want | CLONE_NEWNET);
	assert_true(c->p.no_net);
}

static const char *env_get(const struct plan *p, const char *key)
{
	size_t kl = strlen(key);
	for (size_t i = 0; p->env && p->env[i]; i++)
		if (strncmp(p->env[i], key, kl) == 0 && p->env[i][kl] == '=')
			return p->env[i] + kl + 1;
	return NULL;
}

static bool has_port(const uint16_t *v, size_t n, uint16_t port)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == port)
			return true;
	return false;
}

static void test_net_allow(void **state)
{
	struct ctx *c = *state;
	c->f.landlock_abi = 7;
	ok(c, build(c, "--allow-net=api.example.com,localhost:5432", "--publish=8080:3000", NULL));
	const struct plan_net *n = &c->p.net;
	assert_int_equal(n->mode, NET_ALLOW);
	assert_true(c->p.no_net);
	assert_true(c->p.clone_flags & CLONE_NEWNET);
	assert_int_equal(n->policy.n, 2);
	assert_int_equal(n->http_port, 3128);
	assert_int_equal(n->socks_port, 1080);
	assert_int_equal(n->n_forward, 1);
	assert_int_equal(n->forward[0], 5432);
	assert_int_equal(n->n_publish, 1);
	/* Clients that honour proxy variables find the proxy; the jail's own loopback is direct. */
	assert_string_equal(env_get(&c->p, "HTTPS_PROXY"), "http://127.0.0.1:3128");
	assert_string_equal(env_get(&c->p, "http_proxy"), "http://127.0.0.1:3128");
	assert_string_equal(env_get(&c->p, "ALL_PROXY"), "socks5h://127.0.0.1:1080");
	assert_non_null(strstr(env_get(&c->p, "NO_PROXY"), "127.0.0.1"));
	/* Landlock: connect only to the proxy, the forward and the published port; bind is free. */
	const struct plan_layers *l = &c->p.layers;
	assert_true(l->landlock_net);
	assert_false(l->ll_tcp_bind_handled);
	assert_int_equal(l->n_ll_tcp_connect, 4);
	assert_true(has_port(l->ll_tcp_connect, l->n_ll_tcp_connect, 3128));
	assert_true(has_port(l->ll_tcp_connect, l->n_ll_tcp_connect, 1080));
	assert_true(has_port(l->ll_tcp_connect, l->n_ll_tcp_connect, 5432));
	assert_true(has_port(l->ll_tcp_connect, l->n_ll_tcp_connect, 3000));
	/* A fresh /sys: the jail's own interfaces. */
	assert_true(find(&c->p, "/sys", NULL) >= 0);
	assert_int_equal(c->p.steps[find(&c->p, "/sys", NULL)].kind, MK_SYSFS);
}

static void test_net_allow_ports_move_aside(void **state)
{
	struct ctx *c = *state;
	/* A forward or a published port on the proxy's usual port moves the proxy, not the user's port. */
	ok(c, build(c, "--allow-net=localhost:3128", "--publish=1080", NULL));
	assert_int_equal(c->p.net.forward[0], 3128);
	assert_int_equal(c->p.net.http_port, 3129);
	assert_int_equal(c->p.net.socks_port, 1081);
	assert_string_equal(env_get(&c->p, "HTTP_PROXY"), "http://127.0.0.1:3129");
}

static void test_net_user_env_wins(void **state)
{
	struct ctx *c = *state;
	static char *env[] = { "HOME=/home/u", "AJAIL_ENV_HTTPS_PROXY=http://corp:8080", NULL };
	c->f.environ = env;
	ok(c, build(c, "--allow-net=x.example", NULL));
	assert_string_equal(env_get(&c->p, "HTTPS_PROXY"), "http://corp:8080");
	assert_string_equal(env_get(&c->p, "HTTP_PROXY"), "http://127.0.0.1:3128");
}

static void test_net_errors(void **state)
{
	struct ctx *c = *state;
	expect_error(c, build(c, "--publish=3000", NULL), AJ_ERR_USAGE, "--publish", "--allow-net", "--no-net", NULL);
	expect_error(c, build(c, "--net-log=x.jsonl", NULL), AJ_ERR_USAGE, "--net-log", "--allow-net", NULL);
	expect_error(c, build(c, "--no-net", "--net-log=x.jsonl", NULL), AJ_ERR_USAGE, "--net-log", NULL);
	expect_error(c, build(c, "--allow-net=exa mple.com", NULL), AJ_ERR_USAGE, "exa mple.com", NULL);
	expect_error(c, build(c, "--allow-net=@nosuch", NULL), AJ_ERR_USAGE, "nosuch", NULL);
	expect_error(c, build(c, "--lockdown", "--allow-net=x.example", NULL), AJ_ERR_USAGE, "--allow-net", NULL);
	/* --no-net with --publish is fine: the namespace is the jail's own. */
	c->f.landlock_abi = 7;
	ok(c, build(c, "--no-net", "--publish=9000:3000", NULL));
	assert_true(c->p.layers.ll_tcp_bind_handled);
	assert_int_equal(c->p.layers.n_ll_tcp_bind, 1);
	assert_int_equal(c->p.layers.ll_tcp_bind[0], 3000);
	assert_null(env_get(&c->p, "HTTP_PROXY"));
}

static void test_net_user_presets(void **state)
{
	struct ctx *c = *state;
	c->f.net_presets = "[mine]\nbuild.example.org:8443\n";
	c->f.net_presets_path = "/home/u/.config/ajail/net-presets";
	ok(c, build(c, "--allow-net=@mine,@npm", NULL));
	assert_true(c->p.net.policy.n >= 2);
	const char *why = NULL;
	assert_true(netpolicy_match(&c->p.net.policy, "build.example.org", 8443, &why) >= 0);
	assert_true(netpolicy_match(&c->p.net.policy, "registry.npmjs.org", 443, &why) >= 0);
	assert_true(netpolicy_match(&c->p.net.policy, "build.example.org", 443, &why) < 0);
	c->f.net_presets = "[broken\n";
	expect_error(c, build(c, "--allow-net=@mine", NULL), AJ_ERR_FAIL, "net-presets", NULL);
}

static void test_net_dry_run_shows_it(void **state)
{
	struct ctx *c = *state;
	ok(c, build(c, "--allow-net=api.example.com", "--publish=8080:3000", "--net-log=/tmp/n.jsonl", NULL));
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	plan_print(&c->p, f);
	fclose(f);
	assert_non_null(strstr(text, "network:     allow-list"));
	assert_non_null(strstr(text, "api.example.com"));
	assert_non_null(strstr(text, "127.0.0.1:8080 -> 3000"));
	assert_non_null(strstr(text, "log /tmp/n.jsonl"));
	free(text);
}

static void test_new_session(void **state)
{
	struct ctx *c = *state;
	c->f.legacy_tiocsti = 1;
	ok(c, build(c, NULL));
	assert_true(c->p.new_session);
	c->f.legacy_tiocsti = 0;
	ok(c, build(c, NULL));
	assert_false(c->p.new_session);
	/* unknown (no such sysctl): an old kernel, where TIOCSTI works */
	c->f.legacy_tiocsti = -1;
	ok(c, build(c, NULL));
	assert_true(c->p.new_session);
	c->f.legacy_tiocsti = 0;
	ok(c, build(c, "--new-session", NULL));
	assert_true(c->p.new_session);
	assert_int_equal(c->p.pty_fds, 0);
}

static void test_pty(void **state)
{
	struct ctx *c = *state;
	/* stdin on the terminal: the jail gets its own pty, in a new session, whatever TIOCSTI allows */
	c->f.legacy_tiocsti = 0;
	c->f.tty_fds = 1;
	ok(c, build(c, NULL));
	assert_int_equal(c->p.pty_fds, 1);
	assert_true(c->p.new_session);
	c->f.tty_fds = 7;
	ok(c, build(c, NULL));
	assert_int_equal(c->p.pty_fds, 7);
	assert_true(c->p.new_session);
	/* output to a terminal but input from elsewhere (a pipe): no pty, the usual session rule */
	c->f.tty_fds = 6;
	ok(c, build(c, NULL));
	assert_int_equal(c->p.pty_fds, 0);
	assert_false(c->p.new_session);
	c->f.legacy_tiocsti = 1;
	ok(c, build(c, NULL));
	assert_int_equal(c->p.pty_fds, 0);
	assert_true(c->p.new_session);
}

static void test_argv(void **state)
{
	struct ctx *c = *state;
	ok(c, build(c, NULL));
	assert_int_equal(strv_len(c->p.argv), 1);
	assert_string_equal(c->p.argv[0], "bash");
	assert_true(c->p.argv_default);
	ok(c, build(c, "--", "sh", "-c", "echo hi", NULL));
	assert_false(c->p.argv_default);
	assert_int_equal(strv_len(c->p.argv), 3);
	assert_string_equal(c->p.argv[0], "sh");
	assert_string_equal(c->p.argv[1], "-c");
	assert_string_equal(c->p.argv[2], "echo hi");
	/* a copy: the plan owns its argv */
	assert_ptr_not_equal(c->p.argv[0], c->o.argv[0]);
}

/* Index of the first step of kind at dst, or -1. */
static int step_at(const struct plan *p, enum mount_kind kind, const char *dst)
{
	for (size_t i = 0; i < p->n_steps; i++)
		if (p->steps[i].kind == kind && strcmp(p->steps[i].dst, dst) == 0)
			return (int)i;
	return -1;
}

static void test_clone_mounts(void **state)
{
	struct ctx *c = *state;
	char *deleted[] = { "gone.txt", "sub/old", NULL };
	struct clone_facts cf = { .toplevel = CWD, .commondir = CWD "/.git", .lower = "/st/clone/.base/ab/tree",
				  .upper = "/st/clone/ws/upper", .work = "/st/clone/ws/work", .gitdir = "/st/clone/ws/git",
				  .branch = "ajail/1234abcd", .id = "1234abcd", .deleted = deleted };
	c->f.clone = &cf;
	ok(c, build(c, "--clone", "true", NULL));
	struct plan *p = &c->p;
	/* The user's checkout itself is not mounted: the clone takes its place. */
	assert_int_equal(step_at(p, MK_BIND_RW, CWD), -1);
	int ov = step_at(p, MK_OVERLAY_KEEP, CWD);
	assert_true(ov > 0);
	assert_string_equal(p->steps[ov].src, "/st/clone/.base/ab/tree");
	assert_string_equal(p->steps[ov].upper, "/st/clone/ws/upper");
	assert_string_equal(p->steps[ov].work, "/st/clone/ws/work");
	int git = step_at(p, MK_BIND_RW, CWD "/.git");
	assert_true(git > ov);
	assert_string_equal(p->steps[git].src, "/st/clone/ws/git");
	int origin = step_at(p, MK_BIND_RO, "/ajail/origin");
	assert_true(origin > git);
	assert_string_equal(p->steps[origin].src, CWD "/.git");
	assert_int_equal(step_at(p, MK_BIND_RW, "/ajail/origin"), -1);
	assert_true(step_at(p, MK_REMOVE, CWD "/gone.txt") > ov);
	assert_true(step_at(p, MK_REMOVE, CWD "/sub/old") > ov);
	assert_string_equal(p->cwd, CWD);
	assert_string_equal(p->clone_id, "1234abcd");

	/* --clone-push: an allow-list. The origin is read-only but for what a push writes. */
	cf.push = true;
	cf.deleted = NULL;
	ok(c, build(c, "--clone-push", "true", NULL));
	p = &c->p;
	assert_true(c->o.clone);
	assert_int_equal(step_at(p, MK_BIND_RW, "/ajail/origin"), -1);
	int ro = step_at(p, MK_BIND_RO, "/ajail/origin");
	assert_true(ro > 0);
	assert_int_equal(p->steps[ro].src_ino, fake_ino(CWD "/.git"));
	const char *writable[] = { "objects", "refs", "logs" };
	for (size_t i = 0; i < 3; i++) {
		cleanup_free char *dst = xasprintf("/ajail/origin/%s", writable[i]);
		cleanup_free char *src = xasprintf(CWD "/.git/%s", writable[i]);
		int w = step_at(p, MK_BIND_RW, dst);
		assert_true(w > ro);
		assert_string_equal(p->steps[w].src, src);
		assert_int_equal(p->steps[w].src_ino, fake_ino(src));
	}
	size_t rw_steps = 0;
	for (size_t i = 0; i < p->n_steps; i++)
		rw_steps += p->steps[i].kind == MK_BIND_RW && str_has_prefix(p->steps[i].dst, "/ajail/origin");
	assert_int_equal(rw_steps, 3);
	assert_int_equal(step_at(p, MK_REMOVE, CWD "/gone.txt"), -1);
	c->f.clone = NULL;
}

static void test_linked_worktree(void **state)
{
	struct ctx *c = *state;
	/* Plain run in a linked worktree: the main repository's git dir is reachable at its own path,
	 * read-only but for what a commit writes. */
	c->f.git_commondir = "/repo/.git";
	c->f.git_worktree_dir = "/repo/.git/worktrees/x";
	ok(c, build(c, "true", NULL));
	struct plan *p = &c->p;
	int cwd = step_at(p, MK_BIND_RW, CWD);
	int ro = step_at(p, MK_BIND_RO, "/repo/.git");
	assert_true(ro > cwd);
	assert_int_equal(step_at(p, MK_BIND_RW, "/repo/.git"), -1);
	assert_true(step_at(p, MK_BIND_RW, "/repo/.git/objects") > ro);
	assert_true(step_at(p, MK_BIND_RW, "/repo/.git/refs") > ro);
	assert_true(step_at(p, MK_BIND_RW, "/repo/.git/logs") > ro);
	assert_int_equal(step_at(p, MK_BIND_RW, "/repo/.git/hooks"), -1);
	int wt = step_at(p, MK_BIND_RW, "/repo/.git/worktrees/x");
	assert_true(wt > ro);
	/* where the user's git looks next time stays read-only inside the writable worktree directory */
	assert_true(step_at(p, MK_BIND_RO, "/repo/.git/worktrees/x/commondir") > wt);
	assert_true(step_at(p, MK_BIND_RO, "/repo/.git/worktrees/x/gitdir") > wt);
	int cw = step_at(p, MK_HIDE_FILE, "/repo/.git/worktrees/x/config.worktree");
	assert_true(cw > wt);
	assert_int_equal(p->steps[cw].persist_layer, wt);
	/* --lockdown: all of it read-only */
	ok(c, build(c, "--lockdown", "true", NULL));
	p = &c->p;
	assert_true(step_at(p, MK_BIND_RO, "/repo/.git") > 0);
	for (size_t i = 0; i < p->n_steps; i++)
		assert_false(p->steps[i].kind == MK_BIND_RW && str_has_prefix(p->steps[i].dst, "/repo"));
	/* ... nothing when the working directory already contains it. */
	c->f.git_commondir = CWD "/.git";
	c->f.git_worktree_dir = CWD "/.git/worktrees/x";
	ok(c, build(c, "true", NULL));
	assert_int_equal(step_at(&c->p, MK_BIND_RO, CWD "/.git"), -1);
	assert_int_equal(step_at(&c->p, MK_BIND_RW, CWD "/.git"), -1);
	/* a .git file that was not believed: a warning, nothing mounted */
	c->f.git_commondir = NULL;
	c->f.git_worktree_dir = NULL;
	c->f.git_warning = "not believed";
	ok(c, build(c, "true", NULL));
	assert_true(strv_contains(c->p.warnings, "not believed"));
	c->f.git_warning = NULL;
}

static void test_env_and_misc(void **state)
{
	struct ctx *c = *state;
	ok(c, build(c, "-q", "-vv", "--cap-add=NET_RAW", NULL));
	struct plan *p = &c->p;
	char **want = config_jail_env(host_env, false);
	assert_int_equal(strv_len(p->env), strv_len(want));
	for (size_t i = 0; want[i]; i++)
		assert_string_equal(p->env[i], want[i]);
	strv_free(want);
	assert_true(strv_contains(p->env, "FOO=bar"));
	assert_true(strv_contains(p->env, "HOME=/root"));
	assert_false(strv_contains(p->env, "SSH_AUTH_SOCK=/run/ssh"));
	assert_false(strv_contains(p->env, "GIT_CONFIG_COUNT=1"));
	assert_int_equal(p->outer_uid, 1000);
	assert_int_equal(p->outer_gid, 1001);
	assert_string_equal(p->hostname, "localhost");
	assert_string_equal(p->cwd, CWD);
	assert_int_equal(p->caps_keep, UINT64_C(1) << 13);
	assert_true(p->quiet);
	assert_int_equal(p->verbose, 2);
	assert_non_null(p->notes);

	c->f.cwd_in_git = true;
	ok(c, build(c, NULL));
	assert_true(strv_contains(c->p.env, "GIT_CONFIG_COUNT=1"));
	assert_true(strv_contains(c->p.env, "GIT_CONFIG_KEY_0=core.checkStat"));
	assert_true(strv_contains(c->p.env, "GIT_CONFIG_VALUE_0=minimal"));
	assert_int_equal(c->p.caps_keep, 0);
	assert_false(c->p.quiet);
}

static void test_kind_helpers(void **state)
{
	assert_true(plan_kind_is_persistent(MK_ROOT_BIND));
	assert_true(plan_kind_is_persistent(MK_BIND_RW));
	assert_true(plan_kind_is_persistent(MK_BIND_DEV));
	assert_false(plan_kind_is_persistent(MK_ROOT_OVERLAY));
	assert_false(plan_kind_is_persistent(MK_ROOT_TMPFS));
	assert_false(plan_kind_is_persistent(MK_BIND_RO));
	assert_false(plan_kind_is_persistent(MK_OVERLAY));
	assert_false(plan_kind_is_persistent(MK_TMPFS));
	assert_false(plan_kind_is_persistent(MK_HIDE_FILE));
	assert_false(plan_kind_is_persistent(MK_PROC));
	assert_false(plan_kind_is_persistent(MK_DEVPTS));
	assert_false(plan_kind_is_persistent(MK_SYMLINK));
	assert_false(plan_kind_is_persistent(MK_DIR));
	/* every kind has a name */
	for (int k = MK_ROOT_OVERLAY; k <= MK_DIR; k++) {
		assert_non_null(plan_kind_name((enum mount_kind)k));
		assert_true(strlen(plan_kind_name((enum mount_kind)k)) > 0);
	}
	assert_string_equal(plan_kind_name(MK_OVERLAY), "overlay");
	assert_string_equal(plan_kind_name(MK_BIND_RO), "ro-bind");
}

/* ---- overlay options --------------------------------------------------------------------------- */

static void check_escape(const char *in, const char *want)
{
	char *got = plan_overlay_escape(in);
	assert_string_equal(got, want);
	free(got);
}

static void test_overlay_escape(void **state)
{
	check_escape("/plain/path", "/plain/path");
	check_escape("", "");
	check_escape("/a,b", "/a\\,b");
	check_escape("/a:b", "/a\\:b");
	check_escape("/a\\b", "/a\\\\b");
	/* spaces, newlines, '=' and other bytes need nothing: the options go to the kernel, not a shell */
	check_escape("/a b\nc=d\te'f\"", "/a b\nc=d\te'f\"");
	check_escape(",,::\\\\", "\\,\\,\\:\\:\\\\\\\\");
	check_escape(ODD, "/data/a\\,b\\:c\\\\d e");
	check_escape("/\xc3\xa9t\xc3\xa9", "/\xc3\xa9t\xc3\xa9");
}

static void test_overlay_options(void **state)
{
	char *s = plan_overlay_options("/l", "/u", "/w");
	assert_string_equal(s, "lowerdir=/l,upperdir=/u,workdir=/w,userxattr");
	free(s);
	s = plan_overlay_options("/lo,wer", "/up:per", "/wo\\rk");
	assert_string_equal(s, "lowerdir=/lo\\,wer,upperdir=/up\\:per,workdir=/wo\\\\rk,userxattr");
	free(s);
	s = plan_overlay_options("/with space/and\nnewline", "/tmp/s 1/upper", "/tmp/s 1/work");
	assert_string_equal(s, "lowerdir=/with space/and\nnewline,upperdir=/tmp/s 1/upper,workdir=/tmp/s 1/work,userxattr");
	free(s);
	s = plan_overlay_options(ODD, "/t/u,1", "/t/w:1");
	assert_string_equal(s, "lowerdir=/data/a\\,b\\:c\\\\d e,upperdir=/t/u\\,1,workdir=/t/w\\:1,userxattr");
	free(s);
}

/* ---- printing ---------------------------------------------------------------------------------- */

static char *print_to_string(const struct plan *p, bool status)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	if (status)
		plan_print_status(p, f);
	else
		plan_print(p, f);
	assert_int_equal(fclose(f), 0);
	assert_non_null(buf);
	assert_int_equal(strlen(buf), len);
	return buf;
}

static void test_plan_print(void **state)
{
	struct ctx *c = *state;
	c->f.cwd = ODD;
	ok(c, build(c, "--no-net", "--cap-add=NET_RAW", "--ro", "--rw=in", "--hide=in", "--dev=kvm", "--", "make", "-j2",
		    NULL));
	cleanup_free char *out = print_to_string(&c->p, false);
	for (size_t i = 0; i < c->p.n_steps; i++) {
		if (!strstr(out, c->p.steps[i].dst))
			print_error("plan_print does not mention %s:\n%s", c->p.steps[i].dst, out);
		assert_non_null(strstr(out, c->p.steps[i].dst));
	}
	assert_non_null(strstr(out, "rootfs:      alpine " ROOTFS "\n"));
	assert_non_null(strstr(out, " net\n"));
	assert_non_null(strstr(out, "CAP_NET_RAW"));
	assert_non_null(strstr(out, "id maps:     uid 0 -> 1000, gid 0 -> 1001"));
	/* the overlay of the odd cwd shows its escaped options */
	assert_non_null(strstr(out, "(lowerdir=/data/a\\,b\\:c\\\\d e,upperdir=<tmp>/upper,workdir=<tmp>/work,userxattr)"));
	assert_non_null(strstr(out, "  FOO=bar\n"));
	assert_non_null(strstr(out, "argv:        make -j2\n"));
	/* nothing here is created in a read-write layer */
	assert_null(strstr(out, "mountpoint-in="));
	assert_non_null(strstr(out, "session:     shared with the terminal\n"));

	ok(c, build(c, NULL));
	cleanup_free char *out2 = print_to_string(&c->p, false);
	assert_non_null(strstr(out2, "argv:        bash"));
	assert_null(strstr(out2, " net\n"));
	assert_non_null(strstr(out2, "caps kept:   none\n"));

	/* mountpoint-in=N marks a step whose mount point is made in read-write layer N */
	c->f.tty_fds = 7;
	c->f.cwd = CWD;
	ok(c, build(c, "--hide=sub", "--home-edit=.x", NULL));
	cleanup_free char *out3 = print_to_string(&c->p, false);
	cleanup_free char *line = xasprintf("%s mode=0755  [--hide=sub] mountpoint-in=%d\n", CWD "/sub", cwd_step(&c->p));
	if (!strstr(out3, line))
		print_error("want \"%s\" in:\n%s", line, out3);
	assert_non_null(strstr(out3, line));
	assert_non_null(strstr(out3, "/root/.x <- " ROOTFS "/root/.x  [--home-edit=.x] create-source\n"));
	assert_non_null(strstr(out3, "session:     new, on the jail's own pty\n"));
}

static void test_plan_print_status(void **state)
{
	struct ctx *c = *state;
	ok(c, build(c, "--rw=build", "--hide=sub", NULL));
	cleanup_free char *out = print_to_string(&c->p, true);
	assert_non_null(strstr(out, "ajail: rootfs   alpine (overlay: changes discarded)\n"));
	assert_non_null(strstr(out, "ajail: cwd      " CWD "\n"));
	assert_non_null(strstr(out, "ajail: network  host\n"));
	assert_non_null(strstr(out, "ajail: mount    " CWD " (read-write)\n"));
	assert_non_null(strstr(out, "ajail: mount    " CWD "/build (read-write)  --rw=build\n"));
	assert_non_null(strstr(out, "ajail: mount    " CWD "/sub (hidden)  --hide=sub\n"));
	/* the standard jail is not listed */
	assert_null(strstr(out, "/proc"));
	assert_null(strstr(out, "/dev"));
	assert_null(strstr(out, "resolv.conf"));

	ok(c, build(c, "--fs-edit", NULL));
	cleanup_free char *out2 = print_to_string(&c->p, true);
	assert_non_null(strstr(out2, "(read-write: changes persist)"));

	/* a mount covered by a later one at the same place is not listed */
	ok(c, build(c, "--ro", "--rw=build", NULL));
	cleanup_free char *out3 = print_to_string(&c->p, true);
	assert_non_null(strstr(out3, "ajail: mount    " CWD " (overlay, changes discarded)  --ro\n"));
	assert_null(strstr(out3, "ajail: mount    " CWD " (read-write)"));
	assert_non_null(strstr(out3, "ajail: mount    " CWD "/build (read-write)  --rw=build\n"));
}

/* The status block goes to the user's terminal: a path a jail named (a directory it made, then the
 * user cd'd into) reaches it as text; a read-only git directory with its writable holes is one line. */
static void test_plan_print_status_escapes_and_folds(void **state)
{
	struct ctx *c = *state;
	struct fake_entry odd[] = { DIR_("/w/\033]0;pwned\007\033[2J") };
	c->log.over = odd;
	c->log.n_over = 1;
	c->f.cwd = "/w/\033]0;pwned\007\033[2J";
	ok(c, build(c, NULL));
	cleanup_free char *out = print_to_string(&c->p, true);
	assert_null(strchr(out, '\033'));
	assert_null(strchr(out, '\007'));
	assert_non_null(strstr(out, "ajail: cwd      /w/\\x1b]0;pwned\\x07\\x1b[2J\n"));
	cleanup_free char *dry = print_to_string(&c->p, false);
	assert_null(strchr(dry, '\033'));
	c->log.n_over = 0;
	c->f.cwd = CWD;

	c->f.git_commondir = "/repo/.git";
	c->f.git_worktree_dir = "/repo/.git/worktrees/x";
	ok(c, build(c, NULL));
	cleanup_free char *wt = print_to_string(&c->p, true);
	assert_non_null(strstr(wt, "ajail: mount    /repo/.git (read-only, but objects/ refs/ logs/ worktrees/x/ read-write)  git\n"));
	assert_null(strstr(wt, "/repo/.git/objects"));
	c->f.git_commondir = NULL;
	c->f.git_worktree_dir = NULL;
}

static void test_plan_print_status_host(void **state)
{
	struct ctx *c = *state;
	ok(c, build(c, "--no-net", NULL));
	cleanup_free char *out = print_to_string(&c->p, true);
	assert_non_null(strstr(out, "ajail: rootfs   host"));
	assert_non_null(strstr(out, "ajail: network  none\n"));
	/* the host's own directories are not listed one by one */
	assert_null(strstr(out, "/usr"));
	assert_null(strstr(out, "/etc"));
	assert_null(strstr(out, "/root"));
}

/* ---- defense-in-depth layers ------------------------------------------------------------------- */

static bool has_note(const struct plan *p, const char *needle)
{
	for (size_t i = 0; p->notes && p->notes[i]; i++)
		if (strstr(p->notes[i], needle))
			return true;
	return false;
}

/* Which layers are on. */
static void check_layers(const struct plan *p, bool cap_drop, bool seccomp, bool allow_ptrace, bool landlock,
			 bool rlimits, bool mask)
{
	const struct plan_layers *l = &p->layers;
	assert_int_equal(l->cap_drop, cap_drop);
	assert_int_equal(l->seccomp, seccomp);
	assert_int_equal(l->allow_ptrace, allow_ptrace);
	assert_int_equal(l->landlock, landlock);
	assert_int_equal(l->rlimits, rlimits);
	assert_int_equal(l->mask, mask);
}

/* The value of an rlimit the plan sets; it must set it. */
static uint64_t rlimit_of(const struct plan *p, int resource)
{
	for (size_t i = 0; i < p->layers.n_rl; i++)
		if (p->layers.rl[i].resource == resource)
			return p->layers.rl[i].value;
	print_error("the plan sets no rlimit %d\n", resource);
	fail();
	return 0;
}

static size_t count_origin(const struct plan *p, const char *origin)
{
	size_t n = 0;
	for (size_t i = 0; i < p->n_steps; i++)
		n += strcmp(p->steps[i].origin, origin) == 0;
	return n;
}

static void test_layers_default(void **state)
{
	struct ctx *c = *state;
	c->f.landlock_abi = 7;
	ok(c, build(c, NULL));
	struct plan *p = &c->p;
	const struct plan_layers *l = &p->layers;
	check_layers(p, true, true, false, true, true, true);
	assert_false(l->lockdown);
	assert_int_equal(l->landlock_abi, 7);
	assert_false(l->landlock_net);
	/* core dumps off, first and always; then room for a real build, and a stop for a runaway */
	assert_int_equal(l->n_rl, 4);
	assert_int_equal(l->rl[0].resource, RLIMIT_CORE);
	assert_string_equal(l->rl[0].name, "core");
	assert_int_equal(l->rl[0].value, 0);
	assert_int_equal(rlimit_of(p, RLIMIT_NOFILE), 65536);
	assert_int_equal(rlimit_of(p, RLIMIT_FSIZE), UINT64_C(64) << 30);
	assert_int_equal(rlimit_of(p, RLIMIT_NPROC), 8192);
	/* no limits asked for: no cgroup */
	assert_null(l->cgroup_parent);
	assert_int_equal(l->memory, 0);
	assert_int_equal(l->cpus_milli, 0);
	assert_int_equal(l->pids, 0);
	assert_false(l->pids_by_rlimit);
	/* landlock: writes beneath the writable mounts (the cwd is not under /tmp) ... */
	static const char *const writable[] = { "/dev", "/tmp", "/run", CWD };
	assert_int_equal(strv_len(l->ll_write), 4);
	for (size_t k = 0; k < 4; k++) {
		if (!strv_contains(l->ll_write, writable[k]))
			print_error("ll_write lacks %s\n", writable[k]);
		assert_true(strv_contains(l->ll_write, writable[k]));
	}
	assert_false(strv_contains(l->ll_write, "/proc"));
	assert_false(strv_contains(l->ll_write, "/sys"));
	/* ... and each top-level entry of the root but these */
	assert_int_equal(strv_len(l->ll_root_skip), 3);
	assert_true(strv_contains(l->ll_root_skip, "proc"));
	assert_true(strv_contains(l->ll_root_skip, "sys"));
	assert_true(strv_contains(l->ll_root_skip, "dev"));
	assert_false(has_note(p, "landlock"));

	/* a kernel without landlock: that layer is off, said so, and the others do not depend on it */
	c->f.landlock_abi = 0;
	ok(c, build(c, NULL));
	check_layers(&c->p, true, true, false, false, true, true);
	assert_int_equal(c->p.layers.landlock_abi, 0);
	assert_true(has_note(&c->p, "landlock: this kernel has none"));
	/* ABI 1 would forbid moving a file between directories: off too, with its own reason */
	c->f.landlock_abi = 1;
	ok(c, build(c, NULL));
	check_layers(&c->p, true, true, false, false, true, true);
	assert_true(has_note(&c->p, "landlock: ABI 1"));
	assert_false(has_note(&c->p, "this kernel has none"));
	/* ABI 2 is enough */
	c->f.landlock_abi = 2;
	ok(c, build(c, NULL));
	assert_true(c->p.layers.landlock);
	assert_false(has_note(&c->p, "landlock"));
}

static void test_layers_landlock_paths(void **state)
{
	struct ctx *c = *state;
	c->f.landlock_abi = 7;
	const struct plan_layers *l = &c->p.layers;

	/* a read-only mount at the top of the root is left out of the grant to each top-level entry;
	 * deeper ones need nothing (the mount itself is read-only) */
	ok(c, build(c, "--mount=/data/target,/opt2,rol", "--mount=/data/target,/opt/t,rol", "--rol=sub", NULL));
	assert_true(strv_contains(l->ll_root_skip, "opt2"));
	assert_false(strv_contains(l->ll_root_skip, "opt"));
	assert_false(strv_contains(l->ll_root_skip, "t"));
	assert_int_equal(strv_len(l->ll_root_skip), 4);
	assert_false(strv_contains(l->ll_write, "/opt2"));
	assert_false(strv_contains(l->ll_write, "/opt/t"));
	assert_false(strv_contains(l->ll_write, CWD "/sub"));

	/* a read-only bind over the cwd takes it out of ll_write */
	ok(c, build(c, "--rol", NULL));
	assert_false(strv_contains(l->ll_write, CWD));
	assert_true(strv_contains(l->ll_write, "/tmp"));

	/* a writable mount at the top is granted; a later one at the same place replaces an earlier one */
	ok(c, build(c, "--mount=/data/target,/opt2", NULL));
	assert_true(strv_contains(l->ll_write, "/opt2"));
	assert_false(strv_contains(l->ll_root_skip, "opt2"));
	ok(c, build(c, "--mount=/data/target,/opt2,rol", "--mount=/data/target,/opt2", NULL));
	assert_true(strv_contains(l->ll_write, "/opt2"));
	assert_false(strv_contains(l->ll_root_skip, "opt2"));
	ok(c, build(c, "--mount=/data/target,/opt2", "--mount=/data/target,/opt2,rol", NULL));
	assert_false(strv_contains(l->ll_write, "/opt2"));
	assert_true(strv_contains(l->ll_root_skip, "opt2"));
	/* an overlay is writable inside */
	ok(c, build(c, "--mount=/data/target,/opt2,ro", NULL));
	assert_true(strv_contains(l->ll_write, "/opt2"));
	assert_false(strv_contains(l->ll_root_skip, "opt2"));

	/* nothing beneath a path already granted is listed again */
	ok(c, build(c, "--rw=build", "--hide=sub", NULL));
	assert_false(strv_contains(l->ll_write, CWD "/build"));
	assert_false(strv_contains(l->ll_write, CWD "/sub"));
	assert_int_equal(strv_len(l->ll_write), 4);
}

static void test_layers_landlock_paths_host(void **state)
{
	struct ctx *c = *state;
	c->f.landlock_abi = 7;
	ok(c, build(c, NULL));
	const struct plan_layers *l = &c->p.layers;
	/* the host's system directories are read-only binds at the top: never granted writes */
	assert_true(strv_contains(l->ll_root_skip, "usr"));
	assert_true(strv_contains(l->ll_root_skip, "etc"));
	assert_int_equal(strv_len(l->ll_root_skip), 5);
	assert_false(strv_contains(l->ll_write, "/usr"));
	assert_false(strv_contains(l->ll_write, "/etc"));
	assert_true(strv_contains(l->ll_write, CWD));
}

static void test_layers_turn_off(void **state)
{
	struct ctx *c = *state;
	c->f.landlock_abi = 7;
	ok(c, build(c, "--no-cap-drop", NULL));
	check_layers(&c->p, false, true, false, true, true, true);
	ok(c, build(c, "--no-seccomp", NULL));
	check_layers(&c->p, true, false, false, true, true, true);
	/* --allow-ptrace narrows the deny list; the filter stays */
	ok(c, build(c, "--allow-ptrace", NULL));
	check_layers(&c->p, true, true, true, true, true, true);
	ok(c, build(c, "--no-landlock", NULL));
	check_layers(&c->p, true, true, false, false, true, true);
	assert_false(has_note(&c->p, "this kernel has none"));
	ok(c, build(c, "--no-rlimits", NULL));
	check_layers(&c->p, true, true, false, true, false, true);
	/* core dumps stay off */
	assert_int_equal(c->p.layers.n_rl, 1);
	assert_int_equal(c->p.layers.rl[0].resource, RLIMIT_CORE);
	assert_int_equal(c->p.layers.rl[0].value, 0);

	ok(c, build(c, NULL));
	size_t n_default = c->p.n_steps, n_masks = count_origin(&c->p, "mask");
	assert_true(n_masks > 0);
	ok(c, build(c, "--no-mask", NULL));
	check_layers(&c->p, true, true, false, true, true, false);
	/* every mask is gone, and nothing else: /proc and the read-only /sys stay */
	assert_int_equal(count_origin(&c->p, "mask"), 0);
	assert_int_equal(c->p.n_steps, n_default - n_masks);
	for (size_t i = 0; i < c->p.n_steps; i++) {
		assert_int_not_equal(c->p.steps[i].kind, MK_MASK_DIR);
		assert_int_not_equal(c->p.steps[i].kind, MK_READONLY);
		assert_false(c->p.steps[i].flags & MF_OPTIONAL);
	}
	check_step(&c->p, find(&c->p, "/sys", NULL), MK_BIND_RO, "/sys", "/sys", MF_SYSTEM, "system");
	check_step(&c->p, find(&c->p, "/proc", NULL), MK_PROC, NULL, "/proc", MF_SYSTEM, "system");

	/* all of them at once */
	ok(c, build(c, "--no-cap-drop", "--no-seccomp", "--no-landlock", "--no-rlimits", "--no-mask", NULL));
	check_layers(&c->p, false, false, false, false, false, false);
}

static void test_layers_landlock_net(void **state)
{
	struct ctx *c = *state;
	/* --no-net: TCP bind and connect denied by landlock too, where the kernel can (ABI 4) */
	c->f.landlock_abi = 4;
	ok(c, build(c, "--no-net", NULL));
	assert_true(c->p.layers.landlock);
	assert_true(c->p.layers.landlock_net);
	c->f.landlock_abi = 7;
	ok(c, build(c, "--no-net", NULL));
	assert_true(c->p.layers.landlock_net);
	/* ABI 3 cannot: landlock still guards writes, the note says the network namespace alone holds */
	c->f.landlock_abi = 3;
	ok(c, build(c, "--no-net", NULL));
	assert_true(c->p.layers.landlock);
	assert_false(c->p.layers.landlock_net);
	assert_true(has_note(&c->p, "cannot deny TCP"));
	/* with the network: nothing denied */
	c->f.landlock_abi = 7;
	ok(c, build(c, NULL));
	assert_false(c->p.layers.landlock_net);
	assert_false(has_note(&c->p, "cannot deny TCP"));
	/* landlock turned off takes its network rules with it */
	ok(c, build(c, "--no-net", "--no-landlock", NULL));
	assert_false(c->p.layers.landlock);
	assert_false(c->p.layers.landlock_net);
}

static void test_lockdown(void **state)
{
	struct ctx *c = *state;
	c->f.landlock_abi = 7;
	c->f.legacy_tiocsti = 0; /* without --lockdown: the same session */
	ok(c, build(c, "--lockdown", NULL));
	struct plan *p = &c->p;
	const struct plan_layers *l = &p->layers;
	assert_true(l->lockdown);
	/* the working directory read-only */
	check_step(p, cwd_step(p), MK_BIND_RO, CWD, CWD, 0, "cwd");
	assert_int_equal(step_at(p, MK_BIND_RW, CWD), -1);
	/* no network, denied twice over; no resolver configuration */
	assert_true(p->no_net);
	assert_true(p->clone_flags & CLONE_NEWNET);
	assert_true(l->landlock_net);
	assert_int_equal(find(p, "/etc/resolv.conf", NULL), -1);
	/* detached from the terminal's session */
	assert_true(p->new_session);
	/* an empty home */
	int home = find(p, "/root", NULL);
	check_step(p, home, MK_TMPFS, NULL, "/root", MF_SYSTEM, "--lockdown");
	assert_int_equal(p->steps[home].mode, 0700);
	/* every layer on, with tighter limits */
	check_layers(p, true, true, false, true, true, true);
	assert_int_equal(l->n_rl, 4);
	assert_int_equal(rlimit_of(p, RLIMIT_CORE), 0);
	assert_int_equal(rlimit_of(p, RLIMIT_NOFILE), 1024);
	assert_int_equal(rlimit_of(p, RLIMIT_FSIZE), UINT64_C(1) << 30);
	assert_int_equal(rlimit_of(p, RLIMIT_NPROC), 256);
	/* landlock: the read-only cwd is not writable, the empty home is */
	assert_false(strv_contains(l->ll_write, CWD));
	assert_true(strv_contains(l->ll_write, "/root"));
	assert_true(count_origin(p, "mask") > 0);

	/* a cwd at the top of the root is left out of the grant to the root's entries */
	c->f.cwd = "/srv";
	ok(c, build(c, "--lockdown", NULL));
	check_step(&c->p, find(&c->p, "/srv", "cwd"), MK_BIND_RO, "/srv", "/srv", 0, "cwd");
	assert_true(strv_contains(c->p.layers.ll_root_skip, "srv"));
	/* a cwd inside /root is mounted on the empty home, not hidden by it */
	c->f.cwd = "/root/proj";
	ok(c, build(c, "--lockdown", NULL));
	assert_true(find(&c->p, "/root/proj", "cwd") > find(&c->p, "/root", "--lockdown"));
	assert_true(find(&c->p, "/root", "--lockdown") > 0);
	c->f.cwd = CWD;

	/* what keeps host directories read-only and nothing persistent is allowed */
	ok(c, build(c, "--lockdown", "--ro=sub", "--rol=sub", "--hide=secret.txt", NULL));
	int cwd = cwd_step(&c->p);
	check_step(&c->p, cwd + 1, MK_OVERLAY, CWD "/sub", CWD "/sub", 0, "--ro=sub");
	check_step(&c->p, cwd + 2, MK_BIND_RO, CWD "/sub", CWD "/sub", 0, "--rol=sub");
	check_step(&c->p, cwd + 3, MK_HIDE_FILE, CWD "/secret.txt", CWD "/secret.txt", MF_FILE, "--hide=secret.txt");
	assert_true(c->p.layers.lockdown);
}

/* What --lockdown left out of AJAIL_ARGS is named in one warning, and none of it is in the plan. */
/* The store is never in reach: wherever a host mount shows it, an empty read-only directory covers
 * it, after every other mount. And a cwd that holds the user's home is worth a warning. */
static int count_kind_origin(const struct plan *p, enum mount_kind kind, const char *origin)
{
	int n = 0;
	for (size_t i = 0; i < p->n_steps; i++)
		n += p->steps[i].kind == kind && strcmp(p->steps[i].origin, origin) == 0;
	return n;
}

static void test_store_masked(void **state)
{
	struct ctx *c = *state;
	static const struct fake_entry over[] = {
		DIR_("/home"), DIR_("/home/u"), DIR_("/home/u/.ajail"),
		LINK_("/s", "/home/u/.ajail", "/home/u/.ajail", FT_DIR),
	};
	c->log.over = over;
	c->log.n_over = sizeof over / sizeof over[0];
	c->f.store_dir = "/home/u/.ajail";

	/* a project elsewhere: the store is not in the jail, nothing to hide, nothing to say */
	ok(c, build(c, NULL));
	assert_int_equal(count_kind_origin(&c->p, MK_MASK_DIR, "store"), 0);
	assert_null(c->p.warnings);

	/* cwd = ~: the store under it is hidden, as the very last step; the home is worth a warning */
	c->f.cwd = "/home/u";
	ok(c, build(c, "--rw=/data/target", NULL));
	int m = find(&c->p, "/home/u/.ajail", "store");
	check_step(&c->p, m, MK_MASK_DIR, NULL, "/home/u/.ajail", 0, "store");
	assert_int_equal((size_t)m, c->p.n_steps - 1);
	assert_true(m > find(&c->p, "/home/u", "cwd"));
	assert_int_equal(count_kind_origin(&c->p, MK_MASK_DIR, "store"), 1);
	assert_false(strv_contains(c->p.layers.ll_write, "/home/u/.ajail"));
	assert_int_equal(strv_len(c->p.warnings), 1);
	assert_non_null(strstr(c->p.warnings[0], "/home/u is your home /home/u"));
	assert_non_null(strstr(c->p.warnings[0], "read and change ~/.ssh"));

	/* the status block names it */
	char *buf = print_to_string(&c->p, true);
	assert_non_null(strstr(buf, "mount    /home/u/.ajail (hidden)  store"));
	free(buf);

	/* the store through a symlink, and two views at one place: one mask */
	c->f.store_dir = "/s";
	ok(c, build(c, "--ro=/home/u", NULL));
	assert_int_equal(count_kind_origin(&c->p, MK_MASK_DIR, "store"), 1);
	check_step(&c->p, find(&c->p, "/home/u/.ajail", "store"), MK_MASK_DIR, NULL, "/home/u/.ajail", 0, "store");
	c->f.store_dir = "/home/u/.ajail";

	/* read-only, from above the home: still hidden; the warning says read, not change */
	c->f.cwd = "/home";
	ok(c, build(c, "--lockdown", NULL));
	check_step(&c->p, find(&c->p, "/home/u/.ajail", "store"), MK_MASK_DIR, NULL, "/home/u/.ajail", 0, "store");
	assert_int_equal(strv_len(c->p.warnings), 1);
	assert_non_null(strstr(c->p.warnings[0], "/home holds your home /home/u"));
	assert_non_null(strstr(c->p.warnings[0], "can read ~/.ssh"));

	/* a mount of a host directory elsewhere in the jail: hidden where it shows there */
	c->f.cwd = CWD;
	ok(c, build(c, "--mount=/home/u,/h,rol", NULL));
	check_step(&c->p, find(&c->p, "/h/.ajail", "store"), MK_MASK_DIR, NULL, "/h/.ajail", 0, "store");
	assert_null(c->p.warnings); /* an explicit mount of the home is the user's own choice */

	/* no store on disk yet: where a read-write mount holds its place, the jail may not make it (it
	 * would own the store of every later run); its mount point is made on the host for the run */
	c->f.cwd = "/home/u";
	c->f.store_dir = "/home/u/.nothing";
	ok(c, build(c, NULL));
	assert_int_equal(count_kind_origin(&c->p, MK_MASK_DIR, "store"), 1);
	int mk = find(&c->p, "/home/u/.nothing", "store");
	check_step(&c->p, mk, MK_MASK_DIR, NULL, "/home/u/.nothing", MF_SYSTEM, "store");
	assert_int_equal(c->p.steps[mk].persist_layer, find(&c->p, "/home/u", "cwd"));
	/* ...not where the jail cannot write anyway, nor through a throw-away overlay */
	ok(c, build(c, "--lockdown", NULL));
	assert_int_equal(count_kind_origin(&c->p, MK_MASK_DIR, "store"), 0);
	ok(c, build(c, "--ro", NULL));
	assert_int_equal(count_kind_origin(&c->p, MK_MASK_DIR, "store"), 0);
	c->f.store_dir = "/elsewhere/.nothing";
	ok(c, build(c, NULL));
	assert_int_equal(count_kind_origin(&c->p, MK_MASK_DIR, "store"), 0);

	c->f.cwd = CWD;
	c->f.store_dir = NULL;
	c->log.n_over = 0;
}

static void test_lockdown_warns_of_ajail_args(void **state)
{
	struct ctx *c = *state;
	char *argv[] = { "ajail", "--lockdown", "true", NULL };
	opts_release(&c->o);
	plan_release(&c->p);
	assert_int_equal(cli_parse(3, argv, "--rw=sub;--no-seccomp;--ro=sub", &c->o, &c->err), 0);
	ok(c, plan_build(&c->o, &c->f, &c->p, &c->err));
	assert_int_equal(strv_len(c->p.warnings), 1);
	assert_non_null(strstr(c->p.warnings[0], "--lockdown"));
	assert_non_null(strstr(c->p.warnings[0], "--rw=sub --no-seccomp"));
	assert_non_null(strstr(c->p.warnings[0], "AJAIL_ARGS"));
	assert_null(strchr(c->p.warnings[0], '\n'));
	assert_int_equal(find(&c->p, CWD "/sub", "--rw=sub"), -1);
	check_step(&c->p, find(&c->p, CWD "/sub", NULL), MK_OVERLAY, CWD "/sub", CWD "/sub", 0, "--ro=sub");
	assert_true(c->p.layers.seccomp);
	/* a lockdown that left nothing out says nothing */
	ok(c, build(c, "--lockdown", NULL));
	assert_null(c->p.warnings);
}

static void test_lockdown_refuses(void **state)
{
	struct ctx *c = *state;
	/* each would give the jail more than a lockdown allows: refused, naming it, never ignored */
	static const struct {
		const char *opt;
		const char *named;
	} bad[] = {
		{ "--rw", "--rw" },
		{ "--rw=build", "--rw=build" },
		{ "--mount=/data/target,/opt/t", "--mount=/data/target,/opt/t" },
		{ "--mount=/dev/kvm,/dev/kvm,dev", "--mount=/dev/kvm,/dev/kvm,dev" },
		/* --help: "no --rw/--mount", whatever the mode */
		{ "--mount=/data/target,/opt/t,rol", "--mount=/data/target,/opt/t,rol" },
		{ "--fs-edit", "--fs-edit" },
		{ "--fs-edit=/etc", "--fs-edit" },
		{ "--home-edit", "--home-edit" },
		{ "--home-edit=.x", "--home-edit" },
		{ "--dev=kvm", "--dev" },
		{ "--clone", "--clone" },
		{ "--clone-push", "--clone" },
		{ "--cap-add=NET_RAW", "--cap-add" },
		{ "--no-seccomp", "--no-seccomp" },
		{ "--no-landlock", "--no-landlock" },
		{ "--no-rlimits", "--no-rlimits" },
		{ "--no-mask", "--no-mask" },
		{ "--no-cap-drop", "--no-cap-drop" },
		{ "--allow-ptrace", "--allow-ptrace" },
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		expect_error(c, build(c, "--lockdown", bad[k].opt, NULL), AJ_ERR_USAGE, "--lockdown", bad[k].named, NULL);
		/* whichever comes first */
		expect_error(c, build(c, bad[k].opt, "--lockdown", NULL), AJ_ERR_USAGE, "--lockdown", bad[k].named, NULL);
	}
}

static void test_cgroup_limits(void **state)
{
	struct ctx *c = *state;
	const struct plan_layers *l = &c->p.layers;
	c->f.cgroup_parent = "/sys/fs/cgroup/user.slice/user-1000.slice/ajail";
	ok(c, build(c, "--memory=1G", "--cpus=1.5", "--pids=100", NULL));
	assert_non_null(l->cgroup_parent);
	assert_string_equal(l->cgroup_parent, "/sys/fs/cgroup/user.slice/user-1000.slice/ajail");
	assert_ptr_not_equal(l->cgroup_parent, c->f.cgroup_parent); /* the plan owns a copy */
	assert_int_equal(l->memory, UINT64_C(1) << 30);
	assert_int_equal(l->cpus_milli, 1500);
	assert_int_equal(l->pids, 100);
	assert_false(l->pids_by_rlimit);
	/* one limit alone */
	ok(c, build(c, "--cpus=0.5", NULL));
	assert_non_null(l->cgroup_parent);
	assert_int_equal(l->cpus_milli, 500);
	assert_int_equal(l->memory, 0);
	assert_int_equal(l->pids, 0);
	/* no limit asked for: no cgroup, even where one could be made */
	ok(c, build(c, NULL));
	assert_null(l->cgroup_parent);

	/* no delegated cgroup v2: memory and CPU limits cannot be had, and the reason is given */
	c->f.cgroup_parent = NULL;
	c->f.cgroup_error = "no v2 here";
	expect_error(c, build(c, "--memory=1G", NULL), AJ_ERR_FAIL, "no v2 here", NULL);
	expect_error(c, build(c, "--cpus=2", NULL), AJ_ERR_FAIL, "no v2 here", NULL);
	expect_error(c, build(c, "--memory=1G", "--pids=100", NULL), AJ_ERR_FAIL, "no v2 here", NULL);
	/* --pids alone falls back to RLIMIT_NPROC, which the kernel counts for the jail's user namespace */
	ok(c, build(c, "--pids=100", NULL));
	assert_true(l->pids_by_rlimit);
	assert_null(l->cgroup_parent);
	assert_int_equal(l->pids, 100);
	assert_int_equal(rlimit_of(&c->p, RLIMIT_NPROC), 100);
	assert_true(has_note(&c->p, "no v2 here"));
	/* ... even with --no-rlimits, which otherwise leaves only core */
	ok(c, build(c, "--no-rlimits", "--pids=100", NULL));
	assert_true(l->pids_by_rlimit);
	assert_false(l->rlimits);
	assert_int_equal(l->n_rl, 2);
	assert_int_equal(rlimit_of(&c->p, RLIMIT_CORE), 0);
	assert_int_equal(rlimit_of(&c->p, RLIMIT_NPROC), 100);
	/* ... and under --lockdown, below its own 256 */
	ok(c, build(c, "--lockdown", "--pids=100", NULL));
	assert_int_equal(rlimit_of(&c->p, RLIMIT_NPROC), 100);
	/* ... and never above it: --lockdown stays the tightest */
	ok(c, build(c, "--lockdown", "--pids=100000", NULL));
	assert_int_equal(rlimit_of(&c->p, RLIMIT_NPROC), 256);
	/* with a cgroup, --pids is nproc too: the default 8192 must not undercut a larger choice */
	c->f.cgroup_parent = "/sys/fs/cgroup/deleg";
	ok(c, build(c, "--pids=20000", NULL));
	assert_int_equal(rlimit_of(&c->p, RLIMIT_NPROC), 20000);
	assert_int_equal(l->pids, 20000);
	c->f.cgroup_parent = NULL;
	/* the kernel does not apply RLIMIT_NPROC to root: refused rather than a limit that is not one */
	c->f.uid = 0;
	expect_error(c, build(c, "--pids=100", NULL), AJ_ERR_FAIL, "no v2 here", "root", NULL);
	c->f.uid = 1000;
	/* without a reason from the probe, still an explanation */
	c->f.cgroup_error = NULL;
	expect_error(c, build(c, "--memory=1G", NULL), AJ_ERR_FAIL, "cgroup", NULL);
}

/* A later mount above an earlier one hides it: --rw=build under a later read-only cwd is not
 * writable, so neither landlock's list nor the status block may say it is. */
static void test_layers_covered_by_parent(void **state)
{
	struct ctx *c = *state;
	c->f.landlock_abi = 7;
	ok(c, build(c, "--rw=build", "--rol", NULL));
	const struct plan_layers *l = &c->p.layers;
	assert_false(strv_contains(l->ll_write, CWD "/build"));
	assert_false(strv_contains(l->ll_write, CWD));
	char *buf = print_to_string(&c->p, true);
	assert_null(strstr(buf, "/build"));
	assert_non_null(strstr(buf, CWD " (read-only)"));
	free(buf);
	/* the other order: build stays writable on top of the read-only cwd */
	ok(c, build(c, "--rol", "--rw=build", NULL));
	assert_true(strv_contains(c->p.layers.ll_write, CWD "/build"));
}

/* The kernel exempts root from RLIMIT_NPROC: a root lockdown gets a pids cgroup of its own (v1 where
 * pids lives there), and says so plainly when none can be made. */
static void test_lockdown_root_pids(void **state)
{
	struct ctx *c = *state;
	const struct plan_layers *l = &c->p.layers;
	c->f.uid = 0;
	c->f.cgroup_parent = "/sys/fs/cgroup/pids";
	c->f.cgroup_v1 = true;
	ok(c, build(c, "--lockdown", NULL));
	assert_string_equal(l->cgroup_parent, "/sys/fs/cgroup/pids");
	assert_true(l->cgroup_v1);
	assert_int_equal(l->pids, 256);
	ok(c, build(c, "--lockdown", "--pids=100000", NULL));
	assert_int_equal(l->pids, 256);
	ok(c, build(c, "--lockdown", "--pids=64", NULL));
	assert_int_equal(l->pids, 64);
	/* not root: RLIMIT_NPROC holds, no cgroup is made */
	c->f.uid = 1000;
	ok(c, build(c, "--lockdown", NULL));
	assert_null(l->cgroup_parent);
	assert_int_equal(rlimit_of(&c->p, RLIMIT_NPROC), 256);
	/* root with nothing to make a cgroup in */
	c->f.uid = 0;
	c->f.cgroup_parent = NULL;
	c->f.cgroup_v1 = false;
	c->f.cgroup_error = "no pids anywhere";
	ok(c, build(c, "--lockdown", NULL));
	assert_null(l->cgroup_parent);
	assert_true(has_note(&c->p, "nothing caps the number of processes"));
}

static void test_host_hides_shadow(void **state)
{
	struct ctx *c = *state;
	ok(c, build(c, NULL));
	struct plan *p = &c->p;
	int etc = find(p, "/etc", "host"), shadow = find(p, "/etc/shadow", NULL), gshadow = find(p, "/etc/gshadow", NULL);
	check_step(p, shadow, MK_HIDE_FILE, NULL, "/etc/shadow", MF_FILE | MF_SYSTEM, "host");
	check_step(p, gshadow, MK_HIDE_FILE, NULL, "/etc/gshadow", MF_FILE | MF_SYSTEM, "host");
	/* over the /etc they are in, not under it */
	assert_true(etc >= 0 && shadow > etc && gshadow > etc);

	/* the backups too, when there */
	static const struct fake_entry backups[] = { FILE_("/etc/shadow-"), FILE_("/etc/gshadow-") };
	c->log.over = backups;
	c->log.n_over = 2;
	ok(c, build(c, NULL));
	check_step(&c->p, find(&c->p, "/etc/shadow-", NULL), MK_HIDE_FILE, NULL, "/etc/shadow-", MF_FILE | MF_SYSTEM, "host");
	check_step(&c->p, find(&c->p, "/etc/gshadow-", NULL), MK_HIDE_FILE, NULL, "/etc/gshadow-", MF_FILE | MF_SYSTEM,
		   "host");

	/* missing: nothing to hide, and no step whose mount point is not there */
	static const struct fake_entry missing[] = { MISSING_("/etc/shadow"), MISSING_("/etc/gshadow") };
	c->log.over = missing;
	c->log.n_over = 2;
	ok(c, build(c, NULL));
	for (size_t i = 0; i < c->p.n_steps; i++)
		if (strcmp(c->p.steps[i].origin, "mask") != 0)
			assert_int_not_equal(c->p.steps[i].kind, MK_HIDE_FILE);
	assert_int_equal(find(&c->p, "/etc/shadow", NULL), -1);
	assert_int_equal(find(&c->p, "/etc/gshadow", NULL), -1);
	c->log.n_over = 0;

	/* a rootfs from the store has its own /etc: nothing of the host's to hide */
	c->rootfs = (struct rootfs){ .kind = ROOTFS_DIR, .name = "alpine", .path = ROOTFS, .owner = 1000 };
	ok(c, build(c, NULL));
	assert_int_equal(find(&c->p, "/etc/shadow", NULL), -1);
}

static void want(const char *out, const char *needle)
{
	if (!strstr(out, needle))
		print_error("want \"%s\" in:\n%s", needle, out);
	assert_non_null(strstr(out, needle));
}

static void lacks(const char *out, const char *needle)
{
	if (strstr(out, needle))
		print_error("do not want \"%s\" in:\n%s", needle, out);
	assert_null(strstr(out, needle));
}

static void test_plan_print_layers(void **state)
{
	struct ctx *c = *state;
	c->f.landlock_abi = 7;
	ok(c, build(c, NULL));
	cleanup_free char *out = print_to_string(&c->p, false);
	want(out, "\nlayers:\n");
	assert_true(strstr(out, "\nlayers:\n") < strstr(out, "\nmounts:\n"));
	want(out, "\n  capabilities  all dropped (kept: none); securebits locked; no_new_privs\n");
	want(out, "\n  seccomp       deny list (EPERM)");
	want(out, "; ptrace denied\n");
	want(out, "\n  landlock      ABI 7: writes only beneath /dev /tmp /run " CWD
		  " and each top-level entry of / but proc sys dev;");
	want(out, "\n  rlimits       core 0, nofile 65536, fsize 64G, nproc 8192\n");
	want(out, "\n  masks         /proc/sys /proc/bus /proc/fs /proc/irq read-only;");
	lacks(out, "off (");
	lacks(out, "lockdown");
	lacks(out, "TCP");
	lacks(out, "\n  limits");

	ok(c, build(c, "--no-cap-drop", "--no-seccomp", "--no-landlock", "--no-rlimits", "--no-mask", NULL));
	cleanup_free char *off = print_to_string(&c->p, false);
	want(off, "\n  capabilities  off (--no-cap-drop)");
	want(off, "\n  seccomp       off (--no-seccomp)\n");
	want(off, "\n  landlock      off (--no-landlock)\n");
	want(off, "\n  rlimits       core 0 (--no-rlimits: core dumps stay off)\n");
	want(off, "\n  masks         off (--no-mask)");
	lacks(off, "[mask]");

	ok(c, build(c, "--allow-ptrace", "--no-net", NULL));
	cleanup_free char *ptrace = print_to_string(&c->p, false);
	want(ptrace, "; ptrace allowed (--allow-ptrace)\n");
	want(ptrace, "; TCP bind and connect denied");

	c->f.landlock_abi = 0;
	ok(c, build(c, NULL));
	cleanup_free char *nokernel = print_to_string(&c->p, false);
	want(nokernel, "\n  landlock      off (the kernel has none)\n");
	c->f.landlock_abi = 1;
	ok(c, build(c, NULL));
	cleanup_free char *abi1 = print_to_string(&c->p, false);
	want(abi1, "\n  landlock      off (ABI 1 is too old");

	c->f.landlock_abi = 7;
	ok(c, build(c, "--lockdown", NULL));
	cleanup_free char *lock = print_to_string(&c->p, false);
	want(lock, "\n  lockdown      on");
	want(lock, "\n  rlimits       core 0, nofile 1024, fsize 1G, nproc 256\n");

	c->f.cgroup_parent = "/cg/ajail";
	ok(c, build(c, "--memory=1G", "--cpus=1.5", "--pids=100", NULL));
	cleanup_free char *cg = print_to_string(&c->p, false);
	want(cg, "\n  limits        memory 1G cpus 1.500 pids 100 (a cgroup under /cg/ajail)\n");

	c->f.cgroup_parent = NULL;
	ok(c, build(c, "--pids=100", NULL));
	cleanup_free char *nproc = print_to_string(&c->p, false);
	want(nproc, "\n  limits        pids 100 (RLIMIT_NPROC");
	want(nproc, ", nproc 100\n");
}

static void test_plan_print_status_layers(void **state)
{
	struct ctx *c = *state;
	c->f.landlock_abi = 7;
	/* all on: not a word about them */
	ok(c, build(c, NULL));
	cleanup_free char *out = print_to_string(&c->p, true);
	lacks(out, "ajail: off");
	lacks(out, "lockdown");
	lacks(out, "limits");
	/* nor about the masks, which are part of the standard jail */
	lacks(out, "/sys");
	lacks(out, "/proc");

	/* each layer turned off is named, and only it */
	static const struct {
		const char *flag;
		const char *line;
	} off[] = {
		{ "--no-cap-drop", "ajail: off      capability-drop\n" },
		{ "--no-seccomp", "ajail: off      seccomp\n" },
		{ "--allow-ptrace", "ajail: off      ptrace-filter\n" },
		{ "--no-landlock", "ajail: off      landlock\n" },
		{ "--no-rlimits", "ajail: off      rlimits\n" },
		{ "--no-mask", "ajail: off      masks\n" },
	};
	for (size_t k = 0; k < sizeof off / sizeof off[0]; k++) {
		ok(c, build(c, off[k].flag, NULL));
		cleanup_free char *s = print_to_string(&c->p, true);
		want(s, off[k].line);
	}
	ok(c, build(c, "--no-cap-drop", "--no-seccomp", "--allow-ptrace", "--no-landlock", "--no-rlimits", "--no-mask", NULL));
	cleanup_free char *all = print_to_string(&c->p, true);
	want(all, "ajail: off      capability-drop seccomp landlock rlimits masks\n");

	/* no landlock in the kernel: said every time, as the kernel's doing */
	c->f.landlock_abi = 0;
	ok(c, build(c, NULL));
	cleanup_free char *nokernel = print_to_string(&c->p, true);
	want(nokernel, "ajail: off      landlock(kernel)\n");
	c->f.landlock_abi = 1;
	ok(c, build(c, NULL));
	cleanup_free char *abi1 = print_to_string(&c->p, true);
	want(abi1, "ajail: off      landlock(kernel)\n");
	c->f.landlock_abi = 7;

	ok(c, build(c, "--lockdown", NULL));
	cleanup_free char *lock = print_to_string(&c->p, true);
	want(lock, "ajail: lockdown on\n");
	want(lock, "ajail: network  none\n");
	lacks(lock, "ajail: off");
	want(lock, "ajail: mount    " CWD " (read-only)\n");

	c->f.cgroup_parent = "/cg/ajail";
	ok(c, build(c, "--memory=512M", "--cpus=2", "--pids=64", NULL));
	cleanup_free char *cg = print_to_string(&c->p, true);
	want(cg, "ajail: limits   memory 512M cpus 2.000 pids 64\n");
}

/* ---- agent profiles, the host's CA (issue 11) ------------------------------------------------------ */

#define STATE "/home/u/.ajail/state/claude"

static void use_profile(struct ctx *c, struct profile *pr, const char *name)
{
	struct aj_err err = { 0 };
	assert_int_equal(profile_parse(profile_shipped(name), name, "shipped", pr, &err), 0);
	c->f.profile = pr;
	c->f.state_dir = STATE;
}

static void test_profile_state(void **state)
{
	struct ctx *c = *state;
	struct profile pr;
	use_profile(c, &pr, "claude");
	ok(c, build(c, "claude", NULL));
	int d = find(&c->p, "/root/.claude", "profile claude");
	check_step(&c->p, d, MK_BIND_RW, STATE "/.claude", "/root/.claude", MF_CREATE_SRC, "profile claude");
	assert_string_equal(c->p.steps[d].create_base, STATE);
	assert_null(c->p.steps[d].create_content);
	int f = find(&c->p, "/root/.claude.json", "profile claude");
	check_step(&c->p, f, MK_BIND_RW, STATE "/.claude.json", "/root/.claude.json", MF_CREATE_SRC | MF_FILE, "profile claude");
	assert_string_equal(c->p.steps[f].create_content, "{}");
	assert_string_equal(c->p.profile, "claude");
	assert_string_equal(c->p.state_dir, STATE);
	assert_non_null(config_getenv(c->p.env, "DISABLE_AUTOUPDATER"));

	/* an explicit --home-edit of the same path goes to the rootfs */
	ok(c, build(c, "--home-edit=.claude.json", "claude", NULL));
	assert_int_equal(find(&c->p, "/root/.claude.json", "profile claude"), -1);
	assert_true(find(&c->p, "/root/.claude.json", "--home-edit=.claude.json") >= 0);
	assert_true(find(&c->p, "/root/.claude", "profile claude") >= 0);

	/* a lockdown keeps nothing, and gets no key */
	static char *env[] = { "HOME=/home/u", "ANTHROPIC_API_KEY=sk-secret", NULL };
	char *const *saved = c->f.environ;
	c->f.environ = env;
	ok(c, build(c, "claude", NULL));
	assert_string_equal(config_getenv(c->p.env, "ANTHROPIC_API_KEY"), "sk-secret");
	ok(c, build(c, "--lockdown", "claude", NULL));
	assert_int_equal(find(&c->p, "/root/.claude", NULL), -1);
	assert_null(c->p.state_dir);
	assert_null(config_getenv(c->p.env, "ANTHROPIC_API_KEY"));
	c->f.environ = saved;
	profile_release(&pr);
	c->f.profile = NULL;
}

static void test_profile_args(void **state)
{
	struct ctx *c = *state;
	struct profile pr;
	use_profile(c, &pr, "codex");
	ok(c, build(c, "/usr/bin/codex", "exec", "hi", NULL));
	assert_int_equal(strv_len(c->p.argv), 5);
	assert_string_equal(c->p.argv[0], "/usr/bin/codex");
	assert_string_equal(c->p.argv[1], "-c");
	assert_string_equal(c->p.argv[2], "sandbox_mode=\"danger-full-access\"");
	assert_string_equal(c->p.argv[3], "exec");
	/* the API's address, which Codex reads from its config only */
	static char *env[] = { "HOME=/home/u", "OPENAI_BASE_URL=http://gw.example/v1", NULL };
	char *const *saved = c->f.environ;
	c->f.environ = env;
	ok(c, build(c, "codex", "exec", "hi", NULL));
	assert_int_equal(strv_len(c->p.argv), 7);
	assert_string_equal(c->p.argv[4], "openai_base_url=\"http://gw.example/v1\"");
	c->f.environ = saved;
	/* not for another command under --profile=codex */
	ok(c, build(c, "bash", "-c", "x", NULL));
	assert_int_equal(strv_len(c->p.argv), 3);
	profile_release(&pr);
	c->f.profile = NULL;
}

static void test_profile_net(void **state)
{
	struct ctx *c = *state;
	expect_error(c, build(c, "--net=allow", "true", NULL), AJ_ERR_USAGE, "--net=allow", "--allow-net", NULL);
	struct profile pr;
	use_profile(c, &pr, "claude");
	ok(c, build(c, "--net=allow", "claude", NULL));
	assert_int_equal(c->p.net.mode, NET_ALLOW);
	assert_true(c->p.net.policy.n > 0);
	profile_release(&pr);
	c->f.profile = NULL;
}

static void test_home_edit_kind(void **state)
{
	struct ctx *c = *state;
	ok(c, build(c, "--home-edit=.claude.json", "--home-edit=.claude", NULL));
	int f = find(&c->p, "/root/.claude.json", NULL);
	assert_true(c->p.steps[f].flags & MF_FILE);
	assert_string_equal(c->p.steps[f].create_content, "{}");
	assert_false(c->p.steps[find(&c->p, "/root/.claude", NULL)].flags & MF_FILE);
	expect_error(c, build(c, "--home-edit=.present.json/", NULL), AJ_ERR_USAGE, "is a file", NULL);
}

static void test_host_ca(void **state)
{
	struct ctx *c = *state;
	c->f.host_ca = "/etc/ssl/certs/ca-certificates.crt";
	ok(c, build(c, NULL));
	int i = find(&c->p, PLAN_HOST_CA, "host CA");
	check_step(&c->p, i, MK_BIND_RO, "/etc/ssl/certs/ca-certificates.crt", PLAN_HOST_CA, MF_FILE | MF_SYSTEM, "host CA");
	assert_string_equal(config_getenv(c->p.env, "SSL_CERT_FILE"), PLAN_HOST_CA);
	assert_string_equal(config_getenv(c->p.env, "NODE_EXTRA_CA_CERTS"), PLAN_HOST_CA);
	ok(c, build(c, "--no-host-ca", NULL));
	assert_int_equal(find(&c->p, PLAN_HOST_CA, NULL), -1);
	assert_null(config_getenv(c->p.env, "SSL_CERT_FILE"));
	ok(c, build(c, "--no-net", NULL));
	assert_int_equal(find(&c->p, PLAN_HOST_CA, NULL), -1);
	c->f.host_ca = NULL;
}

/* ---- layers and --commit ----------------------------------------------------------------------- */

#define BASE1 "/home/u/.ajail/fs/base1"
#define BASE2 "/home/u/.ajail/fs/base2"
#define UPPER "/home/u/.ajail/fs/.tmp/new"

/* The rootfs is a layer on base1, itself a layer on base2 (nearest first, as store_resolve gives
 * them). base1 has /root/.cfg; base2 has /usr, which the layer lacks; the layer has /etc and /root. */
static struct rootfs_base two_bases[] = {
	{ (char *)"base1", (char *)BASE1, 7, 101 },
	{ (char *)"base2", (char *)BASE2, 7, 102 },
};
static const struct fake_entry base_files[] = {
	DIR_(BASE1), DIR_(BASE1 "/root"), DIR_(BASE1 "/root/.cfg"),
	DIR_(BASE2), DIR_(BASE2 "/usr"), DIR_(BASE2 "/root"),
};

static void make_layer(struct ctx *c)
{
	c->rootfs.store_name = (char *)"alpine";
	c->rootfs.bases = two_bases;
	c->rootfs.n_bases = 2;
	c->log.over = base_files;
	c->log.n_over = sizeof base_files / sizeof base_files[0];
}

static void set_commit_facts(struct ctx *c)
{
	c->f.commit_upper = UPPER;
	c->f.commit_work = UPPER "@work";
	c->f.commit_dev = 7;
	c->f.commit_ino = 55;
}

static void test_layer_root_lowers(void **state)
{
	struct ctx *c = *state;
	make_layer(c);
	ok(c, build(c, NULL));
	struct plan *p = &c->p;
	check_step(p, 0, MK_ROOT_OVERLAY, ROOTFS, "/", 0, "rootfs");
	assert_false(p->root_persistent);
	/* the plan owns a copy of the bases; the root step stacks them beneath the layer, nearest first */
	assert_int_equal(p->rootfs.n_bases, 2);
	assert_string_equal(p->rootfs.bases[0].name, "base1");
	assert_ptr_not_equal(p->rootfs.bases[0].path, two_bases[0].path);
	assert_int_equal(p->steps[0].n_lowers, 2);
	assert_string_equal(p->steps[0].lowers[0].path, BASE1);
	assert_string_equal(p->steps[0].lowers[1].path, BASE2);
	assert_int_equal(p->steps[0].lowers[1].ino, 102);
	/* --dry-run shows the stack, top first, as overlayfs takes it */
	cleanup_free char *out = print_to_string(p, false);
	assert_non_null(strstr(out, "(lowerdir=" ROOTFS "\\:" BASE1 "\\:" BASE2 ",upperdir=<tmp>/upper"));
	/* a flat rootfs has no lowers */
	c->rootfs.n_bases = 0;
	ok(c, build(c, NULL));
	assert_int_equal(c->p.steps[0].n_lowers, 0);
}

static void test_commit_root(void **state)
{
	struct ctx *c = *state;
	make_layer(c);
	set_commit_facts(c);
	ok(c, build(c, "--commit=new", "make", NULL));
	struct plan *p = &c->p;
	check_step(p, 0, MK_ROOT_OVERLAY_KEEP, ROOTFS, "/", 0, "--commit");
	assert_string_equal(p->steps[0].upper, UPPER);
	assert_string_equal(p->steps[0].work, UPPER "@work");
	assert_int_equal(p->steps[0].upper_ino, 55);
	assert_int_equal(p->steps[0].src_ino, c->rootfs.ino);
	assert_int_equal(p->steps[0].n_lowers, 2);
	assert_string_equal(p->steps[0].lowers[0].path, BASE1);
	assert_string_equal(p->commit, "new");
	/* the session's root is not the rootfs: nothing of the rootfs itself persists */
	assert_false(p->root_persistent);
	/* the cwd is a mount, not part of the layer: its mount point is made in the upper (and removed
	 * after) by the supervisor, as in any kept layer */
	assert_int_equal(p->steps[cwd_step(p)].persist_layer, 0);
	for (size_t i = 1; i < p->n_steps; i++)
		assert_string_not_equal(p->steps[i].dst, "/");
	cleanup_free char *out = print_to_string(p, false);
	assert_non_null(strstr(out, "(lowerdir=" ROOTFS "\\:" BASE1 "\\:" BASE2 ",upperdir=" UPPER ",workdir=" UPPER "@work,"));
	cleanup_free char *status = print_to_string(p, true);
	assert_non_null(strstr(status, "layer 'new'"));

	/* a flat rootfs: the same, without lowers */
	c->rootfs.n_bases = 0;
	ok(c, build(c, "--commit=new", NULL));
	check_step(&c->p, 0, MK_ROOT_OVERLAY_KEEP, ROOTFS, "/", 0, "--commit");
	assert_int_equal(c->p.steps[0].n_lowers, 0);

	/* without the store's directories for it (a rootfs given as a path) */
	c->f.commit_upper = c->f.commit_work = NULL;
	expect_error(c, build(c, "--commit=new", NULL), AJ_ERR_USAGE, "--commit=new", "--fs=NAME", NULL);
}

static void test_commit_refuses_edits(void **state)
{
	struct ctx *c = *state;
	make_layer(c);
	set_commit_facts(c);
	expect_error(c, build(c, "--commit=new", "--fs-edit", NULL), AJ_ERR_USAGE, "--commit", "--fs-edit", NULL);
	expect_error(c, build(c, "--fs-edit=/etc", "--commit=new", NULL), AJ_ERR_USAGE, "--commit", "--fs-edit", NULL);
	expect_error(c, build(c, "--commit=new", "--home-edit", NULL), AJ_ERR_USAGE, "--commit", "--home-edit", NULL);
	expect_error(c, build(c, "--commit=new", "--home-edit=.x", NULL), AJ_ERR_USAGE, "--home-edit", NULL);
}

static void test_commit_host_refused(void **state)
{
	struct ctx *c = *state;
	/* --dry-run plans without the store's directories; either way the host rootfs has no layers */
	expect_error(c, build(c, "--commit=new", NULL), AJ_ERR_USAGE, "--commit", NULL);
	set_commit_facts(c);
	expect_error(c, build(c, "--commit=new", NULL), AJ_ERR_USAGE, "--commit", NULL);
}

static void test_layer_fs_edit(void **state)
{
	struct ctx *c = *state;
	make_layer(c);
	c->rootfs.edit_work = (char *)"/home/u/.ajail/fs/.work/alpine.42";
	c->rootfs.ino = 77;
	ok(c, build(c, "--fs-edit", NULL));
	struct plan *p = &c->p;
	/* the layer is the upper of an overlay on its bases: its nearest base is the first lower */
	check_step(p, 0, MK_ROOT_OVERLAY_KEEP, BASE1, "/", 0, "--fs-edit");
	assert_string_equal(p->steps[0].upper, ROOTFS);
	assert_string_equal(p->steps[0].work, "/home/u/.ajail/fs/.work/alpine.42");
	assert_int_equal(p->steps[0].upper_ino, 77);
	assert_int_equal(p->steps[0].src_ino, 101);
	assert_int_equal(p->steps[0].n_lowers, 1);
	assert_string_equal(p->steps[0].lowers[0].path, BASE2);
	assert_true(p->root_persistent);
	assert_int_equal(p->steps[cwd_step(p)].persist_layer, 0);
	cleanup_free char *status = print_to_string(p, true);
	assert_non_null(strstr(status, "alpine on base1 on base2"));
	c->rootfs.edit_work = NULL;
}

static void test_layer_edit_paths_from_base(void **state)
{
	struct ctx *c = *state;
	make_layer(c);
	/* a directory the layer has: its own, bound read-write */
	ok(c, build(c, "--fs-edit=/etc", NULL));
	check_step(&c->p, 1, MK_BIND_RW, ROOTFS "/etc", "/etc", 0, "--fs-edit=/etc");
	/* one that comes from a base: a bind of the layer's would hide the base's; refused, naming it */
	expect_error(c, build(c, "--fs-edit=/usr", NULL), AJ_ERR_USAGE, "--fs-edit=/usr", "'base2'", "'alpine'", NULL);
	expect_error(c, build(c, "--home-edit=.cfg", NULL), AJ_ERR_USAGE, "--home-edit=.cfg", "'base1'", NULL);
	/* in no rootfs of the stack: made in the layer */
	ok(c, build(c, "--home-edit=.new", NULL));
	check_step(&c->p, 1, MK_BIND_RW, ROOTFS "/root/.new", "/root/.new", MF_CREATE_SRC, "--home-edit=.new");
	/* in none of them at all: still refused as before */
	expect_error(c, build(c, "--fs-edit=/nope", NULL), AJ_ERR_USAGE, "--fs-edit=/nope", NULL);
	/* the layer has /root, but so do its bases: a bind of the layer's /root would hide theirs */
	expect_error(c, build(c, "--home-edit", NULL), AJ_ERR_USAGE, "--home-edit", "'base1'", NULL);
	expect_error(c, build(c, "--fs-edit=/root", NULL), AJ_ERR_USAGE, "--fs-edit=/root", "'base1'", NULL);
}

static void test_layer_home_edit_root_from_base(void **state)
{
	struct ctx *c = *state;
	make_layer(c);
	/* the layer lacks /root, which its bases have */
	static const struct fake_entry over[] = {
		MISSING_(ROOTFS "/root"), DIR_(BASE1), DIR_(BASE1 "/root"), DIR_(BASE1 "/root/.cfg"), DIR_(BASE2),
	};
	c->log.over = over;
	c->log.n_over = sizeof over / sizeof over[0];
	expect_error(c, build(c, "--home-edit", NULL), AJ_ERR_USAGE, "--home-edit", "'base1'", NULL);
	expect_error(c, build(c, "--home-edit=.cfg", NULL), AJ_ERR_USAGE, "'base1'", NULL);
}

#define S(f) cmocka_unit_test_setup_teardown(f, setup_store, teardown)
#define H(f) cmocka_unit_test_setup_teardown(f, setup_host, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		H(test_host_root),
		H(test_host_root_implicit_warns),
		H(test_host_root_no_edit),
		H(test_host_probe_error),
		S(test_store_root_overlay),
		S(test_store_root_foreign_owner_warns),
		S(test_store_root_no_net_no_resolv),
		S(test_store_root_fs_edit),
		S(test_store_fs_edit_dir),
		S(test_store_fs_edit_slash_is_whole_root),
		S(test_store_fs_edit_dir_errors),
		S(test_store_fs_edit_whole_ignores_dirs),
		S(test_store_home_edit),
		S(test_store_home_edit_with_fs_edit),
		S(test_profile_state),
		S(test_profile_args),
		S(test_profile_net),
		S(test_home_edit_kind),
		S(test_layer_root_lowers),
		S(test_commit_root),
		S(test_commit_refuses_edits),
		H(test_commit_host_refused),
		S(test_layer_fs_edit),
		S(test_layer_edit_paths_from_base),
		S(test_layer_home_edit_root_from_base),
		S(test_host_ca),
		S(test_system_mounts),
		S(test_order_system_cwd_user),
		S(test_ro_then_rw),
		S(test_modes_dir_and_file),
		S(test_source_is_canonicalised),
		S(test_source_symlink_out_of_cwd),
		S(test_mount_destinations),
		S(test_mount_default_overlay),
		S(test_mount_errors),
		S(test_devices),
		S(test_cwd_root_not_mounted),
		S(test_cwd_unreadable),
		S(test_cwd_odd_characters),
		S(test_persist_layer_fs_edit),
		S(test_persist_layer_overlay),
		S(test_persist_layer_under_cwd),
		S(test_persist_layer_nearest_wins),
		S(test_persist_layer_home_edit),
		S(test_namespaces),
		S(test_net_allow),
		S(test_net_allow_ports_move_aside),
		S(test_net_user_env_wins),
		S(test_net_errors),
		S(test_net_user_presets),
		S(test_net_dry_run_shows_it),
		S(test_new_session),
		S(test_pty),
		S(test_argv),
		S(test_clone_mounts),
		S(test_linked_worktree),
		S(test_env_and_misc),
		S(test_kind_helpers),
		S(test_overlay_escape),
		S(test_overlay_options),
		S(test_plan_print),
		S(test_plan_print_status),
		S(test_plan_print_status_escapes_and_folds),
		H(test_plan_print_status_host),
		S(test_layers_default),
		S(test_layers_landlock_paths),
		H(test_layers_landlock_paths_host),
		S(test_layers_turn_off),
		S(test_layers_landlock_net),
		S(test_lockdown),
		S(test_store_masked),
		S(test_lockdown_warns_of_ajail_args),
		S(test_lockdown_refuses),
		S(test_cgroup_limits),
		S(test_layers_covered_by_parent),
		S(test_lockdown_root_pids),
		H(test_host_hides_shadow),
		S(test_plan_print_layers),
		S(test_plan_print_status_layers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
