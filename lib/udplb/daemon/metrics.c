// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The Prometheus text exposition format (0.0.4) of udplbd's snapshot. Every family is written
 * once with its HELP and TYPE lines and all its samples together, as the format requires.
 * Seconds are written from integer microseconds with exact decimals, so the text of a given
 * snapshot is always the same.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon/metrics.h"
#include "names.h"

const __u32 lb_metrics_rtt_bounds_us[LB_METRICS_RTT_BUCKETS] = {
	500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
};

void lb_metrics_histogram_observe(struct lb_metrics_histogram *h, __u64 us)
{
	size_t i;

	for (i = 0; i < LB_METRICS_RTT_BUCKETS; i++) {
		if (us <= lb_metrics_rtt_bounds_us[i]) {
			h->buckets[i]++;
			break;
		}
	}
	h->count++;
	h->sum_us += us;
}

/* @us as seconds: "0.0025", "1", "12.5" (no trailing zeros). */
static void put_seconds(FILE *f, __u64 us)
{
	char frac[8];
	int n;

	fprintf(f, "%" PRIu64, (uint64_t)(us / 1000000));
	if (!(us % 1000000))
		return;
	snprintf(frac, sizeof(frac), "%06" PRIu64, (uint64_t)(us % 1000000));
	for (n = 6; frac[n - 1] == '0'; n--)
		frac[n - 1] = '\0';
	fprintf(f, ".%s", frac);
}

/* A label value: backslash, double quote and line feed escaped. */
static void put_label_value(FILE *f, const char *v)
{
	for (; v && *v; v++) {
		if (*v == '\\')
			fputs("\\\\", f);
		else if (*v == '"')
			fputs("\\\"", f);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void put_family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* NAME{vip="...",backend="..." (the caller closes the braces or adds labels). */
static void put_backend_labels(FILE *f, const char *name, const struct lb_metrics_backend *b)
{
	fprintf(f, "%s{vip=\"", name);
	put_label_value(f, b->vip);
	fputs("\",backend=\"", f);
	put_label_value(f, b->addr);
	fputc('"', f);
}

static void put_vips(FILE *f, const struct lb_metrics_snapshot *s)
{
	size_t i;

	if (!s->nr_vips)
		return;
	put_family(f, "udplb_vip_packets_total", "counter", "Packets forwarded for the VIP.");
	for (i = 0; i < s->nr_vips; i++) {
		fputs("udplb_vip_packets_total{vip=\"", f);
		put_label_value(f, s->vips[i].name);
		fprintf(f, "\"} %" PRIu64 "\n", (uint64_t)s->vips[i].packets);
	}
	put_family(f, "udplb_vip_bytes_total", "counter", "Bytes forwarded for the VIP.");
	for (i = 0; i < s->nr_vips; i++) {
		fputs("udplb_vip_bytes_total{vip=\"", f);
		put_label_value(f, s->vips[i].name);
		fprintf(f, "\"} %" PRIu64 "\n", (uint64_t)s->vips[i].bytes);
	}
}

enum backend_value { BV_PACKETS, BV_BYTES, BV_HEALTHY, BV_TRANSITIONS };

static __u64 backend_value(const struct lb_metrics_backend *b, enum backend_value v)
{
	switch (v) {
	case BV_PACKETS:
		return b->packets;
	case BV_BYTES:
		return b->bytes;
	case BV_HEALTHY:
		return b->healthy;
	default:
		return b->transitions;
	}
}

/* One sample per backend (with @checked_only: per checked backend), under one family. */
static void put_backend_family(FILE *f, const struct lb_metrics_snapshot *s, const char *name,
			       const char *type, const char *help, enum backend_value v,
			       bool checked_only)
{
	bool any = false;
	size_t i;

	for (i = 0; i < s->nr_backends; i++) {
		const struct lb_metrics_backend *b = &s->backends[i];

		if (checked_only && !b->checked)
			continue;
		if (!any)
			put_family(f, name, type, help);
		any = true;
		put_backend_labels(f, name, b);
		fprintf(f, "} %" PRIu64 "\n", (uint64_t)backend_value(b, v));
	}
}

static bool any_checked(const struct lb_metrics_snapshot *s)
{
	size_t i;

	for (i = 0; i < s->nr_backends; i++)
		if (s->backends[i].checked)
			return true;
	return false;
}

static void put_failures(FILE *f, const struct lb_metrics_snapshot *s)
{
	const char *name = "udplb_probe_failures_total";
	size_t i;
	__u32 c;

	put_family(f, name, "counter", "Failed health probes of the backend, by cause.");
	for (i = 0; i < s->nr_backends; i++) {
		if (!s->backends[i].checked)
			continue;
		for (c = LB_PROBE_PASS + 1; c < __LB_PROBE_CAUSE_MAX; c++) {
			put_backend_labels(f, name, &s->backends[i]);
			fprintf(f, ",cause=\"%s\"} %" PRIu64 "\n",
				lb_name(&lb_probe_cause_names, c),
				(uint64_t)s->backends[i].failures[c]);
		}
	}
}

static void put_histogram(FILE *f, const struct lb_metrics_backend *b)
{
	const char *name = "udplb_probe_duration_seconds";
	__u64 cumulative = 0;
	size_t i;

	for (i = 0; i < LB_METRICS_RTT_BUCKETS; i++) {
		cumulative += b->rtt.buckets[i];
		put_backend_labels(f, "udplb_probe_duration_seconds_bucket", b);
		fputs(",le=\"", f);
		put_seconds(f, lb_metrics_rtt_bounds_us[i]);
		fprintf(f, "\"} %" PRIu64 "\n", (uint64_t)cumulative);
	}
	put_backend_labels(f, "udplb_probe_duration_seconds_bucket", b);
	fprintf(f, ",le=\"+Inf\"} %" PRIu64 "\n", (uint64_t)b->rtt.count);
	fprintf(f, "%s_sum", name);
	put_backend_labels(f, "", b);
	fputs("} ", f);
	put_seconds(f, b->rtt.sum_us);
	fprintf(f, "\n%s_count", name);
	put_backend_labels(f, "", b);
	fprintf(f, "} %" PRIu64 "\n", (uint64_t)b->rtt.count);
}

static void put_backends(FILE *f, const struct lb_metrics_snapshot *s)
{
	size_t i;

	put_backend_family(f, s, "udplb_backend_packets_total", "counter",
			   "Packets forwarded to the backend.", BV_PACKETS, false);
	put_backend_family(f, s, "udplb_backend_bytes_total", "counter",
			   "Bytes forwarded to the backend.", BV_BYTES, false);
	put_backend_family(f, s, "udplb_backend_healthy", "gauge",
			   "1 when the backend counts as healthy, else 0.", BV_HEALTHY, false);
	if (!any_checked(s))
		return;
	put_backend_family(f, s, "udplb_backend_transitions_total", "counter",
			   "Health state changes of the backend.", BV_TRANSITIONS, true);
	put_failures(f, s);
	put_family(f, "udplb_probe_duration_seconds", "histogram",
		   "Health probe latency, from the probe's start to its result.");
	for (i = 0; i < s->nr_backends; i++)
		if (s->backends[i].checked)
			put_histogram(f, &s->backends[i]);
}

static void put_reasons(FILE *f, const struct lb_metrics_snapshot *s)
{
	__u32 r;

	put_family(f, "udplb_reason_packets_total", "counter",
		   "Packets seen by the data plane, by reason (ct_hit and ct_new also count as "
		   "forwarded).");
	for (r = 0; r < __UDPLB_R_MAX; r++)
		fprintf(f, "udplb_reason_packets_total{reason=\"%s\"} %" PRIu64 "\n",
			lb_name(&lb_reason_names, r), (uint64_t)s->reasons[r]);
}

static void put_duration(FILE *f, const char *name, const char *help,
			 const struct lb_metrics_duration *d)
{
	put_family(f, name, "summary", help);
	fprintf(f, "%s_sum ", name);
	put_seconds(f, d->sum_us);
	fprintf(f, "\n%s_count %" PRIu64 "\n", name, (uint64_t)d->count);
}

static void put_control(FILE *f, const struct lb_metrics_snapshot *s)
{
	put_family(f, "udplb_generation", "gauge", "Generation of the map group (flips so far).");
	fprintf(f, "udplb_generation %" PRIu64 "\n", (uint64_t)s->generation);
	put_family(f, "udplb_commits_total", "counter", "Transactions committed by the daemon.");
	fprintf(f, "udplb_commits_total %" PRIu64 "\n", (uint64_t)s->commits);
	put_duration(f, "udplb_commit_duration_seconds", "Duration of each commit.", &s->commit);
	put_duration(f, "udplb_grace_period_wait_seconds",
		     "Time spent waiting for the grace period after a flip.", &s->grace);
	put_family(f, "udplb_config_reloads_total", "counter",
		   "Configuration reloads, applied (ok) or refused (invalid).");
	fprintf(f, "udplb_config_reloads_total{result=\"ok\"} %" PRIu64 "\n",
		(uint64_t)s->reloads_ok);
	fprintf(f, "udplb_config_reloads_total{result=\"invalid\"} %" PRIu64 "\n",
		(uint64_t)s->reloads_invalid);
}

int lb_metrics_format(const struct lb_metrics_snapshot *s, char **text, size_t *len)
{
	FILE *f;
	int bad;

	*text = NULL;
	*len = 0;
	f = open_memstream(text, len);
	if (!f)
		return -ENOMEM;
	put_vips(f, s);
	put_backends(f, s);
	put_reasons(f, s);
	put_control(f, s);
	bad = ferror(f);
	if (fclose(f) || bad) {
		free(*text);
		*text = NULL;
		*len = 0;
		errno = ENOMEM;
		return -ENOMEM;
	}
	return 0;
}
