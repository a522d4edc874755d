/* output.h — every message ajail prints goes through here: "ajail: " on stderr, so that the
 * command's own output on stdout is never mixed with ours. */
#ifndef AJAIL_OUTPUT_H
#define AJAIL_OUTPUT_H

#include <stdio.h>

#include "error.h"

void output_error(const struct aj_err *e);
void output_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Write s as a JSON string literal, quoted and escaped. */
void output_json_string(FILE *out, const char *s);

#endif
