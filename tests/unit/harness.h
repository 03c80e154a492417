/* harness.h - what the cmocka unit tests share: a scratch directory that
 * is removed at exit, running a shell command (and checking that it ran),
 * and the real test data with the SKIP rule of tests/lib/check.sh. */
#ifndef SYSRECOVER_HARNESS_H
#define SYSRECOVER_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A scratch directory made once per test binary (mkdtemp under $TMPDIR or
 * /tmp) and removed with everything in it at exit (KEEP=1 keeps it). */
const char *th_tmpdir(void);
/* th_tmpdir()/name, in a static buffer that the next call reuses. */
const char *th_path(const char *name);

/* Run a command through /bin/sh; returns its exit status (-1 when it could
 * not be run, 128+N when killed by signal N). */
int th_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same, with stdout into buf (NUL-terminated, cut at cap - 1). */
int th_sh_out(char *buf, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Run a command that must succeed: a failing one fails the test. */
#define th_must(...) th_must_(__FILE__, __LINE__, __VA_ARGS__)
void th_must_(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The real test data: $SYSRECOVER_TESTDATA (tests/run-all.sh exports it as
 * an absolute path when it is unset), or else the testdata/ of the shared/
 * directory beside the clone, whose top is found by going up from the test
 * binary (then from the current directory) to the directory holding
 * tests/lib/check.sh: the same rule as tests/lib/check.sh's testdata, so
 * both agree whatever the current directory.  Returns the path of rel
 * inside it, or NULL when it is absent; under SYSRECOVER_REQUIRE_TESTDATA=1
 * (CI) absence fails the test instead.  A caller that gets NULL calls skip(). */
const char *th_testdata(const char *rel);

/* A fixed pseudo-random sequence (xorshift64): the same on every run, so
 * a failing case can be found again. */
uint64_t th_rand(void);

#endif
