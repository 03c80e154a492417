/* hash.c - SHA-256 through nettle, and strict hex (hash.h). */
#include <errno.h>

#include "hash.h"

void hash_sha256_init(struct hash_sha256 *h)
{
	sha256_init(&h->ctx);
}

void hash_sha256_update(struct hash_sha256 *h, const void *p, size_t n)
{
	sha256_update(&h->ctx, n, p);
}

void hash_sha256_final(struct hash_sha256 *h, uint8_t out[HASH_SHA256_LEN])
{
	sha256_digest(&h->ctx, HASH_SHA256_LEN, out);
}

void hash_hex(const uint8_t *p, size_t n, char *out)
{
	static const char digit[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digit[p[i] >> 4];
		out[2 * i + 1] = digit[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int lower_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int hash_unhex(const char *hex, size_t hexlen, uint8_t *out, size_t n)
{
	if (hexlen != 2 * n)
		return -EINVAL;
	/* checked whole first: a failure leaves out as it was */
	for (size_t i = 0; i < hexlen; i++)
		if (lower_hex(hex[i]) < 0)
			return -EINVAL;
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(lower_hex(hex[2 * i]) << 4 | lower_hex(hex[2 * i + 1]));
	return 0;
}
