/* recipe.h — rootfs recipes (rootfs-recipes/NAME): one "key value" per line, '#' comments, blank
 * lines ignored. The first comment line is the description `ajail fs build --list` shows. Keys a
 * builder does not know are its own business; ajail needs only `builder`, or `base`.
 *
 * A recipe with `base NAME` is a layer recipe: the rootfs it makes is a layer on the store's rootfs
 * NAME, built by mkrootfs/layer in a jail on that base (fs_build.h). Its builder is "layer" (a
 * `builder` line may say so, or be left out), and the keys of a rootfs made from scratch (suite,
 * mirror, variant, ... of the debian and alpine builders) are refused: the base decides those.
 * Pure: parses a string. */
#ifndef AJAIL_RECIPE_H
#define AJAIL_RECIPE_H

#include <stdbool.h>

#include "error.h"

struct recipe {
	char *description; /* first comment line, without '#'; "" when none */
	char *builder;     /* mkrootfs/<builder>: [a-z0-9][a-z0-9_-]*; "layer" for a layer recipe */
	char *base;        /* a layer recipe: the rootfs it goes on (a valid rootfs name); else NULL */
	char **keys;       /* every key, in order (NULL-terminated) */
	char **values;     /* its value, "" when none */
};

void recipe_init(struct recipe *r);
void recipe_release(struct recipe *r);
/* Parse text; name is for messages. Errors: no builder (nor base), a builder name that is not a
 * plain word, a key that is not [a-z0-9_-]+, a key given twice; in a layer recipe, a base that is
 * not a rootfs name (a '#' and what follows it on the line is a comment, as the builders read it),
 * a builder other than "layer", a key of a rootfs built from scratch. */
int recipe_parse(const char *text, const char *name, struct recipe *r, struct aj_err *err);
const char *recipe_get(const struct recipe *r, const char *key);

/* A package name as `fs build -p` takes it: Debian's and Alpine's name characters (lowercase
 * letters, digits, '+', '.', '-', '_'), then an optional :ARCH and =VERSION. Nothing the builders'
 * recipe reader, a shell, apt or apk could take as two words, a comment or an option. */
bool recipe_package_ok(const char *p);
/* text with pkgs added to its `packages` line (before a comment on it: the builders read a '#'
 * anywhere as the start of one), or with a `packages` line appended when it has none: a recipe takes
 * each key once. A package the line names already is not added again. Caller frees. */
char *recipe_add_packages(const char *text, char *const *pkgs);
/* text with its `base` line (the first, should it be given twice) replaced by "base NAME", or with
 * one appended: `fs build --base=NAME`. Caller frees. */
char *recipe_set_base(const char *text, const char *base);

#endif
