/* stop.c - a flag set by SIGINT/SIGTERM, polled at consistent points. */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "stop.h"

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
	stop_sig = sig;
}

/* A signal that was ignored when we started (a background job of a
 * non-interactive shell, nohup) stays ignored, as with every other tool. */
static int catch(int sig)
{
	struct sigaction sa, old;

	if (sigaction(sig, NULL, &old) < 0)
		return -errno;
	if (old.sa_handler == SIG_IGN)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL) < 0 ? -errno : 0;
}

int stop_install(void)
{
	int rc = catch(SIGINT);

	return rc < 0 ? rc : catch(SIGTERM);
}

void stop_uninstall(void)
{
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
}

bool stop_requested(void)
{
	return stop_sig != 0;
}

int stop_signal(void)
{
	return stop_sig;
}

const char *stop_signame(void)
{
	return stop_sig == SIGINT ? "SIGINT" : stop_sig == SIGTERM ? "SIGTERM" :
	       "a signal";
}

void stop_reset(void)
{
	stop_sig = 0;
}
