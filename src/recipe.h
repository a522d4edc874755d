/* recipe.h — rootfs recipes (rootfs-recipes/NAME): one "key value" per line, '#' comments, blank
 * lines ignored. The first comment line is the description `ajail fs build --list` shows. Keys a
 * builder does not know are its own business; ajail needs only `builder`. Pure: parses a string. */
#ifndef AJAIL_RECIPE_H
#define AJAIL_RECIPE_H

#include "error.h"

struct recipe {
	char *description; /* first comment line, without '#'; "" when none */
	char *builder;     /* mkrootfs/<builder>: [a-z0-9][a-z0-9_-]* */
	char **keys;       /* every key, in order (NULL-terminated) */
	char **values;     /* its value, "" when none */
};

void recipe_init(struct recipe *r);
void recipe_release(struct recipe *r);
/* Parse text; name is for messages. Errors: no builder, a builder name that is not a plain word,
 * a key that is not [a-z0-9_-]+, a key given twice. */
int recipe_parse(const char *text, const char *name, struct recipe *r, struct aj_err *err);
const char *recipe_get(const struct recipe *r, const char *key);

#endif
