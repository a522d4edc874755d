/* clone_cmd.c — `ajail clone list|show|rm|gc|sync` (see clone_cmd.h). */
#include "clone_cmd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "deliver.h"
#include "git_boundary.h"
#include "lazy_git2.h"
#include "output.h"
#include "store.h"
#include "util.h"
#include "workspace.h"

static void dir_closep(DIR **d)
{
	if (*d)
		closedir(*d);
}
#define cleanup_dir __attribute__((cleanup(dir_closep)))

static int open_dir(const char *path)
{
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
}

struct ws_entry {
	struct workspace_info info;
	struct deliver_state state;
	bool in_use;
	uint64_t size;
	bool loaded;
};

/* Bytes a tree holds, as du counts them. A jail fills upper/ as it likes: symlinks are not followed,
 * the depth and the number of entries are bounded (past them the size is a lower bound), and
 * stage.* (hard links to git/objects) is not counted twice. */
struct du {
	uint64_t bytes, entries;
};
#define DU_MAX_DEPTH 256
#define DU_MAX_ENTRIES 2000000

static void du_at(int parent, const char *name, int depth, struct du *d)
{
	struct stat st;
	if (++d->entries > DU_MAX_ENTRIES || fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	d->bytes += (uint64_t)st.st_blocks * 512;
	if (!S_ISDIR(st.st_mode) || depth >= DU_MAX_DEPTH)
		return;
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	DIR *dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return;
	}
	struct dirent *e;
	while ((e = readdir(dir)) && d->entries <= DU_MAX_ENTRIES) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (depth == 0 && str_has_prefix(e->d_name, "stage."))
			continue;
		du_at(dirfd(dir), e->d_name, depth + 1, d);
	}
	closedir(dir);
}

/* The workspace's lock (ajail's own file) is held by a running jail's supervisor. */
static bool lock_held(const char *dir)
{
	cleanup_close int dfd = open_dir(dir);
	cleanup_close int fd =
		dfd < 0 ? -1 : openat(dfd, "lock", O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	if (flock(fd, LOCK_SH | LOCK_NB) < 0)
		return errno == EWOULDBLOCK;
	return false;
}

static void ws_load(struct ws_entry *e, const char *prefix)
{
	if (e->loaded)
		return;
	e->in_use = lock_held(e->info.dir);
	struct du d = { 0 };
	du_at(AT_FDCWD, e->info.dir, 0, &d);
	e->size = d.bytes;
	deliver_state_load(&e->info, prefix, &e->state);
	e->loaded = true;
}

static int cmp_ws_entry(const void *a, const void *b)
{
	const struct ws_entry *x = a, *y = b;
	if (x->info.created != y->info.created)
		return x->info.created < y->info.created ? -1 : 1;
	return strcmp(x->info.name, y->info.name);
}

/* Every workspace under clone/ with a readable record. */
static int ws_scan(const char *clone_dir, struct ws_entry **out, size_t *n, struct aj_err *err)
{
	*out = NULL;
	*n = 0;
	cleanup_dir DIR *d = opendir(clone_dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return aj_fail(err, errno, "open %s", clone_dir);
	}
	struct dirent *e;
	size_t cap = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		cleanup_free char *dir = path_join(clone_dir, e->d_name);
		struct workspace_info i;
		struct aj_err ig = { 0 };
		if (workspace_info_load(dir, e->d_name, &i, &ig) < 0) {
			workspace_info_release(&i);
			continue;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*out = xrealloc(*out, cap * sizeof **out);
		}
		memset(&(*out)[*n], 0, sizeof **out);
		(*out)[(*n)++].info = i;
	}
	if (*n)
		qsort(*out, *n, sizeof **out, cmp_ws_entry);
	return 0;
}

static void ws_entries_free(struct ws_entry *e, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		workspace_info_release(&e[k].info);
		deliver_state_release(&e[k].state);
	}
	free(e);
}

static const char *deliv_word(enum deliver_status d)
{
	switch (d) {
	case DELIVER_NOTHING:
		return "-";
	case DELIVER_YES:
		return "yes";
	case DELIVER_MERGED:
		return "merged";
	case DELIVER_NO:
		return "no";
	case DELIVER_UNKNOWN:
		return "?";
	}
	return "?";
}

static const char *dirty_word(int dirty)
{
	return dirty == 1 ? "dirty" : dirty == 0 ? "clean" : "?";
}

static void fmt_time(char *buf, size_t len, int64_t t, bool iso)
{
	time_t tt = (time_t)t;
	struct tm tm;
	strftime(buf, len, iso ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M",
		 iso ? gmtime_r(&tt, &tm) : localtime_r(&tt, &tm));
}

static struct ws_entry *ws_find(struct ws_entry *e, size_t n, const char *id)
{
	for (size_t k = 0; k < n; k++)
		if (strcmp(e[k].info.id, id) == 0 || strcmp(e[k].info.name, id) == 0)
			return &e[k];
	return NULL;
}

static const char clone_usage[] =
	"Usage: ajail clone list [--json]        workspaces: ahead, dirty, in use, delivered\n"
	"       ajail clone show ID              one workspace's record\n"
	"       ajail clone rm [--force] ID...   refuses in-use, dirty or undelivered ones unless --force\n"
	"       ajail clone gc                   removes every clean, delivered (or merged, or empty) one\n"
	"       ajail clone sync [ID...]         deliver workspaces (all without IDs) as branches ajail/ID\n"
	"\n"
	"'ajail --clone COMMAND' in a git repository runs COMMAND in a workspace of its own. Workspaces live\n"
	"in $AJAIL_HOME/clone; ID is the 8-character id or the directory name ('ajail clone list' shows\n"
	"both). 'ajail clone COMMAND --help' shows a command's options and examples.\n";

/* Each command's own --help, in the layout tools/mkman.py reads (see fs_cmd.c). */
static const struct output_verb_help clone_verb_usage[] = {
	{ "list",
	  "Usage: ajail clone list [--json]\n"
	  "\n"
	  "List the clone workspaces: id, repository, branch, base commit, commits ahead of it, clean or\n"
	  "dirty, size, when it was made, whether a jail uses it, and whether its commits were delivered.\n"
	  "\n"
	  "Options:\n"
	  "  --json               one JSON array, for scripts\n"
	  "  -h, --help           this text\n"
	  "\n"
	  "Example:\n"
	  "  ajail clone list\n" },
	{ "show",
	  "Usage: ajail clone show ID\n"
	  "\n"
	  "Show one workspace's record: its directory, repository, branch and base, the command and rootfs it\n"
	  "ran, when it started and ended, its exit status, its tip, commits ahead, state and delivery.\n"
	  "ID is the 8-character id or the directory name; 'ajail clone list' shows them.\n"
	  "\n"
	  "Options:\n"
	  "  -h, --help           this text\n"
	  "\n"
	  "Example:\n"
	  "  ajail clone show 1f3a9c07\n" },
	{ "rm",
	  "Usage: ajail clone rm [-f] ID...\n"
	  "\n"
	  "Remove workspaces. One a jail is using, one with uncommitted changes, or one whose commits were\n"
	  "neither delivered nor merged is kept, and the message says why ('ajail clone sync' delivers).\n"
	  "\n"
	  "Options:\n"
	  "  -f, --force          remove it whatever it holds\n"
	  "  -h, --help           this text\n"
	  "\n"
	  "Example:\n"
	  "  ajail clone rm 1f3a9c07\n" },
	{ "gc",
	  "Usage: ajail clone gc\n"
	  "\n"
	  "Remove every workspace that is clean and whose commits were delivered or merged (or that has none),\n"
	  "then the base checkouts no workspace uses and what interrupted runs left behind.\n"
	  "\n"
	  "Options:\n"
	  "  -h, --help           this text\n"
	  "\n"
	  "Example:\n"
	  "  ajail clone gc\n" },
	{ "sync",
	  "Usage: ajail clone sync [ID...]\n"
	  "\n"
	  "Deliver workspaces' commits now (every workspace when no ID is given): fetch each one's branch into\n"
	  "its repository as ajail/ID ($AJAIL_CLONE_PREFIX, default ajail/, then the id). A session's end\n"
	  "does the same; this is for one whose delivery failed. A branch you have checked out never moves.\n"
	  "\n"
	  "Options:\n"
	  "  -h, --help           this text\n"
	  "\n"
	  "Example:\n"
	  "  ajail clone sync 1f3a9c07\n" },
};

static void json_field(const char *key, const char *value)
{
	printf(", \"%s\": ", key);
	output_json_string(stdout, value);
}

static int cmd_list(struct ws_entry *e, size_t n, bool json)
{
	if (json) {
		fputc('[', stdout);
		for (size_t k = 0; k < n; k++) {
			const struct workspace_info *i = &e[k].info;
			const struct deliver_state *s = &e[k].state;
			char created[64];
			fmt_time(created, sizeof created, i->created, true);
			printf("%s{\"id\": ", k ? ", " : "");
			output_json_string(stdout, i->id);
			json_field("dir", i->dir);
			json_field("repo", i->repo ? i->repo : i->commondir);
			json_field("branch", i->branch);
			json_field("base", i->base);
			/* The keys clone_cmd.h promises scripts: delivered and merged as booleans. */
			printf(", \"ahead\": %d, \"dirty\": %s, \"size\": %llu, \"created\": \"%s\", \"in_use\": %s, "
			       "\"delivered\": %s, \"merged\": %s",
			       s->ahead,
			       s->dirty < 0 ? "null"
			       : s->dirty   ? "true"
					    : "false",
			       (unsigned long long)e[k].size, created, e[k].in_use ? "true" : "false",
			       s->delivered == DELIVER_YES ? "true" : "false",
			       s->delivered == DELIVER_MERGED ? "true" : "false");
			if (s->error)
				json_field("error", s->error);
			fputc('}', stdout);
		}
		puts("]");
		return 0;
	}
	if (n == 0) {
		output_note("no workspaces; make one with 'ajail --clone CMD' in a git repository");
		return 0;
	}
	printf("%-8s  %-24s  %-20s  %-8s  %5s  %-5s  %8s  %-16s  %-6s  %s\n", "ID", "REPO", "BRANCH", "BASE", "AHEAD",
	       "STATE", "SIZE", "CREATED", "IN-USE", "DELIVERED");
	for (size_t k = 0; k < n; k++) {
		const struct workspace_info *i = &e[k].info;
		const struct deliver_state *s = &e[k].state;
		char created[64], ahead[16];
		fmt_time(created, sizeof created, i->created, false);
		cleanup_free char *size = util_human_size(e[k].size);
		const char *repo = i->repo ? i->repo : i->commondir;
		const char *slash = strrchr(repo, '/');
		cleanup_free char *erepo = util_escape(slash && slash[1] ? slash + 1 : repo);
		cleanup_free char *eid = util_escape(i->id);
		cleanup_free char *ebranch = util_escape(i->branch);
		if (s->ahead < 0)
			snprintf(ahead, sizeof ahead, "?");
		else
			snprintf(ahead, sizeof ahead, "%d", s->ahead);
		printf("%-8s  %-24s  %-20s  %-8.8s  %5s  %-5s  %8s  %-16s  %-6s  %s\n", eid, erepo, ebranch, i->base,
		       ahead, dirty_word(s->dirty), size, created, e[k].in_use ? "yes" : "no",
		       deliv_word(s->delivered));
	}
	fflush(stdout);
	for (size_t k = 0; k < n; k++)
		if (e[k].state.error)
			output_note("%s: %s", e[k].info.id, e[k].state.error);
	return 0;
}

/* "key value", both escaped: the record holds the command line, which may hold anything. */
static void show_line(const char *key, size_t klen, const char *value)
{
	cleanup_free char *k = util_escape_n(key, klen);
	cleanup_free char *v = util_escape(value);
	printf("%-10s %s\n", k, v);
}

static void cmd_show(const struct ws_entry *e)
{
	const struct workspace_info *i = &e->info;
	const struct deliver_state *s = &e->state;
	show_line("dir", 3, i->dir);
	for (const char *p = i->rec; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t ll = nl ? (size_t)(nl - p) : strlen(p);
		const char *eq = memchr(p, '=', ll);
		if (eq) {
			size_t kl = (size_t)(eq - p);
			cleanup_free char *v = xstrndup(eq + 1, ll - kl - 1);
			bool is_time = (kl == 7 && !strncmp(p, "created", 7)) || (kl == 5 && !strncmp(p, "start", 5)) ||
				       (kl == 3 && !strncmp(p, "end", 3));
			if (is_time) {
				char t[64];
				fmt_time(t, sizeof t, strtoll(v, NULL, 10), false);
				show_line(p, kl, t);
			} else {
				show_line(p, kl, v);
			}
		}
		p = nl ? nl + 1 : p + ll;
	}
	show_line("tip", 3, *s->tip ? s->tip : "?");
	if (s->ahead < 0)
		printf("%-10s ?\n", "ahead");
	else
		printf("%-10s %d\n", "ahead", s->ahead);
	cleanup_free char *state = xasprintf("%s%s%s%s", dirty_word(s->dirty), s->why_dirty ? " (" : "",
					     s->why_dirty ? s->why_dirty : "", s->why_dirty ? ")" : "");
	show_line("state", 5, state);
	printf("%-10s %s\n", "in use", e->in_use ? "yes" : "no");
	printf("%-10s %s\n", "delivered", deliv_word(s->delivered));
	if (s->error)
		show_line("error", 5, s->error);
}

/* Rename into clone/.trash-<name>.<pid> first, so that a half-removed workspace never looks like one;
 * store_remove_tree follows no symlink the jail left in it. */
static int ws_remove(const char *clone_dir, const char *name, struct aj_err *err)
{
	cleanup_close int cfd = open_dir(clone_dir);
	if (cfd < 0)
		return aj_fail(err, errno, "open %s", clone_dir);
	cleanup_free char *trash = xasprintf(".trash-%s.%d", name, (int)getpid());
	if (renameat(cfd, name, cfd, trash) < 0)
		return aj_fail(err, errno, "remove %s", name);
	if (store_remove_tree(cfd, trash) < 0)
		return aj_fail(err, errno, "remove %s", name);
	return 0;
}

/* Why rm (without --force) and gc must keep a workspace; NULL when it may go. */
static const char *keep_reason(const struct ws_entry *e)
{
	const struct deliver_state *s = &e->state;
	if (e->in_use)
		return "a jail is using it";
	if (s->dirty != 0)
		return s->dirty < 0 ? "its state is unknown" : "it has uncommitted changes";
	if (s->ahead < 0 || s->delivered == DELIVER_UNKNOWN)
		return "its commits cannot be read";
	if (s->delivered == DELIVER_NO)
		return "it has commits neither delivered nor merged (run 'ajail clone sync' first)";
	return NULL;
}

static bool base_in_use(const struct ws_entry *e, size_t n, const char *oid)
{
	for (size_t k = 0; k < n; k++)
		if (strcmp(e[k].info.base, oid) == 0) {
			struct stat st;
			if (fstatat(AT_FDCWD, e[k].info.dir, &st, AT_SYMLINK_NOFOLLOW) == 0)
				return true;
		}
	return false;
}

/* Bases no workspace uses, and leftovers of killed creators. */
static void gc_bases(const char *clone_dir)
{
	cleanup_free char *bdir = path_join(clone_dir, ".base");
	cleanup_close int bfd = open_dir(bdir);
	if (bfd < 0)
		return;
	cleanup_dir DIR *d = fdopendir(dup(bfd));
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char oid[GIT_OID_HEXSZ + 1];
		if (strlen(de->d_name) < GIT_OID_HEXSZ)
			continue;
		memcpy(oid, de->d_name, GIT_OID_HEXSZ);
		oid[GIT_OID_HEXSZ] = '\0';
		if (!git_hex_oid_valid(oid) || str_has_prefix(de->d_name + GIT_OID_HEXSZ, ".lock"))
			continue;
		cleanup_free char *lock = xasprintf("%s.lock", oid);
		cleanup_close int lfd = store_lock_at(bfd, lock, LOCK_EX | LOCK_NB);
		if (lfd < 0)
			continue; /* being made or being used to make a workspace */
		if (de->d_name[GIT_OID_HEXSZ] == '\0') {
			/* Scanned under the lock: a workspace made after it would hold the lock shared. */
			struct ws_entry *e;
			size_t n;
			struct aj_err ig = { 0 };
			if (ws_scan(clone_dir, &e, &n, &ig) < 0)
				continue;
			bool used = base_in_use(e, n, oid);
			ws_entries_free(e, n);
			if (used)
				continue;
			cleanup_free char *trash = xasprintf("%s.tmp.gc%d", oid, (int)getpid());
			if (renameat(bfd, de->d_name, bfd, trash) == 0) {
				store_remove_tree(bfd, trash);
				output_note("removed the base checkout of %.12s", oid);
			}
		} else if (str_has_prefix(de->d_name + GIT_OID_HEXSZ, ".tmp.")) {
			store_remove_tree(bfd, de->d_name);
		}
	}
}

/* Half-made workspaces (no record, lock free, older than a minute) and interrupted removals. */
static void gc_leftovers(const char *clone_dir)
{
	cleanup_close int cfd = open_dir(clone_dir);
	if (cfd < 0)
		return;
	cleanup_dir DIR *d = fdopendir(dup(cfd));
	struct dirent *de;
	time_t now = time(NULL);
	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !strcmp(de->d_name, ".base"))
			continue;
		struct stat st;
		if (fstatat(cfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode) ||
		    now - st.st_mtime < 60)
			continue;
		cleanup_free char *rec = xasprintf("%s/record", de->d_name);
		if (str_has_prefix(de->d_name, ".trash-") || fstatat(cfd, rec, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			cleanup_free char *dir = path_join(clone_dir, de->d_name);
			if (!lock_held(dir))
				store_remove_tree(cfd, de->d_name);
		}
	}
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	struct aj_err err = { 0 };
	aj_usage(&err, "%s", msg);
	output_error(&err);
	return 2;
}

int clone_cmd_main(char **args, const char *store_dir)
{
	struct aj_err err = { 0 };
	bool json = false, force = false;
	cleanup_strv char **pos = NULL;
	const char *verb = args && args[0] ? args[0] : NULL;
	if (!verb || !strcmp(verb, "-h") || !strcmp(verb, "--help") || !strcmp(verb, "help")) {
		fputs(clone_usage, verb ? stdout : stderr);
		return verb ? 0 : 2;
	}
	const char *verb_usage =
		output_verb_usage(clone_verb_usage, sizeof clone_verb_usage / sizeof clone_verb_usage[0], verb);
	if (!verb_usage) {
		cleanup_free char *everb = util_escape(verb);
		return usage_error("clone: unknown command '%s'; use one of list, show, rm, gc, sync "
				   "(ajail clone --help)",
				   everb);
	}
	if (output_wants_help(args + 1)) {
		fputs(verb_usage, stdout);
		return 0;
	}
	for (size_t k = 1; args[k]; k++) {
		const char *a = args[k];
		if (!strcmp(a, "--json")) {
			json = true;
		} else if (!strcmp(a, "--force") || !strcmp(a, "-f")) {
			force = true;
		} else if (a[0] == '-' && a[1]) {
			cleanup_free char *ea = util_escape(a);
			return usage_error("clone %s: unknown option '%s'; see ajail clone %s --help", verb, ea, verb);
		} else {
			strv_push(&pos, xstrdup(a));
		}
	}
	bool is_list = !strcmp(verb, "list"), is_show = !strcmp(verb, "show"), is_rm = !strcmp(verb, "rm"),
	     is_gc = !strcmp(verb, "gc"), is_sync = !strcmp(verb, "sync");
	size_t npos = strv_len(pos);
	cleanup_free char *first = npos ? util_escape(pos[0]) : NULL;
	if (json && !is_list)
		return usage_error("clone %s: --json is only for 'ajail clone list'", verb);
	if (force && !is_rm)
		return usage_error("clone %s: --force is only for 'ajail clone rm'", verb);
	if (is_list && npos)
		return usage_error("clone list: takes no ID (got '%s'); 'ajail clone show ID' shows one workspace",
				   first);
	if (is_gc && npos)
		return usage_error("clone gc: takes no ID (got '%s'); gc picks what to remove, 'ajail clone rm "
				   "ID...' removes the ones you name",
				   first);
	if (is_show && npos == 0)
		return usage_error("clone show: missing the workspace ID; 'ajail clone list' shows them (usage: "
				   "ajail clone show ID)");
	if (is_show && npos > 1)
		return usage_error("clone show: one ID at a time, not %zu (usage: ajail clone show ID)", npos);
	if (is_rm && npos == 0)
		return usage_error("clone rm: missing the IDs of the workspaces to remove; 'ajail clone list' shows "
				   "them (usage: ajail clone rm [--force] ID...)");
	if (lazy_git2_load(&err) < 0) {
		output_error(&err);
		return 1;
	}
	const char *prefix = NULL;
	if (deliver_env_check(&prefix, &err) < 0) {
		output_error(&err);
		return 2;
	}
	cleanup_free char *clone_dir = path_join(store_dir, "clone");
	struct ws_entry *e = NULL;
	size_t n = 0;
	if (ws_scan(clone_dir, &e, &n, &err) < 0) {
		output_error(&err);
		return 1;
	}
	/* Resolve the IDs first: a typo fails before anything is done. */
	struct ws_entry **sel = xcalloc(npos + 1, sizeof *sel);
	for (size_t k = 0; k < npos; k++) {
		sel[k] = ws_find(e, n, pos[k]);
		if (!sel[k]) {
			free(sel);
			ws_entries_free(e, n);
			cleanup_free char *eid = util_escape(pos[k]);
			return usage_error("clone %s: no workspace '%s'; 'ajail clone list' shows them", verb, eid);
		}
	}
	int status = 0;
	if (is_list || is_gc) {
		for (size_t k = 0; k < n; k++)
			ws_load(&e[k], prefix);
	} else if (!is_sync) {
		for (size_t k = 0; k < npos; k++)
			ws_load(sel[k], prefix);
	}
	if (is_list) {
		cmd_list(e, n, json);
	} else if (is_show) {
		cmd_show(sel[0]);
	} else if (is_rm) {
		for (size_t k = 0; k < npos; k++) {
			struct ws_entry *w = sel[k];
			const char *why = keep_reason(w);
			bool say_dirty = w->state.why_dirty && w->state.dirty == 1;
			if (why && !force) {
				output_note("clone rm: keeping %s: %s%s%s%s; --force removes it anyway", w->info.name,
					    why, say_dirty ? " (" : "", say_dirty ? w->state.why_dirty : "",
					    say_dirty ? ")" : "");
				status = 1;
				continue;
			}
			struct aj_err e2 = { 0 };
			if (ws_remove(clone_dir, w->info.name, &e2) < 0) {
				output_error(&e2);
				status = 1;
			} else {
				output_note("removed %s", w->info.name);
			}
		}
		gc_bases(clone_dir);
	} else if (is_gc) {
		for (size_t k = 0; k < n; k++) {
			if (keep_reason(&e[k]))
				continue;
			struct aj_err e2 = { 0 };
			if (ws_remove(clone_dir, e[k].info.name, &e2) < 0) {
				output_error(&e2);
				status = 1;
			} else {
				output_note("removed %s", e[k].info.name);
			}
		}
		gc_leftovers(clone_dir);
		gc_bases(clone_dir);
	} else if (is_sync) {
		size_t count = npos ? npos : n;
		for (size_t k = 0; k < count; k++) {
			struct ws_entry *w = npos ? sel[k] : &e[k];
			int commits = 0;
			cleanup_free char *ref = NULL;
			struct aj_err e2 = { 0 };
			if (deliver_workspace(w->info.dir, &commits, &ref, &e2) < 0) {
				output_error(&e2);
				status = 1;
			} else if (commits == 0) {
				output_note("%s: nothing to deliver", w->info.name);
			} else {
				output_note("%s: delivered %d commit%s as %s", w->info.name, commits,
					    commits == 1 ? "" : "s", ref ? ref : "?");
			}
		}
	}
	free(sel);
	ws_entries_free(e, n);
	return status;
}
