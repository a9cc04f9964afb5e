#ifndef MLMON_MLMON_H_
#define MLMON_MLMON_H_

/// \file
/// Umbrella header: every public header of `mlmon::mlmon`.

#include "mlmon/buckets.h"
#include "mlmon/clock.h"
#include "mlmon/errors.h"
#include "mlmon/golden_signals.h"
#include "mlmon/instruments.h"
#include "mlmon/registry.h"
#include "mlmon/version.h"

#endif  // MLMON_MLMON_H_
