"""Launch configuration, streams and array wrapping: the only module of numbaot that knows how CUDA work is started.

Every other module of ``numbaot.cuda`` asks this one for a grid (:func:`grid_1d`), for the stream
to launch on (:func:`stream_of`), for a Numba view of a caller's array (:func:`wrap`), for new device arrays
(:func:`empty`) and for the answer in the caller's kind of array (:func:`to_caller`). Keeping this in one place lets
the backend (numba-cuda today) move without touching a solver.
"""
from __future__ import annotations

import math

import numpy as np
from numba import cuda

from .. import _config, _device

#: The most threads a CUDA block may have; shared-memory buffers of the reduction kernels are sized by it.
MAX_THREADS_PER_BLOCK = 1024


def threads_per_block() -> int:
    """The block size, read from ``numbaot._config.CUDA_THREADS_PER_BLOCK`` at call time (tests patch it).

    Raises
    ------
    ValueError
        When the setting is outside ``[1, 1024]``, the range CUDA allows.
    """
    tpb = _config.CUDA_THREADS_PER_BLOCK
    if isinstance(tpb, bool) or not isinstance(tpb, (int, np.integer)) or not 1 <= tpb <= MAX_THREADS_PER_BLOCK:
        raise ValueError(
            f"numbaot._config.CUDA_THREADS_PER_BLOCK (env NUMBAOT_CUDA_TPB) must be an integer in "
            f"[1, {MAX_THREADS_PER_BLOCK}], got {tpb!r}"
        )
    return int(tpb)


def launch_flat(kernel, size, stream, *args):
    """``kernel`` on a 1D grid of at least ``size`` threads (see :func:`grid_1d`), on ``stream``."""
    blocks, threads = grid_1d(size)
    kernel[blocks, threads, stream](*args)


def grid_1d(n: int) -> tuple[int, int]:
    """``(blocks, threads)`` covering ``n`` work items, one per thread.

    A block is never larger than the work (tiny inputs then launch few idle threads, which also keeps the CUDA
    simulator fast); kernels guard their index anyway.
    """
    threads = max(1, min(threads_per_block(), int(n)))
    return max(1, math.ceil(int(n) / threads)), threads


def wrap(x):
    """A Numba device array viewing the caller's CUDA array, without a copy.

    Numba device arrays and simulator arrays pass through; CuPy and other ``__cuda_array_interface__`` objects are
    wrapped with ``cuda.as_cuda_array`` (which synchronises on the stream the interface names, if any).
    """
    if x is None:
        return None
    kind = _device.array_kind(x)
    if kind == "host":
        raise TypeError(f"expected a CUDA array, got {type(x).__name__}")
    if kind == "numba" or not hasattr(x, "__cuda_array_interface__"):
        return x
    return cuda.as_cuda_array(x)


def caller_kind(*arrays) -> str:
    """The kind (see ``_device.array_kind``) of the first CUDA array given: answers are returned as that kind."""
    for x in arrays:
        if x is not None and _device.is_cuda_array(x):
            return _device.array_kind(x)
    return "numba"


def stream_of(*arrays):
    """The stream to launch on: the first one named by a caller's array, else the default stream.

    A Numba device array carries its stream object; other arrays name it in ``__cuda_array_interface__['stream']``
    (1 = legacy default stream, 2 = per-thread default stream, any other integer a ``cudaStream_t`` pointer).
    """
    for x in arrays:
        if x is None or not _device.is_cuda_array(x):
            continue
        own = getattr(x, "stream", 0)
        if _device.array_kind(x) == "numba" and own not in (0, None) and not isinstance(own, int):
            return own
        interface = getattr(x, "__cuda_array_interface__", None)
        ptr = None if interface is None else interface.get("stream")
        if ptr is None or isinstance(ptr, bool):
            continue
        if ptr == 1:
            return cuda.legacy_default_stream()
        if ptr == 2:
            return cuda.per_thread_default_stream()
        return cuda.external_stream(int(ptr))
    return cuda.default_stream()


def empty(shape, dtype, stream):
    """A new, uninitialised C-contiguous device array on ``stream``."""
    return cuda.device_array(shape, dtype=np.dtype(dtype), stream=stream)


def scalar_to_host(d_array, index: int, stream):
    """Copy one element of a 1D device array back (a one-element slice, so never the whole array)."""
    host = d_array[index:index + 1].copy_to_host(stream=stream)
    stream.synchronize()
    return host[0]


def small_to_host(d_array, stream):
    """Copy a small device array (per-block partials, a few scalars) to the host and wait for it."""
    host = d_array.copy_to_host(stream=stream)
    stream.synchronize()
    return host


def to_caller(x, kind: str):
    """Return the Numba device array ``x`` as the caller's kind of array, without a copy (CuPy in, CuPy out)."""
    return _device.to_caller(x, kind)


@cuda.jit
def _fill_1d_kernel(out, value):
    i = cuda.grid(1)
    if i < out.shape[0]:
        out[i] = value


@cuda.jit
def _fill_2d_kernel(out, value):
    t = cuda.grid(1)
    d = out.shape[1]
    if t < out.shape[0] * d:
        i = t // d
        out[i, t - i * d] = value


def fill(out, value, stream):
    """Set every entry of the (n,) or (n, d) device array ``out`` to ``value``, on ``stream``; returns ``out``."""
    if out.ndim == 1:
        launch_flat(_fill_1d_kernel, out.shape[0], stream, out, value)
    else:
        launch_flat(_fill_2d_kernel, out.shape[0] * out.shape[1], stream, out, value)
    return out


@cuda.jit
def _copy_1d_kernel(x, out):
    i = cuda.grid(1)
    if i < x.shape[0]:
        out[i] = x[i]


@cuda.jit
def _copy_2d_kernel(x, out):
    t = cuda.grid(1)
    d = x.shape[1]
    if t < x.shape[0] * d:
        i = t // d
        k = t - i * d
        out[i, k] = x[i, k]


def cast(x, dtype, stream):
    """A C-contiguous copy, made on the device, of the (n,) or (n, d) device array ``x`` in ``dtype`` (the
    kernels' writes convert), on ``stream``."""
    out = empty(x.shape, dtype, stream)
    if x.ndim == 1:
        launch_flat(_copy_1d_kernel, x.shape[0], stream, x, out)
    else:
        launch_flat(_copy_2d_kernel, x.shape[0] * x.shape[1], stream, x, out)
    return out


def as_float64_2d(x, stream):
    """A C-contiguous float64 copy, made on the device, of a (n,) or (n, d) device array, as shape (n, d).

    Kernels then read one layout and one dtype whatever the caller passed (strided views, float32), and compute in
    float64 as the CPU cores do.
    """
    out = cast(x, np.float64, stream)
    return out if x.ndim == 2 else out.reshape(int(x.shape[0]), 1)
