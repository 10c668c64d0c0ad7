// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Kernel backend: real BPF maps.
 *
 * Writes go through mmap() for BPF_F_MMAPABLE arrays (plain stores, ~1 ns an element), else
 * bpf_map_update_batch(), else one syscall per element. The pointer map is always mmapped, so a
 * flip is one release store of the generation, visible to programs at once.
 */
#include <fcntl.h>
#include <linux/membarrier.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "fault_inject.h"
#include "internal.h"

/* The kernel's ENOTSUPP (not in userspace errno.h), returned e.g. by ARRAY batch deletes. */
#define KERNEL_ENOTSUPP 524

static int map_info(int fd, struct bpf_map_info *info)
{
	__u32 len = sizeof(*info);
	int err;

	memset(info, 0, sizeof(*info));
	err = FAULT(FAULT_MAP_INFO) ?: bpf_obj_get_info_by_fd(fd, info, &len);
	if (err) {
		pr_warn("fd %d is not a BPF map: %s\n", fd, strerror(-err));
		return err;
	}
	return 0;
}

static int dup_fd(int fd)
{
	int dup = FAULT(FAULT_DUP);

	if (dup)
		return dup;
	dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	return dup < 0 ? -errno : dup;
}

/* NULL with errno set on failure. */
static void *map_mmap(int fd, size_t size)
{
	int err = FAULT(FAULT_MMAP);
	void *mem;

	if (err) {
		errno = -err;
		return NULL;
	}
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return mem == MAP_FAILED ? NULL : mem;
}

static size_t page_round(size_t size)
{
	size_t page = sysconf(_SC_PAGESIZE);

	return (size + page - 1) / page * page;
}

static struct abmap_pointer *ptr_mem(struct abmap_group *g)
{
	return g->ptr_mem;
}

static int kernel_ptr_read(struct abmap_group *g, struct abmap_pointer *ptr)
{
	__u64 side;

	if (g->var_mode) {
		const void *var = (const __u8 *)g->ptr_mem + g->var_off;

		memset(ptr, 0, sizeof(*ptr));
		if (g->var_size == 1)
			side = __atomic_load_n((const __u8 *)var, __ATOMIC_ACQUIRE);
		else if (g->var_size == 4)
			side = __atomic_load_n((const __u32 *)var, __ATOMIC_ACQUIRE);
		else
			side = __atomic_load_n((const __u64 *)var, __ATOMIC_ACQUIRE);
		ptr->generation = (side & 1) == (g->gen & 1) ? g->gen : g->gen + 1;
		return 0;
	}
	ptr->generation = __atomic_load_n(&ptr_mem(g)->generation, __ATOMIC_ACQUIRE);
	memcpy((__u8 *)ptr + sizeof(ptr->generation),
	       (const __u8 *)ptr_mem(g) + sizeof(ptr->generation),
	       sizeof(*ptr) - sizeof(ptr->generation));
	return 0;
}

static int kernel_ptr_flip(struct abmap_group *g, const struct abmap_pointer *next)
{
	struct abmap_pointer *p = ptr_mem(g);
	int err = FAULT(FAULT_FLIP);
	void *var;

	if (err)
		return err;
	if (g->var_mode) {
		var = (__u8 *)g->ptr_mem + g->var_off;
		if (g->var_size == 1)
			__atomic_store_n((__u8 *)var, next->generation & 1, __ATOMIC_RELEASE);
		else if (g->var_size == 4)
			__atomic_store_n((__u32 *)var, next->generation & 1, __ATOMIC_RELEASE);
		else
			__atomic_store_n((__u64 *)var, next->generation & 1, __ATOMIC_RELEASE);
		return 0;
	}
	/* grace_gen belongs to the grace-period thread; everything else is ours under the lock. */
	p->passive_gen = next->passive_gen;
	p->flip_time_ns = next->flip_time_ns;
	p->writer_token = next->writer_token;
	p->writer_pid = next->writer_pid;
	p->nr_structs = next->nr_structs;
	memcpy(p->struct_ids, next->struct_ids, sizeof(p->struct_ids));
	__atomic_store_n(&p->generation, next->generation, __ATOMIC_RELEASE);
	return 0;
}

static int kernel_ptr_mark(struct abmap_group *g, __u64 passive_gen, __u64 token)
{
	int err = FAULT(FAULT_PTR_MARK);

	if (err || g->var_mode)
		return err;
	__atomic_store_n(&ptr_mem(g)->writer_token, token, __ATOMIC_RELAXED);
	__atomic_store_n(&ptr_mem(g)->passive_gen, passive_gen, __ATOMIC_RELEASE);
	return 0;
}

static void kernel_ptr_raise_grace(struct abmap_group *g, __u64 gen)
{
	__u64 cur;

	if (g->var_mode)
		return;
	cur = __atomic_load_n(&ptr_mem(g)->grace_gen, __ATOMIC_RELAXED);
	while (cur < gen && !__atomic_compare_exchange_n(&ptr_mem(g)->grace_gen, &cur, gen, false,
							 __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		;
}

/*
 * An update of an ARRAY_OF_MAPS slot from a syscall waits for a grace period itself
 * (maybe_wait_bpf_programs()): the fallback where membarrier is refused (nohz_full).
 */
static int grace_wait_map_in_map(struct abmap_group *g)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts);
	__u32 zero = 0;
	int err;

	if (g->mim_inner_fd < 0) {
		err = FAULT(FAULT_MIM_CREATE);
		g->mim_inner_fd =
			err ?: bpf_map_create(BPF_MAP_TYPE_ARRAY, "abmap_grace_in", 4, 4, 1, NULL);
		if (g->mim_inner_fd < 0)
			return g->mim_inner_fd;
	}
	if (g->mim_fd < 0) {
		opts.inner_map_fd = g->mim_inner_fd;
		err = FAULT(FAULT_MIM_CREATE);
		g->mim_fd = err	  ?:
				    bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "abmap_grace", 4, 4,
						   1, &opts);
		if (g->mim_fd < 0)
			return g->mim_fd;
	}
	return FAULT(FAULT_MIM_UPDATE) ?:
		       bpf_map_update_elem(g->mim_fd, &zero, &g->mim_inner_fd, BPF_ANY);
}

static int kernel_grace_wait(struct abmap_group *g)
{
	static bool warned;
	int err = FAULT(FAULT_MEMBARRIER);

	/* MEMBARRIER_CMD_GLOBAL is synchronize_rcu(): XDP and tc run inside RCU sections. */
	if (!err && !syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0))
		return 0;
	if (err)
		errno = -err;
	if (!warned) {
		pr_info("membarrier refused (%s): grace periods use a map-in-map update\n",
			strerror(errno));
		warned = true;
	}
	return grace_wait_map_in_map(g);
}

static bool attached(const struct abmap_group *g, __u32 id)
{
	const struct abmap *map;

	for (map = g->maps; map; map = map->next) {
		if (map->id_a == id)
			return true;
	}
	return false;
}

static int kernel_check_members(struct abmap_group *g, const struct abmap_pointer *ptr)
{
	__u32 i, nr = ptr->nr_structs < ABMAP_MAX_STRUCTS ? ptr->nr_structs : ABMAP_MAX_STRUCTS;
	int fd;

	if (g->var_mode)
		return 0;
	for (i = 0; i < nr; i++) {
		if (attached(g, ptr->struct_ids[i]))
			continue;
		fd = FAULT(FAULT_GET_FD_BY_ID) ?: bpf_map_get_fd_by_id(ptr->struct_ids[i]);
		if (fd == -ENOENT)
			continue; /* that structure is gone for good */
		if (fd < 0) {
			/* Not known to be gone: flipping could switch it to stale content. */
			pr_warn("cannot check structure with side A map id %u of the group (pointer map id %u): %s\n",
				ptr->struct_ids[i], g->ptr_id, strerror(-fd));
			return fd;
		}
		close(fd);
		pr_warn("the group (pointer map id %u) has a structure with side A map id %u that is not attached: a flip would switch it to stale content\n",
			g->ptr_id, ptr->struct_ids[i]);
		return -EINVAL;
	}
	return 0;
}

static int kernel_lookup(struct abmap_side *s, const void *key, void *value)
{
	return FAULT(FAULT_LOOKUP) ?: bpf_map_lookup_elem(s->fd, key, value);
}

static int kernel_update(struct abmap_side *s, const void *key, const void *value)
{
	return FAULT(FAULT_UPDATE) ?: bpf_map_update_elem(s->fd, key, value, BPF_ANY);
}

static int kernel_delete(struct abmap_side *s, const void *key)
{
	return FAULT(FAULT_DELETE) ?: bpf_map_delete_elem(s->fd, key);
}

static int kernel_next_key(struct abmap_side *s, const void *key, void *next_key)
{
	return FAULT(FAULT_NEXT_KEY) ?: bpf_map_get_next_key(s->fd, key, next_key);
}

static int kernel_update_batch(struct abmap_side *s, const void *keys, const void *values, __u32 n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 count = n;
	int err;

	err = FAULT(FAULT_UPDATE_BATCH);
	if (err)
		return err;
	err = bpf_map_update_batch(s->fd, keys, values, &count, &opts);
	if (err == -KERNEL_ENOTSUPP || err == -EINVAL || err == -ENOTSUP)
		return count ? err : -EOPNOTSUPP;
	return err;
}

/* Array elements [start, start + n): a batch resumes after the index it is given. */
static int kernel_read_range(struct abmap_side *s, __u32 start, void *values, __u32 n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 *keys = malloc((size_t)n * sizeof(*keys)), done = 0, prev = start - 1, count;
	int err = keys ? 0 : -ENOMEM;

	while (!err && done < n) {
		count = n - done;
		err = FAULT(FAULT_LOOKUP_BATCH);
		if (err)
			break;
		err = bpf_map_lookup_batch(s->fd, start || done ? &prev : NULL, &prev, keys + done,
					   (__u8 *)values + (size_t)done * s->map->value_size,
					   &count, &opts);
		done += count;
		if (err == -ENOENT)
			err = done == n ? 0 : -EIO;
	}
	free(keys);
	if (err == -KERNEL_ENOTSUPP || err == -ENOTSUP)
		return -EOPNOTSUPP;
	return err;
}

/* Every element of a hash side; the buffers hold max_entries (a hash never holds more). */
static int kernel_read_all(struct abmap_side *s, void *keys, void *values, __u32 *n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 max = s->map->max_entries, done = 0, count;
	/* The batch position: a bucket index for hashes, a key for the generic batch. */
	void *token = malloc(s->map->key_size + sizeof(__u64));
	int err = token ? 0 : -ENOMEM;

	while (!err && done < max) {
		count = max - done;
		err = bpf_map_lookup_batch(s->fd, done ? token : NULL, token,
					   (__u8 *)keys + (size_t)done * s->map->key_size,
					   (__u8 *)values + (size_t)done * s->map->value_size,
					   &count, &opts);
		done += count;
	}
	free(token);
	*n = done;
	if (err == -ENOENT)
		return 0;
	if (err == -KERNEL_ENOTSUPP || err == -ENOTSUP || (err == -EINVAL && !done))
		return -EOPNOTSUPP;
	return err;
}

static int kernel_len_read(struct abmap *map, int side, __u32 *len)
{
	__u32 key = side;

	return FAULT(FAULT_LEN_LOOKUP) ?: bpf_map_lookup_elem(map->len_fd, &key, len);
}

static int kernel_len_write(struct abmap *map, int side, __u32 len)
{
	__u32 key = side;

	return FAULT(FAULT_LEN_UPDATE) ?: bpf_map_update_elem(map->len_fd, &key, &len, BPF_ANY);
}

static void kernel_side_free(struct abmap_side *s)
{
	if (s->mem)
		munmap(s->mem, s->mem_size);
	if (s->fd >= 0)
		close(s->fd);
	if (s->side == ABMAP_SIDE_A && s->map->len_fd >= 0)
		close(s->map->len_fd);
	s->mem = NULL;
	s->fd = -1;
}

static void kernel_group_free(struct abmap_group *g)
{
	if (g->ptr_mem)
		munmap(g->ptr_mem, g->ptr_mem_size);
	if (g->ptr_fd >= 0)
		close(g->ptr_fd);
	if (g->mim_fd >= 0)
		close(g->mim_fd);
	if (g->mim_inner_fd >= 0)
		close(g->mim_inner_fd);
	if (g->lock_fd >= 0)
		close(g->lock_fd);
	g->lock_fd = -1;
}

const struct backend_ops kernel_backend = {
	.lookup = kernel_lookup,
	.update = kernel_update,
	.delete = kernel_delete,
	.next_key = kernel_next_key,
	.update_batch = kernel_update_batch,
	.read_range = kernel_read_range,
	.read_all = kernel_read_all,
	.len_read = kernel_len_read,
	.len_write = kernel_len_write,
	.side_free = kernel_side_free,
	.ptr_read = kernel_ptr_read,
	.ptr_flip = kernel_ptr_flip,
	.ptr_mark = kernel_ptr_mark,
	.check_members = kernel_check_members,
	.ptr_raise_grace = kernel_ptr_raise_grace,
	.grace_wait = kernel_grace_wait,
	.lock = kernel_lock,
	.unlock = kernel_unlock,
	.group_free = kernel_group_free,
	.async_grace = true,
};

static int open_pointer(struct abmap_group *g, int fd, const struct bpf_map_info *info)
{
	g->ptr_fd = dup_fd(fd);
	if (g->ptr_fd < 0)
		return g->ptr_fd;
	g->ptr_id = info->id;
	g->ptr_mem_size = page_round((size_t)info->value_size);
	g->ptr_mem = map_mmap(g->ptr_fd, g->ptr_mem_size);
	if (!g->ptr_mem) {
		pr_warn("cannot mmap pointer map id %u: %s\n", info->id, strerror(errno));
		return -errno;
	}
	return 0;
}

static int check_pointer_map(const struct bpf_map_info *info, size_t min_value_size)
{
	if (info->type != BPF_MAP_TYPE_ARRAY || info->max_entries != 1 || info->key_size != 4) {
		pr_warn("pointer map id %u must be a 1-entry BPF_MAP_TYPE_ARRAY with u32 keys (type %u, max_entries %u, key size %u)\n",
			info->id, info->type, info->max_entries, info->key_size);
		return -EINVAL;
	}
	if (!(info->map_flags & BPF_F_MMAPABLE)) {
		pr_warn("pointer map id %u must be created with BPF_F_MMAPABLE\n", info->id);
		return -EINVAL;
	}
	if (info->value_size < min_value_size) {
		pr_warn("pointer map id %u has value size %u, needs %zu\n", info->id,
			info->value_size, min_value_size);
		return -EINVAL;
	}
	return 0;
}

struct abmap_group *abmap_group_new(int pointer_fd, const struct abmap_group_opts *opts)
{
	struct bpf_map_info info;
	struct abmap_group *g;
	int err;

	err = map_info(pointer_fd, &info);
	if (!err)
		err = check_pointer_map(&info, sizeof(struct abmap_pointer));
	if (!err && info.value_size != sizeof(struct abmap_pointer)) {
		pr_warn("pointer map id %u has value size %u, struct abmap_pointer is %zu\n",
			info.id, info.value_size, sizeof(struct abmap_pointer));
		err = -EINVAL;
	}
	if (err)
		return libabmap_err_ptr(err);
	g = group_alloc(&kernel_backend, opts);
	if (!g)
		return NULL;
	err = open_pointer(g, pointer_fd, &info);
	if (!err)
		err = kernel_ptr_read(g, &g->ptr);
	if (err) {
		abmap_group_free(g);
		return libabmap_err_ptr(err);
	}
	g->gen = g->ptr.generation;
	g->grace_done = g->ptr.grace_gen;
	/* A dead writer's last flip may still have readers: start waiting now, in the background. */
	if (g->ptr.grace_gen < g->ptr.generation)
		group_request_grace(g, g->ptr.generation);
	/* Nothing in memory describes the passive side yet: tokens never match a real one. */
	g->ptr.writer_token = ~g->ptr.writer_token;
	return g;
}

struct abmap_group *abmap_group_new_var(int map_fd, size_t offset, size_t size,
					const struct abmap_group_opts *opts)
{
	struct bpf_map_info info;
	struct abmap_group *g;
	int err;

	if (size != 1 && size != 4 && size != 8) {
		pr_warn("pointer variable size must be 1, 4 or 8, not %zu\n", size);
		return libabmap_err_ptr(-EINVAL);
	}
	if (offset % size) {
		pr_warn("pointer variable at offset %zu is not aligned to its size %zu\n", offset,
			size);
		return libabmap_err_ptr(-EINVAL);
	}
	err = map_info(map_fd, &info);
	if (!err)
		err = check_pointer_map(&info, offset + size);
	if (err)
		return libabmap_err_ptr(err);
	g = group_alloc(&kernel_backend, opts);
	if (!g)
		return NULL;
	g->var_mode = true;
	g->var_off = offset;
	g->var_size = size;
	err = open_pointer(g, map_fd, &info);
	if (err) {
		abmap_group_free(g);
		return libabmap_err_ptr(err);
	}
	/* Generation 2 or 3 (parity = side); nothing says the last flip's readers are gone. */
	g->gen = 2;
	kernel_ptr_read(g, &g->ptr);
	g->gen = g->ptr.generation;
	g->grace_done = 0;
	return g;
}

static int check_same(const struct bpf_map_info *a, const struct bpf_map_info *b)
{
	const char *what = NULL;

	if (a->id == b->id)
		what = "identity (side A and side B are the same map)";
	else if (a->type != b->type)
		what = "type";
	else if (a->key_size != b->key_size)
		what = "key size";
	else if (a->value_size != b->value_size)
		what = "value size";
	else if (a->max_entries != b->max_entries)
		what = "max_entries";
	else if (a->map_flags != b->map_flags)
		what = "flags";
	if (!what)
		return 0;
	pr_warn("side A '%s' (id %u) and side B '%s' (id %u) differ in %s\n", a->name, a->id,
		b->name, b->id, what);
	return -EINVAL;
}

static int check_len_map(const struct bpf_map_info *info)
{
	if (info->type != BPF_MAP_TYPE_ARRAY || info->key_size != 4 || info->value_size != 4 ||
	    info->max_entries < 2) {
		pr_warn("length map '%s' (id %u) must be an ARRAY of >= 2 u32 values\n", info->name,
			info->id);
		return -EINVAL;
	}
	return 0;
}

static bool map_uses(const struct abmap *map, __u32 id)
{
	return id == map->id_a || id == map->id_b || (map->has_len && id == map->len_id);
}

/* A map serves one role in one structure: shared, a write to one would land in another's live side. */
static int check_unused(const struct abmap_group *g, const struct bpf_map_info *info)
{
	const struct abmap *map;

	if (info->id == g->ptr_id) {
		pr_warn("map '%s' (id %u) is the group's pointer map\n", info->name, info->id);
		return -EINVAL;
	}
	for (map = g->maps; map; map = map->next) {
		if (map_uses(map, info->id)) {
			pr_warn("map '%s' (id %u) already belongs to a structure of this group\n",
				info->name, info->id);
			return -EINVAL;
		}
	}
	return 0;
}

static int open_len_map(struct abmap *map, int len_fd, __u32 len_id)
{
	map->len_id = len_id;
	map->len_fd = dup_fd(len_fd);
	if (map->len_fd < 0)
		return map->len_fd;
	map->has_len = true;
	return 0;
}

static int check_write_path(const struct bpf_map_info *info, enum abmap_write_path path)
{
	if (path == ABMAP_WRITE_MMAP && !(info->map_flags & BPF_F_MMAPABLE)) {
		pr_warn("map '%s' (id %u) is not BPF_F_MMAPABLE: cannot write it through mmap\n",
			info->name, info->id);
		return -EINVAL;
	}
	if (path > ABMAP_WRITE_ELEMENT) {
		pr_warn("unknown write path %d\n", path);
		return -EINVAL;
	}
	return 0;
}

static int open_side(struct abmap_side *s, int fd, const struct bpf_map_info *info,
		     enum abmap_write_path path)
{
	s->fd = dup_fd(fd);
	if (s->fd < 0)
		return s->fd;
	if (!(info->map_flags & BPF_F_MMAPABLE) ||
	    (path != ABMAP_WRITE_AUTO && path != ABMAP_WRITE_MMAP))
		return 0;
	s->mem_size = page_round(array_stride(s->map) * info->max_entries);
	s->mem = map_mmap(s->fd, s->mem_size);
	if (!s->mem) {
		pr_warn("cannot mmap map '%s' (id %u): %s\n", info->name, info->id,
			strerror(errno));
		return -errno;
	}
	return 0;
}

static struct abmap *attach(struct abmap_group *g, struct kind *kind, int fd_a, int fd_b,
			    const struct abmap_opts *opts)
{
	struct bpf_map_info info[3];
	enum abmap_write_path path = OPTS_GET(opts, write_path, ABMAP_WRITE_AUTO);
	int len_fd = OPTS_GET(opts, len_fd, 0);
	struct abmap *map;
	int err;

	err = map_info(fd_a, &info[0]);
	if (!err)
		err = map_info(fd_b, &info[1]);
	if (!err)
		err = check_same(&info[0], &info[1]);
	if (!err)
		err = kind->ops.validate(&info[0]);
	if (!err)
		err = check_unused(g, &info[0]);
	if (!err)
		err = check_unused(g, &info[1]);
	if (!err)
		err = check_write_path(&info[0], path);
	if (!err && len_fd > 0 && !kind->is_array) {
		pr_warn("only arrays have a length map\n");
		err = -EINVAL;
	}
	if (!err && len_fd > 0) {
		err = map_info(len_fd, &info[2]);
		if (!err)
			err = check_len_map(&info[2]);
		if (!err)
			err = check_unused(g, &info[2]);
		if (!err && (info[2].id == info[0].id || info[2].id == info[1].id)) {
			pr_warn("length map id %u is one of the structure's sides\n", info[2].id);
			err = -EINVAL;
		}
	}
	if (err)
		return libabmap_err_ptr(err);

	map = map_alloc(g, kind, info[0].key_size, info[0].value_size, info[0].max_entries);
	if (!map)
		return libabmap_err_ptr(-ENOMEM);
	map->map_flags = info[0].map_flags;
	map->id_a = info[0].id;
	map->id_b = info[1].id;
	map->no_batch = path == ABMAP_WRITE_ELEMENT;
	err = open_side(&map->sides[0], fd_a, &info[0], path);
	if (!err)
		err = open_side(&map->sides[1], fd_b, &info[1], path);
	if (!err && len_fd > 0)
		err = open_len_map(map, len_fd, info[2].id);
	if (err) {
		map->next = NULL;
		g->be->side_free(&map->sides[0]);
		g->be->side_free(&map->sides[1]);
		keyset_free(&map->diff);
		free(map->iota);
		free(map);
		return libabmap_err_ptr(err);
	}
	map_link(map);
	return map;
}

struct abmap *abmap_new(struct abmap_group *g, const char *kind_name, int fd_a, int fd_b,
			const struct abmap_opts *opts)
{
	struct kind *kind;
	struct abmap *map;

	if (!g || !kind_name || !OPTS_VALID(opts, abmap_opts))
		return libabmap_err_ptr(-EINVAL);
	if (g->be != &kernel_backend) {
		pr_warn("fake groups take structures from abmap_fake_array_new()/abmap_fake_hash_new()\n");
		return libabmap_err_ptr(-EOPNOTSUPP);
	}
	kind = map_attach_kind(g, kind_name);
	if (!kind)
		return NULL;
	map = attach(g, kind, fd_a, fd_b, opts);
	if (!map)
		kind_put(kind);
	return map;
}
