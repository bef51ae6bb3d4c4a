"""Tunables, read on the host only and passed into jitted code as arguments.

Jitted code never reads these module globals: Numba freezes globals at compile time, and a cached function that read
them would silently keep a stale value.
"""
from __future__ import annotations

import os
import threading


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ValueError(f"environment variable {name} must be an integer, got {value!r}") from exc


#: On-disk caching of compiled cores (``NUMBAOT_CACHE=0`` switches it off); where: :func:`cache_dir`.
CACHE = os.environ.get("NUMBAOT_CACHE", "1") != "0"

_CACHE_DIR_UNSET = object()
_cache_dir = _CACHE_DIR_UNSET


def _user_cache_root() -> str:
    """The platform's per-user cache folder: ``%LOCALAPPDATA%`` on Windows, ``~/Library/Caches`` on macOS,
    ``$XDG_CACHE_HOME`` or ``~/.cache`` elsewhere."""
    import sys

    if sys.platform == "win32":
        return os.environ.get("LOCALAPPDATA") or os.path.join(os.path.expanduser("~"), "AppData", "Local")
    if sys.platform == "darwin":
        return os.path.join(os.path.expanduser("~"), "Library", "Caches")
    return os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")


def _writable(path: str) -> bool:
    """True when ``path`` is (or can be made) a folder we can create files in (tried, not guessed: a read-only
    file system refuses root too)."""
    import tempfile

    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
        return True
    except OSError:
        return False


def cache_dir() -> str | None:
    """The folder numbaot's compiled cores are cached in, or None when caching is off; decided once per process.

    ``NUMBAOT_CACHE_DIR`` if set; else ``NUMBA_CACHE_DIR`` (Numba's own setting) if set; else ``numbaot`` in the
    platform's per-user cache folder, or, if that cannot be written, ``numbaot-cache-<user>`` in the temporary
    folder. Never inside the installed package: a read-only install keeps caching, and ``pip`` never meets files
    of ours in site-packages. When no candidate can be written (or ``NUMBAOT_CACHE=0``), caching is off; the first
    case warns once.
    """
    global _cache_dir
    if not CACHE:
        return None
    if _cache_dir is not _CACHE_DIR_UNSET:
        return _cache_dir
    import tempfile
    import warnings

    chosen = os.environ.get("NUMBAOT_CACHE_DIR") or os.environ.get("NUMBA_CACHE_DIR")
    if chosen:
        candidates = [os.path.abspath(os.path.expanduser(chosen))]
    else:
        try:
            user = str(os.getuid()) if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
        except Exception:  # pragma: no cover - getuid cannot fail on POSIX; a defensive fallback for odd platforms
            user = "user"
        candidates = [os.path.join(_user_cache_root(), "numbaot"),
                      os.path.join(tempfile.gettempdir(), f"numbaot-cache-{user}")]
    for path in candidates:
        if _writable(path):
            _cache_dir = path
            return path
    warnings.warn(f"numbaot: no writable cache folder (tried {', '.join(candidates)}); compiled code is not cached "
                  "and every process compiles again. Set NUMBAOT_CACHE_DIR to a writable folder.", RuntimeWarning,
                  stacklevel=2)
    _cache_dir = None
    return None

#: Sub-packages whose compiled code other parts inline: an edit in one of them (or in a top-level module) changes the
#: fingerprint of every cached function. Every other sub-package is a *family* (barycenters, sliced, partial, ...):
#: its functions are cached under the core's fingerprint plus its own files' (and those of the families it names),
#: so that editing one family recompiles that family only. Rule that keeps this sound: core code never inlines a
#: family's code (a family passes only core types into core loops); ``tests/test_config.py`` checks the imports.
CORE_SUBPACKAGES = frozenset({"entropic", "exact", "gromov", "cuda"})

#: Top-level modules of host code only (no compiled code, no constant that compiled code reads): left out of every
#: fingerprint, so that registering a name or a check recompiles nothing (``tests/test_config.py`` holds them to it).
HOST_ONLY_MODULES = frozenset({"__init__.py", "__main__.py", "cli.py", "_validation.py", "_warmup.py", "_result.py",
                               "_dispatch.py", "_device.py", "solvers.py", "_finish.py", "utils.py",
                               "autodiff.py"})

_stamps: dict = {}
_STAMP_LOCK = threading.Lock()


def _package_files(root: str | None = None) -> dict:
    """The ``.py`` files under ``root`` (numbaot's folder by default) grouped by part: "" for the core (top-level
    modules but HOST_ONLY_MODULES, and CORE_SUBPACKAGES), else the family's folder name. Values: sorted (relative
    path, path) pairs."""
    root = root or os.path.dirname(os.path.abspath(__file__))
    parts: dict = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        rel = os.path.relpath(folder, root)
        top = "" if rel == "." else rel.split(os.sep)[0]
        part = "" if top in CORE_SUBPACKAGES else top
        for name in files:
            if name.endswith(".py") and not (rel == "." and name in HOST_ONLY_MODULES):
                path = os.path.join(folder, name)
                parts.setdefault(part, []).append((os.path.relpath(path, root), path))
    return {part: sorted(entries) for part, entries in parts.items()}


def _families_named(entries, families) -> set:
    """The other families a family's files import (``numbaot.<family>`` or ``..<family>``), read from the text."""
    import re

    pattern = re.compile(r"(?:numbaot\.|from \.\.)(" + "|".join(map(re.escape, families)) + r")\b")
    found = set()
    for _, path in entries:
        with open(path, encoding="utf-8") as handle:
            found.update(pattern.findall(handle.read()))
    return found


def source_stamp(module: str = "numbaot") -> str:
    """The fingerprint that the compiled code of ``module`` (a dotted name) is cached under: the path, size and
    modification time of every ``.py`` file its code may inline (see ``_jit``). Computed once per family and process.

    Numba keys a cached function on its own file only, so a cached core would keep the old code of a helper it
    inlines from another file (an ``overload``: a Sinkhorn rule, a geometry's kernel) after that file changed. The
    fingerprint covers the core (top-level modules and ``CORE_SUBPACKAGES``) for every function, plus, for a
    function of a family, that family's folder and the families it imports: any change there, or a new version,
    starts from a fresh folder, and an edit in one family leaves the others' cache alone.
    """
    names = module.split(".")
    family = names[1] if len(names) > 2 and names[1] not in CORE_SUBPACKAGES else ""
    with _STAMP_LOCK:
        if family not in _stamps:
            _stamps[family] = _fingerprint(_package_files(), family)
        return _stamps[family]


def _fingerprint(files: dict, family: str) -> str:
    """``source_stamp``'s digest of the core's files and ``family``'s (with the families it imports, transitively)."""
    import hashlib

    families = [part for part in files if part]
    chosen, todo = {""}, [family]
    while todo:
        part = todo.pop()
        if part in chosen or part not in files:
            continue
        chosen.add(part)
        todo.extend(_families_named(files[part], [f for f in families if f != part]))
    digest = hashlib.sha1()
    for part in sorted(chosen):
        for rel, path in files.get(part, ()):
            st = os.stat(path)
            digest.update(f"{rel}:{st.st_size}:{st.st_mtime_ns};".encode())
    return "src-" + digest.hexdigest()[:16]


#: Threads per block of the CUDA kernels; tests patch it small so that tiny inputs span several blocks.
CUDA_THREADS_PER_BLOCK = _env_int("NUMBAOT_CUDA_TPB", 256)

#: Below this many points the 1D solver sorts its two inputs one after the other; above it, on two host threads
#: (numpy's sort releases the GIL). Measured in bench/bench_1d.py: the thread hand-off costs ~50 us.
PARALLEL_SORT_MIN = _env_int("NUMBAOT_PARALLEL_SORT_MIN", 50_000)

#: Dense outputs larger than this many bytes are refused with a ValueError that suggests a sparse or lazy output.
MAX_DENSE_BYTES = _env_int("NUMBAOT_MAX_DENSE_BYTES", 8 * 2**30)


def n_threads(requested: int | None = None) -> int:
    """The thread count to pass into parallel cores: ``requested`` if given, else Numba's current setting."""
    import numba

    available = numba.config.NUMBA_NUM_THREADS
    if requested is None:
        return int(numba.get_num_threads())
    import numbers

    if isinstance(requested, bool) or not isinstance(requested, numbers.Integral):
        raise TypeError(f"n_threads must be a positive int or None, got {requested!r}")
    if requested < 1:
        raise ValueError(f"n_threads must be >= 1, got {requested}")
    return min(int(requested), int(available))

#: Network simplex: relative tolerance on negative reduced costs, and the pricing block: NS_BLOCK_FACTOR *
#: sqrt(n m) arcs, at least NS_MIN_BLOCK. A factor of 0.5 beat 0.25, 1, 2 and 4 on random 2D clouds at n = 2000
#: and 4000 (more pivots, each priced faster; bench/RESULTS.md).
NS_TOL = 64 * 2.220446049250313e-16
NS_MIN_BLOCK = 10
NS_BLOCK_FACTOR = 0.5
#: Pricing blocks of at least this many arcs are split across threads. One parallel region per pivot costs ~10 us
#: on the 2-core reference machine: with the vectorised pricing (session 5) splitting lost below ~8000 arcs and won
#: from there on (bench_emd.py --pricing; at n = m = 10000, blocks of 5000 arcs, 6.6 s serial against 6.8-6.9 s
#: split; with the older pricing the break-even was ~4000 arcs).
NS_PARALLEL_MIN_BLOCK = _env_int("NUMBAOT_NS_PARALLEL_MIN_BLOCK", 8192)
