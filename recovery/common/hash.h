/* hash.h - SHA-256 (through nettle) and strict hex, for the checksums of the
 * set label and catalog and of member data.
 *
 * nettle rather than libcrypto: libarchive on Debian already links it, and
 * it is about 300 KB against libcrypto's 4.5 MB in a rescue initramfs whose
 * budget is 16 MiB.
 */
#ifndef SYSRECOVER_HASH_H
#define SYSRECOVER_HASH_H

#include <stddef.h>
#include <stdint.h>

#include <nettle/sha2.h>

#define HASH_SHA256_LEN 32
#define HASH_SHA256_HEX (2 * HASH_SHA256_LEN)

struct hash_sha256 {
	struct sha256_ctx ctx;
};

void hash_sha256_init(struct hash_sha256 *h);
void hash_sha256_update(struct hash_sha256 *h, const void *p, size_t n);
/* The digest into out; h is reset, ready for a new message. */
void hash_sha256_final(struct hash_sha256 *h, uint8_t out[HASH_SHA256_LEN]);

/* n bytes as 2n lowercase hex digits and a NUL into out (2n + 1 bytes). */
void hash_hex(const uint8_t *p, size_t n, char *out);
/* Exactly 2n lowercase hex digits (hexlen must be 2n) into n bytes of out:
 * 0, or -EINVAL for any other length or character (uppercase included: a
 * checksum has one spelling), out untouched. */
int hash_unhex(const char *hex, size_t hexlen, uint8_t *out, size_t n);

#endif
