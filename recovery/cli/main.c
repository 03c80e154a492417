/* main.c - sysrecover's entry point: pick a subcommand from the table. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cm.h"

struct cli_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct cli_cmd cli_cmds[] = {
	{ "tape", cli_tape, "tape DEV VERB [ARG]...  mt-style drive control and self-test" },
	{ "fs", cli_fs, "fs VOL VERB [ARG]...     debugfs-like access to unmounted ext/NTFS volumes and directories" },
	{ "volumes", cli_volumes, "volumes [--json] [PATH]... disks, partitions and images: fs type, UUID, label, state" },
	{ "srdelayed", cli_srdelayed, "srdelayed add|list|apply   queue and apply delayed move/delete/short-name operations" },
	{ "hive", cli_hive, "hive SUBCMD ...          offline registry hives: info, pending, merge, mounted, files-not-to-backup" },
};

#define NCMDS (sizeof(cli_cmds) / sizeof(cli_cmds[0]))

static int usage(FILE *f, int rc)
{
	fprintf(f, "usage: sysrecover COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < NCMDS; i++)
		fprintf(f, "  %s\n", cli_cmds[i].summary);
	fprintf(f, "\n'sysrecover COMMAND --help' describes one command.\n");
	return rc;
}

int main(int argc, char **argv)
{
	const char *base = argv[0] ? strrchr(argv[0], '/') : NULL;

	base = base ? base + 1 : argv[0] ? argv[0] : "";
	/* Installed as a link named srdelayed: `srdelayed apply ...`. */
	if (!strcmp(base, "srdelayed")) {
		cm_progname = "srdelayed";
		return cli_srdelayed(argc, argv);
	}
	if (argc < 2)
		return usage(stderr, CM_EXIT_USAGE);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return usage(stdout, CM_EXIT_OK);
	for (size_t i = 0; i < NCMDS; i++)
		if (!strcmp(argv[1], cli_cmds[i].name))
			return cli_cmds[i].run(argc - 1, argv + 1);
	cm_err("unknown command '%s'", argv[1]);
	return usage(stderr, CM_EXIT_USAGE);
}
