/* cli.c - the command-table dispatcher shared by every level (cli.h). */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *str(const char *s)
{
	return s ? s : "";
}

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
		fprintf(f, "  %s%s%s%s\n      %s%s%s%s\n", prefix, t->name,
			t->args && *t->args ? " " : "", t->args ? t->args : "",
			t->summary ? t->summary : "", t->alias ? " (also '" : "",
			t->alias ? t->alias : "", t->alias ? "')" : "");
	}
}

void cli_help(FILE *f, const char *prefix, const struct cli_cmd *cmd)
{
	fprintf(f, "usage: %s%s%s%s\n", prefix, cmd->name,
		cmd->args && *cmd->args ? " " : "", cmd->args ? cmd->args : "");
	if (cmd->summary)
		fprintf(f, "  %s\n", cmd->summary);
	if (cmd->alias)
		fprintf(f, "  (also called '%s')\n", cmd->alias);
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

int cli_bad_option(struct cli_ctx *c, int argc, char **argv)
{
	const char *w = optind > 1 && optind <= argc ? argv[optind - 1] : "";

	if (optopt && strncmp(w, "--", 2))
		return cli_usage_err(c, "%s: unknown option '-%c', or its value is"
				     " missing (see --help)", argv[0], optopt);
	return cli_usage_err(c, "%s: unknown option '%s', or its value is missing"
			     " (see --help)", argv[0], w);
}

int cli_check_count(struct cli_ctx *c, const char *prefix,
		    const struct cli_cmd *cmd, int n)
{
	const char *name = cmd->name;

	if (n < cmd->min_args && cmd->min_args == 1)
		return cli_usage_err(c, "'%s' needs an argument (usage: %s%s %s)",
				     name, prefix, name, str(cmd->args));
	if (n < cmd->min_args)
		return cli_usage_err(c, "'%s' needs %d arguments (usage: %s%s %s)",
				     name, cmd->min_args, prefix, name,
				     str(cmd->args));
	if (cmd->max_args >= 0 && n > cmd->max_args)
		return cli_usage_err(c, "'%s': too many arguments (usage: %s%s %s)",
				     name, prefix, name, str(cmd->args));
	return 0;
}

int cli_args_flag(struct cli_ctx *c, const char *prefix, const struct cli_cmd *cmd,
		  int argc, char **argv, const struct cli_flag *flag)
{
	struct option opts[3] = {
		{ "help", no_argument, NULL, 'h' },
	};
	char shorts[4] = "+h";
	int o;

	if (flag) {
		opts[1] = (struct option){ flag->name, no_argument, NULL, 'F' };
		if (flag->shortopt) {
			opts[1].val = flag->shortopt;
			shorts[2] = flag->shortopt;
		}
		*flag->set = false;
	}
	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
		if (flag && o == opts[1].val) {
			*flag->set = true;
			continue;
		}
		if (o != 'h')
			return cli_bad_option(c, argc, argv);
		cli_help(stdout, prefix, cmd);
		if (flag && flag->help)
			printf("%s\n", flag->help);
		return CLI_DONE;
	}
	return cli_check_count(c, prefix, cmd, argc - optind);
}

int cli_args(struct cli_ctx *c, const char *prefix, const struct cli_cmd *cmd,
	     int argc, char **argv)
{
	return cli_args_flag(c, prefix, cmd, argc, argv, NULL);
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
	if (c->err.code == ERR_USAGE || c->err.code == ERR_INTERNAL)
		return err_exit_code(&c->err);
	return err_exit_level(err_worse(c->worst, c->err.level));
}

int cli_number(struct cli_ctx *c, const char *opt, const char *arg, long min,
	       const char *what, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(arg, &end, 10);
	if (errno || end == arg || *end || *out < min)
		return cli_usage_err(c, "%s: '%s' is not %s", opt, arg, what);
	return 0;
}
