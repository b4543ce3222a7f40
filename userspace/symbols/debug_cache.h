// Debug files whose DWARF sections are compressed (Debian's -dbg packages):
// libdw decompresses each such section whole into its heap the first time it
// reads the DWARF (libc6-dbg's: 13.5 MiB, for the inline frames of a few libc
// addresses). A copy with the sections stored uncompressed, written once per
// build-id into memtrace's cache directory (perf keeps one in ~/.debug), is read
// through the page cache instead: only the pages read are resident, and
// drop_file_pages() can give them back.
#pragma once

#include <optional>
#include <string>

namespace memtrace {

// /var/cache/memtrace for root, else $XDG_CACHE_HOME/memtrace (~/.cache/memtrace).
std::string default_debug_cache_dir();
// Where the copies go ("" turns the cache off: libdw decompresses in memory).
// Set once at start-up, before any debug file is opened.
void set_debug_cache_dir(const std::string &dir);
const std::string &debug_cache_dir();
// A directory only this user can write to (made if missing): anything else is not used.
bool usable_debug_cache_dir(const std::string &dir);

// The uncompressed copy of `debug_path` (whose build-id is `build_id`, hex),
// made now if need be; nullopt when the file has no compressed section, has no
// build-id, could have been written by another user (a copy serves all later
// runs: a user's file could claim libc's build-id), or the cache cannot be used
// (not ours, writable by others, disk nearly full): then the file itself
// serves, as before. The copy is written by
// streaming each section through zlib (64 KiB at a time): the decompressed
// sections never sit in memtrace's memory, not even while the copy is made.
std::optional<std::string> uncompressed_debug_copy(const std::string &debug_path, const std::string &build_id);

// The same in `dir` (a directory memtrace owns, made if missing).
std::optional<std::string> uncompressed_debug_copy(const std::string &debug_path, const std::string &build_id,
                                                   const std::string &dir);
// Does the ELF file at `path` hold a zlib-compressed section (SHF_COMPRESSED)?
bool has_compressed_sections(const std::string &path);

} // namespace memtrace
