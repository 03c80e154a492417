/* harness.c - scratch directories, shell commands and test data for the
 * unit tests (harness.h).  Linked into every test binary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static char th_dir[256];

static void th_cleanup(void)
{
	char cmd[300];

	if (!th_dir[0] || getenv("KEEP"))
		return;
	/* th_dir is ours: mkdtemp made it from a fixed template. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", th_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "harness: could not remove %s\n", th_dir);
}

const char *th_tmpdir(void)
{
	const char *t = getenv("TMPDIR");

	if (th_dir[0])
		return th_dir;
	snprintf(th_dir, sizeof(th_dir), "%s/sr-unit.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(th_dir)) {
		perror("harness: mkdtemp");
		exit(1);
	}
	atexit(th_cleanup);
	return th_dir;
}

const char *th_path(const char *name)
{
	static char p[4096];

	snprintf(p, sizeof(p), "%s/%s", th_tmpdir(), name);
	return p;
}

static int status_of(int st)
{
	if (st == -1)
		return -1;
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

__attribute__((format(printf, 1, 0)))
static int vsh(const char *fmt, va_list ap)
{
	char *cmd = NULL;
	int st;

	if (vasprintf(&cmd, fmt, ap) < 0)
		return -1;
	fflush(NULL);
	st = system(cmd);
	free(cmd);
	return status_of(st);
}

int th_sh(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vsh(fmt, ap);
	va_end(ap);
	return rc;
}

int th_sh_out(char *buf, size_t cap, const char *fmt, ...)
{
	char *cmd = NULL;
	va_list ap;
	size_t n = 0;
	FILE *p;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return -1;
	fflush(NULL);
	p = popen(cmd, "r");
	free(cmd);
	if (!p)
		return -1;
	if (cap)
		n = fread(buf, 1, cap - 1, p);
	/* Drain the rest so that the command does not die of SIGPIPE. */
	while (fgetc(p) != EOF)
		;
	if (cap)
		buf[n] = '\0';
	return status_of(pclose(p));
}

void th_must_(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vsh(fmt, ap);
	va_end(ap);
	if (rc != 0)
		_fail(file, line);
}

/* The top of the clone: the first directory, going up from the test
 * binary's own directory (build/tests/ inside the clone) and then from the
 * current one, that holds tests/lib/check.sh.  "" when there is none. */
static const char *th_top(void)
{
	static char top[4096];
	static bool done;
	char p[4096 + 32];
	struct stat st;

	if (done)
		return top;
	done = true;
	for (int from = 0; from < 2 && !top[0]; from++) {
		char d[4096];
		ssize_t n;

		if (from == 0) {
			n = readlink("/proc/self/exe", d, sizeof(d) - 1);
			if (n <= 0)
				continue;
			d[n] = '\0';
		} else if (!getcwd(d, sizeof(d))) {
			continue;
		}
		for (;;) {
			char *slash;

			snprintf(p, sizeof(p), "%s/tests/lib/check.sh", d);
			if (stat(p, &st) == 0) {
				snprintf(top, sizeof(top), "%s", d);
				break;
			}
			slash = strrchr(d, '/');
			if (!slash || slash == d)
				break;
			*slash = '\0';
		}
	}
	return top;
}

const char *th_testdata(const char *rel)
{
	static char p[8192];
	const char *d = getenv("SYSRECOVER_TESTDATA");
	const char *req = getenv("SYSRECOVER_REQUIRE_TESTDATA");
	struct stat st;

	/* The rule of tests/lib/check.sh and tests/run-all.sh (which exports
	 * the variable): $SYSRECOVER_TESTDATA, else the testdata/ of the
	 * shared/ directory beside the clone, found from the binary. */
	if (d && *d) {
		snprintf(p, sizeof(p), "%s/%s", d, rel);
	} else {
		const char *top = th_top();
		const char *slash = strrchr(top, '/');

		if (slash)
			snprintf(p, sizeof(p), "%.*s/shared/testdata/%s",
				 (int)(slash - top), top, rel);
		else
			snprintf(p, sizeof(p), "../shared/testdata/%s", rel);
	}
	if (stat(p, &st) == 0)
		return p;
	if (req && !strcmp(req, "1"))
		fail_msg("%s missing, and this run requires the real data", p);
	return NULL;
}

uint64_t th_rand(void)
{
	static uint64_t x = 88172645463325252ull;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}
