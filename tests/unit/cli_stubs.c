// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Stubs of cmd/instance.c (the kernel layer of the CLI) for tests/unit/test_cli_args.c and
 * tests/fuzz/fuzz_cli.c: no privileges, no instance, no kernel. They count their calls, so a
 * test can tell whether a command got as far as the kernel.
 */
#include <errno.h>
#include <string.h>

#include "cli_stubs.h"

struct cli_stub_calls cli_stub_calls;

int cli_check_privileges(void)
{
	cli_stub_calls.privileges++;
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

int inst_open(struct cli_ctx *ctx, const struct cli_args *args, struct instance *inst)
{
	(void)ctx;
	(void)args;
	cli_stub_calls.open++;
	memset(inst, 0, sizeof(*inst));
	cli_err("not loaded (stub)");
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
	(void)change;
	(void)arg;
	(void)sync;
	cli_stub_calls.change++;
	cli_stub_calls.last_nr_pos = args->nr_pos;
	return EXIT_OK;
}

int backend_fill_mac(const char *dev, const struct lb_vip *vip, struct lb_backend *b,
		     struct lb_err *err)
{
	(void)dev;
	(void)vip;
	(void)err;
	b->has_mac = true;
	return 0;
}

int inst_check_managed(const struct instance *inst, const struct cli_args *args)
{
	(void)inst;
	(void)args;
	return 0;
}
