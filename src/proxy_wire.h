/* proxy_wire.h — the bytes of the three protocols ajail's network proxy speaks with the jail: an
 * HTTP proxy request head (CONNECT, or a request in absolute form), SOCKS5, and the server name of
 * a TLS ClientHello. Pure: each function looks only at the bytes it is given, never reads past len,
 * allocates nothing, and treats every byte as hostile (they come from the jail). */
#ifndef AJAIL_PROXY_WIRE_H
#define AJAIL_PROXY_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest request head the proxy reads; a longer one is refused with 431. */
#define WIRE_HTTP_HEAD_MAX 16384
/* Host names longer than this are refused (DNS allows 253). */
#define WIRE_HOST_MAX 255
/* The longest request-target taken; a longer one is refused with 414. */
#define WIRE_HTTP_TARGET_MAX 8192 /* RFC 9112 3 asks for at least 8000 */

enum wire_result {
	WIRE_NEED_MORE = 0, /* a valid prefix: read more and call again with all bytes so far */
	WIRE_DONE = 1,      /* parsed; see the out-parameters */
	WIRE_BAD = -1,      /* malformed: see the status/code out-parameter */
};

struct wire_http {
	bool connect;              /* CONNECT host:port */
	char method[16];           /* "CONNECT", "GET", ... (token characters only) */
	char host[WIRE_HOST_MAX + 1]; /* lower case; an IPv6 literal without brackets */
	uint16_t port;             /* from the target, else 443 for CONNECT (required there) / 80 for http:// */
	size_t head_len;           /* bytes of buf that the head took, CRLFCRLF included; the rest is body */
	int status;                /* on WIRE_BAD: the HTTP status to answer with (400, 414, 431, 501, 505) */
	const char *why;           /* on WIRE_BAD: a short static reason for the log */
	/* The request's framing and wishes, on WIRE_DONE: how long its body is, and whether the client
	 * expects the connection to stay open after the response (HTTP/1.1 without "Connection: close",
	 * or HTTP/1.0 with "Connection: keep-alive"). */
	bool chunked;              /* Transfer-Encoding: chunked */
	uint64_t content_length;   /* Content-Length, else 0 */
	bool keep_alive;
	/* Set by the caller before wire_http_rewrite: "Connection: keep-alive" instead of
	 * "Connection: close", to send the origin another request on the connection. Cleared by
	 * wire_http_parse. */
	bool keep_alive_out;
};

/* Parse the head of a request a client sent to the proxy: "CONNECT host:port HTTP/1.1" or
 * "GET http://host[:port]/path HTTP/1.1" (any method; only the http scheme; https:// in absolute
 * form is refused with 400: a client must CONNECT for TLS). Origin-form requests ("GET / ...")
 * are refused with 400 (this is a proxy, not a server). Header lines must be well-formed (no bare
 * CR, no NUL, no obs-fold); a head longer than WIRE_HTTP_HEAD_MAX is refused with 431 once that
 * many bytes have been seen without its end. For absolute form, a Host header that disagrees with
 * the target is ignored (the target is what the proxy connects to).
 *
 * Host names (here, in SOCKS and in TLS) are lower-cased, lose one trailing dot, and hold only
 * [a-z0-9._-] with no empty label; an IPv6 literal must parse as one (in HTTP only in brackets, in
 * TLS never). Lines end in CRLF or a bare LF; a bare CR, a NUL or another control byte anywhere
 * but a value's tab is refused. Refused with 400: a target with userinfo ("user@host") or a
 * fragment, a CONNECT target without its port, a port outside 1..65535 or not 1-5 digits, obs-fold,
 * a header name with a non-token byte (or space before its colon), two Host, two Content-Length,
 * a non-digit Content-Length, Transfer-Encoding with Content-Length or in HTTP/1.0, a Connection
 * header that names Content-Length or Transfer-Encoding or more than 32 options. With 501: a
 * method longer than 15 bytes, a scheme other than http(s), Transfer-Encoding other than
 * "chunked". With 505: HTTP/x.y other than 1.0 and 1.1. With 414: a target longer than
 * WIRE_HTTP_TARGET_MAX. An unfinished line is refused as soon as its bytes so far are (a bad byte,
 * method or header name); what needs the whole line waits for its end. */
enum wire_result wire_http_parse(const char *buf, size_t len, struct wire_http *r);

/* For an absolute-form request: the head to send to the origin server, written to out (at most
 * cap bytes): request line in origin form ("GET /path?q HTTP/1.1", the client's HTTP version kept),
 * a Host header set to the target (the client's removed), every header but Proxy-Connection,
 * Proxy-Authorization, Connection, Keep-Alive, TE, Trailer and Upgrade (and the headers Connection
 * named), each ending in CRLF, and "Connection: close". Returns its length, or -1 if it does not
 * fit or buf is not a head wire_http_parse accepted with this r. Only the head is rewritten:
 * what follows head_len is the caller's. */
long wire_http_rewrite(const char *buf, size_t len, const struct wire_http *r, char *out, size_t cap);
/* A cap for wire_http_rewrite that always suffices: a line of 3 bytes ("a:\n") may grow by its CR,
 * and the Host and Connection lines are added. */
#define WIRE_HTTP_REWRITE_MAX (WIRE_HTTP_HEAD_MAX / 3 * 4 + 512)

/* ---- the keygate: an agent's API key added on the way out (plan.h's struct plan_keygate) ---- */

/* The longest API key sent on, and the longest path prefix an upstream URL may have. */
#define WIRE_KEY_MAX 4096
#define WIRE_URL_PREFIX_MAX 1024

/* An upstream the keygate sends requests to, chosen on the host: http[s]://HOST[:PORT][/PREFIX]. */
struct wire_url {
	bool tls;                       /* https:// */
	char host[WIRE_HOST_MAX + 1];   /* lower case; an IPv6 literal without brackets */
	uint16_t port;                  /* given, else 80 (http) or 443 (https) */
	char prefix[WIRE_URL_PREFIX_MAX + 1]; /* "/v1" or "": the path every request goes beneath, no '/' at its end */
};

/* Parse an upstream URL: scheme http or https (any case), a host as wire_http_parse takes one in a
 * target (a name, an IPv4 literal, [IPv6]), an optional port, an optional path made of RFC 3986
 * pchar and '/' (trailing '/'s dropped). No userinfo, query or fragment, no space or control
 * byte. Returns NULL, or a short static reason. */
const char *wire_url_parse(const char *url, struct wire_url *u);

/* Parse the head of a request a client sent to the keygate, which is a server, not a proxy: as
 * wire_http_parse, but the target must be in origin form ("POST /v1/messages?beta=true HTTP/1.1");
 * absolute form, authority form (CONNECT) and asterisk form are refused with 400. host stays empty
 * and port 0. */
enum wire_result wire_origin_parse(const char *buf, size_t len, struct wire_http *r);

/* The head the keygate sends upstream for a head wire_origin_parse accepted with r, written to out
 * (at most cap bytes): the request line with the upstream's prefix before the target (the client's
 * version kept), "Host: " the upstream's host (with its port when not the scheme's), every header
 * but the hop-by-hop ones wire_http_rewrite drops, Host, and any header that carries a credential
 * (Authorization, Proxy-Authorization, X-Api-Key, and header: what the jail sent there is not the
 * key), then "header: key" ("Authorization: Bearer key" when header is "authorization") and
 * "Connection: close". header is a lower-case token; key is 1..WIRE_KEY_MAX bytes without a control
 * byte. Returns the length, or -1 when it does not fit, buf is not such a head, or header or key
 * is not as said. */
long wire_keygate_rewrite(const char *buf, size_t len, const struct wire_http *r, const struct wire_url *up,
			  const char *header, const char *key, char *out, size_t cap);
/* A cap for wire_keygate_rewrite that always suffices. */
#define WIRE_KEYGATE_REWRITE_MAX (WIRE_HTTP_REWRITE_MAX + WIRE_URL_PREFIX_MAX + WIRE_KEY_MAX + 64)

/* A complete HTTP/1.1 response with a short text/plain body, for the proxy's own refusals:
 * "HTTP/1.1 403 Forbidden\r\n...\r\n\r\najail: <text>\n". text is escaped (control bytes dropped).
 * Returns its length (the text truncated to fit cap, always a valid response when cap >= 256; 0
 * when not even an empty message fits). Statuses without a phrase here are sent as 500. out is
 * NUL-terminated when there is room. */
size_t wire_http_error(int status, const char *text, char *out, size_t cap);

/* SOCKS5 (RFC 1928). The greeting: VER=5, NMETHODS, METHODS. WIRE_DONE with *used set to its
 * length and *no_auth whether method 0 (no authentication) was offered; WIRE_BAD if VER is not 5
 * (a SOCKS4 client, or HTTP sent to the SOCKS port). */
enum wire_result wire_socks_greeting(const uint8_t *buf, size_t len, size_t *used, bool *no_auth);

struct wire_socks {
	uint8_t cmd;                  /* 1 CONNECT, 2 BIND, 3 UDP ASSOCIATE */
	uint8_t atyp;                 /* 1 IPv4, 3 domain name, 4 IPv6 */
	char host[WIRE_HOST_MAX + 1]; /* the name, lower case, or the address as text (IPv6 without brackets) */
	uint16_t port;
	size_t used;                  /* bytes the request took */
	uint8_t reply;                /* on WIRE_BAD: the REP code to answer with (1 general, 7 cmd, 8 atyp) */
};

/* The request after the greeting. A domain name with a NUL, a control byte, or a length of 0 is
 * WIRE_BAD (reply 1), as are RSV other than 0 and CONNECT to port 0 (reply 1), cmd outside 1..3
 * (reply 7) and atyp outside 1, 3, 4 (reply 8). cmd 2 and 3 are parsed (WIRE_DONE) and left to
 * the caller. A domain name that is an IPv6 literal is taken as one. */
enum wire_result wire_socks_request(const uint8_t *buf, size_t len, struct wire_socks *r);

/* A SOCKS5 reply: VER 5, REP rep, RSV 0, ATYP 1, BND.ADDR 0.0.0.0, BND.PORT 0. Writes 10 bytes. */
void wire_socks_reply(uint8_t rep, uint8_t out[10]);

enum wire_tls {
	WIRE_TLS_NEED_MORE = 0,
	WIRE_TLS_SNI = 1,     /* a ClientHello with a server_name of type host_name: in sni */
	WIRE_TLS_NO_SNI = 2,  /* a well-formed ClientHello without one */
	WIRE_TLS_NOT_TLS = 3, /* the first byte is not a TLS handshake record (0x16): some other protocol */
	WIRE_TLS_BAD = -1,    /* claims to be a ClientHello but is malformed, or its name is not a valid host name */
};

/* The server name of the TLS ClientHello that starts buf (the first bytes a client sent through a
 * CONNECT or SOCKS tunnel). Looks at the first handshake record only (a ClientHello that does not
 * fit one 16 KiB record is WIRE_TLS_BAD). sni gets the name in lower case, without a trailing dot. */
enum wire_tls wire_tls_sni(const uint8_t *buf, size_t len, char sni[WIRE_HOST_MAX + 1]);

#endif
