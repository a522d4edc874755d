/* Recipes and rootfs names: the parts of the store that decide what is accepted. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recipe_basic),	 cmocka_unit_test(test_recipe_no_builder),
		cmocka_unit_test(test_recipe_bad_builder), cmocka_unit_test(test_recipe_bad_keys),
		cmocka_unit_test(test_recipe_no_description), cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
