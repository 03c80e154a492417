/* text.h - text as sysrecover meets it: UTF-8 with one validity rule,
 * UTF-16LE (the registry, NTFS, srdelayed files), JSON strings and names
 * printed safely on a terminal, and sizes on the command line.
 *
 * The one validity rule for UTF-8 (RFC 3629): no overlong forms, no
 * surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no truncated
 * sequence.  Every decoder in the tree goes through text_utf8_seq().
 */
#ifndef SYSRECOVER_TEXT_H
#define SYSRECOVER_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Length of the valid UTF-8 sequence at s, which has n bytes left (1 for
 * ASCII), 0 when s starts no valid sequence.  *cp (may be NULL) gets the
 * code point. */
size_t text_utf8_seq(const unsigned char *s, size_t n, uint32_t *cp);
/* The same on a NUL-terminated string (a NUL ends any sequence early). */
size_t text_utf8_len(const unsigned char *s);
/* s (n bytes) is valid UTF-8 throughout. */
bool text_utf8_valid(const char *s, size_t n);
/* Encode cp (<= U+10FFFF) into o; returns 1..4. */
size_t text_utf8_put(char *o, uint32_t cp);

/* text_utf16le_to_utf8 flags. */
enum {
	TEXT_STOP_AT_NUL = 1u << 0, /* a U+0000 unit ends the string */
	TEXT_STRICT = 1u << 1,      /* an unpaired surrogate or an odd byte
				     * is -EILSEQ; otherwise U+FFFD and the
				     * odd byte is dropped (hive names) */
};

/* len bytes of UTF-16LE into a new NUL-terminated UTF-8 string (*outlen,
 * may be NULL, gets its length).  0, -EILSEQ (TEXT_STRICT) or -ENOMEM. */
int text_utf16le_to_utf8(const uint8_t *p, size_t len, unsigned flags,
			 char **out, size_t *outlen);
/* n bytes of UTF-8 into new UTF-16LE, with one NUL unit appended when
 * add_nul (counted in *outlen).  0, -EILSEQ on invalid UTF-8, or -ENOMEM. */
int text_utf8_to_utf16le(const char *s, size_t n, bool add_nul, uint8_t **out,
			 size_t *outlen);

/* s as a JSON string, quotes included: '"', '\\' and control bytes
 * escaped, bytes that are not UTF-8 replaced by \ufffd (JSON text must be
 * Unicode; names from a hostile volume need not be). */
void text_json_str(FILE *f, const char *s);
/* A name from a volume, a tape or a hive, printed so that it cannot drive
 * the terminal: control bytes (C0 and C1), DEL and bytes that are not UTF-8
 * become \xNN; everything else, valid UTF-8 included, is printed as it is.
 * A backslash is not doubled: Windows and registry paths are full of them
 * and must stay readable.  The price: a name holding the four characters
 * "\x01" prints like one holding the byte 0x01; --json output is exact. */
void text_name(FILE *f, const char *s);

/* Parse a count or size: decimal digits with an optional k, M, G or T
 * suffix (binary multiples, as mt and dd take them).  Signed when
 * allow_neg. */
bool text_parse_size(const char *s, bool allow_neg, int64_t *out);

/* The process's locale, whatever $LANG says: C, with LC_CTYPE C.UTF-8 where
 * it is installed.  libarchive converts every name between a pax header's
 * UTF-8 and LC_CTYPE, so without this the same tree made a different set
 * (UTF-8 names, or "hdrcharset=BINARY") depending on the caller's $LANG,
 * and a set read in the C locale failed on a non-ASCII name.  Called at
 * start and again after libntfs-3g's ntfs_set_locale(), which sets LC_ALL
 * from the environment. */
void text_locale_init(void);

#endif
