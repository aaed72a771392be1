"""evalh: an evaluation harness for language models.

The library is primary; the `evalh` command is a thin layer over it::

    from harness import evaluate, RunConfig
    results = evaluate(RunConfig(models=["fake"], tasks=["starter"]))
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from harness.config import RunConfig
    from harness.evaluation import evaluate

__all__ = ["evaluate", "RunConfig", "__version__"]


def __getattr__(name: str) -> Any:
    # Lazy so that `import harness` (and so `evalh --help`) stays fast.
    if name == "evaluate":
        from harness.evaluation import evaluate

        return evaluate
    if name == "RunConfig":
        from harness.config import RunConfig

        return RunConfig
    raise AttributeError(name)
