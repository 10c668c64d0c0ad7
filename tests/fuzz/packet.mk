# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# fuzz_packet: mutated frames through the udplb object's XDP and tc programs (BPF_PROG_TEST_RUN)
# against a model (tests/fuzz/fuzz_packet.c). Needs root; embeds the skeleton.

FUZZ_BINS += $(BUILD)/fuzz/fuzz_packet
FUZZ_SMOKE_BINS += $(BUILD)/fuzz/fuzz_packet-smoke

$(BUILD)/fuzz/fuzz_packet: $(UDPLB_SKEL) bpf/udplb_shared.h
$(BUILD)/fuzz/fuzz_packet: FUZZ_CPPFLAGS += -Ibpf -I$(BUILD)/bpf
$(BUILD)/fuzz/fuzz_packet: FUZZ_LDLIBS += -lbpf -lelf -lz
