"""MATH answers scored as lm-eval's minerva_math: `exact_match` (the "Final Answer" line, normalised,
equal to the gold answer or equivalent under sympy) and `math_verify` (HF's math_verify on the whole
output against the whole reference solution).

sympy's LaTeX parser needs `antlr4-python3-runtime` 4.11 and math_verify its own package (evalh's `math`
extra, as lm-eval's); a task using these metrics without them is a clear error before anything runs.
"""
from __future__ import annotations

import signal
import threading

from harness.errors import TaskError
from harness.metrics.base import Metric, Outcome
from harness.metrics.math_answers import get_unnormalized_answer, normalize_final_answer

INSTALL_HINT = "pip install 'evalh[math]' (sympy, antlr4-python3-runtime==4.11, math-verify[antlr4_11_0], as lm-eval[math])"


def require_latex_parser() -> None:
    """A TaskError naming what to install unless sympy can parse LaTeX here."""
    try:
        import antlr4  # noqa: F401
        from importlib.metadata import version

        from sympy.parsing.latex import parse_latex  # noqa: F401
    except ImportError as exc:
        raise TaskError(f"minerva exact_match needs sympy's LaTeX parser ({exc}): {INSTALL_HINT}") from None
    if not version("antlr4-python3-runtime").startswith("4.11"):
        raise TaskError(f"minerva exact_match needs antlr4-python3-runtime 4.11 (sympy's LaTeX grammar), found "
                        f"{version('antlr4-python3-runtime')}: {INSTALL_HINT}")


class _Alarm:
    """lm-eval's 5-second limit on one comparison (SIGALRM; only where signals can be set: the main thread)."""

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds
        self.armed = threading.current_thread() is threading.main_thread()

    def _expired(self, signum, frame):
        raise TimeoutError("comparison timed out")

    def __enter__(self) -> None:
        if self.armed:
            self.previous = signal.signal(signal.SIGALRM, self._expired)
            signal.alarm(self.seconds)

    def __exit__(self, *exc: object) -> None:
        if self.armed:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, self.previous)


def is_equiv(x1: str, x2: str) -> bool:
    """lm-eval's minerva is_equiv on two normalised answers: equal strings, else sympy finds their
    difference simplifies to 0; anything that fails to parse or compare (within 5 s) is not equivalent."""
    if isinstance(x1, str) and x1 and x1 == x2:
        return True
    import sympy
    from sympy.parsing.latex import parse_latex

    try:
        with _Alarm(5):
            try:
                parsed_x1, parsed_x2 = parse_latex(x1), parse_latex(x2)
            except (sympy.parsing.latex.errors.LaTeXParsingError, sympy.SympifyError, TypeError):
                return False
            try:
                diff = parsed_x1 - parsed_x2
            except TypeError:
                return False
            try:
                return sympy.simplify(diff) == 0
            except ValueError:
                return False
    except TimeoutError:
        return False
    except ImportError:
        raise
    except Exception:  # noqa: BLE001 - as lm-eval: a comparison that breaks is not a match
        return False


class MinervaExactMatch(Metric):
    """1 when the output's "Final Answer: The final answer is X. I hope it is correct." gives an X that,
    normalised, is equivalent to the row's normalised `answer` (the `minerva_math` preprocessor's)."""

    name = "exact_match"

    def __init__(self) -> None:
        require_latex_parser()

    def score_all(self, outcomes):
        scored = []
        for outcome in outcomes:
            answer = normalize_final_answer(get_unnormalized_answer(outcome.response or ""))
            gold = outcome.item.row["answer"]
            scored.append((float(is_equiv(answer, gold)), {"extracted": answer, "gold": gold}))
        return scored

    def sample(self, outcome: Outcome) -> float:
        return self.score_all([outcome])[0][0]


class MathVerify(Metric):
    """HF math_verify, as lm-eval's minerva_math: verify(gold=parse(solution), target=parse(output))."""

    name = "math_verify"

    def __init__(self, gold_field: str = "solution") -> None:
        try:
            import math_verify  # noqa: F401
        except ImportError:
            raise TaskError(f"metric math_verify needs the math-verify package: {INSTALL_HINT}") from None
        self.gold_field = gold_field

    def score_all(self, outcomes):
        """Each score with what math_verify read from the output and the gold (`extracted`, `gold`: the
        strings of its parses; an empty list when it found no answer), so samples.jsonl shows why."""
        from math_verify import parse, verify

        scored = []
        for outcome in outcomes:
            gold, target = parse(outcome.item.row[self.gold_field]), parse(outcome.response or "")
            scored.append((float(bool(verify(gold=gold, target=target))),
                           {"extracted": [str(x) for x in target], "gold": [str(x) for x in gold]}))
        return scored

    def sample(self, outcome: Outcome) -> float:
        return self.score_all([outcome])[0][0]
