"""Where arrays live, and how answers go back to the caller's kind of array.

Nothing here imports ``numba.cuda`` or CuPy at module level: telling a CUDA array from a host array only needs
``__cuda_array_interface__`` (CuPy, Numba device arrays, PyTorch, JAX ...) or, under Numba's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``), the simulator's own array class, which has no such interface.
"""
from __future__ import annotations

import os

CPU = "cpu"
CUDA = "cuda"


def _is_simulator_array(x) -> bool:
    cls = type(x)
    return cls.__name__ == "FakeCUDAArray" or (
        "numba" in cls.__module__ and "simulator" in cls.__module__ and hasattr(x, "copy_to_host")
    )


def is_cuda_array(x) -> bool:
    """True for anything that lives on an NVIDIA GPU (or on the CUDA simulator)."""
    if x is None or isinstance(x, (int, float, complex, str, bytes, list, tuple)):
        return False
    return hasattr(x, "__cuda_array_interface__") or _is_simulator_array(x)


def array_kind(x) -> str:
    """'cupy', 'numba' (Numba device array or simulator array), 'cuda' (other CUDA array) or 'host'."""
    if not is_cuda_array(x):
        return "host"
    module = type(x).__module__
    if module.startswith("cupy"):
        return "cupy"
    if module.startswith("numba") or _is_simulator_array(x):
        return "numba"
    return "cuda"


def _device_id(x):
    """The GPU ordinal of a CUDA array where it can be read without a driver call, else None."""
    device = getattr(x, "device", None)
    ident = getattr(device, "id", None)
    if isinstance(ident, int):
        return ident
    return None


def where(**arrays) -> str:
    """Return ``"cpu"`` or ``"cuda"`` for the named arrays, ignoring ``None`` and Python scalars.

    Raises
    ------
    ValueError
        When host and device arrays are mixed, or device arrays live on different GPUs; the message names
        which argument lives where so the caller can move one of them explicitly (we never copy silently).
    """
    places = {name: is_cuda_array(x) for name, x in arrays.items() if x is not None and not _is_scalar(x)}
    if not places:
        return CPU
    on_gpu = [name for name, gpu in places.items() if gpu]
    on_host = [name for name, gpu in places.items() if not gpu]
    if on_gpu and on_host:
        raise ValueError(
            f"arguments live on different devices: {', '.join(on_gpu)} on the GPU but {', '.join(on_host)} on the "
            "host; move them to one device first (e.g. cupy.asarray(x) or cupy.asnumpy(x)); numbaot never copies "
            "between host and GPU silently"
        )
    if on_gpu:
        ids = {name: _device_id(arrays[name]) for name in on_gpu}
        known = {i for i in ids.values() if i is not None}
        if len(known) > 1:
            detail = ", ".join(f"{name} on GPU {i}" for name, i in ids.items() if i is not None)
            raise ValueError(f"arguments live on different GPUs: {detail}; copy them to one device first")
        require_cuda()
        return CUDA
    return CPU


def _is_scalar(x) -> bool:
    return isinstance(x, (int, float, bool)) or (hasattr(x, "ndim") and x.ndim == 0 and not is_cuda_array(x))


def require_cuda() -> None:
    """Raise a clear error when CUDA arrays were given but no usable CUDA target is installed or present."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM", "0") == "1":
        return
    try:
        from numba import cuda
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise RuntimeError(
            "GPU arrays were given but Numba's CUDA target is not installed; install it with "
            "`pip install numbaot[cuda]` (numba-cuda), or pass numpy arrays to solve on the CPU"
        ) from exc
    if not cuda.is_available():  # pragma: no cover - needs a machine without a GPU but with CUDA arrays
        raise RuntimeError(
            "GPU arrays were given but no CUDA GPU or driver is usable by Numba; check `numbaot info`, or pass "
            "numpy arrays to solve on the CPU"
        )


#: The CUDA driver library where Numba's CUDA target also looks for it: by name on the loader's path (Linux, WSL
#: through ld.so.conf, Windows), then by full path in /usr/lib and /usr/lib64, which numba-cuda tries too (a driver
#: only there, off the loader's path, must not read as no GPU).
_DRIVER_NAMES = ("libcuda.so.1", "libcuda.so", "nvcuda.dll") + tuple(
    os.path.join(folder, name) for folder in ("/usr/lib", "/usr/lib64") for name in ("libcuda.so.1", "libcuda.so"))


def _driver_loadable() -> bool:
    """True when the CUDA driver library loads, or when Numba is told where it is (``NUMBA_CUDA_DRIVER``, in the
    environment or in Numba's configuration file).

    Importing Numba's CUDA target costs 0.5-0.8 s (numba-cuda imports ml_dtypes and its typing tables); without a
    driver it could only answer no, so :func:`cuda_available` asks this first (``numbaot info`` answers in well
    under a second on a machine without a GPU).
    """
    import numba

    if os.environ.get("NUMBA_CUDA_DRIVER") or getattr(numba.config, "CUDA_DRIVER", ""):
        return True
    import ctypes

    for name in _DRIVER_NAMES:
        try:
            ctypes.CDLL(name)
            return True
        except OSError:
            continue
    return False


def cuda_available() -> bool:
    """True when Numba's CUDA target imports and sees a GPU (or the simulator is switched on)."""
    import numba

    if not numba.config.ENABLE_CUDASIM and not _driver_loadable():
        return False
    try:
        from numba import cuda
    except ImportError:
        return False
    try:
        return bool(cuda.is_available())
    except Exception:  # pragma: no cover - driver errors vary by platform
        return False


def to_host(x):
    """Copy a CUDA array (any kind) to a numpy array; numpy arrays pass through."""
    kind = array_kind(x)
    if kind == "host":
        return x
    if kind == "cupy":
        return x.get()
    if kind == "numba":
        return x.copy_to_host()
    from numba import cuda

    return cuda.as_cuda_array(x).copy_to_host()


def to_caller(x, kind: str):
    """Return the device array ``x`` (a Numba device array) as the caller's ``kind`` of array, without a copy."""
    if x is None or kind in ("numba", "host"):
        return x
    if kind == "cupy":
        import cupy

        return cupy.asarray(x)
    return x
