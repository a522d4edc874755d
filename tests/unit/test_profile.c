/* Unit tests for profile.c (agent profiles) and plan.c's rule for what a new --home-edit path is. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "profile.h"
#include "util.h"

static void parse_ok(const char *text, struct profile *p)
{
	struct aj_err err = { 0 };
	int r = profile_parse(text, "t", "test", p, &err);
	if (r < 0)
		print_error("profile_parse: %s\n", err.msg);
	assert_int_equal(r, 0);
}

static void parse_bad(const char *text, const char *needle)
{
	struct profile p;
	struct aj_err err = { 0 };
	assert_int_equal(profile_parse(text, "t", "/home/u/.config/ajail/profiles/t", &p, &err), -1);
	assert_int_equal(err.kind, AJ_ERR_USAGE);
	if (!strstr(err.msg, needle))
		print_error("message \"%s\" lacks \"%s\"\n", err.msg, needle);
	assert_non_null(strstr(err.msg, needle));
	/* where: the file and the line */
	assert_non_null(strstr(err.msg, "/home/u/.config/ajail/profiles/t"));
	assert_non_null(strstr(err.msg, "line "));
}

static void test_shipped_parse(void **state)
{
	const char *const *names = profile_shipped_names();
	size_t n = 0;
	for (; names[n]; n++) {
		struct profile p;
		parse_ok(profile_shipped(names[n]), &p);
		assert_true(strlen(p.description) > 0); /* a first comment line says what it is */
		profile_release(&p);
	}
	/* the agents the issue names, at least */
	const char *want[] = { "claude", "codex", "gemini", "opencode", "aider" };
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		assert_non_null(profile_shipped(want[i]));
	assert_null(profile_shipped("bash"));
}

static void test_claude(void **state)
{
	struct profile p;
	parse_ok(profile_shipped("claude"), &p);
	assert_int_equal(p.n_state, 2);
	assert_string_equal(p.state[0].path, ".claude");
	assert_true(p.state[0].dir);
	assert_string_equal(p.state[1].path, ".claude.json");
	assert_false(p.state[1].dir);
	assert_string_equal(p.state[1].initial, "{}");
	assert_true(strv_contains(p.pass_env, "ANTHROPIC_API_KEY"));
	assert_true(strv_contains(p.net, "@claude"));
	assert_int_equal(p.n_secret, 1);
	assert_string_equal(p.secret[0].env, "ANTHROPIC_API_KEY");
	assert_string_equal(p.secret[0].header, "x-api-key");
	assert_string_equal(p.secret[0].base_env, "ANTHROPIC_BASE_URL");
	profile_release(&p);
}

static void test_forms(void **state)
{
	struct profile p;
	parse_ok("# desc\n\n  state a/b/\nstate c.json [1, 2]\nenv A B_1\nenv _C\nset X=1=2\narg -c\n"
		 "arg-if KEY --key=${KEY}\nnet @npm example.com\n",
		 &p);
	assert_string_equal(p.description, "desc");
	assert_int_equal(p.n_state, 2);
	assert_string_equal(p.state[0].path, "a/b");
	assert_true(p.state[0].dir);
	assert_null(p.state[0].initial);
	assert_string_equal(p.state[1].initial, "[1, 2]");
	assert_int_equal(strv_len(p.pass_env), 3);
	assert_string_equal(p.set_env[0], "X=1=2");
	assert_string_equal(p.args[0], "-c");
	assert_string_equal(p.args[1], "?KEY\n--key=${KEY}");
	assert_int_equal(strv_len(p.net), 2);
	profile_release(&p);
}

static void test_errors(void **state)
{
	parse_bad("bogus x\n", "unknown key");
	parse_bad("state /etc/passwd\n", "relative to /root");
	parse_bad("state ../x\n", "relative to /root");
	parse_bad("state a/../../x\n", "relative to /root");
	parse_bad("state a/./b\n", "relative to /root");
	parse_bad("state\n", "without a value");
	parse_bad("state d/ content\n", "no content");
	parse_bad("env A-B\n", "variable names");
	parse_bad("env 1A\n", "variable names");
	parse_bad("set =x\n", "VAR=VALUE");
	parse_bad("set X\n", "VAR=VALUE");
	parse_bad("arg-if X\n", "arg-if takes");
	parse_bad("secret K x-api-key\n", "secret takes");
	parse_bad("secret K X-Api-Key https://a K_URL\n", "secret takes");
	parse_bad("secret K x-api-key ftp://a K_URL\n", "secret takes");
	parse_bad("set A=\x1b[31m\n", "control character");
	parse_bad("# ok\nenv A\n\nstate /x\n", "line 4");
}

static void test_command_name(void **state)
{
	assert_string_equal(profile_command_name("claude"), "claude");
	assert_string_equal(profile_command_name("/usr/local/bin/codex"), "codex");
	assert_null(profile_command_name("/usr/bin/"));
	assert_null(profile_command_name(".hidden"));
	assert_null(profile_command_name("a b"));
	assert_null(profile_command_name(NULL));
	assert_false(profile_name_ok("../x"));
	assert_false(profile_name_ok(""));
	assert_true(profile_name_ok("my-agent_2.0"));
}

static void test_known_kind(void **state)
{
	char *init = NULL;
	assert_int_equal(profile_known_kind(".claude.json", &init), 1);
	assert_string_equal(init, "{}");
	free(init);
	assert_int_equal(profile_known_kind(".claude", &init), 2);
	assert_null(init);
	assert_int_equal(profile_known_kind(".codex", NULL), 2);
	assert_int_equal(profile_known_kind("nothing", NULL), 0);
}

/* The rule for --home-edit=PATH of a path the rootfs lacks. */
static void test_home_path_rule(void **state)
{
	char *init = NULL;
	assert_true(plan_home_path_is_file(".claude.json", ".claude.json", &init));
	assert_string_equal(init, "{}");
	free(init);
	assert_false(plan_home_path_is_file(".claude", ".claude", &init));
	assert_null(init);
	assert_false(plan_home_path_is_file(".codex", ".codex", &init)); /* a profile says so */
	assert_true(plan_home_path_is_file(".bashrc", ".bashrc", &init));
	assert_true(plan_home_path_is_file(".npmrc", ".npmrc", &init));
	assert_true(plan_home_path_is_file("settings.json", "settings.json", &init));
	assert_true(plan_home_path_is_file(".config/gh/hosts.yml", ".config/gh/hosts.yml", &init));
	assert_false(plan_home_path_is_file(".config", ".config", &init));
	assert_false(plan_home_path_is_file(".config/gh", ".config/gh", &init));
	assert_false(plan_home_path_is_file("x.", "x.", &init));
	assert_false(plan_home_path_is_file("data.d/", "data.d", &init)); /* a trailing '/' wins */
	assert_false(plan_home_path_is_file(".claude.json/", ".claude.json", &init));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_parse), cmocka_unit_test(test_claude),	  cmocka_unit_test(test_forms),
		cmocka_unit_test(test_errors),	      cmocka_unit_test(test_command_name), cmocka_unit_test(test_known_kind),
		cmocka_unit_test(test_home_path_rule),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
