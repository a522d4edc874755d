/* netpolicy.h — the --allow-net allow-list: patterns, named presets, and the two decisions the
 * proxy makes for every connection (the name before any DNS lookup, then each address it resolved
 * to). Pure: no syscalls at all; preset files are read by the caller and handed over as text.
 *
 * A PATTERN is one of
 *   example.com          that host (ports 80 and 443 when no :PORT is given)
 *   *.example.com        its subdomains at any depth, not example.com itself
 *   HOST:PORT            either of the above on that port only ("*" as PORT: any port)
 *   192.0.2.7, 2001:db8::1, [2001:db8::1]:22, 10.0.0.0/8, fd00::/8   an address or a CIDR
 *                        (an IPv6 address with a port is written in brackets)
 *   localhost:PORT       that port on the host's loopback (a number is required: no "*")
 *   @NAME                every pattern of the preset NAME
 * Names are compared case-insensitively, without a trailing dot. A wildcard needs at least two
 * labels after "*." ("*.com" is refused, as is "*" alone). An IPv4 address is four decimal numbers:
 * whatever else inet_aton() takes ("127.1", "0x7f.0.0.1", "2130706433"), and any name whose last
 * label is a number, is refused as a pattern and as a host. An IPv4-mapped IPv6 address
 * (::ffff:1.2.3.4, or ::ffff:0:0/96 and longer prefixes) is the IPv4 address. A CIDR's host bits
 * are cleared (10.1.2.3/8 is 10.0.0.0/8). */
#ifndef AJAIL_NETPOLICY_H
#define AJAIL_NETPOLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "error.h"

enum np_kind {
	NP_HOST,      /* exactly host */
	NP_WILDCARD,  /* strict subdomains of host */
	NP_ADDR,      /* an IP address or CIDR (prefix == full length for a single address) */
	NP_LOCALHOST, /* localhost:PORT: the host's 127.0.0.1 (or ::1) on port */
};

struct np_rule {
	enum np_kind kind;
	char *host;       /* NP_HOST, NP_WILDCARD: lower case, no "*." and no trailing dot; else NULL */
	int family;       /* NP_ADDR: AF_INET or AF_INET6 */
	uint8_t addr[16]; /* NP_ADDR: network order, host bits zeroed */
	unsigned prefix;  /* NP_ADDR: 0..32 or 0..128 */
	uint16_t port;    /* 0: the default ports 80 and 443 */
	bool any_port;    /* ":*" was written */
	char *text;       /* the pattern as it reads in logs: "*.npmjs.org:443" (canonical form) */
	char *preset;     /* "npm" when it came from @npm, else NULL */
};

/* A preset library: name -> list of patterns (as text; validated when expanded). The shipped
 * presets are parsed first, then the user's file: a user preset of the same name replaces the
 * shipped one. Names are compared case-insensitively. A zeroed struct is an empty library. */
struct np_presets {
	struct np_preset {
		char *name;
		char **patterns; /* NULL-terminated, as written (may hold @OTHER) */
		char *source;    /* "shipped" or the file it came from, for messages */
	} *v;
	size_t n;
};

struct netpolicy {
	struct np_rule *rules;
	size_t n;
};

/* The presets that ship with ajail (share/net-presets, compiled in). */
const char *netpolicy_shipped_presets(void);

/* Parse a presets text into p (adding, a later definition of a name replacing an earlier one).
 * Format, one preset per section:
 *     # comment
 *     [npm]
 *     registry.npmjs.org
 *     *.npmjs.org, registry.yarnpkg.com      (commas or newlines separate)
 * A name is letters, digits, '-', '_' and '.'; a line starting with '[' that holds a ':' is a
 * pattern ("[2001:db8::1]:22"), not a section. A section given twice counts once, the later one.
 * source names the text in errors ("~/.config/ajail/net-presets:12: ..."). Fills err (AJ_ERR_FAIL)
 * on a malformed line, and then leaves p as it was; patterns themselves are checked when expanded. */
int np_presets_parse(struct np_presets *p, const char *text, const char *source, struct aj_err *err);
void np_presets_release(struct np_presets *p);

/* Add the comma-separated patterns of one --allow-net value to np, expanding @NAME through presets
 * (nested presets allowed, cycles and depth beyond 8 refused; presets may be NULL). Spaces around a
 * pattern are dropped; an empty pattern is refused, except after a trailing comma. Duplicates (same
 * canonical text) are kept once, the first. A rule from a preset records the preset named in list.
 * Fills err with AJ_ERR_USAGE naming the bad pattern and what a good one looks like, and then
 * leaves np as it was. A zeroed struct netpolicy is an empty one. */
int netpolicy_add(struct netpolicy *np, const char *list, const struct np_presets *presets, struct aj_err *err);
void netpolicy_release(struct netpolicy *np);

/* The decision on a name, made before any lookup. host is what the client asked for: a name, or an
 * IP literal (IPv6 without brackets). Returns the index of the rule that allows (host, port): the
 * first one other than a wildcard, else the first wildcard (an exact rule is the one that may reach
 * an internal address, see netpolicy_addr_ok). Otherwise -1 with *reason set to a static string
 * ("not in the allow-list", "port not allowed for this host", "an IP address needs an address
 * rule", "an address in an unusual form", "an IPv6 address with a zone", "not a valid host name",
 * ...). An IP literal matches only NP_ADDR rules, and NP_LOCALHOST rules when it is 127.0.0.1 or
 * ::1; the name "localhost" matches only NP_LOCALHOST rules. Port 0 never matches. */
int netpolicy_match(const struct netpolicy *np, const char *host, uint16_t port, const char **reason);

/* The decision on one address a name resolved to (or the literal itself), for the rule that
 * matched: a loopback, link-local (169.254/16, fe80::/10), private (10/8, 172.16/12, 192.168/16,
 * fc00::/7, 100.64/10), unspecified, multicast or broadcast address, or an IPv4-mapped IPv6 form of
 * one, is allowed only for an NP_HOST, NP_ADDR or NP_LOCALHOST rule: a wildcard can never be
 * rebound onto the host's services or cloud metadata. Also internal: the rest of 0/8 and 240/4,
 * fec0::/10, all of ::/96 (IPv4-compatible), and the NAT64 (64:ff9b::/96), SIIT (::ffff:0:0:0/96)
 * and 6to4 (2002::/16) forms of an internal IPv4 address, 64:ff9b:1::/48 whole. An NP_ADDR rule
 * allows only addresses inside its own prefix; an NP_LOCALHOST rule only loopback (127/8, ::1); an
 * NP_HOST rule anything but link-local (169.254/16, fe80::/10, in any form): the metadata service
 * is reached by an address rule or not at all.
 * false with *reason set (static) otherwise, and for a rule index out of range. */
bool netpolicy_addr_ok(const struct netpolicy *np, int rule, const struct sockaddr *sa, const char **reason);

/* Whether sa is one of the special addresses above (for logs and for the check); true for anything
 * that is not AF_INET or AF_INET6. */
bool netpolicy_addr_is_internal(const struct sockaddr *sa);

/* The pattern that would let a refused request for (host, port) through, as a user would write it
 * ("example.com" for ports 80 and 443, "example.com:8080", "[2001:db8::1]:22", "localhost:5432"); NULL
 * when no pattern can hold host (an address in an unusual form, not a valid name). Caller frees. */
char *netpolicy_suggest(const char *host, uint16_t port);

/* One line for the status block and --dry-run: "api.anthropic.com, @npm, 10.0.0.0/8:22" — rules in
 * order, canonical text, a preset's rules shown once as its name where its first rule is. "" for an
 * empty policy. Caller frees. */
char *netpolicy_describe(const struct netpolicy *np);

#endif
