"""``numbaot._device``: telling host from CUDA arrays without importing numba.cuda, and refusing mixed calls."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from numbaot import _device


class FakeCudaArray:
    """Anything exposing ``__cuda_array_interface__``, optionally with a ``.device.id`` (CuPy style)."""

    def __init__(self, shape=(3,), device_id=None, ndim=None):
        self.shape = tuple(shape)
        self.dtype = np.dtype(np.float64)
        self.ndim = len(self.shape) if ndim is None else ndim
        if device_id is not None:
            self.device = type("Device", (), {"id": device_id})()

    @property
    def __cuda_array_interface__(self):
        return {"shape": self.shape, "typestr": "<f8", "data": (0, False), "version": 3}


def _fake_in_module(module, **attrs):
    """A fake CUDA array class that claims to live in ``module`` (to exercise ``array_kind``)."""
    cls = type("ndarray", (FakeCudaArray,), dict(attrs))
    cls.__module__ = module
    return cls()


class FakeCUDAArray:
    """Looks like Numba's simulator array: no ``__cuda_array_interface__``, recognised by its class name."""

    shape = (2,)
    ndim = 1

    def copy_to_host(self):
        return np.array([1.0, 2.0])


@pytest.fixture
def simulator_env(monkeypatch):
    """``require_cuda`` accepts device arrays without touching a driver."""
    monkeypatch.setenv("NUMBA_ENABLE_CUDASIM", "1")


# ------------------------------------------------------------------------------------------------- is_cuda_array
@pytest.mark.parametrize("x", [None, 1, 2.5, 1j, "abc", b"ab", [1.0], (1.0,), np.ones(3), np.float64(1.0),
                               np.array(1.0), np.ones((2, 2), order="F")],
                         ids=lambda x: type(x).__name__)
def test_is_cuda_array_false_for_host_values(x):
    assert _device.is_cuda_array(x) is False
    assert _device.array_kind(x) == "host"


def test_is_cuda_array_true_for_interface_and_simulator():
    assert _device.is_cuda_array(FakeCudaArray()) is True
    assert _device.is_cuda_array(FakeCUDAArray()) is True


def test_is_cuda_array_reads_no_data():
    class Exploding(FakeCudaArray):
        def __array__(self, *args, **kwargs):
            raise AssertionError("copied to host")

    assert _device.is_cuda_array(Exploding())


# --------------------------------------------------------------------------------------------------- array_kind
@pytest.mark.parametrize("module, kind", [
    ("cupy._core.core", "cupy"),
    ("cupy", "cupy"),
    ("numba.cuda.cudadrv.devicearray", "numba"),
    ("torch", "cuda"),
    ("jaxlib.xla_extension", "cuda"),
])
def test_array_kind(module, kind):
    assert _device.array_kind(_fake_in_module(module)) == kind


def test_array_kind_simulator_and_plain_fake():
    assert _device.array_kind(FakeCUDAArray()) == "numba"
    assert _device.array_kind(FakeCudaArray()) == "cuda"


def test_simulator_detection_by_module():
    cls = type("DeviceNDArray", (), {"copy_to_host": lambda self: np.zeros(1)})
    cls.__module__ = "numba.cuda.simulator.cudadrv.devicearray"
    assert _device.is_cuda_array(cls()) and _device.array_kind(cls()) == "numba"
    no_copy = type("Other", (), {})
    no_copy.__module__ = "numba.cuda.simulator.api"
    assert not _device.is_cuda_array(no_copy())


# -------------------------------------------------------------------------------------------------------- where
def test_where_no_arrays_is_cpu():
    assert _device.where() == "cpu"
    assert _device.where(a=None, b=None) == "cpu"


def test_where_host_arrays_and_lists():
    assert _device.where(a=np.ones(3), b=[1.0, 2.0], M=np.ones((3, 2))) == "cpu"


def test_where_ignores_none_and_scalars(simulator_env):
    assert _device.where(a=np.ones(3), b=None, reg=0.5, n=3, flag=True, z=np.float64(2.0), t=np.array(3.0)) == "cpu"
    # Scalars next to device arrays do not count as host arguments.
    assert _device.where(x=FakeCudaArray(), reg=0.5, n=3, b=None, z=np.float32(1.0), t=np.array(1.0)) == "cuda"


def test_where_all_on_gpu(simulator_env):
    assert _device.where(a=FakeCudaArray(), b=FakeCudaArray(), M=FakeCudaArray((3, 3))) == "cuda"
    assert _device.where(a=FakeCudaArray(device_id=1), b=FakeCudaArray(device_id=1)) == "cuda"
    assert _device.where(a=FakeCudaArray(device_id=0), b=FakeCudaArray()) == "cuda"  # unknown id: no conflict
    assert _device.where(x=FakeCUDAArray(), y=FakeCudaArray()) == "cuda"


@pytest.mark.parametrize("arrays, pattern", [
    (dict(a=FakeCudaArray(), b=np.ones(3)), r"a on the GPU but b on the host"),
    (dict(a=np.ones(3), b=np.ones(2), M=FakeCudaArray((3, 2))), r"M on the GPU but a, b on the host"),
    (dict(x=FakeCudaArray(), y=FakeCudaArray(), w=[0.5, 0.5]), r"x, y on the GPU but w on the host"),
    (dict(x=FakeCUDAArray(), y=np.ones(2)), r"x on the GPU but y on the host"),
], ids=["gpu_first", "gpu_last", "list_is_host", "simulator_array"])
def test_where_mixing_raises(arrays, pattern):
    with pytest.raises(ValueError, match=rf"arguments live on different devices: {pattern}.*never copies"):
        _device.where(**arrays)


def test_where_two_gpus_raises():
    with pytest.raises(ValueError, match=r"arguments live on different GPUs: a on GPU 0, M on GPU 1; copy them"):
        _device.where(a=FakeCudaArray(device_id=0), b=FakeCudaArray(), M=FakeCudaArray(device_id=1))


def test_where_ignores_non_int_device_ids(simulator_env):
    fake = FakeCudaArray()
    fake.device = type("Device", (), {"id": "cuda:1"})()
    assert _device.where(a=fake, b=FakeCudaArray(device_id=0)) == "cuda"


def test_require_cuda_without_cuda_target_says_what_to_install(monkeypatch):
    import sys

    import numba

    monkeypatch.setenv("NUMBA_ENABLE_CUDASIM", "0")
    monkeypatch.delattr(numba, "cuda", raising=False)
    monkeypatch.setitem(sys.modules, "numba.cuda", None)  # `from numba import cuda` raises ImportError
    with pytest.raises(RuntimeError, match=r"Numba's CUDA target is not installed; install it with "
                                           r"`pip install numbaot\[cuda\]`"):
        _device.where(a=FakeCudaArray())
    assert _device.cuda_available() is False


# ------------------------------------------------------------------------------------------------------ to_host
def test_to_host_numpy_passthrough():
    x = np.arange(4.0)
    assert _device.to_host(x) is x
    F = np.asfortranarray(np.ones((2, 3)))
    assert _device.to_host(F) is F


def test_to_host_cupy_like_uses_get():
    fake = _fake_in_module("cupy._core.core", get=lambda self: np.array([1.0, 2.0]))
    np.testing.assert_array_equal(_device.to_host(fake), [1.0, 2.0])


def test_to_host_simulator_like_uses_copy_to_host():
    np.testing.assert_array_equal(_device.to_host(FakeCUDAArray()), [1.0, 2.0])


def test_to_caller_passthrough():
    x = np.ones(2)
    assert _device.to_caller(x, "numba") is x
    assert _device.to_caller(x, "host") is x
    assert _device.to_caller(None, "cupy") is None
    assert _device.to_caller(x, "cuda") is x


@pytest.mark.cuda
def test_simulator_or_real_device_arrays():
    from numba import cuda

    d = cuda.to_device(np.array([1.0, 2.0, 3.0]))
    assert _device.is_cuda_array(d)
    assert _device.array_kind(d) == "numba"
    assert _device.where(x=d, y=cuda.to_device(np.ones(2)), reg=1.0) == "cuda"
    with pytest.raises(ValueError, match=r"x on the GPU but y on the host"):
        _device.where(x=d, y=np.ones(2))
    np.testing.assert_array_equal(_device.to_host(d), [1.0, 2.0, 3.0])
    assert _device.cuda_available()


def test_cuda_available_without_driver_does_not_import_the_cuda_target():
    # Numba's CUDA target takes 0.5-0.8 s to import; with no driver library to load, the answer is known without it
    code = ("import sys, ctypes, numba\n"
            "numba.config.ENABLE_CUDASIM = 0\n"
            "def refuse(name, *a, **k):\n"
            "    raise OSError(name)\n"
            "ctypes.CDLL = refuse\n"
            "from numbaot import _device\n"
            "assert _device.cuda_available() is False\n"
            "assert 'numba.cuda' not in sys.modules, 'numba.cuda was imported'\n")
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CUDA_DRIVER", "NUMBA_ENABLE_CUDASIM")}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_driver_probe_defers_to_numba_when_told_where_the_driver_is(monkeypatch):
    monkeypatch.setenv("NUMBA_CUDA_DRIVER", "/opt/somewhere/libcuda.so")
    assert _device._driver_loadable() is True
    monkeypatch.delenv("NUMBA_CUDA_DRIVER")
    import ctypes

    def refuse(name, *args, **kwargs):
        raise OSError(name)

    monkeypatch.setattr(ctypes, "CDLL", refuse)
    assert _device._driver_loadable() is False


def test_driver_probe_looks_where_numba_looks(monkeypatch):
    # numba-cuda also loads the driver by full path from /usr/lib and /usr/lib64 (off the loader's path on some
    # distributions): found only there, the probe must still say yes
    import ctypes

    monkeypatch.delenv("NUMBA_CUDA_DRIVER", raising=False)
    tried = []

    def only_lib64(name, *args, **kwargs):
        tried.append(name)
        if name != "/usr/lib64/libcuda.so.1":
            raise OSError(name)

    monkeypatch.setattr(ctypes, "CDLL", only_lib64)
    assert _device._driver_loadable() is True
    assert tried[:3] == ["libcuda.so.1", "libcuda.so", "nvcuda.dll"]
