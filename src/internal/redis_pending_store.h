#ifndef MLMON_SRC_INTERNAL_REDIS_PENDING_STORE_H_
#define MLMON_SRC_INTERNAL_REDIS_PENDING_STORE_H_

/// \file
/// The pending store of a fleet: predictions wait for their outcome in a
/// Redis server that every replica shares. Private to the library (never
/// installed); compiled only with hiredis (see `MakeRedisPendingStore`).
///
/// Key layout (docs/fleet.md): `<prefix><model>:<version>:<id>`, value
/// `[uint32 LE prediction Unix seconds][payload]`, written with
/// `SET key value PX <ttl> NX`. An outcome takes the prediction with
/// `SET key "\0" XX KEEPTTL GET`: one atomic command that returns the value
/// and leaves a one-byte tombstone for the rest of the prediction's TTL, so
/// across the fleet exactly one outcome joins it and a re-sent one reads the
/// tombstone (`duplicate`) on whichever replica it lands.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "mlmon/detail/mutex.h"
#include "mlmon/instruments.h"

namespace mlmon {
namespace internal {

/// What one take found.
enum class RemoteTake : std::uint8_t {
  kMatched,      ///< the prediction was pending: now a tombstone
  kNotFound,     ///< no key: never written, or its TTL ended
  kDuplicate,    ///< a tombstone: another outcome joined it already
  kUnavailable,  ///< the server could not be asked: nothing changed there
                 ///< (see `TakeMany` for a connection lost mid-pipeline)
};

/// The result of one take; `payload` holds `payload_bytes` on kMatched.
struct TakenPrediction {
  // A ranking's count and 100 item hashes (4 + 4 x OutcomeSpec::kMaxK),
  // then a segment's size byte and value (1 + SegmentSpec::kMaxValueBytes).
  static constexpr std::size_t kMaxPayloadBytes = 404 + 33;
  RemoteTake status = RemoteTake::kUnavailable;
  std::uint32_t created_unix_seconds = 0;
  alignas(8) unsigned char payload[kMaxPayloadBytes];
};

/// Bytes one buffered prediction takes in the process (a ring slot: id,
/// time and the payload, rounded to cache lines): 128 for payloads up to 8
/// bytes, 192 up to 64, 576 up to `TakenPrediction::kMaxPayloadBytes`.
constexpr std::size_t RemoteSlotBytes(std::size_t payload_bytes) {
  const std::size_t capacity = payload_bytes <= 8 ? 8
                               : payload_bytes <= 64
                                   ? 64
                                   : TakenPrediction::kMaxPayloadBytes;
  // Sequence number (8), then time (4), id size (1), a flag (1), id (64),
  // padded to 8,
  // then the payload, all rounded up to 64.
  return (8 + 72 + (capacity + 7) / 8 * 8 + 63) / 64 * 64;
}

/// The series a store reports to (bound by its tracker).
struct RemoteStoreSeries {
  Gauge* up = nullptr;                ///< 1 while both connections work
  UpDownGauge* buffered = nullptr;    ///< predictions waiting to be written
  Counter* write_errors = nullptr;    ///< failed write pipelines or writes
  Counter* take_errors = nullptr;     ///< failed take round trips
  Counter* connect_errors = nullptr;  ///< failed connection attempts
  /// `store_unavailable`: lost predictions; `invalid_value`: a write that
  /// found its key (the id was predicted already, or has its outcome).
  detail::DropSink* drops = nullptr;
};

/// Set-up of a store (validated by the tracker).
struct RemoteStoreOptions {
  std::string url;
  std::string password_file;  ///< its first line overrides the URL's password
  std::string key_prefix;
  std::string model, version;
  std::chrono::milliseconds ttl{0};
  std::chrono::milliseconds timeout{200};
  std::size_t max_buffered = 100000;
  std::size_t payload_bytes = 8;  ///< <= TakenPrediction::kMaxPayloadBytes
  /// Another value size a take accepts (0: none): a replica whose
  /// `segments:` differ (a rollout) wrote the task's part with or without
  /// the segment part. The first `min(payload_bytes, this)` bytes are
  /// taken and the rest of `payload_bytes` zeroed (no segment).
  std::size_t other_payload_bytes = 0;
};

/// A bounded buffer of predictions, a writer thread that pipelines them to
/// Redis, and a connection for takes.
///
/// Failures. A failed write keeps its batch and retries it after a backoff
/// (50 ms doubling to 5 s; `SET NX` makes a repeated write harmless);
/// meanwhile predictions fill the buffer, and beyond `max_buffered` they
/// are dropped (`store_unavailable`). A take during a backoff fails at once
/// (`kUnavailable`), so feedback is answered 503 without waiting. A server
/// that answers but refuses writes (out of memory under `noeviction`) loses
/// the refused predictions (`store_unavailable`) and reads as down (`up` 0)
/// until it takes a write again; an idle writer probes with a one-second
/// key once a second.
///
/// Thread safety: thread-safe. `Enqueue` is the hot path: noexcept,
/// lock-free, allocation-free, no system call (a slot of an MPSC ring).
/// `TakeMany` holds the take connection's mutex for one round trip.
/// Destruction stops the writer after one last flush bounded by `timeout`;
/// what is left is dropped and counted.
class RemotePendingStore {
 public:
  virtual ~RemotePendingStore() = default;

  /// Buffers a prediction made at `created_unix_seconds`; false if the
  /// buffer is full (the caller counts the drop).
  /// REQUIRES: 0 < id.size() <= 64; `payload` has payload_bytes.
  virtual bool Enqueue(std::string_view id, std::uint32_t created_unix_seconds,
                       const void* payload) noexcept = 0;

  /// Takes `ids[i]` into `out[i]` for every i, in order, in one round trip.
  /// If the connection fails after the commands were sent, the ids whose
  /// reply was lost are `kUnavailable` although the server may have taken
  /// them: a retried outcome for such an id then counts as `duplicate`.
  virtual void TakeMany(const std::string_view* ids, std::size_t n,
                        TakenPrediction* out) noexcept = 0;

  /// Waits until everything enqueued before the call was written (or
  /// dropped), at most `timeout`; true if it was. For tests and benchmarks.
  virtual bool Flush(std::chrono::milliseconds timeout) noexcept = 0;

  /// Predictions in the buffer and the writer's batch.
  virtual std::size_t buffered() const noexcept = 0;
  /// Bytes the buffer reserves.
  virtual std::size_t reserved_bytes() const noexcept = 0;
};

/// Starts a store: its writer thread connects in the background (a server
/// that is down at set-up is not an error; it is retried).
/// \throw mlmon::ConfigError if this build has no Redis support, the URL
/// does not parse (`OutcomeSpec.store.url`) or the password file cannot be
/// read (`OutcomeSpec.store.password_file`).
std::unique_ptr<RemotePendingStore> MakeRedisPendingStore(
    const RemoteStoreOptions& options, const RemoteStoreSeries& series);

}  // namespace internal
}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_REDIS_PENDING_STORE_H_
