#!/bin/sh
# `mlmon rules` output is a valid Prometheus rule file, and each generated
# alert fires on a synthetic bad series and stays silent on a healthy one.
#
#   tests/rules_promtool_test.sh path/to/mlmon
#
# 1. mlmon rules --config tests/rules/monitor.yaml (every SLO, short `for:`)
# 2. promtool check rules --lint=all --lint-fatal: valid, and no lint warning
# 3. promtool test rules tests/rules/alerts_test.yml: the unit tests
# 4. the same for segments (tests/rules/segments.yaml, segments_test.yml)
# Prints "rules checks passed" last on success. PROMTOOL overrides the
# promtool binary (default /usr/bin/promtool, Debian's prometheus package).
set -eu

MLMON=${1:?usage: $0 path/to/mlmon}
PROMTOOL=${PROMTOOL:-/usr/bin/promtool}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

[ -x "$PROMTOOL" ] || fail "promtool not found at $PROMTOOL (apt-get install prometheus)"

"$MLMON" rules --config "$HERE/rules/monitor.yaml" --out "$WORK/rules.yml" ||
  fail "mlmon rules failed"
# The same text on stdout as with --out.
"$MLMON" rules --config "$HERE/rules/monitor.yaml" > "$WORK/stdout.yml" ||
  fail "mlmon rules (stdout) failed"
cmp -s "$WORK/rules.yml" "$WORK/stdout.yml" || fail "--out and stdout differ"

# Every SLO of the test config has its alert.
for alert in MlmonLatencyP99High MlmonErrorRatioHigh MlmonPrecisionLow \
             MlmonEstimatedPrecisionLow \
             MlmonEmptyResponseShareHigh MlmonHeuristicFailureRatioHigh \
             MlmonOutcomesStale MlmonDriftPsiHigh MlmonFeatureProblemRatioHigh \
             MlmonShadowDisagreementHigh MlmonModelStale; do
  grep -q "alert: $alert\$" "$WORK/rules.yml" || fail "no alert $alert in the rules"
  grep -q "alertname: $alert\$" "$HERE/rules/alerts_test.yml" ||
    fail "alert $alert has no firing test in alerts_test.yml"
done

echo "== promtool check rules"
"$PROMTOOL" check rules --lint=all --lint-fatal "$WORK/rules.yml" > "$WORK/check.out" 2>&1 || {
  cat "$WORK/check.out"; fail "promtool check rules"; }
cat "$WORK/check.out"
if grep -qi "warn" "$WORK/check.out"; then fail "promtool check rules warned"; fi

echo "== promtool test rules"
cp "$HERE/rules/alerts_test.yml" "$WORK/alerts_test.yml"
"$PROMTOOL" test rules "$WORK/alerts_test.yml" || fail "promtool test rules"

# A bad config is refused with its line, and nothing is written.
printf 'model: m\nslo:\n  error_ratio: 2\n' > "$WORK/bad.yaml"
if "$MLMON" rules --config "$WORK/bad.yaml" --out "$WORK/bad.yml" 2> "$WORK/bad.err"; then
  fail "mlmon rules accepted error_ratio: 2"
fi
grep -q "mlmon: .*bad.yaml:3: slo.error_ratio: " "$WORK/bad.err" || {
  cat "$WORK/bad.err"; fail "the error does not name the key"; }
[ ! -e "$WORK/bad.yml" ] || fail "a rule file was written for a bad config"

# A Redis pending store brings MlmonPendingStoreDown (and only then).
grep -q "alert: MlmonPendingStoreDown" "$WORK/rules.yml" &&
  fail "MlmonPendingStoreDown without a Redis pending store"
"$MLMON" rules --config "$HERE/rules/pending_store.yaml" --out "$WORK/store_rules.yml" ||
  fail "mlmon rules (pending_store.yaml) failed"
"$PROMTOOL" check rules --lint=all --lint-fatal "$WORK/store_rules.yml" > "$WORK/check.out" 2>&1 || {
  cat "$WORK/check.out"; fail "promtool check rules (pending_store.yaml)"; }
cp "$HERE/rules/pending_store_test.yml" "$WORK/pending_store_test.yml"
"$PROMTOOL" test rules "$WORK/pending_store_test.yml" || fail "promtool test rules (pending store)"

# Segments: per-segment rules and MlmonSegmentGapHigh, on hand-computed
# series (tests/segment_rules_test.cc runs the same file on the C++ spec).
mkdir "$WORK/segments"
"$MLMON" rules --config "$HERE/rules/segments.yaml" --out "$WORK/segments/rules.yml" ||
  fail "mlmon rules (segments.yaml) failed"
grep -q "alert: MlmonSegmentGapHigh\$" "$WORK/segments/rules.yml" ||
  fail "no alert MlmonSegmentGapHigh in the segment rules"
grep -q "alert: MlmonSegmentGapHigh" "$WORK/rules.yml" &&
  fail "MlmonSegmentGapHigh without segments"
"$PROMTOOL" check rules --lint=all --lint-fatal "$WORK/segments/rules.yml" > "$WORK/check.out" 2>&1 || {
  cat "$WORK/check.out"; fail "promtool check rules (segments.yaml)"; }
cp "$HERE/rules/segments_test.yml" "$WORK/segments/segments_test.yml"
(cd "$WORK/segments" && "$PROMTOOL" test rules segments_test.yml) ||
  fail "promtool test rules (segments)"
# max_segment_gap without segments is refused with its key.
printf 'model: m\ntask: binary\nslo:\n  max_segment_gap: 0.2\n' > "$WORK/noseg.yaml"
if "$MLMON" rules --config "$WORK/noseg.yaml" --out "$WORK/noseg.yml" 2> "$WORK/noseg.err"; then
  fail "mlmon rules accepted max_segment_gap without segments"
fi
grep -q "noseg.yaml: slo.max_segment_gap: needs segments" "$WORK/noseg.err" || {
  cat "$WORK/noseg.err"; fail "the error does not name slo.max_segment_gap"; }

echo "rules checks passed"
