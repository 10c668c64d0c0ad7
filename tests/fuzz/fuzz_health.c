// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target of lib/udplb/health. The first input byte picks what the rest is:
 *   even  words of a `check` line (split at blanks): a line that parses must format to text
 *         that parses back to the same struct lb_check, and formatting it again is identical
 *   odd   a DNS reply to a fixed query: the parser must not read outside it, and must accept
 *         only replies carrying the query's id and question
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health/check.h"
#include "health/probe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_WORDS 64

static int split(char *s, char **words)
{
	char *save = NULL, *w;
	int n = 0;

	for (w = strtok_r(s, " \t\n", &save); w && n < MAX_WORDS;
	     w = strtok_r(NULL, " \t\n", &save))
		words[n++] = w;
	return n;
}

static void fuzz_check(const uint8_t *data, size_t size)
{
	static char text[LB_CHECK_FMT_LEN], again[LB_CHECK_FMT_LEN];
	char *line = malloc(size + 1), *words[MAX_WORDS];
	struct lb_check a, b;
	struct lb_err err;
	int n;

	if (!line)
		return;
	memcpy(line, data, size);
	line[size] = '\0';
	n = split(line, words);
	if (lb_check_parse(words, n, &a, &err) == 0) {
		if (lb_check_format(&a, text, sizeof(text)) < 0)
			abort();
		memcpy(again, text, sizeof(text));
		n = split(again, words);
		if (lb_check_parse(words, n, &b, &err) || memcmp(&a, &b, sizeof(a)))
			abort();
		if (lb_check_format(&b, again, sizeof(again)) < 0 || strcmp(text, again))
			abort();
	}
	free(line);
}

static void fuzz_dns(const uint8_t *data, size_t size)
{
	uint8_t query[LB_DNS_QUERY_MAX], *reply = malloc(size ? size : 1);
	__u16 ancount;
	int qlen, rcode;

	if (!reply)
		return;
	memcpy(reply, data, size);
	qlen = lb_dns_query_build(query, sizeof(query), 0x4242, "health.example.", 1);
	if (qlen < 0)
		abort();
	if (lb_dns_reply_parse(query, (size_t)qlen, reply, size, &rcode, &ancount) == 0) {
		if (size < (size_t)qlen || reply[0] != 0x42 || reply[1] != 0x42 || rcode > 15)
			abort();
	}
	free(reply);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] % 2 == 0)
		fuzz_check(data + 1, size - 1);
	else
		fuzz_dns(data + 1, size - 1);
	return 0;
}
