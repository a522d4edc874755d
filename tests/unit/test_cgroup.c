/* Unit tests for cgroup.c: the pure parsers, and the search and creation against a fake tree in a temp
 * directory (proc/self/cgroup, proc/self/mountinfo and a cgroupfs of plain files and directories).
 * "Not delegated" is modelled with permission bits, which cgroup.c reads without the capability
 * override, so the tests mean the same run as root or as a user. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "error.h"
#include "util.h"


/* ---- the fake tree ---- */

struct fake {
	char root[PATH_MAX];
};

static int setup(void **state)
{
	struct fake *f = xcalloc(1, sizeof *f);
	const char *tmp = getenv("TMPDIR");
	snprintf(f->root, sizeof f->root, "%s/ajail-test-cgroup.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->root))
		return -1;
	*state = f;
	return 0;
}

static int unlock_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	if (type == FTW_D || type == FTW_DNR)
		chmod(path, 0700);
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;
	nftw(f->root, unlock_one, 32, FTW_PHYS);
	nftw(f->root, remove_one, 32, FTW_PHYS | FTW_DEPTH);
	free(f);
	return 0;
}

static char *fpath(struct fake *f, const char *rel)
{
	return xasprintf("%s/%s", f->root, rel);
}

static void mkdir_p(const char *path)
{
	char *p = xstrdup(path);
	for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	mkdir(p, 0755);
	free(p);
}

/* Write rel (under the fake root) with text, making its directories. */
static void put(struct fake *f, const char *rel, const char *text)
{
	char *path = fpath(f, rel);
	char *dir = xstrdup(path);
	*strrchr(dir, '/') = '\0';
	mkdir_p(dir);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	free(dir);
	free(path);
}

static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	if (!fp)
		return NULL;
	char buf[4096];
	size_t n = fread(buf, 1, sizeof buf - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return xstrdup(buf);
}

/* A cgroup directory with the kernel's three files that the search reads. */
static void cg(struct fake *f, const char *rel, const char *controllers, const char *subtree, const char *procs)
{
	char *p = fpath(f, rel);
	mkdir_p(p);
	free(p);
	char *file = xasprintf("%s/cgroup.controllers", rel);
	put(f, file, controllers);
	free(file);
	file = xasprintf("%s/cgroup.subtree_control", rel);
	put(f, file, subtree);
	free(file);
	file = xasprintf("%s/cgroup.procs", rel);
	put(f, file, procs);
	free(file);
}

/* Not delegated to us: as the kernel leaves a cgroup owned by someone else (root, 0755 and 0644). */
static void lock(struct fake *f, const char *rel)
{
	char *p = fpath(f, rel);
	char *procs = xasprintf("%s/cgroup.procs", p);
	assert_int_equal(chmod(procs, 0444), 0);
	assert_int_equal(chmod(p, 0555), 0);
	free(procs);
	free(p);
}

#define MI_BASE                                                                                                \
	"22 1 259:1 / / rw,relatime shared:1 - ext4 /dev/root rw\n"                                            \
	"23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:5 - proc proc rw\n"
#define MI_V2                                                                                                  \
	MI_BASE "24 22 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate\n"

/* A hybrid layout, as on the machines this was written on: the controllers on v1, cgroup2 with hugetlb only. */
#define MI_HYBRID                                                                                             \
	MI_BASE                                                                                               \
	"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"                                  \
	"32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"                                 \
	"33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"                         \
	"35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"                           \
	"39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"                               \
	"40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"                    \
	"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"

#define USER "user.slice/user-1000.slice/user@1000.service"
#define SCOPE "/" USER "/app.slice/run-r1.scope"

/* A pure v2 systemd machine seen from 'systemd-run --user --scope -p Delegate=yes': the user's
 * manager (user@1000.service) and everything below it belong to the user. */
static void systemd_tree(struct fake *f, const char *service_ctl, const char *service_sub, const char *app_sub)
{
	put(f, "proc/self/cgroup", "0::" SCOPE "\n");
	put(f, "proc/self/mountinfo", MI_V2);
	cg(f, "sys/fs/cgroup", "cpuset cpu io memory hugetlb pids rdma misc\n", "cpu io memory pids\n", "1\n");
	cg(f, "sys/fs/cgroup/user.slice", "cpu io memory pids\n", "cpu memory pids\n", "");
	cg(f, "sys/fs/cgroup/user.slice/user-1000.slice", "cpu io memory pids\n", "cpu memory pids\n", "");
	cg(f, "sys/fs/cgroup/" USER, service_ctl, service_sub, "");
	cg(f, "sys/fs/cgroup/" USER "/app.slice", service_sub, app_sub, "");
	cg(f, "sys/fs/cgroup" SCOPE, app_sub, "", "4242\n4243\n");
	lock(f, "sys/fs/cgroup/user.slice/user-1000.slice");
	lock(f, "sys/fs/cgroup/user.slice");
	lock(f, "sys/fs/cgroup");
}

static void parent_is(struct fake *f, struct cg_limits l, const char *want_rel)
{
	struct aj_err err = { 0 };
	char *parent = NULL;
	int r = cgroup_find_parent(f->root, &l, &parent, &err);
	if (r != 0)
		print_error("cgroup_find_parent failed: %s\n", err.msg);
	assert_int_equal(r, 0);
	char *want = fpath(f, want_rel);
	assert_string_equal(parent, want);
	free(want);
	free(parent);
}

static void error_is(struct fake *f, struct cg_limits l, const char *want)
{
	struct aj_err err = { 0 };
	char *parent = NULL;
	int r = cgroup_find_parent(f->root, &l, &parent, &err);
	if (r == 0)
		print_error("cgroup_find_parent found %s\n", parent);
	assert_int_equal(r, -1);
	assert_null(parent);
	assert_int_equal(err.kind, AJ_ERR_FAIL);
	assert_string_equal(err.msg, want);
}

static const struct cg_limits MEM = { .memory = 1ull << 30 };
static const struct cg_limits CPUS = { .cpus_milli = 1500 };
static const struct cg_limits PIDS = { .pids = 100 };
static const struct cg_limits ALL = { .memory = 1ull << 30, .cpus_milli = 1500, .pids = 100 };
static const struct cg_limits MEM_PIDS = { .memory = 1ull << 30, .pids = 100 };

/* ---- finding the parent ---- */

static void test_v2_delegated_found(void **state)
{
	struct fake *f = *state;
	systemd_tree(f, "cpu memory pids\n", "cpu memory pids\n", "memory pids\n");
	/* Our scope has processes and enables nothing; its slice enables memory and pids. */
	parent_is(f, MEM, "sys/fs/cgroup/" USER "/app.slice");
	parent_is(f, MEM_PIDS, "sys/fs/cgroup/" USER "/app.slice");
	/* cpu only from the manager's own cgroup, one further up */
	parent_is(f, CPUS, "sys/fs/cgroup/" USER);
	parent_is(f, ALL, "sys/fs/cgroup/" USER);
}

static void test_v2_root_cgroup(void **state)
{
	/* As root on a pure v2 machine, in the root cgroup (which alone may have processes and enable
	 * controllers at once). */
	struct fake *f = *state;
	put(f, "proc/self/cgroup", "0::/\n");
	put(f, "proc/self/mountinfo", MI_V2);
	cg(f, "sys/fs/cgroup", "cpu memory pids\n", "cpu memory pids\n", "1\n");
	parent_is(f, ALL, "sys/fs/cgroup");
}

static void test_hybrid_names_v1(void **state)
{
	struct fake *f = *state;
	put(f, "proc/self/cgroup",
	    "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/182b\n2:cpuacct:/\n1:cpu:/\n0::/\n");
	put(f, "proc/self/mountinfo", MI_HYBRID);
	cg(f, "sys/fs/cgroup/unified", "hugetlb\n", "", "1\n");
	error_is(f, MEM,
		 "--memory needs the cgroup v2 memory controller delegated to you; /sys/fs/cgroup/unified offers "
		 "only hugetlb (this system keeps memory on cgroup v1)");
	error_is(f, CPUS,
		 "--cpus needs the cgroup v2 cpu controller delegated to you; /sys/fs/cgroup/unified offers only "
		 "hugetlb (this system keeps cpu on cgroup v1)");
	error_is(f, ALL,
		 "--memory, --cpus and --pids need the cgroup v2 memory, cpu and pids controllers delegated to "
		 "you; /sys/fs/cgroup/unified offers only hugetlb (this system keeps memory, cpu and pids on "
		 "cgroup v1)");
	put(f, "sys/fs/cgroup/unified/cgroup.controllers", "");
	error_is(f, PIDS,
		 "--pids needs the cgroup v2 pids controller delegated to you; /sys/fs/cgroup/unified offers no "
		 "controllers (this system keeps pids on cgroup v1)");
}

/* Root's fallback on a hybrid system: our own cgroup in the v1 pids hierarchy, also when pids shares
 * a hierarchy with another controller; none without a v1 pids hierarchy. */
static void test_v1_pids_parent(void **state)
{
	struct fake *f = *state;
	struct aj_err err = { 0 };
	char *parent = NULL;
	put(f, "proc/self/cgroup", "9:name=systemd:/\n8:pids:/ci/job1\n4:memory:/process_api/182b\n0::/\n");
	put(f, "proc/self/mountinfo", MI_HYBRID);
	assert_int_equal(cgroup_v1_pids_parent(f->root, &parent, &err), 0);
	char *want = fpath(f, "sys/fs/cgroup/pids/ci/job1");
	assert_string_equal(parent, want);
	free(want);
	free(parent);
	parent = NULL;
	put(f, "proc/self/cgroup", "3:cpu,pids:/\n0::/\n");
	put(f, "proc/self/mountinfo", MI_BASE "39 31 0:36 / /sys/fs/cgroup/cpu,pids rw - cgroup cgroup rw,cpu,pids\n");
	assert_int_equal(cgroup_v1_pids_parent(f->root, &parent, &err), 0);
	want = fpath(f, "sys/fs/cgroup/cpu,pids");
	assert_string_equal(parent, want);
	free(want);
	free(parent);
	parent = NULL;
	put(f, "proc/self/cgroup", "0::/\n");
	put(f, "proc/self/mountinfo", MI_BASE "41 31 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
	assert_int_equal(cgroup_v1_pids_parent(f->root, &parent, &err), -1);
	assert_null(parent);
	assert_non_null(strstr(err.msg, "v1 pids"));
}

static void test_top_lacks_controller(void **state)
{
	/* A container whose host passed down only some controllers: nothing on v1 to blame. Only the
	 * missing ones are named. */
	struct fake *f = *state;
	put(f, "proc/self/cgroup", "0::/\n");
	put(f, "proc/self/mountinfo", MI_V2);
	cg(f, "sys/fs/cgroup", "cpuset cpu pids\n", "", "1\n");
	error_is(f, MEM_PIDS,
		 "--memory needs the cgroup v2 memory controller delegated to you; /sys/fs/cgroup offers only "
		 "cpuset, cpu and pids (not passed down to this cgroup tree)");
}

static void test_no_cgroup2_mount(void **state)
{
	struct fake *f = *state;
	put(f, "proc/self/cgroup", "4:memory:/\n8:pids:/\n0::/\n");
	put(f, "proc/self/mountinfo",
	    MI_BASE "35 23 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
		    "39 23 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n");
	error_is(f, MEM_PIDS,
		 "--memory and --pids need cgroup v2, and no cgroup2 filesystem is mounted (this system keeps "
		 "memory and pids on cgroup v1)");
	error_is(f, CPUS, "--cpus needs cgroup v2, and no cgroup2 filesystem is mounted");
	put(f, "proc/self/mountinfo", MI_BASE);
	error_is(f, MEM, "--memory needs cgroup v2, and no cgroup2 filesystem is mounted");
}

static void test_no_v2_line(void **state)
{
	struct fake *f = *state;
	put(f, "proc/self/cgroup", "4:memory:/\n");
	put(f, "proc/self/mountinfo", MI_BASE "35 23 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n");
	error_is(f, MEM,
		 "--memory needs cgroup v2, which this kernel does not offer (this system keeps memory on cgroup v1)");
}

static void test_no_proc(void **state)
{
	struct fake *f = *state;
	error_is(f, PIDS, "--pids: read /proc/self/cgroup: No such file or directory");
	put(f, "proc/self/cgroup", "0::/\n");
	error_is(f, PIDS, "--pids: read /proc/self/mountinfo: No such file or directory");
	put(f, "proc/self/mountinfo", MI_V2);
	error_is(f, PIDS, "--pids: read /sys/fs/cgroup/cgroup.controllers: No such file or directory");
}

static void test_not_delegated(void **state)
{
	/* A login session: its scope and everything above belong to root. */
	struct fake *f = *state;
	put(f, "proc/self/cgroup", "0::/user.slice/user-1000.slice/session-2.scope\n");
	put(f, "proc/self/mountinfo", MI_V2);
	cg(f, "sys/fs/cgroup", "cpu memory pids\n", "cpu memory pids\n", "1\n");
	cg(f, "sys/fs/cgroup/user.slice", "cpu memory pids\n", "cpu memory pids\n", "");
	cg(f, "sys/fs/cgroup/user.slice/user-1000.slice", "cpu memory pids\n", "cpu memory pids\n", "");
	cg(f, "sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope", "cpu memory pids\n", "", "77\n");
	lock(f, "sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope");
	lock(f, "sys/fs/cgroup/user.slice/user-1000.slice");
	lock(f, "sys/fs/cgroup/user.slice");
	lock(f, "sys/fs/cgroup");
	const char *want = "--pids: your cgroup /user.slice/user-1000.slice/session-2.scope is not delegated to you "
			   "(not writable); run ajail in a delegated scope, e.g. 'systemd-run --user --scope -p "
			   "Delegate=yes ajail ...'";
	error_is(f, PIDS, want);
	/* A writable directory is not enough: moving the jail in needs cgroup.procs. */
	char *scope = fpath(f, "sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope");
	assert_int_equal(chmod(scope, 0755), 0);
	error_is(f, PIDS, want);
	free(scope);
}

static void test_controller_not_received(void **state)
{
	/* The system's manager delegates only memory and pids to the user's manager. */
	struct fake *f = *state;
	systemd_tree(f, "memory pids\n", "memory pids\n", "memory pids\n");
	parent_is(f, MEM_PIDS, "sys/fs/cgroup/" USER "/app.slice");
	error_is(f, CPUS,
		 "--cpus: your delegated cgroup /" USER " does not receive the cpu controller from its parent (it has "
		 "only memory and pids); ask for it when it is delegated (systemd: Delegate=yes)");
	error_is(f, ALL,
		 "--cpus: your delegated cgroup /" USER " does not receive the cpu controller from its parent (it has "
		 "only memory and pids); ask for it when it is delegated (systemd: Delegate=yes)");
}

static void test_controller_not_enabled(void **state)
{
	/* Delegated and available, but nobody turned cpu on for children: we say how, not do it. */
	struct fake *f = *state;
	systemd_tree(f, "cpu memory pids\n", "memory pids\n", "memory pids\n");
	error_is(f, CPUS,
		 "--cpus: your delegated cgroup /" USER " does not enable cpu for its children; enable it once with "
		 "'echo +cpu > /sys/fs/cgroup/" USER "/cgroup.subtree_control'");
	put(f, "sys/fs/cgroup/" USER "/cgroup.subtree_control", "");
	put(f, "sys/fs/cgroup/" USER "/app.slice/cgroup.subtree_control", "");
	error_is(f, ALL,
		 "--memory, --cpus and --pids: your delegated cgroup /" USER " does not enable memory, cpu and pids "
		 "for its children; enable them once with 'echo \"+memory +cpu +pids\" > /sys/fs/cgroup/" USER
		 "/cgroup.subtree_control'");
	/* and nothing was written on our behalf */
	char *sub = fpath(f, "sys/fs/cgroup/" USER "/cgroup.subtree_control");
	char *text = slurp(sub);
	assert_string_equal(text, "");
	free(text);
	free(sub);
}

static void test_delegated_leaf_with_processes(void **state)
{
	/* Only our own cgroup is ours, and we are in it. */
	struct fake *f = *state;
	put(f, "proc/self/cgroup", "0::/system.slice/agent.service\n");
	put(f, "proc/self/mountinfo", MI_V2);
	cg(f, "sys/fs/cgroup", "cpu memory pids\n", "cpu memory pids\n", "1\n");
	cg(f, "sys/fs/cgroup/system.slice", "cpu memory pids\n", "memory pids\n", "");
	cg(f, "sys/fs/cgroup/system.slice/agent.service", "memory pids\n", "", "500\n");
	lock(f, "sys/fs/cgroup/system.slice");
	lock(f, "sys/fs/cgroup");
	error_is(f, MEM,
		 "--memory: your delegated cgroup /system.slice/agent.service holds processes, and the kernel lets no "
		 "cgroup with processes enable memory for its children; move them into a child cgroup of it, then "
		 "enable memory in /sys/fs/cgroup/system.slice/agent.service/cgroup.subtree_control");
}

static void test_mount_point_escaped(void **state)
{
	struct fake *f = *state;
	put(f, "proc/self/cgroup", "0::/box/inner\n");
	put(f, "proc/self/mountinfo", MI_BASE "50 22 0:40 / /run/my\\040cgroup\\011tree rw - cgroup2 none rw\n");
	cg(f, "run/my cgroup\ttree", "memory pids\n", "memory\n", "1\n");
	cg(f, "run/my cgroup\ttree/box", "memory\n", "memory\n", "");
	cg(f, "run/my cgroup\ttree/box/inner", "memory\n", "", "9\n");
	lock(f, "run/my cgroup\ttree");
	parent_is(f, MEM, "run/my cgroup\ttree/box");
	error_is(f, PIDS,
		 "--pids: your delegated cgroup /box does not receive the pids controller from its parent (it has "
		 "only memory); ask for it when it is delegated (systemd: Delegate=yes)");
}

static void test_mount_root_not_slash(void **state)
{
	/* A container without a cgroup namespace, given its part of the host's tree as the mount. */
	struct fake *f = *state;
	put(f, "proc/self/cgroup", "0::/docker/abc/inner\n");
	put(f, "proc/self/mountinfo",
	    MI_BASE "60 22 0:22 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
		    "61 22 0:22 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
	cg(f, "sys/fs/cgroup", "memory pids\n", "memory pids\n", "");
	cg(f, "sys/fs/cgroup/inner", "memory pids\n", "", "1\n");
	parent_is(f, MEM_PIDS, "sys/fs/cgroup");
	/* a name that merely starts like the mount's root is outside it */
	put(f, "proc/self/cgroup", "0::/docker/abcdef\n");
	error_is(f, MEM,
		 "--memory: your cgroup /docker/abcdef is outside the cgroup2 filesystem mounted at /sys/fs/cgroup "
		 "(which shows /docker/abc)");
}

static void test_second_cgroup2_mount(void **state)
{
	/* Of two cgroup2 mounts, the one that shows our cgroup counts. */
	struct fake *f = *state;
	put(f, "proc/self/cgroup", "0::/a/b\n");
	put(f, "proc/self/mountinfo",
	    MI_BASE "60 22 0:22 /other /mnt/other rw - cgroup2 cgroup2 rw\n"
		    "61 22 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
	cg(f, "sys/fs/cgroup", "pids\n", "pids\n", "1\n");
	cg(f, "sys/fs/cgroup/a", "pids\n", "pids\n", "");
	cg(f, "sys/fs/cgroup/a/b", "pids\n", "", "3\n");
	parent_is(f, PIDS, "sys/fs/cgroup/a");
}

/* ---- creating and removing ---- */

static char *file_in(const char *dir, const char *name)
{
	char *p = xasprintf("%s/%s", dir, name);
	char *t = slurp(p);
	free(p);
	return t;
}

static void assert_file(const char *dir, const char *name, const char *want)
{
	char *t = file_in(dir, name);
	if (!t || strcmp(t, want) != 0)
		print_error("%s/%s: \"%s\", want \"%s\"\n", dir, name, t ? t : "(missing)", want);
	assert_non_null(t);
	assert_string_equal(t, want);
	free(t);
}

static void assert_no_file(const char *dir, const char *name)
{
	char *t = file_in(dir, name);
	assert_null(t);
}

/* The names in dir that start with "ajail-". */
static int count_jails(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += str_has_prefix(e->d_name, "ajail-");
	closedir(d);
	return n;
}

static void test_create_writes_limits(void **state)
{
	struct fake *f = *state;
	systemd_tree(f, "cpu memory pids\n", "cpu memory pids\n", "memory pids\n");
	struct aj_err err = { 0 };
	char *parent = NULL;
	assert_int_equal(cgroup_find_parent(f->root, &ALL, &parent, &err), 0);

	struct cgroup c = CGROUP_INIT;
	int r = cgroup_create(f->root, parent, &ALL, &c, &err);
	if (r)
		print_error("cgroup_create: %s\n", err.msg);
	assert_int_equal(r, 0);
	char *prefix = xasprintf("%s/ajail-%ld-", parent, (long)getpid());
	assert_true(str_has_prefix(c.path, prefix));
	free(prefix);
	assert_true(c.fake);

	/* the fd is the directory, as clone3 wants it */
	struct stat a, b;
	assert_int_equal(fstat(c.fd, &a), 0);
	assert_int_equal(stat(c.path, &b), 0);
	assert_true(S_ISDIR(a.st_mode));
	assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	assert_true(fcntl(c.fd, F_GETFD) & FD_CLOEXEC);

	assert_file(c.path, "memory.max", "1073741824");
	assert_file(c.path, "memory.swap.max", "0");
	assert_file(c.path, "cpu.max", "150000 100000");
	assert_file(c.path, "pids.max", "100");

	/* The jail was OOM-killed twice; the supervisor learns of it as it cleans up. */
	char *events = xasprintf("%s/memory.events", c.path);
	FILE *fp = fopen(events, "w");
	assert_non_null(fp);
	fputs("low 0\nhigh 0\nmax 17\noom 2\noom_kill 2\noom_group_kill 0\n", fp);
	fclose(fp);
	free(events);

	char *path = xstrdup(c.path);
	unsigned ooms = 99;
	assert_int_equal(cgroup_remove(&c, &ooms, &err), 0);
	assert_int_equal(ooms, 2);
	struct stat st;
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_null(c.path);
	assert_int_equal(c.fd, -1);
	assert_int_equal(count_jails(parent), 0);
	free(path);
	free(parent);
}

static void test_create_only_what_is_asked(void **state)
{
	struct fake *f = *state;
	cg(f, "sys/fs/cgroup/p", "cpu memory pids\n", "cpu memory pids\n", "");
	char *parent = fpath(f, "sys/fs/cgroup/p");
	struct aj_err err = { 0 };
	struct cgroup c = CGROUP_INIT;
	assert_int_equal(cgroup_create(f->root, parent, &PIDS, &c, &err), 0);
	assert_file(c.path, "pids.max", "100");
	assert_no_file(c.path, "memory.max");
	assert_no_file(c.path, "memory.swap.max");
	assert_no_file(c.path, "cpu.max");
	assert_int_equal(cgroup_remove(&c, NULL, &err), 0);

	const struct cg_limits quarter = { .cpus_milli = 250 };
	assert_int_equal(cgroup_create(f->root, parent, &quarter, &c, &err), 0);
	assert_file(c.path, "cpu.max", "25000 100000");
	assert_no_file(c.path, "pids.max");
	unsigned ooms = 5;
	assert_int_equal(cgroup_remove(&c, &ooms, &err), 0);
	assert_int_equal(ooms, 0); /* no memory.events: no memory controller, no OOM kills */

	const struct cg_limits big = { .memory = 3ull << 29, .cpus_milli = 4096000 };
	assert_int_equal(cgroup_create(f->root, parent, &big, &c, &err), 0);
	assert_file(c.path, "memory.max", "1610612736");
	assert_file(c.path, "cpu.max", "409600000 100000");
	assert_int_equal(cgroup_remove(&c, NULL, &err), 0);
	assert_int_equal(count_jails(parent), 0);
	free(parent);
}

static void test_create_skips_taken_names(void **state)
{
	struct fake *f = *state;
	cg(f, "sys/fs/cgroup/p", "pids\n", "pids\n", "");
	char *parent = fpath(f, "sys/fs/cgroup/p");
	struct aj_err err = { 0 };
	struct cgroup c = CGROUP_INIT;
	assert_int_equal(cgroup_create(f->root, parent, &PIDS, &c, &err), 0);
	unsigned n;
	char *stem = xasprintf("%s/ajail-%ld-", parent, (long)getpid());
	assert_true(str_has_prefix(c.path, stem));
	assert_int_equal(sscanf(c.path + strlen(stem), "%u", &n), 1);
	free(stem);
	assert_int_equal(cgroup_remove(&c, NULL, &err), 0);

	/* a killed run of a process with our pid left the next two names behind */
	for (unsigned i = 1; i <= 2; i++) {
		char *p = xasprintf("%s/ajail-%ld-%u", parent, (long)getpid(), n + i);
		assert_int_equal(mkdir(p, 0755), 0);
		free(p);
	}
	assert_int_equal(cgroup_create(f->root, parent, &PIDS, &c, &err), 0);
	char *expect = xasprintf("%s/ajail-%ld-%u", parent, (long)getpid(), n + 3);
	assert_string_equal(c.path, expect);
	free(expect);
	assert_int_equal(cgroup_remove(&c, NULL, &err), 0);
	assert_int_equal(count_jails(parent), 2);
	free(parent);
}

static void test_create_failures_leave_nothing(void **state)
{
	struct fake *f = *state;
	struct aj_err err = { 0 };
	struct cgroup c = CGROUP_INIT;
	char *missing = fpath(f, "sys/fs/cgroup/gone");
	assert_int_equal(cgroup_create(f->root, missing, &PIDS, &c, &err), -1);
	char *want = xasprintf("open cgroup %s: No such file or directory", missing);
	assert_string_equal(err.msg, want);
	free(want);
	free(missing);
	assert_null(c.path);
	assert_int_equal(c.fd, -1);

	/* In production (root "") the directory must be on cgroupfs: a plain one is refused, and the
	 * directory made for the jail is taken out again. */
	cg(f, "sys/fs/cgroup/p", "pids\n", "pids\n", "");
	char *parent = fpath(f, "sys/fs/cgroup/p");
	assert_int_equal(cgroup_create("", parent, &PIDS, &c, &err), -1);
	assert_true(str_has_prefix(err.msg, parent));
	assert_non_null(strstr(err.msg, " is not on a cgroup filesystem"));
	assert_null(c.path);
	assert_int_equal(c.fd, -1);
	assert_int_equal(count_jails(parent), 0);
	free(parent);
}

static void test_remove_nothing(void **state)
{
	struct fake *f = *state;
	struct aj_err err = { 0 };
	struct cgroup c = CGROUP_INIT;
	unsigned ooms = 3;
	assert_int_equal(cgroup_remove(&c, &ooms, &err), 0);
	assert_int_equal(ooms, 0);
	/* already gone (someone cleaned up after a crash): not an error */
	c.path = fpath(f, "sys/fs/cgroup/ajail-1-1");
	assert_int_equal(cgroup_remove(&c, NULL, &err), 0);
	assert_null(c.path);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_v2_delegated_found),
		T(test_v2_root_cgroup),
		T(test_hybrid_names_v1),
		T(test_v1_pids_parent),
		T(test_top_lacks_controller),
		T(test_no_cgroup2_mount),
		T(test_no_v2_line),
		T(test_no_proc),
		T(test_not_delegated),
		T(test_controller_not_received),
		T(test_controller_not_enabled),
		T(test_delegated_leaf_with_processes),
		T(test_mount_point_escaped),
		T(test_mount_root_not_slash),
		T(test_second_cgroup2_mount),
		T(test_create_writes_limits),
		T(test_create_only_what_is_asked),
		T(test_create_skips_taken_names),
		T(test_create_failures_leave_nothing),
		T(test_remove_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
