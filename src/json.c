/* json.c — the strict, bounded JSON parser of json.h. A recursive descent over a length-counted
 * buffer: each nesting level costs one stack frame, which the depth limit bounds; each value costs
 * one struct json (plus its text), which the value limit bounds. */
#include "json.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct parser {
	const char *s;
	size_t len, pos;
	unsigned depth, max_depth;
	size_t values, max_values;
	struct aj_err *err;
	bool failed;
};

/* Where pos is, as people count: line and column (in bytes) from 1. */
static void where(const struct parser *p, size_t pos, size_t *line, size_t *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < pos && i < p->len; i++) {
		if (p->s[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static int fail_at(struct parser *p, size_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail_at(struct parser *p, size_t pos, const char *fmt, ...)
{
	if (p->failed)
		return -1;
	p->failed = true;
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	size_t line, col;
	where(p, pos, &line, &col);
	return aj_fail(p->err, 0, "line %zu, column %zu: %s", line, col, msg);
}

/* What is at pos, for a message: a printable character quoted, else its byte value, or "the end". */
static const char *what_at(const struct parser *p, char *buf, size_t n)
{
	if (p->pos >= p->len)
		return "the end of the text";
	unsigned char c = (unsigned char)p->s[p->pos];
	if (c >= 0x21 && c < 0x7f)
		snprintf(buf, n, "'%c'", c);
	else
		snprintf(buf, n, "byte 0x%02x", c);
	return buf;
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len) {
		char c = p->s[p->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			return;
		p->pos++;
	}
}

static int unexpected(struct parser *p, const char *expected)
{
	char buf[32];
	return fail_at(p, p->pos, "expected %s, found %s", expected, what_at(p, buf, sizeof buf));
}

/* ---- strings ---- */

struct sbuf {
	char *b;
	size_t len, cap;
};

static void sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 32;
		while (b->len + n + 1 > cap)
			cap *= 2;
		b->b = xrealloc(b->b, cap);
		b->cap = cap;
	}
	memcpy(b->b + b->len, s, n);
	b->len += n;
	b->b[b->len] = '\0';
}

static void sbuf_add_cp(struct sbuf *b, uint32_t cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	sbuf_add(b, u, n);
}

/* The length of the valid UTF-8 sequence (2 to 4 bytes) starting at s[0] >= 0x80, or 0. */
static size_t utf8_seq(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp, min;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (avail < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static int hex4(struct parser *p, uint32_t *out)
{
	if (p->len - p->pos < 4)
		return fail_at(p, p->pos, "a \\u escape needs four hexadecimal digits");
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p->s[p->pos + (size_t)i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return fail_at(p, p->pos + (size_t)i, "a \\u escape needs four hexadecimal digits");
	}
	p->pos += 4;
	*out = v;
	return 0;
}

/* At the opening quote: the string, decoded, into *out (caller frees) and its length. */
static int parse_string(struct parser *p, char **out, size_t *outlen)
{
	struct sbuf b = {0};
	size_t start = p->pos;
	p->pos++; /* the quote */
	for (;;) {
		/* The longest run of plain bytes, copied at once. */
		size_t run = p->pos;
		while (run < p->len) {
			unsigned char c = (unsigned char)p->s[run];
			if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80)
				break;
			run++;
		}
		if (run > p->pos)
			sbuf_add(&b, p->s + p->pos, run - p->pos);
		p->pos = run;
		if (p->pos >= p->len) {
			fail_at(p, start, "a string that never ends");
			goto bad;
		}
		unsigned char c = (unsigned char)p->s[p->pos];
		if (c == '"') {
			p->pos++;
			break;
		}
		if (c < 0x20) {
			fail_at(p, p->pos,
				c == 0 ? "a NUL byte in a string"
				       : "a control character (0x%02x) in a string; it must be escaped",
				c);
			goto bad;
		}
		if (c >= 0x80) {
			size_t n = utf8_seq((const unsigned char *)p->s + p->pos, p->len - p->pos);
			if (!n) {
				fail_at(p, p->pos, "a string that is not valid UTF-8");
				goto bad;
			}
			sbuf_add(&b, p->s + p->pos, n);
			p->pos += n;
			continue;
		}
		/* A backslash. */
		size_t esc = p->pos;
		p->pos++;
		if (p->pos >= p->len) {
			fail_at(p, start, "a string that never ends");
			goto bad;
		}
		char e = p->s[p->pos++];
		const char *simple = NULL;
		switch (e) {
		case '"':
			simple = "\"";
			break;
		case '\\':
			simple = "\\";
			break;
		case '/':
			simple = "/";
			break;
		case 'b':
			simple = "\b";
			break;
		case 'f':
			simple = "\f";
			break;
		case 'n':
			simple = "\n";
			break;
		case 'r':
			simple = "\r";
			break;
		case 't':
			simple = "\t";
			break;
		case 'u':
			break;
		default:
			fail_at(p, esc, "an unknown escape '\\%c' in a string", e >= 0x21 && e < 0x7f ? e : '?');
			goto bad;
		}
		if (simple) {
			sbuf_add(&b, simple, 1);
			continue;
		}
		uint32_t cp;
		if (hex4(p, &cp) < 0)
			goto bad;
		if (cp >= 0xdc00 && cp <= 0xdfff) {
			fail_at(p, esc, "a lone low surrogate (\\u%04x) in a string", cp);
			goto bad;
		}
		if (cp >= 0xd800 && cp <= 0xdbff) {
			uint32_t lo;
			if (p->len - p->pos < 2 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u') {
				fail_at(p, esc, "a high surrogate (\\u%04x) without its low half", cp);
				goto bad;
			}
			p->pos += 2;
			if (hex4(p, &lo) < 0)
				goto bad;
			if (lo < 0xdc00 || lo > 0xdfff) {
				fail_at(p, esc, "a high surrogate (\\u%04x) without its low half", cp);
				goto bad;
			}
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		}
		if (cp == 0) {
			fail_at(p, esc, "a NUL character (\\u0000) in a string");
			goto bad;
		}
		sbuf_add_cp(&b, cp);
	}
	if (!b.b)
		sbuf_add(&b, "", 0);
	*out = b.b;
	*outlen = b.len;
	return 0;
bad:
	free(b.b);
	return -1;
}

/* ---- numbers ---- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int parse_number(struct parser *p, struct json *j)
{
	size_t start = p->pos, i = p->pos;
	if (i < p->len && p->s[i] == '-')
		i++;
	if (i >= p->len || !is_digit(p->s[i]))
		return fail_at(p, start, "a number needs a digit after '-'");
	if (p->s[i] == '0') {
		i++;
		if (i < p->len && is_digit(p->s[i]))
			return fail_at(p, start, "a number with a leading zero");
	} else {
		while (i < p->len && is_digit(p->s[i]))
			i++;
	}
	if (i < p->len && p->s[i] == '.') {
		i++;
		if (i >= p->len || !is_digit(p->s[i]))
			return fail_at(p, start, "a number needs a digit after '.'");
		while (i < p->len && is_digit(p->s[i]))
			i++;
	}
	if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
		i++;
		if (i < p->len && (p->s[i] == '+' || p->s[i] == '-'))
			i++;
		if (i >= p->len || !is_digit(p->s[i]))
			return fail_at(p, start, "a number needs a digit in its exponent");
		while (i < p->len && is_digit(p->s[i]))
			i++;
	}
	j->type = JSON_NUMBER;
	j->str = xstrndup(p->s + start, i - start);
	j->len = i - start;
	/* The text is exactly the grammar above, which strtod reads in full (in the C locale: ajail never
	 * calls setlocale). */
	j->num = strtod(j->str, NULL);
	if (!isfinite(j->num))
		return fail_at(p, start, "a number too large to represent");
	p->pos = i;
	return 0;
}

/* ---- values ---- */

static int parse_value(struct parser *p, struct json *j);

static int count_value(struct parser *p)
{
	if (++p->values > p->max_values)
		return fail_at(p, p->pos, "more than %zu values", p->max_values);
	return 0;
}

static int literal(struct parser *p, const char *word)
{
	size_t n = strlen(word);
	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
		return unexpected(p, "a value");
	p->pos += n;
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Grow a container's arrays to hold one more item. */
static void grow(struct json *j, size_t *cap)
{
	if (j->n < *cap)
		return;
	*cap = *cap ? *cap * 2 : 4;
	j->items = xrealloc(j->items, *cap * sizeof *j->items);
	if (j->type == JSON_OBJECT)
		j->keys = xrealloc(j->keys, *cap * sizeof *j->keys);
}

static int parse_array(struct parser *p, struct json *j)
{
	size_t cap = 0;
	j->type = JSON_ARRAY;
	p->pos++; /* '[' */
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == ']') {
		p->pos++;
		return 0;
	}
	for (;;) {
		grow(j, &cap);
		struct json *item = &j->items[j->n];
		memset(item, 0, sizeof *item);
		j->n++; /* counted before it is filled: json_free frees what a failure left half-made */
		if (parse_value(p, item) < 0)
			return -1;
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			skip_ws(p);
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == ']') {
			p->pos++;
			return 0;
		}
		return unexpected(p, "',' or ']'");
	}
}

static int parse_object(struct parser *p, struct json *j)
{
	size_t cap = 0, start = p->pos;
	j->type = JSON_OBJECT;
	p->pos++; /* '{' */
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == '}') {
		p->pos++;
		return 0;
	}
	for (;;) {
		if (p->pos >= p->len || p->s[p->pos] != '"')
			return unexpected(p, "a key (a string)");
		grow(j, &cap);
		struct json *item = &j->items[j->n];
		memset(item, 0, sizeof *item);
		size_t klen;
		if (parse_string(p, &j->keys[j->n], &klen) < 0)
			return -1;
		j->n++;
		skip_ws(p);
		if (p->pos >= p->len || p->s[p->pos] != ':')
			return unexpected(p, "':'");
		p->pos++;
		skip_ws(p);
		if (parse_value(p, item) < 0)
			return -1;
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			skip_ws(p);
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == '}') {
			p->pos++;
			break;
		}
		return unexpected(p, "',' or '}'");
	}
	/* Duplicate keys: sorted copies of the key pointers, compared with their neighbours
	 * (O(n log n), so that an object of many keys cannot make this quadratic). */
	if (j->n > 1) {
		cleanup_free char **sorted = xmalloc(j->n * sizeof *sorted);
		memcpy(sorted, j->keys, j->n * sizeof *sorted);
		qsort(sorted, j->n, sizeof *sorted, key_cmp);
		for (size_t i = 1; i < j->n; i++)
			if (strcmp(sorted[i - 1], sorted[i]) == 0) {
				cleanup_free char *esc = util_escape(sorted[i]);
				return fail_at(p, start, "the key \"%s\" appears twice in one object", esc);
			}
	}
	return 0;
}

static int parse_value(struct parser *p, struct json *j)
{
	if (count_value(p) < 0)
		return -1;
	skip_ws(p);
	if (p->pos >= p->len)
		return unexpected(p, "a value");
	char c = p->s[p->pos];
	switch (c) {
	case '{':
	case '[': {
		if (++p->depth > p->max_depth)
			return fail_at(p, p->pos, "nested deeper than %u levels", p->max_depth);
		int r = c == '{' ? parse_object(p, j) : parse_array(p, j);
		p->depth--;
		return r;
	}
	case '"':
		j->type = JSON_STRING;
		return parse_string(p, &j->str, &j->len);
	case 't':
		j->type = JSON_BOOL;
		j->boolean = true;
		return literal(p, "true");
	case 'f':
		j->type = JSON_BOOL;
		return literal(p, "false");
	case 'n':
		j->type = JSON_NULL;
		return literal(p, "null");
	default:
		if (c == '-' || is_digit(c))
			return parse_number(p, j);
		return unexpected(p, "a value");
	}
}

static void json_release(struct json *j)
{
	free(j->str);
	for (size_t i = 0; i < j->n; i++) {
		json_release(&j->items[i]);
		if (j->keys)
			free(j->keys[i]);
	}
	free(j->items);
	free(j->keys);
}

void json_free(struct json *j)
{
	if (!j)
		return;
	json_release(j);
	free(j);
}

struct json *json_parse(const char *text, size_t len, const struct json_limits *lim, struct aj_err *err)
{
	struct parser p = {
	    .s = text,
	    .len = len,
	    .max_depth = lim && lim->max_depth ? lim->max_depth : JSON_DEFAULT_DEPTH,
	    .max_values = lim && lim->max_values ? lim->max_values : JSON_DEFAULT_VALUES,
	    .err = err,
	};
	struct json *j = xcalloc(1, sizeof *j);
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		fail_at(&p, 0, "a byte-order mark; JSON has none");
		goto bad;
	}
	skip_ws(&p);
	if (p.pos >= p.len) {
		fail_at(&p, p.pos, "no value: the text is empty");
		goto bad;
	}
	if (parse_value(&p, j) < 0)
		goto bad;
	skip_ws(&p);
	if (p.pos < p.len) {
		char buf[32];
		fail_at(&p, p.pos, "%s after the value", what_at(&p, buf, sizeof buf));
		goto bad;
	}
	return j;
bad:
	json_free(j);
	return NULL;
}

/* ---- accessors ---- */

const struct json *json_get(const struct json *obj, const char *key)
{
	if (!obj || obj->type != JSON_OBJECT || !key)
		return NULL;
	for (size_t i = 0; i < obj->n; i++)
		if (strcmp(obj->keys[i], key) == 0)
			return &obj->items[i];
	return NULL;
}

size_t json_len(const struct json *j)
{
	return j && (j->type == JSON_ARRAY || j->type == JSON_OBJECT) ? j->n : 0;
}

const struct json *json_at(const struct json *j, size_t i)
{
	return i < json_len(j) ? &j->items[i] : NULL;
}

const char *json_string(const struct json *j)
{
	return j && j->type == JSON_STRING ? j->str : NULL;
}

const char *json_get_string(const struct json *obj, const char *key)
{
	return json_string(json_get(obj, key));
}

bool json_int(const struct json *j, int64_t *out)
{
	if (!j || j->type != JSON_NUMBER)
		return false;
	const char *s = j->str;
	bool neg = *s == '-';
	if (neg)
		s++;
	if (!*s)
		return false;
	uint64_t v = 0;
	for (; *s; s++) {
		if (!is_digit(*s))
			return false; /* a fraction or an exponent */
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
		return false;
	*out = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
	return true;
}

const char *json_type_name(enum json_type t)
{
	switch (t) {
	case JSON_NULL:
		return "null";
	case JSON_BOOL:
		return "boolean";
	case JSON_NUMBER:
		return "number";
	case JSON_STRING:
		return "string";
	case JSON_ARRAY:
		return "array";
	case JSON_OBJECT:
		return "object";
	}
	return "?";
}
