/* main.c — the verb table. Gathers the facts a plan needs, prints an error once, sets the exit
 * status: the command's own, 2 for usage, 1 for failure, 126/127 when the command cannot run. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "cli.h"
#include "clone_cmd.h"
#include "config.h"
#include "deliver.h"
#include "error.h"
#include "fs_cmd.h"
#include "harden.h"
#include "hostca.h"
#include "hostpath.h"
#include "layer.h"
#include "output.h"
#include "plan.h"
#include "profile.h"
#include "sandbox.h"
#include "state_cmd.h"
#include "store.h"
#include "trust_cmd.h"
#include "tty.h"
#include "workspace.h"
#include "util.h"

extern char **environ;

/* The lines of a small file (the workspace's list of deleted paths), or NULL. */
static char **read_lines(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char **v = NULL;
	char buf[PATH_MAX + 2];
	while (fgets(buf, sizeof buf, f)) {
		buf[strcspn(buf, "\n")] = '\0';
		if (buf[0])
			strv_push(&v, xstrdup(buf));
	}
	fclose(f);
	return v;
}

/* After a --clone session: record it, deliver the branch, or remove a workspace the jail never used. */
static void finish_clone(struct workspace *ws, const struct ws_repo *repo, const char *deleted_file, int status)
{
	struct aj_err err = { 0 };
	if (status < 0) {
		/* The jail could not start: nothing was done in the workspace. */
		workspace_discard(ws);
		return;
	}
	/* The deletions it carried were applied as whiteouts: never again. */
	unlink(deleted_file);
	if (workspace_record_end(ws, status, &err) < 0)
		output_error(&err);
	int commits = 0;
	cleanup_free char *ref = NULL;
	/* Every name below may carry what the jail chose: output_note escapes them. */
	if (deliver_workspace(ws->dir, &commits, &ref, &err) < 0) {
		output_error(&err);
		output_note("the work stays in %s; deliver it later with 'ajail clone sync %s'", ws->dir, ws->id);
	} else {
		/* Even with -q: where the work went (or that there was none) is the one line a user of
		 * --clone cannot do without. */
		if (commits > 0)
			output_note("delivered %d commit%s of workspace %s as %s in %s", commits, commits == 1 ? "" : "s",
				    ws->id, ref ? ref : "?", repo->toplevel);
		else
			output_note("workspace %s has no new commits; nothing delivered (it stays in %s)", ws->id, ws->dir);
	}
	workspace_release(ws);
}

/* The agent profile of this run: --profile=NAME, else the one named as the command is (claude,
 * codex, ...); the user's own file of that name replaces the shipped one. 1 when there is one. */
static int load_profile(const struct opts *o, struct profile *pr, struct aj_err *err)
{
	if (o->no_profile)
		return 0;
	const char *name = o->profile;
	if (!name && o->argv && o->argv[0])
		name = profile_command_name(o->argv[0]);
	if (!name)
		return 0;
	if (!profile_name_ok(name))
		return aj_usage(err, "--profile=%s: a profile name has letters, digits, '-', '_' and '.'", name);
	cleanup_free char *rel = xasprintf("profiles/%s", name);
	cleanup_free char *path = config_user_file(environ, rel);
	cleanup_free char *text = path ? read_file_at(AT_FDCWD, path, PROFILE_MAX_TEXT) : NULL;
	if (!text && path && errno != ENOENT && errno != ENOTDIR)
		return aj_fail(err, errno, "profile %s: %s", name, path);
	const char *use = text ? text : profile_shipped(name);
	if (!use) {
		if (!o->profile)
			return 0;
		const char *const *names = profile_shipped_names();
		cleanup_free char *list = strv_join((char **)names, ", ");
		return aj_usage(err, "--profile=%s: no such profile (shipped: %s; your own go in %s)", name, list,
				path ? path : "~/.config/ajail/profiles/NAME");
	}
	if (profile_parse(use, name, text ? path : "shipped", pr, err) < 0)
		return -1;
	return 1;
}

/* $AJAIL_HOME/state/NAME, made (0700: sign-ins live there) when missing, canonical. Made step by
 * step without following a symlink: the store is the user's own, but a path is checked once. */
static char *make_state_dir(const char *store, const char *name, struct aj_err *err)
{
	if (mkdir(store, 0700) < 0 && errno != EEXIST) {
		aj_fail(err, errno, "create %s", store);
		return NULL;
	}
	cleanup_close int sfd = open(store, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0 || (mkdirat(sfd, "state", 0700) < 0 && errno != EEXIST)) {
		aj_fail(err, errno, "create %s/state", store);
		return NULL;
	}
	cleanup_close int dfd = openat(sfd, "state", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 || (mkdirat(dfd, name, 0700) < 0 && errno != EEXIST)) {
		aj_fail(err, errno, "create %s/state/%s", store, name);
		return NULL;
	}
	cleanup_close int nfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (nfd < 0) {
		aj_fail(err, errno, "open %s/state/%s (a symlink is not followed)", store, name);
		return NULL;
	}
	char buf[64];
	snprintf(buf, sizeof buf, "/proc/self/fd/%d", nfd);
	char real[PATH_MAX];
	ssize_t n = readlink(buf, real, sizeof real - 1);
	if (n <= 0) {
		aj_fail(err, errno, "%s/state/%s", store, name);
		return NULL;
	}
	real[n] = '\0';
	return xstrdup(real);
}

/* A run that stops before its jail: what was made for it goes (the clone workspace, when ws), and
 * the error is printed once. Returns the exit status. */
static int run_abort(struct rootfs *rootfs, struct workspace *ws, struct ws_repo *repo, struct aj_err *err)
{
	store_rootfs_release(rootfs);
	if (ws)
		workspace_discard(ws);
	workspace_repo_release(repo);
	output_error(err);
	return aj_err_exit_code(err);
}

static int cmd_run(struct opts *o, const struct trust_project *proj, const char *store)
{
	struct aj_err err = { 0 };
	struct rootfs rootfs;
	if (store_resolve(store, o->fs, &rootfs, &err) < 0) {
		output_error(&err);
		return aj_err_exit_code(&err);
	}
	char cwdbuf[PATH_MAX];
	__attribute__((cleanup(hostpath_git_release))) struct hostpath_git git = { 0 };
	struct facts f = {
		.uid = getuid(),
		.gid = getgid(),
		.legacy_tiocsti = read_int_file("/proc/sys/dev/tty/legacy_tiocsti", -1),
		.environ = environ,
		.rootfs = &rootfs,
		.probe = hostpath_probe,
		.tty_fds = tty_detect(),
		.landlock_abi = harden_landlock_abi(),
		.store_dir = store,
	};
	/* --memory/--cpus/--pids: where the jail's cgroup can go is a fact; plan_build decides what a
	 * missing one means (an error, or RLIMIT_NPROC for --pids alone). */
	cleanup_free char *cg_parent = NULL;
	struct aj_err cg_err = { 0 };
	struct cg_limits cg_lim = { .memory = o->memory, .cpus_milli = o->cpus_milli, .pids = o->pids };
	/* Root's lockdown needs a pids cgroup: the kernel exempts root from RLIMIT_NPROC. */
	if (o->lockdown && f.uid == 0 && !cg_lim.pids)
		cg_lim.pids = 1;
	if (cgroup_limits_set(&cg_lim) && cgroup_find_parent("", &cg_lim, &cg_parent, &cg_err) == 0) {
		f.cgroup_parent = cg_parent;
	} else if (cgroup_limits_set(&cg_lim)) {
		f.cgroup_error = cg_err.msg;
		struct aj_err v1_err = { 0 };
		if (f.uid == 0 && !cg_lim.memory && !cg_lim.cpus_milli && cgroup_v1_pids_parent("", &cg_parent, &v1_err) == 0) {
			f.cgroup_parent = cg_parent;
			f.cgroup_v1 = true;
		}
	}
	/* The agent profile, and where its state lives. */
	__attribute__((cleanup(profile_release))) struct profile profile = { 0 };
	int have_profile = load_profile(o, &profile, &err);
	if (have_profile < 0) {
		store_rootfs_release(&rootfs);
		output_error(&err);
		return aj_err_exit_code(&err);
	}
	cleanup_free char *state_dir = NULL;
	cleanup_close int state_lockfd = -1; /* held while the jail runs: `state rm` waits for it */
	if (have_profile) {
		f.profile = &profile;
		if (profile.n_state && !o->lockdown && store) {
			state_dir = o->dry_run ? xasprintf("%s/state/%s", store, profile.name)
					       : make_state_dir(store, profile.name, &err);
			if (!state_dir) {
				store_rootfs_release(&rootfs);
				output_error(&err);
				return aj_err_exit_code(&err);
			}
			f.state_dir = state_dir;
			if (!o->dry_run)
				state_lockfd = state_lock(store, profile.name);
		}
	}
	f.host_ca = hostca_path(environ);
	/* The user's own network presets, when --allow-net (or a profile's preset) may need them. */
	cleanup_free char *presets_path = NULL, *presets = NULL;
	if (o->net == NET_ALLOW) {
		presets_path = config_user_file(environ, "net-presets");
		if (presets_path) {
			presets = read_file_at(AT_FDCWD, presets_path, 1 << 20);
			if (!presets && errno != ENOENT && errno != ENOTDIR) {
				fprintf(stderr, "ajail: %s: %s\n", presets_path, strerror(errno));
				store_rootfs_release(&rootfs);
				return 1;
			}
		}
		f.net_presets = presets;
		f.net_presets_path = presets_path;
	}
	if (getcwd(cwdbuf, sizeof cwdbuf) && cwdbuf[0] == '/') {
		/* An unreadable cwd would only fail later, inside, with a worse message. */
		if (access(cwdbuf, R_OK | X_OK) == 0) {
			f.cwd = cwdbuf;
			const char *home_env = getenv("HOME");
			char home[PATH_MAX];
			hostpath_find_git(cwdbuf, home_env && realpath(home_env, home) ? home : NULL, &git);
			f.cwd_in_git = git.in_tree;
			/* Only a worktree at the cwd itself: above it, the jail would not see its .git file. */
			if (git.commondir && strcmp(git.top, cwdbuf) == 0) {
				f.git_commondir = git.commondir;
				f.git_worktree_dir = git.gitdir;
			}
			f.git_warning = git.top && strcmp(git.top, cwdbuf) == 0 ? git.warning : NULL;
		} else {
			f.cwd_errno = errno;
		}
	} else {
		f.cwd_errno = errno ? errno : ENOENT;
	}
	/* --clone: the workspace is one more input to the plan, made before it. */
	struct ws_repo repo = { 0 };
	struct workspace ws = { .lockfd = -1 };
	struct clone_facts cf = { 0 };
	cleanup_strv char **deleted = NULL;
	cleanup_free char *deleted_file = NULL;
	if (o->clone && f.cwd && !o->dry_run && git.dotgit_file && !git.verified) {
		/* libgit2 would follow the .git file wherever it points: another repository of the user's,
		 * which the agent would then read as its origin. */
		store_rootfs_release(&rootfs);
		aj_usage(&err, "--clone: %s/.git is a file whose gitdir git's own back-links do not confirm (a jail can write "
			       ".git files); check it, or run 'git worktree repair' there",
			 git.top);
		output_error(&err);
		return 2;
	}
	if (o->clone && f.cwd && !o->dry_run) {
		/* Every usage error the plan can find without the clone is found before the clone is made:
		 * a refused run leaves no workspace and no base checkout behind. */
		struct plan trial;
		if (plan_build(o, &f, &trial, &err) < 0) {
			store_rootfs_release(&rootfs);
			output_error(&err);
			return aj_err_exit_code(&err);
		}
		plan_release(&trial);
		workspace_set_progress(!o->quiet && isatty(STDERR_FILENO));
		if (workspace_make(f.cwd, store, o->clone_branch, o->clone_dirty, &repo, &ws, &err) < 0) {
			store_rootfs_release(&rootfs);
			workspace_repo_release(&repo);
			output_error(&err);
			return aj_err_exit_code(&err);
		}
		deleted_file = path_join(ws.dir, "deleted");
		deleted = read_lines(deleted_file);
		cf = (struct clone_facts){ .toplevel = repo.toplevel, .commondir = repo.commondir, .lower = ws.lower,
					   .upper = ws.upper, .work = ws.work, .gitdir = ws.gitdir, .branch = ws.branch,
					   .id = ws.id, .push = o->clone_push, .deleted = deleted };
		f.clone = &cf;
		f.git_commondir = NULL;
		if (repo.has_lfs && !o->quiet)
			output_note("Git LFS files stay LFS pointers in the clone (ajail runs no filters)");
		if (repo.has_submodules && !o->quiet)
			output_note("submodules are not checked out in the clone, as after a plain git clone; "
				    "'git submodule update --init' inside fetches them");
	} else if (o->clone && o->dry_run) {
		output_note("--dry-run: no clone workspace is made, so the plan shows the working directory");
	}
	/* --commit: the new layer's directories, under the store's import lock of its name; --fs-edit
	 * of a layer: overlayfs's work directory. Made last, so a usage error above leaves neither. */
	struct layer_commit commit = { 0 };
	if (o->commit && !o->dry_run) {
		struct plan trial;
		f.commit_upper = f.commit_work = "-"; /* a trial: the directories are made only if it passes */
		int tr = plan_build(o, &f, &trial, &err);
		if (tr == 0)
			plan_release(&trial);
		if (tr < 0 || layer_commit_begin(store, o->commit, &rootfs, &commit, &err) < 0)
			return run_abort(&rootfs, f.clone ? &ws : NULL, &repo, &err);
		f.commit_upper = commit.upper;
		f.commit_work = commit.work;
		f.commit_dev = commit.dev;
		f.commit_ino = commit.ino;
	} else if (o->commit) {
		f.commit_upper = rootfs.store_name ? "<store>/fs/.tmp/NAME" : NULL;
		f.commit_work = "<store>/fs/.tmp/NAME@work";
	}
	if (o->fs_edit && rootfs.n_bases && !o->dry_run && layer_edit_prepare(store, &rootfs, &err) < 0)
		return run_abort(&rootfs, f.clone ? &ws : NULL, &repo, &err);
	struct plan plan;
	if (plan_build(o, &f, &plan, &err) < 0) {
		struct aj_err quiet = { 0 };
		layer_commit_end(&commit, false, -1, NULL, &quiet);
		layer_edit_finish(store, &rootfs);
		return run_abort(&rootfs, f.clone ? &ws : NULL, &repo, &err);
	}
	store_rootfs_release(&rootfs);
	if (plan.verbose)
		for (size_t i = 0; plan.notes && plan.notes[i]; i++)
			output_note("%s", plan.notes[i]);
	for (size_t i = 0; plan.warnings && plan.warnings[i] && !plan.quiet; i++)
		output_note("%s", plan.warnings[i]);
	if (o->dry_run) {
		plan_print(&plan, stdout);
		trust_cmd_print(proj, stdout, false);
		plan_release(&plan);
		return 0;
	}
	/* `fs rm` must see that this rootfs is in use (it refuses to pull a root from under a jail), and
	 * --fs-edit must not change a rootfs other jails stand on. */
	int reg = plan.rootfs.kind == ROOTFS_DIR
			  ? store_register_jail(store, plan.rootfs.path, o->fs_edit || o->fs_edit_dirs, &err)
			  : -1;
	int base_fds[STORE_MAX_DEPTH];
	if (reg != -2 && layer_register_bases(store, &plan.rootfs, base_fds, &err) < 0) {
		store_unregister_jail(store, reg);
		reg = -2;
	}
	if (reg == -2) {
		layer_commit_end(&commit, false, -1, NULL, &err);
		layer_edit_finish(store, &plan.rootfs);
		plan_release(&plan);
		if (f.clone)
			workspace_discard(&ws);
		workspace_repo_release(&repo);
		output_error(&err);
		return aj_err_exit_code(&err);
	}
	if (!plan.quiet) {
		plan_print_status(&plan, stderr);
		trust_cmd_print(proj, stderr, true);
	}
	fflush(stderr);
	if (f.clone && workspace_record_start(&ws, plan.argv, plan.rootfs.name, &err) < 0)
		output_error(&err);
	int status = 0;
	cleanup_free char *pending = reg >= 0 ? store_pending_path(store, plan.rootfs.path) : NULL;
	struct sandbox_use use = { .fd = reg, .pending = pending };
	int r = sandbox_run(&plan, &use, &status, &err);
	struct aj_err cerr = { 0 };
	if (commit.open && layer_commit_end(&commit, r == 0 && status == 0, r == 0 ? status : -1, plan.argv, &cerr) < 0) {
		output_error(&cerr);
		if (r == 0)
			status = 1; /* the command succeeded, but what it made was not kept */
	}
	layer_edit_finish(store, &plan.rootfs);
	layer_unregister_bases(store, &plan.rootfs, base_fds);
	store_unregister_jail(store, reg);
	plan_release(&plan);
	cleanup_free char *net_summary = use.net_summary;
	if (r == 0 && net_summary && !o->quiet)
		output_note("network: %s", net_summary);
	if (f.clone && net_summary && workspace_record_network(&ws, net_summary, &err) < 0)
		output_error(&err);
	if (f.clone)
		finish_clone(&ws, &repo, deleted_file, r < 0 ? -1 : status);
	workspace_repo_release(&repo);
	if (r < 0) {
		output_error(&err);
		return aj_err_exit_code(&err);
	}
	return status;
}

/* In the layout tools/mkman.py reads (see fs_cmd.c). */
static const char doctor_usage[] =
	"Usage: ajail doctor [--json]\n"
	"\n"
	"Check what jails need on this machine: an unprivileged user namespace and an overlay inside it\n"
	"(tried in a throw-away child), Landlock, seccomp, cgroup v2 limits, and the store. Each failure says\n"
	"what to change. Exit status 1 when jails cannot run here.\n"
	"\n"
	"Options:\n"
	"  --json               one JSON object, for scripts\n"
	"  -h, --help           this text\n"
	"\n"
	"Example:\n"
	"  ajail doctor\n";

/* `ajail doctor [--json]`: can this machine run jails, and where is the store? */
static int cmd_doctor(const struct opts *o, const char *store)
{
	bool json = false;
	if (output_wants_help(o->verb_args)) {
		fputs(doctor_usage, stdout);
		return 0;
	}
	for (size_t i = 0; o->verb_args && o->verb_args[i]; i++) {
		if (strcmp(o->verb_args[i], "--json") == 0) {
			json = true;
		} else {
			cleanup_free char *e = util_escape(o->verb_args[i]);
			fprintf(stderr,
				"ajail: doctor: unknown argument '%s'; it takes only --json (usage: ajail doctor "
				"[--json])\n",
				e);
			return 2;
		}
	}
	struct sandbox_check c[12];
	size_t n = sandbox_doctor(c, 8);
	int abi = harden_landlock_abi();
	c[n] = (struct sandbox_check){ .name = "landlock", .ok = abi >= 2, .required = false };
	snprintf(c[n].detail, sizeof c[n].detail, "%s%.0d%s", abi >= 2 ? "ABI " : abi == 1 ? "ABI 1: too old, " : "",
		 abi >= 2 ? abi : 0,
		 abi >= 2   ? (abi >= 6 ? ": writes, TCP and scopes" : abi >= 4 ? ": writes and TCP" : ": writes only")
		 : abi == 1 ? "jails run without it"
			    : "none (Linux 5.19+ with lsm=landlock): jails run without it");
	n++;
	c[n] = (struct sandbox_check){ .name = "seccomp", .ok = access("/proc/sys/kernel/seccomp/actions_avail", R_OK) == 0,
				       .required = false };
	snprintf(c[n].detail, sizeof c[n].detail, "%s",
		 c[n].ok ? "filters work (the deny list)" : "no CONFIG_SECCOMP_FILTER: run with --no-seccomp");
	n++;
	struct cg_limits all = { .memory = 1, .cpus_milli = 1, .pids = 1 };
	cleanup_free char *cg_parent = NULL;
	struct aj_err cg_err = { 0 };
	c[n] = (struct sandbox_check){ .name = "cgroup v2 limits", .required = false };
	c[n].ok = cgroup_find_parent("", &all, &cg_parent, &cg_err) == 0;
	snprintf(c[n].detail, sizeof c[n].detail, "%s%s", c[n].ok ? "--memory, --cpus and --pids work, under " : "",
		 c[n].ok ? cg_parent : cg_err.msg);
	n++;
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
	/* A setuid ajail would hand every user the caller-chosen mounts of another identity. Installed
	 * setuid but run by its owner the ids agree: the file's mode says it too. */
	struct stat self;
	if (getuid() != geteuid() || getgid() != getegid() ||
	    (stat("/proc/self/exe", &self) == 0 && (self.st_mode & (S_ISUID | S_ISGID)))) {
		fputs("ajail: refusing to run setuid or setgid; install it as a plain executable (chmod u-s,g-s)\n", stderr);
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
	/* A run in a repository with a trusted .ajail.conf: o is parsed again with its options. */
	__attribute__((cleanup(trust_project_release))) struct trust_project proj = { 0 };
	if (trust_cmd_apply(argc, argv, &o, &proj, &err) < 0) {
		output_error(&err);
		opts_release(&o);
		return aj_err_exit_code(&err);
	}
	cleanup_free char *store = config_store_dir(environ);
	int rc;
	if (o.help) {
		fputs(cli_usage(), stdout);
		rc = 0;
	} else if (o.version) {
		puts("ajail " AJAIL_VERSION);
		rc = 0;
	} else if (o.verb == VERB_FS) {
		rc = fs_cmd_main(o.verb_args, store);
	} else if (o.verb == VERB_CLONE) {
		rc = clone_cmd_main(o.verb_args, store);
	} else if (o.verb == VERB_DOCTOR) {
		rc = cmd_doctor(&o, store);
	} else if (o.verb == VERB_STATE) {
		rc = state_cmd_main(o.verb_args, store);
	} else if (o.verb == VERB_TRUST) {
		rc = trust_cmd_main(o.verb_args, store);
	} else {
		rc = cmd_run(&o, &proj, store);
	}
	opts_release(&o);
	return rc;
}
