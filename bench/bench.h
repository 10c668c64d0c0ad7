/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * make bench: the benchmark program (build/bench/bench) and its smoke mode (bench --smoke, or
 * run as bench-smoke), shared declarations.
 *
 * Every benchmark fills one table. A table has rows (the contenders); each row collects one
 * sample per repetition. Contenders of a table run in the same process, interleaved: repetition
 * r runs every contender once, starting with contender r % n, so slow drifts of a noisy shared
 * machine hit all of them alike. A row may name a reference row of its table: the output shows
 * median / reference median ("vs" column), which is the number to trust, not the absolute time.
 *
 * Files: bench.c (options, privileges, network namespace, tables, text/JSON/markdown output),
 * bench_commit.c (1: whole-array commits, 2: one-entry commits), bench_flip.c (3: visibility and
 * grace period), bench_packet.c (4: per-packet cost, and the udplb fixture rows 3, 4 and 6
 * share), bench_maglev.c (5), bench_memory.c (6), bench_apply.c (7), bench_inline.c (8: A/B
 * lookup shapes, the programs of tests/kernel/abmap_inline.bpf.c), bench_progs.bpf.c (BPF
 * programs).
 */
#ifndef __UDPLB_BENCH_H
#define __UDPLB_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "abmap.h"
#include "lb.h"

struct lb_sim;

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------------------------------------
 * Run settings
 */

struct bench_cfg {
	bool smoke;	      /* tiny sizes, few repetitions: checks that every row still runs */
	bool kernel;	      /* may create maps and load programs (root / CAP_BPF) */
	unsigned int reps;    /* repetitions of every contender (>= 7 unless smoke) */
	unsigned int pkt_rep; /* BPF_PROG_TEST_RUN repeat of row 4 */
	int cpu;	      /* the CPU every timed thread runs on */
	int other_cpu;	      /* a second CPU (row 3), -1 if there is none */
	char lock_dir[64];    /* libabmap lock files of this run */
	const char *self_exe; /* for the memory row's child processes */
};

extern struct bench_cfg cfg;

/* ---------------------------------------------------------------------------------------------
 * Tables
 */

#define BENCH_MAX_ROWS 24
#define BENCH_MAX_NOTES 12
#define BENCH_MAX_TARGETS 2
#define BENCH_MSG_LEN 256
#define BENCH_NOTE_LEN 640

enum target_kind {
	TGT_NONE = 0,
	TGT_MAX,       /* median <= value */
	TGT_RATIO_MAX, /* median / reference median <= value */
	TGT_RATIO_MIN, /* median / reference median >= value */
	TGT_DELTA_MAX, /* median - reference median <= value */
};

struct target {
	enum target_kind kind;
	double value;
};

enum row_state {
	ROW_PENDING = 0, /* no sample yet */
	ROW_OK,
	ROW_FAILED,  /* could not be measured, or a check of the measured run failed */
	ROW_SKIPPED, /* not run here (no privileges, one CPU) */
};

struct row {
	char name[96];
	char unit[16];
	int ref; /* reference row of the same table, -1 for none */
	double *samples;
	unsigned int n, cap;
	struct target tgt[BENCH_MAX_TARGETS];
	enum row_state state;
	char msg[BENCH_MSG_LEN]; /* why it failed or was skipped */
	/* Filled by table_finish(). */
	double median, min, max;
};

struct table {
	const char *id;
	char title[160];
	char vs[40]; /* header of the ratio column, e.g. "vs libabmap" */
	struct row rows[BENCH_MAX_ROWS];
	unsigned int nrows;
	char notes[BENCH_MAX_NOTES][BENCH_NOTE_LEN];
	unsigned int nnotes;
};

struct table *table_new(const char *id, const char *vs, const char *title_fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Add a row; returns its index. @ref: index of the reference row or -1. */
int table_row(struct table *t, const char *name, const char *unit, int ref);
void row_target(struct table *t, int row, enum target_kind kind, double value);
/* One sample. Ignored once the row failed. */
void row_add(struct table *t, int row, double value);
void row_fail(struct table *t, int row, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Every row still pending or OK fails (a fixture broke), or is skipped. */
void table_fail_all(struct table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void table_skip_all(struct table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void table_note(struct table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Median of a row so far (0 without samples). */
double row_median(const struct table *t, int row);

/* ---------------------------------------------------------------------------------------------
 * Helpers
 */

/* CLOCK_MONOTONIC in ns (the clock bpf_ktime_get_ns() reads). */
__u64 now_ns(void);
/*
 * Pin the calling thread to @cpu. Threads inherit it: libabmap's grace-period threads run on
 * the writer's CPU too (on the other, idle, vCPU a commit returned ~30 us later here: the wake-up
 * of an idle vCPU).
 */
int pin_to_cpu(int cpu);
/* membarrier(MEMBARRIER_CMD_GLOBAL): synchronize_rcu(), the grace period. */
int grace_period(void);
/* Group options of this run (lock directory, wait for the lock). */
void bench_group_opts(struct abmap_group_opts *o);
/* Print a progress line on stderr (the table goes to stdout). */
void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Deterministic pseudo-random numbers. */
__u32 bench_rand(__u64 *state);
double median_of(double *v, unsigned int n);
/* @v with thousands separators ("65,536"); a ring of static buffers, main thread only. */
const char *grp(unsigned long long v);

/* ---------------------------------------------------------------------------------------------
 * The udplb fixture (bench_packet.c): data plane, control plane and the bench's programs.
 */

struct udplb;
struct bench_progs;

#define FX_VIP_PORT 53
#define FX_BACKENDS 100 /* per VIP */

struct lbfx {
	struct udplb *lb;
	/*
	 * A second udplb instance sharing every map of @lb except conntrack, which holds
	 * @room_entries flows: new-flow runs that insert without evicting.
	 */
	struct udplb *lb_room;
	__u32 room_entries;
	struct bench_progs *bp;
	struct lb_maps maps;
	struct lb_sim *sim; /* of the committed tables: what each flow should get */
	struct udplb_vip_key dsr_key, ipip_key; /* network order */
	__u32 hash_seed;
	__be32 ipip_src;
	int ncpus;
	bool ready;
};

extern struct lbfx fx;

/* Load udplb and the bench programs, commit the benchmark's configuration. 0 or -errno. */
int lbfx_setup(char *err, size_t len);
void lbfx_teardown(void);

/* 64-byte UDP frames of the fixture. */
struct frame {
	__u8 data[128];
	__u32 len;
};

void frame_dsr(struct frame *f);   /* to the DSR VIP, fixed source */
void frame_ipip(struct frame *f);  /* to the IP-in-IP VIP, fixed source */
void frame_other(struct frame *f); /* UDP to an address that is no VIP */

/* ---------------------------------------------------------------------------------------------
 * The benchmarks. Each returns its table (NULL only when out of memory).
 */

struct table *bench_commit_full(void); /* 1 */
struct table *bench_commit_one(void);  /* 2 */
struct table *bench_flip(void);	       /* 3 */
struct table *bench_packet(void);      /* 4 */
struct table *bench_maglev(void);      /* 5 */
struct table *bench_memory(void);      /* 6 */
struct table *bench_apply(void);       /* 7 */
struct table *bench_inline(void);      /* 8 */

/* Child process of the memory row (bench --rss-child MODE): prints "key value" lines. */
int bench_rss_child(const char *mode);

#endif /* __UDPLB_BENCH_H */
