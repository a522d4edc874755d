/* proxy.h — the network of an --allow-net jail: ajail's filtering proxy, and --publish.
 *
 * Sockets belong to the network namespace they were made in, whoever holds them later. So the
 * jail's side (proxy_jail_side, run by the jail's first process in its new namespace, before the
 * command) makes the listening sockets there: the proxy's HTTP and SOCKS5 ports, one per
 * localhost:PORT rule and one per keygate (plan.h's struct plan_keygate), on 127.0.0.1; it sends them over a unix socket to the proxy process, which
 * ajail forked in the host's namespace (proxy_start). The proxy accepts on them, checks each request
 * against the allow-list before any lookup (netpolicy.h), and connects from the host's namespace:
 * nothing runs as a daemon, nothing outlives the jail, and the jail has no route out but the proxy.
 * --publish goes the other way: the proxy listens on the host's 127.0.0.1:HOSTPORT, and a
 * "socket maker" left in the jail's namespace hands it a fresh socket of that namespace for each
 * connection, which the proxy connects to the jail's 127.0.0.1:PORT.
 *
 * Everything the proxy reads from the jail is hostile (proxy_wire.h parses it): it bounds every
 * read in size and time, caps concurrent connections, and runs confined (harden_confine_net). */
#ifndef AJAIL_PROXY_H
#define AJAIL_PROXY_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "plan.h"

/* Connections served at once; more are refused at once (and logged), never queued without end. */
#define PROXY_MAX_CONNS 512

struct proxy {
	pid_t pid;  /* the proxy process, or -1 */
	int ctl;    /* closing it asks the proxy to finish */
	int result; /* where it writes its summary line as it finishes */
};
#define PROXY_INIT { .pid = -1, .ctl = -1, .result = -1 }

/* In the supervisor, before the jail starts: open --net-log, listen on the host's ports of
 * --publish (an error if one is taken), and fork the proxy process, which takes the jail's end of
 * jail_sock's traffic on `sock` (the supervisor's end of a SOCK_SEQPACKET pair; it stays open here
 * and is closed by the caller). quiet, verbose: as -q and -v (-v prints each decision on stderr,
 * with "\r\n" when crlf: the terminal is raw while a pty is relayed). */
int proxy_start(const struct plan *p, int sock, bool crlf, struct proxy *px, struct aj_err *err);

/* After the jail is gone: ask the proxy to finish, wait for it (at most two seconds, then it is
 * killed), and return its summary ("14 connections to 3 hosts; denied: 2 (evil.example.com,
 * 169.254.169.254)"), or NULL when there is none. Caller frees. Safe on PROXY_INIT. */
char *proxy_finish(struct proxy *px);

/* In the jail's first process, in its new network namespace, before the command: make the
 * listening sockets of plan_net and send them over sock; then, with --publish, fork the socket
 * maker, which serves sock until the supervisor's end closes. Closes sock. */
int proxy_jail_side(const struct plan_net *n, int sock, struct aj_err *err);

#endif
