// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target of the apply format (lib/udplb/conf.c): every input is parsed; what parses
 * is validated, committed on libabmap's fake store, read back (it must equal what was parsed),
 * committed again (it must change nothing), and written back in the apply format (which must
 * parse to the same configuration). Any disagreement aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_apply: %s:%d: %s\n", __FILE__, __LINE__, #cond);     \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct lb_maps maps; /* one fake store for every input: reset to empty after each */

static int count_diff(void *ctx, const struct lb_diff_item *item)
{
	(void)item;
	++*(int *)ctx;
	return 0;
}

static int nr_diffs(const struct lb_state *a, const struct lb_state *b)
{
	int n = 0;

	CHECK(lb_diff(a, b, count_diff, &n) == n);
	return n;
}

/* Written back in the apply format, the configuration parses to itself. */
static void check_round_trip(const struct lb_conf *c)
{
	struct lb_err err = {};
	struct lb_conf again;
	size_t len = 0;
	char *text = NULL;
	FILE *f = open_memstream(&text, &len);

	CHECK(f);
	CHECK(!lb_conf_write(f, c));
	fclose(f);
	lb_conf_init(&again);
	if (lb_conf_parse_mem(text, len, "saved", &again, &err)) {
		fprintf(stderr, "fuzz_apply: written text does not parse: %s\n%s", err.msg, text);
		abort();
	}
	CHECK(again.has_seed == c->has_seed && again.hash_seed == c->hash_seed);
	CHECK(again.nr_resolve == 0);
	CHECK(nr_diffs(&c->state, &again.state) == 0);
	lb_conf_free(&again);
	free(text);
}

static void check_commit(const struct lb_conf *c)
{
	struct lb_commit_opts opts = {};
	struct lb_state live, empty = {};
	struct lb_err err = {};
	int ret;

	if (lb_state_validate(&c->state, &err))
		return; /* the parser refuses what the model refuses, except what does not fit */
	ret = lb_commit(&maps, &c->state, &opts);
	if (ret < 0)
		return; /* e.g. -ENOSPC: the rings do not fit the map */
	CHECK(!lb_read(&maps, &live, &err));
	CHECK(nr_diffs(&live, &c->state) == 0);
	lb_state_free(&live);
	memset(&opts, 0, sizeof(opts));
	CHECK(lb_commit(&maps, &c->state, &opts) == LB_COMMIT_UNCHANGED);
	memset(&opts, 0, sizeof(opts));
	CHECK(lb_commit(&maps, &empty, &opts) >= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lb_err err = {};
	struct lb_conf c;

	if (!maps.group && lb_maps_fake(&maps))
		abort();
	lb_conf_init(&c);
	if (!lb_conf_parse_mem((const char *)data, size, "fuzz", &c, &err)) {
		check_round_trip(&c);
		check_commit(&c);
	} else {
		CHECK(!strncmp(err.msg, "fuzz:", 5)); /* every error names FILE:LINE */
	}
	lb_conf_free(&c);
	return 0;
}
