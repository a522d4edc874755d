#include "output.h"

#include <stdarg.h>
#include <stdio.h>

void output_error(const struct aj_err *e)
{
	fprintf(stderr, "ajail: %s\n", e->msg[0] ? e->msg : "unknown error");
}

void output_note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("ajail: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
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
