"""_finish: the point-cloud answer (CloudsAnswer) becomes an OTResult in one place, with one warning wording; the
entropic drivers' options objects are immutable."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from numbaot._finish import CloudsAnswer, clouds_detail, finish_clouds
from numbaot._status import ConvergenceWarning, Status
from numbaot.entropic._options import DivergenceOptions, OnlineOptions, SinkhornOptions


def _answer(status=Status.OPTIMAL, errors=(0.5, 1e-3)):
    f, g = np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])
    return CloudsAnswer(1.5, 1.25, f, g, int(status), 7, np.array(errors), lambda: np.full((2, 3), 1 / 6))


def test_finish_clouds_builds_the_result():
    res = finish_clouds(_answer(), shape=(2, 3), out_dtype=np.dtype(np.float32), solver="x", detail="", warn=True,
                        weights=(np.full(2, 0.5), np.full(3, 1 / 3)))
    assert res.status is Status.OPTIMAL and res.n_iter == 7 and res.shape == (2, 3) and res.device == "cpu"
    assert isinstance(res.value, np.float32) and res.value == np.float32(1.5)
    assert res.value_linear == np.float32(1.25)
    np.testing.assert_array_equal(res.potential_b, [3.0, 4.0, 5.0])
    np.testing.assert_allclose(res.plan, np.full((2, 3), 1 / 6))
    assert res.potential_aa is None


def test_finish_clouds_warns_with_the_detail_at_the_callers_line():
    answer = _answer(Status.MAX_ITER_REACHED)
    detail = clouds_detail(answer, "marginal error", 1e-9)
    assert detail == "marginal error 0.001 > tol 1e-09 after 7 iterations"
    with pytest.warns(ConvergenceWarning, match=r"solver x: MAX_ITER_REACHED.*marginal error 0\.001") as record:
        finish_clouds(answer, shape=(2, 3), out_dtype=np.dtype(np.float64), solver="solver x", detail=detail,
                      warn=True, stacklevel=3)  # warn_status, finish_clouds, this test
    assert record[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        finish_clouds(answer, shape=(2, 3), out_dtype=np.dtype(np.float64), solver="x", detail=detail, warn=False)


def test_clouds_detail_without_tolerance_or_checks():
    assert clouds_detail(_answer(), "marginal error", None, "steps") == ""
    assert clouds_detail(_answer(errors=()), "marginal error", 1e-9, "steps") == "7 steps"


def test_options_are_immutable_with_defaults_in_one_place():
    from numbaot._defaults import CHECK_EVERY, MAX_ITER, TOL

    opts = SinkhornOptions(0.1)
    assert (opts.max_iter, opts.tol, opts.check_every) == (MAX_ITER, TOL, CHECK_EVERY) and opts.balanced
    with pytest.raises(AttributeError):
        opts.reg = 0.2
    stage = opts._replace(reg=0.4, max_iter=100)
    assert stage.reg == 0.4 and opts.reg == 0.1
    assert not SinkhornOptions(0.1, rho_b=2.0).balanced
    assert OnlineOptions(0.1).balanced and not OnlineOptions(0.1, rho_a=1.0).balanced
    assert DivergenceOptions(0.1).rho is None and DivergenceOptions(0.1).debias
