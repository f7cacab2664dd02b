// A unit of work for an event loop: a callable taking no arguments, moved and never copied.
//
// std::function keeps a callable inside itself only when it is trivially copyable, so every
// lambda that holds a shared_ptr (most of the data path's: a half posting to its connection's
// loop) cost an allocation and a free. A task keeps callables of up to `inline_bytes` inside;
// larger ones go to the heap. Being move-only, it also takes callables that cannot be copied.
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace s2s::net {

class task {
 public:
  // A shared_ptr, a framed message and a few flags fit.
  static constexpr std::size_t inline_bytes = 64;

  task() noexcept = default;
  task(std::nullptr_t) noexcept {}  // NOLINT(google-explicit-constructor): like std::function

  template <class F, class D = std::decay_t<F>,
            class = std::enable_if_t<!std::is_same_v<D, task> && std::is_invocable_r_v<void, D&>>>
  task(F&& work) {  // NOLINT(google-explicit-constructor): lambdas convert, as to std::function
    if constexpr (fits_inside<D>) {
      ::new (static_cast<void*>(storage_)) D(std::forward<F>(work));
      ops_ = &inside<D>;
    } else {
      ::new (static_cast<void*>(storage_)) D*(new D(std::forward<F>(work)));
      ops_ = &outside<D>;
    }
  }

  task(task&& other) noexcept { take(other); }
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      reset();
      take(other);
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  ~task() { reset(); }

  // Runs the work; the task must not be empty.
  void operator()() { ops_->run(storage_); }
  explicit operator bool() const noexcept { return ops_ != nullptr; }

 private:
  struct operations {
    void (*run)(void* storage);
    void (*move)(void* from, void* to) noexcept;  // leaves `from` destroyed
    void (*destroy)(void* storage) noexcept;
  };

  template <class D>
  static constexpr bool fits_inside =
      sizeof(D) <= inline_bytes && alignof(D) <= alignof(std::max_align_t) && std::is_nothrow_move_constructible_v<D>;

  template <class D>
  static D& held(void* storage) {
    return *std::launder(static_cast<D*>(storage));
  }

  template <class D>
  static constexpr operations inside = {
      [](void* storage) { held<D>(storage)(); },
      [](void* from, void* to) noexcept {
        ::new (to) D(std::move(held<D>(from)));
        held<D>(from).~D();
      },
      [](void* storage) noexcept { held<D>(storage).~D(); },
  };

  template <class D>
  static constexpr operations outside = {
      [](void* storage) { (*held<D*>(storage))(); },
      [](void* from, void* to) noexcept { ::new (to) D*(held<D*>(from)); },
      [](void* storage) noexcept { delete held<D*>(storage); },
  };

  void take(task& other) noexcept {
    if (!other.ops_)
      return;
    other.ops_->move(other.storage_, storage_);
    ops_ = std::exchange(other.ops_, nullptr);
  }
  void reset() noexcept {
    if (ops_)
      std::exchange(ops_, nullptr)->destroy(storage_);
  }

  alignas(std::max_align_t) unsigned char storage_[inline_bytes];
  const operations* ops_ = nullptr;
};

}  // namespace s2s::net
