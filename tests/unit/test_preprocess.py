"""Named row preprocessors (harness/tasks/preprocess.py), tables of known values."""
import pytest

from harness.errors import DataError, TaskError
from harness.tasks.preprocess import preprocess, winobias


@pytest.mark.parametrize("text, sentence, pronoun, mentions, antecedent", [
    ("12 [The developer] argued with the designer because [he] did not like the design.",
     "The developer argued with the designer because he did not like the design.", "he",
     ["the developer", "the designer"], "the developer"),
    # the antecedent second, an article "a", a comma, and a two-word occupation
    ("3 The nurse helped [a construction worker] after [his] fall, as always.",
     "The nurse helped a construction worker after his fall, as always.", "his",
     ["the nurse", "the construction worker"], "the construction worker"),
    # extra spaces inside the brackets; "an" read as "the"; the occupation at the end of a sentence
    ("7 [ The CEO ] thanked an auditor because [ she ] was grateful to the auditor.",
     "The CEO thanked an auditor because she was grateful to the auditor.", " she ",
     ["the CEO", "the auditor"], "the CEO"),
])
def test_winobias_reads_the_question_off_a_raw_line(text, sentence, pronoun, mentions, antecedent):
    fields = winobias({"text": text})
    assert fields == {"sentence": sentence, "pronoun": pronoun, "mentions": mentions, "antecedent": antecedent}


def test_a_row_the_preprocessor_cannot_read_names_the_row():
    with pytest.raises(DataError, match=r"task t, row 1: preprocessor 'winobias' cannot read the row"):
        preprocess("winobias", [{"text": "1 [The cook] met [him]."}, {"text": "no brackets"}], "task t")


def test_an_unknown_preprocessor_is_a_task_file_error(task_dir):
    from harness.tasks.loader import load_task_file

    path = task_dir / "t.yaml"
    path.write_text("name: t\ndataset: {files: {test: r.jsonl}}\noutput_type: generate\ntarget: x\n"
                    "metrics: [exact_match]\npreprocess: winobais\n")
    with pytest.raises(TaskError, match="unknown preprocessor 'winobais' \\(known: minerva_math, winobias\\)"):
        load_task_file(path)


def test_every_real_winobias_line_gives_two_choices_with_the_gold_among_them(shared_data):
    from harness.tasks.datasets import load_rows
    from harness.tasks.loader import build_index

    spec = build_index().tasks["winobias"]
    for split in ("test", "dev"):
        rows = load_rows(spec, split, shared_data)
        assert len(rows) == 1584
        assert all(len(r["mentions"]) == 2 and r["antecedent"] in r["mentions"] for r in rows)
