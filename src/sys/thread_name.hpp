// Names for the threads the proxy starts, as top -H, gdb and /proc/<pid>/task/*/comm show them.
#pragma once

#include <cstddef>
#include <string_view>

namespace s2s::sys {

// The kernel keeps this many characters of a thread's name.
inline constexpr std::size_t max_thread_name = 15;

// Names the calling thread, cut to max_thread_name. Every name the proxy gives is listed in
// docs/threads.md, and a test holds the running binary to that list.
void name_this_thread(std::string_view name);

}  // namespace s2s::sys
