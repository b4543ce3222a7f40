// User stacks without frame pointers: the registers and a copy of the top of
// the stack taken in BPF at a sample, unwound here with the binaries' DWARF
// call-frame information (.eh_frame, .debug_frame; debug files by build-id)
// through elfutils' libdwfl. Memory is read from the stack copy and from the
// files the process mapped; nothing is read from the live process, so stacks
// unwind the same after it has exited.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "symbols/elf_file.h"
#include "symbols/elfutils.h"
#include "symbols/module_index.h"
#include "unique_fd.h"

namespace memtrace {

// What the kernel side copied at a sample (struct mt_rec_stack).
struct StackSnapshot {
    uint32_t pid = 0;
    uint32_t tid = 0;
    uint64_t ip = 0, sp = 0, bp = 0;
    std::vector<uint8_t> stack; // from sp up
    bool ended_early = false;   // the copy stopped at an unreadable page (the stack's top)
};

// Why an unwind stopped.
enum class UnwindEnd {
    Complete,      // reached the outermost frame (_start, thread start)
    NoCfi,         // a frame's code has no call-frame information
    StackTooShort, // a caller's frame lies beyond the copied bytes (--stack-bytes)
    UnknownCode,   // a frame's address is in no mapped file (JIT, garbage)
    TooDeep,       // more frames than kept
    Failed,        // the CFI could not be applied
    OtherStack,    // a frame pointer chain goes to another stack (Go's system stack)
};
const char *unwind_end_name(UnwindEnd end); // "complete", "no CFI", ...

struct UnwoundStack {
    std::vector<uint64_t> pcs; // leaf first: the sampled ip, then return addresses
    UnwindEnd end = UnwindEnd::Complete;
};

class DwarfUnwinder {
public:
    // `index` gives each process's mappings (read them before unwinding its
    // stacks); debug files are searched in `debug_dirs`.
    DwarfUnwinder(const ModuleIndex &index, const std::vector<std::string> &debug_dirs,
                  size_t max_frames = 127);
    ~DwarfUnwinder();
    DwarfUnwinder(const DwarfUnwinder &) = delete;
    DwarfUnwinder &operator=(const DwarfUnwinder &) = delete;

    UnwoundStack unwind(const StackSnapshot &snapshot);
    // A process that ended: its address space (Dwfl, open files) goes.
    void forget(pid_t pid);
    // Files the module index lets go: what was read of them goes first
    // (address spaces too: their modules share the files' Elfs).
    void forget_files(const std::set<const ModuleFile *> &files);

private:
    struct Process;
    UnwoundStack unwind_once(const StackSnapshot &snapshot);
    bool in_go_code(const StackSnapshot &snapshot);
    Process *process(pid_t pid);
    std::optional<uint64_t> load_bias(const ModuleIndex::Mapping &m);
    std::map<const ModuleFile *, uint64_t> modules_of(const std::vector<ModuleIndex::Mapping> &mappings);
    static void report(Process &p, const ModuleFile &file, uint64_t bias);
    bool read_file_word(uint64_t address, pid_t pid, uint64_t *out);

    const ModuleIndex &index_;
    std::vector<std::string> debug_dirs_; // each module's userdata points here
    std::string debuginfo_path_;
    char *debuginfo_ptr_ = nullptr;
    size_t max_frames_;
    std::map<pid_t, std::unique_ptr<Process>> processes_;
    uint64_t uses_ = 0;
    std::map<const ModuleFile *, UniqueFd> fds_; // files read for memory outside the stack
    // Each file's load segments, and whether it has .eh_frame, read once.
    struct FileLayout {
        std::vector<LoadSegment> segments;
        bool eh_frame = false;
    };
    const FileLayout &layout(const ModuleFile *file);
    std::map<const ModuleFile *, FileLayout> layouts_;
    // Each file's Elf, mapped once and shared by every process's Dwfl.
    struct SharedElf {
        UniqueFd fd;
        ElfPtr elf;
    };
    Elf *shared_elf(const ModuleFile &file);
    std::map<const ModuleFile *, SharedElf> elves_;
    std::map<const ModuleFile *, bool> go_files_; // Go programs: walked by frame pointers
};

} // namespace memtrace
