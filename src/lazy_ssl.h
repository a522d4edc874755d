/* lazy_ssl.h — OpenSSL's libssl, loaded when a keygate's upstream is https://.
 *
 * The run path links no TLS library: most jails never need one, and libssl with libcrypto costs
 * relocations at every exec. The proxy's keygate (proxy.c) is the only user; the supervisor loads
 * the library before it forks the proxy, so a missing libssl is a one-line error before the jail
 * starts, and the proxy has it mapped before it confines itself. Each function keeps its exact type
 * through __typeof__ of OpenSSL's own declaration; OpenSSL's macros (SSL_set_tlsext_host_name,
 * SSL_CTX_set_min_proto_version, SSL_set_mode) are spelled through SSL_ctrl/SSL_CTX_ctrl, as the
 * headers define them. */
#ifndef AJAIL_LAZY_SSL_H
#define AJAIL_LAZY_SSL_H

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "error.h"

#define LAZY_SSL_FUNCS(X) \
	X(ERR_clear_error) \
	X(ERR_error_string_n) \
	X(ERR_get_error) \
	X(SSL_CTX_ctrl) \
	X(SSL_CTX_free) \
	X(SSL_CTX_new) \
	X(SSL_CTX_set_default_verify_paths) \
	X(SSL_CTX_set_options) \
	X(SSL_CTX_set_verify) \
	X(SSL_connect) \
	X(SSL_ctrl) \
	X(SSL_free) \
	X(SSL_get0_param) \
	X(SSL_get_error) \
	X(SSL_get_verify_result) \
	X(SSL_new) \
	X(SSL_read) \
	X(SSL_set1_host) \
	X(SSL_set_fd) \
	X(SSL_shutdown) \
	X(SSL_write) \
	X(TLS_client_method) \
	X(X509_VERIFY_PARAM_set1_ip_asc) \
	X(X509_verify_cert_error_string)

struct lazy_ssl {
#define LAZY_SSL_FIELD(f) __typeof__(f) *f;
	LAZY_SSL_FUNCS(LAZY_SSL_FIELD)
#undef LAZY_SSL_FIELD
};

extern struct lazy_ssl lazy_ssl;

/* Load libssl.so.3 (and libcrypto behind it) once; -1 with err set when it is not installed or
 * lacks a function. Makes syscalls (dlopen). */
int lazy_ssl_load(struct aj_err *err);

/* A call through the table: LS(SSL_new)(ctx). */
#define LS(f) (lazy_ssl.f)

#endif
