// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * lib/udplb/daemon/metrics*.c: the exact text of a small snapshot, label escaping, promtool's
 * verdict on a realistic snapshot, and real HTTP requests over 127.0.0.1 answered through
 * lb_metrics_server_process() (no server thread).
 */
#include "unit_helpers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/metrics.h"

static char *format(const struct lb_metrics_snapshot *s)
{
	size_t len;
	char *text;

	ut_ok(lb_metrics_format(s, &text, &len));
	assert_int_equal(strlen(text), len);
	return text;
}

/* Backends without a check: no probe families; every other family as documented. */
static void test_small_snapshot(void **state)
{
	static const struct lb_metrics_vip vip = { .name = "10.0.0.1:53",
						   .packets = 7,
						   .bytes = 700 };
	static const struct lb_metrics_backend be = {
		.vip = "10.0.0.1:53",
		.addr = "10.0.1.1:53",
		.packets = 5,
		.bytes = 500,
		.healthy = true,
	};
	struct lb_metrics_snapshot s = {
		.vips = &vip,
		.nr_vips = 1,
		.backends = &be,
		.nr_backends = 1,
		.generation = 4,
		.commits = 3,
		.commit = { 3, 1500 },
		.grace = { 2, 2000000 },
		.reloads_ok = 1,
		.reloads_invalid = 2,
	};
	char *text, *reasons;

	(void)state;
	s.reasons[UDPLB_R_FORWARDED] = 7;
	s.reasons[UDPLB_R_DROPPED] = 1;
	text = format(&s);
	reasons = strstr(text, "# HELP udplb_reason_packets_total");
	assert_non_null(reasons);
	*reasons = '\0';
	assert_string_equal(
		text, "# HELP udplb_vip_packets_total Packets forwarded for the VIP.\n"
		      "# TYPE udplb_vip_packets_total counter\n"
		      "udplb_vip_packets_total{vip=\"10.0.0.1:53\"} 7\n"
		      "# HELP udplb_vip_bytes_total Bytes forwarded for the VIP.\n"
		      "# TYPE udplb_vip_bytes_total counter\n"
		      "udplb_vip_bytes_total{vip=\"10.0.0.1:53\"} 700\n"
		      "# HELP udplb_backend_packets_total Packets forwarded to the backend.\n"
		      "# TYPE udplb_backend_packets_total counter\n"
		      "udplb_backend_packets_total{vip=\"10.0.0.1:53\",backend=\"10.0.1.1:53\"} 5\n"
		      "# HELP udplb_backend_bytes_total Bytes forwarded to the backend.\n"
		      "# TYPE udplb_backend_bytes_total counter\n"
		      "udplb_backend_bytes_total{vip=\"10.0.0.1:53\",backend=\"10.0.1.1:53\"} 500\n"
		      "# HELP udplb_backend_healthy 1 when the backend counts as healthy, else 0.\n"
		      "# TYPE udplb_backend_healthy gauge\n"
		      "udplb_backend_healthy{vip=\"10.0.0.1:53\",backend=\"10.0.1.1:53\"} 1\n");
	reasons += 1;
	assert_non_null(strstr(reasons, "\nudplb_reason_packets_total{reason=\"forwarded\"} 7\n"));
	assert_non_null(strstr(reasons, "\nudplb_reason_packets_total{reason=\"dropped\"} 1\n"));
	assert_non_null(strstr(reasons, "\nudplb_reason_packets_total{reason=\"ttl\"} 0\n"));
	assert_non_null(strstr(reasons, "# TYPE udplb_generation gauge\nudplb_generation 4\n"
					"# HELP udplb_commits_total Transactions committed by the "
					"daemon.\n# TYPE udplb_commits_total counter\n"
					"udplb_commits_total 3\n"));
	assert_non_null(strstr(reasons, "# TYPE udplb_commit_duration_seconds summary\n"
					"udplb_commit_duration_seconds_sum 0.0015\n"
					"udplb_commit_duration_seconds_count 3\n"));
	assert_non_null(strstr(reasons, "udplb_grace_period_wait_seconds_sum 2\n"
					"udplb_grace_period_wait_seconds_count 2\n"));
	assert_non_null(strstr(reasons, "udplb_config_reloads_total{result=\"ok\"} 1\n"
					"udplb_config_reloads_total{result=\"invalid\"} 2\n"));
	assert_null(strstr(reasons, "probe"));
	free(text);
}

/* A checked backend: its histogram is cumulative, ends at +Inf, sum in seconds. */
static void test_histogram(void **state)
{
	struct lb_metrics_backend be = { .vip = "v", .addr = "b", .checked = true };
	struct lb_metrics_snapshot s = { .backends = &be, .nr_backends = 1 };
	char *text;

	(void)state;
	lb_metrics_histogram_observe(&be.rtt, 400);
	lb_metrics_histogram_observe(&be.rtt, 500);
	lb_metrics_histogram_observe(&be.rtt, 3000);
	lb_metrics_histogram_observe(&be.rtt, 9000000);
	be.failures[LB_PROBE_TIMEOUT] = 2;
	be.transitions = 1;
	text = format(&s);
	assert_non_null(
		strstr(text, "udplb_backend_transitions_total{vip=\"v\",backend=\"b\"} 1\n"));
	assert_non_null(strstr(text, "udplb_probe_failures_total{vip=\"v\",backend=\"b\","
				     "cause=\"timeout\"} 2\n"));
	assert_null(strstr(text, "cause=\"pass\""));
	assert_non_null(strstr(
		text,
		"# TYPE udplb_probe_duration_seconds histogram\n"
		"udplb_probe_duration_seconds_bucket{vip=\"v\",backend=\"b\",le=\"0.0005\"} 2\n"
		"udplb_probe_duration_seconds_bucket{vip=\"v\",backend=\"b\",le=\"0.001\"} 2\n"
		"udplb_probe_duration_seconds_bucket{vip=\"v\",backend=\"b\",le=\"0.0025\"} 2\n"
		"udplb_probe_duration_seconds_bucket{vip=\"v\",backend=\"b\",le=\"0.005\"} 3\n"));
	assert_non_null(strstr(
		text, "udplb_probe_duration_seconds_bucket{vip=\"v\",backend=\"b\",le=\"2.5\"} 3\n"
		      "udplb_probe_duration_seconds_bucket{vip=\"v\",backend=\"b\",le=\"+Inf\"} 4\n"
		      "udplb_probe_duration_seconds_sum{vip=\"v\",backend=\"b\"} 9.0039\n"
		      "udplb_probe_duration_seconds_count{vip=\"v\",backend=\"b\"} 4\n"));
	free(text);
}

static void test_escaping(void **state)
{
	static const struct lb_metrics_vip vip = { .name = "a\\b\"c\nd" };
	struct lb_metrics_snapshot s = { .vips = &vip, .nr_vips = 1 };
	char *text;

	(void)state;
	text = format(&s);
	assert_non_null(strstr(text, "udplb_vip_packets_total{vip=\"a\\\\b\\\"c\\nd\"} 0\n"));
	free(text);
}

/* A realistic snapshot: 2 VIPs, 3 backends (2 checked), every counter non-zero. */
static struct lb_metrics_backend realistic_backends[3];
static const struct lb_metrics_vip realistic_vips[2] = {
	{ "10.0.0.1:53", 123456, 9876543 },
	{ "10.0.0.2:5000", 42, 4200 },
};

static int collect_realistic(void *ctx, struct lb_metrics_snapshot *s)
{
	size_t i;
	__u32 c;

	*(int *)ctx += 1;
	for (i = 0; i < 3; i++) {
		struct lb_metrics_backend *b = &realistic_backends[i];

		memset(b, 0, sizeof(*b));
		b->vip = realistic_vips[i / 2].name;
		b->addr = (const char *[]){ "10.0.1.1:53", "10.0.1.2:53", "10.0.2.1:5000" }[i];
		b->packets = 1000 * (i + 1);
		b->bytes = 64000 * (i + 1);
		b->healthy = i != 1;
		b->checked = i < 2;
		b->transitions = i;
		for (c = 1; c < __LB_PROBE_CAUSE_MAX; c++)
			b->failures[c] = c * i;
		lb_metrics_histogram_observe(&b->rtt, 300 + 700 * i);
		lb_metrics_histogram_observe(&b->rtt, 1200000);
	}
	s->vips = realistic_vips;
	s->nr_vips = 2;
	s->backends = realistic_backends;
	s->nr_backends = 3;
	for (c = 0; c < __UDPLB_R_MAX; c++)
		s->reasons[c] = 10 * c;
	s->generation = 17;
	s->commits = 16;
	s->commit = (struct lb_metrics_duration){ 16, 48213 };
	s->grace = (struct lb_metrics_duration){ 16, 1634000 };
	s->reloads_ok = 3;
	s->reloads_invalid = 1;
	return 0;
}

/* promtool check metrics: exit 0 and nothing said (it prints lint problems). */
static void test_promtool(void **state)
{
	char path[] = "/tmp/udplb-metrics-promtool-XXXXXX", cmd[256], out[512];
	struct lb_metrics_snapshot s = { 0 };
	size_t len, n;
	int calls = 0, fd, status;
	char *text;
	FILE *p;

	(void)state;
	if (system("command -v promtool >/dev/null 2>&1")) {
		if (getenv("CI") && !strcmp(getenv("CI"), "true"))
			fail_msg("promtool missing (Debian package prometheus)");
		skip();
	}
	collect_realistic(&calls, &s);
	ut_ok(lb_metrics_format(&s, &text, &len));
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	free(text);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	status = pclose(p);
	unlink(path);
	if (!WIFEXITED(status) || WEXITSTATUS(status) || n)
		fail_msg("promtool check metrics (status %d): %s", status, out);
}

/* Drive the server until the client's socket is closed; returns what the client received. */
static char *http_request(struct lb_metrics_server *m, const char *request)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				   .sin_port = htons(lb_metrics_server_port(m)) };
	size_t size = 1 << 16, got = 0;
	char *buf = calloc(1, size);
	int fd, i;
	ssize_t n;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(write(fd, request, strlen(request)), (ssize_t)strlen(request));
	fcntl(fd, F_SETFL, O_NONBLOCK);
	for (i = 0; i < 200; i++) {
		struct pollfd pfd = { .fd = lb_metrics_server_fd(m), .events = POLLIN };
		int t = lb_metrics_server_timeout_ms(m);

		poll(&pfd, 1, t >= 0 && t < 10 ? t : 10);
		ut_ok(lb_metrics_server_process(m));
		while ((n = read(fd, buf + got, size - 1 - got)) > 0)
			got += n;
		if (n == 0)
			break;
		assert_true(errno == EAGAIN);
	}
	assert_int_equal(n, 0); /* the server closed the connection (HTTP/1.0) */
	close(fd);
	return buf;
}

static void test_http(void **state)
{
	struct lb_metrics_server *m;
	struct lb_err err = { "" };
	int calls = 0;
	char *r;

	(void)state;
	m = lb_metrics_server_new(htonl(INADDR_LOOPBACK), 0, collect_realistic, &calls, &err);
	if (!m)
		fail_msg("%s", err.msg);
	assert_true(lb_metrics_server_port(m) > 0);
	assert_true(lb_metrics_server_fd(m) >= 0);

	r = http_request(m, "GET /metrics HTTP/1.0\r\n\r\n");
	assert_int_equal(strncmp(r, "HTTP/1.1 200 OK\r\n", 17), 0);
	assert_non_null(strstr(r, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
	assert_non_null(strstr(r, "\r\n\r\n# HELP udplb_vip_packets_total "));
	assert_non_null(strstr(r, "\nudplb_generation 17\n"));
	assert_int_equal(calls, 1);
	free(r);

	r = http_request(m, "GET /other HTTP/1.0\r\n\r\n");
	assert_int_equal(strncmp(r, "HTTP/1.1 404 Not Found\r\n", 24), 0);
	free(r);
	r = http_request(m, "DELETE /metrics HTTP/1.0\r\n\r\n");
	assert_int_equal(strncmp(r, "HTTP/1.1 405 ", 13), 0);
	free(r);
	assert_int_equal(calls, 1);
	lb_metrics_server_free(m);
}

static int collect_fails(void *ctx, struct lb_metrics_snapshot *s)
{
	(void)ctx;
	(void)s;
	return -EIO;
}

/* The daemon cannot collect: 500, not an empty text a scraper would take for a reset. */
static void test_http_collect_error(void **state)
{
	struct lb_metrics_server *m;
	struct lb_err err = { "" };
	char *r;

	(void)state;
	m = lb_metrics_server_new(htonl(INADDR_LOOPBACK), 0, collect_fails, NULL, &err);
	assert_non_null(m);
	r = http_request(m, "GET /metrics HTTP/1.0\r\n\r\n");
	assert_int_equal(strncmp(r, "HTTP/1.1 500 ", 13), 0);
	free(r);
	lb_metrics_server_free(m);
}

/* The port in use: the error names the address. */
static void test_listen_error(void **state)
{
	struct lb_metrics_server *m, *m2;
	struct lb_err err = { "" };
	int calls = 0;

	(void)state;
	m = lb_metrics_server_new(htonl(INADDR_LOOPBACK), 0, collect_realistic, &calls, &err);
	assert_non_null(m);
	m2 = lb_metrics_server_new(htonl(INADDR_LOOPBACK), htons(lb_metrics_server_port(m)),
				   collect_realistic, &calls, &err);
	assert_null(m2);
	assert_int_equal(errno, EADDRINUSE);
	assert_non_null(strstr(err.msg, "metrics: listen on 127.0.0.1:"));
	lb_metrics_server_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_snapshot),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_promtool),
		cmocka_unit_test(test_http),
		cmocka_unit_test(test_listen_error),
		cmocka_unit_test(test_http_collect_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
