"""Progress of a task, in items: a tqdm bar on a terminal, a log line per 10% or per 30 s elsewhere.

The runner counts requests as the model answers them; a task's items are shown as the share of its
requests answered (an item is one question, one translation, ...; `--limit 10` shows 10 items), so
requests answered by the memo or the response cache count at once.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable

LOG_EVERY_TENTHS = 1  # a line per tenth of the items
LOG_EVERY_SECONDS = 30.0

QUIET_LIBRARIES = {
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # huggingface_hub downloads, and transformers' "Loading weights"
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",  # datasets' map/load bars
    "TQDM_DISABLE": "1",  # any other tqdm bar left on by default (the GGUF conversion's); ours set `disable`
}


def quiet_other_libraries() -> None:
    """Silence other libraries' progress bars for this process, unless the environment already decides;
    called by `evalh run` before those libraries are imported, so that evalh's own progress is the only one."""
    for key, value in QUIET_LIBRARIES.items():
        os.environ.setdefault(key, value)


class TaskProgress:
    """`update(n)` with requests answered; shows `items` scaled from `requests`.

    With `bar` a tqdm bar is drawn on stderr; otherwise `log` gets a line whenever another 10% of the
    items is done, and from a background thread (woken every `heartbeat` seconds) whenever 30 s have
    passed since the last line, so a long stretch with nothing finished (generation finishes its rows
    together) still shows the task is alive.
    """

    def __init__(self, task: str, items: int, requests: int, *, bar: bool, log: Callable[[str], None] | None,
                 clock: Callable[[], float] = time.monotonic, heartbeat: float = 5.0) -> None:
        self.task, self.items, self.requests = task, items, max(requests, 1)
        self.log, self.clock = log, clock
        self.answered, self.shown = 0, 0
        self.started = self.last_line = clock()
        self.next_tenth = LOG_EVERY_TENTHS
        self.bar = None
        self._lock, self._stop = threading.Lock(), threading.Event()
        if not bar and log is not None and items:
            threading.Thread(target=self._beat, args=(heartbeat,), daemon=True).start()
        if bar:
            from tqdm import tqdm

            self.bar = tqdm(total=items, desc=task, unit="item", leave=False, file=sys.stderr, disable=False)

    def update(self, answered: int) -> None:
        """`answered` more requests of this task have their responses."""
        with self._lock:
            self._update(answered)

    def _beat(self, every: float) -> None:
        while not self._stop.wait(every):
            with self._lock:
                now = self.clock()
                if now - self.last_line >= LOG_EVERY_SECONDS:
                    self._line(self.shown, now)

    def _update(self, answered: int) -> None:
        self.answered = min(self.requests, self.answered + answered)
        done = self.items * self.answered // self.requests
        if self.bar is not None:
            self.bar.update(done - self.shown)
        elif self.log is not None and self.items:
            now = self.clock()
            if done * 10 >= self.next_tenth * self.items or now - self.last_line >= LOG_EVERY_SECONDS:
                self._line(done, now)
        self.shown = done

    def _line(self, done: int, now: float) -> None:
        self.log(f"{self.task}: {done}/{self.items} items ({done / self.items:.0%}, {now - self.started:.0f}s)")
        self.last_line = now
        self.next_tenth = done * 10 // self.items + LOG_EVERY_TENTHS

    def close(self) -> None:
        self._stop.set()
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> TaskProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
