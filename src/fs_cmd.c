#include "fs_cmd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "archive.h"
#include "fs_build.h"
#include "hostca.h"
#include "hostpath.h"
#include "oci.h"
#include "oci_export.h"
#include "output.h"
#include "recipe.h"
#include "store.h"
#include "util.h"

static const char fs_usage[] =
	"Usage: ajail fs import NAME SOURCE     import a tarball, - (standard input), a directory, or an OCI\n"
	"                                       or docker-archive image (a directory or a tar of one)\n"
	"       ajail fs list [--json]          the rootfses: size, files, created, source, in use\n"
	"       ajail fs rm [--force] NAME...   remove rootfses (refused while a jail runs on one)\n"
	"       ajail fs build [-p PKG,...] [--base=NAME] RECIPE [NAME]\n"
	"                                       run a recipe's builder (mkrootfs/), import its tarball;\n"
	"                                       a recipe with a base makes a layer on it\n"
	"       ajail fs build --list           the recipes there are\n"
	"       ajail fs cp SRC DST             copy a rootfs\n"
	"       ajail fs export NAME FILE       write it to a .tar, .tar.zst, .tar.gz, .tar.xz or - (stdout)\n"
	"       ajail fs export --oci NAME FILE an OCI image archive, for podman, skopeo, Kubernetes\n"
	"       ajail fs export --k8s-job NAME  print a Kubernetes Job that runs an agent on that image\n"
	"\n"
	"Rootfses live in $AJAIL_HOME/fs (default ~/.ajail/fs); names have letters, digits, '.', '_' and '-'.\n"
	"'ajail fs COMMAND --help' shows a command's options and examples.\n";

/* Each command's own --help: what it does, its options, an example. tools/mkman.py makes the man
 * page's COMMANDS from these, so they follow its layout (Usage lines, prose, "Options:", "Example:"). */
static const struct output_verb_help fs_verb_usage[] = {
	{ "import",
	  "Usage: ajail fs import [-q] NAME SOURCE\n"
	  "\n"
	  "Import SOURCE as the new rootfs NAME: a tarball (any compression, found by content), - for standard\n"
	  "input, or a directory. Files become yours (root inside the jail), device nodes are skipped and\n"
	  "setuid bits dropped. Atomic: a failed import leaves no rootfs NAME behind.\n"
	  "\n"
	  "SOURCE may also be a container image, found by content: an OCI image layout (a directory with\n"
	  "oci-layout, or a tar of one, as podman save --format oci-archive writes), or a docker save archive\n"
	  "(podman save --format docker-archive). Its layers are applied in order, whiteouts honoured, every\n"
	  "blob checked against its digest; an image index picks this machine's platform. The image's Env,\n"
	  "WorkingDir, Entrypoint, Cmd and User are kept in the rootfs's metadata (fs list --json). A tar\n"
	  "image (a file, or - for one on standard input) is unpacked into the store first: it needs its\n"
	  "size again on disk while it is imported.\n"
	  "\n"
	  "Options:\n"
	  "  -q, --quiet          no progress bar or summary line\n"
	  "  -h, --help           this text\n"
	  "\n"
	  "Examples:\n"
	  "  ajail fs import alpine alpine-minirootfs-3.22.0-x86_64.tar.gz\n"
	  "  docker export CONTAINER | ajail fs import web -\n"
	  "  ajail fs import mine /path/to/a/root/directory\n"
	  "  podman save --format oci-archive -o web.tar web\n"
	  "  ajail fs import web web.tar\n"
	  "  docker save web | ajail fs import web -\n" },
	{ "list",
	  "Usage: ajail fs list [--json]\n"
	  "\n"
	  "List the rootfses in the store: name, size on disk, files, when it was made, its source, and\n"
	  "whether a jail runs on it. A symlink (default, say) shows the rootfs it points to.\n"
	  "\n"
	  "Options:\n"
	  "  --json               one JSON array, for scripts\n"
	  "  -h, --help           this text\n"
	  "\n"
	  "Example:\n"
	  "  ajail fs list\n" },
	{ "rm",
	  "Usage: ajail fs rm [-f] [-q] NAME...\n"
	  "\n"
	  "Remove rootfses from the store. One a jail is running on is kept, and the message names the jail.\n"
	  "A symlink (default, say) is removed itself, not the rootfs it points to.\n"
	  "\n"
	  "Options:\n"
	  "  -f, --force          remove it even while a jail runs on it\n"
	  "  -q, --quiet          no line for each rootfs removed\n"
	  "  -h, --help           this text\n"
	  "\n"
	  "Example:\n"
	  "  ajail fs rm debian-scratch\n" },
	{ "build",
	  "Usage: ajail fs build [-q|-v] [-p PKG,...] [--base=BASE] RECIPE [NAME]\n"
	  "       ajail fs build --list\n"
	  "\n"
	  "Run a recipe's builder (mkrootfs/) and import the tarball it writes as rootfs NAME (default: the\n"
	  "recipe's name). RECIPE names one in rootfs-recipes/, or with a '/' a file of your own (one 'key\n"
	  "value' per line). The builder's output goes to $AJAIL_HOME/fs/.log/NAME.log, and its last lines\n"
	  "are shown when it fails. mkrootfs/ and rootfs-recipes/ are found beside ajail, in ../share/ajail,\n"
	  "or in $AJAIL_DATADIR.\n"
	  "\n"
	  "A recipe that says 'base BASE' makes NAME a layer on the rootfs BASE of the store, holding only\n"
	  "its own files: mkrootfs/layer installs the recipe's packages and npm packages in a jail on BASE,\n"
	  "and the jail's changes are kept as the layer when it succeeds (ajail --fs=BASE --commit=NAME).\n"
	  "\n"
	  "Options:\n"
	  "  -p, --packages=PKG[,PKG...]\n"
	  "                       install these packages too, beside the recipe's own (repeatable; the\n"
	  "                       debian and alpine builders and layers, not busybox)\n"
	  "  --base=BASE          build a layer on BASE (instead of the recipe's base, or from scratch)\n"
	  "  --list               the recipes there are: name, builder, description\n"
	  "  -v, --verbose        show the builder's output as it runs\n"
	  "  -q, --quiet          no progress line or summary\n"
	  "  -h, --help           this text\n"
	  "\n"
	  "Examples:\n"
	  "  ajail fs build busybox            # offline, from busybox-static\n"
	  "  ajail fs build debian             # Debian 12 minbase (mmdebstrap)\n"
	  "  ajail fs build -p jq,curl debian debian-jq\n"
	  "  ajail fs build agents             # a layer on debian-dev\n"
	  "  ajail fs build ./my-recipe mine   # a recipe file of your own\n" },
	{ "cp",
	  "Usage: ajail fs cp [-q] SRC DST\n"
	  "\n"
	  "Copy rootfs SRC to the new rootfs DST: a full copy, so the two share nothing afterwards.\n"
	  "\n"
	  "Options:\n"
	  "  -q, --quiet          no progress bar or summary line\n"
	  "  -h, --help           this text\n"
	  "\n"
	  "Example:\n"
	  "  ajail fs cp debian debian-scratch\n" },
	{ "export",
	  "Usage: ajail fs export [-q] NAME FILE\n"
	  "       ajail fs export [-q] --oci [--tag=TAG] NAME FILE\n"
	  "       ajail fs export --k8s-job [--image=REF] NAME\n"
	  "\n"
	  "Write rootfs NAME to FILE as a tarball, compressed as FILE's name says: .tar, .tar.zst (in several\n"
	  "threads), .tar.gz, .tar.xz or .tar.bz2; - writes a plain tar to standard output. A layer is\n"
	  "written merged with its bases: the tree a jail on it sees.\n"
	  "\n"
	  "With --oci, FILE is an OCI image archive (a plain tar) that podman load, skopeo and umoci take:\n"
	  "one image layer per layer of the rootfs, its env, working directory and command from the rootfs\n"
	  "(else PATH, HOME=/root, /root and /bin/sh), named ajail/NAME:TAG (podman load makes it\n"
	  "localhost/ajail/NAME:TAG). With --k8s-job, a Kubernetes Job that runs an agent on that image is\n"
	  "printed: it clones $REPO_URL, runs $AGENT_CMD, and pushes the work as the branch ajail/<job name>.\n"
	  "\n"
	  "Options:\n"
	  "  --oci                an OCI image archive instead of a tarball of the tree\n"
	  "  --tag=TAG            the image's tag (default latest), or with a ':' or '/' its whole name\n"
	  "  --k8s-job            print a Kubernetes Job (YAML) for the image\n"
	  "  --image=REF          the image the Job runs (default ajail/NAME:latest)\n"
	  "  -q, --quiet          no progress bar or summary line\n"
	  "  -h, --help           this text\n"
	  "\n"
	  "Examples:\n"
	  "  ajail fs export debian debian.tar.zst\n"
	  "  ajail fs export debian - | ssh HOST ajail fs import debian -\n"
	  "  ajail fs export --oci debian debian-image.tar   # podman load -i it\n"
	  "  ajail fs export --k8s-job debian > job.yaml\n" },
};

struct fs_args {
	char **pos;  /* positional arguments */
	char **packages; /* build -p: added to the recipe's packages */
	char *base;	 /* build --base */
	bool json, force, quiet, list, help, verbose;
	bool oci, k8s_job;	/* export --oci, --k8s-job */
	const char *tag, *image; /* export --tag, --image (in args) */
};

/* -p PKG,PKG...: each one checked here, since it goes into a recipe a builder on the host reads. */
static int add_packages(struct fs_args *a, const char *opt, const char *list, struct aj_err *err)
{
	if (!list)
		return aj_usage(err, "fs build: %s needs a package list, e.g. %s jq,curl", opt, opt);
	size_t before = strv_len(a->packages);
	for (const char *p = list;;) {
		size_t n = strcspn(p, ",");
		if (n) {
			cleanup_free char *pkg = xstrndup(p, n);
			if (!recipe_package_ok(pkg)) {
				cleanup_free char *e = util_escape(pkg);
				return aj_usage(err, "fs build: '%s' is not a package name (lowercase letters, digits, '+', '.', "
						     "'-', '_', then :ARCH and =VERSION if wanted); give -p jq,curl",
						e);
			}
			strv_push(&a->packages, steal_pointer(&pkg));
		}
		if (!p[n])
			break;
		p += n + 1;
	}
	if (strv_len(a->packages) == before)
		return aj_usage(err, "fs build: %s '%s' names no package; give -p jq,curl", opt, list);
	return 0;
}

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
			else if (strcmp(verb, "build") == 0 && (strcmp(w, "-v") == 0 || strcmp(w, "--verbose") == 0))
				a->verbose = true;
			else if (strcmp(verb, "build") == 0 && (strcmp(w, "-p") == 0 || strcmp(w, "--packages") == 0)) {
				if (add_packages(a, w, args[i + 1], err) < 0)
					return -1;
				i++;
			} else if (strcmp(verb, "build") == 0 && str_has_prefix(w, "--packages=")) {
				if (add_packages(a, "--packages", w + strlen("--packages="), err) < 0)
					return -1;
			} else if (strcmp(verb, "build") == 0 && (str_has_prefix(w, "--base=") || strcmp(w, "--base") == 0)) {
				const char *v = w[6] == '=' ? w + 7 : args[++i];
				if (!v || !*v)
					return aj_usage(err, "fs build: --base needs a rootfs name, e.g. --base=debian");
				free(a->base);
				a->base = xstrdup(v);
			} else if (strcmp(verb, "build") == 0 && str_has_prefix(w, "-p")) {
				if (add_packages(a, "-p", w + 2, err) < 0)
					return -1;
			} else if (strcmp(verb, "export") == 0 && strcmp(w, "--oci") == 0) {
				a->oci = true;
			} else if (strcmp(verb, "export") == 0 && strcmp(w, "--k8s-job") == 0) {
				a->k8s_job = true;
			} else if (strcmp(verb, "export") == 0 &&
				   (strcmp(w, "--tag") == 0 || strcmp(w, "--image") == 0 || str_has_prefix(w, "--tag=") ||
				    str_has_prefix(w, "--image="))) {
				bool tag = str_has_prefix(w, "--tag");
				const char *v = strchr(w, '=') ? strchr(w, '=') + 1 : args[++i];
				if (!v || !*v)
					return aj_usage(err, "fs export: %s needs a value, e.g. %s", tag ? "--tag" : "--image",
							tag ? "--tag=v1" : "--image=registry.example/ajail/debian:latest");
				*(tag ? &a->tag : &a->image) = v;
			} else
				return aj_usage(err, "fs %s: unknown option '%s'; see ajail fs %s --help", verb, w, verb);
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
		return aj_usage(err, "fs %s: expected %s; see ajail fs %s --help", verb,
				strcmp(verb, "import") == 0  ? "NAME SOURCE"
				: strcmp(verb, "cp") == 0    ? "SRC DST"
				: strcmp(verb, "export") == 0 ? "NAME FILE"
				: strcmp(verb, "build") == 0 ? "RECIPE [NAME]"
							     : "NAME...",
				verb);
	return 0;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One line that says what happened, including everything that was not kept as it was. timing, when
 * given, replaces "in N s" (a build says how long its builder took besides). */
static void summary(const char *what, const char *name, const struct archive_stats *st, double secs,
		    const char *timing)
{
	cleanup_free char *size = util_human_size(st->bytes);
	uint64_t entries = st->files + st->dirs + st->symlinks + st->hardlinks;
	if (timing)
		fprintf(stderr, "ajail: %s '%s' %s: %llu entries (%llu files, %s)", what, name, timing,
			(unsigned long long)entries, (unsigned long long)st->files, size);
	else
		fprintf(stderr, "ajail: %s '%s': %llu entries (%llu files, %s) in %.2f s", what, name,
			(unsigned long long)entries, (unsigned long long)st->files, size, secs);
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
/* The summary line of a container image's import (oci.h). */
static void oci_summary(const char *name, const struct oci_import_result *res, double secs)
{
	cleanup_free char *how = xasprintf("from %s (%s%s%zu layer%s, %llu whiteout%s) in %.2f s", res->format,
					   res->platform ? res->platform : "", res->platform ? ", " : "", res->layers,
					   res->layers == 1 ? "" : "s", (unsigned long long)res->whiteouts,
					   res->whiteouts == 1 ? "" : "s", secs);
	summary("imported", name, &res->st, secs, how);
}

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
	if (strcmp(source, "-") == 0) {
		/* Standard input, read once, was a container image (podman save ... | ajail fs import X -)? */
		struct oci_import_result res;
		int r = oci_import_unpacked(s, &t, !quiet && isatty(STDERR_FILENO), &res, err);
		if (r < 0)
			store_txn_abort(&t);
		if (r > 0 && !quiet)
			oci_summary(name, &res, now() - t0);
		oci_import_result_release(&res);
		if (r != 0)
			return r < 0 ? -1 : 0;
	}
	if (store_txn_commit(&t, meta_source, err) < 0) {
		store_txn_abort(&t);
		return -1;
	}
	if (!quiet)
		summary("imported", name, &st, now() - t0, NULL);
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
		/* Refused as an empty archive is: a directory with nothing in it is no rootfs either, and
		 * would only make a jail that cannot start. */
		DIR *d = opendir(real);
		if (d) {
			struct dirent *e;
			bool empty = true;
			while (empty && (e = readdir(d)))
				empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
			closedir(d);
			if (empty) {
				cleanup_free char *esc = util_escape(source);
				return aj_fail(err, 0, "import '%s': '%s' holds no files: not a rootfs", name, esc);
			}
		}
		meta = xstrdup(real);
		/* A container image (found by content) has its own importer; anything else is a root tree. */
		struct oci_import_result res;
		double t0 = now();
		int r = oci_import(s, name, source, real, !a->quiet && isatty(STDERR_FILENO), &res, err);
		if (r > 0 && !a->quiet)
			oci_summary(name, &res, now() - t0);
		oci_import_result_release(&res);
		if (r != 0)
			return r < 0 ? -1 : 0;
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

/* An OCI image's config, as imported: present only when the image gave it. */
static void json_opt_string(const char *key, const char *v)
{
	if (!v)
		return;
	printf(", \"%s\": ", key);
	output_json_string(stdout, v);
}

static void json_opt_list(const char *key, char *const *v)
{
	if (!v)
		return;
	printf(", \"%s\": [", key);
	for (size_t i = 0; v[i]; i++) {
		if (i)
			fputs(", ", stdout);
		output_json_string(stdout, v[i]);
	}
	fputc(']', stdout);
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
			print_time(stdout, e[i].meta.created, true);
			fputs("\", \"source\": ", stdout);
			output_json_string(stdout, e[i].meta.source);
			fputs(", \"base\": ", stdout);
			if (e[i].meta.base)
				output_json_string(stdout, e[i].meta.base);
			else
				fputs("null", stdout);
			json_opt_string("workdir", e[i].meta.workdir);
			json_opt_string("user", e[i].meta.user);
			json_opt_list("env", e[i].meta.env);
			json_opt_list("entrypoint", e[i].meta.entrypoint);
			json_opt_list("cmd", e[i].meta.cmd);
			printf(", \"in_use\": %s}", e[i].in_use ? "true" : "false");
		}
		puts("]");
	} else if (n == 0) {
		fprintf(stderr, "ajail: no rootfs in %s/fs; import one with 'ajail fs import NAME TARBALL' or "
				"'ajail fs build busybox'\n", s->dir);
	} else {
		printf("%-20s %-14s %9s %8s  %-16s  %s\n", "NAME", "BASE", "SIZE", "FILES", "CREATED", "SOURCE");
		for (size_t i = 0; i < n; i++) {
			/* Escaped: the metadata of older ajails, an entry made by hand or a symlink's target
			 * may hold anything, and a terminal must not take it as a command. */
			cleanup_free char *ename = util_escape_controls(e[i].name);
			if (e[i].link) {
				cleanup_free char *elink = util_escape_controls(e[i].link);
				printf("%-20s %-14s %9s %8s  %-16s  -> %s\n", ename, "", "", "", "", elink);
				continue;
			}
			cleanup_free char *size = util_human_size(e[i].size);
			cleanup_free char *esource = util_escape_controls(*e[i].meta.source ? e[i].meta.source : "-");
			/* A layer's size is its own files: what removing it would free. */
			cleanup_free char *ebase = util_escape_controls(e[i].meta.base ? e[i].meta.base : "-");
			printf("%-20s %-14s %9s %8llu  ", ename, ebase, size, (unsigned long long)e[i].files);
			print_time(stdout, e[i].meta.created, false);
			printf("  %s%s\n", esource, e[i].in_use ? "  (in use)" : "");
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
	/* A copy of a layer's directory alone would lose its whiteouts (the copy skips device nodes)
	 * and its place on the base: say what does the job instead. */
	struct store_meta m;
	store_meta_read(s, src, &m);
	if (m.base) {
		aj_fail(err, 0, "'%s' is a layer on '%s', and fs cp copies whole rootfses; for a layer of your own on "
				"'%s' run 'ajail --fs=%s --commit=%s true', for a flat copy export it and import that", src,
			m.base, src, src, dst);
		store_meta_release(&m);
		return -1;
	}
	store_meta_release(&m);
	cleanup_free char *path = xasprintf("%s/fs/%s", s->dir, src);
	cleanup_free char *meta = xasprintf("copy of %s", src);
	return import_into(s, dst, path, meta, a->quiet, err);
}

static int cmd_export(struct store *s, const struct fs_args *a, struct aj_err *err)
{
	if (a->oci && a->k8s_job)
		return aj_usage(err, "fs export: --oci writes the image, --k8s-job prints a Job for it: one at a time");
	if (a->tag && !a->oci)
		return aj_usage(err, "fs export: --tag is for --oci");
	if (a->image && !a->k8s_job)
		return aj_usage(err, "fs export: --image is for --k8s-job");
	size_t want = a->k8s_job ? 1 : 2;
	if (strv_len(a->pos) != want)
		return aj_usage(err, "fs export: expected %s; see ajail fs export --help",
				a->k8s_job ? "NAME (the Job goes to standard output)" : "NAME FILE");
	const char *name = a->pos[0], *file = a->pos[1];
	/* An unknown name says so as fs rm and fs cp do: a usage error, with no context to wade through. */
	cleanup_close int known = store_open_rootfs(s, name, err);
	if (known < 0)
		return -1;
	if (a->k8s_job)
		return oci_export_k8s_job(s, name, a->image, stdout, err) < 0 ? aj_err_wrap(err, "export '%s'", name) : 0;
	struct archive_stats st = { 0 };
	size_t layers = 0;
	cleanup_free char *ref = NULL;
	double t0 = now();
	bool progress = !a->quiet && isatty(STDERR_FILENO);
	int r = a->oci ? oci_export_image(s, name, file, a->tag ? a->tag : "latest", progress, &st, &layers, &ref, err)
		       : oci_export_tarball(s, name, file, progress, &st, err);
	if (r < 0)
		return aj_err_wrap(err, "export '%s'", name);
	if (!a->quiet && a->oci) {
		cleanup_free char *timing = xasprintf("as the OCI image %s (%zu layer%s) in %.2f s", ref, layers,
						      layers == 1 ? "" : "s", now() - t0);
		summary("exported", name, &st, 0, timing);
	} else if (!a->quiet) {
		summary("exported", name, &st, now() - t0, NULL);
	}
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

/* The most a recipe may hold: a few dozen lines are what one needs. */
#define RECIPE_MAX (64 * 1024)

/* Read the recipe at path once: its realpath, checked (with check_cwd: a path beneath the working
 * directory must not lead out of it, see hostpath_check_in_cwd), then opened with no symlink
 * followed (one a jail swaps in after the check is refused, not read), non-blocking (a fifo is
 * refused, not waited on); a regular file of at most RECIPE_MAX bytes without a NUL. shown is how
 * messages name it; real gets the realpath. NULL with err set. */
static char *read_recipe(const char *path, const char *shown, bool check_cwd, char real[PATH_MAX],
			 struct aj_err *err)
{
	cleanup_free char *e = util_escape(shown);
	if (!realpath(path, real))
		return aj_usage(err, "fs build: no recipe %s (%s); see 'ajail fs build --list'", e, strerror(errno)),
		       NULL;
	if (check_cwd && hostpath_check_in_cwd("fs build", path, real, err) < 0)
		return NULL;
	cleanup_close int fd = hostpath_open(real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0 && errno == ELOOP)
		return aj_usage(err, "fs build: recipe %s became a symlink while ajail read it; not followed", e), NULL;
	if (fd < 0)
		return aj_fail(err, errno, "fs build: recipe %s", e), NULL;
	size_t n;
	char *buf = read_open_file(fd, RECIPE_MAX, &n);
	if (!buf && (errno == EINVAL || errno == EISDIR))
		return aj_usage(err, "fs build: recipe %s is not a regular file", e), NULL;
	if (!buf && errno == EFBIG)
		return aj_usage(err, "fs build: recipe %s is larger than %d KiB: not a recipe", e, RECIPE_MAX / 1024), NULL;
	if (!buf)
		return aj_fail(err, errno, "fs build: read recipe %s", e), NULL;
	if (memchr(buf, '\0', n)) {
		aj_usage(err, "fs build: recipe %s holds a NUL byte: not a recipe", e);
		free(buf);
		return NULL;
	}
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
		char real[PATH_MAX];
		struct recipe r;
		struct aj_err pe = { 0 };
		cleanup_free char *text = read_recipe(path, names[i], false, real, &pe);
		if (!text || recipe_parse(text, names[i], &r, &pe) < 0) {
			printf("%-14s %-10s (unusable: %s)\n", names[i], "-", pe.msg);
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
	/* A recipe is a program (its builder runs on the host): never one a jail redirected, and read
	 * once: what was checked and parsed here is the copy the builder gets (see below), whatever
	 * happens to the file meanwhile. */
	char real_recipe[PATH_MAX];
	cleanup_free char *text = read_recipe(recipe_path, recipe_arg, strchr(recipe_arg, '/') != NULL, real_recipe, err);
	if (!text)
		return -1;
	if (a->base) {
		char *based = recipe_set_base(text, a->base);
		free(text);
		text = based;
	}
	struct recipe r;
	if (recipe_parse(text, base, &r, err) < 0)
		return -1;
	if (r.base) {
		/* A layer: built in a jail on its base (fs_build.h). */
		cleanup_free char *merged = a->packages ? recipe_add_packages(text, a->packages) : xstrdup(text);
		const struct fs_build_layer l = { .name = name, .base = r.base, .text = merged, .recipe_path = real_recipe,
						  .datadir = datadir, .quiet = a->quiet, .verbose = a->verbose };
		int ret = fs_build_layer(s, &l, err);
		recipe_release(&r);
		return ret;
	}
	cleanup_free char *builder = xasprintf("%s/mkrootfs/%s", datadir, r.builder);
	cleanup_free char *builder_name = xstrdup(r.builder);
	recipe_release(&r);
	if (a->packages && strcmp(builder_name, "busybox") == 0)
		return aj_usage(err, "fs build: the busybox builder installs no packages (it copies the host's busybox); "
				     "-p works with recipes whose builder is debian or alpine");
	if (access(builder, X_OK) < 0)
		return aj_fail(err, errno, "fs build: builder %s", builder);
	cleanup_free char *packages = a->packages ? strv_join(a->packages, ",") : NULL;
	struct store_txn t;
	if (store_txn_begin(s, name, &t, err) < 0)
		return -1;
	/* The build's own directory beside the import's: its recipe, its tarball and whatever the builder
	 * writes beside it (NAME.tar.part) go with it, after a failure or at the next sweep. */
	cleanup_free char *work = xasprintf("%s" STORE_BUILD_SUFFIX, name);
	cleanup_free char *workdir = xasprintf("%s/fs/.tmp/%s", s->dir, work);
	cleanup_free char *tarball = xasprintf("%s/%s.tar", workdir, name);
	cleanup_free char *derived = xasprintf("%s/recipe", workdir);
	cleanup_close int tmpfd = openat(s->fsfd, ".tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tmpfd >= 0)
		store_remove_tree(tmpfd, work);
	if (tmpfd < 0 || mkdirat(tmpfd, work, 0700) < 0) {
		aj_fail(err, errno, "fs build: create %s", workdir);
		store_txn_abort(&t);
		return -1;
	}
	{
		/* The recipe as parsed above (with the packages added), where only we can write it: the
		 * builder reads this copy, never the file a jail may have changed since. */
		cleanup_free char *merged = packages ? recipe_add_packages(text, a->packages) : xstrdup(text);
		cleanup_free char *rel = xasprintf("%s/recipe", work);
		cleanup_close int fd = openat(tmpfd, rel, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 || write_all(fd, merged, strlen(merged)) < 0) {
			aj_fail(err, errno, "fs build: write %s", derived);
			store_txn_abort(&t);
			return -1;
		}
	}
	char *argv[] = { builder, derived, tarball, NULL };
	struct fs_build b = {
		.name = name,
		.builder = builder,
		.builder_name = builder_name,
		.argv = argv,
		/* The host's CA bundle, for a builder that fetches through a proxy only the host trusts
		 * (npm in mkrootfs/debian): the builder may use it during the build, never leave it in
		 * the rootfs. */
		.host_ca = hostca_path(environ),
		.store_dir = s->dir,
		.fsfd = s->fsfd,
		.lockfd = t.lockfd,
		.quiet = a->quiet,
		.verbose = a->verbose,
	};
	double build_secs = 0;
	int built = fs_build_run(&b, &build_secs, err);
	if (built < 0) {
		if (built != -2)
			store_txn_abort(&t);
		return -1;
	}
	if (access(tarball, F_OK) < 0) {
		store_txn_abort(&t);
		return aj_fail(err, 0, "fs build: the builder %s exited 0 but wrote no %s; nothing was imported", builder,
			       tarball);
	}
	struct archive_stats st = { 0 };
	double t0 = now();
	cleanup_free char *meta = packages ? xasprintf("recipe %s -p %s", real_recipe, packages)
					   : xasprintf("recipe %s", real_recipe);
	if (archive_import(tarball, t.dirfd, name, !a->quiet && isatty(STDERR_FILENO), &st, err) < 0) {
		aj_err_wrap(err, "import '%s'", name);
		fs_build_explain_import(&b, err);
		store_txn_abort(&t);
		return -1;
	}
	/* The tarball goes before the commit: the import's copy is all that is kept. */
	store_remove_tree(tmpfd, work);
	if (store_txn_commit(&t, meta, err) < 0) {
		store_txn_abort(&t);
		return aj_err_wrap(err, "import '%s'", name);
	}
	double import_secs = now() - t0;
	if (!a->quiet) {
		cleanup_free char *timing = xasprintf("in %.1f s (builder %.1f s, import %.1f s)", build_secs + import_secs,
						      build_secs, import_secs);
		summary("built", name, &st, 0, timing);
	}
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
	const char *verb_usage = output_verb_usage(fs_verb_usage, sizeof fs_verb_usage / sizeof fs_verb_usage[0], verb);
	if (!verb_usage) {
		cleanup_free char *everb = util_escape(verb);
		aj_usage(&err, "fs: unknown command '%s'; use one of import, list, rm, build, cp, export "
			       "(ajail fs --help)",
			 everb);
		goto out;
	}
	if (output_wants_help(args + 1)) {
		fputs(verb_usage, stdout);
		return 0;
	}
	if (parse(args + 1, &a, verb, &err) < 0)
		goto out;
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
		ret = cmd_export(&s, &a, &err);
out:
	store_close(&s);
	strv_free(a.pos);
	strv_free(a.packages);
	free(a.base);
	if (ret < 0) {
		if (err.msg[0])
			output_error(&err);
		return aj_err_exit_code(&err);
	}
	return 0;
}
