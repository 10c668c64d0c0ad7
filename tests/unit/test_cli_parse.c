// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * lib/udplb/parse.c, the values an operator types: decimal numbers in exact ranges (no octal,
 * hex, sign or blanks), addresses a VIP or backend can have, unicast non-zero MACs. Table-driven.
 */
#include "unit_helpers.h"

#include <arpa/inet.h>

#include "parse.h"

struct num_case {
	const char *s;
	__u64 min, max;
	int ret;
	__u64 want;
};

static void test_numbers(void **state)
{
	static const struct num_case cases[] = {
		{ "53", 0, 65535, 0, 53 },
		{ "0", 0, 10, 0, 0 },
		{ "053", 0, 65535, -EINVAL, 0 }, /* octal once: port 43 */
		{ "0x35", 0, 65535, -EINVAL, 0 },
		{ "+53", 0, 65535, -EINVAL, 0 },
		{ " 53", 0, 65535, -EINVAL, 0 },
		{ "53 ", 0, 65535, -EINVAL, 0 },
		{ "-1", 0, UINT64_MAX, -EINVAL, 0 }, /* pool set KEY -1 stored 2^64-1 */
		{ " -1", 0, UINT64_MAX, -EINVAL, 0 },
		{ "", 0, 10, -EINVAL, 0 },
		{ "1e3", 0, 10000, -EINVAL, 0 },
		{ "0", 1, 1114129, -ERANGE, 0 }, /* --ring-size 0 became 65537 */
		{ "65536", 1, 65535, -ERANGE, 0 },
		{ "18446744073709551615", 0, UINT64_MAX, 0, UINT64_MAX },
		{ "18446744073709551616", 0, UINT64_MAX, -ERANGE, 0 },
		{ "99999999999999999999999", 0, UINT64_MAX, -ERANGE, 0 },
		{ "4294967295", 0, UINT32_MAX, 0, UINT32_MAX },
		{ "4294967296", 0, UINT32_MAX, -ERANGE, 0 },
	};
	size_t i;
	__u64 v;

	(void)state;
	for (i = 0; i < UT_ARRAY_SIZE(cases); i++) {
		v = 12345;
		if (lb_parse_u64(cases[i].s, cases[i].min, cases[i].max, &v) != cases[i].ret)
			fail_msg("'%s': expected %d", cases[i].s, cases[i].ret);
		assert_int_equal(v, cases[i].ret ? 12345 : cases[i].want);
	}
	assert_int_equal(lb_parse_u64(NULL, 0, 1, &v), -EINVAL);
}

struct addr_case {
	const char *s;
	bool port_required;
	int ret;
	const char *addr;
	__u16 port;
};

static void test_addr_port(void **state)
{
	static const struct addr_case cases[] = {
		{ "10.0.0.1:53", true, 0, "10.0.0.1", 53 },
		{ "10.0.0.1", false, 0, "10.0.0.1", 0 },
		{ "10.0.0.1", true, -EINVAL, NULL, 0 },
		{ "10.0.0.1:053", true, -EINVAL, NULL, 0 },
		{ "10.0.0.1:0", true, -EINVAL, NULL, 0 },
		{ "10.0.0.1:65536", true, -EINVAL, NULL, 0 },
		{ "10.0.0.1:+53", true, -EINVAL, NULL, 0 },
		{ "10.0.0.1:", true, -EINVAL, NULL, 0 },
		{ "10.0.0.1:53:1", true, -EINVAL, NULL, 0 },
		{ "010.0.0.1:53", true, -EINVAL, NULL, 0 },
		{ "10.1:53", true, -EINVAL, NULL, 0 },
		{ "127.0.0.1:53", true, -EDOM, NULL, 0 },
		{ "0.1.2.3:53", true, -EDOM, NULL, 0 },
		{ "224.0.0.1:53", true, -EDOM, NULL, 0 },
		{ "240.0.0.1:53", true, -EDOM, NULL, 0 },
		{ "255.255.255.255:53", true, -EDOM, NULL, 0 },
		{ "223.255.255.254:53", true, 0, "223.255.255.254", 53 },
	};
	struct in_addr want;
	__be32 addr;
	__be16 port;
	size_t i;

	(void)state;
	for (i = 0; i < UT_ARRAY_SIZE(cases); i++) {
		int ret = lb_parse_addr_port(cases[i].s, &addr, &port, cases[i].port_required);

		if (ret != cases[i].ret)
			fail_msg("'%s': %d, expected %d", cases[i].s, ret, cases[i].ret);
		if (ret)
			continue;
		inet_pton(AF_INET, cases[i].addr, &want);
		assert_int_equal(addr, want.s_addr);
		assert_int_equal(ntohs(port), cases[i].port);
	}
}

struct mac_case {
	const char *s;
	int ret;
};

static void test_mac(void **state)
{
	static const struct mac_case cases[] = {
		{ "02:00:00:00:00:01", 0 },	   { "02:AB:cd:00:00:01", 0 },
		{ "-1:-1:-1:-1:-1:-1", -EINVAL }, /* sscanf %2x took this: broadcast */
		{ "0x:0x:0x:0x:0x:0x", -EINVAL },  { "2:0:0:0:0:1", -EINVAL },
		{ "02:00:00:00:00:01:", -EINVAL }, { "02-00-00-00-00-01", -EINVAL },
		{ "02:00:00:00:00: 1", -EINVAL },  { "", -EINVAL },
		{ "ff:ff:ff:ff:ff:ff", -EDOM }, /* broadcast: dsr would flood the segment */
		{ "01:00:5e:00:00:01", -EDOM }, /* multicast */
		{ "33:33:00:00:00:01", -EDOM },	   { "00:00:00:00:00:00", -EDOM },
	};
	__u8 mac[6] = { 9, 9, 9, 9, 9, 9 };
	size_t i;

	(void)state;
	for (i = 0; i < UT_ARRAY_SIZE(cases); i++) {
		int ret = lb_parse_mac(cases[i].s, mac);

		if (ret != cases[i].ret)
			fail_msg("'%s': %d, expected %d", cases[i].s, ret, cases[i].ret);
	}
	assert_int_equal(lb_parse_mac("02:ab:cd:ef:01:23", mac), 0);
	assert_memory_equal(mac, ((__u8[]){ 0x02, 0xab, 0xcd, 0xef, 0x01, 0x23 }), 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_addr_port),
		cmocka_unit_test(test_mac),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
