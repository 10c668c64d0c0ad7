# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# libFuzzer targets of the command line (included by the Makefile), built and smoke-run by the
# conventions of tests/fuzz/fuzz.mk:
#   fuzz_apply  the apply format: parse -> validate -> commit on the fake store -> read back
#               equal -> second commit unchanged -> written back, parsed equal
#   fuzz_dconf  udplbd's configuration file: parse -> written back, parsed to the same text ->
#               the policy gives a valid state for health states from the input and all down
#   fuzz_cli    the whole argument parser (cmd/), the kernel layer stubbed (tests/unit/cli_stubs.c)
# Seeds in tests/fuzz/corpus/{apply,dconf,cli}/.

# The control plane and libabmap, instrumented; the CLI without main() and without its kernel
# layer (cmd/instance.c), which tests/unit/cli_stubs.c replaces
CLI_FUZZ_CORE_OBJS := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(UDPLB_LIB_SRCS) $(LIB_SRCS))
CLI_FUZZ_CMD_OBJS := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,\
	$(filter-out cmd/main.c cmd/instance.c,$(CLI_SRCS)) tests/unit/cli_stubs.c)
CLI_FUZZ_BINS := $(BUILD)/fuzz/fuzz_apply $(BUILD)/fuzz/fuzz_dconf $(BUILD)/fuzz/fuzz_cli

FUZZ_BINS += $(CLI_FUZZ_BINS)
FUZZ_SMOKE_BINS += $(BUILD)/fuzz/fuzz_apply-smoke $(BUILD)/fuzz/fuzz_dconf-smoke \
	$(BUILD)/fuzz/fuzz_cli-smoke

$(CLI_FUZZ_BINS): $(CLI_FUZZ_CORE_OBJS) $(wildcard cmd/*.h) lib/udplb/*.h lib/abmap/*.h bpf/*.h
$(BUILD)/fuzz/fuzz_cli: $(CLI_FUZZ_CMD_OBJS)
$(CLI_FUZZ_CORE_OBJS) $(CLI_FUZZ_CMD_OBJS): $(wildcard cmd/*.h) lib/udplb/*.h lib/abmap/*.h bpf/*.h
$(CLI_FUZZ_CORE_OBJS) $(CLI_FUZZ_CMD_OBJS): $(UDPLB_SKEL)
# Target-specific: the objects above, built for these targets, get the same flags
$(CLI_FUZZ_BINS): FUZZ_CPPFLAGS += -Ilib -Ilib/udplb -Icmd -Ibpf -I$(BUILD)/bpf -Itests/unit
$(CLI_FUZZ_BINS): FUZZ_LDLIBS += -lbpf -lelf -lz -lmnl -lpthread -lmicrohttpd -lsystemd -lm
