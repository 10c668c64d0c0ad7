/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The store-conformance suite: one set of libabmap scenarios (scenarios.c), run against the
 * in-memory fake (tests/unit/test_conformance.c) and against real BPF maps
 * (tests/kernel/test_conformance.c). A scenario speaks only abmap.h, plus a store that creates
 * structures and reads either side directly, so both stores must behave the same to pass.
 */
#ifndef __CONFORMANCE_H
#define __CONFORMANCE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <cmocka.h>

#include <abmap.h>

struct cf_store {
	const char *name;
	/* Start scenario @test: a new group, whatever the test name needs (pins, lock dirs). */
	struct abmap_group *(*begin)(const char *test);
	/* An array of u32 index, with a length map when @with_len. */
	struct abmap *(*array)(struct abmap_group *group, __u32 value_size, __u32 max_entries,
			       bool with_len);
	struct abmap *(*hash)(struct abmap_group *group, __u32 key_size, __u32 value_size,
			      __u32 max_entries);
	/* Read side @side directly, whatever is live: 0, or -ENOENT (absent; index past max). */
	int (*peek)(struct abmap *map, int side, const void *key, void *value);
	/* Length of one side of an array (max_entries without a length map). */
	int (*peek_len)(struct abmap *array, int side, __u32 *len);
	/* End the scenario: free everything, also after a failed assertion. */
	void (*end)(void);
};

/* Run every scenario on @store, as the cmocka group @name; returns the number of failures. */
int cf_run(const char *name, const struct cf_store *store);

#endif /* __CONFORMANCE_H */
