// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * udp_client - traffic generator and checker of the udplb end-to-end tests.
 *
 * Usage: udp_client VIP:PORT --flows F --rate PPS --duration SEC [--log FILE]
 *                   [--sport-base PORT] [--drain MS] [--size BYTES]
 *
 * Opens F UDP sockets (F flows: distinct source ports, chosen by the kernel or PORT, PORT+1, ...
 * with --sport-base) and sends, round-robin over the flows, PPS datagrams per second for SEC
 * seconds. Datagram k carries "UE <flow> <k> <send_ns>" (send_ns: CLOCK_MONOTONIC, the same clock
 * as `e2e_clock`), padded to --size bytes. Every reply (from udp_echo: "<backend> <request>") is
 * checked: it must come from VIP:PORT, on the socket of its flow, for a datagram that was sent. At
 * the end (SEC elapsed, or SIGTERM/SIGINT) it waits --drain ms (default 500) for late replies, then
 * prints a JSON summary on stdout:
 *
 *   {"target", "flow_count", "rate", "duration", "elapsed_s",
 *    "sent", "received", "lost", "duplicates", "bad_source", "bad_payload", "send_errors",
 *    "backends": {NAME: replies, ...},
 *    "flows_changed": N, "changed": true|false,
 *    "flows": [{"flow", "sport", "backend" (first), "last", "changes", "sent", "received"}, ...]}
 *
 * With --log FILE, one line per valid reply: "seq send_ns flow backend".
 *
 * Exit status: 0 when the run completed (whatever it measured: the caller judges), 1 on a setup
 * error, 2 on a usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FLOWS 4096
#define MAX_RATE 1000000
#define MAX_DURATION_S 3600.0
#define MAX_DATAGRAMS 100000000ULL
#define MAX_BACKENDS 64
#define MAX_NAME 32
#define MAX_PAYLOAD 1400
#define MIN_PAYLOAD 64

struct flow {
	int fd;
	unsigned int sport;
	int first; /* backend index of the first reply, -1 before */
	int last;  /* backend index of the latest reply */
	unsigned long changes;
	unsigned long long sent;
	unsigned long long received;
};

struct opts {
	struct sockaddr_in target;
	unsigned int flows;
	unsigned int rate;
	double duration;
	const char *log_path;
	unsigned int sport_base;
	unsigned int drain_ms;
	unsigned int size;
};

struct stats {
	unsigned long long sent;
	unsigned long long received;
	unsigned long long duplicates;
	unsigned long long bad_source;
	unsigned long long bad_payload;
	unsigned long long send_errors;
	int last_send_errno;
};

static volatile sig_atomic_t stop;

static struct flow flows[MAX_FLOWS];
static char backend_names[MAX_BACKENDS][MAX_NAME + 1];
static unsigned long long backend_counts[MAX_BACKENDS];
static unsigned int nbackends;
static unsigned long long backend_overflow;
static uint8_t *seen; /* bitmap: reply received for seq */
static unsigned long long max_seq;
static struct stats st;
static FILE *logf;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void usage(void)
{
	fprintf(stderr, "usage: udp_client VIP:PORT --flows F --rate PPS --duration SEC "
			"[--log FILE] [--sport-base PORT] [--drain MS] [--size BYTES]\n");
}

static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned int *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = (unsigned int)v;
	return 0;
}

static int parse_target(const char *s, struct sockaddr_in *sin)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	unsigned int port;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		return -1;
	if (parse_uint(colon + 1, 1, 65535, &port))
		return -1;
	sin->sin_port = htons((uint16_t)port);
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	bool have_flows = false, have_rate = false, have_duration = false;
	char *end;
	int i;

	memset(o, 0, sizeof(*o));
	o->drain_ms = 500;
	o->size = MIN_PAYLOAD;
	if (argc < 2 || parse_target(argv[1], &o->target)) {
		fprintf(stderr, "udp_client: expected VIP:PORT (IPv4) as first argument\n");
		return -1;
	}
	for (i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int bad = 0;

		if (!v) {
			fprintf(stderr, "udp_client: %s needs a value\n", a);
			return -1;
		}
		if (!strcmp(a, "--flows")) {
			bad = parse_uint(v, 1, MAX_FLOWS, &o->flows);
			have_flows = true;
		} else if (!strcmp(a, "--rate")) {
			bad = parse_uint(v, 1, MAX_RATE, &o->rate);
			have_rate = true;
		} else if (!strcmp(a, "--duration")) {
			errno = 0;
			o->duration = strtod(v, &end);
			bad = errno || end == v || *end || !(o->duration > 0) ||
			      o->duration > MAX_DURATION_S;
			have_duration = true;
		} else if (!strcmp(a, "--log")) {
			o->log_path = v;
		} else if (!strcmp(a, "--sport-base")) {
			bad = parse_uint(v, 1, 65535, &o->sport_base);
		} else if (!strcmp(a, "--drain")) {
			bad = parse_uint(v, 0, 60000, &o->drain_ms);
		} else if (!strcmp(a, "--size")) {
			bad = parse_uint(v, MIN_PAYLOAD, MAX_PAYLOAD, &o->size);
		} else {
			fprintf(stderr, "udp_client: unknown option %s\n", a);
			return -1;
		}
		if (bad) {
			fprintf(stderr, "udp_client: bad value '%s' for %s\n", v, a);
			return -1;
		}
		i++;
	}
	if (!have_flows || !have_rate || !have_duration) {
		fprintf(stderr, "udp_client: --flows, --rate and --duration are required\n");
		return -1;
	}
	if (o->sport_base && o->sport_base + o->flows - 1 > 65535) {
		fprintf(stderr, "udp_client: --sport-base + --flows exceeds port 65535\n");
		return -1;
	}
	if ((double)o->rate * o->duration > (double)MAX_DATAGRAMS) {
		fprintf(stderr, "udp_client: more than %llu datagrams requested\n", MAX_DATAGRAMS);
		return -1;
	}
	return 0;
}

static int open_flows(const struct opts *o, int epfd)
{
	struct epoll_event ev;
	struct sockaddr_in sin;
	socklen_t len;
	int buf = 1 << 20;
	unsigned int i;

	for (i = 0; i < o->flows; i++) {
		struct flow *f = &flows[i];

		f->first = -1;
		f->last = -1;
		f->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (f->fd < 0) {
			perror("udp_client: socket");
			return -1;
		}
		setsockopt(f->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_ANY);
		sin.sin_port = htons((uint16_t)(o->sport_base ? o->sport_base + i : 0));
		if (bind(f->fd, (struct sockaddr *)&sin, sizeof(sin))) {
			fprintf(stderr, "udp_client: bind port %u: %s\n", ntohs(sin.sin_port),
				strerror(errno));
			return -1;
		}
		len = sizeof(sin);
		if (getsockname(f->fd, (struct sockaddr *)&sin, &len)) {
			perror("udp_client: getsockname");
			return -1;
		}
		f->sport = ntohs(sin.sin_port);
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.u32 = i;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, f->fd, &ev)) {
			perror("udp_client: epoll_ctl");
			return -1;
		}
	}
	return 0;
}

static void send_one(const struct opts *o, unsigned long long seq)
{
	unsigned int fi = (unsigned int)(seq % o->flows);
	char payload[MAX_PAYLOAD];
	uint64_t t = now_ns();
	int n;

	n = snprintf(payload, sizeof(payload), "UE %u %llu %" PRIu64, fi, seq, t);
	/* Pad to --size: the echo returns the payload byte for byte. */
	if ((unsigned int)n < o->size)
		memset(payload + n, '.', o->size - (unsigned int)n);
	if (sendto(flows[fi].fd, payload, o->size, MSG_DONTWAIT,
		   (const struct sockaddr *)&o->target, sizeof(o->target)) != (ssize_t)o->size) {
		st.send_errors++;
		st.last_send_errno = errno;
		return;
	}
	flows[fi].sent++;
	st.sent++;
}

static int backend_index(const char *name)
{
	unsigned int i;

	for (i = 0; i < nbackends; i++) {
		if (!strcmp(backend_names[i], name))
			return (int)i;
	}
	if (nbackends == MAX_BACKENDS)
		return -1;
	snprintf(backend_names[nbackends], sizeof(backend_names[0]), "%s", name);
	return (int)nbackends++;
}

/* Check and account one reply received on flow @fi. */
static void handle_reply(const struct opts *o, unsigned int fi, char *buf, ssize_t len,
			 const struct sockaddr_in *from)
{
	char name[MAX_NAME + 1];
	unsigned long long seq, send_ns;
	unsigned int flow;
	struct flow *f = &flows[fi];
	int bi;

	if (from->sin_family != AF_INET || from->sin_addr.s_addr != o->target.sin_addr.s_addr ||
	    from->sin_port != o->target.sin_port) {
		st.bad_source++;
		return;
	}
	buf[len] = '\0';
	if (sscanf(buf, "%32s UE %u %llu %llu", name, &flow, &seq, &send_ns) != 4 || flow != fi ||
	    seq >= max_seq || seq % o->flows != fi) {
		st.bad_payload++;
		return;
	}
	if (seen[seq / 8] & (1U << (seq % 8))) {
		st.duplicates++;
		return;
	}
	seen[seq / 8] |= (uint8_t)(1U << (seq % 8));
	st.received++;
	f->received++;

	bi = backend_index(name);
	if (bi < 0) {
		backend_overflow++;
	} else {
		backend_counts[bi]++;
		if (f->first < 0)
			f->first = bi;
		else if (bi != f->last)
			f->changes++;
		f->last = bi;
	}
	if (logf)
		fprintf(logf, "%llu %llu %u %s\n", seq, send_ns, fi, name);
}

static void drain_socket(const struct opts *o, unsigned int fi)
{
	char buf[MAX_NAME + 2 + MAX_PAYLOAD + 1];
	struct sockaddr_in from;
	socklen_t flen;
	ssize_t n;
	int i;

	/* Bounded, so one busy socket cannot starve the sender. */
	for (i = 0; i < 64; i++) {
		flen = sizeof(from);
		n = recvfrom(flows[fi].fd, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&from,
			     &flen);
		if (n < 0)
			return;
		handle_reply(o, fi, buf, n, &from);
	}
}

static void poll_replies(const struct opts *o, int epfd, int timeout_ms)
{
	struct epoll_event evs[64];
	int n, i;

	n = epoll_wait(epfd, evs, 64, timeout_ms);
	for (i = 0; i < n; i++)
		drain_socket(o, evs[i].data.u32);
}

static const char *bname(int bi)
{
	return bi < 0 ? NULL : backend_names[bi];
}

static void print_json_str_or_null(const char *s)
{
	if (s)
		printf("\"%s\"", s);
	else
		printf("null");
}

static void print_summary(const struct opts *o, double elapsed)
{
	char addr[INET_ADDRSTRLEN];
	unsigned int i, changed = 0;

	for (i = 0; i < o->flows; i++)
		changed += flows[i].changes > 0;
	inet_ntop(AF_INET, &o->target.sin_addr, addr, sizeof(addr));
	printf("{\"target\": \"%s:%u\", \"flow_count\": %u, \"rate\": %u, \"duration\": %.3f, "
	       "\"elapsed_s\": %.3f,\n",
	       addr, ntohs(o->target.sin_port), o->flows, o->rate, o->duration, elapsed);
	printf(" \"sent\": %llu, \"received\": %llu, \"lost\": %llu, \"duplicates\": %llu, "
	       "\"bad_source\": %llu, \"bad_payload\": %llu, \"send_errors\": %llu, "
	       "\"last_send_error\": \"%s\", \"backend_overflow\": %llu,\n",
	       st.sent, st.received, st.sent - st.received, st.duplicates, st.bad_source,
	       st.bad_payload, st.send_errors, st.send_errors ? strerror(st.last_send_errno) : "",
	       backend_overflow);
	printf(" \"backends\": {");
	for (i = 0; i < nbackends; i++)
		printf("%s\"%s\": %llu", i ? ", " : "", backend_names[i], backend_counts[i]);
	printf("},\n \"flows_changed\": %u, \"changed\": %s,\n \"flows\": [\n", changed,
	       changed ? "true" : "false");
	for (i = 0; i < o->flows; i++) {
		const struct flow *f = &flows[i];

		printf("  {\"flow\": %u, \"sport\": %u, \"backend\": ", i, f->sport);
		print_json_str_or_null(bname(f->first));
		printf(", \"last\": ");
		print_json_str_or_null(bname(f->last));
		printf(", \"changes\": %lu, \"sent\": %llu, \"received\": %llu}%s\n", f->changes,
		       f->sent, f->received, i + 1 < o->flows ? "," : "");
	}
	printf(" ]}\n");
}

int main(int argc, char **argv)
{
	unsigned long long seq = 0, total;
	uint64_t t0, t_end, t_drain, now, next;
	struct sigaction sa;
	struct opts o;
	unsigned int i;
	int epfd, timeout_ms;

	if (parse_args(argc, argv, &o)) {
		usage();
		return 2;
	}
	total = (unsigned long long)((double)o.rate * o.duration);
	if (!total)
		total = 1;
	max_seq = total;
	seen = calloc(total / 8 + 1, 1);
	if (!seen) {
		perror("udp_client: calloc");
		return 1;
	}
	if (o.log_path) {
		logf = fopen(o.log_path, "we");
		if (!logf) {
			fprintf(stderr, "udp_client: %s: %s\n", o.log_path, strerror(errno));
			return 1;
		}
		setvbuf(logf, NULL, _IOFBF, 1 << 20);
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0) {
		perror("udp_client: epoll_create1");
		return 1;
	}
	if (open_flows(&o, epfd))
		return 1;

	t0 = now_ns();
	t_end = t0 + (uint64_t)(o.duration * 1e9);
	while (!stop && seq < total) {
		now = now_ns();
		if (now >= t_end)
			break;
		/* Every datagram due by now: seq k is due at t0 + k / rate. */
		while (seq < total && t0 + (uint64_t)((double)seq * 1e9 / o.rate) <= now)
			send_one(&o, seq++);
		if (seq >= total)
			break;
		next = t0 + (uint64_t)((double)seq * 1e9 / o.rate);
		now = now_ns();
		timeout_ms = next > now ? (int)((next - now) / 1000000) : 0;
		/* Sub-millisecond gaps: sleep 1 ms and send the small burst then. */
		if (next > now && timeout_ms == 0)
			timeout_ms = 1;
		poll_replies(&o, epfd, timeout_ms);
	}

	/* Late replies. */
	t_drain = now_ns() + (uint64_t)o.drain_ms * 1000000ULL;
	while (st.received < st.sent) {
		now = now_ns();
		if (now >= t_drain)
			break;
		timeout_ms = (int)((t_drain - now) / 1000000) + 1;
		poll_replies(&o, epfd, timeout_ms > 50 ? 50 : timeout_ms);
	}
	/* Whatever is queued already. */
	for (i = 0; i < o.flows; i++)
		drain_socket(&o, i);

	print_summary(&o, (double)(now_ns() - t0) / 1e9);
	if (logf && fclose(logf)) {
		perror("udp_client: log");
		return 1;
	}
	for (i = 0; i < o.flows; i++)
		close(flows[i].fd);
	close(epfd);
	free(seen);
	return 0;
}
