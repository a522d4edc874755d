/* Unit tests for the keygate: an agent's API key added outside the jail. proxy_wire.c's parts
 * (the upstream URL, the origin-form head, the rewrite that puts the key in) and plan.c's
 * plan_keygate_finish (the upstream, the port, the jail's environment, and that no key reaches the
 * plan or anything it prints). No filesystem access: plan_build sees a fake machine. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "plan.h"
#include "profile.h"
#include "proxy_wire.h"
#include "util.h"

#define KEY "sk-real-SECRET-0123456789"

/* ---- the upstream's URL ---------------------------------------------------------------------------- */

static void test_url_parse(void **state)
{
	(void)state;
	struct wire_url u;
	assert_null(wire_url_parse("https://api.anthropic.com", &u));
	assert_true(u.tls);
	assert_string_equal(u.host, "api.anthropic.com");
	assert_int_equal(u.port, 443);
	assert_string_equal(u.prefix, "");
	assert_null(wire_url_parse("HTTPS://API.OpenAI.com/v1/", &u));
	assert_string_equal(u.host, "api.openai.com");
	assert_string_equal(u.prefix, "/v1");
	assert_null(wire_url_parse("http://127.0.0.1:8080/a/b%20c", &u));
	assert_false(u.tls);
	assert_int_equal(u.port, 8080);
	assert_string_equal(u.prefix, "/a/b%20c");
	assert_null(wire_url_parse("http://[::1]:9/", &u));
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.port, 9);
	assert_string_equal(u.prefix, "");
	assert_null(wire_url_parse("http://localhost", &u));
	assert_int_equal(u.port, 80);

	static const char *const bad[] = {
		"", "api.anthropic.com", "ftp://x", "https://", "https://user:pw@host", "https://host:0",
		"https://host:99999", "https://host/?q=1", "https://host/#f", "https://ho st", "https://host/a b",
		"https://host/\x01", "https://host/%zz", "https://host/%2", "https://host:12x", "http://[::1",
		"https://bad..name", "https://host/\xc3\xa9", "https://host/a\"b",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (!wire_url_parse(bad[i], &u))
			print_error("accepted: '%s'\n", bad[i]);
		assert_non_null(wire_url_parse(bad[i], &u));
	}
	assert_non_null(wire_url_parse(NULL, &u));
}

/* ---- the request head ------------------------------------------------------------------------------- */

static void test_origin_parse(void **state)
{
	(void)state;
	struct wire_http r;
	const char ok[] = "POST /v1/messages?beta=true HTTP/1.1\r\nHost: 127.0.0.1:3129\r\nContent-Length: 2\r\n\r\n{}";
	assert_int_equal(wire_origin_parse(ok, sizeof ok - 1, &r), WIRE_DONE);
	assert_string_equal(r.method, "POST");
	assert_int_equal(r.head_len, sizeof ok - 3);
	assert_int_equal(r.content_length, 2);
	assert_string_equal(r.host, "");
	/* Half a head: more to come. */
	assert_int_equal(wire_origin_parse(ok, 20, &r), WIRE_NEED_MORE);
	/* The proxy's forms, and garbage, are refused. */
	static const char *const bad[] = {
		"GET http://example.com/ HTTP/1.1\r\n\r\n",
		"CONNECT example.com:443 HTTP/1.1\r\n\r\n",
		"CONNECT /x HTTP/1.1\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\n\r\n",
		"GET /a#frag HTTP/1.1\r\n\r\n",
		"GET / HTTP/2.0\r\n\r\n",
		"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
		"GET / HTTP/1.1\r\n folded\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n",
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
		/* dot segments would leave the upstream's path prefix */
		"GET /../admin HTTP/1.1\r\n\r\n",
		"GET /v1/../../admin HTTP/1.1\r\n\r\n",
		"GET /v1/./x HTTP/1.1\r\n\r\n",
		"GET /%2e%2E/admin HTTP/1.1\r\n\r\n",
		"GET /.%2e HTTP/1.1\r\n\r\n",
		"GET /.. HTTP/1.1\r\n\r\n",
	};
	/* ...but a dot inside a name, three dots, or dots in the query are a path's own. */
	static const char *const fine[] = {
		"GET /v1/file.json HTTP/1.1\r\n\r\n",
		"GET /.well-known/x HTTP/1.1\r\n\r\n",
		"GET /... HTTP/1.1\r\n\r\n",
		"GET /v1?path=../x HTTP/1.1\r\n\r\n",
		"GET /%2e%2ex HTTP/1.1\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
		enum wire_result w = wire_origin_parse(fine[i], strlen(fine[i]), &r);
		if (w != WIRE_DONE)
			print_error("refused: '%s': %s\n", fine[i], r.why);
		assert_int_equal(w, WIRE_DONE);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		enum wire_result w = wire_origin_parse(bad[i], strlen(bad[i]), &r);
		if (w != WIRE_BAD)
			print_error("not refused: '%s'\n", bad[i]);
		assert_int_equal(w, WIRE_BAD);
		assert_non_null(r.why);
	}
	/* And a head that never ends. */
	char *big = malloc(WIRE_HTTP_HEAD_MAX + 10);
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	memset(big + 19, 'a', WIRE_HTTP_HEAD_MAX - 9);
	assert_int_equal(wire_origin_parse(big, WIRE_HTTP_HEAD_MAX + 10, &r), WIRE_BAD);
	assert_int_equal(r.status, 431);
	free(big);
	/* The proxy's own parser still refuses origin form. */
	assert_int_equal(wire_http_parse(ok, sizeof ok - 1, &r), WIRE_BAD);
}

/* The rewrite of head with upstream url, header, key; must succeed. Caller frees. */
static char *rewrite(const char *head, const char *url, const char *header, const char *key)
{
	struct wire_url u;
	assert_null(wire_url_parse(url, &u));
	struct wire_http r;
	assert_int_equal(wire_origin_parse(head, strlen(head), &r), WIRE_DONE);
	char *out = malloc(WIRE_KEYGATE_REWRITE_MAX + 1);
	long n = wire_keygate_rewrite(head, strlen(head), &r, &u, header, key, out, WIRE_KEYGATE_REWRITE_MAX);
	assert_true(n > 0);
	out[n] = '\0';
	/* Exactly n bytes fit; one fewer does not. */
	char *exact = malloc((size_t)n);
	assert_int_equal(wire_keygate_rewrite(head, strlen(head), &r, &u, header, key, exact, (size_t)n), n);
	assert_int_equal(wire_keygate_rewrite(head, strlen(head), &r, &u, header, key, exact, (size_t)n - 1), -1);
	free(exact);
	return out;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *s = hay; (s = strstr(s, needle)); s++)
		n++;
	return n;
}

static void test_rewrite_x_api_key(void **state)
{
	(void)state;
	cleanup_free char *out = rewrite("POST /v1/messages?beta=true HTTP/1.1\r\n"
					 "Host: 127.0.0.1:3129\r\n"
					 "X-Api-Key: ajail-keygate-placeholder\r\n"
					 "x-api-key: second\r\n"
					 "Authorization: Bearer stolen\r\n"
					 "Proxy-Authorization: Basic eA==\r\n"
					 "anthropic-version: 2023-06-01\r\n"
					 "Connection: keep-alive, X-Hop\r\n"
					 "X-Hop: 1\r\n"
					 "Keep-Alive: timeout=5\r\n"
					 "Upgrade: h2c\r\n"
					 "Content-Length: 2\r\n"
					 "\r\n",
					 "https://api.anthropic.com", "x-api-key", KEY);
	assert_string_equal(out, "POST /v1/messages?beta=true HTTP/1.1\r\n"
				 "Host: api.anthropic.com\r\n"
				 "anthropic-version: 2023-06-01\r\n"
				 "Content-Length: 2\r\n"
				 "x-api-key: " KEY "\r\n"
				 "Connection: close\r\n"
				 "\r\n");
}

static void test_rewrite_bearer_prefix(void **state)
{
	(void)state;
	/* OpenAI: the key as a Bearer token, the upstream's /v1 before the path, a port kept in Host. */
	cleanup_free char *out = rewrite("GET /responses HTTP/1.0\n"
					 "authorization: Bearer ajail-keygate-placeholder\n"
					 "AUTHORIZATION: Basic x\n"
					 "Accept: text/event-stream\n"
					 "\n",
					 "http://10.0.0.5:8443/v1/", "authorization", KEY);
	assert_string_equal(out, "GET /v1/responses HTTP/1.0\r\n"
				 "Host: 10.0.0.5:8443\r\n"
				 "Accept: text/event-stream\r\n"
				 "Authorization: Bearer " KEY "\r\n"
				 "Connection: close\r\n"
				 "\r\n");
	/* A request without the header still gets the key (it goes only to the upstream). */
	cleanup_free char *bare = rewrite("GET / HTTP/1.1\r\n\r\n", "https://[2001:db8::1]:444", "x-api-key", KEY);
	assert_string_equal(bare, "GET / HTTP/1.1\r\nHost: [2001:db8::1]:444\r\nx-api-key: " KEY "\r\nConnection: close\r\n\r\n");
	/* A default port is left out of Host; the key header of a profile's own name is dropped too. */
	cleanup_free char *other = rewrite("GET /x HTTP/1.1\r\nX-Goog-Api-Key: mine\r\nx-api-key: y\r\n\r\n",
					   "https://example.com:443/p", "x-goog-api-key", KEY);
	assert_string_equal(other, "GET /p/x HTTP/1.1\r\nHost: example.com\r\nx-goog-api-key: " KEY "\r\nConnection: close\r\n\r\n");
	assert_int_equal(count(other, KEY), 1);
}

static void test_rewrite_refuses(void **state)
{
	(void)state;
	struct wire_url u;
	assert_null(wire_url_parse("https://api.anthropic.com", &u));
	const char head[] = "GET / HTTP/1.1\r\n\r\n";
	struct wire_http r;
	assert_int_equal(wire_origin_parse(head, sizeof head - 1, &r), WIRE_DONE);
	char out[WIRE_KEYGATE_REWRITE_MAX];
	/* A key that could end its line, or is too long, or a header that is no lower-case token. */
	static const char *const keys[] = { "", "a\r\nX-Evil: 1", "a\nb", "a b", "a\tb", "\x7f" };
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		assert_int_equal(wire_keygate_rewrite(head, sizeof head - 1, &r, &u, "x-api-key", keys[i], out, sizeof out), -1);
	char *long_key = malloc(WIRE_KEY_MAX + 2);
	memset(long_key, 'k', WIRE_KEY_MAX + 1);
	long_key[WIRE_KEY_MAX + 1] = '\0';
	assert_int_equal(wire_keygate_rewrite(head, sizeof head - 1, &r, &u, "x-api-key", long_key, out, sizeof out), -1);
	long_key[WIRE_KEY_MAX] = '\0';
	assert_true(wire_keygate_rewrite(head, sizeof head - 1, &r, &u, "x-api-key", long_key, out, sizeof out) > 0);
	free(long_key);
	static const char *const headers[] = { "", "X-Api-Key", "x api", "x:y" };
	for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++)
		assert_int_equal(wire_keygate_rewrite(head, sizeof head - 1, &r, &u, headers[i], KEY, out, sizeof out), -1);
	/* Not a head the origin parser accepts: nothing. */
	const char proxy_head[] = "GET http://x/ HTTP/1.1\r\n\r\n";
	assert_int_equal(wire_keygate_rewrite(proxy_head, sizeof proxy_head - 1, &r, &u, "x-api-key", KEY, out, sizeof out), -1);
	assert_int_equal(wire_keygate_rewrite(head, 10, &r, &u, "x-api-key", KEY, out, sizeof out), -1);
	/* A head whose length differs from the parse handed in. */
	struct wire_http other = r;
	other.head_len--;
	assert_int_equal(wire_keygate_rewrite(head, sizeof head - 1, &other, &u, "x-api-key", KEY, out, sizeof out), -1);
}

/* ---- the plan ----------------------------------------------------------------------------------------- */

#define CWD "/work/x"

/* The fake machine: the working directory exists, nothing else does. */
static int fake_probe(const char *path, bool follow, struct probe_res *res, void *ctx)
{
	(void)follow;
	(void)ctx;
	res->path = NULL;
	res->type = FT_MISSING;
	if (strcmp(path, CWD) == 0 || strcmp(path, "/") == 0) {
		res->type = FT_DIR;
		res->path = xstrdup(path);
		res->dev = 7;
		res->ino = 42;
	}
	return 0;
}

static const char profile_text[] = "# a test agent\n"
				   "net api.example.com\n"
				   "secret ANTHROPIC_API_KEY x-api-key https://api.anthropic.com ANTHROPIC_BASE_URL\n"
				   "secret OPENAI_API_KEY authorization https://api.openai.com/v1 OPENAI_BASE_URL\n";

struct ctx {
	struct opts o;
	struct plan p;
	struct aj_err err;
	struct facts f;
	struct rootfs rootfs;
	struct profile pr;
	char *env[8];
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof *c);
	opts_init(&c->o);
	plan_init(&c->p);
	struct aj_err err = { 0 };
	if (profile_parse(profile_text, "agent", "test", &c->pr, &err) < 0) {
		print_error("profile_parse: %s\n", err.msg);
		return -1;
	}
	c->rootfs = (struct rootfs){ .kind = ROOTFS_HOST, .name = "host" };
	c->f = (struct facts){
		.cwd = CWD,
		.uid = 1000,
		.gid = 1000,
		.environ = c->env,
		.rootfs = &c->rootfs,
		.probe = fake_probe,
		.landlock_abi = 7,
		.profile = &c->pr,
	};
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	opts_release(&c->o);
	plan_release(&c->p);
	profile_release(&c->pr);
	free(c);
	return 0;
}

/* The host's environment (NULL-terminated "K=V"s), then a plan from the command line. */
static int build(struct ctx *c, const char *const *env, ...)
{
	size_t n = 0;
	for (; env && env[n]; n++)
		c->env[n] = (char *)env[n];
	c->env[n] = NULL;
	char *argv[32];
	int argc = 0;
	argv[argc++] = "ajail";
	va_list ap;
	va_start(ap, env);
	for (char *w; (w = va_arg(ap, char *)) != NULL;)
		argv[argc++] = w;
	va_end(ap);
	argv[argc] = NULL;
	opts_release(&c->o);
	plan_release(&c->p);
	memset(&c->err, 0, sizeof c->err);
	assert_int_equal(cli_parse(argc, argv, NULL, &c->o, &c->err), 0);
	int r = plan_build(&c->o, &c->f, &c->p, &c->err);
	if (r < 0)
		print_error("plan_build: %s\n", c->err.msg);
	return r;
}

static const char *env_get(const struct plan *p, const char *key)
{
	size_t kl = strlen(key);
	for (size_t i = 0; p->env && p->env[i]; i++)
		if (strncmp(p->env[i], key, kl) == 0 && p->env[i][kl] == '=')
			return p->env[i] + kl + 1;
	return NULL;
}

static bool has_port(const struct plan_layers *l, uint16_t port)
{
	for (size_t i = 0; i < l->n_ll_tcp_connect; i++)
		if (l->ll_tcp_connect[i] == port)
			return true;
	return false;
}

/* Everything the plan shows (--dry-run, the status block, -v's notes), in one string. */
static char *printed(const struct plan *p)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	plan_print(p, f);
	plan_print_status(p, f);
	for (size_t i = 0; p->notes && p->notes[i]; i++)
		fprintf(f, "%s\n", p->notes[i]);
	for (size_t i = 0; p->warnings && p->warnings[i]; i++)
		fprintf(f, "%s\n", p->warnings[i]);
	fclose(f);
	return text;
}

/* No byte of a key anywhere in the plan: its env, argv, keygates, or what it prints. */
static void assert_no_key(const struct plan *p, const char *key)
{
	for (size_t i = 0; p->env && p->env[i]; i++)
		assert_null(strstr(p->env[i], key));
	for (size_t i = 0; p->argv && p->argv[i]; i++)
		assert_null(strstr(p->argv[i], key));
	for (size_t i = 0; i < p->net.n_keygate; i++) {
		const struct plan_keygate *k = &p->net.keygate[i];
		assert_null(strstr(k->env, key));
		assert_null(strstr(k->header, key));
		assert_null(strstr(k->upstream, key));
		assert_null(strstr(k->base_env, key));
	}
	cleanup_free char *text = printed(p);
	assert_null(strstr(text, key));
}

static void test_plan_default_upstream(void **state)
{
	struct ctx *c = *state;
	static const char *const env[] = { "HOME=/home/u", "ANTHROPIC_API_KEY=" KEY, NULL };
	assert_int_equal(build(c, env, "--net=allow", "--profile=agent", "-v", "true", NULL), 0);
	const struct plan_net *n = &c->p.net;
	assert_int_equal(n->n_keygate, 1); /* OPENAI_API_KEY is not set on the host: no keygate for it */
	const struct plan_keygate *k = &n->keygate[0];
	assert_string_equal(k->env, "ANTHROPIC_API_KEY");
	assert_string_equal(k->header, "x-api-key");
	assert_string_equal(k->upstream, "https://api.anthropic.com");
	assert_true(k->port != 0 && k->port != n->http_port && k->port != n->socks_port);
	cleanup_free char *url = xasprintf("http://127.0.0.1:%u", k->port);
	assert_string_equal(env_get(&c->p, "ANTHROPIC_API_KEY"), PLAN_KEYGATE_PLACEHOLDER);
	assert_string_equal(env_get(&c->p, "ANTHROPIC_BASE_URL"), url);
	assert_null(env_get(&c->p, "OPENAI_API_KEY"));
	assert_non_null(strstr(env_get(&c->p, "NO_PROXY"), "127.0.0.1"));
	assert_non_null(strstr(env_get(&c->p, "no_proxy"), "127.0.0.1"));
	assert_true(c->p.layers.landlock_net);
	assert_true(has_port(&c->p.layers, k->port));
	cleanup_free char *text = printed(&c->p);
	cleanup_free char *line = xasprintf("key ANTHROPIC_API_KEY stays outside the jail: ANTHROPIC_BASE_URL=%s -> "
					    "https://api.anthropic.com", url);
	assert_non_null(strstr(text, line));
	assert_no_key(&c->p, KEY);
	assert_no_key(&c->p, "sk-real");
}

static void test_plan_host_upstream(void **state)
{
	struct ctx *c = *state;
	/* The host's base URLs are where requests go; the jail sees only its own address. Ports are
	 * distinct from each other, the proxy's, a forward's and a published port. */
	static const char *const env[] = { "ANTHROPIC_API_KEY=" KEY, "ANTHROPIC_BASE_URL=http://127.0.0.1:8080/proxy/",
					   "OPENAI_API_KEY=sk-openai-SECRET", "OPENAI_BASE_URL=https://llm.corp.example:8443/openai/v1",
					   "AJAIL_ENV_ANTHROPIC_API_KEY=" KEY, "AJAIL_ENV_NO_PROXY=corp.example", NULL };
	assert_int_equal(build(c, env, "--net=allow", "--profile=agent", "--allow-net=localhost:3129", "--publish=3130",
			       "true", NULL),
			 0);
	const struct plan_net *n = &c->p.net;
	assert_int_equal(n->n_keygate, 2);
	assert_string_equal(n->keygate[0].upstream, "http://127.0.0.1:8080/proxy/");
	assert_string_equal(n->keygate[1].upstream, "https://llm.corp.example:8443/openai/v1");
	uint16_t ports[] = { n->keygate[0].port, n->keygate[1].port, n->http_port, n->socks_port, 3129, 3130 };
	for (size_t i = 0; i < 6; i++)
		for (size_t j = i + 1; j < 6; j++)
			assert_int_not_equal(ports[i], ports[j]);
	for (size_t i = 0; i < 2; i++)
		assert_true(has_port(&c->p.layers, n->keygate[i].port));
	/* AJAIL_ENV_ cannot put the key into the jail past its keygate. */
	assert_string_equal(env_get(&c->p, "ANTHROPIC_API_KEY"), PLAN_KEYGATE_PLACEHOLDER);
	assert_string_equal(env_get(&c->p, "OPENAI_API_KEY"), PLAN_KEYGATE_PLACEHOLDER);
	cleanup_free char *oa = xasprintf("http://127.0.0.1:%u", n->keygate[1].port);
	assert_string_equal(env_get(&c->p, "OPENAI_BASE_URL"), oa);
	/* A NO_PROXY of the user's own gets loopback added: requests to the keygate go straight to it. */
	assert_string_equal(env_get(&c->p, "NO_PROXY"), "corp.example,127.0.0.1");
	assert_no_key(&c->p, KEY);
	assert_no_key(&c->p, "sk-openai-SECRET");
	assert_no_key(&c->p, "SECRET");
}

static void test_plan_bad_base_url(void **state)
{
	struct ctx *c = *state;
	static const char *const bad[] = { "api.anthropic.com", "ftp://x", "https://user:" KEY "@host", "https://host/?q" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cleanup_free char *base = xasprintf("ANTHROPIC_BASE_URL=%s", bad[i]);
		const char *env[] = { "ANTHROPIC_API_KEY=" KEY, base, NULL };
		assert_int_equal(build(c, env, "--net=allow", "--profile=agent", "true", NULL), -1);
		assert_int_equal(c->err.kind, AJ_ERR_USAGE);
		assert_non_null(strstr(c->err.msg, "ANTHROPIC_BASE_URL"));
		assert_null(strchr(c->err.msg, '\n'));
		assert_null(strstr(c->err.msg, KEY)); /* the value is not repeated: it may hold a token */
	}
}

static void test_plan_no_keygate(void **state)
{
	struct ctx *c = *state;
	/* The host's network, or no key on the host: nothing of the keygate. */
	static const char *const with_key[] = { "ANTHROPIC_API_KEY=" KEY, NULL };
	assert_int_equal(build(c, with_key, "--net=host", "--profile=agent", "true", NULL), 0);
	assert_int_equal(c->p.net.n_keygate, 0);
	static const char *const none[] = { "HOME=/home/u", NULL };
	assert_int_equal(build(c, none, "--net=allow", "--profile=agent", "true", NULL), 0);
	assert_int_equal(c->p.net.n_keygate, 0);
	assert_null(env_get(&c->p, "ANTHROPIC_API_KEY"));
	cleanup_free char *text = printed(&c->p);
	assert_null(strstr(text, "stays outside"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_parse),
		cmocka_unit_test(test_origin_parse),
		cmocka_unit_test(test_rewrite_x_api_key),
		cmocka_unit_test(test_rewrite_bearer_prefix),
		cmocka_unit_test(test_rewrite_refuses),
		cmocka_unit_test_setup_teardown(test_plan_default_upstream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_host_upstream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_bad_base_url, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_no_keygate, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
