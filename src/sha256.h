/* sha256.h — SHA-256 (FIPS 180-4), small and pure. ajail hashes a project's .ajail.conf to remember
 * which content the user trusted; the run path links no crypto library for that (start-up latency,
 * and one less library to load in every jail's parent). Not for secrets: no constant-time claims. */
#ifndef AJAIL_SHA256_H
#define AJAIL_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_HEX_LEN 64

struct sha256 {
	uint32_t h[8];
	uint64_t bytes;      /* total length so far */
	uint8_t block[64];
	size_t fill;         /* bytes waiting in block */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t n);
void sha256_final(struct sha256 *s, uint8_t out[SHA256_LEN]);

/* One shot, as lowercase hex: out gets 64 digits and a NUL. */
void sha256_hex(const void *data, size_t n, char out[SHA256_HEX_LEN + 1]);

#endif
