// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The store-conformance suite (tests/conformance/) on real BPF maps, twice: arrays written
 * through mmap() (BPF_F_MMAPABLE), then through syscalls (batches, per element).
 */
#include <errno.h>

#include "conformance.h"
#include "ktest.h"

#define MAX_ARRAYS 8

static bool mmapable;
static struct abmap_group *group;
/* Length map of each array made by this store (abmap.h has no accessor for it). */
static struct {
	struct abmap *arr;
	int len_fd;
} lens[MAX_ARRAYS];
static int nr_lens;

static struct abmap_group *kernel_begin(const char *test)
{
	ktest_begin_named(test);
	nr_lens = 0;
	group = ktest_group(ktest_pointer_map(), 0);
	return group;
}

static struct abmap *kernel_array(struct abmap_group *g, __u32 value_size, __u32 max_entries,
				  bool with_len)
{
	LIBABMAP_OPTS(abmap_opts, opts, .len_fd = with_len ? ktest_len_map() : 0);
	int a = ktest_array_map("cf_a", value_size, max_entries, mmapable);
	int b = ktest_array_map("cf_b", value_size, max_entries, mmapable);
	struct abmap *arr = abmap_new(g, ABMAP_KIND_ARRAY, a, b, &opts);

	assert_true(nr_lens < MAX_ARRAYS);
	lens[nr_lens].arr = arr;
	lens[nr_lens++].len_fd = opts.len_fd;
	return arr;
}

static struct abmap *kernel_hash(struct abmap_group *g, __u32 key_size, __u32 value_size,
				 __u32 max_entries)
{
	int a = ktest_hash_map("cf_ha", key_size, value_size, max_entries);
	int b = ktest_hash_map("cf_hb", key_size, value_size, max_entries);

	return abmap_new(g, ABMAP_KIND_HASH, a, b, NULL);
}

static int kernel_peek(struct abmap *map, int side, const void *key, void *value)
{
	return bpf_map_lookup_elem(abmap_fd(map, side), key, value) ? -errno : 0;
}

static int kernel_peek_len(struct abmap *arr, int side, __u32 *len)
{
	int i;

	for (i = 0; i < nr_lens; i++) {
		if (lens[i].arr != arr)
			continue;
		if (!lens[i].len_fd)
			break;
		*len = ktest_u32(lens[i].len_fd, side);
		return 0;
	}
	*len = abmap_max_entries(arr);
	return 0;
}

static void kernel_end(void)
{
	ktest_teardown(NULL);
	group = NULL;
}

int main(void)
{
	struct cf_store store = {
		.begin = kernel_begin,
		.array = kernel_array,
		.hash = kernel_hash,
		.peek = kernel_peek,
		.peek_len = kernel_peek_len,
		.end = kernel_end,
	};
	int failed;

	mmapable = true;
	store.name = "kernel-mmap";
	failed = cf_run("conformance/kernel-mmap", &store);
	mmapable = false;
	store.name = "kernel-syscall";
	return failed | cf_run("conformance/kernel-syscall", &store);
}
