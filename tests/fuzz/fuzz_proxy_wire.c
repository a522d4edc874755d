/* fuzz_proxy_wire — the parsers of src/proxy_wire.c on what a hostile jailed program sends the
 * network proxy. The whole input goes to each of them, as it would arrive on the proxy's HTTP port,
 * its SOCKS port, or through a tunnel whose first bytes are checked for a TLS server name:
 *
 *   - wire_http_parse: on WIRE_DONE, head_len is within the input and the limit and ends in LF, the
 *     host is a valid lower-case host name or IPv6 literal, the port is not 0, and every shorter
 *     prefix (a few of them) is WIRE_NEED_MORE; on WIRE_BAD a status the header lists and a reason;
 *     WIRE_NEED_MORE only below WIRE_HTTP_HEAD_MAX bytes;
 *   - wire_http_rewrite on an absolute-form head: fits WIRE_HTTP_REWRITE_MAX, ends in CRLFCRLF, every
 *     line ends in CRLF and is a well-formed header line, exactly one Host (the target) and one
 *     Connection ("close"), no Proxy-Connection or other hop-by-hop header, put back in absolute
 *     form it parses again to the same target, and one byte less of cap is -1 without a write past
 *     it; on anything else it is -1;
 *   - wire_socks_greeting, then wire_socks_request on what follows it (and on the whole input);
 *   - wire_tls_sni: a name only with WIRE_TLS_SNI, and then a valid one without ':';
 *   - wire_origin_parse (the keygate's): on WIRE_DONE the same bounds, an origin-form target; then
 *     wire_keygate_rewrite with one of a few upstreams and headers: fits WIRE_KEYGATE_REWRITE_MAX,
 *     CRLF lines, the upstream's prefix before the target, one Host (the upstream's), one Connection
 *     ("close"), the key exactly once and in one line (its header's, "Bearer " for authorization), no
 *     other Authorization, X-Api-Key or Proxy-Authorization, nothing hop-by-hop; one byte less of cap
 *     is -1; on anything else -1; wire_url_parse on the input as text: a valid host, no '?' or '#';
 *   - wire_http_error on the input as text (cut at its first NUL), a status and a cap taken from
 *     the input's first and last bytes: a response whose Content-Length is exact, its body one line.
 * Every buffer is allocated to its exact size, so ASan sees a read or write past it.
 * Input: any bytes (seeds in corpus/fuzz_proxy_wire/: requests, SOCKS exchanges, real ClientHellos). */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy_wire.h"

#include "fuzz.h"

/* ---- independent checks (no code shared with proxy_wire.c) ----------------------------------------- */

static bool valid_name(const char *h)
{
	size_t n = strlen(h);
	if (n == 0 || n > WIRE_HOST_MAX || h[0] == '.' || h[n - 1] == '.' || strstr(h, ".."))
		return false;
	return strspn(h, "abcdefghijklmnopqrstuvwxyz0123456789.-_") == n;
}

static bool valid_host(const char *h, bool v6_ok)
{
	struct in6_addr a;
	if (strchr(h, ':'))
		return v6_ok && inet_pton(AF_INET6, h, &a) == 1 && strspn(h, "0123456789abcdef:.") == strlen(h);
	return valid_name(h);
}

static bool is_token(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c)) ||
		    c == 0)
			return false;
	}
	return true;
}

static bool name_is(const char *line, size_t n, const char *name)
{
	size_t l = strlen(name);
	return n > l && line[l] == ':' && strncasecmp(line, name, l) == 0;
}

/* ---- HTTP ------------------------------------------------------------------------------------------ */

static void check_rewrite(const uint8_t *data, size_t size, const struct wire_http *parsed)
{
	/* Half the inputs as the proxy sends a kept-alive request on, half as the last one. */
	struct wire_http keep = *parsed;
	keep.keep_alive_out = size & 1;
	const struct wire_http *r = &keep;
	const char *conn_line = r->keep_alive_out ? "Connection: keep-alive" : "Connection: close";
	size_t cap = WIRE_HTTP_REWRITE_MAX;
	char *out = malloc(cap);
	long n = wire_http_rewrite((const char *)data, size, r, out, cap);
	fuzz_check(n > 0, "rewrite of an accepted absolute-form head failed (%ld)", n);
	fuzz_check((size_t)n <= cap, "rewrite wrote %ld bytes into %zu", n, cap);
	fuzz_check(n >= 4 && memcmp(out + n - 4, "\r\n\r\n", 4) == 0, "rewrite does not end in CRLFCRLF");
	fuzz_check(!memchr(out, '\0', (size_t)n), "a NUL in the rewritten head");

	/* Line by line: the request line, then header lines, then the empty line at the very end. */
	char host[WIRE_HOST_MAX + 16];
	bool v6 = strchr(r->host, ':');
	if (r->port == 80)
		snprintf(host, sizeof host, "%s%s%s", v6 ? "[" : "", r->host, v6 ? "]" : "");
	else
		snprintf(host, sizeof host, "%s%s%s:%u", v6 ? "[" : "", r->host, v6 ? "]" : "", (unsigned)r->port);
	int n_host = 0, n_conn = 0;
	size_t line = 0;
	for (const char *s = out; s < out + n; line++) {
		const char *lf = memchr(s, '\n', (size_t)(out + n - s));
		fuzz_check(lf && lf > s && lf[-1] == '\r', "line %zu does not end in CRLF", line);
		size_t len = (size_t)(lf - s) - 1;
		fuzz_check(!memchr(s, '\r', len), "a bare CR in line %zu", line);
		if (line == 0) {
			size_t ml = strlen(r->method);
			fuzz_check(len > ml + 1 && memcmp(s, r->method, ml) == 0 && s[ml] == ' ' && s[ml + 1] == '/',
				   "request line '%.*s' is not METHOD SP /...", (int)len, s);
			fuzz_check(len >= 9 && (memcmp(s + len - 9, " HTTP/1.1", 9) == 0 || memcmp(s + len - 9, " HTTP/1.0", 9) == 0),
				   "request line '%.*s' lacks its version", (int)len, s);
			fuzz_check(memchr(s + ml + 1, ' ', len - ml - 1) == s + len - 9, "spaces in the target: '%.*s'", (int)len, s);
		} else if (len == 0) {
			fuzz_check(lf + 1 == out + n, "an empty line before the end of the rewritten head");
		} else {
			const char *colon = memchr(s, ':', len);
			fuzz_check(colon && is_token(s, (size_t)(colon - s)), "malformed header line '%.*s'", (int)len, s);
			for (const char *p = colon; p < s + len; p++)
				fuzz_check(*p == '\t' || (unsigned char)*p >= 0x20, "a control byte in '%.*s'", (int)len, s);
			static const char *const hop[] = { "proxy-connection", "proxy-authorization", "keep-alive", "te",
							   "trailer", "upgrade" };
			for (size_t k = 0; k < sizeof hop / sizeof hop[0]; k++)
				fuzz_check(!name_is(s, len, hop[k]), "hop-by-hop header forwarded: '%.*s'", (int)len, s);
			if (name_is(s, len, "host")) {
				n_host++;
				fuzz_check(len == 6 + strlen(host) && memcmp(s + 6, host, strlen(host)) == 0,
					   "Host '%.*s' is not the target %s", (int)len, s, host);
			}
			if (name_is(s, len, "connection")) {
				n_conn++;
				fuzz_check(len == strlen(conn_line) && memcmp(s, conn_line, len) == 0, "'%.*s'", (int)len, s);
			}
		}
		s = lf + 1;
	}
	fuzz_check(n_host == 1, "%d Host headers", n_host);
	fuzz_check(n_conn == 1, "%d Connection headers", n_conn);

	/* Put back in absolute form, the rewritten head is one the parser accepts, for the same target
	 * (its framing headers are the client's, untouched). */
	size_t ml = strlen(r->method);
	size_t back_len = ml + 8 + strlen(host) + ((size_t)n - ml - 1);
	if (back_len <= WIRE_HTTP_HEAD_MAX) {
		char *back = malloc(back_len);
		memcpy(back, r->method, ml);
		memcpy(back + ml, " http://", 8);
		memcpy(back + ml + 8, host, strlen(host));
		memcpy(back + ml + 8 + strlen(host), out + ml + 1, (size_t)n - ml - 1);
		struct wire_http again;
		enum wire_result res = wire_http_parse(back, back_len, &again);
		fuzz_check(res == WIRE_DONE && again.head_len == back_len && again.port == r->port &&
				   strcmp(again.host, r->host) == 0 && strcmp(again.method, r->method) == 0,
			   "the rewritten head, back in absolute form, parses as %d (%s)", res, again.why ? again.why : "-");
		free(back);
	}

	/* Exactly n bytes fit; one fewer is -1 and nothing is written past it. */
	char *exact = malloc((size_t)n);
	fuzz_check(wire_http_rewrite((const char *)data, size, r, exact, (size_t)n) == n, "rewrite into its own size");
	fuzz_check(memcmp(exact, out, (size_t)n) == 0, "rewrite differs between two runs");
	free(exact);
	char *small = malloc((size_t)n - 1);
	fuzz_check(wire_http_rewrite((const char *)data, size, r, small, (size_t)n - 1) == -1, "rewrite did not notice a short cap");
	free(small);
	free(out);
}

/* Some prefix lengths below n, spread over it. */
static size_t prefix_at(size_t n, unsigned k, const uint8_t *data, size_t size)
{
	if (k == 0)
		return n - 1;
	if (k == 1)
		return n / 2;
	size_t h = size;
	for (size_t i = 0; i < size && i < 64; i++)
		h = h * 31 + data[i] + k;
	return h % n;
}

static void fuzz_http(const uint8_t *data, size_t size)
{
	struct wire_http r;
	enum wire_result res = wire_http_parse((const char *)data, size, &r);
	char scratch[64];
	switch (res) {
	case WIRE_DONE:
		fuzz_check(r.head_len > 0 && r.head_len <= size && r.head_len <= WIRE_HTTP_HEAD_MAX, "head_len %zu of %zu",
			   r.head_len, size);
		fuzz_check(data[r.head_len - 1] == '\n', "the head does not end in LF");
		fuzz_check(r.method[0] && is_token(r.method, strlen(r.method)) && strlen(r.method) < sizeof r.method,
			   "method '%s'", r.method);
		fuzz_check(r.connect == (strcmp(r.method, "CONNECT") == 0), "connect flag and method '%s'", r.method);
		fuzz_check(valid_host(r.host, true), "host '%s'", r.host);
		fuzz_check(r.port != 0, "port 0");
		for (unsigned k = 0; k < 5; k++) {
			struct wire_http p;
			size_t at = prefix_at(r.head_len, k, data, size);
			char *copy = malloc(at ? at : 1);
			memcpy(copy, data, at);
			enum wire_result pr = wire_http_parse(copy, at, &p);
			fuzz_check(pr == WIRE_NEED_MORE, "a prefix of %zu bytes of an accepted head is %d (%d %s)", at, pr,
				   p.status, p.why ? p.why : "-");
			free(copy);
		}
		/* The head alone gives the same answer. */
		struct wire_http again;
		fuzz_check(wire_http_parse((const char *)data, r.head_len, &again) == WIRE_DONE &&
				   again.head_len == r.head_len && again.port == r.port && !strcmp(again.host, r.host),
			   "the head alone parses differently");
		if (!r.connect)
			check_rewrite(data, size, &r);
		else
			fuzz_check(wire_http_rewrite((const char *)data, size, &r, scratch, sizeof scratch) == -1,
				   "CONNECT rewritten");
		break;
	case WIRE_BAD:
		fuzz_check(r.why && r.why[0], "refused without a reason");
		fuzz_check(r.status == 400 || r.status == 414 || r.status == 431 || r.status == 501 || r.status == 505,
			   "status %d", r.status);
		fuzz_check(r.status != 431 || size >= WIRE_HTTP_HEAD_MAX, "431 with %zu bytes", size);
		fuzz_check(wire_http_rewrite((const char *)data, size, &r, scratch, sizeof scratch) == -1, "a refused head rewritten");
		break;
	case WIRE_NEED_MORE:
		fuzz_check(size < WIRE_HTTP_HEAD_MAX, "NEED_MORE with %zu bytes", size);
		fuzz_check(wire_http_rewrite((const char *)data, size, &r, scratch, sizeof scratch) == -1, "half a head rewritten");
		break;
	}
}

/* ---- the keygate --------------------------------------------------------------------------------- */

static void check_keygate(const uint8_t *data, size_t size, const struct wire_http *r)
{
	static const char *const urls[] = { "https://api.anthropic.com", "http://127.0.0.1:8080/pre/fix",
					    "https://[2001:db8::1]:444/v1" };
	static const char *const headers[] = { "x-api-key", "authorization" };
	static const char key[] = "sk-FUZZ-KEY-0123456789abcdef";
	struct wire_url u;
	const char *url = urls[size % 3];
	fuzz_check(wire_url_parse(url, &u) == NULL, "upstream %s refused", url);
	const char *header = headers[(size / 3) % 2];
	size_t cap = WIRE_KEYGATE_REWRITE_MAX;
	char *out = malloc(cap);
	long n = wire_keygate_rewrite((const char *)data, size, r, &u, header, key, out, cap);
	fuzz_check(n > 0 && (size_t)n <= cap, "keygate rewrite of an accepted head: %ld", n);
	fuzz_check(memcmp(out + n - 4, "\r\n\r\n", 4) == 0, "keygate rewrite does not end in CRLFCRLF");
	fuzz_check(!memchr(out, '\0', (size_t)n), "a NUL in the keygate's head");
	char host[WIRE_HOST_MAX + 16];
	bool v6 = strchr(u.host, ':');
	snprintf(host, sizeof host, "%s%s%s", v6 ? "[" : "", u.host, v6 ? "]" : "");
	if (u.port != (u.tls ? 443 : 80))
		snprintf(host + strlen(host), sizeof host - strlen(host), ":%u", (unsigned)u.port);
	char key_line[128];
	if (strcmp(header, "authorization") == 0)
		snprintf(key_line, sizeof key_line, "Authorization: Bearer %s", key);
	else
		snprintf(key_line, sizeof key_line, "%s: %s", header, key);
	int n_host = 0, n_conn = 0, n_key = 0;
	size_t line = 0;
	for (const char *s = out; s < out + n; line++) {
		const char *lf = memchr(s, '\n', (size_t)(out + n - s));
		fuzz_check(lf && lf > s && lf[-1] == '\r', "keygate line %zu does not end in CRLF", line);
		size_t len = (size_t)(lf - s) - 1;
		fuzz_check(!memchr(s, '\r', len), "a bare CR in keygate line %zu", line);
		if (line == 0) {
			size_t ml = strlen(r->method), pl = strlen(u.prefix);
			fuzz_check(len > ml + 1 + pl && memcmp(s, r->method, ml) == 0 && s[ml] == ' ' &&
					   memcmp(s + ml + 1, u.prefix, pl) == 0 && s[ml + 1 + pl] == '/',
				   "keygate request line '%.*s'", (int)len, s);
		} else if (len == 0) {
			fuzz_check(lf + 1 == out + n, "an empty line before the end of the keygate's head");
		} else {
			const char *colon = memchr(s, ':', len);
			fuzz_check(colon && is_token(s, (size_t)(colon - s)), "malformed keygate header line '%.*s'", (int)len, s);
			bool is_key = len == strlen(key_line) && memcmp(s, key_line, len) == 0;
			n_key += is_key;
			static const char *const never[] = { "authorization", "x-api-key", "proxy-authorization", "proxy-connection",
							     "keep-alive", "te", "trailer", "upgrade" };
			for (size_t k = 0; k < sizeof never / sizeof never[0]; k++)
				fuzz_check(is_key || !name_is(s, len, never[k]), "keygate passed on '%.*s'", (int)len, s);
			/* (unless the input had it: a jail never knows the key, a fuzzer may guess it) */
			fuzz_check(is_key || !memmem(s, len, key, sizeof key - 1) || memmem(data, size, key, sizeof key - 1),
				   "the key outside its line: '%.*s'", (int)len, s);
			if (name_is(s, len, "host")) {
				n_host++;
				fuzz_check(len == 6 + strlen(host) && memcmp(s + 6, host, strlen(host)) == 0,
					   "keygate Host '%.*s' is not %s", (int)len, s, host);
			}
			if (name_is(s, len, "connection")) {
				n_conn++;
				fuzz_check(len == 17 && memcmp(s, "Connection: close", 17) == 0, "'%.*s'", (int)len, s);
			}
		}
		s = lf + 1;
	}
	fuzz_check(n_host == 1 && n_conn == 1 && n_key == 1, "keygate head: %d Host, %d Connection, %d key lines", n_host,
		   n_conn, n_key);
	char *small = malloc((size_t)n - 1);
	fuzz_check(wire_keygate_rewrite((const char *)data, size, r, &u, header, key, small, (size_t)n - 1) == -1,
		   "keygate rewrite did not notice a short cap");
	free(small);
	free(out);
}

static void fuzz_keygate(const uint8_t *data, size_t size)
{
	struct wire_http r;
	enum wire_result res = wire_origin_parse((const char *)data, size, &r);
	struct wire_url u;
	wire_url_parse("https://api.anthropic.com", &u);
	char scratch[64];
	if (res == WIRE_DONE) {
		fuzz_check(r.head_len > 0 && r.head_len <= size && r.head_len <= WIRE_HTTP_HEAD_MAX && data[r.head_len - 1] == '\n',
			   "origin head_len %zu of %zu", r.head_len, size);
		const char *sp = memchr(data, ' ', r.head_len);
		fuzz_check(sp && sp[1] == '/' && !r.connect && r.host[0] == '\0', "not an origin-form target");
		check_keygate(data, size, &r);
	} else {
		fuzz_check(res == WIRE_NEED_MORE || (r.why && r.status), "origin parse refused without a reason");
		fuzz_check(wire_keygate_rewrite((const char *)data, size, &r, &u, "x-api-key", "k", scratch, sizeof scratch) == -1,
			   "a head the origin parser did not accept rewritten");
	}
	/* The input as an upstream URL (as a host's $ANTHROPIC_BASE_URL could be). */
	if (size < 2048) {
		char *text = malloc(size + 1);
		memcpy(text, data, size);
		text[size] = '\0';
		if (!wire_url_parse(text, &u)) {
			fuzz_check(valid_host(u.host, true) && u.port != 0, "url host '%s' port %u", u.host, u.port);
			fuzz_check(!strpbrk(text, "?# \r\n") && strlen(u.prefix) <= WIRE_URL_PREFIX_MAX, "url '%s' accepted", text);
			size_t pl = strlen(u.prefix);
			fuzz_check(pl == 0 || (u.prefix[0] == '/' && u.prefix[pl - 1] != '/'), "prefix '%s'", u.prefix);
		}
		free(text);
	}
}

/* ---- SOCKS ------------------------------------------------------------------------------------------ */

static void check_socks_request(const uint8_t *data, size_t size)
{
	struct wire_socks r;
	enum wire_result res = wire_socks_request(data, size, &r);
	switch (res) {
	case WIRE_DONE:
		fuzz_check(r.used >= 8 && r.used <= size, "used %zu of %zu", r.used, size);
		fuzz_check(r.cmd >= 1 && r.cmd <= 3, "cmd %u", r.cmd);
		fuzz_check(r.atyp == 1 || r.atyp == 3 || r.atyp == 4, "atyp %u", r.atyp);
		fuzz_check(r.cmd != 1 || r.port != 0, "CONNECT to port 0");
		fuzz_check(valid_host(r.host, true), "host '%s'", r.host);
		for (unsigned k = 0; k < 3; k++) {
			struct wire_socks p;
			size_t at = prefix_at(r.used, k, data, size);
			uint8_t *copy = malloc(at ? at : 1);
			memcpy(copy, data, at);
			fuzz_check(wire_socks_request(copy, at, &p) == WIRE_NEED_MORE, "a prefix of an accepted request");
			free(copy);
		}
		break;
	case WIRE_BAD:
		fuzz_check(r.reply == 1 || r.reply == 7 || r.reply == 8, "reply %u", r.reply);
		break;
	case WIRE_NEED_MORE:
		fuzz_check(size < 4 + 1 + 255 + 2, "NEED_MORE with %zu bytes", size);
		break;
	}
}

static void fuzz_socks(const uint8_t *data, size_t size)
{
	size_t used;
	bool no_auth;
	enum wire_result res = wire_socks_greeting(data, size, &used, &no_auth);
	if (res == WIRE_DONE) {
		fuzz_check(used >= 2 && used <= size && used == 2 + (size_t)data[1], "greeting used %zu of %zu", used, size);
		fuzz_check(no_auth == (memchr(data + 2, 0, used - 2) != NULL), "no_auth wrong");
		check_socks_request(data + used, size - used);
	} else if (res == WIRE_BAD) {
		fuzz_check(size > 0 && data[0] != 5, "a greeting with VER 5 refused");
	} else {
		fuzz_check(size < 257, "greeting NEED_MORE with %zu bytes", size);
	}
	check_socks_request(data, size);
}

/* ---- TLS ------------------------------------------------------------------------------------------- */

static void fuzz_tls(const uint8_t *data, size_t size)
{
	char sni[WIRE_HOST_MAX + 1];
	memset(sni, 'x', sizeof sni);
	enum wire_tls res = wire_tls_sni(data, size, sni);
	switch (res) {
	case WIRE_TLS_SNI:
		fuzz_check(valid_host(sni, false), "server name '%s'", sni);
		/* The hello ends where its header says; every prefix of it is NEED_MORE. */
		{
			size_t end = 9 + ((size_t)data[6] << 16 | (size_t)data[7] << 8 | data[8]);
			fuzz_check(end <= size && end <= 16384 + 5, "hello of %zu bytes in %zu", end, size);
			for (unsigned k = 0; k < 3; k++) {
				size_t at = prefix_at(end, k, data, size);
				uint8_t *copy = malloc(at ? at : 1);
				memcpy(copy, data, at);
				fuzz_check(wire_tls_sni(copy, at, sni) == WIRE_TLS_NEED_MORE, "a prefix of a ClientHello");
				free(copy);
			}
		}
		break;
	case WIRE_TLS_NO_SNI:
	case WIRE_TLS_BAD:
	case WIRE_TLS_NEED_MORE:
		fuzz_check(sni[0] == '\0', "a name '%.20s' left with result %d", sni, res);
		fuzz_check(res != WIRE_TLS_NEED_MORE || size < 16384 + 5, "NEED_MORE with %zu bytes", size);
		break;
	case WIRE_TLS_NOT_TLS:
		fuzz_check(sni[0] == '\0' && size > 0 && data[0] != 0x16, "NOT_TLS");
		break;
	}
}

/* ---- error responses ------------------------------------------------------------------------------ */

static void fuzz_error(const uint8_t *data, size_t size)
{
	if (size < 2)
		return;
	static const int statuses[] = { 400, 403, 405, 407, 408, 414, 431, 500, 501, 502, 503, 504, 505, 0, -7, 999 };
	int status = statuses[data[0] % (sizeof statuses / sizeof statuses[0])];
	size_t cap = data[size - 1] < 0xf0 ? (size_t)data[size - 1] * 4 : 4096;
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	char *out = malloc(cap ? cap : 1);
	size_t n = wire_http_error(status, text, out, cap);
	fuzz_check(n <= cap, "error response of %zu bytes in %zu", n, cap);
	fuzz_check(cap < 256 || n > 0, "no error response in %zu bytes", cap);
	if (n > 0) {
		const char *end = memmem(out, n, "\r\n\r\n", 4);
		fuzz_check(end && memcmp(out, "HTTP/1.1 ", 9) == 0, "not a response");
		const char *body = end + 4;
		const char *cl = memmem(out, (size_t)(end - out), "\r\nContent-Length: ", 18);
		fuzz_check(cl, "no Content-Length");
		fuzz_check(strtoul(cl + 18, NULL, 10) == n - (size_t)(body - out), "Content-Length is not the body's");
		fuzz_check(memmem(out, (size_t)(end - out) + 2, "\r\nConnection: close\r\n", 21), "no Connection: close");
		fuzz_check(n - (size_t)(body - out) >= 8 && memcmp(body, "ajail: ", 7) == 0 && out[n - 1] == '\n',
			   "body not 'ajail: ...\\n'");
		for (const char *p = body; p < out + n - 1; p++)
			fuzz_check((unsigned char)*p >= 0x20 && *p != 0x7f, "a control byte in the body");
	}
	free(out);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_http(data, size);
	fuzz_keygate(data, size);
	fuzz_socks(data, size);
	fuzz_tls(data, size);
	fuzz_error(data, size);
	return 0;
}
