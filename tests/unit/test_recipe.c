/* Recipes and rootfs names: the parts of the store that decide what is accepted. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "recipe.h"

static void test_recipe_basic(void **state)
{
	struct recipe r;
	struct aj_err err = { 0 };
	const char *text = "# Debian bookworm, minbase\n"
			   "# second comment\n"
			   "\n"
			   "builder   debian\n"
			   "suite bookworm\n"
			   "  packages  ca-certificates  curl \n"
			   "empty\n";
	assert_int_equal(recipe_parse(text, "debian", &r, &err), 0);
	assert_string_equal(r.description, "Debian bookworm, minbase");
	assert_string_equal(r.builder, "debian");
	assert_string_equal(recipe_get(&r, "suite"), "bookworm");
	assert_string_equal(recipe_get(&r, "packages"), "ca-certificates  curl");
	assert_string_equal(recipe_get(&r, "empty"), "");
	assert_null(recipe_get(&r, "mirror"));
	assert_string_equal(r.keys[0], "builder");
	assert_string_equal(r.keys[3], "empty");
	recipe_release(&r);
}

static void test_recipe_no_builder(void **state)
{
	struct recipe r;
	struct aj_err err = { 0 };
	assert_int_equal(recipe_parse("suite bookworm\n", "x", &r, &err), -1);
	assert_int_equal(err.kind, AJ_ERR_USAGE);
	assert_non_null(strstr(err.msg, "no 'builder'"));
	assert_int_equal(recipe_parse("builder\n", "x", &r, &err), -1);
}

static void test_recipe_bad_builder(void **state)
{
	struct recipe r;
	struct aj_err err = { 0 };
	/* A builder is a script name in mkrootfs/, never a path. */
	assert_int_equal(recipe_parse("builder ../../bin/sh\n", "x", &r, &err), -1);
	assert_non_null(strstr(err.msg, "../../bin/sh"));
	assert_int_equal(recipe_parse("builder /bin/sh\n", "x", &r, &err), -1);
	assert_int_equal(recipe_parse("builder deb ian\n", "x", &r, &err), -1);
}

static void test_recipe_bad_keys(void **state)
{
	struct recipe r;
	struct aj_err err = { 0 };
	assert_int_equal(recipe_parse("builder debian\nSuite x\n", "x", &r, &err), -1);
	assert_non_null(strstr(err.msg, "line 2"));
	assert_int_equal(recipe_parse("builder debian\nsuite a\nsuite b\n", "x", &r, &err), -1);
	assert_non_null(strstr(err.msg, "twice"));
	assert_int_equal(recipe_parse("builder debian\n=x\n", "x", &r, &err), -1);
}

static void test_recipe_no_description(void **state)
{
	struct recipe r;
	struct aj_err err = { 0 };
	assert_int_equal(recipe_parse("builder busybox", "busybox", &r, &err), 0);
	assert_string_equal(r.description, "");
	assert_string_equal(r.builder, "busybox");
	recipe_release(&r);
}

static void test_names(void **state)
{
	struct aj_err err = { 0 };
	const char *good[] = { "a", "debian", "debian-12", "alpine_3.22", "0x", "A.b-c_d" };
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		assert_int_equal(config_validate_name(good[i], &err), 0);
	const char *bad[] = { "", ".hidden", "-opt", "_x", "a/b", "..", "a b", "a\nb", "ü", "a:b", "a*" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(config_validate_name(bad[i], &err), -1);
		assert_int_equal(err.kind, AJ_ERR_USAGE);
	}
	char longname[70];
	memset(longname, 'a', 64);
	longname[64] = '\0';
	assert_int_equal(config_validate_name(longname, &err), 0);
	longname[64] = 'a';
	longname[65] = '\0';
	assert_int_equal(config_validate_name(longname, &err), -1);
	assert_non_null(strstr(err.msg, "64"));
}

static void test_package_names(void **state)
{
	const char *good[] = { "jq", "g++", "libc6-dev", "python3.11", "ssl_client", "0ad", "libc6:i386",
			       "curl=7.88.1-10+deb12u5", "tzdata=2024a-0+deb12u1", "bash=1:5.2~rc1", "busybox=1.36.1-r2",
			       "libc6:amd64=2.36-9" };
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		assert_true(recipe_package_ok(good[i]));
	/* Anything a recipe, a shell, apt or apk would read as more than one package name. */
	const char *bad[] = { "", "-y", "--allow-unauthenticated", "Foo", "a b", "a\tb", "a\nb", "a#b", "a,b", "a;b",
			      "$(id)", "a/b", "../x", ".hidden", "+x", "a:", "a:I386", "a=", "=1", "a=1 2", "a:b:c",
			      "a=1\n", "ü", "a=1;rm" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (recipe_package_ok(bad[i]))
			fail_msg("'%s' accepted", bad[i]);
	}
	char longname[260];
	memset(longname, 'a', 201);
	longname[201] = '\0';
	assert_false(recipe_package_ok(longname));
}

static void merged_is(const char *text, char **pkgs, const char *want)
{
	char *got = recipe_add_packages(text, pkgs);
	assert_string_equal(got, want);
	/* Still one recipe, each key once. */
	struct recipe r;
	struct aj_err err = { 0 };
	assert_int_equal(recipe_parse(got, "x", &r, &err), 0);
	recipe_release(&r);
	free(got);
}

static void test_add_packages(void **state)
{
	char *two[] = { "jq", "curl", NULL };
	/* Appended to the existing line, never a second packages line (recipe_parse refuses that). */
	merged_is("builder debian\npackages git  python3\nsuite bookworm\n", two,
		  "builder debian\npackages git  python3 jq curl\nsuite bookworm\n");
	/* Before a comment on that line: the builders read from '#' on as a comment. */
	merged_is("builder debian\npackages git # tools\n", two, "builder debian\npackages git jq curl # tools\n");
	merged_is("builder debian\n  packages\tgit\t\r\n", two, "builder debian\n  packages\tgit jq curl\r\n");
	merged_is("builder debian\npackages\n", two, "builder debian\npackages jq curl\n");
	/* No packages line: one is added, with the newline the last line lacked. */
	merged_is("builder alpine\nbranch v3.22", two, "builder alpine\nbranch v3.22\npackages jq curl\n");
	merged_is("builder alpine\n", two, "builder alpine\npackages jq curl\n");
	/* A comment that mentions packages is not the line; a key that starts with it is not either. */
	merged_is("# packages here\nbuilder debian\npackages-extra x\n", two,
		  "# packages here\nbuilder debian\npackages-extra x\npackages jq curl\n");
	/* What the line names already is not added twice. */
	char *dup[] = { "git", "jq", "jq", NULL };
	merged_is("builder debian\npackages git curl\n", dup, "builder debian\npackages git curl jq\n");
}

static void test_layer_recipe(void **state)
{
	struct recipe r;
	struct aj_err err = { 0 };
	/* No builder needed: a base makes it a layer, built by mkrootfs/layer; a comment after the name. */
	const char *text = "# agents\nbase debian-dev # the base\npackages procps\nnpm x\n";
	assert_int_equal(recipe_parse(text, "agents", &r, &err), 0);
	assert_string_equal(r.builder, "layer");
	assert_string_equal(r.base, "debian-dev");
	assert_string_equal(recipe_get(&r, "packages"), "procps");
	recipe_release(&r);
	assert_int_equal(recipe_parse("base debian\nbuilder layer\n", "x", &r, &err), 0);
	assert_string_equal(r.builder, "layer");
	recipe_release(&r);
	/* A flat recipe has no base. */
	assert_int_equal(recipe_parse("builder debian\nsuite bookworm\n", "x", &r, &err), 0);
	assert_null(r.base);
	recipe_release(&r);
}

static void test_layer_recipe_refused(void **state)
{
	struct recipe r;
	struct aj_err err = { 0 };
	/* Another builder, with a base: one or the other. */
	assert_int_equal(recipe_parse("base debian\nbuilder debian\n", "x", &r, &err), -1);
	assert_int_equal(err.kind, AJ_ERR_USAGE);
	assert_non_null(strstr(err.msg, "drop the builder line"));
	/* What a rootfs made from scratch is made of, the base decided. */
	const char *scratch[] = { "suite bookworm", "mirror http://x", "components main", "variant minbase",
				  "architecture amd64", "branch v3.22", "repositories main", "apk-static http://x" };
	for (size_t i = 0; i < sizeof scratch / sizeof scratch[0]; i++) {
		char text[100];
		snprintf(text, sizeof text, "base debian\n%s\n", scratch[i]);
		assert_int_equal(recipe_parse(text, "x", &r, &err), -1);
		assert_int_equal(err.kind, AJ_ERR_USAGE);
		assert_non_null(strstr(err.msg, "built from scratch"));
		assert_null(strchr(err.msg, '\n'));
	}
	/* A base that is no rootfs name. */
	const char *bad[] = { "base\n", "base # none\n", "base ../x\n", "base a b\n", "base -x\n" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(recipe_parse(bad[i], "x", &r, &err), -1);
		assert_int_equal(err.kind, AJ_ERR_USAGE);
	}
	/* The layer builder needs a base. */
	assert_int_equal(recipe_parse("builder layer\npackages jq\n", "x", &r, &err), -1);
	assert_non_null(strstr(err.msg, "needs 'base NAME'"));
}

static void based_is(const char *text, const char *base, const char *want)
{
	char *got = recipe_set_base(text, base);
	assert_string_equal(got, want);
	struct recipe r;
	struct aj_err err = { 0 };
	assert_int_equal(recipe_parse(got, "x", &r, &err), 0);
	assert_string_equal(r.base, base);
	recipe_release(&r);
	free(got);
}

static void test_set_base(void **state)
{
	/* Replaced, comment and all; or appended, with the newline the last line lacked. */
	based_is("# x\nbase debian # old\npackages jq\n", "alpine", "# x\nbase alpine\npackages jq\n");
	based_is("  base\tdebian\r\npackages jq", "d2", "base d2\npackages jq");
	based_is("packages jq", "debian", "packages jq\nbase debian\n");
	based_is("packages jq\n", "debian", "packages jq\nbase debian\n");
	based_is("", "debian", "base debian\n");
	/* A key that starts with base is not the line. */
	based_is("base-x 1\n# base y\n", "debian", "base-x 1\n# base y\nbase debian\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recipe_basic),	 cmocka_unit_test(test_recipe_no_builder),
		cmocka_unit_test(test_recipe_bad_builder), cmocka_unit_test(test_recipe_bad_keys),
		cmocka_unit_test(test_recipe_no_description), cmocka_unit_test(test_names),
		cmocka_unit_test(test_package_names),	 cmocka_unit_test(test_add_packages),
		cmocka_unit_test(test_layer_recipe),	 cmocka_unit_test(test_layer_recipe_refused),
		cmocka_unit_test(test_set_base),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
