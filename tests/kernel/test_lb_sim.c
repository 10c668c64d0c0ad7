// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The flow simulator (lib/udplb/sim.c) against the data plane: 10,000 random flows through
 * udplb_xdp and udplb_tc with BPF_PROG_TEST_RUN, over a configuration committed by lb_commit()
 * with several VIPs (dsr and ipip, 5-tuple and source-address hashing, rings of different sizes),
 * uneven weights, a drained backend and a VIP whose only backend is drained. For every flow the
 * simulator's answer must be the data plane's: the backend (its MAC, and for ipip the outer
 * destination), or a pass for flows to no VIP and to the VIP without an active backend.
 *
 * Negative control: the same flows against a simulator of another configuration (one weight
 * changed) must disagree on some flows, so agreement is not an accident of the comparison.
 *
 * Runs in a private network namespace (test runs use its loopback device).
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "ktest.h"
#include "lb.h"
#include "lb_sim.h"
#include "packet.h"
#include "tl_assert.h"
#include "udplb_fixture.h"

#define NR_FLOWS 10000
#define HASH_SEED 0x51a7e5edU
#define VIP_PORT 53

static const __u8 lb_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x51, 0x01 };
static const __u8 client_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x51, 0x02 };

struct vip_def {
	__u32 addr; /* host order */
	__u8 fwd, hash;
	__u32 ring;
	__u32 nr_backends;
	bool all_drained;
};

static const struct vip_def vips[] = {
	{ TL_IP4(10, 50, 0, 1), UDPLB_FWD_DSR, UDPLB_HASH_5TUPLE, 65537, 12, false },
	{ TL_IP4(10, 50, 0, 2), UDPLB_FWD_IPIP, UDPLB_HASH_5TUPLE, 4099, 7, false },
	{ TL_IP4(10, 50, 0, 3), UDPLB_FWD_DSR, UDPLB_HASH_SRC_IP, 1021, 5, false },
	{ TL_IP4(10, 50, 0, 4), UDPLB_FWD_DSR, UDPLB_HASH_5TUPLE, 251, 2, true },
};

#define NR_VIPS (sizeof(vips) / sizeof(vips[0]))

/* Backend j of VIP i: 10.60.i.j, MAC 02:60:00:00:i:j, weight 1 + (j * 7) % 10; j == 2 drains. */
static void build_state(struct lb_state *s, int bump_weight)
{
	struct lb_err err;
	__u32 i, j;

	lb_state_init(s);
	for (i = 0; i < NR_VIPS; i++) {
		struct lb_vip v = { .fwd = vips[i].fwd,
				    .hash_mode = vips[i].hash,
				    .ring_size = vips[i].ring };

		v.key.addr = htonl(vips[i].addr);
		v.key.port = htons(VIP_PORT);
		tl_assert_ok(lb_vip_add(s, &v, &err), err);
		for (j = 1; j <= vips[i].nr_backends; j++) {
			__u16 weight =
				1 + (j * 7) % 10 + (bump_weight && i == 0 && j == 1 ? 40 : 0);
			__u8 state = j == 2 || vips[i].all_drained ? UDPLB_BACKEND_DRAINING :
								     UDPLB_BACKEND_ACTIVE;
			struct lb_backend b =
				tl_backend(htonl(TL_IP4(10, 60, i, j)), htons(VIP_PORT), weight,
					   state, 0x60ULL << 32 | (__u64)(__u8)i << 8 | (__u8)j);

			tl_assert_ok(lb_backend_add(s, &v.key, &b, &err), err);
		}
	}
}

/* A random flow: mostly to the VIPs, some to a VIP address on another port or to no VIP. */
static struct tl_udp4 random_flow(__u64 *rng)
{
	struct tl_udp4 p;
	__u32 r;

	*rng = *rng * 6364136223846793005ULL + 1442695040888963407ULL;
	r = (__u32)(*rng >> 32);
	memset(&p, 0, sizeof(p));
	memcpy(p.dst_mac, lb_mac, 6);
	memcpy(p.src_mac, client_mac, 6);
	p.saddr = htonl(TL_IP4(100, 64, 0, 0) | (r & 0x3fffff));
	p.sport = htons((__u16)(1024 + (r >> 16) % 60000));
	p.daddr = htonl(vips[(r >> 8) % NR_VIPS].addr);
	p.dport = htons(VIP_PORT);
	p.payload = 18;
	if (r % 16 == 0)
		p.dport = htons(5353); /* a VIP address, no VIP on that port */
	else if (r % 16 == 1)
		p.daddr = htonl(TL_IP4(10, 50, 1, r & 0xff)); /* no VIP at all */
	return p;
}

/* Does the data plane's output for @p agree with the simulator? Fills @why when not. */
static bool agrees(const struct tl_run *run, bool tc, int sim_ret, const struct lb_sim_result *r,
		   char *why, size_t len)
{
	__u32 pass = tc ? 0 /* TC_ACT_OK */ : XDP_PASS;
	struct tl_out o;

	if (sim_ret) {
		snprintf(why, len, "simulator %d, data plane retval %u", sim_ret, run->retval);
		return run->retval == pass;
	}
	if (run->retval == pass || tl_out_parse(run->out, run->out_len, &o)) {
		snprintf(why, len, "simulator backend %08x, data plane passed (retval %u)",
			 ntohl(r->addr), run->retval);
		return false;
	}
	snprintf(why, len,
		 "simulator backend %02x:%02x (%08x), data plane MAC %02x:%02x outer %08x",
		 r->mac[4], r->mac[5], ntohl(r->addr), o.dst_mac[4], o.dst_mac[5], ntohl(o.daddr));
	if (memcmp(o.dst_mac, r->mac, 6))
		return false;
	return r->fwd != UDPLB_FWD_IPIP || (o.ipip && o.daddr == r->addr && o.csum_ok);
}

/* Run every flow through @prog_fd; count disagreements with @sim. */
static __u32 compare(struct tl_udplb *fx, int prog_fd, bool tc, const struct lb_sim *sim,
		     bool report)
{
	__u32 i, bad = 0, passes = 0, fwd = 0;
	__u64 rng = 0x5eed5eedULL;
	char why[160];

	tl_assert_zero(tl_udplb_ct_clear(fx));
	for (i = 0; i < NR_FLOWS; i++) {
		struct tl_udp4 p = random_flow(&rng);
		struct udplb_flow f = tl_udp4_flow(&p);
		struct lb_sim_result r;
		struct tl_run run;
		__u8 frame[128];
		size_t len = tl_udp4_build(&p, frame, sizeof(frame));
		int sim_ret = lb_sim_flow(sim, &f, fx->hash_seed, &r);

		tl_assert_zero(tl_run(prog_fd, frame, len, &run));
		if (!agrees(&run, tc, sim_ret, &r, why, sizeof(why))) {
			if (report && bad < 5)
				print_message("flow %u (%08x:%u -> %08x:%u): %s\n", i,
					      ntohl(f.saddr), ntohs(f.sport), ntohl(f.daddr),
					      ntohs(f.dport), why);
			bad++;
		}
		passes += sim_ret != 0;
		fwd += sim_ret == 0;
	}
	if (report)
		print_message("%s: %u flows, %u forwarded, %u passed, %u disagreements\n",
			      tc ? "tc" : "xdp", NR_FLOWS, fwd, passes, bad);
	/* The workload exercises both outcomes. */
	assert_true(fwd > NR_FLOWS / 2);
	assert_true(passes > NR_FLOWS / 20);
	return bad;
}

static void enter_netns(void)
{
	if (unshare(CLONE_NEWNET))
		fail_msg("unshare(CLONE_NEWNET): %s", strerror(errno));
}

static void fixture_close(void *arg)
{
	tl_udplb_close(arg);
}

static void test_sim_agrees(void **state)
{
	static struct tl_udplb fx;
	struct abmap_group_opts go;
	struct lb_sim *sim, *other;
	struct lb_state s, s2;
	struct lb_err err;

	(void)state;
	ktest_begin();
	enter_netns();
	ktest_group_opts(&go, 0);
	tl_assert_ok(tl_udplb_load(&fx, &go, &err), err);
	ktest_defer(fixture_close, &fx);
	tl_assert_zero(tl_udplb_config(&fx, HASH_SEED, htonl(TL_IP4(10, 50, 9, 9)), 1));
	build_state(&s, 0);
	tl_assert_ok(tl_udplb_commit(&fx, &s, &err), err);
	tl_assert_ok(tl_udplb_sim(&fx, &sim, &err), err);

	assert_int_equal(compare(&fx, fx.xdp_fd, false, sim, true), 0);
	assert_int_equal(compare(&fx, fx.tc_fd, true, sim, true), 0);

	/* The tables a state gives on fresh maps are the live ones here (same ids). */
	tl_assert_ok(lb_sim_from_state(&s, 0, &other, &err), err);
	assert_int_equal(compare(&fx, fx.xdp_fd, false, other, false), 0);
	lb_sim_free(other);

	/* Negative control: another configuration's simulator disagrees. */
	build_state(&s2, 1);
	tl_assert_ok(lb_sim_from_state(&s2, 0, &other, &err), err);
	assert_true(compare(&fx, fx.xdp_fd, false, other, false) > 0);
	lb_sim_free(other);

	lb_sim_free(sim);
	lb_state_free(&s);
	lb_state_free(&s2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		KTEST(test_sim_agrees),
	};

	return cmocka_run_group_tests_name("kernel/lb_sim", tests, NULL, NULL);
}
