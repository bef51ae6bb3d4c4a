"""Host helpers of ``entropic._loop``."""
from __future__ import annotations

import numpy as np
import pytest

from numbaot.entropic._loop import TILE, transposed


@pytest.mark.parametrize("shape", [(0, 4), (3, 0), (1, 1), (TILE + 1, 2 * TILE - 3), (5, 3, TILE + 2), (2, 0, 3)])
def test_transposed_is_the_contiguous_transpose(shape):
    C = np.random.default_rng(0).random(shape).astype(np.float32)
    T = transposed(C)
    assert T.flags.c_contiguous and T.dtype == C.dtype
    np.testing.assert_array_equal(T, np.swapaxes(C, -1, -2))
