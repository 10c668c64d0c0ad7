// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The store-conformance suite (tests/conformance/) on the in-memory fake store. */
#include "unit_helpers.h"
#include "conformance.h"

static struct abmap_group *group;

static struct abmap_group *fake_begin(const char *test)
{
	(void)test;
	group = abmap_fake_group_new(NULL);
	return group;
}

static struct abmap *fake_array(struct abmap_group *g, __u32 value_size, __u32 max_entries,
				bool with_len)
{
	return abmap_fake_array_new(g, value_size, max_entries, with_len ? 0 : ABMAP_FAKE_NO_LEN);
}

static void fake_end(void)
{
	abmap_group_free(group);
	group = NULL;
}

static const struct cf_store fake_store = {
	.name = "fake",
	.begin = fake_begin,
	.array = fake_array,
	.hash = abmap_fake_hash_new,
	.peek = abmap_fake_peek,
	.peek_len = abmap_fake_peek_len,
	.end = fake_end,
};

int main(void)
{
	ut_main_init();
	return cf_run("conformance/fake", &fake_store);
}
