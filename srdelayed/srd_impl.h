/* srd_impl.h - what srd_parse.c and srd_write.c share; private to srdelayed/. */
#ifndef SYSRECOVER_SRD_IMPL_H
#define SYSRECOVER_SRD_IMPL_H

#include <stddef.h>
#include <stdint.h>

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid
 * (overlong, surrogate, beyond U+10FFFF); the code point into *cp when cp is
 * not NULL.  One rule for reading and writing, so what we write reads back. */
size_t srd_utf8_seq(const uint8_t *s, size_t n, uint32_t *cp);

#endif
