// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * lib/udplb/health/{udp,dns,exec}.c: one probe of each kind against responders in this process
 * on 127.0.0.1 (no privileges): replies that match or not, wildcard nibbles, length bounds, an
 * ICMP port unreachable, timeouts, DNS rcodes and answers, exec exit codes and the kill at the
 * timeout, without zombies.
 */
#include "unit_helpers.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "health/probe.h"

/* A UDP socket on 127.0.0.1 and a free port; @port gets its port. */
static int responder(__be16 *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = sin.sin_port;
	return fd;
}

/* A port nobody listens on (bound once, then closed). */
static __be16 closed_port(void)
{
	__be16 port;

	close(responder(&port));
	return port;
}

static struct lb_probe_target target(__be16 port)
{
	struct lb_probe_target t = { .addr = htonl(INADDR_LOOPBACK), .port = port };

	t.vip.addr = inet_addr("10.0.0.1");
	t.vip.port = htons(53);
	t.vip.proto = IPPROTO_UDP;
	return t;
}

static void parse_check(const char *line, struct lb_check *c)
{
	char copy[512], *words[32], *save = NULL, *w;
	struct lb_err err = { "" };
	int n = 0;

	snprintf(copy, sizeof(copy), "%s", line);
	for (w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
		words[n++] = w;
	if (lb_check_parse(words, n, c, &err))
		fail_msg("%s: %s", line, err.msg);
}

/* Receive the probe's datagram on @fd (into @buf) and return its length; @from: its sender. */
static ssize_t take(int fd, void *buf, size_t len, struct sockaddr_in *from)
{
	socklen_t flen = sizeof(*from);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	assert_int_equal(poll(&pfd, 1, 2000), 1);
	return recvfrom(fd, buf, len, 0, (struct sockaddr *)from, &flen);
}

static void answer(int fd, const void *reply, size_t len)
{
	struct sockaddr_in from;
	char buf[2048];

	assert_true(take(fd, buf, sizeof(buf), &from) >= 0);
	assert_int_equal(sendto(fd, reply, len, 0, (struct sockaddr *)&from, sizeof(from)),
			 (ssize_t)len);
}

/* Drive a started probe to its end as an event loop would: poll the fd, else the timeout. */
static void finish(struct lb_probe *p, const struct lb_check *c, struct lb_probe_result *r)
{
	__u64 deadline = p->start_ns + (__u64)c->timeout_ms * 1000000;

	while (lb_probe_busy(p)) {
		__u64 now = lb_health_now_ns();
		struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
		int wait_ms = now >= deadline ? 0 : (int)((deadline - now + 999999) / 1000000);

		if (poll(&pfd, 1, wait_ms) == 1) {
			if (lb_probe_on_readable(p, c, r) == LB_PROBE_DONE)
				return;
		} else if (lb_health_now_ns() >= deadline) {
			assert_int_equal(lb_probe_on_timeout(p, c, r), LB_PROBE_DONE);
			return;
		}
	}
}

/* One udp probe answered with @reply (NULL: no answer); returns the cause. */
static __u8 udp_probe(const char *check, const void *reply, size_t len)
{
	struct lb_probe_result r;
	struct lb_probe p;
	struct lb_check c;
	__be16 port;
	int fd = responder(&port);
	struct lb_probe_target t = target(port);

	parse_check(check, &c);
	lb_probe_init(&p);
	assert_int_equal(lb_probe_start(&p, &c, &t, &r), LB_PROBE_PENDING);
	if (reply)
		answer(fd, reply, len);
	finish(&p, &c, &r);
	assert_false(lb_probe_busy(&p));
	lb_probe_cancel(&p);
	close(fd);
	return r.cause;
}

static void test_udp_match(void **state)
{
	(void)state;
	assert_int_equal(udp_probe("udp send 68656c6c6f expect 6f6bXX min-reply 2", "ok!", 3),
			 LB_PROBE_PASS);
	assert_int_equal(udp_probe("udp send 68656c6c6f expect 6f6bXX", "no!", 3),
			 LB_PROBE_MISMATCH);
	/* Any reply will do without a pattern, even an empty one. */
	assert_int_equal(udp_probe("udp", "", 0), LB_PROBE_PASS);
	/* The pattern is a prefix: more bytes after it are fine. */
	assert_int_equal(udp_probe("udp expect 6f6b", "ok, fine", 8), LB_PROBE_PASS);
}

static void test_udp_wildcards(void **state)
{
	(void)state;
	assert_int_equal(udp_probe("udp expect 6X", "a", 1), LB_PROBE_PASS);
	assert_int_equal(udp_probe("udp expect 6X", "o", 1), LB_PROBE_PASS);
	assert_int_equal(udp_probe("udp expect 6X", "q", 1), LB_PROBE_MISMATCH);
	assert_int_equal(udp_probe("udp expect X1", "a", 1), LB_PROBE_PASS);
	assert_int_equal(udp_probe("udp expect X1", "q", 1), LB_PROBE_PASS);
	assert_int_equal(udp_probe("udp expect X1", "b", 1), LB_PROBE_MISMATCH);
	assert_int_equal(udp_probe("udp expect XXXX62", "zza", 3), LB_PROBE_MISMATCH);
	assert_int_equal(udp_probe("udp expect XXXX62", "zzb", 3), LB_PROBE_PASS);
}

static void test_udp_lengths(void **state)
{
	static char big[3000];

	(void)state;
	assert_int_equal(udp_probe("udp min-reply 5", "ok!", 3), LB_PROBE_LENGTH);
	assert_int_equal(udp_probe("udp min-reply 3", "ok!", 3), LB_PROBE_PASS);
	assert_int_equal(udp_probe("udp max-reply 2", "ok!", 3), LB_PROBE_LENGTH);
	assert_int_equal(udp_probe("udp max-reply 3", "ok!", 3), LB_PROBE_PASS);
	/* Shorter than the pattern: no match possible. */
	assert_int_equal(udp_probe("udp expect 6f6bXX", "ok", 2), LB_PROBE_LENGTH);
	/* Longer than the receive buffer: its real length counts (MSG_TRUNC). */
	memset(big, 'o', sizeof(big));
	assert_int_equal(udp_probe("udp expect 6f6f max-reply 2999", big, sizeof(big)),
			 LB_PROBE_LENGTH);
	assert_int_equal(udp_probe("udp expect 6f6f max-reply 3000", big, sizeof(big)),
			 LB_PROBE_PASS);
}

/* A closed port fails at once through the ICMP port unreachable, long before the timeout. */
static void test_udp_refused(void **state)
{
	struct lb_probe_target t = target(closed_port());
	const char *checks[] = { "udp timeout 2s", "udp expect none timeout 2s", "dns timeout 2s" };
	struct lb_probe_result r;
	struct lb_probe p;
	struct lb_check c;
	size_t i;

	(void)state;
	for (i = 0; i < UT_ARRAY_SIZE(checks); i++) {
		__u64 t0 = lb_health_now_ns();

		parse_check(checks[i], &c);
		lb_probe_init(&p);
		if (lb_probe_start(&p, &c, &t, &r) == LB_PROBE_PENDING)
			finish(&p, &c, &r);
		lb_probe_cancel(&p);
		assert_int_equal(r.cause, LB_PROBE_REFUSED);
		assert_int_equal(r.detail, ECONNREFUSED);
		assert_true(lb_health_now_ns() - t0 < 500000000ULL);
		assert_true(r.rtt_us < 500000);
	}
}

static void test_udp_timeout(void **state)
{
	__u64 t0 = lb_health_now_ns();

	(void)state;
	assert_int_equal(udp_probe("udp timeout 100ms", NULL, 0), LB_PROBE_TIMEOUT);
	assert_true(lb_health_now_ns() - t0 >= 100000000ULL);
	/* Nothing expected: silence passes. */
	assert_int_equal(udp_probe("udp expect none timeout 50ms", NULL, 0), LB_PROBE_PASS);
	assert_int_equal(udp_probe("udp expect none timeout 50ms", "x", 1), LB_PROBE_PASS);
}

/*
 * The socket is kept from probe to probe: a reply that comes after its probe timed out must not
 * pass the next probe, nor an ICMP error of an earlier one fail it.
 */
static void test_kept_socket_stale(void **state)
{
	struct sockaddr_in from;
	struct lb_probe_result r;
	struct lb_probe p;
	struct lb_check c;
	char buf[64];
	__be16 port;
	int fd = responder(&port), sock;
	struct lb_probe_target t = target(port);

	(void)state;
	parse_check("udp expect 6f6b timeout 50ms", &c);
	lb_probe_init(&p);
	assert_int_equal(lb_probe_start(&p, &c, &t, &r), LB_PROBE_PENDING);
	sock = p.sock;
	/* A new socket the caller has not added to its poll set stays "new" until it does. */
	assert_true(p.fd_new);
	assert_true(take(fd, buf, sizeof(buf), &from) >= 0);
	finish(&p, &c, &r);
	assert_int_equal(r.cause, LB_PROBE_TIMEOUT);
	/* The late answer, then a second probe the responder ignores. */
	sendto(fd, "ok", 2, 0, (struct sockaddr *)&from, sizeof(from));
	usleep(10000);
	assert_int_equal(lb_probe_start(&p, &c, &t, &r), LB_PROBE_PENDING);
	assert_int_equal(p.sock, sock);
	assert_true(p.fd_new);
	p.fd_new = false; /* as an event loop does once it polls the fd */
	finish(&p, &c, &r);
	assert_int_equal(r.cause, LB_PROBE_TIMEOUT);
	/* Between probes a readable socket is drained, not reported. */
	sendto(fd, "ok", 2, 0, (struct sockaddr *)&from, sizeof(from));
	usleep(10000);
	assert_int_equal(lb_probe_on_readable(&p, &c, &r), LB_PROBE_PENDING);
	assert_int_equal(recv(p.sock, buf, sizeof(buf), MSG_DONTWAIT), -1);
	/* A third probe that is answered passes, on the same socket, known to the loop. */
	assert_int_equal(lb_probe_start(&p, &c, &t, &r), LB_PROBE_PENDING);
	assert_false(p.fd_new);
	answer(fd, "ok", 2);
	finish(&p, &c, &r);
	assert_int_equal(r.cause, LB_PROBE_PASS);
	lb_probe_cancel(&p);
	assert_int_equal(p.sock, -1);
	close(fd);
}

/* The via-lb path is not implemented yet: it says so instead of probing the wrong path. */
static void test_via_lb_unsupported(void **state)
{
	struct lb_probe_target t = target(htons(9));
	struct lb_probe_result r;
	struct lb_probe p;
	struct lb_check c;

	(void)state;
	parse_check("udp path via-lb", &c);
	lb_probe_init(&p);
	assert_int_equal(lb_probe_start(&p, &c, &t, &r), LB_PROBE_DONE);
	assert_int_equal(r.cause, LB_PROBE_ERROR);
	assert_int_equal(r.detail, EOPNOTSUPP);
	parse_check("none", &c);
	assert_int_equal(lb_probe_start(&p, &c, &t, &r), LB_PROBE_DONE);
	assert_int_equal(r.cause, LB_PROBE_PASS);
}

static void test_dns_query_build(void **state)
{
	static const __u8 want[] = "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
				   "\x06health\x07"
				   "example\x00\x00\x01\x00\x01";
	__u8 buf[LB_DNS_QUERY_MAX], buf2[LB_DNS_QUERY_MAX];

	(void)state;
	assert_int_equal(lb_dns_query_build(buf, sizeof(buf), 0x1234, "health.example.", 1), 32);
	assert_memory_equal(buf, want, 32);
	assert_int_equal(lb_dns_query_build(buf2, sizeof(buf2), 0x1234, "health.example", 1), 32);
	assert_memory_equal(buf2, want, 32);
	assert_int_equal(lb_dns_query_build(buf, sizeof(buf), 1, ".", 6), 17);
	assert_memory_equal(buf + 12, "\x00\x00\x06\x00\x01", 5);
	assert_int_equal(lb_dns_query_build(buf, sizeof(buf), 1, "a..b", 1), -EINVAL);
	assert_int_equal(lb_dns_query_build(buf, 20, 1, "health.example.", 1), -ENOSPC);
}

enum dns_mangle { DNS_AS_IS, DNS_WRONG_ID, DNS_WRONG_QUESTION, DNS_UPPER_CASE };

/* Answer the DNS query waiting on @fd: @rcode, @ancount A records, maybe mangled. */
static void dns_answer(int fd, int rcode, int ancount, enum dns_mangle mangle)
{
	static const __u8 rr[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1 };
	struct sockaddr_in from;
	__u8 buf[1500];
	ssize_t n = take(fd, buf, sizeof(buf), &from);
	int i;

	assert_true(n > 12);
	buf[2] |= 0x80; /* QR */
	buf[3] = (__u8)(0x80 | rcode);
	buf[7] = (__u8)ancount;
	for (i = 0; i < ancount; i++, n += sizeof(rr))
		memcpy(buf + n, rr, sizeof(rr));
	if (mangle == DNS_WRONG_ID)
		buf[0] ^= 0xff;
	if (mangle == DNS_WRONG_QUESTION)
		buf[13] ^= 0x01; /* first letter of the name */
	if (mangle == DNS_UPPER_CASE)
		buf[13] &= (__u8)~0x20;
	assert_int_equal(sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, sizeof(from)), n);
}

/* One dns probe; replies: @n entries of (rcode, ancount, mangle). Returns the result. */
static struct lb_probe_result dns_probe(const char *check, int nr, const int (*replies)[3])
{
	struct lb_probe_result r;
	struct lb_probe p;
	struct lb_check c;
	__be16 port;
	int fd = responder(&port), i;
	struct lb_probe_target t = target(port);

	parse_check(check, &c);
	lb_probe_init(&p);
	assert_int_equal(lb_probe_start(&p, &c, &t, &r), LB_PROBE_PENDING);
	for (i = 0; i < nr; i++) {
		/* Each reply answers the probe's one query: send the same query again to us. */
		if (i > 0)
			assert_int_equal(send(p.fd, p.query, p.query_len, 0), p.query_len);
		dns_answer(fd, replies[i][0], replies[i][1], (enum dns_mangle)replies[i][2]);
	}
	finish(&p, &c, &r);
	lb_probe_cancel(&p);
	close(fd);
	return r;
}

static void test_dns(void **state)
{
	static const int answer1[][3] = { { 0, 1, DNS_AS_IS } };
	static const int answer0[][3] = { { 0, 0, DNS_AS_IS } };
	static const int nxdomain[][3] = { { 3, 0, DNS_AS_IS } };
	static const int servfail[][3] = { { 2, 0, DNS_AS_IS } };
	static const int upper[][3] = { { 0, 2, DNS_UPPER_CASE } };
	static const int bad_then_good[][3] = { { 0, 1, DNS_WRONG_ID },
						{ 0, 1, DNS_WRONG_QUESTION },
						{ 0, 1, DNS_AS_IS } };
	static const int only_bad[][3] = { { 0, 1, DNS_WRONG_ID } };
	const char *chk = "dns name health.example. type A timeout 300ms";
	struct lb_probe_result r;

	(void)state;
	assert_int_equal(dns_probe(chk, 1, answer1).cause, LB_PROBE_PASS);
	assert_int_equal(dns_probe(chk, 1, answer0).cause, LB_PROBE_NOANSWER);
	r = dns_probe(chk, 1, nxdomain);
	assert_int_equal(r.cause, LB_PROBE_RCODE);
	assert_int_equal(r.detail, 3);
	assert_int_equal(dns_probe(chk, 1, upper).cause, LB_PROBE_PASS);
	/* Replies to another id or question are skipped; the real answer still counts. */
	assert_int_equal(dns_probe(chk, 3, bad_then_good).cause, LB_PROBE_PASS);
	assert_int_equal(dns_probe(chk, 1, only_bad).cause, LB_PROBE_TIMEOUT);
	/* A given rcode: that one passes, without answers; another fails. */
	assert_int_equal(dns_probe("dns name nx.example. rcode NXDOMAIN", 1, nxdomain).cause,
			 LB_PROBE_PASS);
	r = dns_probe("dns name nx.example. rcode NXDOMAIN", 1, servfail);
	assert_int_equal(r.cause, LB_PROBE_RCODE);
	assert_int_equal(r.detail, 2);
	assert_int_equal(dns_probe("dns rcode NOERROR", 1, answer0).cause, LB_PROBE_PASS);
	/* The default: SOA of the root. */
	assert_int_equal(dns_probe("dns", 1, answer1).cause, LB_PROBE_PASS);
	assert_int_equal(dns_probe("dns timeout 50ms", 0, NULL).cause, LB_PROBE_TIMEOUT);
}

static char script_dir[64];

static void script(const char *name, const char *body, char *path, size_t len)
{
	FILE *f;

	snprintf(path, len, "%s/%s", script_dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	assert_int_equal(chmod(path, 0755), 0);
}

static struct lb_probe_result exec_probe(const char *path, __u32 timeout_ms)
{
	struct lb_probe_target t = target(htons(5353));
	struct lb_probe_result r;
	struct lb_probe p;
	struct lb_check c;

	lb_check_defaults(&c);
	c.kind = LB_CHECK_EXEC;
	c.timeout_ms = timeout_ms;
	snprintf(c.exec.cmd, sizeof(c.exec.cmd), "%s", path);
	lb_probe_init(&p);
	if (lb_probe_start(&p, &c, &t, &r) == LB_PROBE_PENDING)
		finish(&p, &c, &r);
	assert_false(lb_probe_busy(&p));
	return r;
}

/* No child of ours is left, not even a zombie. */
static void assert_no_children(void)
{
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/* A process is gone (or a zombie its new parent has yet to reap). */
static bool process_gone(pid_t pid)
{
	char path[64], stat[256];
	FILE *f;
	int i;

	for (i = 0; i < 100; i++) {
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		f = fopen(path, "r");
		if (!f)
			return true;
		if (!fgets(stat, sizeof(stat), f))
			stat[0] = '\0';
		fclose(f);
		if (strstr(stat, ") Z "))
			return true;
		usleep(10000);
	}
	return false;
}

static void test_exec(void **state)
{
	char path[128], pidfile[128];
	struct lb_probe_result r;
	__u64 t0;
	FILE *f;
	int bg = 0;

	(void)state;
	script("env.sh",
	       "[ \"$UDPLB_BACKEND_ADDR\" = 127.0.0.1 ] && [ \"$UDPLB_BACKEND_PORT\" = 5353 ] &&"
	       " [ \"$UDPLB_VIP\" = 10.0.0.1 ] && [ \"$UDPLB_VIP_PORT\" = 53 ] || exit 3",
	       path, sizeof(path));
	r = exec_probe(path, 2000);
	assert_int_equal(r.cause, LB_PROBE_PASS);
	script("fail.sh", "exit 7", path, sizeof(path));
	r = exec_probe(path, 2000);
	assert_int_equal(r.cause, LB_PROBE_EXIT);
	assert_int_equal(r.detail, 7);
	script("term.sh", "kill -TERM $$", path, sizeof(path));
	r = exec_probe(path, 2000);
	assert_int_equal(r.cause, LB_PROBE_KILLED);
	assert_int_equal(r.detail, SIGTERM);
	r = exec_probe("/nonexistent/probe", 2000);
	assert_int_equal(r.cause, LB_PROBE_ERROR);
	assert_int_equal(r.detail, ENOENT);

	/* Killed at the timeout, with what it started in the background. */
	snprintf(pidfile, sizeof(pidfile), "%s/bg.pid", script_dir);
	script("slow.sh", "sleep 30 & echo $! > \"$(dirname \"$0\")/bg.pid\"; sleep 30", path,
	       sizeof(path));
	t0 = lb_health_now_ns();
	r = exec_probe(path, 200);
	assert_int_equal(r.cause, LB_PROBE_TIMEOUT);
	assert_int_equal(r.detail, SIGKILL);
	assert_true(lb_health_now_ns() - t0 < 1000000000ULL);
	f = fopen(pidfile, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &bg), 1);
	fclose(f);
	assert_true(process_gone(bg));
	assert_no_children();
}

static int setup(void **state)
{
	(void)state;
	snprintf(script_dir, sizeof(script_dir), "/tmp/udplb-health-XXXXXX");
	return mkdtemp(script_dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", script_dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp_match),
		cmocka_unit_test(test_udp_wildcards),
		cmocka_unit_test(test_udp_lengths),
		cmocka_unit_test(test_udp_refused),
		cmocka_unit_test(test_udp_timeout),
		cmocka_unit_test(test_via_lb_unsupported),
		cmocka_unit_test(test_kept_socket_stale),
		cmocka_unit_test(test_dns_query_build),
		cmocka_unit_test(test_dns),
		cmocka_unit_test(test_exec),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
