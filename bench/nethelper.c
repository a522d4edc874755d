/* bench/nethelper.c — the two ends of the network benchmark (bench/run.sh, section "net").
 *
 *   nethelper serve PORTFILE ADDR [ADDR...]
 *       An HTTP/1.1 server on ADDR:PORT for each ADDR (PORT is picked by the kernel for the first
 *       address, then the same for the others; written to PORTFILE once every address listens).
 *       A thread per connection, persistent connections (closed after a response to a request with
 *       "Connection: close", or to HTTP/1.0). GET only; the path says what comes back:
 *         /zero/N   N bytes of zeros (suffix k, m or g: KiB, MiB, GiB), sent with sendfile(2) from a
 *                   memfd of zeros, so the server copies nothing itself
 *         /small    "ok\n"
 *         /drip     a 1 GiB Content-Length, then 1 KiB every 200 ms until the client goes away
 *       It never ends by itself: the benchmark kills it.
 *
 *   nethelper relay PORTFILE TARGET_ADDR TARGET_PORT
 *       A bare TCP relay on 127.0.0.1:PORT (PORT written to PORTFILE) to TARGET_ADDR:TARGET_PORT: no
 *       policy, no parsing, a thread per direction moving bytes with splice(2) through a pipe, 64 KiB
 *       at a time, TCP_NODELAY on both sides. What any user-space relay costs on this machine: the
 *       floor a filtering proxy's throughput is compared with.
 *
 *   nethelper hold N http|connect PROXY HOST PORT PATH SECONDS
 *       N connections at once through the HTTP proxy PROXY (http://[USER:PASS@]HOST:PORT, as in
 *       $HTTP_PROXY; the credentials go in Proxy-Authorization), each a GET of http://HOST:PORT/PATH:
 *       "http" in absolute form, "connect" through a CONNECT tunnel. Once every response head is in,
 *       prints "ready N" on stdout, then keeps reading all of them for SECONDS and exits 0.
 *
 * Only loopback addresses are meant: the benchmark runs it on 127.0.0.x.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ZERO_FILE (4 << 20)
#define HEAD_MAX 8192

static int zero_fd = -1;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("nethelper: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static int send_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The port, into PORTFILE at once (written aside, then renamed: a reader never sees half of it). */
static void write_port(const char *path, uint16_t port)
{
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f || fprintf(f, "%u\n", port) < 0 || fclose(f) != 0 || rename(tmp, path) < 0)
		die("%s: %s", path, strerror(errno));
}

/* ---- serve ---- */

static int send_zeros(int fd, uint64_t n)
{
	while (n > 0) {
		off_t off = 0;
		size_t chunk = n < ZERO_FILE ? (size_t)n : ZERO_FILE;
		while (chunk > 0) {
			ssize_t w = sendfile(fd, zero_fd, &off, chunk);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return -1;
			chunk -= (size_t)w;
			n -= (uint64_t)w;
		}
	}
	return 0;
}

static uint64_t parse_size(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 10);
	switch (*end) {
	case 'k': v <<= 10; break;
	case 'm': v <<= 20; break;
	case 'g': v <<= 30; break;
	default: break;
	}
	return v;
}

/* One response; returns -1 when the connection is to close. */
static int respond(int fd, const char *path, bool close_after)
{
	char head[256];
	const char *conn = close_after ? "Connection: close\r\n" : "";
	/* An absolute-form target (a proxy that passes one on): keep the path. */
	if (strncmp(path, "http://", 7) == 0) {
		const char *p = strchr(path + 7, '/');
		path = p ? p : "/";
	}
	if (strncmp(path, "/zero/", 6) == 0) {
		uint64_t n = parse_size(path + 6);
		int hl = snprintf(head, sizeof head,
				  "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %llu\r\n%s\r\n",
				  (unsigned long long)n, conn);
		if (send_all(fd, head, (size_t)hl) < 0 || send_zeros(fd, n) < 0)
			return -1;
	} else if (strcmp(path, "/small") == 0) {
		int hl = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n%s\r\nok\n",
				  conn);
		if (send_all(fd, head, (size_t)hl) < 0)
			return -1;
	} else if (strcmp(path, "/drip") == 0) {
		int hl = snprintf(head, sizeof head,
				  "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %llu\r\n%s\r\n",
				  1ULL << 30, conn);
		static const char kib[1024];
		if (send_all(fd, head, (size_t)hl) < 0)
			return -1;
		for (;;) {
			if (send_all(fd, kib, sizeof kib) < 0)
				return -1;
			usleep(200000);
		}
	} else {
		static const char nf[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
		(void)send_all(fd, nf, sizeof nf - 1);
		return -1;
	}
	return close_after ? -1 : 0;
}

static bool header_has(const char *head, const char *name, const char *token)
{
	size_t nl = strlen(name);
	for (const char *p = strstr(head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
		const char *line = p + 2;
		if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
			const char *end = strstr(line, "\r\n");
			size_t vl = end ? (size_t)(end - line) : strlen(line);
			char v[512];
			snprintf(v, sizeof v, "%.*s", (int)vl, line);
			if (strcasestr(v + nl + 1, token))
				return true;
		}
	}
	return false;
}

static void *serve_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[HEAD_MAX + 1];
	size_t len = 0;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	for (;;) {
		char *end;
		while (!(buf[len] = '\0', end = strstr(buf, "\r\n\r\n"))) {
			if (len == HEAD_MAX)
				goto out;
			ssize_t n = recv(fd, buf + len, HEAD_MAX - len, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				goto out;
			len += (size_t)n;
		}
		end[2] = '\0'; /* the head, with its last line's CRLF */
		char method[16], path[2048], version[16];
		if (sscanf(buf, "%15s %2047s %15s", method, path, version) != 3 || strcmp(method, "GET") != 0)
			goto out;
		bool close_after = header_has(buf, "connection", "close") ||
				   (strcmp(version, "HTTP/1.0") == 0 && !header_has(buf, "connection", "keep-alive"));
		size_t used = (size_t)(end + 4 - buf);
		if (respond(fd, path, close_after) < 0)
			goto out;
		memmove(buf, buf + used, len - used);
		len -= used;
	}
out:
	close(fd);
	return NULL;
}

static int serve(int argc, char **argv)
{
	if (argc < 4)
		die("usage: nethelper serve PORTFILE ADDR [ADDR...]");
	signal(SIGPIPE, SIG_IGN);
	zero_fd = memfd_create("zeros", MFD_CLOEXEC);
	/* Written, not just truncated: real pages, not holes, behind every sendfile. */
	static char zeros[1 << 16];
	for (int i = 0; zero_fd >= 0 && i < ZERO_FILE / (int)sizeof zeros; i++)
		if (write(zero_fd, zeros, sizeof zeros) != (ssize_t)sizeof zeros)
			die("memfd: %s", strerror(errno));
	if (zero_fd < 0)
		die("memfd: %s", strerror(errno));
	int nl = argc - 3;
	struct pollfd *pfd = calloc((size_t)nl, sizeof *pfd);
	uint16_t port = 0;
	for (int i = 0; i < nl; i++) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
		if (inet_pton(AF_INET, argv[3 + i], &sa.sin_addr) != 1)
			die("not an IPv4 address: %s", argv[3 + i]);
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 1024) < 0)
			die("listen on %s:%u: %s", argv[3 + i], port, strerror(errno));
		if (i == 0) {
			socklen_t sl = sizeof sa;
			getsockname(fd, (struct sockaddr *)&sa, &sl);
			port = ntohs(sa.sin_port);
		}
		pfd[i] = (struct pollfd){ .fd = fd, .events = POLLIN };
	}
	write_port(argv[2], port);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (;;) {
		if (poll(pfd, (nfds_t)nl, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		for (int i = 0; i < nl; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			int c = accept4(pfd[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (c < 0)
				continue;
			pthread_t t;
			if (pthread_create(&t, &attr, serve_conn, (void *)(intptr_t)c) != 0)
				close(c);
		}
	}
}

/* ---- relay ---- */

static struct sockaddr_in relay_target;

struct pump_arg {
	int from, to;
};

static void pump(int from, int to)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	for (;;) {
		ssize_t n = splice(from, NULL, p[1], NULL, 1 << 16, SPLICE_F_MOVE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		while (n > 0) {
			ssize_t m = splice(p[0], NULL, to, NULL, (size_t)n, SPLICE_F_MOVE);
			if (m < 0 && errno == EINTR)
				continue;
			if (m <= 0)
				goto out;
			n -= m;
		}
	}
out:
	shutdown(to, SHUT_WR);
	close(p[0]);
	close(p[1]);
}

static void *pump_thread(void *arg)
{
	struct pump_arg *a = arg;
	pump(a->from, a->to);
	return NULL;
}

static void *relay_conn(void *arg)
{
	int c = (int)(intptr_t)arg, one = 1;
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&relay_target, sizeof relay_target) < 0)
		goto out;
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct pump_arg back = { s, c };
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	pthread_t t;
	if (pthread_create(&t, &attr, pump_thread, &back) == 0) {
		pump(c, s);
		pthread_join(t, NULL);
	}
	pthread_attr_destroy(&attr);
out:
	if (s >= 0)
		close(s);
	close(c);
	return NULL;
}

static int relay(int argc, char **argv)
{
	if (argc != 5)
		die("usage: nethelper relay PORTFILE TARGET_ADDR TARGET_PORT");
	signal(SIGPIPE, SIG_IGN);
	relay_target = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[4])) };
	if (inet_pton(AF_INET, argv[3], &relay_target.sin_addr) != 1)
		die("not an IPv4 address: %s", argv[3]);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	socklen_t sl = sizeof sa;
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(l, 1024) < 0 ||
	    getsockname(l, (struct sockaddr *)&sa, &sl) < 0)
		die("listen: %s", strerror(errno));
	write_port(argv[2], ntohs(sa.sin_port));
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (;;) {
		int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		pthread_t t;
		if (pthread_create(&t, &attr, relay_conn, (void *)(intptr_t)c) != 0)
			close(c);
	}
}

/* ---- hold ---- */

static void base64(const char *in, char *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(in), o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)(unsigned char)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)(unsigned char)in[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)in[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	out[o] = '\0';
}

/* Read a response head (up to the blank line) and check its status is 200. */
static void read_head(int fd, const char *what)
{
	char buf[HEAD_MAX + 1];
	size_t len = 0;
	/* One byte at a time: what follows the head belongs to the next layer. */
	while (len < HEAD_MAX) {
		ssize_t n = recv(fd, buf + len, 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("%s: connection closed before a response head (%s)", what, n < 0 ? strerror(errno) : "EOF");
		len++;
		if (len >= 4 && memcmp(buf + len - 4, "\r\n\r\n", 4) == 0)
			break;
	}
	buf[len] = '\0';
	if (strncmp(buf, "HTTP/1.1 200", 12) != 0 && strncmp(buf, "HTTP/1.0 200", 12) != 0)
		die("%s: %.*s", what, (int)strcspn(buf, "\r\n"), buf);
}

static int hold(int argc, char **argv)
{
	if (argc != 9)
		die("usage: nethelper hold N http|connect PROXY HOST PORT PATH SECONDS");
	int n = atoi(argv[2]);
	bool connect_mode = strcmp(argv[3], "connect") == 0;
	const char *proxy = argv[4], *host = argv[5], *port = argv[6], *path = argv[7];
	int seconds = atoi(argv[8]);
	if (n <= 0 || (!connect_mode && strcmp(argv[3], "http") != 0))
		die("bad arguments");
	/* http://[user:pass@]host:port[/] */
	if (strncmp(proxy, "http://", 7) == 0)
		proxy += 7;
	char auth[3072] = "", phost[256], pport[16] = "3128";
	const char *at = strrchr(proxy, '@');
	if (at) {
		char cred[2048], b64[2736];
		snprintf(cred, sizeof cred, "%.*s", (int)(at - proxy), proxy);
		base64(cred, b64);
		snprintf(auth, sizeof auth, "Proxy-Authorization: Basic %s\r\n", b64);
		proxy = at + 1;
	}
	snprintf(phost, sizeof phost, "%.*s", (int)strcspn(proxy, ":/"), proxy);
	if (proxy[strlen(phost)] == ':')
		snprintf(pport, sizeof pport, "%.*s", (int)strcspn(proxy + strlen(phost) + 1, "/"), proxy + strlen(phost) + 1);
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res;
	int e = getaddrinfo(phost, pport, &hints, &res);
	if (e)
		die("proxy %s:%s: %s", phost, pport, gai_strerror(e));
	signal(SIGPIPE, SIG_IGN);
	struct pollfd *pfd = calloc((size_t)n, sizeof *pfd);
	for (int i = 0; i < n; i++) {
		/* Refused at first is waited out (5 s at most): srt starts the command while the socat that
		 * listens on its proxy ports inside the sandbox may still be starting. */
		int fd = -1;
		for (int tries = 0; fd < 0; tries++) {
			fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (fd < 0)
				die("socket: %s", strerror(errno));
			if (connect(fd, res->ai_addr, res->ai_addrlen) == 0)
				break;
			int e = errno;
			close(fd);
			fd = -1;
			if (e != ECONNREFUSED || tries == 500)
				die("connect to the proxy %s:%s: %s", phost, pport, strerror(e));
			usleep(10000);
		}
		char req[8192];
		int rl;
		if (connect_mode) {
			rl = snprintf(req, sizeof req, "CONNECT %s:%s HTTP/1.1\r\nHost: %s:%s\r\n%s\r\n", host, port, host, port,
				      auth);
			if (send_all(fd, req, (size_t)rl) < 0)
				die("send CONNECT: %s", strerror(errno));
			read_head(fd, "CONNECT");
			rl = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s:%s\r\n\r\n", path, host, port);
		} else {
			rl = snprintf(req, sizeof req, "GET http://%s:%s%s HTTP/1.1\r\nHost: %s:%s\r\n%s\r\n", host, port, path,
				      host, port, auth);
		}
		if (send_all(fd, req, (size_t)rl) < 0)
			die("send GET: %s", strerror(errno));
		read_head(fd, "GET");
		pfd[i] = (struct pollfd){ .fd = fd, .events = POLLIN };
	}
	freeaddrinfo(res);
	printf("ready %d\n", n);
	fflush(stdout);
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		long left = (long)seconds * 1000 - ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			break;
		if (poll(pfd, (nfds_t)n, (int)left) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			if (!pfd[i].revents)
				continue;
			char buf[16384];
			ssize_t r = recv(pfd[i].fd, buf, sizeof buf, MSG_DONTWAIT);
			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
				die("connection %d ended early", i);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "serve") == 0)
		return serve(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "relay") == 0)
		return relay(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "hold") == 0)
		return hold(argc, argv);
	die("usage: nethelper serve PORTFILE ADDR... | relay PORTFILE ADDR PORT | hold N http|connect PROXY HOST PORT PATH SECONDS");
}
