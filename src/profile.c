#include "profile.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* share/profiles/, turned into { "name", "text" } pairs by the Makefile. */
static const struct {
	const char *name;
	const char *text;
} shipped[] = {
#include "profiles.h"
};

static const char *const *shipped_names_init(void)
{
	static const char *names[sizeof shipped / sizeof shipped[0] + 1];
	for (size_t i = 0; i < sizeof shipped / sizeof shipped[0]; i++)
		names[i] = shipped[i].name;
	return names;
}

const char *const *profile_shipped_names(void)
{
	return shipped_names_init();
}

const char *profile_shipped(const char *name)
{
	for (size_t i = 0; i < sizeof shipped / sizeof shipped[0]; i++)
		if (strcmp(shipped[i].name, name) == 0)
			return shipped[i].text;
	return NULL;
}

bool profile_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 64 || name[0] == '.' || name[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isalnum(c) && c != '-' && c != '_' && c != '.')
			return false;
	}
	return true;
}

const char *profile_command_name(const char *argv0)
{
	if (!argv0)
		return NULL;
	const char *slash = strrchr(argv0, '/');
	const char *base = slash ? slash + 1 : argv0;
	return profile_name_ok(base) ? base : NULL;
}

void profile_release(struct profile *p)
{
	free(p->name);
	free(p->description);
	free(p->source);
	for (size_t i = 0; i < p->n_state; i++) {
		free(p->state[i].path);
		free(p->state[i].initial);
	}
	free(p->state);
	strv_free(p->pass_env);
	strv_free(p->set_env);
	strv_free(p->args);
	strv_free(p->net);
	for (size_t i = 0; i < p->n_secret; i++) {
		free(p->secret[i].env);
		free(p->secret[i].header);
		free(p->secret[i].upstream);
		free(p->secret[i].base_env);
	}
	memset(p, 0, sizeof *p);
}

static bool env_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 128 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

/* An HTTP header name: a token (RFC 9110), lowercase so that the proxy compares it as it is. */
static bool header_ok(const char *s)
{
	if (!*s || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '-' || *s == '_'))
			return false;
	return true;
}

/* A value printable in one line and safe in an environment: no control characters. */
static bool text_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static char **words_of(const char *s)
{
	char **v = NULL;
	while (*s) {
		while (*s == ' ' || *s == '\t')
			s++;
		size_t n = strcspn(s, " \t");
		if (n)
			strv_push(&v, xstrndup(s, n));
		s += n;
	}
	return v;
}

/* A home path as a profile names it: relative, no "..", no empty or "." components. */
static char *state_path(const char *s, bool *dir)
{
	size_t n = strlen(s);
	*dir = n > 0 && s[n - 1] == '/';
	while (n > 0 && s[n - 1] == '/')
		n--;
	if (n == 0 || s[0] == '/' || n > 255)
		return NULL;
	char *p = xstrndup(s, n);
	for (char *c = p; *c;) {
		size_t len = strcspn(c, "/");
		if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.')) {
			free(p);
			return NULL;
		}
		c += len;
		if (*c)
			c++;
	}
	return p;
}

int profile_parse(const char *text, const char *name, const char *source, struct profile *p, struct aj_err *err)
{
	memset(p, 0, sizeof *p);
	p->name = xstrdup(name);
	p->source = xstrdup(source);
	int lineno = 0;
	const char *what = NULL;
	for (const char *s = text; *s;) {
		const char *end = strchrnul(s, '\n');
		lineno++;
		cleanup_free char *line = xstrndup(s, (size_t)(end - s));
		s = *end ? end + 1 : end;
		size_t len = strlen(line);
		while (len && isspace((unsigned char)line[len - 1]))
			line[--len] = '\0';
		char *l = line;
		while (*l == ' ' || *l == '\t')
			l++;
		if (!*l)
			continue;
		if (*l == '#') {
			if (!p->description) {
				l++;
				while (*l == ' ')
					l++;
				p->description = xstrdup(l);
			}
			continue;
		}
		if (!text_ok(l)) {
			what = "a control character";
			goto bad;
		}
		size_t klen = strcspn(l, " \t");
		cleanup_free char *key = xstrndup(l, klen);
		const char *val = l + klen;
		while (*val == ' ' || *val == '\t')
			val++;
		if (!*val) {
			what = "a key without a value";
			goto bad;
		}
		if (strcmp(key, "state") == 0) {
			bool dir;
			size_t pn = strcspn(val, " \t");
			const char *init = val + pn;
			while (*init == ' ' || *init == '\t')
				init++;
			cleanup_free char *pathw = xstrndup(val, pn);
			char *path = state_path(pathw, &dir);
			if (path && *init && dir) {
				free(path);
				what = "a directory (a state path ending in '/') has no content";
				goto bad;
			}
			if (!path) {
				what = "a state path must be relative to /root, without '..' (e.g. .claude/ or .claude.json)";
				goto bad;
			}
			p->state = xrealloc(p->state, (p->n_state + 1) * sizeof *p->state);
			p->state[p->n_state++] =
				(struct profile_state){ .path = path, .dir = dir, .initial = *init ? xstrdup(init) : NULL };
		} else if (strcmp(key, "env") == 0) {
			cleanup_strv char **w = words_of(val);
			for (size_t i = 0; w && w[i]; i++) {
				if (!env_name_ok(w[i], strlen(w[i]))) {
					what = "env takes variable names (letters, digits, '_')";
					goto bad;
				}
				strv_push(&p->pass_env, xstrdup(w[i]));
			}
		} else if (strcmp(key, "set") == 0) {
			const char *eq = strchr(val, '=');
			if (!eq || !env_name_ok(val, (size_t)(eq - val))) {
				what = "set takes VAR=VALUE";
				goto bad;
			}
			strv_push(&p->set_env, xstrdup(val));
		} else if (strcmp(key, "arg") == 0) {
			strv_push(&p->args, xstrdup(val));
		} else if (strcmp(key, "arg-if") == 0) {
			size_t vn = strcspn(val, " \t");
			const char *a = val + vn;
			while (*a == ' ' || *a == '\t')
				a++;
			if (!env_name_ok(val, vn) || !*a) {
				what = "arg-if takes VAR ARG";
				goto bad;
			}
			strv_push(&p->args, xasprintf("?%.*s\n%s", (int)vn, val, a));
		} else if (strcmp(key, "net") == 0) {
			cleanup_strv char **w = words_of(val);
			for (size_t i = 0; w && w[i]; i++)
				strv_push(&p->net, xstrdup(w[i]));
		} else if (strcmp(key, "secret") == 0) {
			cleanup_strv char **w = words_of(val);
			if (strv_len(w) != 4 || !env_name_ok(w[0], strlen(w[0])) || !header_ok(w[1]) ||
			    !(str_has_prefix(w[2], "http://") || str_has_prefix(w[2], "https://")) ||
			    !env_name_ok(w[3], strlen(w[3]))) {
				what = "secret takes VAR HEADER URL BASE_VAR (e.g. secret ANTHROPIC_API_KEY x-api-key "
				       "https://api.anthropic.com ANTHROPIC_BASE_URL; HEADER in lowercase)";
				goto bad;
			}
			if (p->n_secret == PROFILE_MAX_SECRETS) {
				what = "too many secret lines";
				goto bad;
			}
			struct profile_secret *sec = &p->secret[p->n_secret++];
			sec->env = xstrdup(w[0]);
			sec->header = xstrdup(w[1]);
			sec->upstream = xstrdup(w[2]);
			sec->base_env = xstrdup(w[3]);
		} else {
			what = "an unknown key (state, env, set, arg, arg-if, net, secret)";
			goto bad;
		}
	}
	if (!p->description)
		p->description = xstrdup("");
	return 0;
bad:
	profile_release(p);
	return aj_usage(err, "profile %s (%s), line %d: %s", name, source, lineno, what);
}

int profile_known_kind(const char *rel, char **initial)
{
	if (initial)
		*initial = NULL;
	for (size_t i = 0; i < sizeof shipped / sizeof shipped[0]; i++) {
		struct profile p;
		struct aj_err err = { 0 };
		if (profile_parse(shipped[i].text, shipped[i].name, "shipped", &p, &err) < 0)
			continue;
		int kind = 0;
		for (size_t j = 0; j < p.n_state && !kind; j++) {
			if (strcmp(p.state[j].path, rel) != 0)
				continue;
			kind = p.state[j].dir ? 2 : 1;
			if (initial && p.state[j].initial)
				*initial = xstrdup(p.state[j].initial);
		}
		profile_release(&p);
		if (kind)
			return kind;
	}
	return 0;
}
