#ifndef MLMON_MLMON_H_
#define MLMON_MLMON_H_

/// \file
/// Umbrella header: every public header of `mlmon::mlmon`.

#include "mlmon/buckets.h"
#include "mlmon/clock.h"
#include "mlmon/drift.h"
#include "mlmon/duration.h"
#include "mlmon/errors.h"
#include "mlmon/feature_monitor.h"
#include "mlmon/golden_signals.h"
#include "mlmon/heuristics.h"
#include "mlmon/instruments.h"
#include "mlmon/model_monitor.h"
#include "mlmon/monitor_spec.h"
#include "mlmon/outcome_ingest.h"
#include "mlmon/outcome_tracker.h"
#include "mlmon/prediction_log.h"
#include "mlmon/reference_profile.h"
#include "mlmon/registry.h"
#include "mlmon/response_distribution.h"
#include "mlmon/shadow_comparison.h"
#include "mlmon/spec_memory.h"
#include "mlmon/status_history.h"
#include "mlmon/version.h"

#endif  // MLMON_MLMON_H_
