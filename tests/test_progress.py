"""The run's progress bar: warnings print above it, the rate counts only this process's work."""

from __future__ import annotations

import io
import logging
import re
import sys

import pytest

from harness.pipeline import _Progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_warnings_print_above_the_bar_and_rate_ignores_carried_items(monkeypatch: pytest.MonkeyPatch) -> None:
    term = _Terminal()  # stdout and stderr: one terminal, as in a shell
    monkeypatch.setattr(sys, "stdout", term)
    monkeypatch.setattr(sys, "stderr", term)
    monkeypatch.setenv("TERM", "xterm")
    handler = logging.StreamHandler(sys.stderr)
    log = logging.getLogger("harness")
    log.addHandler(handler)
    try:
        with _Progress("model-x", total=100, already_done=90, enabled=True) as progress:
            assert progress.bar is not None
            progress.started -= 2.0  # two seconds of work in this process
            progress.advance(False)
            log.warning("item it-0091 failed: timeout")
            progress.advance(True)
            assert progress.rate == pytest.approx(1.0, rel=0.05)  # 2 items / 2 s, not 92 / 2 s
        assert handler.stream is term  # restored after the bar
    finally:
        log.removeHandler(handler)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", term.getvalue())  # colours and cursor moves
    lines = [line for line in re.split(r"[\r\n]", text) if "it-0091" in line]
    assert lines and all(line.strip() == "item it-0091 failed: timeout" for line in lines), lines
