"""An item's context as lm-eval 0.4.x lays it out: messages, rendered as plain text or in a chat format.

The context is a list of messages (lm-eval's `fewshot_context` and `build_qa_turn`):

- a system message: the run's system instruction and the task's preamble (lm-eval's `description`),
  joined by the few-shot delimiter when neither has whitespace at the join;
- per few-shot example a user message (its prompt) and an assistant message (its answer);
- a user message with the item's prompt;
- with an answer prefix (lm-eval's `gen_prefix`, e.g. "Here is the completed function:"), an assistant
  message holding it, which the model continues; a few-shot example's answer then starts with it too.

As plain text each message is followed by its delimiter (the target delimiter after an example's prompt,
the few-shot delimiter after its answer, nothing after the system message or the item's prompt; before an
answer prefix, the target delimiter only where neither side has whitespace at the join). With
`--apply-chat-template` the messages go to the model's chat template: as they are with
`--fewshot-as-multiturn`, else with everything but the system message (and a final assistant message)
joined as plain text into one user turn (lm-eval's `multiturn_to_singleturn`). A conversation that ends in
an assistant message is continued from it rather than answered in a new turn (`ModelAdapter.chat_conversation`).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    """One message of a context, and what follows it when the context is plain text."""

    role: str
    content: str
    delimiter: str = ""


@dataclass(frozen=True)
class PromptFormat:
    """How contexts are rendered for one run.

    `chat` is the model's chat formatter (`ModelAdapter.chat_conversation`) under --apply-chat-template,
    else None (plain text); `multiturn` keeps few-shot examples as turns of the conversation;
    `system_instruction` opens every context (--system-instruction)."""

    system_instruction: str | None = None
    chat: Callable[[Sequence[Mapping[str, str]]], str] | None = None
    multiturn: bool = False


def join_delimited(prefix: str | None, suffix: str | None, delimiter: str) -> str:
    """`prefix` and `suffix` joined by `delimiter` unless either has whitespace at the join (lm-eval's
    `maybe_delimit`); either alone when the other is empty."""
    if not prefix:
        return suffix or ""
    if not suffix:
        return prefix
    return prefix + suffix if prefix[-1].isspace() or suffix[0].isspace() else prefix + delimiter + suffix


def render(messages: Sequence[Message], form: PromptFormat | None) -> str:
    """The context as the model sees it: plain text, or the chat formatter's string."""
    if form is None or form.chat is None:
        return "".join(m.content + m.delimiter for m in messages)
    if form.multiturn:
        return form.chat([{"role": m.role, "content": m.content} for m in messages])
    system = [m for m in messages[:1] if m.role == "system"]
    rest = list(messages[len(system):])
    opened = [rest.pop()] if len(rest) > 1 and rest[-1].role == "assistant" else []
    text = "".join(m.content + m.delimiter for m in rest[:-1]) + (rest[-1].content if rest else "")
    return form.chat([*({"role": "system", "content": m.content} for m in system), {"role": "user", "content": text},
                      *({"role": "assistant", "content": m.content} for m in opened)])
