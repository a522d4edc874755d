#include "recipe.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util.h"

void recipe_init(struct recipe *r)
{
	memset(r, 0, sizeof *r);
}

void recipe_release(struct recipe *r)
{
	free(r->description);
	free(r->builder);
	free(r->base);
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

/* Keys of the debian and alpine builders that make a rootfs from scratch: on a base, the base
 * decided them. */
static const char *const scratch_keys[] = { "suite",	    "mirror",	    "components", "variant",	       "architecture",
					    "branch", "repositories", "apk-static", "apk-static-sha256" };

/* The rest of recipe_parse for a recipe with a base. */
static int layer_check(struct recipe *r, const char *name, struct aj_err *err)
{
	const char *v = recipe_get(r, "base");
	cleanup_free char *base = trimmed(v, strcspn(v, "#"));
	struct aj_err ne = { 0 };
	int ret = 0;
	if (!*base)
		ret = aj_usage(err, "recipe %s: 'base' names no rootfs (e.g. 'base debian')", name);
	else if (config_validate_name(base, &ne) < 0)
		ret = aj_usage(err, "recipe %s: base: %s", name, ne.msg);
	const char *b = recipe_get(r, "builder");
	if (!ret && b && *b && strcmp(b, "layer") != 0)
		ret = aj_usage(err, "recipe %s: a layer recipe (base %s) is built by mkrootfs/layer in a jail on its base, "
				    "not by builder '%s': drop the builder line",
			       name, base, b);
	for (size_t i = 0; !ret && i < sizeof scratch_keys / sizeof scratch_keys[0]; i++)
		if (recipe_get(r, scratch_keys[i]))
			ret = aj_usage(err, "recipe %s: '%s' is for a rootfs built from scratch; a layer recipe (base %s) "
					    "takes packages, apt-lists, npm, npm-version and npm-flags",
				       name, scratch_keys[i], base);
	if (ret < 0) {
		recipe_release(r);
		return ret;
	}
	r->builder = xstrdup("layer");
	r->base = steal_pointer(&base);
	return 0;
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
	if (recipe_get(r, "base"))
		return layer_check(r, name, err);
	const char *b = recipe_get(r, "builder");
	if (b && strcmp(b, "layer") == 0) {
		recipe_release(r);
		return aj_usage(err, "recipe %s: builder 'layer' needs 'base NAME', the rootfs the layer goes on", name);
	}
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

static bool all_of(const char *s, size_t n, const char *extra, bool upper)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!islower(c) && !isdigit(c) && !(upper && isupper(c)) && !strchr(extra, c))
			return false;
	}
	return true;
}

bool recipe_package_ok(const char *p)
{
	size_t n = strlen(p);
	if (n == 0 || n > 200 || !(islower((unsigned char)p[0]) || isdigit((unsigned char)p[0])))
		return false;
	/* NAME[:ARCH][=VERSION]; a version may hold ':' (an epoch), an arch may not. */
	const char *eq = strchr(p, '=');
	size_t head = eq ? (size_t)(eq - p) : n;
	const char *colon = memchr(p, ':', head);
	size_t name = colon ? (size_t)(colon - p) : head;
	if (!all_of(p, name, "+.-_", false))
		return false;
	if (colon && !all_of(colon + 1, head - name - 1, "-", false))
		return false;
	return !eq || all_of(eq + 1, n - head - 1, ".+~:_-", true);
}

/* Does the space-separated list words (n bytes) hold word? */
static bool has_word(const char *words, size_t n, const char *word)
{
	size_t w = strlen(word);
	for (size_t i = 0; i < n;) {
		while (i < n && isspace((unsigned char)words[i]))
			i++;
		size_t j = i;
		while (j < n && !isspace((unsigned char)words[j]))
			j++;
		if (j - i == w && memcmp(words + i, word, w) == 0)
			return true;
		i = j;
	}
	return false;
}

char *recipe_add_packages(const char *text, char *const *pkgs)
{
	/* Where the packages line's words end: before its comment and trailing blanks. */
	const char *line = NULL, *ins = NULL;
	for (const char *p = text; *p;) {
		const char *end = strchrnul(p, '\n');
		const char *k = p;
		while (k < end && isspace((unsigned char)*k))
			k++;
		size_t klen = strcspn(k, " \t\r\n");
		if (klen == 8 && strncmp(k, "packages", 8) == 0) {
			line = k;
			const char *hash = memchr(k, '#', (size_t)(end - k));
			ins = hash ? hash : end;
			while (ins > k + 8 && isspace((unsigned char)ins[-1]))
				ins--;
			break;
		}
		p = *end ? end + 1 : end;
	}
	size_t cap = strlen(text) + 32;
	for (size_t i = 0; pkgs && pkgs[i]; i++)
		cap += strlen(pkgs[i]) + 1;
	char *out = xmalloc(cap);
	size_t n = 0;
	if (!line) {
		n = strlen(text);
		memcpy(out, text, n);
		if (n && out[n - 1] != '\n')
			out[n++] = '\n';
		memcpy(out + n, "packages", 8);
		n += 8;
		ins = text + strlen(text);
	} else {
		n = (size_t)(ins - text);
		memcpy(out, text, n);
	}
	size_t start = line ? (size_t)(line - text) + 8 : n;
	for (size_t i = 0; pkgs && pkgs[i]; i++) {
		if (has_word(out + start, n - start, pkgs[i]))
			continue;
		out[n++] = ' ';
		memcpy(out + n, pkgs[i], strlen(pkgs[i]));
		n += strlen(pkgs[i]);
	}
	if (!line) {
		out[n++] = '\n';
	} else {
		/* Keep the comment, one blank away from the words. */
		if (*ins == ' ' || *ins == '\t' || *ins == '#') {
			const char *rest = ins;
			while (*rest == ' ' || *rest == '\t')
				rest++;
			if (*rest == '#')
				out[n++] = ' ';
			ins = rest;
		}
		size_t r = strlen(ins);
		memcpy(out + n, ins, r);
		n += r;
	}
	out[n] = '\0';
	return out;
}

char *recipe_set_base(const char *text, const char *base)
{
	size_t n = strlen(text);
	char *out = xmalloc(n + strlen(base) + 8);
	size_t o = 0;
	bool done = false;
	for (const char *p = text; *p;) {
		const char *end = strchrnul(p, '\n');
		const char *k = p;
		while (k < end && isspace((unsigned char)*k))
			k++;
		size_t klen = strcspn(k, " \t\r\n");
		if (!done && klen == 4 && strncmp(k, "base", 4) == 0) {
			o += (size_t)sprintf(out + o, "base %s", base);
			done = true;
		} else {
			memcpy(out + o, p, (size_t)(end - p));
			o += (size_t)(end - p);
		}
		if (*end)
			out[o++] = '\n';
		p = *end ? end + 1 : end;
	}
	if (!done) {
		if (o && out[o - 1] != '\n')
			out[o++] = '\n';
		o += (size_t)sprintf(out + o, "base %s\n", base);
	}
	out[o] = '\0';
	return out;
}
