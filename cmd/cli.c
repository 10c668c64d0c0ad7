// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The command line of one invocation: global options, the command, its arguments, help.
 *
 * Every command lives in the table of its object's file (prog.c, vip.c, ...); parsing, checking
 * and help all come from those tables.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "cli.h"

static const struct cli_cmd *const tables[] = {
	prog_cmds,   vip_cmds,	  backend_cmds, apply_cmds,
	status_cmds, health_cmds, stats_cmds,	pool_cmds,
};

#define for_each_cmd(cmd, t)                                                                       \
	for (t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)                                   \
		for (cmd = tables[t]; cmd->verb; cmd++)

static void print_usage_line(FILE *f, const struct cli_cmd *cmd)
{
	const struct cli_opt *o;
	char mv[128];

	fprintf(f, "udplb [-j] [-n NETNS] %s%s%s %s", cmd->object ? cmd->object : "",
		cmd->object ? " " : "", cmd->verb, cmd->usage);
	for (o = cmd->opts; o && o->name; o++) {
		if (o->short_name)
			fprintf(f, o->arg == CLI_FLAG ? " [-%c]" : " -%c %s", o->short_name,
				cli_opt_metavar(o, mv, sizeof(mv)));
		else if (o->arg == CLI_FLAG)
			fprintf(f, " [--%s]", o->name);
		else
			fprintf(f, " [--%s %s]", o->name, cli_opt_metavar(o, mv, sizeof(mv)));
	}
	fputc('\n', f);
}

static void print_help(FILE *f)
{
	const struct cli_cmd *cmd;
	size_t t;

	fprintf(f, "Usage:\n");
	for_each_cmd(cmd, t)
	{
		fputs("  ", f);
		print_usage_line(f, cmd);
	}
	fprintf(f, "  udplb --version | --help | OBJECT help | CMD --help\n\n"
		   "Global options:\n"
		   "  -j, --json          JSON output\n"
		   "  -n, --netns NETNS   run in network namespace NETNS (/run/netns/NETNS);\n"
		   "                      pins stay in the host's bpffs\n"
		   "Exit status: 0 ok, 1 runtime error, 2 usage error.\n");
}

void cli_print_cmd_help(const struct cli_cmd *cmd)
{
	const struct cli_opt *o;
	char flag[160], mv[128];

	printf("Usage: ");
	print_usage_line(stdout, cmd);
	printf("\n%s\n", cmd->help);
	if (cmd->opts && cmd->opts->name)
		printf("\nOptions:\n");
	for (o = cmd->opts; o && o->name; o++) {
		snprintf(flag, sizeof(flag), "%s%c%s--%s%s%s", o->short_name ? "-" : "",
			 o->short_name ? o->short_name : ' ', o->short_name ? ", " : "", o->name,
			 o->arg == CLI_FLAG ? "" : " ",
			 o->arg == CLI_FLAG ? "" : cli_opt_metavar(o, mv, sizeof(mv)));
		printf("  %-24s %s\n", flag, o->help);
	}
}

static const struct cli_cmd *find_cmd(int argc, char **argv, int *used)
{
	const struct cli_cmd *cmd;
	size_t t;

	for_each_cmd(cmd, t)
	{
		if (cmd->object && argc >= 2 && !strcmp(cmd->object, argv[0]) &&
		    !strcmp(cmd->verb, argv[1])) {
			*used = 2;
			return cmd;
		}
		if (!cmd->object && !strcmp(cmd->verb, argv[0])) {
			*used = 1;
			return cmd;
		}
	}
	return NULL;
}

static bool is_object(const char *word)
{
	const struct cli_cmd *cmd;
	size_t t;

	for_each_cmd(cmd, t)
	{
		if (cmd->object && !strcmp(cmd->object, word))
			return true;
	}
	return false;
}

/* udplb OBJECT help: the usage of every command of OBJECT. */
static void print_object_help(FILE *f, const char *object)
{
	const struct cli_cmd *cmd;
	size_t t;

	fprintf(f, "Usage:\n");
	for_each_cmd(cmd, t)
	{
		if (cmd->object && !strcmp(cmd->object, object)) {
			fputs("  ", f);
			print_usage_line(f, cmd);
		}
	}
	fprintf(f, "  udplb %s VERB --help   (details of one command)\n", object);
}

static int find_opt(const struct cli_cmd *cmd, const char *name, size_t len, char short_name)
{
	int i;

	for (i = 0; cmd->opts && cmd->opts[i].name; i++) {
		if (short_name && cmd->opts[i].short_name == short_name)
			return i;
		if (!short_name && strlen(cmd->opts[i].name) == len &&
		    !strncmp(cmd->opts[i].name, name, len))
			return i;
	}
	return -1;
}

/* One option at argv[*i] (its value may be the next word). Exit code. */
static int parse_one_opt(const struct cli_cmd *cmd, int argc, char **argv, int *i,
			 struct cli_args *args)
{
	const char *a = argv[*i], *value = NULL, *eq;
	int idx;

	if (a[1] == '-') {
		eq = strchr(a + 2, '=');
		idx = find_opt(cmd, a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2), 0);
		value = eq ? eq + 1 : NULL;
	} else {
		idx = a[2] ? -1 : find_opt(cmd, NULL, 0, a[1]);
	}
	if (idx < 0 || idx >= CLI_MAX_OPTS)
		return cli_usage_err(cmd, "unknown option '%s'", a);
	if (cmd->opts[idx].arg == CLI_FLAG) {
		if (value)
			return cli_usage_err(cmd, "option '--%s' takes no value",
					     cmd->opts[idx].name);
		value = "";
	} else if (!value) {
		if (*i + 1 >= argc)
			return cli_usage_err(cmd, "option '--%s' needs a value",
					     cmd->opts[idx].name);
		value = argv[++*i];
	}
	return cli_opt_parse(cmd, idx, value, args);
}

void cli_args_free(struct cli_args *args)
{
	free(args->pos);
	args->pos = NULL;
	args->nr_pos = 0;
}

/* Options anywhere among the positional arguments; "--" ends them. */
int cli_parse_args(const struct cli_cmd *cmd, int argc, char **argv, struct cli_args *args)
{
	bool opts_done = false;
	int i, err;

	memset(args, 0, sizeof(*args));
	args->cmd = cmd;
	args->pos = calloc(argc + 1, sizeof(*args->pos));
	if (!args->pos) {
		cli_err("out of memory");
		return EXIT_RUNTIME;
	}
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (!opts_done && !strcmp(a, "--")) {
			opts_done = true;
		} else if (opts_done || a[0] != '-' || !a[1]) {
			args->pos[args->nr_pos++] = a;
		} else {
			err = parse_one_opt(cmd, argc, argv, &i, args);
			if (err)
				goto fail;
		}
	}
	if (args->nr_pos < cmd->min_pos)
		err = cli_usage_err(cmd, "missing arguments: expected %s", cmd->usage);
	else if (cmd->max_pos >= 0 && args->nr_pos > cmd->max_pos)
		err = cli_usage_err(cmd, "unexpected argument '%s'", args->pos[cmd->max_pos]);
	else
		return 0;
fail:
	cli_args_free(args);
	return err;
}

static bool wants_help(int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return false;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	}
	return false;
}

/* libbpf's own messages only with UDPLB_DEBUG=1: the CLI prints one line per problem. */
__attribute__((format(printf, 2, 0))) static int libbpf_print(enum libbpf_print_level level,
							      const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG || !getenv("UDPLB_DEBUG"))
		return 0;
	return vfprintf(stderr, fmt, args);
}

/* Global options; *i ends on the first word that is not one. -1 to go on, else an exit code. */
static int parse_global(int argc, char **argv, int *i, struct cli_ctx *ctx)
{
	for (; *i < argc && argv[*i][0] == '-'; ++*i) {
		const char *a = argv[*i];

		if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			ctx->json = true;
			out_init(true);
		} else if (!strcmp(a, "-n") || !strcmp(a, "--netns")) {
			if (++*i >= argc)
				return cli_usage_err(NULL, "-n needs a network namespace name");
			ctx->netns = argv[*i];
		} else if (!strcmp(a, "--version") || !strcmp(a, "-V")) {
			printf("udplb %s (libabmap)\n", UDPLB_VERSION);
			return EXIT_OK;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			print_help(stdout);
			return EXIT_OK;
		} else {
			return cli_usage_err(NULL, "unknown option '%s' (see 'udplb --help')", a);
		}
	}
	return -1;
}

/* "udplb OBJECT", "udplb OBJECT help", "udplb OBJECT --help", "udplb help OBJECT". */
static int object_help(int argc, char **argv, bool json)
{
	const char *obj = argv[0];
	bool help;

	if (!strcmp(argv[0], "help") && argc >= 2 && is_object(argv[1])) {
		print_object_help(stdout, argv[1]);
		return EXIT_OK;
	}
	if (!is_object(obj))
		return -1;
	help = argc >= 2 &&
	       (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
	if (argc >= 2 && !help)
		return -1;
	if (!help && json)
		return cli_usage_err(NULL, "missing command: udplb %s VERB (see 'udplb %s help')",
				     obj, obj);
	print_object_help(help ? stdout : stderr, obj);
	return help ? EXIT_OK : EXIT_USAGE;
}

static bool wants_json(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json"))
			return true;
		if (!strcmp(argv[i], "-n") || !strcmp(argv[i], "--netns"))
			i++;
	}
	return false;
}

int cli_main(int argc, char **argv)
{
	struct cli_ctx ctx = { 0 };
	const struct cli_cmd *cmd;
	struct cli_args args;
	int i = 1, used, ret;

	/* -j anywhere among the global options: errors before it are JSON too. */
	out_init(wants_json(argc, argv));
	ret = parse_global(argc, argv, &i, &ctx);
	if (ret >= 0)
		return ret;
	if (i >= argc) {
		if (ctx.json)
			return cli_usage_err(NULL, "missing command (see 'udplb --help')");
		print_help(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[i], "help") && i + 1 == argc) {
		print_help(stdout);
		return EXIT_OK;
	}
	ret = object_help(argc - i, argv + i, ctx.json);
	if (ret >= 0)
		return ret;
	cmd = find_cmd(argc - i, argv + i, &used);
	if (!cmd) {
		if (is_object(argv[i]))
			return cli_usage_err(NULL, "unknown command '%s %s' (see 'udplb %s help')",
					     argv[i], argv[i + 1], argv[i]);
		return cli_usage_err(NULL, "unknown command '%s' (see 'udplb --help')", argv[i]);
	}
	i += used;
	if (wants_help(argc - i, argv + i)) {
		cli_print_cmd_help(cmd);
		return EXIT_OK;
	}
	ret = cli_parse_args(cmd, argc - i, argv + i, &args);
	if (ret)
		return ret;
	libbpf_set_print(libbpf_print);
	ret = cmd->run(&ctx, &args);
	cli_args_free(&args);
	return ret;
}
