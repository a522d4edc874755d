/* oci_export.c — see oci_export.h. The comments here say why. */
#include "oci_export.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/mount.h>

#include "config.h"
#include "hostpath.h"
#include "store.h"
#include "util.h"

/* ---- the chain of a rootfs: its layers, opened and held ---- */

struct chain {
	char **names;		 /* names[0]: the rootfs itself (a symlink such as "default" resolved), then its bases */
	size_t n;
	int *fds;		 /* each one's directory (O_RDONLY), opened beneath the store's fs/ without following */
	int *locks;		 /* each one's use lock (store_register_jail), or -1 */
	struct store_meta *meta; /* each one's metadata */
};

static void chain_close(struct chain *c)
{
	for (size_t i = 0; i < c->n; i++) {
		if (c->fds && c->fds[i] >= 0)
			close(c->fds[i]);
		if (c->locks && c->locks[i] >= 0)
			close(c->locks[i]);
		if (c->meta)
			store_meta_release(&c->meta[i]);
	}
	free(c->fds);
	free(c->locks);
	free(c->meta);
	strv_free(c->names);
	memset(c, 0, sizeof *c);
}

/* Open name and its bases; with lock, hold every one's use lock as a jail on it would, so that `fs
 * rm` refuses to take one away meanwhile. An --fs-edit jail changing a layer of a stack makes the
 * merge undefined (overlayfs's rule), so that is refused; a flat rootfs is read as it always was,
 * --fs-edit or not (the walker copes with a changing tree). */
static int chain_open(struct store *s, const char *name, bool lock, struct chain *c, struct aj_err *err)
{
	memset(c, 0, sizeof *c);
	/* For the usual message when the name is wrong (a usage error). */
	int fd = store_open_rootfs(s, name, err);
	if (fd < 0)
		return -1;
	close(fd);
	if (store_layer_chain(s, name, &c->names, err) < 0)
		return -1;
	c->n = strv_len(c->names);
	c->fds = xmalloc(c->n * sizeof *c->fds);
	c->locks = xmalloc(c->n * sizeof *c->locks);
	c->meta = xcalloc(c->n, sizeof *c->meta);
	for (size_t i = 0; i < c->n; i++)
		c->fds[i] = c->locks[i] = -1;
	char real[PATH_MAX];
	cleanup_free char *fsdir = xasprintf("%s/fs", s->dir);
	bool have_real = lock && realpath(fsdir, real);
	for (size_t i = 0; i < c->n; i++) {
		const char *n = c->names[i];
		if (config_validate_name(n, err) < 0)
			goto fail;
		if (have_real && c->n == 1) {
			/* Without waiting: a flat rootfs under --fs-edit is exported as ever. */
			cleanup_close int meta = openat(s->fsfd, ".meta", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			cleanup_free char *use = xasprintf("%s.use", n);
			c->locks[i] = meta >= 0 ? store_lock_at(meta, use, LOCK_SH | LOCK_NB) : -1;
		} else if (have_real) {
			cleanup_free char *path = xasprintf("%s/%s", real, n);
			c->locks[i] = store_register_jail(s->dir, path, false, err);
			if (c->locks[i] == -2) {
				c->locks[i] = -1;
				goto fail;
			}
		}
		/* A single component, not followed: the store's own directory, nothing a symlink
		 * planted there could redirect (the symlink "default" was resolved by the chain). */
		c->fds[i] = openat(s->fsfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (c->fds[i] < 0) {
			if (i == 0)
				aj_fail(err, errno, "open rootfs '%s'", n);
			else
				aj_fail(err, errno, "open '%s', the base of '%s'", n, c->names[i - 1]);
			goto fail;
		}
		store_meta_read(s, n, &c->meta[i]);
	}
	return 0;
fail:
	chain_close(c);
	return -1;
}

/* ---- fs export NAME FILE of a layer: the merged tree ---- */

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = write_all(fd, text, strlen(text));
	int e = errno;
	close(fd);
	errno = e;
	return r;
}

/* fsconfig's own explanation (overlayfs says why it refuses) beats errno alone. */
static int fs_fail(struct aj_err *err, int fsfd, const char *what)
{
	int saved = errno;
	char log[512];
	ssize_t n = read(fsfd, log, sizeof log - 1);
	if (n > 2) {
		log[n] = '\0';
		log[strcspn(log, "\n")] = '\0';
		return aj_fail(err, saved, "%s (%s)", what, log + 2);
	}
	return aj_fail(err, saved, "%s", what);
}

/* In the child: become root of a user namespace of our own (the caller's ids mapped to 0, so the
 * layers, the caller's files, are ours), stack the layers read-only, and export the result. The
 * overlay is never attached anywhere: the walk starts from the detached mount's fd, and the mount
 * dies with the child. */
static int merged_child(struct chain *c, const char *fsreal, const char *file, const char *label, bool progress,
			uid_t uid, gid_t gid, struct archive_stats *st, struct aj_err *err)
{
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		return aj_fail(err, errno, "merge the layers: a user namespace (unshare)");
	char map[64];
	snprintf(map, sizeof map, "0 %u 1\n", (unsigned)uid);
	if (write_file("/proc/self/setgroups", "deny") < 0 || write_file("/proc/self/uid_map", map) < 0)
		return aj_fail(err, errno, "merge the layers: map the user");
	snprintf(map, sizeof map, "0 %u 1\n", (unsigned)gid);
	if (write_file("/proc/self/gid_map", map) < 0)
		return aj_fail(err, errno, "merge the layers: map the group");

	/* overlayfs takes layers only from its own mount namespace, which the fds opened before are
	 * not: each layer is opened again here, by its canonical path with no symlink followed, and
	 * must be the very directory opened before (the jail does the same). Named to overlayfs by fd,
	 * top first. */
	cleanup_close int fsfd = hostpath_open(fsreal, O_PATH | O_DIRECTORY);
	if (fsfd < 0)
		return aj_fail(err, errno, "merge the layers: open %s", fsreal);
	int *fds = xmalloc(c->n * sizeof *fds);
	char *lower = xstrdup("");
	for (size_t i = 0; i < c->n; i++) {
		fds[i] = openat(fsfd, c->names[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct stat a, b;
		if (fds[i] < 0 || fstat(fds[i], &a) < 0 || fstat(c->fds[i], &b) < 0 || a.st_dev != b.st_dev ||
		    a.st_ino != b.st_ino)
			return aj_fail(err, fds[i] < 0 ? errno : 0, "merge the layers: rootfs '%s' changed while it was opened",
				       c->names[i]);
		char *next = xasprintf("%s%s/proc/self/fd/%d", lower, i ? ":" : "", fds[i]);
		free(lower);
		lower = next;
	}
	cleanup_free char *lowerdirs = lower;
	cleanup_close int fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
	if (fs < 0)
		return aj_fail(err, errno, "merge the layers: fsopen overlay");
	if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "lowerdir", lowerdirs, 0) < 0)
		return fs_fail(err, fs, "merge the layers: lowerdir");
	if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0)
		return fs_fail(err, fs, "merge the layers: userxattr");
	if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return fs_fail(err, fs, "merge the layers: overlay");
	cleanup_close int mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC,
					     MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	if (mnt < 0)
		return aj_fail(err, errno, "merge the layers: fsmount");
	return archive_export(mnt, file, label, progress, st, err);
}

struct child_report {
	int ret;
	struct archive_stats st;
	struct aj_err err;
};

static int export_merged(struct store *s, struct chain *c, const char *file, const char *label, bool progress, struct archive_stats *st,
			 struct aj_err *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return aj_fail(err, errno, "pipe");
	uid_t uid = getuid();
	gid_t gid = getgid();
	char fsreal[PATH_MAX];
	cleanup_free char *fsdir = xasprintf("%s/fs", s->dir);
	if (!realpath(fsdir, fsreal)) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return aj_fail(err, e, "%s", fsdir);
	}
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return aj_fail(err, e, "fork");
	}
	if (pid == 0) {
		close(p[0]);
		struct child_report rep = {0};
		rep.ret = merged_child(c, fsreal, file, label, progress, uid, gid, &rep.st, &rep.err);
		/* The report fits in a pipe's buffer: the write does not block. */
		if (write_all(p[1], &rep, sizeof rep) < 0)
			_exit(2);
		_exit(rep.ret < 0 ? 1 : 0);
	}
	close(p[1]);
	struct child_report rep;
	size_t got = 0;
	while (got < sizeof rep) {
		ssize_t n = read(p[0], (char *)&rep + got, sizeof rep - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(p[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
	}
	if (got != sizeof rep) {
		if (WIFSIGNALED(status))
			return aj_fail(err, 0, "the export's helper process was killed by signal %d", WTERMSIG(status));
		return aj_fail(err, 0, "the export's helper process ended without a word (status %d)", status);
	}
	*st = rep.st;
	if (rep.ret < 0) {
		rep.err.msg[sizeof rep.err.msg - 1] = '\0';
		*err = rep.err;
		return -1;
	}
	return 0;
}

int oci_export_tarball(struct store *s, const char *name, const char *file, bool progress, struct archive_stats *st,
		       struct aj_err *err)
{
	memset(st, 0, sizeof *st);
	struct chain c;
	if (chain_open(s, name, true, &c, err) < 0)
		return -1;
	int r = c.n == 1 ? archive_export(c.fds[0], file, name, progress, st, err)
			 : export_merged(s, &c, file, name, progress, st, err);
	chain_close(&c);
	return r;
}

/* ---- what the image says: the nearest rootfs of the chain that records each field ---- */

#define DEFAULT_WORKDIR "/root"
static const char *const default_env[] = { "PATH=" CONFIG_JAIL_PATH, "HOME=/root", NULL };
static const char *const default_cmd[] = { "/bin/sh", NULL };

struct image_config {
	char *const *env;
	const char *workdir;
	char *const *entrypoint;
	char *const *cmd;
	const char *user; /* NULL: not given (root) */
};

static void image_config(const struct chain *c, struct image_config *ic)
{
	memset(ic, 0, sizeof *ic);
	for (size_t i = 0; i < c->n; i++) {
		const struct store_meta *m = &c->meta[i];
		if (!ic->env && m->env)
			ic->env = m->env;
		if (!ic->workdir && m->workdir && *m->workdir)
			ic->workdir = m->workdir;
		/* Entrypoint and Cmd go together: an image that sets one meant the other as it set it. */
		if (!ic->entrypoint && !ic->cmd && (m->entrypoint || m->cmd)) {
			ic->entrypoint = m->entrypoint;
			ic->cmd = m->cmd;
		}
		if (!ic->user && m->user && *m->user)
			ic->user = m->user;
	}
	if (!ic->env)
		ic->env = (char *const *)default_env;
	if (!ic->workdir)
		ic->workdir = DEFAULT_WORKDIR;
	if (!ic->entrypoint && !ic->cmd)
		ic->cmd = (char *const *)default_cmd;
}

/* ---- JSON ---- */

static void json_strv(FILE *f, char *const *v)
{
	fputc('[', f);
	for (size_t i = 0; v && v[i]; i++) {
		if (i)
			fputc(',', f);
		output_json_string(f, v[i]);
	}
	fputc(']', f);
}

static void json_time(FILE *f, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char buf[64];
	if (gmtime_r(&tt, &tm) && strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm))
		fprintf(f, "\"%s\"", buf);
	else
		fputs("\"1970-01-01T00:00:00Z\"", f);
}

/* What made a rootfs, as an image's history says it: from the source its metadata records. */
static char *created_by(const char *name, const char *source)
{
	if (!source || !*source)
		return xasprintf("a directory put in the ajail store by hand as '%s'", name);
	if (str_has_prefix(source, "ajail "))
		return xstrdup(source);
	if (str_has_prefix(source, "recipe "))
		return xasprintf("ajail fs build %s %s", source + strlen("recipe "), name);
	if (str_has_prefix(source, "copy of "))
		return xasprintf("ajail fs cp %s %s", source + strlen("copy of "), name);
	return xasprintf("ajail fs import %s %s", name, source);
}

/* The OCI name of this machine's architecture (Go's GOARCH, as the image spec uses). */
static const char *oci_arch(const char **variant)
{
	static struct utsname u;
	*variant = NULL;
	if (uname(&u) < 0)
		return "amd64";
	static const struct {
		const char *uname, *arch, *variant;
	} map[] = {
		{ "x86_64", "amd64", NULL },   { "aarch64", "arm64", NULL }, { "armv7l", "arm", "v7" },
		{ "armv6l", "arm", "v6" },     { "i686", "386", NULL },      { "i586", "386", NULL },
		{ "i386", "386", NULL },       { "ppc64le", "ppc64le", NULL }, { "s390x", "s390x", NULL },
		{ "riscv64", "riscv64", NULL }, { "mips64", "mips64", NULL }, { "loongarch64", "loong64", NULL },
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(u.machine, map[i].uname) == 0) {
			*variant = map[i].variant;
			return map[i].arch;
		}
	return u.machine;
}

struct blob {
	char hex[SHA256_HEX_LEN + 1];
	uint64_t size;
};

static char *config_json(const struct chain *c, const struct blob *layers, size_t *len)
{
	struct image_config ic;
	image_config(c, &ic);
	char *text = NULL;
	FILE *f = open_memstream(&text, len);
	if (!f)
		abort();
	const char *variant;
	const char *arch = oci_arch(&variant);
	fputc('{', f);
	if (c->meta[0].created > 0) {
		fputs("\"created\":", f);
		json_time(f, c->meta[0].created);
		fputc(',', f);
	}
	fputs("\"architecture\":", f);
	output_json_string(f, arch);
	if (variant) {
		fputs(",\"variant\":", f);
		output_json_string(f, variant);
	}
	fputs(",\"os\":\"linux\",\"config\":{", f);
	if (ic.user) {
		fputs("\"User\":", f);
		output_json_string(f, ic.user);
		fputc(',', f);
	}
	fputs("\"Env\":", f);
	json_strv(f, ic.env);
	if (ic.entrypoint) {
		fputs(",\"Entrypoint\":", f);
		json_strv(f, ic.entrypoint);
	}
	if (ic.cmd) {
		fputs(",\"Cmd\":", f);
		json_strv(f, ic.cmd);
	}
	fputs(",\"WorkingDir\":", f);
	output_json_string(f, ic.workdir);
	fputs(",\"Labels\":{\"org.opencontainers.image.title\":", f);
	output_json_string(f, c->names[0]);
	fputs("}},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[", f);
	for (size_t i = 0; i < c->n; i++)
		fprintf(f, "%s\"sha256:%s\"", i ? "," : "", layers[i].hex);
	fputs("]},\"history\":[", f);
	for (size_t i = 0; i < c->n; i++) {
		const struct store_meta *m = &c->meta[c->n - 1 - i];
		cleanup_free char *by = created_by(c->names[c->n - 1 - i], m->source);
		cleanup_free char *comment = xasprintf("ajail rootfs %s", c->names[c->n - 1 - i]);
		fputs(i ? ",{" : "{", f);
		if (m->created > 0) {
			fputs("\"created\":", f);
			json_time(f, m->created);
			fputc(',', f);
		}
		fputs("\"created_by\":", f);
		output_json_string(f, by);
		fputs(",\"comment\":", f);
		output_json_string(f, comment);
		fputc('}', f);
	}
	fputs("]}", f);
	if (fclose(f) != 0)
		abort();
	return text;
}

static char *manifest_json(const struct blob *config, const struct blob *layers, size_t n, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);
	if (!f)
		abort();
	fprintf(f,
		"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		"\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:%s\","
		"\"size\":%llu},\"layers\":[",
		config->hex, (unsigned long long)config->size);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:%s\",\"size\":%llu}",
			i ? "," : "", layers[i].hex, (unsigned long long)layers[i].size);
	fputs("]}", f);
	if (fclose(f) != 0)
		abort();
	return text;
}

static char *index_json(const struct blob *manifest, const char *tag, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);
	if (!f)
		abort();
	fprintf(f,
		"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[{"
		"\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:%s\",\"size\":%llu,"
		"\"annotations\":{\"org.opencontainers.image.ref.name\":",
		manifest->hex, (unsigned long long)manifest->size);
	output_json_string(f, tag);
	fputs("}}]}", f);
	if (fclose(f) != 0)
		abort();
	return text;
}

char *oci_repo_name(const char *name)
{
	/* A Docker repository path component: [a-z0-9]+ joined by '.', '_', "__" or runs of '-'.
	 * Rootfs names may hold capitals and other runs of '.', '_' and '-'. */
	size_t n = strlen(name), o = 0;
	char *out = xmalloc(n + 1);
	for (size_t i = 0; i < n;) {
		char ch = name[i];
		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) {
			out[o++] = ch;
			i++;
		} else if (ch >= 'A' && ch <= 'Z') {
			out[o++] = (char)(ch - 'A' + 'a');
			i++;
		} else {
			size_t run = strspn(name + i, "._-");
			bool keep = run == 1 || (run == 2 && name[i] == '_' && name[i + 1] == '_') ||
				    strspn(name + i, "-") == run;
			if (o > 0 && i + run < n) { /* none at either end */
				if (keep) {
					memcpy(out + o, name + i, run);
					o += run;
				} else {
					out[o++] = '-';
				}
			}
			i += run ? run : 1;
		}
	}
	out[o] = '\0';
	if (!o) {
		free(out);
		return xstrdup("rootfs");
	}
	return out;
}

char *oci_ref_name(const char *name, const char *tag, struct aj_err *err)
{
	size_t n = strlen(tag);
	bool whole = strchr(tag, ':') || strchr(tag, '/');
	bool ok = n > 0 && n <= 255 && ((tag[0] >= 'a' && tag[0] <= 'z') || (tag[0] >= 'A' && tag[0] <= 'Z') ||
					 (tag[0] >= '0' && tag[0] <= '9') || tag[0] == '_');
	for (size_t i = 0; ok && i < n; i++) {
		char ch = tag[i];
		ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
		     ch == '.' || ch == '-' || (whole && (ch == ':' || ch == '/' || ch == '@' || ch == '+'));
	}
	if (!whole && n > 128)
		ok = false;
	if (!ok) {
		cleanup_free char *e = util_escape(tag);
		aj_usage(err, "--tag: '%s' is neither a tag (letters, digits, '_', '.', '-') nor an image name such as "
			      "registry.example/team/agent:v1",
			 e);
		return NULL;
	}
	if (whole)
		return xstrdup(tag);
	cleanup_free char *repo = oci_repo_name(name);
	return xasprintf("ajail/%s:%s", repo, tag);
}

/* ---- the outer tar, written by hand: ustar headers, each blob streamed straight in ---- */

struct tarw {
	int fd;
	off_t off; /* where the next byte goes */
	int errnum;
};

static int tw_write(struct tarw *t, const void *buf, size_t n)
{
	if (write_all(t->fd, buf, n) < 0) {
		t->errnum = errno;
		return -1;
	}
	t->off += (off_t)n;
	return 0;
}

static int tw_pad(struct tarw *t)
{
	static const char zeros[512];
	size_t r = (size_t)(t->off % 512);
	return r ? tw_write(t, zeros, 512 - r) : 0;
}

/* A ustar header: owner 0:0, mtime 0 (the same rootfs, the same file), names below 100 bytes. A size
 * of 8 GiB or more is written in base-256, as GNU tar and Go's archive/tar read it. */
static void tw_header(char h[512], const char *name, char type, uint64_t size)
{
	memset(h, 0, 512);
	snprintf(h, 100, "%s", name);
	snprintf(h + 100, 8, "%07o", type == '5' ? 0755 : 0644);
	snprintf(h + 108, 8, "%07o", 0);
	snprintf(h + 116, 8, "%07o", 0);
	if (size < 077777777777ull) {
		snprintf(h + 124, 12, "%011llo", (unsigned long long)size);
	} else {
		h[124] = (char)0x80;
		for (int i = 0; i < 8; i++)
			h[124 + 11 - i] = (char)(size >> (8 * i));
	}
	snprintf(h + 136, 12, "%011o", 0);
	h[156] = type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	snprintf(h + 265, 32, "root");
	snprintf(h + 297, 32, "root");
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += (unsigned char)h[i];
	snprintf(h + 148, 8, "%06o", sum);
	h[155] = ' ';
}

static int tw_entry(struct tarw *t, const char *name, char type, const void *data, size_t n)
{
	char h[512];
	tw_header(h, name, type, n);
	if (tw_write(t, h, sizeof h) < 0 || (n && tw_write(t, data, n) < 0))
		return -1;
	return tw_pad(t);
}

static int tw_blob(struct tarw *t, const void *data, size_t n, struct blob *b)
{
	sha256_hex(data, n, b->hex);
	b->size = n;
	cleanup_free char *name = xasprintf("blobs/sha256/%s", b->hex);
	return tw_entry(t, name, '0', data, n);
}

static void hex_of(struct sha256 *h, char out[SHA256_HEX_LEN + 1])
{
	uint8_t d[SHA256_LEN];
	sha256_final(h, d);
	for (int i = 0; i < SHA256_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* One rootfs of the chain as an image layer: a header slot, the tar stream (hashed as it goes),
 * then the header, which needs the digest, written into its slot. A layer that is byte for byte one
 * written before (two empty layers) is taken back out: the archive holds each blob once. */
static int tw_layer(struct tarw *t, int dirfd, enum export_flavor flavor, struct output_progress *prog,
		    uint64_t *prog_bytes, uint64_t *prog_files, const struct blob *done, size_t ndone, struct blob *b,
		    struct archive_stats *st, struct aj_err *err)
{
	static const char zeros[512];
	off_t slot = t->off;
	if (tw_write(t, zeros, sizeof zeros) < 0)
		return aj_fail(err, t->errnum, "write");
	struct sha256 h;
	sha256_init(&h);
	uint64_t size;
	if (export_tar_fd(dirfd, t->fd, flavor, &h, prog, *prog_bytes, *prog_files, &size, st, err) < 0)
		return -1;
	t->off += (off_t)size;
	*prog_bytes += size;
	*prog_files += st->files + st->dirs + st->symlinks + st->hardlinks;
	hex_of(&h, b->hex);
	b->size = size;
	for (size_t i = 0; i < ndone; i++)
		if (strcmp(done[i].hex, b->hex) == 0) {
			if (ftruncate(t->fd, slot) < 0 || lseek(t->fd, slot, SEEK_SET) < 0)
				return aj_fail(err, errno, "write");
			t->off = slot;
			return 0;
		}
	if (tw_pad(t) < 0)
		return aj_fail(err, t->errnum, "write");
	char hdr[512];
	cleanup_free char *name = xasprintf("blobs/sha256/%s", b->hex);
	tw_header(hdr, name, '0', size);
	if (pwrite(t->fd, hdr, sizeof hdr, slot) != (ssize_t)sizeof hdr)
		return aj_fail(err, errno, "write");
	return 0;
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && strcmp(s + n - m, suf) == 0;
}

/* The image archive is made as an unnamed file (O_TMPFILE) in FILE's directory: a failure, even a
 * kill, leaves nothing behind. Where the filesystem cannot, FILE.part, removed on failure. */
static int create_part(int dfd, const char *part, bool *named)
{
	*named = false;
	int fd = openat(dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	*named = true;
	return openat(dfd, part, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
}

/* Give the finished file its name: linked as FILE.part, then renamed over FILE (atomic). */
static int publish(int fd, bool named, int dfd, const char *part, const char *base)
{
	if (!named) {
		char proc[64];
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
		unlinkat(dfd, part, 0); /* a killed run's */
		if (linkat(AT_FDCWD, proc, dfd, part, AT_SYMLINK_FOLLOW) < 0)
			return -1;
	}
	if (renameat(dfd, part, dfd, base) < 0) {
		int e = errno;
		unlinkat(dfd, part, 0);
		errno = e;
		return -1;
	}
	return 0;
}

int oci_export_image(struct store *s, const char *name, const char *file, const char *tag, bool progress,
		     struct archive_stats *st, size_t *layers, char **ref_out, struct aj_err *err)
{
	memset(st, 0, sizeof *st);
	*layers = 0;
	*ref_out = NULL;
	static const char *const compressed[] = { ".gz", ".tgz", ".zst", ".tzst", ".xz", ".txz", ".bz2", ".tbz2",
						  ".lz4", ".lz", ".lzma", ".Z", NULL };
	if (strcmp(file, "-") == 0)
		return aj_usage(err, "--oci: the image is written to a file (it is assembled in place), not to standard "
				     "output; give a name such as %s.tar",
				name);
	for (size_t i = 0; compressed[i]; i++)
		if (has_suffix(file, compressed[i]))
			return aj_usage(err, "--oci to '%s': an OCI archive is a plain tar (its layers are blobs inside "
					     "it); give a name ending in .tar",
					file);
	cleanup_free char *ref = oci_ref_name(name, tag, err); /* checked now, made again for the real name */
	if (!ref)
		return -1;

	/* The file's directory, held: the temp file and the final name land in the same place. */
	const char *slash = strrchr(file, '/');
	cleanup_free char *dir = slash ? xstrndup(file, (size_t)(slash - file) + (slash == file)) : xstrdup(".");
	cleanup_free char *base = xstrdup(slash ? slash + 1 : file);
	cleanup_free char *part = xasprintf("%s.part", base);
	if (!*base)
		return aj_usage(err, "--oci to '%s': that names a directory; give a file name", file);
	cleanup_close int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return aj_fail(err, errno, "to '%s'", file);
	struct stat dst;
	if (fstatat(dfd, base, &dst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(dst.st_mode))
		return aj_fail(err, EISDIR, "to '%s'", file);

	struct chain c;
	if (chain_open(s, name, true, &c, err) < 0)
		return -1;
	free(ref);
	ref = oci_ref_name(c.names[0], tag, err);
	bool named;
	struct tarw t = {.fd = create_part(dfd, part, &named)};
	if (t.fd < 0) {
		aj_fail(err, errno, "to '%s'", file);
		chain_close(&c);
		return -1;
	}
	struct blob *blobs = xcalloc(c.n, sizeof *blobs); /* bottom first */
	struct output_progress prog;
	output_progress_start(&prog, progress, "exporting", name);
	int ret = -1;
	uint64_t pbytes = 0, pfiles = 0;
	size_t len;
	struct blob config, manifest;
	/* Before the first goto: a jump must not pass the initialisation of a cleanup variable. */
	cleanup_free char *cfg = NULL, *man = NULL, *idx = NULL;
	if (tw_entry(&t, "blobs/", '5', NULL, 0) < 0 || tw_entry(&t, "blobs/sha256/", '5', NULL, 0) < 0)
		goto write_failed;
	for (size_t i = 0; i < c.n; i++) {
		size_t k = c.n - 1 - i; /* the chain is top first */
		struct archive_stats lst;
		if (tw_layer(&t, c.fds[k], i == 0 ? EXPORT_OCI_BASE : EXPORT_OCI_LAYER, &prog, &pbytes, &pfiles, blobs, i,
			     &blobs[i], &lst, err) < 0) {
			aj_err_wrap(err, "layer '%s'", c.names[k]);
			goto out;
		}
		st->files += lst.files;
		st->dirs += lst.dirs;
		st->symlinks += lst.symlinks;
		st->hardlinks += lst.hardlinks;
		st->bytes += lst.bytes;
		st->skipped_devices += lst.skipped_devices;
		st->setid_dropped += lst.setid_dropped;
	}
	cfg = config_json(&c, blobs, &len);
	if (tw_blob(&t, cfg, len, &config) < 0)
		goto write_failed;
	man = manifest_json(&config, blobs, c.n, &len);
	if (tw_blob(&t, man, len, &manifest) < 0)
		goto write_failed;
	idx = index_json(&manifest, ref, &len);
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	static const char end[1024];
	if (tw_entry(&t, "index.json", '0', idx, len) < 0 || tw_entry(&t, "oci-layout", '0', layout, strlen(layout)) < 0 ||
	    tw_write(&t, end, sizeof end) < 0)
		goto write_failed;
	st->input_bytes = (uint64_t)t.off;
	if (publish(t.fd, named, dfd, part, base) < 0) {
		aj_fail(err, errno, "to '%s'", file);
		goto out;
	}
	*layers = c.n;
	*ref_out = steal_pointer(&ref);
	ret = 0;
	goto out;
write_failed:
	aj_fail(err, t.errnum, "to '%s': write", file);
out:
	output_progress_done(&prog);
	close(t.fd);
	if (ret < 0 && named)
		unlinkat(dfd, part, 0);
	free(blobs);
	chain_close(&c);
	return ret;
}

/* ---- the Kubernetes Job ---- */

/* A double-quoted YAML scalar of any bytes: only printable ASCII stays as it is; '"' and '\' are
 * escaped, every other character is \xHH, \uHHHH or \UHHHHHHHH (bytes that are not UTF-8 become
 * U+FFFD: YAML has no raw bytes). With k8s_expand, '$' is doubled: Kubernetes expands $(VAR) in
 * env values and commands, and turns $$ back into $. */
static void yaml_str(FILE *f, const char *s, bool k8s_expand)
{
	const unsigned char *p = (const unsigned char *)s;
	fputc('"', f);
	while (*p) {
		unsigned char ch = *p;
		if (ch == '"' || ch == '\\') {
			fprintf(f, "\\%c", ch);
			p++;
		} else if (ch == '$' && k8s_expand) {
			fputs("$$", f);
			p++;
		} else if (ch >= 0x20 && ch < 0x7f) {
			fputc(ch, f);
			p++;
		} else if (ch < 0x80) {
			fprintf(f, "\\x%02x", ch);
			p++;
		} else {
			/* One UTF-8 sequence, checked (no overlong form, no surrogate, nothing past U+10FFFF). */
			size_t len = ch >= 0xf0 && ch <= 0xf4 ? 4 : ch >= 0xe0 ? 3 : ch >= 0xc2 && ch <= 0xdf ? 2 : 0;
			uint32_t cp = len == 4 ? ch & 0x07 : len == 3 ? ch & 0x0f : ch & 0x1f;
			for (size_t i = 1; i < len; i++) {
				if ((p[i] & 0xc0) != 0x80) {
					len = 0;
					break;
				}
				cp = cp << 6 | (p[i] & 0x3f);
			}
			if (len == 0 || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
			    (cp >= 0xd800 && cp <= 0xdfff)) {
				fputs("\\ufffd", f);
				p++;
				continue;
			}
			if (cp > 0xffff)
				fprintf(f, "\\U%08x", (unsigned)cp);
			else
				fprintf(f, "\\u%04x", (unsigned)cp);
			p += len;
		}
	}
	fputc('"', f);
}

/* One word for sh -c: '...', a ' inside as '\''. */
static void sh_quote(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++)
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	fputc('\'', f);
}

/* A Kubernetes object name from a rootfs name: lowercase letters, digits and '-'. */
static char *k8s_name(const char *name)
{
	char *out = xasprintf("ajail-%.40s-", name);
	for (char *p = out; *p; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
		else if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			*p = '-';
	}
	return out;
}

/* The rootfs's user as numbers, when it names them ("1000", "1000:1000"); uid -1 otherwise. */
static void numeric_user(const char *user, long *uid, long *gid)
{
	*uid = *gid = -1;
	if (!user)
		return;
	char *end;
	errno = 0;
	long u = strtol(user, &end, 10);
	if (end == user || errno || u < 0 || u > 0x7fffffff)
		return;
	if (*end == ':') {
		const char *g = end + 1;
		long gv = strtol(g, &end, 10);
		if (end == g || *end || gv < 0 || gv > 0x7fffffff)
			return;
		*gid = gv;
	} else if (*end) {
		return;
	}
	*uid = u;
}

/* The Job's script: plain POSIX sh, with no "$(" and no "$$" in it (Kubernetes would expand them). */
static const char job_script[] =
    "set -eu\n"
    ": \"${REPO_URL:?set REPO_URL in the Job: the git remote to clone and push to}\"\n"
    "mkdir -p \"$HOME\"\n"
    "git config --global user.name \"${GIT_AUTHOR_NAME:-ajail agent}\"\n"
    "git config --global user.email \"${GIT_AUTHOR_EMAIL:-ajail-agent@localhost}\"\n"
    "if [ -n \"${GIT_TOKEN:-}\" ]; then\n"
    "  # The token stays in the environment; git asks this helper for it.\n"
    "  git config --global credential.helper '!f() { echo \"username=${GIT_USERNAME:-x-access-token}\"; echo \"password=${GIT_TOKEN}\"; }; f'\n"
    "fi\n"
    "git clone --branch \"${BRANCH:-main}\" -- \"$REPO_URL\" /work/repo\n"
    "cd /work/repo\n"
    "git checkout -b \"ajail/$JOB_NAME\"\n"
    "status=0\n"
    "sh -c \"$AGENT_CMD\" || status=$?\n"
    "git add -A\n"
    "git commit -q -m \"ajail: work of $JOB_NAME\" || true\n"
    "git push origin \"HEAD:refs/heads/ajail/$JOB_NAME\"\n"
    "exit \"$status\"\n";

int oci_export_k8s_job(struct store *s, const char *name, const char *image, FILE *out, struct aj_err *err)
{
	struct chain c;
	if (chain_open(s, name, false, &c, err) < 0)
		return -1;
	struct image_config ic;
	image_config(&c, &ic);
	cleanup_free char *repo = oci_repo_name(c.names[0]);
	cleanup_free char *dflt_image = xasprintf("ajail/%s:latest", repo);
	if (!image)
		image = dflt_image;
	cleanup_free char *jobname = k8s_name(c.names[0]);

	/* AGENT_CMD's default: the image's Entrypoint and Cmd, as one sh -c line. */
	char *agent = NULL;
	size_t agent_len;
	FILE *a = open_memstream(&agent, &agent_len);
	if (!a)
		abort();
	bool first = true;
	for (int part = 0; part < 2; part++)
		for (char *const *v = part ? ic.cmd : ic.entrypoint; v && *v; v++) {
			if (!first)
				fputc(' ', a);
			sh_quote(a, *v);
			first = false;
		}
	if (fclose(a) != 0)
		abort();
	cleanup_free char *agent_cmd = agent;

	long uid, gid;
	numeric_user(ic.user, &uid, &gid);
	bool named_user = ic.user && uid < 0 && strcmp(ic.user, "root") != 0 && !str_has_prefix(ic.user, "root:");

	FILE *f = out;
	fputs("# A Kubernetes Job that runs one agent on the ajail rootfs ", f);
	yaml_str(f, c.names[0], false);
	fputs(" (ajail fs export --k8s-job).\n"
	      "# The image must first be pushed to a registry the cluster pulls from, under the name below:\n", f);
	fprintf(f, "#   ajail fs export %s --oci %s.tar\n", c.names[0], c.names[0]);
	fprintf(f, "#   skopeo copy oci-archive:%s.tar docker://REGISTRY/", c.names[0]);
	fputs("ajail/", f);
	fprintf(f, "%s:latest   (then give ajail fs export --k8s-job --image=REGISTRY/ajail/%s:latest)\n", c.names[0],
		c.names[0]);
	fputs("# Secrets come from the Secret ajail-agent, by name, never written here:\n"
	      "#   kubectl create secret generic ajail-agent --from-literal=ANTHROPIC_API_KEY=... --from-literal=GIT_TOKEN=...\n"
	      "# Set REPO_URL (and BRANCH, AGENT_CMD) below, then one Job per agent: kubectl create -f job.yaml\n"
	      "# Each pushes its work to REPO_URL as the branch ajail/<job name>; fetch them with\n"
	      "#   git fetch origin 'refs/heads/ajail/*:refs/remotes/ajail/*'\n", f);
	fputs("apiVersion: batch/v1\n"
	      "kind: Job\n"
	      "metadata:\n", f);
	fprintf(f, "  generateName: \"%s\"\n", jobname);
	fputs("  labels:\n"
	      "    app.kubernetes.io/name: \"ajail-agent\"\n"
	      "  annotations:\n"
	      "    ajail/rootfs: ", f);
	yaml_str(f, c.names[0], false);
	fputs("\nspec:\n"
	      "  backoffLimit: 0\n"
	      "  activeDeadlineSeconds: 14400\n"
	      "  ttlSecondsAfterFinished: 86400\n"
	      "  template:\n"
	      "    metadata:\n"
	      "      labels:\n"
	      "        app.kubernetes.io/name: \"ajail-agent\"\n"
	      "    spec:\n"
	      "      restartPolicy: Never\n"
	      "      automountServiceAccountToken: false\n"
	      "      enableServiceLinks: false\n"
	      "      securityContext:\n", f);
	if (uid > 0) {
		fputs("        runAsNonRoot: true\n", f);
		fprintf(f, "        runAsUser: %ld\n", uid);
		if (gid >= 0)
			fprintf(f, "        runAsGroup: %ld\n", gid);
		fprintf(f, "        fsGroup: %ld\n", gid >= 0 ? gid : uid);
	} else if (named_user) {
		fputs("        # The image's user is a name, which Kubernetes cannot check is not root: give its\n"
		      "        # number as runAsUser to add runAsNonRoot: true.\n", f);
	} else {
		fputs("        # The rootfs's files are root's (in ajail you are root inside the jail): the agent runs\n"
		      "        # as uid 0 with every capability dropped and no privilege escalation. Give the image a\n"
		      "        # user of its own to run it as non-root (runAsNonRoot: true, runAsUser: UID).\n"
		      "        runAsNonRoot: false\n", f);
	}
	fputs("        seccompProfile:\n"
	      "          type: RuntimeDefault\n"
	      "      containers:\n"
	      "        - name: agent\n"
	      "          image: ", f);
	yaml_str(f, image, false);
	fputs("\n          imagePullPolicy: IfNotPresent\n"
	      "          workingDir: ", f);
	yaml_str(f, ic.workdir, false);
	/* The script is ajail's own text: a literal block, readable as it is. */
	fputs("\n          command:\n"
	      "            - \"/bin/sh\"\n"
	      "            - \"-c\"\n"
	      "            - |\n", f);
	for (const char *l = job_script; *l;) {
		size_t n = strcspn(l, "\n");
		fprintf(f, "              %.*s\n", (int)n, l);
		l += n + (l[n] == '\n');
	}
	fputs("          envFrom:\n"
	      "            - secretRef:\n"
	      "                name: \"ajail-agent\"\n"
	      "          env:\n", f);
	for (char *const *e = ic.env; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		if (!eq || eq == *e)
			continue;
		cleanup_free char *key = xstrndup(*e, (size_t)(eq - *e));
		fputs("            - name: ", f);
		yaml_str(f, key, false);
		fputs("\n              value: ", f);
		yaml_str(f, eq + 1, true);
		fputc('\n', f);
	}
	fputs("            - name: \"JOB_NAME\"\n"
	      "              valueFrom:\n"
	      "                fieldRef:\n"
	      "                  fieldPath: \"metadata.labels['job-name']\"\n"
	      "            - name: \"REPO_URL\"\n"
	      "              value: \"\"   # set: https://git.example.com/you/project.git\n"
	      "            - name: \"BRANCH\"\n"
	      "              value: \"main\"\n"
	      "            - name: \"AGENT_CMD\"\n"
	      "              value: ", f);
	yaml_str(f, agent_cmd, true);
	fputs("\n          resources:\n"
	      "            requests:\n"
	      "              cpu: \"1\"\n"
	      "              memory: \"2Gi\"\n"
	      "              ephemeral-storage: \"2Gi\"\n"
	      "            limits:\n"
	      "              cpu: \"2\"\n"
	      "              memory: \"4Gi\"\n"
	      "              ephemeral-storage: \"20Gi\"\n"
	      "          securityContext:\n"
	      "            allowPrivilegeEscalation: false\n"
	      "            privileged: false\n"
	      "            capabilities:\n"
	      "              drop: [\"ALL\"]\n"
	      "          volumeMounts:\n"
	      "            - name: work\n"
	      "              mountPath: /work\n"
	      "      volumes:\n"
	      "        - name: work\n"
	      "          emptyDir:\n"
	      "            sizeLimit: \"20Gi\"\n", f);
	chain_close(&c);
	if (fflush(f) != 0 || ferror(f))
		return aj_fail(err, errno, "--k8s-job: write");
	return 0;
}
