"""Markdown for pull-request comments and GitHub step summaries: the leaderboard and compare results.

Every string from results or samples is escaped (Markdown punctuation, table pipes, HTML brackets,
control and bidirectional-formatting characters).
"""
from __future__ import annotations

import re

from harness.report.board import data_warnings
from harness.report.compare import REGRESSION, CompareResult
from harness.report.comparison import Comparison
from harness.report.textfmt import fmt_value, interval_header, one_line, table_rows, verdict_line

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>])")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def md_escape(text: str) -> str:
    """Text safe in a Markdown table cell: no HTML, no formatting, no line breaks, and no control or
    bidirectional-formatting characters (shown as `\\u202e`, so they cannot reorder the table around them)."""
    text = " ".join(str(text).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return _MD_SPECIAL.sub(r"\\\1", text)


def fmt_params(parameters: float | None) -> str:
    if not parameters:
        return "-"
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if parameters >= scale:
            return f"{parameters / scale:.3g}{suffix}"
    return f"{parameters:.0f}"


def _cell_text(comparison: Comparison, task: str, metric: str, key: str) -> str:
    """The value with its 95% interval (intervals near a range edge are not symmetric); the best model's
    cell in bold, and those a paired test cannot separate from it marked ≈."""
    cell = comparison.cell(task, metric, key)
    if cell is None or cell.value is None:
        return "-"
    text = fmt_value(cell.value)
    if cell.ci_low is not None and cell.ci_high is not None:
        text += f" [{fmt_value(cell.ci_low)}, {fmt_value(cell.ci_high)}]"
    mark = comparison.standing.get((task, metric), {}).get(key)
    return f"**{text}**" if mark == "best" else f"≈ {text}" if mark == "tied" else text


def _marker(comparison: Comparison, task: str, metric: str) -> str:
    """' ↓' (lower is better) or ' →0.5' (best at 0.5) after a column name, from the metric's semantics."""
    cells = [c for model in comparison.models if (c := comparison.cell(task, metric, model.key)) is not None]
    return cells[0].semantics.marker() if cells else ""


def summary_markdown(comparison: Comparison, title: str = "evalh leaderboard") -> str:
    """One row per model (smallest first), one column per task (its primary metric); value [95% CI]."""
    columns = [(t.name, t.primary) for t in comparison.tasks]
    head = ["model", "params", *(f"{md_escape(t)} ({md_escape(m)}{_marker(comparison, t, m)})" for t, m in columns)]
    lines = [f"## {md_escape(title)}", ""]
    warnings = data_warnings(comparison)
    if warnings:  # scores side by side that are not over the same data
        lines += ["> **Warning: these runs are not over the same data.**  "]
        lines += [f"> {md_escape(w)}  " for w in warnings] + [""]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for model in comparison.models:
        values = [_cell_text(comparison, t, m, model.key) for t, m in columns]
        lines.append("| " + " | ".join([md_escape(model.label), fmt_params(model.parameters), *values]) + " |")
    lines += ["", f"{len(comparison.models)} model(s), {len(comparison.tasks)} task(s); "
              "each task's primary metric with its 95% CI (↓ lower is better, →v best at v); **bold** is the best "
              "model, ≈ a model a paired test (Holm-corrected) cannot separate from it; "
              "models ordered by parameter count; every metric and sample is in leaderboard.html.", ""]
    return "\n".join(lines)


def compare_markdown(result: CompareResult, flips_limit: int = 20) -> str:
    """The compare table, the verdict and (collapsed) the changed items."""
    head = ["model", "task", "metric", "n", "baseline", "candidate", "delta", interval_header(result), "p",
            "p (Holm)", "test", "MDE (80%)", "verdict"]
    lines = [f"## evalh compare: {'❌ regression' if result.regressions else '✅ no regression'}", "",
             f"baseline: {md_escape(result.baseline)}  ", f"candidate: {md_escape(result.candidate)}", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in table_rows(result):
        cells = [md_escape(c) for c in row]
        if row[-1].startswith(REGRESSION.upper()):
            cells[-1] = f"**{cells[-1]}**"
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", md_escape(verdict_line(result)), ""]
    for row in result.rows:
        if not row.flips:
            continue
        changed = (f"{len(row.flips)} changed" if row.semantics.ideal is not None
                   else f"{row.lost} worse, {row.gained} better")
        lines += [f"<details><summary>{md_escape(row.task)} ({md_escape(row.model)}): {changed}</summary>", "",
                  "| item | baseline | candidate | baseline output | "
                  "candidate output |", "|---|---|---|---|---|"]
        lines += [f"| {md_escape(f.sample_id)} | {fmt_value(f.base_score)} | {fmt_value(f.cand_score)} | "
                  f"{md_escape(one_line(f.base_response))} | {md_escape(one_line(f.cand_response))} |"
                  for f in row.flips[:flips_limit]]
        lines += ["", "</details>", ""]
    return "\n".join(lines)
