#include "state_cmd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "error.h"
#include "output.h"
#include "profile.h"
#include "store.h"
#include "util.h"
#include "walk.h"

extern char **environ;

static const char usage[] =
	"Usage: ajail state list [--json]      agents' state: size, files, last change, in use\n"
	"       ajail state rm NAME...          remove an agent's state (its sign-in, sessions, settings)\n"
	"       ajail state path NAME           where NAME's state is kept\n"
	"\n"
	"An agent's profile (ajail --help: --profile) keeps the agent's home files (~/.claude/,\n"
	"~/.claude.json, ~/.codex/, ...) in $AJAIL_HOME/state/NAME, mounted into the agent's jails on every\n"
	"rootfs; never in a rootfs, an export, or another agent's jail. 'ajail state COMMAND --help' shows a\n"
	"command's options and examples.\n";

/* Each command's own --help, in the layout tools/mkman.py reads (see fs_cmd.c). */
static const struct output_verb_help verb_usage[] = {
	{ "list",
	  "Usage: ajail state list [--json]\n"
	  "\n"
	  "List the agents' state in $AJAIL_HOME/state: size, files, the last change, whether a running jail\n"
	  "uses it, and whether a profile of that name is left.\n"
	  "\n"
	  "Options:\n"
	  "  --json               one JSON array, for scripts\n"
	  "  -h, --help           this text\n"
	  "\n"
	  "Example:\n"
	  "  ajail state list\n" },
	{ "rm",
	  "Usage: ajail state rm NAME...\n"
	  "\n"
	  "Remove agents' state: the sign-in, sessions and settings their profile keeps, so that the agent's\n"
	  "next run starts afresh. State a running jail uses is kept; stop that jail first.\n"
	  "\n"
	  "Options:\n"
	  "  -h, --help           this text\n"
	  "\n"
	  "Example:\n"
	  "  ajail state rm codex\n" },
	{ "path",
	  "Usage: ajail state path NAME\n"
	  "\n"
	  "Print where agent NAME's state is kept ($AJAIL_HOME/state/NAME), whether or not it exists yet.\n"
	  "\n"
	  "Options:\n"
	  "  -h, --help           this text\n"
	  "\n"
	  "Example:\n"
	  "  ls -a \"$(ajail state path claude)\"\n" },
};

int state_lock(const char *store_dir, const char *name)
{
	cleanup_free char *dir = path_join(store_dir, "state");
	cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	cleanup_free char *lock = xasprintf(".%s.lock", name);
	return store_lock_at(dfd, lock, LOCK_SH);
}

struct entry {
	char *name;
	uint64_t size, files;
	time_t modified;
	bool in_use, profile;
	char *error;
};

/* Size, entries and the latest change in a tree a jail wrote: walked by fd, no symlink followed. */
static int measure(int dfd, const char *name, struct entry *e, struct aj_err *err)
{
	cleanup_close int top = openat(dfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (top < 0)
		return aj_fail(err, errno, "open %s", name);
	struct walk_opts wo = { .label = name };
	struct walk *w = walk_open(top, &wo, err);
	if (!w)
		return -1;
	const struct walk_entry *we;
	int r;
	while ((r = walk_next(w, &we, err)) == 1) {
		e->files += *we->path != '\0';
		e->size += (uint64_t)we->st.st_blocks * 512;
		if (we->st.st_mtime > e->modified)
			e->modified = we->st.st_mtime;
	}
	walk_close(w);
	return r;
}

static bool profile_exists(const char *name)
{
	if (profile_shipped(name))
		return true;
	cleanup_free char *rel = xasprintf("profiles/%s", name);
	cleanup_free char *path = config_user_file(environ, rel);
	return path && access(path, F_OK) == 0;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

static int cmd_list(int dfd, const char *dir, bool json)
{
	struct entry *v = NULL;
	size_t n = 0;
	if (dfd >= 0) {
		int dup = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
		DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue; /* ".", "..", the lock files */
			struct stat st;
			if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
				continue;
			v = xrealloc(v, (n + 1) * sizeof *v);
			struct entry *e = &v[n++];
			memset(e, 0, sizeof *e);
			e->name = xstrdup(de->d_name);
			struct aj_err err = { 0 };
			if (measure(dfd, e->name, e, &err) < 0)
				e->error = xstrdup(err.msg);
			cleanup_free char *lock = xasprintf(".%s.lock", e->name);
			int lfd = store_lock_at(dfd, lock, LOCK_EX | LOCK_NB);
			e->in_use = lfd < 0 && errno == EWOULDBLOCK;
			if (lfd >= 0)
				close(lfd);
			e->profile = profile_exists(e->name);
		}
		if (d)
			closedir(d);
		else if (dup >= 0)
			close(dup);
	}
	if (n)
		qsort(v, n, sizeof *v, cmp_entry);
	if (json) {
		fputc('[', stdout);
		for (size_t i = 0; i < n; i++) {
			char when[32];
			struct tm tm;
			strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&v[i].modified, &tm));
			cleanup_free char *path = path_join(dir, v[i].name);
			fputs(i ? ", {\"name\": " : "{\"name\": ", stdout);
			output_json_string(stdout, v[i].name);
			fputs(", \"dir\": ", stdout);
			output_json_string(stdout, path);
			printf(", \"size\": %llu, \"files\": %llu, \"modified\": \"%s\", \"in_use\": %s, \"profile\": %s",
			       (unsigned long long)v[i].size, (unsigned long long)v[i].files, when, v[i].in_use ? "true" : "false",
			       v[i].profile ? "true" : "false");
			if (v[i].error) {
				fputs(", \"error\": ", stdout);
				output_json_string(stdout, v[i].error);
			}
			fputc('}', stdout);
		}
		puts("]");
	} else if (n == 0) {
		printf("no agent state in %s (an agent's profile keeps it there: ajail claude, ajail codex)\n", dir);
	} else {
		printf("%-16s %9s %8s  %-16s  %s\n", "NAME", "SIZE", "FILES", "MODIFIED", "");
		for (size_t i = 0; i < n; i++) {
			char when[32];
			struct tm tm;
			strftime(when, sizeof when, "%Y-%m-%d %H:%M", localtime_r(&v[i].modified, &tm));
			cleanup_free char *size = util_human_size(v[i].size);
			cleanup_free char *name = util_escape_controls(v[i].name);
			printf("%-16s %9s %8llu  %-16s  %s%s%s\n", name, size, (unsigned long long)v[i].files, when,
			       v[i].in_use ? "in use" : "", v[i].in_use && !v[i].profile ? ", " : "",
			       v[i].profile ? "" : "no profile of that name");
			if (v[i].error) {
				cleanup_free char *msg = util_escape_controls(v[i].error);
				printf("  (incomplete: %s)\n", msg);
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].error);
	}
	free(v);
	return 0;
}

static int cmd_rm(int dfd, const char *dir, char **names)
{
	int rc = 0;
	for (size_t i = 0; names[i]; i++) {
		const char *name = names[i];
		if (!profile_name_ok(name)) {
			cleanup_free char *esc = util_escape_controls(name);
			fprintf(stderr, "ajail: state rm: '%s' is not a state name (see 'ajail state list')\n", esc);
			rc = 2;
			continue;
		}
		struct stat st;
		if (dfd < 0 || fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode)) {
			fprintf(stderr, "ajail: state rm: no state named '%s' in %s (see 'ajail state list')\n", name, dir);
			rc = 2;
			continue;
		}
		cleanup_free char *lock = xasprintf(".%s.lock", name);
		cleanup_close int lfd = store_lock_at(dfd, lock, LOCK_EX | LOCK_NB);
		if (lfd < 0) {
			if (errno == EWOULDBLOCK)
				fprintf(stderr, "ajail: state rm: %s is in use by a running jail; stop it first\n", name);
			else
				fprintf(stderr, "ajail: state rm: lock %s/%s: %s\n", dir, lock, strerror(errno));
			rc = rc ? rc : 1;
			continue;
		}
		/* Out of the way first (a name no jail run would use), then deleted: a killed rm leaves a
		 * dot-name that list skips and the next rm of it sweeps. */
		cleanup_free char *trash = xasprintf(".rm-%s-%d", name, (int)getpid());
		if (renameat(dfd, name, dfd, trash) < 0 || store_remove_tree(dfd, trash) < 0) {
			fprintf(stderr, "ajail: state rm: remove %s/%s: %s\n", dir, name, strerror(errno));
			rc = rc ? rc : 1;
			continue;
		}
		unlinkat(dfd, lock, 0);
		printf("removed the state of %s\n", name);
	}
	return rc;
}

/* Leftovers of an rm that was killed. */
static void sweep(int dfd)
{
	int dup = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
	DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
	if (!d) {
		if (dup >= 0)
			close(dup);
		return;
	}
	cleanup_strv char **gone = NULL;
	struct dirent *de;
	while ((de = readdir(d)))
		if (str_has_prefix(de->d_name, ".rm-"))
			strv_push(&gone, xstrdup(de->d_name));
	closedir(d);
	for (size_t i = 0; gone && gone[i]; i++)
		store_remove_tree(dfd, gone[i]);
}

int state_cmd_main(char **args, const char *store_dir)
{
	const char *verb = args && args[0] ? args[0] : NULL;
	if (!verb || strcmp(verb, "-h") == 0 || strcmp(verb, "--help") == 0 || strcmp(verb, "help") == 0) {
		fputs(usage, verb ? stdout : stderr);
		return verb ? 0 : 2;
	}
	if (strcmp(verb, "ls") == 0)
		verb = "list";
	const char *own = output_verb_usage(verb_usage, sizeof verb_usage / sizeof verb_usage[0], verb);
	if (!own) {
		cleanup_free char *esc = util_escape_controls(verb);
		fprintf(stderr, "ajail: state: unknown command '%s'; use one of list, rm, path (ajail state --help)\n",
			esc);
		return 2;
	}
	if (output_wants_help(args + 1)) {
		fputs(own, stdout);
		return 0;
	}
	if (!store_dir) {
		fputs("ajail: state: neither $AJAIL_HOME nor $HOME is set\n", stderr);
		return 1;
	}
	cleanup_free char *dir = path_join(store_dir, "state");
	cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 && errno != ENOENT) {
		fprintf(stderr, "ajail: state: open %s: %s\n", dir, strerror(errno));
		return 1;
	}
	if (strcmp(verb, "list") == 0) {
		bool json = false;
		for (size_t i = 1; args[i]; i++) {
			if (strcmp(args[i], "--json") != 0) {
				cleanup_free char *esc = util_escape_controls(args[i]);
				fprintf(stderr, "ajail: state list: unknown argument '%s'; usage: ajail state list [--json]\n", esc);
				return 2;
			}
			json = true;
		}
		return cmd_list(dfd, dir, json);
	}
	if (strcmp(verb, "rm") == 0) {
		if (!args[1]) {
			fputs("ajail: state rm: missing the NAME of the state to remove; 'ajail state list' shows them "
			      "(usage: ajail state rm NAME...)\n",
			      stderr);
			return 2;
		}
		for (size_t i = 1; args[i]; i++)
			if (args[i][0] == '-') {
				cleanup_free char *esc = util_escape_controls(args[i]);
				fprintf(stderr,
					"ajail: state rm: unknown option '%s'; it takes only names (usage: ajail state "
					"rm NAME...)\n",
					esc);
				return 2;
			}
		if (dfd >= 0)
			sweep(dfd);
		return cmd_rm(dfd, dir, args + 1);
	}
	if (strcmp(verb, "path") == 0) {
		if (!args[1]) {
			fputs("ajail: state path: missing the agent's NAME, e.g. claude; 'ajail state list' shows them "
			      "(usage: ajail state path NAME)\n",
			      stderr);
			return 2;
		}
		if (args[2]) {
			fputs("ajail: state path: one NAME at a time (usage: ajail state path NAME)\n", stderr);
			return 2;
		}
		if (!profile_name_ok(args[1])) {
			cleanup_free char *esc = util_escape_controls(args[1]);
			fprintf(stderr,
				"ajail: state path: '%s' is not a state name (letters, digits, '-', '_' and '.', not "
				"starting with '.' or '-')\n",
				esc);
			return 2;
		}
		cleanup_free char *p = path_join(dir, args[1]);
		puts(p);
		return 0;
	}
	return 2; /* not reached: every verb of verb_usage is handled above */
}
