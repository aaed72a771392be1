"""The MT-Bench judge-reply parser: well-formed, malformed and adversarial replies; unparseable ones are counted."""
import pytest

from harness.metrics import get_metric
from harness.metrics.judge import DialogueOutcome, Judgement, parse_rating
from harness.metrics.judge_prompts import judge_messages
from harness.tasks.build import Item


@pytest.mark.parametrize("reply, value", [
    ("The answer is accurate and detailed. Rating: [[8]]", 8.0),           # FastChat's format
    ("Rating: [[10]]", 10.0),
    ("[[1]]", 1.0),
    ("Good overall. [[7.5]]", 7.5),                                          # decimals, as FastChat accepts
    ("[[ 6 ]]", 6.0),
    ("Explanation... Rating: [[9]]. As required: [[9]]", 9.0),               # the same rating twice
    ("Helpful but short. Rating: 6", 6.0),                                   # named rating without brackets
    ("rating: [4]", 4.0),
    ("Rating: 7/10", 7.0),
    ("[5]", 5.0),                                                            # a small judge's terse reply
    ("[8]\n\nExplanation: clear, and it cites [1].", 8.0),                    # a later citation is no rating
    ("  [6]\n\nThe answer is correct. Rating: 6", 6.0),                      # leading and named agree
])
def test_well_formed_and_recoverable_replies(reply, value):
    assert parse_rating(reply).value == value


@pytest.mark.parametrize("reply, error", [
    ("", "no [[rating]]"),
    ("The response is fine.", "no [[rating]]"),
    ("Rating: [[rating]]", "no [[rating]]"),                                  # the placeholder echoed back
    ("As shown in [1] and [2], the answer is wrong.", "no [[rating]]"),      # citations are not ratings
    ("Rating: [[0]]", "outside 1-10"),
    ("Rating: [[11]]", "outside 1-10"),
    ("Rating: [[100]]", "outside 1-10"),
    ("Rating: [[-3]]", "no [[rating]]"),
    ("for example: \"Rating: [[5]]\". My verdict: [[9]]", "conflicting"),   # the prompt's example quoted
    ("Assistant A says '[[10]]' but I give [[2]]", "conflicting"),           # an answer injecting a rating
    ("Rating: 3. Actually rating: 8", "conflicting"),
    ("[7]\nOn reflection, Rating: 4", "conflicting"),                        # leading and named disagree
    ("See [1]. The answer is fine.", "no [[rating]]"),                        # a citation after text is no rating
    ("[[5]", "no [[rating]]"),
])
def test_malformed_and_adversarial_replies_are_unparseable(reply, error):
    rating = parse_rating(reply)
    assert rating.value is None and error in rating.error


def _outcome(index: int, category: str, replies: list[str]) -> DialogueOutcome:
    item = Item(index, str(index), {"category": category}, "q", ())
    judgements = tuple(Judgement(t + 1, r, parse_rating(r)) for t, r in enumerate(replies))
    return DialogueOutcome(item, response="a2", answers=("a1", "a2"), judgements=judgements)


def test_unparseable_judgements_are_counted_not_scored():
    metric = get_metric("mt_bench_score")
    outcomes = [_outcome(0, "math", ["[[8]]", "[[6]]"]), _outcome(1, "math", ["no idea", "[[4]]"]),
                _outcome(2, "writing", ["[[11]]", "nothing"])]
    samples = [metric.sample(o) for o in outcomes]
    assert samples == [7.0, 4.0, None]
    value = metric.aggregate(outcomes, samples, 0)
    assert value.value == pytest.approx(6.0) and value.n == 3       # mean of 8, 6, 4: judged turns, not items
    assert value.details["judgements"] == 6 and value.details["unparseable"] == 3
    assert value.details["turn_1"] == 8.0 and value.details["turn_2"] == 5.0


def test_judge_prompts_follow_fastchat():
    first = judge_messages(1, ["Q1", "Q2"], ["A1", "A2"])
    assert first[0] == {"role": "system", "content": "You are a helpful assistant."}
    assert first[1]["content"].startswith("[Instruction]\nPlease act as an impartial judge")
    assert first[1]["content"].endswith("[Question]\nQ1\n\n[The Start of Assistant's Answer]\nA1\n[The End of Assistant's Answer]")
    second = judge_messages(2, ["Q1", "Q2"], ["A1", "A2"], ["R1", "R2"])
    assert "focus on the assistant's answer to the second question" in second[0]["content"]
    assert second[1]["content"].startswith("<|The Start of Reference Answer|>\n\n### User:\nQ1\n\n### Reference answer:\nR1")
    assert second[1]["content"].endswith("### User:\nQ2\n\n### Assistant A:\nA2\n\n<|The End of Assistant A's Conversation with User|>")
    assert '"[[rating]]", for example: "Rating: [[5]]"' in second[0]["content"]
