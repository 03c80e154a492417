/* cli.h - the command line's one command-table type and its dispatcher.
 *
 * Every level of the command line is a table of struct cli_cmd: the
 * subcommands of sysrecover, the subcommands of `hive` and `srdelayed`,
 * the verbs of `fs VOL` and of `tape DEV`.  What a command needs (a volume
 * opened read-only or read-write, numbers as arguments) is said by flags
 * in its entry, not by code that compares function pointers.
 *
 * A command's run() parses its own options with getopt_long, calls one
 * module function and prints.  It returns 0, or a negative errno with
 * c->err filled (ERR_USAGE for a bad command line); cli_finish() prints
 * the error and turns it into the exit code by the ladder (err.h).
 */
#ifndef SYSRECOVER_CLI_H
#define SYSRECOVER_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "err.h"

/* What a command needs, and what its arguments are. */
enum {
	CLI_VOL_RO = 1u << 0,      /* the group opens the volume read-only */
	CLI_VOL_RW = 1u << 1,      /* ... read-write */
	CLI_RW_AT_MAX = 1u << 2,   /* read-only, but read-write when given
				    * max_args (xattr PATH NAME VALUE); such
				    * a command takes no options */
	CLI_ARG_NUM = 1u << 3,     /* its arguments are counts or sizes */
	CLI_HIDDEN = 1u << 4,      /* an alias kept for scripts: not listed */
	CLI_ARG_NEG = 1u << 5,     /* with CLI_ARG_NUM: numbers may be negative */
};

/* What a run() returns when it has done all the call asked for without
 * running anything (it printed --help): the caller stops, exit 0. */
enum { CLI_DONE = 1 };

struct cli_ctx {
	struct err err;            /* why the command failed */
	enum err_level worst;      /* over every command of one run */
	void *obj;                 /* what the group opened for its commands:
				    * a struct fs *, a struct tape * */
	void *opts;                /* the group's own options */
};

struct cli_cmd {
	const char *name;
	const char *alias;         /* a second name (mt's), or NULL */
	unsigned flags;
	int min_args, max_args;    /* after the name; max -1 = any number */
	int (*run)(struct cli_ctx *c, int argc, char **argv);
	const struct cli_cmd *sub; /* a group: its table */
	const char *args;          /* "PATH [STREAM]" */
	const char *summary;       /* one line */
};

/* Tables end with an entry whose name is NULL. */
const struct cli_cmd *cli_find(const struct cli_cmd *table, const char *name);
/* "usage: PREFIX NAME ARGS  SUMMARY" for every listed entry. */
void cli_usage(FILE *f, const char *prefix, const struct cli_cmd *table);
/* Run the subcommand argv[1] of a group whose table is `table` (argv[0] is
 * the group's name, prefix what to print before subcommand names):
 * --help/-h lists the table and returns 0; an unknown name is a usage
 * error. */
int cli_dispatch(struct cli_ctx *c, const char *prefix,
		 const struct cli_cmd *table, int argc, char **argv);
/* "usage: PREFIX NAME ARGS", the summary and the alias: one command's
 * --help. */
void cli_help(FILE *f, const char *prefix, const struct cli_cmd *cmd);
/* The arguments of a command with no options of its own: --help/-h prints
 * cli_help() and returns CLI_DONE; another option, or a count of arguments
 * outside min/max, is a usage error.  0 leaves optind at the first
 * argument.  Options come before the arguments ("+": a later "-x" is an
 * argument). */
int cli_args(struct cli_ctx *c, const char *prefix, const struct cli_cmd *cmd,
	     int argc, char **argv);
/* The same for a verb with one on/off option besides --help (--json,
 * -p/--preserve): *set tells whether it was given; help, when not NULL,
 * is one more line for --help. */
struct cli_flag {
	const char *name;          /* the long name: "json" */
	int shortopt;              /* 'p', or 0 for a long name only */
	bool *set;
	const char *help;
};
int cli_args_flag(struct cli_ctx *c, const char *prefix, const struct cli_cmd *cmd,
		  int argc, char **argv, const struct cli_flag *flag);
/* n arguments (after the options) against cmd's min/max: 0 or a usage
 * error naming what is missing. */
int cli_check_count(struct cli_ctx *c, const char *prefix,
		    const struct cli_cmd *cmd, int n);
/* A whole number given to option opt ("--set"), at least min: 0 with *out,
 * or a usage error naming the option and what it wants. */
int cli_number(struct cli_ctx *c, const char *opt, const char *arg, long min,
	       const char *what, long *out);

/* The usage error for the option getopt_long (opterr = 0) just refused. */
int cli_bad_option(struct cli_ctx *c, int argc, char **argv);
/* A usage error: the message in c->err, returned as -EINVAL. */
int cli_usage_err(struct cli_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Print c->err (if any) and return the exit code of the whole run, from
 * rc and the worst level reached. */
int cli_finish(struct cli_ctx *c, int rc);

/* The rule subcommands of `hive`, in cmd_hive_rules.c. */
int cli_hive_merge_run(struct cli_ctx *c, int argc, char **argv);
int cli_hive_mounted_run(struct cli_ctx *c, int argc, char **argv);
int cli_hive_fntb_run(struct cli_ctx *c, int argc, char **argv);

/* The top-level groups (one cmd_<name>.c each). */
extern const struct cli_cmd cli_tape_cmd, cli_fs_cmd, cli_volumes_cmd,
	cli_hive_cmd, cli_srdelayed_cmd, cli_backup_cmd, cli_list_cmd, cli_restore_cmd,
	cli_verify_cmd;

/* "sysrecover 0.3.0 (git ...)": what --version prints. */
const char *cli_version(void);

#endif
