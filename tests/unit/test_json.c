/* Unit tests for json.c: what RFC 8259 accepts is parsed into the tree the text says, everything
 * else is refused with a message that says where, and the limits hold. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "json.h"
#include "util.h"

static struct json *parse(const char *text)
{
	struct aj_err err = {0};
	struct json *j = json_parse(text, strlen(text), NULL, &err);
	if (!j)
		print_error("json_parse(%s): %s\n", text, err.msg);
	assert_non_null(j);
	return j;
}

/* text must be refused, with a message containing want. */
static void refused(const char *text, size_t len, const char *want)
{
	struct aj_err err = {0};
	struct json *j = json_parse(text, len, NULL, &err);
	if (j)
		print_error("json_parse(%.*s) was accepted\n", (int)len, text);
	assert_null(j);
	if (!strstr(err.msg, want))
		print_error("json_parse(%.*s): message '%s' lacks '%s'\n", (int)len, text, err.msg, want);
	assert_non_null(strstr(err.msg, want));
}

#define REFUSED(lit, want) refused(lit, sizeof(lit) - 1, want)

static void test_scalars(void **state)
{
	struct json *j = parse("null");
	assert_int_equal(j->type, JSON_NULL);
	json_free(j);
	j = parse(" true ");
	assert_int_equal(j->type, JSON_BOOL);
	assert_true(j->boolean);
	json_free(j);
	j = parse("false");
	assert_int_equal(j->type, JSON_BOOL);
	assert_false(j->boolean);
	json_free(j);
	j = parse("\"hi\"");
	assert_string_equal(json_string(j), "hi");
	assert_int_equal(j->len, 2);
	json_free(j);
	j = parse("\"\"");
	assert_string_equal(json_string(j), "");
	json_free(j);
}

static void test_numbers(void **state)
{
	static const struct {
		const char *text;
		double v;
	} ok[] = {{"0", 0},	 {"-0", 0},	 {"12", 12},	 {"-12", -12},	    {"1.5", 1.5},
		  {"1e3", 1000}, {"1E+3", 1000}, {"25e-1", 2.5}, {"-0.125", -0.125}};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		struct json *j = parse(ok[i].text);
		assert_int_equal(j->type, JSON_NUMBER);
		assert_string_equal(j->str, ok[i].text);
		assert_true(j->num == ok[i].v);
		json_free(j);
	}
	REFUSED("01", "leading zero");
	REFUSED("-", "digit");
	REFUSED("+1", "expected a value");
	REFUSED("1.", "digit after '.'");
	REFUSED(".5", "expected a value");
	REFUSED("1e", "exponent");
	REFUSED("1e+", "exponent");
	REFUSED("NaN", "expected a value");
	REFUSED("Infinity", "expected a value");
	REFUSED("1e999", "too large");
	REFUSED("0x10", "after the value");
}

static void test_int(void **state)
{
	int64_t v;
	struct json *j = parse("[9223372036854775807, -9223372036854775808, 9223372036854775808, 1.0, 1e2, 42, \"7\"]");
	assert_true(json_int(json_at(j, 0), &v));
	assert_true(v == INT64_MAX);
	assert_true(json_int(json_at(j, 1), &v));
	assert_true(v == INT64_MIN);
	assert_false(json_int(json_at(j, 2), &v));
	assert_false(json_int(json_at(j, 3), &v));
	assert_false(json_int(json_at(j, 4), &v));
	assert_true(json_int(json_at(j, 5), &v));
	assert_int_equal(v, 42);
	assert_false(json_int(json_at(j, 6), &v));
	assert_false(json_int(NULL, &v));
	json_free(j);
}

static void test_strings(void **state)
{
	struct json *j = parse("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"");
	assert_string_equal(json_string(j), "a\"b\\c/d\b\f\n\r\t");
	json_free(j);
	/* \u escapes: one, two and three byte forms, and a surrogate pair (U+1F600). */
	j = parse("\"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\"");
	assert_string_equal(json_string(j), "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	json_free(j);
	/* Raw UTF-8 passes through. */
	j = parse("\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
	assert_string_equal(json_string(j), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	json_free(j);

	REFUSED("\"abc", "never ends");
	REFUSED("\"abc\\", "never ends");
	REFUSED("\"a\tb\"", "control character");
	REFUSED("\"a\nb\"", "control character");
	refused("\"a\0b\"", 5, "NUL byte");
	REFUSED("\"\\u0000\"", "NUL character");
	REFUSED("\"\\x41\"", "unknown escape");
	REFUSED("\"\\u12\"", "four hexadecimal digits");
	REFUSED("\"\\u12g4\"", "four hexadecimal digits");
	REFUSED("\"\\ud83d\"", "without its low half");
	REFUSED("\"\\ud83dx\"", "without its low half");
	REFUSED("\"\\ud83d\\u0041\"", "without its low half");
	REFUSED("\"\\ude00\"", "lone low surrogate");
	/* Invalid UTF-8: a stray continuation byte, an overlong '/', an encoded surrogate, past U+10FFFF,
	 * a truncated sequence, 0xff. */
	REFUSED("\"\x80\"", "UTF-8");
	REFUSED("\"\xc0\xaf\"", "UTF-8");
	REFUSED("\"\xe0\x80\xaf\"", "UTF-8");
	REFUSED("\"\xed\xa0\x80\"", "UTF-8");
	REFUSED("\"\xf4\x90\x80\x80\"", "UTF-8");
	REFUSED("\"\xe2\x82\"", "UTF-8");
	REFUSED("\"\xff\"", "UTF-8");
}

static void test_containers(void **state)
{
	struct json *j = parse("{\"schemaVersion\": 2, \"manifests\": [{\"digest\": \"sha256:ab\", \"size\": 7},"
			       " {\"platform\": {\"os\": \"linux\"}}], \"empty\": {}, \"none\": []}");
	assert_int_equal(j->type, JSON_OBJECT);
	assert_int_equal(json_len(j), 4);
	int64_t v;
	assert_true(json_int(json_get(j, "schemaVersion"), &v));
	assert_int_equal(v, 2);
	const struct json *m = json_get(j, "manifests");
	assert_int_equal(json_len(m), 2);
	assert_string_equal(json_get_string(json_at(m, 0), "digest"), "sha256:ab");
	assert_string_equal(json_get_string(json_get(json_at(m, 1), "platform"), "os"), "linux");
	assert_null(json_at(m, 2));
	assert_int_equal(json_len(json_get(j, "empty")), 0);
	assert_int_equal(json_get(j, "none")->type, JSON_ARRAY);
	assert_int_equal(json_len(json_get(j, "none")), 0);
	/* Wrong types and missing keys answer NULL/0, so paths need no checks on the way. */
	assert_null(json_get(j, "nope"));
	assert_null(json_get(m, "digest"));
	assert_null(json_get_string(j, "schemaVersion"));
	assert_null(json_get_string(json_get(json_get(j, "x"), "y"), "z"));
	assert_int_equal(json_len(json_get(j, "schemaVersion")), 0);
	assert_null(json_string(NULL));
	json_free(j);
	json_free(NULL);

	REFUSED("[1,2", "expected ',' or ']'");
	REFUSED("[1,]", "expected a value");
	REFUSED("[,1]", "expected a value");
	REFUSED("{\"a\":1,}", "expected a key");
	REFUSED("{\"a\" 1}", "expected ':'");
	REFUSED("{a:1}", "expected a key");
	REFUSED("{\"a\":1", "expected ',' or '}'");
	REFUSED("{\"a\":1,\"b\":2,\"a\":3}", "the key \"a\" appears twice");
	REFUSED("[1] [2]", "after the value");
	REFUSED("{} x", "after the value");
	REFUSED("", "empty");
	REFUSED("   ", "empty");
	REFUSED("\xef\xbb\xbf{}", "byte-order mark");
	REFUSED("// c\n{}", "expected a value");
	REFUSED("[1]\0", "after the value");
	REFUSED("tru", "expected a value");
	REFUSED("nul", "expected a value");
}

static void test_position(void **state)
{
	struct aj_err err = {0};
	const char *t = "{\n  \"a\": 1,\n  \"b\": ]\n}";
	assert_null(json_parse(t, strlen(t), NULL, &err));
	assert_non_null(strstr(err.msg, "line 3, column 8"));
}

/* A length-counted text: what follows len is never read. */
static void test_length(void **state)
{
	struct aj_err err = {0};
	struct json *j = json_parse("[1,2]garbage", 5, NULL, &err);
	assert_non_null(j);
	assert_int_equal(json_len(j), 2);
	json_free(j);
	assert_null(json_parse("[1,2]", 4, NULL, &err));
}

static void test_limits(void **state)
{
	struct aj_err err = {0};
	/* Depth: 64 levels pass by default, 65 do not; a caller's own limit holds. */
	char deep[200];
	memset(deep, '[', 64);
	memset(deep + 64, ']', 64);
	struct json *j = json_parse(deep, 128, NULL, &err);
	assert_non_null(j);
	json_free(j);
	memset(deep, '[', 65);
	memset(deep + 65, ']', 65);
	assert_null(json_parse(deep, 130, NULL, &err));
	assert_non_null(strstr(err.msg, "nested deeper than 64"));
	struct json_limits lim = {.max_depth = 3};
	assert_null(json_parse("[[[[]]]]", 8, &lim, &err));
	j = json_parse("[[[]]]", 6, &lim, &err);
	assert_non_null(j);
	json_free(j);
	/* A deep text far past the limit fails without recursing that far. */
	size_t n = 1 << 20;
	char *huge = malloc(n);
	memset(huge, '[', n);
	assert_null(json_parse(huge, n, NULL, &err));
	memset(huge, '{', n);
	assert_null(json_parse(huge, n, NULL, &err));
	free(huge);
	/* Values. */
	struct json_limits vl = {.max_values = 4};
	j = json_parse("[1,2,3]", 7, &vl, &err);
	assert_non_null(j);
	json_free(j);
	assert_null(json_parse("[1,2,3,4]", 9, &vl, &err));
	assert_non_null(strstr(err.msg, "more than 4 values"));
}

/* Many keys in one object: duplicates are still found, and in reasonable time. */
static void test_many_keys(void **state)
{
	size_t n = 50000;
	char *t = malloc(n * 16 + 16);
	size_t o = 0;
	t[o++] = '{';
	for (size_t i = 0; i < n; i++)
		o += (size_t)sprintf(t + o, "%s\"k%zu\":%zu", i ? "," : "", i, i);
	t[o++] = '}';
	struct aj_err err = {0};
	struct json *j = json_parse(t, o, NULL, &err);
	assert_non_null(j);
	assert_int_equal(json_len(j), n);
	int64_t v;
	assert_true(json_int(json_get(j, "k49999"), &v));
	assert_int_equal(v, 49999);
	json_free(j);
	/* The same with the last key a repeat of the first. */
	o--;
	o += (size_t)sprintf(t + o, ",\"k0\":1}");
	assert_null(json_parse(t, o, NULL, &err));
	assert_non_null(strstr(err.msg, "\"k0\" appears twice"));
	free(t);
}

static void test_type_names(void **state)
{
	assert_string_equal(json_type_name(JSON_OBJECT), "object");
	assert_string_equal(json_type_name(JSON_STRING), "string");
	assert_string_equal(json_type_name(JSON_NULL), "null");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scalars),    cmocka_unit_test(test_numbers),	  cmocka_unit_test(test_int),
	    cmocka_unit_test(test_strings),    cmocka_unit_test(test_containers), cmocka_unit_test(test_position),
	    cmocka_unit_test(test_length),     cmocka_unit_test(test_limits),	  cmocka_unit_test(test_many_keys),
	    cmocka_unit_test(test_type_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
