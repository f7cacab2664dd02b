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
//
// An actor takes part when its state says so:
//
//   struct call_state {
//     static constexpr bool runs_inline = true;
//     ...
//   };
//   using call_pointer = stateful_pointer<call_actor, call_state>;
//
// The trait is read at compile time, and CAF 0.17 leaves it no other place to be read from: the
// unit below meets an actor only as the `caf::resumable*` its mailbox hands to exec_later, long
// after the spawn, and every flag bit of an actor belongs to CAF. So the trait chooses the class
// CAF makes the actor of: stateful_pointer names CAF's stateful actor for any state, and for a
// state that runs inline a subclass of it that also carries the inline_run::eligible mark, which
// the unit finds with one dynamic_cast. Whether an actor may run on a thread that is not CAF's is
// then said where its state is declared and carried by its type; no name is compared at run time.
#pragma once

#include <type_traits>
#include <utility>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/execution_unit.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/message_id.hpp>
#include <caf/resumable.hpp>
#include <caf/stateful_actor.hpp>

namespace s2s::actors {

namespace inline_run {

// A state that asks to run inline: `static constexpr bool runs_inline = true;`. Only for actors
// whose handlers never block.
template <class State>
concept runs_inline = State::runs_inline;

// The mark of an actor that may run inline; the unit looks for it on every actor it is handed.
class eligible {
 protected:
  eligible() = default;
  ~eligible() = default;
};

// CAF's stateful actor with the mark: what stateful_pointer names for a state that runs inline.
template <class State, class Base>
class eligible_actor : public caf::stateful_actor<State, Base>, public eligible {
 public:
  using caf::stateful_actor<State, Base>::stateful_actor;
};

// Whether the actor behind `job` is marked as one that may run inline.
inline bool may_run_inline(caf::resumable* job) { return dynamic_cast<eligible*>(job) != nullptr; }

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

}  // namespace inline_run

// The self pointer of an actor of interface `Handle` with state `State`, as CAF's
// `Handle::stateful_pointer<State>`; for a state that runs inline, one whose actor is marked so.
template <class Handle, class State>
using stateful_pointer =
    std::conditional_t<inline_run::runs_inline<State>, inline_run::eligible_actor<State, typename Handle::base>,
                       caf::stateful_actor<State, typename Handle::base>>*;

// Sends `message` to `target` as an anonymous message; when that wakes an actor that runs
// inline, runs it on this thread before returning.
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
