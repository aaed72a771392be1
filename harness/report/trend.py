"""Trends across runs of the same model (nightly runs): each metric's value and 95% interval, run by run.

`evalh report RUNS --history PAST_RUNS` reads earlier runs too and, where a model has two or more runs,
writes trend.html (an SVG chart per model, task and metric, self-contained like the leaderboard) and a
"Trend across runs" table in summary.md. Runs are ordered by `created_at`.
"""
from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from harness.report.loading import LoadedRun


@dataclass(frozen=True)
class Point:
    when: str  # created_at, ISO 8601
    value: float
    low: float | None
    high: float | None


Series = dict[tuple[str, str, str], list[Point]]
"""(model, task, metric) -> points in time order."""


def trend_series(runs: Sequence[LoadedRun]) -> Series:
    """Every (model, task, metric) with a value in at least two runs of that model."""
    series: Series = {}
    for run in sorted(runs, key=lambda r: r.result.created_at):
        for task in run.result.tasks.values():
            for name, metric in task.metrics.items():
                if metric.value is not None:
                    series.setdefault((run.label, task.name, name), []).append(
                        Point(run.result.created_at, metric.value, metric.ci_low, metric.ci_high))
    return {key: points for key, points in series.items() if len(points) >= 2}


def _fmt(value: float | None) -> str:
    return "-" if value is None else (f"{value:.4f}" if abs(value) < 10 else f"{value:.2f}")


def trend_markdown(series: Series, last: int = 7) -> str:
    """A table per model: one row per task and metric, the last `last` runs as columns (oldest first)."""
    lines = ["## Trend across runs", ""]
    for model in sorted({key[0] for key in series}):
        keys = sorted(k for k in series if k[0] == model)
        dates = sorted({p.when for k in keys for p in series[k]})[-last:]
        lines += [f"### {model}", "", "| task | metric | " + " | ".join(d[:16].replace("T", " ") for d in dates) + " |",
                  "|---|---|" + "---|" * len(dates)]
        for key in keys:
            by_date = {p.when: p for p in series[key]}
            cells = [_fmt(by_date[d].value) if d in by_date else "" for d in dates]
            lines.append(f"| {key[1]} | {key[2]} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def _chart(points: list[Point], width: int = 480, height: int = 160, pad: int = 36) -> str:
    """An SVG line of the values with a vertical bar per 95% interval."""
    numbers = [v for p in points for v in (p.value, p.low, p.high) if v is not None]
    low, high = min(numbers), max(numbers)
    span = (high - low) or 1.0
    x = lambda i: pad + i * (width - 2 * pad) / max(len(points) - 1, 1)  # noqa: E731
    y = lambda v: height - pad + (low - v) * (height - 2 * pad) / span  # noqa: E731
    parts = [f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">',
             f'<text x="4" y="{y(high) + 4:.1f}">{_fmt(high)}</text><text x="4" y="{y(low) + 4:.1f}">{_fmt(low)}</text>']
    for i, p in enumerate(points):
        if p.low is not None and p.high is not None:
            parts.append(f'<line class="ci" x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{y(p.low):.1f}" y2="{y(p.high):.1f}"/>')
        parts.append(f'<circle cx="{x(i):.1f}" cy="{y(p.value):.1f}" r="3"><title>{html.escape(p.when)}: '
                     f'{_fmt(p.value)} [{_fmt(p.low)}, {_fmt(p.high)}]</title></circle>')
    path = " ".join(f"{x(i):.1f},{y(p.value):.1f}" for i, p in enumerate(points))
    parts.append(f'<polyline points="{path}"/>')
    parts.append(f'<text x="{pad}" y="{height - 6}">{html.escape(points[0].when[:10])}</text>'
                 f'<text x="{width - pad}" y="{height - 6}" text-anchor="end">{html.escape(points[-1].when[:10])}</text>')
    return "".join(parts) + "</svg>"


def trend_html(series: Series, title: str) -> str:
    """A self-contained page (no script, no network): one chart per model, task and metric."""
    style = ("body{font-family:system-ui,sans-serif;margin:1.5rem;max-width:60rem}"
             "figure{display:inline-block;margin:0 1rem 1rem 0}svg{max-width:100%;height:auto}"
             "polyline{fill:none;stroke:#2563eb;stroke-width:2}circle{fill:#2563eb}"
             ".ci{stroke:#93c5fd;stroke-width:6}text{font-size:11px;fill:#555}"
             "@media (prefers-color-scheme:dark){body{background:#111;color:#ddd}text{fill:#aaa}}")
    body = [f"<h1>{html.escape(title)}: trend across runs</h1>"]
    for model in sorted({key[0] for key in series}):
        body.append(f"<h2>{html.escape(model)}</h2>")
        for key in sorted(k for k in series if k[0] == model):
            body.append(f"<figure><figcaption>{html.escape(key[1])} · {html.escape(key[2])} "
                        f"({len(series[key])} runs)</figcaption>{_chart(series[key])}</figure>")
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            f"<title>{html.escape(title)}: trend</title><style>{style}</style></head><body>"
            + "".join(body) + "</body></html>")
