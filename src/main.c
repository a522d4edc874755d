/* main.c — the verb table. Gathers the facts a plan needs, prints an error once, sets the exit
 * status: the command's own, 2 for usage, 1 for failure, 126/127 when the command cannot run. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "error.h"
#include "fs_cmd.h"
#include "output.h"
#include "plan.h"
#include "sandbox.h"
#include "store.h"
#include "tty.h"
#include "util.h"

extern char **environ;

static int probe_host(const char *path, bool follow, char **out, enum fact_type *type, void *ctx)
{
	struct stat st;
	*out = NULL;
	if (follow) {
		char real[PATH_MAX];
		if (!realpath(path, real) || stat(real, &st) < 0) {
			*type = FT_MISSING;
			return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
		}
		*out = xstrdup(real);
	} else {
		if (lstat(path, &st) < 0) {
			*type = FT_MISSING;
			return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
		}
		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlink(path, target, sizeof target - 1);
			if (n < 0)
				return -1;
			target[n] = '\0';
			*out = xstrdup(target);
			*type = FT_SYMLINK;
			return 0;
		}
		*out = xstrdup(path);
	}
	*type = S_ISDIR(st.st_mode) ? FT_DIR : S_ISREG(st.st_mode) ? FT_FILE : FT_OTHER;
	return 0;
}

/* Is dir inside a git work tree? A few stats up the tree, no git process. */
static bool in_git_tree(const char *dir)
{
	cleanup_free char *d = xstrdup(dir);
	for (;;) {
		cleanup_free char *g = path_join(d, ".git");
		struct stat st;
		if (lstat(g, &st) == 0)
			return true;
		char *slash = strrchr(d, '/');
		if (!slash || slash == d)
			return false;
		*slash = '\0';
	}
}

static int cmd_run(struct opts *o)
{
	struct aj_err err = { 0 };
	cleanup_free char *store = config_store_dir(environ);
	struct rootfs rootfs;
	if (store_resolve(store, o->fs, &rootfs, &err) < 0) {
		output_error(&err);
		return aj_err_exit_code(&err);
	}
	char cwdbuf[PATH_MAX];
	struct facts f = {
		.uid = getuid(),
		.gid = getgid(),
		.legacy_tiocsti = read_int_file("/proc/sys/dev/tty/legacy_tiocsti", -1),
		.environ = environ,
		.rootfs = &rootfs,
		.probe = probe_host,
		.tty_fds = tty_detect(),
	};
	if (getcwd(cwdbuf, sizeof cwdbuf) && cwdbuf[0] == '/') {
		/* An unreadable cwd would only fail later, inside, with a worse message. */
		if (access(cwdbuf, R_OK | X_OK) == 0) {
			f.cwd = cwdbuf;
			f.cwd_in_git = in_git_tree(cwdbuf);
		} else {
			f.cwd_errno = errno;
		}
	} else {
		f.cwd_errno = errno ? errno : ENOENT;
	}
	struct plan plan;
	if (plan_build(o, &f, &plan, &err) < 0) {
		store_rootfs_release(&rootfs);
		output_error(&err);
		return aj_err_exit_code(&err);
	}
	store_rootfs_release(&rootfs);
	if (plan.verbose)
		for (size_t i = 0; plan.notes && plan.notes[i]; i++)
			output_note("%s", plan.notes[i]);
	if (o->dry_run) {
		plan_print(&plan, stdout);
		plan_release(&plan);
		return 0;
	}
	if (plan.warning && !plan.quiet)
		output_note("%s", plan.warning);
	if (!plan.quiet)
		plan_print_status(&plan, stderr);
	fflush(stderr);
	/* `fs rm` must see that this rootfs is in use (it refuses to pull a root from under a jail). */
	int reg = plan.rootfs.kind == ROOTFS_DIR ? store_register_jail(store, plan.rootfs.path, plan.argv) : -1;
	int status = 0;
	int r = sandbox_run(&plan, &status, &err);
	store_unregister_jail(store, reg);
	plan_release(&plan);
	if (r < 0) {
		output_error(&err);
		return aj_err_exit_code(&err);
	}
	return status;
}

/* `ajail doctor [--json]`: can this machine run jails, and where is the store? */
static int cmd_doctor(const struct opts *o)
{
	bool json = false;
	for (size_t i = 0; o->verb_args && o->verb_args[i]; i++) {
		if (strcmp(o->verb_args[i], "--json") == 0) {
			json = true;
		} else if (strcmp(o->verb_args[i], "-h") == 0 || strcmp(o->verb_args[i], "--help") == 0) {
			puts("Usage: ajail doctor [--json]\nCheck that this kernel lets this user run jails; exit 1 if not.");
			return 0;
		} else {
			fprintf(stderr, "ajail: doctor: unknown argument '%s'; usage: ajail doctor [--json]\n", o->verb_args[i]);
			return 2;
		}
	}
	struct sandbox_check c[8];
	size_t n = sandbox_doctor(c, 7);
	cleanup_free char *store = config_store_dir(environ);
	cleanup_strv char **names = store ? store_list_names(store) : NULL;
	c[n] = (struct sandbox_check){ .name = "store", .ok = true, .required = false };
	snprintf(c[n].detail, sizeof c[n].detail, "%s/fs: %zu rootfs%s%s", store ? store : "(no HOME)", strv_len(names),
		 strv_len(names) == 1 ? "" : "es",
		 strv_contains(names, "default") ? ", 'default' is the default" : ", no 'default': the host rootfs serves");
	n++;
	bool ok = true;
	for (size_t i = 0; i < n; i++)
		ok &= c[i].ok || !c[i].required;
	if (json) {
		fputs("{\"ok\": ", stdout);
		fputs(ok ? "true" : "false", stdout);
		fputs(", \"checks\": [", stdout);
		for (size_t i = 0; i < n; i++) {
			printf("%s{\"name\": ", i ? ", " : "");
			output_json_string(stdout, c[i].name);
			printf(", \"ok\": %s, \"required\": %s, \"detail\": ", c[i].ok ? "true" : "false",
			       c[i].required ? "true" : "false");
			output_json_string(stdout, c[i].detail);
			putchar('}');
		}
		puts("]}");
	} else {
		for (size_t i = 0; i < n; i++)
			printf("%-4s %-30s %s\n", c[i].ok ? "ok" : c[i].required ? "FAIL" : "warn", c[i].name, c[i].detail);
		puts(ok ? "ajail can run jails here." : "ajail cannot run jails here; see FAIL above.");
	}
	return ok ? 0 : 1;
}

int main(int argc, char *argv[])
{
	/* A setuid ajail would hand every user the caller-chosen mounts of another identity. */
	if (getuid() != geteuid() || getgid() != getegid()) {
		fputs("ajail: refusing to run setuid or setgid; install it as a plain executable\n", stderr);
		return 1;
	}
	struct opts o;
	struct aj_err err = { 0 };
	opts_init(&o);
	if (cli_parse(argc, argv, getenv("AJAIL_ARGS"), &o, &err) < 0) {
		output_error(&err);
		opts_release(&o);
		return aj_err_exit_code(&err);
	}
	int rc;
	if (o.help) {
		fputs(cli_usage(), stdout);
		rc = 0;
	} else if (o.version) {
		puts("ajail " AJAIL_VERSION);
		rc = 0;
	} else if (o.verb == VERB_FS) {
		cleanup_free char *store = config_store_dir(environ);
		rc = fs_cmd_main(o.verb_args, store);
	} else if (o.verb == VERB_DOCTOR) {
		rc = cmd_doctor(&o);
	} else if (o.verb != VERB_RUN) {
		static const char *const names[] = { [VERB_FS] = "fs", [VERB_CLONE] = "clone", [VERB_DOCTOR] = "doctor" };
		fprintf(stderr, "ajail: '%s' is not available in this version yet; to run a program named %s, use 'ajail -- %s'\n",
			names[o.verb], names[o.verb], names[o.verb]);
		rc = 2;
	} else {
		rc = cmd_run(&o);
	}
	opts_release(&o);
	return rc;
}
