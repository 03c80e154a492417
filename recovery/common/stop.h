/* stop.h - SIGINT and SIGTERM ask a long operation to stop at its next
 * consistent point instead of killing it half-way through a write.
 *
 *   stop_install();                  before the volume is opened read-write
 *   ... if (stop_requested()) ...    between objects: finish, flush, close
 *   stop_signal()                    which signal asked (SIGINT, SIGTERM), 0
 *
 * The handler only sets a flag.  It is installed with SA_RESETHAND: the
 * first signal asks for the stop, a second one (Ctrl-C again) has the
 * default action and kills at once, for when the stop takes too long.  It is
 * installed with SA_RESTART, so that a system call that a library does not
 * retry is not failed by the signal: the flag is polled, not delivered.  A
 * signal that is ignored when stop_install runs (a background job of a
 * non-interactive shell, nohup) stays ignored, as with other tools.
 */
#ifndef SYSRECOVER_STOP_H
#define SYSRECOVER_STOP_H

#include <stdbool.h>

/* Catch SIGINT and SIGTERM (again after a stop was handled or reset).
 * 0 or a negative errno. */
int stop_install(void);
/* Give both signals their default action again. */
void stop_uninstall(void);
bool stop_requested(void);
int stop_signal(void);
/* "SIGINT", "SIGTERM", or "a signal". */
const char *stop_signame(void);
/* Forget a request (tests; a new operation in the same process). */
void stop_reset(void);

#endif
