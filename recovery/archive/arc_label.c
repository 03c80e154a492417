/* arc_label.c - the set label: one record of UTF-8 text that a person can
 * read with dd and follow with mt and tar, ending in its own SHA-256
 * (arc.h; the format is in README.md, "Backup set format").
 *
 * The parser is strict: the lines come in the one order the formatter
 * writes them, every value is checked against the range the formatter
 * accepts, and the checksum is verified before any value is believed, so a
 * damaged label is refused rather than read as a different one. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "arc.h"
#include "arc_text.h"
#include "hash.h"

#define MAGIC "SYSRECOVER BACKUP SET LABEL\n"
#define MAGIC_LEN (sizeof(MAGIC) - 1)
#define SUM_KEY "sha256: "
#define SUM_LINE_LEN (sizeof(SUM_KEY) - 1 + HASH_SHA256_HEX + 1)
/* 9999-12-31T23:59:59Z: four digits of year, as the text has room for */
#define TIME_MAX INT64_C(253402300799)

static const char *const set_flag_name[] = { "system-state", "partial" };
#define NSET_FLAGS (sizeof(set_flag_name) / sizeof(set_flag_name[0]))

/* ---- checks shared by the formatter and the parser ----------------------- */

static bool uuid_ok(const char *s)
{
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		char c = s[i];

		if (dash ? c != '-' :
		    !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return s[36] == '\0';
}

/* A volume id is the first part of member names: a short plain word
 * (s is terminated within its array: checked first). */
static bool vol_id_ok(const char *s)
{
	size_t n = strlen(s);

	return n && strcmp(s, ".") && strcmp(s, "..") &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static bool record_size_ok(uint64_t n)
{
	return n >= 512 && n <= ARC_RECORD_MAX && n % 512 == 0;
}

static bool terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static const char *check_volume(const struct arc_label *l, size_t i)
{
	const struct arc_volume *v = &l->vol[i];

	if (!terminated(v->id, sizeof(v->id)) || !vol_id_ok(v->id))
		return "a volume id is not a short plain word";
	for (size_t j = 0; j < i; j++)
		if (!strcmp(l->vol[j].id, v->id))
			return "two volumes have the same id";
	if (!terminated(v->fstype, sizeof(v->fstype)) || !v->fstype[0])
		return "a volume has no file system type";
	if (!terminated(v->uuid, sizeof(v->uuid)) || !terminated(v->label, sizeof(v->label)) ||
	    !terminated(v->source, sizeof(v->source)))
		return "a volume's uuid, label or source is not terminated";
	return NULL;
}

/* The system-state lines: text without control bytes (arc_out_esc would
 * escape them; the parser takes back what it wrote), only in a
 * system-state set, a hive only with the Windows it belongs to. */
static const char *check_windows(const struct arc_label *l)
{
	if (!terminated(l->windows, sizeof(l->windows)) ||
	    !terminated(l->win_build, sizeof(l->win_build)) ||
	    !terminated(l->win_root, sizeof(l->win_root)))
		return "the Windows version or root is not terminated";
	if (l->nhive > ARC_HIVE_MAX)
		return "too many hives";
	if ((l->windows[0] || l->win_build[0] || l->win_root[0] || l->nhive) &&
	    !(l->flags & ARC_SET_SYSTEM_STATE))
		return "Windows lines in a set that is not system state";
	if ((l->windows[0] || l->win_build[0] || l->nhive) && !l->win_root[0])
		return "Windows lines without the Windows root they belong to";
	for (size_t i = 0; i < l->nhive; i++)
		if (!terminated(l->hive[i], sizeof(l->hive[i])) || !l->hive[i][0])
			return "a hive path is empty or not terminated";
	return NULL;
}

/* What is wrong with l, or NULL: the formatter writes only what the parser
 * takes back. */
static const char *check_label(const struct arc_label *l)
{
	if (l->version != ARC_FORMAT_VERSION)
		return "its version is not 1";
	if (!terminated(l->uuid, sizeof(l->uuid)) || !uuid_ok(l->uuid))
		return "the set uuid is not a uuid";
	if (l->created < 0 || l->created > TIME_MAX)
		return "the creation time is out of range";
	if (!terminated(l->host, sizeof(l->host)) || !terminated(l->tool, sizeof(l->tool)))
		return "the host or tool is not terminated";
	if (!record_size_ok(l->record_size))
		return "the record size is not a multiple of 512 in range";
	if (l->tape_file == UINT32_MAX || l->tape_no == 0)
		return "the tape file or tape number is out of range";
	if (l->flags >> NSET_FLAGS)
		return "unknown set flags";
	if (l->nvol > ARC_VOL_MAX)
		return "too many volumes";
	for (size_t i = 0; i < l->nvol; i++) {
		const char *why = check_volume(l, i);

		if (why)
			return why;
	}
	return check_windows(l);
}

/* ---- formatting ---------------------------------------------------------- */

static void put_volume(struct arc_out *o, const struct arc_volume *v)
{
	arc_out_fmt(o, "volume: %s fstype=", v->id);
	arc_out_esc(o, v->fstype, 0);
	arc_out_fmt(o, " size=%" PRIu64 " used=%" PRIu64 " uuid=", v->size, v->used);
	arc_out_esc(o, v->uuid, 0);
	arc_out_fmt(o, " label=");
	arc_out_esc(o, v->label, 0);
	arc_out_fmt(o, " source=");
	arc_out_esc(o, v->source, 0);
	arc_out_fmt(o, "\n");
}

static void put_head(struct arc_out *o, const struct arc_label *l)
{
	time_t t = (time_t)l->created;
	struct tm tm;
	char when[32];

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	arc_out_fmt(o, MAGIC "format: %u\nset: %s\ncreated: %s\nhost: ", l->version,
		    l->uuid, when);
	arc_out_esc(o, l->host, ARC_ESC_KEEP_SPACE);
	arc_out_fmt(o, "\ntool: ");
	arc_out_esc(o, l->tool, ARC_ESC_KEEP_SPACE);
	arc_out_fmt(o, "\nrecord-size: %" PRIu32 "\ntape-file: %" PRIu32 "\ntape: %" PRIu32 "\n",
		    l->record_size, l->tape_file, l->tape_no);
	arc_out_fmt(o, "flags: ");
	arc_out_flags(o, l->flags, set_flag_name, NSET_FLAGS, "none");
	arc_out_fmt(o, "\n");
	arc_out_fmt(o, "volumes: %zu\n", l->nvol);
	for (size_t i = 0; i < l->nvol; i++)
		put_volume(o, &l->vol[i]);
}

/* After the volume lines' empty line: a parser of the first release stops
 * before them.  One block, ended by an empty line, written when there is
 * anything to say; each line is "key: text". */
static void put_windows(struct arc_out *o, const struct arc_label *l)
{
	static const char *const key[] = { "windows", "windows-build", "windows-root" };
	const char *val[] = { l->windows, l->win_build, l->win_root };

	if (!l->win_root[0])
		return;
	for (size_t i = 0; i < 3; i++) {
		arc_out_fmt(o, "%s: ", key[i]);
		arc_out_esc(o, val[i], ARC_ESC_KEEP_SPACE);
		arc_out_fmt(o, "\n");
	}
	for (size_t i = 0; i < l->nhive; i++) {
		arc_out_fmt(o, "hive: ");
		arc_out_esc(o, l->hive[i], ARC_ESC_KEEP_SPACE);
		arc_out_fmt(o, "\n");
	}
	arc_out_fmt(o, "\n");
}

/* For the person with only mt and tar: the parser does not read this part,
 * but the checksum covers it. */
static void put_help(struct arc_out *o, const struct arc_label *l)
{
	arc_out_fmt(o, "\n");
	put_windows(o, l);
	arc_out_fmt(o,
		"To recover this set without sysrecover (GNU tar or bsdtar), on the\n"
		"drive that holds this tape (here /dev/nst0, the non-rewinding device):\n"
		"  mt -f /dev/nst0 asf %" PRIu64 "\n"
		"  tar -x -v -b %" PRIu32 " -f /dev/nst0\n"
		"This label is tape file %" PRIu32 "; tape file %" PRIu64 " holds the data as one\n"
		"POSIX pax archive in records of %" PRIu32 " bytes, and tape file %" PRIu64 " the\n"
		"catalog (one text line per member, with its SHA-256).\n"
		"Member names are <volume id>/<path>, e.g. v0/etc/passwd: the volume\n"
		"lines above say which volume each id was backed up from (%%XX stands\n"
		"for a byte that is not printable text).  Extended attributes and ACLs\n"
		"come back with GNU tar only when asked: tar --xattrs --xattrs-include='*'.\n"
		"The line below is the SHA-256 of every byte of this label before it.\n",
		(uint64_t)l->tape_file + 1, l->record_size / 512, l->tape_file,
		(uint64_t)l->tape_file + 1, l->record_size, (uint64_t)l->tape_file + 2);
}

int arc_label_format(const struct arc_label *l, char *buf, size_t cap, size_t *len,
		     struct err *err)
{
	const char *why = check_label(l);
	struct hash_sha256 h;
	uint8_t sum[HASH_SHA256_LEN];
	char hex[HASH_SHA256_HEX + 1];
	struct arc_out o;

	if (why)
		return err_setc(err, ERR_FATAL, ERR_INTERNAL, -EINVAL,
				"cannot write the set label: %s", why);
	arc_out_init(&o, buf, cap);
	put_head(&o, l);
	put_help(&o, l);
	if (!o.full) {
		hash_sha256_init(&h);
		hash_sha256_update(&h, o.b, o.n);
		hash_sha256_final(&h, sum);
		hash_hex(sum, sizeof(sum), hex);
		arc_out_fmt(&o, SUM_KEY "%s\n", hex);
	}
	if (o.full || o.n > ARC_LABEL_MAX)
		return err_setc(err, ERR_FATAL, ERR_SYSTEM, -ENOSPC,
				"the label of set %s does not fit in %zu bytes",
				l->uuid, cap < ARC_LABEL_MAX ? cap : (size_t)ARC_LABEL_MAX);
	*len = o.n;
	return 0;
}

/* ---- parsing ------------------------------------------------------------- */

struct lparse {
	const char *p;         /* what is left of the body */
	size_t n;
	size_t line;           /* number of the line last taken, from 1 */
	char set[37];          /* for messages: the set's uuid, or "?" */
	struct err *err;
};

__attribute__((format(printf, 2, 3)))
static int damaged(struct lparse *lp, const char *fmt, ...)
{
	char what[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (!lp->line)
		return err_setc(lp->err, ERR_FATAL, ERR_CORRUPT, -EINVAL,
				"the label of set %s is damaged: %s", lp->set, what);
	return err_setc(lp->err, ERR_FATAL, ERR_CORRUPT, -EINVAL,
			"the label of set %s is damaged: line %zu: %s", lp->set, lp->line, what);
}

/* The next line, without its LF; false at the end of the body. */
static bool take_line(struct lparse *lp, const char **s, size_t *len)
{
	const char *lf = lp->n ? memchr(lp->p, '\n', lp->n) : NULL;

	if (!lf)
		return false;
	*s = lp->p;
	*len = (size_t)(lf - lp->p);
	lp->n -= *len + 1;
	lp->p = lf + 1;
	lp->line++;
	return true;
}

/* The next line must be "key: value"; *v and *vn the value. */
static bool take_key(struct lparse *lp, const char *key, const char **v, size_t *vn)
{
	size_t k = strlen(key);
	const char *s;
	size_t n;

	if (!take_line(lp, &s, &n) || n < k + 2 || memcmp(s, key, k) || s[k] != ':' ||
	    s[k + 1] != ' ')
		return false;
	*v = s + k + 2;
	*vn = n - k - 2;
	return true;
}

static int take_num(struct lparse *lp, const char *key, uint64_t min, uint64_t max,
		    uint64_t *out)
{
	const char *v;
	size_t vn;

	if (!take_key(lp, key, &v, &vn))
		return damaged(lp, "no '%s:' line where it belongs", key);
	if (arc_parse_u64(v, vn, max, out) || *out < min)
		return damaged(lp, "'%s:' is not a number from %" PRIu64 " to %" PRIu64,
			       key, min, max);
	return 0;
}

static int take_text(struct lparse *lp, const char *key, char *out, size_t cap)
{
	const char *v;
	size_t vn;

	if (!take_key(lp, key, &v, &vn))
		return damaged(lp, "no '%s:' line where it belongs", key);
	if (arc_unesc(v, vn, out, cap, ARC_ESC_KEEP_SPACE) < 0)
		return damaged(lp, "'%s:' is badly escaped or longer than %zu bytes", key, cap - 1);
	return 0;
}

static int digits(const char *s, size_t k)
{
	int v = 0;

	for (size_t i = 0; i < k; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* "2026-11-26T14:00:00Z", exactly; a date that does not exist (Feb 30,
 * hour 24) does not format back to itself and is refused. */
static bool parse_time(const char *s, size_t n, int64_t *out)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	struct tm tm = { 0 };
	char again[32];
	time_t t;

	if (n != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; i < n; i++)
		if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != shape[i])
			return false;
	tm.tm_year = digits(s, 4) - 1900;
	tm.tm_mon = digits(s + 5, 2) - 1;
	tm.tm_mday = digits(s + 8, 2);
	tm.tm_hour = digits(s + 11, 2);
	tm.tm_min = digits(s + 14, 2);
	tm.tm_sec = digits(s + 17, 2);
	t = timegm(&tm);
	if (t < 0 || !gmtime_r(&t, &tm) ||
	    !strftime(again, sizeof(again), "%Y-%m-%dT%H:%M:%SZ", &tm) || memcmp(again, s, n))
		return false;
	*out = (int64_t)t;
	return true;
}

/* The next space-separated word of a volume line: "key=value" (key NULL:
 * the bare id), value unescaped into out. */
static bool take_word(const char **s, size_t *n, const char *key, char *out, size_t cap)
{
	const char *sp = memchr(*s, ' ', *n);
	size_t k = sp ? (size_t)(sp - *s) : *n, kl = key ? strlen(key) : 0;
	bool ok = true;

	if (key)
		ok = k > kl && !memcmp(*s, key, kl) && (*s)[kl] == '=';
	if (key && ok)
		kl++;
	ok = ok && arc_unesc(*s + kl, k - kl, out, cap, 0) >= 0;
	*s += sp ? k + 1 : k;
	*n -= sp ? k + 1 : k;
	return ok && (sp ? *n > 0 : true);
}

static int parse_volume(struct lparse *lp, struct arc_volume *v)
{
	char size[24], used[24];
	const char *s;
	size_t n;

	if (!take_key(lp, "volume", &s, &n))
		return damaged(lp, "fewer 'volume:' lines than 'volumes:' says");
	if (!take_word(&s, &n, NULL, v->id, sizeof(v->id)) ||
	    !take_word(&s, &n, "fstype", v->fstype, sizeof(v->fstype)) ||
	    !take_word(&s, &n, "size", size, sizeof(size)) ||
	    !take_word(&s, &n, "used", used, sizeof(used)) ||
	    !take_word(&s, &n, "uuid", v->uuid, sizeof(v->uuid)) ||
	    !take_word(&s, &n, "label", v->label, sizeof(v->label)) ||
	    !take_word(&s, &n, "source", v->source, sizeof(v->source)) || n != 0)
		return damaged(lp, "a 'volume:' line is not 'ID fstype= size= used= uuid= label= source='");
	if (arc_parse_u64(size, strlen(size), UINT64_MAX, &v->size) ||
	    arc_parse_u64(used, strlen(used), UINT64_MAX, &v->used))
		return damaged(lp, "a volume's size or used is not a number");
	return 0;
}

static int parse_set(struct lparse *lp, struct arc_label *l)
{
	const char *v;
	size_t vn;
	uint64_t n;
	int rc;

	if (!take_key(lp, "set", &v, &vn) || vn != 36)
		return damaged(lp, "no 'set:' uuid line where it belongs");
	memcpy(l->uuid, v, 36);
	if (!uuid_ok(l->uuid))
		return damaged(lp, "'set:' is not a uuid");
	if (!take_key(lp, "created", &v, &vn) || !parse_time(v, vn, &l->created))
		return damaged(lp, "no 'created:' time as 2026-11-26T14:00:00Z");
	if ((rc = take_text(lp, "host", l->host, sizeof(l->host))) ||
	    (rc = take_text(lp, "tool", l->tool, sizeof(l->tool))) ||
	    (rc = take_num(lp, "record-size", 512, ARC_RECORD_MAX, &n)))
		return rc;
	l->record_size = (uint32_t)n;
	if (!record_size_ok(n))
		return damaged(lp, "'record-size:' is not a multiple of 512");
	if ((rc = take_num(lp, "tape-file", 0, UINT32_MAX - 1, &n)))
		return rc;
	l->tape_file = (uint32_t)n;
	if ((rc = take_num(lp, "tape", 1, UINT32_MAX, &n)))
		return rc;
	l->tape_no = (uint32_t)n;
	if (!take_key(lp, "flags", &v, &vn) ||
	    arc_parse_flags(v, vn, set_flag_name, NSET_FLAGS, "none", &l->flags))
		return damaged(lp, "no 'flags:' line of known names");
	return 0;
}

/* The optional system-state block (put_windows): present when the line
 * after the volumes' empty line is "windows-...".  What follows it is the
 * help text, which is not read. */
static int parse_windows(struct lparse *lp, struct arc_label *l)
{
	struct lparse peek = *lp;
	const char *s;
	size_t n;
	int rc;

	if (!take_line(&peek, &s, &n) || n < 9 || memcmp(s, "windows: ", 9))
		return 0;
	if ((rc = take_text(lp, "windows", l->windows, sizeof(l->windows))) ||
	    (rc = take_text(lp, "windows-build", l->win_build, sizeof(l->win_build))) ||
	    (rc = take_text(lp, "windows-root", l->win_root, sizeof(l->win_root))))
		return rc;
	if (!l->win_root[0])
		return damaged(lp, "'windows-root:' is empty");
	for (;;) {
		peek = *lp;
		if (!take_line(&peek, &s, &n))
			return damaged(lp, "no empty line after the 'hive:' lines");
		if (n == 0) {
			*lp = peek;
			return 0;
		}
		if (l->nhive == ARC_HIVE_MAX)
			return damaged(lp, "more than %d 'hive:' lines", ARC_HIVE_MAX);
		if ((rc = take_text(lp, "hive", l->hive[l->nhive], sizeof(l->hive[0]))))
			return rc;
		if (!l->hive[l->nhive++][0])
			return damaged(lp, "an empty 'hive:' line");
	}
}

static int parse_body(struct lparse *lp, struct arc_label *l)
{
	const char *s;
	size_t n;
	uint64_t nvol;
	int rc;
	const char *why;

	take_line(lp, &s, &n);  /* the magic and format lines, checked */
	take_line(lp, &s, &n);
	l->version = ARC_FORMAT_VERSION;
	if ((rc = parse_set(lp, l)) || (rc = take_num(lp, "volumes", 0, ARC_VOL_MAX, &nvol)))
		return rc;
	l->nvol = (size_t)nvol;
	for (size_t i = 0; i < l->nvol; i++)
		if ((rc = parse_volume(lp, &l->vol[i])))
			return rc;
	if (!take_line(lp, &s, &n) || n != 0)
		return damaged(lp, "more 'volume:' lines than 'volumes:' says, or no empty line after them");
	if ((rc = parse_windows(lp, l)))
		return rc;
	why = check_label(l);
	return why ? damaged(lp, "%s", why) : 0;
}

/* The set's uuid for messages, before anything is trusted: "?" unless the
 * third line is a uuid. */
static void set_name(const char *t, size_t n, char out[37])
{
	struct lparse lp = { .p = t, .n = n };
	const char *v;
	size_t vn;

	strcpy(out, "?");
	take_line(&lp, &v, &vn);
	take_line(&lp, &v, &vn);
	if (take_key(&lp, "set", &v, &vn) && vn == 36) {
		memcpy(out, v, 36);
		out[36] = '\0';
		if (!uuid_ok(out))
			strcpy(out, "?");
	}
}

/* Checked before the checksum: a newer format may end differently. */
static int check_format(struct lparse *lp)
{
	const char *v;
	size_t vn;
	uint64_t f;

	if (!take_key(lp, "format", &v, &vn) || arc_parse_u64(v, vn, UINT32_MAX, &f) || f == 0)
		return damaged(lp, "no 'format:' line after the first");
	if (f > ARC_FORMAT_VERSION)
		return err_setc(lp->err, ERR_FATAL, ERR_REFUSED, -ENOTSUP,
				"the label of set %s is in format %" PRIu64 "; this sysrecover "
				"reads format %d only: use a newer sysrecover", lp->set, f,
				ARC_FORMAT_VERSION);
	return 0;
}

/* The last line is "sha256: HEX" over every byte before it; *body gets
 * the length of what it covers. */
static int check_sum(struct lparse *lp, const char *t, size_t n, size_t *body)
{
	struct hash_sha256 h;
	uint8_t want[HASH_SHA256_LEN], got[HASH_SHA256_LEN];
	char hex[HASH_SHA256_HEX + 1];
	size_t b = n - SUM_LINE_LEN;

	lp->line = 0;
	for (size_t i = 0; i < n; i++)
		lp->line += t[i] == '\n';
	if (n < MAGIC_LEN + SUM_LINE_LEN || t[n - 1] != '\n' || t[b - 1] != '\n' ||
	    memcmp(t + b, SUM_KEY, sizeof(SUM_KEY) - 1) ||
	    hash_unhex(t + b + sizeof(SUM_KEY) - 1, HASH_SHA256_HEX, want, sizeof(want)))
		return damaged(lp, "its last line is not 'sha256: ' and 64 hex digits");
	hash_sha256_init(&h);
	hash_sha256_update(&h, t, b);
	hash_sha256_final(&h, got);
	if (memcmp(got, want, sizeof(got))) {
		hash_hex(got, sizeof(got), hex);
		return damaged(lp, "checksum %.16s... of the text does not match the one it ends with",
			       hex);
	}
	*body = b;
	return 0;
}

int arc_label_parse(const void *rec, size_t len, struct arc_label *l, struct err *err)
{
	const char *t = rec;
	struct lparse lp = { .err = err };
	size_t n = len, body = 0;
	const char *magic;
	int rc;

	if (len < MAGIC_LEN || memcmp(t, MAGIC, MAGIC_LEN))
		return 0;  /* another tool's tape file (a tar header...) */
	/* a drive in fixed-block mode pads the record with NULs */
	while (n > 0 && t[n - 1] == '\0')
		n--;
	set_name(t, n, lp.set);
	if (len > ARC_LABEL_MAX)
		return damaged(&lp, "a record of %zu bytes is longer than a label can be", len);
	if (memchr(t, '\0', n))
		return damaged(&lp, "a NUL byte in the text");
	lp.p = t;
	lp.n = n;
	take_line(&lp, &magic, &body);
	if ((rc = check_format(&lp)) || (rc = check_sum(&lp, t, n, &body)))
		return rc;
	memset(l, 0, sizeof(*l));
	lp = (struct lparse){ .p = t, .n = body, .err = err };
	set_name(t, n, lp.set);
	rc = parse_body(&lp, l);
	if (rc)
		memset(l, 0, sizeof(*l));
	return rc < 0 ? rc : 1;
}
