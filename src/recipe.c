#include "recipe.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void recipe_init(struct recipe *r)
{
	memset(r, 0, sizeof *r);
}

void recipe_release(struct recipe *r)
{
	free(r->description);
	free(r->builder);
	strv_free(r->keys);
	strv_free(r->values);
	recipe_init(r);
}

const char *recipe_get(const struct recipe *r, const char *key)
{
	for (size_t i = 0; r->keys && r->keys[i]; i++)
		if (strcmp(r->keys[i], key) == 0)
			return r->values[i];
	return NULL;
}

static bool is_word(const char *s, size_t n)
{
	if (n == 0 || !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!islower(c) && !isdigit(c) && c != '_' && c != '-')
			return false;
	}
	return true;
}

static char *trimmed(const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return xstrndup(s, n);
}

int recipe_parse(const char *text, const char *name, struct recipe *r, struct aj_err *err)
{
	recipe_init(r);
	int lineno = 0;
	for (const char *p = text; *p;) {
		const char *end = strchrnul(p, '\n');
		lineno++;
		cleanup_free char *line = trimmed(p, (size_t)(end - p));
		p = *end ? end + 1 : end;
		if (!*line)
			continue;
		if (line[0] == '#') {
			if (!r->description)
				r->description = trimmed(line + 1, strlen(line + 1));
			continue;
		}
		size_t klen = strcspn(line, " \t");
		if (!is_word(line, klen)) {
			recipe_release(r);
			return aj_usage(err, "recipe %s, line %d: '%.*s' is not a key (lowercase letters, digits, '_', '-')", name,
					lineno, (int)klen, line);
		}
		cleanup_free char *key = xstrndup(line, klen);
		if (recipe_get(r, key)) {
			recipe_release(r);
			return aj_usage(err, "recipe %s, line %d: '%s' is given twice", name, lineno, key);
		}
		char *value = trimmed(line + klen, strlen(line + klen));
		strv_push(&r->keys, steal_pointer(&key));
		strv_push(&r->values, value);
	}
	if (!r->description)
		r->description = xstrdup("");
	const char *b = recipe_get(r, "builder");
	if (!b || !*b) {
		recipe_release(r);
		return aj_usage(err, "recipe %s has no 'builder' line (e.g. 'builder debian')", name);
	}
	if (!is_word(b, strlen(b))) {
		cleanup_free char *copy = xstrdup(b);
		recipe_release(r);
		return aj_usage(err, "recipe %s: builder '%s' is not a plain name of a script in mkrootfs/", name, copy);
	}
	r->builder = xstrdup(b);
	return 0;
}
