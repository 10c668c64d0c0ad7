#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# make demo: a lab of network namespaces (client, load balancer, three backends on one L2
# segment), udplb in front of UDP echo servers, traffic, a live backend change under traffic,
# status and stats, then everything removed. Root, Debian: installs what is missing and builds.
#
# Usage: scripts/demo.sh [xdp|xdp-generic|tc]      (default xdp-generic: works on any kernel)
set -u

MODE=${1:-xdp-generic}
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

if [ "$(id -u)" != 0 ]; then
	echo "demo: needs root (network namespaces, BPF): sudo make demo" >&2
	exit 1
fi
bash scripts/install-deps.sh >/dev/null || exit 1
make -s all e2e-tools || exit 1

# shellcheck source=../tests/e2e/lib.sh
. tests/e2e/lib.sh

step()
{
	printf '\n\033[1m== %s\033[0m\n' "$*"
}

show()
{
	printf '$ udplb -n %s %s\n' "${NS[lb1]}" "$*"
	"$UDPLB" -n "${NS[lb1]}" "$@"
}

distribution()
{
	jq -r '"sent \(.sent), received \(.received), lost \(.lost)", (.backends | to_entries[] |
		"  \(.key): \(.value) replies")' "$1"
}

e2e_init || exit 1
E2E_CMDLOG=/dev/null

step "Lab: client, LB and backends b1 b2 b3 on one segment; VIP $VIP:$VPORT on the backends' lo"
topo_create "$MODE" || exit 1
echo_start_all
ip -n "${NS[cl]}" route show | sed 's/^/  client route: /'

step "Load udplb ($MODE) on the LB and configure one VIP with weights 1, 1, 2"
E2E_LOADED+=(lb1)
show load "$DEV" --mode "$MODE" || exit 1
show vip add "$DEV" "$VIP:$VPORT" || exit 1
show backend add "$DEV" "$VIP:$VPORT" "${IP[b1]}" || exit 1
show backend add "$DEV" "$VIP:$VPORT" "${IP[b2]}" || exit 1
show backend add "$DEV" "$VIP:$VPORT" "${IP[b3]}" --weight 2 || exit 1

step "Traffic: 256 flows, 3,000 datagrams/s for 2 s; replies come back from the VIP"
out=$(mktemp)
client_run "$out" --flows 256 --rate 3000 --duration 2 || exit 1
distribution "$out"

step "Under traffic: remove b3, then add it back (each change is one atomic flip)"
client_start "$out" --flows 256 --rate 3000 --duration 4
sleep 1
show backend del "$DEV" "$VIP:$VPORT" "${IP[b3]}"
sleep 1
show backend add "$DEV" "$VIP:$VPORT" "${IP[b3]}" --weight 2
client_wait
distribution "$out"
echo "  flows that changed backend: $(jq .flows_changed "$out") (only b3's, moved while it was out)"

step "Status and stats"
show status "$DEV"
show stats "$DEV"
rm -f "$out"

step "Cleaning up"
e2e_cleanup
echo "done: namespaces removed, udplb unloaded"
