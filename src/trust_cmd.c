/* trust_cmd.c — .ajail.conf on the disk, the trust records, `ajail trust`, and the run's hook.
 *
 * The project file lives in a tree a jail can write, so it is opened as data from an attacker: the
 * directory by its canonical path without following any symlink, the file beneath it likewise
 * (openat2 RESOLVE_NO_SYMLINKS), without blocking, a regular file only, at most PROJCONF_MAX bytes,
 * and everything of it is escaped before it is printed. The records live in $AJAIL_HOME/trust/,
 * which no jail sees (the store is never mounted into one). */
#include "trust_cmd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "hostpath.h"
#include "output.h"
#include "projconf.h"
#include "sha256.h"
#include "util.h"

extern char **environ;

#define RECORD_MAX 8192

void trust_project_release(struct trust_project *p)
{
	free(p->path);
	free(p->state);
	strv_free(p->opts);
	memset(p, 0, sizeof *p);
}

/* The project file for dir (canonical): at the top of the git work tree dir is in, else in dir. */
static char *project_file_for(const char *dir)
{
	__attribute__((cleanup(hostpath_git_release))) struct hostpath_git g = { 0 };
	hostpath_find_git(dir, NULL, &g);
	return path_join(g.top ? g.top : dir, PROJCONF_NAME);
}

/* The bytes of the project file at path (canonical). 0 with *text NULL when there is none; -1 with
 * err when it cannot be taken (a symlink, not a regular file, too large, unreadable). */
static int read_project_file(const char *path, char **text, size_t *len, struct aj_err *err)
{
	*text = NULL;
	*len = 0;
	cleanup_free char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	cleanup_close int dfd = hostpath_open(dir, O_PATH | O_DIRECTORY);
	if (dfd < 0)
		return errno == ENOENT ? 0 : aj_fail(err, errno == ELOOP ? 0 : errno, "%s: %s", dir,
						   errno == ELOOP ? "a symlink is on the way; not followed" : "cannot open");
	cleanup_close int fd = open_untrusted(dfd, PROJCONF_NAME, O_RDONLY);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 && errno == ELOOP)
		return aj_fail(err, 0, "%s is a symlink; ajail follows no symlink a repository holds", path);
	if (fd < 0)
		return aj_fail(err, errno, "%s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return aj_fail(err, errno, "%s", path);
	if (!S_ISREG(st.st_mode))
		return aj_fail(err, 0, "%s is not a regular file", path);
	if (st.st_size > PROJCONF_MAX)
		return aj_fail(err, 0, "%s is larger than %d KiB", path, PROJCONF_MAX / 1024);
	/* One byte more than allowed is asked for: a file that grows meanwhile is caught too. */
	cleanup_free char *buf = xmalloc(PROJCONF_MAX + 2);
	size_t n = 0;
	while (n <= PROJCONF_MAX) {
		ssize_t r = read(fd, buf + n, PROJCONF_MAX + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return aj_fail(err, errno, "%s", path);
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > PROJCONF_MAX)
		return aj_fail(err, 0, "%s is larger than %d KiB", path, PROJCONF_MAX / 1024);
	buf[n] = '\0';
	*text = steal_pointer(&buf);
	*len = n;
	return 0;
}

/* $AJAIL_HOME/trust as a directory fd; create makes it (and the store) 0700. -1 with errno. */
static int open_trust_dir(const char *store_dir, bool create)
{
	if (create && mkdir(store_dir, 0700) < 0 && errno != EEXIST)
		return -1;
	cleanup_close int sfd = open(store_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0)
		return -1;
	if (create && mkdirat(sfd, "trust", 0700) < 0 && errno != EEXIST)
		return -1;
	return openat(sfd, "trust", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* The record for path (heap text), or NULL when there is none or it cannot be read. */
static char *read_record(const char *store_dir, const char *path)
{
	if (!store_dir)
		return NULL;
	cleanup_close int tfd = open_trust_dir(store_dir, false);
	if (tfd < 0)
		return NULL;
	char name[SHA256_HEX_LEN + 1];
	projconf_record_name(path, name);
	return read_file_at(tfd, name, RECORD_MAX);
}

/* Replace path's record atomically (a temp file renamed over it): a reader sees the old or the new. */
static int write_record(const char *store_dir, const char *path, const char *hash, struct aj_err *err)
{
	cleanup_close int tfd = open_trust_dir(store_dir, true);
	if (tfd < 0)
		return aj_fail(err, errno, "%s/trust", store_dir);
	char name[SHA256_HEX_LEN + 1];
	projconf_record_name(path, name);
	cleanup_free char *tmp = xasprintf(".tmp-%s-%d", name, (int)getpid());
	cleanup_free char *text = projconf_record_format(path, hash);
	unlinkat(tfd, tmp, 0);
	cleanup_close int fd = openat(tfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return aj_fail(err, errno, "%s/trust/%s", store_dir, tmp);
	if (write_all(fd, text, strlen(text)) < 0 || fsync(fd) < 0 || renameat(tfd, tmp, tfd, name) < 0) {
		int e = errno;
		unlinkat(tfd, tmp, 0);
		return aj_fail(err, e, "%s/trust/%s", store_dir, name);
	}
	return 0;
}

/* A project file read, parsed and checked against its record. */
struct loaded {
	char *text;
	size_t len;
	char hash[SHA256_HEX_LEN + 1];
	struct projconf conf;
	enum projconf_trust trust;
};

static void loaded_release(struct loaded *l)
{
	free(l->text);
	projconf_release(&l->conf);
}

/* 0 with l->text NULL: no file. -1: it cannot be read or parsed (err says so, naming file:line). */
static int load(const char *path, const char *store_dir, struct loaded *l, struct aj_err *err)
{
	memset(l, 0, sizeof *l);
	if (read_project_file(path, &l->text, &l->len, err) < 0)
		return -1;
	if (!l->text)
		return 0;
	sha256_hex(l->text, l->len, l->hash);
	if (projconf_parse(l->text, l->len, path, &l->conf, err) < 0)
		return -1;
	cleanup_free char *record = read_record(store_dir, path);
	l->trust = projconf_trust_state(record, path, l->hash);
	return 0;
}

static bool no_project_env(void)
{
	const char *v = getenv("AJAIL_NO_PROJECT");
	return v && *v && strcmp(v, "0") != 0;
}

int trust_cmd_apply(int argc, char *const argv[], struct opts *o, struct trust_project *p, struct aj_err *err)
{
	memset(p, 0, sizeof *p);
	if (o->verb != VERB_RUN || o->help || o->version)
		return 0;
	if (o->no_project || no_project_env()) {
		p->state = xstrdup("skipped");
		return 0;
	}
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof cwd) || cwd[0] != '/')
		return 0;
	cleanup_free char *path = project_file_for(cwd);
	cleanup_free char *store = config_store_dir(environ);
	__attribute__((cleanup(loaded_release))) struct loaded l;
	struct aj_err lerr = { 0 };
	int r = load(path, store, &l, &lerr);
	if (r == 0 && !l.text)
		return 0;
	p->path = xstrdup(path);
	/* Every line below names a file a jail may have written: output_note escapes what it prints. */
	if (r < 0) {
		p->state = xstrdup("refused");
		if (!o->quiet)
			output_note("%s; %s is ignored", lerr.msg, path);
		return 0;
	}
	if (l.trust != PROJCONF_TRUSTED) {
		p->state = xstrdup(l.trust == PROJCONF_CHANGED ? "changed since trusted" : "not trusted");
		if (o->quiet)
			return 0;
		if (l.trust == PROJCONF_CHANGED)
			output_note("%s has changed since you trusted it; ignored until you run 'ajail trust' again", path);
		else
			output_note("%s is not trusted; its options are ignored (review them with 'ajail trust')", path);
		return 0;
	}
	p->state = xstrdup("trusted");
	if (!l.conf.opts)
		return 0;
	/* Between AJAIL_ARGS and the command line: the command line still wins, and a --lockdown there
	 * leaves out the loosening ones as it does those of AJAIL_ARGS. */
	cleanup_free char *args = projconf_ajail_args(getenv("AJAIL_ARGS"), &l.conf);
	opts_release(o);
	opts_init(o);
	if (cli_parse(argc, argv, args, o, err) < 0)
		return aj_err_wrap(err, "with the options of %s", path);
	p->opts = steal_pointer(&l.conf.opts);
	if (o->verbose) {
		cleanup_free char *list = strv_join(p->opts, " ");
		output_note("options from %s: %s", path, list);
	}
	return 0;
}

void trust_cmd_print(const struct trust_project *p, FILE *out, bool status)
{
	if (!p->path && !p->state)
		return;
	cleanup_free char *path = p->path ? util_escape(p->path) : xstrdup(PROJCONF_NAME);
	const char *state = p->state ? p->state : "?";
	/* Skipped, the file was not even looked for: a standing AJAIL_NO_PROJECT=1 is worth no line in
	 * every status block, only in the plan. */
	if (strcmp(state, "skipped") == 0) {
		if (!status)
			fputs("project:     skipped (--no-project or AJAIL_NO_PROJECT)\n", out);
		return;
	}
	cleanup_free char *list = strv_join(p->opts, " ");
	cleanup_free char *shown = util_escape(list);
	bool applied = strcmp(state, "trusted") == 0;
	fprintf(out, "%s%s (%s%s)%s%s\n", status ? "ajail: project  " : "project:     ", path, state,
		applied ? ", applied" : ": ignored", *shown ? ": " : "", shown);
}

/* ---- ajail trust ------------------------------------------------------------------------------ */

static const char trust_usage[] =
	"Usage: ajail trust [--yes] [DIR]      trust the project options of DIR's repository (default: here)\n"
	"       ajail trust --revoke [DIR]     forget that trust\n"
	"       ajail trust --list [--json]    every trusted project file: trusted, changed or missing\n"
	"\n"
	"A repository may hold options for ajail in .ajail.conf at its root (the top of the git work tree,\n"
	"or the directory itself outside one): one option per line as on the command line, # comments.\n"
	"They apply only once you trust that very content: ajail records its SHA-256 under\n"
	"$AJAIL_HOME/trust/, and a changed file is ignored until you trust it again. This shows each\n"
	"option, marks those that loosen the jail, and asks on the terminal.\n"
	"\n"
	"Options:\n"
	"  -y, --yes            trust without asking (review the options first)\n"
	"  --revoke             forget the trust; the file's options are ignored again\n"
	"  --list               every trusted project file, and whether it is still the same\n"
	"  --json               with --list: one JSON array, for scripts\n"
	"  -h, --help           this text\n"
	"\n"
	"Example:\n"
	"  cd ~/src/project && ajail trust\n"
	"\n"
	"Exit status: 0 trusted, 1 declined or failure, 2 usage (or no terminal to ask on, without --yes).\n";

/* "y" or "yes" typed on the terminal. A missing terminal is told apart (-1): that is a usage matter. */
static int ask(const char *question)
{
	cleanup_close int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (write_all(fd, question, strlen(question)) < 0)
		return -1;
	char buf[64];
	size_t n = 0;
	while (n < sizeof buf - 1) {
		ssize_t r = read(fd, buf + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	char *s = buf;
	while (*s == ' ' || *s == '\t')
		s++;
	s[strcspn(s, " \t\r")] = '\0';
	return strcasecmp(s, "y") == 0 || strcasecmp(s, "yes") == 0;
}

/* The directory DIR names (the working directory when NULL), canonical; NULL with err. */
static char *resolve_dir(const char *dir, struct aj_err *err)
{
	char buf[PATH_MAX];
	if (dir) {
		if (!realpath(dir, buf))
			return aj_fail(err, errno, "trust: %s", dir), NULL;
	} else if (!getcwd(buf, sizeof buf) || buf[0] != '/') {
		return aj_fail(err, errno, "trust: the working directory"), NULL;
	}
	struct stat st;
	if (stat(buf, &st) < 0 || !S_ISDIR(st.st_mode))
		return aj_usage(err, "trust: %s is not a directory", dir ? dir : buf), NULL;
	return xstrdup(buf);
}

/* The project file of DIR (see resolve_dir); NULL with err. */
static char *project_file_of(const char *dir, struct aj_err *err)
{
	cleanup_free char *real = resolve_dir(dir, err);
	return real ? project_file_for(real) : NULL;
}

static int cmd_trust(const char *dir, bool yes, const char *store)
{
	struct aj_err err = { 0 };
	cleanup_free char *path = project_file_of(dir, &err);
	if (!path) {
		output_error(&err);
		return aj_err_exit_code(&err);
	}
	cleanup_free char *epath = util_escape(path);
	__attribute__((cleanup(loaded_release))) struct loaded l;
	if (load(path, store, &l, &err) < 0) {
		/* Not worth asking about: it would be ignored whatever the answer. */
		output_error(&err);
		return 1;
	}
	if (!l.text) {
		fprintf(stderr, "ajail: trust: there is no %s (looked for %s)\n", PROJCONF_NAME, epath);
		return 1;
	}
	size_t n = strv_len(l.conf.opts), loose = 0;
	printf("%s (sha256 %.16s...) holds %zu option%s%s\n", epath, l.hash, n, n == 1 ? "" : "s", n ? ":" : ".");
	for (size_t i = 0; i < n; i++) {
		cleanup_free char *opt = util_escape(l.conf.opts[i]);
		cleanup_free char *why = projconf_loosening(l.conf.opts[i]);
		if (why) {
			printf("  loosens: %s: %s\n", opt, why);
			loose++;
		} else {
			printf("           %s\n", opt);
		}
	}
	if (loose)
		printf("%zu of them loosen%s the jail. Relative paths are taken from the working directory of each run.\n",
		       loose, loose == 1 ? "s" : "");
	fflush(stdout);
	if (l.trust == PROJCONF_TRUSTED) {
		printf("Already trusted.\n");
		return 0;
	}
	if (l.trust == PROJCONF_CHANGED)
		printf("It has changed since you trusted it.\n");
	fflush(stdout);
	if (!yes) {
		cleanup_free char *top = xstrndup(epath, strlen(epath) - strlen("/" PROJCONF_NAME));
		cleanup_free char *q = xasprintf("Trust these options for %s? [y/N] ", *top ? top : "/");
		int a = ask(q);
		if (a < 0) {
			fputs("ajail: trust: no terminal to ask on; review the options above and run 'ajail trust --yes' to "
			      "trust them\n",
			      stderr);
			return 2;
		}
		if (!a) {
			fputs("ajail: not trusted; its options stay ignored\n", stderr);
			return 1;
		}
	}
	if (!store) {
		fputs("ajail: trust: neither AJAIL_HOME nor HOME is set, so there is no store to record it in\n", stderr);
		return 1;
	}
	if (write_record(store, path, l.hash, &err) < 0) {
		output_error(&err);
		return 1;
	}
	printf("Trusted %s: its options apply to ajail runs in this repository.\n", epath);
	return 0;
}

static int cmd_revoke(const char *dir, const char *store)
{
	struct aj_err err = { 0 };
	cleanup_free char *path = project_file_of(dir, &err);
	if (!path) {
		output_error(&err);
		return aj_err_exit_code(&err);
	}
	cleanup_free char *epath = util_escape(path);
	cleanup_close int tfd = store ? open_trust_dir(store, false) : -1;
	char name[SHA256_HEX_LEN + 1];
	projconf_record_name(path, name);
	if (tfd < 0 || unlinkat(tfd, name, 0) < 0) {
		if (tfd >= 0 && errno != ENOENT) {
			fprintf(stderr, "ajail: trust --revoke: %s/trust/%s: %s\n", store, name, strerror(errno));
			return 1;
		}
		printf("%s was not trusted.\n", epath);
		return 0;
	}
	printf("%s is no longer trusted.\n", epath);
	return 0;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmd_list(bool json, const char *store)
{
	cleanup_close int tfd = store ? open_trust_dir(store, false) : -1;
	cleanup_strv char **paths = NULL;
	cleanup_strv char **hashes = NULL;
	DIR *d = tfd >= 0 ? fdopendir(dup(tfd)) : NULL;
	for (struct dirent *e; d && (e = readdir(d));) {
		char hash[SHA256_HEX_LEN + 1], name[SHA256_HEX_LEN + 1];
		cleanup_free char *rpath = NULL;
		cleanup_free char *text = e->d_name[0] == '.' ? NULL : read_file_at(tfd, e->d_name, RECORD_MAX);
		/* A record is believed only under its own name: a stray file there trusts nothing. */
		if (!text || projconf_record_parse(text, &rpath, hash) < 0)
			continue;
		projconf_record_name(rpath, name);
		if (strcmp(name, e->d_name) != 0)
			continue;
		/* "PATH\0HASH": one string, so that sorting by path keeps each hash with its path. */
		strv_push(&paths, xasprintf("%s%c%s", rpath, '\0', hash));
	}
	if (d)
		closedir(d);
	size_t n = strv_len(paths);
	if (n)
		qsort(paths, n, sizeof *paths, by_path);
	if (json)
		fputs("[", stdout);
	for (size_t i = 0; i < n; i++) {
		const char *path = paths[i], *hash = path + strlen(path) + 1;
		cleanup_free char *text = NULL;
		size_t len = 0;
		struct aj_err err = { 0 };
		const char *state;
		if (read_project_file(path, &text, &len, &err) < 0) {
			state = "unreadable";
		} else if (!text) {
			state = "missing";
		} else {
			char now[SHA256_HEX_LEN + 1];
			sha256_hex(text, len, now);
			state = strcmp(now, hash) == 0 ? "trusted" : "changed";
		}
		if (json) {
			fputs(i ? ", {\"path\": " : "{\"path\": ", stdout);
			output_json_string(stdout, path);
			printf(", \"state\": \"%s\", \"sha256\": \"%s\"}", state, hash);
		} else {
			cleanup_free char *epath = util_escape(path);
			printf("%-10s %s\n", state, epath);
		}
	}
	if (json)
		puts("]");
	else if (!n)
		puts("No project file is trusted.");
	return 0;
}

int trust_cmd_main(char **args, const char *store_dir)
{
	bool yes = false, revoke = false, list = false, json = false;
	const char *dir = NULL;
	bool opts_done = false;
	for (size_t i = 0; args && args[i]; i++) {
		const char *a = args[i];
		if (!opts_done && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
			fputs(trust_usage, stdout);
			return 0;
		} else if (!opts_done && (strcmp(a, "--yes") == 0 || strcmp(a, "-y") == 0)) {
			yes = true;
		} else if (!opts_done && strcmp(a, "--revoke") == 0) {
			revoke = true;
		} else if (!opts_done && strcmp(a, "--list") == 0) {
			list = true;
		} else if (!opts_done && strcmp(a, "--json") == 0) {
			json = true;
		} else if (!opts_done && strcmp(a, "--") == 0) {
			opts_done = true;
		} else if (!opts_done && a[0] == '-') {
			cleanup_free char *e = util_escape(a);
			fprintf(stderr, "ajail: trust: unknown option '%s'; see ajail trust --help\n", e);
			return 2;
		} else if (!dir) {
			dir = a;
		} else {
			cleanup_free char *e = util_escape(a);
			fprintf(stderr, "ajail: trust: one directory at most, and '%s' is a second (see ajail trust "
					"--help)\n",
				e);
			return 2;
		}
	}
	const char *bad = list && revoke ? "--list and --revoke do not go together; use one"
			  : list && dir   ? "--list takes no directory: it lists every trusted project file"
			  : list && yes   ? "--list and --yes do not go together: --yes trusts a directory's file"
			  : revoke && yes ? "--revoke and --yes do not go together: --yes is for trusting"
			  : json && !list ? "--json goes with --list: ajail trust --list --json"
					  : NULL;
	if (bad) {
		fprintf(stderr, "ajail: trust: %s (see ajail trust --help)\n", bad);
		return 2;
	}
	if (list)
		return cmd_list(json, store_dir);
	if (revoke)
		return cmd_revoke(dir, store_dir);
	return cmd_trust(dir, yes, store_dir);
}
