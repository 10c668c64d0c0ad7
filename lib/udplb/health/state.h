/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One target's health: the result of each probe, and the rise/fall counting that turns results
 * into an up/down state. A down target comes up after `rise` consecutive passes, an up target
 * goes down after `fall` consecutive failures; anything else only moves the counters, so a
 * backend flapping faster than rise/fall never changes state (damping).
 */
#ifndef __UDPLB_HEALTH_STATE_H
#define __UDPLB_HEALTH_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "check.h"

/* Why a probe failed (for "check failures by cause"). */
enum lb_probe_cause {
	LB_PROBE_PASS = 0,
	LB_PROBE_TIMEOUT,  /* no (acceptable) answer in time; exec: killed (detail SIGKILL) */
	LB_PROBE_REFUSED,  /* ICMP port unreachable (ECONNREFUSED) */
	LB_PROBE_MISMATCH, /* udp: the reply does not match the pattern */
	LB_PROBE_LENGTH,   /* udp: the reply is shorter than min-reply or longer than max-reply */
	LB_PROBE_RCODE,	   /* dns: another rcode than expected (detail: the rcode) */
	LB_PROBE_NOANSWER, /* dns: NOERROR without an answer record */
	LB_PROBE_EXIT,	   /* exec: nonzero exit (detail: the status) */
	LB_PROBE_KILLED,   /* exec: killed by a signal not ours (detail: the signal) */
	LB_PROBE_ERROR,	   /* a local error: socket, send, spawn (detail: the errno) */
	__LB_PROBE_CAUSE_MAX,
};

extern const struct lb_names lb_probe_cause_names; /* pass, timeout, refused, ... */

struct lb_probe_result {
	__u8 cause;   /* enum lb_probe_cause */
	int detail;   /* rcode, exit status, signal or errno as the cause says; else 0 */
	__u32 rtt_us; /* from the probe's start to its completion */
};

struct lb_health {
	__u8 state;			   /* enum lb_health_state */
	__u32 passes;			   /* consecutive passes (0 after a failure) */
	__u32 fails;			   /* consecutive failures (0 after a pass) */
	__u64 probes;			   /* probes completed */
	__u64 transitions;		   /* state changes */
	struct lb_probe_result last;	   /* the last probe's result */
	struct lb_probe_result last_error; /* the last failure (cause PASS: none yet) */
};

/*
 * One probe result as text for logs and status: "pass", "timeout", "refused", "mismatch",
 * "length", "rcode NXDOMAIN", "no-answer", "exit 7", "killed SIGTERM", "error: <strerror>"
 * (a timeout with a detail: "timeout, killed"). Returns @buf (always NUL-terminated).
 */
#define LB_PROBE_RESULT_STRLEN 80
const char *lb_probe_result_fmt(const struct lb_probe_result *r, char *buf, size_t len);

/* Start from the check's initial state, counters zero. */
void lb_health_init(struct lb_health *h, const struct lb_check *c);

/* Count one probe result. Returns true when the state changed (then h->state is the new one). */
bool lb_health_update(struct lb_health *h, const struct lb_check *c,
		      const struct lb_probe_result *r);

#endif /* __UDPLB_HEALTH_STATE_H */
