# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# make            library, BPF objects, tools, tests, examples (into build/)
# make check      every test, then every test again under ASan+UBSan (SANITIZE=1: only that)
# make check-abi  the built libabmap.so still exports every released symbol (lib/abmap/abi/)
# make install    PREFIX=/usr/local DESTDIR=
# V=1             show commands

VERSION_MAJOR := 1
VERSION := 1.0.0

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DESTDIR ?=

CC ?= gcc
CLANG ?= clang
BPFTOOL ?= bpftool
AR ?= ar

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

ifeq ($(SANITIZE),1)
BUILD ?= build/san
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else
BUILD ?= build
SAN_FLAGS :=
endif

WARN := -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=gnu11 $(WARN) $(CFLAGS) $(SAN_FLAGS) -Iinclude -Ilib -I$(BUILD) -D_GNU_SOURCE
ALL_LDFLAGS := $(LDFLAGS) $(SAN_FLAGS)
LIB_LIBS := -lbpf -lpthread

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -Iinclude -Ibpf \
	$(if $(MULTIARCH),-idirafter /usr/include/$(MULTIARCH))

LIB_SRCS := $(sort $(wildcard lib/abmap/*.c))
LIB_PIC_OBJS := $(patsubst lib/abmap/%.c,$(BUILD)/lib/abmap/pic/%.o,$(LIB_SRCS))
LIB_OBJS := $(patsubst lib/abmap/%.c,$(BUILD)/lib/abmap/%.o,$(LIB_SRCS))
SO_NAME := libabmap.so.$(VERSION_MAJOR)
LIB_SO := $(BUILD)/libabmap.so.$(VERSION)
LIB_A := $(BUILD)/libabmap.a
LIB_PC := $(BUILD)/abmap.pc

# udplb's control plane: the library (lib/udplb, static, internal) that the CLI (cmd/), the tests
# and the bench link, and the shared test code (tests/lib: fixture, packets, assertions)
UDPLB_LIB_SRCS := $(sort $(wildcard lib/udplb/*.c lib/udplb/health/*.c lib/udplb/daemon/*.c))
UDPLB_LIB_OBJS := $(patsubst lib/udplb/%.c,$(BUILD)/lib/udplb/%.o,$(UDPLB_LIB_SRCS))
UDPLB_LIB := $(BUILD)/libudplb.a
UDPLB_LIB_LIBS := -lbpf -lelf -lz -lmnl -lpthread -lmicrohttpd -lsystemd
UDPLB_CFLAGS := -Ilib/udplb -Ibpf
TESTLIB_SRCS := $(sort $(wildcard tests/lib/*.c))
CLI_SRCS := $(sort $(wildcard cmd/*.c))
CLI_OBJS := $(patsubst cmd/%.c,$(BUILD)/cmd/%.o,$(CLI_SRCS))
UDPLB_BIN := $(if $(CLI_SRCS),$(BUILD)/udplb)
# The test build of the CLI: the same sources with -DUDPLB_TESTING (test hooks such as
# UDPLB_TEST_PAUSE_BEFORE_FLIP, used by the e2e kill9 scenario), objects apart from build/cmd/
CLI_TESTING_OBJS := $(patsubst cmd/%.c,$(BUILD)/cmd-test/%.o,$(CLI_SRCS))
UDPLB_TEST_BIN := $(if $(CLI_SRCS),$(BUILD)/tests/udplb-test)

# udplbd, the health-checking daemon (cmd/udplbd)
UDPLBD_SRCS := $(sort $(wildcard cmd/udplbd/*.c))
UDPLBD_OBJS := $(patsubst cmd/%.c,$(BUILD)/cmd/%.o,$(UDPLBD_SRCS))
UDPLBD_BIN := $(if $(UDPLBD_SRCS),$(BUILD)/udplbd)

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
KTEST_BPF := $(sort $(wildcard tests/kernel/*.bpf.c))
KTEST_SKELS := $(patsubst tests/kernel/%.bpf.c,$(BUILD)/tests/kernel/%.skel.h,$(KTEST_BPF))
KTEST_SRCS := $(sort $(wildcard tests/kernel/test_*.c))
KTEST_HELPERS := $(filter-out $(KTEST_SRCS),$(sort $(wildcard tests/kernel/*.c)))
KTEST_HELPERS := $(filter-out $(KTEST_BPF),$(KTEST_HELPERS))
KTEST_BINS := $(patsubst tests/kernel/%.c,$(BUILD)/tests/kernel/%,$(KTEST_SRCS))
# The store-conformance suite: scenarios shared by a unit binary on the fake store and a kernel
# binary on real maps (both named test_conformance)
CONF_SRCS := $(sort $(wildcard tests/conformance/*.c))
CONF_BINS := $(BUILD)/tests/unit/test_conformance $(BUILD)/tests/kernel/test_conformance
# The data plane's skeleton (struct udplb), used by the CLI and the kernel tests
UDPLB_SKEL := $(BUILD)/bpf/udplb.skel.h
EXAMPLE_BPF := $(sort $(wildcard examples/*.bpf.c))
EXAMPLE_SKELS := $(patsubst examples/%.bpf.c,$(BUILD)/examples/%.skel.h,$(EXAMPLE_BPF))
EXAMPLE_SRCS := $(filter-out $(EXAMPLE_BPF),$(sort $(wildcard examples/*.c)))
EXAMPLE_BINS := $(patsubst examples/%.c,$(BUILD)/examples/%,$(EXAMPLE_SRCS))


# Benchmarks: build/bench/bench (make bench), its BPF programs, and bench-smoke (a link to the
# same binary that runs its smoke mode) for make check
BENCH_BPF := $(sort $(wildcard bench/*.bpf.c))
BENCH_SKELS := $(patsubst bench/%.bpf.c,$(BUILD)/bench/%.skel.h,$(BENCH_BPF))
BENCH_SRCS := $(filter-out $(BENCH_BPF),$(sort $(wildcard bench/*.c)))
BENCH_BIN := $(if $(BENCH_SRCS),$(BUILD)/bench/bench)
BENCH_SMOKE := $(if $(BENCH_SRCS),$(BUILD)/bench/bench-smoke)
# Table 8 times the kernel test's A/B lookup programs: one source, tests/kernel/abmap_inline.bpf.c
BENCH_KTEST_SKELS := $(BUILD)/tests/kernel/abmap_inline.skel.h

# Fuzzing: each tests/fuzz/*.mk adds its libFuzzer targets to FUZZ_BINS (make fuzz) and the
# binaries of its short smoke run to FUZZ_SMOKE_BINS (run by make check)
FUZZ_SECONDS ?= 60
FUZZ_BINS :=
FUZZ_SMOKE_BINS :=
# The rules of the included files must not become the default goal
.DEFAULT_GOAL := all
include $(wildcard tests/fuzz/*.mk)

TEST_BINS := $(UNIT_BINS) $(KTEST_BINS) $(EXAMPLE_BINS) $(BENCH_SMOKE) $(FUZZ_SMOKE_BINS)

# End-to-end tests: helper programs and the scenario runner (network namespaces, real traffic)
E2E_BPF_SRCS := $(sort $(wildcard tests/e2e/*.bpf.c))
E2E_BPF_OBJS := $(patsubst tests/e2e/%.bpf.c,$(BUILD)/tests/e2e/%.bpf.o,$(E2E_BPF_SRCS))
E2E_SRCS := $(filter-out $(E2E_BPF_SRCS),$(sort $(wildcard tests/e2e/*.c)))
E2E_BINS := $(patsubst tests/e2e/%.c,$(BUILD)/tests/e2e/%,$(E2E_SRCS))
E2E_RUN := $(if $(wildcard tests/e2e/run.sh),tests/e2e/run.sh)

.PHONY: all lib bpf tests e2e-tools examples check check-one check-abi bench demo fuzz install \
	format check-format clean
.DELETE_ON_ERROR:
.SECONDARY:

all: lib bpf tests examples $(UDPLB_BIN) $(UDPLBD_BIN)

lib: $(LIB_SO) $(LIB_A) $(LIB_PC)
bpf: $(UDPLB_SKEL)
tests: $(UNIT_BINS) $(KTEST_BINS) e2e-tools $(BENCH_SMOKE) $(UDPLB_TEST_BIN)
e2e-tools: $(E2E_BINS) $(E2E_BPF_OBJS)
examples: $(EXAMPLE_BINS)

$(BUILD)/lib/abmap/pic/%.o: lib/abmap/%.c lib/abmap/*.h include/*.h | $(BUILD)/lib/abmap/pic
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(BUILD)/lib/abmap/%.o: lib/abmap/%.c lib/abmap/*.h include/*.h | $(BUILD)/lib/abmap
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -fvisibility=hidden -c $< -o $@

$(LIB_SO): $(LIB_PIC_OBJS) lib/abmap/libabmap.map
	$(call msg,LD,$@)
	$(Q)$(CC) -shared $(ALL_LDFLAGS) -Wl,-soname,$(SO_NAME) \
		-Wl,--version-script=lib/abmap/libabmap.map $(LIB_PIC_OBJS) $(LIB_LIBS) -o $@
	$(Q)ln -sf $(notdir $@) $(BUILD)/$(SO_NAME)
	$(Q)ln -sf $(SO_NAME) $(BUILD)/libabmap.so

$(LIB_A): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(LIB_PC): lib/abmap/abmap.pc.in Makefile | $(BUILD)
	$(call msg,GEN,$@)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

# BPF objects and their skeletons
$(BUILD)/%.bpf.o: %.bpf.c include/*.h bpf/*.h
	$(call msg,CLANG,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst .,_,$(basename $(basename $(notdir $@)))) > $@

$(BUILD)/lib/udplb/%.o: lib/udplb/%.c lib/udplb/*.h include/*.h bpf/*.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) $(UDPLB_CFLAGS) -I$(BUILD)/bpf -c $< -o $@

# Checks pins against the maps the embedded program declares (its skeleton)
$(BUILD)/lib/udplb/pin_check.o $(BUILD)/lib/udplb/load.o: $(UDPLB_SKEL)

# The health-check engine (lib/udplb/health): its objects also depend on its own headers
$(filter $(BUILD)/lib/udplb/health/%,$(UDPLB_LIB_OBJS)): $(wildcard lib/udplb/health/*.h)

# The health-check engine (lib/udplb/health): its objects also depend on its own headers
$(filter $(BUILD)/lib/udplb/health/%,$(UDPLB_LIB_OBJS)): $(wildcard lib/udplb/health/*.h)
# udplbd's library (lib/udplb/daemon): its headers and the health engine's
$(filter $(BUILD)/lib/udplb/daemon/%,$(UDPLB_LIB_OBJS)): $(wildcard lib/udplb/daemon/*.h) \
	$(wildcard lib/udplb/health/*.h)

$(UDPLB_LIB): $(UDPLB_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/cmd/%.o: cmd/%.c $(wildcard cmd/*.h) lib/udplb/*.h include/*.h bpf/*.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) $(UDPLB_CFLAGS) -I$(BUILD)/bpf -c $< -o $@

$(BUILD)/cmd-test/%.o: cmd/%.c $(wildcard cmd/*.h) lib/udplb/*.h lib/abmap/*.h include/*.h bpf/*.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) -DUDPLB_TESTING $(UDPLB_CFLAGS) -I$(BUILD)/bpf -c $< -o $@

# The CLI embeds the BPF object (skeleton): its objects wait for the skeleton.
$(CLI_OBJS) $(CLI_TESTING_OBJS): $(BUILD)/bpf/udplb.skel.h

$(UDPLB_BIN): $(CLI_OBJS) $(UDPLB_LIB) $(LIB_A)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CLI_OBJS) $(UDPLB_LIB) $(LIB_A) $(ALL_LDFLAGS) $(UDPLB_LIB_LIBS) -o $@

$(UDPLB_TEST_BIN): $(CLI_TESTING_OBJS) $(UDPLB_LIB) $(LIB_A)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CLI_TESTING_OBJS) $(UDPLB_LIB) $(LIB_A) $(ALL_LDFLAGS) $(UDPLB_LIB_LIBS) -o $@

$(UDPLBD_OBJS): $(wildcard cmd/udplbd/*.h) $(wildcard lib/udplb/daemon/*.h) \
	$(wildcard lib/udplb/health/*.h)

$(UDPLBD_BIN): $(UDPLBD_OBJS) $(UDPLB_LIB) $(LIB_A)
	$(call msg,LD,$@)
	$(Q)$(CC) $(UDPLBD_OBJS) $(UDPLB_LIB) $(LIB_A) $(ALL_LDFLAGS) $(UDPLB_LIB_LIBS) -o $@

$(CONF_BINS): $(CONF_SRCS) $(wildcard tests/conformance/*.h)

$(BUILD)/tests/unit/%: tests/unit/%.c tests/unit/*.h $(UDPLB_LIB) $(LIB_A) include/*.h \
		$(wildcard lib/udplb/daemon/*.h)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit -Itests/conformance $(UDPLB_CFLAGS) $< \
		$(filter $(CONF_SRCS),$^) $(UDPLB_LIB) $(LIB_A) $(ALL_LDFLAGS) -lcmocka \
		$(UDPLB_LIB_LIBS) -lm -o $@

# Unit tests of the command line: the CLI's objects with tests/unit/cli_stubs.c in place of its
# kernel layer (cmd/instance.c)
CLI_TEST_OBJS := $(filter-out $(BUILD)/cmd/main.o $(BUILD)/cmd/instance.o,$(CLI_OBJS))
$(BUILD)/tests/unit/test_cli_args: tests/unit/test_cli_args.c tests/unit/cli_stubs.c \
		tests/unit/*.h $(CLI_TEST_OBJS) $(UDPLB_LIB) $(LIB_A)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit -Icmd $(UDPLB_CFLAGS) $< tests/unit/cli_stubs.c \
		$(CLI_TEST_OBJS) $(UDPLB_LIB) $(LIB_A) $(ALL_LDFLAGS) -lcmocka $(UDPLB_LIB_LIBS) -o $@

# BPF programs of the kernel tests share layouts with their test through tests/kernel/*.h
$(patsubst tests/kernel/%.bpf.c,$(BUILD)/tests/kernel/%.bpf.o,$(KTEST_BPF)): $(wildcard tests/kernel/*.h)

# Test programs that #include "udplb.bpf.c" (tests/kernel/udplb_*.bpf.c)
$(patsubst tests/kernel/%.bpf.c,$(BUILD)/tests/kernel/%.bpf.o,\
	$(filter tests/kernel/udplb_%,$(KTEST_BPF))): bpf/udplb.bpf.c

$(BUILD)/tests/kernel/%: tests/kernel/%.c $(KTEST_HELPERS) tests/kernel/*.h $(KTEST_SKELS) \
		$(TESTLIB_SRCS) $(wildcard tests/lib/*.h) $(UDPLB_SKEL) $(UDPLB_LIB) $(LIB_A)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/kernel -Itests/lib -Itests/conformance \
		-I$(BUILD)/tests/kernel $(UDPLB_CFLAGS) -I$(BUILD)/bpf $< $(filter $(CONF_SRCS),$^) \
		$(KTEST_HELPERS) $(TESTLIB_SRCS) $(UDPLB_LIB) $(LIB_A) $(ALL_LDFLAGS) -lcmocka \
		$(UDPLB_LIB_LIBS) -o $@

$(BUILD)/tests/e2e/%: tests/e2e/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) $< $(ALL_LDFLAGS) -o $@

$(BUILD)/examples/%: examples/%.c $(EXAMPLE_SKELS) $(LIB_A)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) -I$(BUILD)/examples $< $(LIB_A) $(ALL_LDFLAGS) $(LIB_LIBS) -o $@

$(BENCH_BIN): $(BENCH_SRCS) bench/*.h $(BENCH_SKELS) $(BENCH_KTEST_SKELS) $(UDPLB_SKEL) \
		$(TESTLIB_SRCS) $(wildcard tests/lib/*.h) tests/kernel/abmap_inline.h $(UDPLB_LIB) \
		$(LIB_A)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) $(UDPLB_CFLAGS) -Itests/lib -I$(BUILD)/bpf -I$(BUILD)/bench \
		-Itests/kernel -I$(BUILD)/tests/kernel \
		$(BENCH_SRCS) $(TESTLIB_SRCS) $(UDPLB_LIB) $(LIB_A) $(ALL_LDFLAGS) $(UDPLB_LIB_LIBS) \
		-lm -o $@

$(BENCH_SMOKE): $(BENCH_BIN)
	$(Q)ln -sf bench $@

# Every benchmark, one table each (root for the kernel rows); the numbers also as JSON and
# markdown. Serialize with other kernel users: flock /tmp/udplb-kernel.lock make bench
bench: $(BENCH_BIN)
	$(Q)$(BENCH_BIN) --json $(BUILD)/bench.json --markdown $(BUILD)/bench.md

$(BUILD) $(BUILD)/lib/abmap $(BUILD)/lib/abmap/pic:
	$(Q)mkdir -p $@

# Tests: plain build first, then the same tests under ASan+UBSan.
check:
ifeq ($(SANITIZE),1)
	$(Q)$(MAKE) --no-print-directory check-one SANITIZE=1
else
	$(Q)$(MAKE) --no-print-directory check-one
	@# ASan sees only userspace: the sanitized pass runs the e2e scenarios in one mode
	$(Q)E2E_MODES="$${E2E_MODES:-xdp-generic}" $(MAKE) --no-print-directory check-one SANITIZE=1
endif

check-one: all $(FUZZ_SMOKE_BINS)
	$(Q)E2E_BUILD=$(BUILD) scripts/run-tests.sh $(BUILD) $(TEST_BINS) $(E2E_RUN)

# Released symbols (lib/abmap/abi/libabmap.so.$(VERSION_MAJOR).symbols) still exported, same nodes
check-abi: $(LIB_SO)
	$(Q)scripts/check-abi.sh $(LIB_SO) lib/abmap/abi/libabmap.so.$(VERSION_MAJOR).symbols

# Every libFuzzer target FUZZ_SECONDS seconds on its seed corpus (tests/fuzz/run.sh)
fuzz: $(FUZZ_BINS)
	$(Q)tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

# A lab of namespaces with live traffic (root). MODE=xdp|xdp-generic|tc
demo:
	$(Q)scripts/demo.sh $(MODE)

install: lib
	$(Q)install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)
	$(Q)install -m 0755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/
	$(Q)ln -sf libabmap.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SO_NAME)
	$(Q)ln -sf $(SO_NAME) $(DESTDIR)$(LIBDIR)/libabmap.so
	$(Q)install -m 0644 $(LIB_A) $(DESTDIR)$(LIBDIR)/
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' lib/abmap/abmap.pc.in \
		> $(DESTDIR)$(LIBDIR)/pkgconfig/abmap.pc
	$(Q)install -m 0644 include/abmap.h include/abmap_fake.h include/abmap_shared.h \
		include/abmap_bpf.h $(DESTDIR)$(INCLUDEDIR)/

FORMAT_FILES = $(shell git ls-files -co --exclude-standard -- '*.c' '*.h')

format:
	$(Q)clang-format -i $(FORMAT_FILES)

check-format:
	$(Q)clang-format --dry-run -Werror $(FORMAT_FILES)

clean:
	$(Q)rm -rf build
