"""Leaderboard plots: the shipped CJK font, plain-text labels, labels apart, failures that do not
fail the build. Boards are built by hand (no runs)."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import pytest

from harness.report import plots
from harness.report.plots import build_plots, cjk_font, pareto_figure, plot_rc, shipped_cjk_font

CHINESE = "通义千问-长文本"


def _row(rank: int, model: str, cost: float | None, quality: float) -> dict[str, Any]:
    return {
        "rank": rank,
        "model": model,
        "prompt": {"id": "yaodian", "version": 1, "hash": "0" * 16},
        "leader": rank == 1,
        "vs_leader": None,
        "uses_reference": False,
        "metrics": {"rougeL_f": {"mean": quality, "low": quality - 0.01, "high": quality + 0.01, "n": 4}},
        "generation": {"cost_per_100_items_usd": cost},
    }


def _board(rows: list[dict[str, Any]], name: str = "要点 mini") -> dict[str, Any]:
    return {
        "rank_by": "rougeL_f",
        "stats": {"confidence": 0.95},
        "datasets": [{"name": name, "columns": [], "rows": rows}],
    }


@pytest.fixture
def only_shipped_fonts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine view without system fonts: matplotlib knows only its own DejaVu files; the CJK font
    must come from the shipped file."""
    import matplotlib
    from matplotlib import font_manager

    own = str(Path(matplotlib.get_data_path()))
    manager = font_manager.fontManager
    monkeypatch.setattr(manager, "ttflist", [f for f in manager.ttflist if f.fname.startswith(own)])
    monkeypatch.setattr(manager, "afmlist", [])
    manager._findfont_cached.cache_clear()
    cjk_font.cache_clear()
    yield
    manager._findfont_cached.cache_clear()
    cjk_font.cache_clear()


def test_chinese_name_draws_with_the_shipped_font(only_shipped_fonts: None, tmp_path: Path) -> None:
    assert shipped_cjk_font() is not None, "noto-cjk-sans-otc is a dependency"
    assert cjk_font() == "Noto Sans CJK SC"
    from matplotlib import font_manager

    path = font_manager.findfont(
        font_manager.FontProperties(family="Noto Sans CJK SC"), fallback_to_default=False
    )
    assert Path(path) == shipped_cjk_font()
    assert plots.plot_label(CHINESE) == CHINESE
    from matplotlib import rc_context

    with rc_context(plot_rc()), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = pareto_figure(_board([_row(1, CHINESE, 0.5, 0.4)])["datasets"][0], "rougeL_f", "ROUGE-L F")
        fig.savefig(tmp_path / "p.png")
    missing = [str(w.message) for w in caught if "missing from" in str(w.message)]
    assert not missing, missing


def test_math_like_names_are_plain_text(tmp_path: Path) -> None:
    rows = [_row(1, r"$\foo{$ model", 0.5, 0.4), _row(2, "a|b\n$x^2$", 1.0, 0.3)]
    written = build_plots(tmp_path, _board(rows, name="$broken{$"))
    assert len(written) == 2 and all(p.read_bytes()[:4] == b"\x89PNG" for p in written)


def test_a_failing_plot_is_skipped_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(plots, "pareto_figure", boom)
    with caplog.at_level(logging.WARNING, logger="harness"):
        written = build_plots(tmp_path, _board([_row(1, "m", 0.5, 0.4)]))
    assert len(written) == 1 and written[0].name.endswith("-metrics.png")
    assert "pareto" in caplog.text and "drawing failed" in caplog.text


def test_labels_of_equal_cost_runs_do_not_overlap() -> None:
    rows = [_row(i + 1, f"model-{i} 长名字", 0.5, 0.40 - 0.001 * i) for i in range(6)]
    from matplotlib import rc_context

    with rc_context(plot_rc()):
        fig = pareto_figure(_board(rows)["datasets"][0], "rougeL_f", "ROUGE-L F")
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        boxes = [t.get_window_extent(renderer) for t in fig.axes[0].texts]
    assert len(boxes) == 6
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b), (a, b)
