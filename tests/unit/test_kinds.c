// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Kinds (register, unregister, malformed ops), abmap_check_prog() of the built-in kinds, the
 * abmap_side_* helpers' argument checks, and log routing with abmap_set_print().
 *
 * A structure of a user-registered kind needs abmap_new() with two map fds; the fake has no
 * constructor for it, so the callbacks below are registered but never called here.
 */
#include <unistd.h>

#include "unit_helpers.h"

static abmap_print_fn_t default_print;

static int ut_validate(const struct bpf_map_info *info)
{
	return info->type == BPF_MAP_TYPE_ARRAY && info->key_size == 4 ? 0 : -EINVAL;
}

static bool ut_prog_type_ok(enum bpf_prog_type type)
{
	return type == BPF_PROG_TYPE_XDP;
}

static int ut_read(struct abmap_side *side, const void *key, void *value)
{
	return abmap_side_lookup(side, key, value);
}

static int ut_write(struct abmap_side *side, const void *key, const void *value)
{
	if (abmap_side_value_size(side) == 0 || abmap_side_key_size(side) == 0)
		return -EINVAL;
	return abmap_side_update(side, key, value);
}

static int ut_erase(struct abmap_side *side, const void *key)
{
	return abmap_side_delete(side, key);
}

static int ut_next_key(struct abmap_side *side, const void *key, void *next_key)
{
	return abmap_side_next_key(side, key, next_key);
}

static void test_register_unregister(void **state)
{
	LIBABMAP_OPTS(abmap_kind_ops, ops, .name = "ut_kind", .validate = ut_validate,
		      .prog_type_ok = ut_prog_type_ok, .read = ut_read, .write = ut_write,
		      .erase = ut_erase, .next_key = ut_next_key);
	LIBABMAP_OPTS(abmap_kind_ops, minimal, .name = "ut_minimal", .validate = ut_validate);

	(void)state;
	ut_ok(abmap_kind_register(&ops));
	ut_assert_ret(abmap_kind_register(&ops), -EEXIST);
	/* Optional callbacks may be NULL. */
	ut_ok(abmap_kind_register(&minimal));

	ut_ok(abmap_kind_unregister("ut_kind"));
	ut_assert_ret(abmap_kind_unregister("ut_kind"), -ENOENT);
	/* Registrable again once gone. */
	ut_ok(abmap_kind_register(&ops));
	ut_ok(abmap_kind_unregister("ut_kind"));
	ut_ok(abmap_kind_unregister("ut_minimal"));
	ut_assert_ret(abmap_kind_unregister("ut_minimal"), -ENOENT);
}

static void test_register_copies_ops(void **state)
{
	static char name_a[] = "ut_copied";
	static char name_b[] = "ut_copied";
	struct abmap_kind_ops *ops = calloc(1, sizeof(*ops));
	LIBABMAP_OPTS(abmap_kind_ops, other, .name = name_b, .validate = ut_validate);

	(void)state;
	assert_non_null(ops);
	ops->sz = sizeof(*ops);
	ops->name = name_a;
	ops->validate = ut_validate;
	ut_ok(abmap_kind_register(ops));
	/* The struct is copied: it may go away (the name string must stay). */
	memset(ops, 0xff, sizeof(*ops));
	free(ops);

	/* Names are compared by content, not by pointer. */
	ut_assert_ret(abmap_kind_register(&other), -EEXIST);
	ut_ok(abmap_kind_unregister("ut_copied"));
	ut_assert_ret(abmap_kind_unregister(name_b), -ENOENT);
}

static void test_register_builtin_names(void **state)
{
	LIBABMAP_OPTS(abmap_kind_ops, ops, .name = "array", .validate = ut_validate);

	(void)state;
	ut_assert_ret(abmap_kind_register(&ops), -EEXIST);
	ops.name = "hash";
	ut_assert_ret(abmap_kind_register(&ops), -EEXIST);
}

struct bigger_ops {
	struct abmap_kind_ops ops;
	__u64 future_field;
};

static void test_register_malformed(void **state)
{
	LIBABMAP_OPTS(abmap_kind_ops, ops, .name = "ut_bad", .validate = ut_validate);

	(void)state;
	ut_assert_ret(abmap_kind_register(NULL), -EINVAL);

	ops.name = NULL;
	ut_assert_ret(abmap_kind_register(&ops), -EINVAL);
	ops.name = "ut_bad";

	ops.validate = NULL;
	ut_assert_ret(abmap_kind_register(&ops), -EINVAL);
	ops.validate = ut_validate;

	ops.sz = 0;
	ut_assert_ret(abmap_kind_register(&ops), -EINVAL);
	ops.sz = sizeof(ops);

	/* None of the refused calls registered anything. */
	ut_assert_ret(abmap_kind_unregister("ut_bad"), -ENOENT);
}

/*
 * struct abmap_kind_ops is sized like the options structs (sz, abmap_kind_ops__last_field): a
 * newer caller's bigger struct is fine if its unknown tail is zero, and refused if not, since a
 * field the library does not know (say a future callback) would be silently ignored.
 */
static void test_register_unknown_tail(void **state)
{
	LIBABMAP_OPTS(abmap_kind_ops, ops, .name = "ut_tail", .validate = ut_validate);
	struct bigger_ops big;

	(void)state;
	memset(&big, 0, sizeof(big));
	big.ops = ops;
	big.ops.sz = sizeof(big);
	big.future_field = 0;
	ut_ok(abmap_kind_register(&big.ops));
	ut_ok(abmap_kind_unregister("ut_tail"));

	big.future_field = 1;
	errno = 0;
	if (abmap_kind_register(&big.ops) == 0) {
		abmap_kind_unregister("ut_tail");
		fail_msg("abmap_kind_register accepted a non-zero field past abmap_kind_ops "
			 "(sz %zu > %zu), expected -EINVAL",
			 big.ops.sz, sizeof(ops));
	}
	assert_int_equal(errno, EINVAL);
	ut_assert_ret(abmap_kind_unregister("ut_tail"), -ENOENT);
}

static void test_unregister_errors(void **state)
{
	struct abmap_group *group;
	struct abmap *arr, *hash;
	__u64 v[2] = { 1, 2 };
	__u32 k[2] = { 1, 2 };

	(void)state;
	ut_assert_ret(abmap_kind_unregister("array"), -EPERM);
	ut_assert_ret(abmap_kind_unregister("hash"), -EPERM);
	ut_assert_ret(abmap_kind_unregister("ut_never_registered"), -ENOENT);
	ut_assert_ret(abmap_kind_unregister(NULL), -EINVAL);

	/* Built-in kinds still work, and stay protected while in use. */
	group = ut_group_new();
	arr = ut_array_new(group, sizeof(__u64), 4, 0);
	hash = ut_hash_new(group, sizeof(__u32), sizeof(__u64), 4);
	ut_assert_ret(abmap_kind_unregister("array"), -EPERM);
	ut_ok(abmap_array_set(arr, v, 2));
	ut_ok(abmap_hash_set(hash, k, v, 2));
	ut_assert_array_live(group, arr, v, 2, 2);
	ut_assert_hash_live(group, hash, k, v, 2);
	abmap_group_free(group);
}

/*
 * abmap_new() of a registered kind needs real map fds; on a fake group it fails, and the failed
 * attempt must not leave the kind marked as in use.
 */
static void test_custom_kind_on_fake(void **state)
{
	LIBABMAP_OPTS(abmap_kind_ops, ops, .name = "ut_fake_kind", .validate = ut_validate);
	struct abmap_group *group = ut_group_new();

	(void)state;
	ut_ok(abmap_kind_register(&ops));
	errno = 0;
	assert_null(abmap_new(group, "ut_fake_kind", -1, -1, NULL));
	assert_true(errno != 0);
	errno = 0;
	assert_null(abmap_new(group, "ut_no_such_kind", -1, -1, NULL));
	assert_true(errno != 0);
	ut_ok(abmap_kind_unregister("ut_fake_kind"));
	abmap_group_free(group);
}

static void test_check_prog(void **state)
{
	struct abmap_group *group = ut_group_new();
	struct abmap *arr = ut_array_new(group, sizeof(__u64), 4, 0);
	struct abmap *nolen = ut_array_new(group, sizeof(__u64), 4, ABMAP_FAKE_NO_LEN);
	struct abmap *hash = ut_hash_new(group, sizeof(__u32), sizeof(__u64), 4);

	(void)state;
	ut_ok(abmap_check_prog(arr, BPF_PROG_TYPE_XDP));
	ut_ok(abmap_check_prog(nolen, BPF_PROG_TYPE_XDP));
	ut_ok(abmap_check_prog(hash, BPF_PROG_TYPE_XDP));
	ut_ok(abmap_check_prog(arr, BPF_PROG_TYPE_SCHED_CLS));
	ut_ok(abmap_check_prog(hash, BPF_PROG_TYPE_SCHED_CLS));
	ut_assert_ret(abmap_check_prog(NULL, BPF_PROG_TYPE_XDP), -EINVAL);
	abmap_group_free(group);
}

static void test_side_helpers_null(void **state)
{
	__u32 key = 0, next;
	__u64 v = 0;

	(void)state;
	ut_assert_ret(abmap_side_lookup(NULL, &key, &v), -EINVAL);
	ut_assert_ret(abmap_side_update(NULL, &key, &v), -EINVAL);
	ut_assert_ret(abmap_side_delete(NULL, &key), -EINVAL);
	ut_assert_ret(abmap_side_next_key(NULL, &key, &next), -EINVAL);
}

/* ---------------------------------------------------------------------------------------------
 * Logging
 */

/* Make a commit fail through an injected write fault (the library logs such failures). */
static void failing_commit(void)
{
	struct abmap_group *group = ut_group_new();
	struct abmap *arr = ut_array_new(group, sizeof(__u64), 4, 0);
	__u64 v[3] = { 1, 2, 3 }, gen = ut_gen(group);

	ut_ok(abmap_fake_fail(group, ABMAP_FAKE_WRITE, 1, -EIO));
	ut_assert_ret(abmap_array_set(arr, v, 3), -EIO);
	assert_int_equal(ut_gen(group), gen);
	abmap_group_free(group);
}

/* Run failing_commit() with stderr sent to a temporary file; returns the bytes written there. */
static long stderr_bytes_of_failing_commit(void)
{
	FILE *tmp = tmpfile();
	int saved;
	long size;

	assert_non_null(tmp);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
	failing_commit();
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	assert_int_equal(fseek(tmp, 0, SEEK_END), 0);
	size = ftell(tmp);
	fclose(tmp);
	return size;
}

static void test_set_print(void **state)
{
	unsigned int visible;
	long bytes;

	(void)state;
	/* The library starts with a default printer; main() replaced it with ut_print. */
	assert_non_null(default_print);
	assert_ptr_equal(abmap_set_print(NULL), ut_print);
	assert_null(abmap_set_print(ut_print));

	/* A callback receives the lines of a failed commit. */
	ut_log_reset();
	failing_commit();
	if (ut_log()->lines < 1)
		fail_msg("no log line for a commit failed by an injected -EIO");
	visible = ut_log()->by_level[ABMAP_WARN] + ut_log()->by_level[ABMAP_INFO];
	ut_log()->last[strcspn(ut_log()->last, "\n")] = 0;
	print_message("  failed commit logged %u line(s) (%u warn/info), last: %s\n",
		      ut_log()->lines, visible, ut_log()->last);

	/* NULL silences the library: nothing reaches stderr. */
	abmap_set_print(NULL);
	bytes = stderr_bytes_of_failing_commit();
	abmap_set_print(ut_print);
	assert_int_equal(bytes, 0);

	/* The default printer shows warnings and info on stderr. */
	abmap_set_print(default_print);
	bytes = stderr_bytes_of_failing_commit();
	assert_ptr_equal(abmap_set_print(ut_print), default_print);
	if (visible)
		assert_true(bytes > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_unregister),
		cmocka_unit_test(test_register_copies_ops),
		cmocka_unit_test(test_register_builtin_names),
		cmocka_unit_test(test_register_malformed),
		cmocka_unit_test(test_register_unknown_tail),
		cmocka_unit_test(test_unregister_errors),
		cmocka_unit_test(test_custom_kind_on_fake),
		cmocka_unit_test(test_check_prog),
		cmocka_unit_test(test_side_helpers_null),
		cmocka_unit_test(test_set_print),
	};

	default_print = ut_main_init();
	return cmocka_run_group_tests_name("kinds", tests, NULL, NULL);
}
