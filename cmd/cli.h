/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* udplb command line: shared declarations of the command files (prog.c, vip.c, ...). */
#ifndef __UDPLB_CLI_H
#define __UDPLB_CLI_H

#include <stdbool.h>
#include <stddef.h>
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
	CLI_FLAG,  /* no value */
	CLI_STR,   /* any string */
	CLI_UINT,  /* decimal number from min to max */
	CLI_ENUM,  /* one name of names */
	CLI_FLAGS, /* names of bits joined by ',', or "none" */
	CLI_MAC,   /* unicast, non-zero MAC address */
};

struct lb_names;

struct cli_opt {
	const char *name; /* long name, without "--" */
	char short_name;  /* 0: none */
	enum cli_arg arg;
	const char *metavar; /* shown in help; NULL for CLI_ENUM/CLI_FLAGS: from names */
	const char *help;
	const struct lb_names *names; /* CLI_ENUM, CLI_FLAGS */
	__u64 min, max;		      /* CLI_UINT */
};

#define CLI_OPT_FLAG(name_, help_)                                                                 \
	{                                                                                          \
		.name = name_, .arg = CLI_FLAG, .help = help_                                      \
	}
#define CLI_OPT_STR(name_, short_, metavar_, help_)                                                \
	{                                                                                          \
		.name = name_, .short_name = short_, .arg = CLI_STR, .metavar = metavar_,          \
		.help = help_                                                                      \
	}
#define CLI_OPT_UINT(name_, metavar_, min_, max_, help_)                                           \
	{                                                                                          \
		.name = name_, .arg = CLI_UINT, .metavar = metavar_, .help = help_, .min = min_,   \
		.max = max_                                                                        \
	}
#define CLI_OPT_ENUM(name_, table_, help_)                                                         \
	{                                                                                          \
		.name = name_, .arg = CLI_ENUM, .help = help_, .names = &table_                    \
	}
#define CLI_OPT_FLAGS(name_, table_, help_)                                                        \
	{                                                                                          \
		.name = name_, .arg = CLI_FLAGS, .help = help_, .names = &table_                   \
	}

#define CLI_MAX_OPTS 16

struct cli_args {
	const struct cli_cmd *cmd;
	int nr_pos;
	const char **pos; /* every positional argument (freed by cli_args_free()) */
	/* By option index in cmd->opts: the text (NULL when absent, "" for flags) ... */
	const char *val[CLI_MAX_OPTS];
	/* ... and the parsed value: CLI_UINT, CLI_ENUM, CLI_FLAGS in num, CLI_MAC in mac. */
	__u64 num[CLI_MAX_OPTS];
	__u8 mac[CLI_MAX_OPTS][6];
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
extern const struct cli_cmd health_cmds[];
extern const struct cli_cmd stats_cmds[];
extern const struct cli_cmd pool_cmds[];

/* cli.c: the whole command line of one invocation; returns the exit code. */
int cli_main(int argc, char **argv);
/* Options and positional arguments of @cmd from argv (after the command words). */
int cli_parse_args(const struct cli_cmd *cmd, int argc, char **argv, struct cli_args *args);
void cli_args_free(struct cli_args *args);

/* args.c: options and values */
const char *cli_opt(const struct cli_args *args, const char *name);
bool cli_flag(const struct cli_args *args, const char *name);
/* Parsed value of a CLI_UINT, CLI_ENUM or CLI_FLAGS option, @dflt when absent. */
__u64 cli_opt_num(const struct cli_args *args, const char *name, __u64 dflt);
/* Parsed CLI_MAC option into @mac; false when absent. */
bool cli_opt_mac(const struct cli_args *args, const char *name, __u8 mac[6]);
/* Check and convert one option value per its table entry; prints the error. Exit code. */
int cli_opt_parse(const struct cli_cmd *cmd, int idx, const char *value, struct cli_args *args);
/* "dsr|ipip" for an enum option, the metavar otherwise. */
const char *cli_opt_metavar(const struct cli_opt *o, char *buf, size_t len);
const char *fmt_ipv4(__be32 addr, char *buf);
const char *fmt_mac(const __u8 mac[6], char *buf);

/* vip.c: parsers shared with backend.c */
int parse_vip_key(const struct cli_args *args, const char *s, struct udplb_vip_key *key);

/* Errors: one line on stderr naming the problem; with -j one JSON object on stdout. */
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
/* An error: {"error": "..."} on stdout in JSON mode, "udplb: ..." on stderr in text mode. */
void out_error(const char *msg);

/* instance.c: finding, checking and opening an instance. */
int cli_check_privileges(void);
int cli_enter_netns(struct cli_ctx *ctx);
int cli_pin_dir(struct cli_ctx *ctx, const char *dev);
int cli_ifindex(const char *dev, int *ifindex);

#endif /* __UDPLB_CLI_H */
