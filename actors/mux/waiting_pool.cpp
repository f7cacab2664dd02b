// The mux-server's pool of accepted connections that have not spoken yet.
#include "actors/mux/waiting_pool.hpp"

#include <algorithm>

namespace s2s::actors {

std::vector<mux_waiting_pool::eviction> mux_waiting_pool::admit(int handle, std::string source, clock::time_point now) {
  std::vector<eviction> evicted;
  auto& count = ++per_source_[source];
  bool over_cap = count > limits_.max_per_source;
  entries_.push_back({handle, std::move(source), now});
  if (over_cap)
    evict_oldest_idle(&entries_.back().source, mux_refusal::per_source_cap, evicted);
  while (entries_.size() > limits_.max_waiting && evict_oldest_idle(nullptr, mux_refusal::waiting_pool_full, evicted)) {
  }
  return evicted;
}

bool mux_waiting_pool::evict_oldest_idle(const std::string* source, mux_refusal cause, std::vector<eviction>& out) {
  auto found = std::find_if(entries_.begin(), entries_.end(),
                            [&](const entry& e) { return !e.readable && (!source || e.source == *source); });
  if (found == entries_.end())
    return false;
  out.push_back({found->handle, cause});
  erase(found);
  return true;
}

void mux_waiting_pool::erase(std::deque<entry>::iterator at) {
  if (auto count = per_source_.find(at->source); count != per_source_.end() && --count->second == 0)
    per_source_.erase(count);
  entries_.erase(at);
}

void mux_waiting_pool::mark_readable(int handle) {
  for (auto& e : entries_)
    if (e.handle == handle)
      e.readable = true;
}

std::vector<int> mux_waiting_pool::take_readable() {
  std::vector<int> taken;
  for (auto& e : take_if([](const entry& e) { return e.readable; }))
    taken.push_back(e.handle);
  return taken;
}

std::vector<mux_waiting_pool::eviction> mux_waiting_pool::expire(clock::time_point now) {
  std::vector<eviction> expired;
  auto late = [&](const entry& e) { return !e.readable && now - e.since >= limits_.hello_timeout; };
  for (auto& e : take_if(late))
    expired.push_back({e.handle, mux_refusal::hello_timeout});
  return expired;
}

std::vector<mux_waiting_pool::entry> mux_waiting_pool::take_if(const std::function<bool(const entry&)>& wanted) {
  std::vector<entry> taken;
  for (std::size_t index = 0; index < entries_.size();) {
    if (!wanted(entries_[index])) {
      ++index;
      continue;
    }
    taken.push_back(entries_[index]);
    erase(entries_.begin() + static_cast<std::ptrdiff_t>(index));
  }
  return taken;
}

std::optional<mux_waiting_pool::clock::time_point> mux_waiting_pool::next_expiry() const {
  for (const auto& e : entries_)
    if (!e.readable)
      return e.since + limits_.hello_timeout;
  return std::nullopt;
}

std::vector<int> mux_waiting_pool::handles() const {
  std::vector<int> all;
  all.reserve(entries_.size());
  for (const auto& e : entries_)
    all.push_back(e.handle);
  return all;
}

std::vector<int> mux_waiting_pool::take_all() {
  auto all = handles();
  entries_.clear();
  per_source_.clear();
  return all;
}

std::size_t mux_waiting_pool::from(std::string_view source) const {
  auto found = per_source_.find(std::string(source));
  return found == per_source_.end() ? 0 : found->second;
}

}  // namespace s2s::actors
