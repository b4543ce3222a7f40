# The programs the tests, the benchmark and the demo run: test workloads with
# known memory behaviour (tests/workloads), benchmark workloads (bench/workloads)
# and the demo (demo/). Included by the Makefile, which gives CC, CXX, CLANG,
# BUILD, Q and msg; it names WORKLOADS and DEMO in its targets.

WORKLOADS := $(BUILD)/workloads/memwork $(BUILD)/workloads/stackwork $(BUILD)/workloads/linework \
	$(BUILD)/workloads/stackwork-debuglink $(BUILD)/workloads/residentwork \
	$(BUILD)/workloads/memwork-static $(BUILD)/workloads/linework-gz
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

# Workloads: plain C with known memory behaviour. -O1 keeps loops honest.
$(BUILD)/workloads/%: tests/workloads/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O1 -g -Wall -Wextra -Werror -pthread $< -o $@

# memwork linked statically: smaller (~0.6 MiB resident) than memtrace's copy
# of itself between fork and exec, which ru_maxrss counts and kernel_hwm must not.
$(BUILD)/workloads/memwork-static: tests/workloads/memwork.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O1 -g -Wall -Wextra -Werror -pthread -static $< -o $@

# linework with its DWARF sections zlib-compressed (SHF_COMPRESSED), as
# Debian's -dbg packages ship them: what the debug cache decompresses.
$(BUILD)/workloads/linework-gz: tests/workloads/linework.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O1 -g -gz=zlib -Wall -Wextra -Werror -pthread $< -o $@

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

$(BUILD)/workloads/residentwork: tests/workloads/residentwork.c
	$(call msg,CLANG,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(STACKWORK_FLAGS) -fPIE -pie $< -o $@

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

# Python workloads (tests/workloads/*.py) need no build: tests/e2e/test_python.cpp
# runs them from the source tree (MT_SOURCE_DIR) with /usr/bin/python3 and pyenv's.

# A Go program (Debian's golang-go): with symbols, and stripped of them.
GOWORK := $(BUILD)/workloads/gowork $(BUILD)/workloads/gowork-stripped
WORKLOADS += $(GOWORK)
GO_ENV := GOCACHE=$(abspath $(BUILD))/go-cache GOPATH=$(abspath $(BUILD))/go GO111MODULE=off
$(BUILD)/workloads/gowork: tests/workloads/gowork.go
	$(call msg,GO,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(GO_ENV) go build -o $@ $<

$(BUILD)/workloads/gowork-stripped: tests/workloads/gowork.go
	$(call msg,GO,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(GO_ENV) go build -ldflags='-s -w' -o $@ $<
