/* fdpass.h — file descriptors over a unix socket (SCM_RIGHTS), with a one-byte tag: how the jail's
 * first process hands ajail its pty and the network's sockets, and the socket maker its sockets.
 * Each message is one byte and up to FDPASS_MAX descriptors. */
#ifndef AJAIL_FDPASS_H
#define AJAIL_FDPASS_H

#include <stddef.h>
#include <sys/types.h>

#define FDPASS_MAX 64

/* Send tag and fds[0..n). 0, or -1 with errno. */
int fdpass_send(int sock, char tag, const int *fds, size_t n);

/* Receive one message: its tag in *tag, its descriptors (close-on-exec) in fds[0..max). Returns how
 * many, or -1 on an error or end of file. Descriptors beyond max, or in any other kind of control
 * message, are closed: a sender cannot leave this process holding what it did not ask for. */
ssize_t fdpass_recv(int sock, char *tag, int *fds, size_t max);

#endif
