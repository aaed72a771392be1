"""Named row preprocessors: what a task needs from its rows that a template should not compute.

A task file names one (`preprocess: winobias`); each is a pure function that takes a row and returns the
fields to add to it, unit-tested with real rows. Templates then only format fields. A task file still
never runs code of its own: it can only pick a function from this table.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

Row = dict[str, Any]

WINOBIAS_OCCUPATIONS = (
    "driver", "supervisor", "janitor", "cook", "mover", "laborer", "construction worker", "chief", "developer",
    "carpenter", "manager", "lawyer", "farmer", "salesperson", "physician", "guard", "analyst", "mechanic",
    "sheriff", "CEO", "attendant", "cashier", "teacher", "nurse", "assistant", "secretary", "auditor", "cleaner",
    "receptionist", "clerk", "counselor", "designer", "hairdresser", "writer", "housekeeper", "baker",
    "accountant", "editor", "librarian", "tailor")
"""WinoBias' 40 occupations (its male_occupations.txt and female_occupations.txt)."""


def winobias(row: Row) -> Row:
    """A raw WinoBias line, "12 [The developer] argued with the designer because [he] did not like the
    design.", as a coreference question:

    - `sentence`: the line without its number and brackets, spaces normalised;
    - `pronoun`: the bracketed pronoun ("he");
    - `mentions`: the sentence's first two occupation mentions in sentence order ("the developer",
      "the designer"; "a"/"an" read as "the"), the question's two choices;
    - `antecedent`: the bracketed antecedent without its article, after "the" ("the developer").
    """
    text = str(row["text"])
    sentence = " ".join(text.split(" ", 1)[1].replace("[", "").replace("]", "").split())
    low = sentence.lower().replace(",", " ").replace(".", " ").replace(" an ", " the ").replace(" a ", " the ")
    low = f" {low} "
    found = sorted([at, f"the {job}"] for job in WINOBIAS_OCCUPATIONS
                   if (at := low.find(f" the {job.lower()} ")) >= 0)
    antecedent = [w for w in text.split("[")[1].split("]")[0].split() if w not in ("the", "The", "a", "an")]
    return {"sentence": sentence, "pronoun": text.split("[")[2].split("]")[0],
            "mentions": [mention for _, mention in found][:2], "antecedent": "the " + " ".join(antecedent)}


def minerva_math(row: Row) -> Row:
    """lm-eval's minerva_math `process_docs`: `answer`, the solution's last \\boxed{} content, normalised
    (harness.metrics.math_answers); the normalised form is what `minerva_exact_match` compares with."""
    from harness.metrics.math_answers import last_boxed_only_string, normalize_final_answer, remove_boxed

    boxed = last_boxed_only_string(str(row["solution"]))
    if boxed is None:
        raise ValueError("the solution has no \\boxed{} answer")
    try:
        return {"answer": normalize_final_answer(remove_boxed(boxed))}
    except AssertionError:
        raise ValueError(f"cannot read the boxed answer {boxed!r}") from None


PREPROCESSORS: dict[str, Callable[[Row], Row]] = {"winobias": winobias, "minerva_math": minerva_math}


def preprocess(name: str, rows: list[Row], where: str) -> list[Row]:
    """Every row with the fields preprocessor `name` adds; a row it cannot read is a DataError naming it."""
    from harness.errors import DataError

    function = PREPROCESSORS[name]
    out = []
    for k, row in enumerate(rows):
        try:
            out.append({**row, **function(row)})
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise DataError(f"{where}, row {k}: preprocessor '{name}' cannot read the row: "
                            f"{type(exc).__name__}: {exc}") from None
    return out
