/* hive_mounted.c - SYSTEM\MountedDevices: decode the mount manager's values and find the volume one names.
 *
 * A value is 12 bytes (MBR: disk signature, then the partition's byte
 * offset, both little-endian), 24 bytes starting "DMIO:ID:" (GPT: the
 * unique partition GUID in Microsoft's mixed-endian layout), or a UTF-16LE
 * device string (removable media, "\??\SCSI#..."); see HACKING.md.
 *
 * The value data is untrusted: the form is decided by length and magic only,
 * and anything that is not clearly one of the three forms is shown as hex.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fs.h"
#include "buf.h"
#include "hive.h"
#include "le.h"
#include "text.h"

#define MD_KEY "MountedDevices"
#define MD_GPT_MAGIC "DMIO:ID:"

/* Microsoft's GUID layout: three little-endian fields, then 8 bytes as is. */
static void guid_format(const uint8_t *g, char out[37])
{
	snprintf(out, 37, "%08" PRIx32 "-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 le_get32(g), (unsigned)le_get16(g + 4), (unsigned)le_get16(g + 6),
		 g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
}

/* UTF-16LE text of printable characters (trailing NULs allowed) to UTF-8;
 * NULL when the bytes are not such text. */
static char *device_string(const uint8_t *p, size_t len)
{
	size_t units = len / 2, n = 0;
	char *s = NULL;

	if (len < 4 || len % 2)
		return NULL;
	while (units && p[2 * units - 2] == 0 && p[2 * units - 1] == 0)
		units--;
	if (!units || text_utf16le_to_utf8(p, 2 * units, TEXT_STRICT, &s, &n) < 0)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			free(s);
			return NULL;
		}
	}
	return s;
}

int hive_md_decode(const void *data, size_t len, struct hive_md_value *out)
{
	const uint8_t *p = data;

	memset(out, 0, sizeof(*out));
	if (len == 12) {
		out->kind = HIVE_MD_MBR;
		out->signature = le_get32(p);
		out->offset = le_get64(p + 4);
		snprintf(out->text, sizeof(out->text),
			 "MBR disk signature %08" PRIx32 ", offset %" PRIu64 " (0x%" PRIx64 ")",
			 out->signature, out->offset, out->offset);
		return 0;
	}
	if (len == 24 && memcmp(p, MD_GPT_MAGIC, 8) == 0) {
		out->kind = HIVE_MD_GPT;
		guid_format(p + 8, out->guid);
		snprintf(out->text, sizeof(out->text), "GPT partition %s", out->guid);
		return 0;
	}
	if (len) {
		out->device = device_string(p, len);
		if (out->device) {
			out->kind = HIVE_MD_DEVICE;
			snprintf(out->text, sizeof(out->text), "device %s", out->device);
			return 0;
		}
	}
	out->kind = HIVE_MD_UNKNOWN;
	{
		int o = snprintf(out->text, sizeof(out->text), "unknown (%zu bytes)", len);

		for (size_t i = 0; i < len && o + 4 < (int)sizeof(out->text); i++)
			o += snprintf(out->text + o, sizeof(out->text) - (size_t)o, "%s%02x",
				      i ? "" : " ", p[i]);
	}
	return 0;
}

void hive_md_value_free(struct hive_md_value *v)
{
	if (!v)
		return;
	free(v->device);
	v->device = NULL;
}

struct md_list {
	struct hive_md_entry *e;
	size_t n, cap;
};

static int md_cb(void *arg, const char *name, uint32_t type, const void *data,
		 size_t len)
{
	struct md_list *l = arg;
	struct hive_md_entry *e;

	(void)type;  /* REG_BINARY in practice; decoded by content either way */
	void *p = l->e;

	if (buf_grow(&p, &l->cap, l->n + 1, sizeof(*l->e)) < 0)
		return -ENOMEM;
	l->e = p;
	e = &l->e[l->n];
	memset(e, 0, sizeof(*e));
	e->name = strdup(name);
	e->data = malloc(len ? len : 1);
	if (!e->name || !e->data) {
		free(e->name);
		free(e->data);
		return -ENOMEM;
	}
	if (len)
		memcpy(e->data, data, len);
	e->len = len;
	hive_md_decode(e->data, len, &e->v);
	l->n++;
	return 0;
}

int hive_md_read(struct hive *h, struct hive_md_entry **out, size_t *n,
		 struct err *err)
{
	struct md_list l = { 0 };
	hive_key k;
	int rc = hive_lookup(h, MD_KEY, &k);

	*out = NULL;
	*n = 0;
	if (rc == 0)
		rc = hive_values(h, k, md_cb, &l);
	if (rc < 0) {
		err_set(err, rc, "cannot read %s in %s: %s", MD_KEY, hive_name(h),
			strerror(-rc));
		hive_md_free(l.e, l.n);
		return rc;
	}
	*out = l.e;
	*n = l.n;
	return 0;
}

void hive_md_free(struct hive_md_entry *e, size_t n)
{
	for (size_t i = 0; e && i < n; i++) {
		free(e[i].name);
		free(e[i].data);
		hive_md_value_free(&e[i].v);
	}
	free(e);
}

/* "C:" -> "\DosDevices\C:"; "Volume{G}", "\\?\Volume{G}\" -> "\??\Volume{G}". */
static void canonical_name(const char *in, char *out, size_t cap)
{
	size_t n = strlen(in);

	if (n == 2 && in[1] == ':') {
		snprintf(out, cap, "\\DosDevices\\%c:", in[0]);
		return;
	}
	if (!strncmp(in, "\\\\?\\", 4) || !strncmp(in, "\\??\\", 4))
		in += 4;
	if (!strncasecmp(in, "Volume{", 7)) {
		n = strlen(in);
		if (n && in[n - 1] == '\\')
			n--;
		snprintf(out, cap, "\\??\\%.*s", (int)n, in);
		return;
	}
	snprintf(out, cap, "%s", in);
}

const struct hive_md_entry *hive_md_find(const struct hive_md_entry *e,
					 size_t n, const char *name)
{
	char want[512];

	canonical_name(name, want, sizeof(want));
	for (size_t i = 0; i < n; i++)
		if (hive_name_casecmp(e[i].name, want) == 0)
			return &e[i];
	return NULL;
}

static bool md_matches(const struct hive_md_value *v, const struct fs_volume *vol)
{
	char sig[16];

	if (v->kind == HIVE_MD_GPT)
		return strcasecmp(vol->pttype, "gpt") == 0 &&
		       strcasecmp(vol->partuuid, v->guid) == 0;
	snprintf(sig, sizeof(sig), "%08" PRIx32, v->signature);
	return vol->partno > 0 && strcasecmp(vol->pttype, "dos") == 0 &&
	       strcasecmp(vol->ptuuid, sig) == 0 && vol->part_start == v->offset;
}

int hive_md_resolve(const struct hive_md_value *v, const char *const *paths,
		    size_t npaths, struct fs_volume *out, struct err *err)
{
	struct fs_volume *vols = NULL;
	struct err ferr = { 0 };
	size_t count = 0, found = 0, first = 0;
	int rc;

	if (v->kind != HIVE_MD_MBR && v->kind != HIVE_MD_GPT)
		return err_set(err, -EINVAL, "%s names no disk partition (only "
			       "the MBR and GPT forms do)", v->text);
	rc = fs_volume_list(paths, npaths, &vols, &count, &ferr);
	if (rc < 0) {
		err_copy(err, &ferr);
		return rc;
	}
	for (size_t i = 0; i < count; i++) {
		if (!md_matches(v, &vols[i]))
			continue;
		if (!found++)
			first = i;
		else if (found == 2)
			err_setc(err, ERR_FATAL, ERR_REFUSED, -EEXIST, "%.100s matches "
				 "both %.180s and %.180s: detach one", v->text,
				 vols[first].name, vols[i].name);
	}
	if (found == 1)
		*out = vols[first];
	else if (!found)
		err_set(err, -ENOENT, "no attached volume has %s", v->text);
	free(vols);
	return found == 1 ? 0 : found ? -EEXIST : -ENOENT;
}
