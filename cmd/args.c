// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Values on the command line: options by name, typed per the command tables, and errors. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "names.h"
#include "parse.h"

void cli_err(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	out_error(msg);
}

int cli_usage_err(const struct cli_cmd *cmd, const char *fmt, ...)
{
	char msg[1024];
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = strlen(msg);
	if (cmd)
		snprintf(msg + n, sizeof(msg) - n, " (see 'udplb %s%s%s --help')",
			 cmd->object ? cmd->object : "", cmd->object ? " " : "", cmd->verb);
	out_error(msg);
	return EXIT_USAGE;
}

static int opt_index(const struct cli_cmd *cmd, const char *name)
{
	int i;

	for (i = 0; cmd->opts && cmd->opts[i].name; i++) {
		if (!strcmp(cmd->opts[i].name, name))
			return i;
	}
	return -1;
}

const char *cli_opt(const struct cli_args *args, const char *name)
{
	int i = opt_index(args->cmd, name);

	return i < 0 ? NULL : args->val[i];
}

bool cli_flag(const struct cli_args *args, const char *name)
{
	return cli_opt(args, name) != NULL;
}

__u64 cli_opt_num(const struct cli_args *args, const char *name, __u64 dflt)
{
	int i = opt_index(args->cmd, name);

	return i < 0 || !args->val[i] ? dflt : args->num[i];
}

bool cli_opt_mac(const struct cli_args *args, const char *name, __u8 mac[6])
{
	int i = opt_index(args->cmd, name);

	if (i < 0 || !args->val[i])
		return false;
	memcpy(mac, args->mac[i], 6);
	return true;
}

const char *cli_opt_metavar(const struct cli_opt *o, char *buf, size_t len)
{
	if (o->metavar || !o->names)
		return o->metavar ? o->metavar : "";
	lb_names_list(o->names, o->arg == CLI_FLAGS ? "," : "|", buf, len);
	if (o->arg == CLI_FLAGS)
		snprintf(buf + strlen(buf), len - strlen(buf), "|none");
	return buf;
}

int cli_opt_parse(const struct cli_cmd *cmd, int idx, const char *value, struct cli_args *args)
{
	const struct cli_opt *o = &cmd->opts[idx];
	char names[128];
	__u32 v32;
	int err;

	args->val[idx] = value;
	switch (o->arg) {
	case CLI_UINT:
		if (lb_parse_u64(value, o->min, o->max, &args->num[idx]))
			return cli_usage_err(cmd,
					     "--%s: '%s' is not a decimal number from %llu to %llu",
					     o->name, value, (unsigned long long)o->min,
					     (unsigned long long)o->max);
		return 0;
	case CLI_ENUM:
	case CLI_FLAGS:
		err = o->arg == CLI_ENUM ? lb_name_value(o->names, value, &v32) :
					   lb_flags_parse(o->names, value, &v32);
		if (err)
			return cli_usage_err(cmd, "--%s: '%s' is not %s", o->name, value,
					     cli_opt_metavar(o, names, sizeof(names)));
		args->num[idx] = v32;
		return 0;
	case CLI_MAC:
		err = lb_parse_mac(value, args->mac[idx]);
		if (err)
			return cli_usage_err(cmd, "--%s: '%s' is not %s", o->name, value,
					     err == -EDOM ? "a unicast, non-zero MAC address" :
							    "a MAC address (xx:xx:xx:xx:xx:xx)");
		return 0;
	default:
		return 0;
	}
}

const char *fmt_ipv4(__be32 addr, char *buf)
{
	struct in_addr in = { .s_addr = addr };

	return inet_ntop(AF_INET, &in, buf, INET_ADDRSTRLEN);
}

const char *fmt_mac(const __u8 mac[6], char *buf)
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
	return buf;
}
