/* Unit tests for util.c (lexical path helpers, string vectors, reading a small file) and error.c. Only
 * read_file_at touches the filesystem, in a temporary directory of its own. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "util.h"

/* path_normalize(in) must give want, with had_dotdot == dotdot. */
static void check_norm(const char *in, const char *want, bool dotdot)
{
	bool had = !dotdot; /* the opposite, so a function that never writes it fails */
	char *got = path_normalize(in, &had);
	if (strcmp(got, want) != 0 || had != dotdot)
		print_error("path_normalize(\"%s\") = \"%s\" (dotdot %d), want \"%s\" (dotdot %d)\n", in, got, had, want,
			    dotdot);
	assert_string_equal(got, want);
	assert_int_equal(had, dotdot);
	free(got);
}

static void test_normalize_plain(void **state)
{
	check_norm("/", "/", false);
	check_norm("/a", "/a", false);
	check_norm("/a/b/c", "/a/b/c", false);
}

static void test_normalize_slashes(void **state)
{
	check_norm("//", "/", false);
	check_norm("//a//b///c", "/a/b/c", false);
	check_norm("/a/b/", "/a/b", false);
	check_norm("/a/b///", "/a/b", false);
}

static void test_normalize_dot(void **state)
{
	check_norm("/./a/./b/.", "/a/b", false);
	check_norm("/.", "/", false);
	/* names that merely start with dots are ordinary */
	check_norm("/.a/..b/...", "/.a/..b/...", false);
}

static void test_normalize_dotdot(void **state)
{
	check_norm("/a/b/../c", "/a/c", true);
	check_norm("/a/b/..", "/a", true);
	check_norm("/a/..", "/", true);
	check_norm("/a/b/../../c/./d/..", "/c", true);
	check_norm("/a/../b/", "/b", true);
}

static void test_normalize_above_root(void **state)
{
	check_norm("/..", "/", true);
	check_norm("/../../a", "/a", true);
	check_norm("/a/../../../b", "/b", true);
	check_norm("/a/b/../../..", "/", true);
}

static void test_normalize_relative_and_null_flag(void **state)
{
	/* a relative path is treated as relative to "/" (cli uses this for --home-edit=SUB, --dev=DEV) */
	check_norm("a/b", "/a/b", false);
	check_norm("", "/", false);
	check_norm("../x", "/x", true);
	/* had_dotdot may be NULL */
	char *s = path_normalize("/a/../b", NULL);
	assert_string_equal(s, "/b");
	free(s);
}

static void test_is_under(void **state)
{
	assert_true(path_is_under("/a", "/a"));
	assert_true(path_is_under("/a/b", "/a"));
	assert_true(path_is_under("/a/b/c", "/a/b"));
	assert_false(path_is_under("/ab", "/a"));
	assert_false(path_is_under("/a", "/a/b"));
	assert_false(path_is_under("/b/a", "/a"));
	assert_false(path_is_under("/abc/d", "/ab"));
	/* "/" contains every absolute path */
	assert_true(path_is_under("/", "/"));
	assert_true(path_is_under("/x", "/"));
	assert_true(path_is_under("/x/y", "/"));
	assert_false(path_is_under("x", "/"));
}

static void test_relative(void **state)
{
	assert_string_equal(path_relative("/a/b/c", "/a"), "b/c");
	assert_string_equal(path_relative("/a/b", "/a/b"), "");
	assert_string_equal(path_relative("/a/b", "/"), "a/b");
	assert_string_equal(path_relative("/", "/"), "");
	assert_string_equal(path_relative("/work/x/build", "/work/x"), "build");
}

static void test_join(void **state)
{
	char *s;
	s = path_join("/a", "b");
	assert_string_equal(s, "/a/b");
	free(s);
	s = path_join("/a/", "b/c");
	assert_string_equal(s, "/a/b/c");
	free(s);
	s = path_join("/a//", "b");
	assert_string_equal(s, "/a/b");
	free(s);
	s = path_join("/", "b");
	assert_string_equal(s, "/b");
	free(s);
	/* an absolute rel is returned as is */
	s = path_join("/a", "/etc/x");
	assert_string_equal(s, "/etc/x");
	free(s);
	/* nothing is normalised: that is path_normalize's job */
	s = path_join("/a", "../b");
	assert_string_equal(s, "/a/../b");
	free(s);
}

static void test_strv(void **state)
{
	char **v = NULL;
	assert_int_equal(strv_len(v), 0);
	assert_false(strv_contains(v, "a"));
	strv_push(&v, xstrdup("a"));
	assert_non_null(v);
	assert_int_equal(strv_len(v), 1);
	assert_null(v[1]);
	strv_push(&v, xstrdup("b"));
	strv_push(&v, xstrdup(""));
	assert_int_equal(strv_len(v), 3);
	assert_string_equal(v[0], "a");
	assert_string_equal(v[1], "b");
	assert_string_equal(v[2], "");
	assert_null(v[3]);
	assert_true(strv_contains(v, "a"));
	assert_true(strv_contains(v, "b"));
	assert_true(strv_contains(v, ""));
	assert_false(strv_contains(v, "c"));
	assert_false(strv_contains(v, "ab"));
	char *j = strv_join(v, ", ");
	assert_string_equal(j, "a, b, ");
	free(j);
	strv_free(v);
	strv_free(NULL);
	j = strv_join(NULL, ",");
	assert_string_equal(j, "");
	free(j);
	char *one[] = { "solo", NULL };
	j = strv_join(one, " ");
	assert_string_equal(j, "solo");
	free(j);
}

static void test_strv_cleanup_and_steal(void **state)
{
	char **kept;
	{
		cleanup_strv char **v = NULL;
		strv_push(&v, xstrdup("x"));
		kept = steal_pointer(&v);
		assert_null(v);
	}
	assert_string_equal(kept[0], "x");
	strv_free(kept);
}

static void test_str_helpers(void **state)
{
	assert_true(str_has_prefix("AJAIL_ENV_X", "AJAIL_ENV_"));
	assert_true(str_has_prefix("abc", ""));
	assert_true(str_has_prefix("abc", "abc"));
	assert_false(str_has_prefix("ab", "abc"));
	assert_false(str_has_prefix("xabc", "abc"));
	char *s = xstrndup("hello", 3);
	assert_string_equal(s, "hel");
	free(s);
	s = xasprintf("%s-%d", "a", 42);
	assert_string_equal(s, "a-42");
	free(s);
}

static void test_err_usage_and_fail(void **state)
{
	struct aj_err e = { 0 };
	assert_int_equal(aj_usage(&e, "bad %s", "thing"), -1);
	assert_int_equal(e.kind, AJ_ERR_USAGE);
	assert_int_equal(e.errnum, 0);
	assert_string_equal(e.msg, "bad thing");
	assert_int_equal(aj_err_exit_code(&e), 2);

	assert_int_equal(aj_fail(&e, ENOENT, "open \"%s\"", "x.tar"), -1);
	assert_int_equal(e.kind, AJ_ERR_FAIL);
	assert_int_equal(e.errnum, ENOENT);
	char want[256];
	snprintf(want, sizeof want, "open \"x.tar\": %s", strerror(ENOENT));
	assert_string_equal(e.msg, want);
	assert_int_equal(aj_err_exit_code(&e), 1);

	assert_int_equal(aj_err_set(&e, AJ_ERR_NOTFOUND, 0, "nope"), -1);
	assert_int_equal(aj_err_exit_code(&e), 127);
	struct aj_err zero = { 0 };
	assert_int_equal(aj_err_exit_code(&zero), 1);
}

static void test_err_wrap(void **state)
{
	struct aj_err e = { 0 };
	aj_fail(&e, 0, "open \"x.tar\"");
	assert_int_equal(aj_err_wrap(&e, "import \"%s\"", "alpine"), -1);
	assert_string_equal(e.msg, "import \"alpine\": open \"x.tar\"");
	assert_int_equal(e.kind, AJ_ERR_FAIL);

	/* a long message is truncated, never overflowed, and stays terminated */
	char big[2000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	aj_usage(&e, "%s", big);
	assert_int_equal(strlen(e.msg), sizeof e.msg - 1);
	aj_err_wrap(&e, "ctx");
	assert_int_equal(strlen(e.msg), sizeof e.msg - 1);
	assert_memory_equal(e.msg, "ctx: xxx", 8);
}

/* util_escape: control characters, C1, bidi controls and invalid UTF-8 never reach a terminal raw. */
static void check_escape(const char *in, size_t n, const char *want)
{
	char *got = util_escape_n(in, n);
	if (strcmp(got, want) != 0)
		print_error("util_escape(%zu bytes) = \"%s\", want \"%s\"\n", n, got, want);
	assert_string_equal(got, want);
	free(got);
}

static void test_escape(void **state)
{
	check_escape("plain/path-1.txt", 16, "plain/path-1.txt");
	check_escape("", 0, "");
	check_escape("\x1b]0;title\x07", 10, "\\x1b]0;title\\x07");
	check_escape("a\nb\tc\rd", 7, "a\\nb\\tc\\rd");
	check_escape("back\\slash", 10, "back\\\\slash");
	check_escape("\x7f", 1, "\\x7f");
	/* an 8-bit CSI, raw and as a UTF-8 C1 character */
	check_escape("\x9b" "2J", 3, "\\x9b2J");
	check_escape("\xc2\x9b" "2J", 4, "\\u{009b}2J");
	/* valid UTF-8 passes; right-to-left override does not */
	check_escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	check_escape("a\xe2\x80\xae" "b", 5, "a\\u{202e}b");
	/* overlong, surrogate, truncated and stray bytes */
	check_escape("\xc0\xaf", 2, "\\xc0\\xaf");
	check_escape("\xed\xa0\x80", 3, "\\xed\\xa0\\x80");
	check_escape("\xe2\x82", 2, "\\xe2\\x82");
	check_escape("x\xffy", 3, "x\\xffy");
	/* NUL in the middle (util_escape_n) */
	check_escape("a\0b", 3, "a\\x00b");
}

/* read_file_untrusted: no symlink anywhere on the way, nothing but a regular file, never blocks. */
static void test_read_file_untrusted(void **state)
{
	char tmpl[] = "/tmp/ajail-ut-XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	int dir = open(tmpl, O_RDONLY | O_DIRECTORY);
	assert_true(dir >= 0);
	assert_int_equal(mkdirat(dir, "a", 0755), 0);
	int fd = openat(dir, "a/f", O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hi", 2), 2);
	close(fd);
	char *s = read_file_untrusted(dir, "a/f", 100);
	assert_non_null(s);
	assert_string_equal(s, "hi");
	free(s);
	/* a symlinked directory on the way, a symlink at the end, a way out */
	assert_int_equal(symlinkat("a", dir, "l"), 0);
	errno = 0;
	assert_null(read_file_untrusted(dir, "l/f", 100));
	assert_int_equal(errno, ELOOP);
	assert_int_equal(symlinkat("a/f", dir, "lf"), 0);
	assert_null(read_file_untrusted(dir, "lf", 100));
	assert_null(read_file_untrusted(dir, "../etc/passwd", 100));
	assert_int_equal(errno, EXDEV);
	assert_null(read_file_untrusted(dir, "/etc/passwd", 100));
	/* a fifo fails at once instead of hanging; a directory says so */
	assert_int_equal(mkfifoat(dir, "fifo", 0644), 0);
	errno = 0;
	assert_null(read_file_untrusted(dir, "fifo", 100));
	assert_int_equal(errno, EINVAL);
	assert_null(read_file_at(dir, "fifo", 100));
	assert_int_equal(errno, EINVAL);
	assert_null(read_file_untrusted(dir, "a", 100));
	assert_int_equal(errno, EISDIR);
	unlinkat(dir, "fifo", 0);
	unlinkat(dir, "lf", 0);
	unlinkat(dir, "l", 0);
	unlinkat(dir, "a/f", 0);
	unlinkat(dir, "a", AT_REMOVEDIR);
	close(dir);
	rmdir(tmpl);
}

/* read_file_at: the whole file up to max bytes, EFBIG beyond, no symlink followed at the end. */
static void write_bytes(int dir, const char *name, size_t n)
{
	int fd = openat(dir, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(write(fd, i % 2 ? "b" : "a", 1), 1);
	close(fd);
}

static void test_read_file_at(void **state)
{
	char tmpl[] = "/tmp/ajail-test-util.XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	int dir = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dir >= 0);

	write_bytes(dir, "empty", 0);
	char *s = read_file_at(dir, "empty", 10);
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);

	/* Across the first 4096-byte buffer, and exactly at the bound. */
	write_bytes(dir, "big", 10000);
	s = read_file_at(dir, "big", 10000);
	assert_non_null(s);
	assert_int_equal(strlen(s), 10000);
	assert_memory_equal(s + 9998, "ab", 2);
	free(s);
	errno = 0;
	assert_null(read_file_at(dir, "big", 9999));
	assert_int_equal(errno, EFBIG);
	write_bytes(dir, "page", 4096);
	errno = 0;
	assert_null(read_file_at(dir, "page", 4095));
	assert_int_equal(errno, EFBIG);
	s = read_file_at(dir, "page", 4096);
	assert_non_null(s);
	assert_int_equal(strlen(s), 4096);
	free(s);

	assert_int_equal(symlinkat("big", dir, "link"), 0);
	errno = 0;
	assert_null(read_file_at(dir, "link", 1 << 20));
	assert_int_equal(errno, ELOOP);
	errno = 0;
	assert_null(read_file_at(dir, "missing", 10));
	assert_int_equal(errno, ENOENT);

	unlinkat(dir, "empty", 0);
	unlinkat(dir, "big", 0);
	unlinkat(dir, "page", 0);
	unlinkat(dir, "link", 0);
	close(dir);
	assert_int_equal(rmdir(tmpl), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize_plain),
		cmocka_unit_test(test_normalize_slashes),
		cmocka_unit_test(test_normalize_dot),
		cmocka_unit_test(test_normalize_dotdot),
		cmocka_unit_test(test_normalize_above_root),
		cmocka_unit_test(test_normalize_relative_and_null_flag),
		cmocka_unit_test(test_is_under),
		cmocka_unit_test(test_relative),
		cmocka_unit_test(test_join),
		cmocka_unit_test(test_strv),
		cmocka_unit_test(test_strv_cleanup_and_steal),
		cmocka_unit_test(test_str_helpers),
		cmocka_unit_test(test_read_file_at),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_read_file_untrusted),
		cmocka_unit_test(test_err_usage_and_fail),
		cmocka_unit_test(test_err_wrap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
