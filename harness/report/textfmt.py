"""Plain-text rendering of `evalh compare` results (what the terminal shows)."""
from __future__ import annotations

from collections.abc import Sequence

from harness.report.compare import REGRESSION, CompareResult, TaskComparison


def fmt_value(value: float | None) -> str:
    """Scores in [0, 1]-like ranges get 4 decimals, BLEU-like (0-100) ones 2; None is a dash."""
    if value is None:
        return "-"
    return f"{value:.4f}" if abs(value) < 2 else f"{value:.2f}"


def fmt_p(p: float) -> str:
    return f"{p:.3g}" if p >= 1e-4 else f"{p:.1e}"


def one_line(text: str, width: int = 60) -> str:
    """A response on one line, cut to `width` characters (control characters shown as escapes)."""
    flat = text.encode("unicode_escape").decode("ascii") if any(ord(ch) < 32 for ch in text) else text
    return flat if len(flat) <= width else flat[: width - 1] + "…"


_HEADER = ("model", "task", "metric", "n", "baseline", "candidate", "delta", "CI", "p", "p (Holm)", "test",
           "MDE (80%)", "verdict")


def fmt_delta(value: float) -> str:
    if value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    return f"{value:+.4f}" if abs(value) < 2 else f"{value:+.2f}"


def interval_header(result: CompareResult) -> str:
    """The CI column's name: the level is 1 - alpha for one test and Holm-adjusted per row for several."""
    level = f"{round(100 * (1 - result.alpha))}% CI"
    return level if len(result.rows) <= 1 else f"{level} (Holm)"


def table_rows(result: CompareResult) -> list[tuple[str, ...]]:
    """The comparison table as strings, one tuple per task (shared by text and Markdown)."""
    rows = []
    for r in result.rows:
        t = r.result
        metric = r.metric + (f" (|x-{r.semantics.ideal:g}|)" if r.semantics.ideal is not None else "")
        verdict = r.verdict.upper() if r.verdict == REGRESSION else r.verdict
        rows.append((r.model, r.task, metric, str(r.n), fmt_value(r.base_value), fmt_value(r.cand_value),
                     fmt_delta(t.delta), f"[{fmt_delta(t.ci_low)}, {fmt_delta(t.ci_high)}]", fmt_p(t.p_value),
                     fmt_p(r.p_holm), t.test, "none" if r.mde is None else f"{r.mde:.3g}",
                     verdict + (" (underpowered)" if r.underpowered else "")))
    return rows


def flip_lines(row: TaskComparison, limit: int) -> list[str]:
    """The changed items of one task, worst first."""
    if not row.flips:
        return []
    if row.semantics.ideal is not None:
        lines = [f"{row.task} ({row.model}, {row.metric}): {len(row.flips)} item(s) changed"]
    else:
        lines = [f"{row.task} ({row.model}, {row.metric}): {row.lost} item(s) worse, {row.gained} better"]
    for flip in row.flips[:limit]:
        lines.append(f"  {flip.sample_id}: {fmt_value(flip.base_score)} -> {fmt_value(flip.cand_score)}  "
                     f"baseline {one_line(flip.base_response)!r} / candidate {one_line(flip.cand_response)!r}")
    if len(row.flips) > limit:
        lines.append(f"  ... and {len(row.flips) - limit} more")
    return lines


def plain_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A terminal table of text cells, left-aligned, as written (tabulate's `simple` format)."""
    from tabulate import tabulate

    return tabulate(rows, headers=header, tablefmt="simple", disable_numparse=True, stralign="left")


def format_compare_text(result: CompareResult, flips_limit: int = 20) -> str:
    """The full terminal report: header, table, notes, flipped items, verdict line."""
    header = (*_HEADER[:7], interval_header(result), *_HEADER[8:])
    rows = [header, *table_rows(result)]
    lines = [f"baseline:  {result.baseline}", f"candidate: {result.candidate}",
             f"alpha {result.alpha:g} (Holm-corrected across {len(result.rows)} test(s)), max drop "
             f"{result.max_drop:g}", ""]
    lines.append(plain_table(rows[0], rows[1:]))
    lines += ["", "delta: candidate - baseline (for a metric best at a value v, the change of |x - v|: "
              "positive is farther from v); MDE: the smallest |delta| the test detects with 80% power."]
    notes = [f"note: {r.task} ({r.model}): {r.note}" for r in result.rows if r.note]
    lines += ([""] + notes) if notes else []
    shown = [line for r in result.rows for line in flip_lines(r, flips_limit)]
    if shown:
        lines += ["", "changed items (worst first):", *shown]
    lines += ["", verdict_line(result)]
    return "\n".join(lines)


def verdict_line(result: CompareResult) -> str:
    bad = result.regressions
    if bad:
        return f"verdict: REGRESSION in {len(bad)} task(s): " + ", ".join(f"{r.task} ({r.model})" for r in bad)
    better = [r for r in result.rows if r.verdict != "no detectable change"]
    return f"verdict: no regression ({len(better)} improvement(s), {len(result.rows) - len(better)} unchanged)"
