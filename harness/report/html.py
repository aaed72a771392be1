"""leaderboard.html: one self-contained file (inline CSS, JS and data; no network) from a Comparison.

Security: all data from results and samples is untrusted. It is embedded once, as JSON inside
<script type="application/json"> with <, >, &, U+2028 and U+2029 escaped (so no text can close the
element or start markup), and the page's script renders it through textContent only. A
Content-Security-Policy allows only this page's own inline script and style (by hash) and no loads.
"""
from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from harness.paths import builtin_reports_dir
from harness.report.comparison import Comparison
from harness.report.payload import build_payload

_JSON_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026", 0x2028: "\\u2028",
                 0x2029: "\\u2029"}


def embed_json(data: Any) -> str:
    """JSON safe inside a <script> element: no '</script>', '<!--' or line separators can appear."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.translate(_JSON_ESCAPES)


def csp_hash(source: str) -> str:
    """The CSP source expression allowing exactly this inline script or style."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode() + "'"


def content_security_policy(script: str, style: str) -> str:
    return ("default-src 'none'; "
            f"script-src {csp_hash(script)}; style-src {csp_hash(style)}; "
            "img-src 'none'; font-src 'none'; connect-src 'none'; frame-src 'none'; object-src 'none'; "
            "base-uri 'none'; form-action 'none'")


def render_html(comparison: Comparison, *, title: str = "evalh leaderboard", max_samples: int | None = None,
                assets: Path | None = None) -> str:
    """The leaderboard page as a string."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape
    from markupsafe import Markup

    folder = assets or builtin_reports_dir()
    script = (folder / "leaderboard.js").read_text(encoding="utf-8")
    style = (folder / "leaderboard.css").read_text(encoding="utf-8")
    env = Environment(loader=FileSystemLoader(str(folder)), autoescape=select_autoescape(["j2", "html"]))
    data = embed_json(build_payload(comparison, title=title, max_samples=max_samples))
    # Markup: the data is escaped above; the script and style are evalh's own files.
    return env.get_template("leaderboard.html.j2").render(
        title=title, csp=content_security_policy(script, style), style=Markup(style), script=Markup(script),
        data=Markup(data))


def write_html(comparison: Comparison, path: Path, **options: Any) -> Path:
    path.write_text(render_html(comparison, **options), encoding="utf-8")
    return path
