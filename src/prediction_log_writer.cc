// The consumer side of PredictionLog: formatting queued records as NDJSON
// lines, the writer thread, Flush() and Stop().

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <string_view>

#include "internal/prediction_log_state.h"
#include "internal/text_format.h"
#include "mlmon/prediction_log.h"

namespace mlmon {

namespace {

// Records the writer drains before it looks at flush and stop requests.
constexpr std::size_t kBatch = 1024;
// The writer polls an empty ring every kMinPoll, backing off to kMaxPoll
// while it stays empty (producers never signal: that could block).
constexpr std::chrono::milliseconds kMinPoll{1};
constexpr std::chrono::milliseconds kMaxPoll{50};

// Only finite values reach the writer, so this is valid JSON.
void AppendJsonNumber(std::string* out, double v) {
  internal::AppendValue(out, v);
}

// Quotes, backslash and control characters escaped; invalid UTF-8 replaced
// by U+FFFD (one per offending byte).
using internal::AppendJsonString;

}  // namespace

bool PredictionLog::Writer::FormatLine(const Record& s,
                                       const std::string& prediction_fields,
                                       const std::string& outcome_fields,
                                       std::string* line) {
  std::string& l = *line;
  const auto kind = static_cast<Kind>(s.kind);
  const bool outcome = kind >= Kind::kOutcome;
  l.clear();
  l.append("{\"ts\":");
  AppendJsonNumber(&l, s.ts);
  l.append(",\"id\":");
  AppendJsonString(&l, std::string_view(s.id, s.id_len));
  l.append(outcome ? outcome_fields : prediction_fields);
  if (s.segment_len > 0) {
    l.append(",\"segment\":");
    AppendJsonString(&l, std::string_view(s.segment, s.segment_len));
  }
  const std::string_view text(s.text, s.text_len);
  switch (kind) {
    case Kind::kScore:
      l.append(",\"score\":");
      AppendJsonNumber(&l, s.number);
      break;
    case Kind::kValue:
      l.append(",\"value\":");
      AppendJsonNumber(&l, s.number);
      break;
    case Kind::kOutcome:
      l.append(",\"outcome\":");
      AppendJsonNumber(&l, s.number);
      break;
    case Kind::kLabel:
      l.append(",\"label\":");
      AppendJsonString(&l, text);
      break;
    case Kind::kOutcomeLabel:
      l.append(",\"outcome\":");
      AppendJsonString(&l, text);
      break;
    case Kind::kItems: {
      l.append(",\"items\":[");
      std::size_t off = 0;
      for (std::size_t k = 0; k < s.num_items; ++k) {
        if (k > 0) l.push_back(',');
        AppendJsonString(&l, text.substr(off, s.item_len[k]));
        off += s.item_len[k];
      }
      l.push_back(']');
      break;
    }
  }
  l.append("}\n");
  return outcome;
}

bool PredictionLog::Writer::TryConsumeOne(Ring& ring) {
  std::string* l = &line;
  bool outcome = false;
  const bool popped = ring.TryPopWith([&](const Record& s) {
    outcome = FormatLine(s, prediction_fields, outcome_fields, l);
  });
  if (!popped) return false;  // empty, or the producer has not published yet
  if (!closed) streams[outcome ? 1 : 0].Append(*l);
  return true;
}

void PredictionLog::Writer::DrainThrough(Ring& ring, std::uint64_t target) {
  while (ring.popped() < target) {
    if (!TryConsumeOne(ring)) std::this_thread::yield();
  }
}

void PredictionLog::WriterLoop() {
  using SteadyTime = std::chrono::steady_clock;
  Writer& w = *writer_;
  // A write past RLIMIT_FSIZE then fails with EFBIG (the lines are counted
  // lost) instead of raising SIGXFSZ, whose default action kills the
  // process. Blocked on this thread only; the signal stays pending here.
  {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGXFSZ);
    ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
  }
  auto next_flush = SteadyTime::now() + options_.flush_interval;
  std::chrono::milliseconds idle = kMinPoll;
  for (;;) {
    std::uint64_t target, flushed;
    {
      detail::MutexLock lock(w.state_mu);
      if (w.stop) break;
      target = w.flush_target;
      flushed = w.flushed_through;
    }
    const bool flush_pending = target > flushed;
    std::size_t n = 0;
    std::uint64_t consumed;
    bool wrote = false;
    auto now = SteadyTime::now();
    {
      detail::MutexLock lock(w.io_mu);
      while (n < kBatch && w.TryConsumeOne(*ring_)) ++n;
      consumed = ring_->popped();
      now = SteadyTime::now();
      if (now >= next_flush || (flush_pending && consumed >= target)) {
        w.WriteOut();
        next_flush = now + options_.flush_interval;
        wrote = true;
      }
    }
    if (wrote) {
      detail::MutexLock lock(w.state_mu);
      w.flushed_through = std::max(w.flushed_through, consumed);
      w.done.notify_all();
    }
    if (n > 0) {
      idle = kMinPoll;
      continue;
    }
    if (flush_pending && consumed < target) {
      std::this_thread::yield();  // a producer is publishing a record
      continue;
    }
    {
      detail::MutexLock lock(w.state_mu);
      const auto until = std::min(now + idle, next_flush);
      while (!w.stop && w.flush_target <= w.flushed_through &&
             w.wake.wait_until(lock.native(), until) !=
                 std::cv_status::timeout) {
      }
    }
    idle = std::min(idle * 2, kMaxPoll);
  }
  std::uint64_t consumed;
  {
    detail::MutexLock lock(w.io_mu);
    w.DrainThrough(*ring_, ring_->claimed());
    w.WriteOut();
    consumed = ring_->popped();
  }
  detail::MutexLock lock(w.state_mu);
  w.flushed_through = std::max(w.flushed_through, consumed);
  w.running = false;
  w.done.notify_all();
}

void PredictionLog::Flush() {
  Writer& w = *writer_;
  // Every record whose Log* call returned before this point has a number
  // below `target` (coherence of the ring's claim counter).
  const std::uint64_t target = ring_->claimed();
  {
    detail::MutexLock lock(w.state_mu);
    if (w.running) {
      if (w.flushed_through >= target) return;
      w.flush_target = std::max(w.flush_target, target);
      w.wake.notify_all();
      while (w.flushed_through < target && w.running) {
        w.done.wait(lock.native());
      }
      if (w.flushed_through >= target) return;
    }
  }
  // No writer thread (start_writer = false, or stopped): drain here.
  detail::MutexLock lock(w.io_mu);
  if (w.closed) return;
  internal::ScopedSigxfszBlock block(&w.saw_efbig);
  w.DrainThrough(*ring_, target);
  w.WriteOut();
}

void PredictionLog::Stop() {
  Writer& w = *writer_;
  detail::MutexLock stop_lock(w.stop_mu);
  accepting_.store(false, std::memory_order_relaxed);
  {
    detail::MutexLock lock(w.state_mu);
    w.stop = true;
  }
  w.wake.notify_all();
  if (w.thread.joinable()) w.thread.join();
  detail::MutexLock lock(w.io_mu);
  if (w.closed) return;
  internal::ScopedSigxfszBlock block(&w.saw_efbig);
  w.DrainThrough(*ring_, ring_->claimed());
  for (internal::LogStream& st : w.streams) {
    st.WriteOut();
    st.Close();
  }
  w.closed = true;
}

}  // namespace mlmon
