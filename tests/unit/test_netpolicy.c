/* Unit tests for netpolicy.c: the --allow-net patterns, presets, and the proxy's two decisions. The
 * hosts here are what a hostile jail may ask for; each case would pass a wrong rule through. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "netpolicy.h"
#include "util.h"

/* ---- Helpers ----------------------------------------------------------------------------------- */

/* list must parse; the policy is returned (with the given presets, may be NULL). */
static struct netpolicy policy_with(const char *list, const struct np_presets *presets)
{
	struct netpolicy np = { 0 };
	struct aj_err err = { 0 };
	int r = netpolicy_add(&np, list, presets, &err);
	if (r != 0)
		print_error("'%s': unexpected error: %s\n", list, err.msg);
	assert_int_equal(r, 0);
	return np;
}

static struct netpolicy policy(const char *list)
{
	return policy_with(list, NULL);
}

/* list must fail with a usage error whose message holds every NULL-terminated needle; the policy it
 * was added to must be left as it was. */
static void expect_error_with(const char *list, const struct np_presets *presets, ...)
{
	struct netpolicy np = policy("before.example");
	struct aj_err err = { 0 };
	int r = netpolicy_add(&np, list, presets, &err);
	if (r != -1)
		print_error("'%s' was accepted\n", list);
	assert_int_equal(r, -1);
	assert_int_equal(err.kind, AJ_ERR_USAGE);
	assert_int_equal(np.n, 1);
	assert_string_equal(np.rules[0].text, "before.example");
	va_list ap;
	va_start(ap, presets);
	for (const char *n; (n = va_arg(ap, const char *)) != NULL;) {
		if (!strstr(err.msg, n))
			print_error("'%s': message \"%s\" lacks \"%s\"\n", list, err.msg, n);
		assert_non_null(strstr(err.msg, n));
	}
	va_end(ap);
	netpolicy_release(&np);
}
#define expect_error(list, ...) expect_error_with(list, NULL, __VA_ARGS__, NULL)

/* One pattern alone must give one rule with this canonical text. */
static void expect_text(const char *pattern, const char *text)
{
	struct netpolicy np = policy(pattern);
	assert_int_equal(np.n, 1);
	if (strcmp(np.rules[0].text, text) != 0)
		print_error("'%s' reads '%s', expected '%s'\n", pattern, np.rules[0].text, text);
	assert_string_equal(np.rules[0].text, text);
	netpolicy_release(&np);
}

/* host:port must be allowed by rule number idx. */
static void allowed(const struct netpolicy *np, const char *host, uint16_t port, int idx)
{
	const char *why = NULL;
	int r = netpolicy_match(np, host, port, &why);
	if (r != idx)
		print_error("'%s' port %u: got %d (%s), expected rule %d\n", host, port, r, r < 0 ? why : "", idx);
	assert_int_equal(r, idx);
}

/* host:port must be refused, the reason containing want. */
static void refused(const struct netpolicy *np, const char *host, uint16_t port, const char *want)
{
	const char *why = NULL;
	int r = netpolicy_match(np, host, port, &why);
	if (r != -1)
		print_error("'%s' port %u: allowed by rule %d (%s)\n", host, port, r, np->rules[r].text);
	assert_int_equal(r, -1);
	assert_non_null(why);
	if (!strstr(why, want))
		print_error("'%s' port %u: reason \"%s\" lacks \"%s\"\n", host, port, why, want);
	assert_non_null(strstr(why, want));
}

/* A sockaddr for a textual address (v4 or v6, as the resolver would hand it over). */
static const struct sockaddr *sa_of(struct sockaddr_storage *ss, const char *text)
{
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
	} else {
		assert_int_equal(inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
		in6->sin6_family = AF_INET6;
	}
	return (const struct sockaddr *)ss;
}

static bool internal(const char *text)
{
	struct sockaddr_storage ss;
	return netpolicy_addr_is_internal(sa_of(&ss, text));
}

static bool addr_ok(const struct netpolicy *np, int rule, const char *text)
{
	struct sockaddr_storage ss;
	const char *why = NULL;
	bool ok = netpolicy_addr_ok(np, rule, sa_of(&ss, text), &why);
	if (!ok)
		assert_non_null(why);
	return ok;
}

static void presets_from(struct np_presets *p, const char *text)
{
	struct aj_err err = { 0 };
	int r = np_presets_parse(p, text, "test", &err);
	if (r != 0)
		print_error("presets: %s\n", err.msg);
	assert_int_equal(r, 0);
}

/* ---- Patterns ---------------------------------------------------------------------------------- */

static void test_pattern_forms(void **state)
{
	struct netpolicy np = policy("example.com,*.Example.COM:8080,api.example.com:*,localhost:3000,192.0.2.7:22,"
				     "10.1.2.3/8,[2001:db8::1]:22,fd00::/8");
	assert_int_equal(np.n, 8);
	const struct np_rule *r = np.rules;
	assert_int_equal(r[0].kind, NP_HOST);
	assert_string_equal(r[0].host, "example.com");
	assert_int_equal(r[0].port, 0);
	assert_false(r[0].any_port);
	assert_null(r[0].preset);
	assert_int_equal(r[1].kind, NP_WILDCARD);
	assert_string_equal(r[1].host, "example.com"); /* no "*.", lower case */
	assert_int_equal(r[1].port, 8080);
	assert_string_equal(r[1].text, "*.example.com:8080");
	assert_int_equal(r[2].kind, NP_HOST);
	assert_true(r[2].any_port);
	assert_string_equal(r[2].text, "api.example.com:*");
	assert_int_equal(r[3].kind, NP_LOCALHOST);
	assert_null(r[3].host);
	assert_int_equal(r[3].port, 3000);
	assert_string_equal(r[3].text, "localhost:3000");
	assert_int_equal(r[4].kind, NP_ADDR);
	assert_int_equal(r[4].family, AF_INET);
	assert_int_equal(r[4].prefix, 32);
	assert_int_equal(r[4].port, 22);
	assert_memory_equal(r[4].addr, "\xc0\x00\x02\x07", 4);
	assert_null(r[4].host);
	/* Host bits of a CIDR are cleared, and the text shows the network. */
	assert_int_equal(r[5].prefix, 8);
	assert_memory_equal(r[5].addr, "\x0a\x00\x00\x00", 4);
	assert_string_equal(r[5].text, "10.0.0.0/8");
	assert_int_equal(r[6].family, AF_INET6);
	assert_int_equal(r[6].prefix, 128);
	assert_int_equal(r[6].port, 22);
	assert_string_equal(r[6].text, "[2001:db8::1]:22");
	assert_int_equal(r[7].prefix, 8);
	assert_string_equal(r[7].text, "fd00::/8");
	netpolicy_release(&np);
}

static void test_pattern_canonical_text(void **state)
{
	expect_text("EXAMPLE.com.", "example.com");
	expect_text("*.EXAMPLE.com.:443", "*.example.com:443");
	expect_text("a_b.example.com", "a_b.example.com");
	expect_text("LocalHost.:8080", "localhost:8080");
	expect_text("example.com:1", "example.com:1");
	expect_text("example.com:65535", "example.com:65535");
	expect_text("example.com:0080", "example.com:80");
	expect_text("1.2.3.4/32", "1.2.3.4");
	expect_text("1.2.3.4/31", "1.2.3.4/31");
	expect_text("1.2.3.5/31", "1.2.3.4/31");
	expect_text("1.2.3.4/0", "0.0.0.0/0");
	expect_text("10.0.0.0/8:*", "10.0.0.0/8:*");
	expect_text("2001:DB8::1", "2001:db8::1");
	expect_text("2001:db8::1/128", "2001:db8::1");
	expect_text("2001:db8::ffff/120", "2001:db8::ff00/120");
	expect_text("::/0", "::/0");
	expect_text("[::1]", "::1");
	expect_text("[fd00::1/8]:22", "[fd00::/8]:22");
	expect_text("[2001:db8::1]:*", "[2001:db8::1]:*");
	/* Mapped addresses are IPv4 ones; a prefix that covers only mapped space becomes IPv4's. */
	expect_text("::ffff:1.2.3.4", "1.2.3.4");
	expect_text("::FFFF:10.9.9.9/104", "10.0.0.0/8");
	expect_text("::ffff:0:0/96", "0.0.0.0/0");
	expect_text("[::ffff:192.0.2.7]:22", "192.0.2.7:22");
	expect_text("  spaced.example.com\t", "spaced.example.com");
}

static void test_pattern_errors(void **state)
{
	expect_error("exa mple.com", "--allow-net: 'exa mple.com' is not a pattern (use example.com, *.example.com, "
				     "HOST:PORT, an address or CIDR, localhost:PORT, or @PRESET)");
	/* Wildcards: everything, or a whole top-level domain, is not an allow-list. */
	expect_error("*", "'*'", "every host");
	expect_error("*:443", "'*:443'");
	expect_error("*.com", "'*.com'", "two labels");
	expect_error("*.COM.", "'*.COM.'", "two labels");
	expect_error("*.*.example.com", "'*.*.example.com' is not a pattern");
	expect_error("a*.example.com", "not a pattern");
	expect_error("*example.com", "not a pattern");
	expect_error("*.", "every host");
	/* localhost needs a real port: it becomes a forwarded port. */
	expect_error("localhost", "'localhost'", "localhost:PORT");
	expect_error("localhost.", "localhost:PORT");
	expect_error("localhost:*", "localhost:PORT");
	expect_error("localhost:0", "1 to 65535");
	/* Ports. */
	expect_error("example.com:0", "'example.com:0'", "1 to 65535");
	expect_error("example.com:65536", "1 to 65535");
	expect_error("example.com:123456", "1 to 65535");
	expect_error("example.com:", "1 to 65535");
	expect_error("example.com:-1", "1 to 65535");
	expect_error("example.com:+80", "1 to 65535");
	expect_error("example.com: 80", "1 to 65535");
	expect_error("example.com:http", "1 to 65535");
	expect_error("example.com:80:90", "not a pattern");
	expect_error("[2001:db8::1]:", "1 to 65535");
	expect_error("[2001:db8::1]:0", "1 to 65535");
	/* CIDR. */
	expect_error("10.0.0.0/33", "at most 32");
	expect_error("fd00::/129", "at most 128");
	expect_error("[fd00::/129]:22", "at most 128");
	expect_error("10.0.0.0/", "not a pattern");
	expect_error("10.0.0.0/x", "not a pattern");
	expect_error("10.0.0.0/-1", "not a pattern");
	expect_error("10.0.0.0/8/8", "not a pattern");
	expect_error("example.com/8", "not a pattern");
	/* Addresses in forms a reader would take for something else. */
	expect_error("127.1", "'127.1' is an address in an unusual form");
	expect_error("0x7f.1", "unusual form");
	expect_error("0x7f.0.0.1", "unusual form");
	expect_error("2130706433", "unusual form");
	expect_error("0177.0.0.1", "unusual form");
	expect_error("0177.0.0.1:22", "unusual form");
	expect_error("127.0.0.1.", "unusual form");
	expect_error("1.2.3.4.5", "unusual form");
	expect_error("*.1.2.3", "unusual form");
	expect_error("example.123", "unusual form");
	expect_error("example.0x1f", "unusual form");
	expect_error("0x7f.1/8", "unusual form");
	expect_error("fe80::1%eth0", "zone");
	expect_error("[fe80::1%eth0]:22", "zone");
	expect_error("[1.2.3.4]:80", "not a pattern");
	expect_error("[::1", "not a pattern");
	expect_error("[::1]x", "not a pattern");
	expect_error("[::1]:22:33", "1 to 65535");
	expect_error("[example.com]", "not a pattern");
	expect_error("2001:db8::g", "not a pattern");
	/* Names. */
	expect_error("a..example.com", "not a pattern");
	expect_error(".example.com", "not a pattern");
	expect_error(".", "not a pattern");
	expect_error("example.com..", "not a pattern");
	expect_error("exa%mple.com", "not a pattern");
	expect_error("ex\xc3\xa4mple.com", "not a pattern");
	expect_error("http://example.com", "not a pattern but a URL");
	expect_error("https://example.com:8443/x", "not a pattern but a URL");
	expect_error("example.com/path", "not a pattern");
	char label[80];
	memset(label, 'a', 64);
	strcpy(label + 64, ".com");
	expect_error(label, "not a pattern");
	label[63] = '\0';
	struct netpolicy np = policy(label); /* 63 is fine */
	netpolicy_release(&np);
	char name[300] = "";
	while (strlen(name) < 250)
		strcat(name, "abcdefghi.");
	strcat(name, "com"); /* 253 */
	np = policy(name);
	netpolicy_release(&np);
	strcat(name, "x"); /* 254 */
	expect_error(name, "not a pattern");
	char huge[400];
	memset(huge, 'a', sizeof huge - 1);
	huge[sizeof huge - 1] = '\0';
	expect_error(huge, "too long");
}

static void test_list_syntax(void **state)
{
	struct netpolicy np = policy("a.example, b.example ,");
	assert_int_equal(np.n, 2);
	assert_string_equal(np.rules[1].text, "b.example");
	/* Duplicates (by canonical text) once, the first kept. */
	struct aj_err err = { 0 };
	assert_int_equal(netpolicy_add(&np, "A.EXAMPLE.,c.example,a.example:443,b.example", NULL, &err), 0);
	assert_int_equal(np.n, 4);
	assert_string_equal(np.rules[2].text, "c.example");
	assert_string_equal(np.rules[3].text, "a.example:443"); /* not the same rule as a.example */
	netpolicy_release(&np);
	assert_int_equal(np.n, 0);
	assert_null(np.rules);

	expect_error("", "empty");
	expect_error(" ", "empty");
	expect_error(",", "empty");
	expect_error(",a.example", "empty");
	expect_error("a.example,,b.example", "empty pattern in 'a.example,,b.example'");
	expect_error("a.example,,", "empty");
	expect_error("a.example, ,b.example", "empty");
	/* All or nothing: the good patterns before a bad one are not kept (expect_error checks). */
	expect_error("x.example,y.example,bad pattern", "'bad pattern'");
	np = (struct netpolicy){ 0 };
	assert_int_equal(netpolicy_add(&np, NULL, NULL, &err), -1);
	assert_int_equal(err.kind, AJ_ERR_USAGE);
}

/* ---- Matching names ---------------------------------------------------------------------------- */

static void test_match_exact_name(void **state)
{
	struct netpolicy np = policy("example.com");
	allowed(&np, "example.com", 443, 0);
	allowed(&np, "EXAMPLE.Com", 443, 0);
	allowed(&np, "example.com.", 80, 0);
	refused(&np, "example.com..", 443, "not a valid host name");
	refused(&np, "www.example.com", 443, "not in the allow-list");
	refused(&np, "example.co", 443, "not in the allow-list");
	refused(&np, "example.com.evil.net", 443, "not in the allow-list");
	refused(&np, "xexample.com", 443, "not in the allow-list");
	refused(&np, " example.com", 443, "not a valid host name");
	refused(&np, "example.com ", 443, "not a valid host name");
	refused(&np, "example.com%00", 443, "not a valid host name");
	refused(&np, "example.com:443", 443, "not a valid host name");
	refused(&np, "[example.com]", 443, "not a valid host name");
	refused(&np, "", 443, "empty");
	refused(&np, ".", 443, "not a valid host name");
	netpolicy_release(&np);
}

static void test_match_wildcard_boundaries(void **state)
{
	struct netpolicy np = policy("*.example.com");
	allowed(&np, "a.example.com", 443, 0);
	allowed(&np, "a.b.example.com", 443, 0);
	allowed(&np, "A.B.EXAMPLE.COM.", 443, 0);
	allowed(&np, "_dmarc.example.com", 443, 0);
	refused(&np, "example.com", 443, "not in the allow-list");
	refused(&np, "example.com.", 443, "not in the allow-list");
	refused(&np, "badexample.com", 443, "not in the allow-list");
	refused(&np, "a.badexample.com", 443, "not in the allow-list");
	refused(&np, ".example.com", 443, "not a valid host name");
	refused(&np, "a..example.com", 443, "not a valid host name");
	refused(&np, "*.example.com", 443, "not a valid host name");
	refused(&np, "evil com.example.com", 443, "not a valid host name");
	refused(&np, "evil/x.example.com", 443, "not a valid host name");
	refused(&np, "evil%2f.example.com", 443, "not a valid host name");
	refused(&np, "evil\n.example.com", 443, "not a valid host name");
	refused(&np, "\xff.example.com", 443, "not a valid host name");
	refused(&np, "a.example.com.evil.net", 443, "not in the allow-list");
	refused(&np, "a.example.comx", 443, "not in the allow-list");
	/* Length limits: a label of 64, a name of 254, a host string of 256 bytes. */
	char host[300];
	memset(host, 'a', 64);
	strcpy(host + 64, ".example.com");
	refused(&np, host, 443, "not a valid host name");
	strcpy(host + 63, ".example.com");
	allowed(&np, host, 443, 0);
	host[0] = '\0';
	while (strlen(host) < 240)
		strcat(host, "abcdefghi.");
	strcat(host, "example.com"); /* 251 */
	allowed(&np, host, 443, 0);
	strcat(host, "."); /* the trailing dot does not count */
	allowed(&np, host, 443, 0);
	memmove(host + 3, host, strlen(host) + 1);
	memcpy(host, "ab.", 3); /* 254 without the dot */
	refused(&np, host, 443, "not a valid host name");
	memset(host, 'a', 256);
	host[256] = '\0';
	refused(&np, host, 443, "longer than 255");
	netpolicy_release(&np);
}

static void test_match_exact_beats_wildcard(void **state)
{
	/* The exact rule is the one that may reach an internal address: it must be the one returned. */
	struct netpolicy np = policy("*.corp.example.com,git.corp.example.com,*.example.com:*");
	allowed(&np, "git.corp.example.com", 443, 1);
	allowed(&np, "web.corp.example.com", 443, 0);
	allowed(&np, "web.corp.example.com", 8080, 2);
	allowed(&np, "git.corp.example.com", 22, 2);
	netpolicy_release(&np);
}

static void test_match_ports(void **state)
{
	struct netpolicy np = policy("default.example,only.example:8080,any.example:*,*.w.example:22");
	allowed(&np, "default.example", 80, 0);
	allowed(&np, "default.example", 443, 0);
	refused(&np, "default.example", 8080, "port not allowed for this host");
	refused(&np, "default.example", 22, "port");
	allowed(&np, "only.example", 8080, 1);
	refused(&np, "only.example", 443, "port not allowed");
	refused(&np, "only.example", 80, "port not allowed");
	allowed(&np, "any.example", 1, 2);
	allowed(&np, "any.example", 65535, 2);
	allowed(&np, "a.w.example", 22, 3);
	refused(&np, "a.w.example", 443, "port not allowed");
	refused(&np, "any.example", 0, "port 0");
	netpolicy_release(&np);
}

/* ---- Matching addresses ------------------------------------------------------------------------ */

static void test_match_odd_ipv4(void **state)
{
	/* Every rule here would allow 127.0.0.1 on 443 if the odd form were read as it. */
	struct netpolicy np = policy("127.0.0.0/8,localhost:443,*.example.com,example.com,0.0.0.0/0:*");
	allowed(&np, "127.0.0.1", 443, 0);
	const char *odd[] = { "127.1",      "127.0.1",      "2130706433",  "0x7f000001", "0x7f.1",     "0X7F.0.0.1",
			      "0177.0.0.1", "0177.1",       "017700000001", "127.0.0.1.", "127.0.0.01", "127.000.0.1",
			      "1.2.3.4.5",  "a.example.123", "x.0x10",     "127.0.0.1 ", "127.0.0.1\tjunk",
			      "0x7f.1." };
	for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
		refused(&np, odd[i], 443, "an address in an unusual form");
	/* Names made of digits elsewhere are names. */
	struct netpolicy np2 = policy("*.example.com");
	allowed(&np2, "1.2.3.4.example.com", 443, 0);
	allowed(&np2, "0x7f.example.com", 443, 0);
	allowed(&np2, "123.example.com", 443, 0);
	netpolicy_release(&np2);
	netpolicy_release(&np);
}

static void test_match_ip_literals(void **state)
{
	struct netpolicy np = policy("example.com,*.example.com,192.0.2.7,2001:db8::/32,10.0.0.0/8:*");
	/* An address never matches a name rule, whatever it resolves to. */
	refused(&np, "93.184.216.34", 443, "an IP address needs an address rule");
	refused(&np, "2606:2800:220:1::", 443, "an IP address needs an address rule");
	allowed(&np, "192.0.2.7", 443, 2);
	refused(&np, "192.0.2.7", 22, "port not allowed");
	refused(&np, "192.0.2.8", 443, "address rule");
	allowed(&np, "::ffff:192.0.2.7", 443, 2); /* mapped: the IPv4 address */
	allowed(&np, "::FFFF:c000:207", 80, 2);
	refused(&np, "::192.0.2.7", 443, "address rule"); /* IPv4-compatible is not mapped */
	allowed(&np, "2001:db8::1", 443, 3);
	allowed(&np, "2001:DB8:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF", 443, 3);
	refused(&np, "2001:db9::", 443, "address rule");
	refused(&np, "2001:db8::1.", 443, "not a valid host name");
	refused(&np, "[2001:db8::1]", 443, "not a valid host name");
	refused(&np, "2001:db8::1%eth0", 443, "an IPv6 address with a zone");
	refused(&np, "fe80::1%25eth0", 443, "zone");
	refused(&np, "2001:db8:::1", 443, "not a valid host name");
	allowed(&np, "10.255.255.255", 1, 4);
	refused(&np, "11.0.0.0", 443, "address rule");
	refused(&np, "9.255.255.255", 443, "address rule");
	netpolicy_release(&np);

	/* A mapped rule is the IPv4 rule. */
	np = policy("::ffff:192.0.2.0/120");
	allowed(&np, "192.0.2.200", 443, 0);
	allowed(&np, "::ffff:192.0.2.1", 443, 0);
	refused(&np, "192.0.3.0", 443, "address rule");
	netpolicy_release(&np);
}

static void test_match_cidr_edges(void **state)
{
	struct netpolicy np = policy("0.0.0.0/0");
	allowed(&np, "0.0.0.0", 443, 0);
	allowed(&np, "255.255.255.255", 443, 0);
	refused(&np, "::1", 443, "address rule"); /* /0 covers its own family only */
	refused(&np, "example.com", 443, "not in the allow-list");
	netpolicy_release(&np);

	np = policy("::/0");
	allowed(&np, "::", 443, 0);
	allowed(&np, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 443, 0);
	refused(&np, "1.2.3.4", 443, "address rule");
	netpolicy_release(&np);

	np = policy("172.16.0.0/12,198.51.100.1/32,2001:db8::1/128,2001:db8:1::/127,192.0.2.128/25");
	allowed(&np, "172.16.0.0", 443, 0);
	allowed(&np, "172.31.255.255", 443, 0);
	refused(&np, "172.32.0.0", 443, "address rule");
	refused(&np, "172.15.255.255", 443, "address rule");
	allowed(&np, "198.51.100.1", 443, 1);
	refused(&np, "198.51.100.0", 443, "address rule");
	refused(&np, "198.51.100.2", 443, "address rule");
	allowed(&np, "2001:db8::1", 443, 2);
	refused(&np, "2001:db8::", 443, "address rule");
	refused(&np, "2001:db8::3", 443, "address rule");
	allowed(&np, "2001:db8:1::", 443, 3);
	allowed(&np, "2001:db8:1::1", 443, 3);
	refused(&np, "2001:db8:1::2", 443, "address rule");
	allowed(&np, "192.0.2.128", 443, 4);
	allowed(&np, "192.0.2.255", 443, 4);
	refused(&np, "192.0.2.127", 443, "address rule");
	netpolicy_release(&np);
}

static void test_match_localhost(void **state)
{
	struct netpolicy np = policy("localhost:8080,example.com");
	allowed(&np, "localhost", 8080, 0);
	allowed(&np, "LOCALHOST.", 8080, 0);
	allowed(&np, "127.0.0.1", 8080, 0);
	allowed(&np, "::1", 8080, 0);
	allowed(&np, "0:0:0:0:0:0:0:1", 8080, 0);
	allowed(&np, "::ffff:127.0.0.1", 8080, 0);
	refused(&np, "localhost", 8081, "port not allowed");
	refused(&np, "localhost", 443, "port not allowed");
	refused(&np, "127.0.0.1", 443, "port not allowed");
	refused(&np, "127.0.0.2", 8080, "address rule");
	refused(&np, "0.0.0.0", 8080, "address rule");
	refused(&np, "::", 8080, "address rule");
	refused(&np, "localhost.localdomain", 8080, "not in the allow-list");
	refused(&np, "a.localhost", 8080, "not in the allow-list");
	refused(&np, "127.1", 8080, "unusual form");
	refused(&np, "0x7f000001", 8080, "unusual form");
	netpolicy_release(&np);

	/* Without a localhost rule, "localhost" matches nothing, not even an address rule for it. */
	np = policy("127.0.0.1:*");
	allowed(&np, "127.0.0.1", 8080, 0);
	refused(&np, "localhost", 8080, "localhost needs a localhost:PORT rule");
	netpolicy_release(&np);
}

static void test_match_empty_policy(void **state)
{
	struct netpolicy np = { 0 };
	refused(&np, "example.com", 443, "not in the allow-list");
	assert_int_equal(netpolicy_match(&np, "example.com", 443, NULL), -1);
	assert_int_equal(netpolicy_match(&np, NULL, 443, NULL), -1);
}

/* ---- Addresses after the lookup ---------------------------------------------------------------- */

static void test_internal_table(void **state)
{
	static const struct {
		const char *addr;
		bool internal;
	} t[] = {
		{ "127.0.0.1", true },
		{ "127.255.255.255", true },
		{ "126.255.255.255", false },
		{ "128.0.0.0", false },
		{ "10.0.0.1", true },
		{ "9.255.255.255", false },
		{ "11.0.0.0", false },
		{ "172.16.0.0", true },
		{ "172.31.255.255", true },
		{ "172.15.255.255", false },
		{ "172.32.0.0", false },
		{ "192.168.0.1", true },
		{ "192.167.255.255", false },
		{ "192.169.0.0", false },
		{ "100.64.0.0", true },
		{ "100.127.255.255", true },
		{ "100.63.255.255", false },
		{ "100.128.0.0", false },
		{ "169.254.169.254", true },
		{ "169.253.255.255", false },
		{ "169.255.0.0", false },
		{ "0.0.0.0", true },
		{ "0.255.255.255", true },
		{ "1.0.0.0", false },
		{ "224.0.0.1", true },
		{ "239.255.255.255", true },
		{ "223.255.255.255", false },
		{ "240.0.0.1", true },
		{ "255.255.255.255", true },
		{ "8.8.8.8", false },
		{ "93.184.216.34", false },
		{ "::1", true },
		{ "::", true },
		{ "::2", true },
		{ "::127.0.0.1", true }, /* IPv4-compatible */
		{ "::8.8.8.8", true },   /* all of ::/96 */
		{ "0:0:0:0:0:1::", false },
		{ "fe80::1", true },
		{ "febf:ffff::1", true },
		{ "fec0::1", true },
		{ "feff::1", true },
		{ "fe7f:ffff::1", false },
		{ "fc00::1", true },
		{ "fdff:ffff::1", true },
		{ "fbff:ffff::1", false },
		{ "fe00::1", false },
		{ "ff02::1", true },
		{ "ff00::", true },
		{ "2001:4860:4860::8888", false },
		{ "2606:4700::1111", false },
		{ "::ffff:127.0.0.1", true },
		{ "::ffff:10.1.1.1", true },
		{ "::ffff:169.254.169.254", true },
		{ "::ffff:8.8.8.8", false },
		{ "::ffff:0:127.0.0.1", true }, /* SIIT */
		{ "::ffff:0:8.8.8.8", false },
		{ "64:ff9b::127.0.0.1", true }, /* NAT64 */
		{ "64:ff9b::a9fe:a9fe", true },
		{ "64:ff9b::192.168.1.1", true },
		{ "64:ff9b::8.8.8.8", false },
		{ "64:ff9b:1::8.8.8.8", true }, /* local-use NAT64 */
		{ "2002:7f00:1::", true },      /* 6to4 of 127.0.0.1 */
		{ "2002:a00:1::1", true },
		{ "2002:808:808::1", false },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		if (internal(t[i].addr) != t[i].internal)
			print_error("%s: expected %s\n", t[i].addr, t[i].internal ? "internal" : "not internal");
		assert_int_equal(internal(t[i].addr), t[i].internal);
	}
	/* What is not an IP address at all counts as internal. */
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	assert_true(netpolicy_addr_is_internal((const struct sockaddr *)&un));
	assert_true(netpolicy_addr_is_internal(NULL));
}

static void test_addr_ok(void **state)
{
	struct netpolicy np = policy("*.example.com,intranet.example.com,10.0.0.0/8:*,localhost:8080,192.0.2.7,"
				     "2001:db8::/32");
	/* A wildcard reaches public addresses only, in any of their forms. */
	assert_true(addr_ok(&np, 0, "93.184.216.34"));
	assert_true(addr_ok(&np, 0, "2606:2800:220:1::"));
	assert_true(addr_ok(&np, 0, "::ffff:93.184.216.34"));
	assert_false(addr_ok(&np, 0, "127.0.0.1"));
	assert_false(addr_ok(&np, 0, "169.254.169.254"));
	assert_false(addr_ok(&np, 0, "::ffff:169.254.169.254"));
	assert_false(addr_ok(&np, 0, "64:ff9b::a9fe:a9fe"));
	assert_false(addr_ok(&np, 0, "10.1.2.3"));
	assert_false(addr_ok(&np, 0, "::1"));
	assert_false(addr_ok(&np, 0, "fd00::1"));
	assert_false(addr_ok(&np, 0, "0.0.0.0"));
	assert_false(addr_ok(&np, 0, "224.0.0.251"));
	/* An exact name was named on purpose: internal addresses too, but never link-local (metadata). */
	assert_true(addr_ok(&np, 1, "10.1.2.3"));
	assert_true(addr_ok(&np, 1, "127.0.0.1"));
	assert_true(addr_ok(&np, 1, "8.8.8.8"));
	assert_false(addr_ok(&np, 1, "169.254.169.254"));
	assert_false(addr_ok(&np, 1, "::ffff:169.254.169.254"));
	assert_false(addr_ok(&np, 1, "64:ff9b::a9fe:a9fe"));
	assert_false(addr_ok(&np, 1, "2002:a9fe:a9fe::1"));
	assert_false(addr_ok(&np, 1, "fe80::1"));
	assert_true(addr_ok(&np, 1, "fd00::1"));
	/* An address rule: only its own prefix, internal or not. */
	assert_true(addr_ok(&np, 2, "10.1.2.3"));
	assert_true(addr_ok(&np, 2, "::ffff:10.1.2.3"));
	assert_false(addr_ok(&np, 2, "11.0.0.1"));
	assert_false(addr_ok(&np, 2, "127.0.0.1"));
	assert_false(addr_ok(&np, 2, "::1"));
	assert_true(addr_ok(&np, 4, "192.0.2.7"));
	assert_false(addr_ok(&np, 4, "192.0.2.8"));
	assert_true(addr_ok(&np, 5, "2001:db8:ffff::1"));
	assert_false(addr_ok(&np, 5, "2001:db9::1"));
	assert_false(addr_ok(&np, 5, "192.0.2.7"));
	/* localhost: loopback only. */
	assert_true(addr_ok(&np, 3, "127.0.0.1"));
	assert_true(addr_ok(&np, 3, "127.0.1.1"));
	assert_true(addr_ok(&np, 3, "::1"));
	assert_true(addr_ok(&np, 3, "::ffff:127.0.0.1"));
	assert_false(addr_ok(&np, 3, "10.0.0.1"));
	assert_false(addr_ok(&np, 3, "0.0.0.0"));
	assert_false(addr_ok(&np, 3, "::"));
	assert_false(addr_ok(&np, 3, "8.8.8.8"));
	assert_false(addr_ok(&np, 3, "64:ff9b::7f00:1"));
	/* No such rule, no address. */
	struct sockaddr_storage ss;
	const char *why = NULL;
	assert_false(netpolicy_addr_ok(&np, -1, sa_of(&ss, "8.8.8.8"), &why));
	assert_non_null(why);
	assert_false(netpolicy_addr_ok(&np, (int)np.n, sa_of(&ss, "8.8.8.8"), &why));
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	why = NULL;
	assert_false(netpolicy_addr_ok(&np, 1, (const struct sockaddr *)&un, &why));
	assert_non_null(why);
	netpolicy_release(&np);
}

/* ---- Presets ----------------------------------------------------------------------------------- */

static void test_presets_parse(void **state)
{
	struct np_presets p = { 0 };
	presets_from(&p, "# a comment\n"
			 "\n"
			 "[one]   # trailing comment\n"
			 "  a.example ,b.example,, \r\n"
			 "c.example # c\n"
			 "[2001:db8::1]:22\n"
			 "[ Two.x-y_z ]\n"
			 "[empty]\n"
			 "[one]\n"
			 "d.example"); /* no final newline */
	assert_int_equal(p.n, 3);
	assert_string_equal(p.v[0].name, "one");
	assert_string_equal(p.v[0].source, "test");
	/* The later [one] replaced the first. */
	assert_int_equal(strv_len(p.v[0].patterns), 1);
	assert_string_equal(p.v[0].patterns[0], "d.example");
	assert_string_equal(p.v[1].name, "Two.x-y_z");
	assert_non_null(p.v[1].patterns);
	assert_null(p.v[1].patterns[0]);
	assert_string_equal(p.v[2].name, "empty");
	np_presets_release(&p);
	assert_int_equal(p.n, 0);

	presets_from(&p, "[one]\n a.example ,b.example,, \r\nc.example # c\n[2001:db8::1]:22\n");
	char **v = p.v[0].patterns;
	assert_int_equal(strv_len(v), 4);
	assert_string_equal(v[0], "a.example");
	assert_string_equal(v[1], "b.example");
	assert_string_equal(v[2], "c.example");
	assert_string_equal(v[3], "[2001:db8::1]:22");

	/* Errors: AJ_ERR_FAIL with the source and line, and p as it was. */
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "a.example\n", "test:1: 'a.example' comes before the first [NAME] line" },
		{ "# c\n\n[ok]\nx\n[bad name]\n", "test:5: '[bad name]' is not a preset name" },
		{ "[npm\n", "test:1: '[npm' is not a preset name" },
		{ "[]\n", "is not a preset name" },
		{ "[a]b\n", "is not a preset name" },
		{ "[a/b]\n", "is not a preset name" },
		{ "[ok]\n[x] y\n", "test:2:" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct aj_err err = { 0 };
		assert_int_equal(np_presets_parse(&p, bad[i].text, "test", &err), -1);
		assert_int_equal(err.kind, AJ_ERR_FAIL);
		if (!strstr(err.msg, bad[i].want))
			print_error("\"%s\" lacks \"%s\"\n", err.msg, bad[i].want);
		assert_non_null(strstr(err.msg, bad[i].want));
		assert_int_equal(p.n, 1);
		assert_string_equal(p.v[0].name, "one");
		assert_int_equal(strv_len(p.v[0].patterns), 4);
	}
	np_presets_release(&p);
}

static void test_presets_shipped(void **state)
{
	struct np_presets p = { 0 };
	struct aj_err err = { 0 };
	assert_int_equal(np_presets_parse(&p, netpolicy_shipped_presets(), "shipped", &err), 0);
	const char *want[] = { "claude", "codex", "npm", "pypi", "github", "debian" };
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		bool found = false;
		for (size_t j = 0; j < p.n; j++)
			found |= strcmp(p.v[j].name, want[i]) == 0;
		if (!found)
			print_error("no shipped preset '%s'\n", want[i]);
		assert_true(found);
	}
	/* Every shipped preset expands, and holds no pattern a user could not have written. */
	for (size_t j = 0; j < p.n; j++) {
		cleanup_free char *ref = xasprintf("@%s", p.v[j].name);
		struct netpolicy np = policy_with(ref, &p);
		assert_true(np.n > 0);
		for (size_t k = 0; k < np.n; k++)
			assert_string_equal(np.rules[k].preset, p.v[j].name);
		netpolicy_release(&np);
	}
	struct netpolicy np = policy_with("@claude,@github", &p);
	allowed(&np, "api.anthropic.com", 443, 0);
	refused(&np, "anthropic.com", 443, "not in the allow-list");
	int gh = netpolicy_match(&np, "github.com", 22, NULL);
	assert_true(gh >= 0);
	assert_string_equal(np.rules[gh].preset, "github");
	assert_true(netpolicy_match(&np, "raw.githubusercontent.com", 443, NULL) >= 0);
	assert_true(netpolicy_match(&np, "ssh.github.com", 443, NULL) >= 0);
	assert_int_equal(netpolicy_match(&np, "ssh.github.com", 22, NULL), -1);
	cleanup_free char *d = netpolicy_describe(&np);
	assert_string_equal(d, "@claude, @github");
	netpolicy_release(&np);
	np_presets_release(&p);
}

static void test_presets_expand(void **state)
{
	struct np_presets p = { 0 };
	presets_from(&p, "[outer]\nouter.example, @inner\n"
			 "[inner]\ninner.example:8080\n@leaf, outer.example\n"
			 "[leaf]\n10.0.0.0/8\n"
			 "[empty]\n");
	struct netpolicy np = policy_with("first.example,@Outer,@empty", &p);
	assert_int_equal(np.n, 4);
	assert_null(np.rules[0].preset);
	assert_string_equal(np.rules[1].text, "outer.example");
	assert_string_equal(np.rules[2].text, "inner.example:8080");
	assert_string_equal(np.rules[3].text, "10.0.0.0/8");
	for (size_t i = 1; i < 4; i++) /* shown under the preset the user named */
		assert_string_equal(np.rules[i].preset, "outer");
	allowed(&np, "inner.example", 8080, 2);
	netpolicy_release(&np);
	np = policy_with("@inner", &p);
	assert_string_equal(np.rules[0].preset, "inner");
	netpolicy_release(&np);

	expect_error_with("@nosuch", &p, "--allow-net: no preset named 'nosuch' (presets: outer, inner, leaf, empty; "
					 "add your own in ~/.config/ajail/net-presets)",
			  NULL);
	expect_error_with("@nosuch", NULL, "no preset named 'nosuch' (presets: none", NULL);
	expect_error_with("@", &p, "'@' is not a pattern", NULL);
	expect_error_with("@a b", &p, "'@a b' is not a pattern", NULL);
	expect_error_with("@outer:443", &p, "is not a pattern", NULL);
	np_presets_release(&p);

	/* Inside a preset, errors name the preset and where it came from. */
	presets_from(&p, "[bad]\nok.example\nexa mple\n[ref]\n@missing\n");
	expect_error_with("@bad", &p, "preset 'bad' (test): 'exa mple' is not a pattern", NULL);
	expect_error_with("@ref", &p, "preset 'ref' (test): no preset named 'missing'", NULL);
	np_presets_release(&p);

	/* Cycles, direct and indirect, and depth. */
	presets_from(&p, "[self]\n@self\n[a]\na.example,@b\n[b]\n@c\n[c]\n@a\n");
	expect_error_with("@self", &p, "preset 'self' includes itself (@self -> @self)", NULL);
	expect_error_with("@a", &p, "preset 'a' includes itself (@a -> @b -> @c -> @a)", NULL);
	expect_error_with("@b", &p, "(@b -> @c -> @a -> @b)", NULL);
	np_presets_release(&p);
	presets_from(&p, "[d1]\n@d2\n[d2]\n@d3\n[d3]\n@d4\n[d4]\n@d5\n[d5]\n@d6\n[d6]\n@d7\n[d7]\n@d8\n"
			 "[d8]\nd8.example\n[d0]\n@d1\n");
	np = policy_with("@d1", &p); /* 8 deep: fine */
	assert_int_equal(np.n, 1);
	assert_string_equal(np.rules[0].preset, "d1");
	netpolicy_release(&np);
	expect_error_with("@d0", &p, "nested more than 8 deep", NULL);
	np_presets_release(&p);
}

static void test_presets_user_overrides_shipped(void **state)
{
	struct np_presets p = { 0 };
	struct aj_err err = { 0 };
	assert_int_equal(np_presets_parse(&p, netpolicy_shipped_presets(), "shipped", &err), 0);
	size_t shipped = p.n;
	assert_int_equal(np_presets_parse(&p, "[NPM]\nnpm.internal.example\n[mine]\n@npm, mine.example\n",
					  "/home/u/.config/ajail/net-presets", &err),
			 0);
	assert_int_equal(p.n, shipped + 1);
	struct netpolicy np = policy_with("@npm", &p);
	assert_int_equal(np.n, 1);
	assert_string_equal(np.rules[0].text, "npm.internal.example");
	refused(&np, "registry.npmjs.org", 443, "not in the allow-list");
	netpolicy_release(&np);
	np = policy_with("@mine", &p);
	assert_int_equal(np.n, 2);
	netpolicy_release(&np);
	/* A bad user file changes nothing, and says where. */
	assert_int_equal(np_presets_parse(&p, "[npm]\nx.example\n[oops\n", "/home/u/.config/ajail/net-presets", &err),
			 -1);
	assert_non_null(strstr(err.msg, "/home/u/.config/ajail/net-presets:3:"));
	np = policy_with("@npm", &p);
	assert_string_equal(np.rules[0].text, "npm.internal.example");
	netpolicy_release(&np);
	/* Errors inside a user preset name its file. */
	assert_int_equal(np_presets_parse(&p, "[broken]\n*.com\n", "/home/u/.config/ajail/net-presets", &err), 0);
	expect_error_with("@broken", &p, "preset 'broken' (/home/u/.config/ajail/net-presets): '*.com' is too broad",
			  NULL);
	np_presets_release(&p);
}

static void test_describe(void **state)
{
	struct np_presets p = { 0 };
	presets_from(&p, "[npm]\nregistry.npmjs.org, *.npmjs.org, @sub\n[sub]\nsub.example\n");
	struct netpolicy np = policy_with("api.example.com, @npm, 10.1.0.0/16:22, [2001:db8::1]:443, @sub", &p);
	cleanup_free char *d = netpolicy_describe(&np);
	/* @sub's rule came first under @npm, so it is a duplicate and @sub adds nothing to show. */
	assert_string_equal(d, "api.example.com, @npm, 10.1.0.0/16:22, [2001:db8::1]:443");
	netpolicy_release(&np);

	np = policy_with("registry.npmjs.org,@npm", &p);
	cleanup_free char *d2 = netpolicy_describe(&np);
	assert_string_equal(d2, "registry.npmjs.org, @npm");
	netpolicy_release(&np);

	np = (struct netpolicy){ 0 };
	cleanup_free char *d3 = netpolicy_describe(&np);
	assert_string_equal(d3, "");
	np_presets_release(&p);
}

static void check_suggest(const char *host, uint16_t port, const char *want)
{
	char *got = netpolicy_suggest(host, port);
	if (want)
		assert_string_equal(got, want);
	else
		assert_null(got);
	free(got);
}

/* The pattern a refusal offers: the one that would let the request through. */
static void test_suggest(void **state)
{
	(void)state;
	check_suggest("example.com", 443, "example.com");
	check_suggest("example.com", 80, "example.com");
	check_suggest("example.com", 8080, "example.com:8080");
	check_suggest("192.0.2.7", 22, "192.0.2.7:22");
	check_suggest("2001:db8::1", 443, "2001:db8::1");
	check_suggest("2001:db8::1", 22, "[2001:db8::1]:22");
	check_suggest("localhost", 5432, "localhost:5432");
	check_suggest("127.0.0.1", 80, "localhost:80");
	check_suggest("::1", 3000, "localhost:3000");
	check_suggest("127.1", 80, NULL);
	check_suggest("0x7f.1", 80, NULL);
	check_suggest("exa mple.com", 80, NULL);
	/* Each suggestion, taken as a pattern, lets the request through. */
	static const struct {
		const char *host;
		uint16_t port;
	} cases[] = { { "example.com", 8080 }, { "2001:db8::1", 22 }, { "192.0.2.7", 443 }, { "localhost", 5432 } };
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *pat = netpolicy_suggest(cases[i].host, cases[i].port);
		struct netpolicy np = policy(pat);
		const char *why;
		assert_true(netpolicy_match(&np, cases[i].host, cases[i].port, &why) >= 0);
		netpolicy_release(&np);
		free(pat);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_suggest),
		cmocka_unit_test(test_pattern_forms),
		cmocka_unit_test(test_pattern_canonical_text),
		cmocka_unit_test(test_pattern_errors),
		cmocka_unit_test(test_list_syntax),
		cmocka_unit_test(test_match_exact_name),
		cmocka_unit_test(test_match_wildcard_boundaries),
		cmocka_unit_test(test_match_exact_beats_wildcard),
		cmocka_unit_test(test_match_ports),
		cmocka_unit_test(test_match_odd_ipv4),
		cmocka_unit_test(test_match_ip_literals),
		cmocka_unit_test(test_match_cidr_edges),
		cmocka_unit_test(test_match_localhost),
		cmocka_unit_test(test_match_empty_policy),
		cmocka_unit_test(test_internal_table),
		cmocka_unit_test(test_addr_ok),
		cmocka_unit_test(test_presets_parse),
		cmocka_unit_test(test_presets_shipped),
		cmocka_unit_test(test_presets_expand),
		cmocka_unit_test(test_presets_user_overrides_shipped),
		cmocka_unit_test(test_describe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
