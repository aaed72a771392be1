"""MT-Bench's single-answer grading prompts (lm-sys/FastChat fastchat/llm_judge/data/judge_prompts.jsonl:
single-v1, single-math-v1, single-v1-multi-turn, single-math-v1-multi-turn), and how they are filled.

Turn 1 is judged on the first question and answer; turn 2 on the whole two-turn conversation, focusing on
the second answer. Questions with a reference answer (MT-Bench's math, reasoning and coding) use the
`math` variants, which show the reference.
"""
from __future__ import annotations

from collections.abc import Sequence

_RATE = ('After providing your explanation, you must rate the response on a scale of 1 to 10 by strictly '
         'following this format: "[[rating]]", for example: "Rating: [[5]]".')
_GENERAL = ("Your evaluation should consider factors such as the helpfulness, relevance, accuracy, depth, creativity, "
            "and level of detail of the response.")
_MATH = ("Your evaluation should consider correctness and helpfulness. You will be given a reference answer and "
         "the assistant's answer.")
_COMPARE = ("Begin your evaluation by comparing the assistant's answer with the reference answer. Identify and "
            "correct any mistakes. Be as objective as possible.")
_EXPLAIN = "Begin your evaluation by providing a short explanation. Be as objective as possible."
_JUDGE = "Please act as an impartial judge and evaluate the quality of the response provided by an AI assistant to the user question"

SINGLE_V1 = ("You are a helpful assistant.",
             f"[Instruction]\n{_JUDGE} displayed below. {_GENERAL} {_EXPLAIN} {_RATE}\n\n"
             "[Question]\n{question}\n\n[The Start of Assistant's Answer]\n{answer}\n[The End of Assistant's Answer]")
SINGLE_MATH_V1 = ("You are a helpful assistant.",
                  f"[Instruction]\n{_JUDGE} displayed below. {_MATH} {_COMPARE} {_RATE}\n\n"
                  "[Question]\n{question}\n\n[The Start of Reference Answer]\n{ref_answer_1}\n[The End of Reference Answer]"
                  "\n\n[The Start of Assistant's Answer]\n{answer}\n[The End of Assistant's Answer]")
_CONVERSATION = ("<|The Start of Assistant A's Conversation with User|>\n\n### User:\n{question_1}\n\n### Assistant A:\n"
                 "{answer_1}\n\n### User:\n{question_2}\n\n### Assistant A:\n{answer_2}\n\n"
                 "<|The End of Assistant A's Conversation with User|>")
SINGLE_V1_MULTI_TURN = (
    f"{_JUDGE} displayed below. {_GENERAL} You evaluation should focus on the assistant's answer to the second user "
    f"question. {_EXPLAIN} {_RATE}\n\n", _CONVERSATION)
SINGLE_MATH_V1_MULTI_TURN = (
    f"{_JUDGE}. {_MATH} You evaluation should focus on the assistant's answer to the second question. {_COMPARE} {_RATE}\n\n",
    "<|The Start of Reference Answer|>\n\n### User:\n{question_1}\n\n### Reference answer:\n{ref_answer_1}\n\n"
    "### User:\n{question_2}\n\n### Reference answer:\n{ref_answer_2}\n\n<|The End of Reference Answer|>\n\n\n"
    + _CONVERSATION)


def judge_messages(turn: int, questions: Sequence[str], answers: Sequence[str],
                   references: Sequence[str] = ()) -> list[dict[str, str]]:
    """System and user messages asking the judge to grade `turn` (1 or 2) of one conversation."""
    with_ref = len(references) >= turn
    if turn == 1:
        system, template = SINGLE_MATH_V1 if with_ref else SINGLE_V1
        fields = {"question": questions[0], "answer": answers[0]}
    else:
        system, template = SINGLE_MATH_V1_MULTI_TURN if with_ref else SINGLE_V1_MULTI_TURN
        fields = {"question_1": questions[0], "answer_1": answers[0], "question_2": questions[1], "answer_2": answers[1]}
    if with_ref:
        fields.update({f"ref_answer_{k + 1}": ref for k, ref in enumerate(references[:2])})
    return [{"role": "system", "content": system}, {"role": "user", "content": template.format(**fields)}]
