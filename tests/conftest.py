"""Shared test settings: hypothesis profiles, tolerances per dtype, and the CUDA marker."""
from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# ci: tens of examples per property; thorough: thousands (HYPOTHESIS_PROFILE=thorough pytest ...).
settings.register_profile("ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

#: Tolerances per dtype: rtol, atol for values, plans and potentials.
TOL = {
    np.dtype(np.float64): dict(rtol=1e-10, atol=1e-12),
    np.dtype(np.float32): dict(rtol=1e-5, atol=1e-6),
}

SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM", "0") == "1"


def _cuda_usable() -> bool:
    if SIMULATOR:
        return True
    try:
        from numba import cuda

        return bool(cuda.is_available())
    except Exception:
        return False


def pytest_collection_modifyitems(config, items):
    """Tests marked `cuda` run under the simulator or on a real GPU, and are skipped elsewhere."""
    if _cuda_usable():
        return
    skip = pytest.mark.skip(reason="no CUDA GPU and NUMBA_ENABLE_CUDASIM is not 1")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def small_blocks(monkeypatch):
    """Patch the CUDA threads per block small, so that tiny inputs span several blocks."""
    from numbaot import _config

    monkeypatch.setattr(_config, "CUDA_THREADS_PER_BLOCK", 8)
    return 8
