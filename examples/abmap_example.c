// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * abmap_example: a tiny controller linking libabmap.
 *
 * Loads abmap_example.bpf.c, opens its group (pointer map "config") with an array of backend ids
 * and a hash from port to backend index, changes both in one transaction, replaces the array once
 * more with a deferred switchover, then runs the XDP program once to show that it sees the new
 * configuration. Needs root (CAP_BPF); exits 0 on success.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "abmap.h"
#include "abmap_example.skel.h"

/* Run the XDP program once on a zeroed 64-byte frame; it records what it saw in .bss. */
static int run_once(struct abmap_example *skel)
{
	unsigned char frame[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = frame, .data_size_in = sizeof(frame),
		    .repeat = 1);

	return bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xdp_lookup), &run);
}

int main(void)
{
	const char *ci = getenv("CI");
	struct abmap_example *skel;
	struct abmap_group *group = NULL;
	struct abmap *backends, *ports;
	struct abmap_switchover *so;
	struct abmap_txn *txn;
	__u32 ids[] = { 101, 102 }, new_ids[] = { 201, 202, 203 };
	__u32 port, index = 1;
	__u64 gen;
	int err;

	if (geteuid() != 0) {
		printf("abmap_example: needs root (CAP_BPF) — skipped\n");
		return ci && !strcmp(ci, "true") ? 1 : 0;
	}

	skel = abmap_example__open_and_load();
	if (!skel) {
		perror("abmap_example: loading the BPF object");
		return 1;
	}
	port = skel->rodata->example_port;

	/* One group: the pointer map plus the A/B maps declared with abmap_bpf.h's macros. */
	LIBABMAP_OPTS(abmap_opts, array_opts, .len_fd = bpf_map__fd(skel->maps.backends_len));
	group = abmap_group_new(bpf_map__fd(skel->maps.config), NULL);
	if (!group)
		goto out_errno;
	backends = abmap_new(group, ABMAP_KIND_ARRAY, ABMAP_SKEL_PAIR(skel, backends), &array_opts);
	ports = abmap_new(group, ABMAP_KIND_HASH, ABMAP_SKEL_PAIR(skel, ports), NULL);
	if (!backends || !ports)
		goto out_errno;

	/* Change both structures; programs see the old or the new pair, never a mix. */
	txn = abmap_txn_begin(group);
	if (!txn)
		goto out_errno;
	err = abmap_txn_array_set(txn, backends, ids, 2);
	if (!err)
		err = abmap_txn_hash_set(txn, ports, &port, &index, 1);
	if (err) {
		abmap_txn_abort(txn);
		goto out;
	}
	err = abmap_txn_commit(txn);
	if (err)
		goto out;
	printf("abmap_example: committed backends [101 102] and port %u -> index 1 in one flip\n",
	       port);

	/* Write the array's passive side now, flip later. */
	err = abmap_array_set_and_defer_switchover(backends, new_ids, 3, &so);
	if (err)
		goto out;
	err = abmap_switchover(so);
	if (err)
		goto out;
	printf("abmap_example: switched backends to [201 202 203]\n");

	err = abmap_group_generation(group, &gen);
	if (!err)
		err = run_once(skel);
	if (err)
		goto out;
	printf("abmap_example: XDP program saw generation %llu (live: %llu): port %u -> backend %u\n",
	       (unsigned long long)skel->bss->seen_generation, (unsigned long long)gen, port,
	       skel->bss->seen_backend);
	if (skel->bss->hits != 1 || skel->bss->seen_generation != gen ||
	    skel->bss->seen_backend != new_ids[index]) {
		fprintf(stderr, "abmap_example: expected generation %llu, backend %u\n",
			(unsigned long long)gen, new_ids[index]);
		err = 1;
	}
	goto out;
out_errno:
	err = -errno;
out:
	if (err < 0)
		fprintf(stderr, "abmap_example: failed: %s\n", strerror(-err));
	else if (!err)
		printf("abmap_example: ok\n");
	abmap_group_free(group);
	abmap_example__destroy(skel);
	return err ? 1 : 0;
}
