"""Run POT's own test suite with ``numbaot.pot`` in place of ``ot`` (numpy backend only) and report the pass count.

POT's tests are not copied into this repository: the script downloads POT's source distribution at run time
(``pip download --no-deps --no-binary pot pot==VERSION``; VERSION is the installed POT's, else 0.9.7.post1),
extracts its ``test/`` folder and ``ot/backend.py`` (POT's array backend, used as test infrastructure for the
``nx`` fixture), and runs pytest there with ``pot_suite_conftest.py`` as the conftest.

Tests are counted as touching implemented names unless they fail on :class:`numbaot.pot.PotNotImplementedError`
(a POT name or option numbaot does not implement) or are skipped (other backends). ``test_backend.py`` (POT's array
backends) and ``test_plot.py`` (needs matplotlib) are not run.

Usage::

    python tests/pot/run_pot_suite.py [--version 0.9.7.post1] [--workdir DIR] [-k EXPR] [--list-failures]

Exit status 0 when the pass rate over the tests that touch implemented names is at least ``--target`` (0.9).
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
EXCLUDED = {"test_backend.py": "POT's array backends (numbaot.pot has no ot.backend)",
            "test_plot.py": "POT's matplotlib helpers (numbaot.plot is tested in tests/test_plot.py)",
            "test_helpers.py": "POT's compiled OpenMP helpers (built with POT's wheels, not in the sdist)"}

#: Differences that are known and explained, by test name prefix.
KNOWN = {
    "test_nan_warning": "reg=0 is refused with a ValueError pointing to emd (POT runs it and warns about NaN)",
    "test_implemented_methods": "numbaot.pot.sinkhorn2 accepts 'greenkhorn' and 'sinkhorn_epsilon_scaling' "
                                "(POT's sinkhorn2 refuses them)",
    "test_solve_sample_NotImplemented[{'lazy': True, 'reg': 1, 'unbalanced': 1}]":
        "numbaot solves lazy unbalanced entropic OT (online Sinkhorn); POT raises NotImplementedError",
    "test_solve_sample_debias[None-True]": "debias=True needs reg > 0 in numbaot (POT ignores debias for exact OT)",
    "test_deprecated_func": "reads POT's private helper ot.utils._is_deprecated",
    "test_gradient_gmm_ot_loss_pytorch": "a torch tensor through the numpy layer (numbaot.torch is the torch path)",
    "test_empirical_bures_wasserstein_mapping_numerical_error_warning": "numbaot's Bures map stays finite where "
                                                                        "POT's warns about a numerical error",
    "test_emd_laplace": "numbaot.da (another family) raises TypeError for a non-string sim where POT raises ValueError",
    "test_semisupervised_cost_correction": "numbaot.da's semi-supervised cost (another family)",
    "test_sinkhorn_lpl1_transport_class": "numbaot.da's SinkhornLpl1Transport refuses limit_max=inf (another family)",
    "test_sinkhorn_transport_class": "numbaot.da's SinkhornTransport input checks (another family)",
    "test_partial_gromov_wasserstein": "numbaot's entropic partial GW rows exceed p by solver tolerance where POT's "
                                       "test asserts a strict <= (numbaot.partial, another family)",
}


def pot_version():
    try:
        from importlib.metadata import version

        return version("pot")
    except Exception:
        return "0.9.7.post1"


def fetch(version, workdir):
    """The extracted sdist folder (downloaded once per workdir)."""
    workdir.mkdir(parents=True, exist_ok=True)
    root = workdir / f"pot-{version}"
    if not (root / "test").is_dir():
        archives = list(workdir.glob(f"pot-{version}.tar.gz"))
        if not archives:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", "pot",
                            f"pot=={version}", "-d", str(workdir), "-q"], check=True)
            archives = list(workdir.glob(f"pot-{version}.tar.gz"))
        with tarfile.open(archives[0]) as tar:
            members = [m for m in tar.getmembers()
                       if m.name.startswith(f"pot-{version}/test/") or m.name == f"pot-{version}/ot/backend.py"]
            tar.extractall(workdir, members=members, filter="data")
    return root


def run(root, extra_args, only=None):
    test_dir = root / "test"
    shutil.copy(HERE / "pot_suite_conftest.py", test_dir / "conftest.py")
    report = root / "numbaot_report.json"
    report.unlink(missing_ok=True)  # never read a previous run's answers
    env = dict(os.environ, NUMBAOT_POT_SUITE_SDIST=str(root), NUMBAOT_POT_SUITE_REPORT=str(report),
               MPLBACKEND="Agg")
    files = sorted(p.name for p in test_dir.glob("test_*.py") if p.name not in EXCLUDED
                   and (only is None or p.name in only))
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(test_dir),
           "-o", "addopts=", "--tb=no", "--continue-on-collection-errors", "-W", "ignore::DeprecationWarning", *files, *extra_args]
    subprocess.run(cmd, cwd=test_dir, env=env)
    if not report.exists():
        raise SystemExit("pytest did not run POT's tests (see its output above): is numbaot importable here?")
    return json.loads(report.read_text())


def summarise(results, list_failures=False):
    counts = {"passed": 0, "failed": 0, "not_implemented": 0, "skipped": 0, "collection_error": 0}
    failures = []
    for nodeid, entry in sorted(results.items()):
        if entry["not_implemented"]:
            counts["not_implemented"] += 1
        elif entry["outcome"] == "collection_error":
            counts["collection_error"] += 1
            failures.append((nodeid, entry["message"]))
        else:
            counts[entry["outcome"]] += 1
            if entry["outcome"] == "failed":
                failures.append((nodeid, entry["message"]))
    touched = counts["passed"] + counts["failed"] + counts["collection_error"]
    rate = counts["passed"] / touched if touched else 0.0
    print(f"\nPOT's test suite through numbaot.pot: {counts['passed']} / {touched} tests that touch implemented "
          f"names pass ({100 * rate:.1f}%); {counts['not_implemented']} need names numbaot does not implement, "
          f"{counts['skipped']} skipped (other backends), {counts['collection_error']} modules not collected")
    if list_failures:
        for nodeid, message in failures:
            known = next((why for prefix, why in KNOWN.items() if nodeid.split("::")[-1].startswith(prefix)), None)
            print(f"  {'KNOWN ' if known else ''}{nodeid}: {message}" + (f"  [{known}]" if known else ""))
    return rate


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default=None, help="POT version whose sdist to test (default: installed)")
    parser.add_argument("--workdir", default=None, help="where to download and extract (default: a temp dir)")
    parser.add_argument("--target", type=float, default=0.9)
    parser.add_argument("--list-failures", action="store_true")
    parser.add_argument("--files", nargs="*", default=None, help="run only these test files (e.g. test_ot.py)")
    args, extra = parser.parse_known_args(argv)
    version = args.version or pot_version()
    workdir = pathlib.Path(args.workdir) if args.workdir else pathlib.Path(tempfile.mkdtemp(prefix="pot-suite-"))
    root = fetch(version, workdir)
    rate = summarise(run(root, extra, args.files), args.list_failures)
    return 0 if rate >= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
