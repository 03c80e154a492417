/* cli.h - the subcommands of the sysrecover multi-call binary. */
#ifndef SYSRECOVER_CLI_H
#define SYSRECOVER_CLI_H

/* Each takes the arguments after its own name (argv[0] is the subcommand)
 * and returns an exit code from cm.h. */
int cli_tape(int argc, char **argv);
int cli_fs(int argc, char **argv);
int cli_volumes(int argc, char **argv);
int cli_hive(int argc, char **argv);
int cli_srdelayed(int argc, char **argv);
int cli_hive_merge(int, char **); int cli_hive_mounted(int, char **); int cli_hive_fntb(int, char **);

#endif
