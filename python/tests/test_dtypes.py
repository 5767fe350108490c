import numpy as np
import pytest

from bpt import dtypes
from bpt.errors import BPTError


def test_bf16_round_trip_is_exact_for_bf16_values():
    vals = np.array([0.0, 1.0, -2.5, 3.140625, 65280.0, -1e-3], np.float32)
    once = dtypes.from_bf16(dtypes.to_bf16(vals))
    assert np.array_equal(dtypes.from_bf16(dtypes.to_bf16(once)), once)


def test_bf16_rounds_to_nearest_even():
    # 1 + 2^-8 lies halfway between bf16 1.0 and 1 + 2^-7: ties go to even.
    assert dtypes.from_bf16(dtypes.to_bf16(np.float32(1 + 2**-8))) == 1.0
    # 1 + 3 * 2^-8 lies halfway between 1 + 2^-7 and 1 + 2^-6: to even.
    assert dtypes.from_bf16(dtypes.to_bf16(np.float32(1 + 3 * 2**-8))) == \
        np.float32(1 + 2**-6)
    # Just above the halfway point rounds up.
    assert dtypes.from_bf16(dtypes.to_bf16(np.float32(1 + 2**-8 + 2**-12))) \
        == np.float32(1 + 2**-7)


def test_bf16_keeps_infinities_and_nan():
    out = dtypes.from_bf16(dtypes.to_bf16(
        np.array([np.inf, -np.inf, np.nan], np.float32)))
    assert out[0] == np.inf and out[1] == -np.inf and np.isnan(out[2])


def test_unknown_element_type_is_a_clear_error():
    with pytest.raises(BPTError, match="element type f8 is not supported"):
        dtypes.storage("f8")
