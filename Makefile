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
CORE_LIBS := -ldw -lelf -lcapstone

BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	-Iinclude -I$(BUILD)

# Userspace: everything but the loader and main is the core library, linked by
# the unit tests: they cannot reach libbpf, so they cannot need root.
APP_SRCS := userspace/main.cpp userspace/session/loader.cpp userspace/session/trace_session.cpp
CORE_SRCS := $(filter-out $(APP_SRCS),$(shell find userspace -name '*.cpp' | sort))
CORE_OBJS := $(CORE_SRCS:%.cpp=$(BUILD)/%.o)
APP_OBJS := $(APP_SRCS:%.cpp=$(BUILD)/%.o)

UNIT_SRCS := $(sort $(wildcard tests/unit/*.cpp))
E2E_SRCS := $(sort $(wildcard tests/e2e/*.cpp))
UNIT_OBJS := $(UNIT_SRCS:%.cpp=$(BUILD)/%.o)
E2E_OBJS := $(E2E_SRCS:%.cpp=$(BUILD)/%.o)

WORKLOADS := $(BUILD)/workloads/memwork $(BUILD)/workloads/stackwork \
	$(BUILD)/workloads/stackwork-debuglink
# unwindwork (-O2, GCC's default: no frame pointers), its frame-pointer twin,
# and a stripped copy whose symbols are found by build-id
WORKLOADS += $(addprefix $(BUILD)/workloads/,unwindwork unwindwork-fp unwindwork-stripped \
	unwind-debug/.build-id)
# funcwork in the shapes -f must handle: PIE, non-PIE, stripped to .dynsym,
# stripped with a separate debug file (debuglink, and by build-id), a dlopen'ed plugin.
FUNCWORK := $(addprefix $(BUILD)/workloads/,funcwork funcwork-nopie funcwork-dynsym \
	funcwork-debuglink libfuncwork_plugin.so debug/.build-id)
WORKLOADS += $(FUNCWORK)
FUNCWORK_FLAGS := -O2 -g -Wall -Wextra -Werror -pthread
DEMO := $(BUILD)/demo/feature_extract

# Fuzzers: libFuzzer (clang) over the readers of untrusted input, with the
# sources they test compiled in, ASan and UBSan on.
FUZZERS := elf text records
FUZZ_BINS := $(FUZZERS:%=$(BUILD)/fuzz/fuzz_%)
FUZZ_SRCS := userspace/symbols/elf_file.cpp userspace/unwind/frame_pointers.cpp \
	userspace/symbols/modules.cpp userspace/probes/function_pattern.cpp \
	userspace/symbols/demangle.cpp userspace/symbols/symbolizer.cpp \
	userspace/collect/records.cpp userspace/probes/x86_code.cpp
FUZZ_SECONDS ?= 10

.PHONY: all clean demo test check unit e2e asan install bench deps tests fuzz fuzz-smoke

all: $(BUILD)/memtrace

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

# Workloads: plain C with known memory behaviour. -O1 keeps loops honest.
$(BUILD)/workloads/%: tests/workloads/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O1 -g -Wall -Wextra -Werror -pthread $< -o $@

# Benchmark workloads: optimized like real programs.
$(BUILD)/bench/%: bench/workloads/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O2 -g -Wall -Wextra -Werror $< -o $@

$(BUILD)/bench/%: bench/workloads/%.cpp
	$(call msg,CXX,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) -O2 -g -Wall -Wextra -Werror $< -o $@

# Frame pointers in every function and no inlining: its call paths are whole in
# the stacks. clang, because GCC before 14 ignores -mno-omit-leaf-frame-pointer.
STACKWORK_FLAGS := -O1 -g -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -fno-inline \
	-fno-optimize-sibling-calls -Wall -Wextra -Werror
$(BUILD)/workloads/libstacklib.so: tests/workloads/stacklib.c
	$(call msg,CLANG,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(STACKWORK_FLAGS) -shared -fPIC $< -o $@

$(BUILD)/workloads/stackwork: tests/workloads/stackwork.c $(BUILD)/workloads/libstacklib.so
	$(call msg,CLANG,$@)
	$(Q)$(CLANG) $(STACKWORK_FLAGS) -fPIE -pie $< -L$(@D) -lstacklib -Wl,-rpath,'$$ORIGIN' -o $@

# stripped, its symbols in a separate file found by debuglink
$(BUILD)/workloads/stackwork-debuglink: $(BUILD)/workloads/stackwork
	$(call msg,STRIP,$@)
	$(Q)objcopy --only-keep-debug $< $@.debug
	$(Q)objcopy --strip-all --add-gnu-debuglink=$@.debug $< $@

UNWINDWORK_FLAGS := -O2 -g -Wall -Wextra -Werror
$(BUILD)/workloads/libunwindlib.so: tests/workloads/unwindlib.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(UNWINDWORK_FLAGS) -shared -fPIC $< -o $@

$(BUILD)/workloads/libremaplib.so: tests/workloads/remaplib.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(UNWINDWORK_FLAGS) -shared -fPIC $< -o $@

$(BUILD)/workloads/unwindwork: tests/workloads/unwindwork.c $(BUILD)/workloads/libunwindlib.so \
		$(BUILD)/workloads/libremaplib.so
	$(call msg,CC,$@)
	$(Q)$(CC) $(UNWINDWORK_FLAGS) -fPIE -pie $< -L$(@D) -lunwindlib -Wl,-rpath,'$$ORIGIN' -o $@

$(BUILD)/workloads/unwindwork-fp: tests/workloads/unwindwork.c $(BUILD)/workloads/libunwindlib.so \
		$(BUILD)/workloads/libremaplib.so
	$(call msg,CC,$@)
	$(Q)$(CC) $(UNWINDWORK_FLAGS) -fno-omit-frame-pointer -fPIE -pie $< -L$(@D) -lunwindlib \
	  -Wl,-rpath,'$$ORIGIN' -o $@

# no symbols in the binary (CFI stays: .eh_frame is loaded code's); its debug
# file only where --debuginfo-dir finds it by build-id
$(BUILD)/workloads/unwindwork-stripped: $(BUILD)/workloads/unwindwork
	$(call msg,STRIP,$@)
	$(Q)objcopy --strip-all $< $@

$(BUILD)/workloads/unwind-debug/.build-id: $(BUILD)/workloads/unwindwork
	$(Q)rm -rf $@ && id=$$(readelf -n $< | sed -n 's/.*Build ID: //p') && \
	  mkdir -p $@/$${id%$${id#??}} && objcopy --only-keep-debug $< $@/$${id%$${id#??}}/$${id#??}.debug

$(BUILD)/workloads/funcwork: tests/workloads/funcwork.cpp
	$(call msg,CXX,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) $(FUNCWORK_FLAGS) -fPIE -pie $< -ldl -o $@

$(BUILD)/workloads/funcwork-nopie: tests/workloads/funcwork.cpp
	$(call msg,CXX,$@)
	$(Q)$(CXX) $(FUNCWORK_FLAGS) -fno-pie -no-pie $< -ldl -o $@

# exported (-rdynamic), then stripped of .symtab: only .dynsym names its functions
$(BUILD)/workloads/funcwork-dynsym: tests/workloads/funcwork.cpp
	$(call msg,CXX,$@)
	$(Q)$(CXX) $(FUNCWORK_FLAGS) -rdynamic $< -ldl -o $@ && strip --strip-all $@

# no symbols at all in the binary; they live in funcwork-debuglink.debug
$(BUILD)/workloads/funcwork-debuglink: tests/workloads/funcwork.cpp
	$(call msg,CXX,$@)
	$(Q)$(CXX) $(FUNCWORK_FLAGS) -Wl,--build-id $< -ldl -o $@.full
	$(Q)objcopy --only-keep-debug $@.full $@.debug
	$(Q)objcopy --strip-all --add-gnu-debuglink=$@.debug $@.full $@ && rm -f $@.full

# the same debug file where --debuginfo-dir finds it by build-id (DIR/.build-id/ab/cdef.debug)
$(BUILD)/workloads/debug/.build-id: $(BUILD)/workloads/funcwork-debuglink
	$(Q)rm -rf $@ && id=$$(readelf -n $< | sed -n 's/.*Build ID: //p') && \
	  mkdir -p $@/$${id%$${id#??}} && cp $<.debug $@/$${id%$${id#??}}/$${id#??}.debug

$(BUILD)/workloads/libfuncwork_plugin.so: tests/workloads/funcwork_plugin.c
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g -Wall -Wextra -Werror -shared -fPIC $< -o $@

$(DEMO): demo/feature_extract.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O2 -g -Wall -Wextra -Werror $< -o $@

$(BUILD)/tests/unit/%.o $(BUILD)/tests/e2e/%.o: CXXFLAGS += -DMT_BUILD_DIR='"$(abspath $(BUILD))"' \
	-DMT_SOURCE_DIR='"$(abspath .)"'

$(BUILD)/unit-tests: $(UNIT_OBJS) $(BUILD)/libmemtrace_core.a
	$(call msg,LINK,$@)
	$(Q)$(CXX) $(LDFLAGS) $^ $(CORE_LIBS) -o $@

$(BUILD)/e2e-tests: $(E2E_OBJS) $(BUILD)/libmemtrace_core.a
	$(call msg,LINK,$@)
	$(Q)$(CXX) $(LDFLAGS) $^ $(CORE_LIBS) -pthread -o $@

$(BUILD)/fuzz/fuzz_%: fuzz/fuzz_%.cpp $(FUZZ_SRCS) $(wildcard userspace/*/*.h)
	$(call msg,FUZZER,$@)
	$(Q)mkdir -p $(@D)
	$(Q)clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Iuserspace \
	  $< $(FUZZ_SRCS) -ldw -lelf -lcapstone -o $@

fuzz: $(FUZZ_BINS)

fuzz-smoke: $(FUZZ_BINS) $(WORKLOADS)
	$(Q)mkdir -p $(RESULTS)
	$(Q)./scripts/fuzz-smoke $(BUILD) $(FUZZ_SECONDS) $(RESULTS)/fuzz.xml

tests: $(BUILD)/memtrace $(BUILD)/unit-tests $(BUILD)/e2e-tests $(WORKLOADS) $(FUZZ_BINS)

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

test: deps
	$(Q)$(MAKE) --no-print-directory check

demo: deps
	$(Q)$(MAKE) --no-print-directory $(BUILD)/memtrace $(DEMO)
	$(Q)./scripts/demo.sh $(BUILD)

asan:
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan SANITIZE='-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all' \
	  SANITIZE_WARN=-Wno-maybe-uninitialized check

bench: deps
	$(Q)$(MAKE) --no-print-directory $(BUILD)/memtrace
	$(Q)./bench/run.sh

install: $(BUILD)/memtrace
	$(Q)install -d $(DESTDIR)$(PREFIX)/bin
	$(Q)install -m 0755 $(BUILD)/memtrace $(DESTDIR)$(PREFIX)/bin/memtrace

clean:
	$(Q)rm -rf build build-asan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
