/* Unit tests for config.c: the jail's environment and the store location. Every function reads only
 * the environment array it is given, so each test builds its own. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util.h"

/* The environment must be exactly want (NULL-terminated), in this order. */
static void check_env(char **got, const char *const *want)
{
	size_t n = 0;
	while (want[n])
		n++;
	bool same = strv_len(got) == n;
	for (size_t i = 0; same && i < n; i++)
		same = strcmp(got[i], want[i]) == 0;
	for (size_t i = 0; !same && got && got[i]; i++)
		print_error("  got env[%zu] %s\n", i, got[i]);
	assert_non_null(got);
	assert_int_equal(strv_len(got), n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(got[i], want[i]);
	assert_null(got[n]);
}

static void test_getenv(void **state)
{
	char *env[] = { "A=1", "AB=2", "B=", "C", NULL };
	assert_string_equal(config_getenv(env, "A"), "1");
	assert_string_equal(config_getenv(env, "AB"), "2");
	assert_string_equal(config_getenv(env, "B"), "");
	assert_null(config_getenv(env, "C"));  /* no '=': not a variable */
	assert_null(config_getenv(env, "ABC"));
	assert_null(config_getenv(env, "Z"));
	assert_null(config_getenv(NULL, "A"));
}

static void test_env_minimal_without_term(void **state)
{
	char *host[] = { "HOME=/home/u", "USER=u", "PATH=/home/u/bin:/usr/bin", "SSH_AUTH_SOCK=/run/ssh.sock",
			 "DISPLAY=:0", "LD_PRELOAD=/evil.so", "AJAIL_ARGS=--no-net", "AJAIL_HOME=/s", NULL };
	char **env = config_jail_env(host, false);
	const char *want[] = { "HOME=/root", "USER=root", "PATH=" CONFIG_JAIL_PATH, "IS_SANDBOX=1", NULL };
	check_env(env, want);
	strv_free(env);
}

static void test_env_term_passes(void **state)
{
	char *host[] = { "SSH_AUTH_SOCK=/run/ssh.sock", "TERM=xterm-256color", "COLORTERM=truecolor", NULL };
	char **env = config_jail_env(host, false);
	const char *want[] = { "HOME=/root", "USER=root", "PATH=" CONFIG_JAIL_PATH, "TERM=xterm-256color",
			       "IS_SANDBOX=1", NULL };
	check_env(env, want);
	assert_false(strv_contains(env, "SSH_AUTH_SOCK=/run/ssh.sock"));
	assert_false(strv_contains(env, "COLORTERM=truecolor"));
	strv_free(env);
}

static void test_env_null_host(void **state)
{
	char **env = config_jail_env(NULL, false);
	const char *want[] = { "HOME=/root", "USER=root", "PATH=" CONFIG_JAIL_PATH, "IS_SANDBOX=1", NULL };
	check_env(env, want);
	strv_free(env);
}

static void test_env_ajail_env_adds(void **state)
{
	char *host[] = { "AJAIL_ENV_FOO=bar", "FOO=host", "AJAIL_ENV_EMPTY=", "AJAIL_ENV_EQ=a=b", NULL };
	char **env = config_jail_env(host, false);
	const char *want[] = { "HOME=/root", "USER=root", "PATH=" CONFIG_JAIL_PATH, "IS_SANDBOX=1",
			       "FOO=bar",    "EMPTY=",    "EQ=a=b",                  NULL };
	check_env(env, want);
	strv_free(env);
}

static void test_env_ajail_env_overrides(void **state)
{
	char *host[] = { "AJAIL_ENV_HOME=/x", "AJAIL_ENV_PATH=/bin", "AJAIL_ENV_IS_SANDBOX=yes", NULL };
	char **env = config_jail_env(host, false);
	/* overriding replaces in place: no duplicate HOME= */
	const char *want[] = { "HOME=/x", "USER=root", "PATH=/bin", "IS_SANDBOX=yes", NULL };
	check_env(env, want);
	strv_free(env);
}

static void test_env_ajail_env_later_wins(void **state)
{
	char *host[] = { "AJAIL_ENV_FOO=1", "AJAIL_ENV_FOO=2", NULL };
	char **env = config_jail_env(host, false);
	const char *want[] = { "HOME=/root", "USER=root", "PATH=" CONFIG_JAIL_PATH, "IS_SANDBOX=1", "FOO=2", NULL };
	check_env(env, want);
	strv_free(env);
}

static void test_env_ajail_env_malformed_ignored(void **state)
{
	char *host[] = { "AJAIL_ENV_=x", "AJAIL_ENVX=1", "AJAIL_ENVXFOO=1", "AJAIL_ENV=2", "AJAIL_ENV_NOEQ", "XAJAIL_ENV_Y=3",
			 "ajail_env_lower=4", NULL };
	char **env = config_jail_env(host, false);
	const char *want[] = { "HOME=/root", "USER=root", "PATH=" CONFIG_JAIL_PATH, "IS_SANDBOX=1", NULL };
	check_env(env, want);
	strv_free(env);
}

static void test_env_git_checkstat(void **state)
{
	char *host[] = { "TERM=dumb", NULL };
	char **env = config_jail_env(host, true);
	const char *want[] = { "HOME=/root",         "USER=root",
			       "PATH=" CONFIG_JAIL_PATH, "TERM=dumb",
			       "IS_SANDBOX=1",       "GIT_CONFIG_COUNT=1",
			       "GIT_CONFIG_KEY_0=core.checkStat", "GIT_CONFIG_VALUE_0=minimal",
			       NULL };
	check_env(env, want);
	strv_free(env);
}

static void test_env_git_checkstat_user_wins(void **state)
{
	char *host[] = { "AJAIL_ENV_GIT_CONFIG_COUNT=1", "AJAIL_ENV_GIT_CONFIG_KEY_0=user.name",
			 "AJAIL_ENV_GIT_CONFIG_VALUE_0=me", NULL };
	char **env = config_jail_env(host, true);
	const char *want[] = { "HOME=/root",         "USER=root",
			       "PATH=" CONFIG_JAIL_PATH, "IS_SANDBOX=1",
			       "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=user.name",
			       "GIT_CONFIG_VALUE_0=me", NULL };
	check_env(env, want);
	assert_false(strv_contains(env, "GIT_CONFIG_KEY_0=core.checkStat"));
	strv_free(env);
}

static void test_env_git_checkstat_user_disables(void **state)
{
	/* AJAIL_ENV_GIT_CONFIG_COUNT=0 turns the whole mechanism off: no stray KEY_0/VALUE_0 */
	char *host[] = { "AJAIL_ENV_GIT_CONFIG_COUNT=0", NULL };
	char **env = config_jail_env(host, true);
	const char *want[] = { "HOME=/root", "USER=root", "PATH=" CONFIG_JAIL_PATH, "IS_SANDBOX=1", "GIT_CONFIG_COUNT=0",
			       NULL };
	check_env(env, want);
	strv_free(env);
}

static void test_env_host_git_config_ignored(void **state)
{
	/* the host's own GIT_CONFIG_* do not leak, and do not stop checkStat */
	char *host[] = { "GIT_CONFIG_COUNT=3", "GIT_DIR=/home/u/.git", NULL };
	char **env = config_jail_env(host, true);
	assert_true(strv_contains(env, "GIT_CONFIG_COUNT=1"));
	assert_true(strv_contains(env, "GIT_CONFIG_KEY_0=core.checkStat"));
	assert_false(strv_contains(env, "GIT_CONFIG_COUNT=3"));
	assert_false(strv_contains(env, "GIT_DIR=/home/u/.git"));
	assert_int_equal(strv_len(env), 7);
	strv_free(env);
}

static void test_store_dir(void **state)
{
	char *s;
	char *both[] = { "HOME=/home/u", "AJAIL_HOME=/srv/ajail", NULL };
	s = config_store_dir(both);
	assert_string_equal(s, "/srv/ajail");
	free(s);

	char *home[] = { "HOME=/home/u", NULL };
	s = config_store_dir(home);
	assert_string_equal(s, "/home/u/.ajail");
	free(s);

	char *home_slash[] = { "HOME=/home/u/", NULL };
	s = config_store_dir(home_slash);
	assert_string_equal(s, "/home/u/.ajail");
	free(s);

	/* an empty AJAIL_HOME is as good as unset */
	char *empty_aj[] = { "AJAIL_HOME=", "HOME=/h", NULL };
	s = config_store_dir(empty_aj);
	assert_string_equal(s, "/h/.ajail");
	free(s);

	char *none[] = { "USER=u", NULL };
	assert_null(config_store_dir(none));
	char *empty_home[] = { "HOME=", NULL };
	assert_null(config_store_dir(empty_home));
	assert_null(config_store_dir(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_getenv),
		cmocka_unit_test(test_env_minimal_without_term),
		cmocka_unit_test(test_env_term_passes),
		cmocka_unit_test(test_env_null_host),
		cmocka_unit_test(test_env_ajail_env_adds),
		cmocka_unit_test(test_env_ajail_env_overrides),
		cmocka_unit_test(test_env_ajail_env_later_wins),
		cmocka_unit_test(test_env_ajail_env_malformed_ignored),
		cmocka_unit_test(test_env_git_checkstat),
		cmocka_unit_test(test_env_git_checkstat_user_wins),
		cmocka_unit_test(test_env_git_checkstat_user_disables),
		cmocka_unit_test(test_env_host_git_config_ignored),
		cmocka_unit_test(test_store_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
