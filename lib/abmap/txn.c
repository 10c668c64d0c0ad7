// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Write sessions, transactions and deferred switchovers.
 *
 * A write session runs from the first staged write (abmap_txn_begin() or a deferred stage) to the
 * flip, the abort, or the cancellation of the last deferred change; the writer lock is held
 * throughout. Transactions stage in memory and touch the kernel only at commit; deferred changes
 * are written to the passive side at once and wait for a flip.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

enum op_type {
	OP_ARRAY_SET,
	OP_HASH_SET,
	OP_UPDATE,
	OP_DELETE,
};

struct op {
	enum op_type type;
	struct abmap *map;
	bool borrowed; /* keys and values belong to the caller */
	__u32 n;
	void *keys;
	void *values;
	struct op *next;
};

struct abmap_txn {
	struct abmap_group *group;
	bool borrow; /* stage without copying (abmap_array_set(), abmap_hash_set()) */
	struct op *ops;
	struct op **tail;
};

struct abmap_switchover {
	struct abmap *map;
	__u64 gen;
	__u64 cancel_epoch;
	/* Outstanding handles of the group, freed with it. */
	struct abmap_switchover *next;
};

static void invalidate_maps(struct abmap_group *g)
{
	struct abmap *map;

	for (map = g->maps; map; map = map->next) {
		keyset_clear(&map->diff);
		map->diff_len = false;
		map->diff_gen = ABMAP_GEN_UNKNOWN;
		map->ready = false;
	}
}

int session_begin(struct abmap_group *g)
{
	struct abmap_pointer ptr;
	int err;

	if (g->in_session)
		return 0;
	err = g->be->lock(g);
	if (err)
		return err;
	err = g->be->ptr_read(g, &ptr);
	if (!err && g->be->check_members)
		err = g->be->check_members(g, &ptr);
	if (err) {
		g->be->unlock(g);
		return err;
	}
	/* Someone else wrote since we last did: what we remember of the passive side is void. */
	if (g->var_mode || ptr.generation != g->gen || ptr.writer_token != g->ptr.writer_token)
		invalidate_maps(g);
	g->gen = ptr.generation;
	g->ptr = ptr;
	if (!g->var_mode && ptr.grace_gen >= ptr.generation) {
		pthread_mutex_lock(&g->mu);
		if (ptr.generation > g->grace_done)
			g->grace_done = ptr.generation;
		pthread_mutex_unlock(&g->mu);
	} else {
		group_request_grace(g, ptr.generation);
	}
	g->in_session = true;
	g->marked = false;
	return 0;
}

void session_end_if_idle(struct abmap_group *g)
{
	if (!g->in_session || g->txn || g->nr_deferred)
		return;
	g->be->unlock(g);
	g->in_session = false;
	g->marked = false;
}

/*
 * A token no other writer session uses: a random base per group object plus a session count,
 * so a session costs no getrandom() call.
 */
static __u64 new_token(struct abmap_group *g)
{
	struct timespec ts;

	if (!g->token_base) {
		if (getrandom(&g->token_base, sizeof(g->token_base), GRND_NONBLOCK) !=
		    sizeof(g->token_base)) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			g->token_base = ((__u64)ts.tv_sec << 32) ^ ts.tv_nsec ^
					((__u64)getpid() << 16);
		}
		g->token_base |= 1;
	}
	return g->token_base + (g->sessions++ << 1);
}

/* Before the first write into the passive side: its readers are gone, and others can tell. */
static int prepare_write(struct abmap_group *g)
{
	__u64 token;
	int err;

	err = group_wait_grace(g, g->gen);
	if (err || g->marked)
		return err;
	token = new_token(g);
	err = g->be->ptr_mark(g, ABMAP_GEN_UNKNOWN, token);
	if (err)
		return err;
	g->ptr.passive_gen = ABMAP_GEN_UNKNOWN;
	g->ptr.writer_token = token;
	g->marked = true;
	return 0;
}

static void drop_deferred(struct abmap *map)
{
	if (!map->deferred)
		return;
	map->deferred = false;
	map->cancel_epoch++;
	map->group->nr_deferred--;
}

static __u64 realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int flip(struct abmap_group *g)
{
	struct abmap_pointer next = g->ptr;
	struct abmap *map;
	__u32 nr = 0;
	int err;

	next.generation = g->gen + 1;
	next.passive_gen = g->gen;
	next.flip_time_ns = realtime_ns();
	next.writer_pid = g->pid;
	memset(next.struct_ids, 0, sizeof(next.struct_ids));
	for (map = g->maps; map && nr < ABMAP_MAX_STRUCTS; map = map->next)
		next.struct_ids[nr++] = map->id_a;
	next.nr_structs = nr;

	err = g->be->ptr_flip(g, &next);
	if (err) {
		pr_warn("flip to generation %llu failed: %s\n", (unsigned long long)next.generation,
			strerror(-err));
		return err;
	}
	g->gen = next.generation;
	g->ptr = next;
	g->marked = false;
	for (map = g->maps; map; map = map->next) {
		/* Sides swapped: the keys where they differ are the same keys. */
		map->diff_gen = g->gen;
		map->ready = false;
		map->deferred = false;
	}
	g->nr_deferred = 0;
	group_request_grace(g, g->gen);
	return 0;
}

static bool op_is_whole(const struct op *op)
{
	return op->type == OP_ARRAY_SET || op->type == OP_HASH_SET;
}

/* The order a commit applies its ops in: whole contents, then hash deletes, then the rest. */
enum op_pass {
	PASS_WHOLE,
	PASS_HASH_DELETE,
	PASS_OTHER,
	NR_PASSES,
};

struct plan {
	const struct op **ops; /* every staged op, NULL where it does not change the result */
	__u32 n;
};

static enum op_pass op_pass(const struct op *op)
{
	if (op_is_whole(op))
		return PASS_WHOLE;
	if (op->type == OP_DELETE && !op->map->kind->is_array)
		return PASS_HASH_DELETE;
	return PASS_OTHER;
}

static int map_index(const struct abmap_group *g, const struct abmap *map)
{
	const struct abmap *m;
	int i = 0;

	for (m = g->maps; m && m != map; m = m->next)
		i++;
	return i;
}

/*
 * Drop the ops that do not change the final content, walking back from the last: everything of
 * a structure before its last whole content, and on a hash every change of a key but the last.
 * What is left commutes within each pass (one whole content per structure, hash changes of
 * distinct keys), so applying deletes before inserts makes the result depend on the final
 * content only: a full hash never sees an insert before the delete that makes room.
 */
static int plan_build(const struct abmap_group *g, const struct abmap_txn *txn, struct plan *plan)
{
	struct keyset *seen = calloc(g->nr_maps + 1, sizeof(*seen));
	bool *whole = calloc(g->nr_maps + 1, sizeof(*whole));
	const struct op *op;
	__u32 i;
	int m, err = seen && whole ? 0 : -ENOMEM;

	plan->n = 0;
	for (op = txn ? txn->ops : NULL; op; op = op->next)
		plan->n++;
	plan->ops = malloc(((size_t)plan->n + 1) * sizeof(*plan->ops));
	if (!plan->ops)
		err = -ENOMEM;
	for (i = 0, op = txn ? txn->ops : NULL; !err && op; op = op->next)
		plan->ops[i++] = op;
	for (i = plan->n; !err && i-- > 0;) {
		op = plan->ops[i];
		m = map_index(g, op->map);
		if (whole[m]) {
			plan->ops[i] = NULL;
		} else if (op_is_whole(op)) {
			whole[m] = true;
		} else if (!op->map->kind->is_array) {
			if (!seen[m].key_size)
				keyset_init(&seen[m], op->map->key_size, UINT32_MAX);
			if (keyset_has(&seen[m], op->keys))
				plan->ops[i] = NULL;
			keyset_add(&seen[m], op->keys);
			if (seen[m].all)
				err = -ENOMEM;
		}
	}
	for (m = 0; seen && m <= g->nr_maps; m++)
		keyset_free(&seen[m]);
	free(seen);
	free(whole);
	if (err) {
		free(plan->ops);
		plan->ops = NULL;
	}
	return err;
}

/* Whether the plan writes a whole new content into @map (its passive side need not catch up). */
static bool plan_has_whole(const struct plan *plan, const struct abmap *map)
{
	__u32 i;

	for (i = 0; i < plan->n; i++) {
		if (plan->ops[i] && plan->ops[i]->map == map && op_is_whole(plan->ops[i]))
			return true;
	}
	return false;
}

static const struct op *first_op(const struct abmap_txn *txn, const struct abmap *map)
{
	const struct op *op;

	for (op = txn ? txn->ops : NULL; op; op = op->next) {
		if (op->map == map)
			return op;
	}
	return NULL;
}

static int apply_op(const struct op *op, int passive)
{
	struct abmap *map = op->map;

	switch (op->type) {
	case OP_ARRAY_SET:
		return map_write_array(map, passive, op->values, op->n);
	case OP_HASH_SET:
		return map_write_hash(map, passive, op->keys, op->values, op->n);
	case OP_UPDATE:
		return map_write_one(map, passive, op->keys, op->values);
	case OP_DELETE:
		return map_erase_one(map, passive, op->keys);
	}
	return -EINVAL;
}

static int plan_apply(const struct plan *plan, int passive)
{
	enum op_pass pass;
	__u32 i;
	int err = 0;

	for (pass = PASS_WHOLE; !err && pass < NR_PASSES; pass++) {
		for (i = 0; !err && i < plan->n; i++) {
			if (plan->ops[i] && op_pass(plan->ops[i]) == pass)
				err = apply_op(plan->ops[i], passive);
		}
	}
	return err;
}

/* A failed write leaves passive sides that the next session must catch up again. */
static void write_failed(struct abmap_group *g, const struct abmap_txn *txn)
{
	struct abmap *map;

	for (map = g->maps; map; map = map->next) {
		if (map->deferred && !first_op(txn, map))
			continue;
		drop_deferred(map);
		map->ready = false;
	}
}

/*
 * Would a flip change what programs see? Deferred changes always flip (their handles track
 * generations); otherwise only if a passive side now differs from its live side.
 */
static bool needs_flip(struct abmap_group *g, int passive)
{
	struct abmap *map;

	if (g->nr_deferred)
		return true;
	for (map = g->maps; map; map = map->next) {
		if (map_sides_differ(map, passive))
			return true;
	}
	return false;
}

/* Bring every passive side up to date, apply @txn (may be NULL), flip if anything changed. */
static int commit(struct abmap_group *g, const struct abmap_txn *txn)
{
	int passive = passive_side(g);
	struct plan plan = { 0 };
	struct abmap *map;
	int err;

	/* Nothing staged, nothing deferred: not even the passive sides need a look. */
	if (txn && !txn->ops && !g->nr_deferred)
		return 0;
	err = plan_build(g, txn, &plan);
	if (!err)
		err = prepare_write(g);
	for (map = g->maps; !err && map; map = map->next) {
		if (plan_has_whole(&plan, map) && !map->ready)
			continue;
		err = map_catch_up(map, passive);
	}
	if (!err)
		err = plan_apply(&plan, passive);
	free(plan.ops);
	if (!err && !needs_flip(g, passive))
		return 0;
	if (!err && g->before_flip)
		err = g->before_flip(g->before_flip_ctx);
	if (!err)
		err = flip(g);
	if (err) {
		write_failed(g, txn);
		pr_warn("commit failed, the live side is unchanged: %s\n", strerror(-err));
	}
	return err;
}

struct abmap_txn *abmap_txn_begin(struct abmap_group *g)
{
	struct abmap_txn *txn;
	int err;

	if (!g)
		return libabmap_err_ptr(-EINVAL);
	if (g->txn) {
		pr_warn("a transaction is already open on this group\n");
		return libabmap_err_ptr(-EBUSY);
	}
	txn = calloc(1, sizeof(*txn));
	if (!txn)
		return libabmap_err_ptr(-ENOMEM);
	err = session_begin(g);
	if (err) {
		free(txn);
		return libabmap_err_ptr(err);
	}
	txn->group = g;
	txn->tail = &txn->ops;
	g->txn = txn;
	return txn;
}

static void txn_free(struct abmap_txn *txn)
{
	struct abmap_group *g = txn->group;
	struct op *op, *next;

	for (op = txn->ops; op; op = next) {
		next = op->next;
		op->map->staged = false;
		if (!op->borrowed) {
			free(op->keys);
			free(op->values);
		}
		free(op);
	}
	g->txn = NULL;
	free(txn);
	session_end_if_idle(g);
}

void abmap_txn_abort(struct abmap_txn *txn)
{
	if (txn)
		txn_free(txn);
}

int abmap_txn_commit(struct abmap_txn *txn)
{
	int err;

	if (!txn)
		return libabmap_err(-EINVAL);
	err = commit(txn->group, txn);
	txn_free(txn);
	return libabmap_err(err);
}

static int check_target(const struct abmap_txn *txn, const struct abmap *map)
{
	if (!txn || !map)
		return -EINVAL;
	if (map->group != txn->group) {
		pr_warn("structure (map id %u) belongs to another group\n", map->id_a);
		return -EINVAL;
	}
	return 0;
}

static void *dup_mem(const void *src, size_t size)
{
	void *dst = malloc(size ? size : 1);

	if (dst && size)
		memcpy(dst, src, size);
	return dst;
}

static int stage(struct abmap_txn *txn, enum op_type type, struct abmap *map, __u32 n,
		 const void *keys, size_t keys_size, const void *values, size_t values_size)
{
	struct op *op = calloc(1, sizeof(*op));

	if (!op)
		return -ENOMEM;
	op->type = type;
	op->map = map;
	op->n = n;
	if (txn->borrow) {
		/* One-shot set: the caller's buffers outlive the commit, copying them is waste. */
		op->borrowed = true;
		op->keys = (void *)keys;
		op->values = (void *)values;
	} else {
		op->keys = keys ? dup_mem(keys, keys_size) : NULL;
		op->values = values ? dup_mem(values, values_size) : NULL;
	}
	if ((keys && !op->keys) || (values && !op->values)) {
		free(op->keys);
		free(op->values);
		free(op);
		return -ENOMEM;
	}
	*txn->tail = op;
	txn->tail = &op->next;
	map->staged = true;
	return 0;
}

static int check_array_content(const struct abmap *map, const void *values, __u32 n)
{
	if (!map->kind->is_array) {
		pr_warn("structure (map id %u) is not an array\n", map->id_a);
		return -EINVAL;
	}
	if (n && !values)
		return -EINVAL;
	if (n > map->max_entries) {
		pr_warn("%u values do not fit an array of %u entries\n", n, map->max_entries);
		return -E2BIG;
	}
	return 0;
}

static int check_hash_content(const struct abmap *map, const void *keys, const void *values,
			      __u32 n)
{
	struct keyset seen;
	__u32 i;
	int err = 0;

	if (map->kind->is_array) {
		pr_warn("structure (map id %u) is an array, not a hash\n", map->id_a);
		return -EINVAL;
	}
	if (n && (!keys || !values))
		return -EINVAL;
	if (n > map->max_entries) {
		pr_warn("%u keys do not fit a hash of %u entries\n", n, map->max_entries);
		return -E2BIG;
	}
	keyset_init(&seen, map->key_size, UINT32_MAX);
	for (i = 0; !err && i < n; i++) {
		const void *key = (const __u8 *)keys + (size_t)i * map->key_size;

		if (keyset_has(&seen, key)) {
			pr_warn("key #%u appears twice in the new content of a hash\n", i);
			err = -EINVAL;
		}
		keyset_add(&seen, key);
		if (seen.all)
			err = -ENOMEM;
	}
	keyset_free(&seen);
	return err;
}

int abmap_txn_array_set(struct abmap_txn *txn, struct abmap *array, const void *values, __u32 n)
{
	int err = check_target(txn, array);

	if (!err)
		err = check_array_content(array, values, n);
	if (!err)
		err = stage(txn, OP_ARRAY_SET, array, n, NULL, 0, values,
			    (size_t)n * array->value_size);
	return libabmap_err(err);
}

int abmap_txn_hash_set(struct abmap_txn *txn, struct abmap *hash, const void *keys,
		       const void *values, __u32 n)
{
	int err = check_target(txn, hash);

	if (!err)
		err = check_hash_content(hash, keys, values, n);
	if (!err)
		err = stage(txn, OP_HASH_SET, hash, n, keys, (size_t)n * hash->key_size, values,
			    (size_t)n * hash->value_size);
	return libabmap_err(err);
}

static int check_key(const struct abmap *map, const void *key)
{
	if (!key)
		return -EINVAL;
	if (map->kind->is_array && *(const __u32 *)key >= map->max_entries) {
		pr_warn("index %u is past the array's %u entries\n", *(const __u32 *)key,
			map->max_entries);
		return -E2BIG;
	}
	return 0;
}

int abmap_txn_update(struct abmap_txn *txn, struct abmap *map, const void *key, const void *value)
{
	int err = check_target(txn, map);

	if (!err)
		err = value ? check_key(map, key) : -EINVAL;
	if (!err)
		err = stage(txn, OP_UPDATE, map, 1, key, map->key_size, value, map->value_size);
	return libabmap_err(err);
}

int abmap_txn_delete(struct abmap_txn *txn, struct abmap *map, const void *key)
{
	int err = check_target(txn, map);

	if (!err)
		err = check_key(map, key);
	if (!err)
		err = stage(txn, OP_DELETE, map, 1, key, map->key_size, NULL, 0);
	return libabmap_err(err);
}

/* One-structure transaction: the whole content, then a flip. */
static int set_now(struct abmap *map, enum op_type type, const void *keys, const void *values,
		   __u32 n)
{
	struct abmap_txn *txn;
	int err;

	txn = abmap_txn_begin(map->group);
	if (!txn)
		return -errno;
	txn->borrow = true;
	err = type == OP_ARRAY_SET ? abmap_txn_array_set(txn, map, values, n) :
				     abmap_txn_hash_set(txn, map, keys, values, n);
	if (err) {
		abmap_txn_abort(txn);
		return err;
	}
	return abmap_txn_commit(txn);
}

int abmap_array_set(struct abmap *array, const void *values, __u32 n)
{
	int err = array ? check_array_content(array, values, n) : -EINVAL;

	if (err)
		return libabmap_err(err);
	return libabmap_err(set_now(array, OP_ARRAY_SET, NULL, values, n));
}

int abmap_hash_set(struct abmap *hash, const void *keys, const void *values, __u32 n)
{
	int err = hash ? check_hash_content(hash, keys, values, n) : -EINVAL;

	if (err)
		return libabmap_err(err);
	return libabmap_err(set_now(hash, OP_HASH_SET, keys, values, n));
}

static int defer(struct abmap *map, const void *keys, const void *values, __u32 n,
		 struct abmap_switchover **so)
{
	struct abmap_group *g = map->group;
	int passive, err;

	*so = calloc(1, sizeof(**so));
	if (!*so)
		return -ENOMEM;
	err = session_begin(g);
	if (err)
		goto out_free;
	passive = passive_side(g);
	err = prepare_write(g);
	if (!err)
		err = map->kind->is_array ? map_write_array(map, passive, values, n) :
					    map_write_hash(map, passive, keys, values, n);
	if (err) {
		drop_deferred(map);
		map->ready = false;
		session_end_if_idle(g);
		goto out_free;
	}
	map->ready = true;
	if (!map->deferred) {
		map->deferred = true;
		g->nr_deferred++;
	}
	(*so)->map = map;
	(*so)->next = g->handles;
	g->handles = *so;
	map->handles++;
	(*so)->gen = g->gen;
	(*so)->cancel_epoch = map->cancel_epoch;
	return 0;

out_free:
	free(*so);
	*so = NULL;
	return err;
}

int abmap_array_set_and_defer_switchover(struct abmap *array, const void *values, __u32 n,
					 struct abmap_switchover **so)
{
	int err = array && so ? check_array_content(array, values, n) : -EINVAL;

	if (!err)
		err = defer(array, NULL, values, n, so);
	return libabmap_err(err);
}

int abmap_hash_set_and_defer_switchover(struct abmap *hash, const void *keys, const void *values,
					__u32 n, struct abmap_switchover **so)
{
	int err = hash && so ? check_hash_content(hash, keys, values, n) : -EINVAL;

	if (!err)
		err = defer(hash, keys, values, n, so);
	return libabmap_err(err);
}

static void release(struct abmap_switchover *so)
{
	struct abmap_switchover **pp;

	for (pp = &so->map->group->handles; *pp; pp = &(*pp)->next) {
		if (*pp == so) {
			*pp = so->next;
			break;
		}
	}
	so->map->handles--;
	free(so);
}

int abmap_switchover(struct abmap_switchover *so)
{
	struct abmap_group *g;
	int err = 0;

	if (!so)
		return libabmap_err(-EINVAL);
	g = so->map->group;
	/* Cancelled first: a later flip of the group by another structure does not undo that. */
	if (so->cancel_epoch != so->map->cancel_epoch) {
		err = -ECANCELED;
	} else if (g->gen > so->gen) {
		/* Already flipped by an earlier switchover or commit. */
	} else {
		err = commit(g, NULL);
		session_end_if_idle(g);
	}
	release(so);
	return libabmap_err(err);
}

int abmap_switchover_cancel(struct abmap_switchover *so)
{
	struct abmap *map;
	struct abmap_group *g;
	int err = 0;

	if (!so)
		return libabmap_err(-EINVAL);
	map = so->map;
	g = map->group;
	if (so->cancel_epoch != map->cancel_epoch) {
		/* Cancelled already (through any handle of the structure): nothing left to do. */
	} else if (g->gen > so->gen) {
		err = -EALREADY;
	} else {
		drop_deferred(map);
		map->ready = false;
		err = map_catch_up(map, passive_side(g));
		session_end_if_idle(g);
	}
	release(so);
	return libabmap_err(err);
}

/* Group teardown: withdraw what was deferred, best effort, and free every handle. */
void session_cancel_deferred(struct abmap_group *g)
{
	struct abmap *map;

	while (g->handles)
		release(g->handles);

	for (map = g->maps; map; map = map->next) {
		if (!map->deferred)
			continue;
		drop_deferred(map);
		map->ready = false;
		if (map_catch_up(map, passive_side(g)))
			pr_warn("could not restore the passive side of structure (map id %u)\n",
				map->id_a);
	}
	session_end_if_idle(g);
}
