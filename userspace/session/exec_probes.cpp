#include "session/exec_probes.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <filesystem>

#include "error.h"
#include "probes/probe_planner.h"
#include "session/functions.h"
#include "session/loader.h"
#include "symbols/modules.h"

namespace memtrace {
namespace {

// The file as the kernel side names it (abi.h, mt_file_id); false if gone.
bool kernel_file_id(const std::string &path, mt_file_id &id)
{
    struct stat st {};
    if (stat(path.c_str(), &st) != 0)
        return false;
    id.dev = (static_cast<uint64_t>(major(st.st_dev)) << 20) | minor(st.st_dev);
    id.ino = st.st_ino;
    return true;
}

// Resumes a held process whatever happens while it is held.
struct Resume {
    BpfLoader &loader;
    pid_t pid;
    ~Resume()
    {
        kill(pid, SIGCONT);
        loader.resumed(static_cast<uint32_t>(pid)); // after: dying in between resumes it twice, not never
    }
};

} // namespace

std::vector<std::string> hold_names(const std::vector<WaitingPattern> &waiting)
{
    std::vector<std::string> names;
    for (const auto &[p, why] : waiting) {
        std::string name = std::filesystem::path(p.module).filename().string();
        if (name.size() >= MT_HOLD_NAME_LEN)
            name.clear(); // longer than the kernel side compares: any program
        bool known = false;
        for (const std::string &n : names)
            known |= n == name;
        if (!known)
            names.push_back(name);
    }
    // More names than the kernel side keeps: hold every exec (userspace sorts them out)
    if (names.size() > MT_HOLD_NAMES)
        names = {""};
    return names;
}

ExecProbes::ExecProbes(BpfLoader &loader, std::vector<WaitingPattern> waiting,
                       const TraceConfig &config, std::vector<pid_t> probe_pids,
                       const std::string &command, Progress &progress)
    : loader_(loader), config_(config), probe_pids_(std::move(probe_pids)), progress_(progress)
{
    for (WaitingPattern &w : waiting)
        waiting_.push_back({std::move(w.pattern), {}, false});
    mt_file_id id{};
    if (!command.empty() && kernel_file_id(command, id))
        loader_.exec_examined(id);
    std::vector<WaitingPattern> patterns;
    for (const Waiting &w : waiting_)
        patterns.push_back({w.pattern, ""});
    loader_.hold_execs(hold_names(patterns));
}

std::vector<TracedFunction> ExecProbes::held_exec(uint32_t pid, uint32_t first_id)
{
    Resume resume{loader_, static_cast<pid_t>(pid)};
    const std::string exe = "/proc/" + std::to_string(pid) + "/exe";
    try {
        std::vector<TracedFunction> found = probe_program(pid, first_id);
        if (mt_file_id id{}; kernel_file_id(exe, id))
            loader_.exec_examined(id); // its later execs are probed already: not held
        return found;
    } catch (const std::exception &e) {
        progress_.warning(std::string("-f: probing a program pid ") + std::to_string(pid) +
                          " exec'd: " + e.what());
    }
    return {};
}

std::vector<TracedFunction> ExecProbes::probe_program(uint32_t pid, uint32_t first_id)
{
    const std::vector<Module> modules = process_modules(static_cast<pid_t>(pid));
    std::vector<FunctionProbe> probes;
    for (Waiting &w : waiting_) {
        PlanRequest req;
        req.patterns = {w.pattern};
        req.debug_dirs = config_.debug_dirs;
        req.max_probes = config_.max_probes;
        for (const Module &m : modules)
            if (w.pattern.module.empty() ? m.main : module_matches(w.pattern.module, m.path))
                req.modules.push_back(m);
        if (req.modules.empty() || w.failed)
            continue;
        mt_file_id id{};
        kernel_file_id(req.modules.front().open_path, id);
        const std::string key = w.pattern.text + "\n" + req.modules.front().path + "@" +
                                std::to_string(id.dev) + ":" + std::to_string(id.ino);
        if (!searched_.insert(key).second)
            continue; // probed on this file already: its probes serve every process
        try {
            for (FunctionProbe &p : plan_function_probes(req, nullptr,
                                                         first_id + static_cast<uint32_t>(probes.size())))
                probes.push_back(std::move(p));
            w.programs.push_back(req.modules.front().path);
            progress_.info("-f '" + w.pattern.text + "': " + req.modules.front().path + " exec'd (pid " +
                           std::to_string(pid) + "): probed before its first instruction");
        } catch (const Error &e) {
            if (w.pattern.module.empty())
                continue; // a bare pattern: maybe the next program
            w.failed = true;
            progress_.warning("-f '" + w.pattern.text + "': " + e.what());
        }
    }
    if (!probes.empty())
        loader_.attach_probes(probe_sites(probes), probe_pids_);
    std::vector<TracedFunction> found = traced_functions(probes);
    for (TracedFunction &f : found)
        f.from_exec = true;
    return found;
}

void ExecProbes::stop_holding()
{
    loader_.stop_holding();
}

std::vector<std::string> ExecProbes::never_matched() const
{
    std::vector<std::string> lines;
    for (const Waiting &w : waiting_) {
        if (!w.programs.empty() || w.failed)
            continue;
        if (w.pattern.module.empty())
            lines.push_back("-f '" + w.pattern.text +
                            "': no function of that name in the traced program or any program it "
                            "exec'd; see --list-funcs, or try a glob ('*" + w.pattern.symbol + "*')");
        else
            lines.push_back("-f '" + w.pattern.text + "': no traced process ran a program or library '" +
                            w.pattern.module + "'; give the file's path (-f /path/to/" +
                            w.pattern.module + ":" + w.pattern.symbol + ")");
    }
    return lines;
}

} // namespace memtrace
