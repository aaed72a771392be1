"""Code generation scored by running the benchmark's tests on the model's program: pass@k.

An item's program is `prefix + completion + "\\n" + tests`, as HF evaluate's `code_eval` (which lm-eval's
humaneval and mbpp use) builds it: `prefix` is a template over the row (HumanEval's `{{prompt}}`, since
the model completes the function's body), `tests` the item's first reference. Each program runs in
harness.sandbox; a completion that does not parse, is empty, times out or fails a test scores 0, and the
sandbox's reason goes to samples.jsonl. Nothing a program does is an error of the run.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from harness.metrics.base import Metric, Outcome
from harness.tasks.templates import render_text


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased estimator of pass@k of Chen et al. 2021 (Codex paper, eq. 1): with n samples of which
    c pass, 1 - C(n-c, k) / C(n, k), computed as their numerically stable product form."""
    if not 0 <= c <= n or k < 1:
        raise ValueError(f"pass@k needs 0 <= c <= n and k >= 1 (got n={n}, c={c}, k={k})")
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples per problem (got n={n})")
    if n - c < k:
        return 1.0
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


class PassAtK(Metric):
    """pass@k of each problem from its n completions (one per repeat: `repeats: n` in the task, or
    `--samples n`), with the unbiased estimator, averaged over problems with lm-eval's mean and standard
    error. pass@k needs n >= k: fewer completions is a clear error of the task.

    Options: `prefix` (template over the row put before the completion), `timeout` (wall-clock seconds a
    program may run; 3.0 as code_eval, so a slow canonical solution fails here as it does in lm-eval),
    `memory_mb` (its address-space limit)."""

    def __init__(self, k: int = 1, prefix: str = "", timeout: float = 3.0, memory_mb: int = 2048) -> None:
        from harness.sandbox import Limits

        self.k, self.prefix = k, prefix
        self.name = f"pass@{k}"
        self.limits = Limits(timeout=timeout, memory_bytes=memory_mb * 1024 ** 2)

    def program(self, outcome: Outcome, completion: str) -> str:
        item = outcome.item
        prefix = render_text(self.prefix, item.row, f"row {item.index}, metric {self.name}, option 'prefix'") \
            if self.prefix else ""
        tests = (item.references or ("",))[0]
        return prefix + completion + "\n" + tests

    def sample(self, outcome: Outcome) -> float:
        return self.score_all([outcome])[0][0]

    def score_all(self, outcomes: Sequence[Outcome]) -> list[tuple[float, dict]]:
        from harness.sandbox import run_programs

        completions = [list(o.responses) if o.responses else [o.response or ""] for o in outcomes]
        if completions and min(map(len, completions)) < self.k:
            from harness.errors import TaskError

            raise TaskError(f"{self.name} needs at least {self.k} completions per problem, got "
                            f"{min(map(len, completions))}: run with --samples {self.k} or more (and a "
                            f"temperature above 0, e.g. --gen-kwargs temperature=0.8)")
        programs = [self.program(o, c) for o, cs in zip(outcomes, completions) for c in cs]
        results = iter(run_programs(programs, self.limits))
        scored = []
        for cs in completions:
            runs = [next(results) for _ in cs]
            passed = sum(r.passed for r in runs)
            reasons = [r.reason or "passed" for r in runs]
            reasons = [("empty completion; " + why) if not c.strip() else why for c, why in zip(cs, reasons)]
            scored.append((pass_at_k(len(cs), passed, self.k), {"n": len(cs), "passed": passed,
                                                                  "reasons": reasons}))
        return scored
