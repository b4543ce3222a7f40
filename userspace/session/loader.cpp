#include "session/loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <system_error>
#include <thread>
#include <utility>

#include "error.h"
#include "memtrace.skel.h"
#include "session/preflight.h"
#include "session/uprobe_multi.h"
#include "session/verifier_log.h"
#include "unique_fd.h"

namespace memtrace {
namespace {

// libbpf logs through one global callback: keep the last messages so a failed
// step can name the cause; print them all only with -v.
std::string g_libbpf_log;
bool g_verbose = false;

int libbpf_print(enum libbpf_print_level level, const char *format, va_list args)
{
    if (level == LIBBPF_DEBUG && !g_verbose)
        return 0;
    va_list copy;
    va_copy(copy, args);
    int n = vsnprintf(nullptr, 0, format, copy);
    va_end(copy);
    if (n <= 0)
        return n;
    std::string text(static_cast<size_t>(n) + 1, '\0');
    vsnprintf(text.data(), text.size(), format, args);
    text.resize(static_cast<size_t>(n));
    if (g_verbose)
        fputs(text.c_str(), stderr);
    if (g_libbpf_log.size() > 256 * 1024)
        g_libbpf_log.erase(0, g_libbpf_log.size() - 128 * 1024);
    g_libbpf_log += text;
    return n;
}

std::string errno_text(int err)
{
    return std::strerror(err < 0 ? -err : err);
}

[[noreturn]] void fail(const std::string &step, int err)
{
    err = err < 0 ? -err : err;
    std::string hint;
    if (err == EPERM || err == EACCES)
        hint = ": run as root, or grant CAP_BPF, CAP_PERFMON and CAP_SYS_RESOURCE";
    else if (err == ENOENT)
        hint = ": a kernel hook memtrace needs is missing (tracefs not mounted, or kernel "
               "too old: memtrace needs Linux >= 5.8 with BTF)";
    else
        hint = " (run with -v for libbpf's log)";
    throw Error("cannot " + step + ": " + errno_text(err) + hint);
}

uint32_t stacks_code(StackWeight weight)
{
    switch (weight) {
    case StackWeight::None: return MT_STACKS_NONE;
    case StackWeight::Touch: return MT_STACKS_TOUCH;
    case StackWeight::Map: return MT_STACKS_MAP;
    case StackWeight::Peak:
    case StackWeight::End: return MT_STACKS_RESIDENT;
    }
    return MT_STACKS_NONE;
}

uint32_t unwind_code(UnwindMode mode)
{
    switch (mode) {
    case UnwindMode::FramePointers: return MT_UNWIND_FP;
    case UnwindMode::Dwarf: return MT_UNWIND_DWARF;
    case UnwindMode::Auto: return MT_UNWIND_AUTO;
    }
    return MT_UNWIND_FP;
}

// The cookie the BPF side reads: which function, and which kind of site.
uint64_t probe_cookie(const ProbeSite &site)
{
    switch (site.kind) {
    case ProbeKind::Entry: return MT_COOKIE(MT_PROBE_ENTRY, site.func);
    case ProbeKind::EntryTailcall: return MT_COOKIE(MT_PROBE_ENTRY_TAILCALL, site.func);
    case ProbeKind::Return: return MT_COOKIE(MT_PROBE_RETURN, site.func);
    case ProbeKind::Tailcall: return MT_COOKIE(MT_PROBE_TAILCALL, site.func);
    case ProbeKind::ReturnAddress: return MT_COOKIE(MT_PROBE_RETADDR, site.func);
    }
    return MT_COOKIE(MT_PROBE_ENTRY, site.func);
}

// A refused program: which one, and the verifier's verdict when there is one
// (the kernel says EACCES then, but privileges are not the problem).
[[noreturn]] void fail_load(int err)
{
    auto rejection = find_verifier_rejection(g_libbpf_log);
    if (!rejection)
        fail("load the BPF programs", err);
    if (rejection->reason.empty())
        fail("load the BPF program " + rejection->program, err);
    throw Error("cannot load the BPF programs: the kernel's verifier rejected " + rejection->program +
                ": " + rejection->reason + " (run with -v for the verifier's log)");
}

// libbpf objects, freed by their libbpf destructor.
template <auto Free> struct Freer {
    template <typename T> void operator()(T *object) const { Free(object); }
};
using SkeletonPtr = std::unique_ptr<memtrace_bpf, Freer<memtrace_bpf__destroy>>;
using RingPtr = std::unique_ptr<ring_buffer, Freer<ring_buffer__free>>;
using LinkPtr = std::unique_ptr<bpf_link, Freer<bpf_link__destroy>>;

// What the BPF side is asked to do, from the command line's choices.
mt_config bpf_config(const LoaderConfig &config, uint32_t cpus)
{
    mt_config c{};
    c.trace_all = config.trace_all ? 1 : 0;
    c.follow_children = config.follow_children ? 1 : 0;
    c.nr_cpus = cpus;
    c.funcs = config.functions ? 1 : 0;
    c.timeline_ns = config.timeline_ns;
    c.stacks = stacks_code(config.stacks);
    c.sample_bytes = config.sample_bytes;
    c.kernel_stacks = config.kernel_stacks ? 1 : 0;
    c.per_thread = config.per_thread ? 1 : 0;
    c.page_size = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    c.unwind = config.stacks != StackWeight::None ? unwind_code(config.unwind) : MT_UNWIND_FP;
    c.stack_copy = config.stack_copy;
    c.copy_cpus = cpus;
    c.lines = config.lines && config.stacks != StackWeight::None ? 1 : 0;
    c.py_patterns = static_cast<uint32_t>(config.python_patterns.size());
    c.py_func_base = config.python_func_base;
    c.self_tgid = static_cast<uint32_t>(getpid());
    c.py_stack_frames = config.python_frames ? 1 : 0;
    c.hold_execs = config.hold_execs ? 1 : 0;
    c.map_records = config.stacks != StackWeight::None ? 1 : 0;
    return c;
}

} // namespace

// Members go in reverse order: probes are detached, then the ring buffer
// reader freed, then the skeleton destroyed (which detaches every program).
struct BpfLoader::State {
    SkeletonPtr skel;
    RingPtr ring;
    std::vector<LinkPtr> probe_links;
    bool uprobe_multi = false;            // probes attached as uprobe_multi links
    std::vector<UniqueFd> multi_links;    // one per (program, file, process)
    size_t multi_probes = 0;              // the probes those links hold
    const RecordHandler *handler = nullptr; // valid only during consume()
    uint32_t nr_cpus = 1;                   // possible CPUs: copies of a per-CPU value
    UniqueFd run_time_stats;                // BPF_ENABLE_STATS: counting while open

    // Each link's release waits for an RCU grace period (~50 ms here):
    // released one after another they made memtrace's exit take 0.3 s, and
    // seconds with many probes. Released concurrently, the waits overlap.
    ~State()
    {
        // The links' last references go to a child process, which takes the
        // kernel's waits (~45 ms per tracepoint link here, one after another
        // whatever the threads): memtrace's results are out and it exits now.
        const int handover = hand_release_to_child();
        release_links();
        if (handover >= 0)
            close(handover); // the child's cue: our references are gone
    }

    // Forks a child that holds every descriptor until the write end returned
    // here is closed, then closes them all. -1 if there is no child.
    static int hand_release_to_child()
    {
        int cue[2];
        if (pipe2(cue, O_CLOEXEC) != 0)
            return -1;
        const pid_t child = fork();
        if (child < 0) {
            close(cue[0]);
            close(cue[1]);
            return -1;
        }
        if (child == 0) {
            // Only async-signal-safe calls here. No stdio: who reads memtrace's
            // output must not wait for this child.
            for (int fd = 0; fd <= 2; ++fd)
                close(fd);
            close(cue[1]);
            char byte;
            while (read(cue[0], &byte, 1) < 0 && errno == EINTR) {
            }
            syscall(SYS_close_range, 3u, ~0u, 0u);
            _exit(0);
        }
        close(cue[0]);
        return cue[1];
    }

    void release_links()
    {
        std::vector<std::function<void()>> releases;
        for (LinkPtr &link : probe_links)
            releases.emplace_back([link = link.release()] { bpf_link__destroy(link); });
        for (UniqueFd &fd : multi_links)
            releases.emplace_back([fd = fd.release()] { close(fd); });
        if (skel)
            for (int i = 0; i < skel->skeleton->prog_cnt; ++i)
                if (bpf_link **link = skel->skeleton->progs[i].link; link && *link)
                    releases.emplace_back([link = std::exchange(*link, nullptr)] { bpf_link__destroy(link); });
        release_concurrently(releases);
    }

    static void release_concurrently(const std::vector<std::function<void()>> &releases)
    {
        constexpr size_t kThreads = 64;
        for (size_t first = 0; first < releases.size(); first += kThreads) {
            std::vector<std::thread> threads;
            for (size_t i = first; i < releases.size() && i < first + kThreads; ++i)
                try {
                    threads.emplace_back(releases[i]);
                } catch (const std::system_error &) {
                    releases[i](); // no thread to spare: in this one
                }
            for (std::thread &t : threads)
                t.join();
        }
    }
};

namespace {

// Reads every entry of a hash map into (key, value) pairs.
template <typename K, typename V> std::vector<std::pair<K, V>> read_map(bpf_map *map)
{
    std::vector<std::pair<K, V>> out;
    K key{}, next{};
    const void *prev = nullptr;
    while (bpf_map__get_next_key(map, prev, &next, sizeof(next)) == 0) {
        V value{};
        if (bpf_map__lookup_elem(map, &next, sizeof(next), &value, sizeof(value), 0) == 0)
            out.emplace_back(next, value);
        key = next;
        prev = &key;
    }
    return out;
}

} // namespace

namespace {

// Programs this run does not use are not loaded: verifying the uprobe
// programs alone takes ~0.3 s, mt_py_calls ~1.5 s.
void choose_programs(memtrace_bpf *skel, const LoaderConfig &config)
{
    bpf_program__set_autoattach(skel->progs.mt_seed, false);
    bpf_program__set_autoattach(skel->progs.mt_func_entry, false);
    bpf_program__set_autoattach(skel->progs.mt_func_return, false);
    bpf_program__set_autoload(skel->progs.mt_seed, config.seed_running);
    bpf_program__set_autoload(skel->progs.mt_func_entry, config.uprobes);
    bpf_program__set_autoload(skel->progs.mt_func_return, config.uprobes);
    const bool python = !config.python_patterns.empty();
    bpf_program__set_autoload(skel->progs.mt_enter_mmap, config.stacks != StackWeight::None || python);
    bpf_program__set_autoload(skel->progs.mt_py_calls, python);
    // mt_py_calls must see each rss_stat event before mt_rss_stat counts it:
    // programs on a tracepoint run in the order they were attached.
    bpf_program__set_autoattach(skel->progs.mt_rss_stat, !python);
    // Earlier programs of an exec chain need sched_prepare_exec (Linux 6.10+):
    // without it each process is reported for its last program only.
    // Held processes resumed by the kernel if memtrace dies holding them (Linux 6.13+ kfuncs)
    bpf_program__set_autoload(skel->progs.mt_self_exit,
                              config.hold_execs &&
                                  libbpf_find_vmlinux_btf_id("bpf_send_signal_task", BPF_TRACE_FENTRY) > 0);
    bpf_program__set_autoload(skel->progs.mt_prepare_exec,
                              kernel_has_tracepoint("sched", "sched_prepare_exec"));
    if (!python)
        for (bpf_map *map : {skel->maps.py_threads, skel->maps.py_targets, skel->maps.py_funcs})
            bpf_map__set_max_entries(map, 1);
}

// -f py: the patterns, then every program; mt_py_calls before mt_rss_stat.
void attach_programs(memtrace_bpf *skel, const std::vector<mt_py_pattern> &patterns)
{
    for (uint32_t i = 0; i < patterns.size() && i < MT_PY_PATTERNS; ++i)
        if (int err = bpf_map__update_elem(skel->maps.py_patterns, &i, sizeof(i), &patterns[i],
                                           sizeof(mt_py_pattern), BPF_ANY))
            fail("write the py: patterns", err);
    if (int err = memtrace_bpf__attach(skel))
        fail("attach the BPF programs", err);
    if (!patterns.empty()) {
        skel->links.mt_rss_stat = bpf_program__attach(skel->progs.mt_rss_stat);
        if (!skel->links.mt_rss_stat)
            fail("attach the BPF program mt_rss_stat", errno);
    }
}

// The maps of --folded: stack ids, bytes per stack, the copy ring; shrunk to
// nothing when this run does not use them.
void size_stack_maps(memtrace_bpf *skel, const LoaderConfig &config, uint32_t cpus)
{
    const bool copies = config.stacks != StackWeight::None && config.unwind != UnwindMode::FramePointers;
    // Without stack copies their maps shrink to nothing.
    bpf_map__set_max_entries(skel->maps.stack_scratch, copies ? cpus : 1);
    // The stack-trace maps are preallocated: at full size they cost ~20 ms of
    // start-up and ~40 MiB of kernel memory to a run that takes no stacks.
    if (config.stacks == StackWeight::None)
        for (bpf_map *map : {skel->maps.user_stacks, skel->maps.stack_bytes})
            bpf_map__set_max_entries(map, 1);
    if (!config.kernel_stacks)
        bpf_map__set_max_entries(skel->maps.kernel_stacks, 1);
    // Hints and code generations: one per process, only under auto.
    for (bpf_map *map : {skel->maps.unwind_hints, skel->maps.code_gens})
        bpf_map__set_max_entries(map, copies && config.unwind == UnwindMode::Auto ? config.max_procs : 1);
    const bool resident = config.stacks == StackWeight::Peak || config.stacks == StackWeight::End;
    if (!copies && !resident) {
        bpf_map__set_max_entries(skel->maps.stack_events, static_cast<uint32_t>(sysconf(_SC_PAGESIZE)));
    } else {
        // Room for ~512 copies in flight; -a, which runs for long, 4 MiB
        // (48 whole copies; the reader is woken at a quarter; most copies are
        // a few KiB: none was lost in 5 minutes of a busy machine,
        // bench/folded_all.py); --stacks peak|end at least 8 MiB (~170,000
        // samples or ranges). memtrace maps the ring twice, so each MiB of it
        // is two of memtrace's RSS for the whole run (128 MiB at 512 copies of 64 KiB).
        const uint32_t in_flight = config.trace_all ? 48 : 512;
        uint32_t bytes = resident ? 8u << 20 : 4u << 20;
        while (copies && bytes < in_flight * (config.stack_copy + sizeof(mt_rec_stack)))
            bytes <<= 1;
        bpf_map__set_max_entries(skel->maps.stack_events, bytes);
    }
}

} // namespace

BpfLoader::BpfLoader(const LoaderConfig &config) : state_(std::make_unique<State>())
{
    g_verbose = config.verbose;
    libbpf_set_print(libbpf_print);

    state_->skel.reset(memtrace_bpf__open());
    if (!state_->skel)
        fail("open the BPF object", errno);
    memtrace_bpf *skel = state_->skel.get();

    // configure: rodata and map sizes, before load
    int cpus = libbpf_num_possible_cpus();
    if (cpus <= 0)
        fail("count the possible CPUs", cpus);
    state_->nr_cpus = static_cast<uint32_t>(cpus);
    skel->rodata->mt_cfg = bpf_config(config, state_->nr_cpus);
    size_stack_maps(skel, config, state_->nr_cpus);
    const bool copies = config.stacks != StackWeight::None && config.unwind != UnwindMode::FramePointers;
    const bool resident = config.stacks == StackWeight::Peak || config.stacks == StackWeight::End;
    // --stacks peak|end only: the pages faults bring in, the syscalls that take them out
    for (bpf_program *prog : {skel->progs.mt_page_fault_kernel, skel->progs.mt_enter_munmap,
                              skel->progs.mt_enter_madvise, skel->progs.mt_exit_madvise,
                              skel->progs.mt_enter_mremap, skel->progs.mt_enter_brk})
        bpf_program__set_autoload(prog, resident);
    if (!resident)
        bpf_map__set_max_entries(skel->maps.range_args, 1);
    for (bpf_map *map : {skel->maps.targets, skel->maps.procs, skel->maps.mm_owner})
        bpf_map__set_max_entries(map, config.max_procs);
    bpf_map__set_max_entries(skel->maps.events, config.ringbuf_bytes);
    choose_programs(skel, config);
    // Function probes as uprobe_multi links where the kernel has them: their
    // removal then waits once per link, not once per probe.
    state_->uprobe_multi = config.uprobes && kernel_has_uprobe_multi();
    if (state_->uprobe_multi)
        for (bpf_program *prog : {skel->progs.mt_func_entry, skel->progs.mt_func_return})
            bpf_program__set_expected_attach_type(prog, static_cast<bpf_attach_type>(kUprobeMultiAttachType));

    if (int err = memtrace_bpf__load(skel))
        fail_load(err);
    attach_programs(skel, config.python_patterns);

    // Both ring buffers (records, stack copies) hand their records to the
    // handler of the consume() in progress.
    const ring_buffer_sample_fn to_handler = [](void *ctx, void *data, size_t size) -> int {
        auto *state = static_cast<State *>(ctx);
        // Nothing may throw through libbpf: the handler is noexcept by contract.
        (*state->handler)(std::span<const std::byte>(static_cast<const std::byte *>(data), size));
        return 0;
    };
    state_->ring.reset(ring_buffer__new(bpf_map__fd(skel->maps.events), to_handler, state_.get(), nullptr));
    if (!state_->ring)
        fail("create the ring buffer reader", errno);
    if (copies || resident) {
        if (int err = ring_buffer__add(state_->ring.get(), bpf_map__fd(skel->maps.stack_events), to_handler,
                                       state_.get()))
            fail("add the stack ring buffer", err);
    }
}

uint64_t BpfLoader::code_gen(uint32_t tgid) const
{
    uint64_t gen = 0; // absent: no code mapped since memtrace started watching
    bpf_map__lookup_elem(state_->skel->maps.code_gens, &tgid, sizeof(tgid), &gen, sizeof(gen), 0);
    return gen;
}

void BpfLoader::set_unwind_hint(uint32_t tgid, const mt_unwind_hint &hint)
{
    // Best effort: a full map (or a process gone) leaves the default, DWARF.
    bpf_map__update_elem(state_->skel->maps.unwind_hints, &tgid, sizeof(tgid), &hint, sizeof(hint),
                         BPF_ANY);
}

void BpfLoader::set_python(uint32_t tgid, const mt_py_proc &python)
{
    // Best effort: a full map leaves the process's stacks without Python frames.
    bpf_map__update_elem(state_->skel->maps.py_procs, &tgid, sizeof(tgid), &python, sizeof(python),
                         BPF_ANY);
}

std::optional<mt_py_code> BpfLoader::read_py_code(uint32_t tgid, uint64_t code, uint64_t names) const
{
    mt_py_code_key key{};
    key.tgid = tgid;
    key.code = code;
    key.names = names;
    mt_py_code value{};
    if (bpf_map__lookup_elem(state_->skel->maps.py_codes, &key, sizeof(key), &value, sizeof(value), 0))
        return std::nullopt;
    return value;
}

BpfLoader::~BpfLoader() = default;

void BpfLoader::add_target(uint32_t tgid, bool held)
{
    uint8_t value = held ? MT_TARGET_HELD : MT_TARGET;
    if (bpf_map__update_elem(state_->skel->maps.targets, &tgid, sizeof(tgid), &value, sizeof(value),
                             BPF_ANY))
        fail("add pid " + std::to_string(tgid) + " to the targets", errno);
}

void BpfLoader::hold_execs(const std::vector<std::string> &names)
{
    for (uint32_t i = 0; i < names.size() && i < MT_HOLD_NAMES; ++i) {
        mt_hold_name entry{};
        entry.used = 1;
        entry.len = static_cast<uint32_t>(std::min<size_t>(names[i].size(), MT_HOLD_NAME_LEN - 1));
        std::memcpy(entry.name, names[i].data(), entry.len);
        if (bpf_map__update_elem(state_->skel->maps.hold_names, &i, sizeof(i), &entry, sizeof(entry), BPF_ANY))
            fail("set the programs whose execs -f waits for", errno);
    }
    state_->skel->bss->mt_holding = 1;
}

void BpfLoader::exec_examined(const mt_file_id &file)
{
    const uint8_t one = 1;
    // Best effort: a full map only means that file's execs are held again.
    bpf_map__update_elem(state_->skel->maps.hold_seen, &file, sizeof(file), &one, sizeof(one), BPF_ANY);
}

void BpfLoader::resumed(uint32_t tgid)
{
    bpf_map__delete_elem(state_->skel->maps.held_pids, &tgid, sizeof(tgid), 0);
}

void BpfLoader::stop_holding()
{
    state_->skel->bss->mt_holding = 0;
}

void BpfLoader::seed_running()
{
    LinkPtr link(bpf_program__attach_iter(state_->skel->progs.mt_seed, nullptr));
    if (!link)
        fail("attach the process iterator", errno);
    UniqueFd iter(bpf_iter_create(bpf_link__fd(link.get())));
    if (iter.get() < 0)
        fail("create the process iterator", errno);
    char buf[256];
    while (read(iter.get(), buf, sizeof(buf)) > 0) {
    }
}

namespace {

[[noreturn]] void fail_probe(const ProbeSite &site, int err)
{
    char where[64];
    std::snprintf(where, sizeof(where), "0x%llx", static_cast<unsigned long long>(site.offset));
    const std::string why = (err == EACCES || err == EPERM) && !has_sys_admin()
                                ? ": this kernel creates uprobes (-f) for CAP_SYS_ADMIN only; "
                                  "CAP_BPF and CAP_PERFMON trace all but -f"
                                : "";
    throw Error("cannot attach a probe to " + site.label + " (" + site.path + " at " + where +
                "): " + errno_text(err) + why);
}

bool is_entry(const ProbeSite &site)
{
    return site.kind == ProbeKind::Entry || site.kind == ProbeKind::EntryTailcall;
}

} // namespace

void BpfLoader::attach_probes(const std::vector<ProbeSite> &sites, const std::vector<pid_t> &pids)
{
    std::vector<pid_t> targets = pids.empty() ? std::vector<pid_t>{-1} : pids;
    if (state_->uprobe_multi) {
        attach_probes_multi(sites, targets);
        return;
    }
    for (const ProbeSite &site : sites) {
        for (pid_t pid : targets) {
            LIBBPF_OPTS(bpf_uprobe_opts, opts, .bpf_cookie = probe_cookie(site), .retprobe = false);
            bpf_program *prog =
                is_entry(site) ? state_->skel->progs.mt_func_entry : state_->skel->progs.mt_func_return;
            LinkPtr link(bpf_program__attach_uprobe_opts(prog, pid, site.path.c_str(), site.offset,
                                                         &opts));
            if (!link)
                fail_probe(site, errno);
            state_->probe_links.push_back(std::move(link));
        }
    }
}

// One link per program, file and process. The kernel refuses a link whole: the
// probe at fault is then found by attaching the link's probes one by one.
void BpfLoader::attach_probes_multi(const std::vector<ProbeSite> &sites, const std::vector<pid_t> &pids)
{
    std::map<std::pair<bool, std::string>, std::vector<const ProbeSite *>> groups;
    for (const ProbeSite &site : sites)
        groups[{is_entry(site), site.path}].push_back(&site);
    for (const auto &[key, group] : groups) {
        bpf_program *prog = key.first ? state_->skel->progs.mt_func_entry : state_->skel->progs.mt_func_return;
        std::vector<uint64_t> offsets, cookies;
        for (const ProbeSite *site : group) {
            offsets.push_back(site->offset);
            cookies.push_back(probe_cookie(*site));
        }
        for (pid_t pid : pids) {
            UniqueFd link = attach_uprobe_multi(bpf_program__fd(prog), key.second, offsets, cookies, pid);
            if (!link) {
                const int err = errno;
                for (const ProbeSite *site : group)
                    if (!attach_uprobe_multi(bpf_program__fd(prog), site->path, {site->offset},
                                             {probe_cookie(*site)}, pid))
                        fail_probe(*site, errno);
                fail_probe(*group.front(), err);
            }
            state_->multi_links.push_back(std::move(link));
            state_->multi_probes += group.size();
        }
    }
}

size_t BpfLoader::probes_attached() const
{
    return state_->probe_links.size() + state_->multi_probes;
}

int BpfLoader::ring_fd() const
{
    return ring_buffer__epoll_fd(state_->ring.get());
}

int BpfLoader::consume(const RecordHandler &handler)
{
    state_->handler = &handler;
    int n = ring_buffer__consume(state_->ring.get());
    state_->handler = nullptr;
    return n;
}

std::vector<mt_proc> BpfLoader::read_procs() const
{
    std::vector<mt_proc> out;
    for (auto &[tgid, proc] : read_map<uint32_t, mt_proc>(state_->skel->maps.procs))
        out.push_back(proc);
    return out;
}

std::vector<std::pair<mt_func_key, mt_func_stats>> BpfLoader::read_func_stats() const
{
    return read_map<mt_func_key, mt_func_stats>(state_->skel->maps.func_stats);
}

std::vector<std::pair<uint32_t, mt_thread_frames>> BpfLoader::read_thread_frames() const
{
    auto out = read_map<uint32_t, mt_thread_frames>(state_->skel->maps.thread_frames);
    // Python threads' open calls (-f py:) are frames too
    for (auto &[tid, t] : read_map<uint32_t, mt_py_thread>(state_->skel->maps.py_threads))
        if (t.calls.depth) {
            mt_thread_frames calls = t.calls;
            calls.tgid = t.tgid;
            out.emplace_back(tid, calls);
        }
    return out;
}

std::vector<std::pair<uint32_t, mt_py_code_key>> BpfLoader::read_py_funcs() const
{
    return read_map<uint32_t, mt_py_code_key>(state_->skel->maps.py_funcs);
}

std::vector<std::pair<uint32_t, mt_call_slots>> BpfLoader::read_call_slots() const
{
    return read_map<uint32_t, mt_call_slots>(state_->skel->maps.call_slots);
}

KernelTotalPeak BpfLoader::total_peak() const
{
    const auto *bss = state_->skel->bss;
    return {__atomic_load_n(&bss->mt_total_peak_pages, __ATOMIC_RELAXED),
            __atomic_load_n(&bss->mt_total_peak_ns, __ATOMIC_RELAXED)};
}

ProgramCost BpfLoader::program_cost() const
{
    ProgramCost cost;
    bpf_program *prog = nullptr;
    bpf_object__for_each_program(prog, state_->skel->obj)
    {
        int fd = bpf_program__fd(prog);
        if (fd < 0)
            continue;
        bpf_prog_info info{};
        uint32_t len = sizeof(info);
        if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
            cost.run_time_ns += info.run_time_ns;
            cost.run_count += info.run_cnt;
        }
    }
    return cost;
}

namespace {

ProgramCost cost_of(const bpf_program *prog)
{
    ProgramCost cost;
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    if (bpf_program__fd(prog) >= 0 && bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) == 0) {
        cost.run_time_ns = info.run_time_ns;
        cost.run_count = info.run_cnt;
    }
    return cost;
}

} // namespace

ProgramCost BpfLoader::probe_program_cost(bool entry) const
{
    return cost_of(entry ? state_->skel->progs.mt_func_entry : state_->skel->progs.mt_func_return);
}

bool BpfLoader::run_time_stats() const
{
    return static_cast<bool>(state_->run_time_stats);
}

bool BpfLoader::enable_run_time_stats()
{
    if (!state_->run_time_stats)
        state_->run_time_stats = UniqueFd(bpf_enable_stats(BPF_STATS_RUN_TIME));
    return run_time_stats();
}

std::optional<BpfLoader::ProbeTiming> BpfLoader::time_probe(const std::string &path, uint64_t offset,
                                                            void (*hit)(), int calls)
{
    bpf_program *prog = state_->skel->progs.mt_func_entry;
    UniqueFd multi;
    LinkPtr link;
    if (state_->uprobe_multi) {
        multi = attach_uprobe_multi(bpf_program__fd(prog), path, {offset}, {0}, getpid());
    } else {
        LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = false);
        link.reset(bpf_program__attach_uprobe_opts(prog, getpid(), path.c_str(), offset, &opts));
    }
    if (!multi && !link)
        return std::nullopt;
    for (int i = 0; i < 20; ++i)
        hit(); // the first hits: the kernel may rewrite the probe (a 5-byte nop's optimized path)
    const ProgramCost before = cost_of(prog);
    timespec t0{}, t1{};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < calls; ++i)
        hit();
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const ProgramCost after = cost_of(prog);
    ProbeTiming out;
    out.hit_ns = (static_cast<double>(t1.tv_sec - t0.tv_sec) * 1e9 + static_cast<double>(t1.tv_nsec - t0.tv_nsec)) /
                 calls;
    if (after.run_count > before.run_count)
        out.bpf_ns = static_cast<double>(after.run_time_ns - before.run_time_ns) /
                     static_cast<double>(after.run_count - before.run_count);
    return out;
}

std::vector<std::pair<mt_stack_key, uint64_t>> BpfLoader::read_stack_bytes() const
{
    return read_map<mt_stack_key, uint64_t>(state_->skel->maps.stack_bytes);
}

namespace {

// A hash map's entries in a few system calls (BPF_MAP_LOOKUP_BATCH), or one
// key at a time where the kernel has no batches; nullopt if reading failed.
template <typename K, typename V> std::optional<std::vector<std::pair<K, V>>> read_map_batched(bpf_map *map)
{
    constexpr uint32_t kChunk = 4096; // more than a bucket holds: no ENOSPC
    std::vector<K> keys(kChunk);
    std::vector<V> values(kChunk);
    std::vector<std::pair<K, V>> out;
    uint64_t in_batch = 0, out_batch = 0; // a bucket number for hash maps (4 bytes at least)
    for (bool first = true;; first = false) {
        uint32_t count = kChunk;
        int err = bpf_map_lookup_batch(bpf_map__fd(map), first ? nullptr : &in_batch, &out_batch, keys.data(),
                                       values.data(), &count, nullptr);
        if (err && errno != ENOENT)
            return errno == EINVAL || errno == EOPNOTSUPP || errno == 524 /* ENOTSUPP */
                       ? std::optional(read_map<K, V>(map))
                       : std::nullopt;
        for (uint32_t i = 0; i < count && i < kChunk; ++i)
            out.emplace_back(keys[i], values[i]);
        if (err) // ENOENT: the last bucket was read
            return out;
        in_batch = out_batch;
    }
}

} // namespace

std::vector<std::pair<mt_stack_key, uint64_t>> BpfLoader::take_stack_bytes(const std::set<uint32_t> &tgids)
{
    bpf_map *map = state_->skel->maps.stack_bytes;
    std::vector<std::pair<mt_stack_key, uint64_t>> taken;
    auto all = read_map_batched<mt_stack_key, uint64_t>(map);
    if (!all)
        return taken; // named at the end instead
    for (const auto &entry : *all)
        if (tgids.count(entry.first.tgid))
            taken.push_back(entry);
    for (const auto &[key, bytes] : taken)
        bpf_map__delete_elem(map, &key, sizeof(key), 0);
    return taken;
}

std::vector<std::pair<uint32_t, std::string>> BpfLoader::take_thread_names(const std::set<uint32_t> &tids)
{
    bpf_map *map = state_->skel->maps.sample_state;
    std::vector<std::pair<uint32_t, std::string>> out;
    for (uint32_t tid : tids) {
        mt_sample_state st{};
        if (bpf_map__lookup_elem(map, &tid, sizeof(tid), &st, sizeof(st), 0) != 0)
            continue;
        out.emplace_back(tid, std::string(st.comm, strnlen(st.comm, sizeof(st.comm))));
        bpf_map__delete_elem(map, &tid, sizeof(tid), 0);
    }
    return out;
}

std::vector<UserStackFrame> BpfLoader::read_user_stack(int32_t id) const
{
    std::vector<UserStackFrame> out;
    bpf_stack_build_id frames[MT_STACK_DEPTH] = {};
    uint32_t key = static_cast<uint32_t>(id);
    if (id < 0 || bpf_map__lookup_elem(state_->skel->maps.user_stacks, &key, sizeof(key), frames,
                                       sizeof(frames), 0) != 0)
        return out;
    for (const bpf_stack_build_id &f : frames) {
        if (f.status == BPF_STACK_BUILD_ID_EMPTY)
            break;
        UserStackFrame frame;
        frame.has_build_id = f.status == BPF_STACK_BUILD_ID_VALID;
        if (frame.has_build_id) {
            std::memcpy(frame.build_id, f.build_id, sizeof(frame.build_id));
            frame.value = f.offset;
        } else {
            frame.value = f.ip;
        }
        out.push_back(frame);
    }
    return out;
}

std::vector<uint64_t> BpfLoader::read_kernel_stack(int32_t id) const
{
    std::vector<uint64_t> out;
    uint64_t ips[MT_STACK_DEPTH] = {};
    uint32_t key = static_cast<uint32_t>(id);
    if (id < 0 || bpf_map__lookup_elem(state_->skel->maps.kernel_stacks, &key, sizeof(key), ips,
                                       sizeof(ips), 0) != 0)
        return out;
    for (uint64_t ip : ips) {
        if (!ip)
            break;
        out.push_back(ip);
    }
    return out;
}

std::vector<std::pair<uint32_t, std::string>> BpfLoader::read_thread_names() const
{
    std::vector<std::pair<uint32_t, std::string>> out;
    for (auto &[tid, st] : read_map<uint32_t, mt_sample_state>(state_->skel->maps.sample_state))
        out.emplace_back(tid, std::string(st.comm, strnlen(st.comm, sizeof(st.comm))));
    return out;
}

mt_stats BpfLoader::read_stats() const
{
    // One mt_stats per possible CPU; every field a __u64 counter, summed.
    constexpr size_t fields = sizeof(mt_stats) / sizeof(uint64_t);
    static_assert(sizeof(mt_stats) % sizeof(uint64_t) == 0);
    std::vector<std::array<uint64_t, fields>> per_cpu(state_->nr_cpus);
    uint32_t zero = 0;
    mt_stats total{};
    if (bpf_map__lookup_elem(state_->skel->maps.stats, &zero, sizeof(zero), per_cpu.data(),
                             per_cpu.size() * sizeof(per_cpu[0]), 0) != 0)
        return total;
    std::array<uint64_t, fields> sum{};
    for (const auto &cpu : per_cpu)
        for (size_t i = 0; i < fields; i++)
            sum[i] += cpu[i];
    std::memcpy(&total, sum.data(), sizeof(total));
    return total;
}

} // namespace memtrace
