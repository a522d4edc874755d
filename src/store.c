#include "store.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

int store_validate_name(const char *name, struct aj_err *err)
{
	size_t n = strlen(name);
	if (n == 0 || n > STORE_NAME_MAX)
		return aj_usage(err, "rootfs name '%s' must be 1 to %d characters", name, STORE_NAME_MAX);
	if (!isalnum((unsigned char)name[0]))
		return aj_usage(err, "rootfs name '%s' must start with a letter or digit", name);
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isalnum(c) && c != '.' && c != '_' && c != '-')
			return aj_usage(err, "rootfs name '%s' may only contain letters, digits, '.', '_' and '-'", name);
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **store_list_names(const char *store_dir)
{
	char **names = NULL;
	cleanup_free char *fsdir = path_join(store_dir, "fs");
	DIR *d = opendir(fsdir);
	if (!d)
		return NULL;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		struct stat st;
		cleanup_free char *p = path_join(fsdir, e->d_name);
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
			strv_push(&names, xstrdup(e->d_name));
	}
	closedir(d);
	if (names)
		qsort(names, strv_len(names), sizeof *names, cmp_str);
	return names;
}

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static uid_t owner_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_uid : (uid_t)-1;
}

void store_rootfs_release(struct rootfs *r)
{
	free(r->name);
	free(r->path);
	memset(r, 0, sizeof *r);
}

int store_resolve(const char *store_dir, const char *fs, struct rootfs *out, struct aj_err *err)
{
	memset(out, 0, sizeof *out);
	if (!fs || strcmp(fs, "host") == 0) {
		if (!fs && store_dir) {
			cleanup_free char *def = xasprintf("%s/fs/default", store_dir);
			char real[PATH_MAX];
			if (is_dir(def) && realpath(def, real)) {
				out->kind = ROOTFS_DIR;
				out->name = xstrdup("default");
				out->path = xstrdup(real);
				out->implicit = true;
				out->owner = owner_of(real);
				return 0;
			}
		}
		out->kind = ROOTFS_HOST;
		out->name = xstrdup("host");
		out->implicit = !fs;
		return 0;
	}
	if (strchr(fs, '/')) {
		char real[PATH_MAX];
		if (!realpath(fs, real))
			return aj_usage(err, "--fs=%s: %s; give a rootfs directory or a name from 'ajail fs list'", fs,
					strerror(errno));
		if (!is_dir(real))
			return aj_usage(err, "--fs=%s: not a directory", fs);
		if (strcmp(real, "/") == 0)
			return aj_usage(err, "--fs=%s: the host's / cannot be a rootfs; use --fs=host", fs);
		out->kind = ROOTFS_DIR;
		out->name = xstrdup(fs);
		out->path = xstrdup(real);
		out->owner = owner_of(real);
		return 0;
	}
	if (store_validate_name(fs, err) < 0)
		return aj_err_wrap(err, "--fs");
	if (!store_dir)
		return aj_usage(err, "--fs=%s: neither AJAIL_HOME nor HOME is set, so there is no store", fs);
	cleanup_free char *path = xasprintf("%s/fs/%s", store_dir, fs);
	char real[PATH_MAX];
	if (!is_dir(path) || !realpath(path, real)) {
		cleanup_strv char **names = store_list_names(store_dir);
		size_t cap = 256;
		for (size_t i = 0; names && names[i]; i++)
			cap += strlen(names[i]) + 2;
		cleanup_free char *list = xcalloc(1, cap);
		for (size_t i = 0; names && names[i]; i++) {
			if (i)
				strcat(list, ", ");
			strcat(list, names[i]);
		}
		return aj_usage(err, "no rootfs named '%s' in %s/fs (%s%s); a rootfs is a directory there (mkrootfs/busybox --dir "
				"%s/fs/%s makes a tiny one), or use --fs=host",
				fs, store_dir, names ? "available: " : "the store is empty", names ? list : "", store_dir, fs);
	}
	out->kind = ROOTFS_DIR;
	out->name = xstrdup(fs);
	out->path = xstrdup(real);
	out->owner = owner_of(real);
	return 0;
}
