#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void util_freep(void *p)
{
	free(*(void **)p);
}

void util_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

void *util_steal(void **pp)
{
	void *p = *pp;
	*pp = NULL;
	return p;
}

static void *oom(void *p)
{
	if (!p) {
		fputs("ajail: out of memory\n", stderr);
		abort();
	}
	return p;
}

void *xmalloc(size_t n)
{
	return oom(malloc(n ? n : 1));
}

void *xcalloc(size_t n, size_t m)
{
	return oom(calloc(n ? n : 1, m ? m : 1));
}

void *xrealloc(void *p, size_t n)
{
	return oom(realloc(p, n ? n : 1));
}

char *xstrdup(const char *s)
{
	return oom(strdup(s));
}

char *xstrndup(const char *s, size_t n)
{
	return oom(strndup(s, n));
}

char *xasprintf(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&s, fmt, ap);
	va_end(ap);
	return oom(r < 0 ? NULL : s);
}

size_t strv_len(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

void strv_push(char ***v, char *s)
{
	size_t n = strv_len(*v);
	*v = xrealloc(*v, (n + 2) * sizeof **v);
	(*v)[n] = s;
	(*v)[n + 1] = NULL;
}

void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void strv_freep(char ***v)
{
	strv_free(*v);
}

bool strv_contains(char *const *v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

char *strv_join(char *const *v, const char *sep)
{
	size_t n = 1, k = strlen(sep);
	for (size_t i = 0; v && v[i]; i++)
		n += strlen(v[i]) + (i ? k : 0);
	char *out = xmalloc(n), *w = out;
	for (size_t i = 0; v && v[i]; i++)
		w = stpcpy(i ? stpcpy(w, sep) : w, v[i]);
	*w = '\0';
	return out;
}

char *util_human_size(uint64_t bytes)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
	double v = (double)bytes;
	size_t u = 0;
	while (v >= 1000 && u + 1 < sizeof units / sizeof units[0]) {
		v /= 1000;
		u++;
	}
	return u == 0 ? xasprintf("%llu B", (unsigned long long)bytes) : xasprintf(v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
}

int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t r = write(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = ENOSPC;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int pwrite_all(int fd, const void *buf, size_t n, int64_t off)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t r = pwrite(fd, p, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = ENOSPC;
			return -1;
		}
		p += r;
		n -= (size_t)r;
		off += r;
	}
	return 0;
}

int read_int_file(const char *path, int dflt)
{
	FILE *f = fopen(path, "re");
	int v = dflt;
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = dflt;
		fclose(f);
	}
	return v;
}

/* The body of read_file_at and read_file_untrusted, on an fd opened without blocking: a fifo or a
 * device a jail left in place of a file must neither hang nor be read. */
char *read_open_file(int fd, size_t max, size_t *lenp)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return NULL;
	if (!S_ISREG(st.st_mode)) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		return NULL;
	}
	size_t cap = 4096, len = 0;
	cleanup_free char *buf = xmalloc(cap + 1);
	for (;;) {
		if (len == cap) {
			/* One byte past max is read before giving up, so a file of exactly max bytes fits. */
			if (cap > max) {
				errno = EFBIG;
				return NULL;
			}
			cap *= 2;
			buf = xrealloc(buf, cap + 1);
		}
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return NULL;
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > max) {
		errno = EFBIG;
		return NULL;
	}
	buf[len] = '\0';
	if (lenp)
		*lenp = len;
	return steal_pointer(&buf);
}

char *read_file_at(int dirfd, const char *name, size_t max)
{
	cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return NULL;
	return read_open_file(fd, max, NULL);
}

int open_untrusted(int dirfd, const char *rel, int flags)
{
	struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW),
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV };
	/* openat2 refuses any flag O_PATH ignores (EINVAL), O_NOCTTY included. */
	if (!(flags & O_PATH))
		how.flags |= O_NOCTTY;
	if ((flags & O_ACCMODE) == O_RDONLY && !(flags & O_PATH))
		how.flags |= O_NONBLOCK;
	for (int tries = 0;; tries++) {
		long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
		/* EAGAIN: a rename elsewhere on the system made the kernel unsure; it asks for a retry. */
		if (fd < 0 && errno == EAGAIN && tries < 16)
			continue;
		return (int)fd;
	}
}

char *read_file_untrusted(int dirfd, const char *rel, size_t max)
{
	cleanup_close int fd = open_untrusted(dirfd, rel, O_RDONLY);
	if (fd < 0)
		return NULL;
	return read_open_file(fd, max, NULL);
}

bool str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

char *path_join(const char *dir, const char *rel)
{
	if (rel[0] == '/')
		return xstrdup(rel);
	size_t n = strlen(dir);
	while (n > 0 && dir[n - 1] == '/')
		n--;
	return xasprintf("%.*s/%s", (int)n, dir, rel);
}

char *path_normalize(const char *path, bool *had_dotdot)
{
	size_t len = strlen(path);
	char *out = xmalloc(len + 2);
	size_t o = 0;
	if (had_dotdot)
		*had_dotdot = false;
	out[o++] = '/';
	const char *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *end = strchrnul(p, '/');
		size_t n = (size_t)(end - p);
		if (n == 1 && p[0] == '.') {
			/* skip */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (had_dotdot)
				*had_dotdot = true;
			/* back up to the previous '/', never above the root */
			while (o > 1 && out[o - 1] != '/')
				o--;
			if (o > 1)
				o--;
		} else {
			if (o > 1)
				out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p = end;
	}
	out[o] = '\0';
	return out;
}

bool path_is_under(const char *path, const char *dir)
{
	if (strcmp(dir, "/") == 0)
		return path[0] == '/';
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

const char *path_relative(const char *path, const char *dir)
{
	if (strcmp(dir, "/") == 0)
		return path + 1;
	const char *r = path + strlen(dir);
	return *r == '/' ? r + 1 : r;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes) and its code point, or 0 when it is not
 * one (overlong forms, surrogates and values past U+10FFFF are not). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t min;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if ((s[0] & 0xe0) == 0xc0) {
		len = 2, min = 0x80, *cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, min = 0x800, *cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4, min = 0x10000, *cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3f);
	}
	if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return len;
}

/* Code points a terminal acts on instead of showing: C0, DEL, C1 (0x9b is an 8-bit CSI), and the
 * bidirectional controls that make text display in another order than it reads ("Trojan Source"). */
static bool cp_is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

static char *escape(const char *s, size_t n, bool backslash)
{
	/* Worst case: every byte becomes "\xHH" (4), or a 3-byte code point "\u{HHHH}" (8). */
	char *out = xmalloc(n * 4 + 1), *w = out;
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = utf8_decode(p + i, n - i, &cp);
		if (len == 0) {
			w += sprintf(w, "\\x%02x", p[i]);
			i++;
			continue;
		}
		if (cp == '\\' && backslash)
			w = stpcpy(w, "\\\\");
		else if (cp == '\n')
			w = stpcpy(w, "\\n");
		else if (cp == '\t')
			w = stpcpy(w, "\\t");
		else if (cp == '\r')
			w = stpcpy(w, "\\r");
		else if (cp_is_control(cp) && cp < 0x100 && len == 1)
			w += sprintf(w, "\\x%02x", cp);
		else if (cp_is_control(cp))
			w += sprintf(w, "\\u{%04x}", cp);
		else {
			memcpy(w, p + i, len);
			w += len;
		}
		i += len;
	}
	*w = '\0';
	return out;
}

char *util_escape_n(const char *s, size_t n)
{
	return escape(s, n, true);
}

char *util_escape(const char *s)
{
	return escape(s, strlen(s), true);
}

char *util_escape_controls(const char *s)
{
	return escape(s, strlen(s), false);
}

const char *path_kernel_dir(const char *path, const char **rest)
{
	static const char *const dirs[] = { "/proc", "/sys", "/dev" };
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		size_t n = strlen(dirs[i]);
		if (strncmp(path, dirs[i], n) == 0 && (path[n] == '\0' || path[n] == '/')) {
			*rest = path + n;
			return dirs[i];
		}
	}
	return NULL;
}

uint64_t util_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
