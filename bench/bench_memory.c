// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Benchmark 6: memory.
 *
 * Kernel: the "memlock" line of every udplb map's /proc/self/fdinfo entry (what the kernel
 * charges for the map), split into what each VIP, each backend and each conntrack flow costs.
 * Every map is preallocated at its maximum size when udplb loads, so these are capacities: the
 * memory does not grow with the configuration.
 *
 * Userspace: the RSS of a controller, measured in fresh child processes (bench --rss-child MODE,
 * so nothing of the bench itself is counted):
 *   model  a controller's desired state for 64 VIPs x 1,000 backends (struct lb_state), then
 *          the 64 Maglev tables (M = 65,537) a commit of it computes. 64,000 backends exceed
 *          what udplb's maps hold (UDPLB_MAX_BACKENDS, 17 default rings), so this state is built
 *          directly, not through lb_backend_add(), and cannot be committed;
 *   live   a controller process at the data plane's limits: udplb loaded, lb_maps_open_obj(), 16
 *          VIPs x 256 backends (4,096) committed with lb_commit(). RssFile counts the pages of
 *          the mmapped A/B maps libabmap has touched.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/in.h>
#include <sys/wait.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench.h"
#include "maglev.h"
#include "udplb_fixture.h"
#include "udplb_shared.h"
#include "udplb.skel.h"

#define MODEL_VIPS 64
#define MODEL_BACKENDS 1000
#define SMOKE_MODEL_VIPS 8
#define SMOKE_MODEL_BACKENDS 100
#define LIVE_VIPS 16
#define LIVE_BACKENDS 256

/* ---------------------------------------------------------------------------------------------
 * /proc
 */

/* A "Name:  N kB" line of /proc/self/status, in KiB; 0 if absent. */
static unsigned long status_kb(const char *key)
{
	size_t klen = strlen(key);
	unsigned long v = 0;
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			v = strtoul(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* The memlock line of a map fd's fdinfo, in bytes; 0 if absent. */
static unsigned long long fd_memlock(int fd)
{
	unsigned long long v = 0;
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "memlock:", 8)) {
			v = strtoull(line + 8, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* ---------------------------------------------------------------------------------------------
 * Child processes
 */

static void print_rss(const char *what)
{
	printf("%s_rss %lu\n%s_anon %lu\n%s_file %lu\n", what, status_kb("VmRSS"), what,
	       status_kb("RssAnon"), what, status_kb("RssFile"));
}

static int child_model(__u32 nvips, __u32 nbe)
{
	struct maglev_backend *mb = NULL;
	__u32 **tables = NULL, v, b;
	struct lb_state s;
	int e = 0;

	print_rss("base");
	lb_state_init(&s);
	s.vips = calloc(nvips, sizeof(*s.vips));
	tables = calloc(nvips, sizeof(*tables));
	mb = calloc(nbe, sizeof(*mb));
	if (!s.vips || !tables || !mb) {
		e = -ENOMEM;
		goto out;
	}
	s.cap_vips = nvips;
	/* What lb_vip_add() and lb_backend_add() would store, sorted as they keep it. */
	for (v = 0; v < nvips; v++) {
		struct lb_vip *vip = &s.vips[v];

		vip->key.addr = htonl(0x0a000000u + v + 1);
		vip->key.port = htons(53);
		vip->key.proto = IPPROTO_UDP;
		vip->fwd = UDPLB_FWD_DSR;
		vip->ring_size = MAGLEV_DEFAULT_M;
		vip->backends = calloc(nbe, sizeof(*vip->backends));
		if (!vip->backends) {
			e = -ENOMEM;
			goto out;
		}
		s.nr_vips++;
		vip->cap_backends = nbe;
		for (b = 0; b < nbe; b++) {
			vip->backends[b] = tl_backend(htonl(0x0b000000u + v * 65536 + b + 1),
						      vip->key.port, 1, UDPLB_BACKEND_ACTIVE,
						      (__u8)b);
		}
		vip->nr_backends = nbe;
	}
	print_rss("model");
	for (v = 0; v < nvips; v++) {
		for (b = 0; b < nbe; b++) {
			mb[b].addr = s.vips[v].backends[b].addr;
			mb[b].port = s.vips[v].backends[b].port;
			mb[b].weight = s.vips[v].backends[b].weight;
			mb[b].id = v * nbe + b;
		}
		tables[v] = malloc(MAGLEV_DEFAULT_M * sizeof(**tables));
		if (!tables[v]) {
			e = -ENOMEM;
			goto out;
		}
		e = maglev_build(mb, nbe, MAGLEV_DEFAULT_M, LB_MAGLEV_SEED, tables[v]);
		if (e)
			goto out;
	}
	print_rss("tables");
out:
	for (v = 0; tables && v < nvips; v++)
		free(tables[v]);
	free(tables);
	free(mb);
	lb_state_free(&s);
	return e;
}

static int child_live(void)
{
	struct abmap_group_opts go;
	struct lb_commit_opts co;
	struct udplb *lb;
	struct lb_maps maps;
	struct lb_state s;
	struct lb_err le;
	const char *lock_dir = getenv("BENCH_LOCK_DIR");
	__u32 v, b;
	int e = 0;

	print_rss("base");
	libbpf_set_print(NULL);
	lb = udplb__open_and_load();
	if (!lb)
		return -errno;
	print_rss("loaded");
	memset(&go, 0, sizeof(go));
	go.sz = sizeof(go);
	go.lock_dir = lock_dir;
	go.lock_timeout_ms = 10000;
	e = lb_maps_open_obj(&maps, lb->obj, &go);
	if (e)
		goto out_lb;
	lb_state_init(&s);
	memset(&le, 0, sizeof(le));
	for (v = 0; !e && v < LIVE_VIPS; v++) {
		struct lb_vip vip;

		memset(&vip, 0, sizeof(vip));
		vip.key.addr = htonl(0x0a000000u + v + 1);
		vip.key.port = htons(53);
		vip.key.proto = IPPROTO_UDP;
		vip.fwd = UDPLB_FWD_DSR;
		vip.ring_size = MAGLEV_DEFAULT_M;
		e = lb_vip_add(&s, &vip, &le);
		for (b = 0; !e && b < LIVE_BACKENDS; b++) {
			struct lb_backend be = tl_backend(htonl(0x0b000000u + v * 65536 + b + 1),
							  vip.key.port, 1, 0, (__u8)b);

			e = lb_backend_add(&s, &vip.key, &be, &le);
		}
	}
	print_rss("model");
	if (!e) {
		memset(&co, 0, sizeof(co));
		e = lb_commit(&maps, &s, &co);
		if (e > 0)
			e = 0;
		if (e)
			le = co.err;
	}
	if (e)
		fprintf(stderr, "bench: live controller: %s (%s)\n", strerror(-e), le.msg);
	else
		print_rss("committed");
	lb_state_free(&s);
	lb_maps_close(&maps);
out_lb:
	udplb__destroy(lb);
	return e;
}

int bench_rss_child(const char *mode)
{
	int e;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(mode, "model"))
		e = child_model(MODEL_VIPS, MODEL_BACKENDS);
	else if (!strcmp(mode, "model-smoke"))
		e = child_model(SMOKE_MODEL_VIPS, SMOKE_MODEL_BACKENDS);
	else if (!strcmp(mode, "live"))
		e = child_live();
	else
		e = -EINVAL;
	if (e)
		fprintf(stderr, "bench: --rss-child %s: %s\n", mode, strerror(-e));
	return e ? 1 : 0;
}

/* ---------------------------------------------------------------------------------------------
 * Parent
 */

#define MAX_KEYS 24

struct child_out {
	char key[MAX_KEYS][32];
	unsigned long val[MAX_KEYS];
	unsigned int n;
};

static int run_child(const char *mode, struct child_out *out, char *err, size_t len)
{
	char buf[4096], *line, *save = NULL;
	size_t used = 0;
	int pfd[2], status;
	ssize_t got;
	pid_t pid;

	memset(out, 0, sizeof(*out));
	if (pipe2(pfd, O_CLOEXEC)) {
		snprintf(err, len, "pipe: %s", strerror(errno));
		return -errno;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		snprintf(err, len, "fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return -errno;
	}
	if (pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		execl(cfg.self_exe, "bench", "--rss-child", mode, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	while (used < sizeof(buf) - 1 &&
	       (got = read(pfd[0], buf + used, sizeof(buf) - 1 - used)) > 0)
		used += (size_t)got;
	buf[used] = '\0';
	close(pfd[0]);
	if (waitpid(pid, &status, 0) < 0) {
		snprintf(err, len, "waitpid: %s", strerror(errno));
		return -errno;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		snprintf(err, len, "child (--rss-child %s) failed, status %#x", mode, status);
		return -EIO;
	}
	for (line = strtok_r(buf, "\n", &save); line && out->n < MAX_KEYS;
	     line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%31s %lu", out->key[out->n], &out->val[out->n]) == 2)
			out->n++;
	}
	return 0;
}

static long child_val(const struct child_out *o, const char *key)
{
	unsigned int i;

	for (i = 0; i < o->n; i++)
		if (!strcmp(o->key[i], key))
			return (long)o->val[i];
	return -1;
}

struct map_mem {
	const char *name;
	unsigned long long bytes;
};

static unsigned long long mem_of(const struct map_mem *mm, unsigned int n, const char *name)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (!strcmp(mm[i].name, name))
			return mm[i].bytes;
	return 0;
}

static void kernel_rows(struct table *t, int r_total, int r_vip, int r_ring, int r_be, int r_ct)
{
	struct map_mem mm[32];
	unsigned long long total = 0;
	struct bpf_map *map;
	unsigned int n = 0;
	char err[BENCH_MSG_LEN];
	int e;

	e = lbfx_setup(err, sizeof(err));
	if (e) {
		row_fail(t, r_total, "%s", err);
		row_fail(t, r_vip, "%s", err);
		row_fail(t, r_ring, "%s", err);
		row_fail(t, r_be, "%s", err);
		row_fail(t, r_ct, "%s", err);
		return;
	}
	bpf_object__for_each_map(map, fx.lb->obj) {
		int fd = bpf_map__fd(map);

		if (fd < 0 || n >= ARRAY_SIZE(mm))
			continue;
		mm[n].name = bpf_map__name(map);
		mm[n].bytes = fd_memlock(fd);
		total += mm[n].bytes;
		n++;
	}
	if (!total) {
		row_fail(t, r_total, "no memlock line in /proc/self/fdinfo");
		return;
	}
	row_add(t, r_total, total / 1048576.0);
	row_add(t, r_vip,
		(double)(mem_of(mm, n, "vips_a") + mem_of(mm, n, "vips_b") +
			 mem_of(mm, n, "vip_stats")) /
			UDPLB_MAX_VIPS);
	row_add(t, r_ring,
		(double)(mem_of(mm, n, "ring_a") + mem_of(mm, n, "ring_b")) / UDPLB_RING_SLOTS *
			UDPLB_RING_DEFAULT / 1024);
	row_add(t, r_be,
		(double)(mem_of(mm, n, "backends_a") + mem_of(mm, n, "backends_b") +
			 mem_of(mm, n, "backend_stats")) /
			UDPLB_MAX_BACKENDS);
	row_add(t, r_ct, (double)mem_of(mm, n, "conntrack") / UDPLB_CT_ENTRIES);
	{
		char list[BENCH_NOTE_LEN - 32];
		size_t off = 0;
		unsigned int i;

		for (i = 0; i < n && off < sizeof(list); i++)
			off += snprintf(list + off, sizeof(list) - off, "%s%s %.0f KiB",
					i ? ", " : "", mm[i].name, mm[i].bytes / 1024.0);
		table_note(t, "memlock by map: %s", list);
	}
}

struct table *bench_memory(void)
{
	__u32 mv = cfg.smoke ? SMOKE_MODEL_VIPS : MODEL_VIPS;
	__u32 mb = cfg.smoke ? SMOKE_MODEL_BACKENDS : MODEL_BACKENDS;
	int r_total, r_vip, r_ring, r_be, r_ct, r_model, r_tables, r_mrss, r_live, r_anon, r_file;
	char err[BENCH_MSG_LEN], name[96];
	struct child_out o;
	struct table *t;
	unsigned int r;

	t = table_new("memory", "", "6. Memory: kernel maps (fdinfo memlock) and controller RSS");
	if (!t)
		return NULL;
	r_total = table_row(t, "kernel: all udplb maps (preallocated, max sizes)", "MiB", -1);
	r_vip = table_row(t, "kernel: per VIP (vips A+B, vip_stats)", "bytes", -1);
	r_ring = table_row(t, "kernel: per VIP ring of 65,537 slots (ring A+B)", "KiB", -1);
	r_be = table_row(t, "kernel: per backend (backends A+B, backend_stats)", "bytes", -1);
	r_ct = table_row(t, "kernel: per conntrack flow", "bytes", -1);
	snprintf(name, sizeof(name), "controller state, %u VIPs x %s backends (lb_state)", mv,
		 grp(mb));
	r_model = table_row(t, name, "KiB", -1);
	snprintf(name, sizeof(name), "  + its %u Maglev tables (M = 65,537)", mv);
	r_tables = table_row(t, name, "KiB", -1);
	r_mrss = table_row(t, "  controller process VmRSS, state + tables", "KiB", -1);
	snprintf(name, sizeof(name), "live controller, %u VIPs x %u backends committed: VmRSS",
		 LIVE_VIPS, LIVE_BACKENDS);
	r_live = table_row(t, name, "KiB", -1);
	r_anon = table_row(t, "  of which RssAnon (heap)", "KiB", -1);
	r_file = table_row(t, "  of which RssFile (mmapped A/B maps, libraries)", "KiB", -1);
	table_note(t,
		   "per-VIP/-backend/-flow costs are the maps' memlock divided by their "
		   "capacity (%s VIPs, %s backends, %s ring slots, %s flows); percpu counters "
		   "scale with the CPUs (%d here)",
		   grp(UDPLB_MAX_VIPS), grp(UDPLB_MAX_BACKENDS), grp(UDPLB_RING_SLOTS),
		   grp(UDPLB_CT_ENTRIES), libbpf_num_possible_cpus());
	table_note(t,
		   "%u x %s backends %s udplb's maps (%s backends, 17 default rings): the "
		   "controller state is built directly (not through lb_backend_add(), which caps "
		   "it) and measured without a commit; the live controller runs at the maps' "
		   "limits",
		   mv, grp(mb),
		   mv * mb > UDPLB_MAX_BACKENDS ? "exceed" : "(smoke: small) would fit",
		   grp(UDPLB_MAX_BACKENDS));

	progress("6: memory");
	if (cfg.kernel) {
		kernel_rows(t, r_total, r_vip, r_ring, r_be, r_ct);
	} else {
		int rows[] = { r_total, r_vip, r_ring, r_be, r_ct, r_live, r_anon, r_file };
		unsigned int i;

		for (i = 0; i < ARRAY_SIZE(rows); i++) {
			t->rows[rows[i]].state = ROW_SKIPPED;
			snprintf(t->rows[rows[i]].msg, BENCH_MSG_LEN, "needs root (BPF maps)");
		}
	}
	if (cfg.kernel)
		setenv("BENCH_LOCK_DIR", cfg.lock_dir, 1);
	for (r = 0; r < cfg.reps; r++) {
		if (run_child(cfg.smoke ? "model-smoke" : "model", &o, err, sizeof(err))) {
			row_fail(t, r_model, "%s", err);
			row_fail(t, r_tables, "%s", err);
			row_fail(t, r_mrss, "%s", err);
		} else if (child_val(&o, "tables_rss") < 0) {
			row_fail(t, r_model, "the child printed no RSS");
			row_fail(t, r_tables, "the child printed no RSS");
			row_fail(t, r_mrss, "the child printed no RSS");
		} else {
			row_add(t, r_model, child_val(&o, "model_rss") - child_val(&o, "base_rss"));
			row_add(t, r_tables,
				child_val(&o, "tables_rss") - child_val(&o, "model_rss"));
			row_add(t, r_mrss, child_val(&o, "tables_rss"));
		}
		if (!cfg.kernel)
			continue;
		if (run_child("live", &o, err, sizeof(err))) {
			row_fail(t, r_live, "%s", err);
			row_fail(t, r_anon, "%s", err);
			row_fail(t, r_file, "%s", err);
		} else if (child_val(&o, "committed_rss") < 0) {
			row_fail(t, r_live, "the child did not commit");
			row_fail(t, r_anon, "the child did not commit");
			row_fail(t, r_file, "the child did not commit");
		} else {
			row_add(t, r_live, child_val(&o, "committed_rss"));
			row_add(t, r_anon, child_val(&o, "committed_anon"));
			row_add(t, r_file, child_val(&o, "committed_file"));
		}
	}
	return t;
}
