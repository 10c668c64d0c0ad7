// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * udplbd's pins (issue 10): the health map it resumes from after a restart, and the record of
 * the daemon that manages an instance (operator commands are refused while it lives).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "daemon_pin.h"
#include "health_pin.h"
#include "ktest.h"

static void close_fd(void *arg)
{
	close((int)(long)arg);
}

static void a_target(struct lb_health_target *t)
{
	memset(t, 0, sizeof(*t));
	t->id.vip.addr = inet_addr("10.78.0.1");
	t->id.vip.port = htons(7000);
	t->id.vip.proto = 17;
	t->id.addr = inet_addr("10.77.0.11");
	t->id.port = htons(7000);
	t->health.state = LB_HEALTH_UP;
	t->health.passes = 7;
	t->health.probes = 12;
	t->health.transitions = 3;
	t->health.last.rtt_us = 150;
	t->health.last_error.cause = LB_PROBE_REFUSED;
	t->health.last_error.detail = 111;
}

/* What a daemon stored comes back as its resume state; a second open finds the same map. */
static void test_health_round_trip(void **state)
{
	struct lb_health_target t;
	struct lb_health back;
	struct udplb_health v;
	struct lb_err err = {};
	char path[512];
	struct stat st;
	int fd, fd2;

	(void)state;
	ktest_begin();
	a_target(&t);
	assert_int_equal(health_pin_open(ktest_pin_dir(), &fd, &err), 0);
	ktest_defer(close_fd, (void *)(long)fd);
	snprintf(path, sizeof(path), "%s/%s", ktest_pin_dir(), UDPLB_HEALTH_PIN);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(health_pin_load(fd, &t.id, &back), -ENOENT);
	health_pin_store(fd, &t);

	fd2 = health_pin_open_existing(ktest_pin_dir(), &err);
	assert_true(fd2 >= 0);
	ktest_defer(close_fd, (void *)(long)fd2);
	assert_int_equal(health_pin_load(fd2, &t.id, &back), 0);
	assert_int_equal(back.state, LB_HEALTH_UP);
	assert_int_equal(back.passes, 7);
	assert_int_equal(back.probes, 12);
	assert_int_equal(back.transitions, 3);
	assert_int_equal(back.last.rtt_us, 150);
	assert_int_equal(back.last_error.cause, LB_PROBE_REFUSED);
	assert_int_equal(back.last_error.detail, 111);
	assert_int_equal(health_pin_lookup(fd2, &t.id, &v), 0);
	assert_true(v.changed_ns > 0);
	health_pin_delete(fd, &t.id);
	assert_int_equal(health_pin_load(fd2, &t.id, &back), -ENOENT);
}

static bool keep_b1(void *ctx, const struct lb_probe_target *id)
{
	(void)ctx;
	return id->addr == inet_addr("10.77.0.11");
}

/* Entries of backends no longer probed go; the others stay. */
static void test_health_prune(void **state)
{
	struct lb_health_target t;
	struct lb_health back;
	struct lb_err err = {};
	int fd, i;

	(void)state;
	ktest_begin();
	assert_int_equal(health_pin_open(ktest_pin_dir(), &fd, &err), 0);
	ktest_defer(close_fd, (void *)(long)fd);
	a_target(&t);
	for (i = 0; i < 5; i++) {
		t.id.addr = htonl(ntohl(inet_addr("10.77.0.11")) + i);
		health_pin_store(fd, &t);
	}
	assert_int_equal(health_pin_prune(fd, keep_b1, NULL), 4);
	for (i = 0; i < 5; i++) {
		t.id.addr = htonl(ntohl(inet_addr("10.77.0.11")) + i);
		assert_int_equal(health_pin_load(fd, &t.id, &back), i ? -ENOENT : 0);
	}
}

/* A foreign map, or a pin others may write, in place of the health map is refused. */
static void test_health_foreign_refused(void **state)
{
	struct lb_err err = {};
	char path[512];
	int fd, ret;

	(void)state;
	ktest_begin();
	fd = ktest_map(BPF_MAP_TYPE_HASH, "evil", sizeof(struct udplb_health_key), 8, 16, 0);
	snprintf(path, sizeof(path), "%s/%s", ktest_pin_dir(), UDPLB_HEALTH_PIN);
	assert_int_equal(bpf_obj_pin(fd, path), 0);
	assert_int_equal(chmod(path, 0600), 0);
	ret = health_pin_open(ktest_pin_dir(), &fd, &err);
	assert_int_equal(ret, -EINVAL);
	assert_non_null(strstr(err.msg, "value size"));
	unlink(path);

	assert_int_equal(health_pin_open(ktest_pin_dir(), &fd, &err), 0);
	close(fd);
	assert_int_equal(chmod(path, 0666), 0);
	ret = health_pin_open_existing(ktest_pin_dir(), &err);
	assert_int_equal(ret, -EPERM);
	unlink(path);
}

/* The record counts while its process lives, not after it is cleared or its process is gone. */
static void test_daemon_record(void **state)
{
	struct udplb_daemon d = {};
	struct lb_err err = {};
	__u32 zero = 0;
	int fd, status;
	pid_t child;

	(void)state;
	ktest_begin();
	assert_int_equal(lb_daemon_managing(ktest_pin_dir(), &d, &err), 0);
	assert_int_equal(lb_daemon_record(ktest_pin_dir(), "/etc/udplb/udplb.conf", &fd, &err), 0);
	assert_int_equal(lb_daemon_managing(ktest_pin_dir(), &d, &err), 1);
	assert_int_equal(d.pid, getpid());
	assert_string_equal(d.conf, "/etc/udplb/udplb.conf");

	/* Our pid with another start time: a reused pid, not the daemon. */
	d.start_time++;
	assert_int_equal(bpf_map_update_elem(fd, &zero, &d, BPF_ANY), 0);
	assert_int_equal(lb_daemon_managing(ktest_pin_dir(), &d, &err), 0);

	/* A process that has exited (and was reaped). */
	child = fork();
	assert_true(child >= 0);
	if (!child)
		_exit(0);
	assert_int_equal(waitpid(child, &status, 0), child);
	d.pid = child;
	assert_int_equal(bpf_map_update_elem(fd, &zero, &d, BPF_ANY), 0);
	assert_int_equal(lb_daemon_managing(ktest_pin_dir(), &d, &err), 0);

	/* Recorded again, then cleared at exit. */
	close(fd);
	assert_int_equal(lb_daemon_record(ktest_pin_dir(), "/etc/udplb/udplb.conf", &fd, &err), 0);
	assert_int_equal(lb_daemon_managing(ktest_pin_dir(), &d, &err), 1);
	lb_daemon_clear(fd);
	assert_int_equal(lb_daemon_managing(ktest_pin_dir(), &d, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		KTEST(test_health_round_trip),
		KTEST(test_health_prune),
		KTEST(test_health_foreign_refused),
		KTEST(test_daemon_record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
