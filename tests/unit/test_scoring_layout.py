"""How scoring lays requests out in forward passes: row widths, rows a pass, and passes filled by tokens."""
import pytest

from harness.models.hf.scoring import ROW_STEP, fill_passes, pass_rows, score_width


@pytest.mark.parametrize("length, width", [(0, 16), (1, 16), (16, 16), (17, 24), (24, 24), (25, 32), (33, 48),
                                           (41, 48), (49, 64), (65, 72), (73, 80)])
def test_score_width_is_the_next_multiple_of_16_or_24(length, width):
    assert score_width(length) == width
    assert score_width(length, cap=20) == min(width, 20)


@pytest.mark.parametrize("width", [16, 24, 32, 48, 64, 72, 80, 96])
def test_a_pass_of_pass_rows_rows_fills_whole_tiles(width):
    assert pass_rows(width) in (1, 2, 3)
    assert pass_rows(width) * width % ROW_STEP == 0


def test_fill_passes_packs_by_tokens_longest_first_and_keeps_each_pass_in_order():
    lengths = {"a": 40, "b": 10, "c": 30, "d": 20, "e": 25, "f": 19}
    passes = fill_passes(list(lengths), lengths.get, batch_size=2)  # average 24 -> 2 x 24 = 48 tokens a pass
    assert sorted(m for p in passes for m in p) == sorted(lengths)
    assert all(sum(lengths[m] for m in p) <= 48 for p in passes)
    # longest first, each into the first pass with room: a 40 | c 30 | e 25, d 20 | f 19 (a new pass), b 10 joins c
    assert passes == [["a"], ["b", "c"], ["d", "e"], ["f"]]
    assert all(p == sorted(p) for p in passes)  # members keep their order within a pass


def test_fill_passes_gives_a_member_longer_than_the_budget_a_pass_of_its_own():
    lengths = {"long": 500, "x": 10, "y": 12, "z": 8}
    passes = fill_passes(list(lengths), lengths.get, batch_size=1)  # budget: 1 x 132.5 -> 144
    assert passes[0] == ["long"]
    assert passes[1:] == [["x", "y", "z"]]


def test_fill_passes_of_nothing_is_nothing():
    assert fill_passes([], len, batch_size=8) == []


def test_shared_branches_share_the_start_of_runs_of_contexts_that_begin_alike():
    from harness.models.hf.scoring import shared_branches

    a = tuple(range(10))            # a and b share 8 tokens, c shares 3 with them, d and e share 6
    rests = [a + (1, 2), (7, 7, 7), a[:8] + (5,), a[:3] + (9, 9, 9, 9), (4,) * 6 + (1,), (4,) * 6 + (2, 2)]
    assert shared_branches(rests, least=8) == [8, 0, 8, 0, 0, 0]
    assert shared_branches(rests, least=6) == [8, 0, 8, 0, 6, 6]
    # a run of three shares what all three have in common
    assert shared_branches(rests, least=3) == [3, 0, 3, 3, 6, 6]
    # a context that is the start of another keeps its last token for itself
    assert shared_branches([a, a + (1,)], least=4) == [9, 9]
    assert shared_branches([a[:4], a + (1,)], least=4) == [0, 0]
    assert shared_branches([], least=4) == []
    assert shared_branches([a], least=4) == [0]
