"""Device-side validation reductions and launch helpers (simulator or GPU)."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from numbaot import _config, _validation as V

pytestmark = pytest.mark.cuda


def dev(x):
    from numba import cuda

    return cuda.to_device(np.ascontiguousarray(x))


def test_weight_stats_match_host(small_blocks):
    from numbaot.cuda import _checks, _launch

    rng = np.random.default_rng(0)
    w = rng.random((21, 3))
    w[[4, 17], 0] = -0.5  # tied minimum in two blocks: the first index wins
    w[13, 1] = np.nan
    w[19, 1] = np.inf
    w[2, 2] = -np.inf
    stream = _launch.stream_of()
    got = _checks.weight_stats_cuda(dev(w), stream)
    for t in range(3):
        ref = V.weight_stats(w[:, t])
        assert got[t].n_nonfinite == ref.n_nonfinite
        assert got[t].first_nonfinite == ref.first_nonfinite
        assert got[t].argmin == ref.argmin and got[t].min_value == ref.min_value
        if not ref.n_nonfinite:
            np.testing.assert_allclose([got[t].total, got[t].abs_total], [ref.total, ref.abs_total], rtol=1e-13)


def test_check_weight_columns_clips_noise_and_names_columns(small_blocks):
    from numbaot.cuda import _checks, _launch

    stream = _launch.stream_of()
    w = np.ones((10, 2))
    w[9, 1] = -1e-15
    d = dev(w)
    with pytest.warns(V.InputWarning, match=r"w\[:, 1\] has negative entries"):
        sums = _checks.check_weight_columns(d, d, ["w[:, 0]", "w[:, 1]"], stream)
    np.testing.assert_array_equal(sums, [10.0, 9.0])
    assert d.copy_to_host()[9, 1] == 0.0
    w[3, 0] = -0.25
    with pytest.raises(ValueError, match=r"w\[:, 0\]\[3\] = -0.25 is negative"):
        _checks.check_weight_columns(dev(w), dev(w), ["w[:, 0]", "w[:, 1]"], stream)


def test_points_finite_and_max_abs(small_blocks):
    from numbaot.cuda import _checks, _launch

    stream = _launch.stream_of()
    x = np.linspace(-3.0, 2.0, 26).reshape(13, 2)
    assert _checks.point_stats_cuda(dev(x), stream) == (0, -1, 3.0)
    x[11, 1] = np.nan
    x[12, 0] = np.inf
    assert _checks.point_stats_cuda(dev(x), stream)[:2] == (2, 23)
    with pytest.raises(ValueError, match=r"^x\[\(11, 1\)\] is nan; x must be finite"):
        _checks.check_points_cuda(dev(x), dev(x), "x", stream)


def test_launch_config(small_blocks, monkeypatch):
    from numbaot.cuda import _launch

    assert _launch.threads_per_block() == 8
    assert _launch.grid_1d(17) == (3, 8)
    assert _launch.grid_1d(3) == (1, 3)
    monkeypatch.setattr(_config, "CUDA_THREADS_PER_BLOCK", 2048)
    with pytest.raises(ValueError, match="CUDA_THREADS_PER_BLOCK"):
        _launch.grid_1d(10)


def test_wrap_and_float64_copy(small_blocks):
    from numbaot.cuda import _launch

    d = dev(np.arange(10, dtype=np.float32))
    assert _launch.wrap(d) is d
    assert _launch.caller_kind(None, d) == "numba"
    with pytest.raises(TypeError):
        _launch.wrap(np.zeros(3))
    stream = _launch.stream_of(d)
    out = _launch.as_float64_2d(d[::3], stream)  # strided float32 view -> contiguous float64 (n, 1)
    assert out.dtype == np.float64 and tuple(out.shape) == (4, 1)
    np.testing.assert_array_equal(out.copy_to_host()[:, 0], [0.0, 3.0, 6.0, 9.0])


def test_device_int_array_is_a_type_error():
    import numbaot

    with pytest.raises(TypeError, match="float32 or float64"):
        numbaot.emd_1d(dev(np.arange(3)), dev(np.arange(3.0)))


def test_importing_numbaot_does_not_import_numba_cuda():
    code = "import sys, numbaot, numbaot.exact.api, numbaot.utils; print('numba.cuda' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
