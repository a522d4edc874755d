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

static void test_fs_edit_errors(void **state)
{
	struct ctx *c = *state;
	expect_usage_error(c, parse(c, NULL, "--fs-edit=etc", NULL), "--fs-edit=etc", "absolute", NULL);
	expect_usage_error(c, parse(c, NULL, "--fs-edit=./etc", NULL), "absolute", NULL);
	expect_usage_error(c, parse(c, NULL, "--fs-edit=/etc/../root", NULL), "--fs-edit=/etc/../root", "'..'", NULL);
	expect_usage_error(c, parse(c, NULL, "--fs-edit=/..", NULL), "'..'", NULL);
	expect_usage_error(c, parse(c, NULL, "--fs-edit=", NULL), "empty value", NULL);
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
	assert_string_equal(c->o.home_edit_dirs[1], "a/b");
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
	check_mount(&c->o, 0, MODE_RW, "/a", "/b", "--mount=/a,/b");

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
	check_mount(&c->o, 0, MODE_RW, "src", "dst", "--mount=src,dst");
	assert_string_equal(c->o.argv[0], "cmd");
}

static void test_mount_escapes(void **state)
{
	struct ctx *c = *state;
	ok(c, parse(c, NULL, "--mount=/a\\,b,/c\\,d,ro", NULL));
	check_mount(&c->o, 0, MODE_RO, "/a,b", "/c,d", "--mount=/a\\,b,/c\\,d,ro");

	/* "\\" is a backslash; a backslash before anything else stays as it is */
	ok(c, parse(c, NULL, "--mount=/x\\\\,/y\\z", NULL));
	check_mount(&c->o, 0, MODE_RW, "/x\\", "/y\\z", "--mount=/x\\\\,/y\\z");

	/* other odd characters pass through untouched */
	ok(c, parse(c, NULL, "--mount=/a b:c=d,/e\nf", NULL));
	check_mount(&c->o, 0, MODE_RW, "/a b:c=d", "/e\nf", "--mount=/a b:c=d,/e\nf");
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

static void test_ajail_args_non_option(void **state)
{
	struct ctx *c = *state;
	expect_usage_error(c, parse(c, "--no-net;bash", NULL), "AJAIL_ARGS", "'bash'", "not an option", NULL);
	expect_usage_error(c, parse(c, "-", NULL), "AJAIL_ARGS", "'-'", NULL);
	expect_usage_error(c, parse(c, "--;ls", NULL), "AJAIL_ARGS", "'--'", NULL);
	/* a separate value word is consumed, not taken for a command */
	ok(c, parse(c, "--mount;/a,/b;--dev;kvm", NULL));
	check_mount(&c->o, 0, MODE_RW, "/a", "/b", "--mount=/a,/b");
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
	expect_usage_error(c, parse(c, "--fs-edit=etc", NULL), "AJAIL_ARGS", "absolute", NULL);
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
	static const char *const flags[] = { "--fs=", "--fs-edit", "--home-edit", "--ro", "--rol", "--rw", "--hide",
					     "--mount=", "--dev=", "--no-net", "--cap-add=", "--new-session", "--quiet",
					     "-q", "--verbose", "-v", "--dry-run", "--help", "-h", "--version",
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_defaults),
		T(test_release_reinits),
		T(test_fs),
		T(test_fs_errors),
		T(test_fs_edit),
		T(test_fs_edit_errors),
		T(test_home_edit),
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
		T(test_ajail_args_non_option),
		T(test_ajail_args_errors_mention_it),
		T(test_usage_lists_every_flag),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
