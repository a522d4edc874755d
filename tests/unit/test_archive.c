/* Unit tests for archive_path_clean(), the lexical half of the import's safety checks (the other half,
 * openat2 beneath the rootfs, needs a filesystem and is covered by tests/helpers/mkevil.py and the
 * integration tests). archive_path_clean is inline in archive.h, so nothing of libarchive is linked.
 *
 * And for the fd walker of walk.c (linked in: see the Makefile), on a small tree in a temp dir: what
 * it reports, that a file's data comes from the inode it looked at even after its name was swapped
 * for a symlink, that fifos are reported but never opened, hard links, holes, the depth limit. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "walk.h"

/* archive_path_clean(in) must accept it and give want. */
static void check_clean(const char *in, const char *want)
{
	/* Exactly the room the contract promises, so an overrun shows up under ASan/valgrind. */
	char *out = malloc(strlen(in) + 1);
	bool ok = archive_path_clean(in, out);
	if (!ok || strcmp(out, want) != 0)
		print_error("archive_path_clean(\"%s\") = %d \"%s\", want \"%s\"\n", in, ok, ok ? out : "", want);
	assert_true(ok);
	assert_string_equal(out, want);
	free(out);
}

/* archive_path_clean(in) must refuse it: the entry would leave the rootfs. */
static void check_reject(const char *in)
{
	char *out = malloc(strlen(in) + 1);
	bool ok = archive_path_clean(in, out);
	if (ok)
		print_error("archive_path_clean(\"%s\") accepted it as \"%s\"\n", in, out);
	assert_false(ok);
	free(out);
}

static void test_plain(void **state)
{
	check_clean("etc/passwd", "etc/passwd");
	check_clean("a", "a");
	check_clean("usr/lib/x86_64-linux-gnu/libc.so.6", "usr/lib/x86_64-linux-gnu/libc.so.6");
}

static void test_dot_prefixes(void **state)
{
	check_clean("./etc/passwd", "etc/passwd");
	check_clean("././etc/./passwd", "etc/passwd");
	check_clean("./", "");
	check_clean(".", "");
	check_clean("", "");
}

static void test_absolute_stripped(void **state)
{
	/* Like GNU tar: leading '/'s go, the entry lands inside the rootfs. */
	check_clean("/etc/passwd", "etc/passwd");
	check_clean("//etc//passwd", "etc/passwd");
	check_clean("/", "");
	check_clean("///", "");
}

static void test_trailing_slash(void **state)
{
	/* "a" and "a/" must be the same name: no check may be fooled by the slash. */
	check_clean("a/", "a");
	check_clean("a//", "a");
	check_clean("a/b/", "a/b");
	check_clean("./a/./", "a");
}

static void test_names_that_only_look_like_dots(void **state)
{
	check_clean("...", "...");
	check_clean("..a", "..a");
	check_clean("a..", "a..");
	check_clean(".hidden/.x", ".hidden/.x");
	check_clean("a/.../b", "a/.../b");
}

static void test_dotdot_rejected(void **state)
{
	check_reject("..");
	check_reject("../x");
	check_reject("../../etc/passwd");
	check_reject("a/../../x");
	check_reject("a/..");
	check_reject("a/../b"); /* harmless lexically, but no real archive needs it: refuse, never guess */
	check_reject("/../x");
	check_reject("./../x");
	check_reject("a/b/../");
	check_reject("..//x");
}

/* ---- the walker ---------------------------------------------------------------------------- */

static char tmp[64];

static int tree_setup(void **state)
{
	strcpy(tmp, "/tmp/ajail-test-walk.XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	int d = open(tmp, O_RDONLY | O_DIRECTORY);
	int ok = d >= 0 && mkdirat(d, "a", 0755) == 0 && mkdirat(d, "a/b", 0755) == 0 &&
		 mkdirat(d, "skipme", 0755) == 0 && mkdirat(d, "skipme/x", 0755) == 0 &&
		 symlinkat("../secret", d, "a/link") == 0 && mkfifoat(d, "a/fifo", 0644) == 0;
	int f = openat(d, "a/file", O_WRONLY | O_CREAT, 0644);
	ok = ok && f >= 0 && write(f, "contents", 8) == 8 && close(f) == 0;
	ok = ok && linkat(d, "a/file", d, "a/b/again", 0) == 0;
	/* 4 MiB with 5 bytes of data in the middle. */
	f = openat(d, "sparse", O_WRONLY | O_CREAT, 0644);
	ok = ok && f >= 0 && ftruncate(f, 4 << 20) == 0 && pwrite(f, "hello", 5, 2 << 20) == 5 && close(f) == 0;
	f = openat(d, "secret", O_WRONLY | O_CREAT, 0600);
	ok = ok && f >= 0 && write(f, "SECRET", 6) == 6 && close(f) == 0;
	if (d >= 0)
		close(d);
	return ok ? 0 : -1;
}

static int tree_teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_walk_reports_each_entry_once(void **state)
{
	int top = open(tmp, O_PATH | O_DIRECTORY);
	assert_true(top >= 0);
	struct stat skip;
	assert_int_equal(fstatat(top, "skipme", &skip, 0), 0);
	struct walk_opts o = {.label = tmp, .skip = true, .skip_dev = skip.st_dev, .skip_ino = skip.st_ino};
	struct aj_err err = {0};
	struct walk *w = walk_open(top, &o, &err);
	assert_non_null(w);
	const struct walk_entry *e;
	char seen[1024] = "";
	int n = 0, r, first_link = 0, later_link = 0;
	while ((r = walk_next(w, &e, &err)) > 0) {
		if (n++ == 0) {
			assert_string_equal(e->path, "");
			assert_true(S_ISDIR(e->st.st_mode));
		}
		strcat(seen, e->path);
		strcat(seen, ";");
		if (strcmp(e->path, "a/link") == 0) {
			assert_true(S_ISLNK(e->st.st_mode));
			assert_string_equal(e->link, "../secret");
		}
		if (strcmp(e->path, "a/fifo") == 0) {
			/* Reported for the caller to skip, and not to be opened for reading. */
			assert_true(S_ISFIFO(e->st.st_mode));
			struct aj_err e2 = {0};
			assert_int_equal(walk_open_data(w, e, &e2), -1);
		}
		if (strcmp(e->path, "a/file") == 0 || strcmp(e->path, "a/b/again") == 0) {
			/* One inode, two names: the first carries the data, the second points at it. */
			if (e->hardlink) {
				later_link++;
				assert_true(strcmp(e->hardlink, "a/file") == 0 || strcmp(e->hardlink, "a/b/again") == 0);
				assert_string_not_equal(e->hardlink, e->path);
			} else {
				first_link++;
			}
		}
		if (strcmp(e->path, "a/b") == 0)
			assert_non_null(strstr(seen, "a;")); /* a directory before what it holds */
	}
	assert_int_equal(r, 0);
	assert_int_equal(first_link, 1);
	assert_int_equal(later_link, 1);
	assert_null(strstr(seen, "skipme")); /* neither reported nor entered */
	assert_int_equal(n, 9);		     /* "", a, a/b, a/b/again, a/file, a/link, a/fifo, sparse, secret */
	walk_close(w);
	close(top);
}

/* The attack the walker exists for: between the look at a file and the read of its data, its name
 * is exchanged for a symlink to a secret. The data must still be the file's. */
static void test_walk_reads_the_inode_it_looked_at(void **state)
{
	int top = open(tmp, O_PATH | O_DIRECTORY);
	struct walk_opts o = {.label = tmp};
	struct aj_err err = {0};
	struct walk *w = walk_open(top, &o, &err);
	assert_non_null(w);
	const struct walk_entry *e;
	bool found = false;
	while (walk_next(w, &e, &err) > 0) {
		if (strcmp(e->path, "a/file") != 0)
			continue;
		found = true;
		assert_int_equal(renameat(top, "a/file", top, "a/file.moved"), 0);
		assert_int_equal(symlinkat("../secret", top, "a/file"), 0);
		int fd = walk_open_data(w, e, &err);
		assert_true(fd >= 0);
		char buf[32] = "";
		assert_int_equal(read(fd, buf, sizeof buf - 1), 8);
		assert_string_equal(buf, "contents");
		close(fd);
		assert_int_equal(unlinkat(top, "a/file", 0), 0);
		assert_int_equal(renameat(top, "a/file.moved", top, "a/file"), 0);
	}
	assert_true(found);
	walk_close(w);
	close(top);
}

static void test_walk_data_extent_finds_the_data(void **state)
{
	char p[128];
	snprintf(p, sizeof p, "%s/sparse", tmp);
	int fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	int64_t off = 0, len = 0, size = 4 << 20, total = 0;
	int r;
	while ((r = walk_data_extent(fd, size, &off, &len)) > 0) {
		/* Wherever the filesystem puts block boundaries, the 5 bytes are inside an extent. */
		if (off <= (2 << 20) && off + len >= (2 << 20) + 5)
			total += 5;
		assert_true(off + len <= size);
		off += len;
	}
	assert_int_equal(r, 0);
	assert_int_equal(total, 5);
	close(fd);
}

static void test_walk_depth_limit(void **state)
{
	int d = open(tmp, O_RDONLY | O_DIRECTORY);
	assert_int_equal(mkdirat(d, "deep", 0755), 0);
	int cur = openat(d, "deep", O_RDONLY | O_DIRECTORY);
	for (int i = 0; i < WALK_MAX_DEPTH + 1; i++) {
		assert_int_equal(mkdirat(cur, "d", 0755), 0);
		int next = openat(cur, "d", O_RDONLY | O_DIRECTORY);
		close(cur);
		cur = next;
	}
	close(cur);
	int top = openat(d, "deep", O_PATH | O_DIRECTORY);
	struct walk_opts o = {.label = "deep"};
	struct aj_err err = {0};
	struct walk *w = walk_open(top, &o, &err);
	const struct walk_entry *e;
	int r, n = 0;
	while ((r = walk_next(w, &e, &err)) > 0)
		n++;
	assert_int_equal(r, -1);
	assert_int_equal(n, WALK_MAX_DEPTH + 1); /* "", then d, d/d, ... down to level 512 */
	assert_non_null(strstr(err.msg, "deeper than 512 directories"));
	assert_non_null(strstr(err.msg, "..."));      /* the path, shortened */
	assert_true(strlen(err.msg) < 300);
	walk_close(w);
	close(top);
	close(d);
}

static void test_walk_shorten(void **state)
{
	char *s = walk_shorten("short");
	assert_string_equal(s, "short");
	free(s);
	char longer[1000];
	memset(longer, 'x', sizeof longer - 1);
	longer[sizeof longer - 1] = '\0';
	longer[0] = 'A';
	longer[sizeof longer - 2] = 'Z';
	s = walk_shorten(longer);
	assert_true(strlen(s) < 250);
	assert_int_equal(s[0], 'A');
	assert_int_equal(s[strlen(s) - 1], 'Z');
	assert_non_null(strstr(s, "..."));
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain),
	    cmocka_unit_test(test_dot_prefixes),
	    cmocka_unit_test(test_absolute_stripped),
	    cmocka_unit_test(test_trailing_slash),
	    cmocka_unit_test(test_names_that_only_look_like_dots),
	    cmocka_unit_test(test_dotdot_rejected),
	    cmocka_unit_test_setup_teardown(test_walk_reports_each_entry_once, tree_setup, tree_teardown),
	    cmocka_unit_test_setup_teardown(test_walk_reads_the_inode_it_looked_at, tree_setup, tree_teardown),
	    cmocka_unit_test_setup_teardown(test_walk_data_extent_finds_the_data, tree_setup, tree_teardown),
	    cmocka_unit_test_setup_teardown(test_walk_depth_limit, tree_setup, tree_teardown),
	    cmocka_unit_test(test_walk_shorten),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
