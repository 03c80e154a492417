/* cmd_volumes.c - `sysrecover volumes [--json] [PATH|SPEC]...`: what is attached.
 *
 * Without arguments: every block device and its partitions.  A PATH (device
 * or image file) lists what it holds, one line per partition; anything else
 * is resolved as a volume name (IMAGE@N, UUID=, LABEL=, PARTUUID=) and listed
 * alone, so `sysrecover volumes disk.img@2` shows what restore would open.
 *
 * Labels and UUIDs come from the disk and may hold any byte: the table
 * prints them with text_name (control bytes and bytes that are not UTF-8 as
 * \xNN, a backslash doubled), and --json with text_json_str (escaped, bytes
 * that are not UTF-8 as U+FFFD), so the output is always valid JSON.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "cli.h"
#include "err.h"
#include "text.h"
#include "fs.h"

struct vol_out {
	struct fs_volume *v;
	size_t n, cap;
};

static int add_volumes(struct vol_out *o, const struct fs_volume *v, size_t n,
		       struct err *err)
{
	if (buf_grow((void **)&o->v, &o->cap, o->n + n, sizeof(*o->v)) < 0)
		return err_set(err, -ENOMEM, "out of memory");
	memcpy(o->v + o->n, v, n * sizeof(*v));
	o->n += n;
	return 0;
}

/* One argument: a path lists what it holds, anything else is a volume name.
 * A failure is in *err. */
static int gather(struct vol_out *o, const char *arg, struct err *err)
{
	const char *const paths[1] = { arg };
	struct fs_volume *v = NULL, one;
	struct stat sb;
	size_t n = 0;
	int rc;

	if (arg && stat(arg, &sb) < 0) {
		rc = fs_volume_resolve(arg, NULL, 0, &one, err);
		if (rc == 0) {
			struct err ignored = { 0 };

			one.state_known = false;
			if (one.fstype[0])
				one.state_known = fs_state(one.name, &one.state,
							   &ignored) == 0;
			rc = add_volumes(o, &one, 1, err);
		}
	} else {
		rc = fs_volume_list(paths, arg ? 1 : 0, &v, &n, err);
		if (rc == 0)
			rc = add_volumes(o, v, n, err);
		free(v);
	}
	return rc;
}

/* ---- table ---------------------------------------------------------------- */

/* Bytes as lsblk shows them: binary units, one decimal below 10. */
static void human_size(uint64_t b, char *buf, size_t cap)
{
	static const char units[] = "BKMGTPE";
	double v = (double)b;
	int i = 0;

	while (v >= 1024 && i < 6) {
		v /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, cap, "%" PRIu64 "B", b);
	else if (v < 10 && v != (double)(uint64_t)v)
		snprintf(buf, cap, "%.1f%c", v, units[i]);
	else
		snprintf(buf, cap, "%.0f%c", v, units[i]);
}

/* A field for the table: "-" when empty, else as text_name prints it, so
 * that a hostile label cannot drive the terminal. */
static void cell(const char *in, char *out, size_t cap)
{
	FILE *f = fmemopen(out, cap - 1, "w");  /* a long name is cut */

	out[0] = out[cap - 1] = 0;
	if (!f)
		return;
	text_name(f, *in ? in : "-");
	fclose(f);
}

/* Terminal columns a UTF-8 string takes (one per code point). */
static int width(const char *s)
{
	int w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

enum { C_NAME, C_TYPE, C_SIZE, C_UUID, C_PARTUUID, C_LABEL, C_STATE,
       C_MOUNTPOINT, NCOLS };

static const char *const col_names[NCOLS] = {
	"NAME", "TYPE", "SIZE", "UUID", "PARTUUID", "LABEL", "STATE", "MOUNTPOINT",
};

static void row(const struct fs_volume *v, char cells[NCOLS][1100])
{
	char size[32];

	human_size(v->size, size, sizeof(size));
	cell(v->name, cells[C_NAME], sizeof(cells[0]));
	cell(v->fstype, cells[C_TYPE], sizeof(cells[0]));
	cell(size, cells[C_SIZE], sizeof(cells[0]));
	cell(v->uuid, cells[C_UUID], sizeof(cells[0]));
	cell(v->partuuid, cells[C_PARTUUID], sizeof(cells[0]));
	cell(v->label, cells[C_LABEL], sizeof(cells[0]));
	cell(v->state_known ? fs_state_name(v->state) : "", cells[C_STATE],
	     sizeof(cells[0]));
	cell(v->mounted ? v->mountpoint : "", cells[C_MOUNTPOINT], sizeof(cells[0]));
}

static void print_line(char cells[NCOLS][1100], const int *w)
{
	for (int c = 0; c < NCOLS; c++) {
		int pad = c == NCOLS - 1 ? 0 : w[c] - width(cells[c]) + 2;

		fputs(cells[c], stdout);
		printf("%*s", pad, "");
	}
	putchar('\n');
}

static int print_table(const struct vol_out *o)
{
	char (*cells)[NCOLS][1100] = calloc(o->n + 1, sizeof(*cells));
	int w[NCOLS] = { 0 };

	if (!cells)
		return -ENOMEM;
	for (int c = 0; c < NCOLS; c++)
		snprintf(cells[0][c], sizeof(cells[0][c]), "%s", col_names[c]);
	for (size_t i = 0; i < o->n; i++)
		row(&o->v[i], cells[i + 1]);
	for (size_t i = 0; i <= o->n; i++)
		for (int c = 0; c < NCOLS; c++)
			if (width(cells[i][c]) > w[c])
				w[c] = width(cells[i][c]);
	for (size_t i = 0; i <= o->n; i++)
		print_line(cells[i], w);
	free(cells);
	return 0;
}

/* ---- JSON ----------------------------------------------------------------- */

/* A JSON string, or null for an empty (unknown) one. */
static void json_str(const char *key, const char *s, bool last)
{
	printf("\"%s\": ", key);
	if (!*s) {
		printf("null%s", last ? "" : ", ");
		return;
	}
	text_json_str(stdout, s);
	printf("%s", last ? "" : ", ");
}

/* The shape of `lsblk --json --bytes`: {"blockdevices": [{...}, ...]}, with
 * lsblk's key names (name path size fstype uuid label partuuid pttype
 * ptuuid partn mountpoint) and our own offset and state. */
static void print_json(const struct vol_out *o)
{
	printf("{\"blockdevices\": [");
	for (size_t i = 0; i < o->n; i++) {
		const struct fs_volume *v = &o->v[i];

		printf("%s\n  {", i ? "," : "");
		json_str("name", v->name, false);
		json_str("path", v->path, false);
		printf("\"size\": %" PRIu64 ", \"offset\": %" PRIu64 ", ", v->size,
		       v->offset);
		if (v->partno)
			printf("\"partn\": %d, ", v->partno);
		else
			printf("\"partn\": null, ");
		json_str("fstype", v->fstype, false);
		json_str("uuid", v->uuid, false);
		json_str("label", v->label, false);
		json_str("partuuid", v->partuuid, false);
		json_str("pttype", v->pttype, false);
		json_str("ptuuid", v->ptuuid, false);
		json_str("mountpoint", v->mounted ? v->mountpoint : "", false);
		json_str("state", v->state_known ? fs_state_name(v->state) : "", true);
		printf("}");
	}
	printf("%s]}\n", o->n ? "\n" : "");
}

/* ---- command -------------------------------------------------------------- */

static void volumes_usage(FILE *out)
{
	fprintf(out,
		"usage: sysrecover volumes [--json] [PATH|VOLUME]...\n"
		"\n"
		"List volumes: every block device and its partitions, or what each\n"
		"PATH (a device or an image file) holds, one line per partition.\n"
		"A VOLUME that is not a file is resolved and shown alone: IMAGE@N,\n"
		"UUID=..., LABEL=..., PARTUUID=...\n"
		"\n"
		"Columns: NAME (what to pass to restore and fs: /dev/sda2, disk.img@2),\n"
		"TYPE, SIZE, UUID, PARTUUID, LABEL, STATE and MOUNTPOINT (where it is\n"
		"mounted, through whatever path, link or loop device; [SWAP] for swap).\n"
		"STATE: clean; not cleanly closed (a read-write session was cut off:\n"
		"check it before writing); needs journal recovery, has errors (ext);\n"
		"dirty, hibernated (NTFS); - unknown.\n"
		"\n"
		"  --json   shaped like `lsblk --json --bytes`: {\"blockdevices\": [...]},\n"
		"           each with name path size offset partn fstype uuid label\n"
		"           partuuid pttype ptuuid mountpoint state (null = unknown)\n");
}

/* The volumes to list, each argument's failure in c->err: the last one is
 * left there for cli_finish, the ones before it are printed as they come.
 * Returns how many arguments failed. */
static int gather_all(struct cli_ctx *c, struct vol_out *o, int argc,
		      char **argv)
{
	int failed = 0, n = argc ? argc : 1;  /* none: every block device */

	for (int i = 0; i < n; i++) {
		struct err err = { 0 };

		if (gather(o, argc ? argv[i] : NULL, &err) == 0)
			continue;
		if (failed++)
			err_print(&c->err);
		err_copy(&c->err, &err);
		err_relevel(&c->err, ERR_ITEM);
	}
	return failed;
}

static int volumes_run(struct cli_ctx *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct vol_out o = { 0 };
	bool json = false;
	int opt, failed, rc = 0;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == 'j') {
			json = true;
		} else if (opt == 'h') {
			volumes_usage(stdout);
			return 0;
		} else {
			return cli_bad_option(c, argc, argv);
		}
	}
	failed = gather_all(c, &o, argc - optind, argv + optind);
	if (json)
		print_json(&o);
	else if (print_table(&o) < 0)
		rc = err_set(&c->err, -ENOMEM, "out of memory");
	/* Every argument failed: the command failed, not one item of it. */
	if (rc == 0 && failed && failed == (optind == argc ? 1 : argc - optind)) {
		err_relevel(&c->err, ERR_FATAL);
		rc = -(c->err.errnum ? c->err.errnum : EIO);
	}
	free(o.v);
	return rc;
}

const struct cli_cmd cli_volumes_cmd = {
	.name = "volumes", .run = volumes_run, .max_args = -1,
	.args = "[--json] [PATH]...",
	.summary = "disks, partitions and images: fs type, UUID, label, state",
};
