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

void output_json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
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
