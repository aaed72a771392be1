"""TaskProgress: items (not requests) on a bar, and outside a terminal a line per 10% of items or per 30 s."""
import time

from harness.progress import TaskProgress


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_log_lines_per_tenth_of_items_and_per_30_seconds():
    lines, clock = [], Clock()
    progress = TaskProgress("t", items=10, requests=40, bar=False, log=lines.append, clock=clock)
    for step in range(40):  # one request at a time, 1 s each
        clock.now += 1
        progress.update(1)
    progress.close()
    assert [line.split(" (")[0] for line in lines] == [f"t: {k}/10 items" for k in range(1, 11)]
    assert lines[-1] == "t: 10/10 items (100%, 40s)"

    lines.clear()
    clock = Clock()
    slow = TaskProgress("slow", items=1000, requests=1000, bar=False, log=lines.append, clock=clock)
    for _ in range(3):  # 3 items in 45 s: a tenth is far off, so the 30 s line is the sign of life
        clock.now += 15
        slow.update(1)
    slow.close()
    assert lines == ["slow: 2/1000 items (0%, 30s)"]


def test_a_line_every_30_seconds_while_nothing_finishes():
    lines, clock = [], Clock()
    progress = TaskProgress("gen", items=10, requests=10, bar=False, log=lines.append, clock=clock, heartbeat=0.01)
    try:
        clock.now = 31.0  # no request has finished: the background thread says so
        deadline = time.monotonic() + 5
        while not lines and time.monotonic() < deadline:
            time.sleep(0.01)
        assert lines == ["gen: 0/10 items (0%, 31s)"]
    finally:
        progress.close()


def test_bar_counts_items(capsys):
    with TaskProgress("t", items=10, requests=40, bar=True, log=None) as progress:
        progress.update(20)
        assert (progress.bar.n, progress.bar.total, progress.bar.unit) == (5, 10, "item")
        progress.update(20)
        assert progress.bar.n == 10
    assert "0/10 [" in capsys.readouterr().err
