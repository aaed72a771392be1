/* evalh leaderboard: renders the embedded JSON. Every string from the data is untrusted, so text goes
   into the page only through textContent (and plain attributes such as title), never through innerHTML. */
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("report-data").textContent);
  var SVGNS = "http://www.w3.org/2000/svg";
  var PAGE = 25;
  var models = DATA.models;
  var byKey = {};
  models.forEach(function (m) { byKey[m.key] = m; });

  /* Text goes into a <bdi> (and into tooltips between U+2068 and U+2069), so right-to-left or override
     characters in data stay inside their own string instead of reordering the text around it. */
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text === undefined || text === null) return node;
    if (tag === "option" || tag === "bdi") node.textContent = String(text);
    else node.append(el("bdi", null, text));
    return node;
  }
  /* like el(), with line-break opportunities (<wbr>) after _ / : . so long names wrap at their joints
     instead of widening a column or breaking mid-word */
  function breakable(tag, cls, text) {
    var node = el(tag, cls), inner = el("bdi");
    String(text).split(/([_\/:.])/).forEach(function (part, i) {  /* odd i: a captured joint */
      if (part) inner.append(part);
      if (i % 2) inner.append(document.createElement("wbr"));
    });
    node.append(inner);
    return node;
  }
  function iso(text) { return "\u2068" + String(text) + "\u2069"; }
  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVGNS, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    if (text !== undefined) node.textContent = String(text);
    return node;
  }
  function fmt(v) {
    if (v === null || v === undefined) return "–";
    return Math.abs(v) < 2 ? v.toFixed(4) : v.toFixed(2);
  }
  function fmtParams(p) {
    if (!p) return "–";
    var units = [[1e9, "B"], [1e6, "M"], [1e3, "K"]];
    for (var i = 0; i < units.length; i++) if (p >= units[i][0]) return String(parseFloat((p / units[i][0]).toPrecision(3))) + units[i][1];
    return String(p);
  }
  function cell(task, metric, key) {
    var t = DATA.cells[task];
    return t && t[metric] && t[metric][key] ? t[metric][key] : null;
  }
  /* a metric's declared semantics: [range low, range high, higher is better, ideal value or null] */
  function semantics(task, metric) {
    var t = DATA.tasks.filter(function (x) { return x.name === task; })[0];
    return (t && t.semantics[metric]) || [null, null, true, null];
  }
  /* larger is better: the value, its negative, or minus its distance to the ideal */
  function goodness(task, metric, v) {
    var s = semantics(task, metric);
    if (s[3] !== null) return -Math.abs(v - s[3]);
    return s[2] ? v : -v;
  }
  function marker(task, metric) {
    var s = semantics(task, metric);
    if (s[3] !== null) return " →" + s[3];
    return s[2] ? "" : " ↓";
  }
  function standing(task, metric, key) {
    var t = DATA.tasks.filter(function (x) { return x.name === task; })[0];
    return t && t.standing[metric] ? t.standing[metric][key] || null : null;
  }

  /* ---- leaderboard table ---------------------------------------------------------------------- */
  var columns = [];
  DATA.tasks.forEach(function (t) { t.metrics.forEach(function (m) { columns.push({ task: t.name, metric: m }); }); });
  var AVG = "avg";
  var HAS_AVG = DATA.average.columns.length > 0;
  var sortState = { col: -1, dir: 1 };  /* col: -1 parameter order, AVG the average, else a columns index */
  var selected = { task: null, metric: null, model: null };  /* the cell the URL hash or a click chose */

  /* a model's number in a sortable column, and how good it is (larger is better) */
  function valueAt(col, key) {
    if (col === AVG) return DATA.average.values[key];
    var x = cell(columns[col].task, columns[col].metric, key);
    return x ? x[0] : null;
  }
  function goodnessAt(col, v) { return col === AVG ? v : goodness(columns[col].task, columns[col].metric, v); }

  function sortedModels() {
    var list = models.slice();
    if (sortState.col === -1) return list;
    list.sort(function (a, b) {
      var va = valueAt(sortState.col, a.key), vb = valueAt(sortState.col, b.key);
      if ((va === null || va === undefined) && (vb === null || vb === undefined)) return 0;
      if (va === null || va === undefined) return 1;
      if (vb === null || vb === undefined) return -1;
      return sortState.dir * (goodnessAt(sortState.col, vb) - goodnessAt(sortState.col, va));
    });
    return list;
  }

  function sortHeader(th, col) {
    th.setAttribute("data-col", String(col));
    if (sortState.col === col) th.className = sortState.dir > 0 ? "sorted-asc" : "sorted-desc";
    th.addEventListener("click", function () {
      sortState = sortState.col === col ? { col: col, dir: -sortState.dir } : { col: col, dir: 1 };  /* best first */
      renderBoard();
    });
  }

  function scoreCell(c, i, m) {
    var x = cell(c.task, c.metric, m.key);
    var mark = x ? standing(c.task, c.metric, m.key) : null;  /* best, or tied with it by a paired test */
    var td = el("td", mark, x ? fmt(x[0]) : "–");
    td.setAttribute("data-col", String(i));
    td.setAttribute("data-task", c.task);
    td.setAttribute("data-metric", c.metric);
    if (mark === "tied") td.append(el("span", "tie", " ≈"));
    if (x && x[1] !== null && x[2] !== null) {
      td.append(el("span", "ci", "[" + fmt(x[1]) + ", " + fmt(x[2]) + "]"));
      td.title = iso(c.task) + " " + iso(c.metric) + ": 95% CI [" + fmt(x[1]) + ", " + fmt(x[2]) + "], n = " + x[3];
    }
    if (selected.task === c.task && selected.metric === c.metric && selected.model === m.key)
      td.classList.add("selected");
    if (DATA.samples[c.task] && DATA.samples[c.task].out[m.key]) {  /* a way into this model's samples */
      td.classList.add("open");
      td.tabIndex = 0;
      var open = function () { openCell(c.task, c.metric, m.key); };
      td.addEventListener("click", open);
      td.addEventListener("keydown", function (e) { if (e.key === "Enter") open(); });
    }
    return td;
  }

  function renderBoard() {
    var table = document.getElementById("board");
    table.replaceChildren();
    var head = el("tr");
    var hm = el("th", "model", "Model");
    var hp = el("th", null, "Params");
    hp.setAttribute("data-col", "params");
    hp.addEventListener("click", function () { sortState = { col: -1, dir: 1 }; renderBoard(); });
    if (sortState.col < 0) hp.className = "sorted-asc";
    head.append(hm, hp);
    if (HAS_AVG) {  /* only where some metric can be averaged */
      var ha = el("th", null, "Average");
      ha.append(el("span", "metric", "scaled 0–1"));
      ha.title = "mean of the primary metrics listed below the table, each placed on its declared range";
      sortHeader(ha, AVG);
      ha.classList.add("average");
      head.append(ha);
    }
    columns.forEach(function (c, i) {
      var th = el("th");
      var metric = el("span", "metric", c.metric + marker(c.task, c.metric));
      metric.setAttribute("data-metric", c.metric);
      th.append(breakable("span", "task", c.task), metric);
      sortHeader(th, i);
      head.append(th);
    });
    var thead = el("thead"); thead.append(head);
    var tbody = el("tbody");
    sortedModels().forEach(function (m) {
      var tr = el("tr");
      tr.setAttribute("data-model", m.key);
      if (selected.model === m.key) tr.className = "selected-row";
      var avg = DATA.average.values[m.key];
      tr.append(breakable("td", "model", m.label), el("td", "params", fmtParams(m.params)));
      if (HAS_AVG) tr.append(el("td", "average", avg === null || avg === undefined ? "–" : fmt(avg)));
      columns.forEach(function (c, i) { tr.append(scoreCell(c, i, m)); });
      tbody.append(tr);
    });
    table.append(thead, tbody);
  }

  function renderAverageNote() {
    var a = DATA.average, note = document.getElementById("average-note");
    var names = function (list) { return list.map(function (c) { return c[0] + " " + c[1]; }).join(", "); };
    note.textContent = a.columns.length ?
      "Average: the mean of " + names(a.columns) + ", each placed on its declared range (0 its worst end, " +
      "1 its best); a model missing one of them has none." : "No average column: no metric here has a bounded range and a direction.";
    if (a.skipped.length) note.textContent += " Not averaged: " + a.skipped.map(function (s) {
      return s[0] + " " + s[1] + " (" + s[2] + ")"; }).join(", ") + ".";
  }

  function renderWarnings() {
    var box = document.getElementById("data-warnings");
    if (!DATA.warnings.length) return;
    var list = el("ul"), more = el("details"), rest = el("ul"), FIRST = 3;
    DATA.warnings.forEach(function (w, i) { (i < FIRST ? list : rest).append(el("li", null, w)); });
    box.append(el("strong", null, "These runs were not over the same data; their scores side by side are not " +
      "comparable (evalh compare refuses such pairs):"), list);
    if (DATA.warnings.length > FIRST) {  /* one line per task: the first few say what, the rest on demand */
      more.append(el("summary", null, (DATA.warnings.length - FIRST) + " more"), rest);
      box.append(more);
    }
    box.hidden = false;
  }

  /* ---- exports: the table as shown (its order), numbers as embedded (4 decimals) with CIs and n -- */
  function exportTable() {
    var header = HAS_AVG ? ["Model", "Params", "Average"] : ["Model", "Params"], rows = [];
    columns.forEach(function (c) {
      var name = c.task + " " + c.metric;
      header.push(name, name + " ci_low", name + " ci_high", name + " n");
    });
    sortedModels().forEach(function (m) {
      var avg = DATA.average.values[m.key];
      var row = [m.label, m.params || null];
      if (HAS_AVG) row.push(avg === undefined ? null : avg);
      columns.forEach(function (c) {
        var x = cell(c.task, c.metric, m.key) || [null, null, null, null];
        row.push(x[0], x[1], x[2], x[3]);
      });
      rows.push(row);
    });
    return { header: header, rows: rows };
  }
  /* a CSV field; text that a spreadsheet would run as a formula (= + - @ first) gets a leading ' */
  function csvField(v) {
    if (v === null || v === undefined) return "";
    if (typeof v === "number") return String(v);
    var s = String(v);
    if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
    return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }
  function download(name, type, text) {
    var a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([text], { type: type }));
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(a.href); }, 10000);
  }
  function setupExports() {
    document.getElementById("export-csv").addEventListener("click", function () {
      var t = exportTable();
      var lines = [t.header].concat(t.rows).map(function (r) { return r.map(csvField).join(","); });
      download("leaderboard.csv", "text/csv", lines.join("\r\n") + "\r\n");
    });
    document.getElementById("export-json").addEventListener("click", function () {
      var t = exportTable();
      var declared = columns.map(function (c) {
        var s = semantics(c.task, c.metric);
        return { task: c.task, metric: c.metric, range: [s[0], s[1]], higher_is_better: s[2], ideal: s[3] };
      });
      download("leaderboard.json", "application/json", JSON.stringify({
        title: DATA.title, generated_at: DATA.generated_at, evalh_version: DATA.evalh_version, columns: t.header,
        rows: t.rows, metrics: declared, average: { columns: DATA.average.columns, skipped: DATA.average.skipped },
        warnings: DATA.warnings }, null, 1));
    });
  }

  /* ---- deep links: #task=T&metric=M&model=LABEL&item=ID selects a cell and opens its samples ------- */
  function linkFor(task, metric, key) {
    var p = new URLSearchParams();
    p.set("task", task);
    if (metric) p.set("metric", metric);
    if (key) p.set("model", byKey[key].label);
    return "#" + p.toString();
  }
  /* Select a cell (any part may be null), mark it in the table, open the task's samples and scroll there. */
  function select(task, metric, key, item) {
    selected = { task: task, metric: metric, model: key };
    renderBoard();
    if (task) showSamples(task, item || "");
    var target = task ? document.getElementById("samples") : document.querySelector("#board tr.selected-row");
    if (target) target.scrollIntoView();
  }
  var shownHash = null;  /* the hash the page already shows, so its own hashchange does not redo the work */
  /* Only names that exist in the data are used; anything else in the hash is ignored. */
  function applyHash() {
    if (location.hash === shownHash) return;
    shownHash = location.hash;
    var hash = location.hash.slice(1);
    if (hash.indexOf("=") < 0) return;  /* a plain section anchor */
    var p = new URLSearchParams(hash);
    var task = DATA.tasks.filter(function (t) { return t.name === p.get("task"); })[0] || null;
    var model = models.filter(function (m) { return m.label === p.get("model"); })[0] || null;
    if (!task && !model) return;
    var metric = task && task.metrics.indexOf(p.get("metric")) >= 0 ? p.get("metric") : (task ? task.primary : null);
    select(task ? task.name : null, metric, model ? model.key : null, p.get("item"));
  }
  function openCell(task, metric, key) {
    select(task, metric, key, "");
    location.hash = linkFor(task, metric, key);  /* a history entry: Back returns to the previous cell */
    shownHash = location.hash;
  }

  /* ---- score vs parameter count charts --------------------------------------------------------- */
  function niceTicks(lo, hi) {
    var raw = (hi - lo) / 4, mag = Math.pow(10, Math.floor(Math.log10(raw))), step = mag;
    [1, 2, 2.5, 5, 10].some(function (f) { step = f * mag; return step >= raw; });
    var out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) out.push(Math.round(v / step) * step);
    return out;
  }
  function chart(task, metric) {
    var W = 340, H = 230, L = 48, R = 12, T = 12, B = 36;
    var pts = models.map(function (m) { return { m: m, c: cell(task, metric, m.key) }; })
      .filter(function (p) { return p.m.params && p.c && p.c[0] !== null; });
    var box = el("div", "chart");
    box.setAttribute("data-task", task);
    var h3 = el("h3"); h3.append(el("bdi", null, task), " · ", el("bdi", null, metric)); box.append(h3);
    if (!pts.length) { box.append(el("p", "muted", "no model with a known parameter count")); return box; }
    var xs = pts.map(function (p) { return Math.log10(p.m.params); });
    var ys = [];
    pts.forEach(function (p) { ys.push(p.c[0]); if (p.c[1] !== null) ys.push(p.c[1]); if (p.c[2] !== null) ys.push(p.c[2]); });
    var fitted = DATA.trends[task + "\u001f" + metric];
    if (fitted) fitted[3].forEach(function (p) { if (p[1] !== null) ys.push(p[1], p[2]); });
    var x0 = Math.floor(Math.min.apply(null, xs) - 0.15), x1 = Math.ceil(Math.max.apply(null, xs) + 0.15);
    var y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
    if (y1 - y0 < 1e-9) { y0 -= 0.5; y1 += 0.5; }
    var pad = (y1 - y0) * 0.08; y0 -= pad; y1 += pad;
    function X(lx) { return L + (lx - x0) / (x1 - x0) * (W - L - R); }
    function Y(v) { return T + (y1 - v) / (y1 - y0) * (H - T - B); }
    var g = svg("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H, role: "img" });
    g.append(svg("title", {}, iso(task) + " " + iso(metric) + " against parameter count"));
    for (var d = x0; d <= x1; d++) {
      g.append(svg("line", { x1: X(d), x2: X(d), y1: T, y2: H - B, "class": "gridline" }));
      g.append(svg("text", { x: X(d), y: H - B + 14, "text-anchor": "middle" }, fmtParams(Math.pow(10, d))));
    }
    niceTicks(y0, y1).forEach(function (v) {
      g.append(svg("line", { x1: L, x2: W - R, y1: Y(v), y2: Y(v), "class": "gridline" }));
      g.append(svg("text", { x: L - 4, y: Y(v) + 3, "text-anchor": "end" }, String(parseFloat(v.toPrecision(6)))));
    });
    g.append(svg("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, "class": "axis" }));
    g.append(svg("line", { x1: L, x2: L, y1: T, y2: H - B, "class": "axis" }));
    g.append(svg("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle" }, "parameters (log scale)"));
    var trend = DATA.trends[task + "\u001f" + metric];
    if (trend) {
      var band = trend[3].filter(function (p) { return p[1] !== null && p[2] !== null; });
      var edge = band.map(function (p) { return X(p[0]) + "," + Y(p[2]); })
        .concat(band.slice().reverse().map(function (p) { return X(p[0]) + "," + Y(p[1]); }));
      if (edge.length) g.append(svg("polygon", { points: edge.join(" "), "class": "band" }));
      var fit = trend[3].filter(function (p) { return p[3] !== null; });
      g.append(svg("polyline", { points: fit.map(function (p) { return X(p[0]) + "," + Y(p[3]); }).join(" "),
        "class": "trend" }));
    }
    pts.forEach(function (p, i) {
      var cx = X(xs[i]);
      if (p.c[1] !== null && p.c[2] !== null)
        g.append(svg("line", { x1: cx, x2: cx, y1: Y(p.c[1]), y2: Y(p.c[2]), "class": "whisker" }));
      var dot = svg("circle", { cx: cx, cy: Y(p.c[0]), r: 4, "class": "point" });
      dot.append(svg("title", {}, iso(p.m.label) + ": " + fmt(p.c[0]) + " (" + fmtParams(p.m.params) + ")"));
      g.append(dot, svg("text", { x: cx + 6, y: Y(p.c[0]) - 6 }, p.m.label));
    });
    box.append(g);
    var note = trend ? "trend: " + (trend[0] >= 0 ? "+" : "") + fmt(trend[0]) + " per 10× parameters" +
      (trend[2] !== null ? ", R² " + trend[2].toFixed(2) : "") + " (band: 95% CI of the line)" :
      "trend needs three model sizes";
    box.append(el("div", "muted", note));
    return box;
  }

  function renderCharts() {
    var grid = document.getElementById("chart-grid");
    DATA.tasks.forEach(function (t) { grid.append(chart(t.name, t.primary)); });
    var unsized = models.filter(function (m) { return !m.params; });
    if (!unsized.length) return;
    var note = document.getElementById("chart-note");
    note.append("Not in these charts (their results record no parameter count or size label): ");
    unsized.forEach(function (m, i) { if (i) note.append(", "); note.append(el("bdi", null, m.label)); });
    note.append(". They are in the table.");
    note.hidden = false;
  }

  /* ---- bias panel -------------------------------------------------------------------------------- */
  function renderBias() {
    var panel = document.getElementById("bias-panel");
    var tasks = DATA.tasks.filter(function (t) { return t.bias; });
    if (!tasks.length) { panel.append(el("p", "muted", "No bias probes in these runs.")); return; }
    panel.append(el("p", "muted", "pct_stereotype: share of pairs where the model prefers the more stereotypical " +
      "sentence (50% = no preference; the dashed line). likelihood_diff: mean |log-likelihood difference|."));
    tasks.forEach(function (t) {
      var table = el("table", "bias-table");
      table.setAttribute("data-task", t.name);
      var head = el("tr"); head.append(el("th", null, t.name));
      t.metrics.forEach(function (m) { head.append(el("th", null, m)); });
      table.append(head);
      models.filter(function (m) { return t.datasets[m.key]; }).forEach(function (m) {
        var tr = el("tr"); tr.append(el("td", null, m.label));
        t.metrics.forEach(function (metric) {
          var x = cell(t.name, metric, m.key);
          var td = el("td");
          if (x && metric === "pct_stereotype" && x[0] !== null) {
            var wrap = el("span", "bar-wrap"), bar = el("span", "bar");
            bar.style.width = Math.max(0, Math.min(100, x[0] * 100)) + "%";
            wrap.append(bar, el("span", "half"));
            td.append(wrap);
          }
          td.append(document.createTextNode(x ? fmt(x[0]) : "–"));
          if (x && x[1] !== null) td.append(el("span", "ci", "[" + fmt(x[1]) + ", " + fmt(x[2]) + "]"));
          tr.append(td);
        });
        table.append(tr);
      });
      var wrap = el("div", "table-wrap");
      wrap.append(table);
      panel.append(wrap);
    });
  }

  /* ---- samples drill-down ------------------------------------------------------------------------ */
  var shown = PAGE;
  /* A per-item score's colour class from the metric's declared semantics [low, high, higher is better, ideal]:
     its place between the worst and best end of the range; good in the top third, bad in the bottom third.
     No colour where the range is unbounded or best is an ideal value (one item is not near or far from it). */
  function grade(s, v) {
    if (!s || v === null || v === undefined || s[3] !== null || s[0] === null || s[1] === null) return null;
    var place = (v - s[0]) / (s[1] - s[0]);
    if (!s[2]) place = 1 - place;
    return place >= 2 / 3 ? "score-good" : place <= 1 / 3 ? "score-bad" : "score-mid";
  }
  function primaryScores(task, i) {
    var s = DATA.samples[task], t = DATA.tasks.filter(function (x) { return x.name === task; })[0];
    return models.map(function (m) {
      var o = s.out[m.key] && s.out[m.key][i];
      return o && o[2] && o[2][t.primary] !== undefined ? o[2][t.primary] : null;
    }).filter(function (v) { return v !== null; });
  }
  function chosen(item, o) {
    if (o[0] !== null && o[0] !== undefined) return o[0];
    if (!o[1] || !item[4]) return "";
    var best = 0;
    o[1].forEach(function (v, j) { if (v !== null && v > o[1][best]) best = j; });
    return item[4][best];
  }
  function matches(task, i, query, filter) {
    var s = DATA.samples[task], item = s.items[i];
    if (filter !== "all") {
      var sc = primaryScores(task, i);
      var max = Math.max.apply(null, sc), min = Math.min.apply(null, sc);
      if (filter === "disagree" && !(sc.length > 1 && max !== min)) return false;
      if (filter === "anyzero" && !(sc.length && min === 0)) return false;
      if (filter === "allzero" && !(sc.length && max === 0)) return false;
    }
    if (!query) return true;
    var hay = [item[0], item[2], JSON.stringify(item[3]), (item[4] || []).join(" ")];
    models.forEach(function (m) { var o = s.out[m.key] && s.out[m.key][i]; if (o) hay.push(chosen(item, o)); });
    return hay.join("\n").toLowerCase().indexOf(query) >= 0;
  }
  function choiceTable(item, task, i) {
    var s = DATA.samples[task], table = el("table", "choices");
    var head = el("tr"); head.append(el("th", null, "choice"));
    models.forEach(function (m) {
      if (!s.out[m.key]) return;
      var th = el("th"); th.append(el("bdi", null, m.label), " log p"); head.append(th);
    });
    table.append(head);
    item[4].forEach(function (choice, j) {
      var tr = el("tr"), gold = item[3] === j;
      var t = DATA.tasks.filter(function (x) { return x.name === task; })[0];
      tr.append(el("td", gold ? "gold" : null, (gold ? (t.bias ? "(more stereotypical) " : "✓ ") : "") + choice));
      models.forEach(function (m) {
        if (!s.out[m.key]) return;
        var o = s.out[m.key][i], lp = o && o[1] ? o[1][j] : null;
        var picked = o && o[1] && Math.max.apply(null, o[1]) === lp;
        tr.append(el("td", picked ? "picked" : null, lp === null || lp === undefined ? "–" : lp.toFixed(3)));
      });
      table.append(tr);
    });
    return table;
  }
  function sampleCard(task, i) {
    var s = DATA.samples[task], item = s.items[i], t = DATA.tasks.filter(function (x) { return x.name === task; })[0];
    var card = el("div", "sample-card");
    card.setAttribute("data-id", item[0]);
    var head = el("div", "head", item[0]); head.append(el("span", "hash", item[1])); card.append(head);
    /* pairs scored sentence by sentence (bias probes) have no prompt: no empty box for it */
    if (item[2]) card.append(el("div", "muted", "prompt"), el("pre", "prompt", item[2]));
    if (item[4]) { var wrap = el("div", "table-wrap"); wrap.append(choiceTable(item, task, i)); card.append(wrap); }
    else card.append(el("div", "muted", "target"), el("pre", "target", Array.isArray(item[3]) ? item[3].join("\n") : item[3]));
    var outs = el("div", "outputs");
    models.forEach(function (m) {
      var o = s.out[m.key] && s.out[m.key][i];
      if (!o) return;
      var box = el("div", m.key === selected.model ? "output selected" : "output");
      box.setAttribute("data-model", m.key);
      box.append(el("div", "who", m.label), el("pre", "response", chosen(item, o)));
      var scores = el("div", "scores");
      Object.keys(o[2] || {}).forEach(function (k) {
        scores.append(el("span", grade(t.semantics[k], o[2][k]), iso(k) + " " + fmt(o[2][k]) + "  "));
      });
      box.append(scores);
      outs.append(box);
    });
    card.append(outs);
    return card;
  }
  function renderSamples() {
    var task = document.getElementById("task-select").value, list = document.getElementById("sample-list");
    var query = document.getElementById("sample-search").value.trim().toLowerCase();
    var filter = document.getElementById("sample-filter").value;
    list.replaceChildren();
    var s = DATA.samples[task];
    if (!s) return;
    var hits = [];
    for (var i = 0; i < s.items.length; i++) if (matches(task, i, query, filter)) hits.push(i);
    hits.slice(0, shown).forEach(function (i) { list.append(sampleCard(task, i)); });
    document.getElementById("sample-count").textContent = hits.length + " of " + s.items.length + " items" +
      (hits.length > shown ? " (showing " + shown + ")" : "");
    document.getElementById("sample-more").hidden = hits.length <= shown;
  }
  /* the drill-down on one task, all its items, searched for `query` (a deep link's item id) */
  function showSamples(task, query) {
    document.getElementById("task-select").value = task;
    document.getElementById("sample-search").value = query;
    document.getElementById("sample-filter").value = "all";
    shown = PAGE;
    renderSamples();
  }
  function setupSamples() {
    var select = document.getElementById("task-select");
    DATA.tasks.forEach(function (t) { var o = el("option", null, t.name); o.value = t.name; select.append(o); });
    function reset() { shown = PAGE; renderSamples(); }
    select.addEventListener("change", reset);
    document.getElementById("sample-search").addEventListener("input", reset);
    document.getElementById("sample-filter").addEventListener("change", reset);
    document.getElementById("sample-more").addEventListener("click", function () { shown += PAGE; renderSamples(); });
    renderSamples();
  }

  /* ---- run metadata ------------------------------------------------------------------------------ */
  /* in a box of its own that scrolls sideways: long fingerprints must not widen the page */
  function kvTable(rows, header) {
    var wrap = el("div", "table-wrap"), table = el("table", "meta-table"), tr = el("tr");
    wrap.append(table);
    header.forEach(function (h) { tr.append(el("th", null, h)); });
    table.append(tr);
    rows.forEach(function (r) {
      var row = el("tr"); r.forEach(function (v) { row.append(el("td", null, v === null || v === undefined ? "–" : v)); });
      table.append(row);
    });
    return wrap;
  }
  function renderMeta() {
    var panel = document.getElementById("meta-panel");
    var fields = [["run id", "run_id"], ["created", "created_at"], ["adapter", "adapter"], ["source", "source"],
      ["fingerprint", "fingerprint"], ["dtype", "dtype"], ["device", "device"]];
    var rows = fields.map(function (f) { return [f[0]].concat(models.map(function (m) { return m[f[1]]; })); });
    rows.push(["parameters"].concat(models.map(function (m) { return m.params ? String(m.params) : null; })));
    ["model_load_s", "total_s"].forEach(function (k) {
      rows.push([k].concat(models.map(function (m) { return m.timings[k] !== undefined ? m.timings[k] + " s" : null; })));
    });
    ["limit", "num_fewshot", "seed"].forEach(function (k) {
      rows.push([k].concat(models.map(function (m) { return m.config[k] === null ? null : String(m.config[k]); })));
    });
    rows.push(["errors"].concat(models.map(function (m) { return m.errors.length ? m.errors.join("; ") : "none"; })));
    var labels = models.map(function (m) { return m.label; });
    panel.append(el("h3", null, "Models"), kvTable(rows, ["", ].concat(labels)));
    var names = [];
    models.forEach(function (m) { Object.keys(m.versions).forEach(function (k) { if (names.indexOf(k) < 0) names.push(k); }); });
    panel.append(el("h3", null, "Versions"),
      kvTable(names.map(function (n) { return [n].concat(models.map(function (m) { return m.versions[n]; })); }), ["package"].concat(labels)));
    var drows = [];
    DATA.tasks.forEach(function (t) {
      models.forEach(function (m) {
        var d = t.datasets[m.key];
        if (d) drows.push([t.name, m.label, d.version, d.source, d.fingerprint, d.rows_used + " / " + d.rows_total,
          String(d.fewshot), d.seconds + " s"]);
      });
    });
    panel.append(el("h3", null, "Tasks and datasets"),
      kvTable(drows, ["task", "model", "version", "dataset", "fingerprint", "rows used", "few-shot", "time"]));
  }

  document.getElementById("subtitle").textContent = models.length + " model(s) · " + DATA.tasks.length +
    " task(s) · generated " + DATA.generated_at + " by evalh " + DATA.evalh_version;
  renderWarnings();
  renderBoard();
  renderAverageNote();
  setupExports();
  renderCharts();
  renderBias();
  setupSamples();
  renderMeta();
  applyHash();
  window.addEventListener("hashchange", applyHash);
  window.evalhRendered = performance.now();
  /* the next frame after layout and paint: what a reader waits for (benchmarks/report_size.py) */
  requestAnimationFrame(function () { setTimeout(function () { window.evalhPainted = performance.now(); }, 0); });
})();
