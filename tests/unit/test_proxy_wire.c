/* Unit tests for proxy_wire.c: the HTTP proxy head, SOCKS5 and the TLS ClientHello's server name,
 * each fed byte by byte (every prefix of a valid input is NEED_MORE), and every refusal the header
 * promises. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_wire.h"

/* Real ClientHellos, made on Debian 12 with OpenSSL 3.0: the first three by Python's ssl module
 * (a MemoryBIO handshake with server_hostname "Example.COM", None, and "www.example.org" with TLS
 * 1.2 at most), the last by `openssl s_client -tls1_3 -groups ffdhe8192:X25519 -servername
 * big.example.net` against a listener that kept the first record: its key_share holds a 1024-byte
 * ffdhe8192 share. */
static const uint8_t hello_sni[] = {
	0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x0e, 0x37, 0x3f, 0xb8, 0xb9,
	0x12, 0xe9, 0xf4, 0xd2, 0xbe, 0x4d, 0xdb, 0xb4, 0xe2, 0x5c, 0x05, 0x79, 0x8b, 0x47, 0x97, 0x3d,
	0x40, 0xe1, 0x84, 0x90, 0x3e, 0x8f, 0xdc, 0x58, 0xf7, 0x02, 0x44, 0x20, 0x42, 0x06, 0xb2, 0xdd,
	0x54, 0x62, 0xde, 0xa5, 0x34, 0x2c, 0x0f, 0xc9, 0xb7, 0x32, 0x2e, 0xf5, 0x77, 0x40, 0x87, 0xe0,
	0x28, 0x43, 0x01, 0x14, 0x24, 0x11, 0xe3, 0x72, 0x10, 0xce, 0x60, 0xd1, 0x00, 0x24, 0x13, 0x02,
	0x13, 0x03, 0x13, 0x01, 0xc0, 0x2c, 0xc0, 0x30, 0xc0, 0x2b, 0xc0, 0x2f, 0xcc, 0xa9, 0xcc, 0xa8,
	0xc0, 0x24, 0xc0, 0x28, 0xc0, 0x23, 0xc0, 0x27, 0x00, 0x9f, 0x00, 0x9e, 0x00, 0x6b, 0x00, 0x67,
	0x00, 0xff, 0x01, 0x00, 0x01, 0x8f, 0x00, 0x00, 0x00, 0x10, 0x00, 0x0e, 0x00, 0x00, 0x0b, 0x45,
	0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x43, 0x4f, 0x4d, 0x00, 0x0b, 0x00, 0x04, 0x03, 0x00,
	0x01, 0x02, 0x00, 0x0a, 0x00, 0x16, 0x00, 0x14, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x1e, 0x00, 0x19,
	0x00, 0x18, 0x01, 0x00, 0x01, 0x01, 0x01, 0x02, 0x01, 0x03, 0x01, 0x04, 0x00, 0x23, 0x00, 0x00,
	0x00, 0x16, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x2a, 0x00, 0x28, 0x04, 0x03,
	0x05, 0x03, 0x06, 0x03, 0x08, 0x07, 0x08, 0x08, 0x08, 0x09, 0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04,
	0x08, 0x05, 0x08, 0x06, 0x04, 0x01, 0x05, 0x01, 0x06, 0x01, 0x03, 0x03, 0x03, 0x01, 0x03, 0x02,
	0x04, 0x02, 0x05, 0x02, 0x06, 0x02, 0x00, 0x2b, 0x00, 0x05, 0x04, 0x03, 0x04, 0x03, 0x03, 0x00,
	0x2d, 0x00, 0x02, 0x01, 0x01, 0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20, 0x13,
	0x98, 0x8f, 0x5f, 0x2b, 0xa4, 0x47, 0x75, 0x65, 0xf0, 0xbe, 0x78, 0xba, 0x2a, 0x50, 0x64, 0x63,
	0x12, 0x8d, 0xe6, 0xa8, 0x8c, 0x08, 0xa3, 0xde, 0x92, 0xe8, 0x33, 0x38, 0x5d, 0x86, 0x5e, 0x00,
	0x15, 0x00, 0xe2, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t hello_nosni[] = {
	0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x06, 0x49, 0xf5, 0xb4, 0x69,
	0xea, 0xd9, 0x69, 0x8a, 0x95, 0xf0, 0xe7, 0x62, 0xe5, 0xcc, 0x2e, 0x5d, 0x11, 0xe6, 0x17, 0x75,
	0x16, 0x3a, 0xfa, 0x0a, 0xe3, 0x78, 0x26, 0x1e, 0x28, 0xa1, 0x76, 0x20, 0x59, 0x6b, 0x98, 0x7f,
	0x70, 0xef, 0xb5, 0xd4, 0x2a, 0x99, 0x01, 0x02, 0xcc, 0xaf, 0xa6, 0xc9, 0xc6, 0x11, 0xed, 0x99,
	0x64, 0x06, 0x4f, 0xc0, 0x07, 0x97, 0x0f, 0x17, 0xb2, 0xb8, 0x1f, 0xa9, 0x00, 0x24, 0x13, 0x02,
	0x13, 0x03, 0x13, 0x01, 0xc0, 0x2c, 0xc0, 0x30, 0xc0, 0x2b, 0xc0, 0x2f, 0xcc, 0xa9, 0xcc, 0xa8,
	0xc0, 0x24, 0xc0, 0x28, 0xc0, 0x23, 0xc0, 0x27, 0x00, 0x9f, 0x00, 0x9e, 0x00, 0x6b, 0x00, 0x67,
	0x00, 0xff, 0x01, 0x00, 0x01, 0x8f, 0x00, 0x0b, 0x00, 0x04, 0x03, 0x00, 0x01, 0x02, 0x00, 0x0a,
	0x00, 0x16, 0x00, 0x14, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x1e, 0x00, 0x19, 0x00, 0x18, 0x01, 0x00,
	0x01, 0x01, 0x01, 0x02, 0x01, 0x03, 0x01, 0x04, 0x00, 0x23, 0x00, 0x00, 0x00, 0x16, 0x00, 0x00,
	0x00, 0x17, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x2a, 0x00, 0x28, 0x04, 0x03, 0x05, 0x03, 0x06, 0x03,
	0x08, 0x07, 0x08, 0x08, 0x08, 0x09, 0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04, 0x08, 0x05, 0x08, 0x06,
	0x04, 0x01, 0x05, 0x01, 0x06, 0x01, 0x03, 0x03, 0x03, 0x01, 0x03, 0x02, 0x04, 0x02, 0x05, 0x02,
	0x06, 0x02, 0x00, 0x2b, 0x00, 0x05, 0x04, 0x03, 0x04, 0x03, 0x03, 0x00, 0x2d, 0x00, 0x02, 0x01,
	0x01, 0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20, 0xd3, 0xb8, 0xc0, 0xe0, 0xc5,
	0x8f, 0xe4, 0x65, 0xef, 0x5b, 0x8c, 0x5e, 0x71, 0xb3, 0xca, 0x2a, 0xfc, 0x5e, 0x55, 0xdc, 0x64,
	0x57, 0x87, 0x65, 0x4e, 0x60, 0xf8, 0x60, 0xdc, 0x52, 0x11, 0x07, 0x00, 0x15, 0x00, 0xf6, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t hello_tls12[] = {
	0x16, 0x03, 0x01, 0x00, 0xb5, 0x01, 0x00, 0x00, 0xb1, 0x03, 0x03, 0xe1, 0xd5, 0x45, 0x4f, 0x88,
	0xb4, 0x0b, 0x9a, 0x08, 0x16, 0x21, 0x9c, 0xcb, 0xc5, 0x71, 0x87, 0xa3, 0x0a, 0xd3, 0xf9, 0x90,
	0x71, 0x72, 0x1c, 0x95, 0x3e, 0xea, 0xd7, 0x54, 0xe5, 0xf0, 0x1d, 0x00, 0x00, 0x1e, 0xc0, 0x2c,
	0xc0, 0x30, 0xc0, 0x2b, 0xc0, 0x2f, 0xcc, 0xa9, 0xcc, 0xa8, 0xc0, 0x24, 0xc0, 0x28, 0xc0, 0x23,
	0xc0, 0x27, 0x00, 0x9f, 0x00, 0x9e, 0x00, 0x6b, 0x00, 0x67, 0x00, 0xff, 0x01, 0x00, 0x00, 0x6a,
	0x00, 0x00, 0x00, 0x14, 0x00, 0x12, 0x00, 0x00, 0x0f, 0x77, 0x77, 0x77, 0x2e, 0x65, 0x78, 0x61,
	0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72, 0x67, 0x00, 0x0b, 0x00, 0x04, 0x03, 0x00, 0x01, 0x02,
	0x00, 0x0a, 0x00, 0x0c, 0x00, 0x0a, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x1e, 0x00, 0x19, 0x00, 0x18,
	0x00, 0x23, 0x00, 0x00, 0x00, 0x16, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x2a,
	0x00, 0x28, 0x04, 0x03, 0x05, 0x03, 0x06, 0x03, 0x08, 0x07, 0x08, 0x08, 0x08, 0x09, 0x08, 0x0a,
	0x08, 0x0b, 0x08, 0x04, 0x08, 0x05, 0x08, 0x06, 0x04, 0x01, 0x05, 0x01, 0x06, 0x01, 0x03, 0x03,
	0x03, 0x01, 0x03, 0x02, 0x04, 0x02, 0x05, 0x02, 0x06, 0x02,
};
static const uint8_t hello_bigkey[] = {
	0x16, 0x03, 0x01, 0x04, 0xc4, 0x01, 0x00, 0x04, 0xc0, 0x03, 0x03, 0x87, 0x34, 0x2d, 0x4e, 0x38,
	0x5a, 0xba, 0xb8, 0x4b, 0x5a, 0x9d, 0xb7, 0xf5, 0x5c, 0xf9, 0x48, 0xa1, 0x3a, 0x52, 0x21, 0x28,
	0x3b, 0x1c, 0x2b, 0xcf, 0x25, 0x84, 0x00, 0x9e, 0x23, 0x14, 0x9e, 0x20, 0xbd, 0x0f, 0x0d, 0x0f,
	0x08, 0x76, 0xed, 0x24, 0xb8, 0xdd, 0x69, 0x51, 0x5a, 0xd3, 0xb7, 0x90, 0xf1, 0xd8, 0xb1, 0x88,
	0x2e, 0x00, 0x03, 0xa5, 0xf5, 0xb7, 0x63, 0x04, 0xf7, 0x0a, 0xe6, 0x00, 0x00, 0x08, 0x13, 0x02,
	0x13, 0x03, 0x13, 0x01, 0x00, 0xff, 0x01, 0x00, 0x04, 0x6f, 0x00, 0x00, 0x00, 0x14, 0x00, 0x12,
	0x00, 0x00, 0x0f, 0x62, 0x69, 0x67, 0x2e, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x6e,
	0x65, 0x74, 0x00, 0x0b, 0x00, 0x04, 0x03, 0x00, 0x01, 0x02, 0x00, 0x0a, 0x00, 0x06, 0x00, 0x04,
	0x01, 0x04, 0x00, 0x1d, 0x00, 0x23, 0x00, 0x00, 0x00, 0x16, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00,
	0x00, 0x0d, 0x00, 0x1e, 0x00, 0x1c, 0x04, 0x03, 0x05, 0x03, 0x06, 0x03, 0x08, 0x07, 0x08, 0x08,
	0x08, 0x09, 0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04, 0x08, 0x05, 0x08, 0x06, 0x04, 0x01, 0x05, 0x01,
	0x06, 0x01, 0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04, 0x00, 0x2d, 0x00, 0x02, 0x01, 0x01, 0x00,
	0x33, 0x04, 0x06, 0x04, 0x04, 0x01, 0x04, 0x04, 0x00, 0x18, 0xaa, 0x9f, 0x69, 0xa7, 0xfe, 0x0e,
	0x21, 0xa8, 0x20, 0x57, 0xf7, 0xa9, 0xce, 0x84, 0xbd, 0xd3, 0xb5, 0x7c, 0x13, 0x7d, 0x06, 0x0c,
	0x5d, 0x9a, 0x82, 0x37, 0x49, 0x91, 0xf6, 0x73, 0x8f, 0x1e, 0xcc, 0x34, 0x80, 0xa9, 0x0a, 0x19,
	0x5d, 0x53, 0x4b, 0xdf, 0x8f, 0xeb, 0x07, 0x0e, 0xeb, 0x2e, 0xc3, 0xa2, 0xda, 0xde, 0x97, 0x60,
	0x39, 0xee, 0xa5, 0x8b, 0x68, 0x49, 0xf2, 0x14, 0xc3, 0x9c, 0xcb, 0x9c, 0xd6, 0xc7, 0xc2, 0x7b,
	0xce, 0xf7, 0xdb, 0x59, 0xa6, 0x0a, 0x50, 0x26, 0x97, 0x36, 0x02, 0x45, 0xad, 0x50, 0x6f, 0xf5,
	0x26, 0x1a, 0xe0, 0xcf, 0x64, 0x6e, 0xdc, 0xc7, 0xfa, 0x6f, 0xb6, 0x07, 0x18, 0xbe, 0xd7, 0xca,
	0xf6, 0xaa, 0x06, 0xba, 0x33, 0x79, 0xca, 0x78, 0xfe, 0x44, 0x7f, 0x41, 0xc7, 0x6b, 0x60, 0x28,
	0x89, 0x39, 0x21, 0xed, 0x6e, 0x88, 0x97, 0x88, 0x53, 0xc0, 0x23, 0xc3, 0xb4, 0x4a, 0x6a, 0x9b,
	0x64, 0xd5, 0xa4, 0x4c, 0x23, 0x89, 0x70, 0x41, 0x03, 0x3c, 0xa6, 0x49, 0x32, 0xea, 0x02, 0x94,
	0xf9, 0xb1, 0xe9, 0xaa, 0x01, 0x3e, 0xad, 0xdd, 0x5b, 0x96, 0x5d, 0x94, 0x23, 0xec, 0xb5, 0x4d,
	0x44, 0x60, 0xb1, 0xee, 0x4e, 0x9a, 0x1f, 0x7e, 0xfb, 0x8f, 0xd2, 0x17, 0xba, 0xce, 0xb1, 0x40,
	0x37, 0xcb, 0xda, 0x45, 0xfb, 0x10, 0x81, 0x21, 0x98, 0x56, 0x4e, 0x06, 0xce, 0x10, 0x45, 0xa0,
	0x7b, 0xbc, 0xec, 0x06, 0xfa, 0xe8, 0x5a, 0xe3, 0x0b, 0x29, 0x20, 0xa7, 0x61, 0x2e, 0x60, 0x92,
	0x34, 0x82, 0xc6, 0xdf, 0x86, 0xba, 0xaa, 0xb6, 0xf3, 0x3f, 0x6b, 0xdc, 0x15, 0x92, 0x7c, 0xba,
	0x26, 0xa2, 0x97, 0x0e, 0xdc, 0x5a, 0x1e, 0x57, 0xa1, 0x33, 0xff, 0x13, 0xee, 0x81, 0xd3, 0xc4,
	0xad, 0x73, 0x1f, 0xda, 0x93, 0xd3, 0x5f, 0xeb, 0x86, 0x1d, 0x45, 0xe4, 0xad, 0x48, 0xa3, 0x93,
	0x9c, 0xef, 0x77, 0xca, 0xd3, 0x13, 0xfa, 0x98, 0x0d, 0x68, 0x67, 0xdf, 0x5e, 0x91, 0xa4, 0x0f,
	0x56, 0x1b, 0xc3, 0x64, 0x36, 0x76, 0xec, 0xf5, 0xfb, 0x05, 0x8a, 0x93, 0x19, 0x3b, 0x79, 0xd1,
	0x81, 0xe3, 0xbf, 0xad, 0x6b, 0x4f, 0x09, 0x99, 0x9e, 0x15, 0x13, 0x3e, 0x14, 0x5e, 0x1f, 0xab,
	0xce, 0x85, 0xcd, 0x4f, 0xa2, 0x7e, 0xe0, 0x06, 0x8f, 0xc6, 0xbe, 0x07, 0xc9, 0x36, 0x7a, 0x39,
	0x83, 0x5f, 0xab, 0x9d, 0x95, 0xba, 0x3a, 0xf3, 0x94, 0xbc, 0x69, 0xca, 0xae, 0x5c, 0x88, 0x36,
	0xc0, 0xa3, 0xa7, 0x63, 0x1f, 0x72, 0x68, 0xd3, 0xc2, 0x3e, 0xf2, 0xd5, 0xc0, 0x84, 0x05, 0x95,
	0x80, 0xf2, 0x77, 0x30, 0xf9, 0xd8, 0x57, 0x5a, 0x62, 0x81, 0x66, 0x3d, 0x81, 0xea, 0x4c, 0xa4,
	0x24, 0x98, 0x8f, 0xb0, 0x49, 0x63, 0x2a, 0x70, 0xf9, 0xb6, 0xb7, 0x8f, 0x9f, 0xdd, 0x42, 0x27,
	0xc9, 0x42, 0x33, 0xce, 0x71, 0x6a, 0xe8, 0x16, 0xae, 0xa4, 0xfd, 0xbb, 0x9c, 0xe7, 0x7e, 0x70,
	0xa8, 0x3a, 0xc8, 0x4d, 0x23, 0x07, 0x93, 0xff, 0xbc, 0x50, 0xfd, 0x85, 0xa5, 0xb5, 0x99, 0x3a,
	0xcb, 0xcb, 0x80, 0x3c, 0x5d, 0xc8, 0x50, 0xaa, 0x48, 0x4b, 0x99, 0x6c, 0xcd, 0x8e, 0x28, 0x88,
	0xf7, 0xaa, 0x7e, 0x2f, 0xbd, 0x55, 0x9d, 0x2d, 0x64, 0xf4, 0x0b, 0xd0, 0x2a, 0x68, 0x45, 0x40,
	0xad, 0xcd, 0xea, 0x48, 0x34, 0x48, 0x55, 0x98, 0x1f, 0xbc, 0x63, 0x87, 0xe4, 0x9f, 0x63, 0x27,
	0x2d, 0x8d, 0xb9, 0x90, 0x6d, 0x73, 0xb2, 0xa0, 0x4a, 0x3e, 0x1f, 0x89, 0xed, 0x95, 0x5e, 0xb4,
	0x64, 0x41, 0xb9, 0x12, 0xa4, 0x4b, 0x01, 0x93, 0x17, 0x9b, 0xe6, 0x7b, 0xff, 0xb2, 0x85, 0xd1,
	0xba, 0xa3, 0xf3, 0xd6, 0xed, 0x12, 0x6b, 0xfc, 0x35, 0x62, 0xfe, 0x06, 0x29, 0x0a, 0xe8, 0x09,
	0x0d, 0x5d, 0xe5, 0x62, 0x12, 0x2f, 0x2b, 0x0d, 0x44, 0x67, 0x11, 0x11, 0x53, 0x6d, 0x87, 0xa4,
	0x72, 0x0e, 0xed, 0x2a, 0x56, 0xca, 0x02, 0x2b, 0xac, 0x66, 0xba, 0x2d, 0x99, 0xd1, 0x7b, 0x03,
	0x00, 0x86, 0x10, 0x10, 0x3a, 0x88, 0x75, 0xce, 0x5f, 0x32, 0x51, 0x9a, 0xd8, 0x9f, 0x75, 0x31,
	0xe5, 0x96, 0x5c, 0xae, 0x6c, 0xb5, 0x75, 0x89, 0xa7, 0xad, 0xb7, 0x13, 0xc1, 0x12, 0x99, 0x83,
	0x2d, 0x1e, 0xbc, 0xd8, 0x49, 0xe8, 0xe4, 0x1f, 0xa3, 0x85, 0x11, 0xb5, 0xcc, 0x93, 0xaa, 0x3a,
	0xde, 0x74, 0xdd, 0x26, 0x89, 0xe9, 0x12, 0x2a, 0x8e, 0xe6, 0xdb, 0xd8, 0x55, 0x5e, 0xec, 0x89,
	0xdf, 0x07, 0x21, 0x79, 0xaa, 0xcb, 0x81, 0x87, 0x33, 0x8a, 0x6a, 0x15, 0x56, 0xb0, 0x06, 0xda,
	0x88, 0xb7, 0x9a, 0xef, 0xfd, 0x36, 0x78, 0x4a, 0x86, 0xe6, 0x4c, 0x9f, 0xb9, 0x9e, 0xf4, 0x97,
	0x02, 0xab, 0xa0, 0x79, 0xb9, 0x52, 0x55, 0xa6, 0x0d, 0x45, 0x5c, 0x35, 0x16, 0x6c, 0x4a, 0x02,
	0xc8, 0x79, 0x17, 0x32, 0x37, 0x72, 0x8a, 0x44, 0xd1, 0xd2, 0x60, 0x0e, 0x8d, 0x6e, 0x5c, 0x53,
	0xe4, 0x74, 0x51, 0xa6, 0xf6, 0x37, 0x71, 0x91, 0xc1, 0xd0, 0xc4, 0x32, 0xad, 0x68, 0x02, 0x41,
	0x2e, 0xa7, 0x7d, 0xfa, 0xb6, 0xa5, 0x8f, 0x16, 0x6c, 0x0f, 0x57, 0x83, 0x1e, 0xed, 0x11, 0x67,
	0x92, 0x11, 0x95, 0x54, 0x9e, 0xa8, 0x7d, 0x0c, 0xe2, 0x15, 0xa4, 0x13, 0xec, 0x74, 0xb5, 0x61,
	0x05, 0xab, 0x7c, 0xcd, 0x12, 0x7f, 0xc4, 0x46, 0x80, 0x73, 0x75, 0x11, 0x38, 0xf8, 0x94, 0x78,
	0x1f, 0xe8, 0x99, 0x15, 0x39, 0xa2, 0x2b, 0x9a, 0xe5, 0x30, 0xca, 0xec, 0x17, 0x2d, 0xde, 0xee,
	0x3b, 0x9e, 0x99, 0x05, 0x14, 0xa1, 0x80, 0xeb, 0x8b, 0x6a, 0xe1, 0xcc, 0xf0, 0xb8, 0x0a, 0x2a,
	0xea, 0xd0, 0x14, 0x24, 0x8b, 0xfd, 0x5a, 0x32, 0x2a, 0x13, 0xe7, 0x6f, 0x20, 0xfc, 0x41, 0x35,
	0xc5, 0xc7, 0x0e, 0xf5, 0x92, 0xd5, 0x4e, 0x69, 0x22, 0x92, 0xb0, 0xdd, 0x8a, 0xe0, 0x1d, 0x21,
	0xb0, 0xa6, 0x79, 0x9a, 0x11, 0xc8, 0xcb, 0x92, 0x43, 0xf6, 0x47, 0x97, 0xed, 0x1b, 0xdd, 0xff,
	0x1f, 0x88, 0xf5, 0xf6, 0x75, 0x85, 0x9a, 0x1a, 0x5b, 0xc2, 0x14, 0x3a, 0x2a, 0xf5, 0x62, 0x28,
	0xf3, 0xe0, 0x5d, 0xd4, 0x40, 0x32, 0x26, 0x00, 0x8f, 0x5a, 0xb5, 0x04, 0x94, 0x1e, 0x70, 0xe4,
	0xe1, 0xd9, 0x07, 0x61, 0xc4, 0x48, 0xbf, 0x2d, 0x83, 0x3b, 0x69, 0xb8, 0xee, 0xed, 0x30, 0x30,
	0x31, 0x68, 0x20, 0x97, 0xac, 0x9f, 0x40, 0x3a, 0xf4, 0x5f, 0x8e, 0x0e, 0x4c, 0xea, 0xd2, 0xf6,
	0xed, 0x95, 0x86, 0xa4, 0x82, 0xca, 0x92, 0x9e, 0x26, 0x82, 0x80, 0x49, 0x73, 0x16, 0x12, 0xf8,
	0xf9, 0x73, 0xa4, 0x4d, 0x9c, 0x07, 0x54, 0xe2, 0xbf, 0x4b, 0xa9, 0xb5, 0xbb, 0xe3, 0x9a, 0x92,
	0x63, 0x87, 0x24, 0x79, 0x2a, 0xd1, 0xd8, 0xc9, 0x2a, 0x97, 0x7b, 0x10, 0x7c, 0x75, 0xe1, 0x66,
	0x41, 0x42, 0xed, 0x0c, 0x19, 0xe0, 0x3b, 0xf5, 0x29, 0x40, 0x37, 0x64, 0xcc, 0x56, 0xc8, 0x7a,
	0xa0, 0xa9, 0x9b, 0x88, 0xbd, 0x08, 0xad, 0x46, 0x6c, 0x8c, 0x34, 0xb5, 0x32, 0x0a, 0x7d, 0xa1,
	0x7e, 0x03, 0x05, 0x18, 0x2a, 0xce, 0xd1, 0xf5, 0x95, 0xb6, 0x61, 0x35, 0xb8, 0xdd, 0x0a, 0x79,
	0xe2, 0xd9, 0x40, 0x3a, 0x7f, 0xba, 0xab, 0x0b, 0x6f, 0x7a, 0x55, 0xdc, 0xef, 0x81, 0xaa, 0xa5,
	0x73, 0x03, 0x5c, 0xcb, 0x66, 0xec, 0xd6, 0x71, 0x97, 0xb0, 0x67, 0xf1, 0x8a, 0x6b, 0x39, 0xe9,
	0xee, 0x02, 0xe4, 0x60, 0x5f, 0x45, 0x5e, 0xfd, 0x28,
};

/* ---- helpers -------------------------------------------------------------------------------------- */

/* Parse s (a C string) whole. */
static enum wire_result hp(const char *s, struct wire_http *r)
{
	return wire_http_parse(s, strlen(s), r);
}

/* s must be refused with status. */
static void http_refused(const char *s, int status)
{
	struct wire_http r;
	enum wire_result res = hp(s, &r);
	if (res != WIRE_BAD || r.status != status)
		print_error("\"%s\": result %d status %d (%s), wanted %d\n", s, res, r.status, r.why ? r.why : "-", status);
	assert_int_equal(res, WIRE_BAD);
	assert_int_equal(r.status, status);
	assert_non_null(r.why);
}

/* s must be accepted, every proper prefix being NEED_MORE (each from a copy of its own size, so an
 * overread shows under ASan). */
static void http_ok(const char *s, struct wire_http *r)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++) {
		char *p = malloc(i ? i : 1);
		memcpy(p, s, i);
		enum wire_result res = wire_http_parse(p, i, r);
		if (res != WIRE_NEED_MORE)
			print_error("prefix %zu of \"%s\": %d (%d %s)\n", i, s, res, r->status, r->why ? r->why : "-");
		assert_int_equal(res, WIRE_NEED_MORE);
		free(p);
	}
	enum wire_result res = hp(s, r);
	if (res != WIRE_DONE)
		print_error("\"%s\": %d (%d %s)\n", s, res, r->status, r->why ? r->why : "-");
	assert_int_equal(res, WIRE_DONE);
	assert_int_equal(r->head_len, n);
}

/* "CONNECT target HTTP/1.1" must be accepted with host and port. */
static void connect_ok(const char *target, const char *host, unsigned port)
{
	char req[1024];
	snprintf(req, sizeof req, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target);
	struct wire_http r;
	http_ok(req, &r);
	assert_true(r.connect);
	assert_string_equal(r.method, "CONNECT");
	assert_string_equal(r.host, host);
	assert_int_equal(r.port, port);
}

static void connect_refused(const char *target, int status)
{
	char req[1024];
	snprintf(req, sizeof req, "CONNECT %s HTTP/1.1\r\n\r\n", target);
	http_refused(req, status);
}

static void absolute_ok(const char *target, const char *host, unsigned port)
{
	char req[1024];
	snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nAccept: */*\r\n\r\n", target);
	struct wire_http r;
	http_ok(req, &r);
	assert_false(r.connect);
	assert_string_equal(r.method, "GET");
	assert_string_equal(r.host, host);
	assert_int_equal(r.port, port);
}

static void absolute_refused(const char *target, int status)
{
	char req[1024];
	snprintf(req, sizeof req, "GET %s HTTP/1.1\r\n\r\n", target);
	http_refused(req, status);
}

/* A head with one more header line. */
static void header_refused(const char *line, int status)
{
	char req[1024];
	snprintf(req, sizeof req, "GET http://h/ HTTP/1.1\r\nHost: h\r\n%s\r\n\r\n", line);
	http_refused(req, status);
}

static void header_ok(const char *line)
{
	char req[1024];
	snprintf(req, sizeof req, "GET http://h/ HTTP/1.1\r\nHost: h\r\n%s\r\n\r\n", line);
	struct wire_http r;
	http_ok(req, &r);
}

/* ---- HTTP: CONNECT ---------------------------------------------------------------------------------- */

static void test_connect(void **state)
{
	connect_ok("example.com:443", "example.com", 443);
	connect_ok("Example.COM:443", "example.com", 443);
	connect_ok("example.com.:8443", "example.com", 8443);
	connect_ok("10.0.0.1:22", "10.0.0.1", 22);
	connect_ok("[2001:DB8::1]:443", "2001:db8::1", 443);
	connect_ok("[::ffff:192.0.2.1]:80", "::ffff:192.0.2.1", 80);
	connect_ok("under_score-dash.example:1", "under_score-dash.example", 1);
	connect_ok("h:65535", "h", 65535);
	connect_ok("h:00443", "h", 443); /* five digits, leading zeros: still 443 */

	/* The rest of the buffer is the body (or the tunnel's first bytes). */
	const char *s = "CONNECT h:443 HTTP/1.1\r\n\r\n\x16\x03\x01";
	struct wire_http r;
	assert_int_equal(hp(s, &r), WIRE_DONE);
	assert_int_equal(r.head_len, strlen(s) - 3);
}

static void test_connect_refused(void **state)
{
	connect_refused("example.com", 400);         /* the port is required */
	connect_refused("example.com:", 400);
	connect_refused("example.com:0", 400);
	connect_refused("example.com:65536", 400);
	connect_refused("example.com:99999", 400);
	connect_refused("example.com:+443", 400);
	connect_refused("example.com:-1", 400);
	connect_refused("example.com:123456", 400);  /* six digits */
	connect_refused("example.com:0x1bb", 400);
	connect_refused("example.com:443:1", 400);
	connect_refused("example.com:443a", 400);
	connect_refused(":443", 400);
	connect_refused("user@example.com:443", 400);
	connect_refused("user:pass@example.com:443", 400);
	connect_refused("[::1]", 400);               /* no port */
	connect_refused("[::1]443", 400);
	connect_refused("[::1:443", 400);
	connect_refused("[zz::1]:443", 400);
	connect_refused("[1::2::3]:443", 400);
	connect_refused("[fe80::1%25eth0]:443", 400); /* no zone id */
	connect_refused("[]:443", 400);
	connect_refused("[example.com]:443", 400);
	connect_refused("[10.0.0.1]:443", 400);
	connect_refused("::1:443", 400);              /* IPv6 only in brackets */
	connect_refused("a..b:443", 400);
	connect_refused(".a:443", 400);
	connect_refused("a.:443x", 400);
	connect_refused("a..:443", 400);              /* one trailing dot is stripped, not two */
	connect_refused(".:443", 400);
	connect_refused("ex%41mple.com:443", 400);
	connect_refused("ex\\ample.com:443", 400);
	connect_refused("ex/ample.com:443", 400);
	connect_refused("ex\xc3\xa9.com:443", 400);   /* high bytes */
	connect_refused("http://example.com:443", 400);
	connect_refused("example.com:443/", 400);
}

static void test_host_length(void **state)
{
	char host[300], target[320];
	memset(host, 'a', 255);
	host[255] = '\0';
	snprintf(target, sizeof target, "%s:443", host);
	connect_ok(target, host, 443);
	snprintf(target, sizeof target, "%s.:443", host); /* 256 with its trailing dot */
	connect_ok(target, host, 443);
	host[255] = 'a';
	host[256] = '\0';
	snprintf(target, sizeof target, "%s:443", host);
	connect_refused(target, 400);
}

/* ---- HTTP: absolute form ---------------------------------------------------------------------------- */

static void test_absolute(void **state)
{
	absolute_ok("http://example.com/", "example.com", 80);
	absolute_ok("http://Example.COM/a/b?c=d&e", "example.com", 80);
	absolute_ok("HTTP://example.com:8080/x", "example.com", 8080);
	absolute_ok("HtTp://example.com", "example.com", 80);
	absolute_ok("http://example.com?q", "example.com", 80);
	absolute_ok("http://example.com.:81", "example.com", 81);
	absolute_ok("http://[2001:db8::1]/", "2001:db8::1", 80);
	absolute_ok("http://[2001:db8::1]:8000?x", "2001:db8::1", 8000);
	absolute_ok("http://h/path@with-at", "h", 80); /* '@' in the path is no userinfo */
	absolute_ok("http://h/a:b", "h", 80);

	/* Any token is a method; the Host header does not choose the target. */
	struct wire_http r;
	http_ok("PROPFIND http://a.example/ HTTP/1.0\r\nHost: b.example\r\n\r\n", &r);
	assert_string_equal(r.method, "PROPFIND");
	assert_string_equal(r.host, "a.example");
	http_ok("!#$%&'*+-.^_`|~ http://h/ HTTP/1.1\r\n\r\n", &r);
	assert_string_equal(r.method, "!#$%&'*+-.^_`|~");
}

static void test_absolute_refused(void **state)
{
	absolute_refused("https://example.com/", 400);       /* CONNECT for TLS */
	absolute_refused("HTTPS://example.com/", 400);
	absolute_refused("ftp://example.com/", 501);
	absolute_refused("ws://example.com/", 501);
	absolute_refused("http://user:pass@example.com/", 400);
	absolute_refused("http://user@example.com/", 400);
	absolute_refused("http://evil.com@good.com/", 400);
	absolute_refused("http://@h/", 400);
	absolute_refused("http:///path", 400);
	absolute_refused("http://", 400);
	absolute_refused("http:/h/", 400);
	absolute_refused("http:h", 400);
	absolute_refused("http//h/", 400);
	absolute_refused("/", 400);                          /* origin form: this is a proxy */
	absolute_refused("/index.html", 400);
	absolute_refused("*", 400);
	absolute_refused("example.com:80", 400);             /* authority form is for CONNECT */
	absolute_refused("http://h:0/", 400);
	absolute_refused("http://h:/", 400);
	absolute_refused("http://h:65536/", 400);
	absolute_refused("http://h:8o/", 400);
	absolute_refused("http://h#frag", 400);
	absolute_refused("http://h/p#frag", 400);
	absolute_refused("http://::1/", 400);
	absolute_refused("http://[::1/", 400);
	absolute_refused("http://a..b/", 400);
	absolute_refused("http://a_b\\@c/", 400);
	absolute_refused("http://h\xff/", 400);
	absolute_refused("1http://h/", 400);
}

/* ---- HTTP: the request line ------------------------------------------------------------------------- */

static void test_request_line_refused(void **state)
{
	struct wire_http r;
	http_ok("ABCDEFGHIJKLMNO http://h/ HTTP/1.1\r\n\r\n", &r); /* 15 bytes */
	http_refused("ABCDEFGHIJKLMNOP http://h/ HTTP/1.1\r\n\r\n", 501);
	http_refused("GET  http://h/ HTTP/1.1\r\n\r\n", 400);
	http_refused(" GET http://h/ HTTP/1.1\r\n\r\n", 400);
	http_refused("GET http://h/  HTTP/1.1\r\n\r\n", 400);
	http_refused("GET http://h/ HTTP/1.1 \r\n\r\n", 400);
	http_refused("GET\thttp://h/ HTTP/1.1\r\n\r\n", 400);
	http_refused("GET http://h/\tHTTP/1.1\r\n\r\n", 400);
	http_refused("GET http://h/\r\n\r\n", 400);            /* HTTP/0.9 */
	http_refused("GET\r\n\r\n", 400);
	http_refused("GET http://h/ HTTP/1.2\r\n\r\n", 505);
	http_refused("GET http://h/ HTTP/2.0\r\n\r\n", 505);
	http_refused("GET http://h/ HTTP/0.9\r\n\r\n", 505);
	http_refused("GET http://h/ http/1.1\r\n\r\n", 400);
	http_refused("GET http://h/ HTTP/1.10\r\n\r\n", 400);
	http_refused("GET http://h/ HTTP/1\r\n\r\n", 400);
	http_refused("G(T http://h/ HTTP/1.1\r\n\r\n", 400);
	http_refused("connect h:443 HTTP/1.1\r\n\r\n", 400);   /* methods are case-sensitive */
	http_refused("CONNECT http://h:443/ HTTP/1.1\r\n\r\n", 400);
	http_refused("\r\nGET http://h/ HTTP/1.1\r\n\r\n", 400);
	http_refused("\r\n\r\n", 400);
	http_refused("GET http://h/\x7f HTTP/1.1\r\n\r\n", 400);
	http_refused("GET http://h/\x80 HTTP/1.1\r\n\r\n", 400);
}

static void test_target_too_long(void **state)
{
	static char req[WIRE_HTTP_TARGET_MAX + 100];
	struct wire_http r;
	/* A target of exactly the limit is fine; one byte more is 414, before or after its line ends. */
	strcpy(req, "GET http://h/");
	size_t n = strlen(req);
	memset(req + n, 'a', WIRE_HTTP_TARGET_MAX - (n - 4));
	strcpy(req + 4 + WIRE_HTTP_TARGET_MAX, " HTTP/1.1\r\n\r\n");
	assert_int_equal(hp(req, &r), WIRE_DONE);
	memset(req + n, 'a', WIRE_HTTP_TARGET_MAX - (n - 4) + 1);
	strcpy(req + 4 + WIRE_HTTP_TARGET_MAX + 1, " HTTP/1.1\r\n\r\n");
	http_refused(req, 414);
	req[4 + WIRE_HTTP_TARGET_MAX + 1] = '\0';
	assert_int_equal(hp(req, &r), WIRE_BAD);
	assert_int_equal(r.status, 414);
	req[4 + WIRE_HTTP_TARGET_MAX] = '\0';
	assert_int_equal(hp(req, &r), WIRE_NEED_MORE);
}

/* ---- HTTP: line ends, header lines ------------------------------------------------------------------ */

static void test_line_ends(void **state)
{
	struct wire_http r;
	/* A bare LF ends a line, as RFC 9112 2.2 allows; the CR of a CRLF is optional per line. */
	http_ok("GET http://h/ HTTP/1.1\nHost: h\nAccept: */*\n\n", &r);
	http_ok("GET http://h/ HTTP/1.1\r\nHost: h\n\r\n", &r);
	http_ok("CONNECT h:443 HTTP/1.1\n\n", &r);
	assert_int_equal(r.port, 443);
	/* A bare CR ends nothing: refused wherever it is. */
	http_refused("GET http://h/ HTTP/1.1\rHost: h\r\n\r\n", 400);
	http_refused("GET http://h/ HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", 400);
	http_refused("GET http://h/ HTTP/1.1\r\nHo\rst: h\r\n\r\n", 400);
	http_refused("GET http://h/ HTTP/1.1\r\nHost: h\r\r\n\r\n", 400);
	http_refused("GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\r\n", 400);
	http_refused("GET http://h/ HTTP/1.1\r\r\n\r\n", 400);
	http_refused("GET http://h/\r HTTP/1.1\r\n\r\n", 400);
	/* Refused as soon as it is seen, not when the head ends. */
	assert_int_equal(hp("GET http://h/ HTTP/1.1\r\nHost: h\rX", &r), WIRE_BAD);
	assert_int_equal(hp("GET http://h/ HTTP/1.1\r\nHost: h\r", &r), WIRE_NEED_MORE);
	assert_int_equal(hp("GE\rT", &r), WIRE_BAD);
}

static void test_header_refused(void **state)
{
	header_ok("X-Tab: a\tb");
	header_ok("X-Utf8: caf\xc3\xa9");   /* obs-text in a value */
	header_ok("X-Empty:");
	header_ok("X-Spaces:   v   ");
	header_ok("!#$%&'*+-.^_`|~09azAZ: v");
	header_refused(" X-Fold: v", 400);   /* obs-fold */
	header_refused("\tX-Fold: v", 400);
	header_refused("X-A: v\r\n continued", 400);
	header_refused("X-A: v\r\n\tcontinued", 400);
	header_refused("X-A : v", 400);      /* space before the colon */
	header_refused("X-A\t: v", 400);
	header_refused("X(A): v", 400);
	header_refused("X\"A: v", 400);
	header_refused("X/A: v", 400);
	header_refused("X\xc3\xa9: v", 400);
	header_refused(": v", 400);
	header_refused("NoColon", 400);
	header_refused("X-A: v\x01", 400);
	header_refused("X-A: v\x7f", 400);
	header_refused("X-A: v\x1b[31m", 400);
	header_refused("X-A: v\x0bw", 400);
	/* NUL anywhere: in a name, a value, between lines; refused before the line ends. */
	static const char *const nuls[] = {
		"GET http://h/ HTTP/1.1\r\nX-A: v\0w\r\n\r\n",
		"GET http://h/ HTTP/1.1\r\nX\0A: v\r\n\r\n",
		"GET http://h/ HTTP/1.1\r\n\0\r\n\r\n",
		"GET http://h/ HTTP/1.1\r\nX-A: v\r\n\0\r\n",
		"GET http://h\0/ HTTP/1.1\r\n\r\n",
		"\0GET http://h/ HTTP/1.1\r\n\r\n",
		"GET http://h/ HTTP/1.1\0\r\n\r\n",
		"CONNECT h:443\0 HTTP/1.1\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof nuls / sizeof nuls[0]; i++) {
		const char *s = nuls[i];
		size_t n = strlen(s) + 1 + strlen(s + strlen(s) + 1);
		struct wire_http r;
		assert_int_equal(wire_http_parse(s, n, &r), WIRE_BAD);
		assert_int_equal(r.status, 400);
		const char *z = memchr(s, '\0', n);
		assert_int_equal(wire_http_parse(s, (size_t)(z - s) + 1, &r), WIRE_BAD);
	}
}

static void test_framing(void **state)
{
	header_ok("Content-Length: 5");
	header_ok("Content-Length: 000");
	header_ok("Transfer-Encoding: chunked");
	header_ok("transfer-encoding:  Chunked ");
	/* Both: a smuggling attempt whichever comes first. */
	header_refused("Content-Length: 5\r\nTransfer-Encoding: chunked", 400);
	header_refused("Transfer-Encoding: chunked\r\nContent-Length: 5", 400);
	header_refused("transfer-ENCODING: chunked\r\ncontent-length: 0", 400);
	header_refused("Content-Length: 5\r\nContent-Length: 5", 400);
	header_refused("Content-Length: 5\r\nContent-Length: 6", 400);
	header_refused("Content-Length: 5, 5", 400);
	header_refused("Content-Length: +5", 400);
	header_refused("Content-Length: -5", 400);
	header_refused("Content-Length: 0x5", 400);
	header_refused("Content-Length: 5 5", 400);
	header_refused("Content-Length:", 400);
	header_refused("Content-Length: 1234567890123456789", 400);
	header_refused("Transfer-Encoding: gzip", 501);
	header_refused("Transfer-Encoding: gzip, chunked", 501);
	header_refused("Transfer-Encoding: chunked, chunked", 501);
	header_refused("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked", 400);
	header_refused("Transfer-Encoding:", 501);
	header_refused("Host: h\r\nX: y", 400); /* a second Host (header_refused sends one) */
	http_refused("POST http://h/ HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
	/* Connection may not strip the framing from what is forwarded. */
	header_ok("Connection: keep-alive, X-Foo");
	header_ok("Connection: ,, close ,");
	header_refused("Connection: content-length", 400);
	header_refused("Connection: close, Transfer-Encoding", 400);
	header_refused("Connection: a b", 400);
	header_refused("Connection: a;b", 400);
	char line[400] = "Connection: a";
	for (int i = 1; i < 32; i++)
		strcat(line, ",a");
	header_ok(line);
	strcat(line, "\r\nConnection: b");
	header_refused(line, 400);
}

/* Valid heads fed one byte more each time. */
static void test_incremental(void **state)
{
	static const char *const ok[] = {
		"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nUser-Agent: curl/7.88.1\r\nProxy-Connection: Keep-Alive\r\n\r\n",
		"GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\nProxy-Connection: Keep-Alive\r\n\r\n",
		"POST http://[::1]:8080/api?x=1 HTTP/1.0\nContent-Length: 3\nContent-Type: application/json\n\n",
		"PUT http://h/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nX-Tab:\ta\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		struct wire_http r;
		http_ok(ok[i], &r);
	}
}

/* Hostile bytes on the HTTP port are refused without waiting for a line end. */
static void test_early_refusal(void **state)
{
	struct wire_http r;
	assert_int_equal(wire_http_parse((const char *)hello_sni, 6, &r), WIRE_BAD); /* TLS: a NUL soon */
	assert_int_equal(wire_http_parse("\x05\x01\x00", 3, &r), WIRE_BAD);           /* SOCKS5 */
	assert_int_equal(hp("\x04\x01", &r), WIRE_BAD);                               /* SOCKS4 */
	assert_int_equal(hp("ABCDEFGHIJKLMNOPQ", &r), WIRE_BAD);
	assert_int_equal(r.status, 501);
	assert_int_equal(hp("GET http://h/ HTTX", &r), WIRE_BAD);
	assert_int_equal(hp("GET http://h/ HTTP/1.1\r\n X", &r), WIRE_BAD);
	assert_int_equal(hp("GET http://h/ HTTP/1.1\r\nX Y", &r), WIRE_BAD);
	assert_int_equal(hp("GET http://h/ HTTP/1.1\r\nX: \x01", &r), WIRE_BAD);
	assert_int_equal(hp("", &r), WIRE_NEED_MORE);
	assert_int_equal(wire_http_parse(NULL, 0, &r), WIRE_NEED_MORE);
}

/* 16 KiB of head at most; more without its end is 431. */
static void test_head_limit(void **state)
{
	static char req[WIRE_HTTP_HEAD_MAX + 64];
	struct wire_http r;
	const char *start = "GET http://h/ HTTP/1.1\r\nX-Big: ";
	size_t n = strlen(start);
	memcpy(req, start, n);
	/* Exactly WIRE_HTTP_HEAD_MAX bytes, CRLFCRLF included: accepted. */
	memset(req + n, 'a', WIRE_HTTP_HEAD_MAX - n - 4);
	memcpy(req + WIRE_HTTP_HEAD_MAX - 4, "\r\n\r\n", 4);
	assert_int_equal(wire_http_parse(req, WIRE_HTTP_HEAD_MAX, &r), WIRE_DONE);
	assert_int_equal(r.head_len, WIRE_HTTP_HEAD_MAX);
	assert_int_equal(wire_http_parse(req, WIRE_HTTP_HEAD_MAX + 10, &r), WIRE_DONE);
	/* One byte more: its end is past the limit. */
	memset(req + n, 'a', WIRE_HTTP_HEAD_MAX - n - 3);
	memcpy(req + WIRE_HTTP_HEAD_MAX - 3, "\r\n\r\n", 4);
	assert_int_equal(wire_http_parse(req, WIRE_HTTP_HEAD_MAX - 1, &r), WIRE_NEED_MORE);
	assert_int_equal(wire_http_parse(req, WIRE_HTTP_HEAD_MAX, &r), WIRE_BAD);
	assert_int_equal(r.status, 431);
	assert_int_equal(wire_http_parse(req, WIRE_HTTP_HEAD_MAX + 1, &r), WIRE_BAD);
	assert_int_equal(r.status, 431);
	/* Many short lines do the same. */
	for (size_t i = 0; i + 5 <= sizeof req; i += 5)
		memcpy(req + i, "X: y\n", 5);
	memcpy(req, "GET http://hh/ HTTP/1.1\r\n", 25); /* ends where an "X: y\n" starts */
	assert_int_equal(wire_http_parse(req, WIRE_HTTP_HEAD_MAX, &r), WIRE_BAD);
	assert_int_equal(r.status, 431);
	assert_int_equal(wire_http_parse(req, WIRE_HTTP_HEAD_MAX - 1, &r), WIRE_NEED_MORE);
}

/* ---- HTTP: rewrite ------------------------------------------------------------------------------------ */

/* Rewrite s (accepted) and compare with want; also every smaller cap is -1 and writes nothing past it. */
static void rewrite_is(const char *s, const char *want)
{
	struct wire_http r;
	assert_int_equal(hp(s, &r), WIRE_DONE);
	char out[2048];
	long n = wire_http_rewrite(s, strlen(s), &r, out, sizeof out);
	assert_true(n > 0);
	out[n] = '\0';
	assert_string_equal(out, want);
	for (size_t cap = 0; cap < (size_t)n; cap++) {
		memset(out, '#', sizeof out);
		assert_int_equal(wire_http_rewrite(s, strlen(s), &r, out, cap), -1);
		assert_int_equal(out[cap], '#');
	}
	assert_int_equal(wire_http_rewrite(s, strlen(s), &r, out, (size_t)n), n);
}

static void test_rewrite(void **state)
{
	rewrite_is("GET http://Example.com/a?b=1 HTTP/1.1\r\n"
		   "Host: other.example\r\n"
		   "User-Agent: x\r\n"
		   "Proxy-Connection: keep-alive\r\n"
		   "Proxy-Authorization: Basic dXNlcjpwYXNz\r\n"
		   "Connection: keep-alive, X-Secret\r\n"
		   "X-Secret: 1\r\n"
		   "Keep-Alive: 300\r\n"
		   "TE: trailers\r\n"
		   "Trailer: X-T\r\n"
		   "Upgrade: h2c\r\n"
		   "Accept: */*\r\n"
		   "\r\nBODY",
		   "GET /a?b=1 HTTP/1.1\r\n"
		   "Host: example.com\r\n"
		   "User-Agent: x\r\n"
		   "Accept: */*\r\n"
		   "Connection: close\r\n\r\n");
	rewrite_is("GET http://h HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
	rewrite_is("GET http://h?x=1 HTTP/1.1\r\n\r\n", "GET /?x=1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
	rewrite_is("HEAD http://h:8080/p HTTP/1.0\r\n\r\n", "HEAD /p HTTP/1.0\r\nHost: h:8080\r\nConnection: close\r\n\r\n");
	rewrite_is("GET http://h:80/ HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
	rewrite_is("GET http://[2001:DB8::1]:81/ HTTP/1.1\r\n\r\n",
		   "GET / HTTP/1.1\r\nHost: [2001:db8::1]:81\r\nConnection: close\r\n\r\n");
	rewrite_is("GET http://[::1]/ HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nHost: [::1]\r\nConnection: close\r\n\r\n");
	/* Bare LFs come out as CRLF; names compare without case; values are kept as they were. */
	rewrite_is("POST http://h/x HTTP/1.1\nPROXY-CONNECTION: close\nHOST: h\nContent-Length: 3\nX-V:  a\tb \nconnection: X-V\n\n",
		   "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nConnection: close\r\n\r\n");
	rewrite_is("POST http://h/x HTTP/1.1\r\nX-V:  a\tb \r\nTransfer-Encoding: chunked\r\n\r\n",
		   "POST /x HTTP/1.1\r\nHost: h\r\nX-V:  a\tb \r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
	/* A name that merely starts like a dropped one stays. */
	rewrite_is("GET http://h/ HTTP/1.1\r\nHosts: 2\r\nTEx: 1\r\nConnection-X: 1\r\nConnection: X-Y\r\nX-Y-Z: 1\r\n\r\n",
		   "GET / HTTP/1.1\r\nHost: h\r\nHosts: 2\r\nTEx: 1\r\nConnection-X: 1\r\nX-Y-Z: 1\r\nConnection: close\r\n\r\n");
}

/* The most a head can grow: the shortest header lines with bare LFs, each gaining a CR. */
static void test_rewrite_max(void **state)
{
	static char req[WIRE_HTTP_HEAD_MAX], out[WIRE_HTTP_REWRITE_MAX];
	const char *start = "GET http://h/ HTTP/1.1\n";
	size_t n = strlen(start);
	memcpy(req, start, n);
	while (n + 3 + 1 <= sizeof req) {
		memcpy(req + n, "a:\n", 3);
		n += 3;
	}
	req[n++] = '\n';
	struct wire_http r;
	assert_int_equal(wire_http_parse(req, n, &r), WIRE_DONE);
	long got = wire_http_rewrite(req, n, &r, out, sizeof out);
	assert_true(got > (long)n);
	assert_true(got <= (long)sizeof out);
	assert_memory_equal(out + got - 4, "\r\n\r\n", 4);
}

static void test_rewrite_refused(void **state)
{
	char out[1024];
	struct wire_http r;
	const char *c = "CONNECT h:443 HTTP/1.1\r\n\r\n";
	assert_int_equal(hp(c, &r), WIRE_DONE);
	assert_int_equal(wire_http_rewrite(c, strlen(c), &r, out, sizeof out), -1);
	const char *g = "GET http://h/ HTTP/1.1\r\n\r\n";
	assert_int_equal(hp(g, &r), WIRE_DONE);
	/* Not the head r describes, or no head at all. */
	struct wire_http other = r;
	strcpy(other.host, "other");
	assert_int_equal(wire_http_rewrite(g, strlen(g), &other, out, sizeof out), -1);
	other = r;
	other.port = 81;
	assert_int_equal(wire_http_rewrite(g, strlen(g), &other, out, sizeof out), -1);
	assert_int_equal(wire_http_rewrite(g, strlen(g) - 1, &r, out, sizeof out), -1);
	assert_int_equal(wire_http_rewrite("GET / HTTP/1.1\r\n\r\n", 18, &r, out, sizeof out), -1);
	assert_int_equal(wire_http_rewrite(NULL, 0, &r, out, sizeof out), -1);
	assert_true(wire_http_rewrite(g, strlen(g), &r, out, sizeof out) > 0);
}

/* ---- HTTP: error responses ---------------------------------------------------------------------------- */

/* out[0..n) is one response: a status line, headers whose Content-Length is the body's length,
 * and the body. Returns the body (in a copy, NUL-terminated: out need not be). */
static const char *check_response(const char *resp, size_t n, int status)
{
	static char out[4096];
	assert_true(n < sizeof out);
	memcpy(out, resp, n);
	out[n] = '\0';
	char line[64];
	snprintf(line, sizeof line, "HTTP/1.1 %d ", status);
	assert_memory_equal(out, line, strlen(line));
	const char *end = strstr(out, "\r\n\r\n");
	assert_non_null(end);
	const char *body = end + 4;
	const char *cl = strstr(out, "\r\nContent-Length: ");
	assert_true(cl && cl < end);
	assert_int_equal(strtoul(cl + 18, NULL, 10), n - (size_t)(body - out));
	const char *conn = strstr(out, "\r\nConnection: close\r\n"), *ct = strstr(out, "\r\nContent-Type: text/plain");
	assert_true(conn && conn < end);
	assert_true(ct && ct < end);
	assert_memory_equal(body, "ajail: ", 7);
	assert_int_equal(out[n - 1], '\n');
	for (const char *p = body; p < out + n - 1; p++)
		assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
	/* Every line of the head ends in CRLF. */
	for (const char *p = out; p < body; p++)
		if (*p == '\n')
			assert_int_equal(p[-1], '\r');
	return body;
}

static void test_error(void **state)
{
	static const struct {
		int status;
		const char *reason;
	} st[] = {
		{ 400, "Bad Request" },
		{ 403, "Forbidden" },
		{ 405, "Method Not Allowed" },
		{ 407, "Proxy Authentication Required" },
		{ 414, "URI Too Long" },
		{ 431, "Request Header Fields Too Large" },
		{ 501, "Not Implemented" },
		{ 502, "Bad Gateway" },
		{ 503, "Service Unavailable" },
		{ 504, "Gateway Timeout" },
		{ 505, "HTTP Version Not Supported" },
	};
	char out[512], want[128];
	for (size_t i = 0; i < sizeof st / sizeof st[0]; i++) {
		size_t n = wire_http_error(st[i].status, "example.com is not allowed", out, sizeof out);
		assert_true(n > 0 && n < sizeof out);
		assert_int_equal(strlen(out), n);
		snprintf(want, sizeof want, "HTTP/1.1 %d %s\r\n", st[i].status, st[i].reason);
		assert_memory_equal(out, want, strlen(want));
		assert_string_equal(check_response(out, n, st[i].status), "ajail: example.com is not allowed\n");
	}
	size_t n = wire_http_error(407, "x", out, sizeof out);
	assert_non_null(strstr(out, "\r\nProxy-Authenticate: Basic realm=\"ajail\"\r\n"));
	/* Unknown statuses are 500; a NULL text is the reason phrase. */
	n = wire_http_error(299, "x", out, sizeof out);
	check_response(out, n, 500);
	n = wire_http_error(-1, NULL, out, sizeof out);
	assert_string_equal(check_response(out, n, 500), "ajail: Internal Server Error\n");
	n = wire_http_error(403, NULL, out, sizeof out);
	assert_string_equal(check_response(out, n, 403), "ajail: Forbidden\n");
	/* Control bytes are dropped: the text cannot add a header or a line. */
	n = wire_http_error(403, "a\r\nSet-Cookie: x\x1b[2J\x7f\tb\xc3\xa9", out, sizeof out);
	assert_string_equal(check_response(out, n, 403), "ajail: aSet-Cookie: x[2Jb\xc3\xa9\n");
}

static void test_error_truncated(void **state)
{
	char text[2000];
	memset(text, 'x', sizeof text - 1);
	text[sizeof text - 1] = '\0';
	char out[2200];
	size_t full = wire_http_error(403, text, out, sizeof out);
	check_response(out, full, 403);
	assert_true(wire_http_error(403, text, out, 256) > 0);
	for (size_t cap = 0; cap <= full + 1; cap++) {
		memset(out, '#', sizeof out);
		size_t n = wire_http_error(403, text, out, cap);
		assert_true(n <= cap);
		assert_int_equal(out[cap], '#');
		if (cap >= 256)
			assert_true(n > 0);
		if (n)
			check_response(out, n, 403);
		if (cap >= full)
			assert_int_equal(n, full);
	}
}

/* ---- SOCKS5 --------------------------------------------------------------------------------------- */

static void test_socks_greeting(void **state)
{
	size_t used;
	bool no_auth;
	const uint8_t g1[] = { 5, 1, 0, 0xAA };
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(wire_socks_greeting(g1, i, &used, &no_auth), WIRE_NEED_MORE);
	assert_int_equal(wire_socks_greeting(g1, sizeof g1, &used, &no_auth), WIRE_DONE);
	assert_int_equal(used, 3);
	assert_true(no_auth);
	const uint8_t g2[] = { 5, 2, 1, 2 };
	assert_int_equal(wire_socks_greeting(g2, sizeof g2, &used, &no_auth), WIRE_DONE);
	assert_int_equal(used, 4);
	assert_false(no_auth);
	const uint8_t g3[] = { 5, 3, 2, 1, 0 };
	assert_int_equal(wire_socks_greeting(g3, sizeof g3, &used, &no_auth), WIRE_DONE);
	assert_true(no_auth);
	const uint8_t g0[] = { 5, 0 };
	assert_int_equal(wire_socks_greeting(g0, sizeof g0, &used, &no_auth), WIRE_DONE);
	assert_int_equal(used, 2);
	assert_false(no_auth);
	uint8_t g255[257] = { 5, 255 };
	g255[256] = 0;
	for (int i = 2; i < 256; i++)
		g255[i] = 9;
	assert_int_equal(wire_socks_greeting(g255, 256, &used, &no_auth), WIRE_NEED_MORE);
	assert_int_equal(wire_socks_greeting(g255, 257, &used, &no_auth), WIRE_DONE);
	assert_true(no_auth);
	/* SOCKS4, and HTTP sent to the SOCKS port. */
	const uint8_t s4[] = { 4, 1, 0, 80, 127, 0, 0, 1, 0 };
	assert_int_equal(wire_socks_greeting(s4, 1, &used, &no_auth), WIRE_BAD);
	assert_int_equal(wire_socks_greeting(s4, sizeof s4, &used, &no_auth), WIRE_BAD);
	assert_int_equal(wire_socks_greeting((const uint8_t *)"GET ", 4, &used, &no_auth), WIRE_BAD);
	assert_int_equal(wire_socks_greeting((const uint8_t *)"CONNECT h:443", 13, &used, &no_auth), WIRE_BAD);
	assert_int_equal(wire_socks_greeting(hello_sni, sizeof hello_sni, &used, &no_auth), WIRE_BAD);
	assert_int_equal(used, 0);
}

/* req must be accepted, every prefix being NEED_MORE (from a copy of its own size). */
static void socks_ok(const uint8_t *req, size_t n, struct wire_socks *r)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t *p = malloc(i ? i : 1);
		memcpy(p, req, i);
		assert_int_equal(wire_socks_request(p, i, r), WIRE_NEED_MORE);
		free(p);
	}
	assert_int_equal(wire_socks_request(req, n, r), WIRE_DONE);
	assert_int_equal(r->used, n);
}

static void socks_refused(const uint8_t *req, size_t n, uint8_t reply)
{
	struct wire_socks r;
	assert_int_equal(wire_socks_request(req, n, &r), WIRE_BAD);
	assert_int_equal(r.reply, reply);
}

/* A CONNECT request for a domain name of n bytes. */
static size_t socks_domain(uint8_t *out, const char *name, size_t n, uint8_t cmd, uint16_t port)
{
	out[0] = 5;
	out[1] = cmd;
	out[2] = 0;
	out[3] = 3;
	out[4] = (uint8_t)n;
	memcpy(out + 5, name, n);
	out[5 + n] = (uint8_t)(port >> 8);
	out[6 + n] = (uint8_t)port;
	return 7 + n;
}

static void test_socks_request(void **state)
{
	struct wire_socks r;
	const uint8_t v4[] = { 5, 1, 0, 1, 192, 0, 2, 1, 0x01, 0xbb };
	socks_ok(v4, sizeof v4, &r);
	assert_int_equal(r.cmd, 1);
	assert_int_equal(r.atyp, 1);
	assert_string_equal(r.host, "192.0.2.1");
	assert_int_equal(r.port, 443);

	const uint8_t v6[] = { 5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 22 };
	socks_ok(v6, sizeof v6, &r);
	assert_int_equal(r.atyp, 4);
	assert_string_equal(r.host, "2001:db8::1");
	assert_int_equal(r.port, 22);

	uint8_t d[300];
	size_t n = socks_domain(d, "Example.COM.", 12, 1, 80);
	socks_ok(d, n, &r);
	assert_int_equal(r.atyp, 3);
	assert_string_equal(r.host, "example.com");
	assert_int_equal(r.port, 80);
	/* What follows the request (the tunnel's first bytes) is not part of it. */
	d[n] = 0x16;
	assert_int_equal(wire_socks_request(d, n + 1, &r), WIRE_DONE);
	assert_int_equal(r.used, n);

	/* An IPv6 literal sent as a name is taken as one; a 255-byte name is fine. */
	n = socks_domain(d, "::1", 3, 1, 80);
	socks_ok(d, n, &r);
	assert_string_equal(r.host, "::1");
	char name[256];
	memset(name, 'a', 255);
	n = socks_domain(d, name, 255, 1, 443);
	socks_ok(d, n, &r);
	assert_int_equal(strlen(r.host), 255);

	/* BIND and UDP ASSOCIATE are parsed and left to the caller; there port 0 is allowed. */
	const uint8_t udp[] = { 5, 3, 0, 1, 0, 0, 0, 0, 0, 0 };
	socks_ok(udp, sizeof udp, &r);
	assert_int_equal(r.cmd, 3);
	assert_int_equal(r.port, 0);
	const uint8_t bind[] = { 5, 2, 0, 1, 10, 0, 0, 1, 0x1f, 0x90 };
	socks_ok(bind, sizeof bind, &r);
	assert_int_equal(r.cmd, 2);
}

static void test_socks_refused(void **state)
{
	const uint8_t ver4[] = { 4, 1, 0, 1, 127, 0, 0, 1, 0, 80 };
	socks_refused(ver4, 1, 1);
	socks_refused(ver4, sizeof ver4, 1);
	socks_refused((const uint8_t *)"GET ", 4, 1);
	const uint8_t cmd0[] = { 5, 0, 0, 1 }, cmd4[] = { 5, 4 }, cmdff[] = { 5, 0xff, 0 };
	socks_refused(cmd0, sizeof cmd0, 7);
	socks_refused(cmd4, sizeof cmd4, 7);
	socks_refused(cmdff, sizeof cmdff, 7);
	const uint8_t rsv[] = { 5, 1, 1, 1, 127, 0, 0, 1, 0, 80 };
	socks_refused(rsv, 3, 1);
	const uint8_t atyp0[] = { 5, 1, 0, 0 }, atyp2[] = { 5, 1, 0, 2, 1, 2, 3, 4, 0, 80 }, atyp5[] = { 5, 1, 0, 5 };
	socks_refused(atyp0, sizeof atyp0, 8);
	socks_refused(atyp2, sizeof atyp2, 8);
	socks_refused(atyp5, sizeof atyp5, 8);
	const uint8_t port0[] = { 5, 1, 0, 1, 127, 0, 0, 1, 0, 0 };
	socks_refused(port0, sizeof port0, 1);

	uint8_t d[300];
	size_t n = socks_domain(d, "", 0, 1, 80);
	socks_refused(d, n, 1);
	socks_refused(d, 5, 1); /* refused as soon as the length byte says 0 */
	static const struct {
		const char *name;
		size_t n;
	} bad[] = {
		{ "exa\0mple.com", 12 }, { "example.com\0", 12 }, { "\0", 1 },       { "exa mple.com", 12 },
		{ "exa\nmple", 8 },      { "exa\x7fmple", 8 },    { "ex\xc3\xa9", 4 }, { "a..b", 4 },
		{ ".", 1 },              { "a/b", 3 },            { "a@b", 3 },        { "[::1]", 5 },
		{ "1::2::3", 7 },        { "fe80::1%eth0", 12 }, { "a:80", 4 },       { "..", 2 },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		n = socks_domain(d, bad[i].name, bad[i].n, 1, 80);
		socks_refused(d, n, 1);
	}
}

static void test_socks_reply(void **state)
{
	uint8_t out[10];
	memset(out, 0xee, sizeof out);
	wire_socks_reply(0, out);
	const uint8_t want0[10] = { 5, 0, 0, 1, 0, 0, 0, 0, 0, 0 };
	assert_memory_equal(out, want0, 10);
	wire_socks_reply(2, out);
	const uint8_t want2[10] = { 5, 2, 0, 1, 0, 0, 0, 0, 0, 0 };
	assert_memory_equal(out, want2, 10);
}

/* ---- TLS ------------------------------------------------------------------------------------------ */

/* buf is a ClientHello: every prefix is NEED_MORE, the whole of it want (with sni). */
static void tls_is(const uint8_t *buf, size_t n, enum wire_tls want, const char *sni)
{
	char got[WIRE_HOST_MAX + 1];
	for (size_t i = 0; i < n; i++) {
		uint8_t *p = malloc(i ? i : 1);
		memcpy(p, buf, i);
		enum wire_tls res = wire_tls_sni(p, i, got);
		if (res != WIRE_TLS_NEED_MORE)
			print_error("prefix %zu of %zu: %d\n", i, n, res);
		assert_int_equal(res, WIRE_TLS_NEED_MORE);
		free(p);
	}
	assert_int_equal(wire_tls_sni(buf, n, got), want);
	assert_string_equal(got, sni);
}

static void test_tls_real(void **state)
{
	tls_is(hello_sni, sizeof hello_sni, WIRE_TLS_SNI, "example.com");
	tls_is(hello_nosni, sizeof hello_nosni, WIRE_TLS_NO_SNI, "");
	tls_is(hello_tls12, sizeof hello_tls12, WIRE_TLS_SNI, "www.example.org");
	assert_true(sizeof hello_bigkey > 1200);
	tls_is(hello_bigkey, sizeof hello_bigkey, WIRE_TLS_SNI, "big.example.net");
	/* What follows the ClientHello (nothing should, but) does not matter. */
	uint8_t more[sizeof hello_sni + 3];
	memcpy(more, hello_sni, sizeof hello_sni);
	memcpy(more + sizeof hello_sni, "\x17\x03\x03", 3);
	char got[WIRE_HOST_MAX + 1];
	assert_int_equal(wire_tls_sni(more, sizeof more, got), WIRE_TLS_SNI);
	assert_string_equal(got, "example.com");
}

static void test_tls_not_tls(void **state)
{
	char got[WIRE_HOST_MAX + 1];
	assert_int_equal(wire_tls_sni((const uint8_t *)"GET / HTTP/1.1\r\n", 16, got), WIRE_TLS_NOT_TLS);
	assert_int_equal(wire_tls_sni((const uint8_t *)"SSH-2.0-OpenSSH\r\n", 17, got), WIRE_TLS_NOT_TLS);
	const uint8_t sslv2[] = { 0x80, 0x2e, 0x01, 0x00, 0x02 }, alert[] = { 0x15, 3, 3, 0, 2, 2, 40 };
	assert_int_equal(wire_tls_sni(sslv2, sizeof sslv2, got), WIRE_TLS_NOT_TLS);
	assert_int_equal(wire_tls_sni(alert, sizeof alert, got), WIRE_TLS_NOT_TLS);
	assert_int_equal(wire_tls_sni(hello_sni, 0, got), WIRE_TLS_NEED_MORE);
	assert_string_equal(got, "");
}

/* A ClientHello built field by field, for the lies real clients do not tell. */
struct hello {
	uint8_t b[20000];
	size_t n;
	size_t rec_len_at, hs_len_at, ext_len_at; /* where the length fields are */
};

static void put8(struct hello *h, unsigned v)
{
	h->b[h->n++] = (uint8_t)v;
}

static void put16(struct hello *h, unsigned v)
{
	put8(h, v >> 8);
	put8(h, v & 0xff);
}

static void put(struct hello *h, const void *p, size_t n)
{
	memcpy(h->b + h->n, p, n);
	h->n += n;
}

static void hello_begin(struct hello *h)
{
	memset(h, 0, sizeof *h);
	put8(h, 0x16);
	put16(h, 0x0301);
	h->rec_len_at = h->n;
	put16(h, 0);
	put8(h, 1);
	h->hs_len_at = h->n;
	put8(h, 0);
	put16(h, 0);
	put16(h, 0x0303);
	for (int i = 0; i < 32; i++)
		put8(h, (unsigned)i);
	put8(h, 32); /* session id */
	for (int i = 0; i < 32; i++)
		put8(h, 0xa0);
	put16(h, 4); /* cipher suites */
	put16(h, 0x1301);
	put16(h, 0xc02f);
	put8(h, 1); /* compression: null */
	put8(h, 0);
	h->ext_len_at = h->n;
	put16(h, 0);
}

/* An extension server_name with these (type, name) entries. */
static void hello_sni_ext(struct hello *h, const char *name, size_t n)
{
	put16(h, 0);
	put16(h, (unsigned)(n + 5));
	put16(h, (unsigned)(n + 3));
	put8(h, 0);
	put16(h, (unsigned)n);
	put(h, name, n);
}

static void hello_ext(struct hello *h, unsigned type, size_t n)
{
	put16(h, type);
	put16(h, (unsigned)n);
	for (size_t i = 0; i < n; i++)
		put8(h, 0x5a);
}

/* Fill in the three lengths from what was put. */
static void hello_end(struct hello *h)
{
	size_t rec = h->n - 5, hs = h->n - 9, ext = h->n - h->ext_len_at - 2;
	h->b[h->rec_len_at] = (uint8_t)(rec >> 8);
	h->b[h->rec_len_at + 1] = (uint8_t)rec;
	h->b[h->hs_len_at] = (uint8_t)(hs >> 16);
	h->b[h->hs_len_at + 1] = (uint8_t)(hs >> 8);
	h->b[h->hs_len_at + 2] = (uint8_t)hs;
	h->b[h->ext_len_at] = (uint8_t)(ext >> 8);
	h->b[h->ext_len_at + 1] = (uint8_t)ext;
}

static enum wire_tls tls(const struct hello *h, char *got)
{
	/* A copy of its own size: reading past the end shows under ASan. */
	uint8_t *p = malloc(h->n);
	memcpy(p, h->b, h->n);
	enum wire_tls res = wire_tls_sni(p, h->n, got);
	free(p);
	return res;
}

static void test_tls_built(void **state)
{
	static struct hello h;
	char got[WIRE_HOST_MAX + 1];

	hello_begin(&h);
	hello_ext(&h, 10, 4);
	hello_sni_ext(&h, "API.Example.net.", 16);
	hello_ext(&h, 43, 3);
	hello_end(&h);
	tls_is(h.b, h.n, WIRE_TLS_SNI, "api.example.net");

	/* No extensions at all (TLS 1.2 and before may do that). */
	hello_begin(&h);
	h.n -= 2;
	size_t rec = h.n - 5, hs = h.n - 9;
	h.b[3] = (uint8_t)(rec >> 8), h.b[4] = (uint8_t)rec;
	h.b[6] = 0, h.b[7] = (uint8_t)(hs >> 8), h.b[8] = (uint8_t)hs;
	tls_is(h.b, h.n, WIRE_TLS_NO_SNI, "");

	/* Empty extensions; other extensions only; an unknown name type only. */
	hello_begin(&h);
	hello_end(&h);
	tls_is(h.b, h.n, WIRE_TLS_NO_SNI, "");
	hello_begin(&h);
	hello_ext(&h, 0xff01, 1);
	hello_ext(&h, 21, 400);
	hello_end(&h);
	tls_is(h.b, h.n, WIRE_TLS_NO_SNI, "");
	hello_begin(&h);
	put16(&h, 0);
	put16(&h, 8);
	put16(&h, 6);
	put8(&h, 7);
	put16(&h, 3);
	put(&h, "abc", 3);
	hello_end(&h);
	tls_is(h.b, h.n, WIRE_TLS_NO_SNI, "");

	/* A name of 255 bytes fits; one of 256 does not. */
	char name[300];
	memset(name, 'b', sizeof name);
	hello_begin(&h);
	hello_sni_ext(&h, name, 255);
	hello_end(&h);
	assert_int_equal(tls(&h, got), WIRE_TLS_SNI);
	assert_int_equal(strlen(got), 255);
	hello_begin(&h);
	hello_sni_ext(&h, name, 256);
	hello_end(&h);
	assert_int_equal(tls(&h, got), WIRE_TLS_BAD);
	assert_string_equal(got, "");

	/* The largest record there is: accepted whole. */
	hello_begin(&h);
	hello_sni_ext(&h, "h", 1);
	hello_ext(&h, 21, 16384 - (h.n - 5) - 4);
	hello_end(&h);
	assert_int_equal(h.n, 16384 + 5);
	assert_int_equal(tls(&h, got), WIRE_TLS_SNI);
}

/* A hello whose name is name[0..n): BAD. */
static void tls_name_refused(const char *name, size_t n)
{
	static struct hello h;
	char got[WIRE_HOST_MAX + 1];
	hello_begin(&h);
	hello_sni_ext(&h, name, n);
	hello_end(&h);
	assert_int_equal(tls(&h, got), WIRE_TLS_BAD);
	assert_string_equal(got, "");
}

static void test_tls_refused(void **state)
{
	static struct hello h;
	char got[WIRE_HOST_MAX + 1];

	tls_name_refused("", 0);
	tls_name_refused("exa\0mple.com", 12);
	tls_name_refused("example.com\0", 12);
	tls_name_refused("exa mple.com", 12);
	tls_name_refused("exa\x01mple.com", 12);
	tls_name_refused("ex\xc3\xa9.com", 7);
	tls_name_refused("::1", 3);       /* no IP literal in SNI (RFC 6066) */
	tls_name_refused("[::1]", 5);
	tls_name_refused("a..b", 4);
	tls_name_refused("a/b", 3);
	tls_name_refused(".", 1);

	/* Two server_name extensions; two host_names in one. */
	hello_begin(&h);
	hello_sni_ext(&h, "a.example", 9);
	hello_sni_ext(&h, "b.example", 9);
	hello_end(&h);
	assert_int_equal(tls(&h, got), WIRE_TLS_BAD);
	assert_string_equal(got, "");
	hello_begin(&h);
	put16(&h, 0);
	put16(&h, 10);
	put16(&h, 8);
	put8(&h, 0);
	put16(&h, 1);
	put8(&h, 'a');
	put8(&h, 0);
	put16(&h, 1);
	put8(&h, 'b');
	hello_end(&h);
	assert_int_equal(tls(&h, got), WIRE_TLS_BAD);
	/* An empty ServerNameList. */
	hello_begin(&h);
	put16(&h, 0);
	put16(&h, 2);
	put16(&h, 0);
	hello_end(&h);
	assert_int_equal(tls(&h, got), WIRE_TLS_BAD);
	/* server_name with nothing in it (as a ServerHello sends it). */
	hello_begin(&h);
	hello_ext(&h, 0, 0);
	hello_end(&h);
	assert_int_equal(tls(&h, got), WIRE_TLS_BAD);

	/* Record and handshake headers. */
	uint8_t b[64];
	memcpy(b, hello_sni, sizeof b);
	b[1] = 2;
	assert_int_equal(wire_tls_sni(b, 2, got), WIRE_TLS_BAD);
	memcpy(b, hello_sni, sizeof b);
	b[5] = 2; /* ServerHello */
	assert_int_equal(wire_tls_sni(b, 6, got), WIRE_TLS_BAD);
	memcpy(b, hello_sni, sizeof b);
	b[3] = 0x40, b[4] = 0x01; /* 16385 */
	assert_int_equal(wire_tls_sni(b, 5, got), WIRE_TLS_BAD);
	b[3] = 0, b[4] = 3;
	assert_int_equal(wire_tls_sni(b, 5, got), WIRE_TLS_BAD);
	b[3] = 0, b[4] = 0;
	assert_int_equal(wire_tls_sni(b, 5, got), WIRE_TLS_BAD);
}

/* One length of a built hello changed: a lie in either direction is BAD. */
static void test_tls_lying_lengths(void **state)
{
	static struct hello base, h;
	char got[WIRE_HOST_MAX + 1];
	hello_begin(&base);
	hello_ext(&base, 10, 4);
	hello_sni_ext(&base, "example.com", 11);
	hello_ext(&base, 43, 3);
	hello_end(&base);
	assert_int_equal(tls(&base, got), WIRE_TLS_SNI);

	/* Offsets of the length fields in base. */
	size_t sid = 9 + 2 + 32, cs = sid + 1 + 32, comp = cs + 2 + 4, ext = comp + 2;
	size_t sni_ext = ext + 2 + 8 + 2, sni_list = sni_ext + 2, sni_name = sni_list + 2 + 1;
	assert_int_equal(base.b[sni_name + 1], 11);
	struct {
		size_t at;
		int width;
	} fields[] = {
		{ 3, 2 }, { 6, 3 }, { sid, 1 }, { cs, 2 }, { comp, 1 }, { ext, 2 }, { sni_ext, 2 }, { sni_list, 2 }, { sni_name, 2 },
	};
	for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
		for (int delta = -3; delta <= 3; delta++) {
			if (!delta)
				continue;
			h = base;
			size_t at = fields[f].at + (size_t)fields[f].width - 1;
			/* Change the low byte (the values here are all small enough not to wrap). */
			h.b[at] = (uint8_t)(h.b[at] + delta);
			enum wire_tls res = tls(&h, got);
			if (res != WIRE_TLS_BAD)
				print_error("field %zu delta %d: %d\n", f, delta, res);
			assert_int_equal(res, WIRE_TLS_BAD);
			assert_string_equal(got, "");
		}
	}
	/* The record shorter than the handshake it holds. */
	h = base;
	h.b[4] = (uint8_t)(h.b[4] - 1);
	assert_int_equal(tls(&h, got), WIRE_TLS_BAD);
	/* A session id of 33 bytes (and the handshake grown to match). */
	h = base;
	h.b[sid] = 33;
	assert_int_equal(tls(&h, got), WIRE_TLS_BAD);
	/* Truncated anywhere: NEED_MORE, never a read past the end. */
	for (size_t n = 0; n < base.n; n++) {
		h = base;
		h.n = n;
		assert_int_equal(tls(&h, got), WIRE_TLS_NEED_MORE);
	}
	/* Truncated real hellos, their lengths all claiming more than arrived. */
	for (size_t n = 0; n < sizeof hello_bigkey; n += 7)
		assert_int_equal(wire_tls_sni(hello_bigkey, n, got), WIRE_TLS_NEED_MORE);
}

#define T(f) cmocka_unit_test(f)

/* The framing and the client's wish the proxy needs for keep-alive, and the rewrite that keeps the
 * origin connection open. */
static void test_keep_alive(void **state)
{
	(void)state;
	struct wire_http r;
	http_ok("GET http://a.example/ HTTP/1.1\r\nContent-Length: 5\r\n\r\n", &r);
	assert_true(r.keep_alive);
	assert_false(r.chunked);
	assert_int_equal(r.content_length, 5);
	http_ok("POST http://a.example/ HTTP/1.1\r\nContent-Length: 123456789012\r\n\r\n", &r);
	assert_true(r.content_length == UINT64_C(123456789012));
	http_ok("GET http://a.example/ HTTP/1.1\r\nConnection: x-foo, Close\r\n\r\n", &r);
	assert_false(r.keep_alive);
	http_ok("GET http://a.example/ HTTP/1.0\r\n\r\n", &r);
	assert_false(r.keep_alive);
	http_ok("GET http://a.example/ HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r);
	assert_true(r.keep_alive);
	http_ok("POST http://a.example/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &r);
	assert_true(r.chunked);
	assert_int_equal(r.content_length, 0);

	const char *req = "GET http://a.example:8080/x HTTP/1.1\r\nConnection: keep-alive\r\nAccept: */*\r\n\r\n";
	http_ok(req, &r);
	char out[WIRE_HTTP_REWRITE_MAX];
	r.keep_alive_out = true;
	long n = wire_http_rewrite(req, strlen(req), &r, out, sizeof out);
	assert_true(n > 0);
	out[n] = '\0';
	assert_string_equal(out, "GET /x HTTP/1.1\r\nHost: a.example:8080\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n");
	r.keep_alive_out = false;
	n = wire_http_rewrite(req, strlen(req), &r, out, sizeof out);
	out[n] = '\0';
	assert_string_equal(out, "GET /x HTTP/1.1\r\nHost: a.example:8080\r\nAccept: */*\r\nConnection: close\r\n\r\n");
	/* A new parse forgets the caller's flag. */
	r.keep_alive_out = true;
	http_ok(req, &r);
	assert_false(r.keep_alive_out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_connect),
		T(test_keep_alive),
		T(test_connect_refused),
		T(test_host_length),
		T(test_absolute),
		T(test_absolute_refused),
		T(test_request_line_refused),
		T(test_target_too_long),
		T(test_line_ends),
		T(test_header_refused),
		T(test_framing),
		T(test_incremental),
		T(test_early_refusal),
		T(test_head_limit),
		T(test_rewrite),
		T(test_rewrite_max),
		T(test_rewrite_refused),
		T(test_error),
		T(test_error_truncated),
		T(test_socks_greeting),
		T(test_socks_request),
		T(test_socks_refused),
		T(test_socks_reply),
		T(test_tls_real),
		T(test_tls_not_tls),
		T(test_tls_built),
		T(test_tls_refused),
		T(test_tls_lying_lengths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
