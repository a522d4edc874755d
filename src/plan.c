#include "plan.h"

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util.h"

void plan_init(struct plan *p)
{
	memset(p, 0, sizeof *p);
}

void plan_release(struct plan *p)
{
	free(p->rootfs.name);
	free(p->rootfs.path);
	for (size_t i = 0; i < p->n_steps; i++) {
		free(p->steps[i].src);
		free(p->steps[i].upper);
		free(p->steps[i].work);
		free(p->steps[i].dst);
		free(p->steps[i].origin);
	}
	free(p->steps);
	strv_free(p->env);
	strv_free(p->argv);
	free(p->cwd);
	free(p->hostname);
	strv_free(p->notes);
	free(p->warning);
	free(p->clone_id);
	free(p->clone_branch);
	plan_init(p);
}

static const char *const kind_names[] = {
	[MK_ROOT_OVERLAY] = "overlay", [MK_ROOT_BIND] = "rw-bind", [MK_ROOT_TMPFS] = "tmpfs",
	[MK_BIND_RW] = "rw-bind",      [MK_BIND_RO] = "ro-bind",   [MK_BIND_DEV] = "dev-bind",
	[MK_OVERLAY] = "overlay",      [MK_TMPFS] = "tmpfs",       [MK_HIDE_FILE] = "hide-file",
	[MK_PROC] = "proc",            [MK_DEVPTS] = "devpts",     [MK_SYMLINK] = "symlink",
	[MK_DIR] = "dir",              [MK_OVERLAY_KEEP] = "overlay", [MK_REMOVE] = "remove",
};

const char *plan_kind_name(enum mount_kind k)
{
	return kind_names[k];
}

bool plan_kind_is_persistent(enum mount_kind k)
{
	switch (k) {
	case MK_ROOT_BIND:
	case MK_BIND_RW:
	case MK_BIND_DEV:
		return true;
	case MK_ROOT_OVERLAY:
	case MK_ROOT_TMPFS:
	case MK_BIND_RO:
	case MK_OVERLAY:
	case MK_TMPFS:
	case MK_HIDE_FILE:
	case MK_PROC:
	case MK_DEVPTS:
	case MK_SYMLINK:
	case MK_DIR:
	case MK_OVERLAY_KEEP: /* its upper is the workspace's own, not the user's files */
	case MK_REMOVE:
		return false;
	}
	return false;
}

/* Steps that put a filesystem at dst (as opposed to creating an entry in one). */
static bool kind_is_mount(enum mount_kind k)
{
	return k != MK_SYMLINK && k != MK_DIR && k != MK_REMOVE;
}

char *plan_overlay_escape(const char *path)
{
	char *out = xmalloc(strlen(path) * 2 + 1), *w = out;
	for (const char *s = path; *s; s++) {
		if (*s == '\\' || *s == ':' || *s == ',')
			*w++ = '\\';
		*w++ = *s;
	}
	*w = '\0';
	return out;
}

char *plan_overlay_options(const char *lower, const char *upper, const char *work)
{
	cleanup_free char *l = plan_overlay_escape(lower);
	cleanup_free char *u = plan_overlay_escape(upper);
	cleanup_free char *w = plan_overlay_escape(work);
	return xasprintf("lowerdir=%s,upperdir=%s,workdir=%s,userxattr", l, u, w);
}

static void note(struct plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct plan *p, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (s)
		strv_push(&p->notes, s);
}

static struct mount_step *add_step(struct plan *p, enum mount_kind kind, const char *src, const char *dst,
				   unsigned flags, const char *origin)
{
	p->steps = xrealloc(p->steps, (p->n_steps + 1) * sizeof *p->steps);
	struct mount_step *s = &p->steps[p->n_steps++];
	memset(s, 0, sizeof *s);
	s->kind = kind;
	s->src = src ? xstrdup(src) : NULL;
	s->dst = xstrdup(dst);
	s->flags = flags;
	s->origin = xstrdup(origin);
	s->persist_layer = -1;
	return s;
}

static int probe(const struct facts *f, const char *path, bool follow, char **out, enum fact_type *type)
{
	*out = NULL;
	*type = FT_MISSING;
	return f->probe(path, follow, out, type, f->probe_ctx);
}

/* The host rootfs: the host's system directories read-only on an empty tmpfs. No home, no /run,
 * /var or /tmp of the host, so no sockets and no user files. */
static int add_host_root(struct plan *p, const struct facts *f, struct aj_err *err)
{
	static const char *const dirs[] = { "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt" };
	add_step(p, MK_ROOT_TMPFS, NULL, "/", MF_SYSTEM, "rootfs")->mode = 0755;
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		cleanup_free char *out = NULL;
		enum fact_type t;
		if (probe(f, dirs[i], false, &out, &t) < 0)
			return aj_fail(err, errno, "host rootfs: %s", dirs[i]);
		if (t == FT_SYMLINK)
			add_step(p, MK_SYMLINK, out, dirs[i], 0, "host");
		else if (t == FT_DIR)
			add_step(p, MK_BIND_RO, dirs[i], dirs[i], 0, "host");
	}
	add_step(p, MK_DIR, NULL, "/root", MF_SYSTEM, "home")->mode = 0700;
	add_step(p, MK_DIR, NULL, "/var/tmp", MF_SYSTEM, "host")->mode = 01777;
	return 0;
}

static int add_store_root(struct plan *p, const struct opts *o, const struct facts *f, struct aj_err *err)
{
	const char *rootfs = f->rootfs->path;
	if (o->fs_edit) {
		add_step(p, MK_ROOT_BIND, rootfs, "/", 0, "--fs-edit");
		p->root_persistent = true;
		note(p, "--fs-edit: the rootfs %s is the root, read-write; changes persist", rootfs);
	} else {
		add_step(p, MK_ROOT_OVERLAY, rootfs, "/", 0, "rootfs");
		note(p, "root is an overlay on %s; writes go to a tmpfs that vanishes at exit", rootfs);
	}
	if (!o->fs_edit) {
		for (size_t i = 0; o->fs_edit_dirs && o->fs_edit_dirs[i]; i++) {
			const char *dir = o->fs_edit_dirs[i];
			cleanup_free char *src = path_join(rootfs, dir + 1);
			cleanup_free char *out = NULL;
			cleanup_free char *origin = xasprintf("--fs-edit=%s", dir);
			enum fact_type t;
			if (probe(f, src, false, &out, &t) < 0)
				return aj_fail(err, errno, "%s", origin);
			if (t != FT_DIR)
				return aj_usage(err, "%s: no directory %s in rootfs %s (a symlink is not followed)", origin, dir,
						f->rootfs->name);
			add_step(p, MK_BIND_RW, src, dir, 0, origin);
		}
	}
	if (o->fs_edit && (o->home_edit || o->home_edit_dirs)) {
		note(p, "--home-edit is implied by --fs-edit");
		return 0;
	}
	if (o->home_edit) {
		cleanup_free char *src = path_join(rootfs, "root");
		add_step(p, MK_BIND_RW, src, "/root", MF_CREATE_SRC, "--home-edit");
	} else {
		for (size_t i = 0; o->home_edit_dirs && o->home_edit_dirs[i]; i++) {
			const char *sub = o->home_edit_dirs[i];
			cleanup_free char *src = xasprintf("%s/root/%s", rootfs, sub);
			cleanup_free char *dst = xasprintf("/root/%s", sub);
			cleanup_free char *origin = xasprintf("--home-edit=%s", sub);
			add_step(p, MK_BIND_RW, src, dst, MF_CREATE_SRC, origin);
		}
	}
	return 0;
}

static void add_system_mounts(struct plan *p, const struct facts *f, const struct opts *o)
{
	static const char *const devs[] = { "null", "zero", "full", "random", "urandom", "tty" };
	add_step(p, MK_PROC, NULL, "/proc", MF_SYSTEM, "system");
	add_step(p, MK_TMPFS, NULL, "/dev", MF_SYSTEM, "system")->mode = 0755;
	for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++) {
		cleanup_free char *path = xasprintf("/dev/%s", devs[i]);
		add_step(p, MK_BIND_DEV, path, path, MF_FILE | MF_SYSTEM, "system");
	}
	add_step(p, MK_DIR, NULL, "/dev/pts", MF_SYSTEM, "system")->mode = 0755;
	add_step(p, MK_DEVPTS, NULL, "/dev/pts", MF_SYSTEM, "system");
	add_step(p, MK_SYMLINK, "pts/ptmx", "/dev/ptmx", MF_SYSTEM, "system");
	add_step(p, MK_TMPFS, NULL, "/dev/shm", MF_SYSTEM, "system")->mode = 01777;
	add_step(p, MK_SYMLINK, "/proc/self/fd", "/dev/fd", MF_SYSTEM, "system");
	add_step(p, MK_SYMLINK, "/proc/self/fd/0", "/dev/stdin", MF_SYSTEM, "system");
	add_step(p, MK_SYMLINK, "/proc/self/fd/1", "/dev/stdout", MF_SYSTEM, "system");
	add_step(p, MK_SYMLINK, "/proc/self/fd/2", "/dev/stderr", MF_SYSTEM, "system");
	add_step(p, MK_TMPFS, NULL, "/tmp", MF_SYSTEM, "system")->mode = 01777;
	add_step(p, MK_TMPFS, NULL, "/run", MF_SYSTEM, "system")->mode = 0755;
	if (!o->no_net && f->rootfs->kind == ROOTFS_DIR) {
		cleanup_free char *resolv = NULL;
		enum fact_type t;
		if (probe(f, "/etc/resolv.conf", true, &resolv, &t) == 0 && t == FT_FILE)
			add_step(p, MK_BIND_RO, resolv, "/etc/resolv.conf", MF_FILE | MF_REPLACE_LINK | MF_SYSTEM, "network");
		else
			note(p, "the host has no /etc/resolv.conf; the rootfs keeps its own");
	}
}

static enum mount_kind kind_for(enum mount_mode mode, bool is_file)
{
	switch (mode) {
	case MODE_RW:
		return MK_BIND_RW;
	case MODE_RO:
		return is_file ? MK_BIND_RO : MK_OVERLAY;
	case MODE_ROL:
		return MK_BIND_RO;
	case MODE_HIDE:
		return is_file ? MK_HIDE_FILE : MK_TMPFS;
	case MODE_DEV:
		return MK_BIND_DEV;
	}
	return MK_BIND_RO;
}

static int add_user_mount(struct plan *p, const struct facts *f, const struct opt_mount *m, struct aj_err *err)
{
	cleanup_free char *want = m->src ? path_join(f->cwd, m->src) : xstrdup(f->cwd);
	cleanup_free char *src = NULL;
	enum fact_type t;
	if (probe(f, want, true, &src, &t) < 0)
		return aj_fail(err, errno, "%s: %s", m->origin, want);
	if (t == FT_MISSING)
		return aj_usage(err, "%s: %s does not exist on the host", m->origin, want);
	if (t != FT_DIR && t != FT_FILE && m->mode != MODE_DEV)
		return aj_usage(err, "%s: %s is neither a directory nor a regular file (use --mount=SRC,DST,dev for devices)",
				m->origin, want);
	cleanup_free char *dst = NULL;
	if (m->dst) {
		bool dotdot;
		cleanup_free char *joined = path_join(f->cwd, m->dst);
		dst = path_normalize(joined, &dotdot);
		if (dotdot)
			return aj_usage(err, "%s: the destination must not contain '..'", m->origin);
	} else {
		dst = xstrdup(src);
	}
	if (strcmp(dst, "/") == 0)
		return aj_usage(err, "%s: cannot mount over the jail's root; use --fs to choose the root", m->origin);
	bool is_file = t != FT_DIR;
	struct mount_step *s = add_step(p, kind_for(m->mode, is_file), src, dst, is_file ? MF_FILE : 0, m->origin);
	if (s->kind == MK_TMPFS)
		s->mode = 0755;
	if (m->mode == MODE_RO && is_file)
		note(p, "%s: %s is a file; an overlay needs a directory, so it is bound read-only", m->origin, src);
	return 0;
}

/* The clone instead of the working directory: the workspace's overlay at the repository's own
 * path, its git dir as .git, and the user's repository as a read-only origin. */
static void add_clone_mounts(struct plan *p, const struct clone_facts *c, const struct facts *f)
{
	struct mount_step *s = add_step(p, MK_OVERLAY_KEEP, c->lower, c->toplevel, 0, "--clone");
	s->upper = xstrdup(c->upper);
	s->work = xstrdup(c->work);
	cleanup_free char *dotgit = path_join(c->toplevel, ".git");
	add_step(p, MK_BIND_RW, c->gitdir, dotgit, 0, "--clone");
	if (c->push) {
		add_step(p, MK_BIND_RW, c->commondir, "/ajail/origin", 0, "--clone-push");
		/* What would run code outside the jail, or change how git behaves there, stays read-only. */
		static const char *const locked[] = { "hooks", "config", "info" };
		for (size_t i = 0; i < sizeof locked / sizeof locked[0]; i++) {
			cleanup_free char *src = path_join(c->commondir, locked[i]);
			cleanup_free char *dst = path_join("/ajail/origin", locked[i]);
			cleanup_free char *out = NULL;
			enum fact_type t;
			if (probe(f, src, false, &out, &t) == 0 && (t == FT_DIR || t == FT_FILE))
				add_step(p, MK_BIND_RO, src, dst, t == FT_FILE ? MF_FILE : 0, "--clone-push");
		}
	} else {
		add_step(p, MK_BIND_RO, c->commondir, "/ajail/origin", 0, "--clone");
	}
	for (size_t i = 0; c->deleted && c->deleted[i]; i++) {
		cleanup_free char *dst = path_join(c->toplevel, c->deleted[i]);
		add_step(p, MK_REMOVE, NULL, dst, MF_SYSTEM, "--clone-dirty");
	}
	p->clone_id = xstrdup(c->id);
	p->clone_branch = xstrdup(c->branch);
	note(p, "--clone: workspace %s on branch %s; the user's repository is read-only at /ajail/origin", c->id,
	     c->branch);
}

/* For each step, where would its missing mount point be created? See struct mount_step. */
static void compute_persist_layers(struct plan *p)
{
	for (size_t i = 0; i < p->n_steps; i++) {
		struct mount_step *s = &p->steps[i];
		s->persist_layer = -1;
		if (i == 0 && strcmp(s->dst, "/") == 0)
			continue;
		for (size_t j = i; j-- > 0;) {
			const struct mount_step *c = &p->steps[j];
			if (!kind_is_mount(c->kind) || (c->flags & MF_FILE) || !path_is_under(s->dst, c->dst))
				continue;
			if (strcmp(s->dst, c->dst) != 0 && plan_kind_is_persistent(c->kind))
				s->persist_layer = (int)j;
			break;
		}
	}
}

int plan_build(const struct opts *o, const struct facts *f, struct plan *p, struct aj_err *err)
{
	plan_init(p);
	if (!f->cwd) {
		aj_fail(err, 0, "cannot read the working directory (%s); cd into a readable directory first",
			strerror(f->cwd_errno ? f->cwd_errno : ENOENT));
		goto fail;
	}
	const struct rootfs *r = f->rootfs;
	p->rootfs.kind = r->kind;
	p->rootfs.name = xstrdup(r->name);
	p->rootfs.path = r->path ? xstrdup(r->path) : NULL;
	p->rootfs.implicit = r->implicit;
	p->rootfs.owner = r->owner;
	if (r->kind == ROOTFS_HOST) {
		if (o->fs_edit || o->fs_edit_dirs) {
			aj_usage(err, "--fs-edit: the host rootfs cannot be edited; import a rootfs (ajail fs import, ajail fs "
				      "build) and use --fs=NAME");
			goto fail;
		}
		if (o->home_edit || o->home_edit_dirs) {
			aj_usage(err, "--home-edit: the host rootfs has no persistent home; use --fs=NAME with a rootfs from the store");
			goto fail;
		}
		if (r->implicit)
			p->warning = xstrdup("no 'default' rootfs in the store: using the host's /usr /bin /lib* /sbin /etc /opt "
					     "read-only (--fs=host); 'ajail fs build debian default' or 'ajail fs import default TARBALL' "
					     "makes a default");
		note(p, "rootfs 'host': the host's system directories, read-only, on an empty tmpfs");
		if (add_host_root(p, f, err) < 0)
			goto fail;
	} else {
		note(p, "rootfs '%s' at %s%s", r->name, r->path, r->implicit ? " (the store's default)" : "");
		if (r->owner != f->uid)
			p->warning = xasprintf("rootfs '%s' belongs to uid %u, not to you (uid %u): inside the jail its files "
					       "belong to nobody and cannot be changed, even in the ephemeral overlay",
					       r->name, (unsigned)r->owner, (unsigned)f->uid);
		if (add_store_root(p, o, f, err) < 0)
			goto fail;
	}
	add_system_mounts(p, f, o);

	if (f->clone) {
		add_clone_mounts(p, f->clone, f);
	} else if (strcmp(f->cwd, "/") == 0) {
		note(p, "the working directory is /: it is not mounted (that would expose the whole host)");
	} else {
		add_step(p, MK_BIND_RW, f->cwd, f->cwd, 0, "cwd");
		if (f->git_commondir && !path_is_under(f->git_commondir, f->cwd)) {
			/* A linked worktree's .git file points into the main repository's git dir. */
			add_step(p, MK_BIND_RW, f->git_commondir, f->git_commondir, 0, "git");
			note(p, "linked worktree: the repository's git directory %s is mounted read-write, so git "
				"inside (committing included) works", f->git_commondir);
		}
	}
	for (size_t i = 0; i < o->n_mounts; i++)
		if (add_user_mount(p, f, &o->mounts[i], err) < 0)
			goto fail;
	for (size_t i = 0; o->devs && o->devs[i]; i++) {
		cleanup_free char *path = xasprintf("/dev/%s", o->devs[i]);
		cleanup_free char *out = NULL;
		cleanup_free char *origin = xasprintf("--dev=%s", o->devs[i]);
		enum fact_type t;
		if (probe(f, path, false, &out, &t) < 0) {
			aj_fail(err, errno, "%s", origin);
			goto fail;
		}
		if (t == FT_MISSING || t == FT_SYMLINK) {
			aj_usage(err, "%s: no device %s on the host", origin, path);
			goto fail;
		}
		add_step(p, MK_BIND_DEV, path, path, t == FT_DIR ? 0 : MF_FILE, origin);
	}
	compute_persist_layers(p);

	p->clone_flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;
	p->no_net = o->no_net;
	if (o->no_net) {
		p->clone_flags |= CLONE_NEWNET;
		note(p, "--no-net: a new network namespace with only lo");
	}
	p->outer_uid = f->uid;
	p->outer_gid = f->gid;
	p->hostname = xstrdup("localhost");
	p->cwd = xstrdup(f->cwd);
	p->env = config_jail_env(f->environ, f->cwd_in_git);
	if (f->cwd_in_git)
		note(p, "the working directory is in a git work tree: core.checkStat=minimal, so git inside (where "
			"files look owned by uid 0) neither rehashes nor rewrites the index");
	if (o->argv && o->argv[0]) {
		for (size_t i = 0; o->argv[i]; i++)
			strv_push(&p->argv, xstrdup(o->argv[i]));
	} else {
		strv_push(&p->argv, xstrdup("bash"));
		p->argv_default = true;
	}
	if (f->tty_fds & 1) {
		/* The jail gets a terminal of its own; it never holds the host's. */
		p->pty_fds = f->tty_fds;
		p->new_session = true;
		note(p, "interactive: the command gets a pty of the jail's own, relayed by ajail, so job control "
			"works and the jail holds no descriptor of the host's terminal (TIOCSTI cannot reach it)");
	} else if (o->new_session == TRI_YES) {
		p->new_session = true;
		note(p, "--new-session: detached from the terminal's session");
	} else {
		p->new_session = f->legacy_tiocsti != 0;
		note(p, p->new_session ? "new session: the kernel allows TIOCSTI (legacy_tiocsti is not 0), so the jail "
					 "must not share the terminal's session"
				       : "same session: legacy_tiocsti is 0, the jail cannot push input into the terminal");
	}
	p->caps_keep = o->cap_add;
	p->quiet = o->quiet;
	p->verbose = o->verbose;
	return 0;
fail:
	plan_release(p);
	return -1;
}

static void print_caps(FILE *out, uint64_t caps)
{
	if (!caps) {
		fputs("none", out);
		return;
	}
	const char *sep = "";
	for (int c = 0; c <= cli_cap_last(); c++)
		if (caps & (UINT64_C(1) << c)) {
			fprintf(out, "%sCAP_%s", sep, cli_cap_name(c));
			sep = ",";
		}
}

void plan_print(const struct plan *p, FILE *out)
{
	fprintf(out, "rootfs:      %s%s%s\n", p->rootfs.name, p->rootfs.path ? " " : "", p->rootfs.path ? p->rootfs.path : "");
	fprintf(out, "namespaces:  user mount pid ipc uts cgroup%s\n", p->no_net ? " net" : "");
	fprintf(out, "id maps:     uid 0 -> %u, gid 0 -> %u, setgroups deny\n", (unsigned)p->outer_uid, (unsigned)p->outer_gid);
	fprintf(out, "hostname:    %s\n", p->hostname);
	fprintf(out, "network:     %s\n", p->no_net ? "none (lo only)" : "host");
	fprintf(out, "session:     %s\n", p->pty_fds ? "new, on the jail's own pty" : p->new_session ? "new" : "shared with the terminal");
	fputs("caps kept:   ", out);
	print_caps(out, p->caps_keep);
	fputc('\n', out);
	fprintf(out, "cwd:         %s\n", p->cwd);
	fputs("mounts:\n", out);
	for (size_t i = 0; i < p->n_steps; i++) {
		const struct mount_step *s = &p->steps[i];
		fprintf(out, "  %2zu %-9s %s", i, plan_kind_name(s->kind), s->dst);
		switch (s->kind) {
		case MK_ROOT_OVERLAY:
		case MK_OVERLAY: {
			cleanup_free char *opt = plan_overlay_options(s->src, "<tmp>/upper", "<tmp>/work");
			fprintf(out, " (%s)", opt);
			break;
		}
		case MK_OVERLAY_KEEP: {
			cleanup_free char *opt = plan_overlay_options(s->src, s->upper, s->work);
			fprintf(out, " (%s)", opt);
			break;
		}
		case MK_SYMLINK:
			fprintf(out, " -> %s", s->src);
			break;
		case MK_TMPFS:
		case MK_DIR:
		case MK_ROOT_TMPFS:
			fprintf(out, " mode=%04o", s->mode);
			break;
		case MK_ROOT_BIND:
		case MK_BIND_RW:
		case MK_BIND_RO:
		case MK_BIND_DEV:
			fprintf(out, " <- %s", s->src);
			break;
		case MK_HIDE_FILE:
		case MK_PROC:
		case MK_DEVPTS:
		case MK_REMOVE:
			break;
		}
		fprintf(out, "  [%s]", s->origin);
		if (s->flags & MF_CREATE_SRC)
			fputs(" create-source", out);
		if (s->persist_layer >= 0)
			fprintf(out, " mountpoint-in=%d", s->persist_layer);
		fputc('\n', out);
	}
	fputs("env:\n", out);
	for (size_t i = 0; p->env[i]; i++)
		fprintf(out, "  %s\n", p->env[i]);
	fputs("argv:       ", out);
	for (size_t i = 0; p->argv[i]; i++)
		fprintf(out, " %s", p->argv[i]);
	if (p->argv_default)
		fputs("   (sh when the rootfs has no bash)", out);
	fputc('\n', out);
}

static const char *step_label(const struct mount_step *s)
{
	switch (s->kind) {
	case MK_BIND_RW:
	case MK_ROOT_BIND:
		return "read-write";
	case MK_BIND_RO:
		return "read-only";
	case MK_BIND_DEV:
		return "read-write, devices";
	case MK_OVERLAY:
	case MK_ROOT_OVERLAY:
		return "overlay, changes discarded";
	case MK_OVERLAY_KEEP:
		return "clone workspace";
	case MK_TMPFS:
	case MK_HIDE_FILE:
		return "hidden";
	case MK_ROOT_TMPFS:
	case MK_PROC:
	case MK_DEVPTS:
	case MK_SYMLINK:
	case MK_DIR:
	case MK_REMOVE:
		break;
	}
	return plan_kind_name(s->kind);
}

void plan_print_status(const struct plan *p, FILE *out)
{
	if (p->rootfs.kind == ROOTFS_HOST)
		fputs("ajail: rootfs   host (read-only system directories)\n", out);
	else
		fprintf(out, "ajail: rootfs   %s (%s)\n", p->rootfs.name,
			p->root_persistent ? "read-write: changes persist" : "overlay: changes discarded");
	fprintf(out, "ajail: cwd      %s\n", p->cwd);
	if (p->clone_id)
		fprintf(out, "ajail: clone    workspace %s, branch %s (origin: /ajail/origin, read-only)\n", p->clone_id,
			p->clone_branch);
	fprintf(out, "ajail: network  %s\n", p->no_net ? "none" : "host");
	for (size_t i = 1; i < p->n_steps; i++) {
		const struct mount_step *s = &p->steps[i];
		if ((s->flags & MF_SYSTEM) || s->kind == MK_SYMLINK || s->kind == MK_REMOVE || strcmp(s->origin, "host") == 0)
			continue;
		bool covered = false;
		for (size_t j = i + 1; j < p->n_steps && !covered; j++)
			covered = kind_is_mount(p->steps[j].kind) && strcmp(p->steps[j].dst, s->dst) == 0;
		if (covered)
			continue;
		fprintf(out, "ajail: mount    %s (%s)%s%s\n", s->dst, step_label(s), strcmp(s->origin, "cwd") ? "  " : "",
			strcmp(s->origin, "cwd") ? s->origin : "");
	}
}
