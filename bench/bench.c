// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * make bench: libabmap and udplb measured against their alternatives in one process run.
 *
 *	bench [--json FILE] [--markdown FILE] [--reps N] [--only 1,2,...]
 *	bench --smoke          (or run as "bench-smoke"): tiny sizes, few repetitions, seconds
 *
 * Prints one table per benchmark (median, min .. max, ratio to the row's reference, target),
 * then a summary; --json and --markdown write the same numbers. Kernel rows need root (maps,
 * programs, a private network namespace): without it they are skipped with a message (exit 0),
 * unless CI=true, where that is a failure. Exit status 1 when a row could not be measured or a
 * check of a measured run failed; missed targets are reported, not fatal.
 *
 * The smoke mode ends with cmocka's summary lines and "bench-smoke: N passed, N failed, N
 * skipped", one test per row, so scripts/run-tests.sh counts it like a test binary.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <linux/membarrier.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench.h"

struct bench_cfg cfg;

#define FULL_REPS 11
#define SMOKE_REPS 3
#define FULL_PKT_REPEAT 1000000
#define SMOKE_PKT_REPEAT 2000

/* ---------------------------------------------------------------------------------------------
 * Helpers
 */

__u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

int pin_to_cpu(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return -EINVAL;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

int grace_period(void)
{
	return syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) ? -errno : 0;
}

void bench_group_opts(struct abmap_group_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->sz = sizeof(*o);
	o->lock_dir = cfg.lock_dir;
	o->lock_timeout_ms = 10000;
}

static __u64 start_ns;

void progress(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "bench: [%5.1f s] ", (now_ns() - start_ns) / 1e9);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

__u32 bench_rand(__u64 *state)
{
	/* splitmix64 */
	__u64 z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (__u32)((z ^ (z >> 31)) >> 16);
}

const char *grp(unsigned long long v)
{
	static char ring[8][32];
	static unsigned int next;
	char digits[32], *out = ring[next++ % 8];
	int n = snprintf(digits, sizeof(digits), "%llu", v), i, o = 0;

	for (i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	out[o] = '\0';
	return out;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double median_of(double *v, unsigned int n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---------------------------------------------------------------------------------------------
 * Tables
 */

struct table *table_new(const char *id, const char *vs, const char *title_fmt, ...)
{
	struct table *t = calloc(1, sizeof(*t));
	va_list ap;

	if (!t)
		return NULL;
	t->id = id;
	snprintf(t->vs, sizeof(t->vs), "%s", vs ? vs : "");
	va_start(ap, title_fmt);
	vsnprintf(t->title, sizeof(t->title), title_fmt, ap);
	va_end(ap);
	return t;
}

int table_row(struct table *t, const char *name, const char *unit, int ref)
{
	struct row *r;

	if (t->nrows >= BENCH_MAX_ROWS) {
		fprintf(stderr, "bench: table %s: too many rows\n", t->id);
		abort();
	}
	r = &t->rows[t->nrows];
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->unit, sizeof(r->unit), "%s", unit);
	r->ref = ref;
	return (int)t->nrows++;
}

void row_target(struct table *t, int row, enum target_kind kind, double value)
{
	struct row *r = &t->rows[row];
	int i;

	for (i = 0; i < BENCH_MAX_TARGETS; i++) {
		if (r->tgt[i].kind == TGT_NONE) {
			r->tgt[i].kind = kind;
			r->tgt[i].value = value;
			return;
		}
	}
}

void row_add(struct table *t, int row, double value)
{
	struct row *r = &t->rows[row];

	if (r->state == ROW_FAILED || r->state == ROW_SKIPPED)
		return;
	if (r->n == r->cap) {
		unsigned int cap = r->cap ? r->cap * 2 : 16;
		double *s = realloc(r->samples, cap * sizeof(*s));

		if (!s) {
			row_fail(t, row, "out of memory");
			return;
		}
		r->samples = s;
		r->cap = cap;
	}
	r->samples[r->n++] = value;
	r->state = ROW_OK;
}

static void row_set_state(struct row *r, enum row_state state, const char *fmt, va_list ap)
{
	/* Keep the first failure: later ones are usually its consequences. */
	if (r->state == ROW_FAILED)
		return;
	r->state = state;
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
}

void row_fail(struct table *t, int row, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	row_set_state(&t->rows[row], ROW_FAILED, fmt, ap);
	va_end(ap);
}

void table_fail_all(struct table *t, const char *fmt, ...)
{
	unsigned int i;
	va_list ap;

	for (i = 0; i < t->nrows; i++) {
		if (t->rows[i].state == ROW_SKIPPED)
			continue;
		va_start(ap, fmt);
		row_set_state(&t->rows[i], ROW_FAILED, fmt, ap);
		va_end(ap);
	}
}

void table_skip_all(struct table *t, const char *fmt, ...)
{
	unsigned int i;
	va_list ap;

	for (i = 0; i < t->nrows; i++) {
		if (t->rows[i].state == ROW_FAILED)
			continue;
		va_start(ap, fmt);
		row_set_state(&t->rows[i], ROW_SKIPPED, fmt, ap);
		va_end(ap);
	}
}

void table_note(struct table *t, const char *fmt, ...)
{
	va_list ap;

	if (t->nnotes >= BENCH_MAX_NOTES)
		return;
	va_start(ap, fmt);
	vsnprintf(t->notes[t->nnotes++], BENCH_NOTE_LEN, fmt, ap);
	va_end(ap);
}

double row_median(const struct table *t, int row)
{
	const struct row *r = &t->rows[row];
	double *tmp, m;

	if (!r->n)
		return 0;
	tmp = malloc(r->n * sizeof(*tmp));
	if (!tmp)
		return 0;
	memcpy(tmp, r->samples, r->n * sizeof(*tmp));
	m = median_of(tmp, r->n);
	free(tmp);
	return m;
}

static void table_finish(struct table *t)
{
	unsigned int i;

	for (i = 0; i < t->nrows; i++) {
		struct row *r = &t->rows[i];

		if (r->state == ROW_OK && !r->n)
			r->state = ROW_PENDING;
		if (r->state == ROW_PENDING) {
			r->state = ROW_FAILED;
			if (!r->msg[0])
				snprintf(r->msg, sizeof(r->msg), "no sample was taken");
		}
		if (!r->n)
			continue;
		r->median = row_median(t, (int)i);
		r->min = r->max = r->samples[0];
		for (unsigned int j = 1; j < r->n; j++) {
			if (r->samples[j] < r->min)
				r->min = r->samples[j];
			if (r->samples[j] > r->max)
				r->max = r->samples[j];
		}
	}
}

static void table_free(struct table *t)
{
	unsigned int i;

	if (!t)
		return;
	for (i = 0; i < t->nrows; i++)
		free(t->rows[i].samples);
	free(t);
}

/* Reference row of @r if it was measured, else NULL. */
static const struct row *row_ref(const struct table *t, const struct row *r)
{
	const struct row *ref;

	if (r->ref < 0 || r->ref >= (int)t->nrows || r->state != ROW_OK)
		return NULL;
	ref = &t->rows[r->ref];
	return ref->state == ROW_OK && ref->median > 0 ? ref : NULL;
}

/* -1: cannot be evaluated, 0: missed, 1: met. */
static int target_met(const struct table *t, const struct row *r, const struct target *tg)
{
	const struct row *ref = row_ref(t, r);

	if (r->state != ROW_OK)
		return -1;
	switch (tg->kind) {
	case TGT_MAX:
		return r->median <= tg->value;
	case TGT_RATIO_MAX:
		return ref ? r->median / ref->median <= tg->value : -1;
	case TGT_RATIO_MIN:
		return ref ? r->median / ref->median >= tg->value : -1;
	case TGT_DELTA_MAX:
		return ref ? r->median - ref->median <= tg->value : -1;
	case TGT_NONE:
		break;
	}
	return -1;
}

static bool row_has_delta_target(const struct row *r)
{
	int i;

	for (i = 0; i < BENCH_MAX_TARGETS; i++)
		if (r->tgt[i].kind == TGT_DELTA_MAX)
			return true;
	return false;
}

/* ---------------------------------------------------------------------------------------------
 * Text output
 */

static void fmt_num(char *buf, size_t len, double v)
{
	double a = v < 0 ? -v : v;

	if (v == (long long)v && a < 1e15)
		snprintf(buf, len, "%lld", (long long)v);
	else if (a >= 100)
		snprintf(buf, len, "%.0f", v);
	else if (a >= 10)
		snprintf(buf, len, "%.1f", v);
	else if (a >= 1)
		snprintf(buf, len, "%.2f", v);
	else
		snprintf(buf, len, "%.3f", v);
}

static void fmt_ratio(char *buf, size_t len, const struct table *t, const struct row *r)
{
	const struct row *ref = row_ref(t, r);
	char num[32];

	buf[0] = '\0';
	if (!ref)
		return;
	if (row_has_delta_target(r)) {
		fmt_num(num, sizeof(num), r->median - ref->median);
		snprintf(buf, len, "%s%s %s", r->median >= ref->median ? "+" : "", num, r->unit);
		return;
	}
	if (ref == r) {
		snprintf(buf, len, "1x");
		return;
	}
	fmt_num(num, sizeof(num), r->median / ref->median);
	snprintf(buf, len, "%sx", num);
}

static void fmt_target(char *buf, size_t len, const struct row *r)
{
	size_t off = 0;
	char num[32];
	int i;

	buf[0] = '\0';
	for (i = 0; i < BENCH_MAX_TARGETS && off < len; i++) {
		const struct target *tg = &r->tgt[i];
		const char *sep = off ? ", " : "";

		fmt_num(num, sizeof(num), tg->value);
		switch (tg->kind) {
		case TGT_MAX:
			off += snprintf(buf + off, len - off, "%s<= %s %s", sep, num, r->unit);
			break;
		case TGT_RATIO_MAX:
			off += snprintf(buf + off, len - off, "%s<= %sx", sep, num);
			break;
		case TGT_RATIO_MIN:
			off += snprintf(buf + off, len - off, "%s>= %sx", sep, num);
			break;
		case TGT_DELTA_MAX:
			off += snprintf(buf + off, len - off, "%s<= +%s %s", sep, num, r->unit);
			break;
		case TGT_NONE:
			break;
		}
	}
}

/* "met", "MISSED", "" (no target), or the row's state. */
static const char *row_status(const struct table *t, const struct row *r)
{
	bool any = false, missed = false;
	int i;

	if (r->state == ROW_FAILED)
		return "FAILED";
	if (r->state == ROW_SKIPPED)
		return "skipped";
	for (i = 0; i < BENCH_MAX_TARGETS; i++) {
		int m;

		if (r->tgt[i].kind == TGT_NONE)
			continue;
		any = true;
		m = target_met(t, r, &r->tgt[i]);
		if (m <= 0)
			missed = true;
	}
	if (!any)
		return "";
	if (cfg.smoke)
		return "(smoke)";
	return missed ? "MISSED" : "met";
}

static void print_table(const struct table *t)
{
	unsigned int i;
	char med[48], lo[32], hi[32], ratio[80], tgt[96], range[80];

	printf("\n== %s\n", t->title);
	printf("   %-56s %13s  %-20s %-14s %-20s %s\n", "contender", "median", "min .. max", t->vs,
	       "target", "");
	for (i = 0; i < t->nrows; i++) {
		const struct row *r = &t->rows[i];

		fmt_target(tgt, sizeof(tgt), r);
		if (r->state != ROW_OK) {
			printf("   %-56s %13s  %-20s %-14s %-20s %s\n", r->name, "-", "-", "", tgt,
			       row_status(t, r));
			printf("      %s: %s\n", r->state == ROW_SKIPPED ? "skipped" : "FAILED",
			       r->msg);
			continue;
		}
		fmt_num(med, sizeof(med), r->median);
		fmt_num(lo, sizeof(lo), r->min);
		fmt_num(hi, sizeof(hi), r->max);
		snprintf(range, sizeof(range), "%s .. %s", lo, hi);
		fmt_ratio(ratio, sizeof(ratio), t, r);
		snprintf(med + strlen(med), sizeof(med) - strlen(med), " %s", r->unit);
		printf("   %-56s %13s  %-20s %-14s %-20s %s\n", r->name, med, range, ratio, tgt,
		       row_status(t, r));
	}
	for (i = 0; i < t->nnotes; i++)
		printf("   note: %s\n", t->notes[i]);
	fflush(stdout);
}

/* ---------------------------------------------------------------------------------------------
 * Machine
 */

struct machine {
	char kernel[160];
	char cpu_model[128];
	long cpus;
	char date[40];
};

static void machine_info(struct machine *m)
{
	struct utsname u;
	char line[256];
	time_t now = time(NULL);
	struct tm tm;
	FILE *f;

	memset(m, 0, sizeof(*m));
	if (!uname(&u))
		snprintf(m->kernel, sizeof(m->kernel), "%s %s", u.sysname, u.release);
	snprintf(m->cpu_model, sizeof(m->cpu_model), "unknown");
	f = fopen("/proc/cpuinfo", "r");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			char *colon = strchr(line, ':');

			if (strncmp(line, "model name", 10) || !colon)
				continue;
			colon++;
			while (*colon == ' ' || *colon == '\t')
				colon++;
			colon[strcspn(colon, "\n")] = '\0';
			snprintf(m->cpu_model, sizeof(m->cpu_model), "%s", colon);
			break;
		}
		fclose(f);
	}
	m->cpus = sysconf(_SC_NPROCESSORS_ONLN);
	gmtime_r(&now, &tm);
	strftime(m->date, sizeof(m->date), "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---------------------------------------------------------------------------------------------
 * JSON and markdown
 */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void json_num(FILE *f, double v)
{
	fprintf(f, "%.6g", v);
}

static const char *state_name(enum row_state s)
{
	switch (s) {
	case ROW_OK:
		return "ok";
	case ROW_FAILED:
		return "failed";
	case ROW_SKIPPED:
		return "skipped";
	case ROW_PENDING:
		break;
	}
	return "pending";
}

static const char *target_kind_name(enum target_kind k)
{
	switch (k) {
	case TGT_MAX:
		return "max";
	case TGT_RATIO_MAX:
		return "ratio_max";
	case TGT_RATIO_MIN:
		return "ratio_min";
	case TGT_DELTA_MAX:
		return "delta_max";
	case TGT_NONE:
		break;
	}
	return "none";
}

static void json_row(FILE *f, const struct table *t, const struct row *r)
{
	const struct row *ref = row_ref(t, r);
	unsigned int j;
	bool first = true;
	int i;

	fprintf(f, "        {\"name\": ");
	json_str(f, r->name);
	fprintf(f, ", \"unit\": ");
	json_str(f, r->unit);
	fprintf(f, ", \"state\": \"%s\", \"n\": %u", state_name(r->state), r->n);
	if (r->state == ROW_OK) {
		fprintf(f, ", \"median\": ");
		json_num(f, r->median);
		fprintf(f, ", \"min\": ");
		json_num(f, r->min);
		fprintf(f, ", \"max\": ");
		json_num(f, r->max);
	}
	fprintf(f, ", \"ref\": ");
	if (r->ref >= 0)
		json_str(f, t->rows[r->ref].name);
	else
		fprintf(f, "null");
	if (ref) {
		fprintf(f, ", \"ratio\": ");
		json_num(f, r->median / ref->median);
		fprintf(f, ", \"delta\": ");
		json_num(f, r->median - ref->median);
	}
	fprintf(f, ", \"targets\": [");
	for (i = 0; i < BENCH_MAX_TARGETS; i++) {
		int met;

		if (r->tgt[i].kind == TGT_NONE)
			continue;
		met = target_met(t, r, &r->tgt[i]);
		fprintf(f, "%s{\"kind\": \"%s\", \"value\": ", first ? "" : ", ",
			target_kind_name(r->tgt[i].kind));
		json_num(f, r->tgt[i].value);
		fprintf(f, ", \"met\": %s}",
			cfg.smoke || met < 0 ? "null" : (met ? "true" : "false"));
		first = false;
	}
	fprintf(f, "], \"samples\": [");
	for (j = 0; j < r->n; j++) {
		if (j)
			fprintf(f, ", ");
		json_num(f, r->samples[j]);
	}
	fprintf(f, "], \"message\": ");
	json_str(f, r->msg);
	fprintf(f, "}");
}

struct summary {
	unsigned int ok, failed, skipped, met, missed;
};

static void summarize(struct table **tables, unsigned int nt, struct summary *s)
{
	unsigned int i, j;
	int k;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < nt; i++) {
		for (j = 0; j < tables[i]->nrows; j++) {
			const struct row *r = &tables[i]->rows[j];

			if (r->state == ROW_OK)
				s->ok++;
			else if (r->state == ROW_SKIPPED)
				s->skipped++;
			else
				s->failed++;
			if (cfg.smoke || r->state != ROW_OK)
				continue;
			for (k = 0; k < BENCH_MAX_TARGETS; k++) {
				int met;

				if (r->tgt[k].kind == TGT_NONE)
					continue;
				met = target_met(tables[i], r, &r->tgt[k]);
				if (met > 0)
					s->met++;
				else
					s->missed++;
			}
		}
	}
}

static int write_json(const char *path, struct table **tables, unsigned int nt,
		      const struct machine *m, const struct summary *s)
{
	unsigned int i, j;
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fprintf(f, "{\n  \"mode\": \"%s\",\n  \"date\": ", cfg.smoke ? "smoke" : "full");
	json_str(f, m->date);
	fprintf(f, ",\n  \"machine\": {\"kernel\": ");
	json_str(f, m->kernel);
	fprintf(f, ", \"cpu_model\": ");
	json_str(f, m->cpu_model);
	fprintf(f, ", \"cpus\": %ld, \"libbpf\": \"%u.%u\", \"cc\": ", m->cpus,
		libbpf_major_version(), libbpf_minor_version());
	json_str(f, __VERSION__);
	fprintf(f, ", \"cpu\": %d, \"other_cpu\": %d},\n", cfg.cpu, cfg.other_cpu);
	fprintf(f, "  \"repetitions\": %u,\n  \"packet_repeat\": %u,\n  \"benchmarks\": [\n",
		cfg.reps, cfg.pkt_rep);
	for (i = 0; i < nt; i++) {
		const struct table *t = tables[i];

		fprintf(f, "    {\"id\": ");
		json_str(f, t->id);
		fprintf(f, ", \"title\": ");
		json_str(f, t->title);
		fprintf(f, ", \"vs\": ");
		json_str(f, t->vs);
		fprintf(f, ",\n      \"rows\": [\n");
		for (j = 0; j < t->nrows; j++) {
			json_row(f, t, &t->rows[j]);
			fprintf(f, "%s\n", j + 1 < t->nrows ? "," : "");
		}
		fprintf(f, "      ],\n      \"notes\": [");
		for (j = 0; j < t->nnotes; j++) {
			fprintf(f, "%s", j ? ", " : "");
			json_str(f, t->notes[j]);
		}
		fprintf(f, "]}%s\n", i + 1 < nt ? "," : "");
	}
	fprintf(f,
		"  ],\n  \"summary\": {\"rows_ok\": %u, \"rows_failed\": %u, \"rows_skipped\": %u, "
		"\"targets_met\": %u, \"targets_missed\": %u}\n}\n",
		s->ok, s->failed, s->skipped, s->met, s->missed);
	if (fclose(f))
		return -errno;
	return 0;
}

static int write_markdown(const char *path, struct table **tables, unsigned int nt,
			  const struct machine *m, const struct summary *s)
{
	char med[32], lo[32], hi[32], ratio[80], tgt[96];
	unsigned int i, j;
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fprintf(f,
		"`make bench` on %s, %s (%ld CPUs), libbpf %u.%u, %s; %u interleaved repetitions "
		"per contender, BPF_PROG_TEST_RUN repeat %s. Median (min .. max); compare the "
		"ratios of one table, absolute times drift on this machine.\n",
		m->date, m->cpu_model, m->cpus, libbpf_major_version(), libbpf_minor_version(),
		m->kernel, cfg.reps, grp(cfg.pkt_rep));
	for (i = 0; i < nt; i++) {
		const struct table *t = tables[i];

		fprintf(f, "\n**%s**\n\n| Contender | Median | Min .. max | %s | Target | |\n",
			t->title, t->vs[0] ? t->vs : "Ratio");
		fprintf(f, "| --- | ---: | ---: | ---: | --- | --- |\n");
		for (j = 0; j < t->nrows; j++) {
			const struct row *r = &t->rows[j];

			fmt_target(tgt, sizeof(tgt), r);
			if (r->state != ROW_OK) {
				fprintf(f, "| %s | - | - | | %s | %s: %s |\n", r->name, tgt,
					row_status(t, r), r->msg);
				continue;
			}
			fmt_num(med, sizeof(med), r->median);
			fmt_num(lo, sizeof(lo), r->min);
			fmt_num(hi, sizeof(hi), r->max);
			fmt_ratio(ratio, sizeof(ratio), t, r);
			fprintf(f, "| %s | %s %s | %s .. %s | %s | %s | %s |\n", r->name, med,
				r->unit, lo, hi, ratio, tgt, row_status(t, r));
		}
		if (t->nnotes)
			fprintf(f, "\n");
		for (j = 0; j < t->nnotes; j++)
			fprintf(f, "- %s\n", t->notes[j]);
	}
	fprintf(f, "\nTargets: %u met, %u missed.\n", s->met, s->missed);
	if (fclose(f))
		return -errno;
	return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Privileges, namespace, lock directory
 */

static bool probe_kernel(char *why, size_t len)
{
	int fd;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "bench_probe", 4, 4, 1, NULL);
	if (fd < 0) {
		snprintf(why, len, "cannot create a BPF map (%s): run as root", strerror(errno));
		return false;
	}
	close(fd);
	/* Every program test runs on this namespace's loopback device: a private one. */
	if (unshare(CLONE_NEWNET)) {
		snprintf(why, len, "unshare(CLONE_NEWNET): %s: run as root", strerror(errno));
		return false;
	}
	return true;
}

static void loopback_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (!ioctl(fd, SIOCGIFFLAGS, &ifr)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr))
			progress("cannot bring lo up: %s", strerror(errno));
	}
	close(fd);
}

/* Remove the lock directory and the lock files libabmap left in it (this run's only). */
static void remove_lock_dir(void)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if (!cfg.lock_dir[0])
		return;
	d = opendir(cfg.lock_dir);
	if (d) {
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			snprintf(path, sizeof(path), "%s/%s", cfg.lock_dir, de->d_name);
			unlink(path);
		}
		closedir(d);
	}
	if (rmdir(cfg.lock_dir))
		progress("cannot remove %s: %s", cfg.lock_dir, strerror(errno));
	cfg.lock_dir[0] = '\0';
}

/* ---------------------------------------------------------------------------------------------
 * main
 */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench [--smoke] [--json FILE] [--markdown FILE] [--reps N] [--only LIST]\n"
		"  --smoke          tiny sizes, few repetitions: checks every row still runs\n"
		"                   (also when run as bench-smoke)\n"
		"  --json FILE      write the results as JSON\n"
		"  --markdown FILE  write the tables as markdown (for the README)\n"
		"  --reps N         repetitions per contender (default %d, smoke %d)\n"
		"  --only LIST      run only these benchmarks, e.g. 1,4\n",
		FULL_REPS, SMOKE_REPS);
}

/* Benchmark N is benches[N - 1]; each skips its kernel rows itself without privileges. */
static struct table *(*const benches[])(void) = {
	bench_commit_full, bench_commit_one, bench_flip,  bench_packet,
	bench_maglev,	   bench_memory,     bench_apply, bench_inline,
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "smoke", no_argument, NULL, 's' },
		{ "json", required_argument, NULL, 'j' },
		{ "markdown", required_argument, NULL, 'm' },
		{ "reps", required_argument, NULL, 'r' },
		{ "only", required_argument, NULL, 'o' },
		{ "rss-child", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *json = NULL, *markdown = NULL, *only = NULL, *base;
	struct table *tables[ARRAY_SIZE(benches)];
	bool ci = getenv("CI") && !strcmp(getenv("CI"), "true");
	unsigned int nt = 0, i, reps = 0;
	char why[BENCH_MSG_LEN] = "";
	struct summary sum;
	struct machine m;
	cpu_set_t allowed;
	int c, status = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	start_ns = now_ns();
	base = strrchr(argv[0], '/');
	base = base ? base + 1 : argv[0];
	cfg.smoke = !strcmp(base, "bench-smoke");
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			cfg.smoke = true;
			break;
		case 'j':
			json = optarg;
			break;
		case 'm':
			markdown = optarg;
			break;
		case 'r':
			reps = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'o':
			only = optarg;
			break;
		case 'c':
			return bench_rss_child(optarg);
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	cfg.reps = reps ? reps : (cfg.smoke ? SMOKE_REPS : FULL_REPS);
	cfg.pkt_rep = cfg.smoke ? SMOKE_PKT_REPEAT : FULL_PKT_REPEAT;
	cfg.self_exe = "/proc/self/exe";

	/* Two CPUs: the timed threads run on the first, row 3's other side on the second. */
	cfg.cpu = sched_getcpu();
	cfg.other_cpu = -1;
	if (!sched_getaffinity(0, sizeof(allowed), &allowed)) {
		int n = 0;

		for (c = 0; c < CPU_SETSIZE; c++) {
			if (!CPU_ISSET(c, &allowed))
				continue;
			if (n == 0)
				cfg.cpu = c;
			else if (n == 1)
				cfg.other_cpu = c;
			n++;
		}
	}
	if (pin_to_cpu(cfg.cpu))
		progress("cannot pin to CPU %d: %s", cfg.cpu, strerror(errno));

	machine_info(&m);
	libbpf_set_print(NULL);
	cfg.kernel = probe_kernel(why, sizeof(why));
	if (!cfg.kernel) {
		printf("bench: kernel rows skipped: %s%s\n", why,
		       ci ? " (CI=true: this is a failure)" : "");
	} else {
		loopback_up();
		snprintf(cfg.lock_dir, sizeof(cfg.lock_dir), "/tmp/udplb-bench-XXXXXX");
		if (!mkdtemp(cfg.lock_dir)) {
			fprintf(stderr, "bench: mkdtemp: %s\n", strerror(errno));
			return 1;
		}
	}
	printf("bench: %s mode, %u repetitions per contender, CPU %d (other CPU %d), %s, %s\n",
	       cfg.smoke ? "smoke" : "full", cfg.reps, cfg.cpu, cfg.other_cpu, m.kernel,
	       m.cpu_model);
	if (!cfg.smoke && cfg.reps < 7)
		printf("bench: warning: fewer than 7 repetitions\n");

	for (i = 0; i < ARRAY_SIZE(benches); i++) {
		char num[8];
		struct table *t;

		snprintf(num, sizeof(num), "%u", i + 1);
		if (only && !strstr(only, num))
			continue;
		t = benches[i]();
		if (!t) {
			fprintf(stderr, "bench: out of memory\n");
			status = 1;
			break;
		}
		table_finish(t);
		print_table(t);
		tables[nt++] = t;
	}
	progress("done");
	lbfx_teardown();
	remove_lock_dir();

	summarize(tables, nt, &sum);
	if (json) {
		int err = write_json(json, tables, nt, &m, &sum);

		if (err) {
			fprintf(stderr, "bench: writing %s: %s\n", json, strerror(-err));
			status = 1;
		} else {
			printf("\nbench: wrote %s\n", json);
		}
	}
	if (markdown) {
		int err = write_markdown(markdown, tables, nt, &m, &sum);

		if (err) {
			fprintf(stderr, "bench: writing %s: %s\n", markdown, strerror(-err));
			status = 1;
		} else {
			printf("bench: wrote %s\n", markdown);
		}
	}
	if (!cfg.smoke)
		printf("\nbench: rows: %u measured, %u failed, %u skipped; targets: %u met, "
		       "%u missed\n",
		       sum.ok, sum.failed, sum.skipped, sum.met, sum.missed);
	if (sum.failed)
		status = 1;
	if (ci && sum.skipped)
		status = 1;
	if (cfg.smoke) {
		/* cmocka's summary format, so scripts/run-tests.sh counts one test per row. */
		printf("\n[==========] bench-smoke: %u row(s) run.\n",
		       sum.ok + sum.failed + sum.skipped);
		printf("[  PASSED  ] %u test(s).\n", sum.ok);
		if (sum.skipped) {
			printf("[  SKIPPED ] %u test(s), listed below:\n", sum.skipped);
			for (i = 0; i < nt; i++)
				for (unsigned int j = 0; j < tables[i]->nrows; j++)
					if (tables[i]->rows[j].state == ROW_SKIPPED)
						printf("[  SKIPPED ] %s: %s\n", tables[i]->id,
						       tables[i]->rows[j].name);
		}
		if (sum.failed) {
			printf("[  FAILED  ] %u test(s), listed below:\n", sum.failed);
			for (i = 0; i < nt; i++)
				for (unsigned int j = 0; j < tables[i]->nrows; j++)
					if (tables[i]->rows[j].state == ROW_FAILED)
						printf("[  FAILED  ] %s: %s\n", tables[i]->id,
						       tables[i]->rows[j].name);
		}
		printf("bench-smoke: %u passed, %u failed, %u skipped\n", sum.ok, sum.failed,
		       sum.skipped);
	}
	for (i = 0; i < nt; i++)
		table_free(tables[i]);
	return status;
}
