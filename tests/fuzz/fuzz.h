/* fuzz.h — what the libFuzzer targets in tests/fuzz/ share: an invariant check that names what broke,
 * and the split of an input into NUL-separated fields. Header-only: each target is one .c file. */
#ifndef AJAIL_FUZZ_H
#define AJAIL_FUZZ_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* An invariant the code under test promises: a broken one is a crash, with the reproducer saved by
 * libFuzzer like any other. */
__attribute__((format(printf, 2, 3), noreturn)) static inline void fuzz_fail(const char *what, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "\nfuzz: invariant broken: %s\nfuzz: ", what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

#define fuzz_check(cond, ...)                        \
	do {                                         \
		if (!(cond))                         \
			fuzz_fail(#cond, __VA_ARGS__); \
	} while (0)

/* The input as fields: a private NUL-terminated copy cut at every NUL byte. fields[n] points into
 * buf; the last field is what follows the last NUL (possibly ""). */
struct fuzz_fields {
	char *buf;
	char **v;
	size_t n, next;
};

static inline void fuzz_fields_init(struct fuzz_fields *f, const uint8_t *data, size_t size)
{
	f->buf = malloc(size + 1);
	memcpy(f->buf, data, size);
	f->buf[size] = '\0';
	size_t n = 1;
	for (size_t i = 0; i < size; i++)
		n += data[i] == '\0';
	f->v = malloc(n * sizeof *f->v);
	f->n = 0;
	f->next = 0;
	char *p = f->buf;
	for (;;) {
		f->v[f->n++] = p;
		size_t len = strlen(p);
		if (p + len >= f->buf + size)
			break;
		p += len + 1;
	}
}

/* The next field, or NULL when there is none left. */
static inline const char *fuzz_fields_next(struct fuzz_fields *f)
{
	return f->next < f->n ? f->v[f->next++] : NULL;
}

static inline void fuzz_fields_release(struct fuzz_fields *f)
{
	free(f->v);
	free(f->buf);
}

#endif
