#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Writes the seed corpus of fuzz_packet into tests/fuzz/corpus/packet/: one frame per udplb path
# (each VIP of the target's configuration, tags, options, fragments, TTL, bad lengths, non-IP,
# not UDP, not a VIP), each for XDP and tc, once and twice (conntrack hit). Input format: byte 0
# = flags (bit 0 tc, bit 1 run twice), then the frame. Run from the top of the tree.
import os
import struct

OUT = "tests/fuzz/corpus/packet"
LB_MAC = bytes.fromhex("02000000000b")
CLIENT_MAC = bytes.fromhex("02000000000c")


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def frame(dst="10.0.0.1", dport=53, src="198.51.100.7", sport=40000, payload=22, tos=0,
          frag=0, ttl=64, proto=17, opts=0, tag=None, ethertype=0x0800, tot_delta=0,
          udp_delta=0, pad=0, cut=None):
    udp_len = 8 + payload
    hdr_len = 20 + 4 * opts
    tot = hdr_len + udp_len + tot_delta
    ip = struct.pack("!BBHHHBBH4s4s", 0x40 | (hdr_len // 4), tos, tot, 0x1234, frag, ttl, proto,
                     0, ip4(src), ip4(dst)) + b"\x01" * (4 * opts)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    body = struct.pack("!HHHH", sport, dport, udp_len + udp_delta, 0)
    body += bytes((i * 7 + 3) & 0xFF for i in range(payload))
    l2 = LB_MAC + CLIENT_MAC
    if tag:
        l2 += struct.pack("!HH", tag, 7)
    l2 += struct.pack("!H", ethertype)
    f = l2 + ip + body + b"\0" * pad
    return f[:cut] if cut is not None else f


SEEDS = {
    "dsr": frame(),
    "dsr-1200": frame(payload=1200),
    "dsr-1472": frame(payload=1472),
    "dsr-vlan": frame(tag=0x8100),
    "dsr-qinq-outer": frame(tag=0x88A8),
    "dsr-options": frame(opts=4),
    "dsr-padding": frame(tot_delta=-6, udp_delta=-6),
    "ipip": frame(dst="10.0.0.2"),
    "ipip-df-tos": frame(dst="10.0.0.2", frag=0x4000, tos=0xB8),
    "ipip-vlan": frame(dst="10.0.0.2", tag=0x8100),
    "ipip-options": frame(dst="10.0.0.2", opts=9),
    "ipip-srchash": frame(dst="10.0.0.5", dport=4433),
    "strict": frame(dst="10.0.0.3", dport=443),
    "strict-first-fragment": frame(dst="10.0.0.3", dport=443, frag=0x2000),
    "strict-bad-length": frame(dst="10.0.0.3", dport=443, tot_delta=10),
    "strict-bad-udp-length": frame(dst="10.0.0.3", dport=443, udp_delta=4),
    "no-backend": frame(dst="10.0.0.4"),
    "no-route": frame(dst="10.0.0.6"),
    "empty-ring": frame(dst="10.0.0.7"),
    "bogus-fwd": frame(dst="10.0.0.8"),
    "first-fragment": frame(frag=0x2000),
    "later-fragment": frame(frag=0x0005),
    "ttl-1": frame(ttl=1),
    "filter-false-positive": frame(dport=54),
    "not-vip": frame(dst="192.0.2.1"),
    "not-udp": frame(proto=6),
    "arp": frame(ethertype=0x0806),
    "ipv6-ethertype": frame(ethertype=0x86DD),
    "truncated-udp": frame(cut=14 + 20 + 4),
    "truncated-ip-length": frame(tot_delta=40),
    "short-ihl": frame()[:14] + b"\x44" + frame()[15:],
}

os.makedirs(OUT, exist_ok=True)
for name, f in SEEDS.items():
    for flags, suffix in ((0, "xdp"), (1, "tc"), (2, "xdp-twice"), (3, "tc-twice")):
        with open(os.path.join(OUT, "%s-%s" % (name, suffix)), "wb") as out:
            out.write(bytes([flags]) + f)
