# xlb build. Output goes to build/.
# Sources are picked up by directory, so adding a file needs no Makefile edit.

CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
BUILD := build
O := $(BUILD)/obj

CFLAGS ?= -O2 -g
CFLAGS += -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
	  -std=gnu11 -D_GNU_SOURCE -pthread -Iuserspace/lib -Iuserspace/lbd -Il7 -Ibpf -I$(BUILD)
LDLIBS := -lev -lbpf -lelf -lz -ljansson -lcurl -lssl -lcrypto -lm -pthread

ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
BPF_CFLAGS := -O2 -g -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Wno-unused-function \
	      -I$(BUILD) -Ibpf -I/usr/include/$(shell uname -m)-linux-gnu

LIB_SRCS := $(wildcard userspace/lib/*.c) $(wildcard l7/*.c)
LBD_SRCS := $(wildcard userspace/lbd/*.c)
LIB_OBJS := $(patsubst %.c,$(O)/%.o,$(LIB_SRCS))
LBD_OBJS := $(patsubst %.c,$(O)/%.o,$(LBD_SRCS))
# lbd objects without main(), for tests that drive the controller directly
LBD_LIB_OBJS := $(filter-out $(O)/userspace/lbd/main.o,$(LBD_OBJS))

TOOL_SRCS := $(wildcard tools/*.c)
TOOLS := $(patsubst tools/%.c,$(BUILD)/%,$(TOOL_SRCS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
BPF_TEST_SRCS := $(wildcard tests/bpf/test_*.c)
BPF_TESTS := $(patsubst tests/bpf/%.c,$(BUILD)/tests/bpf_%,$(BPF_TEST_SRCS))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
BPF_HDRS := $(wildcard bpf/*.h)

ALL_HDRS := $(wildcard userspace/lib/*.h userspace/lbd/*.h l7/*.h) $(BPF_HDRS)

.PHONY: all run test check-style format clean deps unit bpf-tests fuzz bench stop
all: $(BUILD)/lbd $(TOOLS) $(BPF_OBJS) $(UNIT_TESTS) $(BPF_TESTS)

deps:
	@sh scripts/deps.sh

$(BUILD)/vmlinux.h:
	@mkdir -p $(BUILD)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) | $(BUILD)/vmlinux.h
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

$(O)/%.o: %.c $(ALL_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# maps.c includes the generated skeleton
$(O)/userspace/lbd/maps.o: $(SKELS)

$(BUILD)/lbd: $(LBD_OBJS) $(LIB_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# lbctl parses configs with every keyword lbd knows (discovery, XDP, ...):
# it links lbd's modules too.
$(BUILD)/lbctl: tools/lbctl.c $(LIB_OBJS) $(LBD_LIB_OBJS) $(ALL_HDRS)
	$(CC) $(CFLAGS) -o $@ $< $(LIB_OBJS) $(LBD_LIB_OBJS) $(LDLIBS)

$(BUILD)/%: tools/%.c $(LIB_OBJS) $(ALL_HDRS)
	$(CC) $(CFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) $(LBD_LIB_OBJS) tests/unit/t.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(LIB_OBJS) $(LBD_LIB_OBJS) $(LDLIBS)

$(BUILD)/tests/bpf_%: tests/bpf/%.c $(LIB_OBJS) $(LBD_LIB_OBJS) $(SKELS) tests/unit/t.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(LIB_OBJS) $(LBD_LIB_OBJS) $(LDLIBS)

# Each fuzzer links only the sources it exercises (FUZZ_SRCS_<name>).
FUZZ_SRCS_http1 := l7/http1.c
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(ALL_HDRS) $(LIB_SRCS)
	@mkdir -p $(dir $@)
	$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-std=gnu11 -D_GNU_SOURCE -Iuserspace/lib -Iuserspace/lbd -Il7 -Ibpf -I$(BUILD) \
		-o $@ $< $(FUZZ_SRCS_$*)

fuzz: $(FUZZERS)

run: deps all
	@sh scripts/run-demo.sh

stop:
	@sh scripts/run-demo.sh stop

test: deps
	@$(MAKE) --no-print-directory all fuzz
	@bash tests/run.sh

check-style:
	@sh scripts/check-style.sh

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)
