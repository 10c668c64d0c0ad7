// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target of the whole command line (cmd/cli.c and the command tables): the input is
 * argv, its words separated by NUL bytes. The kernel layer (cmd/instance.c) is replaced by the
 * stubs of tests/unit/cli_stubs.c, which refuse privileges and find no instance, so every command
 * runs its argument parsing and checks and then stops where it would touch the kernel. Output
 * goes to /dev/null.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* ---- the target ---- */

static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	devnull = fopen("/dev/null", "w");
	/* apply -f - must not wait for a terminal; stdout is the CLI's, not libFuzzer's. */
	if (!devnull || !freopen("/dev/null", "r", stdin) || !freopen("/dev/null", "w", stdout))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1), *argv[MAX_ARGS + 2], *p;
	FILE *saved_stderr = stderr;
	int argc = 1, ret;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	argv[0] = "udplb";
	for (p = copy; p < copy + size && argc <= MAX_ARGS; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	/* The CLI's error lines go nowhere; libFuzzer and the sanitizers keep the real stderr. */
	stderr = devnull;
	ret = cli_main(argc, argv);
	stderr = saved_stderr;
	if (ret != EXIT_OK && ret != EXIT_RUNTIME && ret != EXIT_USAGE)
		abort();
	free(copy);
	return 0;
}
