"""POT's own test suite against numbaot.pot: a CI step, opt-in (it downloads POT's sdist and runs ~8 minutes).

Run it with ``NUMBAOT_POT_SUITE=1 python -m pytest tests/pot/test_pot_suite.py -m slow`` or directly with
``python tests/pot/run_pot_suite.py --list-failures``.
"""
import os
import pathlib
import sys

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.environ.get("NUMBAOT_POT_SUITE") != "1",
                                                   reason="set NUMBAOT_POT_SUITE=1 to run POT's suite (network)")]


def test_pot_suite_passes_90_percent_of_the_tests_on_implemented_names(tmp_path):
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    try:
        import run_pot_suite
    finally:
        sys.path.pop(0)
    assert run_pot_suite.main(["--workdir", str(tmp_path), "--target", "0.9"]) == 0
