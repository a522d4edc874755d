#include "plan.h"

#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "config.h"
#include "proxy_wire.h"
#include "util.h"

void plan_init(struct plan *p)
{
	memset(p, 0, sizeof *p);
}

void plan_release(struct plan *p)
{
	free(p->rootfs.name);
	free(p->rootfs.path);
	free(p->rootfs.store_name);
	for (size_t i = 0; i < p->rootfs.n_bases; i++) {
		free(p->rootfs.bases[i].name);
		free(p->rootfs.bases[i].path);
	}
	free(p->rootfs.bases);
	free(p->rootfs.edit_work);
	free(p->commit);
	for (size_t i = 0; i < p->n_steps; i++) {
		free(p->steps[i].src);
		free(p->steps[i].upper);
		free(p->steps[i].work);
		free(p->steps[i].dst);
		free(p->steps[i].origin);
		free(p->steps[i].create_base);
		free(p->steps[i].create_content);
	}
	free(p->steps);
	strv_free(p->env);
	strv_free(p->argv);
	free(p->cwd);
	free(p->hostname);
	strv_free(p->notes);
	strv_free(p->warnings);
	free(p->profile);
	free(p->profile_source);
	free(p->state_dir);
	free(p->host_ca);
	for (size_t i = 0; i < p->net.n_keygate; i++) {
		free(p->net.keygate[i].env);
		free(p->net.keygate[i].header);
		free(p->net.keygate[i].upstream);
		free(p->net.keygate[i].base_env);
	}
	free(p->clone_id);
	free(p->clone_branch);
	strv_free(p->layers.ll_write);
	strv_free(p->layers.ll_root_skip);
	free(p->layers.cgroup_parent);
	netpolicy_release(&p->net.policy);
	free(p->net.log_path);
	plan_init(p);
}

static const char *const kind_names[] = {
	[MK_ROOT_OVERLAY] = "overlay", [MK_ROOT_BIND] = "rw-bind", [MK_ROOT_TMPFS] = "tmpfs",
	[MK_ROOT_OVERLAY_KEEP] = "overlay",
	[MK_BIND_RW] = "rw-bind",      [MK_BIND_RO] = "ro-bind",   [MK_BIND_DEV] = "dev-bind",
	[MK_OVERLAY] = "overlay",      [MK_TMPFS] = "tmpfs",       [MK_HIDE_FILE] = "hide-file",
	[MK_PROC] = "proc",            [MK_DEVPTS] = "devpts",     [MK_SYMLINK] = "symlink",
	[MK_DIR] = "dir",              [MK_OVERLAY_KEEP] = "overlay", [MK_REMOVE] = "remove",
	[MK_MASK_DIR] = "mask-dir",    [MK_READONLY] = "read-only", [MK_SYSFS] = "sysfs",
};

const char *plan_kind_name(enum mount_kind k)
{
	return kind_names[k];
}

bool plan_kind_is_persistent(enum mount_kind k)
{
	switch (k) {
	case MK_ROOT_BIND:
	case MK_ROOT_OVERLAY_KEEP: /* its upper is kept: mount points are made there by the supervisor */
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
	case MK_MASK_DIR:
	case MK_READONLY:
	case MK_SYSFS:
		return false;
	}
	return false;
}

/* Can the jail write to what this step puts at dst (for landlock's rules)? */
static bool kind_is_writable(enum mount_kind k)
{
	switch (k) {
	case MK_ROOT_OVERLAY_KEEP:
	case MK_ROOT_OVERLAY:
	case MK_ROOT_BIND:
	case MK_ROOT_TMPFS:
	case MK_BIND_RW:
	case MK_BIND_DEV:
	case MK_OVERLAY:
	case MK_OVERLAY_KEEP:
	case MK_TMPFS:
		return true;
	case MK_BIND_RO:
	case MK_HIDE_FILE:
	case MK_PROC:
	case MK_DEVPTS:
	case MK_SYMLINK:
	case MK_DIR:
	case MK_REMOVE:
	case MK_MASK_DIR:
	case MK_READONLY:
	case MK_SYSFS:
		return false;
	}
	return false;
}

bool plan_kind_shows_host_dir(enum mount_kind k)
{
	switch (k) {
	case MK_ROOT_OVERLAY_KEEP:
	case MK_ROOT_OVERLAY:
	case MK_ROOT_BIND:
	case MK_BIND_RW:
	case MK_BIND_RO:
	case MK_BIND_DEV:
	case MK_OVERLAY:
	case MK_OVERLAY_KEEP:
		return true;
	case MK_ROOT_TMPFS:
	case MK_TMPFS:
	case MK_HIDE_FILE:
	case MK_PROC:
	case MK_DEVPTS:
	case MK_SYMLINK:
	case MK_DIR:
	case MK_REMOVE:
	case MK_MASK_DIR:
	case MK_READONLY:
	case MK_SYSFS:
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

static int probe_full(const struct facts *f, const char *path, bool follow, struct probe_res *res)
{
	memset(res, 0, sizeof *res);
	res->type = FT_MISSING;
	int r = f->probe(path, follow, res, f->probe_ctx);
	if (r < 0) {
		int e = errno;
		free(res->path);
		memset(res, 0, sizeof *res);
		errno = e;
	}
	return r;
}

static int probe(const struct facts *f, const char *path, bool follow, char **out, enum fact_type *type)
{
	struct probe_res res;
	int r = probe_full(f, path, follow, &res);
	*out = res.path;
	*type = res.type;
	return r;
}

/* Where a host path the user named for a mount leads, and what is there. Inside the working
 * directory (a relative path, or an absolute one beneath it) a jail may have planted symlinks: each
 * component is looked at without following it, and a symlink is followed only while it stays
 * inside; one that leads out is refused, naming where it leads. A path outside the working
 * directory is the user's own, taken as typed (realpath). res->path is then canonical, and
 * res->dev/ino what the jail's mount must still find there. */
static int resolve_source(const struct facts *f, const char *origin, const char *want, struct probe_res *res,
			  struct aj_err *err)
{
	memset(res, 0, sizeof *res);
	cleanup_free char *path = path_normalize(want, NULL);
	if (!path_is_under(path, f->cwd) || strcmp(f->cwd, "/") == 0) {
		if (probe_full(f, want, true, res) < 0)
			return aj_fail(err, errno, "%s: %s", origin, want);
		return 0;
	}
	int hops = 0;
	cleanup_free char *cur = xstrdup(f->cwd);
	const char *rest = path_relative(path, f->cwd);
	cleanup_free char *restbuf = NULL;
	/* The cwd itself is canonical: what the walk starts from. */
	if (probe_full(f, cur, false, res) < 0)
		return aj_fail(err, errno, "%s: %s", origin, cur);
	while (*rest) {
		const char *slash = strchr(rest, '/');
		size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
		cleanup_free char *next = xasprintf("%s/%.*s", strcmp(cur, "/") ? cur : "", (int)n, rest);
		rest = slash ? slash + 1 : rest + n;
		free(res->path);
		if (probe_full(f, next, false, res) < 0)
			return aj_fail(err, errno, "%s: %s", origin, next);
		if (res->type == FT_MISSING) {
			free(res->path);
			res->path = path_join(next, rest);
			return 0;
		}
		if (res->type == FT_SYMLINK) {
			if (++hops > 40)
				return aj_usage(err, "%s: %s: too many levels of symbolic links", origin, want);
			cleanup_free char *joined = path_join(cur, res->path);
			cleanup_free char *target = path_normalize(joined, NULL);
			if (!path_is_under(target, f->cwd))
				return aj_usage(err, "%s: %s is a symlink to %s, outside the working directory; a jail can plant "
						     "symlinks there, so ajail does not follow it (name %s itself if you mean it)",
						origin, next, target, target);
			/* Start again from the cwd with the target and what was left after the link. */
			char *again = path_join(target, rest);
			free(restbuf);
			restbuf = again;
			free(cur);
			cur = xstrdup(f->cwd);
			rest = path_relative(restbuf, f->cwd);
			free(res->path);
			res->path = NULL;
			if (probe_full(f, cur, false, res) < 0)
				return aj_fail(err, errno, "%s: %s", origin, cur);
			continue;
		}
		if (res->type != FT_DIR && *rest)
			return aj_usage(err, "%s: %s is not a directory", origin, next);
		free(cur);
		cur = steal_pointer(&next);
	}
	free(res->path);
	res->path = xstrdup(cur);
	return 0;
}

/* A path beneath a rootfs (a jail with --fs-edit writes the rootfs): no symlink is followed on the
 * way, anywhere. *res is what is at the end, FT_MISSING when it is not there; -1 with err set when a
 * component is a symlink or not a directory. */
static int resolve_in_rootfs(const struct facts *f, const char *origin, const char *rootfs, const char *rel,
			     struct probe_res *res, struct aj_err *err)
{
	cleanup_free char *cur = xstrdup(rootfs);
	memset(res, 0, sizeof *res);
	res->type = FT_DIR;
	for (const char *p = rel; *p;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *slash = strchrnul(p, '/');
		char *next = xasprintf("%s/%.*s", cur, (int)(slash - p), p);
		free(cur);
		cur = next;
		p = slash;
		free(res->path);
		if (probe_full(f, cur, false, res) < 0)
			return aj_fail(err, errno, "%s: %s", origin, cur);
		if (res->type == FT_MISSING)
			break;
		if (res->type == FT_SYMLINK)
			return aj_usage(err, "%s: %s is a symlink in the rootfs; ajail does not follow symlinks there (a jail with "
					     "--fs-edit can plant them)", origin, cur);
		if (res->type != FT_DIR && *p)
			return aj_usage(err, "%s: %s is not a directory", origin, cur);
	}
	free(res->path);
	res->path = steal_pointer(&cur);
	return 0;
}

static void set_id(struct mount_step *s, const struct probe_res *r)
{
	s->src_dev = r->dev;
	s->src_ino = r->ino;
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
	/* The host's /etc is the jail's: its password hashes are no business of a jail's, and root's
	 * jails would otherwise read them (uid 0 inside is uid 0 outside). */
	static const char *const secrets[] = { "/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-" };
	for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
		cleanup_free char *out = NULL;
		enum fact_type t;
		if (probe(f, secrets[i], false, &out, &t) == 0 && t == FT_FILE)
			add_step(p, MK_HIDE_FILE, NULL, secrets[i], MF_FILE | MF_SYSTEM, "host");
	}
	add_step(p, MK_DIR, NULL, "/root", MF_SYSTEM, "home")->mode = 0700;
	add_step(p, MK_DIR, NULL, "/var/tmp", MF_SYSTEM, "host")->mode = 01777;
	return 0;
}

/* What a --home-edit=PATH that does not exist yet is made as, by a rule a user can predict: a
 * trailing '/' makes a directory; a path an agent profile keeps makes what the agent keeps there
 * (.claude.json is a file, .codex a directory); a name with an extension (a '.' after its first
 * character: settings.json, .aider.conf.yml) or ending in "rc" (.bashrc, .npmrc) makes a file;
 * anything else a directory. A path that exists is used as what it is. */
bool plan_home_path_is_file(const char *as_written, const char *rel, char **initial)
{
	*initial = NULL;
	size_t n = strlen(as_written);
	if (n && as_written[n - 1] == '/')
		return false;
	int known = profile_known_kind(rel, initial);
	if (known)
		return known == 1;
	const char *slash = strrchr(rel, '/');
	const char *base = slash ? slash + 1 : rel;
	size_t bn = strlen(base);
	if (bn > 1 && strchr(base + 1, '.') && base[bn - 1] != '.')
		return true;
	return bn > 2 && strcmp(base + bn - 2, "rc") == 0;
}

static int layer_path_from_base(const struct facts *f, const char *origin, const char *rel, struct aj_err *err);

static int add_home_edit(struct plan *p, const struct facts *f, const char *rootfs, const char *sub, struct aj_err *err)
{
	bool trailing_slash = sub[strlen(sub) - 1] == '/';
	cleanup_free char *rel = xstrdup(sub);
	while (*rel && rel[strlen(rel) - 1] == '/')
		rel[strlen(rel) - 1] = '\0';
	cleanup_free char *src = xasprintf("%s/root/%s", rootfs, rel);
	cleanup_free char *dst = xasprintf("/root/%s", rel);
	cleanup_free char *origin = xasprintf("--home-edit=%s", sub);
	cleanup_free char *in_root = xasprintf("root/%s", rel);
	struct probe_res r;
	if (resolve_in_rootfs(f, origin, rootfs, in_root, &r, err) < 0) {
		free(r.path);
		return -1;
	}
	bool is_file;
	cleanup_free char *initial = NULL;
	if (f->rootfs->n_bases && r.type != FT_FILE && layer_path_from_base(f, origin, in_root, err) < 0) {
		free(r.path);
		return -1;
	}
	if (r.type == FT_MISSING) {
		is_file = plan_home_path_is_file(sub, rel, &initial);
		note(p, "%s: /root/%s is not in the rootfs yet: made as %s and kept", origin, rel, is_file ? "a file" : "a directory");
	} else if (r.type == FT_DIR || r.type == FT_FILE) {
		is_file = r.type == FT_FILE;
		if (is_file && trailing_slash) {
			free(r.path);
			return aj_usage(err, "%s: /root/%s is a file in rootfs %s, not a directory", origin, rel, f->rootfs->name);
		}
	} else {
		free(r.path);
		return aj_usage(err, "%s: /root/%s in rootfs %s is neither a file nor a directory", origin, rel, f->rootfs->name);
	}
	free(r.path);
	struct mount_step *s = add_step(p, MK_BIND_RW, src, dst, MF_CREATE_SRC | (is_file ? MF_FILE : 0), origin);
	s->create_base = xstrdup(rootfs);
	s->create_content = steal_pointer(&initial);
	return 0;
}

/* A directory that one of a layer's bases has: a bind of the layer's own (made empty when missing,
 * or holding only the layer's changes) would hide the base's files in it, and the jail would see
 * something else than it asked to keep. (A file the layer has is the layer's whole file.) */
static int layer_path_from_base(const struct facts *f, const char *origin, const char *rel, struct aj_err *err)
{
	for (size_t i = 0; i < f->rootfs->n_bases; i++) {
		struct probe_res r;
		int rc = resolve_in_rootfs(f, origin, f->rootfs->bases[i].path, rel, &r, err);
		free(r.path);
		if (rc < 0) {
			err->msg[0] = '\0'; /* a base's path that cannot be looked at says nothing either way */
			err->errnum = 0;
			continue;
		}
		if (r.type != FT_MISSING)
			return aj_usage(err, "%s: /%s is in '%s', a base of the layer '%s', and keeping the layer's own would "
					"hide the base's; keep changes to it with --fs-edit (the whole layer) or --commit", origin,
					rel, f->rootfs->bases[i].name, f->rootfs->name);
	}
	return 0;
}

static int add_store_root(struct plan *p, const struct opts *o, const struct facts *f, struct aj_err *err)
{
	const char *rootfs = f->rootfs->path;
	const struct rootfs *rf = f->rootfs;
	struct mount_step *root;
	if (o->commit && (o->fs_edit || o->fs_edit_dirs || o->home_edit || o->home_edit_dirs))
		return aj_usage(err, "--commit keeps the session's changes as a new layer; %s writes the rootfs '%s' "
				"itself: use one or the other", o->fs_edit || o->fs_edit_dirs ? "--fs-edit" : "--home-edit",
				rf->name);
	if (o->commit) {
		if (!f->commit_upper)
			return aj_usage(err, "--commit=%s needs a rootfs of the store (--fs=NAME)", o->commit);
		/* The new layer is the upper of the session's root: what the command changes, and nothing
		 * else (every other mount is a mount, not the root's). */
		root = add_step(p, MK_ROOT_OVERLAY_KEEP, rootfs, "/", 0, "--commit");
		root->upper = xstrdup(f->commit_upper);
		root->work = xstrdup(f->commit_work);
		root->upper_dev = f->commit_dev;
		root->upper_ino = f->commit_ino;
		root->lowers = p->rootfs.bases;
		root->n_lowers = p->rootfs.n_bases;
		p->commit = xstrdup(o->commit);
		note(p, "--commit=%s: root is an overlay on %s; its changes become layer '%s' if the command succeeds",
		     o->commit, rootfs, o->commit);
	} else if (o->fs_edit && rf->n_bases) {
		/* A layer edited: it is the upper of an overlay on its bases, so that what changes (deletions
		 * as whiteouts) lands in it alone. */
		root = add_step(p, MK_ROOT_OVERLAY_KEEP, rf->bases[0].path, "/", 0, "--fs-edit");
		root->upper = xstrdup(rootfs);
		root->work = xstrdup(rf->edit_work ? rf->edit_work : "");
		root->upper_dev = rf->dev;
		root->upper_ino = rf->ino;
		root->src_dev = rf->bases[0].dev;
		root->src_ino = rf->bases[0].ino;
		root->lowers = p->rootfs.bases + 1;
		root->n_lowers = p->rootfs.n_bases - 1;
		p->root_persistent = true;
		note(p, "--fs-edit: the layer %s is the upper of an overlay on its bases; changes persist in it", rootfs);
	} else if (o->fs_edit) {
		root = add_step(p, MK_ROOT_BIND, rootfs, "/", 0, "--fs-edit");
		p->root_persistent = true;
		note(p, "--fs-edit: the rootfs %s is the root, read-write; changes persist", rootfs);
	} else {
		root = add_step(p, MK_ROOT_OVERLAY, rootfs, "/", 0, "rootfs");
		root->lowers = p->rootfs.bases;
		root->n_lowers = p->rootfs.n_bases;
		note(p, "root is an overlay on %s%s; writes go to a tmpfs that vanishes at exit", rootfs,
		     rf->n_bases ? " and its bases" : "");
	}
	if (root->kind != MK_ROOT_OVERLAY_KEEP || o->commit) {
		root->src_dev = f->rootfs->dev;
		root->src_ino = f->rootfs->ino;
	}
	if (!o->fs_edit) {
		for (size_t i = 0; o->fs_edit_dirs && o->fs_edit_dirs[i]; i++) {
			const char *dir = o->fs_edit_dirs[i];
			cleanup_free char *origin = xasprintf("--fs-edit=%s", dir);
			const char *rest;
			const char *k = path_kernel_dir(dir, &rest);
			if (k) /* the jail's own filesystems cover it: an edit there would quietly keep nothing */
				return aj_usage(err, "%s: the jail's %s is its own, not the rootfs's; nothing there can be kept",
						origin, k);
			struct probe_res r;
			if (resolve_in_rootfs(f, origin, rootfs, dir, &r, err) < 0) {
				free(r.path); /* what the failing component's probe returned */
				return -1;
			}
			cleanup_free char *src = r.path;
			if (r.type != FT_FILE && f->rootfs->n_bases && layer_path_from_base(f, origin, dir + 1, err) < 0)
				return -1;
			if (r.type != FT_DIR)
				return aj_usage(err, "%s: no directory %s in %s %s (a symlink is not followed)", origin, dir,
						f->rootfs->n_bases ? "the layer" : "rootfs", f->rootfs->name);
			set_id(add_step(p, MK_BIND_RW, src, dir, 0, origin), &r);
		}
	}
	if (o->fs_edit && (o->home_edit || o->home_edit_dirs)) {
		note(p, "--home-edit is implied by --fs-edit");
		return 0;
	}
	if (o->home_edit && f->rootfs->n_bases) {
		struct probe_res hr;
		int rc = resolve_in_rootfs(f, "--home-edit", rootfs, "root", &hr, err);
		free(hr.path);
		if (rc < 0)
			return -1;
		if (layer_path_from_base(f, "--home-edit", "root", err) < 0)
			return -1;
	}
	if (o->home_edit) {
		cleanup_free char *src = path_join(rootfs, "root");
		struct mount_step *s = add_step(p, MK_BIND_RW, src, "/root", MF_CREATE_SRC, "--home-edit");
		s->create_base = xstrdup(rootfs);
	} else {
		for (size_t i = 0; o->home_edit_dirs && o->home_edit_dirs[i]; i++)
			if (add_home_edit(p, f, rootfs, o->home_edit_dirs[i], err) < 0)
				return -1;
	}
	return 0;
}

/* What of /proc and /sys a jail never needs and that has been used to read kernel memory or
 * addresses, to poke the kernel, or as a side channel. Masked where the kernel has them. */
static const char *const proc_hide_files[] = {
	"/proc/kcore",     "/proc/sysrq-trigger", "/proc/kallsyms",   "/proc/keys",      "/proc/timer_list",
	"/proc/sched_debug", "/proc/latency_stats", "/proc/kpagecount", "/proc/kpageflags", "/proc/kpagecgroup",
};
/* (/proc/kmsg is not here: reading it needs CAP_SYSLOG in the host's namespace, which a jail never has.) */
static const char *const proc_mask_dirs[] = { "/proc/acpi", "/proc/scsi", "/proc/asound" };
/* Kernel tunables and hardware interfaces: readable (programs size themselves from them), never writable. */
static const char *const proc_readonly[] = { "/proc/sys", "/proc/bus", "/proc/fs", "/proc/irq" };
static const char *const sys_mask_dirs[] = {
	"/sys/firmware", "/sys/kernel/security", "/sys/kernel/debug", "/sys/kernel/tracing", "/sys/fs/fuse",
	"/sys/fs/bpf", "/sys/fs/pstore", "/sys/devices/virtual/powercap",
};

static void add_masks(struct plan *p)
{
	for (size_t i = 0; i < sizeof proc_readonly / sizeof proc_readonly[0]; i++)
		add_step(p, MK_READONLY, NULL, proc_readonly[i], MF_SYSTEM | MF_OPTIONAL, "mask");
	for (size_t i = 0; i < sizeof proc_hide_files / sizeof proc_hide_files[0]; i++)
		add_step(p, MK_HIDE_FILE, NULL, proc_hide_files[i], MF_FILE | MF_SYSTEM | MF_OPTIONAL, "mask");
	for (size_t i = 0; i < sizeof proc_mask_dirs / sizeof proc_mask_dirs[0]; i++)
		add_step(p, MK_MASK_DIR, NULL, proc_mask_dirs[i], MF_SYSTEM | MF_OPTIONAL, "mask");
	for (size_t i = 0; i < sizeof sys_mask_dirs / sizeof sys_mask_dirs[0]; i++)
		add_step(p, MK_MASK_DIR, NULL, sys_mask_dirs[i], MF_SYSTEM | MF_OPTIONAL, "mask");
}

static void add_system_mounts(struct plan *p, const struct facts *f, const struct opts *o, bool no_net)
{
	static const char *const devs[] = { "null", "zero", "full", "random", "urandom", "tty" };
	add_step(p, MK_PROC, NULL, "/proc", MF_SYSTEM, "system");
	/* glibc, libuv and Python size themselves from /sys/devices/system/cpu and /sys/fs/cgroup. With
	 * the host's network, the host's /sys, read-only. With a network namespace of its own, a fresh
	 * sysfs, which shows only that namespace's interfaces (the host's /sys would list the host's,
	 * with their addresses and live counters), and the host's cgroup tree in it, read-only. */
	if (no_net) {
		add_step(p, MK_SYSFS, NULL, "/sys", MF_SYSTEM, "system");
		add_step(p, MK_BIND_RO, "/sys/fs/cgroup", "/sys/fs/cgroup", MF_SYSTEM | MF_OPTIONAL, "system");
	} else {
		add_step(p, MK_BIND_RO, "/sys", "/sys", MF_SYSTEM, "system");
	}
	if (!o->no_mask)
		add_masks(p);
	/* Which modules the host kernel has loaded says which of its bugs are reachable. */
	if (o->lockdown)
		add_step(p, MK_MASK_DIR, NULL, "/sys/module", MF_SYSTEM | MF_OPTIONAL, "--lockdown");
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
	if (!no_net && f->rootfs->kind == ROOTFS_DIR) {
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
	struct probe_res res;
	if (resolve_source(f, m->origin, want, &res, err) < 0) {
		free(res.path);
		return -1;
	}
	cleanup_free char *src = res.path;
	enum fact_type t = res.type;
	if (t == FT_MISSING)
		return aj_usage(err, "%s: %s does not exist on the host; create it first (mkdir -p %s), or check the path",
				m->origin, want, want);
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
	/* /proc, /sys and /dev are the jail's own, made fresh with their masks: a host directory over
	 * them (or in /proc and /sys) would hide the jail's processes or undo the masks. A device goes
	 * through --dev, or the dev mode for a node beneath /dev. (sandbox.c checks again where a
	 * symlink in the rootfs leads.) */
	const char *rest;
	const char *k = path_kernel_dir(dst, &rest);
	if (k && !(*rest && strcmp(k, "/dev") == 0 && m->mode == MODE_DEV)) {
		const char *base = strrchr(src, '/');
		return aj_usage(err, "%s: %s %s the jail's own %s; mount it somewhere else (e.g. /mnt/%s)%s", m->origin, dst,
				*rest ? "is in" : "is", k, base && base[1] ? base + 1 : "data",
				strcmp(k, "/dev") == 0 ? ", or use --dev=NAME for a device" : "");
	}
	/* The host's own: its /proc would show every host process to the jail, unmasked; its /sys and
	 * /dev the host's devices. Devices come one at a time (--dev, or ,dev for a node). */
	k = path_kernel_dir(src, &rest);
	if (k && !(*rest && strcmp(k, "/dev") == 0 && m->mode == MODE_DEV))
		return aj_usage(err, "%s: %s is the host's %s; a jail has its own%s", m->origin, src, k,
				strcmp(k, "/dev") == 0 ? "; use --dev=NAME for a device" : ", and ajail does not mount the host's into it");
	bool is_file = t != FT_DIR;
	struct mount_step *s = add_step(p, kind_for(m->mode, is_file), src, dst, is_file ? MF_FILE : 0, m->origin);
	set_id(s, &res);
	if (s->kind == MK_TMPFS)
		s->mode = 0755;
	if (m->mode == MODE_RO && is_file)
		note(p, "%s: %s is a file; an overlay needs a directory, so it is bound read-only", m->origin, src);
	return 0;
}

/* A host path the plan mounts as it is (a store path, a verified git directory): what is there now
 * is what the jail must find. Missing, or a symlink: nothing is added, and NULL says so. */
static struct mount_step *add_host_step(struct plan *p, const struct facts *f, enum mount_kind kind, const char *src,
					const char *dst, unsigned flags, const char *origin)
{
	struct probe_res r;
	if (probe_full(f, src, false, &r) < 0 || (r.type != FT_DIR && r.type != FT_FILE)) {
		free(r.path);
		return NULL;
	}
	if ((r.type == FT_FILE) != ((flags & MF_FILE) != 0)) {
		free(r.path);
		return NULL;
	}
	struct mount_step *s = add_step(p, kind, src, dst, flags, origin);
	set_id(s, &r);
	free(r.path);
	return s;
}

/* What of a git directory a push or a commit writes: new objects, refs, reflogs. Everything else in
 * it (config, hooks, info/, commondir, worktrees/, modules/) decides what the user's own git runs
 * or where it looks, outside any jail, so it is mounted read-only underneath these. */
static const char *const git_writable[] = { "objects", "refs", "logs" };

static void add_git_dir(struct plan *p, const struct facts *f, const char *gitdir, const char *dst, bool writable,
			const char *origin)
{
	add_host_step(p, f, MK_BIND_RO, gitdir, dst, 0, origin);
	for (size_t i = 0; writable && i < sizeof git_writable / sizeof git_writable[0]; i++) {
		cleanup_free char *src = path_join(gitdir, git_writable[i]);
		cleanup_free char *d = path_join(dst, git_writable[i]);
		add_host_step(p, f, MK_BIND_RW, src, d, MF_FOLDED, origin);
	}
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
		/* An allow-list: a push needs objects, refs and reflogs (packed-refs only to delete a
		 * packed branch, which git does by renaming a new file over it: not possible on a bind). */
		add_git_dir(p, f, c->commondir, "/ajail/origin", true, "--clone-push");
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

/* A linked worktree's .git file points into the repository's common git directory, which git inside
 * needs at its own path. main.c checked git's back-links before it named it; still, only what a
 * commit writes is writable: objects, refs, logs and the worktree's own directory (HEAD, index),
 * whose commondir and gitdir files (where the user's git looks next time) and config.worktree (read
 * once the repository enables extensions.worktreeConfig, as sparse-checkout does) stay read-only. */
static void add_worktree_git(struct plan *p, const struct facts *f, bool writable)
{
	const char *c = f->git_commondir, *wt = f->git_worktree_dir;
	add_git_dir(p, f, c, c, writable, "git");
	if (writable) {
		add_host_step(p, f, MK_BIND_RW, wt, wt, MF_FOLDED, "git");
		static const char *const locked[] = { "commondir", "gitdir", "config.worktree" };
		for (size_t i = 0; i < sizeof locked / sizeof locked[0]; i++) {
			cleanup_free char *path = path_join(wt, locked[i]);
			if (!add_host_step(p, f, MK_BIND_RO, path, path, MF_FILE | MF_FOLDED, "git"))
				add_step(p, MK_HIDE_FILE, NULL, path, MF_FILE | MF_SYSTEM, "git");
		}
	}
	note(p, "linked worktree: the repository's git directory %s is mounted %s", c,
	     writable ? "read-only but for objects, refs, logs and the worktree's own directory, so git inside can "
			"commit"
		      : "read-only");
}

/* The store holds every rootfs and every clone workspace. A jail that could write it would change
 * the root of every later jail (past what --fs-edit allows) or another agent's workspace, which ajail
 * itself reads outside any jail; reading it would show other agents' work. It is in reach whenever
 * a mount of a host directory contains it: cwd = ~ with the default ~/.ajail is the common case.
 * Each such view of it is covered by an empty read-only directory, after every other mount. */
static bool step_is_covered(const struct plan *p, size_t i);

static int mask_store(struct plan *p, const struct facts *f, struct aj_err *err)
{
	cleanup_free char *store = NULL;
	enum fact_type t;
	if (!f->store_dir || f->store_dir[0] != '/' || probe(f, f->store_dir, true, &store, &t) < 0)
		return 0;
	if (t == FT_MISSING) {
		/* No store yet: a jail that could write where it will be could make it (a directory of its
		 * own, or a symlink to one) and own the store of every later run. Where a read-write mount
		 * of a host directory holds its place, an empty read-only directory takes that place for
		 * the jail's lifetime (its mount point, made on the host, is removed afterwards). */
		free(store);
		store = path_normalize(f->store_dir, NULL);
		for (size_t i = 0, n = p->n_steps; i < n; i++) {
			const struct mount_step *s = &p->steps[i];
			if (!plan_kind_is_persistent(s->kind) || (s->flags & MF_FILE) || !path_is_under(store, s->src) ||
			    strcmp(store, s->src) == 0 || step_is_covered(p, i))
				continue;
			cleanup_free char *dst = path_join(s->dst, path_relative(store, s->src));
			add_step(p, MK_MASK_DIR, NULL, dst, MF_SYSTEM, "store");
			note(p, "the store %s does not exist yet and its place is writable through %s: covered at %s, so "
				"the jail cannot make it", store, p->steps[i].origin, dst);
		}
		return 0;
	}
	if (t != FT_DIR)
		return 0;
	for (size_t i = 0, n = p->n_steps; i < n; i++) {
		/* p->steps moves when a step is added: index it afresh each time, keep no pointer. */
		const struct mount_step *s = &p->steps[i];
		if (!plan_kind_shows_host_dir(s->kind) || (s->flags & MF_FILE) || !path_is_under(store, s->src))
			continue;
		/* The store itself mounted ("" left): at dst, not at dst + "/" (a non-normalised dst). */
		const char *rel = path_relative(store, s->src);
		cleanup_free char *dst = *rel ? path_join(s->dst, rel) : xstrdup(s->dst);
		if (strcmp(dst, "/") == 0) /* --fs=$AJAIL_HOME: a mask over the root would leave nothing */
			return aj_usage(err, "%s: the rootfs %s is the store itself; no jail may see the store", s->origin,
					s->src);
		cleanup_free char *origin = xstrdup(s->origin);
		bool seen = false;
		for (size_t j = n; j < p->n_steps && !seen; j++)
			seen = strcmp(p->steps[j].dst, dst) == 0;
		if (seen)
			continue;
		add_step(p, MK_MASK_DIR, NULL, dst, 0, "store");
		note(p, "the store %s shows through %s: hidden at %s, so the jail can neither change rootfses nor "
			"see or touch clone workspaces", store, origin, dst);
	}
	return 0;
}

/* Running ajail in (or above) one's home is easy to do and hands the jail ~/.ssh, cloud credentials
 * and shell history, read-write: legal, as the cwd rule says, but worth one line every time. */
static void warn_home_in_cwd(struct plan *p, const struct facts *f, const struct mount_step *cwd)
{
	const char *home_env = config_getenv(f->environ, "HOME");
	cleanup_free char *home = NULL;
	enum fact_type t;
	if (!home_env || home_env[0] != '/' || probe(f, home_env, true, &home, &t) < 0 || t != FT_DIR ||
	    !path_is_under(home, cwd->src))
		return;
	strv_push(&p->warnings,
		  xasprintf("the working directory %s %s your home %s: the jail can read%s ~/.ssh and every other "
			    "credential there; run ajail in a project directory, or --hide what it must not see",
			    cwd->src, strcmp(home, cwd->src) == 0 ? "is" : "holds", home,
			    cwd->kind == MK_BIND_RW ? " and change" : ""));
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

/* Is step i hidden by a later mount at its destination or above it (--rw=build --rol: the read-only
 * cwd covers build)? Then it says nothing about what the jail can write. */
static bool step_is_covered(const struct plan *p, size_t i)
{
	for (size_t j = i + 1; j < p->n_steps; j++) {
		const struct mount_step *t = &p->steps[j];
		if (kind_is_mount(t->kind) && !(t->flags & MF_FILE) && path_is_under(p->steps[i].dst, t->dst))
			return true;
		if (kind_is_mount(t->kind) && strcmp(t->dst, p->steps[i].dst) == 0)
			return true;
	}
	return false;
}

/* --lockdown is for code trusted with nothing: every option that would hand it more is refused
 * rather than ignored, so no one believes a lockdown holds what it does not. (Those that came from
 * AJAIL_ARGS while --lockdown is on the command line were left out by cli_parse, and are named in a
 * warning.) */
static int check_lockdown(const struct opts *o, struct aj_err *err)
{
	const char *bad = cli_lockdown_conflict(o);
	if (bad)
		return aj_usage(err, "--lockdown cannot be combined with %s: it would give the jail more than a lockdown "
				     "allows (host directories stay read-only, nothing persists, every layer stays on)", bad);
	return 0;
}

static void add_rlimit(struct plan_layers *l, int resource, const char *name, uint64_t value)
{
	l->rl[l->n_rl++] = (struct plan_rlimit){ .resource = resource, .name = name, .value = value };
}

/* The layers: which are on, landlock's writable places (from the mounts, so it holds what they
 * promise even if a mount were undone), rlimits, cgroup limits. */
static int build_layers(struct plan *p, const struct opts *o, const struct facts *f, struct aj_err *err)
{
	struct plan_layers *l = &p->layers;
	l->lockdown = o->lockdown;
	l->cap_drop = !o->no_cap_drop;
	l->seccomp = !o->no_seccomp;
	l->allow_ptrace = o->allow_ptrace;
	l->mask = !o->no_mask;
	l->landlock_abi = f->landlock_abi;
	/* ABI 1 cannot allow a file to move between directories at all (REFER came with ABI 2): a
	 * jail where `mv a/x b/` fails is broken, so it runs without landlock there. */
	l->landlock = !o->no_landlock && f->landlock_abi >= 2;
	l->landlock_net = l->landlock && p->no_net && f->landlock_abi >= 4;
	if (l->landlock_net) {
		/* Landlock names ports, not addresses: in a namespace of the jail's own every port is the
		 * jail's, so these rules say which of its own services it may use. --no-net: TCP only to and
		 * from its published ports. --allow-net: connect only to the proxy, the localhost:PORT
		 * forwards and the published ports; bind stays free (a test server on any port works). */
		const struct plan_net *n = &p->net;
		l->ll_tcp_bind_handled = n->mode == NET_NONE;
		for (size_t i = 0; i < n->n_publish; i++) {
			l->ll_tcp_connect[l->n_ll_tcp_connect++] = n->publish[i].port;
			if (l->ll_tcp_bind_handled)
				l->ll_tcp_bind[l->n_ll_tcp_bind++] = n->publish[i].port;
		}
		if (n->mode == NET_ALLOW) {
			l->ll_tcp_connect[l->n_ll_tcp_connect++] = n->http_port;
			l->ll_tcp_connect[l->n_ll_tcp_connect++] = n->socks_port;
			for (size_t i = 0; i < n->n_forward; i++)
				l->ll_tcp_connect[l->n_ll_tcp_connect++] = n->forward[i];
			/* A keygate's port, if plan_keygate_finish ran before this (else it adds it). */
			for (size_t i = 0; i < n->n_keygate; i++)
				if (n->keygate[i].port)
					l->ll_tcp_connect[l->n_ll_tcp_connect++] = n->keygate[i].port;
		}
	}
	if (!o->no_landlock && f->landlock_abi <= 0)
		note(p, "landlock: this kernel has none (Linux 5.13+ with CONFIG_SECURITY_LANDLOCK and lsm=landlock); "
			"writes are limited by the mounts alone");
	else if (!o->no_landlock && f->landlock_abi == 1)
		note(p, "landlock: ABI 1 (before Linux 5.19) would forbid moving files between directories; "
			"writes are limited by the mounts alone");
	else if (p->no_net && !l->landlock_net && l->landlock)
		note(p, "landlock: ABI %d cannot deny TCP (ABI 4, Linux 6.7); --no-net rests on the network namespace",
		     f->landlock_abi);
	strv_push(&l->ll_root_skip, xstrdup("proc"));
	strv_push(&l->ll_root_skip, xstrdup("sys"));
	strv_push(&l->ll_root_skip, xstrdup("dev"));
	for (size_t i = 1; i < p->n_steps; i++) {
		const struct mount_step *s = &p->steps[i];
		if (!kind_is_mount(s->kind))
			continue;
		if (step_is_covered(p, i))
			continue;
		if (kind_is_writable(s->kind)) {
			bool under = false;
			for (size_t k = 0; l->ll_write && l->ll_write[k] && !under; k++)
				under = path_is_under(s->dst, l->ll_write[k]);
			if (!under)
				strv_push(&l->ll_write, xstrdup(s->dst));
		} else if (!strchr(s->dst + 1, '/') && !strv_contains(l->ll_root_skip, s->dst + 1)) {
			strv_push(&l->ll_root_skip, xstrdup(s->dst + 1));
		}
	}

	/* RLIMIT_CORE is 0 whatever the flags: a core dump goes to the host's core_pattern, which may
	 * be a program the host runs as root. The others leave a real build room (make -j, npm, a
	 * linker's file descriptors) and stop a runaway. */
	add_rlimit(l, RLIMIT_CORE, "core", 0);
	l->rlimits = !o->no_rlimits;
	uint64_t nproc = o->lockdown ? 256 : 8192;
	if (l->rlimits) {
		add_rlimit(l, RLIMIT_NOFILE, "nofile", o->lockdown ? 1024 : 65536);
		add_rlimit(l, RLIMIT_FSIZE, "fsize", o->lockdown ? UINT64_C(1) << 30 : UINT64_C(64) << 30);
	}
	if (o->lockdown && f->uid == 0 && !o->pids) {
		/* The kernel exempts root from RLIMIT_NPROC: only a pids cgroup caps a root lockdown. */
		if (f->cgroup_parent) {
			l->cgroup_parent = xstrdup(f->cgroup_parent);
			l->cgroup_v1 = f->cgroup_v1;
			l->pids = (unsigned)nproc;
			note(p, "--lockdown as root: pids.max %u in a cgroup of the jail's own under %s", l->pids,
			     f->cgroup_parent);
		} else {
			note(p, "--lockdown as root: no pids cgroup can be made here (%s), and the kernel does not "
				"apply RLIMIT_NPROC to root: nothing caps the number of processes",
			     f->cgroup_error ? f->cgroup_error : "none found");
		}
	} else if (o->memory || o->cpus_milli || o->pids) {
		l->memory = o->memory;
		l->cpus_milli = o->cpus_milli;
		l->pids = o->pids;
		if (o->lockdown && o->pids > nproc)
			l->pids = (unsigned)nproc;
		if (f->cgroup_parent) {
			l->cgroup_parent = xstrdup(f->cgroup_parent);
			l->cgroup_v1 = f->cgroup_v1;
			note(p, "limits: a cgroup of the jail's own under %s", f->cgroup_parent);
		} else if (!o->memory && !o->cpus_milli && f->uid == 0) {
			/* The kernel exempts the real root user from RLIMIT_NPROC, namespace or not. */
			return aj_fail(err, 0, "%s; and RLIMIT_NPROC, the fallback, does not bind root (uid 0): run as "
					       "an ordinary user, or delegate a cgroup v2 subtree with the pids controller",
				       f->cgroup_error ? f->cgroup_error : "no cgroup v2 pids controller is delegated");
		} else if (!o->memory && !o->cpus_milli) {
			/* Since Linux 5.14 RLIMIT_NPROC counts per user namespace: it caps this jail alone. */
			l->pids_by_rlimit = true;
			note(p, "--pids: no cgroup v2 pids controller is delegated to you (%s); RLIMIT_NPROC=%u, which "
				"the kernel counts for this jail's user namespace, holds the limit instead",
			     f->cgroup_error ? f->cgroup_error : "none found", o->pids);
		} else {
			return aj_fail(err, 0, "%s", f->cgroup_error ? f->cgroup_error : "no cgroup v2 subtree is delegated to you");
		}
	}
	/* --pids is the user's own choice of nproc too (with a cgroup both hold), but never looser than
	 * --lockdown's. */
	if (o->pids)
		nproc = o->lockdown && o->pids > nproc ? nproc : o->pids;
	if (l->rlimits || l->pids_by_rlimit)
		add_rlimit(l, RLIMIT_NPROC, "nproc", nproc);
	return 0;
}

static bool port_taken(const struct plan_net *n, uint16_t port)
{
	for (size_t i = 0; i < n->n_forward; i++)
		if (n->forward[i] == port)
			return true;
	for (size_t i = 0; i < n->n_publish; i++)
		if (n->publish[i].port == port)
			return true;
	for (size_t i = 0; i < n->n_keygate; i++)
		if (n->keygate[i].port == port)
			return true;
	return port == n->http_port || port == n->socks_port;
}

/* A variable for clients that honour proxy settings, unless AJAIL_ENV_ set it already (the user's
 * word wins: a client that then goes around the proxy still meets the empty namespace). */
static void set_env_default(struct plan *p, const char *key, const char *value)
{
	if (!config_getenv(p->env, key))
		strv_push(&p->env, xasprintf("%s=%s", key, value));
}

static void add_proxy_env(struct plan *p)
{
	cleanup_free char *http = xasprintf("http://127.0.0.1:%u", p->net.http_port);
	cleanup_free char *socks = xasprintf("socks5h://127.0.0.1:%u", p->net.socks_port);
	static const char *const http_keys[] = { "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
						  /* npm's own names (it also reads the above) */
						  "npm_config_proxy", "npm_config_https_proxy" };
	for (size_t i = 0; i < sizeof http_keys / sizeof http_keys[0]; i++)
		set_env_default(p, http_keys[i], http);
	set_env_default(p, "ALL_PROXY", socks);
	set_env_default(p, "all_proxy", socks);
	/* The jail's own loopback is its own: servers it starts are reached directly. */
	set_env_default(p, "NO_PROXY", "localhost,127.0.0.1,::1");
	set_env_default(p, "no_proxy", "localhost,127.0.0.1,::1");
	/* Node's built-in fetch and http (22.21+, 24.5+) read the variables above only when asked. */
	set_env_default(p, "NODE_USE_ENV_PROXY", "1");
}

/* The jail's own value for key, whatever AJAIL_ENV_ or a profile set before: a keygate's variables
 * are what make it work, and the key variable must never hold anything but the placeholder. */
static void set_env_force(struct plan *p, const char *key, const char *value)
{
	config_env_set(&p->env, key, strlen(key), value);
}

/* Does a NO_PROXY list take 127.0.0.1 to be direct? Only its plain forms count (curl, Node and
 * Python each read CIDR and wildcards their own way). */
static bool no_proxy_has_loopback(const char *v)
{
	for (const char *s = v; *s;) {
		size_t n = strcspn(s, ", ");
		if ((n == 9 && strncmp(s, "127.0.0.1", 9) == 0) || (n == 1 && *s == '*'))
			return true;
		s += n;
		s += strspn(s, ", ");
	}
	return false;
}

int plan_keygate_finish(struct plan *p, const struct facts *f, struct aj_err *err)
{
	struct plan_net *n = &p->net;
	for (size_t i = 0; i < n->n_keygate; i++) {
		struct plan_keygate *k = &n->keygate[i];
		struct wire_url u;
		const char *host_url = config_getenv(f->environ, k->base_env);
		if (host_url && host_url[0]) {
			/* The value is not repeated: a URL may carry a token of its own. */
			const char *why = wire_url_parse(host_url, &u);
			if (why)
				return aj_usage(err, "%s: %s (the keygate for %s wants http[s]://HOST[:PORT][/PATH])", k->base_env,
						why, k->env);
			free(k->upstream);
			k->upstream = xstrdup(host_url);
		} else {
			const char *why = wire_url_parse(k->upstream, &u);
			if (why)
				return aj_usage(err, "the keygate for %s: its upstream: %s", k->env, why);
		}
		/* Next to the proxy's own ports, clear of the forwards, the published ports and the other
		 * keygates (port_taken sees this one's 0 as nothing). */
		uint16_t port = 3129;
		while (port_taken(n, port))
			port++;
		k->port = port;
		cleanup_free char *url = xasprintf("http://127.0.0.1:%u", port);
		set_env_force(p, k->env, PLAN_KEYGATE_PLACEHOLDER);
		set_env_force(p, k->base_env, url);
		/* build_layers adds the port when it runs after this; when it ran before, here. */
		struct plan_layers *l = &p->layers;
		if (l->landlock_net && l->n_ll_tcp_connect < sizeof l->ll_tcp_connect / sizeof l->ll_tcp_connect[0])
			l->ll_tcp_connect[l->n_ll_tcp_connect++] = port;
		cleanup_free char *up = util_escape_controls(k->upstream);
		note(p, "%s stays outside the jail: the jail's %s=%s and %s=%s; ajail's proxy takes each request there, puts "
			"the key into %s and sends it on to %s",
		     k->env, k->env, PLAN_KEYGATE_PLACEHOLDER, k->base_env, url, k->header, up);
	}
	/* Requests to the keygate must go straight to it, not to the proxy at HTTP_PROXY (which would
	 * refuse 127.0.0.1): a NO_PROXY of the user's own that leaves loopback out gets it added. */
	static const char *const no_proxy[] = { "NO_PROXY", "no_proxy" };
	for (size_t i = 0; n->n_keygate && i < 2; i++) {
		const char *v = config_getenv(p->env, no_proxy[i]);
		if (!v) {
			set_env_force(p, no_proxy[i], "localhost,127.0.0.1,::1");
		} else if (!no_proxy_has_loopback(v)) {
			cleanup_free char *more = xasprintf("%s%s127.0.0.1", v, v[0] ? "," : "");
			set_env_force(p, no_proxy[i], more);
		}
	}
	return 0;
}

/* --net, --no-net, --allow-net, --publish, --net-log. */
static int build_net(struct plan *p, const struct opts *o, const struct facts *f, struct aj_err *err)
{
	struct plan_net *n = &p->net;
	n->mode = o->lockdown ? NET_NONE : o->net;
	if (o->no_net && !o->lockdown && o->net != NET_NONE)
		n->mode = NET_NONE;
	if (o->n_publish && n->mode == NET_HOST)
		return aj_usage(err, "--publish: the jail is on the host's network, where its ports are the host's already; "
				     "publishing needs --allow-net=PATTERN or --no-net");
	if (o->n_publish > PLAN_NET_PORTS_MAX)
		return aj_usage(err, "--publish: at most %d ports", PLAN_NET_PORTS_MAX);
	if (o->net_log && n->mode != NET_ALLOW)
		return aj_usage(err, "--net-log: only --allow-net has a proxy whose connections can be logged");
	for (size_t i = 0; i < o->n_publish; i++)
		n->publish[n->n_publish++] = o->publish[i];
	if (n->mode == NET_ALLOW) {
		struct np_presets presets = { 0 };
		if (np_presets_parse(&presets, netpolicy_shipped_presets(), "shipped", err) < 0 ||
		    (f->net_presets &&
		     np_presets_parse(&presets, f->net_presets, f->net_presets_path ? f->net_presets_path : "net-presets", err) < 0)) {
			np_presets_release(&presets);
			return -1;
		}
		for (size_t i = 0; o->allow_net && o->allow_net[i]; i++)
			if (netpolicy_add(&n->policy, o->allow_net[i], &presets, err) < 0) {
				np_presets_release(&presets);
				return -1;
			}
		/* The agent's own needs (its API, its sign-in) come with its profile. */
		const struct profile *pr = f->profile;
		for (size_t i = 0; pr && pr->net && pr->net[i]; i++)
			if (netpolicy_add(&n->policy, pr->net[i], &presets, err) < 0) {
				np_presets_release(&presets);
				return aj_err_wrap(err, "profile %s (%s)", pr->name, pr->source);
			}
		np_presets_release(&presets);
		if (n->policy.n == 0)
			return aj_usage(err, "--net=allow: nothing is allowed; name what the jail may reach with "
					     "--allow-net=PATTERN (e.g. --allow-net=@npm), or use --no-net");
		for (size_t i = 0; pr && i < pr->n_secret; i++) {
			const struct profile_secret *sec = &pr->secret[i];
			const char *key = config_getenv(f->environ, sec->env);
			if (!key || !*key || n->n_keygate == sizeof n->keygate / sizeof n->keygate[0])
				continue;
			struct plan_keygate *g = &n->keygate[n->n_keygate++];
			g->env = xstrdup(sec->env);
			g->header = xstrdup(sec->header);
			g->upstream = xstrdup(sec->upstream);
			g->base_env = xstrdup(sec->base_env);
		}
		for (size_t i = 0; i < n->policy.n; i++) {
			const struct np_rule *r = &n->policy.rules[i];
			if (r->kind != NP_LOCALHOST || port_taken(n, r->port))
				continue;
			if (n->n_forward == PLAN_NET_PORTS_MAX)
				return aj_usage(err, "--allow-net: at most %d localhost:PORT rules", PLAN_NET_PORTS_MAX);
			n->forward[n->n_forward++] = r->port;
		}
		/* The proxy's own ports: the usual ones, unless a forward or a published port has them. */
		for (uint16_t port = 3128; !n->http_port; port++)
			if (!port_taken(n, port))
				n->http_port = port;
		for (uint16_t port = 1080; !n->socks_port; port++)
			if (!port_taken(n, port))
				n->socks_port = port;
		if (o->net_log)
			n->log_path = o->net_log[0] == '/' ? xstrdup(o->net_log) : path_join(f->cwd, o->net_log);
	}
	return 0;
}

/* Is VAR an API key (or its base URL) that the keygate keeps outside? Then it is not passed through. */
static bool keygated(const struct plan *p, const char *var)
{
	for (size_t i = 0; i < p->net.n_keygate; i++)
		if (strcmp(p->net.keygate[i].env, var) == 0 || strcmp(p->net.keygate[i].base_env, var) == 0)
			return true;
	return false;
}

/* The agent's own state: each path its profile keeps, from $AJAIL_HOME/state/NAME, read-write, made
 * as the profile says when missing. Never in the rootfs, so no other agent's jail, no export and no
 * other rootfs sees it. An explicit --home-edit of the same path wins: the user asked for it in the
 * rootfs. */
static int add_profile_state(struct plan *p, const struct opts *o, const struct facts *f, struct aj_err *err)
{
	const struct profile *pr = f->profile;
	if (!pr || !pr->n_state)
		return 0;
	if (o->lockdown) {
		note(p, "--lockdown: profile %s keeps no state (nothing persists)", pr->name);
		return 0;
	}
	if (!f->state_dir) {
		strv_push(&p->warnings, xasprintf("profile %s: no $AJAIL_HOME or $HOME, so the agent's state is not kept", pr->name));
		return 0;
	}
	p->state_dir = xstrdup(f->state_dir);
	cleanup_free char *origin = xasprintf("profile %s", pr->name);
	for (size_t i = 0; i < pr->n_state; i++) {
		const struct profile_state *st = &pr->state[i];
		bool explicit = false;
		for (size_t j = 0; o->home_edit_dirs && o->home_edit_dirs[j] && !explicit; j++) {
			size_t n = strlen(o->home_edit_dirs[j]);
			while (n && o->home_edit_dirs[j][n - 1] == '/')
				n--;
			explicit = strlen(st->path) == n && strncmp(st->path, o->home_edit_dirs[j], n) == 0;
		}
		if (explicit) {
			note(p, "profile %s: /root/%s is kept in the rootfs, as --home-edit asks, not in %s", pr->name, st->path,
			     f->state_dir);
			continue;
		}
		/* The kind the rootfs has there must be the kind kept: a file cannot be mounted on a
		 * directory (an earlier --home-edit=.claude.json/ made one), nor the other way round. */
		if (p->rootfs.path) {
			cleanup_free char *in_root = xasprintf("root/%s", st->path);
			struct probe_res r;
			int rc = resolve_in_rootfs(f, origin, p->rootfs.path, in_root, &r, err);
			free(r.path);
			if (rc < 0)
				return -1;
			if (r.type != FT_MISSING && (r.type == FT_DIR) != st->dir)
				return aj_usage(err, "profile %s keeps /root/%s as a %s, but rootfs %s has a %s there; remove it "
						     "(ajail --fs=%s --fs-edit rm -r /root/%s) or run with --no-profile",
						pr->name, st->path, st->dir ? "directory" : "file", p->rootfs.name,
						r.type == FT_DIR ? "directory" : "file", p->rootfs.name, st->path);
		}
		cleanup_free char *src = path_join(f->state_dir, st->path);
		cleanup_free char *dst = path_join("/root", st->path);
		struct mount_step *s = add_step(p, MK_BIND_RW, src, dst, MF_CREATE_SRC | (st->dir ? 0 : MF_FILE), origin);
		s->create_base = xstrdup(f->state_dir);
		s->create_content = st->initial ? xstrdup(st->initial) : NULL;
	}
	note(p, "profile %s: its state is kept in %s, shared by every rootfs, in no rootfs", pr->name, f->state_dir);
	return 0;
}

/* A variable that by its name holds a credential: an API key, a token, a secret, a password, or
 * headers (ANTHROPIC_CUSTOM_HEADERS may carry an Authorization). */
static bool is_credential(const char *name)
{
	static const char *const ends[] = { "_KEY", "_TOKEN", "_SECRET", "_PASSWORD", "_HEADERS" };
	size_t n = strlen(name);
	for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
		size_t e = strlen(ends[i]);
		if (n > e && strcmp(name + n - e, ends[i]) == 0)
			return true;
	}
	return false;
}

/* The profile's variables: those it sets, and the host's it passes through when set (not into a
 * lockdown: the code there is trusted with nothing, API keys included). */
static void add_profile_env(struct plan *p, const struct opts *o, const struct facts *f)
{
	const struct profile *pr = f->profile;
	if (!pr)
		return;
	for (size_t i = 0; pr->set_env && pr->set_env[i]; i++) {
		const char *eq = strchr(pr->set_env[i], '=');
		cleanup_free char *key = xstrndup(pr->set_env[i], (size_t)(eq - pr->set_env[i]));
		set_env_default(p, key, eq + 1);
	}
	if (o->lockdown) {
		if (pr->pass_env)
			note(p, "--lockdown: profile %s passes none of the host's variables", pr->name);
		return;
	}
	cleanup_strv char **held = NULL;
	for (size_t i = 0; pr->pass_env && pr->pass_env[i]; i++) {
		const char *name = pr->pass_env[i];
		const char *v = config_getenv(f->environ, name);
		if (!v || keygated(p, name))
			continue;
		/* Behind the allow-list a credential in the jail's environment is one prompt injection
		 * away from any host the jail may reach (an allowed one it can post to): only the keygate
		 * may hold it. AJAIL_ENV_ still passes one on purpose. */
		if (p->net.mode == NET_ALLOW && is_credential(name) && !config_getenv(p->env, name)) {
			strv_push(&held, xstrdup(name));
			continue;
		}
		set_env_default(p, name, v);
	}
	if (held) {
		cleanup_free char *list = strv_join(held, ", ");
		strv_push(&p->warnings, xasprintf("--net=allow: %s stay%s outside the jail (no keygate holds %s); AJAIL_ENV_%s=... "
						  "passes %s on purpose",
						  list, strv_len(held) == 1 ? "s" : "", strv_len(held) == 1 ? "it" : "them", held[0],
						  strv_len(held) == 1 ? "it" : "one"));
	}
}

/* ${VAR} in a profile's argument: the jail's VAR, or nothing. */
static char *expand_arg(const struct plan *p, const char *a)
{
	cleanup_free char *out = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&out, &n);
	for (const char *c = a; *c; c++) {
		const char *close = c[0] == '$' && c[1] == '{' ? strchr(c + 2, '}') : NULL;
		if (!close) {
			fputc(*c, m);
			continue;
		}
		cleanup_free char *name = xstrndup(c + 2, (size_t)(close - c - 2));
		const char *v = config_getenv(p->env, name);
		if (v)
			fputs(v, m);
		c = close;
	}
	fclose(m);
	return steal_pointer(&out);
}

/* The profile's arguments go right after the command's name, and only when the command is the
 * agent itself: `ajail --profile=codex bash` must not hand bash Codex's options. */
static void add_profile_args(struct plan *p, const struct facts *f)
{
	const struct profile *pr = f->profile;
	if (!pr || !pr->args || !p->argv || p->argv_default)
		return;
	const char *cmd = profile_command_name(p->argv[0]);
	if (!cmd || strcmp(cmd, pr->name) != 0)
		return;
	char **argv = NULL;
	strv_push(&argv, xstrdup(p->argv[0]));
	for (size_t i = 0; pr->args[i]; i++) {
		const char *a = pr->args[i];
		if (a[0] == '?') {
			const char *nl = strchr(a, '\n');
			cleanup_free char *var = xstrndup(a + 1, (size_t)(nl - a - 1));
			if (!config_getenv(p->env, var))
				continue;
			a = nl + 1;
		}
		strv_push(&argv, expand_arg(p, a));
	}
	for (size_t i = 1; p->argv[i]; i++)
		strv_push(&argv, xstrdup(p->argv[i]));
	strv_free(p->argv);
	p->argv = argv;
}

/* The host's CA bundle, for jails on a rootfs of the store that have a network: a rootfs trusts only
 * the CAs it was built with, so behind a TLS-intercepting proxy (a company's, this machine's) every
 * npm, pip or git fetch would fail. It is mounted read-only in /run, never written into the rootfs,
 * and the variables common tools read point at it. */
static void add_host_ca(struct plan *p, const struct opts *o, const struct facts *f)
{
	if (o->no_host_ca || !f->host_ca || f->rootfs->kind != ROOTFS_DIR || p->net.mode == NET_NONE)
		return;
	/* Followed only in /etc (a distribution's bundle is often a symlink there, and no jail writes
	 * /etc); a $SSL_CERT_FILE elsewhere is taken only as a file itself, and the mount is of the
	 * inode seen here (a jail may be swapping it for a symlink right now). */
	struct probe_res r;
	cleanup_free char *src = NULL;
	if (probe_full(f, f->host_ca, false, &r) < 0)
		return;
	if (r.type == FT_SYMLINK && str_has_prefix(f->host_ca, "/etc/")) {
		free(r.path);
		enum fact_type t;
		if (probe(f, f->host_ca, true, &src, &t) < 0 || t != FT_FILE || probe_full(f, src, false, &r) < 0)
			return;
	} else {
		src = xstrdup(f->host_ca);
	}
	free(r.path);
	if (r.type != FT_FILE) {
		note(p, "the CA bundle %s is not a plain file (a symlink outside /etc is not followed): not handed in", f->host_ca);
		return;
	}
	add_step(p, MK_DIR, NULL, "/run/ajail", MF_SYSTEM, "host CA")->mode = 0755;
	set_id(add_step(p, MK_BIND_RO, src, PLAN_HOST_CA, MF_FILE | MF_SYSTEM, "host CA"), &r);
	p->host_ca = xstrdup(src);
	note(p, "the host's CA bundle %s is at " PLAN_HOST_CA " (--no-host-ca: the rootfs's own only)", src);
}

static void add_host_ca_env(struct plan *p)
{
	if (!p->host_ca)
		return;
	/* OpenSSL (Python, Ruby, curl), Node (added to its own), requests/pip, curl, git, the AWS and
	 * Google SDKs, Deno, Cargo. */
	static const char *const keys[] = { "SSL_CERT_FILE",  "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE",
					    "CURL_CA_BUNDLE", "GIT_SSL_CAINFO",      "PIP_CERT",
					    "AWS_CA_BUNDLE",  "DENO_CERT",           "CARGO_HTTP_CAINFO",
					    "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH" };
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		set_env_default(p, keys[i], PLAN_HOST_CA);
}

int plan_build(const struct opts *o, const struct facts *f, struct plan *p, struct aj_err *err)
{
	plan_init(p);
	if (o->lockdown && check_lockdown(o, err) < 0)
		goto fail;
	if (build_net(p, o, f, err) < 0)
		goto fail;
	bool no_net = p->net.mode != NET_HOST;
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
	p->rootfs.dev = r->dev;
	p->rootfs.ino = r->ino;
	p->rootfs.store_name = r->store_name ? xstrdup(r->store_name) : NULL;
	p->rootfs.edit_work = r->edit_work ? xstrdup(r->edit_work) : NULL;
	if (r->n_bases) {
		p->rootfs.bases = xcalloc(r->n_bases, sizeof *p->rootfs.bases);
		for (size_t i = 0; i < r->n_bases; i++) {
			p->rootfs.bases[i] = r->bases[i];
			p->rootfs.bases[i].name = xstrdup(r->bases[i].name);
			p->rootfs.bases[i].path = xstrdup(r->bases[i].path);
		}
		p->rootfs.n_bases = r->n_bases;
	}
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
		if (o->commit) {
			aj_usage(err, "--commit=%s: the session's changes become a layer on a rootfs of the store; use --fs=NAME "
				      "(not --fs=host)", o->commit);
			goto fail;
		}
		if (r->implicit)
			strv_push(&p->warnings, xstrdup("no 'default' rootfs in the store: using the host's /usr /bin /lib* /sbin /etc /opt "
					     "read-only (--fs=host); 'ajail fs build debian default' or 'ajail fs import default TARBALL' "
					     "makes a default"));
		note(p, "rootfs 'host': the host's system directories, read-only, on an empty tmpfs");
		if (add_host_root(p, f, err) < 0)
			goto fail;
	} else {
		note(p, "rootfs '%s' at %s%s", r->name, r->path, r->implicit ? " (the store's default)" : "");
		if (r->owner != f->uid)
			strv_push(&p->warnings, xasprintf("rootfs '%s' belongs to uid %u, not to you (uid %u): inside the jail its files "
					       "belong to nobody and cannot be changed, even in the ephemeral overlay",
					       r->name, (unsigned)r->owner, (unsigned)f->uid));
		if (add_store_root(p, o, f, err) < 0)
			goto fail;
	}
	add_system_mounts(p, f, o, no_net);
	add_host_ca(p, o, f);
	if (o->lockdown && o->lockdown_dropped) {
		cleanup_free char *list = strv_join(o->lockdown_dropped, " ");
		strv_push(&p->warnings, xasprintf("--lockdown: left out %s from AJAIL_ARGS (a lockdown takes nothing that would "
						  "loosen it)", list));
	}
	if (o->lockdown) {
		add_step(p, MK_TMPFS, NULL, "/root", MF_SYSTEM, "--lockdown")->mode = 0700;
		note(p, "--lockdown: an empty home, the working directory read-only, no network");
	}
	if (add_profile_state(p, o, f, err) < 0)
		goto fail;

	if (f->clone && strcmp(f->clone->toplevel, "/") == 0) {
		/* A repository whose work tree is / (a /.git): its clone would be mounted over the root. */
		aj_usage(err, "--clone: the repository's work tree is /; a clone cannot be mounted over the jail's root");
		goto fail;
	} else if (f->clone) {
		add_clone_mounts(p, f->clone, f);
	} else if (strcmp(f->cwd, "/") == 0) {
		note(p, "the working directory is /: it is not mounted (that would expose the whole host)");
	} else {
		enum mount_kind cwd_kind = o->lockdown ? MK_BIND_RO : MK_BIND_RW;
		struct probe_res cr;
		if (probe_full(f, f->cwd, false, &cr) < 0) {
			aj_fail(err, errno, "the working directory %s", f->cwd);
			goto fail;
		}
		free(cr.path);
		struct mount_step *cwd = add_step(p, cwd_kind, f->cwd, f->cwd, 0, "cwd");
		set_id(cwd, &cr);
		warn_home_in_cwd(p, f, cwd);
		if (f->git_warning)
			strv_push(&p->warnings, xstrdup(f->git_warning));
		if (f->git_commondir && f->git_worktree_dir && !path_is_under(f->git_commondir, f->cwd))
			add_worktree_git(p, f, !o->lockdown);
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
	if (mask_store(p, f, err) < 0)
		goto fail;
	compute_persist_layers(p);

	p->clone_flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;
	p->no_net = no_net;
	if (p->net.mode == NET_NONE) {
		p->clone_flags |= CLONE_NEWNET;
		note(p, "--no-net: a new network namespace with only lo");
	} else if (p->net.mode == NET_ALLOW) {
		p->clone_flags |= CLONE_NEWNET;
		note(p, "--allow-net: a new network namespace with only lo, whose only way out is ajail's proxy (HTTP at "
			"127.0.0.1:%u, SOCKS5 at 127.0.0.1:%u); names are checked before any lookup",
		     p->net.http_port, p->net.socks_port);
	}
	p->outer_uid = f->uid;
	p->outer_gid = f->gid;
	p->hostname = xstrdup("localhost");
	p->cwd = xstrdup(f->cwd);
	p->env = config_jail_env(f->environ, f->cwd_in_git);
	/* An imported OCI image's Env (its PATH, JAVA_HOME, ...), as a container of it would have; HOME
	 * and TERM stay the jail's, and AJAIL_ENV_*, the profile's and the host CA's come after it. */
	for (size_t i = 0; f->rootfs->image_env && f->rootfs->image_env[i]; i++) {
		const char *e = f->rootfs->image_env[i], *eq = strchr(e, '=');
		if (!eq || eq == e || (eq - e == 4 && (!strncmp(e, "HOME", 4) || !strncmp(e, "TERM", 4))))
			continue;
		config_env_set(&p->env, e, (size_t)(eq - e), eq + 1);
	}
	/* AJAIL_ENV_ passes any name, as env(1) would; but a name no shell keeps vanishes at the first
	 * shell in the jail, so say so rather than let it seem dropped by ajail. */
	for (size_t i = 0; f->environ && f->environ[i]; i++) {
		const char *e = f->environ[i];
		if (!str_has_prefix(e, "AJAIL_ENV_"))
			continue;
		const char *key = e + 10;
		size_t len = strcspn(key, "=");
		bool ok = len > 0 && !isdigit((unsigned char)key[0]);
		for (size_t k = 0; k < len && ok; k++)
			ok = isalnum((unsigned char)key[k]) || key[k] == '_';
		if (!ok)
			strv_push(&p->warnings,
				  len ? xasprintf("AJAIL_ENV_%.*s: '%.*s' is not a variable name a shell keeps (letters, digits, "
						  "'_', not starting with a digit); it is set, but a shell in the jail drops it",
						  (int)len, key, (int)len, key)
				      : xstrdup("AJAIL_ENV_: no variable name after the prefix; nothing is set"));
	}
	if (p->net.mode == NET_ALLOW)
		add_proxy_env(p);
	add_profile_env(p, o, f);
	if (plan_keygate_finish(p, f, err) < 0)
		goto fail;
	add_host_ca_env(p);
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
	add_profile_args(p, f);
	if (f->profile) {
		p->profile = xstrdup(f->profile->name);
		p->profile_source = xstrdup(f->profile->source);
	}
	if (f->tty_fds & 1) {
		/* The jail gets a terminal of its own; it never holds the host's. */
		p->pty_fds = f->tty_fds;
		p->new_session = true;
		note(p, "interactive: the command gets a pty of the jail's own, relayed by ajail, so job control "
			"works and the jail holds no descriptor of the host's terminal (TIOCSTI cannot reach it)");
	} else if (o->new_session == TRI_YES || o->lockdown) {
		p->new_session = true;
		note(p, "%s: detached from the terminal's session", o->lockdown ? "--lockdown" : "--new-session");
	} else {
		p->new_session = f->legacy_tiocsti != 0;
		note(p, p->new_session ? "new session: the kernel allows TIOCSTI (legacy_tiocsti is not 0), so the jail "
					 "must not share the terminal's session"
				       : "same session: legacy_tiocsti is 0, the jail cannot push input into the terminal");
	}
	p->caps_keep = o->cap_add;
	if (build_layers(p, o, f, err) < 0)
		goto fail;
	p->quiet = o->quiet;
	p->verbose = o->verbose;
	return 0;
fail:
	plan_release(p);
	return -1;
}

/* "allow-list (proxy at 127.0.0.1:3128, SOCKS5 :1080): api.anthropic.com (@claude), ...; published
 * 127.0.0.1:8080 -> 3000", for --dry-run and the status block. Caller frees. */
static char *describe_net(const struct plan *p, bool brief)
{
	const struct plan_net *n = &p->net;
	char *text = NULL;
	size_t len = 0;
	FILE *b = open_memstream(&text, &len);
	if (!b)
		abort();
	switch (n->mode) {
	case NET_HOST:
		fputs("host", b);
		break;
	case NET_NONE:
		fputs(brief ? "none" : "none (lo only)", b);
		break;
	case NET_ALLOW: {
		cleanup_free char *rules = netpolicy_describe(&n->policy);
		cleanup_free char *safe = util_escape_controls(rules);
		if (brief)
			fprintf(b, "allow %s", safe);
		else
			fprintf(b, "allow-list, through ajail's proxy (HTTP 127.0.0.1:%u, SOCKS5 127.0.0.1:%u): %s", n->http_port,
				n->socks_port, safe);
		for (size_t i = 0; i < n->n_forward; i++)
			fprintf(b, "%s127.0.0.1:%u -> the host's", i ? ", " : "; forwarded ", n->forward[i]);
		for (size_t i = 0; i < n->n_keygate; i++) {
			cleanup_free char *up = util_escape_controls(n->keygate[i].upstream);
			fprintf(b, "; key %s stays outside the jail: %s=http://127.0.0.1:%u -> %s", n->keygate[i].env,
				n->keygate[i].base_env, n->keygate[i].port, up);
		}
		if (n->log_path) {
			cleanup_free char *lp = util_escape_controls(n->log_path);
			fprintf(b, "; log %s", lp);
		}
		break;
	}
	}
	for (size_t i = 0; i < n->n_publish; i++)
		fprintf(b, "%shost's 127.0.0.1:%u -> %u", i ? ", " : "; published ", n->publish[i].host_port, n->publish[i].port);
	if (fclose(b) != 0 || !text)
		abort();
	return text;
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

static void print_size(FILE *out, uint64_t v)
{
	static const char units[] = "KMGT";
	int u = -1;
	while (v >= 1024 && v % 1024 == 0 && u < 3) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		fprintf(out, "%llu", (unsigned long long)v);
	else
		fprintf(out, "%llu%c", (unsigned long long)v, units[u]);
}

/* " memory 4G cpus 1.500 pids 512": the limits asked for. */
static void print_limits(FILE *out, const struct plan_layers *l)
{
	if (l->memory) {
		fputs(" memory ", out);
		print_size(out, l->memory);
	}
	if (l->cpus_milli)
		fprintf(out, " cpus %u.%03u", l->cpus_milli / 1000, l->cpus_milli % 1000);
	if (l->pids)
		fprintf(out, " pids %u", l->pids);
}

void plan_print_layers(const struct plan *p, FILE *out)
{
	const struct plan_layers *l = &p->layers;
	fputs("layers:\n", out);
	if (l->lockdown)
		fputs("  lockdown      on: cwd read-only, no network, empty home, new session, tight limits\n", out);
	if (l->cap_drop) {
		fputs("  capabilities  all dropped (kept: ", out);
		print_caps(out, p->caps_keep);
		fputs("); securebits locked; no_new_privs\n", out);
	} else {
		fputs("  capabilities  off (--no-cap-drop): the jail's user namespace keeps all of them\n", out);
	}
	if (l->seccomp)
		fprintf(out, "  seccomp       deny list (EPERM), 32-bit x86 system calls killed; ptrace %s\n",
			l->allow_ptrace ? "allowed (--allow-ptrace)" : "denied");
	else
		fputs("  seccomp       off (--no-seccomp)\n", out);
	if (l->landlock) {
		fprintf(out, "  landlock      ABI %d: writes only beneath", l->landlock_abi);
		for (size_t i = 0; l->ll_write && l->ll_write[i]; i++)
			fprintf(out, " %s", l->ll_write[i]);
		fputs(" and each top-level entry of / but", out);
		for (size_t i = 0; l->ll_root_skip && l->ll_root_skip[i]; i++)
			fprintf(out, " %s", l->ll_root_skip[i]);
		if (l->landlock_net) {
			fputs(l->ll_tcp_bind_handled ? "; TCP bind and connect denied" : "; TCP connect denied", out);
			for (size_t i = 0; i < l->n_ll_tcp_connect; i++)
				fprintf(out, "%s%u", i ? "," : " but to ports ", l->ll_tcp_connect[i]);
		}
		if (l->landlock_abi >= 6)
			fputs("; abstract unix sockets and signals scoped to the jail", out);
		fputc('\n', out);
	} else {
		fprintf(out, "  landlock      off (%s)\n", l->landlock_abi >= 2 ? "--no-landlock"
							 : l->landlock_abi == 1 ? "ABI 1 is too old: it forbids cross-directory moves"
										 : "the kernel has none");
	}
	fputs("  rlimits       ", out);
	for (size_t i = 0; i < l->n_rl; i++) {
		fprintf(out, "%s%s ", i ? ", " : "", l->rl[i].name);
		if (l->rl[i].resource == RLIMIT_FSIZE)
			print_size(out, l->rl[i].value);
		else
			fprintf(out, "%llu", (unsigned long long)l->rl[i].value);
	}
	fputs(l->rlimits ? "" : " (--no-rlimits: core dumps stay off)", out);
	if (p->outer_uid == 0 && (l->rlimits || l->pids_by_rlimit))
		fputs(" (the kernel does not apply nproc to root)", out);
	fputc('\n', out);
	if (l->mask)
		fputs("  masks         /proc/sys /proc/bus /proc/fs /proc/irq read-only; kcore, kallsyms, sysrq-trigger, keys, "
		      "... hidden; /sys read-only with firmware, kernel/security, kernel/debug, fs/fuse, ... hidden\n",
		      out);
	else
		fputs("  masks         off (--no-mask): /proc as the kernel shows it, /sys read-only\n", out);
	if (l->cgroup_parent || l->pids_by_rlimit) {
		fputs("  limits       ", out);
		print_limits(out, l);
		if (l->cgroup_parent)
			fprintf(out, " (a cgroup%s under %s)\n", l->cgroup_v1 ? " v1" : "", l->cgroup_parent);
		else
			fputs(" (RLIMIT_NPROC: no cgroup v2 pids controller delegated)\n", out);
	}
}

/* "claude (shipped); state in ~/.ajail/state/claude", or "none". */
static void print_profile(const struct plan *p, FILE *out, const char *label)
{
	if (!p->profile) {
		if (label[0] != 'a') /* --dry-run says so; the status block stays short */
			fprintf(out, "%snone\n", label);
		return;
	}
	cleanup_free char *src = util_escape_controls(p->profile_source);
	fprintf(out, "%s%s (%s)", label, p->profile, src);
	if (p->state_dir) {
		cleanup_free char *sd = util_escape_controls(p->state_dir);
		fprintf(out, "; state in %s", sd);
	}
	fputc('\n', out);
}

void plan_print(const struct plan *p, FILE *out)
{
	fprintf(out, "rootfs:      %s%s%s\n", p->rootfs.name, p->rootfs.path ? " " : "", p->rootfs.path ? p->rootfs.path : "");
	fprintf(out, "namespaces:  user mount pid ipc uts cgroup%s\n", p->no_net ? " net" : "");
	fprintf(out, "id maps:     uid 0 -> %u, gid 0 -> %u, setgroups deny\n", (unsigned)p->outer_uid, (unsigned)p->outer_gid);
	fprintf(out, "hostname:    %s\n", p->hostname);
	cleanup_free char *net = describe_net(p, false);
	fprintf(out, "network:     %s\n", net);
	fprintf(out, "session:     %s\n", p->pty_fds ? "new, on the jail's own pty" : p->new_session ? "new" : "shared with the terminal");
	fputs("caps kept:   ", out);
	print_caps(out, p->caps_keep);
	fputc('\n', out);
	cleanup_free char *cwd = util_escape_controls(p->cwd);
	fprintf(out, "cwd:         %s\n", cwd);
	print_profile(p, out, "profile:     ");
	if (p->host_ca)
		fprintf(out, "host CA:     %s at " PLAN_HOST_CA "\n", p->host_ca);
	plan_print_layers(p, out);
	fputs("mounts:\n", out);
	for (size_t i = 0; i < p->n_steps; i++) {
		const struct mount_step *s = &p->steps[i];
		cleanup_free char *dst = util_escape_controls(s->dst);
		fprintf(out, "  %2zu %-9s %s", i, plan_kind_name(s->kind), dst);
		/* A layer's lowers, top first, as overlayfs takes them (the options show them escaped). */
		cleanup_free char *lower = xstrdup(s->src ? s->src : "");
		for (size_t j = 0; j < s->n_lowers; j++) {
			char *more = xasprintf("%s:%s", lower, s->lowers[j].path);
			free(lower);
			lower = more;
		}
		switch (s->kind) {
		case MK_ROOT_OVERLAY:
		case MK_OVERLAY: {
			cleanup_free char *opt = plan_overlay_options(lower, "<tmp>/upper", "<tmp>/work");
			cleanup_free char *eopt = util_escape_controls(opt);
			fprintf(out, " (%s)", eopt);
			break;
		}
		case MK_ROOT_OVERLAY_KEEP:
		case MK_OVERLAY_KEEP: {
			cleanup_free char *opt = plan_overlay_options(lower, s->upper, s->work);
			cleanup_free char *eopt = util_escape_controls(opt);
			fprintf(out, " (%s)", eopt);
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
		case MK_BIND_DEV: {
			cleanup_free char *src = util_escape_controls(s->src);
			fprintf(out, " <- %s", src);
			break;
		}
		case MK_HIDE_FILE:
		case MK_PROC:
		case MK_DEVPTS:
		case MK_REMOVE:
		case MK_MASK_DIR:
		case MK_READONLY:
		case MK_SYSFS:
			break;
		}
		fprintf(out, "  [%s]", s->origin);
		if (s->flags & MF_OPTIONAL)
			fputs(" if-present", out);
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
	case MK_ROOT_OVERLAY_KEEP:
		return "overlay, changes kept in a layer";
	case MK_TMPFS:
	case MK_HIDE_FILE:
	case MK_MASK_DIR:
		return "hidden";
	case MK_ROOT_TMPFS:
	case MK_PROC:
	case MK_DEVPTS:
	case MK_SYMLINK:
	case MK_DIR:
	case MK_REMOVE:
	case MK_READONLY:
	case MK_SYSFS:
		break;
	}
	return plan_kind_name(s->kind);
}

void plan_print_status(const struct plan *p, FILE *out)
{
	if (p->rootfs.kind == ROOTFS_HOST)
		fputs("ajail: rootfs   host (read-only system directories)\n", out);
	else {
		/* fs/default is usually a symlink: say which rootfs it is today. */
		const char *target = p->rootfs.path ? strrchr(p->rootfs.path, '/') : NULL;
		bool alias = p->rootfs.implicit && target && strcmp(target + 1, "default") != 0;
		cleanup_free char *name = util_escape_controls(p->rootfs.name);
		cleanup_free char *real = alias ? util_escape_controls(target + 1) : NULL;
		/* A layer: the rootfses beneath it, nearest first. */
		fprintf(out, "ajail: rootfs   %s%s%s", name, alias ? " -> " : "", alias ? real : "");
		for (size_t i = 0; i < p->rootfs.n_bases; i++) {
			cleanup_free char *base = util_escape_controls(p->rootfs.bases[i].name);
			fprintf(out, " on %s", base);
		}
		cleanup_free char *commit = p->commit ? util_escape_controls(p->commit) : NULL;
		if (commit)
			fprintf(out, " (overlay: changes become layer '%s' if the command succeeds)\n", commit);
		else
			fprintf(out, " (%s)\n", p->rootfs.n_bases && p->root_persistent ? "overlay on its bases: changes persist in the layer"
					   : p->root_persistent ? "read-write: changes persist" : "overlay: changes discarded");
	}
	cleanup_free char *cwd = util_escape_controls(p->cwd);
	fprintf(out, "ajail: cwd      %s\n", cwd);
	if (p->clone_id)
		fprintf(out, "ajail: clone    workspace %s, branch %s (origin: /ajail/origin, read-only)\n", p->clone_id,
			p->clone_branch);
	cleanup_free char *net = describe_net(p, true);
	fprintf(out, "ajail: network  %s\n", net);
	print_profile(p, out, "ajail: profile  ");
	if (p->layers.lockdown)
		fputs("ajail: lockdown on\n", out);
	/* Only what is unusual: a layer turned off is worth a line every time. */
	const struct plan_layers *l = &p->layers;
	if (!l->cap_drop || !l->seccomp || l->allow_ptrace || !l->landlock || !l->rlimits || !l->mask) {
		fputs("ajail: off     ", out);
		if (!l->cap_drop)
			fputs(" capability-drop", out);
		if (!l->seccomp)
			fputs(" seccomp", out);
		else if (l->allow_ptrace)
			fputs(" ptrace-filter", out);
		if (!l->landlock)
			fputs(l->landlock_abi >= 2 ? " landlock" : " landlock(kernel)", out);
		if (!l->rlimits)
			fputs(" rlimits", out);
		if (!l->mask)
			fputs(" masks", out);
		fputc('\n', out);
	}
	if (l->cgroup_parent || l->pids_by_rlimit) {
		fputs("ajail: limits  ", out);
		print_limits(out, l);
		fputc('\n', out);
	}
	for (size_t i = 1; i < p->n_steps; i++) {
		const struct mount_step *s = &p->steps[i];
		if ((s->flags & (MF_SYSTEM | MF_FOLDED)) || s->kind == MK_SYMLINK || s->kind == MK_REMOVE ||
		    strcmp(s->origin, "host") == 0)
			continue;
		if (step_is_covered(p, i))
			continue;
		/* Paths come from the user's tree, which a jail may have named: no escape sequence passes. */
		cleanup_free char *dst = util_escape_controls(s->dst);
		cleanup_free char *origin = util_escape_controls(s->origin);
		fprintf(out, "ajail: mount    %s (%s", dst, step_label(s));
		/* A read-only git directory with holes where git writes: one line, naming the holes. */
		const char *sep = ", but ";
		for (size_t j = i + 1; j < p->n_steps && (p->steps[j].flags & MF_FOLDED); j++) {
			const struct mount_step *h = &p->steps[j];
			if (h->kind != MK_BIND_RW || !path_is_under(h->dst, s->dst))
				continue;
			cleanup_free char *rel = util_escape_controls(path_relative(h->dst, s->dst));
			fprintf(out, "%s%s/", sep, rel);
			sep = " ";
		}
		if (strcmp(sep, ", but ") != 0)
			fputs(" read-write", out);
		fprintf(out, ")%s%s\n", strcmp(s->origin, "cwd") ? "  " : "", strcmp(s->origin, "cwd") ? origin : "");
	}
}
