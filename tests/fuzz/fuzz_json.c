/* fuzz_json — the JSON parser of src/json.c, which reads what an OCI image says about itself
 * (index.json, manifests, configs: data from whoever made the image). The input is one JSON text,
 * parsed twice (the default limits, and a depth limit of 4 with at most 64 values):
 *
 *   - on failure, the message says where ("line L, column C: ...");
 *   - on success: every string and key is valid UTF-8 (no overlong form, no surrogate, nothing past
 *     U+10FFFF) without a NUL, its len its strlen; no container is nested deeper than the limit and
 *     there are no more values than it; no object has a key twice, and json_get finds each key's own
 *     value; every number's text is RFC 8259's grammar and its value finite; the tree written back
 *     as JSON (by an independent writer here) parses again to the same tree.
 * Input: any bytes (seeds in corpus/fuzz_json/: an index, a manifest, a config, docker's manifest,
 * escapes, numbers, nesting). */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#include "fuzz.h"

/* ---- independent checks (no code shared with json.c) ------------------------------------------- */

static bool utf8_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t len;
		unsigned cp;
		if ((c & 0xe0) == 0xc0) {
			len = 2;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (i + len > n)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		static const unsigned min[] = {0, 0, 0x80, 0x800, 0x10000};
		if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

static bool number_ok(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (*s >= '0' && *s <= '9')
			s++;
	else
		return false;
	if (*s == '.') {
		s++;
		if (!(*s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == '\0';
}

static void check_string(const char *s, size_t len, const char *what)
{
	fuzz_check(s != NULL, "%s without text", what);
	fuzz_check(strlen(s) == len, "%s: len %zu but strlen %zu", what, len, strlen(s));
	fuzz_check(utf8_ok((const unsigned char *)s, len), "%s is not valid UTF-8", what);
}

/* Checks one value and everything beneath it; returns how many values that is. */
static size_t check_tree(const struct json *j, unsigned depth, unsigned max_depth)
{
	size_t values = 1;
	switch (j->type) {
	case JSON_NULL:
	case JSON_BOOL:
		break;
	case JSON_NUMBER:
		check_string(j->str, j->len, "a number's text");
		fuzz_check(number_ok(j->str), "number text '%s' is not RFC 8259's grammar", j->str);
		fuzz_check(isfinite(j->num), "number '%s' is not finite", j->str);
		break;
	case JSON_STRING:
		check_string(j->str, j->len, "a string");
		break;
	case JSON_ARRAY:
	case JSON_OBJECT:
		fuzz_check(depth + 1 <= max_depth, "a container at depth %u, past the limit %u", depth + 1, max_depth);
		for (size_t i = 0; i < j->n; i++) {
			if (j->type == JSON_OBJECT) {
				check_string(j->keys[i], strlen(j->keys[i]), "a key");
				for (size_t k = 0; k < i; k++)
					fuzz_check(strcmp(j->keys[k], j->keys[i]) != 0, "the key '%s' twice",
						   j->keys[i]);
				fuzz_check(json_get(j, j->keys[i]) == &j->items[i], "json_get does not find key '%s'",
					   j->keys[i]);
			}
			fuzz_check(json_at(j, i) == &j->items[i], "json_at(%zu)", i);
			values += check_tree(&j->items[i], depth + 1, max_depth);
		}
		fuzz_check(json_len(j) == j->n, "json_len");
		break;
	default:
		fuzz_fail("type", "unknown type %d", (int)j->type);
	}
	return values;
}

/* ---- an independent writer, for the round trip ----------------------------------------------- */

struct out {
	char *b;
	size_t len, cap;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		o->cap = (o->len + n + 1) * 2;
		o->b = realloc(o->b, o->cap);
	}
	memcpy(o->b + o->len, s, n);
	o->len += n;
}

static void put_string(struct out *o, const char *s)
{
	put(o, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(o, esc, 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof esc, "\\u%04x", c);
			put(o, esc, 6);
		} else {
			put(o, (const char *)&c, 1);
		}
	}
	put(o, "\"", 1);
}

static void write_tree(struct out *o, const struct json *j)
{
	switch (j->type) {
	case JSON_NULL:
		put(o, "null", 4);
		break;
	case JSON_BOOL:
		put(o, j->boolean ? "true" : "false", j->boolean ? 4 : 5);
		break;
	case JSON_NUMBER:
		put(o, j->str, j->len);
		break;
	case JSON_STRING:
		put_string(o, j->str);
		break;
	case JSON_ARRAY:
	case JSON_OBJECT:
		put(o, j->type == JSON_ARRAY ? "[" : "{", 1);
		for (size_t i = 0; i < j->n; i++) {
			if (i)
				put(o, " ,\n", 3);
			if (j->type == JSON_OBJECT) {
				put_string(o, j->keys[i]);
				put(o, ":\t", 2);
			}
			write_tree(o, &j->items[i]);
		}
		put(o, j->type == JSON_ARRAY ? "]" : "}", 1);
		break;
	}
}

static bool same(const struct json *a, const struct json *b)
{
	if (a->type != b->type || a->n != b->n)
		return false;
	switch (a->type) {
	case JSON_BOOL:
		return a->boolean == b->boolean;
	case JSON_NUMBER:
	case JSON_STRING:
		return a->len == b->len && strcmp(a->str, b->str) == 0;
	case JSON_ARRAY:
	case JSON_OBJECT:
		for (size_t i = 0; i < a->n; i++) {
			if (a->type == JSON_OBJECT && strcmp(a->keys[i], b->keys[i]) != 0)
				return false;
			if (!same(&a->items[i], &b->items[i]))
				return false;
		}
		return true;
	case JSON_NULL:
		return true;
	}
	return false;
}

static void run(const uint8_t *data, size_t size, const struct json_limits *lim, unsigned max_depth, size_t max_values)
{
	struct aj_err err = {0};
	struct json *j = json_parse((const char *)data, size, lim, &err);
	if (!j) {
		fuzz_check(strncmp(err.msg, "line ", 5) == 0, "a failure without its place: '%s'", err.msg);
		return;
	}
	size_t values = check_tree(j, 0, max_depth);
	fuzz_check(values <= max_values, "%zu values, past the limit %zu", values, max_values);

	struct out o = {0};
	write_tree(&o, j);
	struct aj_err err2 = {0};
	struct json *k = json_parse(o.b ? o.b : "", o.len, lim, &err2);
	fuzz_check(k != NULL, "the tree written back does not parse: %s\n%.*s", err2.msg, (int)o.len, o.b);
	fuzz_check(same(j, k), "the tree written back parses to another tree:\n%.*s", (int)o.len, o.b);
	json_free(k);
	free(o.b);
	json_free(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run(data, size, NULL, JSON_DEFAULT_DEPTH, JSON_DEFAULT_VALUES);
	struct json_limits small = {.max_depth = 4, .max_values = 64};
	run(data, size, &small, 4, 64);
	return 0;
}
