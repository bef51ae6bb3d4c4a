"""Helpers shared by the CUDA twin tests."""
from __future__ import annotations

import pytest


def same_error(cpu_call, gpu_call):
    """The GPU path raises the same ValueError, word for word, as the CPU path."""
    with pytest.raises(ValueError) as cpu_err:
        cpu_call()
    with pytest.raises(ValueError) as gpu_err:
        gpu_call()
    assert str(gpu_err.value) == str(cpu_err.value)
