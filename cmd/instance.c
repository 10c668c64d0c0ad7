// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The CLI side of an instance (lib/udplb/lb_instance.h does the work): privileges, entering the
 * netns given with -n, and the library's errors printed as the command's one error line.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>

#ifdef UDPLB_TESTING
#include "abmap/testing.h"
#endif
#include "cli.h"
#include "daemon_pin.h"
#include "instance.h"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static bool has_cap(const struct __user_cap_data_struct *data, int cap)
{
	return data[cap / 32].effective & (1U << (cap % 32));
}

int cli_check_privileges(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data) ||
	    !(has_cap(data, CAP_BPF) || has_cap(data, CAP_SYS_ADMIN)) ||
	    !has_cap(data, CAP_NET_ADMIN) || !has_cap(data, CAP_SYS_ADMIN)) {
		cli_err("needs CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root)");
		return -EPERM;
	}
	return 0;
}

int cli_enter_netns(struct cli_ctx *ctx)
{
	char path[256];
	int fd, err;

	if (!ctx->netns)
		return 0;
	if (strchr(ctx->netns, '/'))
		snprintf(path, sizeof(path), "%s", ctx->netns);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", ctx->netns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cli_err("network namespace '%s': %s", ctx->netns, strerror(errno));
		return -errno;
	}
	err = setns(fd, CLONE_NEWNET) ? -errno : 0;
	close(fd);
	if (err)
		cli_err("cannot enter network namespace '%s': %s", ctx->netns, strerror(-err));
	return err;
}

int cli_ifindex(const char *dev, int *ifindex)
{
	*ifindex = if_nametoindex(dev);
	if (!*ifindex) {
		cli_err("device '%s' not found%s", dev, errno == ENODEV ? "" : "");
		return -ENODEV;
	}
	return 0;
}

static void print_err(int ret, const struct lb_err *err)
{
	if (err->msg[0])
		cli_err("%s", err->msg);
	else
		cli_err("%s", strerror(-ret));
}

/* The library's error line, when @ret is an error; returns @ret. */
static int report(int ret, const struct lb_err *err)
{
	if (ret)
		print_err(ret, err);
	return ret;
}

/* Commands other than load: pins can only be where bpffs is. */
int cli_check_bpffs(void)
{
	struct lb_err err = {};

	return report(lb_bpffs_check(&err), &err);
}

int cli_ensure_bpffs(void)
{
	struct lb_err err = {};

	return report(lb_bpffs_mount(&err), &err);
}

int cli_pin_dir(struct cli_ctx *ctx, const char *dev)
{
	struct lb_err err = {};
	int ret;

	if (ctx->pin_dir)
		return 0;
	ret = lb_pin_dir_default(dev, ctx->pin_buf, sizeof(ctx->pin_buf), &err);
	if (ret) {
		print_err(ret, &err);
		return ret;
	}
	ctx->pin_dir = ctx->pin_buf;
	return 0;
}

/* Abmap log lines become the CLI's one error line. */
static int abmap_print(enum abmap_print_level level, const char *fmt, va_list args)
{
	if (level != ABMAP_WARN)
		return 0;
	fputs("udplb: ", stderr);
	return vfprintf(stderr, fmt, args);
}

#ifdef UDPLB_TESTING
/*
 * The test build of the CLI (build/tests/udplb-test) only: UDPLB_TEST_PAUSE_BEFORE_FLIP=SECONDS
 * stops a writer with its passive side written, so a test can kill it there.
 */
static int pause_before_flip(void *ctx)
{
	unsigned int seconds = atoi(ctx);

	fprintf(stderr, "udplb: pausing %u s before the flip (UDPLB_TEST_PAUSE_BEFORE_FLIP)\n",
		seconds);
	while (seconds)
		seconds = sleep(seconds);
	return 0;
}
#endif

int inst_open(struct cli_ctx *ctx, const struct cli_args *args, struct instance *inst)
{
	LIBABMAP_OPTS(abmap_group_opts, gopts, .lock_timeout_ms = INST_LOCK_TIMEOUT_MS);
	const char *dev = args->pos[0];
	struct lb_err err = {};
	int i, ret;

	ctx->pin_dir = cli_opt(args, "pin-dir");
	memset(inst, 0, sizeof(*inst));
	for (i = 0; i < __LB_PIN_MAX; i++)
		inst->fd[i] = -1;
	ret = cli_check_privileges();
	if (!ret)
		ret = cli_enter_netns(ctx);
	if (ret)
		return ret;
	abmap_set_print(abmap_print);
	ret = lb_instance_open(inst, dev, ctx->pin_dir, &gopts, &err);
	if (ret) {
		print_err(ret, &err);
		return ret;
	}
	snprintf(ctx->pin_buf, sizeof(ctx->pin_buf), "%s", inst->pin_dir);
	ctx->pin_dir = ctx->pin_buf;
#ifdef UDPLB_TESTING
	if (getenv("UDPLB_TEST_PAUSE_BEFORE_FLIP"))
		abmap_testing_set_before_flip(inst->maps.group, pause_before_flip,
					      getenv("UDPLB_TEST_PAUSE_BEFORE_FLIP"));
#endif
	return 0;
}

void inst_close(struct instance *inst)
{
	lb_instance_close(inst);
}

int inst_read_config(const struct instance *inst, struct udplb_config *cfg)
{
	return lb_instance_read_config(inst, cfg);
}

int inst_read(struct instance *inst, struct lb_state *state)
{
	struct lb_err err = {};
	int ret;

	ret = lb_read(&inst->maps, state, &err);
	if (ret)
		print_err(ret, &err);
	return ret;
}

int inst_commit(struct instance *inst, const struct lb_state *desired, bool sync)
{
	struct lb_err err = {};
	int ret;

	ret = lb_instance_commit(inst, desired, sync, NULL, &err);
	if (ret < 0)
		print_err(ret, &err);
	return ret < 0 ? ret : 0;
}

struct change_ctx {
	struct instance *inst;
	inst_change_fn change;
	void *arg;
};

static int change_cb(struct lb_state *state, void *arg, struct lb_err *err)
{
	struct change_ctx *c = arg;

	return c->change(c->inst, state, c->arg, err);
}

int inst_change(struct cli_ctx *ctx, const struct cli_args *args, inst_change_fn change, void *arg,
		bool sync)
{
	struct instance inst;
	struct change_ctx c = { .inst = &inst, .change = change, .arg = arg };
	struct lb_err err = {};
	int ret;

	if (inst_open(ctx, args, &inst))
		return EXIT_RUNTIME;
	if (inst_check_managed(&inst, args)) {
		inst_close(&inst);
		return EXIT_RUNTIME;
	}
	ret = lb_instance_change(&inst, change_cb, &c, sync, &err);
	if (ret < 0)
		print_err(ret, &err);
	inst_close(&inst);
	return ret < 0 ? EXIT_RUNTIME : EXIT_OK;
}

int inst_check_managed(const struct instance *inst, const struct cli_args *args)
{
	struct udplb_daemon d;
	struct lb_err err = {};
	int ret = lb_daemon_managing(inst->pin_dir, &d, &err);

	if (ret < 0) {
		print_err(ret, &err);
		return ret;
	}
	if (!ret || cli_flag(args, "force"))
		return 0;
	cli_err("udplbd (pid %u) manages %s: edit %s and reload: kill -HUP %u / systemctl reload udplbd (--force overrides; udplbd may undo the change)",
		d.pid, inst->dev, d.conf, d.pid);
	return -EBUSY;
}

int backend_fill_mac(const char *dev, const struct lb_vip *vip, struct lb_backend *b,
		     struct lb_err *err)
{
	return lb_backend_resolve_mac(if_nametoindex(dev), vip, b, LB_RESOLVE_PROBE, err);
}
