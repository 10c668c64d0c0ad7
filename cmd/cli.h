/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* udplb command line: shared declarations of the command files (prog.c, vip.c, ...). */
#ifndef __UDPLB_CLI_H
#define __UDPLB_CLI_H

#include <stdbool.h>
#include <linux/types.h>

#include "abmap.h"
#include "udplb_shared.h"

#define UDPLB_VERSION "0.1.0"
#define UDPLB_PIN_ROOT "/sys/fs/bpf/udplb" /* LB_PIN_ROOT */

/* Exit codes. */
#define EXIT_OK 0
#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

/* Option of a command: parsed, validated and documented from the same table. */
enum cli_arg {
	CLI_FLAG, /* no value */
	CLI_STR,  /* any string */
	CLI_UINT, /* unsigned number */
};

struct cli_opt {
	const char *name; /* long name, without "--" */
	char short_name;  /* 0: none */
	enum cli_arg arg;
	const char *metavar; /* shown in help */
	const char *help;
};

#define CLI_MAX_POS 64

struct cli_args {
	const struct cli_cmd *cmd;
	int nr_pos;
	const char *pos[CLI_MAX_POS];
	/* Values by option index in cmd->opts; NULL when absent ("" for flags). */
	const char *val[16];
};

struct cli_ctx;

struct cli_cmd {
	const char *object; /* "vip"; NULL for top-level verbs like "load" */
	const char *verb;   /* "add" */
	const char *usage;  /* positional arguments, e.g. "DEV VIP:PORT" */
	int min_pos;
	int max_pos; /* -1: any */
	const struct cli_opt *opts;
	int (*run)(struct cli_ctx *ctx, const struct cli_args *args);
	const char *help;
};

/* Global state of one invocation. */
struct cli_ctx {
	bool json;
	const char *netns;   /* -n NETNS */
	const char *pin_dir; /* --pin-dir, or computed */
	char pin_buf[512];
};

/* Command tables of each object file. */
extern const struct cli_cmd prog_cmds[];
extern const struct cli_cmd vip_cmds[];
extern const struct cli_cmd backend_cmds[];
extern const struct cli_cmd apply_cmds[];
extern const struct cli_cmd status_cmds[];
extern const struct cli_cmd stats_cmds[];
extern const struct cli_cmd pool_cmds[];

/* args.c: options and values */
const char *cli_opt(const struct cli_args *args, const char *name);
bool cli_flag(const struct cli_args *args, const char *name);
int cli_opt_uint(const struct cli_args *args, const char *name, __u64 max, __u64 *out);
int parse_uint(const char *s, __u64 max, __u64 *out);
int parse_ipv4(const char *s, __be32 *addr);
int parse_addr_port(const char *s, __be32 *addr, __be16 *port, bool port_required);
int parse_mac(const char *s, __u8 mac[6]);
const char *fmt_ipv4(__be32 addr, char *buf);
const char *fmt_mac(const __u8 mac[6], char *buf);

/* vip.c: parsers shared with apply.c */
int parse_vip_key(const struct cli_args *args, const char *s, struct udplb_vip_key *key);
int parse_fwd(const char *s, __u8 *fwd);
int parse_hash(const char *s, __u8 *mode);

/* Errors: one line on stderr naming the problem. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_usage_err(const struct cli_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void cli_print_cmd_help(const struct cli_cmd *cmd);

/* output.c: one print path for text and JSON. */
void out_init(bool json);
void out_obj_begin(const char *key);
void out_obj_end(void);
void out_arr_begin(const char *key);
void out_arr_end(void);
void out_str(const char *key, const char *value);
void out_u64(const char *key, __u64 value);
void out_f64(const char *key, double value);
void out_bool(const char *key, bool value);
void out_finish(void);

/* instance.c: finding, checking and opening an instance. */
int cli_check_privileges(void);
int cli_enter_netns(struct cli_ctx *ctx);
int cli_pin_dir(struct cli_ctx *ctx, const char *dev);
int cli_ifindex(const char *dev, int *ifindex);

#endif /* __UDPLB_CLI_H */
