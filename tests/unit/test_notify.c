// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * lib/udplb/daemon/notify.c: a datagram socket of the test's own stands in for systemd
 * (NOTIFY_SOCKET) and receives exactly the expected messages, in order; without NOTIFY_SOCKET
 * nothing is sent and there is no watchdog.
 */
#include "unit_helpers.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/notify.h"

static char dir[] = "/tmp/udplb-metrics-notify-XXXXXX";
static char path[sizeof(dir) + 16];

static int listen_notify(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

static void expect_message(int fd, const char *want)
{
	char buf[512];
	ssize_t n;

	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	if (n < 0)
		fail_msg("no message, expected \"%s\": %s", want, strerror(errno));
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static void test_sequence(void **state)
{
	struct pollfd pfd = { .events = POLLIN };
	struct lb_err err = { "" };
	struct lb_notify n;
	char pid[16];
	int fd;

	(void)state;
	fd = listen_notify();
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("NOTIFY_SOCKET", path, 1);
	setenv("WATCHDOG_USEC", "60000", 1);
	setenv("WATCHDOG_PID", pid, 1);
	ut_ok(lb_notify_open(&n, &err));
	assert_int_equal(n.interval_us, 30000);
	assert_true(lb_notify_watchdog_fd(&n) >= 0);

	ut_ok(lb_notify_ready(&n, "2 VIPs, 5 backends healthy"));
	ut_ok(lb_notify_reloading(&n, NULL));
	ut_ok(lb_notify_ready(&n, NULL));
	ut_ok(lb_notify_status(&n, "%d of %d healthy", 4, 5));
	/* Nothing due yet: no message. */
	ut_ok(lb_notify_watchdog(&n));
	pfd.fd = lb_notify_watchdog_fd(&n);
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	ut_ok(lb_notify_watchdog(&n));
	ut_ok(lb_notify_stopping(&n, "stopping"));

	expect_message(fd, "READY=1\nSTATUS=2 VIPs, 5 backends healthy");
	expect_message(fd, "RELOADING=1");
	expect_message(fd, "READY=1");
	expect_message(fd, "STATUS=4 of 5 healthy");
	expect_message(fd, "WATCHDOG=1");
	expect_message(fd, "STOPPING=1\nSTATUS=stopping");
	assert_int_equal(recv(fd, pid, sizeof(pid), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);

	lb_notify_close(&n);
	close(fd);
	unlink(path);
	rmdir(dir);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

/* Not under systemd: every call succeeds, nothing is sent. A watchdog for another PID: not ours. */
static void test_no_socket(void **state)
{
	struct lb_err err = { "" };
	struct lb_notify n;

	(void)state;
	unsetenv("NOTIFY_SOCKET");
	setenv("WATCHDOG_USEC", "60000", 1);
	ut_ok(lb_notify_open(&n, &err));
	assert_false(n.enabled);
	assert_int_equal(lb_notify_watchdog_fd(&n), -1);
	ut_ok(lb_notify_ready(&n, "x"));
	ut_ok(lb_notify_reloading(&n, NULL));
	ut_ok(lb_notify_status(&n, "%s", "y"));
	ut_ok(lb_notify_watchdog(&n));
	ut_ok(lb_notify_stopping(&n, NULL));
	lb_notify_close(&n);

	setenv("NOTIFY_SOCKET", "/nonexistent-udplb-metrics", 1);
	setenv("WATCHDOG_PID", "1", 1);
	ut_ok(lb_notify_open(&n, &err));
	assert_true(n.enabled);
	assert_int_equal(lb_notify_watchdog_fd(&n), -1);
	lb_notify_close(&n);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sequence),
		cmocka_unit_test(test_no_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
