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


def _one_line_error(capsys, argv, expected):
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("numbaot solve: ") and expected in lines[0], captured.err
    assert "Traceback" not in captured.err and captured.out == ""


def test_solve_refuses_unknown_file_types(tmp_path, capsys):
    _one_line_error(capsys, ["solve", str(tmp_path / "a.json"), str(tmp_path / "b.json")],
                    "give a .npy, .csv or .txt file")


def test_solve_bad_files_give_one_line_errors(tmp_path, capsys):
    good = tmp_path / "good.npy"
    np.save(good, np.array([0.0, 1.0]))
    _one_line_error(capsys, ["solve", str(tmp_path / "missing.npy"), str(good)], "no such file")
    (tmp_path / "text.npy").write_text("0.0\n1.0\n")
    _one_line_error(capsys, ["solve", str(tmp_path / "text.npy"), str(good)], "not a readable .npy file")
    (tmp_path / "words.csv").write_text("1.0\nabc\n")
    _one_line_error(capsys, ["solve", str(tmp_path / "words.csv"), str(good)], "not a table of numbers")
    np.save(tmp_path / "strings.npy", np.array(["a", "b"]))
    _one_line_error(capsys, ["solve", str(tmp_path / "strings.npy"), str(good)], "must be real numbers")


def test_solve_checks_the_plan_path_before_solving(tmp_path, capsys, monkeypatch):
    np.save(tmp_path / "a.npy", np.array([0.0, 1.0]))
    solved = []
    monkeypatch.setattr(numbaot, "solve_sample", lambda *a, **k: solved.append(1))
    _one_line_error(capsys, ["solve", str(tmp_path / "a.npy"), str(tmp_path / "a.npy"), "--plan",
                             str(tmp_path / "no_such_folder" / "plan.npy")], "does not exist")
    _one_line_error(capsys, ["solve", str(tmp_path / "a.npy"), str(tmp_path / "a.npy"), "--plan",
                             str(tmp_path / "plan.txt")], "give a .npy (dense plan) or .npz")
    assert solved == []


def test_solve_skips_a_csv_header_and_takes_2d_points_and_every_metric(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X, Y = rng.random((6, 2)), rng.random((5, 2)) + 0.1
    (tmp_path / "x.csv").write_text("x,y\n" + "\n".join(f"{u},{v}" for u, v in X) + "\n")
    np.savetxt(tmp_path / "y.csv", Y, delimiter=",")
    for metric in cli.METRICS:
        assert cli.main(["solve", str(tmp_path / "x.csv"), str(tmp_path / "y.csv"), "--metric", metric]) == 0
        out = capsys.readouterr().out
        expected = numbaot.emd2(None, None, numbaot.dist(X, Y, metric=metric))
        assert abs(float(out.split()[1]) - expected) <= 1e-12 * max(1.0, expected), (metric, out)
    # an explicit count applies to both files: the header row of x.csv, and the first point of y.csv
    assert cli.main(["solve", str(tmp_path / "x.csv"), str(tmp_path / "y.csv"), "--skip-header", "1"]) == 0
    out = capsys.readouterr().out
    expected = numbaot.emd2(None, None, numbaot.dist(X, Y[1:]))
    assert abs(float(out.split()[1]) - expected) <= 1e-12 * max(1.0, expected)
    assert cli.build_parser().parse_args(["solve", "a", "b"]).p == 2.0  # the library's default exponent


def test_info_runs_as_python_dash_m():
    out = subprocess.run([sys.executable, "-m", "numbaot", "info"], capture_output=True, text=True, check=True)
    for key in ("numbaot", "numba", "threading", "cache", "cuda"):
        assert key in out.stdout


def test_warmup_families_match_the_cli_choices():
    from numbaot import _warmup

    assert tuple(_warmup.FAMILIES) == cli._WARMUP_FAMILIES


def test_warmup_compiles_into_the_cache_folder(tmp_path):
    """In a fresh process with an empty cache folder: the family's cores are written there, and a second process
    loads them (cache hits, no compilation)."""
    import json
    import os

    env = dict(os.environ, NUMBAOT_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-m", "numbaot", "warmup", "--family", "dist"], capture_output=True,
                         text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "1/1 dist" in out.stdout and str(tmp_path) in out.stdout
    assert any(name.endswith(".nbi") for _, _, files in os.walk(tmp_path) for name in files)
    probe = ("import json, numbaot; from numbaot._costs import dist_core; numbaot.dist([[0.0]], [[1.0]]); "
             "print(json.dumps(sum(dist_core.stats.cache_hits.values())))")
    hits = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=300)
    assert json.loads(hits.stdout.strip().splitlines()[-1]) >= 1, hits.stderr


def test_warmup_refuses_unknown_families(capsys):
    with pytest.raises(SystemExit):
        cli.main(["warmup", "--family", "nonsense"])
    from numbaot import _warmup

    with pytest.raises(ValueError, match="unknown families"):
        _warmup.warmup(["nonsense"])
