#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Install what building and testing udplb + libabmap needs on Debian bookworm, and mount bpffs.
# Run as root: sudo scripts/install-deps.sh. Idempotent: when every package is already installed,
# apt is not run at all.
set -euo pipefail

PACKAGES=(
	# compilers and build tools (gcc's ASan/UBSan runtimes come with gcc)
	build-essential gcc make pkg-config git
	# BPF: clang/llvm 14 compile *.bpf.c, bpftool generates skeletons
	clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool
	# udplbd: the metrics endpoint (HTTP) and systemd notifications
	libmicrohttpd-dev libsystemd-dev
	# netlink (the control plane reads the neighbour table with RTM_GETNEIGH)
	libmnl-dev
	# clang's sanitizer runtimes and libFuzzer (make CC=clang SANITIZE=1, make fuzz)
	libclang-rt-14-dev
	# tests
	libcmocka-dev iproute2 ethtool iputils-ping jq util-linux
	# tests of udplbd: promtool (prometheus) checks the metrics text, systemd-analyze the unit
	prometheus systemd
	# make format / make check-format
	clang-format
)

say()
{
	printf 'install-deps: %s\n' "$*"
}

missing=()
for pkg in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
	[ "$status" = installed ] || missing+=("$pkg")
done

if [ "${#missing[@]}" -eq 0 ]; then
	say "all ${#PACKAGES[@]} packages already installed, skipping apt"
else
	if [ "$(id -u)" -ne 0 ]; then
		say "missing packages: ${missing[*]}" >&2
		say "run as root: sudo $0" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	say "missing: ${missing[*]}"
	say "apt-get update"
	apt-get -q update
	say "apt-get install -y --no-install-recommends ${PACKAGES[*]}"
	apt-get -q -o Dpkg::Use-Pty=0 install -y --no-install-recommends "${PACKAGES[@]}"
fi

# libbpf pins and tests expect bpffs at /sys/fs/bpf; a fresh machine may not have it mounted.
if mountpoint -q /sys/fs/bpf 2>/dev/null; then
	say "bpffs already mounted at /sys/fs/bpf"
elif [ "$(id -u)" -ne 0 ]; then
	say "bpffs is not mounted at /sys/fs/bpf; run as root to mount it" >&2
	exit 1
else
	say "mount -t bpf bpf /sys/fs/bpf"
	mkdir -p /sys/fs/bpf
	mount -t bpf bpf /sys/fs/bpf
fi

say "done: $(clang --version | head -n 1); $(bpftool version 2>/dev/null | head -n 1)"
