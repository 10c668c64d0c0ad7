// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Rise/fall counting of probe results into a target's up/down state. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "state.h"

static const struct lb_name cause_table[] = {
	{ LB_PROBE_PASS, "pass" },	    { LB_PROBE_TIMEOUT, "timeout" },
	{ LB_PROBE_REFUSED, "refused" },    { LB_PROBE_MISMATCH, "mismatch" },
	{ LB_PROBE_LENGTH, "length" },	    { LB_PROBE_RCODE, "rcode" },
	{ LB_PROBE_NOANSWER, "no-answer" }, { LB_PROBE_EXIT, "exit" },
	{ LB_PROBE_KILLED, "killed" },	    { LB_PROBE_ERROR, "error" },
};

const struct lb_names lb_probe_cause_names = {
	.what = "probe result",
	.names = cause_table,
	.nr = sizeof(cause_table) / sizeof(cause_table[0]),
};

const char *lb_probe_result_fmt(const struct lb_probe_result *r, char *buf, size_t len)
{
	char name[LB_NAME_STRLEN];
	const char *cause = lb_name_fmt(&lb_probe_cause_names, r->cause, name, sizeof(name));
	const char *sig;

	switch (r->cause) {
	case LB_PROBE_RCODE:
		snprintf(buf, len, "rcode %s",
			 lb_name_fmt(&lb_dns_rcode_names, (__u32)r->detail, name, sizeof(name)));
		break;
	case LB_PROBE_EXIT:
		snprintf(buf, len, "exit %d", r->detail);
		break;
	case LB_PROBE_KILLED:
		sig = sigabbrev_np(r->detail);
		if (sig)
			snprintf(buf, len, "killed SIG%s", sig);
		else
			snprintf(buf, len, "killed signal %d", r->detail);
		break;
	case LB_PROBE_ERROR:
		snprintf(buf, len, "error: %s", strerror(r->detail));
		break;
	case LB_PROBE_TIMEOUT:
		snprintf(buf, len, "%s", r->detail ? "timeout, killed" : "timeout");
		break;
	default:
		snprintf(buf, len, "%s", cause);
	}
	return buf;
}

void lb_health_init(struct lb_health *h, const struct lb_check *c)
{
	memset(h, 0, sizeof(*h));
	h->state = c->initial == LB_HEALTH_UP ? LB_HEALTH_UP : LB_HEALTH_DOWN;
}

/* Saturating: a backend up for years does not wrap around to "0 passes". */
static __u32 bump(__u32 v)
{
	return v == UINT32_MAX ? v : v + 1;
}

bool lb_health_update(struct lb_health *h, const struct lb_check *c,
		      const struct lb_probe_result *r)
{
	__u8 old = h->state;

	h->probes++;
	h->last = *r;
	if (r->cause == LB_PROBE_PASS) {
		h->passes = bump(h->passes);
		h->fails = 0;
		if (h->state == LB_HEALTH_DOWN && h->passes >= c->rise)
			h->state = LB_HEALTH_UP;
	} else {
		h->last_error = *r;
		h->fails = bump(h->fails);
		h->passes = 0;
		if (h->state == LB_HEALTH_UP && h->fails >= c->fall)
			h->state = LB_HEALTH_DOWN;
	}
	if (h->state == old)
		return false;
	h->transitions++;
	return true;
}
