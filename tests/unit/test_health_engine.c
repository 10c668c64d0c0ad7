// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * lib/udplb/health/engine.c: 50 loopback UDP responders (a thread of the test serves them; the
 * engine itself has none), some stopped mid-test (closed: ICMP port unreachable; muted: silence),
 * and every state change seen within fall x interval + timeout + one tick, no other target
 * changing. Then reload (targets that stay keep their state), the fd-driven mode and resume.
 */
#include "unit_helpers.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "health/engine.h"

#define NR 50
#define INTERVAL_MS 50
#define TIMEOUT_MS 50
#define RISE 2
#define FALL 3
#define TICK_MS 100 /* one scheduling tick of slack for a busy test machine */
#define NS_MS 1000000ULL

enum mode { SERVE, MUTE, CLOSED };

struct responders {
	pthread_t thread;
	atomic_int want[NR]; /* enum mode, set by the test */
	atomic_int have[NR]; /* what the thread has done */
	atomic_bool stop;
	int fd[NR];
	__be16 port[NR];
	int epfd;
};

static int bind_udp(__be16 *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				   .sin_port = *port };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    getsockname(fd, (struct sockaddr *)&sin, &len)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = sin.sin_port;
	return fd;
}

static void serve_one(int fd, int mode)
{
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	char buf[64];
	ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &flen);

	if (n >= 0 && mode == SERVE)
		sendto(fd, "ok", 2, 0, (struct sockaddr *)&from, flen);
}

/* Apply the modes the test wants: the thread alone opens and closes the sockets. */
static void apply_modes(struct responders *rs)
{
	int i;

	for (i = 0; i < NR; i++) {
		int want = atomic_load(&rs->want[i]);
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (__u32)i };

		if (want == CLOSED && rs->fd[i] >= 0) {
			close(rs->fd[i]);
			rs->fd[i] = -1;
		} else if (want != CLOSED && rs->fd[i] < 0) {
			rs->fd[i] = bind_udp(&rs->port[i]);
			if (rs->fd[i] < 0 || epoll_ctl(rs->epfd, EPOLL_CTL_ADD, rs->fd[i], &ev))
				continue;
		}
		atomic_store(&rs->have[i], want);
	}
}

static void *serve(void *arg)
{
	struct responders *rs = arg;
	struct epoll_event ev[NR];
	int n, i;

	while (!atomic_load(&rs->stop)) {
		apply_modes(rs);
		n = epoll_wait(rs->epfd, ev, NR, 2);
		for (i = 0; i < n; i++) {
			__u32 k = ev[i].data.u32;

			if (rs->fd[k] >= 0)
				serve_one(rs->fd[k], atomic_load(&rs->have[k]));
		}
	}
	return NULL;
}

static void responders_start(struct responders *rs)
{
	int i;

	memset(rs, 0, sizeof(*rs));
	rs->epfd = epoll_create1(EPOLL_CLOEXEC);
	assert_true(rs->epfd >= 0);
	for (i = 0; i < NR; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (__u32)i };

		rs->fd[i] = bind_udp(&rs->port[i]);
		assert_true(rs->fd[i] >= 0);
		assert_int_equal(epoll_ctl(rs->epfd, EPOLL_CTL_ADD, rs->fd[i], &ev), 0);
	}
	assert_int_equal(pthread_create(&rs->thread, NULL, serve, rs), 0);
}

static void responders_stop(struct responders *rs)
{
	int i;

	atomic_store(&rs->stop, true);
	pthread_join(rs->thread, NULL);
	for (i = 0; i < NR; i++)
		if (rs->fd[i] >= 0)
			close(rs->fd[i]);
	close(rs->epfd);
}

/* Set the mode of responder @i and wait until the thread has applied it. */
static void set_mode(struct responders *rs, int i, enum mode m)
{
	int tries;

	atomic_store(&rs->want[i], m);
	for (tries = 0; tries < 1000 && atomic_load(&rs->have[i]) != (int)m; tries++)
		usleep(1000);
	assert_int_equal(atomic_load(&rs->have[i]), m);
}

struct seen {
	__u32 changes[NR];
	__u64 last_ns[NR];
	__u32 total;
	__u8 state[NR];
	struct responders *rs;
};

static int index_of(const struct seen *s, const struct lb_health_target *t)
{
	int i;

	for (i = 0; i < NR; i++)
		if (s->rs->port[i] == t->id.port)
			return i;
	fail_msg("change of an unknown target");
	return -1;
}

static void on_change(void *ctx, const struct lb_health_target *t, enum lb_health_state state,
		      const struct lb_probe_result *last)
{
	struct seen *s = ctx;
	int i = index_of(s, t);

	assert_int_equal(t->health.state, state);
	assert_true(state == LB_HEALTH_UP ? last->cause == LB_PROBE_PASS :
					    last->cause != LB_PROBE_PASS);
	s->changes[i]++;
	s->last_ns[i] = lb_health_now_ns();
	s->state[i] = (__u8)state;
	s->total++;
}

/* Open fds of this process: nothing may leak (probe sockets, pidfds, the engine's own). */
static int open_fds(void)
{
	struct dirent *d;
	DIR *dir = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(dir);
	while ((d = readdir(dir)))
		n += d->d_name[0] != '.';
	closedir(dir);
	return n;
}

static struct lb_probe_target target_of(const struct responders *rs, int i)
{
	struct lb_probe_target t = { .addr = htonl(INADDR_LOOPBACK), .port = rs->port[i] };

	t.vip.addr = inet_addr("10.0.0.1");
	t.vip.port = htons(53);
	t.vip.proto = IPPROTO_UDP;
	return t;
}

static void test_check(struct lb_check *c)
{
	lb_check_defaults(c);
	c->kind = LB_CHECK_UDP;
	c->udp.send_len = 2;
	memcpy(c->udp.send, "hi", 2);
	c->udp.expect_len = 2;
	memcpy(c->udp.expect, "ok", 2);
	memset(c->udp.expect_mask, 0xff, 2);
	c->interval_ms = INTERVAL_MS;
	c->timeout_ms = TIMEOUT_MS;
	c->jitter_ms = INTERVAL_MS;
	c->rise = RISE;
	c->fall = FALL;
}

/* Run the engine until @until_ns or until @pred holds. */
static void run_until(struct lb_health_engine *e, __u64 until_ns,
		      bool (*pred)(const struct seen *s), const struct seen *s)
{
	while (lb_health_now_ns() < until_ns && !(pred && pred(s)))
		assert_true(lb_health_engine_run_once(e, 5) >= 0);
}

static bool all_up(const struct seen *s)
{
	int i;

	for (i = 0; i < NR; i++)
		if (s->state[i] != LB_HEALTH_UP)
			return false;
	return true;
}

static void test_fifty(void **state)
{
	const __u64 detect_ns = (FALL * INTERVAL_MS + TIMEOUT_MS + TICK_MS) * NS_MS;
	const __u64 rise_ns = (RISE * INTERVAL_MS + TIMEOUT_MS + TICK_MS) * NS_MS;
	struct responders rs;
	struct seen s = { .rs = &rs };
	struct lb_health_engine *e;
	struct lb_err err;
	unsigned long long worst[2] = { 0, 0 };
	int i, fds = open_fds();
	struct lb_check c;
	__u64 t0;

	(void)state;
	responders_start(&rs);
	e = lb_health_engine_new(on_change, &s, &err);
	assert_non_null(e);
	test_check(&c);
	for (i = 0; i < NR; i++) {
		struct lb_probe_target t = target_of(&rs, i);

		ut_ok(lb_health_engine_add(e, &t, &c, NULL, NULL, &err));
	}
	assert_int_equal(lb_health_engine_count(e), NR);

	/* All come up: first probe within the jitter, then rise passes. */
	t0 = lb_health_now_ns();
	run_until(e, t0 + rise_ns + INTERVAL_MS * NS_MS, all_up, &s);
	assert_true(all_up(&s));
	assert_int_equal(s.total, NR);

	/* Stop ten: five closed (refused at once), five muted (timeouts). */
	for (i = 0; i < 10; i++)
		set_mode(&rs, i * 5, i % 2 ? MUTE : CLOSED);
	t0 = lb_health_now_ns();
	run_until(e, t0 + detect_ns + 200 * NS_MS, NULL, &s);
	for (i = 0; i < NR; i += 5) {
		__u64 ms = (s.last_ns[i] - t0) / NS_MS;

		if (ms > worst[i / 5 % 2])
			worst[i / 5 % 2] = ms;
	}
	print_message("down after at most %llu ms (closed), %llu ms (muted); bound %llu ms\n",
		      worst[0], worst[1], (unsigned long long)(detect_ns / NS_MS));
	for (i = 0; i < NR; i++) {
		bool stopped = i % 5 == 0;

		assert_int_equal(s.state[i], stopped ? LB_HEALTH_DOWN : LB_HEALTH_UP);
		assert_int_equal(s.changes[i], stopped ? 2 : 1);
		if (stopped && s.last_ns[i] - t0 > detect_ns)
			fail_msg("target %d: down after %llu ms, bound %llu ms", i,
				 (unsigned long long)((s.last_ns[i] - t0) / NS_MS),
				 (unsigned long long)(detect_ns / NS_MS));
	}
	assert_int_equal(lb_health_engine_find(e, &(struct lb_probe_target){ 0 }), NULL);

	/* Back: up again after rise passes. */
	for (i = 0; i < 10; i++)
		set_mode(&rs, i * 5, SERVE);
	t0 = lb_health_now_ns();
	run_until(e, t0 + rise_ns + 200 * NS_MS, all_up, &s);
	assert_true(all_up(&s));
	for (i = 0; i < NR; i += 5)
		if (s.last_ns[i] - t0 > rise_ns)
			fail_msg("target %d: up after %llu ms", i,
				 (unsigned long long)((s.last_ns[i] - t0) / NS_MS));
	assert_int_equal(s.total, NR + 20);
	lb_health_engine_free(e);
	responders_stop(&rs);
	assert_int_equal(open_fds(), fds);
}

/* Reload: targets that stay keep their state; the others go; a changed check keeps state. */
static void test_reload(void **state)
{
	struct responders rs;
	struct seen s = { .rs = &rs };
	struct lb_health_engine *e;
	struct lb_health_target *t;
	struct lb_probe_target id;
	struct lb_err err;
	struct lb_check c;
	__u32 total;
	int i;

	(void)state;
	responders_start(&rs);
	e = lb_health_engine_new(on_change, &s, &err);
	assert_non_null(e);
	test_check(&c);
	for (i = 0; i < NR; i++) {
		id = target_of(&rs, i);
		ut_ok(lb_health_engine_add(e, &id, &c, NULL, NULL, &err));
	}
	run_until(e, lb_health_now_ns() + 1000 * NS_MS, all_up, &s);
	assert_true(all_up(&s));
	total = s.total;

	lb_health_engine_mark(e);
	for (i = 0; i < NR - 5; i++) {
		id = target_of(&rs, i);
		if (i == 0)
			c.fall = 4;
		assert_int_equal(lb_health_engine_add(e, &id, &c, NULL, &rs, &err), LB_HEALTH_KEPT);
		c.fall = FALL;
	}
	assert_int_equal(lb_health_engine_sweep(e), 5);
	assert_int_equal(lb_health_engine_count(e), NR - 5);
	for (i = 0; i < NR; i++) {
		id = target_of(&rs, i);
		t = lb_health_engine_find(e, &id);
		if (i >= NR - 5) {
			assert_null(t);
			continue;
		}
		assert_non_null(t);
		assert_int_equal(t->health.state, LB_HEALTH_UP);
		assert_ptr_equal(t->user, &rs);
	}
	id = target_of(&rs, 0);
	assert_int_equal(lb_health_engine_find(e, &id)->check.fall, 4);
	/* Nothing flaps after the reload. */
	run_until(e, lb_health_now_ns() + 300 * NS_MS, NULL, &s);
	assert_int_equal(s.total, total);
	assert_int_equal(lb_health_engine_del(e, &id), 0);
	assert_int_equal(lb_health_engine_del(e, &id), -ENOENT);
	/* Identity order for status output. */
	for (i = 1; i < (int)lb_health_engine_count(e); i++)
		assert_true(ntohs(lb_health_engine_at(e, (__u32)i - 1)->id.port) <
			    ntohs(lb_health_engine_at(e, (__u32)i)->id.port));
	assert_null(lb_health_engine_at(e, lb_health_engine_count(e)));
	lb_health_engine_free(e);
	responders_stop(&rs);
}

/* Driven from the caller's own epoll; a resumed target starts up; none is up at once. */
static void test_fd_mode_and_resume(void **state)
{
	struct responders rs;
	struct seen s = { .rs = &rs };
	struct epoll_event ev = { .events = EPOLLIN };
	struct lb_health_engine *e;
	struct lb_probe_target id;
	struct lb_health resumed;
	struct lb_err err;
	struct lb_check c, none;
	__u64 until;
	int epfd;

	(void)state;
	responders_start(&rs);
	e = lb_health_engine_new(on_change, &s, &err);
	assert_non_null(e);
	test_check(&c);
	c.initial = LB_HEALTH_DOWN;
	lb_health_init(&resumed, &c);
	resumed.state = LB_HEALTH_UP;
	id = target_of(&rs, 0);
	ut_ok(lb_health_engine_add(e, &id, &c, &resumed, NULL, &err));
	assert_int_equal(lb_health_engine_find(e, &id)->health.state, LB_HEALTH_UP);
	lb_check_defaults(&none);
	id = target_of(&rs, 2);
	ut_ok(lb_health_engine_add(e, &id, &none, NULL, NULL, &err));
	assert_int_equal(lb_health_engine_find(e, &id)->health.state, LB_HEALTH_UP);
	id = target_of(&rs, 1);
	ut_ok(lb_health_engine_add(e, &id, &c, NULL, NULL, &err));

	epfd = epoll_create1(EPOLL_CLOEXEC);
	assert_int_equal(epoll_ctl(epfd, EPOLL_CTL_ADD, lb_health_engine_fd(e), &ev), 0);
	until = lb_health_now_ns() + 1000 * NS_MS;
	while (lb_health_now_ns() < until && s.state[1] != LB_HEALTH_UP)
		if (epoll_wait(epfd, &ev, 1, 10) == 1)
			assert_true(lb_health_engine_process(e) >= 0);
	/* Only the new target changed: the resumed one was up already, none never probes. */
	assert_int_equal(s.state[1], LB_HEALTH_UP);
	assert_int_equal(s.total, 1);
	assert_true(lb_health_engine_find(e, &id)->health.probes >= RISE);
	close(epfd);

	c.interval_ms = 0;
	ut_assert_ret(lb_health_engine_add(e, &id, &c, NULL, NULL, &err), -EINVAL);
	lb_health_engine_free(e);
	responders_stop(&rs);
}

static __u32 results[__LB_PROBE_CAUSE_MAX];

static void on_result(void *ctx, const struct lb_health_target *t, const struct lb_probe_result *r)
{
	(void)ctx;
	(void)t;
	results[r->cause]++;
}

static void exec_target(struct lb_health_engine *e, int i, const char *path)
{
	struct lb_probe_target id = { .addr = htonl(INADDR_LOOPBACK),
				      .port = htons((__u16)(i + 1)) };
	struct lb_err err;
	struct lb_check c;

	lb_check_defaults(&c);
	c.kind = LB_CHECK_EXEC;
	snprintf(c.exec.cmd, sizeof(c.exec.cmd), "%s", path);
	c.interval_ms = INTERVAL_MS;
	c.timeout_ms = TIMEOUT_MS;
	c.initial = LB_HEALTH_UP;
	c.fall = 2;
	ut_ok(lb_health_engine_add(e, &id, &c, NULL, NULL, &err));
}

/* exec targets through the loop: pidfds polled, the slow one killed each time, nothing left. */
static void test_exec_targets(void **state)
{
	char dir[] = "/tmp/udplb-health-XXXXXX", path[3][128], cmd[160];
	static const char *const body[3] = { "exit 0", "exit 1", "exec sleep 10" };
	struct responders rs = { 0 };
	struct seen s = { .rs = &rs };
	struct lb_health_engine *e;
	struct lb_err err;
	int i, fds = open_fds();
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	e = lb_health_engine_new(on_change, &s, &err);
	assert_non_null(e);
	lb_health_engine_on_result(e, on_result);
	memset(results, 0, sizeof(results));
	for (i = 0; i < 3; i++) {
		rs.port[i] = htons((__u16)(i + 1));
		snprintf(path[i], sizeof(path[i]), "%s/p%d.sh", dir, i);
		f = fopen(path[i], "w");
		assert_non_null(f);
		fprintf(f, "#!/bin/sh\n%s\n", body[i]);
		fclose(f);
		assert_int_equal(chmod(path[i], 0755), 0);
		exec_target(e, i, path[i]);
	}
	run_until(e, lb_health_now_ns() + 500 * NS_MS, NULL, &s);
	/* Up from the start: the passing one never changes, the others go down once. */
	assert_int_equal(s.changes[0], 0);
	assert_int_equal(s.changes[1], 1);
	assert_int_equal(s.changes[2], 1);
	assert_true(results[LB_PROBE_PASS] >= 3);
	assert_true(results[LB_PROBE_EXIT] >= 2);
	assert_true(results[LB_PROBE_TIMEOUT] >= 2);
	assert_int_equal(results[LB_PROBE_ERROR], 0);
	lb_health_engine_free(e);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	assert_int_equal(open_fds(), fds);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifty),
		cmocka_unit_test(test_reload),
		cmocka_unit_test(test_fd_mode_and_resume),
		cmocka_unit_test(test_exec_targets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
