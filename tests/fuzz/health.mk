# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# fuzz_health: the health check syntax (parse -> format -> parse equal) and the DNS reply parser
# of the dns check (lib/udplb/health). No privileges.

HEALTH_FUZZ_OBJS := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(filter-out lib/udplb/health/engine.c,\
	$(wildcard lib/udplb/health/*.c)) lib/udplb/names.c lib/udplb/parse.c lib/udplb/err.c)

FUZZ_BINS += $(BUILD)/fuzz/fuzz_health
FUZZ_SMOKE_BINS += $(BUILD)/fuzz/fuzz_health-smoke

$(BUILD)/fuzz/fuzz_health: $(HEALTH_FUZZ_OBJS) $(wildcard lib/udplb/health/*.h)
$(BUILD)/fuzz/fuzz_health: FUZZ_CPPFLAGS += -Ilib/udplb -Ibpf
