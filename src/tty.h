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

/* How many pollfds tty_relay_pollfds may fill: the master, the user's keys, the terminal's output. */
#define TTY_RELAY_POLLFDS 3
/* The most of the jail's output the supervisor holds for a terminal that does not keep up. */
#define TTY_RELAY_OBUF (64 * 1024)

/* Every round of the relay does a bounded amount of work and never blocks on the user's terminal:
 * one read of the master into a bounded buffer, one write of what the terminal takes. While the
 * buffer is full the master is not read, so a jail that floods a slow terminal waits in its own
 * write(), and the supervisor still reads the user's keys (^C is one) and its signals every round. */
struct tty_relay {
	unsigned fds;       /* which of 0, 1, 2 are the terminal */
	int term;           /* the host terminal's fd we read settings from */
	int out;            /* where the jail's output goes */
	int wfd;            /* what we write out through: a non-blocking description of our own of the
			     * same terminal, or out itself (blocking) when none could be opened; -1 before */
	bool wfd_blocks;    /* wfd is out: O_NONBLOCK there would be shared with the user's shell */
	int master;         /* the jail's pty master, once received; -1 before and after */
	bool master_hup;    /* it hung up while we had no room to read it: leave it until there is */
	bool raw;           /* the host terminal is in raw mode (restore at the end) */
	bool have_termios;
	struct termios saved;
	struct winsize ws;
	char ibuf[4096];    /* the user's keys not yet written to the master */
	size_t ilen, ioff;
	bool in_eof;
	char *obuf;         /* the jail's output not yet taken by the terminal: [ooff, olen) of
			     * TTY_RELAY_OBUF bytes; allocated by tty_relay_start, freed by finish */
	size_t olen, ooff;
	int slot_master, slot_in, slot_out; /* where tty_relay_pollfds put each, or -1 */
};

/* Which of fds 0..2 are a terminal in whose foreground we run; 0 when stdin is not one (then no pty
 * is used: reading a terminal from the background would stop us). */
unsigned tty_detect(void);

/* Capture the terminal's settings and size before the jail starts (the jail copies them onto its
 * pty, so the command starts with the user's erase character and window size). */
void tty_relay_init(struct tty_relay *t, unsigned fds);
/* Take the master from the jail and put the host terminal in raw mode: from now on every key goes
 * to the jail's pty, whose own line discipline makes ^C a SIGINT for the jail's foreground job.
 * Output goes through a non-blocking description of the terminal opened here, after the clone, so
 * the user's shell never sees O_NONBLOCK and the jail never sees the descriptor. */
int tty_relay_start(struct tty_relay *t, int master, struct aj_err *err);
/* poll() plumbing: fill up to TTY_RELAY_POLLFDS pollfds (none once there is nothing left to
 * relay); after poll(), hand the same array back to handle their events. Neither blocks, unless
 * the terminal could not be opened again (then writes to it may, as they must not be made
 * non-blocking). */
size_t tty_relay_pollfds(struct tty_relay *t, struct pollfd *pfds);
void tty_relay_handle(struct tty_relay *t, const struct pollfd *pfds, size_t n);
/* The terminal was resized: pass the new size on. */
void tty_relay_winch(struct tty_relay *t);
/* After the jail: copy what it still has to say, giving up once the terminal has taken nothing for
 * a second, then restore the terminal's settings. Safe to call more than once. */
void tty_relay_finish(struct tty_relay *t);

#endif
