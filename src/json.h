/* json.h — a small, strict, bounded JSON parser (RFC 8259), for what ajail reads from OCI images
 * (index.json, manifests, image configs), which are data from whoever made the image.
 *
 * Strict: one JSON text and nothing after it but whitespace; no comments, no trailing commas, no
 * NaN/Infinity, no leading zeros or '+'; strings must be valid UTF-8 (no overlong forms, no
 * surrogates, nothing past U+10FFFF) without raw control characters; \uXXXX escapes are decoded to
 * UTF-8, surrogate pairs included, a lone surrogate is refused; a NUL in a string (raw or \u0000) is
 * refused, so every string is an ordinary C string; a key that appears twice in one object is
 * refused (two readers could take different ones); no byte-order mark.
 * Bounded: the caller gives the text's length (read it with a size limit), and json_limits bounds
 * the nesting depth (the parser recurses once per level) and the number of values (memory).
 * Pure: no syscalls beyond allocation (which aborts on out-of-memory, as everywhere in ajail). */
#ifndef AJAIL_JSON_H
#define AJAIL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

/* One value. The whole tree is owned by its root (json_free). */
struct json {
	enum json_type type;
	bool boolean;	    /* JSON_BOOL */
	char *str;	    /* JSON_STRING: the decoded UTF-8, NUL-terminated; JSON_NUMBER: its text as written */
	size_t len;	    /* strlen(str) */
	double num;	    /* JSON_NUMBER: its value (finite) */
	size_t n;	    /* JSON_ARRAY, JSON_OBJECT: how many items */
	struct json *items; /* their values, in the order of the text */
	char **keys;	    /* JSON_OBJECT: the keys (decoded), keys[i] for items[i] */
};

struct json_limits {
	unsigned max_depth; /* arrays/objects nested deeper are refused; 0: JSON_DEFAULT_DEPTH */
	size_t max_values;  /* values in all; 0: JSON_DEFAULT_VALUES */
};
#define JSON_DEFAULT_DEPTH  64
#define JSON_DEFAULT_VALUES ((size_t)1 << 20)

/* Parse the len bytes at text (no NUL needed; a NUL byte in them is an error) as one JSON text.
 * lim may be NULL (the defaults). Returns the tree, or NULL with err saying where and what ("line 3,
 * column 7: expected ',' or '}'"). */
struct json *json_parse(const char *text, size_t len, const struct json_limits *lim, struct aj_err *err);
/* Free a tree from json_parse (NULL is fine). */
void json_free(struct json *j);

/* Accessors: each takes NULL or a value of the wrong type and then answers NULL / 0 / false, so
 * that a lookup path can be written without a check at each step. */
/* The value of key in an object. */
const struct json *json_get(const struct json *obj, const char *key);
/* Items of an array or object (0 for anything else). */
size_t json_len(const struct json *j);
/* The i-th item of an array (or the i-th value of an object). */
const struct json *json_at(const struct json *j, size_t i);
/* A string's text; NULL when j is not a string. */
const char *json_string(const struct json *j);
/* json_string(json_get(obj, key)). */
const char *json_get_string(const struct json *obj, const char *key);
/* An integer exactly as written (digits, an optional '-', no fraction or exponent) that fits int64_t. */
bool json_int(const struct json *j, int64_t *out);
/* "null", "boolean", "number", "string", "array", "object" (for messages). */
const char *json_type_name(enum json_type t);

#endif
