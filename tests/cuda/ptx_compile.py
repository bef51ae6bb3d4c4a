"""Compile numbaot's CUDA kernels to PTX for a real GPU, without one: the check the simulator cannot make.

Numba's CUDA simulator runs kernels as Python, so code that the CUDA compiler rejects (an unsupported numpy call in a
kernel, a type that does not unify, a device function that cannot be inlined) passes the simulator tests. This tool
closes that gap for every kernel the CUDA tests launch (with the argument types they launch it with), in two
steps:

1. ``record``: runs the CUDA tests under the simulator (``NUMBA_ENABLE_CUDASIM=1``) and records, for every kernel
   launch, the kernel's module, name and the Numba types of its arguments;
2. ``compile``: in a process without the simulator, compiles each recorded (kernel, signature) pair with
   ``numba.cuda.compile_ptx`` for a given compute capability (default 9.0, H100/H200). It needs NVVM (the
   ``ptx`` extra: ``pip install -e ".[ptx]"``) but no GPU and no driver.

Usage (from the repository root)::

    python tests/cuda/ptx_compile.py            # both steps; exit status 1 if any kernel fails to compile
    python tests/cuda/ptx_compile.py --cc 8 0   # for another architecture

The file is not collected by pytest (no ``test_`` prefix): it drives pytest itself.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class _Recorder:
    """A pytest plugin: wraps the simulator's kernel launch to record each launch's kernel and argument types."""

    def __init__(self, out_path):
        self.out_path = out_path
        self.seen = {}

    def pytest_configure(self, config):
        import numba
        from numba.cuda.simulator import kernel as sim_kernel

        seen = self.seen
        launch = sim_kernel.FakeCUDAKernel.__call__

        def recording_call(kernel, *args):
            fn = kernel.fn
            if fn.__module__.startswith("numbaot.") and not kernel._device:
                described = tuple(_describe(numba.typeof(getattr(a, "_ary", a))) for a in args)
                seen.setdefault((fn.__module__, fn.__qualname__, described), None)
            return launch(kernel, *args)

        sim_kernel.FakeCUDAKernel.__call__ = recording_call

    def pytest_unconfigure(self, config):
        with open(self.out_path, "w") as fh:
            json.dump([[module, name, [list(t) for t in described]] for module, name, described in self.seen], fh)


def record(out_path, pytest_args):
    """Step 1 (run under the simulator): the CUDA tests with the recorder plugged in."""
    import pytest

    return pytest.main(["-q", "-m", "cuda", "-p", "no:cacheprovider", *pytest_args], plugins=[_Recorder(out_path)])


def compile_all(records, cc):
    """Step 2 (no simulator): ``compile_ptx`` for every recorded signature; returns the failures."""
    from types import SimpleNamespace

    from numba import cuda
    from numba.cuda import dispatcher

    # Device functions called from a kernel are compiled for the current device's compute capability, which
    # needs a driver: answer with the target's instead (the only thing asked of the device there). If a
    # numba-cuda release moves this name, fail loudly rather than report every kernel as broken.
    if not hasattr(dispatcher, "get_current_device"):
        raise RuntimeError("numba.cuda.dispatcher.get_current_device is gone: update tests/cuda/ptx_compile.py "
                           "for this numba-cuda release")
    dispatcher.get_current_device = lambda: SimpleNamespace(compute_capability=cc)
    failures = []
    done = set()
    for module_name, qualname, arg_types in records:
        key = (module_name, qualname, tuple(map(tuple, arg_types)))
        if key in done:
            continue
        done.add(key)
        try:  # a kernel that cannot be found or typed is a failure to report, like one that does not compile
            kernel = importlib.import_module(module_name)
            for part in qualname.split("."):
                kernel = getattr(kernel, part)
            sig = tuple(_parse_type(t) for t in arg_types)
            options = {k: v for k, v in kernel.targetoptions.items() if k in ("fastmath", "lineinfo")}
            cuda.compile_ptx(kernel.py_func, sig, cc=cc, **options)
        except Exception as exc:  # noqa: BLE001 (report every failure, whatever its kind)
            failures.append(f"{module_name}.{qualname}{tuple(map(str, arg_types))}: {type(exc).__name__}: {exc}")
    return failures, len(done)


def _describe(t):
    """A JSON-able description of an argument's Numba type: ``("array", dtype, ndim, layout, readonly)`` or
    ``("scalar", name)``."""
    from numba.core import types

    if isinstance(t, types.Array):
        return ("array", str(t.dtype), t.ndim, t.layout, not t.mutable)
    return ("scalar", str(t))


def _parse_type(described):
    """The Numba type :func:`_describe` described."""
    from numba.core import types

    if described[0] == "array":
        _, dtype, ndim, layout, readonly = described
        return types.Array(getattr(types, dtype), ndim, layout, readonly=readonly)
    name = described[1]
    return {"bool": types.boolean, "none": types.none}.get(name) or getattr(types, name)


def _nvvm_available(cc):
    from numba import cuda

    try:
        cuda.compile_ptx(lambda x: x + 1, "float64(float64)", device=True, cc=cc)
    except Exception as exc:  # noqa: BLE001
        print(f"cannot compile to PTX here ({type(exc).__name__}: {str(exc).splitlines()[0]}); install NVVM and "
              'NVRTC with: python -m pip install -e ".[ptx]"')
        return False
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cc", nargs=2, type=int, default=[9, 0], help="compute capability (default 9 0)")
    parser.add_argument("--records", help="use (or keep) this record file instead of a temporary one")
    parser.add_argument("--step", choices=["record", "compile", "both"], default="both")
    args, pytest_args = parser.parse_known_args(argv)
    if args.step == "compile" and not args.records:
        parser.error("--step compile needs --records FILE (written by --step record)")
    path = args.records or os.path.join(tempfile.mkdtemp(), "kernels.json")
    if args.step in ("record", "both"):
        if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
            env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
            cmd = [sys.executable, __file__, "--step", "record", "--records", path, *pytest_args]
            code = subprocess.call(cmd, env=env, cwd=ROOT)
        else:
            code = int(record(path, pytest_args))
        if code != 0:
            print(f"recording under the simulator failed (pytest exit {code})")
            return 2
        if args.step == "record":
            return 0
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
        return subprocess.call([sys.executable, __file__, "--step", "compile", "--records", path,
                                "--cc", *map(str, args.cc)], env=env, cwd=ROOT)
    with open(path) as fh:
        records = json.load(fh)
    if not records:
        print("no kernel launch was recorded: the CUDA tests did not run under the simulator")
        return 2
    if not _nvvm_available(tuple(args.cc)):
        return 3
    failures, count = compile_all(records, tuple(args.cc))
    kernels = len({(m, q) for m, q, _ in records})
    print(f"compiled {count} signatures of {kernels} kernels for sm_{args.cc[0]}{args.cc[1]}: "
          f"{len(failures)} failed")
    for line in failures:
        print("  " + line)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    sys.exit(main())
