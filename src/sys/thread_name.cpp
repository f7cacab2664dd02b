// Names for the threads the proxy starts.
#include "sys/thread_name.hpp"

#include <pthread.h>

#include <string>

namespace s2s::sys {

void name_this_thread(std::string_view name) {
  std::string kept(name.substr(0, max_thread_name));
  ::pthread_setname_np(::pthread_self(), kept.c_str());
}

}  // namespace s2s::sys
