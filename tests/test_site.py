"""The static site and plots, checked in a real headless Chromium (tests/browser.py).

Two real jobs (lead, textrank) run on a copy of the mini dataset; then one run's rows are rewritten
with hostile text (script tags, an onerror image, a script-closing sequence, quotes) and judge
evidence built by the judge's own aggregation, and the site is built from `build_board(collect())`.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from hydra import compose, initialize_config_dir

from harness.config import CONF_DIR, register_resolvers, register_schema
from harness.data.load import load_items
from harness.jobs import run_job
from harness.report.leaderboard import build_board, collect
from harness.report.plots import build_plots, pareto_front, plot_paths
from harness.report.site import build_site, locate_span, normalize_with_map, quote_location, script_json
from harness.results.reader import read_jsonl
from harness.score.judge import aggregate_claims, document_text, normalize_for_match
from tests.browser import browser  # noqa: F401  (the fixture)
from tests.conftest import MINI

PAYLOADS = (
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=2">',
    "</script><script>window.__pwned=3</script>",
)
QUOTES = "\"double\" and 'single' \"mixed' <b>bold</b> & &amp;"
ALERT = "<img src=y onerror=alert(1)>"
HOSTILE_ITEM = "mini-1"


def _run(results: Path, data: Path, name: str, *overrides: str) -> None:
    register_resolvers()
    register_schema()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        cfg = compose(
            config_name="config",
            overrides=[
                f"results_dir={results}",
                "dataset.name=mini",
                f"dataset.data_files=[{data}]",
                "metrics.bertscore.enabled=false",
                "cache.mode=off",
                "update_leaderboard=false",
                *overrides,
            ],
        )
    run_job(cfg, results / "runs" / "sweep" / name)


def _plant_hostile(run_dir: Path, data: Path) -> None:
    """Hostile bullets, raw reply and judge evidence for one item of one run."""
    rows_path = run_dir / "rows.jsonl"
    rows = read_jsonl(rows_path)
    cfg = _dataset_cfg(data)
    item = next(i for i in load_items(cfg) if i.id == HOSTILE_ITEM)
    bullets = [PAYLOADS[0] + " 星河智能发布天枢 2", PAYLOADS[1] + " " + ALERT, PAYLOADS[2] + " " + QUOTES]
    verdicts = {
        "bullets": [
            {
                "bullet": 1,
                "claims": [
                    # Not a substring (no space before TOPS), found after the judge's normalisation.
                    {"claim": "算力 256 TOPS", "verdict": "supported", "quote": "单卡算力达到256TOPS"},
                    {"claim": "功耗降低 50%", "verdict": "contradicted", "quote": "功耗比上一代降低 30%"},
                ],
            },
            {"bullet": 2, "claims": [{"claim": PAYLOADS[1], "verdict": "not_in_source", "quote": ""}]},
            {
                "bullet": 3,
                "claims": [{"claim": PAYLOADS[2], "verdict": "supported", "quote": PAYLOADS[0] + QUOTES}],
            },
        ]
    }
    agg = aggregate_claims(verdicts, document_text(item), bullets)
    for row in rows:
        if row["item_id"] == HOSTILE_ITEM:
            row["generation"]["bullets"] = bullets
            row["generation"]["raw"] = "\n".join(f"- {b}" for b in bullets) + "\n" + ALERT
            row["flags"] = [*row["flags"], "<i>flag</i>"]
            row["evidence"]["judge"] = {"claims": {"counts": agg["counts"], "bullets": agg["bullets"]}}
    rows_path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _dataset_cfg(data: Path) -> Any:
    from harness.config import DatasetConfig

    return DatasetConfig(name="mini", data_files=[str(data)])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("site")
    data = root / "mini_news.jsonl"
    # The article and reference of the hostile item carry a payload too (dataset text is untrusted).
    lines = MINI.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    first["source"] += "\n\n附：" + PAYLOADS[0]
    first["reference"][-1] += " " + PAYLOADS[2]
    data.write_text("\n".join([json.dumps(first, ensure_ascii=False), *lines[1:]]) + "\n", encoding="utf-8")
    results = root / "results"
    _run(results, data, "0-lead", "model=lead")
    _run(results, data, "1-textrank", "model=textrank")
    _plant_hostile(results / "runs" / "sweep" / "1-textrank", data)
    entries = collect(results)
    board = build_board(entries)
    index = build_site(results, board, entries)
    plots = build_plots(results, board)
    return {"root": root, "results": results, "data": data, "board": board, "index": index, "plots": plots}


# -- pure functions --------------------------------------------------------------------------------


def test_pareto_front() -> None:
    assert pareto_front([]) == []
    assert pareto_front([(1.0, 0.5)]) == [0]
    #  0: cheap, bad   1: dominated by 2   2: mid   3: expensive, best   4: dominated by 0
    points = [(0.0, 0.2), (2.0, 0.3), (1.0, 0.4), (5.0, 0.9), (0.5, 0.1)]
    assert pareto_front(points) == [0, 2, 3]
    assert pareto_front([(1.0, 0.5), (1.0, 0.5)]) == [0, 1]  # equal points do not dominate each other
    assert pareto_front([(1.0, 0.5), (1.0, 0.6)]) == [1]  # same cost, better quality
    assert pareto_front([(2.0, 0.5), (1.0, 0.5)]) == [1]  # same quality, cheaper


def test_script_json_cannot_close_the_script_element() -> None:
    value = {"t": "</script><!-- & \u2028\u2029 <b>", "n": float("nan")}
    text = script_json(value)
    assert not set("<>&\u2028\u2029") & set(text)
    assert json.loads(text) == {"t": value["t"], "n": None}


def test_quote_location_uses_the_judges_normalisation() -> None:
    text = "标题\n星河智能“天枢 2”单卡算力达到 256 TOPS，功耗降低。"
    assert normalize_with_map(text)[0] == normalize_for_match(text)
    assert locate_span("256 TOPS", text) == (text.index("256"), text.index("TOPS") + 4)
    start, end = locate_span("算力达到256TOPS", text)
    assert text[start:end] == "算力达到 256 TOPS"
    assert locate_span("不存在的引文", text) is None
    # Offsets are JavaScript (UTF-16) offsets into the source, after the title line.
    loc = quote_location("达到256", None, "标题😀", "😀达到 256")
    assert loc == {"in": "source", "start": 2, "end": 8}  # the emoji is 2 UTF-16 units
    assert quote_location("标题", None, "标题", "正文") == {"in": "title", "start": 0, "end": 2}


# -- files -----------------------------------------------------------------------------------------


def _data(page: Path) -> dict[str, Any]:
    html = page.read_text(encoding="utf-8")
    m = re.search(r'<script type="application/json" id="data">(.*?)</script>', html, re.S)
    assert m, page
    return json.loads(m.group(1))


def test_pages_embed_escaped_data(site: dict[str, Any]) -> None:
    out = site["results"] / "site"
    pages = [out / "index.html", out / "compare.html", *sorted((out / "runs").glob("*.html"))]
    assert len(pages) == 4
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert "<script>window" not in html and "<img" not in html
        assert html.count("<script") == 2 and html.count("</script>") == 2, page
        assert "innerHTML" not in html
    js = (out / "assets" / "site.js").read_text(encoding="utf-8")
    js = re.sub(r"^\s*//.*$", "", re.sub(r"/\*.*?\*/", "", js, flags=re.S), flags=re.M)  # code only
    assert not re.search(
        r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|fetch\(|XMLHttpRequest", js
    )
    run = _data(out / "runs" / "sweep_1-textrank.html")
    item = next(i for i in run["items"] if i["id"] == HOSTILE_ITEM)
    assert item["bullets"][0].startswith(PAYLOADS[0])  # the text survives, as text
    assert item["source"].endswith(PAYLOADS[0])
    assert [c["loc"] is not None for c in item["claims"]] == [True, True, False, False]
    index = _data(out / "index.html")
    assert index["datasets"][0]["plots"][0]["src"] == plot_paths("mini")["metrics"]


def test_plots_are_pngs(site: dict[str, Any], tmp_path: Path) -> None:
    assert len(site["plots"]) == 2
    for path in site["plots"]:
        blob = path.read_bytes()
        assert blob[:8] == b"\x89PNG\r\n\x1a\n" and len(blob) > 5_000, path
    # No row with a known cost: the Pareto plot is written with a note, not an error.
    board = json.loads(json.dumps(site["board"]))
    for row in board["datasets"][0]["rows"]:
        row["generation"]["cost_per_100_items_usd"] = None
    paths = build_plots(tmp_path, board)
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in paths)


def test_run_page_without_the_dataset(site: dict[str, Any], tmp_path: Path) -> None:
    results = tmp_path / "results"
    shutil.copytree(site["results"] / "runs", results / "runs")
    for config in (results / "runs").rglob("config.yaml"):
        text = config.read_text(encoding="utf-8").replace(str(site["data"]), str(tmp_path / "moved.jsonl"))
        config.write_text(text, encoding="utf-8")
    entries = collect(results)
    build_site(results, build_board(entries), entries)
    run = _data(results / "site" / "runs" / "sweep_0-lead.html")
    assert "not shown" in run["notes"][0] and "moved.jsonl" in run["notes"][0]
    assert all(i["source"] is None and i["bullets"] for i in run["items"])


# -- in the browser ------------------------------------------------------------------------------


def _wait(driver: Any, css: str, timeout: float = 10) -> Any:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(ec.visibility_of_element_located((By.CSS_SELECTOR, css)))


def _css(driver: Any, css: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, css)


def _assert_safe(driver: Any) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    assert driver.execute_script("return window.__pwned === undefined")
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018


def test_index_sorts_on_click(site: dict[str, Any], browser: Any) -> None:  # noqa: F811
    browser.get(site["index"].as_uri())
    _wait(browser, "table.board")

    def models() -> list[str]:
        return [td.text.split()[0] for td in _css(browser, "table.board tbody td.col-model")]

    assert models() == [r["model"] for r in site["board"]["datasets"][0]["rows"]]
    header = _css(browser, 'table.board th[data-key="rougeL_f"]')[0]
    assert header.get_attribute("aria-sort") == "none"
    header.click()
    first = models()
    assert header.get_attribute("aria-sort") == "ascending"
    means = {r["model"]: r["metrics"]["rougeL_f"]["mean"] for r in site["board"]["datasets"][0]["rows"]}
    assert first == sorted(means, key=means.get)
    header.click()
    assert header.get_attribute("aria-sort") == "descending"
    assert models() == first[::-1]
    assert _css(browser, 'table.board th[data-key="rank"]')[0].get_attribute("aria-sort") == "none"
    # unavailable metrics read n/a with the reason as a tooltip and a footnote
    na = _css(browser, "table.board span.na")
    assert na and na[0].text.startswith("n/a") and "judge" in na[0].get_attribute("title")
    assert _css(browser, 'img[src="plots/mini-metrics.png"]')


def test_drill_down_opens(site: dict[str, Any], browser: Any) -> None:  # noqa: F811
    browser.get(site["index"].as_uri())
    _wait(browser, "table.board")
    next(a for a in _css(browser, "a.model-link") if a.text == "lead").click()
    _wait(browser, "table.items")
    assert "sweep/0-lead" in browser.find_element("css selector", "main").text
    next(a for a in _css(browser, "a.item-link") if a.text == "mini-2").click()
    _wait(browser, "#drill .source .article-body")
    items = {i.id: i for i in load_items(_dataset_cfg(site["data"]))}
    drill = browser.find_element("css selector", "#drill")
    source_text = drill.find_element("css selector", ".article-body").text
    assert items["mini-2"].source.split("\n")[0] in source_text
    reference = drill.find_element("css selector", ".reference").text
    assert items["mini-2"].reference[0] in reference
    rows = {r["item_id"]: r for r in read_jsonl(site["results"] / "runs" / "sweep" / "0-lead" / "rows.jsonl")}
    generated = drill.find_element("css selector", ".generated").text
    assert all(b in generated for b in rows["mini-2"]["generation"]["bullets"])
    assert "ROUGE-L F" in drill.find_element("css selector", ".scores").text


def test_hostile_text_stays_text(site: dict[str, Any], browser: Any) -> None:  # noqa: F811
    out = site["results"] / "site"
    for page in [out / "index.html", out / "compare.html", *sorted((out / "runs").glob("*.html"))]:
        browser.get(page.as_uri())
        _wait(browser, "main h1")
        _assert_safe(browser)

    browser.get((out / "runs" / "sweep_1-textrank.html").as_uri() + f"#item={HOSTILE_ITEM}")
    _wait(browser, "#drill .generated")
    _assert_safe(browser)
    drill = browser.find_element("css selector", "#drill")
    generated = drill.find_element("css selector", ".generated").text
    for text in (*PAYLOADS, ALERT, QUOTES):
        assert text in generated
    assert ALERT in drill.find_element("css selector", ".raw-reply").text
    assert PAYLOADS[0] in drill.find_element("css selector", ".article-body").text
    assert PAYLOADS[2] in drill.find_element("css selector", ".reference").text
    claims = drill.find_element("css selector", "table.claims").text
    assert PAYLOADS[1] in claims and PAYLOADS[2] in claims and "not found in source" in claims
    # evidence quotes are highlighted in the source with <mark>, built as DOM nodes
    marks = [m.text for m in drill.find_elements("css selector", ".article-body mark")]
    assert any("256 TOPS" in m for m in marks) and any("30%" in m for m in marks)
    assert drill.find_elements("css selector", ".article-body mark.contradicted")
    assert not drill.find_elements("css selector", "#drill script, #drill img, #drill b, #drill i")

    browser.get((out / "compare.html").as_uri() + f"#a=sweep_1-textrank&b=sweep_0-lead&item={HOSTILE_ITEM}")
    _wait(browser, "#compare-out .run-col")
    _assert_safe(browser)
    text = browser.find_element("css selector", "#compare-out").text
    assert all(p in text for p in PAYLOADS) and QUOTES in text


def test_compare_view_shows_both_digests(site: dict[str, Any], browser: Any) -> None:  # noqa: F811
    from selenium.webdriver.support.ui import Select

    browser.get((site["results"] / "site" / "compare.html").as_uri())
    _wait(browser, "#compare-out")
    Select(browser.find_element("id", "run-a")).select_by_value("sweep_0-lead")
    Select(browser.find_element("id", "run-b")).select_by_value("sweep_1-textrank")
    Select(browser.find_element("id", "item-select")).select_by_value("mini-3")
    columns = _css(browser, "#compare-out .run-col")
    assert len(columns) == 2
    runs = site["results"] / "runs" / "sweep"
    for column, name in zip(columns, ("0-lead", "1-textrank"), strict=True):
        row = next(r for r in read_jsonl(runs / name / "rows.jsonl") if r["item_id"] == "mini-3")
        text = column.find_element("css selector", ".generated").text
        assert row["generation"]["bullets"] and all(b in text for b in row["generation"]["bullets"])
        assert name.split("-")[1] in column.find_element("css selector", "h3").text
    reference = browser.find_element("css selector", "#compare-out .ref-col").text
    items = {i.id: i for i in load_items(_dataset_cfg(site["data"]))}
    assert all(b in reference for b in items["mini-3"].reference)
    assert "item=mini-3" in browser.current_url


# -- layout: Chinese, compact view, sticky model column, phone width -------------------------------

CJK_MODEL = "通义千问长文本版"  # no space: the sort test reads the first word of a model cell
DESKTOP, PHONE = (1366, 900), (390, 844)


@pytest.fixture(scope="module")
def cjk_site(site: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The site of the same runs, with Chinese model and dataset names (one with a `|`)."""
    results = tmp_path_factory.mktemp("cjk-site") / "results"
    board = json.loads(json.dumps(site["board"]))
    ds = board["datasets"][0]
    ds["name"] = "要点解析 mini"
    ds["rows"][0]["model"] = CJK_MODEL
    ds["rows"][1]["model"] = "深度求索|$x$"
    entries = collect(site["results"])
    index = build_site(results, board, entries)
    build_plots(results, board)
    return {"index": index, "board": board}


def _viewport(driver: Any, size: tuple[int, int]) -> None:
    width, height = size
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )


def _shot(driver: Any, name: str, tmp_path: Path) -> Path:
    """A screenshot of the viewport, kept in $HARNESS_SCREENSHOTS when set (to look at), else tmp."""
    import os

    out = Path(os.environ.get("HARNESS_SCREENSHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.png"
    assert driver.save_screenshot(str(path))
    assert path.read_bytes()[:4] == b"\x89PNG" and path.stat().st_size > 10_000
    return path


_GLYPHS_JS = """
const el = document.querySelector(arguments[0]);
const style = getComputedStyle(el);
const ctx = document.createElement("canvas").getContext("2d");
ctx.font = style.fontSize + " " + style.fontFamily;
const size = parseFloat(style.fontSize);
// U+FFFF is a noncharacter no font maps: its width is the .notdef (tofu) box of the fallback.
const tofu = ctx.measureText("\\uffff".repeat(arguments[1].length)).width;
return {cjk: ctx.measureText(arguments[1]).width, tofu: tofu, size: size, text: el.textContent};
"""


def _assert_cjk_rendered(driver: Any, css: str, text: str) -> None:
    m = driver.execute_script(_GLYPHS_JS, css, text)
    assert text in m["text"]
    # Chinese glyphs are full width (1 em each) and not the .notdef box.
    assert abs(m["cjk"] - len(text) * m["size"]) <= 0.05 * len(text) * m["size"], m
    assert abs(m["cjk"] - m["tofu"]) > 1, m


def _rect(driver: Any, element: Any) -> dict[str, float]:
    return driver.execute_script("return arguments[0].getBoundingClientRect().toJSON()", element)


def _visible_keys(driver: Any) -> list[str]:
    return [th.get_attribute("data-key") for th in _css(driver, "table.board thead th") if th.is_displayed()]


def test_desktop_compact_view_and_sticky_model(
    cjk_site: dict[str, Any],
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    from tests.browser import require_cjk_font

    require_cjk_font()
    _viewport(browser, DESKTOP)
    try:
        browser.get(cjk_site["index"].as_uri())
        _wait(browser, "table.board")
        _assert_cjk_rendered(browser, "table.board td.col-model .model-link", CJK_MODEL)
        _assert_cjk_rendered(browser, "h2 .ds-name", "要点解析")
        compact = _visible_keys(browser)
        assert compact[:2] == ["rank", "model"] and "rougeL_f" in compact and len(compact) <= 12, compact
        assert "tokens" not in compact and "format_ok" not in compact
        wrap = _css(browser, ".table-wrap")[0]
        assert browser.execute_script("return arguments[0].scrollWidth <= arguments[0].clientWidth", wrap)
        _shot(browser, "index-1366-compact", tmp_path)

        toggle = _css(browser, "button.view-toggle")[0]
        assert toggle.text.startswith("All columns")
        toggle.click()
        wide = _visible_keys(browser)
        assert {"tokens", "format_ok"} <= set(wide) and len(wide) > len(compact)
        assert browser.execute_script("return arguments[0].scrollWidth > arguments[0].clientWidth", wrap)
        model = _css(browser, "table.board tbody td.col-model")[0]
        before = _rect(browser, model)
        browser.execute_script("arguments[0].scrollLeft = arguments[0].scrollWidth", wrap)
        after = _rect(browser, model)
        box = _rect(browser, wrap)
        assert browser.execute_script("return arguments[0].scrollLeft", wrap) > 100
        assert after["left"] == pytest.approx(before["left"], abs=1) and after["left"] >= box["left"] - 1
        # nothing else is drawn over the model column: the element at its centre is the cell itself
        hit = browser.execute_script(
            "const r = arguments[0].getBoundingClientRect();"
            "return arguments[0].contains(document.elementFromPoint(r.left + 4, r.top + r.height / 2));",
            model,
        )
        assert hit
        _shot(browser, "index-1366-all-scrolled", tmp_path)
        toggle.click()
        assert _visible_keys(browser) == compact
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_phone_shows_rank_model_and_ranking_metric(
    cjk_site: dict[str, Any],
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    from tests.browser import require_cjk_font

    require_cjk_font()
    _viewport(browser, PHONE)
    try:
        browser.get(cjk_site["index"].as_uri())
        _wait(browser, "table.board")
        assert browser.execute_script("return window.innerWidth") == PHONE[0]
        assert _visible_keys(browser) == ["rank", "model", cjk_site["board"]["rank_by"]]
        # no horizontal scroll: not the page, not the table
        assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
        wrap = _css(browser, ".table-wrap")[0]
        assert browser.execute_script("return arguments[0].scrollWidth <= arguments[0].clientWidth", wrap)
        for css in ("td.col-model", "td.rank-by"):
            for cell in _css(browser, f"table.board tbody {css}"):
                r = _rect(browser, cell)
                assert r["left"] >= 0 and r["right"] <= PHONE[0], (css, r)
        _assert_cjk_rendered(browser, "table.board td.col-model .model-link", CJK_MODEL)
        _shot(browser, "index-390", tmp_path)
        _css(browser, "button.view-toggle")[0].click()  # every column, scrolling sideways
        assert len(_visible_keys(browser)) > 3
        _shot(browser, "index-390-all", tmp_path)
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
