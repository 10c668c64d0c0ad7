// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The udplb command line without a kernel (cmd/ with tests/unit/cli_stubs.c for cmd/instance.c):
 * -j errors as one JSON object on stdout, per-object help, values refused before anything
 * touches the kernel, any number of positional arguments.
 */
#include "unit_helpers.h"

#include "cli_stubs.h"

struct run {
	int ret;
	char *out; /* stdout */
	char *err; /* stderr */
};

/* cli_main() on NULL-terminated words, stdout and stderr captured. */
static struct run run_words(const char *const *words)
{
	FILE *saved_out = stdout, *saved_err = stderr;
	size_t out_len = 0, err_len = 0;
	struct run r = {};
	char *argv[600];
	int argc = 0;

	argv[argc++] = "udplb";
	while (*words && argc < 599)
		argv[argc++] = (char *)*words++;
	argv[argc] = NULL;
	memset(&cli_stub_calls, 0, sizeof(cli_stub_calls));
	stdout = open_memstream(&r.out, &out_len);
	stderr = open_memstream(&r.err, &err_len);
	assert_non_null(stdout);
	assert_non_null(stderr);
	r.ret = cli_main(argc, argv);
	fclose(stdout);
	fclose(stderr);
	stdout = saved_out;
	stderr = saved_err;
	return r;
}

#define RUN(...) run_words((const char *const[]){ __VA_ARGS__, NULL })

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* One line {"error":"..."} on stdout containing @msg, nothing on stderr. */
static void assert_json_error(const struct run *r, const char *msg)
{
	if (strncmp(r->out, "{\"error\":\"", 10) || strcmp(r->out + strlen(r->out) - 3, "\"}\n") ||
	    strchr(r->out, '\n') != r->out + strlen(r->out) - 1 || !strstr(r->out, msg))
		fail_msg("stdout '%s' is not one JSON error with '%s'", r->out, msg);
	assert_string_equal(r->err, "");
}

static void test_json_errors(void **state)
{
	struct run r;

	(void)state;
	r = RUN("-j", "vip", "add", "eth0", "bogus");
	assert_int_equal(r.ret, EXIT_USAGE);
	assert_json_error(&r, "'bogus' is not a VIP:PORT");
	run_free(&r);

	r = RUN("-j", "status", "eth0");
	assert_int_equal(r.ret, EXIT_RUNTIME);
	assert_json_error(&r, "not loaded (stub)");
	run_free(&r);

	r = RUN("--bogus", "-j");
	assert_int_equal(r.ret, EXIT_USAGE);
	assert_json_error(&r, "unknown option '--bogus'");
	run_free(&r);

	r = RUN("-j", "vip");
	assert_int_equal(r.ret, EXIT_USAGE);
	assert_json_error(&r, "missing command");
	run_free(&r);

	/* Quotes and control characters are escaped. */
	r = RUN("-j", "vip", "add", "eth0", "a\"b\n");
	assert_json_error(&r, "'a\\\"b\\u000a' is not");
	run_free(&r);

	/* Without -j: one line on stderr, nothing on stdout. */
	r = RUN("vip", "add", "eth0", "bogus");
	assert_int_equal(r.ret, EXIT_USAGE);
	assert_string_equal(r.out, "");
	assert_non_null(strstr(r.err, "udplb: 'bogus' is not a VIP:PORT"));
	run_free(&r);
}

static void test_object_help(void **state)
{
	static const char *const forms[][3] = {
		{ "backend", "--help", NULL },
		{ "backend", "help", NULL },
		{ "backend", "-h", NULL },
		{ "help", "backend", NULL },
	};
	struct run r;
	size_t i;

	(void)state;
	for (i = 0; i < UT_ARRAY_SIZE(forms); i++) {
		r = run_words(forms[i]);
		assert_int_equal(r.ret, EXIT_OK);
		assert_non_null(strstr(r.out, "backend add DEV"));
		assert_non_null(strstr(r.out, "backend set DEV"));
		assert_non_null(strstr(r.out, "backend drain DEV"));
		assert_null(strstr(r.out, "vip add"));
		run_free(&r);
	}
	r = RUN("vip", "set", "--help");
	assert_int_equal(r.ret, EXIT_OK);
	assert_non_null(strstr(r.out, "--flags drop-frags,drop-invalid|none"));
	run_free(&r);
	r = RUN("pool");
	assert_int_equal(r.ret, EXIT_USAGE);
	assert_non_null(strstr(r.err, "pool get DEV KEY"));
	run_free(&r);
}

/* Refused while parsing: the kernel layer is never reached. */
static void test_refused_before_kernel(void **state)
{
	static const char *const bad[][8] = {
		{ "load", "eth0", "--hash-seed", "0x10", NULL },
		{ "load", "eth0", "--hash-seed", "4294967296", NULL },
		{ "load", "eth0", "--mode", "none", NULL },
		{ "load", "eth0", "--mode", "bpf", NULL },
		{ "vip", "add", "eth0", "10.0.0.1:53", "--ring-size", "0", NULL },
		{ "vip", "add", "eth0", "10.0.0.1:053", NULL },
		{ "vip", "add", "eth0", "127.0.0.1:53", NULL },
		{ "vip", "add", "eth0", "10.0.0.1:53", "--flags", "drop-frags,", NULL },
		{ "vip", "set", "eth0", "10.0.0.1:53", NULL },
		{ "backend", "add", "eth0", "10.0.0.1:53", "10.0.1.1", "--mac", "ff:ff:ff:ff:ff:ff",
		  NULL },
		{ "backend", "add", "eth0", "10.0.0.1:53", "10.0.1.1", "--mac", "-1:-1:-1:-1:-1:-1",
		  NULL },
		{ "backend", "add", "eth0", "10.0.0.1:53", "10.0.1.1", "--weight", "+1", NULL },
		{ "pool", "set", "eth0", "200", " -1", NULL },
		{ "stats", "eth0", "--watch", "0", NULL },
		{ "backend", "set", "eth0", "10.0.0.1:53", "10.0.1.1", "10.0.1.1:53", NULL },
	};
	struct run r;
	size_t i;

	(void)state;
	for (i = 0; i < UT_ARRAY_SIZE(bad); i++) {
		r = run_words(bad[i]);
		if (r.ret != EXIT_USAGE || cli_stub_calls.privileges || cli_stub_calls.open ||
		    cli_stub_calls.change)
			fail_msg("%s %s %s: exit %d, reached the kernel layer (%d, %d, %d): %s",
				 bad[i][0], bad[i][1], bad[i][2], r.ret, cli_stub_calls.privileges,
				 cli_stub_calls.open, cli_stub_calls.change, r.err);
		run_free(&r);
	}
}

/* backend set took at most 62 backends ("too many arguments"). */
static void test_many_backends(void **state)
{
	static char addrs[500][20];
	const char *words[510];
	struct run r;
	int i, n = 0;

	(void)state;
	words[n++] = "backend";
	words[n++] = "set";
	words[n++] = "eth0";
	words[n++] = "10.0.0.1:53";
	for (i = 0; i < 500; i++) {
		snprintf(addrs[i], sizeof(addrs[i]), "10.1.%d.%d", i / 250, i % 250 + 1);
		words[n++] = addrs[i];
	}
	words[n] = NULL;
	r = run_words(words);
	assert_int_equal(r.ret, EXIT_OK);
	assert_int_equal(cli_stub_calls.change, 1);
	assert_int_equal(cli_stub_calls.last_nr_pos, 502);
	run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_errors),
		cmocka_unit_test(test_object_help),
		cmocka_unit_test(test_refused_before_kernel),
		cmocka_unit_test(test_many_backends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
