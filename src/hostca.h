/* hostca.h — where the host keeps its bundle of trusted CA certificates (PEM), for a process that
 * must reach the network from a rootfs that does not trust the same CAs (a TLS-intercepting proxy
 * whose CA only the host knows): `ajail fs build` hands it to the builder as $AJAIL_HOST_CA.
 *
 * Pure but for a stat(), an access(R_OK) and a realpath() per candidate: reads no file, changes
 * nothing. */
#ifndef AJAIL_HOSTCA_H
#define AJAIL_HOSTCA_H

/* The first of these that is a regular file (after symlinks) the caller can read:
 *   $SSL_CERT_FILE from env (an environ-style NULL-terminated "NAME=value" array; NULL for none),
 *     when set, absolute, and free of symlinks (it may be where a jail writes),
 *   /etc/ssl/certs/ca-certificates.crt   (Debian, Ubuntu, Alpine, Arch)
 *   /etc/pki/tls/certs/ca-bundle.crt     (Fedora, RHEL)
 *   /etc/ssl/ca-bundle.pem               (openSUSE)
 *   /etc/ssl/cert.pem                    (Alpine, macOS-like layouts)
 * The result points into env or at a string literal: never free it; valid as long as env is. NULL
 * when there is none. */
const char *hostca_path(char *const *env);

#endif
