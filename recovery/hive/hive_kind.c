/* hive_kind.c - which hive a file is (SYSTEM, SOFTWARE, SAM, ...), from the
 * keys at its root, with the file name in its base block as a hint, so
 * that commands meant for one kind refuse the others (hive.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hive_impl.h"
#include "text.h"

/* Root keys that tell the kinds apart (bits). */
enum {
	R_SELECT = 1u << 0, R_CONTROLSET = 1u << 1, R_MOUNTED = 1u << 2,
	R_MICROSOFT = 1u << 3, R_SAM = 1u << 4, R_POLICY = 1u << 5,
	R_RXACT = 1u << 6, R_SOFTWARE = 1u << 7, R_ENVIRONMENT = 1u << 8,
	R_CONTROL_PANEL = 1u << 9, R_LOCAL_SETTINGS = 1u << 10,
	R_COMPONENTS = 1u << 11, R_OBJECTS = 1u << 12, R_DESCRIPTION = 1u << 13,
	R_DRIVERDB = 1u << 14, R_CLASSES = 1u << 15,
};

static int root_cb(void *arg, const char *name, hive_key k)
{
	static const struct { const char *name; unsigned bit; } m[] = {
		{ "Select", R_SELECT }, { "MountedDevices", R_MOUNTED },
		{ "Microsoft", R_MICROSOFT }, { "SAM", R_SAM },
		{ "Policy", R_POLICY }, { "RXACT", R_RXACT },
		{ "Software", R_SOFTWARE }, { "Environment", R_ENVIRONMENT },
		{ "Control Panel", R_CONTROL_PANEL },
		{ "Local Settings", R_LOCAL_SETTINGS },
		{ "DerivedData", R_COMPONENTS }, { "CanonicalData", R_COMPONENTS },
		{ "Objects", R_OBJECTS }, { "Description", R_DESCRIPTION },
		{ "DriverDatabase", R_DRIVERDB }, { "Classes", R_CLASSES },
	};
	unsigned *bits = arg;

	(void)k;
	if (!strncasecmp(name, "ControlSet", 10) && strlen(name) == 13 &&
	    isdigit((unsigned char)name[10]) && isdigit((unsigned char)name[11]) &&
	    isdigit((unsigned char)name[12]))
		*bits |= R_CONTROLSET;
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (!hive_name_casecmp(name, m[i].name))
			*bits |= m[i].bit;
	return 0;
}

static bool has_key(struct hive *h, const char *path)
{
	hive_key k;
	bool yes = hive_lookup(h, path, &k) == 0;

	err_clear(&h->err);
	return yes;
}

static enum hive_kind by_root(struct hive *h)
{
	unsigned b = 0;
	hive_key root;

	if (hive_root(h, &root) < 0 || hive_children(h, root, root_cb, &b) < 0) {
		err_clear(&h->err);
		return HIVE_KIND_UNKNOWN;
	}
	if (b & (R_SELECT | R_CONTROLSET))
		return HIVE_KIND_SYSTEM;
	if ((b & R_POLICY) && (b & (R_RXACT | R_SAM)))
		return HIVE_KIND_SECURITY;
	if ((b & R_SAM) && has_key(h, "SAM\\Domains"))
		return HIVE_KIND_SAM;
	if ((b & R_MICROSOFT) && (has_key(h, "Microsoft\\Windows NT\\CurrentVersion") ||
				  (b & R_CLASSES)))
		return HIVE_KIND_SOFTWARE;
	if ((b & R_SOFTWARE) && (b & (R_ENVIRONMENT | R_CONTROL_PANEL)))
		return HIVE_KIND_NTUSER;
	if (b & R_LOCAL_SETTINGS)
		return HIVE_KIND_USRCLASS;
	if (b & R_COMPONENTS)
		return HIVE_KIND_COMPONENTS;
	if (b & R_DRIVERDB)
		return HIVE_KIND_DRIVERS;
	if ((b & R_OBJECTS) && (b & R_DESCRIPTION))
		return HIVE_KIND_BCD;
	if (b & R_MOUNTED)  /* a SYSTEM hive whose control sets are gone */
		return HIVE_KIND_SYSTEM;
	return HIVE_KIND_UNKNOWN;
}

/* The base block's file name field (offset 0x30, 32 UTF-16 units, the
 * last characters of the path Windows loaded it from): its last
 * component, into name. */
static void base_name(const struct hive *h, char *name, size_t cap)
{
	uint8_t b[HIVE_BASE_SIZE];
	size_t got = 0, n = 0;
	char *u = NULL;
	const char *file = h->work ? h->work : h->orig ? h->orig : h->path;

	name[0] = '\0';
	if (hive_read_base(file, b, &got) < 0 || got < 0x70 ||
	    text_utf16le_to_utf8(b + 0x30, 64, TEXT_STOP_AT_NUL, &u, &n) < 0 || !u)
		return;
	const char *base = strrchr(u, '\\') ? strrchr(u, '\\') + 1 : u;
	snprintf(name, cap, "%s", base);
	free(u);
}

enum hive_kind hive_kind_by_name(const char *name)
{
	static const struct { const char *name; enum hive_kind k; } m[] = {
		{ "SYSTEM", HIVE_KIND_SYSTEM }, { "SOFTWARE", HIVE_KIND_SOFTWARE },
		{ "SAM", HIVE_KIND_SAM }, { "SECURITY", HIVE_KIND_SECURITY },
		{ "NTUSER.DAT", HIVE_KIND_NTUSER }, { "DEFAULT", HIVE_KIND_NTUSER },
		{ "UsrClass.dat", HIVE_KIND_USRCLASS },
		{ "COMPONENTS", HIVE_KIND_COMPONENTS },
		{ "DRIVERS", HIVE_KIND_DRIVERS }, { "BCD", HIVE_KIND_BCD },
	};

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (!strcasecmp(name, m[i].name))
			return m[i].k;
	return HIVE_KIND_UNKNOWN;
}

enum hive_kind hive_kind(struct hive *h, char *hint, size_t hintcap)
{
	char name[80];
	enum hive_kind k = by_root(h);

	base_name(h, name, sizeof(name));
	if (hint && hintcap)
		snprintf(hint, hintcap, "%s", name);
	return k != HIVE_KIND_UNKNOWN ? k : hive_kind_by_name(name);
}

const char *hive_kind_name(enum hive_kind k)
{
	static const char *const n[] = {
		[HIVE_KIND_UNKNOWN] = "unknown", [HIVE_KIND_SYSTEM] = "SYSTEM",
		[HIVE_KIND_SOFTWARE] = "SOFTWARE", [HIVE_KIND_SAM] = "SAM",
		[HIVE_KIND_SECURITY] = "SECURITY", [HIVE_KIND_NTUSER] = "NTUSER.DAT",
		[HIVE_KIND_USRCLASS] = "UsrClass.dat",
		[HIVE_KIND_COMPONENTS] = "COMPONENTS", [HIVE_KIND_DRIVERS] = "DRIVERS",
		[HIVE_KIND_BCD] = "BCD",
	};

	return (unsigned)k < sizeof(n) / sizeof(n[0]) && n[k] ? n[k] : "unknown";
}

int hive_require_kind(struct hive *h, enum hive_kind want, const char *why,
		      struct err *err)
{
	char hint[80];
	enum hive_kind k = hive_kind(h, hint, sizeof(hint));

	if (k == want)
		return 0;
	if (k == HIVE_KIND_UNKNOWN)
		return err_setc(err, ERR_FATAL, ERR_REFUSED, -EINVAL,
				"'%s' is not a %s hive (none of the keys a %s "
				"hive has at its root%s%s%s): %s", h->name,
				hive_kind_name(want), hive_kind_name(want),
				*hint ? "; its header names it '" : "", hint,
				*hint ? "'" : "", why);
	return err_setc(err, ERR_FATAL, ERR_REFUSED, -EINVAL,
			"'%s' is a%s %s hive, not a %s hive: %s", h->name,
			k == HIVE_KIND_NTUSER ? "n" : "",
			hive_kind_name(k), hive_kind_name(want), why);
}
