// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* udplbd's health map on bpffs (health_pin.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "health_pin.h"
#include "internal.h"
#include "lb_instance.h"
#include "map_check.h"
#include "trusted_path.h"

static const struct lb_map_want health_want = {
	.name = UDPLB_HEALTH_PIN,
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(struct udplb_health_key),
	.value_size = sizeof(struct udplb_health),
	.max_entries = UDPLB_HEALTH_MAX,
	.map_flags = BPF_F_NO_PREALLOC,
};

static int open_checked(const char *pin_dir, struct lb_err *err)
{
	char path[LB_PATH_MAX + 64];
	int fd, ret;

	ret = lb_trusted_pin(pin_dir, UDPLB_HEALTH_PIN, err);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/%s", pin_dir, UDPLB_HEALTH_PIN);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return lb_fail(err, -errno, "cannot open %s: %s", path, strerror(errno));
	ret = lb_map_check(fd, &health_want, err);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

static int create(const char *pin_dir, struct lb_err *err)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = health_want.map_flags);
	char path[LB_PATH_MAX + 64];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, UDPLB_HEALTH_PIN);
	fd = bpf_map_create(health_want.type, health_want.name, health_want.key_size,
			    health_want.value_size, health_want.max_entries, &opts);
	if (fd < 0)
		return lb_fail(err, -errno, "cannot create the health map: %s", strerror(errno));
	if (bpf_obj_pin(fd, path) || chmod(path, 0600)) {
		int ret = -errno;

		close(fd);
		unlink(path);
		return lb_fail(err, ret, "cannot pin %s: %s", path, strerror(-ret));
	}
	return fd;
}

int health_pin_open(const char *pin_dir, int *fd, struct lb_err *err)
{
	int ret = open_checked(pin_dir, err);

	if (ret == -ENOENT)
		ret = create(pin_dir, err);
	if (ret < 0)
		return ret;
	*fd = ret;
	return 0;
}

int health_pin_open_existing(const char *pin_dir, struct lb_err *err)
{
	return open_checked(pin_dir, err);
}

void health_pin_close(int fd)
{
	if (fd >= 0)
		close(fd);
}

static struct udplb_health_key key_of(const struct lb_probe_target *id)
{
	struct udplb_health_key k = { .vip = id->vip, .addr = id->addr, .port = id->port };

	return k;
}

int health_pin_lookup(int fd, const struct lb_probe_target *id, struct udplb_health *v)
{
	struct udplb_health_key k = key_of(id);

	if (fd < 0)
		return -ENOENT;
	return bpf_map_lookup_elem(fd, &k, v) ? -errno : 0;
}

static __u64 realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

void health_pin_store(int fd, const struct lb_health_target *t)
{
	struct udplb_health_key k = key_of(&t->id);
	const struct lb_health *h = &t->health;
	struct udplb_health old = {}, v = {
		.state = h->state,
		.last_cause = h->last.cause,
		.error_cause = h->last_error.cause,
		.passes = h->passes,
		.fails = h->fails,
		.last_rtt_us = h->last.rtt_us,
		.error_detail = h->last_error.detail,
		.probes = h->probes,
		.transitions = h->transitions,
	};

	if (fd < 0)
		return;
	if (!bpf_map_lookup_elem(fd, &k, &old))
		v.changed_ns = old.changed_ns;
	if (old.state != v.state || old.transitions != v.transitions)
		v.changed_ns = realtime_ns();
	bpf_map_update_elem(fd, &k, &v, BPF_ANY);
}

int health_pin_load(int fd, const struct lb_probe_target *id, struct lb_health *h)
{
	struct udplb_health v;
	int ret = health_pin_lookup(fd, id, &v);

	if (ret)
		return ret;
	memset(h, 0, sizeof(*h));
	h->state = v.state;
	h->passes = v.passes;
	h->fails = v.fails;
	h->probes = v.probes;
	h->transitions = v.transitions;
	h->last.cause = v.last_cause;
	h->last.rtt_us = v.last_rtt_us;
	h->last_error.cause = v.error_cause;
	h->last_error.detail = v.error_detail;
	return 0;
}

void health_pin_delete(int fd, const struct lb_probe_target *id)
{
	struct udplb_health_key k = key_of(id);

	if (fd >= 0)
		bpf_map_delete_elem(fd, &k);
}

int health_pin_prune(int fd, bool (*keep)(void *ctx, const struct lb_probe_target *id), void *ctx)
{
	struct udplb_health_key *gone, cur, next;
	bool first = true;
	__u32 n = 0, i;

	if (fd < 0)
		return 0;
	/* Collect first: deleting while walking a hash map can restart the walk. */
	gone = calloc(UDPLB_HEALTH_MAX, sizeof(*gone));
	if (!gone)
		return -ENOMEM;
	while (n < UDPLB_HEALTH_MAX && !bpf_map_get_next_key(fd, first ? NULL : &cur, &next)) {
		struct lb_probe_target id = { .vip = next.vip,
					      .addr = next.addr,
					      .port = next.port };

		first = false;
		cur = next;
		if (!keep(ctx, &id))
			gone[n++] = cur;
	}
	for (i = 0; i < n; i++)
		bpf_map_delete_elem(fd, &gone[i]);
	free(gone);
	return n;
}
