#include "netpolicy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

/* share/net-presets, turned into C string literals by the Makefile. */
static const char shipped_presets[] =
#include "net_presets.h"
	;

const char *netpolicy_shipped_presets(void)
{
	return shipped_presets;
}

#define NAME_MAX_LEN  253 /* a DNS name without its trailing dot */
#define LABEL_MAX_LEN 63
#define HOST_MAX_LEN  255 /* the longest host string the proxy hands over */
#define PATTERN_MAX   300 /* a longer pattern cannot be valid: refuse before copying it around */
#define DEPTH_MAX     8   /* presets within presets */

#define FORMS "(use example.com, *.example.com, HOST:PORT, an address or CIDR, localhost:PORT, or @PRESET)"

/* ---- Addresses --------------------------------------------------------------------------------- */

/* An address as the checks see it: an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is AF_INET, because
 * that is where the kernel sends it. */
struct ip {
	int family;
	uint8_t a[16];
};

static void ip_unmap(struct ip *ip)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (ip->family == AF_INET6 && memcmp(ip->a, mapped, 12) == 0) {
		memmove(ip->a, ip->a + 12, 4);
		memset(ip->a + 4, 0, 12);
		ip->family = AF_INET;
	}
}

/* Only the strict textual forms: four decimal octets, or what inet_pton takes for IPv6 (which never
 * takes a zone). */
static bool ip_parse(const char *s, struct ip *ip)
{
	memset(ip, 0, sizeof *ip);
	if (inet_pton(AF_INET, s, ip->a) == 1)
		ip->family = AF_INET;
	else if (inet_pton(AF_INET6, s, ip->a) == 1)
		ip->family = AF_INET6;
	else
		return false;
	ip_unmap(ip);
	return true;
}

static bool ip_from_sockaddr(const struct sockaddr *sa, struct ip *ip)
{
	memset(ip, 0, sizeof *ip);
	if (!sa)
		return false;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		memcpy(ip->a, &in->sin_addr, 4);
		ip->family = AF_INET;
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		memcpy(ip->a, &in6->sin6_addr, 16);
		ip->family = AF_INET6;
		ip_unmap(ip);
	} else {
		return false;
	}
	return true;
}

static unsigned family_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

/* Whether the first prefix bits of a and b agree. */
static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	unsigned whole = prefix / 8, rest = prefix % 8;
	if (memcmp(a, b, whole) != 0)
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return ((a[whole] ^ b[whole]) & mask) == 0;
}

static void prefix_clear_host_bits(uint8_t *a, unsigned prefix, unsigned bits)
{
	for (unsigned i = prefix; i < bits; i++)
		a[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
}

static uint32_t v4_word(const uint8_t *a)
{
	return (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
}

static bool v4_in(uint32_t x, uint32_t net, unsigned prefix)
{
	uint32_t mask = prefix ? 0xffffffffu << (32 - prefix) : 0;
	return (x & mask) == net;
}

static bool v4_internal(const uint8_t *a)
{
	static const struct {
		uint32_t net;
		unsigned prefix;
	} nets[] = {
		{ 0x00000000, 8 },  /* 0/8: "this network"; 0.0.0.0 reaches the host's own services */
		{ 0x0a000000, 8 },  /* 10/8 */
		{ 0x64400000, 10 }, /* 100.64/10: carrier-grade NAT, and tailnets */
		{ 0x7f000000, 8 },  /* 127/8 */
		{ 0xa9fe0000, 16 }, /* 169.254/16: link-local, and cloud metadata (169.254.169.254) */
		{ 0xac100000, 12 }, /* 172.16/12 */
		{ 0xc0a80000, 16 }, /* 192.168/16 */
		{ 0xe0000000, 4 },  /* 224/4: multicast */
		{ 0xf0000000, 4 },  /* 240/4: reserved, and 255.255.255.255 */
	};
	uint32_t x = v4_word(a);
	for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++)
		if (v4_in(x, nets[i].net, nets[i].prefix))
			return true;
	return false;
}

static bool ip_internal(const struct ip *ip)
{
	if (ip->family == AF_INET)
		return v4_internal(ip->a);
	const uint8_t *a = ip->a;
	static const uint8_t zero[12] = { 0 };
	static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b };
	static const uint8_t nat64_local[6] = { 0, 0x64, 0xff, 0x9b, 0, 1 };
	static const uint8_t translated[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0 };
	/* ::/96 holds ::, ::1 and the IPv4-compatible addresses, deprecated since RFC 4291 and never a
	 * public destination: all of it counts. (::ffff:0:0/96 arrives here unmapped already.) */
	if (memcmp(a, zero, 12) == 0)
		return true;
	/* Forms that carry an IPv4 address a translator or tunnel may deliver to: NAT64's well-known
	 * prefix (RFC 6052), SIIT's ::ffff:0:a.b.c.d (RFC 2765) and 6to4's 2002:AABB:CCDD::/48. */
	if (memcmp(a, nat64, 12) == 0 || memcmp(a, translated, 12) == 0)
		return v4_internal(a + 12);
	if (a[0] == 0x20 && a[1] == 0x02)
		return v4_internal(a + 2);
	if (memcmp(a, nat64_local, 6) == 0) /* 64:ff9b:1::/48: NAT64 for local networks (RFC 8215) */
		return true;
	if (a[0] == 0xfe && (a[1] & 0x80) == 0x80) /* fe80::/10 link-local, fec0::/10 old site-local */
		return true;
	if ((a[0] & 0xfe) == 0xfc) /* fc00::/7: unique local */
		return true;
	if (a[0] == 0xff) /* ff00::/8: multicast */
		return true;
	return false;
}

/* Link-local: 169.254/16, where clouds serve instance metadata and credentials, and fe80::/10,
 * also in the forms that carry an IPv4 address (as ip_internal reads them). */
static bool ip_link_local(const struct ip *ip)
{
	if (ip->family == AF_INET)
		return v4_in(v4_word(ip->a), 0xa9fe0000, 16);
	const uint8_t *a = ip->a;
	static const uint8_t zero[12] = { 0 };
	static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b };
	static const uint8_t translated[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0 };
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return true;
	if (memcmp(a, zero, 12) == 0 || memcmp(a, nat64, 12) == 0 || memcmp(a, translated, 12) == 0)
		return v4_in(v4_word(a + 12), 0xa9fe0000, 16);
	if (a[0] == 0x20 && a[1] == 0x02)
		return v4_in(v4_word(a + 2), 0xa9fe0000, 16);
	return false;
}

static bool ip_loopback(const struct ip *ip)
{
	static const uint8_t one[16] = { [15] = 1 };
	if (ip->family == AF_INET)
		return ip->a[0] == 127;
	return memcmp(ip->a, one, 16) == 0;
}

/* 127.0.0.1 or ::1 written as the host: what a localhost:PORT rule answers to besides "localhost". */
static bool ip_is_localhost_literal(const struct ip *ip)
{
	if (ip->family == AF_INET)
		return v4_word(ip->a) == 0x7f000001;
	return ip_loopback(ip);
}

/* ---- Names ------------------------------------------------------------------------------------- */

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* A lower-case name without its trailing dot: labels of [a-z0-9_-], 1..63 bytes each, 253 in all.
 * (Underscores occur in real names; the resolver is never asked for anything outside this set.) */
static bool name_valid(const char *s)
{
	size_t len = strlen(s), label = 0;
	if (len == 0 || len > NAME_MAX_LEN)
		return false;
	for (const char *p = s;; p++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0 || label > LABEL_MAX_LEN)
				return false;
			if (*p == '\0')
				return true;
			label = 0;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			return false;
		label++;
	}
}

static size_t name_labels(const char *s)
{
	size_t n = 1;
	for (; *s; s++)
		n += *s == '.';
	return n;
}

/* Whether s is meant as an IPv4 address in some form other than four decimal octets: anything
 * inet_aton() takes ("127.1", "2130706433", "0x7f.1", "0177.0.0.1", "1.2.3.4 junk"), and, as URL
 * parsers decide it, any name whose last label is a number ("1.2.3.4.5", "x.0x10"). No real top-level
 * domain is numeric, and some resolver on the way might read such a name as an address. */
static bool ipv4_unusual(const char *s)
{
	struct in_addr in;
	if (inet_aton(s, &in))
		return true;
	const char *last = strrchr(s, '.');
	last = last ? last + 1 : s;
	if (!*last)
		return false;
	if (last[0] == '0' && (last[1] == 'x' || last[1] == 'X'))
		return last[2 + strspn(last + 2, "0123456789abcdefABCDEF")] == '\0';
	return last[strspn(last, "0123456789")] == '\0';
}

/* ---- Rules ------------------------------------------------------------------------------------- */

static void rule_release(struct np_rule *r)
{
	free(r->host);
	free(r->text);
	free(r->preset);
	memset(r, 0, sizeof *r);
}

static bool rule_port_ok(const struct np_rule *r, uint16_t port)
{
	if (r->any_port)
		return true;
	if (r->port == 0)
		return port == 80 || port == 443;
	return port == r->port;
}

static char *rule_text(const struct np_rule *r)
{
	char port[16] = "";
	if (r->any_port)
		strcpy(port, ":*");
	else if (r->port)
		snprintf(port, sizeof port, ":%u", r->port);
	switch (r->kind) {
	case NP_HOST:
		return xasprintf("%s%s", r->host, port);
	case NP_WILDCARD:
		return xasprintf("*.%s%s", r->host, port);
	case NP_LOCALHOST:
		return xasprintf("localhost%s", port);
	case NP_ADDR:
		break;
	}
	char addr[INET6_ADDRSTRLEN];
	inet_ntop(r->family, r->addr, addr, sizeof addr);
	char prefix[16] = "";
	if (r->prefix != family_bits(r->family))
		snprintf(prefix, sizeof prefix, "/%u", r->prefix);
	/* An IPv6 address with a port needs brackets to tell the port from the address. */
	if (r->family == AF_INET6 && *port)
		return xasprintf("[%s%s]%s", addr, prefix, port);
	return xasprintf("%s%s%s", addr, prefix, port);
}

/* "80", "*"; 1..65535, decimal digits only (no sign, no space). */
static bool port_parse(const char *s, struct np_rule *r)
{
	if (strcmp(s, "*") == 0) {
		r->any_port = true;
		return true;
	}
	size_t n = strspn(s, "0123456789");
	if (n == 0 || n > 5 || s[n])
		return false;
	unsigned long v = strtoul(s, NULL, 10);
	if (v == 0 || v > 65535)
		return false;
	r->port = (uint16_t)v;
	return true;
}

static int bad_pattern(struct aj_err *err, const char *where, const char *pat)
{
	return aj_usage(err, "--allow-net: %s'%s' is not a pattern " FORMS, where, pat);
}

static int unusual_address(struct aj_err *err, const char *where, const char *pat)
{
	return aj_usage(err,
			"--allow-net: %s'%s' is an address in an unusual form (write IPv4 as four decimal numbers, "
			"e.g. 127.0.0.1)",
			where, pat);
}

/* ADDR or ADDR/PREFIX, written as an address of family (AF_INET or AF_INET6), into r. */
static int addr_parse(const char *s, int family, const char *where, const char *pat, struct np_rule *r,
		      struct aj_err *err)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof buf)
		return bad_pattern(err, where, pat);
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (strchr(buf, '%'))
		return aj_usage(err, "--allow-net: %s'%s': an IPv6 address with a zone is not accepted " FORMS, where,
				pat);
	/* The family is the written one: ip_parse turns ::ffff:a.b.c.d into AF_INET. */
	bool written_v6 = strchr(buf, ':') != NULL;
	if (written_v6 != (family == AF_INET6)) /* "[1.2.3.4]" */
		return bad_pattern(err, where, pat);
	struct ip ip;
	if (!ip_parse(buf, &ip))
		return !written_v6 && ipv4_unusual(buf) ? unusual_address(err, where, pat) : bad_pattern(err, where, pat);
	unsigned written_bits = written_v6 ? 128 : 32;
	unsigned prefix = written_bits;
	if (slash) {
		const char *p = slash + 1;
		size_t n = strspn(p, "0123456789");
		if (n == 0 || n > 3 || p[n])
			return bad_pattern(err, where, pat);
		prefix = (unsigned)strtoul(p, NULL, 10);
		if (prefix > written_bits)
			return aj_usage(err, "--allow-net: %s'%s': the prefix length is at most %u for an IPv%d address",
					where, pat, written_bits, written_v6 ? 6 : 4);
	}
	if (written_v6 && ip.family == AF_INET) {
		/* A mapped address is an IPv4 one. A prefix shorter than the mapping's 96 bits covers
		 * more than IPv4 space, so that rule stays the IPv6 prefix it was written as. */
		if (prefix >= 96) {
			prefix -= 96;
		} else {
			if (inet_pton(AF_INET6, buf, ip.a) != 1)
				return bad_pattern(err, where, pat);
			ip.family = AF_INET6;
		}
	}
	r->kind = NP_ADDR;
	r->family = ip.family;
	r->prefix = prefix;
	memcpy(r->addr, ip.a, sizeof r->addr);
	prefix_clear_host_bits(r->addr, prefix, family_bits(ip.family));
	return 0;
}

/* One pattern (not @PRESET, already trimmed) into r. where is "" or "preset 'x' (source): ". */
static int rule_parse(const char *pat, const char *where, struct np_rule *r, struct aj_err *err)
{
	memset(r, 0, sizeof *r);
	if (strlen(pat) > PATTERN_MAX)
		return aj_usage(err, "--allow-net: %s'%.40s...' is too long to be a pattern", where, pat);
	if (strstr(pat, "://")) /* a URL pasted in: its "//..." would otherwise read as a bad port */
		return aj_usage(err, "--allow-net: %s'%s' is not a pattern but a URL; give the host alone " FORMS, where,
				pat);

	if (pat[0] == '[') { /* [IPV6] or [IPV6/N], optionally :PORT */
		const char *close = strchr(pat, ']');
		if (!close || (close[1] && close[1] != ':'))
			return bad_pattern(err, where, pat);
		if (close[1] && !port_parse(close + 2, r))
			return aj_usage(err, "--allow-net: %s'%s': the port must be 1 to 65535, or * for any", where, pat);
		cleanup_free char *inner = xstrndup(pat + 1, (size_t)(close - pat - 1));
		return addr_parse(inner, AF_INET6, where, pat, r, err);
	}

	const char *colon = strchr(pat, ':');
	if (colon && strchr(colon + 1, ':')) /* two or more: a bare IPv6 address, which takes no port */
		return addr_parse(pat, AF_INET6, where, pat, r, err);

	cleanup_free char *host = xstrndup(pat, colon ? (size_t)(colon - pat) : strlen(pat));
	if (colon && !port_parse(colon + 1, r))
		return aj_usage(err, "--allow-net: %s'%s': the port must be 1 to 65535, or * for any", where, pat);
	if (strchr(host, '/'))
		return addr_parse(host, AF_INET, where, pat, r, err);

	for (char *p = host; *p; p++)
		*p = ascii_lower(*p);
	size_t len = strlen(host);
	bool had_dot = len > 1 && host[len - 1] == '.';
	if (had_dot)
		host[--len] = '\0';

	struct ip ip;
	if (ip_parse(host, &ip)) { /* no ':' here, so IPv4 */
		if (had_dot) /* "1.2.3.4." is a name to a resolver, an address to a reader */
			return unusual_address(err, where, pat);
		return addr_parse(host, AF_INET, where, pat, r, err);
	}
	if (strcmp(host, "localhost") == 0) {
		/* Each localhost:PORT rule becomes a port forwarded from the jail to the host's loopback. */
		if (!colon || r->any_port)
			return aj_usage(err, "--allow-net: %s'%s': localhost needs a port number (localhost:PORT, e.g. "
					     "localhost:8080)",
					where, pat);
		r->kind = NP_LOCALHOST;
		return 0;
	}
	if (strcmp(host, "*") == 0)
		return aj_usage(err, "--allow-net: %s'%s' would allow every host; name the hosts " FORMS, where, pat);

	bool wild = str_has_prefix(host, "*.");
	const char *name = wild ? host + 2 : host;
	if (!name_valid(name))
		return bad_pattern(err, where, pat);
	if (ipv4_unusual(name))
		return unusual_address(err, where, pat);
	if (wild && name_labels(name) < 2)
		return aj_usage(err, "--allow-net: %s'%s' is too broad: a wildcard needs at least two labels after '*.' "
				     "(e.g. *.example.com)",
				where, pat);
	r->kind = wild ? NP_WILDCARD : NP_HOST;
	r->host = xstrdup(name);
	return 0;
}

/* ---- Presets ----------------------------------------------------------------------------------- */

static bool preset_name_valid(const char *s, size_t n)
{
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.'))
			return false;
	}
	return true;
}

static struct np_preset *preset_find(const struct np_presets *p, const char *name)
{
	for (size_t i = 0; p && i < p->n; i++)
		if (strcasecmp(p->v[i].name, name) == 0)
			return &p->v[i];
	return NULL;
}

static void preset_release(struct np_preset *e)
{
	free(e->name);
	strv_free(e->patterns);
	free(e->source);
	memset(e, 0, sizeof *e);
}

void np_presets_release(struct np_presets *p)
{
	for (size_t i = 0; i < p->n; i++)
		preset_release(&p->v[i]);
	free(p->v);
	memset(p, 0, sizeof *p);
}

static const char *skip_space(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t' || *s == '\r'))
		s++;
	return s;
}

static const char *trim_end(const char *s, const char *end)
{
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	return end;
}

int np_presets_parse(struct np_presets *p, const char *text, const char *source, struct aj_err *err)
{
	/* Parsed on the side and merged at the end, so that a bad file leaves p as it was. */
	struct np_presets tmp = { 0 };
	struct np_preset *cur = NULL;
	int lineno = 0;
	for (const char *line = text; *line;) {
		const char *eol = strchrnul(line, '\n');
		const char *next = *eol ? eol + 1 : eol;
		lineno++;
		const char *hash = memchr(line, '#', (size_t)(eol - line)); /* '#' is in no pattern */
		const char *s = skip_space(line, eol), *e = trim_end(s, hash ? hash : eol);
		line = next;
		if (s == e)
			continue;
		/* "[name]" starts a preset; "[2001:db8::1]:22" is a pattern (a name has no ':'). */
		if (*s == '[' && !memchr(s, ':', (size_t)(e - s))) {
			const char *ns = skip_space(s + 1, e), *ne = e[-1] == ']' ? trim_end(ns, e - 1) : NULL;
			if (!ne || !preset_name_valid(ns, (size_t)(ne - ns))) {
				np_presets_release(&tmp);
				return aj_fail(err, 0, "%s:%d: '%.*s' is not a preset name ([NAME]: letters, digits, '-', '_', '.')",
					       source, lineno, (int)(e - s), s);
			}
			cleanup_free char *name = xstrndup(ns, (size_t)(ne - ns));
			cur = preset_find(&tmp, name);
			if (cur) { /* named twice in one text: the later section wins, as across texts */
				strv_free(cur->patterns);
			} else {
				tmp.v = xrealloc(tmp.v, (tmp.n + 1) * sizeof *tmp.v);
				cur = &tmp.v[tmp.n++];
				cur->name = steal_pointer(&name);
				cur->source = xstrdup(source);
			}
			cur->patterns = xcalloc(1, sizeof *cur->patterns);
			continue;
		}
		if (!cur) {
			np_presets_release(&tmp);
			return aj_fail(err, 0, "%s:%d: '%.*s' comes before the first [NAME] line", source, lineno,
				       (int)(e - s), s);
		}
		for (const char *item = s; item < e;) {
			const char *comma = memchr(item, ',', (size_t)(e - item));
			const char *iend = comma ? comma : e;
			const char *is = skip_space(item, iend), *ie = trim_end(is, iend);
			if (is < ie)
				strv_push(&cur->patterns, xstrndup(is, (size_t)(ie - is)));
			item = comma ? comma + 1 : e;
		}
	}
	for (size_t i = 0; i < tmp.n; i++) {
		struct np_preset *old = preset_find(p, tmp.v[i].name);
		if (old) {
			preset_release(old);
			*old = tmp.v[i];
		} else {
			p->v = xrealloc(p->v, (p->n + 1) * sizeof *p->v);
			p->v[p->n++] = tmp.v[i];
		}
	}
	free(tmp.v);
	return 0;
}

/* ---- The policy -------------------------------------------------------------------------------- */

struct expand {
	struct netpolicy *np;
	const struct np_presets *presets;
	const char *stack[DEPTH_MAX + 1]; /* preset names being expanded, outermost first */
	size_t depth;
	struct aj_err *err;
};

static char *stack_text(const struct expand *x, const char *last)
{
	char *s = xstrdup("");
	for (size_t i = 0; i < x->depth; i++) {
		char *t = xasprintf("%s@%s -> ", s, x->stack[i]);
		free(s);
		s = t;
	}
	char *t = xasprintf("%s@%s", s, last);
	free(s);
	return t;
}

static char *preset_names(const struct np_presets *p)
{
	char *s = xstrdup("");
	for (size_t i = 0; p && i < p->n; i++) {
		char *t = xasprintf("%s%s%s", s, i ? ", " : "", p->v[i].name);
		free(s);
		s = t;
	}
	return s;
}

static void policy_push(struct netpolicy *np, struct np_rule *r)
{
	for (size_t i = 0; i < np->n; i++)
		if (strcmp(np->rules[i].text, r->text) == 0) { /* the canonical text says all a rule is */
			rule_release(r);
			return;
		}
	np->rules = xrealloc(np->rules, (np->n + 1) * sizeof *np->rules);
	np->rules[np->n++] = *r;
	memset(r, 0, sizeof *r);
}

static int expand_item(struct expand *x, const char *item, const struct np_preset *in);

static int expand_preset(struct expand *x, const char *ref, const struct np_preset *in)
{
	cleanup_free char *where = in ? xasprintf("preset '%s' (%s): ", in->name, in->source) : xstrdup("");
	const char *name = ref + 1;
	if (!preset_name_valid(name, strlen(name)))
		return bad_pattern(x->err, where, ref);
	const struct np_preset *pr = preset_find(x->presets, name);
	if (!pr) {
		cleanup_free char *names = preset_names(x->presets);
		return aj_usage(x->err,
				"--allow-net: %sno preset named '%s' (presets: %s; add your own in "
				"~/.config/ajail/net-presets)",
				where, name, *names ? names : "none");
	}
	for (size_t i = 0; i < x->depth; i++)
		if (strcasecmp(x->stack[i], pr->name) == 0) {
			cleanup_free char *chain = stack_text(x, pr->name);
			return aj_usage(x->err, "--allow-net: preset '%s' includes itself (%s)", pr->name, chain);
		}
	if (x->depth == DEPTH_MAX) {
		cleanup_free char *chain = stack_text(x, pr->name);
		return aj_usage(x->err, "--allow-net: presets nested more than %d deep (%s)", DEPTH_MAX, chain);
	}
	x->stack[x->depth++] = pr->name;
	for (size_t i = 0; pr->patterns && pr->patterns[i]; i++)
		if (expand_item(x, pr->patterns[i], pr) < 0)
			return -1;
	x->depth--;
	return 0;
}

/* One pattern or @PRESET; in is the preset it was written in (NULL: the command line). */
static int expand_item(struct expand *x, const char *item, const struct np_preset *in)
{
	if (item[0] == '@')
		return expand_preset(x, item, in);
	cleanup_free char *where = in ? xasprintf("preset '%s' (%s): ", in->name, in->source) : xstrdup("");
	struct np_rule r;
	if (rule_parse(item, where, &r, x->err) < 0) {
		rule_release(&r);
		return -1;
	}
	r.text = rule_text(&r);
	/* Shown under the preset the user named, however deep it was found. */
	r.preset = x->depth ? xstrdup(x->stack[0]) : NULL;
	policy_push(x->np, &r);
	return 0;
}

int netpolicy_add(struct netpolicy *np, const char *list, const struct np_presets *presets, struct aj_err *err)
{
	size_t n0 = np->n;
	struct expand x = { .np = np, .presets = presets, .err = err };
	int ret = 0;
	if (!list || !*list) {
		ret = aj_usage(err, "--allow-net: empty value " FORMS);
		goto out;
	}
	for (const char *s = list;;) {
		const char *comma = strchrnul(s, ',');
		const char *is = skip_space(s, comma), *ie = trim_end(is, comma);
		if (is == ie) {
			/* A trailing comma is a slip worth tolerating; an empty item elsewhere may hide a typo. */
			if (*comma == '\0' && s != list)
				break;
			ret = aj_usage(err, "--allow-net: an empty pattern in '%s' " FORMS, list);
			goto out;
		}
		cleanup_free char *item = xstrndup(is, (size_t)(ie - is));
		if (expand_item(&x, item, NULL) < 0) {
			ret = -1;
			goto out;
		}
		if (*comma == '\0')
			break;
		s = comma + 1;
	}
out:
	if (ret < 0) { /* all or nothing: np is as it was */
		for (size_t i = n0; i < np->n; i++)
			rule_release(&np->rules[i]);
		np->n = n0;
	}
	return ret;
}

void netpolicy_release(struct netpolicy *np)
{
	for (size_t i = 0; i < np->n; i++)
		rule_release(&np->rules[i]);
	free(np->rules);
	memset(np, 0, sizeof *np);
}

/* ---- Decisions --------------------------------------------------------------------------------- */

int netpolicy_match(const struct netpolicy *np, const char *host, uint16_t port, const char **reason)
{
	const char *dummy;
	if (!reason)
		reason = &dummy;
	if (!host || !*host) {
		*reason = "an empty host name";
		return -1;
	}
	size_t len = strnlen(host, HOST_MAX_LEN + 1);
	if (len > HOST_MAX_LEN) {
		*reason = "a host name longer than 255 bytes";
		return -1;
	}
	if (port == 0) {
		*reason = "port 0";
		return -1;
	}
	char buf[HOST_MAX_LEN + 1];
	for (size_t i = 0; i <= len; i++)
		buf[i] = ascii_lower(host[i]);
	bool had_dot = len > 1 && buf[len - 1] == '.';
	if (had_dot)
		buf[--len] = '\0';

	struct ip ip;
	bool is_ip = false;
	if (strchr(buf, ':')) {
		if (strchr(buf, '%')) {
			*reason = "an IPv6 address with a zone";
			return -1;
		}
		if (had_dot || !ip_parse(buf, &ip)) {
			*reason = "not a valid host name";
			return -1;
		}
		is_ip = true;
	} else if (ip_parse(buf, &ip)) {
		if (had_dot) { /* a resolver would look "1.2.3.4." up as a name */
			*reason = "an address in an unusual form";
			return -1;
		}
		is_ip = true;
	} else if (ipv4_unusual(buf)) {
		*reason = "an address in an unusual form";
		return -1;
	} else if (!name_valid(buf)) {
		*reason = "not a valid host name";
		return -1;
	}

	bool localhost = is_ip ? ip_is_localhost_literal(&ip) : strcmp(buf, "localhost") == 0;
	bool host_seen = false;
	int wild = -1;
	for (size_t i = 0; i < np->n; i++) {
		const struct np_rule *r = &np->rules[i];
		bool hit = false;
		switch (r->kind) {
		case NP_LOCALHOST:
			hit = localhost;
			break;
		case NP_ADDR:
			hit = is_ip && ip.family == r->family && prefix_equal(ip.a, r->addr, r->prefix);
			break;
		case NP_HOST:
			hit = !is_ip && !localhost && strcmp(buf, r->host) == 0;
			break;
		case NP_WILDCARD: {
			size_t hl = strlen(r->host);
			hit = !is_ip && !localhost && len > hl + 1 && buf[len - hl - 1] == '.' &&
			      memcmp(buf + len - hl, r->host, hl) == 0;
			break;
		}
		}
		if (!hit)
			continue;
		host_seen = true;
		if (!rule_port_ok(r, port))
			continue;
		/* An exact rule wins over a wildcard, wherever it is: it is the one that may reach internal
		 * addresses (netpolicy_addr_ok), and the user named that host on purpose. */
		if (r->kind != NP_WILDCARD)
			return (int)i;
		if (wild < 0)
			wild = (int)i;
	}
	if (wild >= 0)
		return wild;
	if (host_seen)
		*reason = "port not allowed for this host";
	else if (localhost && !is_ip)
		*reason = "localhost needs a localhost:PORT rule";
	else if (is_ip)
		*reason = "an IP address needs an address rule";
	else
		*reason = "not in the allow-list";
	return -1;
}

bool netpolicy_addr_is_internal(const struct sockaddr *sa)
{
	struct ip ip;
	/* Anything that is not an IP address at all is refused as if internal. */
	return !ip_from_sockaddr(sa, &ip) || ip_internal(&ip);
}

bool netpolicy_addr_ok(const struct netpolicy *np, int rule, const struct sockaddr *sa, const char **reason)
{
	const char *dummy;
	if (!reason)
		reason = &dummy;
	struct ip ip;
	if (!np || rule < 0 || (size_t)rule >= np->n) {
		*reason = "no rule";
		return false;
	}
	if (!ip_from_sockaddr(sa, &ip)) {
		*reason = "not an IP address";
		return false;
	}
	const struct np_rule *r = &np->rules[rule];
	switch (r->kind) {
	case NP_HOST:
		/* A name you allow may lead to your own network (a database at db.internal), but never to
		 * the metadata service: one spoofed or rebound record of an allowed name would hand the jail
		 * the machine's cloud credentials. Only an address rule reaches link-local. */
		if (ip_link_local(&ip)) {
			*reason = "a name never reaches a link-local address (cloud metadata); an address rule can";
			return false;
		}
		return true;
	case NP_WILDCARD:
		if (ip_internal(&ip)) {
			*reason = "a wildcard rule never reaches an internal address";
			return false;
		}
		return true;
	case NP_ADDR:
		if (ip.family != r->family || !prefix_equal(ip.a, r->addr, r->prefix)) {
			*reason = "the address is outside the rule's range";
			return false;
		}
		return true;
	case NP_LOCALHOST:
		if (!ip_loopback(&ip)) {
			*reason = "localhost resolved to an address that is not loopback";
			return false;
		}
		return true;
	}
	*reason = "no rule";
	return false;
}

char *netpolicy_suggest(const char *host, uint16_t port)
{
	struct ip ip;
	bool is_ip = ip_parse(host, &ip);
	bool default_port = port == 80 || port == 443;
	if (strcmp(host, "localhost") == 0 || (is_ip && ip_is_localhost_literal(&ip)))
		return xasprintf("localhost:%u", port);
	if (is_ip && strchr(host, ':'))
		return default_port ? xstrdup(host) : xasprintf("[%s]:%u", host, port);
	if (!is_ip && (ipv4_unusual(host) || !name_valid(host)))
		return NULL;
	return default_port ? xstrdup(host) : xasprintf("%s:%u", host, port);
}

char *netpolicy_describe(const struct netpolicy *np)
{
	cleanup_strv char **parts = NULL;
	cleanup_strv char **shown = NULL;
	for (size_t i = 0; i < np->n; i++) {
		const struct np_rule *r = &np->rules[i];
		if (!r->preset) {
			strv_push(&parts, xstrdup(r->text));
		} else if (!strv_contains(shown, r->preset)) {
			strv_push(&shown, xstrdup(r->preset));
			strv_push(&parts, xasprintf("@%s", r->preset));
		}
	}
	return strv_join(parts, ", ");
}
