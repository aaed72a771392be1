"""Model loaders for the Ray tests, importable by Ray worker processes (tests/ is on their PYTHONPATH)."""
import os
from pathlib import Path

from harness.models.fake import FakeModel


class DyingOnceFake(FakeModel):
    """A fake whose worker process dies (os._exit) on its first log-likelihood call of the run, once.

    The marker file records the death, so the worker Ray restarts does not die again.
    """

    def __init__(self, marker: Path) -> None:
        super().__init__(seed=0, name="fake")
        self.marker = marker

    def loglikelihood(self, requests, progress=None):
        if not self.marker.exists():
            self.marker.write_text(str(os.getpid()))
            os._exit(1)
        return super().loglikelihood(requests, progress)


def dying_fake(spec, options):
    return DyingOnceFake(Path(os.environ["EVALH_TEST_DEATH_MARKER"]))


class TemplatedFake(FakeModel):
    """The fake with a chat template of its own, unlike the fake's plain one: a wrapper that failed to
    forward `chat_conversation` would show in every prompt."""

    def chat_conversation(self, messages):
        return "".join(f"[{m['role'].upper()}] {m['content']} [END]\n" for m in messages) + "[ASSISTANT]"


def templated_fake(spec, options):
    return TemplatedFake(name=spec)
