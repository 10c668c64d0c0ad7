// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target of the whole command line (cmd/cli.c and the command tables): the input is
 * argv, its words separated by NUL bytes. The kernel layer (cmd/instance.c) is replaced by the
 * stubs below, which refuse privileges and find no instance, so every command runs its argument
 * parsing and checks and then stops where it would touch the kernel. Output goes to /dev/null.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "instance.h"

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* ---- stubs of cmd/instance.c: no privileges, no kernel ---- */

int cli_check_privileges(void)
{
	return -EPERM;
}

int cli_enter_netns(struct cli_ctx *ctx)
{
	(void)ctx;
	return 0;
}

int cli_ifindex(const char *dev, int *ifindex)
{
	(void)dev;
	*ifindex = 1;
	return 0;
}

int cli_check_bpffs(void)
{
	return -ENOENT;
}

int cli_ensure_bpffs(void)
{
	return -ENOENT;
}

int cli_pin_dir(struct cli_ctx *ctx, const char *dev)
{
	(void)dev;
	ctx->pin_dir = "/nonexistent";
	return 0;
}

int cli_mkdir_p(const char *path)
{
	(void)path;
	return -EPERM;
}

const char *inst_map_name(enum inst_map map)
{
	(void)map;
	return "map";
}

int inst_open(struct cli_ctx *ctx, const struct cli_args *args, struct instance *inst)
{
	(void)ctx;
	(void)args;
	memset(inst, 0, sizeof(*inst));
	cli_err("not loaded (fuzz stub)");
	return -ENOENT;
}

void inst_close(struct instance *inst)
{
	(void)inst;
}

int inst_read_config(const struct instance *inst, struct udplb_config *cfg)
{
	(void)inst;
	memset(cfg, 0, sizeof(*cfg));
	return -ENOENT;
}

int inst_read(struct instance *inst, struct lb_state *state)
{
	(void)inst;
	lb_state_init(state);
	return -ENOENT;
}

int inst_commit(struct instance *inst, const struct lb_state *desired, bool sync)
{
	(void)inst;
	(void)desired;
	(void)sync;
	return -ENOENT;
}

int inst_change(struct cli_ctx *ctx, const struct cli_args *args, inst_change_fn change, void *arg,
		bool sync)
{
	(void)ctx;
	(void)args;
	(void)change;
	(void)arg;
	(void)sync;
	return EXIT_RUNTIME;
}

const char *mode_name(enum udplb_mode mode)
{
	(void)mode;
	return "none";
}

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
