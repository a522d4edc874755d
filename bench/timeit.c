/* bench/timeit.c — start-to-exit latency of several commands, measured side by side.
 *
 *   timeit [-n RUNS] [-w WARMUP] [-s SEP] SEP LABEL CMD [ARG...] [SEP LABEL CMD [ARG...]]...
 *
 * Contenders are separated by SEP (default "--"); the first word after each SEP is the contender's label,
 * the rest its command line (run with execvp, no shell). Use -s to pick another separator when a
 * command needs a literal "--":  timeit -s :: :: ajail ./ajail -q -- true :: bwrap bwrap ... true
 *
 * The contenders run interleaved: WARMUP rounds (default 3, not counted), then RUNS rounds (default 50);
 * in each round every contender runs once, so a slow phase of the machine (the disk after a large
 * delete, a cron job, frequency scaling) hits all of them alike. The order rotates from round to round
 * (A B C, B C A, C A B, ...) so that no contender always runs right after the same other one.
 *
 * One run is timed with CLOCK_MONOTONIC from just before fork() to just after waitpid() returns: what a
 * shell user waits for. The child's stdin, stdout and stderr are /dev/null. A run that exits non-zero
 * (or dies of a signal, or cannot be executed) stops everything: the run is repeated once with its
 * output shown, and timeit exits 1.
 *
 * Output, a markdown table: contender, median ms, p10 ms, p90 ms, and the ratio of each median to the
 * first contender's median.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct contender {
	const char *label;
	char **argv;   /* NULL-terminated, points into main's argv */
	double *ms;    /* RUNS samples */
};

static void usage(void)
{
	fprintf(stderr, "usage: timeit [-n RUNS] [-w WARMUP] [-s SEP] SEP LABEL CMD [ARG...] [SEP LABEL CMD...]...\n"
			"  e.g. timeit -n 50 -- ajail ./ajail -q --fs=bench true -- unshare unshare -Urmpf true\n");
	exit(2);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void print_cmd(FILE *f, char **argv)
{
	for (char **a = argv; *a; a++)
		fprintf(f, "%s%s", a == argv ? "" : " ", *a);
}

/* Run argv once; *status gets the waitpid status. quiet: stdin/stdout/stderr to /dev/null. */
static double run_once(char **argv, int devnull, int quiet, int *status)
{
	double t0 = now_ms();
	pid_t pid = fork();
	if (pid < 0) {
		perror("timeit: fork");
		exit(1);
	}
	if (pid == 0) {
		dup2(devnull, 0);
		if (quiet) {
			dup2(devnull, 1);
			dup2(devnull, 2);
		}
		execvp(argv[0], argv);
		/* Invisible when quiet; the parent then runs the command again with its output shown. */
		fprintf(stderr, "timeit: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, status, 0) < 0) {
		if (errno != EINTR) {
			perror("timeit: waitpid");
			exit(1);
		}
	}
	return now_ms() - t0;
}

static void describe_status(FILE *f, int status)
{
	if (WIFEXITED(status))
		fprintf(f, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		fprintf(f, "was killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		fprintf(f, "ended with wait status 0x%x", status);
}

static void run_checked(struct contender *c, int devnull, const char *phase, int round, double *ms)
{
	int status;
	double t = run_once(c->argv, devnull, 1, &status);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (ms)
			*ms = t;
		return;
	}
	fprintf(stderr, "timeit: contender '%s' (", c->label);
	print_cmd(stderr, c->argv);
	fprintf(stderr, ") ");
	describe_status(stderr, status);
	fprintf(stderr, " in %s round %d. Running it once more with its output shown:\n", phase, round + 1);
	fflush(stderr);
	run_once(c->argv, devnull, 0, &status);
	fprintf(stderr, "timeit: ... and this time it ");
	describe_status(stderr, status);
	fprintf(stderr, ".\n");
	exit(1);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* p-th percentile (0..100) of sorted v[0..n-1], linear interpolation between closest ranks. */
static double percentile(const double *v, int n, double p)
{
	double pos = p / 100.0 * (n - 1);
	int lo = (int)pos;
	if (lo >= n - 1)
		return v[n - 1];
	return v[lo] + (pos - lo) * (v[lo + 1] - v[lo]);
}

static int parse_count(const char *s, int min)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > 1000000)
		usage();
	return (int)v;
}

int main(int argc, char **argv)
{
	int runs = 50, warmup = 3, opt;
	const char *sep = "--";
	/* '+': stop at the first word that is not an option of ours (the separator). */
	while ((opt = getopt(argc, argv, "+n:w:s:h")) != -1) {
		switch (opt) {
		case 'n': runs = parse_count(optarg, 1); break;
		case 'w': warmup = parse_count(optarg, 0); break;
		case 's': sep = optarg; break;
		default: usage();
		}
	}
	/* getopt consumes a "--" that ends its options: that "--" was the first separator. */
	int i = optind;
	if (i < argc && strcmp(argv[i], sep) == 0)
		i++;
	else if (!(i > 1 && strcmp(sep, "--") == 0 && strcmp(argv[i - 1], "--") == 0))
		usage();

	struct contender *cs = calloc((size_t)argc, sizeof *cs);
	int n = 0;
	while (i < argc) {
		int start = i;
		while (i < argc && strcmp(argv[i], sep) != 0)
			i++;
		if (i - start < 2) {
			fprintf(stderr, "timeit: each contender needs a label and a command\n");
			usage();
		}
		cs[n].label = argv[start];
		cs[n].argv = &argv[start + 1];
		cs[n].ms = calloc((size_t)runs, sizeof(double));
		n++;
		if (i < argc) {
			argv[i] = NULL; /* terminates the previous contender's argv */
			i++;
		}
	}
	if (n == 0)
		usage();

	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0) {
		perror("timeit: /dev/null");
		return 1;
	}

	for (int r = 0; r < warmup; r++)
		for (int k = 0; k < n; k++)
			run_checked(&cs[(r + k) % n], devnull, "warm-up", r, NULL);
	for (int r = 0; r < runs; r++)
		for (int k = 0; k < n; k++) {
			struct contender *c = &cs[(r + k) % n];
			run_checked(c, devnull, "timed", r, &c->ms[r]);
		}

	int width = (int)strlen("contender");
	for (int k = 0; k < n; k++)
		if ((int)strlen(cs[k].label) > width)
			width = (int)strlen(cs[k].label);

	double base = 0;
	printf("| %-*s | median ms | p10 ms | p90 ms | ratio |\n", width, "contender");
	printf("|");
	for (int k = 0; k < width + 2; k++)
		putchar('-');
	printf("|----------:|-------:|-------:|------:|\n");
	for (int k = 0; k < n; k++) {
		qsort(cs[k].ms, (size_t)runs, sizeof(double), cmp_double);
		double med = percentile(cs[k].ms, runs, 50);
		if (k == 0)
			base = med;
		printf("| %-*s | %9.2f | %6.2f | %6.2f | %5.2f |\n", width, cs[k].label, med,
		       percentile(cs[k].ms, runs, 10), percentile(cs[k].ms, runs, 90), base > 0 ? med / base : 0);
	}
	printf("\n%d timed runs per contender (after %d warm-up rounds), interleaved.\n", runs, warmup);
	return 0;
}
