/* tty.h — the jail's own terminal. When ajail runs in the foreground of a terminal, the command gets
 * a pty from the jail's devpts instead of the host's terminal, and the supervisor relays bytes
 * between the two. Job control works inside (the pty is the command's controlling terminal), and
 * the jail never holds a descriptor of the host's terminal, so TIOCSTI cannot type into it.
 * The supervisor side (this file) makes syscalls on the caller's terminal only. */
#ifndef AJAIL_TTY_H
#define AJAIL_TTY_H

#include <stdbool.h>
#include <stddef.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "error.h"

struct tty_relay {
	unsigned fds;       /* which of 0, 1, 2 are the terminal */
	int term;           /* the host terminal's fd we read settings from */
	int out;            /* where the jail's output goes */
	int master;         /* the jail's pty master, once received; -1 before */
	bool raw;           /* the host terminal is in raw mode (restore at the end) */
	bool have_termios;
	struct termios saved;
	struct winsize ws;
	char buf[4096];     /* input not yet written to the master */
	size_t len, off;
	bool in_eof;
};

/* Which of fds 0..2 are a terminal in whose foreground we run; 0 when stdin is not one (then no pty
 * is used: reading a terminal from the background would stop us). */
unsigned tty_detect(void);

/* Capture the terminal's settings and size before the jail starts (the jail copies them onto its
 * pty, so the command starts with the user's erase character and window size). */
void tty_relay_init(struct tty_relay *t, unsigned fds);
/* Take the master from the jail and put the host terminal in raw mode: from now on every key goes
 * to the jail's pty, whose own line discipline makes ^C a SIGINT for the jail's foreground job. */
int tty_relay_start(struct tty_relay *t, int master, struct aj_err *err);
/* poll() plumbing: fill up to two pollfds; handle their events. Returns false when nothing is left
 * to relay. */
size_t tty_relay_pollfds(struct tty_relay *t, struct pollfd *pfds);
void tty_relay_handle(struct tty_relay *t, const struct pollfd *pfds, size_t n);
/* The terminal was resized: pass the new size on. */
void tty_relay_winch(struct tty_relay *t);
/* Copy what the jail still has to say, then restore the terminal. Safe to call more than once. */
void tty_relay_finish(struct tty_relay *t);

#endif
