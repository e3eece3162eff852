/* Renders the leaderboard site from the JSON embedded in <script type="application/json" id="data">.
 *
 * Every piece of data becomes a text node (textContent / createTextNode) or an attribute set with
 * setAttribute; nothing is ever parsed as HTML (no innerHTML, insertAdjacentHTML, document.write).
 * Links built from data are limited to http(s) URLs. No network access: the data is in the page. */
(function () {
  "use strict";

  const DATA = JSON.parse(document.getElementById("data").textContent);
  const LABELS = DATA.labels || {};
  const DIRECTIONS = DATA.directions || {};
  // Score columns of the compact default view (declared `compact` in harness/score/).
  const COMPACT = new Set(DATA.compact || []);

  // ------------------------------------------------------------------------------------------
  // DOM helpers

  function h(tag, props, children) {
    const node = document.createElement(tag);
    if (props) {
      for (const key of Object.keys(props)) {
        const value = props[key];
        if (value === null || value === undefined || value === false) continue;
        if (key === "class") node.className = value;
        else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
        else node.setAttribute(key, value === true ? "" : String(value));
      }
    }
    add(node, children);
    return node;
  }

  function add(node, children) {
    if (children === null || children === undefined || children === false) return node;
    if (Array.isArray(children)) {
      for (const child of children) add(node, child);
    } else if (children instanceof Node) {
      node.appendChild(children);
    } else {
      node.appendChild(document.createTextNode(String(children)));
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function safeUrl(url) {
    try {
      const parsed = new URL(String(url));
      return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
    } catch (e) {
      return null;
    }
  }

  function isNum(v) {
    return typeof v === "number" && isFinite(v);
  }

  function fmt(v, digits) {
    return isNum(v) ? v.toFixed(digits) : "—";
  }

  function label(key) {
    return LABELS[key] || key;
  }

  function hashParams() {
    return new URLSearchParams(location.hash.replace(/^#/, ""));
  }

  function section(title, body, cls) {
    return h("section", { class: cls || "block" }, [h("h3", null, title), body]);
  }

  function pre(text, cls) {
    return h("pre", { class: cls || "raw" }, text === null || text === undefined ? "" : String(text));
  }

  function bulletList(bullets, emptyText) {
    if (!bullets || !bullets.length) return h("p", { class: "muted" }, emptyText || "(none)");
    return h("ol", { class: "bullets", lang: "zh" }, bullets.map((b) => h("li", null, b)));
  }

  function flagList(flags) {
    if (!flags || !flags.length) return h("span", { class: "muted" }, "—");
    return h("span", { class: "flags" }, flags.map((f) => h("span", { class: "flag" }, f)));
  }

  function json(value) {
    return JSON.stringify(value, null, 2);
  }

  // ------------------------------------------------------------------------------------------
  // Sortable table: click a header to sort by it, click again to reverse; aria-sort follows.
  // cols: {label, title, value(row) -> number|string|null, render(row) -> node|string, numeric}

  function compare(a, b) {
    if (typeof a === "number" && typeof b === "number") return a - b;
    return String(a).localeCompare(String(b), undefined, { numeric: true });
  }

  function sortableTable(cols, rows, options) {
    const opts = options || {};
    const tbody = h("tbody");
    const ths = cols.map((col, i) =>
      h(
        "th",
        {
          scope: "col",
          "aria-sort": i === opts.sortedBy ? opts.sortedDir || "ascending" : "none",
          title: col.title,
          class: (col.numeric ? "num " : "") + (col.cls || ""),
          "data-key": col.key,
        },
        h("button", { type: "button", class: "sort" }, col.label)
      )
    );
    let state = { col: opts.sortedBy === undefined ? -1 : opts.sortedBy, dir: opts.sortedDir || "ascending" };

    function draw(ordered) {
      clear(tbody);
      for (const row of ordered) {
        const tr = h("tr", opts.rowClass ? { class: opts.rowClass(row) } : null);
        for (const col of cols) {
          tr.appendChild(h("td", { class: (col.numeric ? "num " : "") + (col.cls || "") }, col.render(row)));
        }
        tbody.appendChild(tr);
      }
    }

    function sortBy(i) {
      const dir = state.col === i && state.dir === "ascending" ? "descending" : "ascending";
      state = { col: i, dir: dir };
      const withValue = [];
      const without = [];
      rows.forEach((row, idx) => {
        const v = cols[i].value(row);
        const missing = v === null || v === undefined || v === "" || (typeof v === "number" && !isFinite(v));
        (missing ? without : withValue).push({ row: row, v: v, idx: idx });
      });
      withValue.sort((a, b) => compare(a.v, b.v) || a.idx - b.idx);
      if (dir === "descending") withValue.reverse();
      draw(withValue.concat(without).map((x) => x.row)); // values that are missing stay last
      ths.forEach((th, j) => th.setAttribute("aria-sort", j === i ? dir : "none"));
    }

    ths.forEach((th, i) => th.addEventListener("click", () => sortBy(i)));
    draw(rows);
    return h("div", { class: "table-wrap" }, h("table", { class: "sortable " + (opts.cls || "") }, [
      h("thead", null, h("tr", null, ths)),
      tbody,
    ]));
  }

  // ------------------------------------------------------------------------------------------
  // index.html

  function metricCell(metric, notes) {
    if (!metric) return "";
    if (metric.unavailable !== undefined) {
      const reason = String(metric.unavailable);
      if (!notes.has(reason)) notes.set(reason, notes.size + 1);
      const no = notes.get(reason);
      return h("span", { class: "na", title: reason }, [
        "n/a",
        h("sup", null, h("a", { href: "#note-" + notes.get(reason) + "-" + notes.scope }, "[" + no + "]")),
      ]);
    }
    const parts = [h("span", { class: "mean" }, fmt(metric.mean, 4))];
    if (isNum(metric.low) && isNum(metric.high)) {
      parts.push(h("span", { class: "ci" }, "[" + fmt(metric.low, 3) + ", " + fmt(metric.high, 3) + "]"));
    }
    return parts;
  }

  function modelCell(row) {
    const marks = [];
    if (row.uses_reference) {
      marks.push(h("span", { class: "mark ref", title: "reads the reference: an upper bound, not a competitor" }, "†"));
    }
    if (row.leader) {
      marks.push(h("span", { class: "mark leader", title: "leader: the best row that does not read the reference" }, "★"));
    } else if (row.indistinguishable) {
      const vs = row.vs_leader || {};
      const p = isNum(vs.p_value) ? "p = " + vs.p_value.toFixed(3) : "p unknown";
      marks.push(
        h("span", { class: "mark tie", title: "not significantly different from the leader (" + p + ")" }, "≈")
      );
    }
    const link = row.page
      ? h("a", { href: row.page, class: "model-link", title: (row.litellm_model || "") + " · run " + row.run_id }, row.model)
      : h("span", { class: "model-link" }, row.model);
    return [link, marks.length ? " " : null, marks, h("div", { class: "sub" }, row.litellm_model || "")];
  }

  // Compact view by default (rank, model, prompt, n, failed, the ranking metric, the compact metrics,
  // cost, latency; on a phone only rank, model and the ranking metric); every column one click away.
  function viewToggle(table, cols) {
    const all = cols.length;
    const button = h("button", { type: "button", class: "view-toggle", "aria-pressed": "false" });
    function show(wide) {
      table.classList.toggle("compact", !wide);
      button.setAttribute("aria-pressed", wide ? "true" : "false");
      clear(button).appendChild(
        document.createTextNode(wide ? "Compact view" : "All columns (" + all + ")")
      );
    }
    button.addEventListener("click", () => show(table.classList.contains("compact")));
    show(false);
    return h("p", { class: "view" }, button);
  }

  function renderIndex(app) {
    const stats = DATA.stats || {};
    const conf = isNum(stats.confidence) ? Math.round(stats.confidence * 100) + "%" : "95%";
    add(app, [
      h("h1", null, "Leaderboard"),
      h("p", { class: "lead" }, [
        "Key-point digests (要点解析) of Chinese AI news, scored per item. Ranked by ",
        h("code", null, label(DATA.rank_by) + " (" + DATA.rank_by + ")"),
        ". Means over scored items with " + conf + " bootstrap intervals; failed items are excluded from means and counted. ",
        "Click a column header to sort; click a model for its run and per-item drill-down. ",
        h("a", { href: "compare.html" }, "Compare two runs side by side."),
      ]),
      h("p", { class: "legend" }, [
        h("span", { class: "mark leader" }, "★"), " leader (best row that does not read the reference)   ",
        h("span", { class: "mark tie" }, "≈"), " not significantly different from the leader   ",
        h("span", { class: "mark ref" }, "†"), " reads the reference (an upper bound, not a competitor)",
      ]),
    ]);
    if (!DATA.datasets.length) add(app, h("p", null, "No finished runs yet: run `harness run`."));
    DATA.datasets.forEach((ds, dsIndex) => {
      const notes = new Map();
      notes.scope = dsIndex;
      const cols = [
        { key: "rank", label: "#", numeric: true, cls: "col-rank", value: (r) => r.rank, render: (r) => String(r.rank ?? "–") },
        { key: "model", label: "model", cls: "col-model", value: (r) => r.model, render: modelCell },
        {
          key: "prompt",
          label: "prompt",
          cls: "col-secondary",
          value: (r) => r.prompt.id + "@" + r.prompt.version,
          render: (r) => [
            r.prompt.id + "@" + r.prompt.version,
            h("div", { class: "sub mono", title: "prompt content hash " + r.prompt.hash }, String(r.prompt.hash || "").slice(0, 8)),
          ],
        },
        { key: "n", label: "n", numeric: true, cls: "col-secondary", title: "scored items", value: (r) => r.n, render: (r) => String(r.n) },
        {
          key: "failed",
          label: "failed",
          numeric: true,
          cls: "col-secondary",
          title: "items whose generation failed (excluded from means)",
          value: (r) => r.failed,
          render: (r) => {
            const classes = Object.keys(r.failures_by_class || {}).map((k) => k + " " + r.failures_by_class[k]);
            return h("span", { title: classes.join(", ") || null }, String(r.failed));
          },
        },
      ];
      for (const c of ds.columns) {
        const rankBy = c.key === DATA.rank_by;
        cols.push({
          key: c.key,
          label: c.label,
          numeric: true,
          // The ranking metric shows in every view; the compact ones hide on a phone; the rest are
          // one click away ("all columns").
          cls: "metric " + (rankBy ? "rank-by" : COMPACT.has(c.key) ? "col-secondary" : "col-secondary col-extra"),
          title: c.key + (c.key === DATA.rank_by ? " (ranking metric)" : "") + ": mean [" + conf + " interval]",
          value: (r) => (r.metrics[c.key] && isNum(r.metrics[c.key].mean) ? r.metrics[c.key].mean : null),
          render: (r) => metricCell(r.metrics[c.key], notes),
        });
      }
      cols.push(
        {
          key: "cost",
          label: "$ / 100 items",
          numeric: true,
          cls: "col-secondary",
          title: "generation cost per 100 items, USD (unknown when any call's price is unknown)",
          value: (r) => r.generation.cost_per_100_items_usd,
          render: (r) =>
            isNum(r.generation.cost_per_100_items_usd)
              ? fmt(r.generation.cost_per_100_items_usd, 4)
              : h("span", { class: "muted", title: "a price is unknown for at least one call" }, "unknown"),
        },
        {
          key: "latency",
          label: "latency p50 / p95 s",
          numeric: true,
          cls: "col-secondary",
          title: "per-call latency in seconds (sorts on p50)",
          value: (r) => r.generation.latency_p50_s,
          render: (r) => fmt(r.generation.latency_p50_s, 2) + " / " + fmt(r.generation.latency_p95_s, 2),
        },
        {
          key: "tokens",
          label: "tokens in / out",
          numeric: true,
          cls: "col-secondary col-extra",
          title: "mean prompt / completion tokens per call (sorts on prompt tokens)",
          value: (r) => r.generation.prompt_tokens_mean,
          render: (r) => fmt(r.generation.prompt_tokens_mean, 0) + " / " + fmt(r.generation.completion_tokens_mean, 0),
        }
      );
      const sec = h("section", { class: "dataset", id: "dataset-" + dsIndex }, [
        h("h2", null, ["Dataset ", h("span", { class: "ds-name" }, ds.name)]),
        h("p", { class: "sub" }, "ROUGE tokenizer: " + (ds.rouge_tokenizer || "?") + ", clipped counts."),
      ]);
      const board = sortableTable(cols, ds.rows, {
        cls: "board compact",
        sortedBy: 0,
        sortedDir: "ascending",
        rowClass: (r) => (r.uses_reference ? "uses-ref" : r.leader ? "leader" : ""),
      });
      sec.appendChild(viewToggle(board.querySelector("table"), cols));
      sec.appendChild(board);
      if (notes.size) {
        const list = h("ol", { class: "notes" });
        notes.forEach((no, reason) => list.appendChild(h("li", { id: "note-" + no + "-" + dsIndex, value: no }, reason)));
        add(sec, [h("p", { class: "sub" }, "n/a: metric not computed (so not 0), because:"), list]);
      }
      const figs = h("div", { class: "plots" });
      for (const plot of ds.plots) {
        const img = h("img", { src: plot.src, alt: plot.alt, loading: "lazy" });
        const fig = h("figure", null, [img, h("figcaption", null, plot.alt)]);
        img.addEventListener("error", () => {
          fig.replaceChild(h("p", { class: "muted" }, "Plot not built yet: " + plot.src), img);
        });
        figs.appendChild(fig);
      }
      add(sec, [h("h3", null, "Plots"), figs]);
      app.appendChild(sec);
    });
    const dl = h("dl", { class: "meta" });
    const settings = [
      ["interval", conf + " bootstrap over items, " + (stats.method || "?") + " method"],
      ["resamples", stats.n_resamples],
      ["seed", stats.seed],
      ["test vs leader", "paired " + (stats.test || "?") + " test on " + DATA.rank_by + ", alpha = " + stats.alpha],
      ["≈ means", "p ≥ " + stats.alpha + " against the leader"],
      ["generated", DATA.generated_at],
    ];
    for (const [k, v] of settings) add(dl, [h("dt", null, k), h("dd", null, v === undefined ? "?" : String(v))]);
    app.appendChild(h("section", { class: "stats", id: "stats" }, [h("h2", null, "Statistics settings"), dl]));
  }

  // ------------------------------------------------------------------------------------------
  // runs/<run>.html

  function metaList(pairs) {
    const dl = h("dl", { class: "meta" });
    for (const [k, v] of pairs) {
      if (v === null || v === undefined || v === "") continue;
      add(dl, [h("dt", null, k), h("dd", null, v)]);
    }
    return dl;
  }

  function highlighted(text, ranges) {
    // Text nodes and <mark> elements only; overlapping quotes split into segments.
    const frag = document.createDocumentFragment();
    const cuts = new Set([0, text.length]);
    for (const r of ranges) {
      if (r.start >= 0 && r.end <= text.length && r.start < r.end) {
        cuts.add(r.start);
        cuts.add(r.end);
      }
    }
    const points = Array.from(cuts).sort((a, b) => a - b);
    for (let i = 0; i < points.length - 1; i++) {
      const a = points[i];
      const b = points[i + 1];
      const cover = ranges.filter((r) => r.start <= a && r.end >= b);
      const seg = text.slice(a, b);
      if (!cover.length) {
        frag.appendChild(document.createTextNode(seg));
      } else {
        const nos = cover.map((r) => r.no);
        const bad = cover.some((r) => r.counted_as === "contradicted");
        frag.appendChild(
          h("mark", { class: bad ? "contradicted" : "supported", "data-claims": nos.join(","), title: "claim " + nos.join(", ") }, seg)
        );
      }
      const ending = ranges.filter((r) => r.end === b && r.start < r.end);
      if (ending.length) frag.appendChild(h("sup", { class: "qref" }, "[" + ending.map((r) => r.no).join(",") + "]"));
    }
    return frag;
  }

  function claimsTable(claims) {
    const rows = claims.map((c) => {
      let found;
      if (c.quote_found === null || c.quote_found === undefined) found = h("span", { class: "muted" }, "no quote");
      else if (!c.quote_found) found = h("span", { class: "bad" }, "not found in source");
      else if (c.loc) found = "highlighted [" + c.no + "]" + (c.match_ratio < 1 ? " (fuzzy " + fmt(c.match_ratio, 2) + ")" : "");
      else found = h("span", { class: "muted" }, "found by the judge, not located in the current source");
      return h("tr", { class: "verdict-" + c.counted_as }, [
        h("td", { class: "num" }, String(c.no)),
        h("td", { class: "num" }, isNum(c.bullet_index) ? String(c.bullet_index + 1) : "?"),
        h("td", { lang: "zh" }, c.claim),
        h("td", null, [h("span", { class: "verdict" }, c.verdict), c.counted_as === "unverified" ? h("div", { class: "sub", title: "supported, but its quote was not found in the source" }, "counted as unverified") : null]),
        h("td", { lang: "zh", class: "quote" }, c.quote || ""),
        h("td", null, found),
      ]);
    });
    return h("div", { class: "table-wrap" }, h("table", { class: "claims" }, [
      h("thead", null, h("tr", null, ["#", "bullet", "claim", "verdict", "evidence quote", "in source"].map((t) => h("th", null, t)))),
      h("tbody", null, rows),
    ]));
  }

  function coverageTable(keypoints) {
    return h("div", { class: "table-wrap" }, h("table", { class: "coverage" }, [
      h("thead", null, h("tr", null, ["reference key point", "status", "matched bullet", "reason"].map((t) => h("th", null, t)))),
      h("tbody", null, keypoints.map((k) =>
        h("tr", { class: "status-" + k.status }, [
          h("td", { lang: "zh" }, k.reference || "#" + (k.index + 1)),
          h("td", null, k.status),
          h("td", { class: "num" }, isNum(k.matched_bullet_index) ? String(k.matched_bullet_index + 1) : "—"),
          h("td", { lang: "zh" }, k.reason || ""),
        ])
      )),
    ]));
  }

  function scoresTable(item, keys) {
    const rows = keys.filter((k) => k in item.scores).map((k) =>
      h("tr", null, [h("th", { scope: "row" }, label(k)), h("td", { class: "mono" }, k), h("td", { class: "num" }, fmt(item.scores[k], 4))])
    );
    for (const name of Object.keys(item.unavailable || {})) {
      const reason = String(item.unavailable[name]);
      rows.push(h("tr", { class: "na-row" }, [
        h("th", { scope: "row" }, name),
        h("td", { class: "mono" }, "unavailable"),
        h("td", { class: "na", title: reason }, "n/a (see Unavailable metrics above)"),
      ]));
    }
    for (const name of Object.keys(item.metric_errors || {})) {
      rows.push(h("tr", { class: "na-row" }, [h("th", { scope: "row" }, name), h("td", { class: "mono" }, "error"), h("td", null, json(item.metric_errors[name]))]));
    }
    return h("table", { class: "scores" }, h("tbody", null, rows));
  }

  function renderItem(panel, item) {
    clear(panel);
    const run = DATA.run;
    const url = item.url ? safeUrl(item.url) : null;
    const compareHref =
      "../compare.html#" + new URLSearchParams({ dataset: DATA.dataset, a: DATA.run_key, item: item.id }).toString();
    add(panel, [
      h("h2", null, ["Item ", h("span", { class: "mono item-id" }, item.id), item.title ? h("span", { lang: "zh" }, " · " + item.title) : null]),
      h("p", { class: "sub" }, [
        item.date ? item.date + " · " : "",
        item.section ? item.section + " · " : "",
        url ? h("a", { href: url, rel: "noopener noreferrer nofollow" }, "original article") : item.url ? "url: " + item.url : "",
        " · ",
        h("a", { href: compareHref }, "compare with another run"),
      ]),
    ]);
    if (item.error) {
      add(panel, h("div", { class: "error" }, [h("strong", null, "Generation failed: "), (item.error.type || "") + ": " + (item.error.message || json(item.error))]));
    }
    const ranges = { title: [], source: [] };
    for (const c of item.claims) {
      if (c.loc && ranges[c.loc.in]) ranges[c.loc.in].push({ start: c.loc.start, end: c.loc.end, no: c.no, counted_as: c.counted_as });
    }
    let sourceBody;
    if (item.source === null || item.source === undefined) {
      sourceBody = h("p", { class: "muted" }, "Source not available (see the note at the top of the page).");
    } else {
      sourceBody = h("div", { class: "article", lang: "zh" }, [
        h("div", { class: "article-title" }, highlighted(item.title || "", ranges.title)),
        h("div", { class: "article-body" }, highlighted(item.source, ranges.source)),
      ]);
    }
    const left = h("div", { class: "col" }, [section("Source article", sourceBody, "block source")]);
    const right = h("div", { class: "col" }, [
      section("Reference", item.reference ? bulletList(item.reference) : h("p", { class: "muted" }, "Reference not available."), "block reference"),
      section("Generated bullets", bulletList(item.bullets, item.error ? "(no output: the call failed)" : "(no bullets parsed)"), "block generated"),
      section("Raw reply", item.raw === null || item.raw === undefined ? h("p", { class: "muted" }, "(none)") : pre(item.raw), "block raw-reply"),
    ]);
    add(panel, h("div", { class: "grid2" }, [left, right]));
    const allKeys = DATA.all_score_keys.filter((k) => k in item.scores);
    add(panel, h("div", { class: "grid2" }, [
      h("div", { class: "col" }, section("Scores", scoresTable(item, allKeys), "block scores")),
      h("div", { class: "col" }, [
        section("Flags", h("div", null, [flagList(item.flags), item.parse_flags.length ? h("div", { class: "sub" }, ["parse: ", flagList(item.parse_flags)]) : null]), "block"),
        section("Call", metaList(Object.keys(item.call).map((k) => [k, item.call[k] === null ? null : typeof item.call[k] === "object" ? json(item.call[k]) : String(item.call[k])])), "block"),
      ]),
    ]));
    const judge = item.judge || {};
    const judgeParts = [];
    if (item.claims.length) judgeParts.push(h("h4", null, "Claims (factuality against the source)"), claimsTable(item.claims));
    else if (judge.claims && judge.claims.skipped) judgeParts.push(h("p", { class: "muted" }, "Claims: " + judge.claims.skipped));
    if (judge.coverage && judge.coverage.keypoints) judgeParts.push(h("h4", null, "Key-point coverage (reference vs generated)"), coverageTable(judge.coverage.keypoints));
    else if (judge.coverage && judge.coverage.skipped) judgeParts.push(h("p", { class: "muted" }, "Coverage: " + judge.coverage.skipped));
    if (judge.errors) judgeParts.push(h("h4", null, "Judge errors"), pre(json(judge.errors)));
    if (!judgeParts.length) {
      judgeParts.push(h("p", { class: "muted" }, item.judge ? "No verdicts recorded." : "No judge ran for this item" + (run.unavailable.judge ? ": " + run.unavailable.judge : ".")));
    }
    add(panel, section("Judge verdicts", judgeParts, "block judge"));
    if (Object.keys(item.evidence).length) add(panel, section("Other evidence", pre(json(item.evidence)), "block"));
  }

  function renderRun(app) {
    const run = DATA.run;
    const m = run.model || {};
    const p = run.prompt || {};
    const ds = run.dataset || {};
    const marks = [];
    if (run.uses_reference) marks.push(h("span", { class: "mark ref", title: "reads the reference" }, " †"));
    if (run.leader) marks.push(h("span", { class: "mark leader", title: "leader" }, " ★"));
    add(app, [
      h("p", { class: "crumbs" }, [h("a", { href: "../index.html" }, "Leaderboard"), " › " + DATA.dataset + " › #" + (run.rank ?? "–")]),
      h("h1", null, [m.name || "?", marks]),
      h("p", { class: "sub mono" }, "run " + run.run_id),
    ]);
    for (const note of DATA.notes) add(app, h("div", { class: "note" }, note));
    for (const w of run.warnings || []) add(app, h("div", { class: "note" }, "warning: " + w));
    const versions = Object.keys(run.metric_versions).map((k) => k + ": " + (run.metric_versions[k] || "?")).join(", ");
    const judge = run.judge ? (run.judge.name ? run.judge.name + " (" + run.judge.model + ")" : json(run.judge)) : "none";
    const gen = run.generation || {};
    add(app, h("div", { class: "grid2" }, [
      h("div", { class: "col" }, section("Run", metaList([
        ["model", m.name],
        ["litellm model", m.litellm_model],
        ["api base", m.api_base],
        ["params", m.params ? json(m.params) : null],
        ["prompt", (p.id || "?") + "@" + (p.version || "?")],
        ["prompt hash", p.hash],
        ["dataset", ds.name + (ds.split ? " (" + ds.split + ")" : "")],
        ["dataset fingerprint", ds.fingerprint],
        ["metric versions", versions],
        ["judge", judge],
        ["seed", run.seed === undefined ? null : String(run.seed)],
        ["finished", run.finished_at],
        ["wall time s", isNum(run.wall_time_s) ? run.wall_time_s.toFixed(1) : null],
        ["resumed from", run.resumed_from],
      ]), "block run-meta")),
      h("div", { class: "col" }, [
        section("Result", metaList([
          ["rank", "#" + (run.rank ?? "–")],
          ["items", String(run.n_items === undefined ? "?" : run.n_items)],
          ["scored", String(run.n)],
          ["failed", String(run.failed)],
          ["$ / 100 items", isNum(gen.cost_per_100_items_usd) ? fmt(gen.cost_per_100_items_usd, 4) : "unknown"],
          ["latency p50 / p95 s", fmt(gen.latency_p50_s, 2) + " / " + fmt(gen.latency_p95_s, 2)],
          ["tokens in / out (mean)", fmt(gen.prompt_tokens_mean, 0) + " / " + fmt(gen.completion_tokens_mean, 0)],
          ["cache hits", isNum(gen.cache_hits) ? String(gen.cache_hits) : null],
        ]), "block"),
        Object.keys(run.unavailable).length
          ? section("Unavailable metrics", metaList(Object.keys(run.unavailable).map((k) => [k, run.unavailable[k]])), "block")
          : null,
        h("details", { class: "block" }, [h("summary", null, "Metric settings"), pre(json(run.metric_settings))]),
      ]),
    ]));
    const byId = new Map(DATA.items.map((it) => [it.id, it]));
    const cols = [
      {
        key: "item",
        label: "item",
        cls: "col-item",
        value: (it) => it.id,
        render: (it) => h("a", { href: "#" + new URLSearchParams({ item: it.id }).toString(), class: "item-link mono" }, it.id),
      },
      { key: "title", label: "title", value: (it) => it.title, render: (it) => h("span", { lang: "zh" }, it.title || "—") },
    ];
    for (const k of DATA.score_keys) {
      cols.push({ key: k, label: label(k), numeric: true, value: (it) => it.scores[k], render: (it) => fmt(it.scores[k], 4) });
    }
    cols.push({
      key: "flags",
      label: "flags",
      value: (it) => (it.error ? "failed " : "") + it.flags.join(" "),
      render: (it) => [it.error ? h("span", { class: "flag bad" }, "failed: " + (it.error.type || "error")) : null, " ", flagList(it.flags)],
    });
    add(app, [h("h2", null, "Items (" + DATA.items.length + ")"), h("p", { class: "sub" }, "Click an item for its drill-down.")]);
    app.appendChild(sortableTable(cols, DATA.items, { cls: "items" }));
    const panel = h("section", { id: "drill", class: "drill", "aria-live": "polite" });
    add(panel, h("p", { class: "muted" }, "Select an item above."));
    app.appendChild(panel);

    function fromHash(scroll) {
      const id = hashParams().get("item");
      const item = id === null ? null : byId.get(id);
      if (!item) return;
      renderItem(panel, item);
      if (scroll) panel.scrollIntoView({ block: "start" });
    }
    window.addEventListener("hashchange", () => fromHash(true));
    fromHash(true);
  }

  // ------------------------------------------------------------------------------------------
  // compare.html

  function renderCompare(app) {
    add(app, [
      h("h1", null, "Compare two runs"),
      h("p", { class: "lead" }, "Two runs of one dataset on the same item, next to the reference."),
    ]);
    if (!DATA.datasets.length) {
      add(app, h("p", null, "No runs."));
      return;
    }
    const params = hashParams();
    const controls = h("form", { class: "controls", onsubmit: (e) => e.preventDefault() });
    const dsSelect = h("select", { id: "dataset-select", name: "dataset" });
    const aSelect = h("select", { id: "run-a", name: "a" });
    const bSelect = h("select", { id: "run-b", name: "b" });
    const itemSelect = h("select", { id: "item-select", name: "item" });
    DATA.datasets.forEach((ds, i) => dsSelect.appendChild(h("option", { value: String(i) }, ds.name)));
    const dsWanted = DATA.datasets.findIndex((ds) => ds.name === params.get("dataset"));
    dsSelect.value = String(dsWanted >= 0 ? dsWanted : 0);
    add(controls, [
      h("label", { class: DATA.datasets.length > 1 ? null : "hidden" }, ["dataset ", dsSelect]),
      h("label", null, ["run A ", aSelect]),
      h("label", null, ["run B ", bSelect]),
      h("label", null, ["item ", itemSelect]),
    ]);
    const out = h("div", { id: "compare-out" });
    add(app, [controls, out]);

    function fill(select, options, wanted, fallback) {
      clear(select);
      for (const o of options) select.appendChild(h("option", { value: o.value }, o.text));
      const values = options.map((o) => o.value);
      select.value = values.includes(wanted) ? wanted : values[Math.min(fallback, values.length - 1)] || "";
    }

    function loadDataset(wanted) {
      const ds = DATA.datasets[Number(dsSelect.value)];
      const runs = ds.runs.map((r) => ({ value: r.key, text: r.label + (r.uses_reference ? " †" : "") }));
      fill(aSelect, runs, wanted.a, 0);
      fill(bSelect, runs, wanted.b, 1);
      fill(itemSelect, ds.items.map((it) => ({ value: it.id, text: it.id + (it.title ? " — " + it.title : "") })), wanted.item, 0);
    }

    function runColumn(ds, run, itemId, other) {
      if (!run) return h("div", { class: "col" }, h("p", { class: "muted" }, "No run selected."));
      const row = run.rows[itemId];
      const head = h("h3", null, h("a", { href: run.page + "#" + new URLSearchParams({ item: itemId }).toString() }, run.label));
      if (!row) return h("div", { class: "col run-col" }, [head, h("p", { class: "muted" }, "This run has no row for this item.")]);
      const otherRow = other ? other.rows[itemId] : null;
      const scoreRows = ds.score_keys.filter((k) => k in row.scores).map((k) => {
        const mine = row.scores[k];
        const theirs = otherRow ? otherRow.scores[k] : undefined;
        const lower = DIRECTIONS[k] === "lower";
        const better = isNum(mine) && isNum(theirs) && (lower ? mine < theirs : mine > theirs);
        return h("tr", null, [h("th", { scope: "row" }, label(k)), h("td", { class: "num" + (better ? " better" : "") }, fmt(mine, 4))]);
      });
      return h("div", { class: "col run-col" }, [
        head,
        row.error ? h("div", { class: "error" }, "Generation failed: " + (row.error.type || "") + ": " + (row.error.message || "")) : null,
        section("Generated bullets", bulletList(row.bullets, "(no bullets)"), "block generated"),
        section("Scores", h("table", { class: "scores" }, h("tbody", null, scoreRows)), "block"),
        section("Flags", flagList(row.flags), "block"),
      ]);
    }

    function draw() {
      const ds = DATA.datasets[Number(dsSelect.value)];
      const runA = ds.runs.find((r) => r.key === aSelect.value);
      const runB = ds.runs.find((r) => r.key === bSelect.value);
      const item = ds.items.find((it) => it.id === itemSelect.value);
      clear(out);
      if (!item) {
        add(out, h("p", { class: "muted" }, "No item."));
        return;
      }
      const refCol = h("div", { class: "col ref-col" }, [
        h("h3", null, ["Reference · ", h("span", { class: "mono" }, item.id)]),
        item.title ? h("p", { class: "sub", lang: "zh" }, item.title) : null,
        item.reference ? bulletList(item.reference) : h("p", { class: "muted" }, "Reference not available (dataset not loaded)."),
      ]);
      add(out, h("div", { class: "grid3" }, [refCol, runColumn(ds, runA, item.id, runB), runColumn(ds, runB, item.id, runA)]));
      const state = new URLSearchParams({ dataset: ds.name, a: aSelect.value, b: bSelect.value, item: item.id });
      history.replaceState(null, "", "#" + state.toString());
    }

    loadDataset({ a: params.get("a"), b: params.get("b"), item: params.get("item") });
    dsSelect.addEventListener("change", () => {
      loadDataset({});
      draw();
    });
    for (const s of [aSelect, bSelect, itemSelect]) s.addEventListener("change", draw);
    draw();
  }

  const app = document.getElementById("app");
  clear(app);
  ({ index: renderIndex, run: renderRun, compare: renderCompare })[DATA.page](app);
})();
