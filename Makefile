# memtrace build. Shape after libbpf-bootstrap: clang -target bpf -> .bpf.o ->
# bpftool gen skeleton -> userspace objects that depend on the skeleton header.
#
#   make            build build/memtrace
#   make demo       install deps, build, run memtrace on the bundled demo
#   make test       install deps, build, run every test (unit + e2e; e2e need root)
#   make check      build and run every test (and scripts/check-layers), without installing deps
#   make unit       unit tests only (no root)
#   make asan       unit + e2e tests built with ASan+UBSan (build-asan/)
#   make bench      overhead benchmark -> docs/benchmarks.md
#   make install PREFIX=/usr/local   |   make clean
#
# Overridable: CLANG, BPFTOOL, CXX, ARCH, BUILD, V=1 (show commands).

CLANG ?= clang
BPFTOOL ?= bpftool
CXX ?= g++
CC ?= gcc
ARCH ?= $(shell uname -m | sed 's/x86_64/x86/' | sed 's/aarch64/arm64/')
BUILD ?= build
PREFIX ?= /usr/local
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
SANITIZE ?=

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SUFFIXES:

WARN := -Wall -Wextra -Werror -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align \
	-Wunused -Woverloaded-virtual -Wformat=2 -Wimplicit-fallthrough
CXXFLAGS ?= -O2 -g
# GCC 12 reports false maybe-uninitialized warnings inside libstdc++ under ASan.
SANITIZE_WARN ?=
CXXFLAGS += -std=c++20 $(WARN) $(SANITIZE_WARN) $(SANITIZE) -Iinclude -Iuserspace -isystem $(BUILD)
LDFLAGS += $(SANITIZE)
DEPFLAGS = -MMD -MP
LIBBPF_LIBS := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf -lelf -lz)
CORE_LIBS := -ldw -lelf -lz # capstone: dlopen'd by probes/x86_code.cpp when -f needs it

BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	-Iinclude -I$(BUILD)

# Userspace: everything but the loader and main is the core library, linked by
# the unit tests: they cannot reach libbpf, so they cannot need root.
APP_SRCS := userspace/main.cpp userspace/session/loader.cpp userspace/session/trace_session.cpp \
            userspace/session/probe_calibration.cpp userspace/session/exec_probes.cpp
CORE_SRCS := $(filter-out $(APP_SRCS),$(shell find userspace -name '*.cpp' | sort))
CORE_OBJS := $(CORE_SRCS:%.cpp=$(BUILD)/%.o)
APP_OBJS := $(APP_SRCS:%.cpp=$(BUILD)/%.o)

UNIT_SRCS := $(sort $(wildcard tests/unit/*.cpp))
E2E_SRCS := $(sort $(wildcard tests/e2e/*.cpp))
UNIT_OBJS := $(UNIT_SRCS:%.cpp=$(BUILD)/%.o)
E2E_OBJS := $(E2E_SRCS:%.cpp=$(BUILD)/%.o)

# Fuzzers: libFuzzer (clang) over the readers of untrusted input, with the
# sources they test compiled in, ASan and UBSan on.
FUZZERS := elf text records recording
FUZZ_BINS := $(FUZZERS:%=$(BUILD)/fuzz/fuzz_%)
FUZZ_SRCS := userspace/symbols/elf_file.cpp userspace/unwind/frame_pointers.cpp \
	userspace/symbols/modules.cpp userspace/probes/function_pattern.cpp \
	userspace/symbols/demangle.cpp userspace/symbols/symbolizer.cpp \
	userspace/symbols/regular_file.cpp userspace/symbols/debug_file.cpp userspace/symbols/debug_cache.cpp \
	userspace/collect/records.cpp userspace/probes/x86_code.cpp \
	userspace/symbols/go_functions.cpp \
	userspace/report/recording.cpp userspace/report/svg_plot.cpp userspace/report/json_writer.cpp \
	userspace/report/table_writer.cpp userspace/report/text_table.cpp userspace/report/units.cpp \
	userspace/model/timeline.cpp userspace/model/process.cpp userspace/model/program_groups.cpp \
	userspace/report/program_table.cpp userspace/model/line_table.cpp userspace/report/line_table_writer.cpp
FUZZ_SECONDS ?= 10

.PHONY: all clean demo test check unit e2e asan install bench deps tests fuzz fuzz-smoke

all: $(BUILD)/memtrace $(BUILD)/memtrace.1 $(BUILD)/memtrace.bash

# The manual page and the bash completion come from the option table --help
# shows (memtrace --help-man, --bash-completion): they cannot drift from it.
$(BUILD)/memtrace.1: $(BUILD)/memtrace
	$(call msg,MAN,$@)
	$(Q)$(BUILD)/memtrace --help-man > $@

$(BUILD)/memtrace.bash: $(BUILD)/memtrace
	$(call msg,GEN,$@)
	$(Q)$(BUILD)/memtrace --bash-completion > $@

deps:
	$(Q)./scripts/install-deps.sh

$(BUILD)/vmlinux.h: | $(BUILD)
	$(call msg,BTF,$@)
	$(Q)test -r $(VMLINUX_BTF) || { echo "no kernel BTF at $(VMLINUX_BTF): memtrace needs CONFIG_DEBUG_INFO_BTF=y" >&2; exit 1; }
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@

$(BUILD)/memtrace.bpf.o: bpf/memtrace.bpf.c $(wildcard bpf/*.h) include/memtrace/abi.h $(BUILD)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/memtrace.skel.h: $(BUILD)/memtrace.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name memtrace_bpf > $@

$(BUILD)/%.o: %.cpp
	$(call msg,CXX,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) $(CXXFLAGS) $(DEPFLAGS) -c $< -o $@

# Only the loader sees the skeleton.
$(BUILD)/userspace/session/loader.o: $(BUILD)/memtrace.skel.h

$(BUILD)/libmemtrace_core.a: $(CORE_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/memtrace: $(APP_OBJS) $(BUILD)/libmemtrace_core.a
	$(call msg,LINK,$@)
	$(Q)$(CXX) $(LDFLAGS) $^ $(LIBBPF_LIBS) $(CORE_LIBS) -o $@

include mk/workloads.mk

$(BUILD)/tests/unit/%.o $(BUILD)/tests/e2e/%.o: CXXFLAGS += -DMT_BUILD_DIR='"$(abspath $(BUILD))"' \
	-DMT_SOURCE_DIR='"$(abspath .)"'

$(BUILD)/unit-tests: $(UNIT_OBJS) $(BUILD)/libmemtrace_core.a
	$(call msg,LINK,$@)
	$(Q)$(CXX) $(LDFLAGS) $^ $(CORE_LIBS) -o $@

$(BUILD)/e2e-tests: $(E2E_OBJS) $(BUILD)/libmemtrace_core.a
	$(call msg,LINK,$@)
	$(Q)$(CXX) $(LDFLAGS) $^ $(CORE_LIBS) -pthread -o $@

# The sources under test are compiled once for all four fuzzers (each used to
# compile all of them again: most of a clean build's time).
FUZZ_CXXFLAGS := -std=c++20 -g -O1 -fsanitize=address,undefined -Iinclude -Iuserspace
FUZZ_OBJS := $(FUZZ_SRCS:%.cpp=$(BUILD)/fuzz/obj/%.o)

$(FUZZ_OBJS): $(BUILD)/fuzz/obj/%.o: %.cpp
	$(call msg,FUZZCXX,$@)
	$(Q)mkdir -p $(@D)
	$(Q)clang++ $(FUZZ_CXXFLAGS) -fsanitize=fuzzer-no-link $(DEPFLAGS) -c $< -o $@

$(FUZZ_BINS): $(BUILD)/fuzz/fuzz_%: fuzz/fuzz_%.cpp $(FUZZ_OBJS)
	$(call msg,FUZZER,$@)
	$(Q)mkdir -p $(@D)
	$(Q)clang++ $(FUZZ_CXXFLAGS) -fsanitize=fuzzer $(DEPFLAGS) -MF $@.d $< $(FUZZ_OBJS) -ldw -lelf -lz -lcapstone -o $@

fuzz: $(FUZZ_BINS)

fuzz-smoke: $(FUZZ_BINS) $(WORKLOADS)
	$(Q)mkdir -p $(RESULTS)
	$(Q)./scripts/fuzz-smoke $(BUILD) $(FUZZ_SECONDS) $(RESULTS)/fuzz.xml

tests: all $(BUILD)/unit-tests $(BUILD)/e2e-tests $(WORKLOADS) $(FUZZ_BINS)

$(BUILD):
	$(Q)mkdir -p $@

# Each suite writes JUnit XML to $(BUILD)/test-results; scripts/test-summary
# prints the failures and the closing line "N passed, N failed".
RESULTS := $(BUILD)/test-results

unit: $(BUILD)/unit-tests
	$(Q)mkdir -p $(RESULTS)
	$(Q)$(BUILD)/unit-tests -r junit -o $(RESULTS)/unit.xml; ./scripts/test-summary $(RESULTS)/unit.xml

e2e: tests
	$(Q)mkdir -p $(RESULTS)
	$(Q)$(BUILD)/e2e-tests -r junit -o $(RESULTS)/e2e.xml; ./scripts/test-summary $(RESULTS)/e2e.xml

check: tests
	$(Q)rm -rf $(RESULTS) && mkdir -p $(RESULTS)
	@echo "  CHECK    layers and function lengths (scripts/check-layers)"
	$(Q)./scripts/check-layers --junit $(RESULTS)/layers.xml || true
	@echo "  TEST     unit (no root)"
	$(Q)$(BUILD)/unit-tests -r junit -o $(RESULTS)/unit.xml || true
	@echo "  TEST     e2e (root: loads BPF)"
	$(Q)$(BUILD)/e2e-tests -r junit -o $(RESULTS)/e2e.xml || true
	@echo "  FUZZ     $(FUZZ_SECONDS) s per target"
	$(Q)./scripts/fuzz-smoke $(BUILD) $(FUZZ_SECONDS) $(RESULTS)/fuzz.xml || true
	$(Q)./scripts/test-summary $(RESULTS)/layers.xml $(RESULTS)/unit.xml $(RESULTS)/e2e.xml $(RESULTS)/fuzz.xml

# The build uses every core (the suites then run one after another): a serial
# build of memtrace, the tests and the ASan fuzzers was most of CI's 30 minutes.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

test: deps
	$(Q)$(MAKE) --no-print-directory -j$(JOBS) tests
	$(Q)$(MAKE) --no-print-directory check

demo: deps
	$(Q)$(MAKE) --no-print-directory -j$(JOBS) $(BUILD)/memtrace $(DEMO)
	$(Q)./scripts/demo.sh $(BUILD)

asan:
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan SANITIZE='-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all' \
	  SANITIZE_WARN=-Wno-maybe-uninitialized check

bench: deps
	$(Q)$(MAKE) --no-print-directory $(BUILD)/memtrace
	$(Q)./bench/run.sh

install: all
	$(Q)install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	$(Q)install -m 0755 $(BUILD)/memtrace $(DESTDIR)$(PREFIX)/bin/memtrace
	$(Q)install -m 0644 $(BUILD)/memtrace.1 $(DESTDIR)$(PREFIX)/share/man/man1/memtrace.1
	$(Q)install -m 0644 $(BUILD)/memtrace.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/memtrace

clean:
	$(Q)rm -rf build build-asan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
