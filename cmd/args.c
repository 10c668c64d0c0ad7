// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Values on the command line: numbers, addresses, MACs, and options by name. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void cli_err(const char *fmt, ...)
{
	va_list ap;

	fputs("udplb: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_usage_err(const struct cli_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("udplb: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (cmd)
		fprintf(stderr, " (see 'udplb %s%s%s --help')", cmd->object ? cmd->object : "",
			cmd->object ? " " : "", cmd->verb);
	fputc('\n', stderr);
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

int parse_uint(const char *s, __u64 max, __u64 *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int cli_opt_uint(const struct cli_args *args, const char *name, __u64 max, __u64 *out)
{
	const char *s = cli_opt(args, name);

	if (!s)
		return 0;
	if (parse_uint(s, max, out)) {
		cli_err("--%s: '%s' is not a number from 0 to %llu", name, s,
			(unsigned long long)max);
		return -EINVAL;
	}
	return 0;
}

int parse_ipv4(const char *s, __be32 *addr)
{
	struct in_addr in;

	if (inet_pton(AF_INET, s, &in) != 1)
		return -EINVAL;
	*addr = in.s_addr;
	return 0;
}

int parse_addr_port(const char *s, __be32 *addr, __be16 *port, bool port_required)
{
	const char *colon = strrchr(s, ':');
	char host[INET_ADDRSTRLEN];
	__u64 p;

	if (!colon) {
		if (port_required)
			return -EINVAL;
		*port = 0;
		return parse_ipv4(s, addr);
	}
	if ((size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, colon - s);
	host[colon - s] = '\0';
	if (parse_ipv4(host, addr) || parse_uint(colon + 1, 65535, &p) || !p)
		return -EINVAL;
	*port = htons(p);
	return 0;
}

int parse_mac(const char *s, __u8 mac[6])
{
	unsigned int b[6];
	char tail;
	int i;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &tail) != 6)
		return -EINVAL;
	for (i = 0; i < 6; i++)
		mac[i] = b[i];
	return 0;
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
