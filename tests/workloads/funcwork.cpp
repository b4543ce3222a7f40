// funcwork: functions whose memory behaviour is known by construction, for
// memtrace -f. Built -O2 (functions kept out of line), as PIE, non-PIE,
// stripped (.dynsym only) and with a separate debug file.
//
//   funcwork spike MIB        transient_spike: allocates MIB, touches, frees: peak +MIB, net 0
//   funcwork keep MIB         keep_memory: allocates MIB and keeps it: peak = net = MIB
//   funcwork nested MIB       outer_call keeps MIB/2, then inner_spike makes a MIB spike
//   funcwork recurse N MIB    recurse_alloc: N levels, each holding MIB until it returns
//   funcwork throw MIB        throwing_frame allocates MIB (kept), then an exception leaves it
//   funcwork longjmp MIB      jumping_frame allocates MIB (kept), then longjmp leaves it
//   funcwork threads MIB      wait_for_other runs on one thread while another touches MIB
//   funcwork dlopen MIB       dlopen()s libfuncwork_plugin.so later, calls plugin_alloc(MIB)
//   funcwork build MIB        Index::build(unsigned long) keeps MIB; build_table / build_tree too
//   funcwork tail MIB         tail_caller jumps (tail call) into an allocator that keeps MIB
//   funcwork loop N           calls tiny_call N times (a hot function)
//   funcwork thread_exit MIB  a thread enters exiting_frame, allocates MIB, pthread_exit()s in it
//   funcwork exec MIB         exec_frame allocates MIB, then execs /bin/true from inside
//
// Every mode runs its function 3 times unless said otherwise; --hold MS keeps
// the process alive afterwards (for -p), --wait waits for a stdin line first.
#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#define NOINLINE __attribute__((noinline))

namespace {
constexpr size_t MiB = 1024 * 1024;
std::vector<void *> kept; // memory that functions keep
jmp_buf jump_target;
volatile int sink;
} // namespace

static void touch(char *p, size_t bytes)
{
    for (size_t off = 0; off < bytes; off += 4096)
        p[off] = 1;
    asm volatile("" ::"r"(p) : "memory");
}

static char *map_touched(size_t bytes)
{
    void *p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    touch(static_cast<char *>(p), bytes);
    return static_cast<char *>(p);
}

extern "C" {

NOINLINE void transient_spike(size_t mib)
{
    char *p = map_touched(mib * MiB);
    munmap(p, mib * MiB);
}

NOINLINE void keep_memory(size_t mib)
{
    kept.push_back(map_touched(mib * MiB));
}

NOINLINE void inner_spike(size_t mib)
{
    transient_spike(mib);
}

NOINLINE void outer_call(size_t mib)
{
    keep_memory(mib / 2);
    inner_spike(mib);
}

NOINLINE size_t recurse_alloc(int depth, size_t mib)
{
    if (depth <= 0)
        return 0;
    char *p = map_touched(mib * MiB);
    size_t below = recurse_alloc(depth - 1, mib);
    munmap(p, mib * MiB);
    asm volatile("" ::: "memory"); // keep the call a real call, not a tail call
    return below + 1;
}

NOINLINE void jumping_frame(size_t mib)
{
    keep_memory(mib);
    longjmp(jump_target, 1);
}

NOINLINE void build_table(size_t mib)
{
    keep_memory(mib);
}

NOINLINE void build_tree(size_t mib)
{
    keep_memory(mib);
}

NOINLINE void *kept_allocation(size_t mib)
{
    char *p = map_touched(mib * MiB);
    kept.push_back(p);
    return p;
}

// A tail call at -O2: the jmp leaves tail_caller; kept_allocation returns for it.
NOINLINE void *tail_caller(size_t mib)
{
    return kept_allocation(mib);
}

NOINLINE int tiny_call(int x)
{
    asm volatile("" ::: "memory");
    return x + 1;
}

} // extern "C"

NOINLINE void throwing_frame(size_t mib)
{
    keep_memory(mib);
    if (mib > 0)
        throw std::runtime_error("leaving throwing_frame by an exception");
}

class Index {
public:
    NOINLINE void build(unsigned long mib)
    {
        data_.push_back(map_touched(mib * MiB));
    }

private:
    std::vector<char *> data_;
};

namespace {

pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
bool allocated = false;

void *allocating_thread(void *arg)
{
    size_t mib = *static_cast<size_t *>(arg);
    usleep(100 * 1000); // let the other thread enter wait_for_other
    char *p = map_touched(mib * MiB);
    munmap(p, mib * MiB); // freed before wait_for_other returns: only its peak sees it
    pthread_mutex_lock(&lock);
    allocated = true;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&lock);
    return nullptr;
}

} // namespace

extern "C" NOINLINE void exiting_frame(size_t mib)
{
    keep_memory(mib);
    pthread_exit(nullptr); // the call never returns: its thread ends inside it
}

extern "C" NOINLINE void exec_frame(size_t mib)
{
    keep_memory(mib);
    execl("/bin/true", "true", static_cast<char *>(nullptr)); // ends the program inside the call
    perror("execl");
}

static void *exiting_thread(void *arg)
{
    exiting_frame(*static_cast<size_t *>(arg));
    return nullptr;
}

extern "C" NOINLINE void wait_for_other(void)
{
    pthread_mutex_lock(&lock);
    while (!allocated)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
}

int main(int argc, char **argv)
{
    int arg = 1;
    volatile int hold_ms = 0; // volatile: survives the longjmp below
    bool wait_stdin = false;
    for (; arg < argc && argv[arg][0] == '-'; ++arg) {
        if (!strcmp(argv[arg], "--hold") && arg + 1 < argc)
            hold_ms = atoi(argv[++arg]);
        else if (!strcmp(argv[arg], "--wait"))
            wait_stdin = true;
    }
    if (argc - arg < 2) {
        fprintf(stderr, "usage: funcwork [--wait] [--hold MS] MODE N [MIB]\n");
        return 2;
    }
    std::string mode = argv[arg];
    size_t n = strtoul(argv[arg + 1], nullptr, 10);
    size_t mib2 = argc - arg > 2 ? strtoul(argv[arg + 2], nullptr, 10) : 0;
    if (wait_stdin) {
        char line[16];
        if (!fgets(line, sizeof(line), stdin))
            return 3;
    }

    if (mode == "spike") {
        for (int i = 0; i < 3; ++i)
            transient_spike(n);
    } else if (mode == "keep") {
        for (int i = 0; i < 3; ++i)
            keep_memory(n);
    } else if (mode == "nested") {
        outer_call(n);
    } else if (mode == "recurse") {
        sink = static_cast<int>(recurse_alloc(static_cast<int>(n), mib2));
    } else if (mode == "throw") {
        for (int i = 0; i < 3; ++i) {
            try {
                throwing_frame(n);
            } catch (const std::exception &e) {
                sink = static_cast<int>(strlen(e.what()));
            }
        }
        printf("caught 3 exceptions\n");
    } else if (mode == "longjmp") {
        if (setjmp(jump_target) == 0)
            jumping_frame(n);
        printf("came back by longjmp\n");
    } else if (mode == "threads") {
        pthread_t t;
        pthread_create(&t, nullptr, allocating_thread, &n);
        wait_for_other();
        pthread_join(t, nullptr);
    } else if (mode == "dlopen") {
        usleep(200 * 1000); // the library is loaded well after memtrace attached
        std::string self = argv[0];
        std::string dir = self.substr(0, self.rfind('/') + 1);
        void *lib = dlopen((dir + "libfuncwork_plugin.so").c_str(), RTLD_NOW);
        if (!lib) {
            fprintf(stderr, "dlopen: %s\n", dlerror());
            return 1;
        }
        auto plugin_alloc = reinterpret_cast<void (*)(size_t)>(dlsym(lib, "plugin_alloc"));
        for (int i = 0; i < 3; ++i)
            plugin_alloc(n);
    } else if (mode == "build") {
        Index index;
        index.build(n);
        build_table(n / 2);
        build_tree(n / 4);
    } else if (mode == "tail") {
        for (int i = 0; i < 3; ++i)
            tail_caller(n);
    } else if (mode == "thread_exit") {
        pthread_t t;
        pthread_create(&t, nullptr, exiting_thread, &n);
        pthread_join(t, nullptr);
        printf("the thread ended inside exiting_frame\n");
    } else if (mode == "exec") {
        exec_frame(n);
        return 1;
    } else if (mode == "loop") {
        int x = 0;
        for (size_t i = 0; i < n; ++i)
            x = tiny_call(x);
        sink = x;
    } else {
        fprintf(stderr, "funcwork: unknown mode '%s'\n", mode.c_str());
        return 2;
    }
    if (hold_ms > 0)
        usleep(static_cast<useconds_t>(hold_ms) * 1000);
    return 0;
}
