// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * udplbd's state outside the loop: loading the data plane, putting a configuration in force
 * (probes started, stopped or restarted; health kept for backends that stay), commits, and
 * what happens at exit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon_pin.h"
#include "health_pin.h"
#include "lb_attach.h"
#include "lb_load.h"
#include "lb_neigh.h"
#include "udplbd.h"

static const char *fmt_target(const struct lb_probe_target *t, char *buf, size_t len)
{
	char vip[INET_ADDRSTRLEN], be[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &t->vip.addr, vip, sizeof(vip));
	inet_ntop(AF_INET, &t->addr, be, sizeof(be));
	snprintf(buf, len, "vip %s:%u backend %s:%u", vip, ntohs(t->vip.port), be, ntohs(t->port));
	return buf;
}

static void on_change(void *ctx, const struct lb_health_target *t, enum lb_health_state state,
		      const struct lb_probe_result *last)
{
	struct udplbd *d = ctx;
	char who[96], why[LB_PROBE_RESULT_STRLEN];

	lb_ctl_set_health(&d->ctl, &t->id.vip, t->id.addr, t->id.port,
			  state == LB_HEALTH_UP ? LB_POLICY_UP : LB_POLICY_DOWN);
	ulog(UDPLBD_NOTICE, "%s is %s (last probe: %s, %u us)",
	     fmt_target(&t->id, who, sizeof(who)), state == LB_HEALTH_UP ? "up" : "down",
	     lb_probe_result_fmt(last, why, sizeof(why)), last->rtt_us);
}

static void on_result(void *ctx, const struct lb_health_target *t, const struct lb_probe_result *r)
{
	struct udplbd *d = ctx;
	char who[96], why[LB_PROBE_RESULT_STRLEN];

	health_pin_store(d->health_fd, t);
	ulog(UDPLBD_DEBUG, "%s probe: %s, %u us", fmt_target(&t->id, who, sizeof(who)),
	     lb_probe_result_fmt(r, why, sizeof(why)), r->rtt_us);
}

/* The ctl's prepare hook: MACs of the backends (and fallbacks) the file leaves to the daemon. */
static int prepare_macs(void *ctx, const struct lb_dconf *conf, struct lb_state *desired,
			struct lb_err *err)
{
	struct udplbd *d = ctx;

	for (__u32 i = 0; i < desired->nr_vips; i++) {
		struct lb_vip *v = &desired->vips[i];
		const struct lb_dconf_vip *dv = lb_dconf_vip_find(conf, &v->key);

		for (__u32 j = 0; j < v->nr_backends; j++) {
			struct lb_backend *b = &v->backends[j];
			const struct lb_dconf_backend *db =
				lb_dconf_backend_find(conf, &v->key, b->addr, b->port);
			bool resolve = db ? db->resolve :
					    dv && dv->has_fallback && dv->fallback_resolve &&
						       dv->fallback.addr == b->addr;
			int ret;

			if (b->has_mac || !resolve)
				continue;
			ret = lb_backend_resolve_mac(d->inst.ifindex, v, b, LB_RESOLVE_PROBE, err);
			if (ret)
				return ret;
		}
	}
	return 0;
}

int udplbd_setup(struct udplbd *d, const struct lb_dconf *conf)
{
	struct lb_load_opts lo = {
		.mode = conf->mode,
		.set_seed = conf->conf.has_seed,
		.hash_seed = conf->conf.hash_seed,
	};
	struct lb_load_info info = {};
	char pin_dir[LB_PATH_MAX];
	struct lb_err err = {};
	int ifindex, ret;

	lb_ctl_init(&d->ctl);
	d->ctl.prepare = prepare_macs;
	d->ctl.ctx = d;
	d->health_fd = d->daemon_fd = d->sig_fd = d->tick_fd = d->epoll_fd = -1;
	ifindex = if_nametoindex(conf->device);
	if (!ifindex) {
		ulog(UDPLBD_ERR, "device %s: %s", conf->device, strerror(errno));
		return -ENODEV;
	}
	ret = lb_bpffs_mount(&err);
	if (!ret)
		ret = lb_pin_dir_default(conf->device, pin_dir, sizeof(pin_dir), &err);
	if (!ret)
		ret = lb_load(conf->device, ifindex, pin_dir, &lo, &info, &err);
	if (!ret)
		ret = lb_instance_open(&d->inst, conf->device, pin_dir, NULL, &err);
	if (!ret)
		ret = health_pin_open(pin_dir, &d->health_fd, &err);
	if (!ret)
		ret = lb_daemon_record(pin_dir, d->opts->file, &d->daemon_fd, &err);
	if (ret) {
		ulog(UDPLBD_ERR, "%s", err.msg);
		return ret;
	}
	d->inst_open = true;
	ulog(UDPLBD_INFO, "udplb %s on %s in %s mode (program %u, pins %s)",
	     info.replaced ? "upgraded" : "loaded", conf->device, lb_mode_name(conf->mode),
	     info.prog_id, pin_dir);
	d->engine = lb_health_engine_new(on_change, d, &err);
	if (!d->engine) {
		ulog(UDPLBD_ERR, "%s", err.msg);
		return -errno;
	}
	lb_health_engine_on_result(d->engine, on_result);
	return 0;
}

/* Start the probe of @b (or update it: the engine keeps the health of a target that exists). */
static int probe_add(struct udplbd *d, const struct lb_dconf *conf,
		     const struct lb_dconf_backend *b, const struct lb_dconf_check *c)
{
	struct lb_probe_target id = { .vip = b->vip, .addr = b->addr, .port = b->port };
	struct lb_health saved;
	struct lb_err err = {};
	char who[96];
	int ret;

	(void)conf;
	if (!id.port)
		id.port = b->vip.port;
	ret = health_pin_load(d->health_fd, &id, &saved);
	ret = lb_health_engine_add(d->engine, &id, c->spec, ret ? NULL : &saved, NULL, &err);
	if (ret < 0)
		ulog(UDPLBD_ERR, "%s: %s", fmt_target(&id, who, sizeof(who)), err.msg);
	return ret < 0 ? ret : 0;
}

static int on_probe_change(void *ctx, const struct lb_probe_change *c)
{
	struct udplbd *d = ctx;
	const struct lb_dconf_backend *b = c->new_backend ?: c->old_backend;
	struct lb_probe_target id = { .vip = b->vip, .addr = b->addr, .port = b->port };

	if (!id.port)
		id.port = b->vip.port;
	if (c->op == LB_PROBE_REMOVED) {
		lb_health_engine_del(d->engine, &id);
		health_pin_delete(d->health_fd, &id);
		return 0;
	}
	return probe_add(d, NULL, c->new_backend, c->new_check);
}

/* The ctl's health of every probed backend from the engine's (resumed or kept) state. */
static void sync_health(struct udplbd *d)
{
	__u32 n = lb_health_engine_count(d->engine);

	for (__u32 i = 0; i < n; i++) {
		const struct lb_health_target *t = lb_health_engine_at(d->engine, i);

		lb_ctl_set_health(&d->ctl, &t->id.vip, t->id.addr, t->id.port,
				  t->health.state == LB_HEALTH_UP ? LB_POLICY_UP : LB_POLICY_DOWN);
		health_pin_store(d->health_fd, t);
	}
}

/* A health entry stays while the engine probes its backend. */
static bool probed(void *ctx, const struct lb_probe_target *id)
{
	struct udplbd *d = ctx;

	return lb_health_engine_find(d->engine, id) != NULL;
}

int udplbd_apply_conf(struct udplbd *d, struct lb_dconf *conf)
{
	int ret = lb_ctl_load(&d->ctl, conf, on_probe_change, d);

	if (ret < 0) {
		ulog(UDPLBD_ERR, "cannot put the configuration in force: %s", strerror(-ret));
		return ret;
	}
	sync_health(d);
	/* Entries of backends that left the file while no daemon ran. */
	health_pin_prune(d->health_fd, probed, d);
	ulog(UDPLBD_INFO, "configuration %s: %u VIPs, %u backends, %u probes, %d probe changes",
	     d->opts->file, d->ctl.conf.nr_vips, d->ctl.conf.nr_backends,
	     lb_health_engine_count(d->engine), ret);
	return 0;
}

int udplbd_commit(struct udplbd *d, const char *why)
{
	struct lb_commit_opts co = {};
	int ret;

	if (!d->ctl.dirty)
		return 0;
	ret = lb_ctl_commit(&d->ctl, &d->inst.maps, &co);
	if (ret < 0) {
		ulog(UDPLBD_ERR, "commit (%s) failed, retrying next tick: %s", why,
		     co.err.msg[0] ? co.err.msg : strerror(-ret));
		return ret;
	}
	ulog(ret == LB_COMMIT_UNCHANGED ? UDPLBD_INFO : UDPLBD_NOTICE,
	     "commit (%s): %s, generation %llu", why,
	     ret == LB_COMMIT_UNCHANGED ? "unchanged" : "flipped",
	     (unsigned long long)co.generation);
	return 0;
}

static void unload(struct udplbd *d)
{
	struct lb_attachment at = lb_attachment_query(d->inst.ifindex);
	char pin_dir[LB_PATH_MAX], dev[IF_NAMESIZE];
	struct lb_err err = {};

	/* Both outlive the instance, closed before its pins go. */
	snprintf(pin_dir, sizeof(pin_dir), "%s", d->inst.pin_dir);
	snprintf(dev, sizeof(dev), "%s", d->inst.dev);
	if (at.mode != UDPLB_MODE_NONE && lb_prog_is_udplb(at.prog_id) &&
	    lb_detach(d->inst.ifindex, &at))
		ulog(UDPLBD_ERR, "cannot detach udplb from %s", dev);
	lb_instance_close(&d->inst);
	d->inst_open = false;
	if (lb_pin_dir_remove(pin_dir, &err))
		ulog(UDPLBD_ERR, "%s", err.msg);
	else
		ulog(UDPLBD_INFO, "udplb unloaded from %s", dev);
}

void udplbd_teardown(struct udplbd *d)
{
	lb_health_engine_free(d->engine);
	d->engine = NULL;
	health_pin_close(d->health_fd);
	d->health_fd = -1;
	lb_daemon_clear(d->daemon_fd);
	d->daemon_fd = -1;
	if (d->inst_open && d->opts->unload_on_exit)
		unload(d);
	if (d->inst_open)
		lb_instance_close(&d->inst);
	lb_ctl_free(&d->ctl);
}
