/* output.h — every message ajail prints goes through here: "ajail: " on stderr, so that the
 * command's own output on stdout is never mixed with ours. */
#ifndef AJAIL_OUTPUT_H
#define AJAIL_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

void output_error(const struct aj_err *e);
void output_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Write s as a JSON string literal, quoted and escaped. */
void output_json_string(FILE *out, const char *s);

/* A one-line progress bar on stderr, for long operations (import, export). Drawn only when the caller
 * wants it and stderr is a terminal; redrawn at most 10 times a second, so update() may be called for
 * every file. done/total are bytes (total 0 = unknown: no bar, bytes only), files counts entries:
 *   ajail: importing alpine [#######.........] 43% 12.3/28.6 MB, 1200 files
 * output_progress_done() clears the line, leaving the terminal as it was. */
struct output_progress {
	bool on;          /* drawing at all */
	bool drawn;       /* a line is on screen and must be cleared */
	const char *verb; /* "importing" */
	const char *name; /* "alpine" */
	int cols;         /* terminal width at start */
	uint64_t next_ms; /* monotonic time of the next allowed redraw */
	bool files_only;  /* done/total count files, not bytes: "43% 34000/80000 files" */
};
void output_progress_start(struct output_progress *p, bool want, const char *verb, const char *name);
void output_progress_update(struct output_progress *p, uint64_t done, uint64_t total, uint64_t files);
void output_progress_done(struct output_progress *p);

/* A verb's own --help, in a table of them (fs, clone, state): the usage of verb, or NULL. */
struct output_verb_help {
	const char *verb, *usage;
};
const char *output_verb_usage(const struct output_verb_help *t, size_t n, const char *verb);
/* Whether the words after a verb ask for its help: -h or --help before any "--". It wins over
 * whatever else the line holds: someone unsure how to write the command is asking how. */
bool output_wants_help(char *const *words);

#endif
