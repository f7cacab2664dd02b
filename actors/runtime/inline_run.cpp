// Running a call's actors on the thread that has news for them (see inline_run.hpp).
#include "actors/runtime/inline_run.hpp"

#include <caf/logger.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

namespace s2s::actors::inline_run {
namespace {

// The unit this thread is running actors on, if any.
thread_local unit* current = nullptr;

}  // namespace

unit::unit(caf::actor_system& system) : caf::execution_unit(&system), outer_(current) {
  nested_ = outer_ != nullptr && &outer_->system() == &system;
  foreign_thread_ = outer_ == nullptr && caf::logger::current_logger() == nullptr;
  current = this;
}

unit::~unit() {
  current = outer_;
  // Whatever was not run (a drain that never happened) goes to the scheduler with its reference.
  while (head_ != tail_)
    system().scheduler().enqueue(queue_[head_++]);
  // Spawning leaves the actor system's logger in a thread-local reference, which would keep the
  // logger (and so the system's shutdown) waiting for this thread to end.
  if (foreign_thread_)
    caf::logger::set_current_actor_system(nullptr);
}

void unit::exec_later(caf::resumable* job) {
  unit& runner = nested_ ? *outer_ : *this;
  if (!may_run_inline(job) || runner.tail_ == max_jobs) {
    system().scheduler().enqueue(job);  // the reference travels with the job
    return;
  }
  runner.queue_[runner.tail_++] = job;
}

void unit::drain() {
  if (nested_)
    return;
  while (head_ != tail_) {
    caf::resumable* job = queue_[head_++];
    switch (job->resume(this, max_throughput)) {
      case caf::resumable::resume_later:
        system().scheduler().enqueue(job);  // more mail than one turn: a worker goes on
        break;
      case caf::resumable::done:
      case caf::resumable::awaiting_message:
      case caf::resumable::shutdown_execution_unit:
        caf::intrusive_ptr_release(job);
        break;
    }
  }
}

}  // namespace s2s::actors::inline_run
