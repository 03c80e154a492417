/* main.c - sysrecover's entry point: pick a subcommand from the table. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "err.h"

static int run_main(struct cli_ctx *c, int argc, char **argv);

static const struct cli_cmd *const main_groups[] = {
	&cli_tape_cmd, &cli_fs_cmd, &cli_volumes_cmd, &cli_srdelayed_cmd,
	&cli_hive_cmd, NULL,
};

static void main_usage(FILE *f)
{
	fprintf(f, "usage: sysrecover COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; main_groups[i]; i++)
		fprintf(f, "  %s %s\n      %s\n", main_groups[i]->name,
			main_groups[i]->args, main_groups[i]->summary);
	fprintf(f, "\n'sysrecover COMMAND --help' describes one command.\n");
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
	/* Installed as a link named srdelayed: `srdelayed apply ...`. */
	if (!strcmp(base, "srdelayed")) {
		err_progname = "srdelayed";
		rc = cli_srdelayed_cmd.run(&c, argc, argv);
	} else {
		rc = run_main(&c, argc, argv);
	}
	return cli_finish(&c, rc);
}
