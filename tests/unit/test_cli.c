/* Unit tests for cli.c: every flag, AJAIL_ARGS, option order, verbs, where options stop. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

struct ctx {
	struct opts o;
	struct aj_err err;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof *c);
	if (!c)
		return -1;
	opts_init(&c->o);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	opts_release(&c->o);
	free(c);
	return 0;
}

/* Parse "ajail" followed by the NULL-terminated words, with AJAIL_ARGS = ajail_args (may be NULL).
 * Starts from fresh opts each time. */
static int parse(struct ctx *c, const char *ajail_args, ...)
{
	char *argv[64];
	int argc = 0;
	argv[argc++] = "ajail";
	va_list ap;
	va_start(ap, ajail_args);
	for (char *w; (w = va_arg(ap, char *)) != NULL;) {
		assert_true(argc < 63);
		argv[argc++] = w;
	}
	va_end(ap);
	argv[argc] = NULL;
	opts_release(&c->o);
	memset(&c->err, 0, sizeof c->err);
	return cli_parse(argc, argv, ajail_args, &c->o, &c->err);
}

/* Parsing must succeed. */
static void ok(struct ctx *c, int r)
{
	if (r != 0)
		print_error("unexpected error: %s\n", c->err.msg);
	assert_int_equal(r, 0);
}

/* Parsing must fail with a usage error whose message contains each NULL-terminated needle. */
static void expect_usage_error(struct ctx *c, int r, ...)
{
	assert_int_equal(r, -1);
	assert_int_equal(c->err.kind, AJ_ERR_USAGE);
	assert_int_equal(aj_err_exit_code(&c->err), 2);
	va_list ap;
	va_start(ap, r);
	for (const char *n; (n = va_arg(ap, const char *)) != NULL;) {
		if (!strstr(c->err.msg, n))
			print_error("message \"%s\" lacks \"%s\"\n", c->err.msg, n);
		assert_non_null(strstr(c->err.msg, n));
	}
	va_end(ap);
}

static void check_mount(const struct opts *o, size_t i, enum mount_mode mode, const char *src, const char *dst,
			const char *origin)
{
	assert_true(i < o->n_mounts);
	const struct opt_mount *m = &o->mounts[i];
	assert_int_equal(m->mode, mode);
	if (src)
		assert_string_equal(m->src, src);
	else
		assert_null(m->src);
	if (dst)
		assert_string_equal(m->dst, dst);
	else
		assert_null(m->dst);
	assert_string_equal(m->origin, origin);
}

/* ---- defaults ---------------------------------------------------------------------------------- */

static void test_defaults(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, NULL, NULL));
	struct opts *o = &c->o;
	assert_int_equal(o->verb, VERB_RUN);
	assert_null(o->fs);
	assert_false(o->fs_edit);
	assert_null(o->fs_edit_dirs);
	assert_false(o->home_edit);
	assert_null(o->home_edit_dirs);
	assert_int_equal(o->n_mounts, 0);
	assert_null(o->devs);
	assert_int_equal(o->cap_add, 0);
	assert_false(o->no_net);
	assert_false(o->clone);
	assert_int_equal(o->new_session, TRI_AUTO);
	assert_false(o->quiet);
	assert_false(o->dry_run);
	assert_false(o->help);
	assert_false(o->version);
	assert_int_equal(o->verbose, 0);
	assert_null(o->argv);
	assert_null(o->verb_args);
	/* every defense-in-depth layer on, no limits */
	assert_false(o->no_cap_drop);
	assert_false(o->no_seccomp);
	assert_false(o->allow_ptrace);
	assert_false(o->no_landlock);
	assert_false(o->no_rlimits);
	assert_false(o->no_mask);
	assert_false(o->lockdown);
	assert_int_equal(o->memory, 0);
	assert_int_equal(o->cpus_milli, 0);
	assert_int_equal(o->pids, 0);
}

static void test_release_reinits(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, NULL, "--rw", "--new-session", "--fs=x", "--dev=kvm", "ls", NULL));
	opts_release(&c->o);
	assert_int_equal(c->o.n_mounts, 0);
	assert_null(c->o.mounts);
	assert_null(c->o.fs);
	assert_null(c->o.argv);
	assert_null(c->o.devs);
	assert_int_equal(c->o.new_session, TRI_AUTO);
}

/* ---- --fs, --fs-edit, --home-edit --------------------------------------------------------------- */

static void test_fs(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, NULL, "--fs=alpine", NULL));
	assert_string_equal(c->o.fs, "alpine");
	assert_null(c->o.argv);

	/* separate value word, and the command after it is still the command */
	ok(c, parse(c, NULL, "--fs", "debian", "ls", "-l", NULL));
	assert_string_equal(c->o.fs, "debian");
	assert_int_equal(strv_len(c->o.argv), 2);
	assert_string_equal(c->o.argv[0], "ls");
	assert_string_equal(c->o.argv[1], "-l");

	/* the last one wins */
	ok(c, parse(c, NULL, "--fs=a", "--fs=/srv/root", NULL));
	assert_string_equal(c->o.fs, "/srv/root");

	ok(c, parse(c, NULL, "--fs=host", NULL));
	assert_string_equal(c->o.fs, "host");
}

static void test_fs_errors(void **state)
{
	struct ctx *c = *state;
	expect_usage_error(c, parse(c, NULL, "--fs", NULL), "--fs", "needs a value", NULL);
	expect_usage_error(c, parse(c, NULL, "--fs=", NULL), "--fs=", "empty value", NULL);
}

static void test_fs_edit(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, NULL, "--fs-edit", "apk", "add", "vim", NULL));
	assert_true(c->o.fs_edit);
	assert_null(c->o.fs_edit_dirs);
	/* --fs-edit takes no separate value word: "apk" is the command */
	assert_string_equal(c->o.argv[0], "apk");
	assert_int_equal(strv_len(c->o.argv), 3);

	ok(c, parse(c, NULL, "--fs-edit=/etc", "--fs-edit=/usr//lib/", "--fs-edit=/opt/./x", NULL));
	assert_false(c->o.fs_edit);
	assert_int_equal(strv_len(c->o.fs_edit_dirs), 3);
	assert_string_equal(c->o.fs_edit_dirs[0], "/etc");
	assert_string_equal(c->o.fs_edit_dirs[1], "/usr/lib");
	assert_string_equal(c->o.fs_edit_dirs[2], "/opt/x");

	/* the whole rootfs as a directory is plain --fs-edit, as --home-edit=/ is --home-edit */
	ok(c, parse(c, NULL, "--fs-edit=/", NULL));
	assert_true(c->o.fs_edit);
	assert_null(c->o.fs_edit_dirs);
	ok(c, parse(c, NULL, "--fs-edit=//./", NULL));
	assert_true(c->o.fs_edit);
	assert_null(c->o.fs_edit_dirs);
}

/* The original ajail took a subtree of the rootfs: `--fs-edit=etc` is /etc. */
static void test_fs_edit_relative(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, NULL, "--fs-edit=etc", "--fs-edit=./usr/lib/", NULL));
	assert_int_equal(strv_len(c->o.fs_edit_dirs), 2);
	assert_string_equal(c->o.fs_edit_dirs[0], "/etc");
	assert_string_equal(c->o.fs_edit_dirs[1], "/usr/lib");
}

static void test_fs_edit_errors(void **state)
{
	struct ctx *c = *state;
	expect_usage_error(c, parse(c, NULL, "--fs-edit=etc/../..", NULL), "--fs-edit=etc/../..", "'..'", NULL);
	expect_usage_error(c, parse(c, NULL, "--fs-edit=/etc/../root", NULL), "--fs-edit=/etc/../root", "'..'", NULL);
	expect_usage_error(c, parse(c, NULL, "--fs-edit=/..", NULL), "'..'", NULL);
	expect_usage_error(c, parse(c, NULL, "--fs-edit=", NULL), "empty value", NULL);
}

static void test_commit(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, NULL, "--fs=debian", "--commit=debian-jq", "apt-get", "install", "-y", "jq", NULL));
	assert_string_equal(c->o.commit, "debian-jq");
	assert_string_equal(c->o.fs, "debian");
	assert_int_equal(strv_len(c->o.argv), 4);
	assert_string_equal(c->o.argv[0], "apt-get");
	/* a separate value word; the last one wins; names as the store takes them */
	ok(c, parse(c, NULL, "--commit", "a", "--commit=B.2_x-y", "true", NULL));
	assert_string_equal(c->o.commit, "B.2_x-y");
	assert_string_equal(c->o.argv[0], "true");
	ok(c, parse(c, "--commit=from-env", NULL));
	assert_string_equal(c->o.commit, "from-env");
	ok(c, parse(c, NULL, NULL));
	assert_null(c->o.commit);
}

static void test_commit_errors(void **state)
{
	struct ctx *c = *state;
	expect_usage_error(c, parse(c, NULL, "--commit", NULL), "--commit", "needs a value", NULL);
	expect_usage_error(c, parse(c, NULL, "--commit=", NULL), "--commit=", "empty value", NULL);
	/* a name of the store: no path, no '..', nothing that is not a letter, digit, '.', '_' or '-' */
	expect_usage_error(c, parse(c, NULL, "--commit=../x", NULL), "--commit=../x", NULL);
	expect_usage_error(c, parse(c, NULL, "--commit=a/b", NULL), "--commit=a/b", NULL);
	expect_usage_error(c, parse(c, NULL, "--commit=.hidden", NULL), "--commit=.hidden", NULL);
	expect_usage_error(c, parse(c, NULL, "--commit=-x", NULL), "--commit=-x", NULL);
	expect_usage_error(c, parse(c, NULL, "--commit=a b", NULL), "--commit=a b", NULL);
	expect_usage_error(c, parse(c, NULL, "--commit=a@work", NULL), "--commit=a@work", NULL);
	/* names the store gives a meaning of its own */
	expect_usage_error(c, parse(c, NULL, "--commit=host", NULL), "--commit=host", "reserved", NULL);
	expect_usage_error(c, parse(c, NULL, "--commit=default", NULL), "--commit=default", "reserved", NULL);
	char longname[300];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	cleanup_free char *arg = xasprintf("--commit=%s", longname);
	expect_usage_error(c, parse(c, NULL, arg, NULL), "characters", NULL);
	/* from AJAIL_ARGS, the message says so */
	expect_usage_error(c, parse(c, "--commit=../x", NULL), "AJAIL_ARGS", NULL);
}

static void test_home_edit(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, NULL, "--home-edit", NULL));
	assert_true(c->o.home_edit);
	assert_null(c->o.home_edit_dirs);

	ok(c, parse(c, NULL, "--home-edit=.claude", "--home-edit=a//b/", "--home-edit=./.config/x", NULL));
	assert_false(c->o.home_edit);
	assert_int_equal(strv_len(c->o.home_edit_dirs), 3);
	assert_string_equal(c->o.home_edit_dirs[0], ".claude");
	assert_string_equal(c->o.home_edit_dirs[1], "a/b/"); /* the '/' says "a directory" (plan.c) */
	assert_string_equal(c->o.home_edit_dirs[2], ".config/x");

	/* SUBDIR naming /root itself means all of it */
	ok(c, parse(c, NULL, "--home-edit=.", NULL));
	assert_true(c->o.home_edit);
	assert_null(c->o.home_edit_dirs);
	ok(c, parse(c, NULL, "--home-edit=/", NULL));
	assert_true(c->o.home_edit);
	assert_null(c->o.home_edit_dirs);
}

static void test_home_edit_errors(void **state)
{
	struct ctx *c = *state;
	expect_usage_error(c, parse(c, NULL, "--home-edit=../etc", NULL), "--home-edit=../etc", "'..'", NULL);
	expect_usage_error(c, parse(c, NULL, "--home-edit=a/../../b", NULL), "'..'", NULL);
	expect_usage_error(c, parse(c, NULL, "--home-edit=", NULL), "empty value", NULL);
	/* An absolute path outside /root would have been kept as /root/etc for good. */
	expect_usage_error(c, parse(c, NULL, "--home-edit=/etc", NULL), "--home-edit=/etc", "relative to the jail's home",
			   "--fs-edit=/etc", NULL);
	expect_usage_error(c, parse(c, NULL, "--home-edit=/home/me/.claude", NULL), "relative to the jail's home", NULL);
	expect_usage_error(c, parse(c, NULL, "--home-edit=/rootx", NULL), "relative to the jail's home", NULL);
}

/* /root/PATH is PATH; /root itself and / are the whole home. */
static void test_home_edit_absolute(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, NULL, "--home-edit=/root/.claude", "--home-edit=/root/.config/", NULL));
	assert_int_equal(strv_len(c->o.home_edit_dirs), 2);
	assert_string_equal(c->o.home_edit_dirs[0], ".claude");
	assert_string_equal(c->o.home_edit_dirs[1], ".config/");
	ok(c, parse(c, NULL, "--home-edit=/root", NULL));
	assert_true(c->o.home_edit);
	ok(c, parse(c, NULL, "--home-edit=/", NULL));
	assert_true(c->o.home_edit);
}

/* ---- directory options ------------------------------------------------------------------------- */

static void test_dir_options_bare(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, NULL, "--ro", "--rol", "--rw", "--hide", NULL));
	assert_int_equal(c->o.n_mounts, 4);
	check_mount(&c->o, 0, MODE_RO, NULL, NULL, "--ro");
	check_mount(&c->o, 1, MODE_ROL, NULL, NULL, "--rol");
	check_mount(&c->o, 2, MODE_RW, NULL, NULL, "--rw");
	check_mount(&c->o, 3, MODE_HIDE, NULL, NULL, "--hide");
	assert_null(c->o.argv);
}

static void test_dir_options_with_dir(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, NULL, "--ro=/usr/src", "--rol=.git", "--rw=build", "--hide=secret dir", NULL));
	assert_int_equal(c->o.n_mounts, 4);
	/* paths are kept exactly as written; plan_build resolves them */
	check_mount(&c->o, 0, MODE_RO, "/usr/src", NULL, "--ro=/usr/src");
	check_mount(&c->o, 1, MODE_ROL, ".git", NULL, "--rol=.git");
	check_mount(&c->o, 2, MODE_RW, "build", NULL, "--rw=build");
	check_mount(&c->o, 3, MODE_HIDE, "secret dir", NULL, "--hide=secret dir");
}

static void test_dir_option_does_not_take_next_word(void **state)
{
	struct ctx *c = *state;
	/* the value is optional, so it must be attached: "build" is the command */
	ok(c, parse(c, NULL, "--ro", "build", NULL));
	assert_int_equal(c->o.n_mounts, 1);
	check_mount(&c->o, 0, MODE_RO, NULL, NULL, "--ro");
	assert_int_equal(strv_len(c->o.argv), 1);
	assert_string_equal(c->o.argv[0], "build");
}

static void test_mount_order_preserved(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, NULL, "--ro", "--rw=build", NULL));
	assert_int_equal(c->o.n_mounts, 2);
	check_mount(&c->o, 0, MODE_RO, NULL, NULL, "--ro");
	check_mount(&c->o, 1, MODE_RW, "build", NULL, "--rw=build");

	ok(c, parse(c, NULL, "--hide=a", "--mount=/x,/y,rol", "--rw", "--ro=a/b", "--rol=a", NULL));
	assert_int_equal(c->o.n_mounts, 5);
	check_mount(&c->o, 0, MODE_HIDE, "a", NULL, "--hide=a");
	check_mount(&c->o, 1, MODE_ROL, "/x", "/y", "--mount=/x,/y,rol");
	check_mount(&c->o, 2, MODE_RW, NULL, NULL, "--rw");
	check_mount(&c->o, 3, MODE_RO, "a/b", NULL, "--ro=a/b");
	check_mount(&c->o, 4, MODE_ROL, "a", NULL, "--rol=a");
}

static void test_dir_option_empty_value(void **state)
{
	struct ctx *c = *state;
	expect_usage_error(c, parse(c, NULL, "--rw=", NULL), "--rw=", "empty value", NULL);
	expect_usage_error(c, parse(c, NULL, "--hide=", NULL), "--hide=", NULL);
}

/* ---- --mount ----------------------------------------------------------------------------------- */

static void test_mount_spec(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, NULL, "--mount=/a,/b", NULL));
	/* The original ajail's meaning: an ephemeral overlay unless ,rw asks for writes to reach the host. */
	check_mount(&c->o, 0, MODE_RO, "/a", "/b", "--mount=/a,/b");

	ok(c, parse(c, NULL, "--mount=/a,/b,ro", "--mount=/a,/c,rol", "--mount=/a,/d,rw", "--mount=/a,/e,hide",
			       "--mount=/dev/kvm,/dev/kvm,dev", NULL));
	assert_int_equal(c->o.n_mounts, 5);
	check_mount(&c->o, 0, MODE_RO, "/a", "/b", "--mount=/a,/b,ro");
	check_mount(&c->o, 1, MODE_ROL, "/a", "/c", "--mount=/a,/c,rol");
	check_mount(&c->o, 2, MODE_RW, "/a", "/d", "--mount=/a,/d,rw");
	check_mount(&c->o, 3, MODE_HIDE, "/a", "/e", "--mount=/a,/e,hide");
	check_mount(&c->o, 4, MODE_DEV, "/dev/kvm", "/dev/kvm", "--mount=/dev/kvm,/dev/kvm,dev");

	/* the value may be the next word */
	ok(c, parse(c, NULL, "--mount", "src,dst", "cmd", NULL));
	check_mount(&c->o, 0, MODE_RO, "src", "dst", "--mount=src,dst");
	assert_string_equal(c->o.argv[0], "cmd");
}

static void test_mount_escapes(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, NULL, "--mount=/a\\,b,/c\\,d,ro", NULL));
	check_mount(&c->o, 0, MODE_RO, "/a,b", "/c,d", "--mount=/a\\,b,/c\\,d,ro");

	/* "\\" is a backslash; a backslash before anything else stays as it is */
	ok(c, parse(c, NULL, "--mount=/x\\\\,/y\\z", NULL));
	check_mount(&c->o, 0, MODE_RO, "/x\\", "/y\\z", "--mount=/x\\\\,/y\\z");

	/* other odd characters pass through untouched */
	ok(c, parse(c, NULL, "--mount=/a b:c=d,/e\nf", NULL));
	check_mount(&c->o, 0, MODE_RO, "/a b:c=d", "/e\nf", "--mount=/a b:c=d,/e\nf");
}

static void test_mount_errors(void **state)
{
	struct ctx *c = *state;
	expect_usage_error(c, parse(c, NULL, "--mount=/a", NULL), "--mount=/a", "SRC,DST", NULL);
	expect_usage_error(c, parse(c, NULL, "--mount=,/b", NULL), "SRC,DST", NULL);
	expect_usage_error(c, parse(c, NULL, "--mount=/a,", NULL), "SRC,DST", NULL);
	expect_usage_error(c, parse(c, NULL, "--mount=/a\\,/b", NULL), "SRC,DST", NULL);
	expect_usage_error(c, parse(c, NULL, "--mount=/a,/b,ro,x", NULL), "too many fields", NULL);
	expect_usage_error(c, parse(c, NULL, "--mount=/a,/b,rx", NULL), "--mount=/a,/b,rx", "unknown mode 'rx'", NULL);
	expect_usage_error(c, parse(c, NULL, "--mount=/a,/b,", NULL), "unknown mode ''", NULL);
	expect_usage_error(c, parse(c, NULL, "--mount=/a,/b,RO", NULL), "unknown mode 'RO'", NULL);
	expect_usage_error(c, parse(c, NULL, "--mount", NULL), "needs a value", NULL);
	expect_usage_error(c, parse(c, NULL, "--mount=", NULL), "empty value", NULL);
	/* nothing half-parsed is left behind */
	assert_int_equal(c->o.n_mounts, 0);
}

/* ---- --dev, --cap-add -------------------------------------------------------------------------- */

static void test_dev(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, NULL, "--dev=kvm", "--dev=/dev/fuse", "--dev=net/tun", "--dev", "/dev/dri/", NULL));
	assert_int_equal(strv_len(c->o.devs), 4);
	assert_string_equal(c->o.devs[0], "kvm");
	assert_string_equal(c->o.devs[1], "fuse");
	assert_string_equal(c->o.devs[2], "net/tun");
	assert_string_equal(c->o.devs[3], "dri");
}

static void test_dev_errors(void **state)
{
	struct ctx *c = *state;
	expect_usage_error(c, parse(c, NULL, "--dev=../etc/passwd", NULL), "--dev=../etc/passwd", "under /dev", NULL);
	expect_usage_error(c, parse(c, NULL, "--dev=/dev/../etc/shadow", NULL), "under /dev", NULL);
	expect_usage_error(c, parse(c, NULL, "--dev=/dev/", NULL), "under /dev", NULL);
	/* any other absolute path is taken as relative to /dev, so it can never leave it */
	ok(c, parse(c, NULL, "--dev=/etc/passwd", NULL));
	assert_string_equal(c->o.devs[0], "etc/passwd");
	expect_usage_error(c, parse(c, NULL, "--dev=", NULL), "empty value", NULL);
	expect_usage_error(c, parse(c, NULL, "--dev", NULL), "needs a value", NULL);
}

static void test_cap_add(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, NULL, "--cap-add=NET_RAW", NULL));
	assert_int_equal(c->o.cap_add, UINT64_C(1) << 13);

	ok(c, parse(c, NULL, "--cap-add=cap_net_raw", NULL));
	assert_int_equal(c->o.cap_add, UINT64_C(1) << 13);

	ok(c, parse(c, NULL, "--cap-add=CAP_SYS_PTRACE", "--cap-add", "chown", "--cap-add=net_raw", NULL));
	assert_int_equal(c->o.cap_add, (UINT64_C(1) << 19) | (UINT64_C(1) << 0) | (UINT64_C(1) << 13));

	ok(c, parse(c, NULL, "--cap-add=checkpoint_restore", NULL));
	assert_int_equal(c->o.cap_add, UINT64_C(1) << 40);
}

static void test_cap_add_errors(void **state)
{
	struct ctx *c = *state;
	expect_usage_error(c, parse(c, NULL, "--cap-add=NET_RAWX", NULL), "--cap-add=NET_RAWX", "unknown capability 'NET_RAWX'",
			   NULL);
	expect_usage_error(c, parse(c, NULL, "--cap-add=CAP_", NULL), "unknown capability", NULL);
	expect_usage_error(c, parse(c, NULL, "--cap-add=13", NULL), "unknown capability", NULL);
}

static void test_cap_names(void **state)
{
	assert_int_equal(cli_cap_from_name("NET_RAW"), 13);
	assert_int_equal(cli_cap_from_name("net_raw"), 13);
	assert_int_equal(cli_cap_from_name("CAP_NET_RAW"), 13);
	assert_int_equal(cli_cap_from_name("cap_net_raw"), 13);
	assert_int_equal(cli_cap_from_name("CHOWN"), 0);
	assert_int_equal(cli_cap_from_name("SYS_ADMIN"), 21);
	assert_int_equal(cli_cap_from_name("MKNOD"), 27);
	assert_int_equal(cli_cap_from_name("CHECKPOINT_RESTORE"), 40);
	assert_int_equal(cli_cap_from_name("NOPE"), -1);
	assert_int_equal(cli_cap_from_name(""), -1);
	assert_int_equal(cli_cap_last(), 40);
	assert_string_equal(cli_cap_name(13), "NET_RAW");
	assert_string_equal(cli_cap_name(0), "CHOWN");
	assert_string_equal(cli_cap_name(40), "CHECKPOINT_RESTORE");
	assert_string_equal(cli_cap_name(41), "?");
	assert_string_equal(cli_cap_name(-1), "?");
	/* every name round-trips */
	for (int i = 0; i <= cli_cap_last(); i++)
		assert_int_equal(cli_cap_from_name(cli_cap_name(i)), i);
}

/* ---- boolean flags ----------------------------------------------------------------------------- */

static void test_simple_flags(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, NULL, "--no-net", NULL));
	assert_true(c->o.no_net);

	ok(c, parse(c, NULL, "--new-session", NULL));
	assert_int_equal(c->o.new_session, TRI_YES);

	ok(c, parse(c, NULL, "--dry-run", NULL));
	assert_true(c->o.dry_run);

	ok(c, parse(c, NULL, "--version", NULL));
	assert_true(c->o.version);
	assert_false(c->o.help);
	ok(c, parse(c, NULL, "-V", NULL));
	assert_true(c->o.version);
	assert_false(c->o.verbose);

	ok(c, parse(c, NULL, "-h", NULL));
	assert_true(c->o.help);
	ok(c, parse(c, NULL, "--help", NULL));
	assert_true(c->o.help);

	ok(c, parse(c, NULL, "-q", NULL));
	assert_true(c->o.quiet);
	ok(c, parse(c, NULL, "--quiet", NULL));
	assert_true(c->o.quiet);
}

static void test_clone_flag(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, NULL, "--clone", "claude", NULL));
	assert_true(c->o.clone);
	assert_null(c->o.clone_branch);
	assert_string_equal(c->o.argv[0], "claude");

	ok(c, parse(c, NULL, "--clone=feature/x", NULL));
	assert_true(c->o.clone);
	assert_string_equal(c->o.clone_branch, "feature/x");

	/* a bare --clone after a named one clears the branch */
	ok(c, parse(c, NULL, "--clone=a", "--clone", NULL));
	assert_true(c->o.clone);
	assert_null(c->o.clone_branch);
}

static void test_verbose_counts(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, NULL, "-v", NULL));
	assert_int_equal(c->o.verbose, 1);
	ok(c, parse(c, NULL, "-vv", NULL));
	assert_int_equal(c->o.verbose, 2);
	ok(c, parse(c, NULL, "-v", "--verbose", "-vvv", NULL));
	assert_int_equal(c->o.verbose, 5);
}

static void test_bundled_short(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, NULL, "-qv", NULL));
	assert_true(c->o.quiet);
	assert_int_equal(c->o.verbose, 1);
	assert_false(c->o.help);

	ok(c, parse(c, NULL, "-vqhv", NULL));
	assert_true(c->o.quiet);
	assert_true(c->o.help);
	assert_int_equal(c->o.verbose, 2);
}

static void test_flags_take_no_value(void **state)
{
	struct ctx *c = *state;
	expect_usage_error(c, parse(c, NULL, "--no-net=1", NULL), "'--no-net'", "takes no value", NULL);
	expect_usage_error(c, parse(c, NULL, "--quiet=yes", NULL), "'--quiet'", "takes no value", NULL);
	expect_usage_error(c, parse(c, NULL, "--dry-run=", NULL), "'--dry-run'", NULL);
	static const char *const layer_flags[] = { "--no-cap-drop=1", "--no-seccomp=yes", "--allow-ptrace=1", "--no-landlock=1",
						   "--no-rlimits=1", "--no-mask=1", "--lockdown=1" };
	for (size_t k = 0; k < sizeof layer_flags / sizeof layer_flags[0]; k++)
		expect_usage_error(c, parse(c, NULL, layer_flags[k], NULL), "takes no value", NULL);
	expect_usage_error(c, parse(c, NULL, "--lockdown=1", NULL), "'--lockdown'", NULL);
}

/* ---- defense-in-depth layers and limits --------------------------------------------------------- */

/* The layer flags, in the order of struct opts. */
static void check_layer_flags(const struct opts *o, bool no_cap_drop, bool no_seccomp, bool allow_ptrace,
			      bool no_landlock, bool no_rlimits, bool no_mask, bool lockdown)
{
	assert_int_equal(o->no_cap_drop, no_cap_drop);
	assert_int_equal(o->no_seccomp, no_seccomp);
	assert_int_equal(o->allow_ptrace, allow_ptrace);
	assert_int_equal(o->no_landlock, no_landlock);
	assert_int_equal(o->no_rlimits, no_rlimits);
	assert_int_equal(o->no_mask, no_mask);
	assert_int_equal(o->lockdown, lockdown);
}

static void test_layer_flags(void **state)
{
	struct ctx *c = *state;
	/* each sets its own field and no other */
	ok(c, parse(c, NULL, "--no-cap-drop", NULL));
	check_layer_flags(&c->o, true, false, false, false, false, false, false);
	ok(c, parse(c, NULL, "--no-seccomp", NULL));
	check_layer_flags(&c->o, false, true, false, false, false, false, false);
	ok(c, parse(c, NULL, "--allow-ptrace", NULL));
	check_layer_flags(&c->o, false, false, true, false, false, false, false);
	ok(c, parse(c, NULL, "--no-landlock", NULL));
	check_layer_flags(&c->o, false, false, false, true, false, false, false);
	ok(c, parse(c, NULL, "--no-rlimits", NULL));
	check_layer_flags(&c->o, false, false, false, false, true, false, false);
	ok(c, parse(c, NULL, "--no-mask", NULL));
	check_layer_flags(&c->o, false, false, false, false, false, true, false);
	ok(c, parse(c, NULL, "--lockdown", NULL));
	check_layer_flags(&c->o, false, false, false, false, false, false, true);
	/* --lockdown is a request; what it implies (no network, ...) is the plan's to decide */
	assert_false(c->o.no_net);
	assert_int_equal(c->o.n_mounts, 0);

	/* from AJAIL_ARGS and the command line together; the command is not an option */
	ok(c, parse(c, "--no-seccomp; --no-mask", "--allow-ptrace", "gdb", "--no-landlock", NULL));
	check_layer_flags(&c->o, false, true, true, false, false, true, false);
	assert_string_equal(c->o.argv[0], "gdb");
	assert_string_equal(c->o.argv[1], "--no-landlock");
}

static void test_memory(void **state)
{
	struct ctx *c = *state;
	static const struct {
		const char *arg;
		uint64_t bytes;
	} good[] = {
		{ "--memory=512M", UINT64_C(512) << 20 },
		{ "--memory=4G", UINT64_C(4) << 30 },
		{ "--memory=1.5G", UINT64_C(3) << 29 },
		{ "--memory=2GiB", UINT64_C(2) << 30 },
		{ "--memory=1073741824", UINT64_C(1) << 30 },
		{ "--memory=4M", UINT64_C(4) << 20 }, /* the least */
		{ "--memory=4096K", UINT64_C(4) << 20 },
		{ "--memory=1t", UINT64_C(1) << 40 },
	};
	for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
		ok(c, parse(c, NULL, good[k].arg, NULL));
		if (c->o.memory != good[k].bytes)
			print_error("%s gave %llu\n", good[k].arg, (unsigned long long)c->o.memory);
		assert_int_equal(c->o.memory, good[k].bytes);
	}
	/* the value as the next word; the command after it is still the command */
	ok(c, parse(c, NULL, "--memory", "2G", "make", NULL));
	assert_int_equal(c->o.memory, UINT64_C(2) << 30);
	assert_string_equal(c->o.argv[0], "make");
	/* the command line wins over AJAIL_ARGS */
	ok(c, parse(c, "--memory=1G", "--memory=3G", NULL));
	assert_int_equal(c->o.memory, UINT64_C(3) << 30);

	/* a usage error naming the option as written */
	static const char *const bad[] = {
		"--memory=0", "--memory=1M", "--memory=4095K", "--memory=abc", "--memory=1.5", "--memory=-1",
		"--memory=1X", "--memory=1G5", "--memory=1 G", "--memory=99999999999999999999T",
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
		expect_usage_error(c, parse(c, NULL, bad[k], NULL), bad[k], NULL);
	expect_usage_error(c, parse(c, NULL, "--memory=1M", NULL), "at least 4M", NULL);
	expect_usage_error(c, parse(c, NULL, "--memory=", NULL), "--memory", "empty value", NULL);
	expect_usage_error(c, parse(c, NULL, "--memory", NULL), "'--memory'", "needs a value", NULL);
	expect_usage_error(c, parse(c, "--memory=1M", NULL), "AJAIL_ARGS", "--memory=1M", NULL);
}

static void test_cpus(void **state)
{
	struct ctx *c = *state;
	static const struct {
		const char *arg;
		unsigned milli;
	} good[] = {
		{ "--cpus=2", 2000 }, { "--cpus=0.5", 500 }, { "--cpus=1.25", 1250 }, { "--cpus=4096", 4096000 },
	};
	for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
		ok(c, parse(c, NULL, good[k].arg, NULL));
		assert_int_equal(c->o.cpus_milli, good[k].milli);
	}
	ok(c, parse(c, NULL, "--cpus", "3", "make", NULL));
	assert_int_equal(c->o.cpus_milli, 3000);
	assert_string_equal(c->o.argv[0], "make");

	static const char *const bad[] = {
		"--cpus=0", "--cpus=-1", "--cpus=abc", "--cpus=5000", "--cpus=0.0", "--cpus=0.005", "--cpus=1.", "--cpus=.5", "--cpus=1.5x",
		"--cpus=4096.5", "--cpus=99999999999",
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
		expect_usage_error(c, parse(c, NULL, bad[k], NULL), bad[k], NULL);
	expect_usage_error(c, parse(c, NULL, "--cpus", NULL), "'--cpus'", "needs a value", NULL);
}

static void test_pids(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, NULL, "--pids=512", NULL));
	assert_int_equal(c->o.pids, 512);
	ok(c, parse(c, NULL, "--pids=8", NULL)); /* the least */
	assert_int_equal(c->o.pids, 8);
	ok(c, parse(c, NULL, "--pids", "100", "make", NULL));
	assert_int_equal(c->o.pids, 100);
	assert_string_equal(c->o.argv[0], "make");

	static const char *const bad[] = {
		"--pids=0", "--pids=3", "--pids=7", "--pids=abc", "--pids=12x", "--pids=-1", "--pids=+12", "--pids= 12",
		"--pids=1.5", "--pids=99999999999999999999",
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
		expect_usage_error(c, parse(c, NULL, bad[k], NULL), bad[k], NULL);
	expect_usage_error(c, parse(c, NULL, "--pids=3", NULL), "from 8", NULL);
}

static void check_size(const char *s, uint64_t want)
{
	uint64_t got = 0;
	if (cli_parse_size(s, &got) != 0)
		print_error("cli_parse_size(\"%s\") failed\n", s);
	else if (got != want)
		print_error("cli_parse_size(\"%s\") = %llu, want %llu\n", s, (unsigned long long)got, (unsigned long long)want);
	assert_int_equal(cli_parse_size(s, &got), 0);
	assert_int_equal(got, want);
}

static void check_size_bad(const char *s)
{
	uint64_t got = 0;
	if (cli_parse_size(s, &got) != -1)
		print_error("cli_parse_size(\"%s\") accepted: %llu\n", s, (unsigned long long)got);
	assert_int_equal(cli_parse_size(s, &got), -1);
}

static void test_parse_size(void **state)
{
	check_size("0", 0);
	check_size("1", 1);
	check_size("1073741824", UINT64_C(1) << 30);
	/* binary units, either case, with or without B or iB */
	check_size("1K", 1024);
	check_size("1k", 1024);
	check_size("1KB", 1024);
	check_size("1KiB", 1024);
	check_size("1kib", 1024);
	check_size("3M", UINT64_C(3) << 20);
	check_size("2G", UINT64_C(2) << 30);
	check_size("2gb", UINT64_C(2) << 30);
	check_size("16T", UINT64_C(16) << 40);
	/* fractions of a unit */
	check_size("1.5K", 1536);
	check_size("0.5M", UINT64_C(512) << 10);
	check_size("1.5G", UINT64_C(3) << 29);
	check_size("0.25GiB", UINT64_C(1) << 28);
	/* large, in range */
	check_size("4096T", UINT64_C(4096) << 40);
	check_size("1000000000000", UINT64_C(1000000000000));

	check_size_bad("");
	check_size_bad("abc");
	check_size_bad("-1");
	check_size_bad("+1");
	check_size_bad(" 1G");
	check_size_bad("1G ");
	check_size_bad("1X");
	check_size_bad("1E");
	check_size_bad("1e3");
	check_size_bad("1G5");
	check_size_bad("1GiBx");
	check_size_bad("1GG");
	check_size_bad("1iB");
	check_size_bad(".5G");
	check_size_bad("1.G");
	check_size_bad("1.5.5G");
	check_size_bad("1.5"); /* a fraction of a byte */
	check_size_bad("0x10");
	/* overflow is an error, never a wrapped-around small number */
	check_size_bad("99999999999999999999T");
	check_size_bad("99999999999999999999");
	check_size_bad("18446744073709551616"); /* 2^64 */
	check_size_bad("16777216T");            /* 2^64 */
	check_size_bad("17179869184G");         /* 2^64 */
	check_size_bad("99999999999999999999999999999999999999K");
}

static void check_cpus(const char *s, unsigned want)
{
	unsigned got = 0;
	if (cli_parse_cpus(s, &got) != 0)
		print_error("cli_parse_cpus(\"%s\") failed\n", s);
	assert_int_equal(cli_parse_cpus(s, &got), 0);
	assert_int_equal(got, want);
}

static void check_cpus_bad(const char *s)
{
	unsigned got = 0;
	if (cli_parse_cpus(s, &got) != -1)
		print_error("cli_parse_cpus(\"%s\") accepted: %u\n", s, got);
	assert_int_equal(cli_parse_cpus(s, &got), -1);
}

static void test_parse_cpus(void **state)
{
	check_cpus("1", 1000);
	check_cpus("2", 2000);
	check_cpus("0.5", 500);
	check_cpus("0.25", 250);
	check_cpus("1.25", 1250);
	check_cpus("1.5", 1500);
	check_cpus("0.01", 10);
	check_cpus("1.0", 1000);
	check_cpus("4096", 4096000);
	check_cpus("4096.000", 4096000);

	check_cpus_bad("");
	check_cpus_bad("0");
	check_cpus_bad("0.0");
	check_cpus_bad("0.000");
	/* under 0.01 the quota would be below the 1 ms cpu.max accepts */
	check_cpus_bad("0.009");
	check_cpus_bad("0.001");
	check_cpus_bad("0.0099");
	check_cpus_bad("-1");
	check_cpus_bad("+1");
	check_cpus_bad(" 1");
	check_cpus_bad("1 ");
	check_cpus_bad("abc");
	check_cpus_bad("1x");
	check_cpus_bad(".");
	check_cpus_bad(".5");
	check_cpus_bad("1.");
	check_cpus_bad("1.5.5");
	check_cpus_bad("4097");
	check_cpus_bad("4096.001");
	check_cpus_bad("5000");
	/* overflow is an error, never a wrapped-around small number */
	check_cpus_bad("4294967297");
	check_cpus_bad("99999999999999999999");
}

/* ---- unknown options --------------------------------------------------------------------------- */

static void test_unknown_options(void **state)
{
	struct ctx *c = *state;
	expect_usage_error(c, parse(c, NULL, "--bogus", NULL), "unknown option '--bogus'", NULL);
	expect_usage_error(c, parse(c, NULL, "--bogus=1", NULL), "unknown option '--bogus'", NULL);
	expect_usage_error(c, parse(c, NULL, "-x", NULL), "unknown option '-x'", NULL);
	expect_usage_error(c, parse(c, NULL, "-qx", NULL), "unknown option '-x'", NULL);
	/* a prefix of a real option is not accepted */
	expect_usage_error(c, parse(c, NULL, "--no", NULL), "unknown option '--no'", NULL);
	expect_usage_error(c, parse(c, NULL, "--fs-editx", NULL), "unknown option '--fs-editx'", NULL);
	/* long option names are not short flags */
	expect_usage_error(c, parse(c, NULL, "-quiet", NULL), "unknown option '-u'", NULL);
	/* after an error, options after it do not matter */
	expect_usage_error(c, parse(c, NULL, "--rw", "--nope", "--no-net", NULL), "'--nope'", NULL);
}

/* ---- where options stop ------------------------------------------------------------------------ */

static void test_stop_at_first_non_option(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, NULL, "-q", "ls", "-v", "--rw", "--", "x", NULL));
	assert_true(c->o.quiet);
	assert_int_equal(c->o.verbose, 0);
	assert_int_equal(c->o.n_mounts, 0);
	assert_int_equal(strv_len(c->o.argv), 5);
	assert_string_equal(c->o.argv[0], "ls");
	assert_string_equal(c->o.argv[1], "-v");
	assert_string_equal(c->o.argv[2], "--rw");
	assert_string_equal(c->o.argv[3], "--");
	assert_string_equal(c->o.argv[4], "x");
}

static void test_stop_at_double_dash(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, NULL, "--no-net", "--", "-q", "--rw", NULL));
	assert_true(c->o.no_net);
	assert_false(c->o.quiet);
	assert_int_equal(c->o.n_mounts, 0);
	assert_int_equal(strv_len(c->o.argv), 2);
	assert_string_equal(c->o.argv[0], "-q");
	assert_string_equal(c->o.argv[1], "--rw");

	/* only the first "--" is eaten */
	ok(c, parse(c, NULL, "--", "--", NULL));
	assert_int_equal(strv_len(c->o.argv), 1);
	assert_string_equal(c->o.argv[0], "--");

	/* "--" alone: no command */
	ok(c, parse(c, NULL, "--", NULL));
	assert_null(c->o.argv);
}

static void test_lone_dash_is_command(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, NULL, "-", "x", NULL));
	assert_int_equal(strv_len(c->o.argv), 2);
	assert_string_equal(c->o.argv[0], "-");
}

static void test_value_word_may_look_like_option(void **state)
{
	struct ctx *c = *state;
	/* a required value is taken from the next word whatever it looks like */
	ok(c, parse(c, NULL, "--fs", "--weird", "true", NULL));
	assert_string_equal(c->o.fs, "--weird");
	assert_string_equal(c->o.argv[0], "true");
}

static void test_command_args_kept_verbatim(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, NULL, "sh", "-c", "echo a; echo b", "", "x y", NULL));
	assert_int_equal(strv_len(c->o.argv), 5);
	assert_string_equal(c->o.argv[0], "sh");
	assert_string_equal(c->o.argv[1], "-c");
	assert_string_equal(c->o.argv[2], "echo a; echo b");
	assert_string_equal(c->o.argv[3], "");
	assert_string_equal(c->o.argv[4], "x y");
}

/* ---- verbs ------------------------------------------------------------------------------------- */

static void test_verbs(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, NULL, "fs", "import", "alpine", "x.tar", NULL));
	assert_int_equal(c->o.verb, VERB_FS);
	assert_int_equal(strv_len(c->o.verb_args), 3);
	assert_string_equal(c->o.verb_args[0], "import");
	assert_string_equal(c->o.verb_args[1], "alpine");
	assert_string_equal(c->o.verb_args[2], "x.tar");
	assert_null(c->o.argv);

	ok(c, parse(c, NULL, "clone", "ls", NULL));
	assert_int_equal(c->o.verb, VERB_CLONE);
	assert_string_equal(c->o.verb_args[0], "ls");

	ok(c, parse(c, NULL, "doctor", NULL));
	assert_int_equal(c->o.verb, VERB_DOCTOR);
	assert_null(c->o.verb_args);
}

static void test_verb_args_are_not_options(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, NULL, "fs", "--fs=x", "-q", "--bogus", NULL));
	assert_int_equal(c->o.verb, VERB_FS);
	assert_null(c->o.fs);
	assert_false(c->o.quiet);
	assert_int_equal(strv_len(c->o.verb_args), 3);
	assert_string_equal(c->o.verb_args[2], "--bogus");
}

static void test_verb_only_first_word(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, NULL, "--", "fs", NULL));
	assert_int_equal(c->o.verb, VERB_RUN);
	assert_null(c->o.verb_args);
	assert_int_equal(strv_len(c->o.argv), 1);
	assert_string_equal(c->o.argv[0], "fs");

	ok(c, parse(c, NULL, "-q", "doctor", NULL));
	assert_int_equal(c->o.verb, VERB_RUN);
	assert_true(c->o.quiet);
	assert_string_equal(c->o.argv[0], "doctor");

	ok(c, parse(c, NULL, "ls", "clone", NULL));
	assert_int_equal(c->o.verb, VERB_RUN);
	assert_string_equal(c->o.argv[1], "clone");

	/* near misses are commands */
	ok(c, parse(c, NULL, "fsck", NULL));
	assert_int_equal(c->o.verb, VERB_RUN);
	assert_string_equal(c->o.argv[0], "fsck");
}

static void test_verb_ignores_ajail_args(void **state)
{
	struct ctx *c = *state;
	/* AJAIL_ARGS only configures runs: a verb neither applies nor rejects it */
	ok(c, parse(c, "--no-net;not-an-option", "doctor", NULL));
	assert_int_equal(c->o.verb, VERB_DOCTOR);
	assert_false(c->o.no_net);
}

/* ---- AJAIL_ARGS -------------------------------------------------------------------------------- */

static void test_ajail_args_basic(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, "--fs=alpine;--no-net;-q", NULL));
	assert_string_equal(c->o.fs, "alpine");
	assert_true(c->o.no_net);
	assert_true(c->o.quiet);
	assert_null(c->o.argv);
}

static void test_ajail_args_trim_and_empty(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, " ;; --fs=x ;\t--rw=my dir\t;;\n-v ;  ; ", NULL));
	assert_string_equal(c->o.fs, "x");
	assert_int_equal(c->o.n_mounts, 1);
	/* inner spaces belong to the value */
	check_mount(&c->o, 0, MODE_RW, "my dir", NULL, "--rw=my dir");
	assert_int_equal(c->o.verbose, 1);

	ok(c, parse(c, "", NULL));
	ok(c, parse(c, ";;;", NULL));
	ok(c, parse(c, "   ", NULL));
	assert_int_equal(c->o.n_mounts, 0);
	assert_null(c->o.fs);
}

static void test_ajail_args_value_in_next_token(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, "--fs; debian ;--no-net", NULL));
	assert_string_equal(c->o.fs, "debian");
	assert_true(c->o.no_net);
}

static void test_ajail_args_before_command_line(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, "--ro;--fs=fromenv;-v", "--rw=build", "--fs=fromcli", "-v", "make", NULL));
	/* AJAIL_ARGS mounts come first; the command line layers on them */
	assert_int_equal(c->o.n_mounts, 2);
	check_mount(&c->o, 0, MODE_RO, NULL, NULL, "--ro");
	check_mount(&c->o, 1, MODE_RW, "build", NULL, "--rw=build");
	/* the command line wins */
	assert_string_equal(c->o.fs, "fromcli");
	/* counters add up */
	assert_int_equal(c->o.verbose, 2);
	assert_string_equal(c->o.argv[0], "make");

	/* with nothing on the command line, AJAIL_ARGS' --fs stays */
	ok(c, parse(c, "--fs=fromenv", "--rw", NULL));
	assert_string_equal(c->o.fs, "fromenv");
	check_mount(&c->o, 0, MODE_RW, NULL, NULL, "--rw");
}

/* --lockdown on the command line leaves out what AJAIL_ARGS would loosen it with, and says so; all
 * the rest of AJAIL_ARGS still applies. */
static void test_ajail_args_under_lockdown(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, "--fs=deb;--rw=/cache;--ro=src;--cap-add;NET_RAW;--no-seccomp;-q;--mount=/d,/data,ro;--hide=.env",
		    "--lockdown", "make", NULL));
	assert_true(c->o.lockdown);
	assert_string_equal(c->o.fs, "deb");
	assert_true(c->o.quiet);
	assert_int_equal(c->o.cap_add, 0);
	assert_false(c->o.no_seccomp);
	/* --ro and --hide give a lockdown nothing: they stay, in their order */
	assert_int_equal(c->o.n_mounts, 2);
	check_mount(&c->o, 0, MODE_RO, "src", NULL, "--ro=src");
	check_mount(&c->o, 1, MODE_HIDE, ".env", NULL, "--hide=.env");
	/* each left-out option as written, a value in the next word joined with '=' */
	assert_int_equal(strv_len(c->o.lockdown_dropped), 4);
	assert_string_equal(c->o.lockdown_dropped[0], "--rw=/cache");
	assert_string_equal(c->o.lockdown_dropped[1], "--cap-add=NET_RAW");
	assert_string_equal(c->o.lockdown_dropped[2], "--no-seccomp");
	assert_string_equal(c->o.lockdown_dropped[3], "--mount=/d,/data,ro");
	assert_null(cli_lockdown_conflict(&c->o));
	assert_string_equal(c->o.argv[0], "make");

	/* without --lockdown on the command line, AJAIL_ARGS applies whole */
	ok(c, parse(c, "--rw=/cache;--no-seccomp", "make", NULL));
	assert_null(c->o.lockdown_dropped);
	assert_true(c->o.no_seccomp);
	assert_string_equal(cli_lockdown_conflict(&c->o), "--rw=/cache");

	/* --lockdown from AJAIL_ARGS is a standing choice: nothing is left out, the plan refuses the mix */
	ok(c, parse(c, "--lockdown;--no-seccomp", "true", NULL));
	assert_null(c->o.lockdown_dropped);
	assert_string_equal(cli_lockdown_conflict(&c->o), "--no-seccomp");
	ok(c, parse(c, "--lockdown", "--rw=x", "true", NULL));
	assert_string_equal(cli_lockdown_conflict(&c->o), "--rw=x");

	/* --lockdown as the command's own argument is not ajail's */
	ok(c, parse(c, "--no-seccomp", "prog", "--lockdown", NULL));
	assert_false(c->o.lockdown);
	assert_true(c->o.no_seccomp);
	assert_null(c->o.lockdown_dropped);

	/* a malformed AJAIL_ARGS option is still an error under --lockdown */
	expect_usage_error(c, parse(c, "--cap-add=NOPE", "--lockdown", "true", NULL), "AJAIL_ARGS", "NOPE", NULL);
	expect_usage_error(c, parse(c, "--bogus", "--lockdown", "true", NULL), "AJAIL_ARGS", "--bogus", NULL);
}

static void test_ajail_args_non_option(void **state)
{
	struct ctx *c = *state;
	expect_usage_error(c, parse(c, "--no-net;bash", NULL), "AJAIL_ARGS", "'bash'", "not an option", NULL);
	expect_usage_error(c, parse(c, "-", NULL), "AJAIL_ARGS", "'-'", NULL);
	expect_usage_error(c, parse(c, "--;ls", NULL), "AJAIL_ARGS", "'--'", NULL);
	/* a separate value word is consumed, not taken for a command */
	ok(c, parse(c, "--mount;/a,/b;--dev;kvm", NULL));
	check_mount(&c->o, 0, MODE_RO, "/a", "/b", "--mount=/a,/b");
	assert_string_equal(c->o.devs[0], "kvm");
}

static void test_ajail_args_errors_mention_it(void **state)
{
	struct ctx *c = *state;
	expect_usage_error(c, parse(c, "--bogus", NULL), "AJAIL_ARGS", "unknown option '--bogus'", NULL);
	expect_usage_error(c, parse(c, "-qz", NULL), "AJAIL_ARGS", "unknown option '-z'", NULL);
	expect_usage_error(c, parse(c, "--fs", NULL), "AJAIL_ARGS", "'--fs' needs a value", NULL);
	expect_usage_error(c, parse(c, "--no-net=1", NULL), "AJAIL_ARGS", "takes no value", NULL);
	expect_usage_error(c, parse(c, "--cap-add=BOGUS", NULL), "AJAIL_ARGS", "--cap-add=BOGUS", "unknown capability",
			   NULL);
	expect_usage_error(c, parse(c, "--mount=/a", NULL), "AJAIL_ARGS", "--mount=/a", NULL);
	expect_usage_error(c, parse(c, "--home-edit=/etc", NULL), "AJAIL_ARGS", "relative to the jail's home", NULL);
	/* A space where ';' belongs: the hint says so, instead of a rootfs name error. */
	expect_usage_error(c, parse(c, "--fs=busybox --no-net", NULL), "AJAIL_ARGS", "separated by a space", "';'", NULL);
	expect_usage_error(c, parse(c, "--no-net -q", NULL), "separated by a space", NULL);
	/* A path with " -" in it that names no option is a path. */
	ok(c, parse(c, "--mount=/a -x,/b", NULL));
	expect_usage_error(c, parse(c, "--dev=..", NULL), "AJAIL_ARGS", "under /dev", NULL);
	/* the wrap is "AJAIL_ARGS: <message>", once */
	assert_int_equal(strncmp(c->err.msg, "AJAIL_ARGS: ", 12), 0);
	assert_null(strstr(c->err.msg + 1, "AJAIL_ARGS"));
	/* and an error on the command line does not mention it */
	expect_usage_error(c, parse(c, "--no-net", "--bogus", NULL), "'--bogus'", NULL);
	assert_null(strstr(c->err.msg, "AJAIL_ARGS"));
	expect_usage_error(c, parse(c, "--no-net", "--cap-add=BOGUS", NULL), "unknown capability", NULL);
	assert_null(strstr(c->err.msg, "AJAIL_ARGS"));
}

/* ---- usage text -------------------------------------------------------------------------------- */

static void test_usage_lists_every_flag(void **state)
{
	static const char *const flags[] = { "--fs=", "--fs-edit", "--commit=", "--home-edit", "--ro", "--rol", "--rw", "--hide",
					     "--mount=", "--dev=", "--no-net", "--cap-add=", "--new-session", "--quiet",
					     "-q", "--verbose", "-v", "--dry-run", "--help", "-h", "--version", "-V",
					     "--no-cap-drop", "--no-seccomp", "--allow-ptrace", "--no-landlock", "--no-rlimits",
					     "--no-mask", "--lockdown", "--memory=", "--cpus=", "--pids=",
					     "AJAIL_ARGS", "AJAIL_ENV_", "AJAIL_HOME" };
	const char *u = cli_usage();
	assert_non_null(u);
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
		if (!strstr(u, flags[i]))
			print_error("usage lacks %s\n", flags[i]);
		assert_non_null(strstr(u, flags[i]));
	}
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/* ---- network ----------------------------------------------------------------------------------- */

static void test_net_modes(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, NULL, "true", NULL));
	assert_int_equal(c->o.net, NET_HOST);
	ok(c, parse(c, NULL, "--net=none", "true", NULL));
	assert_int_equal(c->o.net, NET_NONE);
	assert_true(c->o.no_net);
	ok(c, parse(c, NULL, "--net", "host", "true", NULL));
	assert_int_equal(c->o.net, NET_HOST);
	assert_true(c->o.net_host_given);
	expect_usage_error(c, parse(c, NULL, "--net=filtered", "true", NULL), "--net=filtered", "--allow-net", NULL);
	/* --net=allow: the allow-list's namespace with only what --allow-net and the profile name */
	ok(c, parse(c, NULL, "--net=allow", "true", NULL));
	assert_int_equal(c->o.net, NET_ALLOW);
	/* The last of them decides; --allow-net patterns add up. */
	ok(c, parse(c, NULL, "--allow-net=a.example", "--allow-net", "@npm,b.example:22", "true", NULL));
	assert_int_equal(c->o.net, NET_ALLOW);
	assert_false(c->o.no_net);
	assert_int_equal(strv_len(c->o.allow_net), 2);
	assert_string_equal(c->o.allow_net[1], "@npm,b.example:22");
	ok(c, parse(c, NULL, "--allow-net=a.example", "--no-net", "true", NULL));
	assert_int_equal(c->o.net, NET_NONE);
	/* The command line overrides AJAIL_ARGS. */
	ok(c, parse(c, "--allow-net=@claude", "--net=host", "true", NULL));
	assert_int_equal(c->o.net, NET_HOST);
	ok(c, parse(c, "--no-net", "--allow-net=x.example", "true", NULL));
	assert_int_equal(c->o.net, NET_ALLOW);
	expect_usage_error(c, parse(c, NULL, "--allow-net=", "true", NULL), "--allow-net", "empty", NULL);
}

static void test_publish(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, NULL, "--publish=3000", "--publish", "8080:80", "true", NULL));
	assert_int_equal(c->o.n_publish, 2);
	assert_int_equal(c->o.publish[0].host_port, 3000);
	assert_int_equal(c->o.publish[0].port, 3000);
	assert_int_equal(c->o.publish[1].host_port, 8080);
	assert_int_equal(c->o.publish[1].port, 80);
	static const char *const bad[] = { "--publish=0", "--publish=65536", "--publish=:80", "--publish=80:",
					   "--publish=-1", "--publish=+80", "--publish=1:2:3", "--publish=123456",
					   "--publish=http" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_usage_error(c, parse(c, NULL, bad[i], "true", NULL), bad[i], "[HOSTPORT:]PORT", NULL);
	expect_usage_error(c, parse(c, NULL, "--publish=3000", "--publish=3000:4000", "true", NULL), "3000",
			   "already published", NULL);
	ok(c, parse(c, NULL, "--net-log=net.jsonl", "true", NULL));
	assert_string_equal(c->o.net_log, "net.jsonl");
}

static void test_net_lockdown_conflicts(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, NULL, "--allow-net=x.example", "true", NULL));
	assert_string_equal(cli_lockdown_conflict(&c->o), "--allow-net");
	ok(c, parse(c, NULL, "--net=host", "true", NULL));
	assert_string_equal(cli_lockdown_conflict(&c->o), "--net=host");
	ok(c, parse(c, NULL, "--net=none", "--publish=3000", "true", NULL));
	assert_null(cli_lockdown_conflict(&c->o));
	/* From AJAIL_ARGS, a lockdown leaves it out instead. */
	ok(c, parse(c, "--allow-net=@npm", "--lockdown", "true", NULL));
	assert_int_equal(c->o.net, NET_HOST);
	assert_true(strv_contains(c->o.lockdown_dropped, "--allow-net=@npm"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_defaults),
		T(test_release_reinits),
		T(test_fs),
		T(test_fs_errors),
		T(test_fs_edit),
		T(test_fs_edit_errors),
		T(test_fs_edit_relative),
		T(test_commit),
		T(test_commit_errors),
		T(test_home_edit),
		T(test_home_edit_absolute),
		T(test_home_edit_errors),
		T(test_dir_options_bare),
		T(test_dir_options_with_dir),
		T(test_dir_option_does_not_take_next_word),
		T(test_mount_order_preserved),
		T(test_dir_option_empty_value),
		T(test_mount_spec),
		T(test_mount_escapes),
		T(test_mount_errors),
		T(test_dev),
		T(test_dev_errors),
		T(test_cap_add),
		T(test_cap_add_errors),
		T(test_cap_names),
		T(test_simple_flags),
		T(test_clone_flag),
		T(test_verbose_counts),
		T(test_bundled_short),
		T(test_flags_take_no_value),
		T(test_layer_flags),
		T(test_memory),
		T(test_net_modes),
		T(test_publish),
		T(test_net_lockdown_conflicts),
		T(test_cpus),
		T(test_pids),
		T(test_parse_size),
		T(test_parse_cpus),
		T(test_unknown_options),
		T(test_stop_at_first_non_option),
		T(test_stop_at_double_dash),
		T(test_lone_dash_is_command),
		T(test_value_word_may_look_like_option),
		T(test_command_args_kept_verbatim),
		T(test_verbs),
		T(test_verb_args_are_not_options),
		T(test_verb_only_first_word),
		T(test_verb_ignores_ajail_args),
		T(test_ajail_args_basic),
		T(test_ajail_args_trim_and_empty),
		T(test_ajail_args_value_in_next_token),
		T(test_ajail_args_before_command_line),
		T(test_ajail_args_under_lockdown),
		T(test_ajail_args_non_option),
		T(test_ajail_args_errors_mention_it),
		T(test_usage_lists_every_flag),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
