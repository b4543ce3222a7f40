#include "session/uprobe_multi.h"

#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <string_view>

namespace memtrace {
namespace {

// BPF_LINK_CREATE's attributes as Linux 6.6+ lays them out for uprobe_multi
// (include/uapi/linux/bpf.h); Debian 12's headers predate them.
struct LinkCreateUprobeMulti {
    uint32_t prog_fd;
    uint32_t target_fd;
    uint32_t attach_type;
    uint32_t flags;
    uint64_t path;
    uint64_t offsets;
    uint64_t ref_ctr_offsets;
    uint64_t cookies;
    uint32_t cnt;
    uint32_t multi_flags;
    uint32_t pid;
    uint32_t pad;
};
static_assert(offsetof(LinkCreateUprobeMulti, path) == 16);
static_assert(offsetof(LinkCreateUprobeMulti, pid) == 56);

} // namespace

bool kernel_has_uprobe_multi()
{
    // The type's name in the kernel's BTF strings: a plain search, ~2 ms; a
    // second parse of the BTF (libbpf parses it for CO-RE) costs 50-400 ms.
    static const bool has = [] {
        std::ifstream in("/sys/kernel/btf/vmlinux", std::ios::binary);
        std::string btf;
        char chunk[1 << 16];
        while (in.read(chunk, sizeof(chunk)) || in.gcount() > 0)
            btf.append(chunk, static_cast<size_t>(in.gcount()));
        static const char name[] = "\0bpf_uprobe_multi_link\0";
        return btf.find(std::string_view(name, sizeof(name) - 1)) != std::string::npos;
    }();
    return has;
}

UniqueFd attach_uprobe_multi(int prog_fd, const std::string &path, const std::vector<uint64_t> &offsets,
                             const std::vector<uint64_t> &cookies, pid_t pid)
{
    if (offsets.empty() || offsets.size() != cookies.size()) {
        errno = EINVAL;
        return UniqueFd();
    }
    LinkCreateUprobeMulti a{};
    a.prog_fd = static_cast<uint32_t>(prog_fd);
    a.attach_type = kUprobeMultiAttachType;
    a.path = reinterpret_cast<uintptr_t>(path.c_str());
    a.offsets = reinterpret_cast<uintptr_t>(offsets.data());
    a.cookies = reinterpret_cast<uintptr_t>(cookies.data());
    a.cnt = static_cast<uint32_t>(offsets.size());
    a.pid = pid > 0 ? static_cast<uint32_t>(pid) : 0;
    // the kernel reads this much of union bpf_attr and takes the rest as zero
    long fd = syscall(__NR_bpf, BPF_LINK_CREATE, &a, sizeof(a));
    return UniqueFd(fd < 0 ? -1 : static_cast<int>(fd));
}

} // namespace memtrace
