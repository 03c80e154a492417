/* cli.c - the command-table dispatcher shared by every level (cli.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

const struct cli_cmd *cli_find(const struct cli_cmd *table, const char *name)
{
	for (const struct cli_cmd *t = table; t->name; t++)
		if (!strcmp(name, t->name) || (t->alias && !strcmp(name, t->alias)))
			return t;
	return NULL;
}

void cli_usage(FILE *f, const char *prefix, const struct cli_cmd *table)
{
	for (const struct cli_cmd *t = table; t->name; t++) {
		if (t->flags & CLI_HIDDEN)
			continue;
		fprintf(f, "  %s%s%s%s\n      %s\n", prefix, t->name,
			t->args && *t->args ? " " : "", t->args ? t->args : "",
			t->summary ? t->summary : "");
	}
}

int cli_usage_err(struct cli_ctx *c, const char *fmt, ...)
{
	va_list ap;

	c->err.level = ERR_FATAL;
	c->err.code = ERR_USAGE;
	c->err.errnum = EINVAL;
	va_start(ap, fmt);
	vsnprintf(c->err.msg, sizeof(c->err.msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int cli_check_args(struct cli_ctx *c, const struct cli_cmd *cmd, int argc)
{
	int n = argc - 1;

	if (n < cmd->min_args || (cmd->max_args >= 0 && n > cmd->max_args))
		return cli_usage_err(c, "usage: %s %s", cmd->name,
				     cmd->args ? cmd->args : "");
	return 0;
}

int cli_dispatch(struct cli_ctx *c, const char *prefix,
		 const struct cli_cmd *table, int argc, char **argv)
{
	const struct cli_cmd *cmd;

	if (argc < 2)
		return cli_usage_err(c, "%s: which subcommand? ('%s--help' lists them)",
				     argv[0], prefix);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		printf("usage:\n");
		cli_usage(stdout, prefix, table);
		return 0;
	}
	cmd = cli_find(table, argv[1]);
	if (!cmd)
		return cli_usage_err(c, "%s: unknown subcommand '%s' ('%s--help' lists them)",
				     argv[0], argv[1], prefix);
	return cmd->run(c, argc - 1, argv + 1);
}

int cli_finish(struct cli_ctx *c, int rc)
{
	if (rc < 0 && !err_failed(&c->err))
		err_set(&c->err, rc, "%s", strerror(-rc));
	err_print(&c->err);
	if (c->legacy_exit)
		return c->legacy_exit;
	if (c->err.code == ERR_USAGE || c->err.code == ERR_INTERNAL)
		return err_exit_code(&c->err);
	return err_exit_level(err_worse(c->worst, c->err.level));
}
