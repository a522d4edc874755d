#include "tty.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

unsigned tty_detect(void)
{
	if (!isatty(STDIN_FILENO) || tcgetpgrp(STDIN_FILENO) != getpgrp())
		return 0;
	unsigned fds = 0;
	for (int fd = 0; fd < 3; fd++)
		if (isatty(fd))
			fds |= 1u << fd;
	return fds;
}

/* After the jail, how long a terminal may take nothing before the rest of its output is dropped. */
#define FINISH_STALL_MS 1000
/* Without a description of our own, writes block: keep each one small. */
#define BLOCKING_CHUNK 4096

void tty_relay_init(struct tty_relay *t, unsigned fds)
{
	memset(t, 0, sizeof *t);
	t->fds = fds;
	t->master = -1;
	t->wfd = -1;
	t->slot_master = t->slot_in = t->slot_out = -1;
	t->term = STDIN_FILENO;
	t->out = fds & 2 ? STDOUT_FILENO : fds & 4 ? STDERR_FILENO : STDIN_FILENO;
	t->have_termios = tcgetattr(t->term, &t->saved) == 0;
	if (ioctl(t->term, TIOCGWINSZ, &t->ws) < 0)
		memset(&t->ws, 0, sizeof t->ws);
}

/* A non-blocking description of out's terminal that is ours alone. O_NONBLOCK belongs to the open
 * file description, which fds 0..2 share with the user's shell: set there, an ajail killed before it
 * cleared it would leave the shell's terminal non-blocking. Opening the terminal again makes a new
 * description: through /proc, or through /dev/tty when that is the same terminal (it needs no
 * permission on the device, which a user that `sudo -u` or `su` made lacks). -1 when neither works. */
static int open_private_out(int out)
{
	struct stat want, st;
	if (fstat(out, &want) < 0 || !S_ISCHR(want.st_mode))
		return -1;
	char proc[32];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", out);
	const char *paths[] = { proc, "/dev/tty" };
	for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
		int fd = open(paths[i], O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == want.st_rdev)
			return fd;
		close(fd);
	}
	return -1;
}

int tty_relay_start(struct tty_relay *t, int master, struct aj_err *err)
{
	int fl = fcntl(master, F_GETFL);
	if (fl < 0 || fcntl(master, F_SETFL, fl | O_NONBLOCK) < 0)
		return aj_fail(err, errno, "pty"); /* the caller closes master */
	t->master = master;
	/* Opened only now, after the clone: the jail never holds a descriptor of the user's terminal. */
	t->wfd = open_private_out(t->out);
	t->wfd_blocks = t->wfd < 0;
	if (t->wfd_blocks)
		t->wfd = t->out;
	t->obuf = xmalloc(TTY_RELAY_OBUF);
	t->olen = t->ooff = 0;
	if (t->have_termios) {
		struct termios raw = t->saved;
		cfmakeraw(&raw);
		if (tcsetattr(t->term, TCSADRAIN, &raw) == 0)
			t->raw = true;
	}
	return 0;
}

static size_t out_pending(const struct tty_relay *t)
{
	return t->olen - t->ooff;
}

size_t tty_relay_pollfds(struct tty_relay *t, struct pollfd *pfds)
{
	size_t n = 0;
	t->slot_master = t->slot_in = t->slot_out = -1;
	if (t->master >= 0) {
		/* No room: the master is left alone, and the jail waits in its write() (backpressure). A
		 * master that hung up would report it on every poll, reading it or not. */
		short ev = (out_pending(t) < TTY_RELAY_OBUF ? POLLIN : 0) | (t->ilen > t->ioff ? POLLOUT : 0);
		if (t->master_hup)
			ev &= POLLIN;
		if (ev) {
			t->slot_master = (int)n;
			pfds[n++] = (struct pollfd){ .fd = t->master, .events = ev };
		}
		if (!t->in_eof && t->ilen == t->ioff) {
			t->slot_in = (int)n;
			pfds[n++] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
		}
	}
	if (out_pending(t)) {
		t->slot_out = (int)n;
		pfds[n++] = (struct pollfd){ .fd = t->wfd, .events = POLLOUT };
	}
	return n;
}

/* One read of the master into the room left. >0: bytes read; 0: nothing for now; -1: the jail's
 * side is closed (EIO once every descriptor of the slave is), the master is done with. */
static ssize_t read_master(struct tty_relay *t)
{
	if (t->ooff) {
		memmove(t->obuf, t->obuf + t->ooff, out_pending(t));
		t->olen -= t->ooff;
		t->ooff = 0;
	}
	t->master_hup = false;
	ssize_t r = read(t->master, t->obuf + t->olen, TTY_RELAY_OBUF - t->olen);
	if (r > 0) {
		t->olen += (size_t)r;
		return r;
	}
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	return -1;
}

static void close_master(struct tty_relay *t)
{
	close(t->master);
	t->master = -1;
	t->ilen = t->ioff = 0;
}

/* One write of what is pending, as much as the terminal takes; true when it took some. */
static bool write_out(struct tty_relay *t)
{
	size_t n = out_pending(t);
	if (!n)
		return false;
	if (t->wfd_blocks && n > BLOCKING_CHUNK)
		n = BLOCKING_CHUNK;
	ssize_t w = write(t->wfd, t->obuf + t->ooff, n);
	if (w < 0 && errno != EAGAIN && errno != EINTR)
		w = (ssize_t)out_pending(t); /* the terminal is gone (hung up): nobody will read this */
	if (w <= 0)
		return false;
	t->ooff += (size_t)w;
	if (t->ooff == t->olen)
		t->ooff = t->olen = 0;
	return true;
}

static void write_in(struct tty_relay *t)
{
	if (t->ilen == t->ioff)
		return;
	ssize_t w = write(t->master, t->ibuf + t->ioff, t->ilen - t->ioff);
	if (w > 0)
		t->ioff += (size_t)w;
	else if (w < 0 && errno != EAGAIN && errno != EINTR)
		t->ioff = t->ilen;
	if (t->ioff == t->ilen)
		t->ioff = t->ilen = 0;
}

void tty_relay_handle(struct tty_relay *t, const struct pollfd *pfds, size_t n)
{
	if (t->slot_master >= 0 && (size_t)t->slot_master < n && t->master >= 0) {
		short re = pfds[t->slot_master].revents;
		if (re & (POLLIN | POLLHUP | POLLERR)) {
			if (out_pending(t) == TTY_RELAY_OBUF)
				t->master_hup = true;
			else if (read_master(t) < 0)
				close_master(t);
		}
		if (t->master >= 0 && (re & POLLOUT))
			write_in(t);
	}
	if (t->slot_in >= 0 && (size_t)t->slot_in < n && pfds[t->slot_in].revents && t->master >= 0) {
		ssize_t r = read(STDIN_FILENO, t->ibuf, sizeof t->ibuf);
		if (r > 0) {
			t->ilen = (size_t)r;
			t->ioff = 0;
			write_in(t); /* most often the master takes it now: no round waits for POLLOUT */
		} else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
			t->in_eof = true;
		}
	}
	/* Also right after a read: a terminal that keeps up gets the output this round. */
	if ((t->slot_out >= 0 && (size_t)t->slot_out < n && pfds[t->slot_out].revents) ||
	    (!t->wfd_blocks && out_pending(t)))
		write_out(t);
	t->slot_master = t->slot_in = t->slot_out = -1;
}

void tty_relay_winch(struct tty_relay *t)
{
	struct winsize ws;
	if (t->master >= 0 && ioctl(t->term, TIOCGWINSZ, &ws) == 0)
		ioctl(t->master, TIOCSWINSZ, &ws);
}

static long ms_since(const struct timespec *a)
{
	struct timespec b;
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

static bool writable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	return poll(&p, 1, timeout_ms) > 0;
}

/* The jail is gone, so all it wrote is in the master already (a read that finds nothing waits for
 * the pty's pending transfer first): read to the end, write while the terminal takes it. Gives up
 * once the terminal has taken nothing for FINISH_STALL_MS. True when everything was written. */
static bool drain(struct tty_relay *t)
{
	struct timespec last;
	clock_gettime(CLOCK_MONOTONIC, &last);
	for (;;) {
		bool progress = false;
		if (t->master >= 0 && out_pending(t) < TTY_RELAY_OBUF) {
			ssize_t r = read_master(t);
			if (r > 0)
				progress = true;
			else if (r < 0 || errno != EINTR)
				close_master(t); /* EIO, or EAGAIN: a slave held outside the jail keeps no one here */
		}
		if (out_pending(t) && (!t->wfd_blocks || writable(t->wfd, 0)) && write_out(t))
			progress = true;
		if (t->master < 0 && !out_pending(t))
			return true;
		if (progress) {
			clock_gettime(CLOCK_MONOTONIC, &last);
			continue;
		}
		long left = FINISH_STALL_MS - ms_since(&last);
		if (left <= 0)
			return false;
		writable(t->wfd, (int)left);
	}
}

void tty_relay_finish(struct tty_relay *t)
{
	bool drained = true;
	if (t->obuf)
		drained = drain(t);
	if (t->master >= 0)
		close_master(t);
	if (t->wfd >= 0 && !t->wfd_blocks)
		close(t->wfd);
	t->wfd = -1;
	free(t->obuf);
	t->obuf = NULL;
	t->olen = t->ooff = 0;
	if (t->raw) {
		/* After giving up, TCSADRAIN would wait for the very output the terminal does not take. */
		tcsetattr(t->term, drained ? TCSADRAIN : TCSANOW, &t->saved);
		t->raw = false;
	}
}
