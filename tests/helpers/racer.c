/* racer — what a hostile jail does to the paths ajail is about to use: swaps them, as fast as it
 * can, for a given time. Static, so that it runs inside a jail on any rootfs (busybox included).
 *
 *   racer exchange A B MS     renameat2(A, B, RENAME_EXCHANGE) in a loop for MS milliseconds (A a
 *                             directory or file, B a symlink to a secret: every other moment A's
 *                             name holds the symlink)
 *   racer flip A B MS         the same with two plain renames (A -> B, B -> A), for filesystems
 *                             without RENAME_EXCHANGE
 *
 * Exits 0 after MS milliseconds, printing how many swaps it made; 1 on a bad argument or when not
 * one swap succeeded. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	if (argc != 5 || (strcmp(argv[1], "exchange") != 0 && strcmp(argv[1], "flip") != 0)) {
		fprintf(stderr, "usage: racer exchange|flip A B MS\n");
		return 1;
	}
	const char *a = argv[2], *b = argv[3];
	long long end = now_ms() + atoll(argv[4]);
	bool exchange = strcmp(argv[1], "exchange") == 0;
	unsigned long swaps = 0;
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.racer-tmp", a);
	while (now_ms() < end) {
		for (int i = 0; i < 1000; i++) {
			if (exchange) {
				if (syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) == 0)
					swaps++;
			} else if (rename(a, tmp) == 0) {
				if (rename(b, a) == 0 && rename(tmp, b) == 0)
					swaps++;
			}
		}
	}
	/* An even number of exchanges leaves the names as they were; make it so. */
	if (exchange && swaps % 2 && syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) == 0)
		swaps++;
	printf("%lu swaps\n", swaps);
	return swaps ? 0 : 1;
}
