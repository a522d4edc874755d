/* proxy.c — ajail's filtering proxy for --allow-net, and --publish (see proxy.h).
 *
 * One process, forked by the supervisor, in the host's network namespace. Its main thread accepts
 * on the listening sockets and starts a thread per connection; the thread reads the request with
 * a deadline, decides on the name before any lookup, resolves, decides on each address, connects,
 * and relays both directions with splice (a second thread for the way back). Threads, not an event
 * loop: getaddrinfo blocks, and a blocking relay through a pipe is the cheapest copy there is.
 * Memory stays small because a connection holds no buffer while it relays: the request head and
 * the ClientHello are read into memory that is freed before the relay starts. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fdpass.h"
#include "harden.h"
#include "lazy_ssl.h"
#include "netpolicy.h"
#include "output.h"
#include "proxy.h"
#include "proxy_wire.h"
#include "util.h"

/* A client has this long to send its whole request (a slow one is cut off: it holds a thread). */
#define HANDSHAKE_MS 30000
/* ...and this long to start TLS once a tunnel is open, when the proxy looks for the server name. */
#define SNI_MS 10000
#define CONNECT_MS 10000
/* How long a plain-HTTP client's kept-alive connection may sit between requests with nothing
 * moving either way (an answer still coming back is not idleness: a download may take hours). */
#define KEEPALIVE_IDLE_MS 60000
/* The largest ClientHello looked at: one TLS record. */
#define SNI_MAX (5 + 16384)
#define MAX_GATES (sizeof ((struct plan_net *)0)->keygate / sizeof ((struct plan_net *)0)->keygate[0])
#define MAX_PORTS (2 + PLAN_NET_PORTS_MAX + MAX_GATES)
/* How long a keygate's request may go with nothing moving either way: an API may think for
 * minutes before its first byte (Anthropic's and OpenAI's SDKs wait ten). */
#define KEYGATE_IDLE_MS 600000
/* A keygate connection's buffer each way while it relays (TLS cannot splice). */
#define KEYGATE_BUF 16384

enum via { VIA_CONNECT, VIA_HTTP, VIA_SOCKS, VIA_FORWARD, VIA_PUBLISH, VIA_KEYGATE };
static const char *const via_names[] = { "http-connect", "http", "socks5", "forward", "publish", "keygate" };

/* A keygate as the proxy runs it: the upstream parsed, the key from the proxy's own environment
 * (never from the plan, never written anywhere but to the upstream). */
struct gate {
	struct wire_url up;
	const char *header;
	const char *key;
	char rule[80]; /* "keygate ANTHROPIC_API_KEY", for the log and -v */
};

struct conn {
	enum via via;
	int c;                 /* the client: the jail's side (the host's for VIA_PUBLISH) */
	int s;                 /* the server, once connected */
	uint16_t target_port;  /* VIA_FORWARD, VIA_PUBLISH: the port connected to */
	size_t gate;           /* VIA_KEYGATE: which */
	char host[WIRE_HOST_MAX + 1];
	uint16_t port;
	char addr[INET6_ADDRSTRLEN];
	const char *rule;      /* the rule that allowed it (plan memory) */
	const char *reason;    /* why it was refused or failed (static) */
	char reason_buf[160];
	bool allowed, logged_decision;
	uint64_t out, in;      /* bytes client -> server, server -> client */
	struct timespec t0;
};

static struct {
	const struct plan_net *net;
	int log_fd;
	int verbose;
	bool crlf;
	int maker; /* the jail's socket maker (--publish), -1 */
	pthread_mutex_t mu;
	pthread_mutex_t maker_mu;
	unsigned active;
	unsigned max_conns; /* PROXY_MAX_CONNS, or fewer when the fd limit cannot hold that many */
	unsigned long allowed, denied, failed, published;
	char *hosts[64];
	unsigned host_conns[64]; /* allowed connections per remembered host */
	size_t n_hosts;
	unsigned long more_hosts;
	char *denied_names[6];
	size_t n_denied_names;
	bool more_denied;
	struct gate gates[MAX_GATES];
	SSL_CTX *tls; /* for https:// keygates */
} g = { .log_fd = -1, .maker = -1, .mu = PTHREAD_MUTEX_INITIALIZER, .maker_mu = PTHREAD_MUTEX_INITIALIZER };

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* A refused name for the summary: the first few distinct ones. Under g.mu. */
static void remember_denied(const char *name)
{
	for (size_t i = 0; i < g.n_denied_names; i++)
		if (strcmp(g.denied_names[i], name) == 0)
			return;
	if (g.n_denied_names < sizeof g.denied_names / sizeof g.denied_names[0])
		g.denied_names[g.n_denied_names++] = xstrdup(name);
	else
		g.more_denied = true;
}

/* An allowed connection to host (+1), or one taken back by the server name check (-1): the summary
 * counts the hosts that had at least one. Under g.mu. */
static void count_host(const char *host, int delta)
{
	for (size_t i = 0; i < g.n_hosts; i++)
		if (strcmp(g.hosts[i], host) == 0) {
			g.host_conns[i] += (unsigned)delta;
			if (g.host_conns[i] == 0) {
				free(g.hosts[i]);
				g.n_hosts--;
				g.hosts[i] = g.hosts[g.n_hosts];
				g.host_conns[i] = g.host_conns[g.n_hosts];
			}
			return;
		}
	if (delta < 0)
		return;
	if (g.n_hosts < sizeof g.hosts / sizeof g.hosts[0]) {
		g.hosts[g.n_hosts] = xstrdup(host);
		g.host_conns[g.n_hosts++] = 1;
	} else {
		g.more_hosts++;
	}
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line - 3, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof line - 4)
		n = (int)(sizeof line - 4);
	if (g.crlf)
		line[n++] = '\r';
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, (size_t)n);
}

/* The decision, once, as it is made: -v prints it; the counts feed the summary. */
static void decided(struct conn *cn)
{
	if (cn->logged_decision)
		return;
	cn->logged_decision = true;
	cleanup_free char *host = util_escape(cn->host);
	pthread_mutex_lock(&g.mu);
	if (cn->via == VIA_PUBLISH)
		g.published++;
	else if (cn->allowed)
		g.allowed++, count_host(host, 1);
	else if (cn->s < 0 && cn->rule)
		g.failed++;
	else
		g.denied++, remember_denied(host);
	pthread_mutex_unlock(&g.mu);
	if (!g.verbose || cn->via == VIA_PUBLISH)
		return;
	if (cn->allowed)
		say("ajail: net: allow %s:%u via %s (%s, %s)", host, cn->port, cn->addr, cn->rule ? cn->rule : "?",
		    via_names[cn->via]);
	else
		say("ajail: net: %s %s:%u: %s (%s)", cn->rule ? "failed" : "deny", host, cn->port,
		    cn->reason ? cn->reason : "refused", via_names[cn->via]);
}

/* A tunnel closed by the server name check: counted as refused after all. */
static void sni_refused(struct conn *cn)
{
	cleanup_free char *host = util_escape(cn->host);
	cn->allowed = false;
	cn->rule = NULL;
	pthread_mutex_lock(&g.mu);
	g.allowed--;
	count_host(host, -1);
	g.denied++;
	remember_denied(host);
	pthread_mutex_unlock(&g.mu);
	if (g.verbose)
		say("ajail: net: closed %s:%u: %s (%s)", host, cn->port, cn->reason, via_names[cn->via]);
}

/* One JSON line per connection attempt, written when it ends (so it has the byte counts). */
static void log_conn(struct conn *cn)
{
	decided(cn);
	if (g.log_fd < 0)
		return;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct tm tm;
	gmtime_r(&now.tv_sec, &tm);
	char when[40];
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return;
	fprintf(f, "{\"time\": \"%s.%03ldZ\", \"via\": \"%s\", \"host\": ", when, now.tv_nsec / 1000000,
		via_names[cn->via]);
	output_json_string(f, cn->host);
	fprintf(f, ", \"port\": %u, \"address\": ", cn->port);
	if (cn->addr[0])
		output_json_string(f, cn->addr);
	else
		fputs("null", f);
	fprintf(f, ", \"decision\": \"%s\", \"rule\": ", cn->allowed ? "allow" : cn->rule ? "failed" : "deny");
	if (cn->rule)
		output_json_string(f, cn->rule);
	else
		fputs("null", f);
	fputs(", \"reason\": ", f);
	if (cn->reason)
		output_json_string(f, cn->reason);
	else
		fputs("null", f);
	fprintf(f, ", \"bytes_out\": %llu, \"bytes_in\": %llu, \"duration_ms\": %ld}\n", (unsigned long long)cn->out,
		(unsigned long long)cn->in, elapsed_ms(&cn->t0));
	if (fclose(f) == 0 && text) {
		pthread_mutex_lock(&g.mu);
		(void)write_all(g.log_fd, text, len); /* O_APPEND, one write: lines never interleave */
		pthread_mutex_unlock(&g.mu);
	}
	free(text);
}

/* recv with the connection's handshake deadline (SO_RCVTIMEO bounds each wait; this, the sum). */
static ssize_t recv_deadline(struct conn *cn, void *buf, size_t n, long budget_ms)
{
	for (;;) {
		long left = budget_ms - elapsed_ms(&cn->t0);
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		struct pollfd p = { .fd = cn->c, .events = POLLIN };
		int r = poll(&p, 1, (int)(left > 1000 ? 1000 : left));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			continue;
		ssize_t got = recv(cn->c, buf, n, MSG_DONTWAIT);
		if (got < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		return got;
	}
}

static void http_refuse(struct conn *cn, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void http_refuse(struct conn *cn, int status, const char *fmt, ...)
{
	char text[512], out[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	size_t n = wire_http_error(status, text, out, sizeof out);
	(void)write_all(cn->c, out, n);
}

/* Connect to one address within CONNECT_MS. */
static int connect_one(const struct sockaddr *sa, socklen_t salen, int *err)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		*err = errno;
		return -1;
	}
	if (connect(fd, sa, salen) < 0 && errno != EINPROGRESS) {
		*err = errno;
		close(fd);
		return -1;
	}
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int r;
	do
		r = poll(&p, 1, CONNECT_MS);
	while (r < 0 && errno == EINTR);
	int soerr = 0;
	socklen_t sl = sizeof soerr;
	if (r <= 0) {
		*err = r == 0 ? ETIMEDOUT : errno;
		close(fd);
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
		*err = soerr ? soerr : errno;
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static void addr_text(const struct sockaddr *sa, char out[INET6_ADDRSTRLEN])
{
	const void *a = sa->sa_family == AF_INET ? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
						 : (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (!inet_ntop(sa->sa_family, a, out, INET6_ADDRSTRLEN))
		snprintf(out, INET6_ADDRSTRLEN, "?");
}

enum up { UP_OK, UP_DENY, UP_RESOLVE, UP_CONNECT };

/* The policy, then the connection: the name is checked before it is looked up (a lookup is a
 * channel out too), then every address it resolved to. */
static enum up open_upstream(struct conn *cn, int *err)
{
	const struct netpolicy *np = &g.net->policy;
	const char *reason = NULL;
	int ri = netpolicy_match(np, cn->host, cn->port, &reason);
	if (ri < 0) {
		cn->reason = reason ? reason : "not in the allow-list";
		return UP_DENY;
	}
	const struct np_rule *r = &np->rules[ri];
	cn->rule = r->text;
	struct sockaddr_storage lit;
	memset(&lit, 0, sizeof lit);
	struct sockaddr_in *v4 = (struct sockaddr_in *)&lit;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&lit;
	struct addrinfo one = { .ai_socktype = SOCK_STREAM, .ai_addr = (struct sockaddr *)&lit }, *res = NULL, *list = &one;
	if (r->kind == NP_LOCALHOST && strcmp(cn->host, "::1") != 0) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(cn->port);
		v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		one.ai_family = AF_INET;
		one.ai_addrlen = sizeof *v4;
	} else if (inet_pton(AF_INET, cn->host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(cn->port);
		one.ai_family = AF_INET;
		one.ai_addrlen = sizeof *v4;
	} else if (inet_pton(AF_INET6, cn->host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(cn->port);
		one.ai_family = AF_INET6;
		one.ai_addrlen = sizeof *v6;
	} else {
		char port[8];
		snprintf(port, sizeof port, "%u", cn->port);
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG };
		int e = getaddrinfo(cn->host, port, &hints, &res);
		if (e != 0) {
			snprintf(cn->reason_buf, sizeof cn->reason_buf, "cannot resolve: %s",
				 e == EAI_SYSTEM ? strerror(errno) : gai_strerror(e));
			cn->reason = cn->reason_buf;
			return UP_RESOLVE;
		}
		list = res;
	}
	enum up ret = UP_DENY;
	*err = 0;
	for (struct addrinfo *a = list; a; a = a->ai_next) {
		if (a->ai_family != AF_INET && a->ai_family != AF_INET6)
			continue;
		char text[INET6_ADDRSTRLEN];
		addr_text(a->ai_addr, text);
		const char *why = NULL;
		if (!netpolicy_addr_ok(np, ri, a->ai_addr, &why)) {
			if (ret == UP_DENY) {
				snprintf(cn->addr, sizeof cn->addr, "%s", text);
				cn->reason = why ? why : "address refused";
			}
			continue;
		}
		snprintf(cn->addr, sizeof cn->addr, "%s", text);
		int fd = connect_one(a->ai_addr, a->ai_addrlen, err);
		if (fd >= 0) {
			cn->s = fd;
			ret = UP_OK;
			break;
		}
		ret = UP_CONNECT;
		snprintf(cn->reason_buf, sizeof cn->reason_buf, "connect: %s", strerror(*err));
		cn->reason = cn->reason_buf;
	}
	if (res)
		freeaddrinfo(res);
	if (ret == UP_DENY)
		cn->rule = NULL; /* refused by the address check: a denial, not a failure */
	return ret;
}

/* ---- the relay ---- */

/* A relay's pipe is charged to its user's pipe buffer allowance (fs.pipe-user-pages-soft, 64 MiB by
 * default, shared by all the user's pipes on the host): 512 connections with two 64 KiB pipes each
 * would take all of it, and every pipe the user made elsewhere meanwhile would get 8 KiB. Past
 * the first 128 connections at once, a relay's pipes hold 16 KiB: together at most 28 MiB. */
#define PIPE_FULL_CONNS 128
#define PIPE_SMALL (16 * 1024)

/* Move bytes from one socket to the other through a pipe: until EOF (0), until limit bytes have
 * moved (1), or an error (-1). */
static int pump(int from, int to, uint64_t limit, uint64_t *count)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pthread_mutex_lock(&g.mu);
	bool crowded = g.active > PIPE_FULL_CONNS;
	pthread_mutex_unlock(&g.mu);
	size_t chunk = 1 << 16;
	if (crowded && fcntl(pfd[1], F_SETPIPE_SZ, PIPE_SMALL) >= 0)
		chunk = PIPE_SMALL;
	int rc = 1;
	while (limit > 0 && rc == 1) {
		ssize_t n = splice(from, NULL, pfd[1], NULL, limit < chunk ? (size_t)limit : chunk, SPLICE_F_MOVE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -1 : 0;
			break;
		}
		limit -= (uint64_t)n;
		while (n > 0) {
			ssize_t m = splice(pfd[0], NULL, to, NULL, (size_t)n, SPLICE_F_MOVE);
			if (m < 0 && errno == EINTR)
				continue;
			if (m <= 0) {
				rc = -1;
				break;
			}
			n -= m;
			__atomic_fetch_add(count, (uint64_t)m, __ATOMIC_RELAXED); /* read by the other way's thread */
		}
	}
	close(pfd[0]);
	close(pfd[1]);
	return rc;
}

static void *pump_back(void *arg)
{
	struct conn *cn = arg;
	if (pump(cn->s, cn->c, UINT64_MAX, &cn->in) < 0) {
		shutdown(cn->c, SHUT_RDWR);
		shutdown(cn->s, SHUT_RDWR);
	} else {
		shutdown(cn->c, SHUT_WR);
	}
	return NULL;
}

/* With the server name check: hold the client's first bytes until they show whether a TLS
 * ClientHello is starting, and whose. Its server name must be the host asked for: otherwise an
 * allowed name could front for any other at the same address (one CDN, many customers). Other
 * protocols (ssh through CONNECT) pass. pre (malloc'd, or NULL when npre is 0) is the client's
 * bytes already read: taken over, and freed once copied. Returns 0 to go on (the bytes sent), 1
 * when the client closed its side before sending a byte, -1 to close. */
static int check_sni(struct conn *cn, char *pre, size_t npre)
{
	/* A protocol where the server speaks first may keep the client quiet for as long as it likes:
	 * wait for its first byte before taking memory for the ClientHello (an idle tunnel holds none). */
	if (npre == 0) {
		struct pollfd p = { .fd = cn->c, .events = POLLIN };
		while (poll(&p, 1, -1) < 0 && errno == EINTR)
			;
	}
	uint8_t *buf = malloc(SNI_MAX);
	if (!buf) {
		free(pre);
		return -1;
	}
	size_t len = npre < SNI_MAX ? npre : SNI_MAX;
	if (len)
		memcpy(buf, pre, len);
	free(pre);
	struct timespec start = cn->t0;
	clock_gettime(CLOCK_MONOTONIC, &cn->t0);
	int rc = -1;
	for (;;) {
		char sni[WIRE_HOST_MAX + 1];
		enum wire_tls t = len ? wire_tls_sni(buf, len, sni) : WIRE_TLS_NEED_MORE;
		/* A TLS record of another type before the ClientHello (alert, change_cipher_spec,
		 * application_data, heartbeat) is no other protocol: it is TLS hiding its ClientHello
		 * from this check. Go's crypto/tls server skips a warning alert there and reads the
		 * ClientHello after it, whose server name would never be looked at. */
		if (len && buf[0] >= 0x14 && buf[0] <= 0x18 && buf[0] != 0x16) {
			if (len >= 2 && buf[1] == 3) {
				cn->reason = "a TLS record before the ClientHello";
				break;
			}
			if (len < 2)
				t = WIRE_TLS_NEED_MORE;
		}
		if (t == WIRE_TLS_NOT_TLS || t == WIRE_TLS_NO_SNI) {
			rc = 0;
			break;
		}
		if (t == WIRE_TLS_SNI) {
			char want[WIRE_HOST_MAX + 1];
			snprintf(want, sizeof want, "%s", cn->host);
			size_t wl = strlen(want);
			if (wl && want[wl - 1] == '.')
				want[wl - 1] = '\0';
			struct in6_addr ip;
			bool literal = inet_pton(AF_INET, want, &ip) == 1 || inet_pton(AF_INET6, want, &ip) == 1;
			if (literal || strcasecmp(sni, want) == 0) {
				rc = 0;
			} else {
				cleanup_free char *esni = util_escape(sni);
				snprintf(cn->reason_buf, sizeof cn->reason_buf, "TLS server name %s is not the host asked for", esni);
				cn->reason = cn->reason_buf;
			}
			break;
		}
		if (t == WIRE_TLS_BAD) {
			cn->reason = "a malformed TLS ClientHello";
			break;
		}
		if (len == SNI_MAX) {
			cn->reason = "a TLS ClientHello too large to check";
			break;
		}
		/* Once the first byte is in, the rest of a ClientHello must follow in time. */
		ssize_t n = recv_deadline(cn, buf + len, SNI_MAX - len, SNI_MS);
		if (n == 0 && len == 0) { /* closed before a byte: nothing to check */
			rc = 1;
			break;
		}
		if (n < 0 && len == 0 && errno != ETIMEDOUT)
			break; /* reset before a byte: nothing refused */
		if (n <= 0) {
			cn->reason = n == 0 ? "closed during the TLS ClientHello" : "no TLS ClientHello in time";
			break;
		}
		len += (size_t)n;
	}
	cn->t0 = start;
	if (rc < 0 && cn->reason)
		sni_refused(cn);
	if (rc == 0 && len && write_all(cn->s, buf, len) < 0)
		rc = -1;
	if (rc == 0)
		cn->out += len;
	free(buf);
	return rc;
}

/* The handshake took this thread's stack a few pages deep (getaddrinfo's NSS modules above all);
 * the relay, which lasts as long as the connection, runs on far less. The pages wholly below the
 * current frame, less a margin for the calls made from here, go back to the kernel (touched again,
 * they come back zeroed): a third of an open connection's memory. */
static void stack_trim(void)
{
	pthread_attr_t a;
	void *lo;
	size_t size;
	if (pthread_getattr_np(pthread_self(), &a) != 0)
		return;
	int r = pthread_attr_getstack(&a, &lo, &size);
	pthread_attr_destroy(&a);
	if (r != 0)
		return;
	volatile char here = 0;
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = ((uintptr_t)lo + page - 1) & ~(page - 1);
	uintptr_t end = ((uintptr_t)&here - 1024) & ~(page - 1);
	if (end > start && end - start < size)
		madvise((void *)start, end - start, MADV_DONTNEED);
}

/* The handshake is over: no more deadlines on the client's socket, the handshake's stack given
 * back, and the server's side relayed to the client in a thread of its own. false (the reason set)
 * when no thread could be had. */
static bool start_way_back(struct conn *cn, pthread_t *back)
{
	struct timeval zero = { 0 };
	setsockopt(cn->c, SOL_SOCKET, SO_RCVTIMEO, &zero, sizeof zero);
	setsockopt(cn->c, SOL_SOCKET, SO_SNDTIMEO, &zero, sizeof zero);
	stack_trim();
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	bool started = pthread_create(back, &attr, pump_back, cn) == 0;
	pthread_attr_destroy(&attr);
	if (!started)
		cn->reason = "out of threads";
	return started;
}

/* Relay until both directions are done. pre: client bytes already read (the rest of a request
 * head's read, or the rewritten request for plain HTTP), sent to the server first; malloc'd (or
 * NULL when npre is 0), taken over, and freed as soon as it is sent: nothing read during the
 * handshake is held while the connection relays. */
static void relay(struct conn *cn, char *pre, size_t npre, bool sni)
{
	pthread_t back;
	if (!start_way_back(cn, &back)) {
		free(pre);
		return;
	}
	int rc = 0;
	if (sni) {
		rc = check_sni(cn, pre, npre);
	} else {
		if (npre) {
			rc = write_all(cn->s, pre, npre);
			cn->out += npre;
		}
		free(pre);
	}
	/* The client's end of its stream goes on to the server, whose answer still comes back, also
	 * when it came before a byte (rc 1): a half-closed connection is not a failed one. */
	if (rc == 1 || (rc == 0 && pump(cn->c, cn->s, UINT64_MAX, &cn->out) == 0))
		shutdown(cn->s, SHUT_WR);
	else {
		shutdown(cn->c, SHUT_RDWR);
		shutdown(cn->s, SHUT_RDWR);
	}
	pthread_join(back, NULL);
}

/* ---- the three ways in ---- */

/* Read a request head into buf (WIRE_HTTP_HEAD_MAX + 1 bytes, *len of them already there) and
 * parse it. 1: parsed; 0: the client closed (or went quiet for KEEPALIVE_IDLE_MS) before a byte of
 * it; -1: refused, with an error response when reply. The parser starts from the first byte each
 * time: it runs only when a read brings the end of a line, so a client sending a byte at a time
 * costs a parse per line, not per byte. */
static int read_head(struct conn *cn, char **bufp, size_t *len, struct wire_http *r, bool reply,
		     enum wire_result (*parse_fn)(const char *, size_t, struct wire_http *))
{
	bool parse = *len > 0;
	if (*len == 0) {
		/* Between requests a keep-alive client may wait; the deadline starts with its first byte.
		 * What the last request's rewrite and parse took of the stack goes back first: a kept-alive
		 * connection waits on as little as a tunnel does. */
		if (!reply)
			stack_trim();
		struct pollfd p = { .fd = cn->c, .events = POLLIN };
		uint64_t in = __atomic_load_n(&cn->in, __ATOMIC_RELAXED);
		for (;;) {
			int k = poll(&p, 1, KEEPALIVE_IDLE_MS);
			if (k < 0 && errno == EINTR)
				continue;
			if (k > 0)
				break;
			uint64_t now = __atomic_load_n(&cn->in, __ATOMIC_RELAXED);
			if (k < 0 || now == in)
				return 0;
			in = now; /* the server is still answering */
		}
	}
	/* The buffer is taken only now: a connection waiting for its (next) request holds none. */
	if (!*bufp && !(*bufp = malloc(WIRE_HTTP_HEAD_MAX + 1)))
		return -1;
	char *buf = *bufp;
	clock_gettime(CLOCK_MONOTONIC, &cn->t0);
	memset(r, 0, sizeof *r);
	for (;;) {
		enum wire_result w = parse ? parse_fn(buf, *len, r) : WIRE_NEED_MORE;
		if (w == WIRE_DONE)
			return 1;
		if (w == WIRE_BAD) {
			if (reply)
				http_refuse(cn, r->status ? r->status : 400, "%s", r->why ? r->why : "bad request");
			return -1;
		}
		if (*len >= WIRE_HTTP_HEAD_MAX) {
			if (reply)
				http_refuse(cn, 431, "request head too large");
			return -1;
		}
		ssize_t n = recv_deadline(cn, buf + *len, WIRE_HTTP_HEAD_MAX - *len, HANDSHAKE_MS);
		if (n <= 0) {
			if (n < 0 && errno == ETIMEDOUT && reply)
				http_refuse(cn, 408, "no complete request in %d s", HANDSHAKE_MS / 1000);
			return *len == 0 && n == 0 ? 0 : -1;
		}
		parse = memchr(buf + *len, '\n', (size_t)n) != NULL || *len + (size_t)n >= WIRE_HTTP_HEAD_MAX;
		*len += (size_t)n;
	}
}

/* Plain HTTP through the proxy, with keep-alive: each request head is read and checked here, and
 * passed on rewritten (origin form, no hop-by-hop headers), its body after it by its
 * Content-Length; the server's answers go back raw in a second thread. Another request for the
 * same host and port goes on the same server connection. One for another target ends the
 * connection instead: the server is told there is no more (it closes once it has answered), and the
 * client, seeing its keep-alive connection closed, sends the request again on a new one, where it
 * is decided afresh. A chunked request body is passed on raw, and the connection ends with it.
 * buf (the first head and what came after it) is taken over. Nothing is held while a body or
 * the last request's stream is relayed, or while the client is between requests: the head buffer
 * goes once its bytes are sent (read_head takes a new one when a request starts), the rewritten
 * head as soon as it is sent. */
static void http_session(struct conn *cn, char *buf, size_t len, struct wire_http *r)
{
	pthread_t back;
	if (!start_way_back(cn, &back)) {
		free(buf);
		return;
	}
	bool ok = true;
	struct timespec start = cn->t0; /* read_head restarts it for each request's deadline */
	for (;;) {
		bool keep = r->keep_alive && !r->chunked;
		r->keep_alive_out = keep;
		char *out = malloc(WIRE_HTTP_REWRITE_MAX);
		long n = out ? wire_http_rewrite(buf, len, r, out, WIRE_HTTP_REWRITE_MAX) : -1;
		if (n < 0 || write_all(cn->s, out, (size_t)n) < 0) {
			free(out);
			ok = false;
			break;
		}
		free(out);
		cn->out += (uint64_t)n;
		len -= r->head_len;
		memmove(buf, buf + r->head_len, len);
		if (!keep) {
			/* The rest as it comes, to the end: a chunked body, or the last request. */
			ok = len == 0 || write_all(cn->s, buf, len) == 0;
			cn->out += len;
			free(buf);
			buf = NULL;
			ok = ok && pump(cn->c, cn->s, UINT64_MAX, &cn->out) == 0;
			break;
		}
		uint64_t body = r->content_length;
		size_t take = body < len ? (size_t)body : len;
		if (take && write_all(cn->s, buf, take) < 0) {
			ok = false;
			break;
		}
		cn->out += take;
		body -= take;
		len -= take;
		memmove(buf, buf + take, len);
		if (len == 0) {
			free(buf);
			buf = NULL;
		}
		if (body && pump(cn->c, cn->s, body, &cn->out) != 1) {
			ok = false;
			break;
		}
		struct wire_http next;
		int got = read_head(cn, &buf, &len, &next, false, wire_http_parse);
		if (got <= 0) {
			ok = got == 0;
			break;
		}
		if (next.connect || next.port != cn->port || strcmp(next.host, cn->host) != 0)
			break; /* another target: see above */
		*r = next;
	}
	cn->t0 = start;
	free(buf);
	/* No more requests for this server: it finishes its answer and closes, which ends the way back. */
	if (ok) {
		shutdown(cn->s, SHUT_WR);
	} else {
		shutdown(cn->c, SHUT_RDWR);
		shutdown(cn->s, SHUT_RDWR);
	}
	/* The answer may still be coming: wait for it as long as it moves. */
	bool joined = false;
	for (uint64_t in = UINT64_MAX; !joined;) {
		uint64_t now = __atomic_load_n(&cn->in, __ATOMIC_RELAXED);
		if (now == in)
			break;
		in = now;
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += KEEPALIVE_IDLE_MS / 1000;
		joined = pthread_timedjoin_np(back, NULL, &until) == 0;
	}
	if (!joined) {
		shutdown(cn->c, SHUT_RDWR);
		shutdown(cn->s, SHUT_RDWR);
		pthread_join(back, NULL);
	}
}

static void serve_http(struct conn *cn)
{
	char *buf = NULL;
	char *out = NULL;
	size_t len = 0;
	struct wire_http r;
	if (read_head(cn, &buf, &len, &r, true, wire_http_parse) <= 0)
		goto out;
	cn->via = r.connect ? VIA_CONNECT : VIA_HTTP;
	snprintf(cn->host, sizeof cn->host, "%s", r.host);
	cn->port = r.port;
	int e = 0;
	switch (open_upstream(cn, &e)) {
	case UP_OK:
		break;
	case UP_DENY: {
		cleanup_free char *h = util_escape(cn->host);
		cleanup_free char *fix = netpolicy_suggest(cn->host, cn->port);
		if (fix)
			http_refuse(cn, 403, "%s:%u is not allowed by the network policy (%s); --allow-net=%s lets it through", h,
				    cn->port, cn->reason, fix);
		else
			http_refuse(cn, 403, "%s:%u is not allowed by the network policy (%s)", h, cn->port, cn->reason);
		log_conn(cn);
		goto out;
	}
	case UP_RESOLVE:
		http_refuse(cn, 502, "%s", cn->reason);
		log_conn(cn);
		goto out;
	case UP_CONNECT:
		http_refuse(cn, e == ETIMEDOUT ? 504 : 502, "%s", cn->reason);
		log_conn(cn);
		goto out;
	}
	cn->allowed = true;
	decided(cn);
	if (r.connect) {
		static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
		if (write_all(cn->c, ok, sizeof ok - 1) == 0) {
			/* What followed the head (from a client that did not wait for the 200) goes first,
			 * and the head's buffer with it: it is not held while the tunnel lasts. */
			size_t nrest = len - r.head_len;
			memmove(buf, buf + r.head_len, nrest);
			char *rest = nrest ? buf : NULL;
			if (!nrest)
				free(buf);
			buf = NULL;
			relay(cn, rest, nrest, true);
		}
	} else {
		http_session(cn, buf, len, &r);
		buf = NULL;
	}
	log_conn(cn);
out:
	free(buf);
	free(out);
}

static void serve_socks(struct conn *cn)
{
	uint8_t buf[600];
	size_t len = 0, used = 0;
	bool no_auth = false;
	for (;;) {
		enum wire_result w = wire_socks_greeting(buf, len, &used, &no_auth);
		if (w == WIRE_BAD)
			return;
		if (w == WIRE_DONE)
			break;
		ssize_t n = recv_deadline(cn, buf + len, sizeof buf - len, HANDSHAKE_MS);
		if (n <= 0)
			return;
		len += (size_t)n;
	}
	uint8_t method[2] = { 5, no_auth ? 0 : 0xff };
	if (write_all(cn->c, method, 2) < 0 || !no_auth)
		return;
	memmove(buf, buf + used, len - used);
	len -= used;
	struct wire_socks r;
	uint8_t reply[10];
	for (;;) {
		memset(&r, 0, sizeof r);
		enum wire_result w = wire_socks_request(buf, len, &r);
		if (w == WIRE_BAD) {
			wire_socks_reply(r.reply ? r.reply : 1, reply);
			(void)write_all(cn->c, reply, sizeof reply);
			return;
		}
		if (w == WIRE_DONE)
			break;
		if (len == sizeof buf)
			return;
		ssize_t n = recv_deadline(cn, buf + len, sizeof buf - len, HANDSHAKE_MS);
		if (n <= 0)
			return;
		len += (size_t)n;
	}
	snprintf(cn->host, sizeof cn->host, "%s", r.host);
	cn->port = r.port;
	if (r.cmd != 1) {
		cn->reason = "only SOCKS5 CONNECT is served";
		wire_socks_reply(7, reply);
		(void)write_all(cn->c, reply, sizeof reply);
		log_conn(cn);
		return;
	}
	int e = 0;
	enum up u = open_upstream(cn, &e);
	/* REP: 2 not allowed by the ruleset, 4 host unreachable, 5 refused, 6 TTL expired (time out). */
	uint8_t rep = u == UP_OK ? 0 : u == UP_DENY ? 2 : u == UP_RESOLVE ? 4 : e == ECONNREFUSED ? 5 : e == ETIMEDOUT ? 6 : 4;
	wire_socks_reply(rep, reply);
	if (u != UP_OK) {
		(void)write_all(cn->c, reply, sizeof reply);
		log_conn(cn);
		return;
	}
	cn->allowed = true;
	decided(cn);
	size_t nrest = len - r.used;
	char *rest = nrest ? malloc(nrest) : NULL;
	if (rest)
		memcpy(rest, buf + r.used, nrest);
	if ((!nrest || rest) && write_all(cn->c, reply, sizeof reply) == 0)
		relay(cn, rest, nrest, true);
	else
		free(rest);
	log_conn(cn);
}

/* localhost:PORT: the jail's 127.0.0.1:PORT is the host's. */
static void serve_forward(struct conn *cn)
{
	snprintf(cn->host, sizeof cn->host, "localhost");
	cn->port = cn->target_port;
	int e = 0;
	if (open_upstream(cn, &e) != UP_OK) {
		log_conn(cn);
		return;
	}
	cn->allowed = true;
	decided(cn);
	relay(cn, NULL, 0, false);
	log_conn(cn);
}

/* A fresh socket of the jail's network namespace, from the socket maker left there. */
static int jail_socket(void)
{
	pthread_mutex_lock(&g.maker_mu);
	int fd = -1;
	char c = '4';
	struct pollfd p = { .fd = g.maker, .events = POLLIN };
	if (g.maker >= 0 && send(g.maker, &c, 1, MSG_NOSIGNAL) == 1 && poll(&p, 1, 5000) == 1 &&
	    fdpass_recv(g.maker, &c, &fd, 1) != 1)
		fd = -1;
	pthread_mutex_unlock(&g.maker_mu);
	/* The maker runs in the jail, where the command could have taken it over: what it sends is
	 * checked to be what was asked for, an unconnected TCP socket. */
	int type = 0, domain = 0;
	socklen_t l1 = sizeof type, l2 = sizeof domain;
	if (fd >= 0 && (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l1) < 0 || type != SOCK_STREAM ||
			getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &l2) < 0 || domain != AF_INET)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void serve_publish(struct conn *cn)
{
	snprintf(cn->host, sizeof cn->host, "jail");
	cn->port = cn->target_port;
	cn->allowed = true;
	int fd = jail_socket();
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(cn->target_port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	cn->s = fd;
	snprintf(cn->addr, sizeof cn->addr, "127.0.0.1");
	relay(cn, NULL, 0, false);
	log_conn(cn);
}

/* ---- the keygate: an agent's API key added outside the jail ---- */

/* Can this key go into a header line as it is? Visible ASCII, at most WIRE_KEY_MAX bytes: a line
 * break would let it end the line and start another, and whitespace around it is a pasting slip
 * the API would refuse anyway. NULL, or why not (never quoting the key). */
static const char *key_unsendable(const char *key)
{
	size_t n = strlen(key);
	if (n == 0)
		return "it is empty";
	if (n > WIRE_KEY_MAX)
		return "it is longer than 4 KiB";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)key[i];
		if (c == '\r' || c == '\n')
			return "it holds a line break";
		if (c <= 0x20 || c >= 0x7f)
			return "it holds a space, a control byte or a non-ASCII byte";
	}
	return NULL;
}

/* In the supervisor, before the jail starts: each key is there and sendable, and OpenSSL loads when
 * an upstream is https:// (loaded here, the proxy forked below has it already). */
static int gates_check(const struct plan_net *n, struct aj_err *err)
{
	bool tls = false;
	for (size_t i = 0; i < n->n_keygate; i++) {
		const struct plan_keygate *k = &n->keygate[i];
		const char *key = getenv(k->env);
		const char *why = key ? key_unsendable(key) : "it is not set";
		if (why)
			return aj_fail(err, 0, "$%s: %s, so the keygate cannot send it", k->env, why);
		struct wire_url u;
		if ((why = wire_url_parse(k->upstream, &u)))
			return aj_fail(err, 0, "the keygate for %s: its upstream: %s", k->env, why);
		tls = tls || u.tls;
	}
	return tls ? lazy_ssl_load(err) : 0;
}

/* In the proxy, before it confines itself. */
static int gates_start(const struct plan_net *n, struct aj_err *err)
{
	bool tls = false;
	for (size_t i = 0; i < n->n_keygate; i++) {
		const struct plan_keygate *k = &n->keygate[i];
		struct gate *gt = &g.gates[i];
		const char *why = wire_url_parse(k->upstream, &gt->up);
		if (why)
			return aj_fail(err, 0, "%s: its upstream: %s", k->env, why);
		gt->header = k->header;
		gt->key = getenv(k->env);
		if (!gt->key || key_unsendable(gt->key))
			return aj_fail(err, 0, "$%s is not a key it can send", k->env);
		snprintf(gt->rule, sizeof gt->rule, "keygate %s", k->env);
		tls = tls || gt->up.tls;
	}
	if (!tls)
		return 0;
	if (lazy_ssl_load(err) < 0)
		return -1;
	LS(ERR_clear_error)();
	g.tls = LS(SSL_CTX_new)(LS(TLS_client_method)());
	if (!g.tls)
		return aj_fail(err, ENOMEM, "OpenSSL: a TLS context");
	/* The system's trust store, or SSL_CERT_FILE / SSL_CERT_DIR; the certificate must be valid for
	 * the upstream's name (SSL_set1_host, per connection). */
	LS(SSL_CTX_set_verify)(g.tls, SSL_VERIFY_PEER, NULL);
	if (LS(SSL_CTX_set_default_verify_paths)(g.tls) != 1)
		return aj_fail(err, 0, "OpenSSL: cannot load the trust store");
	LS(SSL_CTX_ctrl)(g.tls, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, NULL);
	/* A server that closes without close_notify ends its answer like a plain one: the client
	 * checks the framing (Content-Length, chunks, SSE) itself. */
	LS(SSL_CTX_set_options)(g.tls, SSL_OP_IGNORE_UNEXPECTED_EOF);
	return 0;
}

/* The upstream's host and port, resolved on the host. No policy check: the user chose the upstream
 * outside the jail (loopback and private addresses included), and the jail cannot change it. */
static int gate_connect(struct conn *cn, int *err)
{
	char port[8];
	snprintf(port, sizeof port, "%u", cn->port);
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG }, *res = NULL;
	int e = getaddrinfo(cn->host, port, &hints, &res);
	if (e != 0) {
		snprintf(cn->reason_buf, sizeof cn->reason_buf, "cannot resolve: %s",
			 e == EAI_SYSTEM ? strerror(errno) : gai_strerror(e));
		cn->reason = cn->reason_buf;
		*err = 0;
		return -1;
	}
	*err = 0;
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		if (a->ai_family != AF_INET && a->ai_family != AF_INET6)
			continue;
		addr_text(a->ai_addr, cn->addr);
		int fd = connect_one(a->ai_addr, a->ai_addrlen, err);
		if (fd >= 0) {
			cn->s = fd;
			break;
		}
		snprintf(cn->reason_buf, sizeof cn->reason_buf, "connect: %s", strerror(*err));
		cn->reason = cn->reason_buf;
	}
	freeaddrinfo(res);
	return cn->s >= 0 ? 0 : -1;
}

/* TLS over cn->s, verified against the trust store and the upstream's name (or address). NULL, with
 * cn->reason, when the handshake or the certificate fails. */
static SSL *gate_tls(struct conn *cn, const struct gate *gt)
{
	LS(ERR_clear_error)();
	SSL *ssl = LS(SSL_new)(g.tls);
	if (!ssl) {
		cn->reason = "OpenSSL: out of memory";
		return NULL;
	}
	struct in6_addr ip;
	bool literal = inet_pton(AF_INET, gt->up.host, &ip) == 1 || inet_pton(AF_INET6, gt->up.host, &ip) == 1;
	/* A name is sent as SNI and checked against the certificate's names; an address (never sent as
	 * SNI, RFC 6066) against its IP addresses. */
	bool ok = LS(SSL_set_fd)(ssl, cn->s) == 1 &&
		  (literal ? LS(X509_VERIFY_PARAM_set1_ip_asc)(LS(SSL_get0_param)(ssl), gt->up.host) == 1
			   : LS(SSL_set1_host)(ssl, gt->up.host) == 1 &&
				     LS(SSL_ctrl)(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
						  (void *)gt->up.host) == 1);
	LS(SSL_ctrl)(ssl, SSL_CTRL_MODE, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER, NULL);
	struct timeval tv = { .tv_sec = CONNECT_MS / 1000 };
	setsockopt(cn->s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(cn->s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	errno = 0;
	if (!ok || LS(SSL_connect)(ssl) != 1) {
		long v = LS(SSL_get_verify_result)(ssl);
		unsigned long e = LS(ERR_get_error)();
		char eb[160] = "";
		if (e)
			LS(ERR_error_string_n)(e, eb, sizeof eb);
		if (v != X509_V_OK)
			snprintf(cn->reason_buf, sizeof cn->reason_buf, "TLS: the certificate is not accepted: %s",
				 LS(X509_verify_cert_error_string)(v));
		else
			snprintf(cn->reason_buf, sizeof cn->reason_buf, "TLS handshake failed: %s",
				 e ? eb : errno ? strerror(errno) : "the server closed the connection");
		cn->reason = cn->reason_buf;
		LS(SSL_free)(ssl);
		return NULL;
	}
	struct timeval zero = { 0 };
	setsockopt(cn->s, SOL_SOCKET, SO_RCVTIMEO, &zero, sizeof zero);
	setsockopt(cn->s, SOL_SOCKET, SO_SNDTIMEO, &zero, sizeof zero);
	fcntl(cn->s, F_SETFL, fcntl(cn->s, F_GETFL) | O_NONBLOCK);
	return ssl;
}

/* One read or write on the upstream's side, plain or TLS, never blocking: > 0 bytes, 0 the end
 * (reads), -1 an error, -2 not now (*want gets the poll event that lets it go on). */
static int gate_io(struct conn *cn, SSL *ssl, bool wr, char *buf, size_t n, short *want)
{
	if (ssl) {
		LS(ERR_clear_error)();
		int k = wr ? LS(SSL_write)(ssl, buf, (int)n) : LS(SSL_read)(ssl, buf, (int)n);
		if (k > 0)
			return k;
		switch (LS(SSL_get_error)(ssl, k)) {
		case SSL_ERROR_WANT_READ:
			*want |= POLLIN;
			return -2;
		case SSL_ERROR_WANT_WRITE:
			*want |= POLLOUT;
			return -2;
		case SSL_ERROR_ZERO_RETURN:
			return wr ? -1 : 0;
		default:
			return -1;
		}
	}
	ssize_t k = wr ? send(cn->s, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) : recv(cn->s, buf, n, MSG_DONTWAIT);
	if (k > 0 || (k == 0 && !wr))
		return (int)k;
	if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
		*want |= wr ? POLLOUT : POLLIN;
		return -2;
	}
	return -1;
}

/* Bytes on their way one direction. */
struct flow {
	char *buf;
	size_t cap, off, len;
};

/* Relay one request and its answer, both ways in this thread, driven by poll: TLS cannot be
 * spliced, and an answer streamed as server-sent events must reach the client as each event comes
 * (no buffering beyond one read). up holds the rewritten head and the body bytes read with it;
 * then at most body more bytes of the client's go up (all of them while body_to_eof: a chunked
 * body, passed on as it is). Ends when the server has answered and closed, the client went away,
 * or nothing moved for KEYGATE_IDLE_MS. 0 when the answer went back whole. */
static int gate_relay(struct conn *cn, SSL *ssl, struct flow *up, uint64_t body, bool body_to_eof)
{
	struct flow down = { .buf = malloc(KEYGATE_BUF), .cap = KEYGATE_BUF };
	if (!down.buf) {
		cn->reason = "out of memory";
		return -1;
	}
	bool c_done = !body_to_eof && body == 0, s_eof = false;
	int rc = -1;
	struct timespec moved_at;
	clock_gettime(CLOCK_MONOTONIC, &moved_at);
	for (;;) {
		bool moved = false;
		short want_c = 0, want_s = 0;
		if (up->off == up->len && !c_done) {
			size_t room = up->cap;
			if (!body_to_eof && body < room)
				room = (size_t)body;
			ssize_t k = recv(cn->c, up->buf, room, MSG_DONTWAIT);
			if (k > 0) {
				up->off = 0;
				up->len = (size_t)k;
				if (!body_to_eof && (body -= (uint64_t)k) == 0)
					c_done = true;
				moved = true;
			} else if (k == 0) {
				c_done = true; /* the client said all it will: its answer still goes back */
			} else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
				want_c |= POLLIN;
			} else {
				cn->reason = "the client went away";
				break;
			}
		}
		if (up->off < up->len) {
			int k = gate_io(cn, ssl, true, up->buf + up->off, up->len - up->off, &want_s);
			if (k == -1) {
				cn->reason = "the upstream closed while the request was being sent";
				break;
			}
			if (k > 0) {
				up->off += (size_t)k;
				cn->out += (uint64_t)k;
				moved = true;
			}
		}
		if (down.off == down.len && !s_eof) {
			int k = gate_io(cn, ssl, false, down.buf, down.cap, &want_s);
			if (k == -1) {
				cn->reason = "the upstream's connection failed";
				break;
			}
			if (k == 0)
				s_eof = true;
			if (k > 0) {
				down.off = 0;
				down.len = (size_t)k;
				moved = true;
			}
		}
		if (down.off < down.len) {
			ssize_t k = send(cn->c, down.buf + down.off, down.len - down.off, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (k > 0) {
				down.off += (size_t)k;
				__atomic_fetch_add(&cn->in, (uint64_t)k, __ATOMIC_RELAXED);
				moved = true;
			} else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
				want_c |= POLLOUT;
			} else {
				cn->reason = "the client went away";
				break;
			}
		}
		if (s_eof && down.off == down.len) {
			rc = cn->in ? 0 : -1;
			if (!cn->in)
				cn->reason = "the upstream closed without an answer";
			break;
		}
		if (moved) {
			clock_gettime(CLOCK_MONOTONIC, &moved_at);
			continue;
		}
		long left = KEYGATE_IDLE_MS - elapsed_ms(&moved_at);
		if (left <= 0 || (!want_c && !want_s)) {
			cn->reason = left <= 0 ? "nothing moved for ten minutes" : "stalled";
			break;
		}
		struct pollfd p[2] = { { .fd = cn->c, .events = want_c }, { .fd = cn->s, .events = want_s } };
		int r = poll(p, 2, (int)left);
		if (r < 0 && errno != EINTR)
			break;
		/* The client hung up altogether (not half-closed): nobody waits for an answer. */
		if (r > 0 && (p[0].revents & (POLLERR | POLLHUP | POLLNVAL))) {
			cn->reason = "the client went away";
			break;
		}
	}
	if (ssl && s_eof)
		LS(SSL_shutdown)(ssl); /* our close_notify, once; the connection closes after it either way */
	free(down.buf);
	return rc;
}

/* A request to a keygate: read its head (bounds and deadline as for the proxy), put the key in,
 * send it to the upstream (TLS for https://), and relay the body and the answer. One request per
 * connection ("Connection: close" both ways): a client reconnects for the next, and nothing the
 * jail pipelines after a request reaches the upstream without the rewrite. */
static void serve_keygate(struct conn *cn)
{
	const struct gate *gt = &g.gates[cn->gate];
	snprintf(cn->host, sizeof cn->host, "%s", gt->up.host);
	cn->port = gt->up.port;
	char *buf = NULL;
	size_t len = 0;
	struct wire_http r;
	SSL *ssl = NULL;
	struct flow up = { 0 };
	if (read_head(cn, &buf, &len, &r, true, wire_origin_parse) <= 0)
		goto out;
	cn->rule = gt->rule;
	if (r.chunked) {
		/* A chunked body would have to be decoded to find its end; relayed to EOF instead, what the
		 * jail pipelined after it would reach the upstream unrewritten (to another Host behind the
		 * same front end). The agents' SDKs send Content-Length. */
		cn->reason = "a chunked request body (send Content-Length)";
		http_refuse(cn, 411, "%s", cn->reason);
		log_conn(cn);
		goto out;
	}
	/* The head, rewritten, and what came after it of the body, in one buffer that the relay goes
	 * on using for the client's side. */
	size_t rest = len - r.head_len;
	uint64_t body = r.content_length;
	if (!r.chunked && rest > body)
		rest = (size_t)body; /* bytes past the body (a pipelined request) are not sent */
	up.cap = WIRE_KEYGATE_REWRITE_MAX + rest;
	if (up.cap < KEYGATE_BUF)
		up.cap = KEYGATE_BUF;
	up.buf = malloc(up.cap);
	long n = up.buf ? wire_keygate_rewrite(buf, len, &r, &gt->up, gt->header, gt->key, up.buf, up.cap - rest) : -1;
	if (n < 0) {
		cn->reason = "the request head does not fit with the key";
		http_refuse(cn, 431, "%s", cn->reason);
		log_conn(cn);
		goto out;
	}
	memcpy(up.buf + n, buf + r.head_len, rest);
	up.len = (size_t)n + rest;
	if (!r.chunked)
		body -= rest;
	free(buf);
	buf = NULL;
	int e = 0;
	if (gate_connect(cn, &e) < 0) {
		http_refuse(cn, e == ETIMEDOUT ? 504 : 502, "keygate: %s:%u: %s", cn->host, cn->port, cn->reason);
		log_conn(cn);
		goto out;
	}
	if (gt->up.tls && !(ssl = gate_tls(cn, gt))) {
		http_refuse(cn, 502, "keygate: %s:%u: %s", cn->host, cn->port, cn->reason);
		close(cn->s);
		cn->s = -1; /* a failure to reach an allowed upstream, as for the proxy */
		log_conn(cn);
		goto out;
	}
	cn->allowed = true;
	decided(cn);
	stack_trim();
	if (gate_relay(cn, ssl, &up, body, r.chunked) < 0 && cn->in == 0)
		http_refuse(cn, strstr(cn->reason ? cn->reason : "", "ten minutes") ? 504 : 502, "keygate: %s:%u: %s",
			    cn->host, cn->port, cn->reason ? cn->reason : "failed");
	else if (cn->in)
		cn->reason = NULL; /* an answer went back: whatever ended the connection after it is no failure */
	log_conn(cn);
out:
	if (ssl)
		LS(SSL_free)(ssl);
	if (up.buf) {
		explicit_bzero(up.buf, up.cap); /* it held the key */
		free(up.buf);
	}
	free(buf);
}

static void *conn_main(void *arg)
{
	struct conn *cn = arg;
	switch (cn->via) {
	case VIA_CONNECT:
	case VIA_HTTP:
		serve_http(cn);
		break;
	case VIA_SOCKS:
		serve_socks(cn);
		break;
	case VIA_FORWARD:
		serve_forward(cn);
		break;
	case VIA_PUBLISH:
		serve_publish(cn);
		break;
	case VIA_KEYGATE:
		serve_keygate(cn);
		break;
	}
	close(cn->c);
	if (cn->s >= 0)
		close(cn->s);
	free(cn);
	pthread_mutex_lock(&g.mu);
	g.active--;
	pthread_mutex_unlock(&g.mu);
	return NULL;
}

/* ---- the process ---- */

struct listener {
	int fd;
	enum via via;
	uint16_t port;
	size_t gate; /* VIA_KEYGATE */
};

/* Returns false when the process is out of fds (or memory) for now: the connection stays queued and
 * the listener readable, so the caller must pause instead of polling again at once (a busy loop). */
static bool accept_one(const struct listener *l)
{
	int c = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return !(errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM);
	pthread_mutex_lock(&g.mu);
	bool full = g.active >= g.max_conns;
	if (!full)
		g.active++;
	pthread_mutex_unlock(&g.mu);
	struct conn *cn = full ? NULL : calloc(1, sizeof *cn);
	if (!cn) {
		if (!full) {
			pthread_mutex_lock(&g.mu);
			g.active--;
			pthread_mutex_unlock(&g.mu);
		}
		/* Refused at once, not queued: the jail cannot make the proxy hold more than it serves. */
		struct conn tmp = { .via = l->via, .c = c, .s = -1, .port = l->port };
		clock_gettime(CLOCK_MONOTONIC, &tmp.t0);
		tmp.reason = "too many connections at once";
		if (l->via == VIA_HTTP || l->via == VIA_KEYGATE) {
			char out[512];
			size_t n = wire_http_error(503, "too many connections through the proxy at once", out, sizeof out);
			(void)send(c, out, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		}
		if (l->via != VIA_PUBLISH)
			log_conn(&tmp);
		close(c);
		return true;
	}
	/* Small requests and answers go out at once, as the client's and server's own would. */
	int one = 1;
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	cn->via = l->via;
	cn->c = c;
	cn->s = -1;
	cn->target_port = l->port;
	cn->gate = l->gate;
	clock_gettime(CLOCK_MONOTONIC, &cn->t0);
	struct timeval tv = { .tv_sec = HANDSHAKE_MS / 1000 };
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	/* getaddrinfo's NSS modules want room; the relay itself needs little. */
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_t t;
	if (pthread_create(&t, &attr, conn_main, cn) != 0) {
		close(c);
		free(cn);
		pthread_mutex_lock(&g.mu);
		g.active--;
		pthread_mutex_unlock(&g.mu);
	}
	pthread_attr_destroy(&attr);
	return true;
}

static char *summary(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	pthread_mutex_lock(&g.mu);
	unsigned long hosts = g.n_hosts + g.more_hosts;
	if (!g.allowed)
		fputs("no connections", f);
	else
		fprintf(f, "%lu connection%s to %lu host%s", g.allowed, g.allowed == 1 ? "" : "s", hosts, hosts == 1 ? "" : "s");
	if (g.failed)
		fprintf(f, "; failed: %lu", g.failed);
	if (g.denied) {
		fprintf(f, "; denied: %lu (", g.denied);
		for (size_t i = 0; i < g.n_denied_names; i++)
			fprintf(f, "%s%s", i ? ", " : "", g.denied_names[i]);
		fputs(g.more_denied ? ", ...)" : ")", f);
	}
	if (g.published)
		fprintf(f, "; %lu published connection%s in", g.published, g.published == 1 ? "" : "s");
	pthread_mutex_unlock(&g.mu);
	fclose(f);
	return text;
}

/* The listening sockets from the jail's side: one message, 'L' and the fds. Each is checked to be
 * a listening TCP socket (it is made by ajail's own code in the jail before the command runs). */
static size_t recv_listeners(int sock, int ctl, int *fds, size_t max)
{
	struct pollfd p[2] = { { .fd = sock, .events = POLLIN }, { .fd = ctl, .events = POLLIN } };
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		if (p[1].revents)
			_exit(0); /* the jail never started */
		if (p[0].revents)
			break;
	}
	char c;
	int got[MAX_PORTS];
	ssize_t k = fdpass_recv(sock, &c, got, MAX_PORTS);
	if (k < 0 || c != 'L') {
		for (ssize_t i = 0; i < k; i++)
			close(got[i]);
		return 0;
	}
	size_t n = 0;
	for (ssize_t i = 0; i < k; i++) {
		int acc = 0;
		socklen_t sl = sizeof acc;
		if (n < max && getsockopt(got[i], SOL_SOCKET, SO_ACCEPTCONN, &acc, &sl) == 0 && acc)
			fds[n++] = got[i];
		else
			close(got[i]);
	}
	return n;
}

static void __attribute__((noreturn)) proxy_main(const struct plan *p, int sock, int ctl, int result, int *pub,
						  size_t npub)
{
	const struct plan_net *n = &p->net;
	g.net = n;
	/* Threads get small arenas and stacks: the budget is a few MiB with a hundred connections. */
	mallopt(M_ARENA_MAX, 1);
	mallopt(M_MMAP_THRESHOLD, 16 * 1024);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max && rl.rlim_cur < 8192) {
		rl.rlim_cur = rl.rlim_max < 8192 ? rl.rlim_max : 8192;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* A connection holds up to 8 fds (client, server, a pipe each way, and the resolver's file and
	 * sockets while it looks up): under a low hard limit (ulimit -Hn 1024) fewer connections are
	 * served at once, so that the limit refuses them, not accept's EMFILE. */
	g.max_conns = PROXY_MAX_CONNS;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < 64 + 8 * (rlim_t)PROXY_MAX_CONNS)
		g.max_conns = rl.rlim_cur > 64 + 8 ? (unsigned)((rl.rlim_cur - 64) / 8) : 1;
	struct listener ls[2 * MAX_PORTS];
	size_t nl = 0;
	int jfds[MAX_PORTS];
	size_t nj = recv_listeners(sock, ctl, jfds, MAX_PORTS);
	if (n->mode == NET_ALLOW) {
		if (nj != 2 + n->n_forward + n->n_keygate)
			_exit(3);
		ls[nl++] = (struct listener){ jfds[0], VIA_HTTP, n->http_port, 0 };
		ls[nl++] = (struct listener){ jfds[1], VIA_SOCKS, n->socks_port, 0 };
		for (size_t i = 0; i < n->n_forward; i++)
			ls[nl++] = (struct listener){ jfds[2 + i], VIA_FORWARD, n->forward[i], 0 };
		for (size_t i = 0; i < n->n_keygate; i++)
			ls[nl++] = (struct listener){ jfds[2 + n->n_forward + i], VIA_KEYGATE, n->keygate[i].port, i };
	}
	for (size_t i = 0; i < npub; i++)
		ls[nl++] = (struct listener){ pub[i], VIA_PUBLISH, n->publish[i].port, 0 };
	if (npub)
		g.maker = sock;
	else
		close(sock);
	/* Load the resolver's modules now: once confined, they could not be opened (they can; this is
	 * for the first connection's latency, and so that a failure shows here). */
	struct addrinfo *res = NULL;
	if (getaddrinfo("localhost", "80", &(struct addrinfo){ .ai_socktype = SOCK_STREAM }, &res) == 0)
		freeaddrinfo(res);
	struct aj_err err = { 0 };
	/* The keys, and OpenSSL's trust store (SSL_CERT_FILE, read now: the confinement below lets
	 * the proxy read only what name lookups need). */
	if (n->mode == NET_ALLOW && gates_start(n, &err) < 0) {
		say("ajail: the keygate cannot start: %s", err.msg);
		_exit(4);
	}
	if (harden_confine_net(&err) < 0) {
		say("ajail: the network proxy cannot confine itself: %s", err.msg);
		_exit(4);
	}
	struct pollfd pfd[1 + 2 * MAX_PORTS];
	bool starved = false;
	for (;;) {
		pfd[0] = (struct pollfd){ .fd = ctl, .events = POLLIN };
		for (size_t i = 0; i < nl; i++)
			pfd[1 + i] = (struct pollfd){ .fd = ls[i].fd, .events = POLLIN };
		/* Out of fds (the system's, or ours): only the control pipe, for a tenth of a second. */
		if (poll(pfd, starved ? 1 : 1 + nl, starved ? 100 : -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents)
			break;
		if (starved) {
			starved = false;
			continue;
		}
		for (size_t i = 0; i < nl; i++)
			if ((pfd[1 + i].revents & POLLIN) && !accept_one(&ls[i]))
				starved = true;
	}
	/* The jail is gone: its connections are ending. A moment for their log lines, then the sum. */
	for (int i = 0; i < 50; i++) {
		pthread_mutex_lock(&g.mu);
		unsigned active = g.active;
		pthread_mutex_unlock(&g.mu);
		if (!active)
			break;
		usleep(10000);
	}
	char *s = summary();
	if (s)
		(void)write_all(result, s, strlen(s));
	_exit(0);
}

static int listen_tcp(uint16_t port, struct aj_err *err, const char *what)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return aj_fail(err, errno, "%s: socket", what);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 1024) < 0) {
		int e = errno;
		close(fd);
		return aj_fail(err, e, "%s: 127.0.0.1:%u", what, port);
	}
	return fd;
}

int proxy_start(const struct plan *p, int sock, bool crlf, struct proxy *px, struct aj_err *err)
{
	const struct plan_net *n = &p->net;
	int pub[PLAN_NET_PORTS_MAX];
	size_t npub = 0;
	int ctl[2] = { -1, -1 }, res[2] = { -1, -1 };
	int log_fd = -1;
	/* A key the keygate could not send is an error before the jail starts, not a 502 later. */
	if (n->mode == NET_ALLOW && gates_check(n, err) < 0)
		return -1;
	for (; npub < n->n_publish; npub++) {
		char what[64];
		snprintf(what, sizeof what, "--publish=%u:%u", n->publish[npub].host_port, n->publish[npub].port);
		pub[npub] = listen_tcp(n->publish[npub].host_port, err, what);
		if (pub[npub] < 0)
			goto fail;
	}
	if (n->log_path) {
		/* The user's file: appended to, never followed through a symlink at its end (it may sit in
		 * the working directory, which a jail writes). */
		log_fd = open(n->log_path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
		struct stat st;
		if (log_fd < 0 || fstat(log_fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			aj_fail(err, log_fd < 0 ? errno : EINVAL, "--net-log: %s", n->log_path);
			goto fail;
		}
		fcntl(log_fd, F_SETFL, O_WRONLY | O_APPEND);
	}
	if (pipe2(ctl, O_CLOEXEC) < 0 || pipe2(res, O_CLOEXEC) < 0) {
		aj_fail(err, errno, "pipe");
		goto fail;
	}
	pid_t pid = fork();
	if (pid < 0) {
		aj_fail(err, errno, "fork the network proxy");
		goto fail;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		prctl(PR_SET_NAME, "ajail-proxy", 0, 0, 0);
		/* ^C at the terminal is for the jail: the proxy ends when the supervisor says so. */
		static const int ignored[] = { SIGINT, SIGQUIT, SIGHUP, SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE, SIGWINCH };
		for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
			signal(ignored[i], SIG_IGN);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		close(ctl[1]);
		close(res[0]);
		g.log_fd = log_fd;
		g.verbose = p->verbose;
		g.crlf = crlf;
		proxy_main(p, sock, ctl[0], res[1], pub, npub);
	}
	close(ctl[0]);
	close(res[1]);
	for (size_t i = 0; i < npub; i++)
		close(pub[i]);
	if (log_fd >= 0)
		close(log_fd);
	px->pid = pid;
	px->ctl = ctl[1];
	px->result = res[0];
	return 0;
fail:
	for (size_t i = 0; i < npub; i++)
		close(pub[i]);
	if (log_fd >= 0)
		close(log_fd);
	for (int i = 0; i < 2; i++) {
		if (ctl[i] >= 0)
			close(ctl[i]);
		if (res[i] >= 0)
			close(res[i]);
	}
	return -1;
}

char *proxy_finish(struct proxy *px)
{
	if (px->pid < 0)
		return NULL;
	close(px->ctl);
	px->ctl = -1;
	char buf[2048];
	size_t len = 0;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		long left = 2000 - elapsed_ms(&t0);
		struct pollfd p = { .fd = px->result, .events = POLLIN };
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		ssize_t n = read(px->result, buf + len, sizeof buf - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof buf - 1)
			break;
	}
	buf[len] = '\0';
	close(px->result);
	px->result = -1;
	kill(px->pid, SIGKILL);
	int ws;
	while (waitpid(px->pid, &ws, 0) < 0 && errno == EINTR)
		;
	px->pid = -1;
	return len ? xstrdup(buf) : NULL;
}

/* ---- in the jail ---- */


/* The socket maker: one fresh TCP socket of this namespace per byte received. */
static void __attribute__((noreturn)) maker_main(int sock)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	prctl(PR_SET_NAME, "ajail-publish", 0, 0, 0);
	for (;;) {
		char c;
		ssize_t n = recv(sock, &c, 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(0);
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			(void)send(sock, "E", 1, MSG_NOSIGNAL);
			continue;
		}
		(void)fdpass_send(sock, 'S', &fd, 1);
		close(fd);
	}
}

int proxy_jail_side(const struct plan_net *n, int sock, struct aj_err *err)
{
	int fds[MAX_PORTS];
	size_t nfd = 0;
	int ret = -1;
	if (n->mode == NET_ALLOW) {
		if ((fds[nfd] = listen_tcp(n->http_port, err, "the proxy's port")) < 0)
			goto out;
		nfd++;
		if ((fds[nfd] = listen_tcp(n->socks_port, err, "the proxy's SOCKS5 port")) < 0)
			goto out;
		nfd++;
		for (size_t i = 0; i < n->n_forward; i++) {
			if ((fds[nfd] = listen_tcp(n->forward[i], err, "a localhost:PORT forward")) < 0)
				goto out;
			nfd++;
		}
		for (size_t i = 0; i < n->n_keygate; i++) {
			if ((fds[nfd] = listen_tcp(n->keygate[i].port, err, "a keygate's port")) < 0)
				goto out;
			nfd++;
		}
	}
	if (fdpass_send(sock, 'L', fds, nfd) < 0) {
		aj_fail(err, errno, "pass the network's sockets to ajail");
		goto out;
	}
	if (n->n_publish) {
		pid_t pid = fork();
		if (pid < 0) {
			aj_fail(err, errno, "fork the socket maker for --publish");
			goto out;
		}
		if (pid == 0) {
			for (size_t i = 0; i < nfd; i++)
				close(fds[i]);
			/* Nothing of the jail's set-up but its socket: every other fd closes. */
			for (int fd = 3; fd < 1024; fd++)
				if (fd != sock)
					close(fd);
			maker_main(sock);
		}
	}
	ret = 0;
out:
	for (size_t i = 0; i < nfd; i++)
		close(fds[i]);
	close(sock);
	return ret;
}
