#include "fs_cmd.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "archive.h"
#include "hostca.h"
#include "hostpath.h"
#include "output.h"
#include "recipe.h"
#include "store.h"
#include "util.h"

static const char fs_usage[] =
	"Usage: ajail fs import NAME SOURCE    SOURCE: a tarball (any compression), - for stdin, or a directory\n"
	"       ajail fs list [--json]\n"
	"       ajail fs rm [--force] NAME...    refuses while a jail runs on it, unless --force\n"
	"       ajail fs build RECIPE [NAME]     run the recipe's builder (mkrootfs/), import its tarball\n"
	"       ajail fs build --list            the recipes there are\n"
	"       ajail fs cp SRC DST\n"
	"       ajail fs export NAME FILE        FILE: .tar, .tar.zst, .tar.gz, .tar.xz, or - (tar on stdout)\n"
	"Options: -q, --quiet (no progress bar or summary)\n"
	"Rootfses live in $AJAIL_HOME/fs (default ~/.ajail/fs). Names: letters, digits, '.', '_', '-'.\n";

struct fs_args {
	char **pos;  /* positional arguments */
	bool json, force, quiet, list, help;
};

static int parse(char **args, struct fs_args *a, const char *verb, struct aj_err *err)
{
	bool opts_done = false;
	for (size_t i = 0; args && args[i]; i++) {
		const char *w = args[i];
		if (!opts_done && strcmp(w, "--") == 0) {
			opts_done = true;
		} else if (!opts_done && w[0] == '-' && w[1]) {
			if (strcmp(w, "--json") == 0)
				a->json = true;
			else if (strcmp(w, "--force") == 0 || strcmp(w, "-f") == 0)
				a->force = true;
			else if (strcmp(w, "-q") == 0 || strcmp(w, "--quiet") == 0)
				a->quiet = true;
			else if (strcmp(w, "--list") == 0)
				a->list = true;
			else if (strcmp(w, "-h") == 0 || strcmp(w, "--help") == 0)
				a->help = true;
			else
				return aj_usage(err, "fs %s: unknown option '%s'; see ajail fs --help", verb, w);
		} else {
			strv_push(&a->pos, xstrdup(w));
		}
	}
	return 0;
}

static int want_args(const struct fs_args *a, const char *verb, size_t min, size_t max, struct aj_err *err)
{
	size_t n = strv_len(a->pos);
	if (n < min || n > max)
		return aj_usage(err, "fs %s: expected %s; see ajail fs --help", verb,
				strcmp(verb, "import") == 0  ? "NAME SOURCE"
				: strcmp(verb, "cp") == 0    ? "SRC DST"
				: strcmp(verb, "export") == 0 ? "NAME FILE"
				: strcmp(verb, "build") == 0 ? "RECIPE [NAME]"
							     : "NAME...");
	return 0;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One line that says what happened, including everything that was not kept as it was. */
static void summary(const char *what, const char *name, const struct archive_stats *st, double secs)
{
	cleanup_free char *size = util_human_size(st->bytes);
	uint64_t entries = st->files + st->dirs + st->symlinks + st->hardlinks;
	fprintf(stderr, "ajail: %s '%s': %llu entries (%llu files, %s) in %.2f s", what, name, (unsigned long long)entries,
		(unsigned long long)st->files, size, secs);
	if (st->skipped_devices)
		fprintf(stderr, "; skipped %llu device nodes, fifos and sockets (the jail's /dev replaces them)",
			(unsigned long long)st->skipped_devices);
	if (st->owners_flattened)
		fprintf(stderr, "; %llu entries owned by other users now belong to you (root inside the jail)",
			(unsigned long long)st->owners_flattened);
	if (st->setid_dropped)
		fprintf(stderr, "; dropped setuid/setgid from %llu entries", (unsigned long long)st->setid_dropped);
	fputc('\n', stderr);
}

/* Import source into a new rootfs name, atomically. */
static int import_into(struct store *s, const char *name, const char *source, const char *meta_source, bool quiet,
		       struct aj_err *err)
{
	struct store_txn t;
	if (store_txn_begin(s, name, &t, err) < 0)
		return -1;
	struct archive_stats st = { 0 };
	double t0 = now();
	if (archive_import(source, t.dirfd, name, !quiet && isatty(STDERR_FILENO), &st, err) < 0) {
		store_txn_abort(&t);
		return aj_err_wrap(err, "import '%s'", name);
	}
	if (store_txn_commit(&t, meta_source, err) < 0) {
		store_txn_abort(&t);
		return -1;
	}
	if (!quiet)
		summary("imported", name, &st, now() - t0);
	return 0;
}

static int cmd_import(struct store *s, const struct fs_args *a, struct aj_err *err)
{
	const char *name = a->pos[0], *source = a->pos[1];
	cleanup_free char *meta = NULL;
	if (strcmp(source, "-") == 0) {
		meta = xstrdup("stdin");
	} else {
		char real[PATH_MAX];
		if (!realpath(source, real))
			return aj_usage(err, "fs import: %s: %s", source, strerror(errno));
		/* A directory a jail planted as a symlink to your home would become a rootfs every later
		 * jail on it reads. */
		if (hostpath_check_in_cwd("fs import", source, real, err) < 0)
			return -1;
		meta = xstrdup(real);
	}
	return import_into(s, name, source, meta, a->quiet, err);
}

static void print_time(FILE *out, int64_t t, bool iso)
{
	char buf[64];
	time_t tt = (time_t)t;
	struct tm tm;
	strftime(buf, sizeof buf, iso ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M", iso ? gmtime_r(&tt, &tm) : localtime_r(&tt, &tm));
	fputs(buf, out);
}

static int cmd_list(struct store *s, const struct fs_args *a, struct aj_err *err)
{
	struct store_entry *e;
	size_t n;
	if (store_entries(s, &e, &n, err) < 0)
		return -1;
	if (a->json) {
		fputc('[', stdout);
		for (size_t i = 0; i < n; i++) {
			printf("%s{\"name\": ", i ? ", " : "");
			output_json_string(stdout, e[i].name);
			if (e[i].link) {
				fputs(", \"link\": ", stdout);
				output_json_string(stdout, e[i].link);
			}
			printf(", \"size\": %llu, \"files\": %llu, \"created\": \"", (unsigned long long)e[i].size,
			       (unsigned long long)e[i].files);
			print_time(stdout, e[i].created, true);
			fputs("\", \"source\": ", stdout);
			output_json_string(stdout, e[i].source);
			printf(", \"in_use\": %s}", e[i].in_use ? "true" : "false");
		}
		puts("]");
	} else if (n == 0) {
		fprintf(stderr, "ajail: no rootfs in %s/fs; import one with 'ajail fs import NAME TARBALL' or "
				"'ajail fs build busybox'\n", s->dir);
	} else {
		printf("%-20s %9s %8s  %-16s  %s\n", "NAME", "SIZE", "FILES", "CREATED", "SOURCE");
		for (size_t i = 0; i < n; i++) {
			if (e[i].link) {
				printf("%-20s %9s %8s  %-16s  -> %s\n", e[i].name, "", "", "", e[i].link);
				continue;
			}
			cleanup_free char *size = util_human_size(e[i].size);
			printf("%-20s %9s %8llu  ", e[i].name, size, (unsigned long long)e[i].files);
			print_time(stdout, e[i].created, false);
			printf("  %s%s\n", *e[i].source ? e[i].source : "-", e[i].in_use ? "  (in use)" : "");
		}
	}
	store_entries_free(e, n);
	return 0;
}

static int cmd_rm(struct store *s, const struct fs_args *a, struct aj_err *err)
{
	int ret = 0;
	for (size_t i = 0; a->pos[i]; i++) {
		struct aj_err e = { 0 };
		if (store_remove(s, a->pos[i], a->force, &e) < 0) {
			output_error(&e);
			ret = -1;
			*err = e;
		} else if (!a->quiet) {
			fprintf(stderr, "ajail: removed '%s'\n", a->pos[i]);
		}
	}
	/* Each failure was printed as it happened. */
	if (ret < 0)
		err->msg[0] = '\0';
	return ret;
}

static int cmd_cp(struct store *s, const struct fs_args *a, struct aj_err *err)
{
	const char *src = a->pos[0], *dst = a->pos[1];
	cleanup_close int fd = store_open_rootfs(s, src, err);
	if (fd < 0)
		return -1;
	cleanup_free char *path = xasprintf("%s/fs/%s", s->dir, src);
	cleanup_free char *meta = xasprintf("copy of %s", src);
	return import_into(s, dst, path, meta, a->quiet, err);
}

static int cmd_export(struct store *s, const struct fs_args *a, struct aj_err *err)
{
	const char *name = a->pos[0], *file = a->pos[1];
	cleanup_close int fd = store_open_rootfs(s, name, err);
	if (fd < 0)
		return -1;
	struct archive_stats st = { 0 };
	double t0 = now();
	if (archive_export(fd, file, name, !a->quiet && isatty(STDERR_FILENO), &st, err) < 0)
		return aj_err_wrap(err, "export '%s'", name);
	if (!a->quiet)
		summary("exported", name, &st, now() - t0);
	return 0;
}

/* Where mkrootfs/ and rootfs-recipes/ are: $AJAIL_DATADIR, beside the binary (a source tree), or
 * ../share/ajail from it (an installed one). */
static char *find_datadir(void)
{
	const char *env = getenv("AJAIL_DATADIR");
	if (env && *env)
		return xstrdup(env);
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	static const char *const suffixes[] = { "", "/../share/ajail", "/.." };
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		cleanup_free char *dir = xasprintf("%s%s", exe, suffixes[i]);
		cleanup_free char *probe = path_join(dir, "mkrootfs");
		struct stat st;
		if (stat(probe, &st) == 0 && S_ISDIR(st.st_mode)) {
			char real[PATH_MAX];
			return xstrdup(realpath(dir, real) ? real : dir);
		}
	}
	return NULL;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char *buf = xmalloc(65536);
	size_t n = fread(buf, 1, 65535, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

static int cmd_build_list(const char *datadir, struct aj_err *err)
{
	cleanup_free char *dir = path_join(datadir, "rootfs-recipes");
	cleanup_strv char **names = NULL;
	DIR *d = opendir(dir);
	if (!d)
		return aj_fail(err, errno, "%s", dir);
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			strv_push(&names, xstrdup(e->d_name));
	closedir(d);
	size_t n = strv_len(names);
	if (n)
		qsort(names, n, sizeof *names, cmp_str);
	printf("%-14s %-10s %s\n", "RECIPE", "BUILDER", "DESCRIPTION");
	for (size_t i = 0; i < n; i++) {
		cleanup_free char *path = path_join(dir, names[i]);
		cleanup_free char *text = read_file(path);
		struct recipe r;
		struct aj_err pe = { 0 };
		if (!text || recipe_parse(text, names[i], &r, &pe) < 0) {
			printf("%-14s %-10s (unusable: %s)\n", names[i], "-", text ? pe.msg : strerror(errno));
			continue;
		}
		printf("%-14s %-10s %s\n", names[i], r.builder, r.description);
		recipe_release(&r);
	}
	return 0;
}

static int cmd_build(struct store *s, const struct fs_args *a, struct aj_err *err)
{
	cleanup_free char *datadir = find_datadir();
	if (!datadir)
		return aj_fail(err, 0, "fs build: cannot find mkrootfs/ and rootfs-recipes/ (set AJAIL_DATADIR)");
	if (a->list)
		return cmd_build_list(datadir, err);
	if (want_args(a, "build", 1, 2, err) < 0)
		return -1;
	const char *recipe_arg = a->pos[0];
	cleanup_free char *recipe_path = strchr(recipe_arg, '/') ? xstrdup(recipe_arg)
								 : xasprintf("%s/rootfs-recipes/%s", datadir, recipe_arg);
	const char *base = strrchr(recipe_path, '/') + 1;
	const char *name = a->pos[1] ? a->pos[1] : base;
	/* A recipe is a program (its builder runs on the host): never one a jail redirected. */
	char checked[PATH_MAX];
	if (strchr(recipe_arg, '/') && realpath(recipe_arg, checked) &&
	    hostpath_check_in_cwd("fs build", recipe_arg, checked, err) < 0)
		return -1;
	cleanup_free char *text = read_file(recipe_path);
	if (!text)
		return aj_usage(err, "fs build: no recipe %s (%s); see 'ajail fs build --list'", recipe_arg, strerror(errno));
	struct recipe r;
	if (recipe_parse(text, base, &r, err) < 0)
		return -1;
	cleanup_free char *builder = xasprintf("%s/mkrootfs/%s", datadir, r.builder);
	recipe_release(&r);
	if (access(builder, X_OK) < 0)
		return aj_fail(err, errno, "fs build: builder %s", builder);
	struct store_txn t;
	if (store_txn_begin(s, name, &t, err) < 0)
		return -1;
	/* The builder's tarball goes beside the import's temp dir: the same sweep removes both. */
	cleanup_free char *tarball = xasprintf("%s/fs/.tmp/%s.tar", s->dir, name);
	char real_recipe[PATH_MAX];
	if (!realpath(recipe_path, real_recipe)) {
		store_txn_abort(&t);
		return aj_fail(err, errno, "%s", recipe_path);
	}

	if (!a->quiet)
		fprintf(stderr, "ajail: building '%s': %s %s %s\n", name, builder, real_recipe, tarball);
	fflush(stderr);
	/* The host's CA bundle, for a builder that fetches through a proxy only the host trusts (npm in
	 * mkrootfs/debian): the builder may use it during the build, never leave it in the rootfs. */
	const char *hostca = hostca_path(environ);
	pid_t pid = fork();
	if (pid == 0) {
		if (hostca)
			setenv("AJAIL_HOST_CA", hostca, 1);
		execl(builder, builder, real_recipe, tarball, (char *)NULL);
		fprintf(stderr, "ajail: exec %s: %s\n", builder, strerror(errno));
		_exit(127);
	}
	int ws = 0;
	if (pid < 0 || waitpid(pid, &ws, 0) < 0 || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
		store_txn_abort(&t);
		return aj_fail(err, 0, "fs build: the builder %s failed (%s %d); nothing was imported", builder,
			       WIFSIGNALED(ws) ? "signal" : "exit", WIFSIGNALED(ws) ? WTERMSIG(ws) : WEXITSTATUS(ws));
	}
	struct archive_stats st = { 0 };
	double t0 = now();
	cleanup_free char *meta = xasprintf("recipe %s", real_recipe);
	if (archive_import(tarball, t.dirfd, name, !a->quiet && isatty(STDERR_FILENO), &st, err) < 0 ||
	    store_txn_commit(&t, meta, err) < 0) {
		store_txn_abort(&t);
		unlink(tarball);
		return aj_err_wrap(err, "import '%s'", name);
	}
	unlink(tarball);
	if (!a->quiet)
		summary("built", name, &st, now() - t0);
	return 0;
}

int fs_cmd_main(char **args, const char *store_dir)
{
	struct aj_err err = { 0 };
	const char *verb = args && args[0] ? args[0] : NULL;
	if (!verb || strcmp(verb, "-h") == 0 || strcmp(verb, "--help") == 0 || strcmp(verb, "help") == 0) {
		fputs(fs_usage, verb ? stdout : stderr);
		return verb ? 0 : 2;
	}
	struct fs_args a = { 0 };
	int ret = -1;
	struct store s = { .fsfd = -1 };
	if (parse(args + 1, &a, verb, &err) < 0)
		goto out;
	if (a.help) {
		fputs(fs_usage, stdout);
		ret = 0;
		goto out;
	}
	static const char *const verbs[] = { "import", "list", "rm", "build", "cp", "export" };
	bool known = false;
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		known |= strcmp(verb, verbs[i]) == 0;
	if (!known) {
		aj_usage(&err, "fs: unknown command '%s'; use one of import, list, rm, build, cp, export", verb);
		goto out;
	}
	bool writes = strcmp(verb, "list") != 0;
	if (store_open(store_dir, writes, &s, &err) < 0)
		goto out;
	if (strcmp(verb, "import") == 0)
		ret = want_args(&a, verb, 2, 2, &err) < 0 ? -1 : cmd_import(&s, &a, &err);
	else if (strcmp(verb, "list") == 0)
		ret = want_args(&a, verb, 0, 0, &err) < 0 ? -1 : cmd_list(&s, &a, &err);
	else if (strcmp(verb, "rm") == 0)
		ret = want_args(&a, verb, 1, 1000, &err) < 0 ? -1 : cmd_rm(&s, &a, &err);
	else if (strcmp(verb, "build") == 0)
		ret = cmd_build(&s, &a, &err);
	else if (strcmp(verb, "cp") == 0)
		ret = want_args(&a, verb, 2, 2, &err) < 0 ? -1 : cmd_cp(&s, &a, &err);
	else
		ret = want_args(&a, verb, 2, 2, &err) < 0 ? -1 : cmd_export(&s, &a, &err);
out:
	store_close(&s);
	strv_free(a.pos);
	if (ret < 0) {
		if (err.msg[0])
			output_error(&err);
		return aj_err_exit_code(&err);
	}
	return 0;
}
