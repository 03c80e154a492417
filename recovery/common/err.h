/* err.h - the one error context of sysrecover: a severity ladder, a code,
 * the errno and one sentence, and the exit codes that follow from them.
 *
 * Every module below the CLI reports through a struct err: functions keep
 * returning 0 (or a count) on success and a negative errno on failure, and
 * fill the struct err they were given (or the one their handle carries) in
 * the same step, at the module's boundary, with library codes already
 * translated.  A caller that knows more adds it with err_context():
 *   cannot create '/Windows/x' on /dev/sda2: No space left on device
 *   (while restoring member 1234)
 *
 * The ladder says what the failure means for the operation around it, and
 * the exit code comes from the worst step reached:
 *   ERR_OK       nothing to report                         exit 0
 *   ERR_WARNING  done; the user should read this            exit 0
 *   ERR_ITEM     this item failed; the operation went on    exit 1
 *   ERR_FATAL    the operation stopped                      exit 2
 * and two codes have exits of their own: ERR_USAGE (64) and ERR_INTERNAL
 * (70), as sysexits.h numbers them.
 *
 * tape/ does not include this header (it stands alone, see HACKING.md); its
 * -errno and tape_errmsg() are put into a struct err by the caller.
 */
#ifndef SYSRECOVER_ERR_H
#define SYSRECOVER_ERR_H

#include <stdbool.h>
#include <stddef.h>

enum err_level {
	ERR_OK = 0,
	ERR_WARNING,
	ERR_ITEM,
	ERR_FATAL,
};

/* What kind of failure, where the errno alone does not say it. */
enum err_code {
	ERR_NONE = 0,
	ERR_SYSTEM,    /* errnum says it all: I/O, space, permissions */
	ERR_USAGE,     /* the command line is wrong */
	ERR_REFUSED,   /* a safety check said no: mounted, hibernated, dirty */
	ERR_CORRUPT,   /* malformed input: a tape record, a queue, a hive */
	ERR_INTERNAL,  /* a bug in sysrecover */
};

/* Exit codes, documented in README.md.  mt(1) uses 1 and 2 the same way. */
enum err_exit {
	ERR_EXIT_OK = 0,
	ERR_EXIT_PARTIAL = 1,   /* finished, but some items or checks failed */
	ERR_EXIT_FAILED = 2,    /* the operation failed or was aborted */
	ERR_EXIT_USAGE = 64,    /* bad command line */
	ERR_EXIT_INTERNAL = 70, /* a bug: please report */
};

struct err {
	enum err_level level;
	enum err_code code;
	int errnum;            /* positive errno, 0 when none applies */
	char msg[512];         /* one sentence, no newline, "" when none */
};

/* The name we were invoked by, for messages ("sysrecover", "srdelayed"). */
extern const char *err_progname;

/* Fill e (a NULL e is allowed and ignored) and return neg_errno, so that a
 * failure path reads `return err_set(e, -ENOENT, "...")`.  err_set is a
 * fatal ERR_SYSTEM error; err_setc names the code and the level. */
int err_set(struct err *e, int neg_errno, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int err_setc(struct err *e, enum err_level level, enum err_code code,
	     int neg_errno, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Add what the caller was doing: " (while restoring member 1234)" is
 * appended, innermost first.  Returns -errnum (or -EIO when there is none),
 * ready to be returned again. */
int err_context(struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Make the failure count as one item (ERR_ITEM) rather than fatal, or any
 * other step of the ladder. */
void err_relevel(struct err *e, enum err_level level);
void err_clear(struct err *e);
void err_copy(struct err *dst, const struct err *src);
/* true when e records a failure (ERR_ITEM or worse). */
bool err_failed(const struct err *e);

/* The exit code for a failure recorded in e (0 for none or a warning). */
int err_exit_code(const struct err *e);
/* The exit code for the worst level an operation reached. */
int err_exit_level(enum err_level worst);
enum err_level err_worse(enum err_level a, enum err_level b);

/* "sysrecover: <msg>" on stderr; "sysrecover: warning: <msg>" for
 * warnings; nothing for ERR_OK.  A failure with no message prints its
 * errno's text. */
void err_print(const struct err *e);
/* The same for a message that is not in a struct err. */
void err_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void err_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
