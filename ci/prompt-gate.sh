#!/usr/bin/env bash
# Usage: ci/prompt-gate.sh BASELINE_PROMPT.yaml CANDIDATE_PROMPT.yaml OUT_DIR
#
# The prompt gate's steps, as .github/workflows/prompt-gate.yml runs them and as anyone can run them
# locally: evaluate the two prompt files with GATE_MODEL on the sample dataset, replaying the recorded
# responses (cache.mode=replay: no API call, no key), then `harness gate`. Writes OUT_DIR/gate.md
# (the report, or the harness's one-line reason when a step could not run) and exits like the gate:
# 0 pass, 1 regression, 2 could not run (usage error, replay miss, ...).
#
#   bash ci/prompt-gate.sh conf/prompt/yaodian_v2.yaml conf/prompt/yaodian_v2.yaml /tmp/gate   # 0
#   bash ci/prompt-gate.sh conf/prompt/yaodian_v2.yaml ci/examples/yaodian_v2_worse.yaml /tmp/gate  # 1
set -uo pipefail
if [ $# -ne 3 ]; then
  echo "usage: ci/prompt-gate.sh BASELINE_PROMPT.yaml CANDIDATE_PROMPT.yaml OUT_DIR" >&2
  exit 2
fi
baseline=$1 candidate=$2 out=$3
here=$(cd "$(dirname "$0")/.." && pwd)
GATE_MODEL=${GATE_MODEL:-gemma3_270m}
GATE_JUDGE=${GATE_JUDGE:-none}
GATE_RULES=${GATE_RULES:-$here/conf/gate/default.yaml}
GATE_RECORDED=${GATE_RECORDED:-$here/ci/recorded/responses.sqlite}
for f in "$baseline" "$candidate"; do
  [ -f "$f" ] || { echo "ci/prompt-gate.sh: prompt file not found: $f" >&2; exit 2; }
done
mkdir -p "$out/conf/prompt"
out=$(cd "$out" && pwd)
# The two prompts become config choices of their own (a Hydra search path), so neither needs to be
# in conf/prompt/ and the working tree is left as it is. Only the rendered messages enter the cache
# key, not these names.
cp "$baseline" "$out/conf/prompt/gate_baseline.yaml"
cp "$candidate" "$out/conf/prompt/gate_candidate.yaml"
# Replay never writes: a copy keeps the committed file free of -wal/-shm side files.
cp "$GATE_RECORDED" "$out/responses.sqlite" 2>/dev/null || {
  echo "ci/prompt-gate.sh: recorded responses not found: $GATE_RECORDED" >&2; exit 2; }
common=(
  "model=$GATE_MODEL" "judge=$GATE_JUDGE" dataset=sample_ai_news
  cache.mode=replay "cache.path=$out/responses.sqlite" progress=false
  "hydra.searchpath=[file://$out/conf]"
)
fail() {  # fail CODE TITLE LOG: a report with the harness's own one-line reason
  bash "$here/ci/gate-failure-report.sh" "$1" "$2" "$3" > "$out/gate.md"
  echo "prompt gate: $2 (exit $1); report: $out/gate.md" >&2
  exit "$1"
}
echo "baseline: $baseline; candidate: $candidate; model: $GATE_MODEL; recorded: $GATE_RECORDED"

harness run "${common[@]}" prompt=gate_baseline "results_dir=$out/baseline" 2>&1 | tee "$out/baseline.log"
code=${PIPESTATUS[0]}
[ "$code" -eq 0 ] || fail "$code" "the baseline run failed" "$out/baseline.log"

harness run "${common[@]}" prompt=gate_candidate "results_dir=$out/candidate" 2>&1 | tee "$out/candidate.log"
code=${PIPESTATUS[0]}
[ "$code" -eq 0 ] || fail "$code" "the candidate run failed" "$out/candidate.log"

harness gate --baseline "$out/baseline" --candidate "$out/candidate" --rules "$GATE_RULES" \
  --results-dir "$out" --report "$out/gate.md" 2> >(tee "$out/gate.log" >&2)
code=$?
if [ "$code" -ne 0 ] && [ "$code" -ne 1 ]; then
  fail "$code" "the gate could not run" "$out/gate.log"
fi
echo "prompt gate: exit $code; report: $out/gate.md"
exit "$code"
