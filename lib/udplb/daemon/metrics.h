/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * udplbd's Prometheus metrics: the text exposition format 0.0.4 written from a plain snapshot the
 * daemon fills (metrics.c), and the HTTP endpoint serving it (metrics_http.c, libmicrohttpd in
 * external-poll mode: no thread, the daemon's epoll loop polls one fd and calls
 * lb_metrics_server_process()).
 *
 * The families, in the order they are written (labels in braces):
 *   udplb_vip_packets_total{vip}                         counter
 *   udplb_vip_bytes_total{vip}                           counter
 *   udplb_backend_packets_total{vip,backend}             counter
 *   udplb_backend_bytes_total{vip,backend}               counter
 *   udplb_backend_healthy{vip,backend}                   gauge, 1 healthy, 0 not
 *   udplb_backend_transitions_total{vip,backend}         counter (checked backends only)
 *   udplb_probe_failures_total{vip,backend,cause}        counter (checked backends only)
 *   udplb_probe_duration_seconds{vip,backend}            histogram (checked backends only)
 *   udplb_reason_packets_total{reason}                   counter (enum udplb_reason)
 *   udplb_generation                                     gauge
 *   udplb_commits_total                                  counter
 *   udplb_commit_duration_seconds                        summary (_sum and _count)
 *   udplb_grace_period_wait_seconds                      summary (_sum and _count)
 *   udplb_config_reloads_total{result="ok"|"invalid"}    counter
 * A family without any sample (no VIP, no checked backend) is left out entirely.
 */
#ifndef __UDPLB_DAEMON_METRICS_H
#define __UDPLB_DAEMON_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "health/state.h"
#include "lb.h"
#include "udplb_shared.h"

/* Upper bounds of the probe latency buckets, microseconds (0.5 ms .. 2.5 s; then +Inf). */
#define LB_METRICS_RTT_BUCKETS 12
extern const __u32 lb_metrics_rtt_bounds_us[LB_METRICS_RTT_BUCKETS];

/* A latency histogram the daemon keeps per checked backend. */
struct lb_metrics_histogram {
	/* Per bucket, NOT cumulative: bucket i counts bound[i-1] < x <= bound[i]. */
	__u64 buckets[LB_METRICS_RTT_BUCKETS];
	__u64 count; /* every observation, also those above the last bound */
	__u64 sum_us;
};

/* Count one observation of @us microseconds. */
void lb_metrics_histogram_observe(struct lb_metrics_histogram *h, __u64 us);

/* A duration written as a summary without quantiles (NAME_sum seconds, NAME_count). */
struct lb_metrics_duration {
	__u64 count;
	__u64 sum_us;
};

struct lb_metrics_vip {
	const char *name; /* label vip: "10.0.0.1:53" */
	__u64 packets;	  /* summed over CPUs by the caller */
	__u64 bytes;
};

struct lb_metrics_backend {
	const char *vip;  /* label vip (the VIP's name) */
	const char *addr; /* label backend: "10.0.1.1:53" */
	__u64 packets;	  /* summed over CPUs by the caller */
	__u64 bytes;
	bool healthy; /* counts as healthy (a backend without check: true) */
	bool checked; /* has a health check: the transition/failure/latency series exist */
	__u64 transitions;
	__u64 failures[__LB_PROBE_CAUSE_MAX]; /* by enum lb_probe_cause; [LB_PROBE_PASS] unused */
	struct lb_metrics_histogram rtt;      /* probe latency */
};

struct lb_metrics_snapshot {
	const struct lb_metrics_vip *vips;
	size_t nr_vips;
	const struct lb_metrics_backend *backends;
	size_t nr_backends;
	__u64 reasons[__UDPLB_R_MAX];	   /* packets by enum udplb_reason, summed over CPUs */
	__u64 generation;		   /* the group's generation (flips so far) */
	__u64 commits;			   /* transactions the daemon committed */
	struct lb_metrics_duration commit; /* each commit, start to flip */
	struct lb_metrics_duration grace;  /* each grace-period wait */
	__u64 reloads_ok;		   /* SIGHUP reloads applied */
	__u64 reloads_invalid;		   /* SIGHUP reloads refused (invalid file) */
};

/*
 * Write @s as Prometheus text (format 0.0.4) into a new malloc'd NUL-terminated buffer: *@text
 * (free() it) of *@len bytes (without the NUL). Label values are escaped (\\, \", \n).
 * Returns 0, or -ENOMEM (then *@text is NULL).
 */
int lb_metrics_format(const struct lb_metrics_snapshot *s, char **text, size_t *len);

/* The HTTP endpoint. */
struct lb_metrics_server;

/*
 * Called for each GET /metrics: fill @s (zeroed before the call). The arrays it points to stay
 * owned by the callee and need only live until the callback's caller returns (the text is
 * formatted at once). Return 0, or a negative errno to answer 500.
 */
typedef int (*lb_metrics_collect_fn)(void *ctx, struct lb_metrics_snapshot *s);

/*
 * Listen on @addr:@port (network order; port 0: an ephemeral one, see
 * lb_metrics_server_port()). No thread: poll lb_metrics_server_fd() for EPOLLIN in the caller's
 * loop and call lb_metrics_server_process() when it is readable, and at the latest after
 * lb_metrics_server_timeout_ms(). NULL with errno set and @err filled on failure.
 */
struct lb_metrics_server *lb_metrics_server_new(__be32 addr, __be16 port,
						lb_metrics_collect_fn collect, void *ctx,
						struct lb_err *err);
/* Stop listening, close every connection. NULL is a no-op. */
void lb_metrics_server_free(struct lb_metrics_server *m);
/* The fd to poll for EPOLLIN (an epoll fd of libmicrohttpd's own). */
int lb_metrics_server_fd(const struct lb_metrics_server *m);
/* The bound port, host order. */
__u16 lb_metrics_server_port(const struct lb_metrics_server *m);
/* Accept, read, answer whatever is ready; never blocks. 0, or -EIO. */
int lb_metrics_server_process(struct lb_metrics_server *m);
/* Milliseconds until process() is due even without events (connection timeouts); -1: none. */
int lb_metrics_server_timeout_ms(struct lb_metrics_server *m);

#endif /* __UDPLB_DAEMON_METRICS_H */
