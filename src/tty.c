#include "tty.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
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

void tty_relay_init(struct tty_relay *t, unsigned fds)
{
	memset(t, 0, sizeof *t);
	t->fds = fds;
	t->master = -1;
	t->term = STDIN_FILENO;
	t->out = fds & 2 ? STDOUT_FILENO : fds & 4 ? STDERR_FILENO : STDIN_FILENO;
	t->have_termios = tcgetattr(t->term, &t->saved) == 0;
	if (ioctl(t->term, TIOCGWINSZ, &t->ws) < 0)
		memset(&t->ws, 0, sizeof t->ws);
}

int tty_relay_start(struct tty_relay *t, int master, struct aj_err *err)
{
	t->master = master;
	int fl = fcntl(master, F_GETFL);
	if (fl < 0 || fcntl(master, F_SETFL, fl | O_NONBLOCK) < 0)
		return aj_fail(err, errno, "pty");
	if (t->have_termios) {
		struct termios raw = t->saved;
		cfmakeraw(&raw);
		if (tcsetattr(t->term, TCSADRAIN, &raw) == 0)
			t->raw = true;
	}
	return 0;
}

size_t tty_relay_pollfds(struct tty_relay *t, struct pollfd *pfds)
{
	size_t n = 0;
	if (t->master < 0)
		return 0;
	pfds[n++] = (struct pollfd){ .fd = t->master, .events = POLLIN | (t->len > t->off ? POLLOUT : 0) };
	if (!t->in_eof && t->len == t->off)
		pfds[n++] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
	return n;
}

static void write_all(int fd, const char *b, size_t n)
{
	while (n) {
		ssize_t w = write(fd, b, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd p = { .fd = fd, .events = POLLOUT };
				poll(&p, 1, 100);
				continue;
			}
			return;
		}
		b += w;
		n -= (size_t)w;
	}
}

/* Returns false when the master has nothing more (all of the jail's ends are closed). */
static bool pump_output(struct tty_relay *t)
{
	char b[8192];
	for (;;) {
		ssize_t n = read(t->master, b, sizeof b);
		if (n > 0) {
			write_all(t->out, b, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 && errno == EAGAIN;
	}
}

void tty_relay_handle(struct tty_relay *t, const struct pollfd *pfds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!pfds[i].revents)
			continue;
		if (pfds[i].fd == t->master) {
			if ((pfds[i].revents & (POLLIN | POLLHUP | POLLERR)) && !pump_output(t)) {
				close(t->master);
				t->master = -1;
				return;
			}
			if ((pfds[i].revents & POLLOUT) && t->len > t->off) {
				ssize_t w = write(t->master, t->buf + t->off, t->len - t->off);
				if (w > 0)
					t->off += (size_t)w;
				if (t->off == t->len)
					t->off = t->len = 0;
			}
		} else if (pfds[i].fd == STDIN_FILENO) {
			ssize_t r = read(STDIN_FILENO, t->buf, sizeof t->buf);
			if (r > 0)
				t->len = (size_t)r;
			else if (r == 0 || (errno != EINTR && errno != EAGAIN))
				t->in_eof = true;
		}
	}
}

void tty_relay_winch(struct tty_relay *t)
{
	struct winsize ws;
	if (t->master >= 0 && ioctl(t->term, TIOCGWINSZ, &ws) == 0)
		ioctl(t->master, TIOCSWINSZ, &ws);
}

void tty_relay_finish(struct tty_relay *t)
{
	if (t->master >= 0) {
		pump_output(t);
		close(t->master);
		t->master = -1;
	}
	if (t->raw) {
		tcsetattr(t->term, TCSADRAIN, &t->saved);
		t->raw = false;
	}
}
