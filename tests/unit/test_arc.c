/* test_arc.c - the set label and the catalog (arc.h) and SHA-256 (hash.h):
 * round trips with hostile names, a GNU tar header told apart from a label,
 * every single-byte corruption refused, newer formats refused, a catalog of
 * 10,000 members through records of 1, 7, 512 and 4096 bytes, cut off,
 * flipped, out of order, and a reader whose memory does not grow.  The
 * label's checksum is checked with sha256sum, not with our own hash. */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arc.h"
#include "buf.h"
#include "err.h"
#include "harness.h"
#include "hash.h"

/* ---- hash ------------------------------------------------------------------ */

static void sha_hex(const void *p, size_t n, char hex[65])
{
	struct hash_sha256 h;
	uint8_t d[32];

	hash_sha256_init(&h);
	hash_sha256_update(&h, p, n);
	hash_sha256_final(&h, d);
	hash_hex(d, 32, hex);
}

/* FIPS 180-2, appendix B.1 and B.2, and the empty message. */
static void test_hash_kat(void **state)
{
	char hex[65];
	uint8_t d[32], d2[32];

	(void)state;
	sha_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
	assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	sha_hex("", 0, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_int_equal(hash_unhex(hex, 64, d, 32), 0);
	hash_hex(d, 32, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	memcpy(d2, d, 32);
	hex[5] = 'C';  /* one spelling only */
	assert_int_equal(hash_unhex(hex, 64, d, 32), -EINVAL);
	assert_memory_equal(d, d2, 32);
	assert_int_equal(hash_unhex(hex, 63, d, 32), -EINVAL);
	assert_int_equal(hash_unhex("0g", 2, d, 1), -EINVAL);
}

/* ---- label ----------------------------------------------------------------- */

static void sample_label(struct arc_label *l)
{
	memset(l, 0, sizeof(*l));
	l->version = ARC_FORMAT_VERSION;
	strcpy(l->uuid, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
	l->created = 1795701600;  /* 2026-11-26T14:00:00Z */
	strcpy(l->host, "rescue host\n%20\t\x01\xff end ");
	strcpy(l->tool, "sysrecover 0.3.0 (git 6c26c62)");
	l->record_size = ARC_RECORD_DEFAULT;
	l->tape_file = 3;
	l->tape_no = 1;
	l->flags = ARC_SET_SYSTEM_STATE | ARC_SET_PARTIAL;
	l->nvol = 3;
	strcpy(l->vol[0].id, "v0");
	strcpy(l->vol[0].fstype, "ext4");
	strcpy(l->vol[0].uuid, "5b0a9c6e-1d2f-4e3a-9b8c-7d6e5f4a3b2c");
	strcpy(l->vol[0].label, "my root\tdisk %41 \n\x7f\xc3\xa9\xc3 caf\xc3\xa9");
	strcpy(l->vol[0].source, "/dev/disk/by-label/my root");
	l->vol[0].size = UINT64_MAX;
	l->vol[0].used = 12345;
	strcpy(l->vol[1].id, "v1");
	strcpy(l->vol[1].fstype, "ntfs");
	strcpy(l->vol[1].source, "img@2");
	l->vol[1].size = 1 << 30;
	strcpy(l->vol[2].id, "v2");
	strcpy(l->vol[2].fstype, "dir");
	strcpy(l->vol[2].source, "/srv/a=b c");
	l->vol[2].used = 7;
}

static size_t format_ok(const struct arc_label *l, char *buf, size_t cap)
{
	struct err err = { 0 };
	size_t len = 0;
	int rc = arc_label_format(l, buf, cap, &len, &err);

	if (rc)
		fail_msg("format: %d %s", rc, err.msg);
	return len;
}

static void test_label_roundtrip(void **state)
{
	static struct arc_label l, back;
	static char buf[ARC_LABEL_MAX];
	struct err err = { 0 };
	char out[256];
	size_t len;
	FILE *f;

	(void)state;
	sample_label(&l);
	len = format_ok(&l, buf, sizeof(buf));
	assert_int_equal(arc_label_parse(buf, len, &back, &err), 1);
	assert_memory_equal(&l, &back, sizeof(l));
	assert_non_null(strstr(buf, "\ncreated: 2026-11-26T14:00:00Z\n"));
	assert_non_null(strstr(buf, "\nflags: system-state,partial\n"));
	assert_non_null(strstr(buf, "\n  mt -f /dev/nst0 asf 4\n  tar -x -v -b 512 -f /dev/nst0\n"));
	assert_non_null(strstr(buf, "label=my%20root%09disk%20%2541%20%0A%7F\xc3\xa9%C3%20caf\xc3\xa9 "));
	/* padded by a fixed-block drive */
	memset(buf + len, 0, 100);
	assert_int_equal(arc_label_parse(buf, len + 100, &back, &err), 1);
	assert_memory_equal(&l, &back, sizeof(l));
	/* the checksum line, checked with a tool that is not ours */
	f = fopen(th_path("label"), "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
	assert_int_equal(th_sh_out(out, sizeof(out), "head -n -1 %s | sha256sum | cut -c1-64",
				   th_path("label")), 0);
	assert_int_equal(th_sh("tail -n 1 %s | grep -qx 'sha256: %.64s'", th_path("label"), out), 0);
	/* none, and no volumes */
	l.flags = 0;
	l.nvol = 0;
	memset(l.vol, 0, sizeof(l.vol));
	len = format_ok(&l, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\nflags: none\nvolumes: 0\n\n"));
	assert_int_equal(arc_label_parse(buf, len, &back, &err), 1);
	assert_memory_equal(&l, &back, sizeof(l));
}

static void test_label_format_refuses(void **state)
{
	static struct arc_label l;
	static char buf[ARC_LABEL_MAX];
	struct err err = { 0 };
	size_t len;

	(void)state;
	sample_label(&l);
	assert_int_equal(arc_label_format(&l, buf, 100, &len, &err), -ENOSPC);
	strcpy(l.vol[1].id, "v0");
	assert_int_equal(arc_label_format(&l, buf, sizeof(buf), &len, &err), -EINVAL);
	assert_int_equal(err.code, ERR_INTERNAL);
	sample_label(&l);
	strcpy(l.vol[1].id, "a/b");
	assert_int_equal(arc_label_format(&l, buf, sizeof(buf), &len, &err), -EINVAL);
	sample_label(&l);
	l.uuid[3] = 'x';
	assert_int_equal(arc_label_format(&l, buf, sizeof(buf), &len, &err), -EINVAL);
	sample_label(&l);
	l.record_size = 1000;
	assert_int_equal(arc_label_format(&l, buf, sizeof(buf), &len, &err), -EINVAL);
	sample_label(&l);
	l.nvol = ARC_VOL_MAX + 1;
	assert_int_equal(arc_label_format(&l, buf, sizeof(buf), &len, &err), -EINVAL);
}

/* A tape file written by GNU tar is not a label, and not a damaged one. */
static void test_label_not_tar(void **state)
{
	static struct arc_label l;
	static char rec[10240];
	struct err err = { 0 };
	FILE *f;
	size_t n;

	(void)state;
	th_must("cd %s && echo hi >SYSRECOVER && tar -cf t.tar SYSRECOVER", th_tmpdir());
	f = fopen(th_path("t.tar"), "rb");
	assert_non_null(f);
	n = fread(rec, 1, sizeof(rec), f);
	fclose(f);
	assert_true(n >= 512);
	assert_int_equal(arc_label_parse(rec, n, &l, &err), 0);
	assert_int_equal(arc_label_parse(rec, 0, &l, &err), 0);
	assert_int_equal(arc_label_parse("SYSRECOVER BACKUP SET LABEL", 27, &l, &err), 0);
}

/* Every byte flipped in three ways, and every truncation: refused, or not
 * a label, never a different label, never a crash. */
static void test_label_corrupt(void **state)
{
	static struct arc_label l, back;
	static char good[ARC_LABEL_MAX], bad[ARC_LABEL_MAX];
	static const uint8_t flip[] = { 0x01, 0x20, 0x80 };
	struct err err = { 0 };
	size_t len;
	int rc;

	(void)state;
	sample_label(&l);
	len = format_ok(&l, good, sizeof(good));
	for (size_t i = 0; i < len; i++) {
		for (size_t k = 0; k < sizeof(flip); k++) {
			memcpy(bad, good, len);
			bad[i] = (char)(bad[i] ^ flip[k]);
			rc = arc_label_parse(bad, len, &back, &err);
			if (rc > 0)
				fail_msg("byte %zu ^ %#x accepted", i, flip[k]);
			if (rc < 0 && !err.msg[0])
				fail_msg("byte %zu: no message", i);
		}
	}
	for (size_t n = 0; n < len; n++)
		assert_true(arc_label_parse(good, n, &back, &err) <= 0);
	/* the message names the set and what is wrong */
	memcpy(bad, good, len);
	bad[len - 10] = bad[len - 10] == '0' ? '1' : '0';
	assert_int_equal(arc_label_parse(bad, len, &back, &err), -EINVAL);
	assert_int_equal(err.code, ERR_CORRUPT);
	assert_non_null(strstr(err.msg, "label of set 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0 is damaged"));
	assert_non_null(strstr(err.msg, "checksum"));
	/* junk after the text that is not padding */
	memcpy(bad, good, len);
	bad[len] = 'x';
	assert_int_equal(arc_label_parse(bad, len + 1, &back, &err), -EINVAL);
}

static void test_label_newer(void **state)
{
	static struct arc_label l, back;
	static char buf[ARC_LABEL_MAX];
	struct err err = { 0 };
	char *f;
	size_t len;

	(void)state;
	sample_label(&l);
	len = format_ok(&l, buf, sizeof(buf));
	f = strstr(buf, "format: 1\n");
	assert_non_null(f);
	f[8] = '2';
	assert_true(arc_label_parse(buf, len, &back, &err) < 0);
	assert_int_equal(err.code, ERR_REFUSED);
	assert_non_null(strstr(err.msg, "format 2"));
	assert_non_null(strstr(err.msg, "newer sysrecover"));
}

/* ---- catalog ---------------------------------------------------------------- */

static const char *const odd[] = {
	"a b", "tab\there", "new\nline", "100%", "\xff\xfe", "caf\xc3\xa9", "\x7f", "-",
	"END 1 x", "%41", "\xed\xa0\x80 surrogate", "\xe2\x80\xae rlo",
};
#define NODD (sizeof(odd) / sizeof(odd[0]))

struct names {
	char path[300], target[300];
};

static void gen(uint64_t i, struct arc_entry *e, struct names *nm)
{
	memset(e, 0, sizeof(*e));
	e->index = i;
	e->vol = (uint32_t)(i % 3);
	e->type = (enum arc_type)"fdlhcbpsa"[i % 9];
	e->flags = (uint32_t)(i % 16) & ~(uint32_t)ARC_M_COPY;
	e->size = i * 7919 + (i % 5 ? 0 : UINT64_MAX - 100000000);
	e->has_hash = i % 2;
	if (e->type == ARC_T_FILE && i % 2) /* a copy: a file with a hash, naming its holder */
		e->flags |= ARC_M_COPY;
	if (e->type == ARC_T_FILE && !(e->flags & ARC_M_COPY) && i % 36 == 18)
		e->flags |= ARC_M_SIS;   /* a SIS link: with its store file's member, or none */
	for (size_t k = 0; k < 32 && e->has_hash; k++)
		e->sha256[k] = (uint8_t)(i * 31 + k);
	e->pos = (struct arc_pos){ .partition = (uint32_t)(i % 2), .file = 1, .block = i / 3,
				   .lblock = i % 5 ? i * 11 : UINT64_MAX,
				   .offset = (uint32_t)(i * 512 % 262144) };
	snprintf(nm->path, sizeof(nm->path), "/d%" PRIu64 "/%s.%" PRIu64, i % 97, odd[i % NODD], i);
	e->path = nm->path;
	if (e->type == ARC_T_SYMLINK || e->type == ARC_T_HARDLINK || (e->flags & ARC_M_COPY) ||
	    ((e->flags & ARC_M_SIS) && i % 72 == 18)) {
		snprintf(nm->target, sizeof(nm->target), "../t %" PRIu64 "%s", i, odd[(i + 3) % NODD]);
		e->target = nm->target;
	}
}

static int put_buf(void *arg, const void *rec, size_t len)
{
	buf_add(arg, rec, len);
	return 0;
}

/* A catalog of n generated members into b, in records of rs bytes; every
 * record but the last is exactly rs. */
static void write_cat(struct buf *b, uint64_t n, uint32_t rs)
{
	struct arc_catw *w;
	struct err err = { 0 };
	struct arc_entry e;
	struct names nm;
	uint64_t count = 0;

	assert_int_equal(arc_catw_open(&w, rs, put_buf, b, &err), 0);
	for (uint64_t i = 0; i < n; i++) {
		gen(i, &e, &nm);
		if (arc_catw_add(w, &e))
			fail_msg("add %" PRIu64 ": %s", i, err.msg);
	}
	assert_int_equal(arc_catw_close(w, &count), 0);
	assert_int_equal(count, n);
	assert_int_equal(b->rc, 0);
}

struct check {
	uint64_t seen;
	size_t heap_first, heap_max;
	bool measure;
};

static int check_cb(void *arg, const struct arc_entry *e)
{
	struct check *c = arg;
	struct arc_entry want;
	struct names nm;

	gen(c->seen, &want, &nm);
	assert_int_equal(e->index, want.index);
	assert_int_equal(e->vol, want.vol);
	assert_int_equal(e->type, want.type);
	assert_int_equal(e->flags, want.flags);
	assert_int_equal(e->size, want.size);
	assert_int_equal(e->has_hash, want.has_hash);
	assert_memory_equal(e->sha256, want.sha256, 32);
	assert_memory_equal(&e->pos, &want.pos, sizeof(want.pos));
	assert_string_equal(e->path, want.path);
	if (want.target)
		assert_string_equal(e->target, want.target);
	else
		assert_null(e->target);
	if (c->measure) {
		size_t heap = mallinfo2().uordblks;

		if (!c->seen)
			c->heap_first = heap;
		if (heap > c->heap_max)
			c->heap_max = heap;
	}
	c->seen++;
	return 0;
}

/* Feed b in chunks of `chunk` bytes; the reader's result. */
static int read_cat(const struct buf *b, size_t chunk, struct check *c, struct err *err)
{
	struct arc_catr *r;
	uint64_t count = 0;
	int rc = 0;

	assert_int_equal(arc_catr_open(&r, check_cb, c, err), 0);
	for (size_t off = 0; off < b->n && !rc; off += chunk)
		rc = arc_catr_feed(r, b->d + off, b->n - off < chunk ? b->n - off : chunk);
	if (rc) {
		arc_catr_abort(r);
		return rc;
	}
	rc = arc_catr_close(r, &count);
	if (!rc)
		assert_int_equal(count, c->seen);
	return rc;
}

static void test_catalog_roundtrip(void **state)
{
	static const uint32_t rs[] = { 1, 7, 512, 4096, ARC_RECORD_DEFAULT };
	static const size_t chunks[] = { 1, 3, 512, 65536, 1 << 30 };

	(void)state;
	for (size_t k = 0; k < sizeof(rs) / sizeof(rs[0]); k++) {
		struct buf b = { 0 };
		struct err err = { 0 };
		struct check c = { 0 };
		uint64_t n = rs[k] < 512 ? 2000 : 10000;

		write_cat(&b, n, rs[k]);
		assert_memory_equal(b.d, "SYSRECOVER CATALOG 1\n0\t0\tf\t-\t", 29);
		if (read_cat(&b, rs[k] == 1 ? 1 : rs[k], &c, &err))
			fail_msg("record size %u: %s", rs[k], err.msg);
		assert_int_equal(c.seen, n);
		c = (struct check){ 0 };
		if (read_cat(&b, chunks[k], &c, &err))
			fail_msg("chunk %zu: %s", chunks[k], err.msg);
		assert_int_equal(c.seen, n);
		buf_free(&b);
	}
}

static uint64_t nput;
static int put_count(void *arg, const void *rec, size_t len)
{
	(void)arg;
	(void)rec;
	(void)len;
	return ++nput == 3 ? -EIO : 0;
}

static void test_catalog_writer_refuses(void **state)
{
	struct arc_catw *w;
	struct err err = { 0 };
	struct arc_entry e;
	struct names nm;
	char *longp;

	(void)state;
	assert_int_equal(arc_catw_open(&w, 512, put_count, NULL, &err), 0);
	gen(1, &e, &nm);
	assert_int_equal(arc_catw_add(w, &e), -EINVAL);  /* index 1 first */
	assert_int_equal(err.code, ERR_INTERNAL);
	gen(0, &e, &nm);
	e.path = "relative";
	assert_int_equal(arc_catw_add(w, &e), -EINVAL);
	gen(0, &e, &nm);
	e.target = "x";  /* a file with a target */
	assert_int_equal(arc_catw_add(w, &e), -EINVAL);
	longp = malloc(30000);
	assert_non_null(longp);
	memset(longp, ' ', 29999);  /* 3 bytes each escaped: past a line */
	longp[0] = '/';
	longp[29999] = '\0';
	gen(0, &e, &nm);
	e.path = longp;
	assert_int_equal(arc_catw_add(w, &e), -ENAMETOOLONG);
	assert_int_equal(err.level, ERR_ITEM);
	free(longp);
	/* the writer goes on after a refused member; a failed put sticks */
	nput = 0;
	for (uint64_t i = 0; i < 100; i++) {
		int rc;

		gen(i, &e, &nm);
		rc = arc_catw_add(w, &e);
		if (rc) {
			assert_int_equal(rc, -EIO);
			break;
		}
	}
	assert_non_null(strstr(err.msg, "cannot write catalog record 2"));
	assert_int_equal(arc_catw_add(w, &e), -EIO);
	assert_int_equal(arc_catw_close(w, NULL), -EIO);
}

static int count_cb(void *arg, const struct arc_entry *e)
{
	(void)e;
	++*(uint64_t *)arg;
	return 0;
}

/* Any catalog text, fed in one piece, members only counted: the result. */
static int read_raw(const void *p, size_t n, uint64_t *seen, struct err *err)
{
	struct arc_catr *r;
	int rc;

	*seen = 0;
	err_clear(err);
	assert_int_equal(arc_catr_open(&r, count_cb, seen, err), 0);
	rc = arc_catr_feed(r, p, n);
	if (rc) {
		arc_catr_abort(r);
		return rc;
	}
	return arc_catr_close(r, NULL);
}

/* Every byte of a small catalog flipped: refused by feed or by close. */
static void test_catalog_corrupt(void **state)
{
	struct buf b = { 0 };
	struct err err = { 0 };
	struct check c = { 0 };

	(void)state;
	write_cat(&b, 40, 512);
	uint64_t seen;

	for (size_t i = 0; i < b.n; i++) {
		for (unsigned k = 1; k < 256; k <<= 1) {
			b.d[i] ^= (unsigned char)k;
			if (read_raw(b.d, b.n, &seen, &err) == 0)
				fail_msg("byte %zu ^ %#x: accepted", i, k);
			if (err.code != ERR_CORRUPT && err.code != ERR_REFUSED)
				fail_msg("byte %zu ^ %#x: %s", i, k, err.msg);
			b.d[i] ^= (unsigned char)k;
		}
	}
	/* cut off anywhere before its END line is complete */
	for (size_t n = 0; n + 1 < b.n; n++)
		assert_int_not_equal(read_raw(b.d, n, &seen, &err), 0);
	assert_int_equal(read_raw(b.d, b.n - 72, &seen, &err), -EINVAL);
	assert_string_equal(err.msg, "the catalog is damaged: it ends after member 39 without its END line");
	/* padding after the END line is allowed, anything else is not */
	buf_add(&b, "\0\0\0", 3);
	assert_int_equal(read_raw(b.d, b.n, &seen, &err), 0);
	assert_int_equal(seen, 40);
	buf_add(&b, "x", 1);
	assert_int_equal(read_raw(b.d, b.n, &seen, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "after the END line"));
	(void)c;
	buf_free(&b);
}

#define L0 "0\t0\tf\t-\t1\t-\t0\t1\t0\t-\t0\t/a\n"
#define L1 "1\t0\tf\t-\t1\t-\t0\t1\t0\t-\t0\t/b\n"
#define L2 "2\t0\tf\t-\t1\t-\t0\t1\t0\t-\t0\t/c\n"

static void bad_line(const char *text, const char *want)
{
	struct err err = { 0 };
	uint64_t seen;

	assert_int_not_equal(read_raw(text, strlen(text), &seen, &err), 0);
	if (!strstr(err.msg, want))
		fail_msg("\"%s\": got \"%s\", want \"%s\"", text, err.msg, want);
}

static void test_catalog_bad_lines(void **state)
{
	char *big;

	(void)state;
	bad_line("SYSRECOVER CATALOG 1\n" L0 L2, "line 3: the index is not 1");
	bad_line("SYSRECOVER CATALOG 1\n" L1, "line 2: the index is not 0");
	bad_line("SYSRECOVER CATALOG 1\n" L0 L0, "the index is not 1");
	bad_line("SYSRECOVER CATALOG 2\n" L0, "format 2; this sysrecover reads format 1 only");
	bad_line("GNU tar\n", "line 1: this is not a sysrecover catalog");
	bad_line("SYSRECOVER CATALOG 1\n0\t0\tf\t-\t01\t-\t0\t1\t0\t-\t0\t/a\n", "bad size");
	bad_line("SYSRECOVER CATALOG 1\n0\t0\tx\t-\t1\t-\t0\t1\t0\t-\t0\t/a\n", "bad type");
	bad_line("SYSRECOVER CATALOG 1\n0\t0\tf\tlost,sparse\t1\t-\t0\t1\t0\t-\t0\t/a\n", "bad flags");
	bad_line("SYSRECOVER CATALOG 1\n0\t0\tf\t-\t1\t-\t0\t1\t0\t18446744073709551615\t0\t/a\n",
		 "bad logical block");
	bad_line("SYSRECOVER CATALOG 1\n0\t0\tf\t-\t1\t-\t0\t1\t0\t-\t0\t/a b\n", "bad path");
	bad_line("SYSRECOVER CATALOG 1\n0\t0\tf\t-\t1\t-\t0\t1\t0\t-\t0\t/a%00\n", "bad path");
	bad_line("SYSRECOVER CATALOG 1\n0\t0\tf\t-\t1\t-\t0\t1\t0\t-\t0\t/a%2f\n", "bad path");
	bad_line("SYSRECOVER CATALOG 1\n0\t0\tf\t-\t1\t-\t0\t1\t0\t-\t0\t/a%41\n", "bad path");
	bad_line("SYSRECOVER CATALOG 1\n0\t0\tf\t-\t1\t-\t0\t1\t0\t-\t0\t/%C3%A9\n", "bad path");
	bad_line("SYSRECOVER CATALOG 1\n0\t0\tf\t-\t1\t-\t0\t1\t0\t-\t0\t/a\xff\n", "bad path");
	bad_line("SYSRECOVER CATALOG 1\n0\t0\tl\t-\t1\t-\t0\t1\t0\t-\t0\t/a\n", "without a target");
	bad_line("SYSRECOVER CATALOG 1\n0\t0\tf\t-\t1\t-\t0\t1\t0\t-\t0\t/a\tt\n", "without a target");
	bad_line("SYSRECOVER CATALOG 1\n0\t0\tf\tcopy\t1\t-\t0\t1\t0\t-\t0\t/a\n", "without a target");
	/* only a SIS file may name its store file; a SIS directory may not */
	bad_line("SYSRECOVER CATALOG 1\n0\t0\td\tsis\t0\t-\t0\t1\t0\t-\t0\t/a\tt\n", "without a target");
	bad_line("SYSRECOVER CATALOG 1\n0\t0\tf\tcopy\t1\t-\t0\t1\t0\t-\t0\t/a\tv0/b\n",
		 "a copy that is not a file with a hash");
	bad_line("SYSRECOVER CATALOG 1\n0\t0\td\tcopy\t1\t-\t0\t1\t0\t-\t0\t/a\n",
		 "a copy that is not a file with a hash");
	bad_line("SYSRECOVER CATALOG 1\n" L0 "END 2 0\n", "END line is not");
	bad_line("SYSRECOVER CATALOG 1\n" L0 "END 2 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n",
		 "END says 2 members, the catalog has 1");
	bad_line("SYSRECOVER CATALOG 1\n" L0 "END 1 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n",
		 "checksum mismatch");
	bad_line("", "ends before its first member");
	/* a line longer than the reader holds */
	big = malloc(ARC_CAT_LINE_MAX + 100);
	assert_non_null(big);
	strcpy(big, "SYSRECOVER CATALOG 1\n0\t0\tf\t-\t1\t-\t0\t1\t0\t-\t0\t/");
	memset(big + strlen(big), 'a', ARC_CAT_LINE_MAX);
	big[ARC_CAT_LINE_MAX + 50] = '\0';
	bad_line(big, "line 2: a line longer than 65536 bytes");
	free(big);
}

/* A hand-made catalog whose END line is computed by sha256sum, not by us. */
static void test_catalog_foreign_sum(void **state)
{
	struct err err = { 0 };
	char sum[80], text[512];
	uint64_t seen;
	FILE *f;

	(void)state;
	f = fopen(th_path("cat"), "wb");
	assert_non_null(f);
	fputs("SYSRECOVER CATALOG 1\n" L0 L1, f);
	fclose(f);
	assert_int_equal(th_sh_out(sum, sizeof(sum), "sha256sum <%s | cut -c1-64", th_path("cat")), 0);
	snprintf(text, sizeof(text), "SYSRECOVER CATALOG 1\n" L0 L1 "END 2 %.64s\n", sum);
	assert_int_equal(read_raw(text, strlen(text), &seen, &err), 0);
	assert_int_equal(seen, 2);
}

/* The writer feeds the reader directly, about 10 MB: the heap does not
 * grow while it reads (mallinfo2; under ASan it reads 0 and proves
 * nothing, the normal build does). */
struct pipe {
	struct arc_catr *r;
	uint64_t bytes;
};

static int put_pipe(void *arg, const void *rec, size_t len)
{
	struct pipe *p = arg;

	p->bytes += len;
	return arc_catr_feed(p->r, rec, len);
}

static void test_catalog_bounded(void **state)
{
	struct err err = { 0 }, rerr = { 0 };
	struct check c = { .measure = true };
	struct pipe p = { 0 };
	struct arc_catw *w;
	struct arc_entry e;
	struct names nm;
	uint64_t n = 0;

	(void)state;
	assert_int_equal(arc_catr_open(&p.r, check_cb, &c, &rerr), 0);
	assert_int_equal(arc_catw_open(&w, 65536, put_pipe, &p, &err), 0);
	while (p.bytes < 10u * 1000 * 1000) {
		gen(n++, &e, &nm);
		if (arc_catw_add(w, &e))
			fail_msg("add: %s / %s", err.msg, rerr.msg);
	}
	assert_int_equal(arc_catw_close(w, NULL), 0);
	assert_int_equal(arc_catr_close(p.r, NULL), 0);
	assert_int_equal(c.seen, n);
	if (c.heap_max > c.heap_first + 4096)
		fail_msg("the heap grew by %zu bytes while reading", c.heap_max - c.heap_first);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_kat),
		cmocka_unit_test(test_label_roundtrip),
		cmocka_unit_test(test_label_format_refuses),
		cmocka_unit_test(test_label_not_tar),
		cmocka_unit_test(test_label_corrupt),
		cmocka_unit_test(test_label_newer),
		cmocka_unit_test(test_catalog_roundtrip),
		cmocka_unit_test(test_catalog_writer_refuses),
		cmocka_unit_test(test_catalog_corrupt),
		cmocka_unit_test(test_catalog_bad_lines),
		cmocka_unit_test(test_catalog_foreign_sum),
		cmocka_unit_test(test_catalog_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
