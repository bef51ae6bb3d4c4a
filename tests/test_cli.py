"""The numbaot command: demo, solve, info (run in-process through cli.main, and once as a subprocess)."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import numbaot
from numbaot import cli


def test_demo_prints_values_and_timings(capsys):
    assert cli.main(["demo", "--n", "2000"]) == 0
    out = capsys.readouterr().out
    assert "W1 =" in out and "W2^2 =" in out and "emd2_1d =" in out and " ms" in out
    assert "pivots, status OPTIMAL" in out


def test_solve_reads_npy_and_csv_and_writes_the_plan(tmp_path, capsys):
    x, y = np.array([0.0, 1.0, 3.0]), np.array([0.5, 2.0])
    np.save(tmp_path / "a.npy", x)
    np.savetxt(tmp_path / "b.csv", y, delimiter=",")
    plan_path = tmp_path / "plan.npy"
    assert cli.main(["solve", str(tmp_path / "a.npy"), str(tmp_path / "b.csv"), "--plan", str(plan_path)]) == 0
    out = capsys.readouterr().out
    assert "value 0.625" in out
    np.testing.assert_allclose(np.load(plan_path), numbaot.emd_1d(x, y))
    sparse_path = tmp_path / "plan.npz"
    assert cli.main(["solve", str(tmp_path / "a.npy"), str(tmp_path / "b.csv"), "--plan", str(sparse_path)]) == 0
    import scipy.sparse

    np.testing.assert_allclose(scipy.sparse.load_npz(sparse_path).toarray(), numbaot.emd_1d(x, y))


def test_solve_reports_bad_input_without_a_traceback(tmp_path, capsys):
    np.save(tmp_path / "a.npy", np.array([0.0, np.nan]))
    np.save(tmp_path / "b.npy", np.array([1.0]))
    assert cli.main(["solve", str(tmp_path / "a.npy"), str(tmp_path / "b.npy")]) == 2
    assert "X_a[1] is nan" in capsys.readouterr().err


def test_solve_refuses_unknown_file_types(tmp_path):
    with pytest.raises(SystemExit, match="give a .npy or .csv file"):
        cli.main(["solve", str(tmp_path / "a.json"), str(tmp_path / "b.json")])


def test_info_runs_as_python_dash_m():
    out = subprocess.run([sys.executable, "-m", "numbaot", "info"], capture_output=True, text=True, check=True)
    for key in ("numbaot", "numba", "threading", "cache", "cuda"):
        assert key in out.stdout
