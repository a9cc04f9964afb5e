#include "mlmon/outcome_ingest.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "internal/config_errors.h"
#include "internal/feedback_body.h"
#include "internal/redis_pending_store.h"
#include "internal/text_format.h"
#include "mlmon/errors.h"

namespace mlmon {

void IngestReport::AddError(std::size_t line, std::string detail) {
  ++invalid;
  if (errors.size() < kMaxErrors) errors.push_back({line, std::move(detail)});
}

std::string IngestReport::ToJson() const {
  std::string out = fmt::format(
      "{{\"matched\":{},\"unmatched\":{},\"duplicate\":{},\"invalid\":{},"
      "\"version_matches\":{},\"errors\":[",
      matched, unmatched, duplicate, invalid, version_matches);
  for (std::size_t i = 0; i < errors.size(); ++i) {
    if (i > 0) out.push_back(',');
    fmt::format_to(std::back_inserter(out),
                   "{{\"line\":{},\"detail\":", errors[i].line);
    internal::AppendJsonString(&out, errors[i].detail);
    out.push_back('}');
  }
  out.push_back(']');
  if (unavailable > 0) {
    fmt::format_to(std::back_inserter(out), ",\"unavailable\":{},\"retry\":[",
                   unavailable);
    for (std::size_t i = 0; i < retry.size(); ++i) {
      fmt::format_to(std::back_inserter(out), "{}{}", i > 0 ? "," : "",
                     retry[i]);
    }
    out.push_back(']');
  }
  out.push_back('}');
  return out;
}

namespace {

// Adds the refused lines of a parsed body to `report`.
void ReportRefused(std::vector<internal::RefusedLine>* refused,
                   IngestReport* report) {
  for (internal::RefusedLine& r : *refused) {
    if (r.malformed) ++report->malformed;
    report->AddError(r.line, std::move(r.detail));
  }
}

}  // namespace

void ParseOutcomes(std::string_view body, BodyFormat format,
                   std::vector<OutcomeEvent>* out, IngestReport* report) {
  std::vector<internal::RefusedLine> refused;
  internal::ParseOutcomeBody(body, format, out, &refused);
  ReportRefused(&refused, report);
}

void ParsePredictions(std::string_view body, std::vector<PredictionEvent>* out,
                      IngestReport* report) {
  std::vector<internal::RefusedLine> refused;
  internal::ParsePredictionBody(body, out, &refused);
  ReportRefused(&refused, report);
}

namespace {

// Whether the tracker behind `link` (an `OutcomeTracker::Link`) lives.
template <typename Link>
bool IsLive(Link& link) {
  detail::ReaderLock lock(link.mu);
  return link.tracker != nullptr;
}

template <typename Versions>
bool AnyLive(const Versions& versions) {
  for (const auto& v : versions) {
    if (IsLive(*v.link)) return true;
  }
  return false;
}

}  // namespace

void OutcomeIngest::AddTracker(OutcomeTracker& tracker) {
  detail::WriterLock lock(mu_);
  Prune();
  std::vector<Version>& versions = models_[tracker.model()];
  for (const Version& v : versions) {
    if (v.name == tracker.version()) {
      throw internal::SetupError(
          "OutcomeIngest::AddTracker",
          "a tracker for this model and version is already registered",
          fmt::format("model '{}', version '{}'", tracker.model(),
                      tracker.version()));
    }
  }
  versions.push_back({tracker.version(), tracker.link_});
}

bool OutcomeIngest::RemoveTracker(OutcomeTracker& tracker) {
  detail::WriterLock lock(mu_);
  bool found = false;
  auto it = models_.find(tracker.model());
  if (it != models_.end()) {
    std::vector<Version>& versions = it->second;
    for (auto v = versions.begin(); v != versions.end(); ++v) {
      if (v->link == tracker.link_) {
        versions.erase(v);
        found = true;
        break;
      }
    }
  }
  Prune();
  return found;
}

void OutcomeIngest::Prune() {
  for (auto it = models_.begin(); it != models_.end();) {
    std::vector<Version>& versions = it->second;
    versions.erase(
        std::remove_if(versions.begin(), versions.end(),
                       [](const Version& v) { return !IsLive(*v.link); }),
        versions.end());
    it = versions.empty() ? models_.erase(it) : std::next(it);
  }
}

const OutcomeIngest::Model* OutcomeIngest::Resolve(
    const std::string& model) const {
  if (!model.empty()) {
    auto it = models_.find(model);
    return it == models_.end() ? nullptr : &*it;
  }
  if (models_.size() == 1) return &*models_.begin();  // liveness: by caller
  return ResolveLive(model);
}

const OutcomeIngest::Model* OutcomeIngest::ResolveLive(
    const std::string& model) const {
  if (!model.empty()) {
    auto it = models_.find(model);
    if (it == models_.end() || !AnyLive(it->second)) return nullptr;
    return &*it;
  }
  const Model* only = nullptr;
  for (const Model& m : models_) {
    if (!AnyLive(m.second)) continue;
    if (only != nullptr) return nullptr;
    only = &m;
  }
  return only;
}

std::size_t OutcomeIngest::LiveModels() const {
  std::size_t n = 0;
  for (const Model& m : models_) n += AnyLive(m.second) ? 1 : 0;
  return n;
}

OutcomeTracker* OutcomeIngest::Find(const std::string& model) const {
  detail::ReaderLock lock(mu_);
  const Model* m = ResolveLive(model);
  if (m == nullptr) return nullptr;
  OutcomeTracker* found = nullptr;
  for (const Version& v : m->second) {
    detail::ReaderLock link_lock(v.link->mu);
    if (v.link->tracker == nullptr) continue;
    if (found != nullptr) return nullptr;
    found = v.link->tracker;
  }
  return found;
}

void OutcomeIngest::CountUnparsed(std::size_t n) const {
  if (n == 0) return;
  detail::ReaderLock lock(mu_);
  const Model* only = ResolveLive("");
  if (only == nullptr) return;
  for (const Version& v : only->second) {
    detail::ReaderLock link_lock(v.link->mu);
    if (v.link->tracker == nullptr) continue;
    for (std::size_t i = 0; i < n; ++i) v.link->tracker->CountInvalidOutcome();
  }
}

void OutcomeIngest::CountRefused(const std::string& model,
                                 const std::string& version) const {
  const Model* m = ResolveLive(model);
  const bool own_model = m != nullptr;
  if (m == nullptr) m = ResolveLive("");
  if (m == nullptr) return;
  bool named = false;  // a live version of that name, in the model named
  if (own_model && !version.empty()) {
    for (const Version& v : m->second) {
      named = named || (v.name == version && IsLive(*v.link));
    }
  }
  for (const Version& v : m->second) {
    if (named && v.name != version) continue;
    detail::ReaderLock link_lock(v.link->mu);
    if (v.link->tracker != nullptr) v.link->tracker->CountInvalidOutcome();
  }
}

namespace {

std::string ModelError(const std::string& model, std::size_t hosted) {
  if (model.empty()) {
    return hosted == 0
               ? "no model is monitored here"
               : "'model' is required: this server hosts several models";
  }
  return fmt::format("unknown model '{}'", model);
}

const char* ExpectedOutcome(OutcomeSpec::Task task) {
  switch (task) {
    case OutcomeSpec::Task::kBinary:
      return "0, 1, true or false";
    case OutcomeSpec::Task::kRegression:
      return "a finite number";
    case OutcomeSpec::Task::kMulticlass:
      return "one of the configured class names";
    case OutcomeSpec::Task::kRanking:
      return "the id of the chosen item";
  }
  return "?";
}

std::string IdTooLong(std::size_t bytes) {
  return fmt::format("id is {} bytes, longer than the {}-byte limit", bytes,
                     OutcomeTracker::kMaxIdBytes);
}

// The detail of an outcome the tracker refused for `why`.
std::string RefusalDetail(OutcomeRefusal why, const OutcomeEvent& e,
                          const OutcomeTracker& t) {
  switch (why) {
    case OutcomeRefusal::kEmptyId:
      return "'id' must be a non-empty string";
    case OutcomeRefusal::kIdTooLong:
      return IdTooLong(e.id.size());
    case OutcomeRefusal::kBadTime:
      return fmt::format(
          "ts {} is not a non-negative number of seconds since the epoch",
          e.ts);
    case OutcomeRefusal::kFutureTime:
      return fmt::format(
          "ts {} is {:.1e} s in the future (max_clock_skew {} s)", e.ts,
          e.ts - t.UnixNow(), t.spec().max_clock_skew.count());
    case OutcomeRefusal::kNone:
    case OutcomeRefusal::kBadValue:
      break;
  }
  return fmt::format("invalid outcome for model '{}': expected {}", t.model(),
                     ExpectedOutcome(t.spec().task));
}

}  // namespace

// The remote takes of one version for one body: `taken[j]` is the take of
// the id of event `events[j]` (ascending).
struct OutcomeIngest::RemoteBatch {
  Link* link = nullptr;
  std::vector<std::size_t> events;
  std::vector<std::string_view> ids;
  std::unique_ptr<internal::TakenPrediction[]> taken;

  const internal::TakenPrediction* Find(std::size_t event) const {
    auto it = std::lower_bound(events.begin(), events.end(), event);
    if (it == events.end() || *it != event) return nullptr;
    return &taken[static_cast<std::size_t>(it - events.begin())];
  }
};

std::vector<OutcomeIngest::RemoteBatch> OutcomeIngest::TakeRemote(
    const std::vector<OutcomeEvent>& events) const {
  std::vector<RemoteBatch> batches;
  for (std::size_t k = 0; k < events.size(); ++k) {
    const OutcomeEvent& e = events[k];
    const Model* m = Resolve(e.model);
    if (m == nullptr) continue;
    for (const Version& v : m->second) {
      if (!e.version.empty() && v.name != e.version) continue;
      detail::ReaderLock link_lock(v.link->mu);
      const OutcomeTracker* t = v.link->tracker;
      if (t == nullptr || !t->UsesRemoteStore() ||
          !t->WouldJoin(e.id, e.is_label, e.outcome, e.label, e.ts)) {
        continue;
      }
      auto b = std::find_if(
          batches.begin(), batches.end(),
          [&](const RemoteBatch& x) { return x.link == v.link.get(); });
      if (b == batches.end()) {
        batches.emplace_back();
        b = std::prev(batches.end());
        b->link = v.link.get();
      }
      b->events.push_back(k);
      b->ids.push_back(e.id);
    }
  }
  for (RemoteBatch& b : batches) {
    b.taken.reset(new internal::TakenPrediction[b.ids.size()]);
    detail::ReaderLock link_lock(b.link->mu);
    if (b.link->tracker == nullptr) continue;  // destroyed: nothing applies
    b.link->tracker->TakePending(b.ids.data(), b.ids.size(), b.taken.get());
  }
  return batches;
}

void OutcomeIngest::Apply(const OutcomeEvent& e, IngestReport* report) const {
  detail::ReaderLock lock(mu_);
  std::vector<char> unmatched;
  ApplyLocked(e, report, &unmatched, 0, nullptr);
}

void OutcomeIngest::ApplyLocked(const OutcomeEvent& e, IngestReport* report,
                                std::vector<char>* unmatched, std::size_t index,
                                const std::vector<RemoteBatch>* batches) const {
  const Model* m = Resolve(e.model);
  const std::size_t n = m == nullptr ? 0 : m->second.size();
  unmatched->assign(n, 0);
  std::size_t reached = 0, matched = 0, duplicate = 0, unavailable = 0;
  std::string refusal;
  for (std::size_t i = 0; i < n; ++i) {
    const Version& v = m->second[i];
    if (!e.version.empty() && v.name != e.version) continue;
    detail::ReaderLock link_lock(v.link->mu);  // the tracker lives while held
    OutcomeTracker* t = v.link->tracker;
    if (t == nullptr) continue;
    ++reached;
    OutcomeRefusal why = OutcomeRefusal::kNone;
    OutcomeResult r;
    if (t->UsesRemoteStore()) {
      const internal::TakenPrediction* taken = nullptr;
      if (batches != nullptr) {
        for (const RemoteBatch& b : *batches) {
          if (b.link == v.link.get()) taken = b.Find(index);
        }
      }
      r = t->TryRecordTaken(e.id, e.is_label, e.outcome, e.label, e.ts, &why,
                            taken);
    } else {
      r = e.is_label ? t->TryRecordOutcome(e.id, e.label, e.ts, &why)
                     : t->TryRecordOutcome(e.id, e.outcome, e.ts, &why);
    }
    switch (r) {
      case OutcomeResult::kMatched:
        ++matched;
        break;
      case OutcomeResult::kDuplicate:
        ++duplicate;
        break;
      case OutcomeResult::kUnmatched:
        (*unmatched)[i] = 1;
        break;
      case OutcomeResult::kInvalid:
        if (refusal.empty()) refusal = RefusalDetail(why, e, *t);
        break;
      case OutcomeResult::kUnavailable:
        ++unavailable;
        break;
    }
  }
  if (reached == 0) {
    CountRefused(e.model, e.version);
    if (!e.version.empty() && m != nullptr && AnyLive(m->second)) {
      report->AddError(e.line, fmt::format("unknown version '{}' of model '{}'",
                                           e.version, m->first));
    } else {
      report->AddError(e.line, ModelError(e.model, LiveModels()));
    }
    return;
  }
  report->version_matches += matched;
  if (unavailable > 0) {
    ++report->unavailable;
    report->retry.push_back(e.line);
    return;
  }
  if (matched > 0) {
    ++report->matched;
    return;
  }
  if (duplicate > 0) {
    ++report->duplicate;
    return;
  }
  // No version held the id: unmatched wherever it was not refused.
  for (std::size_t i = 0; i < n; ++i) {
    if ((*unmatched)[i] == 0) continue;
    const Version& v = m->second[i];
    detail::ReaderLock link_lock(v.link->mu);
    if (v.link->tracker != nullptr) v.link->tracker->CountUnmatchedOutcome();
  }
  if (!refusal.empty()) {
    report->AddError(e.line, std::move(refusal));
  } else {
    ++report->unmatched;
  }
}

namespace {

bool RecordPredictionIn(OutcomeTracker& t, const PredictionEvent& e) {
  switch (e.kind) {
    case PredictionEvent::Kind::kScore:
    case PredictionEvent::Kind::kValue:
      return t.RecordPrediction(e.id, e.number, e.segment);
    case PredictionEvent::Kind::kLabel:
      return t.RecordPrediction(e.id, std::string_view(e.label), e.segment);
    case PredictionEvent::Kind::kItems: {
      std::vector<std::string_view> items(e.items.begin(), e.items.end());
      return t.RecordRanking(e.id, items.data(), items.size(), e.segment);
    }
  }
  return false;
}

}  // namespace

void OutcomeIngest::Apply(const PredictionEvent& e,
                          IngestReport* report) const {
  detail::ReaderLock lock(mu_);
  const Model* m = ResolveLive(e.model);
  if (m == nullptr) {
    report->AddError(e.line, ModelError(e.model, LiveModels()));
    return;
  }
  // The version named, or the only live one.
  const Version* target = nullptr;
  std::size_t live = 0;
  for (const Version& v : m->second) {
    if (!IsLive(*v.link)) continue;
    ++live;
    if (e.version.empty() || v.name == e.version) target = &v;
  }
  if (!e.version.empty() && target == nullptr) {
    report->AddError(e.line, fmt::format("unknown version '{}' of model '{}'",
                                         e.version, m->first));
    return;
  }
  if (e.version.empty() && live > 1) {
    report->AddError(
        e.line, fmt::format("'version' is required: model '{}' has {} versions",
                            m->first, live));
    return;
  }
  detail::ReaderLock link_lock(target->link->mu);
  OutcomeTracker* t = target->link->tracker;
  if (t == nullptr) {  // destroyed since it was chosen
    report->AddError(e.line, ModelError(e.model, LiveModels()));
    return;
  }
  if (RecordPredictionIn(*t, e)) {
    ++report->matched;  // for predictions: recorded
    ++report->version_matches;
  } else if (e.id.size() > OutcomeTracker::kMaxIdBytes) {
    report->AddError(e.line, IdTooLong(e.id.size()));
  } else {
    report->AddError(
        e.line,
        fmt::format(
            "prediction refused by model '{}' (value out of range, a kind that "
            "does not fit the task, or an id that already has its outcome)",
            t->model()));
  }
}

IngestReport OutcomeIngest::IngestOutcomes(std::string_view body,
                                           BodyFormat format) const {
  std::vector<OutcomeEvent> events;
  std::vector<internal::RefusedLine> refused;
  internal::ParseOutcomeBody(body, format, &events, &refused);
  if (format == BodyFormat::kNdjson && events.empty() && !refused.empty() &&
      std::all_of(refused.begin(), refused.end(),
                  [](const internal::RefusedLine& r) { return r.malformed; })) {
    throw MalformedBody(refused.front().line,
                        "no line of the body is a JSON object");
  }
  // Every line is accounted exactly once, in line order (so the bounded
  // error list holds the first refused lines).
  IngestReport report;
  std::vector<char> unmatched;
  detail::ReaderLock lock(mu_);
  const std::vector<RemoteBatch> batches = TakeRemote(events);
  std::size_t i = 0, j = 0;
  while (i < events.size() || j < refused.size()) {
    if (j == refused.size() ||
        (i < events.size() && events[i].line < refused[j].line)) {
      ApplyLocked(events[i], &report, &unmatched, i, &batches);
      ++i;
      continue;
    }
    internal::RefusedLine& r = refused[j++];
    CountRefused(r.model, r.version);
    if (r.malformed) ++report.malformed;
    report.AddError(r.line, std::move(r.detail));
  }
  return report;
}

}  // namespace mlmon
