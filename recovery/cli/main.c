/* main.c - sysrecover's entry point: pick a subcommand from the table. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "text.h"

/* The Makefile passes VERSION, and `git describe` when it builds in a git
 * tree; a build by other means still says what it is. */
#ifndef SYSRECOVER_VERSION
#define SYSRECOVER_VERSION "unknown (built without the Makefile)"
#endif

static int run_main(struct cli_ctx *c, int argc, char **argv);

const char *cli_version(void)
{
	return "sysrecover " SYSRECOVER_VERSION;
}

static const struct cli_cmd *const main_groups[] = {
	&cli_tape_cmd, &cli_fs_cmd, &cli_volumes_cmd, &cli_srdelayed_cmd,
	&cli_hive_cmd, &cli_backup_cmd, &cli_list_cmd, &cli_restore_cmd, &cli_verify_cmd, NULL,
};

static void main_usage(FILE *f)
{
	fprintf(f, "usage: sysrecover COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; main_groups[i]; i++)
		fprintf(f, "  %s %s\n      %s\n", main_groups[i]->name,
			main_groups[i]->args, main_groups[i]->summary);
	fprintf(f, "\n'sysrecover COMMAND --help' describes one command;"
		" 'sysrecover --version' says\nwhich sysrecover this is."
		"  Exit codes: 0 done, 1 some items failed, 2 failed,\n"
		"64 bad command line, 70 internal error.\n");
}

static bool is_version(int argc, char **argv)
{
	return argc >= 2 && !strcmp(argv[1], "--version");
}

static int run_main(struct cli_ctx *c, int argc, char **argv)
{
	if (argc < 2) {
		main_usage(stderr);
		return cli_usage_err(c, "which command?");
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		main_usage(stdout);
		return 0;
	}
	if (is_version(argc, argv)) {
		printf("sysrecover %s\n", SYSRECOVER_VERSION);
		return 0;
	}
	for (size_t i = 0; main_groups[i]; i++)
		if (!strcmp(argv[1], main_groups[i]->name))
			return main_groups[i]->run(c, argc - 1, argv + 1);
	return cli_usage_err(c, "unknown command '%s' ('sysrecover --help' lists them)",
			     argv[1]);
}

int main(int argc, char **argv)
{
	struct cli_ctx c = { 0 };
	const char *base = argv[0] ? strrchr(argv[0], '/') : NULL;
	int rc;

	base = base ? base + 1 : argv[0] ? argv[0] : "";
	text_locale_init();
	/* Installed as a link named srdelayed: `srdelayed apply ...`. */
	if (!strcmp(base, "srdelayed")) {
		err_progname = "srdelayed";
		if (is_version(argc, argv)) {
			printf("srdelayed (sysrecover) %s\n", SYSRECOVER_VERSION);
			rc = 0;
		} else {
			rc = cli_srdelayed_cmd.run(&c, argc, argv);
		}
	} else {
		rc = run_main(&c, argc, argv);
	}
	return cli_finish(&c, rc);
}
