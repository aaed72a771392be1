from harness.models.hf.batching import CANDIDATES, cpu_batch_size, row_bytes


def test_row_bytes_is_dominated_by_fp32_logits():
    assert row_bytes(100, 1000, 64, 2, 2) == 100 * 1000 * 8 + 100 * 64 * 2 * 12 * 2 // 4


def test_cpu_batch_size_fits_a_quarter_of_available_memory():
    per_row = row_bytes(512, 49152, 576, 30, 2)
    assert cpu_batch_size(512, 49152, 576, 30, 2, available=4 * per_row * 16) == 16
    assert cpu_batch_size(512, 49152, 576, 30, 2, available=4 * per_row * 16 - 1) == 8
    assert cpu_batch_size(512, 49152, 576, 30, 2, available=1) == 1
    assert cpu_batch_size(8, 100, 8, 1, 2, available=1 << 40) == CANDIDATES[0]
