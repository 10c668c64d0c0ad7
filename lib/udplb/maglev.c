// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Weighted Maglev table builder (see maglev.h).
 *
 * Backends with weight > 0 are sorted by (addr, port) in network byte order, then take turns; a
 * turn claims the next free slot of the backend's permutation. Turn order is defined by rounds: in
 * round r (1, 2, ...) the backends, in sorted order, each add their weight to a credit and take a
 * turn when it reaches the largest weight wmax, so backend i takes its k-th turn in round
 * ceil(k * wmax / w_i). Two schedulers produce exactly that order: a plain round loop, cheap when
 * the weights are similar, and a min-heap keyed by (round, index), which only touches the backends
 * that take a turn and so keeps very uneven weights (say one backend at 1000, a thousand at 1) from
 * costing m * wmax / wavg credit updates.
 *
 * The permutation of a backend visits (offset + j * skip) % m; the next position is kept as a
 * running value (add skip, subtract m once past the end), so there is no division per probe. Free
 * slots are tracked in a bitmap (m / 8 bytes: 8 KiB for m = 65537, well inside L1).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "maglev.h"

/* Constants of the 64-bit mixer: odd multipliers with good avalanche (as used by splitmix64). */
#define MAGLEV_GOLDEN 0x9e3779b97f4a7c15ULL
#define MAGLEV_MUL1 0xbf58476d1ce4e5b9ULL
#define MAGLEV_MUL2 0x94d049bb133111ebULL

/* Domain separators: the offset and skip hashes of a backend use different seeds. */
#define MAGLEV_SEED_OFFSET 0x6f6666736574ULL /* "offset" */
#define MAGLEV_SEED_SKIP 0x736b6970ULL	     /* "skip" */

/* Use the round loop while wmax <= MAGLEV_ROUND_RATIO * average weight (<= 4 m credit updates). */
#define MAGLEV_ROUND_RATIO 4

static inline __u64 maglev_mix64(__u64 x)
{
	x ^= x >> 30;
	x *= MAGLEV_MUL1;
	x ^= x >> 27;
	x *= MAGLEV_MUL2;
	x ^= x >> 31;
	return x;
}

__u64 maglev_hash64(const void *data, __u32 len, __u64 seed)
{
	const __u8 *p = data;
	__u64 h = seed ^ (((__u64)len + 1) * MAGLEV_GOLDEN);
	__u32 i = 0;

	while (i < len) {
		__u64 w = 0;
		__u32 k;

		/* little-endian assembly byte by byte: independent of host order and alignment */
		for (k = 0; k < 8 && i < len; k++, i++)
			w |= (__u64)p[i] << (8 * k);
		h = maglev_mix64(h ^ w) + MAGLEV_GOLDEN;
	}
	return maglev_mix64(h);
}

bool maglev_is_prime(__u32 x)
{
	__u32 d;

	if (x < 2)
		return false;
	if (x % 2 == 0)
		return x == 2;
	if (x % 3 == 0)
		return x == 3;
	for (d = 5; (__u64)d * d <= x; d += 6) {
		if (x % d == 0 || x % (d + 2) == 0)
			return false;
	}
	return true;
}

/* The 6 identity bytes of a backend, as they are in memory (network byte order). */
static void maglev_ident_bytes(const struct maglev_backend *b, __u8 out[6])
{
	memcpy(out, &b->addr, 4);
	memcpy(out + 4, &b->port, 2);
}

static void maglev_perm(const struct maglev_backend *b, __u32 m, __u32 seed, __u32 *offset,
			__u32 *skip)
{
	__u64 hseed = (__u64)seed << 32;
	__u8 ident[6];

	maglev_ident_bytes(b, ident);
	*offset = maglev_hash64(ident, sizeof(ident), hseed ^ MAGLEV_SEED_OFFSET) % m;
	*skip = maglev_hash64(ident, sizeof(ident), hseed ^ MAGLEV_SEED_SKIP) % (m - 1) + 1;
}

int maglev_permutation(const struct maglev_backend *b, __u32 m, __u32 seed, __u32 *offset,
		       __u32 *skip)
{
	if (!b || !offset || !skip || !maglev_is_prime(m))
		return -EINVAL;
	maglev_perm(b, m, seed, offset, skip);
	return 0;
}

struct maglev_sort_ent {
	__u64 key; /* addr bytes then port bytes, big-endian: the (addr, port) order on the wire */
	__u32 idx; /* index in the caller's array */
};

static int maglev_cmp_ent(const void *pa, const void *pb)
{
	const struct maglev_sort_ent *a = pa, *b = pb;

	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return 0;
}

/* Working state, struct of arrays over the active (weight > 0) backends in sorted order. */
struct maglev_state {
	__u32 m;
	__u32 nact;   /* active backends */
	__u32 *next;  /* next permutation position to try, in [0, m) */
	__u32 *skip;  /* permutation step, in [1, m) */
	__u32 *id;    /* caller's id */
	__u32 *w;     /* weight */
	__u32 *aux;   /* round loop: credit; heap: turns taken */
	__u64 *heap;  /* heap scheduler: (round << 32) | index, min-heap, nact + 1 entries */
	__u64 *used;  /* bitmap of filled slots */
	__u32 *table; /* output */
};

static void maglev_state_free(struct maglev_state *s)
{
	free(s->next);
	free(s->skip);
	free(s->id);
	free(s->w);
	free(s->aux);
	free(s->heap);
	free(s->used);
}

/* One turn of backend i: claim the first free slot of its permutation from its next position. */
static inline void maglev_turn(struct maglev_state *s, __u32 i)
{
	const __u64 m = s->m, skip = s->skip[i];
	__u64 *used = s->used;
	__u64 pos = s->next[i];

	/* the caller guarantees a free slot; m prime, so the permutation reaches every slot */
	while (used[pos >> 6] & (1ULL << (pos & 63))) {
		pos += skip;
		if (pos >= m)
			pos -= m;
	}
	used[pos >> 6] |= 1ULL << (pos & 63);
	s->table[pos] = s->id[i];
	pos += skip;
	if (pos >= m)
		pos -= m;
	s->next[i] = pos;
}

static void maglev_fill_rounds(struct maglev_state *s, __u32 wmax)
{
	const __u32 nact = s->nact, m = s->m;
	__u32 *credit = s->aux;
	const __u32 *w = s->w;
	__u32 filled = 0, i;

	memset(credit, 0, nact * sizeof(*credit));
	for (;;) {
		for (i = 0; i < nact; i++) {
			credit[i] += w[i];
			if (credit[i] < wmax)
				continue;
			credit[i] -= wmax;
			maglev_turn(s, i);
			if (++filled == m)
				return;
		}
	}
}

/*
 * Round of the k-th turn of a backend of weight w: ceil(k * wmax / w). k <= m < 2^32 and
 * wmax < 2^16 so the product fits in 64 bits. Turns are only taken in rounds <= m (the backend of
 * weight wmax takes one every round and each turn fills a slot), and the largest prime below 2^32
 * is 2^32 - 5, so clamping to 0xffffffff never reorders a turn that is taken.
 */
static inline __u64 maglev_heap_key(__u64 k, __u32 wmax, __u32 w, __u32 i)
{
	__u64 round = (k * wmax + w - 1) / w;

	if (round > 0xffffffffULL)
		round = 0xffffffffULL;
	return round << 32 | i;
}

/* heap[n] is a UINT64_MAX sentinel, so the right child can be read without a bounds check. */
static void maglev_sift_down(__u64 *heap, __u32 n, __u32 at)
{
	__u64 v = heap[at];

	for (;;) {
		__u64 c = 2 * (__u64)at + 1;

		if (c >= n)
			break;
		c += heap[c + 1] < heap[c]; /* no branch: which child is smaller is unpredictable */
		if (heap[c] >= v)
			break;
		heap[at] = heap[c];
		at = c;
	}
	heap[at] = v;
}

static void maglev_fill_heap(struct maglev_state *s, __u32 wmax)
{
	const __u32 nact = s->nact, m = s->m;
	__u32 *turns = s->aux;
	__u64 *heap = s->heap;
	__u32 filled = 0, i;

	for (i = 0; i < nact; i++) {
		turns[i] = 0;
		heap[i] = maglev_heap_key(1, wmax, s->w[i], i);
	}
	heap[nact] = UINT64_MAX;
	for (i = nact / 2; i-- > 0;)
		maglev_sift_down(heap, nact, i);

	for (;;) {
		i = (__u32)heap[0];
		maglev_turn(s, i);
		if (++filled == m)
			return;
		turns[i]++;
		heap[0] = maglev_heap_key((__u64)turns[i] + 1, wmax, s->w[i], i);
		maglev_sift_down(heap, nact, 0);
	}
}

/*
 * The backends sorted by identity into *ents (duplicates and the reserved id refused); counts
 * the active ones (weight > 0) into s->nact with their weight sum and maximum.
 */
static int maglev_sorted_ents(const struct maglev_backend *backends, __u32 n,
			      struct maglev_state *s, struct maglev_sort_ent **ents, __u64 *wsum,
			      __u32 *wmax)
{
	__u32 i, j;

	*ents = n ? calloc(n, sizeof(**ents)) : NULL;
	if (n && !*ents)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		__u8 ident[6];
		__u64 key = 0;

		if (backends[i].id == MAGLEV_NO_BACKEND)
			return -EINVAL;
		maglev_ident_bytes(&backends[i], ident);
		for (j = 0; j < sizeof(ident); j++)
			key = key << 8 | ident[j];
		(*ents)[i].key = key;
		(*ents)[i].idx = i;
		if (backends[i].weight) {
			s->nact++;
			*wsum += backends[i].weight;
			if (backends[i].weight > *wmax)
				*wmax = backends[i].weight;
		}
	}
	if (n > 1)
		qsort(*ents, n, sizeof(**ents), maglev_cmp_ent);
	for (i = 1; i < n; i++) {
		if ((*ents)[i].key == (*ents)[i - 1].key)
			return -EINVAL;
	}
	return 0;
}

int maglev_build(const struct maglev_backend *backends, __u32 n, __u32 m, __u32 seed, __u32 *table)
{
	struct maglev_state s = { .m = m, .table = table };
	struct maglev_sort_ent *ents = NULL;
	__u64 wsum = 0;
	__u32 wmax = 0, i, j;
	int err;

	if (!table || (!backends && n) || !maglev_is_prime(m) || n > m)
		return -EINVAL;
	err = maglev_sorted_ents(backends, n, &s, &ents, &wsum, &wmax);
	if (err)
		goto out;
	if (!s.nact) {
		for (i = 0; i < m; i++)
			table[i] = MAGLEV_NO_BACKEND;
		goto out;
	}

	err = -ENOMEM;
	s.next = calloc(s.nact, sizeof(*s.next));
	s.skip = calloc(s.nact, sizeof(*s.skip));
	s.id = calloc(s.nact, sizeof(*s.id));
	s.w = calloc(s.nact, sizeof(*s.w));
	s.aux = calloc(s.nact, sizeof(*s.aux));
	s.used = calloc(((size_t)m + 63) / 64, sizeof(*s.used));
	if (!s.next || !s.skip || !s.id || !s.w || !s.aux || !s.used)
		goto out;

	for (i = 0, j = 0; i < n; i++) {
		const struct maglev_backend *b = &backends[ents[i].idx];

		if (!b->weight)
			continue;
		maglev_perm(b, m, seed, &s.next[j], &s.skip[j]);
		s.id[j] = b->id;
		s.w[j] = b->weight;
		j++;
	}

	/* round loop: ~m * wmax / wavg credit updates; heap: ~m * log2(nact) comparisons */
	if ((__u64)wmax * s.nact <= MAGLEV_ROUND_RATIO * wsum) {
		maglev_fill_rounds(&s, wmax);
	} else {
		s.heap = calloc((size_t)s.nact + 1, sizeof(*s.heap));
		if (!s.heap)
			goto out;
		maglev_fill_heap(&s, wmax);
	}
	err = 0;
out:
	maglev_state_free(&s);
	free(ents);
	return err;
}
