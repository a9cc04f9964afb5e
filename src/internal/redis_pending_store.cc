#include "redis_pending_store.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <thread>
#include <vector>

#include "config_errors.h"
#include "mlmon/detail/mpsc_ring.h"
#include "mlmon/errors.h"
#include "redis_connection.h"

namespace mlmon {
namespace internal {

namespace {

using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kMaxIdBytes = 64;
constexpr std::size_t kBatch = 512;  // commands per pipeline
constexpr milliseconds kFirstBackoff{50};
constexpr milliseconds kMaxBackoff{5000};
// The writer's wait for new predictions: short while they flow, longer when
// idle (an idle store wakes 200 times a second).
constexpr milliseconds kBusyWait{1};
constexpr milliseconds kIdleWait{5};
// An idle writer checks the server this often.
constexpr milliseconds kKeepAlive{1000};
constexpr char kTombstone = '\0';

void PutU32(unsigned char* p, std::uint32_t v) noexcept {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
std::uint32_t GetU32(const unsigned char* p) noexcept {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::uint32_t{p[i]} << (8 * i);
  return v;
}

// Backoff of one connection: no attempt before `next`.
struct Backoff {
  Steady::time_point next{};
  milliseconds delay = kFirstBackoff;
  bool Waiting(Steady::time_point now) const noexcept { return now < next; }
  void Failed(Steady::time_point now) noexcept {
    next = now + delay;
    delay = std::min(delay * 2, kMaxBackoff);
  }
  void Succeeded() noexcept {
    next = {};
    delay = kFirstBackoff;
  }
};

// One buffered prediction; `kPayload` is the largest payload it holds.
template <std::size_t kPayload>
struct Record {
  std::uint32_t created = 0;
  std::uint8_t id_size = 0;
  // Sent before on a connection that failed before its reply was read: the
  // first write may have landed, so `NX` finding the key is no error.
  bool resent = false;
  char id[kMaxIdBytes];
  alignas(8) unsigned char payload[kPayload];
};

static_assert(RemoteSlotBytes(8) == (8 + sizeof(Record<8>) + 63) / 64 * 64 &&
                  RemoteSlotBytes(64) ==
                      (8 + sizeof(Record<64>) + 63) / 64 * 64 &&
                  RemoteSlotBytes(TakenPrediction::kMaxPayloadBytes) ==
                      (8 + sizeof(Record<TakenPrediction::kMaxPayloadBytes>) +
                       63) /
                          64 * 64,
              "RemoteSlotBytes follows Record");

template <std::size_t kPayload>
class RedisStore final : public RemotePendingStore {
 public:
  RedisStore(const RemoteStoreOptions& o, const RedisEndpoint& endpoint,
             const RemoteStoreSeries& series)
      : options_(o),
        series_(series),
        ttl_(std::to_string(o.ttl.count())),
        batch_limit_(std::clamp<std::size_t>(o.max_buffered / 4, 1, kBatch)),
        ring_(std::max<std::size_t>(o.max_buffered > 2 * batch_limit_
                                        ? o.max_buffered - 2 * batch_limit_
                                        : 0,
                                    2)),
        writer_conn_(endpoint, o.timeout),
        take_conn_(endpoint, o.timeout) {
    key_base_ = o.key_prefix + o.model + ":" + o.version + ":";
    take_key_.reserve(key_base_.size() + kMaxIdBytes);
    take_key_ = key_base_;
    series_.up->Set(0);
    writer_ = std::thread([this] { WriterLoop(); });
  }

  ~RedisStore() override {
    {
      detail::MutexLock lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    writer_.join();
  }

  bool Enqueue(std::string_view id, std::uint32_t created,
               const void* payload) noexcept override {
    const std::size_t bytes = options_.payload_bytes;
    const bool pushed = ring_.TryPushWith([&](Record<kPayload>& r) noexcept {
      r.created = created;
      r.id_size = static_cast<std::uint8_t>(id.size());
      r.resent = false;
      std::memcpy(r.id, id.data(), id.size());
      std::memcpy(r.payload, payload, bytes);
    });
    return pushed;
  }

  void TakeMany(const std::string_view* ids, std::size_t n,
                TakenPrediction* out) noexcept override {
    for (std::size_t i = 0; i < n; ++i)
      out[i].status = RemoteTake::kUnavailable;
    if (n == 0) return;
    detail::MutexLock lock(take_mu_);
    const Steady::time_point now = Steady::now();
    // A connection the server closed while it was idle (its `timeout`
    // setting, CLIENT KILL, a restart) is replaced before use: takes sent
    // on it would fail, and could not be retried safely.
    if (take_conn_.connected() && !take_conn_.IdleAndOpen()) {
      take_conn_.Close();
    }
    if (!take_conn_.connected()) {
      if (take_backoff_.Waiting(now)) return;
      if (!take_conn_.Connect()) {
        series_.connect_errors->Increment();
        take_backoff_.Failed(now);
        SetUp(&take_ok_, false);
        return;
      }
    }
    const char* argv[6] = {"SET", nullptr, &kTombstone, "XX", "KEEPTTL", "GET"};
    std::size_t lens[6] = {3, 0, 1, 2, 7, 3};
    for (std::size_t i = 0; i < n; ++i) {
      take_key_.resize(key_base_.size());
      take_key_.append(ids[i].data(), ids[i].size());
      argv[1] = take_key_.data();
      lens[1] = take_key_.size();
      if (!take_conn_.Append(6, argv, lens)) return TakeFailed(now);
    }
    for (std::size_t i = 0; i < n; ++i) {
      RedisReplyPtr reply = take_conn_.Read();
      if (reply == nullptr) return TakeFailed(now);
      TakenPrediction& t = out[i];
      if (reply->type == REDIS_REPLY_NIL) {
        t.status = RemoteTake::kNotFound;
      } else if (reply->type == REDIS_REPLY_STRING && reply->len == 1) {
        t.status = RemoteTake::kDuplicate;
      } else if (reply->type == REDIS_REPLY_STRING &&
                 reply->len == 4 + options_.payload_bytes) {
        const auto* v = reinterpret_cast<const unsigned char*>(reply->str);
        t.status = RemoteTake::kMatched;
        t.created_unix_seconds = GetU32(v);
        std::memcpy(t.payload, v + 4, options_.payload_bytes);
      } else if (reply->type == REDIS_REPLY_STRING &&
                 options_.other_payload_bytes != 0 &&
                 reply->len == 4 + options_.other_payload_bytes) {
        // Written by a replica with other `segments:` (a rollout): the
        // task's part joins, without a segment.
        const auto* v = reinterpret_cast<const unsigned char*>(reply->str);
        const std::size_t kept =
            std::min(options_.payload_bytes, options_.other_payload_bytes);
        t.status = RemoteTake::kMatched;
        t.created_unix_seconds = GetU32(v);
        std::memcpy(t.payload, v + 4, kept);
        std::memset(t.payload + kept, 0, options_.payload_bytes - kept);
      } else if (reply->type == REDIS_REPLY_STRING) {
        // A value of another shape (a replica with another task or k wrote
        // it): it cannot be joined here, and is a tombstone now.
        t.status = RemoteTake::kNotFound;
      } else if (reply->type == REDIS_REPLY_ERROR &&
                 std::strncmp(reply->str, "WRONGTYPE", 9) == 0) {
        // Someone else's key of another type: no prediction of ours, and
        // asking again cannot change that.
        t.status = RemoteTake::kNotFound;
      } else {
        series_.take_errors->Increment();  // e.g. OOM: worth a retry
      }
    }
    take_backoff_.Succeeded();
    SetUp(&take_ok_, true);
  }

  bool Flush(milliseconds timeout) noexcept override {
    const std::uint64_t target = ring_.claimed();
    const Steady::time_point until = Steady::now() + timeout;
    detail::MutexLock lock(mu_);
    while (resolved_.load(std::memory_order_acquire) < target) {
      if (stop_ ||
          cv_.wait_until(lock.native(), until) == std::cv_status::timeout) {
        return resolved_.load(std::memory_order_acquire) >= target;
      }
    }
    return true;
  }

  std::size_t buffered() const noexcept override {
    // Resolved first: what is resolved was claimed before, so the
    // difference of the two reads cannot wrap.
    const std::uint64_t resolved = resolved_.load(std::memory_order_acquire);
    const std::uint64_t claimed = ring_.claimed();
    return static_cast<std::size_t>(claimed > resolved ? claimed - resolved
                                                       : 0);
  }

  std::size_t reserved_bytes() const noexcept override {
    return ring_.capacity() * RemoteSlotBytes(kPayload);
  }

 private:
  void TakeFailed(Steady::time_point now) noexcept MLMON_REQUIRES(take_mu_) {
    series_.take_errors->Increment();
    take_conn_.Close();
    take_backoff_.Failed(now);
    SetUp(&take_ok_, false);
  }

  // The writer and the takes both report; the lock keeps the gauge at the
  // value of the last report instead of a stale one set after it.
  void SetUp(std::atomic<bool>* which, bool ok) noexcept {
    detail::MutexLock lock(up_mu_);
    which->store(ok, std::memory_order_relaxed);
    series_.up->Set(writer_ok_.load(std::memory_order_relaxed) &&
                            take_ok_.load(std::memory_order_relaxed)
                        ? 1
                        : 0);
  }

  // Marks `n` predictions as done with (written or dropped).
  void Resolve(std::size_t n) noexcept {
    resolved_.fetch_add(n, std::memory_order_release);
    PublishBuffered();
    {
      detail::MutexLock lock(mu_);  // a Flush between its check and its wait
    }
    cv_.notify_all();
  }

  // Appends the writes of `batch` to the connection's output; false if the
  // connection failed.
  bool AppendBatch(const std::vector<Record<kPayload>>& batch) noexcept {
    const char* argv[6] = {"SET", nullptr, nullptr, "PX", ttl_.data(), "NX"};
    std::size_t lens[6] = {3, 0, 0, 2, ttl_.size(), 2};
    unsigned char value[4 + kPayload];
    for (const Record<kPayload>& r : batch) {
      write_key_.resize(key_base_.size());
      write_key_.append(r.id, r.id_size);
      PutU32(value, r.created);
      std::memcpy(value + 4, r.payload, options_.payload_bytes);
      argv[1] = write_key_.data();
      lens[1] = write_key_.size();
      argv[2] = reinterpret_cast<const char*>(value);
      lens[2] = 4 + options_.payload_bytes;
      if (!writer_conn_.Append(6, argv, lens)) return false;
    }
    return true;
  }

  // Reads the replies of `batch`, sent before, in order; returns how many
  // were read (fewer than batch.size() if the connection failed: the rest
  // are unconfirmed). Sets `refused_` when the server refused a write.
  std::size_t ReadReplies(const std::vector<Record<kPayload>>& batch) noexcept {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      RedisReplyPtr reply = writer_conn_.Read();
      if (reply == nullptr) return i;
      if (reply->type == REDIS_REPLY_NIL && !batch[i].resent) {
        // NX found the key: the id is pending already (the first prediction
        // stays) or has its outcome.
        series_.drops->Drop(DropReason::kInvalidValue);
      } else if (reply->type == REDIS_REPLY_ERROR) {
        // e.g. OOM under `maxmemory` with `noeviction`: this one is lost,
        // and the server is not a working store until a write succeeds.
        series_.write_errors->Increment();
        series_.drops->Drop(DropReason::kStoreUnavailable);
        refused_ = true;
      } else {
        refused_ = false;
      }
    }
    return batch.size();
  }

  // Writer thread only.
  void PublishBuffered() noexcept {
    const double now = static_cast<double>(buffered());
    series_.buffered->Add(now - published_buffered_);
    published_buffered_ = now;
  }

  // The server answered the writer. Back after an outage, the next take
  // reconnects at once instead of waiting out its own backoff, so feedback
  // stops being answered 503 as soon as `up` is 1 again.
  void WriterSucceeded() noexcept {
    if (!writer_ok_.load(std::memory_order_relaxed)) {
      detail::MutexLock lock(take_mu_);
      take_backoff_.Succeeded();
    }
    take_ok_.store(true, std::memory_order_relaxed);
    SetUp(&writer_ok_, true);
  }

  // Connects if need be and checks the server takes a write: a server
  // that answers but refuses writes (out of memory) is no store. The probe
  // writes the key of the empty id, which no prediction has, for a second.
  // False if the connection failed; `refused_` tells a refusal.
  bool Probe() noexcept {
    bool ok = writer_conn_.Connect();
    if (ok) {
      const char* argv[5] = {"SET", key_base_.data(), "", "PX", "1000"};
      const std::size_t lens[5] = {3, key_base_.size(), 0, 2, 4};
      ok = writer_conn_.Append(5, argv, lens);
      RedisReplyPtr reply = ok ? writer_conn_.Read() : nullptr;
      ok = reply != nullptr;
      refused_ = ok && reply->type == REDIS_REPLY_ERROR;
      if (!ok) writer_conn_.Close();
    }
    if (ok && !refused_) {
      WriterSucceeded();
    } else {
      SetUp(&writer_ok_, false);
    }
    return ok;
  }

  // Reads the replies of `*sent`, resolves the confirmed ones and removes
  // them; true if all were read. `up` is reported before the predictions
  // are resolved, so a Flush that returns sees the state they left.
  bool Confirm(std::vector<Record<kPayload>>* sent) noexcept {
    const std::size_t confirmed = ReadReplies(*sent);
    if (confirmed == sent->size()) {
      if (refused_) {
        SetUp(&writer_ok_, false);
      } else {
        WriterSucceeded();
      }
    }
    Resolve(confirmed);
    sent->erase(sent->begin(),
                sent->begin() + static_cast<std::ptrdiff_t>(confirmed));
    return sent->empty();
  }

  bool StopRequested() noexcept {
    detail::MutexLock lock(mu_);
    return stop_;
  }

  void WaitFor(milliseconds d) noexcept {
    detail::MutexLock lock(mu_);
    if (!stop_) cv_.wait_for(lock.native(), d);
  }

  void WriterLoop() noexcept {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);  // signals go to the host
    // `batch`: popped, not sent yet; `inflight`: sent, replies not read.
    // Two pipelines overlap: the writer formats and sends one while the
    // server executes the other.
    std::vector<Record<kPayload>> batch, inflight;
    try {
      batch.reserve(2 * batch_limit_);
      inflight.reserve(2 * batch_limit_);
      write_key_.reserve(key_base_.size() + kMaxIdBytes);
      write_key_ = key_base_;
    } catch (...) {
    }
    Backoff backoff;
    Steady::time_point last_ok{};  // of the writer connection
    Steady::time_point give_up{};  // after a stop: the last flush's deadline
    for (;;) {
      Record<kPayload> r;
      while (batch.size() + inflight.size() < 2 * batch_limit_ &&
             ring_.TryPop(&r)) {
        try {
          batch.push_back(r);
        } catch (...) {
          series_.drops->Drop(DropReason::kStoreUnavailable);
          Resolve(1);
        }
      }
      PublishBuffered();
      const bool stopping = StopRequested();
      const Steady::time_point now = Steady::now();
      if (stopping && give_up == Steady::time_point{}) {
        give_up = now + options_.timeout;
      }
      if (batch.empty() && inflight.empty()) {
        if (stopping && ring_.claimed() == ring_.popped()) return;
        if (stopping) continue;
        // Idle: keep `up` true to the server's state, so an idle replica
        // neither hides an outage nor pages for a past one.
        if (!writer_conn_.connected() ? !backoff.Waiting(now)
                                      : now - last_ok >= kKeepAlive) {
          if (Probe()) {
            backoff.Succeeded();
            last_ok = now;
          } else {
            series_.connect_errors->Increment();
            backoff.Failed(now);
          }
        }
        WaitFor(last_was_busy_ ? kBusyWait : kIdleWait);
        last_was_busy_ = false;
        continue;
      }
      last_was_busy_ = true;
      if (stopping && now >= give_up) break;
      if (!writer_conn_.connected()) {
        if (backoff.Waiting(now)) {
          if (stopping) break;
          WaitFor(std::chrono::duration_cast<milliseconds>(backoff.next - now) +
                  milliseconds(1));
          continue;
        }
        if (!writer_conn_.Connect()) {
          series_.connect_errors->Increment();
          backoff.Failed(now);
          SetUp(&writer_ok_, false);
          continue;
        }
      }
      // Append the new batch, then read the replies of the one in flight
      // (the first read sends the new one), or send it now.
      bool ok = batch.empty() || AppendBatch(batch);
      if (ok && !inflight.empty()) {
        ok = Confirm(&inflight);
        if (ok) {
          backoff.Succeeded();
          last_ok = now;
        }
      } else if (ok) {
        ok = writer_conn_.Flush();
      }
      if (ok) {
        inflight.swap(batch);
        continue;
      }
      // Failed: everything not confirmed is written again after the
      // backoff (`NX` makes a repeated write harmless).
      series_.write_errors->Increment();
      writer_conn_.Close();
      backoff.Failed(now);
      SetUp(&writer_ok_, false);
      // Any of them may have reached the server (a read sends the new
      // batch first).
      for (Record<kPayload>& sent : inflight) sent.resent = true;
      for (Record<kPayload>& sent : batch) sent.resent = true;
      inflight.insert(inflight.end(), batch.begin(), batch.end());
      batch.swap(inflight);
      inflight.clear();
    }
    // Stopped: the replies of a pipeline in flight may still come (each
    // read is bounded by the timeout); what is left after them is lost, and
    // counted.
    if (!inflight.empty() && writer_conn_.connected()) Confirm(&inflight);
    Record<kPayload> r;
    std::size_t lost = batch.size() + inflight.size();
    while (ring_.TryPop(&r)) ++lost;
    for (std::size_t i = 0; i < lost; ++i) {
      series_.drops->Drop(DropReason::kStoreUnavailable);
    }
    Resolve(lost);
  }

  const RemoteStoreOptions options_;
  const RemoteStoreSeries series_;
  const std::string ttl_;  // PX argument, milliseconds
  std::string key_base_;   // <prefix><model>:<version>:

  // The ring holds max_buffered - 2 * batch_limit_, the writer's two
  // pipelines at most 2 * batch_limit_: max_buffered in all (for
  // max_buffered >= 8; at most 4 below).
  const std::size_t batch_limit_;
  detail::MpscRing<Record<kPayload>> ring_;
  // Predictions written or dropped; `ring_.claimed() - resolved_` is what
  // the store buffers (the ring plus the writer's batch).
  alignas(64) std::atomic<std::uint64_t> resolved_{0};

  std::atomic<bool> writer_ok_{false}, take_ok_{true};

  detail::Mutex up_mu_;  // orders the reports to `series_.up`

  // Writer thread only.
  RedisConnection writer_conn_;
  std::string write_key_;
  bool refused_ = false;  // the server's last answer to a write was an error
  bool last_was_busy_ = false;
  double published_buffered_ = 0;

  detail::Mutex take_mu_;
  RedisConnection take_conn_ MLMON_GUARDED_BY(take_mu_);
  Backoff take_backoff_ MLMON_GUARDED_BY(take_mu_);
  std::string take_key_ MLMON_GUARDED_BY(take_mu_);

  detail::Mutex mu_;
  std::condition_variable cv_;
  bool stop_ MLMON_GUARDED_BY(mu_) = false;
  std::thread writer_;  // last: started once everything above exists
};

}  // namespace

std::unique_ptr<RemotePendingStore> MakeRedisPendingStore(
    const RemoteStoreOptions& o, const RemoteStoreSeries& series) {
  RedisEndpoint endpoint = ParseRedisUrl(o.url, "OutcomeSpec.store.url");
  if (!o.password_file.empty()) {
    endpoint.password =
        ReadPasswordFile(o.password_file, "OutcomeSpec.store.password_file");
  }
  if (o.payload_bytes > TakenPrediction::kMaxPayloadBytes ||
      o.other_payload_bytes > TakenPrediction::kMaxPayloadBytes) {
    throw SetupError("OutcomeSpec.store", "a prediction larger than a slot",
                     std::to_string(o.payload_bytes));
  }
  if (o.payload_bytes <= 8) {
    return std::make_unique<RedisStore<8>>(o, endpoint, series);
  }
  if (o.payload_bytes <= 64) {
    return std::make_unique<RedisStore<64>>(o, endpoint, series);
  }
  return std::make_unique<RedisStore<TakenPrediction::kMaxPayloadBytes>>(
      o, endpoint, series);
}

}  // namespace internal

bool RedisPendingStoreAvailable() noexcept { return true; }

}  // namespace mlmon
