/* cgroup.c — a child cgroup with the jail's limits, in the part of the cgroup v2 tree delegated to
 * the user. See cgroup.h for the life cycle.
 *
 * Why we never write "+memory" into a cgroup.subtree_control ourselves: the only cgroups where the
 * kernel would let us are delegated ones without processes of their own, and those belong to whoever
 * delegated them (typically systemd, which rewrites subtree_control on its own schedule). Turning a
 * controller on there outlives the jail and changes accounting for every sibling; when it is the one
 * thing missing, the error says which command does it, so the user decides once. */
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/* The controllers the limits need, in the order messages list them. */
enum { CG_MEMORY = 1 << 0, CG_CPU = 1 << 1, CG_PIDS = 1 << 2 };
static const struct {
	const char *ctrl, *opt;
} ctrls[] = { { "memory", "--memory" }, { "cpu", "--cpus" }, { "pids", "--pids" } };
#define NCTRLS (sizeof ctrls / sizeof ctrls[0])

#define CPU_PERIOD_US  100000u

/* ---- pure ---- */

bool cgroup_limits_set(const struct cg_limits *l)
{
	return l->memory || l->cpus_milli || l->pids;
}

static char *read_text(const char *path)
{
	/* mountinfo grows with the mount table: a generous bound. */
	return read_file_at(AT_FDCWD, path, 64u << 20);
}

static bool is_sep(char c, const char *seps)
{
	return c && strchr(seps, c);
}

/* Whether list, words separated by any of seps, holds word. */
static bool has_token(const char *list, const char *word, const char *seps)
{
	size_t n = strlen(word);
	for (const char *p = list; *p;) {
		while (is_sep(*p, seps))
			p++;
		const char *e = p;
		while (*e && !is_sep(*e, seps))
			e++;
		if ((size_t)(e - p) == n && memcmp(p, word, n) == 0)
			return true;
		p = e;
	}
	return false;
}

#define WS " \t\n"

static unsigned needed_mask(const struct cg_limits *l)
{
	return (l->memory ? CG_MEMORY : 0u) | (l->cpus_milli ? CG_CPU : 0u) | (l->pids ? CG_PIDS : 0u);
}

/* The controllers of mask that the cgroup file text (cgroup.controllers, cgroup.subtree_control) lacks. */
static unsigned missing_from(unsigned mask, const char *text)
{
	unsigned m = 0;
	for (size_t i = 0; i < NCTRLS; i++)
		if ((mask & (1u << i)) && !has_token(text, ctrls[i].ctrl, WS))
			m |= 1u << i;
	return m;
}

static bool one_bit(unsigned mask)
{
	return (mask & (mask - 1)) == 0;
}

/* "--memory", "--memory and --pids", "--memory, --cpus and --pids" (opts), or the controller names. */
static char *join_mask(unsigned mask, bool opts)
{
	const char *w[NCTRLS];
	size_t n = 0;
	for (size_t i = 0; i < NCTRLS; i++)
		if (mask & (1u << i))
			w[n++] = opts ? ctrls[i].opt : ctrls[i].ctrl;
	if (n == 0)
		return xstrdup("");
	if (n == 1)
		return xstrdup(w[0]);
	if (n == 2)
		return xasprintf("%s and %s", w[0], w[1]);
	return xasprintf("%s, %s and %s", w[0], w[1], w[2]);
}

/* "+memory +pids", what cgroup.subtree_control takes. */
static char *plus_list(unsigned mask)
{
	char *s = xstrdup("");
	for (size_t i = 0; i < NCTRLS; i++)
		if (mask & (1u << i)) {
			char *n = xasprintf("%s%s+%s", s, *s ? " " : "", ctrls[i].ctrl);
			free(s);
			s = n;
		}
	return s;
}

/* "only hugetlb", "only memory and pids", "no controllers": what a cgroup.controllers offers. */
static char *offered(const char *text)
{
	char *words = xstrdup("");
	size_t n = 0;
	char *last = NULL;
	cleanup_free char *copy = xstrdup(text);
	char *save;
	for (char *t = strtok_r(copy, WS, &save); t; t = strtok_r(NULL, WS, &save)) {
		if (last) {
			char *w = xasprintf("%s%s%s", words, *words ? ", " : "", last);
			free(words);
			words = w;
		}
		last = t;
		n++;
	}
	char *r;
	if (n == 0)
		r = xstrdup("no controllers");
	else if (n == 1)
		r = xasprintf("only %s", last);
	else
		r = xasprintf("only %s and %s", words, last);
	free(words);
	return r;
}

/* One line of /proc/self/mountinfo; the strings point into the text it was parsed from. */
struct mnt {
	const char *root, *point, *fstype, *opts;
};

/* mountinfo writes space, tab, newline and backslash in paths as \040, \011, \012, \134. */
static void unescape_octal(char *s)
{
	char *o = s;
	for (char *p = s; *p;) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' &&
		    p[3] <= '7') {
			*o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 4;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
}

/* Split text (modified in place) into mounts: "id parent maj:min root point opts [optional...] - fstype
 * source superopts". Lines that do not parse are skipped. Caller frees *out. */
static size_t parse_mountinfo(char *text, struct mnt **out)
{
	size_t n = 0, cap = 0;
	struct mnt *v = NULL;
	char *save_line;
	for (char *line = strtok_r(text, "\n", &save_line); line; line = strtok_r(NULL, "\n", &save_line)) {
		char *f[64];
		size_t nf = 0;
		char *save;
		for (char *t = strtok_r(line, " ", &save); t && nf < 64; t = strtok_r(NULL, " ", &save))
			f[nf++] = t;
		size_t dash = 6;
		while (dash < nf && strcmp(f[dash], "-") != 0)
			dash++;
		if (dash + 2 >= nf)
			continue;
		if (n == cap)
			v = xrealloc(v, (cap = cap ? cap * 2 : 32) * sizeof *v);
		unescape_octal(f[3]);
		unescape_octal(f[4]);
		v[n++] = (struct mnt){ .root = f[3], .point = f[4], .fstype = f[dash + 1], .opts = f[nf - 1] };
	}
	*out = v;
	return n;
}

/* " (this system keeps memory and pids on cgroup v1)" for those of mask that a cgroup v1 hierarchy
 * holds (a controller can be in only one hierarchy, so they cannot be in v2); else "". */
static char *v1_note(const struct mnt *m, size_t nm, unsigned mask)
{
	unsigned on = 0;
	for (size_t i = 0; i < NCTRLS; i++)
		for (size_t j = 0; j < nm && (mask & (1u << i)); j++)
			if (strcmp(m[j].fstype, "cgroup") == 0 && has_token(m[j].opts, ctrls[i].ctrl, ","))
				on |= 1u << i;
	if (!on)
		return xstrdup("");
	cleanup_free char *names = join_mask(on, false);
	return xasprintf(" (this system keeps %s on cgroup v1)", names);
}

/* Our cgroup v2 path, the "0::" line of /proc/self/cgroup; points into text, or NULL. */
static char *v2_cgroup(char *text)
{
	char *save;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, "0::", 3) == 0) {
			char *p = line + 3;
			size_t n = strlen(p);
			static const char deleted[] = " (deleted)";
			if (n > sizeof deleted - 1 && strcmp(p + n - (sizeof deleted - 1), deleted) == 0)
				p[n - (sizeof deleted - 1)] = '\0';
			return p;
		}
	return NULL;
}

static bool cg_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	if (strcmp(dir, "/") == 0)
		return path[0] == '/';
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* base + "/" + rel without doubling the slash; rel "" gives base. */
static char *join_rel(const char *root, const char *base, const char *rel)
{
	size_t n = strlen(base);
	bool slash = *rel && (n == 0 || base[n - 1] != '/');
	return xasprintf("%s%s%s%s", root, base, slash ? "/" : "", rel);
}

static bool in_our_groups(gid_t g)
{
	if (g == getegid())
		return true;
	int n = getgroups(0, NULL);
	if (n <= 0)
		return false;
	cleanup_free gid_t *list = xcalloc((size_t)n, sizeof *list);
	n = getgroups(n, list);
	for (int i = 0; i < n; i++)
		if (list[i] == g)
			return true;
	return false;
}

/* Permission bits as they apply to us, with no capability override: delegation is a chown, and root
 * must not adopt a subtree delegated to someone else because it could write there. */
static bool writable_by_us(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return false;
	if (st.st_uid == geteuid())
		return st.st_mode & S_IWUSR;
	if (in_our_groups(st.st_gid))
		return st.st_mode & S_IWGRP;
	return st.st_mode & S_IWOTH;
}

/* Delegated: we may make children (the directory) and move processes between them (cgroup.procs of
 * their common ancestor, which for the jail is this cgroup). */
static bool delegated(const char *dir)
{
	cleanup_free char *procs = path_join(dir, "cgroup.procs");
	return writable_by_us(dir) && writable_by_us(procs);
}

static bool has_processes(const char *dir)
{
	cleanup_free char *procs = path_join(dir, "cgroup.procs");
	cleanup_free char *text = read_text(procs);
	return text && text[strspn(text, WS)] != '\0';
}

int cgroup_find_parent(const char *root, const struct cg_limits *l, char **parent, struct aj_err *err)
{
	unsigned need = needed_mask(l);
	if (!need)
		return aj_fail(err, 0, "cgroup_find_parent: no limit asked for");
	cleanup_free char *opts = join_mask(need, true);
	const char *verb = one_bit(need) ? "needs" : "need";

	cleanup_free char *cgfile = xasprintf("%s/proc/self/cgroup", root);
	cleanup_free char *cgtext = read_text(cgfile);
	if (!cgtext)
		return aj_fail(err, errno, "%s: read /proc/self/cgroup", opts);
	cleanup_free char *mifile = xasprintf("%s/proc/self/mountinfo", root);
	cleanup_free char *mitext = read_text(mifile);
	if (!mitext)
		return aj_fail(err, errno, "%s: read /proc/self/mountinfo", opts);
	cleanup_free struct mnt *m = NULL;
	size_t nm = parse_mountinfo(mitext, &m);

	const char *cgpath = v2_cgroup(cgtext);
	if (!cgpath) {
		cleanup_free char *note = v1_note(m, nm, need);
		return aj_fail(err, 0, "%s %s cgroup v2, which this kernel does not offer%s", opts, verb, note);
	}
	const struct mnt *v2 = NULL, *any_v2 = NULL;
	for (size_t i = 0; i < nm && !v2; i++)
		if (strcmp(m[i].fstype, "cgroup2") == 0) {
			if (!any_v2)
				any_v2 = &m[i];
			if (cg_under(cgpath, m[i].root))
				v2 = &m[i];
		}
	if (!any_v2) {
		cleanup_free char *note = v1_note(m, nm, need);
		return aj_fail(err, 0, "%s %s cgroup v2, and no cgroup2 filesystem is mounted%s", opts, verb, note);
	}
	if (!v2)
		return aj_fail(err, 0,
			       "%s: your cgroup %s is outside the cgroup2 filesystem mounted at %s "
			       "(which shows %s)",
			       opts, cgpath, any_v2->point, any_v2->root);
	/* Our cgroup relative to the mount, without a leading '/': "" is the top of what we can see. */
	const char *rel = cgpath + (strcmp(v2->root, "/") == 0 ? 0 : strlen(v2->root));
	rel += strspn(rel, "/");

	/* A controller missing at the top of the v2 tree is missing everywhere below: say so first, as
	 * that is the one cause no delegation can fix. */
	cleanup_free char *top = join_rel(root, v2->point, "");
	cleanup_free char *top_shown = join_rel("", v2->point, "");
	cleanup_free char *ctlfile = path_join(top, "cgroup.controllers");
	cleanup_free char *topctl = read_text(ctlfile);
	if (!topctl)
		return aj_fail(err, errno, "%s: read %s", opts, ctlfile + strlen(root));
	unsigned miss = missing_from(need, topctl);
	if (miss) {
		cleanup_free char *mopts = join_mask(miss, true);
		cleanup_free char *mctl = join_mask(miss, false);
		cleanup_free char *offers = offered(topctl);
		cleanup_free char *note = v1_note(m, nm, miss);
		return aj_fail(err, 0, "%s %s the cgroup v2 %s controller%s delegated to you; %s offers %s%s", mopts,
			       one_bit(miss) ? "needs" : "need", mctl, one_bit(miss) ? "" : "s", top_shown, offers,
			       *note ? note : " (not passed down to this cgroup tree)");
	}

	/* Up from our own cgroup while it stays ours. Ours has processes (us), so unless it is the root
	 * its subtree_control is empty and the parent is an ancestor: systemd's Delegate=yes scope sits in
	 * a slice of the user's own manager that enables the controllers for it. */
	cleanup_free char *cur = xstrdup(rel);
	cleanup_free char *hi = NULL; /* the highest delegated cgroup seen, relative like rel */
	for (;;) {
		cleanup_free char *dir = join_rel(root, v2->point, cur);
		if (!delegated(dir))
			break;
		free(hi);
		hi = xstrdup(cur);
		cleanup_free char *stfile = path_join(dir, "cgroup.subtree_control");
		cleanup_free char *st = read_text(stfile);
		if (st && !missing_from(need, st)) {
			*parent = steal_pointer(&dir);
			return 0;
		}
		if (!*cur)
			break;
		char *slash = strrchr(cur, '/');
		*(slash ? slash : cur) = '\0';
	}

	if (!hi)
		return aj_fail(err, 0,
			       "%s: your cgroup %s is not delegated to you (not writable); run ajail in a delegated "
			       "scope, e.g. 'systemd-run --user --scope -p Delegate=yes ajail ...'",
			       opts, cgpath);
	cleanup_free char *hidir = join_rel(root, v2->point, hi);
	cleanup_free char *hishown = join_rel("", v2->point, hi);
	cleanup_free char *hiname = join_rel("", v2->root, hi);
	cleanup_free char *hictlfile = path_join(hidir, "cgroup.controllers");
	cleanup_free char *hictl = read_text(hictlfile);
	if (!hictl)
		hictl = xstrdup("");
	miss = missing_from(need, hictl);
	if (miss) {
		cleanup_free char *mopts = join_mask(miss, true);
		cleanup_free char *mctl = join_mask(miss, false);
		cleanup_free char *has = offered(hictl);
		return aj_fail(err, 0,
			       "%s: your delegated cgroup %s does not receive the %s controller%s from its parent (it "
			       "has %s); ask for %s when it is delegated (systemd: Delegate=yes)",
			       mopts, hiname, mctl, one_bit(miss) ? "" : "s", has, one_bit(miss) ? "it" : "them");
	}
	cleanup_free char *histfile = path_join(hidir, "cgroup.subtree_control");
	cleanup_free char *hisub = read_text(histfile);
	miss = missing_from(need, hisub ? hisub : "");
	cleanup_free char *mopts = join_mask(miss, true);
	cleanup_free char *mctl = join_mask(miss, false);
	if (has_processes(hidir))
		return aj_fail(err, 0,
			       "%s: your delegated cgroup %s holds processes, and the kernel lets no cgroup with "
			       "processes enable %s for its children; move them into a child cgroup of it, then "
			       "enable %s in %s/cgroup.subtree_control",
			       mopts, hiname, mctl, mctl, hishown);
	cleanup_free char *plus = plus_list(miss);
	return aj_fail(err, 0,
		       "%s: your delegated cgroup %s does not enable %s for its children; enable %s once with "
		       "'echo %s%s%s > %s/cgroup.subtree_control'",
		       mopts, hiname, mctl, one_bit(miss) ? "it" : "them", one_bit(miss) ? "" : "\"", plus,
		       one_bit(miss) ? "" : "\"", hishown);
}

/* Root's fallback for process limits. The kernel never applies RLIMIT_NPROC to the real root user,
 * so a jail run by root could fork without bound where pids lives on a cgroup v1 hierarchy (as on
 * hybrid systems). Root may make a cgroup there: the jail's cgroup goes under our own v1 pids
 * cgroup, and the jail's first process moves itself in before it starts anything. */
int cgroup_v1_pids_parent(const char *root, char **parent, struct aj_err *err)
{
	cleanup_free char *cgfile = xasprintf("%s/proc/self/cgroup", root);
	cleanup_free char *cgtext = read_text(cgfile);
	cleanup_free char *mifile = xasprintf("%s/proc/self/mountinfo", root);
	cleanup_free char *mitext = read_text(mifile);
	if (!cgtext || !mitext)
		return aj_fail(err, errno, "--pids: read /proc/self/cgroup and mountinfo");
	/* "N:pids:/path" (or "N:cpu,pids:/path" when controllers share a hierarchy). */
	const char *path = NULL;
	char *save;
	for (char *line = strtok_r(cgtext, "\n", &save); line && !path; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		if (has_token(c1 + 1, "pids", ","))
			path = c2 + 1;
	}
	cleanup_free struct mnt *m = NULL;
	size_t nm = parse_mountinfo(mitext, &m);
	for (size_t i = 0; path && i < nm; i++) {
		if (strcmp(m[i].fstype, "cgroup") != 0 || !has_token(m[i].opts, "pids", ",") || !cg_under(path, m[i].root))
			continue;
		const char *rel = path + (strcmp(m[i].root, "/") == 0 ? 0 : strlen(m[i].root));
		rel += strspn(rel, "/");
		*parent = join_rel(root, m[i].point, rel);
		return 0;
	}
	return aj_fail(err, 0, "--pids: no cgroup v1 pids hierarchy either");
}

/* ---- the jail's cgroup ---- */

static int write_limit(const struct cgroup *cg, const char *file, const char *value, bool optional,
		       const char *opt, struct aj_err *err)
{
	/* On the real cgroupfs the kernel makes the files; O_CREAT there would only turn a missing
	 * controller into a confusing EACCES. */
	int flags = O_WRONLY | O_CLOEXEC | (cg->fake ? O_CREAT | O_TRUNC : 0);
	cleanup_close int fd = openat(cg->fd, file, flags, 0644);
	if (fd < 0) {
		if (errno == ENOENT && optional)
			return 0;
		return aj_fail(err, errno, "%s: open %s/%s", opt, cg->path, file);
	}
	size_t len = strlen(value);
	ssize_t n = write(fd, value, len);
	if (n != (ssize_t)len)
		return aj_fail(err, n < 0 ? errno : EIO, "%s: write \"%s\" to %s/%s", opt, value, cg->path, file);
	return 0;
}

static int write_limits(const struct cgroup *cg, const struct cg_limits *l, struct aj_err *err)
{
	char v[64];
	if (l->pids) {
		snprintf(v, sizeof v, "%u", l->pids);
		if (write_limit(cg, "pids.max", v, false, "--pids", err) < 0)
			return -1;
	}
	if (l->cpus_milli) {
		snprintf(v, sizeof v, "%llu %u", (unsigned long long)l->cpus_milli * CPU_PERIOD_US / 1000,
			 CPU_PERIOD_US);
		if (write_limit(cg, "cpu.max", v, false, "--cpus", err) < 0)
			return -1;
	}
	if (l->memory) {
		snprintf(v, sizeof v, "%llu", (unsigned long long)l->memory);
		if (write_limit(cg, "memory.max", v, false, "--memory", err) < 0)
			return -1;
		/* Without this the jail may push the excess out to swap and crawl instead of meeting the
		 * limit; absent when the kernel does not account swap, and then there is nothing to close. */
		if (write_limit(cg, "memory.swap.max", "0", true, "--memory", err) < 0)
			return -1;
	}
	return 0;
}

int cgroup_create(const char *root, const char *parent, const struct cg_limits *l, struct cgroup *cg,
		  struct aj_err *err)
{
	static unsigned seq;
	*cg = (struct cgroup)CGROUP_INIT;
	cleanup_close int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return aj_fail(err, errno, "open cgroup %s", parent);
	cleanup_free char *name = NULL;
	for (unsigned tries = 0;; tries++) {
		free(name);
		name = xasprintf("ajail-%ld-%u", (long)getpid(), seq++);
		if (mkdirat(pfd, name, 0755) == 0)
			break;
		if (errno != EEXIST || tries >= 1000)
			return aj_fail(err, errno, "create a cgroup in %s", parent);
	}
	cg->path = path_join(parent, name);
	cg->fake = root && *root;
	cg->fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg->fd < 0) {
		aj_fail(err, errno, "open %s", cg->path);
		goto fail;
	}
	struct statfs sf;
	if (!cg->fake && (fstatfs(cg->fd, &sf) < 0 || (sf.f_type != CGROUP2_SUPER_MAGIC && sf.f_type != CGROUP_SUPER_MAGIC))) {
		aj_fail(err, 0, "%s is not on a cgroup filesystem", cg->path);
		goto fail;
	}
	cg->v1 = !cg->fake && sf.f_type == CGROUP_SUPER_MAGIC;
	if (write_limits(cg, l, err) < 0)
		goto fail;
	return 0;
fail:;
	struct aj_err ignored;
	cgroup_remove(cg, NULL, &ignored);
	return -1;
}

/* memory.events' "oom_kill N"; 0 when there is none (no memory controller). */
static unsigned read_oom_kills(int dirfd)
{
	cleanup_free char *text = read_file_at(dirfd, "memory.events", 1u << 16);
	if (!text)
		return 0;
	for (const char *line = text; line; line = strchr(line, '\n')) {
		line += *line == '\n';
		unsigned n;
		if (sscanf(line, "oom_kill %u", &n) == 1)
			return n;
	}
	return 0;
}

/* A fake cgroup is a plain directory: take out the files the kernel would have taken out itself. */
static void empty_fake(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_type == DT_REG)
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

int cgroup_remove(struct cgroup *cg, unsigned *oom_kills, struct aj_err *err)
{
	int ret = 0;
	if (oom_kills)
		*oom_kills = 0;
	if (cg->path) {
		if (oom_kills && cg->fd >= 0)
			*oom_kills = read_oom_kills(cg->fd);
		if (cg->fake)
			empty_fake(cg->path);
		for (unsigned i = 0;; i++) {
			if (rmdir(cg->path) == 0 || errno == ENOENT)
				break;
			if (errno != EBUSY || i >= 100) {
				ret = aj_fail(err, errno, "remove cgroup %s", cg->path);
				break;
			}
			/* Still busy after 200 ms: something outlived the jail's init. Kill it rather
			 * than leave it and its cgroup behind (cgroup.kill exists from Linux 5.14; if
			 * it fails, the EBUSY below says what is left). */
			if (i == 40 && cg->fd >= 0) {
				int kfd = openat(cg->fd, "cgroup.kill", O_WRONLY | O_CLOEXEC);
				if (kfd >= 0) {
					ssize_t w = write(kfd, "1", 1);
					(void)w;
					close(kfd);
				}
			}
			/* The kernel lets go of an emptied cgroup within a millisecond or so: poll finely first. */
			nanosleep(&(struct timespec){ .tv_nsec = (i < 20 ? 1 : 10) * 1000 * 1000 }, NULL);
		}
	}
	if (cg->fd >= 0)
		close(cg->fd);
	free(cg->path);
	*cg = (struct cgroup)CGROUP_INIT;
	return ret;
}
