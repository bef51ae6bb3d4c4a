"""``numbaot._config``: thread counts and environment parsing (host-side tunables)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numba
import numpy as np
import pytest

import numbaot
from numbaot import _config

REPO = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------------------------ n_threads
def test_n_threads_default_is_numba_setting():
    assert _config.n_threads() == numba.get_num_threads()
    assert _config.n_threads(None) == numba.get_num_threads()


def test_n_threads_follows_set_num_threads():
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        assert _config.n_threads() == 1
    finally:
        numba.set_num_threads(previous)


def test_n_threads_valid_and_capped():
    available = numba.config.NUMBA_NUM_THREADS
    assert _config.n_threads(1) == 1
    assert _config.n_threads(available) == available
    assert _config.n_threads(10**6) == available
    assert type(_config.n_threads(1)) is int


@pytest.mark.parametrize("value", [True, False, 1.0, 2.5, "2", [2], None.__class__, 1 + 0j],
                         ids=["True", "False", "float_1", "float_2.5", "str", "list", "type", "complex"])
def test_n_threads_type_error(value):
    with pytest.raises(TypeError, match=r"n_threads must be a positive int or None, got "):
        _config.n_threads(value)


@pytest.mark.parametrize("value", [0, -1, -(10**9)])
def test_n_threads_value_error(value):
    with pytest.raises(ValueError, match=rf"n_threads must be >= 1, got {value}"):
        _config.n_threads(value)


def test_n_threads_accepts_numpy_integers():
    assert _config.n_threads(np.int64(1)) == 1


@pytest.mark.parametrize("front", ["emd_1d", "emd2_1d", "wasserstein_1d", "solve_sample", "dist",
                                   "gromov_wasserstein2", "entropic_gromov_wasserstein2",
                                   "semirelaxed_gromov_wasserstein2"])
def test_front_ends_validate_n_threads(front):
    x, y = np.array([0.0, 1.0, 3.0]), np.array([0.5, 2.0])
    C1, C2 = numbaot.dist(x[:, None], x[:, None]), numbaot.dist(y[:, None], y[:, None])
    call = {
        "gromov_wasserstein2": lambda t: numbaot.gromov_wasserstein2(C1, C2, n_threads=t),
        "entropic_gromov_wasserstein2": lambda t: numbaot.entropic_gromov_wasserstein2(C1, C2, epsilon=1.0,
                                                                                       n_threads=t),
        "semirelaxed_gromov_wasserstein2": lambda t: numbaot.semirelaxed_gromov_wasserstein2(C1, C2, n_threads=t),
        "emd_1d": lambda t: numbaot.emd_1d(x, y, n_threads=t),
        "emd2_1d": lambda t: numbaot.emd2_1d(x, y, n_threads=t),
        "wasserstein_1d": lambda t: numbaot.wasserstein_1d(x[:, None], y[:, None], n_threads=t),
        "solve_sample": lambda t: numbaot.solve_sample(x, y, n_threads=t),
        "dist": lambda t: numbaot.dist(x, y, n_threads=t),
    }[front]
    with pytest.raises(ValueError, match=r"n_threads must be >= 1, got 0"):
        call(0)
    with pytest.raises(TypeError, match=r"n_threads must be a positive int or None, got 1\.5"):
        call(1.5)
    previous = numba.get_num_threads()
    call(1)
    assert numba.get_num_threads() == previous  # the caller's setting is restored


# ------------------------------------------------------------------------------------------------ env parsing
def test_env_int_default_when_unset_or_blank(monkeypatch):
    monkeypatch.delenv("NUMBAOT_TEST_INT", raising=False)
    assert _config._env_int("NUMBAOT_TEST_INT", 7) == 7
    monkeypatch.setenv("NUMBAOT_TEST_INT", "")
    assert _config._env_int("NUMBAOT_TEST_INT", 7) == 7
    monkeypatch.setenv("NUMBAOT_TEST_INT", "   ")
    assert _config._env_int("NUMBAOT_TEST_INT", 7) == 7


@pytest.mark.parametrize("text, value", [("12", 12), (" 64 ", 64), ("-3", -3), ("1_000", 1000)])
def test_env_int_parses(monkeypatch, text, value):
    monkeypatch.setenv("NUMBAOT_TEST_INT", text)
    assert _config._env_int("NUMBAOT_TEST_INT", 7) == value


@pytest.mark.parametrize("text", ["abc", "1.5", "8GiB", "0x10"])
def test_env_int_error_names_variable_and_value(monkeypatch, text):
    monkeypatch.setenv("NUMBAOT_TEST_INT", text)
    with pytest.raises(ValueError, match=rf"environment variable NUMBAOT_TEST_INT must be an integer, got "
                                         rf"'{text}'"):
        _config._env_int("NUMBAOT_TEST_INT", 7)


def _python(code, **env_overrides):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBAOT_")}
    env.update(env_overrides)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)


def test_env_tunables_read_at_import():
    proc = _python("""
        from numbaot import _config
        print(_config.CUDA_THREADS_PER_BLOCK, _config.PARALLEL_SORT_MIN, _config.MAX_DENSE_BYTES, _config.CACHE)
    """, NUMBAOT_CUDA_TPB="64", NUMBAOT_PARALLEL_SORT_MIN="10", NUMBAOT_MAX_DENSE_BYTES="4096", NUMBAOT_CACHE="0")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["64", "10", "4096", "False"]


def test_env_defaults():
    proc = _python("""
        from numbaot import _config
        print(_config.CUDA_THREADS_PER_BLOCK, _config.PARALLEL_SORT_MIN, _config.MAX_DENSE_BYTES, _config.CACHE)
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["256", "50000", str(8 * 2**30), "True"]


def test_bad_env_fails_import_with_clear_message():
    proc = _python("import numbaot", NUMBAOT_MAX_DENSE_BYTES="8GiB")
    assert proc.returncode != 0
    assert "environment variable NUMBAOT_MAX_DENSE_BYTES must be an integer, got '8GiB'" in proc.stderr


def test_max_dense_bytes_env_applies_to_front_ends():
    proc = _python("""
        import numbaot
        try:
            numbaot.dist([[0.0], [1.0]], [[0.0], [1.0], [2.0]])
        except ValueError as exc:
            print("refused:", exc)
        print(numbaot.emd_1d([0.0, 1.0], [0.0], dense=False).nnz)
    """, NUMBAOT_MAX_DENSE_BYTES="40")
    assert proc.returncode == 0, proc.stderr
    assert "refused: the cost matrix of shape (2, 3) needs" in proc.stdout
    assert proc.stdout.split()[-1] == "2"


# ------------------------------------------------------------------------------------------- cache fingerprints
def _tree(root, files):
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _stamps(root):
    files = _config._package_files(str(root))
    return {family: _config._fingerprint(files, family) for family in ["", "alpha", "beta", "gamma"]}


def test_fingerprint_scopes_edits_to_their_family(tmp_path):
    _tree(tmp_path, {"__init__.py": "", "_jit.py": "x = 1\n", "entropic/_loop.py": "y = 1\n",
                     "alpha/api.py": "z = 1\n", "beta/api.py": "from numbaot.alpha import api\n",
                     "gamma/_core.py": "w = 1\n"})
    before = _stamps(tmp_path)
    assert before["gamma"] != before[""] != before["alpha"]

    (tmp_path / "alpha" / "api.py").write_text("z = 2  # edited\n")  # a family: itself and who imports it
    after = _stamps(tmp_path)
    assert after[""] == before[""] and after["gamma"] == before["gamma"]
    assert after["alpha"] != before["alpha"] and after["beta"] != before["beta"]

    (tmp_path / "entropic" / "_loop.py").write_text("y = 22  # edited\n")  # the core: everyone
    again = _stamps(tmp_path)
    assert all(again[family] != after[family] for family in again)


def test_host_only_modules_hold_no_compiled_code():
    """HOST_ONLY_MODULES are left out of the fingerprints: they must not compile anything, and no compiled module may
    import a constant (an UPPER_CASE name) from them."""
    import ast
    import re

    root = Path(_config.__file__).parent
    for name in _config.HOST_ONLY_MODULES:
        source = (root / name).read_text()
        assert not re.search(r"cpu_jit|twin\(|@twin|njit|\bjit\(|@jit|cuda\.jit|vectorize", source), name
    hosts = {name[:-3] for name in _config.HOST_ONLY_MODULES}
    for part, entries in _config._package_files().items():
        for rel, path in entries:
            for node in ast.walk(ast.parse(Path(path).read_text())):
                if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[-1] in hosts:
                    constants = [a.name for a in node.names if a.name.isupper()]
                    assert not constants, f"{rel} imports {constants} from {node.module}"


def test_source_stamp_maps_modules_to_parts():
    assert _config.source_stamp("numbaot.entropic._loop") == _config.source_stamp("numbaot._costs")
    assert _config.source_stamp("numbaot.exact.api") == _config.source_stamp("numbaot.cuda.sinkhorn")
    assert _config.source_stamp("numbaot.sliced.api") == _config.source_stamp("numbaot.sliced._projections")
    assert _config.source_stamp("numbaot.sliced.api") != _config.source_stamp("numbaot.entropic._loop")


def test_core_compiled_code_does_not_import_families():
    """The soundness rule behind per-family fingerprints: a core module with compiled code imports no family at
    module level (a lazy import in a host function is fine: host code is not cached)."""
    import ast

    files = _config._package_files()
    families = {part for part in files if part}
    offenders = []
    for rel, path in files[""]:
        source = Path(path).read_text()
        if "cpu_jit" not in source and "@twin" not in source:  # CUDA kernels are not cached on disk
            continue
        for node in ast.parse(source).body:
            if isinstance(node, ast.ImportFrom):
                targets = [node.module or ""] + [alias.name for alias in node.names]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                parts = [p for p in target.split(".") if p and p != "numbaot"]
                if parts and parts[0] in families:
                    offenders.append(f"{rel}: {ast.unparse(node)}")
    assert not offenders, offenders
