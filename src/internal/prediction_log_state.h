#ifndef MLMON_SRC_INTERNAL_PREDICTION_LOG_STATE_H_
#define MLMON_SRC_INTERNAL_PREDICTION_LOG_STATE_H_

// The private types of PredictionLog: the queued record, its kinds, and the
// consumer side (files, line formatting, the writer thread and its
// signals). Shared by the producer side (prediction_log.cc) and the writer
// (prediction_log_writer.cc).

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>

#include "mlmon/detail/mpsc_ring.h"
#include "mlmon/detail/mutex.h"
#include "mlmon/prediction_log.h"
#include "mlmon/segment_spec.h"
#include "prediction_log_stream.h"

namespace mlmon {

enum class PredictionLog::Kind : std::uint8_t {
  kScore,
  kLabel,
  kValue,
  kItems,
  kOutcome,  // first outcome kind
  kOutcomeLabel,
};

// One queued record, inline and fixed-size, written in place into its ring
// slot by the producer (detail::MpscRing::TryPushWith, Vyukov's bounded
// queue: a full ring drops instead of waiting) and formatted in place by the
// writer (TryPopWith). The ring slot is the 8-byte sequence number followed
// by the record, cache-line aligned: kSlotBytes in all.
//
// Layout: a score record whose id has at most 34 bytes lies entirely in the
// first cache line of its slot (id at offset 22 of the record, 30 of the
// slot); the segment follows the id.
struct PredictionLog::Record {
  double ts;
  double number;           // score, value or numeric outcome
  std::uint16_t text_len;  // label bytes, or all items' bytes
  std::uint8_t kind;
  std::uint8_t id_len;
  std::uint8_t num_items;
  std::uint8_t segment_len;  // 0: no "segment"
  char id[kMaxIdBytes];
  char segment[SegmentSpec::kMaxValueBytes];
  std::uint16_t item_len[kMaxItems];
  char text[kMaxItemsBytes];  // the label, or the items back to back
};

// Consumer-side state: files, buffers, the writer thread and its signals.
struct PredictionLog::Writer {
  using Ring = detail::MpscRing<Record>;

  // Formats `record` as one NDJSON line (ending in '\n') into `line`;
  // returns true for an outcome, false for a prediction. `*_fields` are the
  // constant fields after the id.
  static bool FormatLine(const Record& record,
                         const std::string& prediction_fields,
                         const std::string& outcome_fields, std::string* line);
  // Consumes one record from `ring` into its stream's buffer; false if the
  // ring is empty or its next record is not published yet.
  bool TryConsumeOne(Ring& ring) MLMON_REQUIRES(io_mu);
  // Consumes records until `target` records were consumed, waiting
  // (yielding) for producers that claimed a slot and have not published it
  // yet.
  void DrainThrough(Ring& ring, std::uint64_t target) MLMON_REQUIRES(io_mu);
  void WriteOut() MLMON_REQUIRES(io_mu) {
    for (internal::LogStream& st : streams) st.WriteOut();
  }

  // Held by whoever consumes the ring (the writer thread, or Flush()/Stop()
  // when there is none).
  detail::Mutex io_mu;
  // [0] predictions, [1] outcomes. The paths are set at construction and
  // never change.
  internal::LogStream streams[2] MLMON_GUARDED_BY(io_mu);
  std::string line MLMON_GUARDED_BY(io_mu);  // scratch
  // The fields after the id: `,"model":"..","version":".."` for
  // predictions, `,"model":".."` for outcomes. Set by the constructor, then
  // only read.
  std::string prediction_fields;
  std::string outcome_fields;
  // A write failed with EFBIG (SIGXFSZ).
  bool saw_efbig MLMON_GUARDED_BY(io_mu) = false;
  bool closed MLMON_GUARDED_BY(io_mu) = false;

  // `wake` wakes the writer, `done` wakes Flush().
  detail::Mutex state_mu;
  std::condition_variable wake;
  std::condition_variable done;
  bool stop MLMON_GUARDED_BY(state_mu) = false;
  // The writer thread is draining.
  bool running MLMON_GUARDED_BY(state_mu) = false;
  // Records Flush() callers wait for.
  std::uint64_t flush_target MLMON_GUARDED_BY(state_mu) = 0;
  // Records handed to the kernel.
  std::uint64_t flushed_through MLMON_GUARDED_BY(state_mu) = 0;

  detail::Mutex stop_mu;  // serialises Stop()
  std::thread thread;     // started by the constructor, joined by Stop()
};

}  // namespace mlmon

#endif  // MLMON_SRC_INTERNAL_PREDICTION_LOG_STATE_H_
