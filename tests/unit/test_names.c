// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* lib/udplb/names.c: every table both ways, unknown values named as such, flag lists. */
#include "unit_helpers.h"

#include <netinet/in.h>

#include "names.h"
#include "udplb_shared.h"

static const struct lb_names *const tables[] = {
	&lb_fwd_names,	 &lb_hash_names, &lb_backend_state_names, &lb_vip_flag_names,
	&lb_proto_names, &lb_mode_names, &lb_reason_names,	  &lb_pool_key_names,
};

/* Every name maps back to its value, and names within a table are unique. */
static void test_round_trip(void **state)
{
	__u32 v;
	size_t t, i, j;

	(void)state;
	for (t = 0; t < UT_ARRAY_SIZE(tables); t++) {
		for (i = 0; i < tables[t]->nr; i++) {
			const struct lb_name *n = &tables[t]->names[i];

			ut_ok(lb_name_value(tables[t], n->name, &v));
			assert_int_equal(v, n->value);
			assert_string_equal(lb_name(tables[t], n->value), n->name);
			for (j = i + 1; j < tables[t]->nr; j++)
				assert_string_not_equal(n->name, tables[t]->names[j].name);
		}
	}
	assert_int_equal(lb_reason_names.nr, __UDPLB_R_MAX);
}

/* An unknown fwd is not printed as "dsr" (the old status did). */
static void test_unknown(void **state)
{
	char buf[LB_NAME_STRLEN];
	__u32 v = 99;

	(void)state;
	assert_null(lb_name(&lb_fwd_names, 7));
	assert_string_equal(lb_name_fmt(&lb_fwd_names, 7, buf, sizeof(buf)), "unknown(7)");
	assert_string_equal(lb_name_fmt(&lb_fwd_names, UDPLB_FWD_IPIP, buf, sizeof(buf)), "ipip");
	assert_string_equal(lb_name_fmt(&lb_proto_names, IPPROTO_UDP, buf, sizeof(buf)), "udp");
	assert_int_equal(lb_name_value(&lb_fwd_names, "DSR", &v), -EINVAL);
	assert_int_equal(lb_name_value(&lb_fwd_names, "", &v), -EINVAL);
	assert_int_equal(lb_name_value(&lb_fwd_names, NULL, &v), -EINVAL);
	assert_int_equal(v, 99);
}

static void test_list(void **state)
{
	char buf[64];

	(void)state;
	assert_string_equal(lb_names_list(&lb_fwd_names, "|", buf, sizeof(buf)), "dsr|ipip");
	assert_string_equal(lb_names_list(&lb_hash_names, ", ", buf, sizeof(buf)),
			    "5tuple, src-ip");
	lb_names_list(&lb_reason_names, ",", buf, 5);
	assert_string_equal(buf, "forw");
}

static void test_flags(void **state)
{
	char buf[LB_FLAGS_STRLEN];
	__u32 f;

	(void)state;
	ut_ok(lb_flags_fmt(&lb_vip_flag_names, 0, buf, sizeof(buf)));
	assert_string_equal(buf, "none");
	ut_ok(lb_flags_fmt(&lb_vip_flag_names, UDPLB_VIP_F_DROP_FRAGS | UDPLB_VIP_F_DROP_INVALID,
			   buf, sizeof(buf)));
	assert_string_equal(buf, "drop-frags,drop-invalid");
	ut_ok(lb_flags_fmt(&lb_vip_flag_names, UDPLB_VIP_F_DROP_INVALID | 0x80, buf, sizeof(buf)));
	assert_string_equal(buf, "drop-invalid,0x80");
	assert_int_equal(lb_flags_fmt(&lb_vip_flag_names, UDPLB_VIP_F_DROP_FRAGS, buf, 5), -ENOSPC);

	ut_ok(lb_flags_parse(&lb_vip_flag_names, "drop-invalid,drop-frags", &f));
	assert_int_equal(f, UDPLB_VIP_F_DROP_FRAGS | UDPLB_VIP_F_DROP_INVALID);
	ut_ok(lb_flags_parse(&lb_vip_flag_names, "none", &f));
	assert_int_equal(f, 0);
	assert_int_equal(lb_flags_parse(&lb_vip_flag_names, "", &f), -EINVAL);
	assert_int_equal(lb_flags_parse(&lb_vip_flag_names, "drop-frags,", &f), -EINVAL);
	assert_int_equal(lb_flags_parse(&lb_vip_flag_names, ",drop-frags", &f), -EINVAL);
	assert_int_equal(lb_flags_parse(&lb_vip_flag_names, "drop-frags,bogus", &f), -EINVAL);
	assert_int_equal(lb_flags_parse(&lb_vip_flag_names, "0x80", &f), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_flags),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
