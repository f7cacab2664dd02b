// Running a call's actors on the thread that has news for them.
//
// A proxied call moves through grpc++ callbacks; handing each event to a scheduler worker costs
// a thread wake-up and a context switch per message, which is most of what a proxy adds to a
// small call. When a grpc++ callback sends a message to an idle call actor, the actor may
// instead run right there, on the callback's thread, before the callback returns. It is still
// an actor: its mailbox decides who runs it, it handles one message at a time, and it never
// runs on two threads at once. Only actors that never block take part (the call actor and the
// upstream actors, whose handlers only move buffers and start grpc++ operations); any other
// actor woken along the way goes to the scheduler as usual.
#pragma once

#include <utility>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/execution_unit.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/message_id.hpp>

namespace s2s::actors {

namespace inline_run {

// The execution unit of the calling thread for `system`, while the thread runs actors inline;
// a new one otherwise. Pass it to enqueue or spawn, then call drain().
class unit final : public caf::execution_unit {
 public:
  explicit unit(caf::actor_system& system);
  ~unit() override;
  unit(const unit&) = delete;
  unit& operator=(const unit&) = delete;

  void exec_later(caf::resumable* job) override;

  // Runs the actors queued on this unit; a bounded number, the rest go to the scheduler.
  // Does nothing when an enclosing drain on this thread will run them.
  void drain();

 private:
  static constexpr int max_jobs = 64;                // per drain, so a busy call cannot hold a grpc++ thread
  static constexpr std::size_t max_throughput = 32;  // messages per actor per turn

  unit* outer_;          // the unit this thread ran before this one
  bool nested_;          // an enclosing drain on this thread runs this unit's jobs
  bool foreign_thread_;  // not a thread of the actor system (a grpc++ thread)
  caf::resumable* queue_[max_jobs];
  int head_ = 0, tail_ = 0, ran_ = 0;
};

// Whether actors named `name` may run inline ("call", "upstream", "mux-upstream").
bool may_run_inline(const char* name);

}  // namespace inline_run

// Sends `message` to `target` as an anonymous message; when that wakes a call or upstream
// actor, runs it on this thread before returning.
template <class Handle, class Message>
void deliver(const Handle& target, Message&& message) {
  auto* receiver = caf::actor_cast<caf::abstract_actor*>(target);
  if (receiver == nullptr)
    return;
  inline_run::unit here(receiver->home_system());
  receiver->enqueue(caf::make_mailbox_element(nullptr, caf::make_message_id(), {}, std::forward<Message>(message)),
                    &here);
  here.drain();
}

// Spawns a function-based actor and runs its start on this thread (see deliver).
template <class F, class... Ts>
auto spawn_here(caf::actor_system& system, F fun, Ts&&... xs) {
  inline_run::unit here(system);
  caf::actor_config config{&here};
  auto handle = system.spawn_functor(std::true_type{}, config, fun, std::forward<Ts>(xs)...);
  here.drain();
  return handle;
}

}  // namespace s2s::actors
