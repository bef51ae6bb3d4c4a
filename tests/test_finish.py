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


def test_finish_exact_builds_the_result_and_warns_at_the_callers_line():
    from numbaot._finish import ExactAnswer, finish_exact

    coo = (np.array([0, 1]), np.array([1, 0]), np.array([0.5, 0.5], dtype=np.float32))
    answer = ExactAnswer(value=1.0, shape=(2, 2), n_iter=3, plan_coo=coo,
                         potential_a=np.zeros(2, np.float32), potential_b=np.ones(2, np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = finish_exact(answer, out_dtype=np.dtype(np.float32), warn=True)
    assert isinstance(res.value, np.float32) and res.value == 1.0 and res.n_iter == 3 and res.status is Status.OPTIMAL
    np.testing.assert_array_equal(res.plan, [[0.0, 0.5], [0.5, 0.0]])
    assert res.device == "cpu" and res.ran_on == "cpu"
    stalled = answer._replace(status=Status.MAX_ITER_REACHED)
    with pytest.warns(ConvergenceWarning, match=r"emd: MAX_ITER_REACHED.*3 pivots") as record:
        res = finish_exact(stalled, out_dtype=np.dtype(np.float64), detail="3 pivots", warn=True, stacklevel=3)
    assert record[0].filename == __file__ and res.status is Status.MAX_ITER_REACHED
    value_only = finish_exact(ExactAnswer(value=0.25, shape=(3, 2), n_iter=4), out_dtype=np.dtype(np.float64))
    assert value_only.plan_coo is None and value_only.shape == (3, 2) and value_only.value == 0.25


def test_finish_barycenter_builds_the_result_and_warns():
    from numbaot._finish import BarycenterAnswer, finish_barycenter

    answer = BarycenterAnswer(np.array([0.5, 0.5]), Status.MAX_ITER_REACHED, 7, np.array([0.1, 0.01]))
    with pytest.warns(ConvergenceWarning, match=r"bar: MAX_ITER_REACHED.*error 0\.01 > tol 1e-09 after 7") as record:
        res = finish_barycenter(answer, solver="bar", tol=1e-9, warn=True, citation="x", stacklevel=3)
    assert record[0].filename == __file__
    assert res.n_iter == 7 and res.citation == "x" and res.plans is None and np.isnan(res.value)
    np.testing.assert_array_equal(res.barycenter, [0.5, 0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        finish_barycenter(answer._replace(errors=np.array([])), solver="bar", tol=1e-9, warn=False)
