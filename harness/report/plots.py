"""Leaderboard plots (PNG, matplotlib's Agg canvas, no pyplot state) for the static site.

Per dataset of the board (`build_board`):
- `<dataset>-metrics.png`: each row's mean with its 95% interval, one panel per headline metric
  present (ROUGE-L F, ROUGE-Lsum F, BERTScore F1, judge factual precision, key-point recall);
- `<dataset>-pareto.png`: quality (the board's rank_by metric) against cost per 100 items, with the
  Pareto front (lower cost, higher quality). Rows with an unknown cost are left out and named in
  the subtitle; rows that read the reference (the oracle) are drawn but kept off the front.

Chinese is drawn with Noto Sans CJK from the `noto-cjk-sans-otc` package (a dependency): its file
is registered with matplotlib's font manager at first use, so plots need no system font and are not
at the mercy of a stale font cache. Without it (package missing), an installed CJK font is used,
else labels are folded to ASCII ("?" for the rest) rather than drawn as empty boxes. Every label
starts with the row's rank, which matches the table. User text (model, prompt and dataset names) is
drawn as plain text, never as mathtext, and labels on the Pareto plot are moved apart so runs of
equal cost do not pile up. A plot that cannot be drawn is logged and skipped (`build_plots`).
"""

from __future__ import annotations

import logging
import math
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from harness.config import safe_name

log = logging.getLogger("harness")

PLOTS_DIR = "plots"
# Installed fonts tried when the shipped one is missing, best first.
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Droid Sans Fallback",
    "AR PL UMing CN",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
)
DPI = 110


def plot_paths(dataset: str) -> dict[str, str]:
    """Paths of a dataset's plots relative to the site directory (also what index.html links)."""
    stem = safe_name(dataset)
    return {"metrics": f"{PLOTS_DIR}/{stem}-metrics.png", "pareto": f"{PLOTS_DIR}/{stem}-pareto.png"}


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points (cost, quality) no other point dominates, by cost then quality.

    A point dominates another if it costs no more and scores no less, and is strictly better in
    one of the two. Equal points do not dominate each other, so both stay on the front."""
    front = []
    for i, (ci, qi) in enumerate(points):
        dominated = any(
            cj <= ci and qj >= qi and (cj < ci or qj > qi) for j, (cj, qj) in enumerate(points) if j != i
        )
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: (points[i][0], -points[i][1], i))


def quality_front(
    points: Sequence[tuple[dict[str, Any], float, float]], higher_is_better: bool = True
) -> list[dict[str, Any]]:
    """The rows of (row, cost, quality) on the Pareto front, by cost then quality, with quality read
    in its declared direction (an error rate: lower is better)."""
    sign = 1.0 if higher_is_better else -1.0
    return [points[i][0] for i in pareto_front([(c, sign * q) for _, c, q in points])]


def shipped_cjk_font() -> Path | None:
    """The Noto Sans CJK collection that comes with the install (package `noto-cjk-sans-otc`)."""
    try:
        import noto_cjk_sans_otc
    except ImportError:
        return None
    path = Path(str(noto_cjk_sans_otc.FONT_PATH))
    return path if path.is_file() else None


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The family name of the CJK font plots use, or None.

    The shipped file is registered from its path (`addfont`), and its faces are put first in the
    font manager's list so that a system font of the same name never takes its place: plots look
    the same on every machine."""
    from matplotlib import font_manager

    manager = font_manager.fontManager
    path = shipped_cjk_font()
    if path is not None:
        try:
            manager.addfont(str(path))
        except Exception as exc:  # an unreadable file: fall back to installed fonts
            log.warning("plots: cannot load the CJK font %s: %s", path, exc)
        else:
            shipped = [f for f in manager.ttflist if Path(f.fname) == path]
            manager.ttflist = shipped + [f for f in manager.ttflist if Path(f.fname) != path]
            manager._findfont_cached.cache_clear()
            names = [f.name for f in shipped]
            # matplotlib >= 3.10 reads every face of the collection; older ones only the first (JP).
            return "Noto Sans CJK SC" if "Noto Sans CJK SC" in names else (names[0] if names else None)
    names = {f.name for f in manager.ttflist}
    return next((name for name in CJK_FONTS if name in names), None)


def plot_rc() -> dict[str, Any]:
    """rcParams for drawing the plots: the CJK font after DejaVu Sans (per-glyph fallback), and user
    text as plain text (a model named `$\\foo{$` is not mathtext)."""
    font = cjk_font()
    return {
        "font.family": ["DejaVu Sans", font] if font else ["DejaVu Sans"],
        "text.parse_math": False,
        "text.usetex": False,
        "svg.hashsalt": "0",
    }


def plot_label(text: str) -> str:
    """`text` as matplotlib can draw it: unchanged with a CJK font, else ASCII ("?" for the rest)."""
    text = text.replace("\u2193", "(lower is better)").replace("\u2191", "(higher is better)")
    if cjk_font():
        return text
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return "".join(c if 32 <= ord(c) < 127 else "?" for c in folded)


def _row_label(row: dict[str, Any]) -> str:
    prompt = row.get("prompt") or {}
    mark = (
        " *" if row.get("leader") else (" ~" if (row.get("vs_leader") or {}).get("indistinguishable") else "")
    )
    ref = " (reads ref)" if row.get("uses_reference") else ""
    return plot_label(
        f"{_rank(row)} {row['model']} [{prompt.get('id', '?')}@{prompt.get('version', '?')}]{ref}{mark}"
    )


def _rank(row: dict[str, Any]) -> str:
    return f"#{row['rank']}" if row.get("rank") else "#–"  # a row with nothing scored has no rank


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _note_figure(title: str, note: str) -> Any:
    fig = _figure(7, 2.2)
    fig.suptitle(plot_label(title), fontsize=11)
    ax = fig.add_subplot()
    ax.axis("off")
    ax.text(0.5, 0.5, plot_label(note), ha="center", va="center", wrap=True, fontsize=10, color="#444")
    return fig


def plot_metrics(rank_by: str | None = None) -> list[tuple[str, str]]:
    """(key, label) of the metric panels: the ranking column, then the columns declared `compact`
    (harness/score/ declarations), each once."""
    from harness.score import registry

    keys = [c.key for c in registry.columns() if c.compact]
    if rank_by and rank_by not in keys:
        keys.insert(0, rank_by)
    return [(k, registry.label(k)) for k in keys]


def metrics_figure(dataset: dict[str, Any], confidence: float = 0.95, rank_by: str | None = None) -> Any:
    """One horizontal error-bar panel per plotted metric present in the dataset's rows."""
    rows = dataset["rows"]
    panels = [
        (key, label)
        for key, label in plot_metrics(rank_by)
        if any(_finite((r["metrics"].get(key) or {}).get("mean")) for r in rows)
    ]
    title = f"{dataset['name']}: means with {confidence:.0%} bootstrap intervals"
    if not panels:
        return _note_figure(title, "No headline metric (ROUGE-L, ROUGE-Lsum, BERTScore, judge) has values.")
    labels = [_row_label(r) for r in rows]
    width = 2.2 + 0.07 * max(len(s) for s in labels) + 3.2 * len(panels)
    fig = _figure(min(width, 22), 1.4 + 0.42 * len(rows))
    fig.suptitle(plot_label(title), fontsize=11)
    axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    y = list(range(len(rows)))
    for ax, (key, label) in zip(axes, panels, strict=True):
        for yi, row in zip(y, rows, strict=True):
            m = row["metrics"].get(key) or {}
            mean = m.get("mean")
            if not _finite(mean):
                ax.text(
                    0.02, yi, "n/a", va="center", fontsize=8, color="#888", transform=ax.get_yaxis_transform()
                )
                continue
            low, high = m.get("low"), m.get("high")
            err = [[mean - low], [high - mean]] if _finite(low) and _finite(high) else None
            color = (
                "#999999" if row.get("uses_reference") else ("#c0392b" if row.get("leader") else "#2c6fbb")
            )
            ax.errorbar([mean], [yi], xerr=err, fmt="o", color=color, ecolor=color, capsize=3, markersize=5)
        ax.set_title(label, fontsize=10)
        ax.grid(axis="x", alpha=0.3)
        lo, hi = ax.get_xlim()
        if lo >= -0.05 and hi <= 1.05:
            ax.set_xlim(0, 1)
    axes[0].set_yticks(y, labels, fontsize=8)
    axes[0].invert_yaxis()  # rank 1 on top, as in the table
    fig.supxlabel(
        plot_label("* leader, ~ not significantly different from the leader; grey: reads the reference"),
        fontsize=8,
    )
    return fig


def pareto_figure(
    dataset: dict[str, Any], rank_by: str, rank_label: str, higher_is_better: bool = True
) -> Any:
    """Quality (rank_by mean, with its interval) against cost per 100 items; Pareto front marked,
    in the metric's direction (for an error rate, lower is better)."""
    title = f"{dataset['name']}: {rank_label} vs cost per 100 items"
    known, no_cost, no_quality = [], [], []
    for row in dataset["rows"]:
        quality = (row["metrics"].get(rank_by) or {}).get("mean")
        cost = (row.get("generation") or {}).get("cost_per_100_items_usd")
        if not _finite(quality):
            no_quality.append(row)
        elif not _finite(cost):
            no_cost.append(row)
        else:
            known.append((row, float(cost), float(quality)))
    notes = []
    if no_cost:
        notes.append("omitted, cost unknown: " + ", ".join(f"{_rank(r)} {r['model']}" for r in no_cost))
    if no_quality:
        notes.append(f"omitted, no {rank_by}: " + ", ".join(f"{_rank(r)} {r['model']}" for r in no_quality))
    if not known:
        return _note_figure(
            title, "No row has both a known cost and a value: nothing to plot.\n" + "\n".join(notes)
        )
    competitors = [k for k in known if not k[0].get("uses_reference")]
    front_rows = {id(row) for row in quality_front(competitors, higher_is_better)}
    if len(competitors) < len(known):
        notes.append("grey: reads the reference, not on the front")
    fig = _figure(8, 5.2)
    fig.suptitle(plot_label(title), fontsize=11)
    ax = fig.add_subplot()
    labels: list[Any] = []
    if notes:
        ax.set_title(plot_label("; ".join(notes)), fontsize=8, color="#555", wrap=True)
    for row, cost, quality in known:
        m = row["metrics"][rank_by]
        low, high = m.get("low"), m.get("high")
        err = [[quality - low], [high - quality]] if _finite(low) and _finite(high) else None
        on_front = id(row) in front_rows
        if row.get("uses_reference"):
            style = {"color": "#999999", "mfc": "white"}
        else:
            style = {"color": "#c0392b" if on_front else "#2c6fbb", "mfc": None}
        ax.errorbar(
            [cost],
            [quality],
            yerr=err,
            fmt="o",
            capsize=3,
            markersize=6,
            color=style["color"],
            markerfacecolor=style["mfc"] or style["color"],
        )
        labels.append(
            ax.annotate(
                _row_label(row), (cost, quality), textcoords="offset points", xytext=(6, 4), fontsize=8
            )
        )
    front = sorted((c, q) for r, c, q in known if id(r) in front_rows)
    if front:
        xs, ys = [c for c, _ in front], [q for _, q in front]
        ax.plot(xs, ys, drawstyle="steps-post", color="#c0392b", linewidth=1.5, alpha=0.7)
        ax.scatter(
            xs,
            ys,
            s=220,
            facecolors="none",
            edgecolors="#c0392b",
            linewidths=1.5,
            zorder=3,
            label=f"Pareto front (lower cost, {'higher' if higher_is_better else 'lower'} {rank_by})",
        )
        ax.legend(loc="lower right", fontsize=8)
    # Costs are never negative: start the axis at (just left of) zero.
    right = max(c for _, c, _ in known)
    right = right * 1.3 if right > 0 else 1.0
    ax.set_xlim(-0.03 * right, right)
    ax.set_xlabel("cost per 100 items (USD)")
    ax.set_ylabel(plot_label(rank_label))
    ax.grid(alpha=0.3)
    ax.margins(y=0.1)
    spread_labels(fig, labels)
    return fig


def _overlaps(box: Any, placed: list[Any], pad: float = 1.0) -> bool:
    return any(
        box.x0 < other.x1 + pad
        and other.x0 < box.x1 + pad
        and box.y0 < other.y1 + pad
        and other.y0 < box.y1 + pad
        for other in placed
    )


def spread_labels(fig: Any, labels: list[Any], max_steps: int = 60) -> None:
    """Move annotation labels apart (in display space) so none overlaps another: each label, from the
    top of the plot down, tries offsets below, above and to the left of its point in growing steps;
    a moved label gets a thin line to its point. Runs of equal cost no longer pile into a smear."""
    if len(labels) < 2:
        return
    fig.canvas.draw()  # layout and text extents
    renderer = fig.canvas.get_renderer()
    scale = fig.dpi / 72.0  # display pixels per offset point
    order = sorted(
        labels, key=lambda a: (-a.get_window_extent(renderer).y0, a.get_window_extent(renderer).x0)
    )
    placed: list[Any] = []
    for ann in order:
        box = ann.get_window_extent(renderer)
        height = box.height / scale + 2
        width = box.width / scale
        x0, y0 = ann.xyann
        candidates = [(x0, y0)]
        for step in range(1, max_steps):
            dy = step * height / 2
            candidates += [(x0, y0 - dy), (x0, y0 + dy), (-width - 6, y0 - dy), (-width - 6, y0 + dy)]
        for dx, dy in candidates:
            shifted = box.translated((dx - x0) * scale, (dy - y0) * scale)
            if not _overlaps(shifted, placed):
                break
        if (dx, dy) == (x0, y0):
            ann.xyann = (dx, dy)
        else:  # redrawn with a thin line to its point
            ann.axes.annotate(
                ann.get_text(),
                ann.xy,
                textcoords="offset points",
                xytext=(dx, dy),
                fontsize=ann.get_fontsize(),
                arrowprops={"arrowstyle": "-", "color": "#999999", "lw": 0.6, "shrinkA": 0, "shrinkB": 3},
            )
            ann.remove()
        placed.append(box.translated((dx - x0) * scale, (dy - y0) * scale))


def build_plots(results_dir: Path, board: dict[str, Any]) -> list[Path]:
    """Write every dataset's plots under results/site/plots/; returns the PNG paths written."""
    import warnings

    from matplotlib import rc_context

    from harness.score import registry

    site = results_dir / "site"
    (site / PLOTS_DIR).mkdir(parents=True, exist_ok=True)
    rank_by = board.get("rank_by", "rougeL_f")
    confidence = (board.get("stats") or {}).get("confidence", 0.95)
    written = []
    with rc_context(plot_rc()), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from")
        for ds in board.get("datasets", []):
            paths = plot_paths(ds["name"])
            draw = {
                "metrics": lambda ds=ds: metrics_figure(ds, confidence, rank_by),
                "pareto": lambda ds=ds: pareto_figure(
                    ds, rank_by, registry.label(rank_by), registry.higher_is_better(rank_by)
                ),
            }
            for kind, make in draw.items():
                path = site / paths[kind]
                tmp = path.with_name(f".{path.name}.tmp")
                try:
                    make().savefig(tmp, format="png", metadata={"Software": None})
                except Exception as exc:  # a plot never fails a run or the leaderboard
                    log.warning("plot %s skipped: %s: %s", path.name, type(exc).__name__, exc)
                    tmp.unlink(missing_ok=True)
                    continue
                tmp.replace(path)
                written.append(path)
    return written
