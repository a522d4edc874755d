/* Unit tests for projconf.c (per-project options: parsing, what loosens the jail, trust records) and
 * sha256.c (against the FIPS 180-4 / NIST vectors). All pure: no file is touched. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "projconf.h"
#include "sha256.h"
#include "util.h"

static void check_hex(const char *data, size_t n, const char *want)
{
	char got[SHA256_HEX_LEN + 1];
	sha256_hex(data, n, got);
	assert_string_equal(got, want);
}

static void test_sha256_vectors(void **state)
{
	check_hex("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check_hex("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	check_hex(two, strlen(two), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	const char *four = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
	check_hex(four, strlen(four), "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
	/* Lengths around the padding's edges: 55 bytes fit one block, 56 need two. */
	char a[1000];
	memset(a, 'a', sizeof a);
	check_hex(a, 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
	check_hex(a, 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
	check_hex(a, 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

static void test_sha256_million_a_incremental(void **state)
{
	/* One million 'a', fed in uneven pieces: the streaming interface must agree with the vector. */
	char a[997];
	memset(a, 'a', sizeof a);
	struct sha256 s;
	sha256_init(&s);
	size_t left = 1000000;
	while (left) {
		size_t n = left < sizeof a ? left : sizeof a;
		sha256_update(&s, a, n);
		left -= n;
	}
	uint8_t d[SHA256_LEN];
	sha256_final(&s, d);
	static const uint8_t want[SHA256_LEN] = { 0xcd, 0xc7, 0x6e, 0x5c, 0x99, 0x14, 0xfb, 0x92, 0x81, 0xa1, 0xc7,
						  0xe2, 0x84, 0xd7, 0x3e, 0x67, 0xf1, 0x80, 0x9a, 0x48, 0xa4, 0x97,
						  0x20, 0x0e, 0x04, 0x6d, 0x39, 0xcc, 0xc7, 0x11, 0x2c, 0xd0 };
	assert_memory_equal(d, want, SHA256_LEN);
}

/* text must parse into exactly the options want (NULL-terminated). */
static void parses(const char *text, const char *const *want)
{
	struct projconf c;
	struct aj_err err = { 0 };
	int r = projconf_parse(text, strlen(text), "/r/.ajail.conf", &c, &err);
	if (r < 0)
		print_error("unexpected error: %s\n", err.msg);
	assert_int_equal(r, 0);
	size_t n = 0;
	while (want[n])
		n++;
	assert_int_equal(strv_len(c.opts), n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(c.opts[i], want[i]);
	projconf_release(&c);
}

/* text must be refused with a usage error containing each of the fragments. */
static void refused(const char *text, size_t len, const char *frag1, const char *frag2)
{
	struct projconf c;
	struct aj_err err = { 0 };
	assert_int_equal(projconf_parse(text, len, "/r/.ajail.conf", &c, &err), -1);
	assert_int_equal(err.kind, AJ_ERR_USAGE);
	assert_null(c.opts);
	if (!strstr(err.msg, frag1) || (frag2 && !strstr(err.msg, frag2)))
		print_error("message: %s\n", err.msg);
	assert_non_null(strstr(err.msg, frag1));
	if (frag2)
		assert_non_null(strstr(err.msg, frag2));
	assert_null(strchr(err.msg, '\n')); /* one line, whatever the file held */
}

static void test_parse_ok(void **state)
{
	parses("", (const char *[]){ NULL });
	parses("# only a comment\n\n   \n", (const char *[]){ NULL });
	parses("--rw=build\n--allow-net=@npm\n--fs=debian-dev\n",
	       (const char *[]){ "--rw=build", "--allow-net=@npm", "--fs=debian-dev", NULL });
	/* Blanks around, a Windows line end, no final newline, an indented comment, a value with a blank. */
	parses("  --hide=secret  \r\n\t# why: keys\n--rw=my dir\n-qv",
	       (const char *[]){ "--hide=secret", "--rw=my dir", "-qv", NULL });
	/* '#' inside a value is part of it: only a line starting with '#' is a comment. */
	parses("--hide=a#b\n", (const char *[]){ "--hide=a#b", NULL });
	parses("--lockdown\n--memory=2G\n--no-net\n--clone\n", (const char *[]){ "--lockdown", "--memory=2G", "--no-net", "--clone", NULL });
}

static void test_parse_refusals(void **state)
{
	refused("--no-net\nmake test\n", 18, "/r/.ajail.conf:2", "not an option");
	refused("fs\n", 3, ":1", "not an option");
	refused("clone list\n", 11, ":1", "not an option");
	refused("-\n", 2, ":1", "not an option");
	refused("--\n", 3, ":1", "'--'");
	refused("--no-net; --rw=/\n", 17, ":1", "';'");
	refused("--rw=a;b\n", 9, ":1", "';'");
	refused("--fs debian\n", 12, ":1", "after '='");
	refused("--no-such-option\n", 17, ":1", "unknown option");
	refused("\n\n--memory=lots\n", 15, ":3", "--memory");
	refused("--fs\n", 5, ":1", "needs a value");
	refused("--no-net=1\n", 11, ":1", "takes no value");
	refused("--help\n", 7, ":1", "means nothing");
	refused("-qh\n", 4, ":1", "means nothing");
	refused("--version\n", 10, ":1", "means nothing");
	refused("--no-project\n", 13, ":1", "means nothing");
	refused("--hide=a\x1b[2Jb\n", 14, ":1", "control character");
	/* The escape sequence is shown escaped, never raw. */
	struct projconf c;
	struct aj_err err = { 0 };
	assert_int_equal(projconf_parse("--hide=\x1b]0;x\n", 13, "/r/.ajail.conf", &c, &err), -1);
	assert_null(strchr(err.msg, '\x1b'));
	/* A NUL byte anywhere refuses the file: C strings would silently cut it there. */
	refused("--no-net\n--rw\0=/\n", 17, ":2", "NUL");
}

static void test_ajail_args(void **state)
{
	char *opts[] = { "--rw=build", "--no-net", NULL };
	struct projconf c = { .opts = opts };
	char *s = projconf_ajail_args(NULL, &c);
	assert_string_equal(s, "--rw=build;--no-net");
	free(s);
	s = projconf_ajail_args("--fs=bb; -q", &c);
	assert_string_equal(s, "--fs=bb; -q;--rw=build;--no-net");
	free(s);
	struct projconf none = { 0 };
	s = projconf_ajail_args("--fs=bb", &none);
	assert_string_equal(s, "--fs=bb");
	free(s);
	s = projconf_ajail_args("", &none);
	assert_string_equal(s, "");
	free(s);
}

static void loosens(const char *opt, const char *frag)
{
	char *why = projconf_loosening(opt);
	if (!why)
		print_error("%s should loosen\n", opt);
	assert_non_null(why);
	if (frag && !strstr(why, frag))
		print_error("%s: %s\n", opt, why);
	if (frag)
		assert_non_null(strstr(why, frag));
	free(why);
}

static void tightens(const char *opt)
{
	char *why = projconf_loosening(opt);
	if (why)
		print_error("%s should not loosen: %s\n", opt, why);
	assert_null(why);
}

static void test_loosening(void **state)
{
	loosens("--rw", "working directory");
	loosens("--rw=build", "change build on the host");
	loosens("--mount=/a,/b,ro", NULL);
	loosens("--mount=/a,/b", NULL);
	loosens("--dev=kvm", "kvm");
	loosens("--fs-edit", "persist");
	loosens("--fs-edit=/etc", "/etc");
	loosens("--home-edit", "/root");
	loosens("--home-edit=.claude", ".claude");
	loosens("--fs=/home/me/rootfs", "/home/me/rootfs");
	loosens("--fs=../rootfs", NULL);
	loosens("--ro=/home/me/.ssh", "read /home/me/.ssh");
	loosens("--rol=../other", "read ../other");
	loosens("--ro=a/../../x", NULL);
	loosens("--net=host", "host's network");
	loosens("--net=allow", NULL);
	loosens("--allow-net=@npm", "@npm");
	loosens("--publish=8080:80", NULL);
	loosens("--net-log=/home/me/.bashrc", "appends to /home/me/.bashrc");
	loosens("--no-seccomp", NULL);
	loosens("--no-landlock", NULL);
	loosens("--no-cap-drop", NULL);
	loosens("--no-rlimits", NULL);
	loosens("--no-mask", NULL);
	loosens("--allow-ptrace", NULL);
	loosens("--cap-add=NET_RAW", "NET_RAW");
	loosens("--clone-push", "push");
	loosens("--profile=claude", "claude");
	loosens("--no-profile", NULL);
	loosens("--no-host-ca", NULL);
	loosens("--some-future-option", "does not classify");
	/* Escaped: a value is the repository's word. */
	char *why = projconf_loosening("--rw=\x1b[31mred");
	assert_non_null(why);
	assert_null(strchr(why, '\x1b'));
	free(why);

	tightens("--ro");
	tightens("--ro=src");
	tightens("--rol=docs/api");
	tightens("--hide=secret");
	tightens("--hide=/etc");
	tightens("--no-net");
	tightens("--net=none");
	tightens("--lockdown");
	tightens("--clone");
	tightens("--clone=fix");
	tightens("--clone-dirty");
	tightens("--new-session");
	tightens("--memory=2G");
	tightens("--cpus=1");
	tightens("--pids=100");
	loosens("--fs=debian-dev", "debian-dev");
	loosens("--fs=host", "host's");
	tightens("-q");
	tightens("-qv");
	tightens("--verbose");
}

static void test_records(void **state)
{
	const char *path = "/home/me/proj/.ajail.conf";
	char hash[SHA256_HEX_LEN + 1], other[SHA256_HEX_LEN + 1], name[SHA256_HEX_LEN + 1];
	sha256_hex("--no-net\n", 9, hash);
	sha256_hex("--no-net\n--rw\n", 14, other);
	projconf_record_name(path, name);
	char want_name[SHA256_HEX_LEN + 1];
	sha256_hex(path, strlen(path), want_name);
	assert_string_equal(name, want_name);

	char *rec = projconf_record_format(path, hash);
	char *got_path;
	char got_hash[SHA256_HEX_LEN + 1];
	assert_int_equal(projconf_record_parse(rec, &got_path, got_hash), 0);
	assert_string_equal(got_path, path);
	assert_string_equal(got_hash, hash);
	free(got_path);

	assert_int_equal(projconf_trust_state(rec, path, hash), PROJCONF_TRUSTED);
	assert_int_equal(projconf_trust_state(rec, path, other), PROJCONF_CHANGED);
	assert_int_equal(projconf_trust_state(rec, "/elsewhere/.ajail.conf", hash), PROJCONF_UNTRUSTED);
	assert_int_equal(projconf_trust_state(NULL, path, hash), PROJCONF_UNTRUSTED);
	free(rec);

	/* A path with a newline survives the round trip (it is the record's last field). */
	rec = projconf_record_format("/a\nb/.ajail.conf", hash);
	assert_int_equal(projconf_record_parse(rec, &got_path, got_hash), 0);
	assert_string_equal(got_path, "/a\nb/.ajail.conf");
	free(got_path);
	free(rec);

	/* What is not a record trusts nothing. */
	const char *bad[] = {
		"",
		"ajail-trust 2\nsha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\npath /x\n",
		"ajail-trust 1\nsha256 E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855\npath /x\n",
		"ajail-trust 1\nsha256 e3b0c442\npath /x\n",
		"ajail-trust 1\nsha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\npath x\n",
		"ajail-trust 1\nsha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\npath /x",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(projconf_record_parse(bad[i], &got_path, got_hash), -1);
		assert_null(got_path);
		assert_int_equal(projconf_trust_state(bad[i], "/x", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
				 PROJCONF_UNTRUSTED);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_vectors),
		cmocka_unit_test(test_sha256_million_a_incremental),
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_refusals),
		cmocka_unit_test(test_ajail_args),
		cmocka_unit_test(test_loosening),
		cmocka_unit_test(test_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
