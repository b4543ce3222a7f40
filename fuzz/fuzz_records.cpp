// libFuzzer: ring-buffer records and machine code, decoded from arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <span>

#include "collect/records.h"
#include "probes/x86_code.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    memtrace::decode_record(std::span<const std::byte>(reinterpret_cast<const std::byte *>(data), size));
    memtrace::scan_function(std::span<const uint8_t>(data, size), 0x1000, {{0x800, 0x900}});
    return 0;
}
