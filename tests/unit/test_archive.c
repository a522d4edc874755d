/* Unit tests for archive_path_clean(), the lexical half of the import's safety checks (the other half,
 * openat2 beneath the rootfs, needs a filesystem and is covered by tests/helpers/mkevil.py and the
 * integration tests). archive_path_clean is inline in archive.h, so nothing of libarchive is linked. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive.h"

/* archive_path_clean(in) must accept it and give want. */
static void check_clean(const char *in, const char *want)
{
	/* Exactly the room the contract promises, so an overrun shows up under ASan/valgrind. */
	char *out = malloc(strlen(in) + 1);
	bool ok = archive_path_clean(in, out);
	if (!ok || strcmp(out, want) != 0)
		print_error("archive_path_clean(\"%s\") = %d \"%s\", want \"%s\"\n", in, ok, ok ? out : "", want);
	assert_true(ok);
	assert_string_equal(out, want);
	free(out);
}

/* archive_path_clean(in) must refuse it: the entry would leave the rootfs. */
static void check_reject(const char *in)
{
	char *out = malloc(strlen(in) + 1);
	bool ok = archive_path_clean(in, out);
	if (ok)
		print_error("archive_path_clean(\"%s\") accepted it as \"%s\"\n", in, out);
	assert_false(ok);
	free(out);
}

static void test_plain(void **state)
{
	check_clean("etc/passwd", "etc/passwd");
	check_clean("a", "a");
	check_clean("usr/lib/x86_64-linux-gnu/libc.so.6", "usr/lib/x86_64-linux-gnu/libc.so.6");
}

static void test_dot_prefixes(void **state)
{
	check_clean("./etc/passwd", "etc/passwd");
	check_clean("././etc/./passwd", "etc/passwd");
	check_clean("./", "");
	check_clean(".", "");
	check_clean("", "");
}

static void test_absolute_stripped(void **state)
{
	/* Like GNU tar: leading '/'s go, the entry lands inside the rootfs. */
	check_clean("/etc/passwd", "etc/passwd");
	check_clean("//etc//passwd", "etc/passwd");
	check_clean("/", "");
	check_clean("///", "");
}

static void test_trailing_slash(void **state)
{
	/* "a" and "a/" must be the same name: no check may be fooled by the slash. */
	check_clean("a/", "a");
	check_clean("a//", "a");
	check_clean("a/b/", "a/b");
	check_clean("./a/./", "a");
}

static void test_names_that_only_look_like_dots(void **state)
{
	check_clean("...", "...");
	check_clean("..a", "..a");
	check_clean("a..", "a..");
	check_clean(".hidden/.x", ".hidden/.x");
	check_clean("a/.../b", "a/.../b");
}

static void test_dotdot_rejected(void **state)
{
	check_reject("..");
	check_reject("../x");
	check_reject("../../etc/passwd");
	check_reject("a/../../x");
	check_reject("a/..");
	check_reject("a/../b"); /* harmless lexically, but no real archive needs it: refuse, never guess */
	check_reject("/../x");
	check_reject("./../x");
	check_reject("a/b/../");
	check_reject("..//x");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain),
	    cmocka_unit_test(test_dot_prefixes),
	    cmocka_unit_test(test_absolute_stripped),
	    cmocka_unit_test(test_trailing_slash),
	    cmocka_unit_test(test_names_that_only_look_like_dots),
	    cmocka_unit_test(test_dotdot_rejected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
