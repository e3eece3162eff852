#!/usr/bin/env bash
# Usage: ci/gate-failure-report.sh CODE TITLE LOG > gate.md
# The prompt gate's PR comment when the gate could not run: the harness's own one-line reasons
# (lines starting "harness <command>:" and their indented continuation), not a tail of the log.
set -euo pipefail
code=$1 title=$2 log=$3
echo "<!-- harness-prompt-gate -->"
echo "## ⚠️ Prompt gate: $title (exit $code)"
echo
reasons=$(awk '/^harness [a-z-]+: /{keep=1; print; next} keep && /^  /{print; next} {keep=0}' "$log" | tail -n 20)
if [ -n "$reasons" ]; then
  echo '```'
  echo "$reasons"
  echo '```'
else
  echo "The harness printed no reason; the last lines of its log:"
  echo
  echo '```'
  tail -n 15 "$log"
  echo '```'
fi
echo
if grep -q "cache.mode=replay" "$log"; then
  echo "A replay miss: the prompt (or the model settings) changed and its responses are not recorded"
  echo "yet. Record them as described in docs/gate.md (\"Recording responses\") and commit the file."
fi
