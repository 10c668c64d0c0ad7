// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target of udplbd's configuration file (lib/udplb/daemon/dconf.c): every input is
 * parsed; a refusal must name the file and a line; what parses is written back (it must parse
 * to the same text again), and the policy (lib/udplb/daemon/policy.c) must give a valid state
 * for health states taken from the input, and for every backend down (the worst case the parser
 * checks). Any disagreement aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/policy.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_dconf: %s:%d: %s\n", __FILE__, __LINE__, #cond);     \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *written(const struct lb_dconf *d)
{
	size_t len = 0;
	char *text = NULL;
	FILE *f = open_memstream(&text, &len);

	CHECK(f);
	CHECK(!lb_dconf_write(f, d));
	fclose(f);
	return text;
}

static void check_round_trip(const struct lb_dconf *d)
{
	struct lb_err err = {};
	struct lb_dconf again;
	char *text = written(d), *text2;

	lb_dconf_init(&again);
	if (lb_dconf_parse_mem(text, strlen(text), "saved", &again, &err)) {
		fprintf(stderr, "fuzz_dconf: written text does not parse: %s\n%s", err.msg, text);
		abort();
	}
	text2 = written(&again);
	CHECK(!strcmp(text, text2));
	CHECK(lb_diff(&d->conf.state, &again.conf.state, NULL, NULL) == 0);
	CHECK(again.nr_backends == d->nr_backends && again.nr_vips == d->nr_vips);
	free(text);
	free(text2);
	lb_dconf_free(&again);
}

/* The policy for @health (NULL: unknown) gives a state the model accepts. */
static void check_policy(const struct lb_dconf *d, const __u8 *health)
{
	struct lb_vip_avail *avail = calloc(d->nr_vips + 1, sizeof(*avail));
	struct lb_state desired;
	struct lb_err err = {};

	CHECK(avail);
	if (lb_policy(d, health, &desired, avail, &err)) {
		fprintf(stderr, "fuzz_dconf: policy refused: %s\n", err.msg);
		abort();
	}
	CHECK(!lb_state_validate(&desired, &err));
	CHECK(desired.nr_vips == d->nr_vips);
	lb_state_free(&desired);
	free(avail);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lb_err err = {};
	struct lb_dconf d;
	__u8 *health;
	__u32 i;

	lb_dconf_init(&d);
	if (lb_dconf_parse_mem((const char *)data, size, "fuzz.conf", &d, &err)) {
		CHECK(!strncmp(err.msg, "fuzz.conf:", 10) || !err.msg[0]);
		lb_dconf_free(&d);
		return 0;
	}
	check_round_trip(&d);
	health = calloc(d.nr_backends + 1, 1);
	CHECK(health);
	check_policy(&d, NULL);
	for (i = 0; i < d.nr_backends; i++)
		health[i] = size ? data[i % size] % 3 : 0;
	check_policy(&d, health);
	memset(health, LB_POLICY_DOWN, d.nr_backends);
	check_policy(&d, health);
	free(health);
	lb_dconf_free(&d);
	return 0;
}
