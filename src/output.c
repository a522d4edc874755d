#include "output.h"

#include "util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* Messages carry names a jail or an archive chose (file names, branches, entries): whatever they
 * hold, it reaches the terminal as text, never as an escape sequence, and the message stays one line. */
void output_error(const struct aj_err *e)
{
	cleanup_free char *msg = util_escape(e->msg[0] ? e->msg : "unknown error");
	fprintf(stderr, "ajail: %s\n", msg);
}

void output_note(const char *fmt, ...)
{
	char *raw = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&raw, fmt, ap);
	va_end(ap);
	cleanup_free char *msg = n < 0 ? NULL : util_escape(raw);
	free(raw);
	fprintf(stderr, "ajail: %s\n", msg ? msg : "(out of memory)");
}

/* Length of the valid UTF-8 sequence at s and its code point, or 0 (overlong forms, surrogates and
 * values past U+10FFFF are not valid). */
static size_t json_utf8(const unsigned char *s, uint32_t *cp)
{
	size_t len = s[0] < 0x80	     ? 1
		     : (s[0] & 0xe0) == 0xc0 ? 2
		     : (s[0] & 0xf0) == 0xe0 ? 3
		     : (s[0] & 0xf8) == 0xf0 ? 4
					     : 0;
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (!len)
		return 0;
	*cp = len == 1 ? s[0] : s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80) /* a NUL ends the string here too */
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3f);
	}
	return *cp < min[len] || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff) ? 0 : len;
}

/* Valid JSON whatever the bytes (names a jail chose): a byte that is not UTF-8 becomes U+FFFD, as
 * JSON readers would make of it, and the controls a terminal acts on (C0, DEL, C1, bidirectional
 * overrides) are written as \uXXXX, so that printing the output never moves the cursor. */
void output_json_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	fputc('"', out);
	while (*p) {
		uint32_t cp;
		size_t len = json_utf8(p, &cp);
		if (len == 0) {
			fputs("\\ufffd", out);
			p++;
			continue;
		}
		if (cp == '"' || cp == '\\')
			fprintf(out, "\\%c", (int)cp);
		else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
			 (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
			fprintf(out, "\\u%04x", (unsigned)cp);
		else
			fwrite(p, 1, len, out);
		p += len;
	}
	fputc('"', out);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	/* COARSE: read from the vDSO without a syscall, good to a few ms, so update() costs nothing
	 * when it is called for each of 100 000 files. */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void output_progress_start(struct output_progress *p, bool want, const char *verb, const char *name)
{
	memset(p, 0, sizeof *p);
	p->on = want && isatty(STDERR_FILENO);
	p->verb = verb;
	p->name = name ? name : "";
	struct winsize ws;
	p->cols = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 80;
	/* Nothing for the first moment: a quick operation should not flash a bar. */
	p->next_ms = now_ms() + 200;
}

/* "12.3 MB" style, switching to GB for big numbers; to is one of the values printed beside. */
static double output_scale(uint64_t v, uint64_t ref, const char **unit)
{
	if (ref >= 10000000000ULL) {
		*unit = "GB";
		return (double)v / 1e9;
	}
	*unit = "MB";
	return (double)v / 1e6;
}

void output_progress_update(struct output_progress *p, uint64_t done, uint64_t total, uint64_t files)
{
	if (!p->on)
		return;
	uint64_t t = now_ms();
	if (t < p->next_ms)
		return;
	p->next_ms = t + 100;

	char bar[40] = "";
	char stats[704]; /* room for any double, so that no output can be cut */
	const char *unit;
	if (total > 0) {
		if (done > total)
			done = total;
		unsigned pct = (unsigned)(done * 100 / total);
		/* A bar of 30 cells on wide terminals, fewer on narrow ones, none below 60 columns. */
		int cells = p->cols >= 100 ? 30 : p->cols >= 80 ? 20 : p->cols >= 60 ? 10 : 0;
		if (cells > 0) {
			int fill = (int)(done * (uint64_t)cells / total);
			bar[0] = '[';
			for (int i = 0; i < cells; i++)
				bar[1 + i] = i < fill ? '#' : '.';
			bar[cells + 1] = ']';
			bar[cells + 2] = ' ';
			bar[cells + 3] = '\0';
		}
		double d = output_scale(done, total, &unit);
		double tt = output_scale(total, total, &unit);
		if (p->files_only)
			snprintf(stats, sizeof stats, "%u%% %llu/%llu files", pct, (unsigned long long)done,
				 (unsigned long long)total);
		else
			snprintf(stats, sizeof stats, "%u%% %.1f/%.1f %s, %llu files", pct, d, tt, unit,
				 (unsigned long long)files);
	} else {
		double d = output_scale(done, done, &unit);
		snprintf(stats, sizeof stats, "%.1f %s, %llu files", d, unit, (unsigned long long)files);
	}
	char line[1024];
	int w = snprintf(line, sizeof line, "ajail: %s %s %s%s", p->verb, p->name, bar, stats);
	size_t n = w < 0 ? 0 : (size_t)w < sizeof line ? (size_t)w : sizeof line - 1;
	/* Never reach the last column: a wrapped line could not be redrawn with \r. */
	if (p->cols > 1 && n > (size_t)p->cols - 1)
		n = (size_t)p->cols - 1;
	fprintf(stderr, "\r%.*s\033[K", (int)n, line);
	fflush(stderr);
	p->drawn = true;
}

void output_progress_done(struct output_progress *p)
{
	if (p->drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	p->drawn = false;
	p->on = false;
}

const char *output_verb_usage(const struct output_verb_help *t, size_t n, const char *verb)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(verb, t[i].verb) == 0)
			return t[i].usage;
	return NULL;
}

bool output_wants_help(char *const *words)
{
	for (size_t i = 0; words && words[i] && strcmp(words[i], "--") != 0; i++)
		if (strcmp(words[i], "-h") == 0 || strcmp(words[i], "--help") == 0)
			return true;
	return false;
}
