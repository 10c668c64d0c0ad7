// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * apply -f FILE: make the whole desired state live in one flip. The file, one item a line:
 *
 *	# comment
 *	hash-seed 12345
 *	vip 10.0.0.1:53 [fwd dsr|ipip] [hash 5tuple|src-ip] [ring-size 65537]
 *	backend 10.0.1.1[:53] [weight 1] [mac 02:00:00:00:00:01] [drain]
 *
 * A backend line belongs to the vip line above it. Applying the same file twice changes nothing.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>

#include "cli.h"
#include "instance.h"

#define MAX_WORDS 16

struct desired {
	struct lb_state state;
	bool has_seed;
	__u32 seed;
};

struct parser {
	const char *file;
	int line;
	struct udplb_vip_key vip; /* current vip line */
	bool have_vip;
};

static int perr(const struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int perr(const struct parser *p, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "udplb: %s:%d: ", p->file, p->line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -EINVAL;
}

/* "key value" pairs after the first two words; flags stand alone. */
static const char *word_value(char **w, int n, int *i)
{
	return *i + 1 < n ? w[++*i] : NULL;
}

static int parse_vip_line(struct parser *p, char **w, int n, struct desired *d)
{
	struct lb_err err = {};
	struct lb_vip vip = {};
	__u64 ring = UDPLB_RING_DEFAULT;
	const char *v;
	int i;

	vip.key.proto = IPPROTO_UDP;
	if (n < 2 || parse_addr_port(w[1], &vip.key.addr, &vip.key.port, true))
		return perr(p, "'%s' is not 'vip ADDR:PORT'", n < 2 ? "vip" : w[1]);
	for (i = 2; i < n; i++) {
		v = word_value(w, n, &i);
		if (!strcmp(w[i - 1], "fwd") && v) {
			if (parse_fwd(v, &vip.fwd))
				return perr(p, "fwd '%s' is not dsr or ipip", v);
		} else if (!strcmp(w[i - 1], "hash") && v) {
			if (parse_hash(v, &vip.hash_mode))
				return perr(p, "hash '%s' is not 5tuple or src-ip", v);
		} else if (!strcmp(w[i - 1], "ring-size") && v) {
			if (parse_uint(v, UDPLB_RING_SLOTS, &ring))
				return perr(p, "ring-size '%s' is not a number", v);
		} else {
			return perr(p, "unknown vip option '%s' (fwd, hash, ring-size)", w[i - 1]);
		}
	}
	vip.ring_size = ring;
	if (lb_vip_add(&d->state, &vip, &err)) {
		fprintf(stderr, "udplb: %s:%d: %s\n", p->file, p->line, err.msg);
		return -EINVAL;
	}
	p->vip = vip.key;
	p->have_vip = true;
	return 0;
}

static int parse_backend_line(struct parser *p, char **w, int n, struct desired *d)
{
	struct lb_backend b = { .weight = 1, .state = UDPLB_BACKEND_ACTIVE };
	struct lb_err err = {};
	const char *v;
	__u64 weight;
	int i;

	if (!p->have_vip)
		return perr(p, "%s before any vip line", "backend");
	if (n < 2 || parse_addr_port(w[1], &b.addr, &b.port, false))
		return perr(p, "'%s' is not 'backend ADDR[:PORT]'", n < 2 ? "backend" : w[1]);
	for (i = 2; i < n; i++) {
		if (!strcmp(w[i], "drain")) {
			b.state = UDPLB_BACKEND_DRAINING;
			continue;
		}
		v = word_value(w, n, &i);
		if (!strcmp(w[i - 1], "weight") && v) {
			if (parse_uint(v, 65535, &weight) || !weight)
				return perr(p, "weight '%s' is not 1-65535", v);
			b.weight = weight;
		} else if (!strcmp(w[i - 1], "mac") && v) {
			if (parse_mac(v, b.mac))
				return perr(p, "mac '%s' is not a MAC address", v);
			b.has_mac = true;
		} else {
			return perr(p, "unknown backend option '%s' (weight, mac, drain)",
				    w[i - 1]);
		}
	}
	if (lb_backend_add(&d->state, &p->vip, &b, &err)) {
		fprintf(stderr, "udplb: %s:%d: %s\n", p->file, p->line, err.msg);
		return -EINVAL;
	}
	return 0;
}

static int split(char *line, char **w)
{
	char *save = NULL, *tok;
	int n = 0;

	if (strchr(line, '#'))
		*strchr(line, '#') = '\0';
	for (tok = strtok_r(line, " \t\r\n", &save); tok && n < MAX_WORDS;
	     tok = strtok_r(NULL, " \t\r\n", &save))
		w[n++] = tok;
	return tok ? -E2BIG : n;
}

static int parse_file(const char *file, struct desired *d)
{
	struct parser p = { .file = file };
	char line[1024], *w[MAX_WORDS];
	__u64 seed;
	int n, err = 0;
	FILE *f;

	f = strcmp(file, "-") ? fopen(file, "r") : stdin;
	if (!f) {
		cli_err("%s: %s", file, strerror(errno));
		return -errno;
	}
	while (!err && fgets(line, sizeof(line), f)) {
		p.line++;
		n = split(line, w);
		if (n < 0)
			err = perr(&p, "%s", "too many words");
		else if (!n)
			continue;
		else if (!strcmp(w[0], "vip"))
			err = parse_vip_line(&p, w, n, d);
		else if (!strcmp(w[0], "backend"))
			err = parse_backend_line(&p, w, n, d);
		else if (!strcmp(w[0], "hash-seed") && n == 2 &&
			 !parse_uint(w[1], UINT32_MAX, &seed))
			d->has_seed = true, d->seed = seed;
		else
			err = perr(&p, "unknown line '%s' (vip, backend, hash-seed)", w[0]);
	}
	if (f != stdin)
		fclose(f);
	return err;
}

/* Next-hop MACs; a dry run only reads the neighbour table (it sends nothing). */
static int fill_macs(const struct instance *inst, struct lb_state *s, bool dry_run)
{
	struct lb_err err = {};
	int ret;

	ret = lb_state_resolve_macs(s, inst->ifindex,
				    dry_run ? LB_RESOLVE_LOOKUP : LB_RESOLVE_PROBE, &err);
	if (ret)
		cli_err("%s", err.msg);
	return ret;
}

static int print_diff(void *ctx, const struct lb_diff_item *item)
{
	char line[512];

	(void)ctx;
	lb_diff_format(item, line, sizeof(line));
	out_str(NULL, line);
	return 0;
}

static int write_seed(const struct instance *inst, __u32 seed)
{
	struct udplb_config cfg;
	int ret;

	ret = lb_instance_read_config(inst, &cfg);
	if (ret || cfg.hash_seed == seed)
		return ret;
	cfg.hash_seed = seed;
	return lb_instance_write_config(inst, &cfg);
}

static int do_apply(struct cli_ctx *ctx, const struct cli_args *args)
{
	const char *file = cli_opt(args, "file");
	struct desired d = {};
	struct lb_state live;
	struct instance inst;
	int ret = EXIT_RUNTIME;

	if (!file)
		return cli_usage_err(args->cmd, "missing -f FILE");
	lb_state_init(&d.state);
	if (parse_file(file, &d)) {
		lb_state_free(&d.state);
		return EXIT_RUNTIME;
	}
	if (inst_open(ctx, args, &inst))
		goto out_desired;
	if (fill_macs(&inst, &d.state, cli_flag(args, "dry-run")) || inst_read(&inst, &live))
		goto out_close;
	if (cli_flag(args, "dry-run")) {
		out_arr_begin(NULL);
		lb_diff(&live, &d.state, print_diff, NULL);
		out_arr_end();
		out_finish();
		ret = EXIT_OK;
	} else if (!inst_commit(&inst, &d.state, true)) {
		ret = d.has_seed && write_seed(&inst, d.seed) ? EXIT_RUNTIME : EXIT_OK;
		if (ret)
			cli_err("committed, but cannot write the hash seed: %s", strerror(errno));
	}
	lb_state_free(&live);
out_close:
	inst_close(&inst);
out_desired:
	lb_state_free(&d.state);
	return ret;
}

static const struct cli_opt apply_opts[] = {
	{ "file", 'f', CLI_STR, "FILE", "desired state ('-': standard input)" },
	{ "dry-run", 0, CLI_FLAG, NULL,
	  "print the differences from the live state, change nothing" },
	PIN_DIR_OPT,
	{},
};

const struct cli_cmd apply_cmds[] = {
	{ NULL, "apply", "DEV", 1, 1, apply_opts, do_apply,
	  "Make the configuration in FILE the live one, in one flip. Lines:\n"
	  "  hash-seed N\n"
	  "  vip ADDR:PORT [fwd dsr|ipip] [hash 5tuple|src-ip] [ring-size M]\n"
	  "  backend ADDR[:PORT] [weight W] [mac MAC] [drain]   (belongs to the vip above)\n"
	  "Errors name FILE:LINE. Applying the same file twice changes nothing." },
	{},
};
