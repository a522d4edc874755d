/* layer.c — see layer.h. */
#include "layer.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* The store's fs directory without symlinks: the jail opens layers beneath the old root with
 * RESOLVE_NO_SYMLINKS, so their paths must be canonical. */
static char *fs_real(const char *store_dir, struct aj_err *err)
{
	cleanup_free char *fs = xasprintf("%s/fs", store_dir);
	char real[PATH_MAX];
	if (!realpath(fs, real)) {
		aj_fail(err, errno, "%s", fs);
		return NULL;
	}
	return xstrdup(real);
}

int layer_commit_begin(const char *store_dir, const char *name, const struct rootfs *r, struct layer_commit *c,
		       struct aj_err *err)
{
	memset(c, 0, sizeof *c);
	if (r->kind != ROOTFS_DIR || !r->store_name)
		return aj_usage(err, "--commit=%s: the session's changes become a layer on a rootfs of the store; use "
				"--fs=NAME (not --fs=host or a path)", name);
	if (r->n_bases + 2 > STORE_MAX_DEPTH)
		return aj_usage(err, "--commit=%s: '%s' is %zu layers deep already; a layer on it would pass the limit of "
				"%d", name, r->store_name, r->n_bases + 1, STORE_MAX_DEPTH);
	if (store_open(store_dir, true, &c->store, err) < 0)
		return -1;
	if (store_txn_begin(&c->store, name, &c->txn, err) < 0) {
		store_close(&c->store);
		return aj_err_wrap(err, "--commit=%s", name);
	}
	cleanup_free char *fs = fs_real(store_dir, err);
	cleanup_close int tmp = openat(c->store.fsfd, ".tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cleanup_free char *workname = xasprintf("%s" STORE_WORK_SUFFIX, name);
	struct stat st;
	if (!fs || tmp < 0 || mkdirat(tmp, workname, 0700) < 0 || fstat(c->txn.dirfd, &st) < 0) {
		if (fs)
			aj_fail(err, errno, "--commit=%s: make its directories in %s/.tmp", name, fs);
		store_txn_abort(&c->txn);
		store_close(&c->store);
		return -1;
	}
	c->upper = xasprintf("%s/.tmp/%s", fs, name);
	c->work = xasprintf("%s/.tmp/%s", fs, workname);
	c->dev = (uint64_t)st.st_dev;
	c->ino = (uint64_t)st.st_ino;
	c->base = xstrdup(r->store_name);
	c->open = true;
	return 0;
}

static void commit_release(struct layer_commit *c)
{
	free(c->upper);
	free(c->work);
	free(c->base);
	store_close(&c->store);
	c->upper = c->work = c->base = NULL;
	c->open = false;
}

int layer_commit_end(struct layer_commit *c, bool ok, int status, char *const argv[], struct aj_err *err)
{
	if (!c->open)
		return 0;
	cleanup_free char *name = xstrdup(c->txn.name);
	{
		/* overlayfs's scratch (its work/ inside is made mode 000): never part of the layer. */
		cleanup_close int tmp = openat(c->store.fsfd, ".tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		cleanup_free char *workname = xasprintf("%s" STORE_WORK_SUFFIX, name);
		if (tmp >= 0)
			store_remove_tree(tmp, workname);
	}
	if (!ok) {
		store_txn_abort(&c->txn);
		commit_release(c);
		if (status > 0)
			fprintf(stderr, "ajail: the command exited with status %d: nothing was committed as '%s'\n", status, name);
		else
			fprintf(stderr, "ajail: the jail failed: nothing was committed as '%s'\n", name);
		return 0;
	}
	cleanup_free char *cmd = strv_join((char **)argv, " ");
	cleanup_free char *source = xasprintf("ajail --commit on %s: %s", c->base, cmd);
	struct store_meta m = { .source = source, .base = c->base };
	if (store_txn_commit_meta(&c->txn, &m, err) < 0) {
		store_txn_abort(&c->txn);
		commit_release(c);
		return aj_err_wrap(err, "--commit=%s", name);
	}
	fprintf(stderr, "ajail: committed the session's changes as '%s', a layer on '%s' (ajail --fs=%s)\n", name, c->base,
		name);
	commit_release(c);
	return 0;
}

int layer_edit_prepare(const char *store_dir, struct rootfs *r, struct aj_err *err)
{
	cleanup_free char *fs = fs_real(store_dir, err);
	if (!fs)
		return -1;
	cleanup_close int fsfd = open(fs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fsfd < 0 || (mkdirat(fsfd, ".work", 0700) < 0 && errno != EEXIST))
		return aj_fail(err, errno, "--fs-edit: make %s/.work", fs);
	cleanup_close int work = openat(fsfd, ".work", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	cleanup_free char *name = xasprintf("%s.%d", r->store_name, (int)getpid());
	store_remove_tree(work, name); /* a dead jail's with our pid */
	if (work < 0 || mkdirat(work, name, 0700) < 0)
		return aj_fail(err, errno, "--fs-edit: make %s/.work/%s", fs, name);
	r->edit_work = xasprintf("%s/.work/%s", fs, name);
	return 0;
}

void layer_edit_finish(const char *store_dir, const struct rootfs *r)
{
	if (!r->edit_work)
		return;
	cleanup_free char *dir = xasprintf("%s/fs/.work", store_dir);
	cleanup_close int work = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	const char *slash = strrchr(r->edit_work, '/');
	if (work >= 0 && slash)
		store_remove_tree(work, slash + 1);
}

int layer_register_bases(const char *store_dir, const struct rootfs *r, int *fds, struct aj_err *err)
{
	for (size_t i = 0; i < r->n_bases; i++)
		fds[i] = -1;
	for (size_t i = 0; i < r->n_bases; i++) {
		fds[i] = store_register_jail(store_dir, r->bases[i].path, false, err);
		if (fds[i] == -2) {
			fds[i] = -1;
			layer_unregister_bases(store_dir, r, fds);
			return aj_err_wrap(err, "base '%s' of '%s'", r->bases[i].name, r->store_name);
		}
	}
	return 0;
}

void layer_unregister_bases(const char *store_dir, const struct rootfs *r, int *fds)
{
	for (size_t i = 0; i < r->n_bases; i++)
		if (fds[i] >= 0) {
			store_unregister_jail(store_dir, fds[i]);
			fds[i] = -1;
		}
}
