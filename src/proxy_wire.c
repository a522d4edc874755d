/* proxy_wire.c — parsers for what a jailed program sends to the network proxy (see proxy_wire.h).
 *
 * Every byte here comes from the jail, so each parser works on (buf, len) alone: every length read
 * from the input is checked against what is left before it is used, nothing is allocated, nothing
 * recurses, and each call starts again from the first byte (the caller hands over all the bytes so
 * far), so there is no state a hostile client could steer between calls. Character classes are
 * plain ASCII tests, not <ctype.h>, whose answers depend on the locale. */
#include "proxy_wire.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* ---- characters and host names ------------------------------------------------------------------- */

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static unsigned char to_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* RFC 9110 5.6.2: tchar. */
static bool is_tchar(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* A byte a field value may hold (RFC 9110 5.5): visible ASCII, space, tab, and obs-text (clients do
 * send UTF-8 in values). NUL, CR, LF, DEL and the other controls are refused, not replaced. */
static bool is_field_vchar(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* Case-insensitive comparison of s[0..n) with a lower-case literal. */
static bool eq_lower(const char *s, size_t n, const char *lit)
{
	size_t l = strlen(lit);
	if (n != l)
		return false;
	for (size_t i = 0; i < n; i++)
		if (to_lower((unsigned char)s[i]) != (unsigned char)lit[i])
			return false;
	return true;
}

static bool eq_nocase(const char *a, size_t an, const char *b, size_t bn)
{
	if (an != bn)
		return false;
	for (size_t i = 0; i < an; i++)
		if (to_lower((unsigned char)a[i]) != to_lower((unsigned char)b[i]))
			return false;
	return true;
}

enum host_allow {
	HOST_NAME = 1 << 0, /* a DNS name or an IPv4 literal: [a-z0-9._-] */
	HOST_V6 = 1 << 1,   /* an IPv6 literal (without brackets), checked with inet_pton */
};

/* Copy s[0..n) to out as a host name: lower case, one trailing dot stripped. A name is made only
 * of [a-z0-9._-] with no empty label (a name that differs from another only by an empty label
 * would slip past a comparison with the allow-list and mean the same host to a resolver). A ':'
 * makes it an IPv6 literal, accepted only where allow says so and only if it is one (no zone id:
 * '%' is no host character). Anything else — NUL, controls, space, high bytes, '/', '@', '\' — is
 * refused. Returns false, leaving out empty, on a bad name. */
static bool host_set(const char *s, size_t n, unsigned allow, char out[WIRE_HOST_MAX + 1])
{
	out[0] = '\0';
	if (n == 0)
		return false;
	if (memchr(s, ':', n)) {
		char tmp[INET6_ADDRSTRLEN];
		struct in6_addr a;
		if (!(allow & HOST_V6) || n >= sizeof tmp)
			return false;
		for (size_t i = 0; i < n; i++) {
			unsigned char c = to_lower((unsigned char)s[i]);
			if (!is_digit(c) && !(c >= 'a' && c <= 'f') && c != ':' && c != '.')
				return false;
			tmp[i] = (char)c;
		}
		tmp[n] = '\0';
		if (inet_pton(AF_INET6, tmp, &a) != 1)
			return false;
		memcpy(out, tmp, n + 1);
		return true;
	}
	if (!(allow & HOST_NAME))
		return false;
	if (s[n - 1] == '.')
		n--;
	if (n == 0 || n > WIRE_HOST_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = to_lower((unsigned char)s[i]);
		bool ok = c == '.' ? i > 0 && i < n - 1 && s[i - 1] != '.'
				   : (c >= 'a' && c <= 'z') || is_digit(c) || c == '-' || c == '_';
		if (!ok)
			return false;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = (char)to_lower((unsigned char)s[i]);
	out[n] = '\0';
	return true;
}

/* 1 to 5 digits, nothing else (no sign, no space), 1..65535. */
static bool port_parse(const char *s, size_t n, uint16_t *port)
{
	if (n == 0 || n > 5)
		return false;
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit((unsigned char)s[i]))
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

/* ---- HTTP -------------------------------------------------------------------------------------------- */

/* The most options all Connection headers together may name: real clients name one or two, and
 * wire_http_rewrite compares every header with each of them. */
#define CONN_TOKENS_MAX 32

static enum wire_result http_bad(struct wire_http *r, int status, const char *why)
{
	r->status = status;
	r->why = why;
	return WIRE_BAD;
}

/* host[:port] or [v6][:port], as an authority in a request-target. Returns NULL, or why not. */
static const char *authority_parse(const char *s, size_t n, bool port_required, uint16_t dflt, char *host,
				   uint16_t *port)
{
	if (n == 0)
		return "no host in the target";
	/* "user:pass@host": a name shown to the policy before the '@' is not where a client goes. */
	if (memchr(s, '@', n))
		return "userinfo in the target";
	const char *hs = s, *rest;
	size_t hn;
	if (s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (!close)
			return "unterminated IPv6 literal";
		hs = s + 1;
		hn = (size_t)(close - hs);
		rest = close + 1;
		if (!host_set(hs, hn, HOST_V6, host))
			return "bad IPv6 literal";
	} else {
		const char *colon = memchr(s, ':', n);
		hn = colon ? (size_t)(colon - s) : n;
		rest = s + hn;
		if (!host_set(hs, hn, HOST_NAME, host))
			return hn ? "bad host name" : "no host in the target";
	}
	size_t left = n - (size_t)(rest - s);
	if (left == 0) {
		if (port_required)
			return "no port in the target";
		*port = dflt;
		return NULL;
	}
	if (rest[0] != ':' || !port_parse(rest + 1, left - 1, port))
		return "bad port";
	return NULL;
}

/* Where the path of an absolute-form target starts (after "scheme://authority"); the target was
 * checked by target_parse. */
static const char *absolute_path(const char *t, size_t n, size_t *pn)
{
	const char *sep = memchr(t, ':', n);
	size_t i = (size_t)(sep - t) + 3;
	while (i < n && t[i] != '/' && t[i] != '?')
		i++;
	*pn = n - i;
	return t + i;
}

/* RFC 3986 pchar but '%' (checked apart: two hex digits must follow): what a path may hold. */
static bool is_path_char(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || (c && strchr("-._~!$&'()*+,;=:@/", c));
}

/* Does the path of origin-form target t[0..n) (up to a '?') hold a "." or ".." segment, also as
 * %2e / %2E? The keygate puts the upstream's prefix in front of the path; a server that resolves dot
 * segments would take "/../x" out of it (RFC 3986 5.2.4). */
static bool has_dot_segment(const char *t, size_t n)
{
	size_t end = 0;
	while (end < n && t[end] != '?')
		end++;
	for (size_t i = 0; i < end;) {
		while (i < end && t[i] == '/')
			i++;
		size_t dots = 0, j = i;
		while (j < end && t[j] != '/') {
			if (t[j] == '.') {
				j++;
			} else if (t[j] == '%' && j + 2 < end && t[j + 1] == '2' && (t[j + 2] == 'e' || t[j + 2] == 'E')) {
				j += 3;
			} else {
				dots = 99;
				break;
			}
			dots++;
		}
		if (dots == 1 || dots == 2)
			return true;
		while (i < end && t[i] != '/')
			i++;
	}
	return false;
}

/* The target of a complete request line: authority form for CONNECT, absolute form (http only)
 * for every other method; with origin (the keygate), origin form only. */
static enum wire_result target_parse(const char *t, size_t n, struct wire_http *r, bool origin)
{
	const char *why;
	if (origin) {
		/* The bytes were checked by request_line (visible ASCII); what a server would read as
		 * anything but a path and a query goes. */
		if (r->connect)
			return http_bad(r, 400, "CONNECT to the API's address (it is not a proxy)");
		if (t[0] != '/')
			return http_bad(r, 400, "not an origin-form target (this is the API's address, not a proxy)");
		if (memchr(t, '#', n))
			return http_bad(r, 400, "fragment in the target");
		if (has_dot_segment(t, n))
			return http_bad(r, 400, "a '.' or '..' segment in the path (it would leave the upstream's prefix)");
		return WIRE_DONE;
	}
	if (r->connect) {
		why = authority_parse(t, n, true, 443, r->host, &r->port);
		return why ? http_bad(r, 400, why) : WIRE_DONE;
	}
	if (memchr(t, '#', n))
		return http_bad(r, 400, "fragment in the target");
	/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 3.1) */
	size_t i = 0;
	while (i < n && (is_alpha((unsigned char)t[i]) ||
			 (i > 0 && (is_digit((unsigned char)t[i]) || t[i] == '+' || t[i] == '-' || t[i] == '.'))))
		i++;
	if (i == 0 || i == n || t[i] != ':')
		return http_bad(r, 400, "not an absolute-form target (this is a proxy)");
	if (n - i < 3 || t[i + 1] != '/' || t[i + 2] != '/')
		return http_bad(r, 400, "absolute-form target without //authority");
	if (eq_lower(t, i, "https"))
		return http_bad(r, 400, "https:// in absolute form (use CONNECT)");
	if (!eq_lower(t, i, "http"))
		return http_bad(r, 501, "scheme not supported (only http://, or CONNECT)");
	const char *a = t + i + 3;
	size_t an = 0;
	while (i + 3 + an < n && a[an] != '/' && a[an] != '?')
		an++;
	why = authority_parse(a, an, false, 80, r->host, &r->port);
	return why ? http_bad(r, 400, why) : WIRE_DONE;
}

/* The request line s[0..n) (no line end): METHOD SP TARGET SP HTTP/1.x. When !complete, s is what
 * arrived so far and only what a longer line could not repair is refused. */
static enum wire_result request_line(const char *s, size_t n, bool complete, struct wire_http *r, bool origin)
{
	size_t i = 0;
	while (i < n && is_tchar((unsigned char)s[i]))
		i++;
	if (i > sizeof r->method - 1)
		return http_bad(r, 501, "method too long");
	if (i == n && !complete)
		return WIRE_NEED_MORE;
	if (i == 0 || i == n || s[i] != ' ')
		return http_bad(r, 400, "malformed request line");
	memcpy(r->method, s, i);
	r->method[i] = '\0';
	r->connect = strcmp(r->method, "CONNECT") == 0;

	const char *t = s + i + 1;
	size_t tn = 0;
	while (t + tn < s + n && t[tn] != ' ') {
		unsigned char c = (unsigned char)t[tn];
		if (c <= 0x20 || c >= 0x7f)
			return http_bad(r, 400, "bad byte in the request target");
		tn++;
	}
	if (tn > WIRE_HTTP_TARGET_MAX)
		return http_bad(r, 414, "request target too long");
	if (t + tn == s + n && !complete)
		return WIRE_NEED_MORE;
	if (tn == 0 || t + tn == s + n)
		return http_bad(r, 400, "malformed request line");

	/* HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 2.3). */
	const char *v = t + tn + 1;
	size_t vn = (size_t)(s + n - v);
	static const char pat[] = "HTTP/d.d";
	for (size_t k = 0; k < vn; k++) {
		bool ok = k < 8 && (pat[k] == 'd' ? is_digit((unsigned char)v[k]) : v[k] == pat[k]);
		if (!ok)
			return http_bad(r, 400, "malformed HTTP version");
	}
	if (!complete)
		return WIRE_NEED_MORE;
	if (vn != 8)
		return http_bad(r, 400, "malformed HTTP version");
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return http_bad(r, 505, "HTTP version not supported");
	return target_parse(t, tn, r, origin);
}

/* What the header lines of one head add up to. */
struct hdrs {
	bool http10;
	int n_cl, n_te, n_host;
	int n_conn_tokens;
	bool conn_close, conn_keep_alive;
	uint64_t content_length;
};

/* A list element is 1#element with OWS around commas (RFC 9110 5.6.1): calls back for each
 * non-empty element, trimmed. Returns false when fn does. */
static bool list_each(const char *v, size_t n, bool (*fn)(const char *e, size_t en, void *ctx), void *ctx)
{
	size_t i = 0;
	while (i <= n) {
		size_t j = i;
		while (j < n && v[j] != ',')
			j++;
		size_t a = i, b = j;
		while (a < b && (v[a] == ' ' || v[a] == '\t'))
			a++;
		while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
			b--;
		if (b > a && !fn(v + a, b - a, ctx))
			return false;
		i = j + 1;
	}
	return true;
}

static bool conn_token_ok(const char *e, size_t en, void *ctx)
{
	struct hdrs *h = ctx;
	for (size_t i = 0; i < en; i++)
		if (!is_tchar((unsigned char)e[i]))
			return false;
	/* "Connection: Content-Length" would have the rewrite drop the framing of the body, and the
	 * origin would read it as the next request (request smuggling). */
	if (eq_lower(e, en, "content-length") || eq_lower(e, en, "transfer-encoding"))
		return false;
	if (eq_lower(e, en, "close"))
		h->conn_close = true;
	else if (eq_lower(e, en, "keep-alive"))
		h->conn_keep_alive = true;
	return ++h->n_conn_tokens <= CONN_TOKENS_MAX;
}

/* A header line s[0..n) (no line end, not empty). When !complete, only a prefix. */
static enum wire_result header_line(const char *s, size_t n, bool complete, struct hdrs *h, struct wire_http *r)
{
	if (s[0] == ' ' || s[0] == '\t')
		return http_bad(r, 400, "obs-fold (a header line starting with white space)");
	size_t i = 0;
	while (i < n && is_tchar((unsigned char)s[i]))
		i++;
	if (i == n && !complete)
		return WIRE_NEED_MORE;
	if (i == n || s[i] != ':' || i == 0)
		return http_bad(r, 400, "malformed header name");
	for (size_t k = i + 1; k < n; k++)
		if (!is_field_vchar((unsigned char)s[k]))
			return http_bad(r, 400, "bad byte in a header value");
	if (!complete)
		return WIRE_NEED_MORE;

	const char *v = s + i + 1;
	size_t vn = n - i - 1;
	while (vn && (v[0] == ' ' || v[0] == '\t')) {
		v++;
		vn--;
	}
	while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
		vn--;
	if (eq_lower(s, i, "content-length")) {
		/* One, digits only: "Content-Length: 5, 5" or a second line is how framings disagree. */
		if (++h->n_cl > 1)
			return http_bad(r, 400, "more than one Content-Length");
		if (vn == 0 || vn > 18)
			return http_bad(r, 400, "bad Content-Length");
		for (size_t k = 0; k < vn; k++) {
			if (!is_digit((unsigned char)v[k]))
				return http_bad(r, 400, "bad Content-Length");
			h->content_length = h->content_length * 10 + (uint64_t)(v[k] - '0'); /* at most 18 digits */
		}
	} else if (eq_lower(s, i, "transfer-encoding")) {
		if (++h->n_te > 1)
			return http_bad(r, 400, "more than one Transfer-Encoding");
		/* Only plain "chunked": anything else is a framing the origin and the proxy's splice might
		 * read differently (RFC 9112 6.1 answers an unknown coding with 501). */
		if (!eq_lower(v, vn, "chunked"))
			return http_bad(r, 501, "transfer coding other than chunked");
	} else if (eq_lower(s, i, "host")) {
		if (++h->n_host > 1)
			return http_bad(r, 400, "more than one Host");
	} else if (eq_lower(s, i, "connection")) {
		if (!list_each(v, vn, conn_token_ok, h))
			return http_bad(r, 400, "bad Connection header");
	}
	return WIRE_NEED_MORE;
}

/* Line ends: CRLF, or a bare LF, which RFC 9112 2.2 lets a recipient take as one and many clients
 * and proxies do (the CR before an LF is dropped). A bare CR anywhere else is refused: a server
 * that took it as a line end would see header lines this parser did not. */
static enum wire_result parse_head(const char *buf, size_t len, struct wire_http *r, bool origin)
{
	memset(r, 0, sizeof *r);
	if (!buf)
		return len ? http_bad(r, 400, "no buffer") : WIRE_NEED_MORE;
	/* A head must end within WIRE_HTTP_HEAD_MAX bytes: nothing past that is looked at. */
	size_t lim = len < WIRE_HTTP_HEAD_MAX ? len : WIRE_HTTP_HEAD_MAX;
	struct hdrs h = { 0 };
	size_t pos = 0;
	for (unsigned line = 0;; line++) {
		const char *lf = memchr(buf + pos, '\n', lim - pos);
		size_t end = lf ? (size_t)(lf - buf) : lim;
		size_t n = end - pos;
		/* The CR of a CRLF, or (while the line is still arriving) a last byte that may become one. */
		if (n && buf[end - 1] == '\r')
			n--;
		enum wire_result res;
		if (line == 0) {
			res = request_line(buf + pos, n, lf != NULL, r, origin);
			if (res == WIRE_DONE) {
				h.http10 = buf[pos + n - 1] == '0'; /* "HTTP/1.0" ends the line */
				res = WIRE_NEED_MORE;
			}
		} else if (n == 0 && lf) {
			if (h.n_te && h.n_cl)
				return http_bad(r, 400, "both Transfer-Encoding and Content-Length");
			if (h.n_te && h.http10)
				return http_bad(r, 400, "Transfer-Encoding in an HTTP/1.0 request");
			r->head_len = end + 1;
			r->chunked = h.n_te > 0;
			r->content_length = h.content_length;
			r->keep_alive = h.http10 ? h.conn_keep_alive && !h.conn_close : !h.conn_close;
			return WIRE_DONE;
		} else {
			res = n ? header_line(buf + pos, n, lf != NULL, &h, r) : WIRE_NEED_MORE;
		}
		if (res == WIRE_BAD)
			return WIRE_BAD;
		if (!lf)
			break;
		pos = end + 1;
	}
	if (len >= WIRE_HTTP_HEAD_MAX)
		return http_bad(r, 431, "request head too long");
	return WIRE_NEED_MORE;
}

enum wire_result wire_http_parse(const char *buf, size_t len, struct wire_http *r)
{
	return parse_head(buf, len, r, false);
}

enum wire_result wire_origin_parse(const char *buf, size_t len, struct wire_http *r)
{
	return parse_head(buf, len, r, true);
}

/* An output buffer that remembers when something did not fit. */
struct out {
	char *p;
	size_t cap, len;
	bool full;
};

static void out_put(struct out *o, const char *s, size_t n)
{
	if (o->full || n > o->cap - o->len) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void out_str(struct out *o, const char *s)
{
	out_put(o, s, strlen(s));
}

struct conn_names {
	struct {
		const char *s;
		size_t n;
	} v[CONN_TOKENS_MAX];
	size_t n;
};

static bool conn_name_add(const char *e, size_t en, void *ctx)
{
	struct conn_names *c = ctx;
	if (c->n < CONN_TOKENS_MAX) {
		c->v[c->n].s = e;
		c->v[c->n].n = en;
		c->n++;
	}
	return true;
}

/* Hop-by-hop (RFC 9110 7.6.1) and the proxy's own: never sent on. Host is replaced, Connection is
 * ours ("close"), and with it Upgrade goes (the proxy splices one request, it switches nothing). */
static const char *const dropped[] = {
	"proxy-connection", "proxy-authorization", "connection", "keep-alive", "te", "trailer", "upgrade", "host",
};

/* The header lines of a head (from first, the line after the request line, to head_end), each
 * ending in CRLF, twice over: the names Connection lists, then every line not dropped: not
 * hop-by-hop, not named by Connection, not one of also[0..n_also). */
static void put_headers(struct out *o, const char *first, const char *head_end, const char *const *also, size_t n_also)
{
	struct conn_names conn = { .n = 0 };
	for (int pass = 0; pass < 2; pass++) {
		for (const char *s = first; s < head_end;) {
			const char *e = memchr(s, '\n', (size_t)(head_end - s));
			size_t n = (size_t)(e - s);
			const char *next = e + 1;
			if (n && s[n - 1] == '\r')
				n--;
			if (n == 0)
				break;
			const char *colon = memchr(s, ':', n);
			size_t nn = (size_t)(colon - s);
			if (pass == 0) {
				if (eq_lower(s, nn, "connection"))
					list_each(colon + 1, n - nn - 1, conn_name_add, &conn);
			} else {
				bool drop = false;
				for (size_t k = 0; !drop && k < sizeof dropped / sizeof dropped[0]; k++)
					drop = eq_lower(s, nn, dropped[k]);
				for (size_t k = 0; !drop && k < n_also; k++)
					drop = eq_lower(s, nn, also[k]);
				for (size_t k = 0; !drop && k < conn.n; k++)
					drop = eq_nocase(s, nn, conn.v[k].s, conn.v[k].n);
				if (!drop) {
					out_put(o, s, n);
					out_str(o, "\r\n");
				}
			}
			s = next;
		}
	}
}

/* The request line of a head that the parser accepted (so it has a '\n'): its length without the
 * line end, and where that '\n' is. */
static size_t request_line_len(const char *buf, size_t head_len, const char **eol)
{
	*eol = memchr(buf, '\n', head_len);
	size_t ln = (size_t)(*eol - buf);
	if (ln && buf[ln - 1] == '\r')
		ln--;
	return ln;
}

/* "\r\nHost: HOST[:PORT]", an IPv6 address in brackets, the port only when not the scheme's own. */
static void put_host(struct out *o, const char *host, uint16_t port, uint16_t default_port)
{
	out_str(o, "\r\nHost: ");
	bool v6 = strchr(host, ':') != NULL;
	if (v6)
		out_str(o, "[");
	out_str(o, host);
	if (v6)
		out_str(o, "]");
	if (port != default_port) {
		char buf[8];
		snprintf(buf, sizeof buf, ":%u", (unsigned)port);
		out_str(o, buf);
	}
}

long wire_http_rewrite(const char *buf, size_t len, const struct wire_http *r, char *out, size_t cap)
{
	struct wire_http p;
	if (!buf || !r || !out || wire_http_parse(buf, len, &p) != WIRE_DONE || p.connect || p.port != r->port ||
	    p.head_len != r->head_len || strcmp(p.host, r->host) != 0)
		return -1;
	struct out o = { out, cap, 0, false };

	/* The request line, its target in origin form; the client's version is kept, since the
	 * response comes back to it unchanged. */
	const char *eol;
	size_t ln = request_line_len(buf, p.head_len, &eol);
	size_t ml = strlen(p.method);
	const char *t = buf + ml + 1;
	const char *sp = memchr(t, ' ', ln - ml - 1);
	size_t pn;
	const char *path = absolute_path(t, (size_t)(sp - t), &pn);
	out_put(&o, p.method, ml);
	out_str(&o, " ");
	if (pn == 0 || path[0] == '?')
		out_str(&o, "/");
	out_put(&o, path, pn);
	out_put(&o, sp, (size_t)(buf + ln - sp));
	put_host(&o, p.host, p.port, 80);
	out_str(&o, "\r\n");

	put_headers(&o, eol + 1, buf + p.head_len, NULL, 0);
	out_str(&o, r->keep_alive_out ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n");
	if (o.full)
		return -1;
	return (long)o.len;
}

/* ---- the keygate ----------------------------------------------------------------------------------- */

static bool is_hex(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

const char *wire_url_parse(const char *url, struct wire_url *u)
{
	memset(u, 0, sizeof *u);
	if (!url || !url[0])
		return "empty";
	size_t n = strlen(url);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f)
			return "a space, control or non-ASCII byte in the URL";
	size_t at;
	if (n >= 7 && eq_lower(url, 7, "http://")) {
		at = 7;
	} else if (n >= 8 && eq_lower(url, 8, "https://")) {
		u->tls = true;
		at = 8;
	} else {
		return "not an http:// or https:// URL";
	}
	if (strpbrk(url, "?#"))
		return "a query or fragment in the URL";
	const char *a = url + at;
	size_t an = strcspn(a, "/");
	const char *why = authority_parse(a, an, false, u->tls ? 443 : 80, u->host, &u->port);
	if (why)
		return why;
	const char *path = a + an;
	size_t pn = strlen(path);
	while (pn && path[pn - 1] == '/')
		pn--; /* "https://host/v1/" and ".../v1" are the same prefix: requests start with their own '/' */
	if (pn > WIRE_URL_PREFIX_MAX)
		return "path too long";
	for (size_t i = 0; i < pn; i++) {
		unsigned char c = (unsigned char)path[i];
		if (c == '%' ? i + 2 >= pn || !is_hex((unsigned char)path[i + 1]) || !is_hex((unsigned char)path[i + 2])
			     : !is_path_char(c))
			return "a byte a URL path cannot hold";
	}
	memcpy(u->prefix, path, pn);
	u->prefix[pn] = '\0';
	return NULL;
}

/* What the keygate never passes on from the jail: whatever credential it holds there is not the key. */
static const char *const credentials[] = { "authorization", "proxy-authorization", "x-api-key" };

long wire_keygate_rewrite(const char *buf, size_t len, const struct wire_http *r, const struct wire_url *up,
			  const char *header, const char *key, char *out, size_t cap)
{
	struct wire_http p;
	if (!buf || !r || !up || !header || !key || !out || wire_origin_parse(buf, len, &p) != WIRE_DONE ||
	    p.head_len != r->head_len)
		return -1;
	size_t hl = strlen(header), kl = strlen(key);
	if (hl == 0 || hl > 64 || kl == 0 || kl > WIRE_KEY_MAX)
		return -1;
	for (size_t i = 0; i < hl; i++)
		if (!is_tchar((unsigned char)header[i]) || (header[i] >= 'A' && header[i] <= 'Z'))
			return -1;
	/* A key is sent as it is, so it must not be able to end its line: visible ASCII only. */
	for (size_t i = 0; i < kl; i++)
		if ((unsigned char)key[i] <= 0x20 || (unsigned char)key[i] >= 0x7f)
			return -1;
	struct out o = { out, cap, 0, false };

	/* "POST /v1/messages HTTP/1.1" -> "POST <prefix>/v1/messages HTTP/1.1". */
	const char *eol;
	size_t ln = request_line_len(buf, p.head_len, &eol);
	size_t ml = strlen(p.method);
	out_put(&o, buf, ml + 1);
	out_str(&o, up->prefix);
	out_put(&o, buf + ml + 1, ln - ml - 1);
	put_host(&o, up->host, up->port, up->tls ? 443 : 80);
	out_str(&o, "\r\n");
	const char *also[sizeof credentials / sizeof credentials[0] + 1];
	memcpy(also, credentials, sizeof credentials);
	also[sizeof credentials / sizeof credentials[0]] = header;
	put_headers(&o, eol + 1, buf + p.head_len, also, sizeof also / sizeof also[0]);
	if (strcmp(header, "authorization") == 0) {
		out_str(&o, "Authorization: Bearer ");
	} else {
		out_put(&o, header, hl);
		out_str(&o, ": ");
	}
	out_put(&o, key, kl);
	out_str(&o, "\r\nConnection: close\r\n\r\n");
	if (o.full)
		return -1;
	return (long)o.len;
}

static const char *reason_phrase(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 407: return "Proxy Authentication Required";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return NULL;
	}
}

/* The head of an error response whose body is body_len bytes; returns its length (snprintf's). */
static int error_head(char *out, size_t cap, int status, const char *reason, size_t body_len)
{
	/* 407 must say how to authenticate (RFC 9110 11.7.1). */
	return snprintf(out, cap,
			"HTTP/1.1 %d %s\r\n"
			"Content-Type: text/plain; charset=utf-8\r\n"
			"Content-Length: %zu\r\n"
			"%s"
			"Connection: close\r\n"
			"\r\n",
			status, reason, body_len, status == 407 ? "Proxy-Authenticate: Basic realm=\"ajail\"\r\n" : "");
}

size_t wire_http_error(int status, const char *text, char *out, size_t cap)
{
	const char *reason = reason_phrase(status);
	if (!reason) {
		status = 500;
		reason = reason_phrase(status);
	}
	if (!text)
		text = reason;
	/* The text may quote the jail (a host name, a method): control bytes are dropped so it
	 * cannot end the body's line or forge anything in a terminal that shows it. */
	size_t tl = 0;
	for (const unsigned char *c = (const unsigned char *)text; *c; c++)
		tl += *c >= 0x20 && *c != 0x7f;
	static const char pre[] = "ajail: ";
	size_t body = sizeof pre - 1 + tl + 1;
	size_t head;
	for (;;) {
		head = (size_t)error_head(NULL, 0, status, reason, body);
		if (head + body <= cap)
			break;
		if (cap < head + sizeof pre) {
			if (cap)
				out[0] = '\0';
			return 0; /* not even an empty message fits: send nothing rather than half a response */
		}
		body = cap - head; /* fewer digits in Content-Length next time round: it fits */
	}
	error_head(out, head + 1, status, reason, body);
	memcpy(out + head, pre, sizeof pre - 1);
	size_t at = head + sizeof pre - 1, room = body - (sizeof pre - 1) - 1;
	for (const unsigned char *c = (const unsigned char *)text; *c && room; c++) {
		if (*c >= 0x20 && *c != 0x7f) {
			out[at++] = (char)*c;
			room--;
		}
	}
	out[at++] = '\n';
	if (at < cap)
		out[at] = '\0';
	return at;
}

/* ---- SOCKS5 -------------------------------------------------------------------------------------- */

enum wire_result wire_socks_greeting(const uint8_t *buf, size_t len, size_t *used, bool *no_auth)
{
	*used = 0;
	*no_auth = false;
	if (len == 0)
		return WIRE_NEED_MORE;
	if (buf[0] != 5)
		return WIRE_BAD;
	if (len < 2 || len < 2 + (size_t)buf[1])
		return WIRE_NEED_MORE;
	/* NMETHODS 0 is parsed: no method offered is answered with X'FF' like any unacceptable list. */
	*no_auth = memchr(buf + 2, 0, buf[1]) != NULL;
	*used = 2 + (size_t)buf[1];
	return WIRE_DONE;
}

static enum wire_result socks_bad(struct wire_socks *r, uint8_t reply)
{
	r->reply = reply;
	return WIRE_BAD;
}

enum wire_result wire_socks_request(const uint8_t *buf, size_t len, struct wire_socks *r)
{
	memset(r, 0, sizeof *r);
	/* VER CMD RSV ATYP DST.ADDR DST.PORT: each byte is judged as soon as it arrives. */
	if (len < 1)
		return WIRE_NEED_MORE;
	if (buf[0] != 5)
		return socks_bad(r, 1);
	if (len < 2)
		return WIRE_NEED_MORE;
	if (buf[1] < 1 || buf[1] > 3)
		return socks_bad(r, 7);
	r->cmd = buf[1];
	if (len < 3)
		return WIRE_NEED_MORE;
	if (buf[2] != 0)
		return socks_bad(r, 1);
	if (len < 4)
		return WIRE_NEED_MORE;
	r->atyp = buf[3];
	size_t alen, at = 4;
	switch (buf[3]) {
	case 1: alen = 4; break;
	case 4: alen = 16; break;
	case 3:
		if (len < 5)
			return WIRE_NEED_MORE;
		alen = buf[4];
		if (alen == 0)
			return socks_bad(r, 1);
		at = 5;
		break;
	default: return socks_bad(r, 8);
	}
	if (len < at + alen + 2)
		return WIRE_NEED_MORE;
	const uint8_t *a = buf + at;
	switch (buf[3]) {
	case 1: snprintf(r->host, sizeof r->host, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]); break;
	case 4: inet_ntop(AF_INET6, a, r->host, sizeof r->host); break;
	default:
		/* A name with a NUL would read as a shorter one to the resolver than to the policy. */
		if (!host_set((const char *)a, alen, HOST_NAME | HOST_V6, r->host))
			return socks_bad(r, 1);
		break;
	}
	r->port = (uint16_t)(buf[at + alen] << 8 | buf[at + alen + 1]);
	/* Port 0 means "not known yet" to BIND and UDP ASSOCIATE (RFC 1928 7); nobody connects there. */
	if (r->cmd == 1 && r->port == 0) {
		r->host[0] = '\0';
		return socks_bad(r, 1);
	}
	r->used = at + alen + 2;
	return WIRE_DONE;
}

void wire_socks_reply(uint8_t rep, uint8_t out[10])
{
	memset(out, 0, 10);
	out[0] = 5;
	out[1] = rep;
	out[3] = 1;
}

/* ---- TLS ------------------------------------------------------------------------------------------- */

/* A cursor over [p, end): every read checks what is left first. */
struct rd {
	const uint8_t *p, *end;
};

static bool rd_u8(struct rd *c, size_t *v)
{
	if (c->end - c->p < 1)
		return false;
	*v = c->p[0];
	c->p += 1;
	return true;
}

static bool rd_u16(struct rd *c, size_t *v)
{
	if (c->end - c->p < 2)
		return false;
	*v = (size_t)c->p[0] << 8 | c->p[1];
	c->p += 2;
	return true;
}

static bool rd_skip(struct rd *c, size_t n)
{
	if ((size_t)(c->end - c->p) < n)
		return false;
	c->p += n;
	return true;
}

/* A vector with a length prefix of 1 or 2 bytes, as a sub-cursor; c moves past it. */
static bool rd_vec(struct rd *c, int width, size_t min, size_t max, struct rd *sub)
{
	size_t n;
	if (!(width == 1 ? rd_u8(c, &n) : rd_u16(c, &n)) || n < min || n > max)
		return false;
	sub->p = c->p;
	if (!rd_skip(c, n))
		return false;
	sub->end = c->p;
	return true;
}

/* The extension server_name (RFC 6066 3): ServerNameList, at most one host_name. */
static enum wire_tls sni_ext(struct rd e, char sni[WIRE_HOST_MAX + 1])
{
	struct rd list;
	if (!rd_vec(&e, 2, 1, 0xffff, &list) || e.p != e.end)
		return WIRE_TLS_BAD;
	bool found = false;
	while (list.p < list.end) {
		size_t type;
		struct rd name;
		/* Only host_name (0) is defined; an unknown type's opaque value is taken to have the
		 * same 2-byte length, as every TLS library reads it. */
		if (!rd_u8(&list, &type) || !rd_vec(&list, 2, 1, 0xffff, &name))
			return WIRE_TLS_BAD;
		if (type != 0)
			continue;
		if (found)
			return WIRE_TLS_BAD;
		found = true;
		/* No IP literal (RFC 6066 forbids them), no NUL, nothing a host name cannot hold. */
		if (!host_set((const char *)name.p, (size_t)(name.end - name.p), HOST_NAME, sni))
			return WIRE_TLS_BAD;
	}
	return found ? WIRE_TLS_SNI : WIRE_TLS_NO_SNI;
}

enum wire_tls wire_tls_sni(const uint8_t *buf, size_t len, char sni[WIRE_HOST_MAX + 1])
{
	sni[0] = '\0';
	if (len == 0)
		return WIRE_TLS_NEED_MORE;
	if (buf[0] != 0x16)
		return WIRE_TLS_NOT_TLS;
	/* TLSPlaintext: type, legacy_record_version {3, x}, length <= 2^14 (RFC 8446 5.1). The header
	 * and the handshake header are judged as their bytes arrive. */
	if (len >= 2 && buf[1] != 3)
		return WIRE_TLS_BAD;
	if (len < 5)
		return WIRE_TLS_NEED_MORE;
	size_t rec = (size_t)buf[3] << 8 | buf[4];
	if (rec < 4 || rec > 16384)
		return WIRE_TLS_BAD;
	if (len >= 6 && buf[5] != 1)
		return WIRE_TLS_BAD; /* not a ClientHello */
	if (len < 9)
		return WIRE_TLS_NEED_MORE;
	size_t hs = (size_t)buf[6] << 16 | (size_t)buf[7] << 8 | buf[8];
	/* A client's first flight is its ClientHello alone, so it fills the record exactly: longer is one
	 * split over records (not looked for), shorter leaves bytes no parser here would read. */
	if (hs != rec - 4)
		return WIRE_TLS_BAD;
	if (len < 9 + hs)
		return WIRE_TLS_NEED_MORE;

	struct rd c = { buf + 9, buf + 9 + hs }, v;
	size_t ver;
	if (!rd_u16(&c, &ver) || ver >> 8 != 3)
		return WIRE_TLS_BAD;
	if (!rd_skip(&c, 32) ||                    /* random */
	    !rd_vec(&c, 1, 0, 32, &v) ||            /* legacy_session_id<0..32> */
	    !rd_vec(&c, 2, 2, 0xfffe, &v) ||        /* cipher_suites<2..2^16-2> */
	    (v.end - v.p) % 2 != 0 || !rd_vec(&c, 1, 1, 0xff, &v)) /* legacy_compression_methods<1..2^8-1> */
		return WIRE_TLS_BAD;
	if (c.p == c.end)
		return WIRE_TLS_NO_SNI; /* a ClientHello without extensions (TLS 1.2 and before) */
	struct rd exts;
	if (!rd_vec(&c, 2, 0, 0xffff, &exts) || c.p != c.end)
		return WIRE_TLS_BAD;
	enum wire_tls res = WIRE_TLS_NO_SNI;
	bool seen = false;
	while (exts.p < exts.end) {
		size_t type;
		struct rd data;
		if (!rd_u16(&exts, &type) || !rd_vec(&exts, 2, 0, 0xffff, &data))
			goto bad;
		if (type != 0)
			continue;
		/* Two server_name extensions (RFC 8446 4.2 forbids it) could name two hosts. */
		if (seen)
			goto bad;
		seen = true;
		res = sni_ext(data, sni);
		if (res == WIRE_TLS_BAD)
			goto bad;
	}
	return res;
bad:
	sni[0] = '\0';
	return WIRE_TLS_BAD;
}
