// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Benchmark 5: maglev_build() for M = 65,537 with 10, 100 and 1,000 backends, every weight 1
 * ("weights off") and weights 1..100 ("weights on"). Userspace only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "bench.h"
#include "maglev.h"

struct mg_contender {
	__u32 n;
	bool weighted;
	int row;
	struct maglev_backend *be;
};

/* Every backend's slot count within 2% of its share (a sanity check of the built table). */
static int check_table(const struct mg_contender *c, const __u32 *table, __u32 m)
{
	__u64 total = 0;
	__u32 *count = calloc(c->n, sizeof(*count)), i;
	int e = 0;

	if (!count)
		return -ENOMEM;
	for (i = 0; i < c->n; i++)
		total += c->be[i].weight;
	for (i = 0; i < m; i++) {
		if (table[i] >= c->n) {
			e = -EBADMSG;
			goto out;
		}
		count[table[i]]++;
	}
	for (i = 0; i < c->n; i++) {
		double share = (double)m * c->be[i].weight / total;

		if (count[i] < share * 0.98 - 2 || count[i] > share * 1.02 + 2) {
			e = -EBADMSG;
			break;
		}
	}
out:
	free(count);
	return e;
}

struct table *bench_maglev(void)
{
	static const __u32 sizes[] = { 10, 100, 1000 };
	struct mg_contender cs[2 * ARRAY_SIZE(sizes)];
	const unsigned int nc = ARRAY_SIZE(cs);
	__u32 m = MAGLEV_DEFAULT_M, *table;
	__u64 rng = 0x6d61676c6576ULL;
	unsigned int i, r, k;
	char name[96];
	struct table *t;

	t = table_new("maglev", "vs 10 backends",
		      "5. Maglev table build, M = %s (%u runs each, interleaved)", grp(m),
		      cfg.reps);
	if (!t)
		return NULL;
	table = malloc(m * sizeof(*table));
	memset(cs, 0, sizeof(cs));
	for (i = 0; i < nc; i++) {
		struct mg_contender *c = &cs[i];
		__u32 j;

		c->n = sizes[i % ARRAY_SIZE(sizes)];
		c->weighted = i >= ARRAY_SIZE(sizes);
		snprintf(name, sizeof(name), "%s backends, weights %s", grp(c->n),
			 c->weighted ? "on (1..100)" : "off (all 1)");
		c->row = table_row(t, name, "ms", c->weighted ? (int)ARRAY_SIZE(sizes) : 0);
		if (c->n == 1000)
			row_target(t, c->row, TGT_MAX, 2);
		c->be = calloc(c->n, sizeof(*c->be));
		if (!c->be || !table) {
			row_fail(t, c->row, "out of memory");
			continue;
		}
		for (j = 0; j < c->n; j++) {
			c->be[j].addr = htonl(0x0a000000u + (j / 200) * 256 + j % 200 + 1);
			c->be[j].port = htons(53);
			c->be[j].weight = c->weighted ? 1 + bench_rand(&rng) % 100 : 1;
			c->be[j].id = j;
		}
	}
	table_note(t, "the slot counts of every built table are checked against the weights (2%%)");
	progress("5: Maglev table builds");
	for (r = 0; r < cfg.reps; r++) {
		for (k = 0; k < nc; k++) {
			struct mg_contender *c = &cs[(r + k) % nc];
			__u64 t0, t1;
			int e;

			if (t->rows[c->row].state == ROW_FAILED)
				continue;
			t0 = now_ns();
			e = maglev_build(c->be, c->n, m, 0x75646c62U, table);
			t1 = now_ns();
			if (e) {
				row_fail(t, c->row, "maglev_build: %s", strerror(-e));
				continue;
			}
			e = check_table(c, table, m);
			if (e) {
				row_fail(t, c->row, "the table does not follow the weights");
				continue;
			}
			row_add(t, c->row, (t1 - t0) / 1e6);
		}
	}
	for (i = 0; i < nc; i++)
		free(cs[i].be);
	free(table);
	return t;
}
