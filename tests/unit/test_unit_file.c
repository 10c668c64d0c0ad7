// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * examples/systemd/udplbd.service: `systemd-analyze verify` says nothing about it (it exits 0 and
 * prints a warning for an unknown key, so silence is the criterion). ExecStart points at a stub
 * executable the test substitutes, so the check does not need an installed udplbd. A copy with
 * a misspelt key shows the check can fail. Run from the source tree's root (make check does).
 */
#include "unit_helpers.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define UNIT "examples/systemd/udplbd.service"
#define INSTALLED_BIN "/usr/sbin/udplbd"

static char dir[] = "/tmp/udplb-metrics-unit-XXXXXX";
static char stub[sizeof(dir) + 16], unit[sizeof(dir) + 32];

static char *read_unit(void)
{
	static char text[8192];
	FILE *f = fopen(UNIT, "r");
	size_t n;

	if (!f)
		fail_msg("%s: %s (run from the source tree's root)", UNIT, strerror(errno));
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	return text;
}

/* The unit with ExecStart's binary replaced by the stub, plus @extra at the end of [Service]. */
static void write_copy(const char *text, const char *extra)
{
	const char *at = strstr(text, INSTALLED_BIN), *install = strstr(text, "[Install]");
	FILE *f = fopen(unit, "w");

	assert_non_null(at);
	assert_non_null(install);
	assert_non_null(f);
	fprintf(f, "%.*s%s%.*s%s%s", (int)(at - text), text, stub,
		(int)(install - at - strlen(INSTALLED_BIN)), at + strlen(INSTALLED_BIN), extra,
		install);
	fclose(f);
}

/* systemd-analyze verify's exit status; its output into @out. */
static int verify(char *out, size_t len)
{
	char cmd[256];
	size_t n;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "systemd-analyze verify %s 2>&1", unit);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	return pclose(p);
}

static void test_verify(void **state)
{
	char out[2048];
	const char *text;
	FILE *f;
	int st;

	(void)state;
	if (system("command -v systemd-analyze >/dev/null 2>&1")) {
		if (getenv("CI") && !strcmp(getenv("CI"), "true"))
			fail_msg("systemd-analyze missing (Debian package systemd)");
		print_message(
			"skipped: systemd-analyze is not installed (Debian package systemd)\n");
		skip();
	}
	text = read_unit();
	assert_non_null(strstr(text, "\nType=notify\n"));
	assert_non_null(strstr(text, "\nCapabilityBoundingSet=CAP_BPF CAP_NET_ADMIN CAP_SYS_ADMIN "
				     "CAP_NET_RAW\n"));
	assert_non_null(mkdtemp(dir));
	snprintf(stub, sizeof(stub), "%s/udplbd", dir);
	snprintf(unit, sizeof(unit), "%s/udplbd.service", dir);
	f = fopen(stub, "w");
	assert_non_null(f);
	fputs("#!/bin/sh\nexit 0\n", f);
	fclose(f);
	assert_int_equal(chmod(stub, 0755), 0);

	write_copy(text, "");
	st = verify(out, sizeof(out));
	if (!WIFEXITED(st) || WEXITSTATUS(st) || out[0])
		fail_msg("systemd-analyze verify %s (status %d):\n%s", UNIT, st, out);

	/* Negative control: a misspelt key is reported. */
	write_copy(text, "ProtectHomee=yes\n");
	verify(out, sizeof(out));
	assert_non_null(strstr(out, "ProtectHomee"));

	unlink(unit);
	unlink(stub);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
