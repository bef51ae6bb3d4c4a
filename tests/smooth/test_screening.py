"""Screenkhorn: POT's screening and answer, the full-budget limit (Sinkhorn), the reported marginal error."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import numbaot
from numbaot import Status

ot = pytest.importorskip("ot")


def _problem(seed, n, m, uniform=False):
    rng = np.random.default_rng(seed)
    M = ot.dist(rng.random((n, 2)), rng.random((m, 2)))
    if uniform:
        return ot.unif(n), ot.unif(m), M
    a, b = rng.random(n) + 0.1, rng.random(m) + 0.1
    return a / a.sum(), b / b.sum(), M


@pytest.mark.parametrize("n, m, ns, nt, uniform", [(30, 20, 15, 10, False), (30, 20, 5, 15, True),
                                                   (24, 24, 12, 12, False)])
def test_matches_pot(n, m, ns, nt, uniform):
    a, b, M = _problem(n + ns, n, m, uniform)
    P, log = numbaot.screenkhorn(a, b, M, 0.1, ns, nt, uniform=uniform, log=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # POT suggests installing bottleneck
        P_pot, log_pot = ot.bregman.screenkhorn(a, b, M, 0.1, ns, nt, uniform=uniform, log=True)
    assert np.array_equal(log["Isel"], log_pot["Isel"]) and np.array_equal(log["Jsel"], log_pot["Jsel"])
    assert log["Isel"].sum() == ns and log["Jsel"].sum() == nt
    assert np.abs(P - P_pot).max() < 1e-8 * P_pot.max()
    assert np.isclose(P.sum(), 1.0)
    err = np.abs(P.sum(1) - a).sum() + np.abs(P.sum(0) - b).sum()
    assert np.isclose(log["marginal_error"], err)


def test_full_budget_approaches_sinkhorn():
    a, b, M = _problem(1, 20, 15)
    P, log = numbaot.screenkhorn(a, b, M, 0.1, 20, 15, log=True, pgtol=1e-12)
    S = numbaot.sinkhorn(a, b, M, 0.1)
    assert log["status"] == Status.OPTIMAL
    assert np.abs(P - S).max() < 1e-2 * S.max()
    assert log["marginal_error"] < 1e-2


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(ns_budget=0), ValueError, "ns_budget"),
    (dict(nt_budget=99), ValueError, "nt_budget"),
    (dict(ns_budget=2.5), TypeError, "ns_budget"),
    (dict(uniform=True), ValueError, "uniform"),
    (dict(reg=-1.0), ValueError, "reg"),
])
def test_bad_input(kwargs, exc, match):
    a, b, M = _problem(2, 6, 5)
    reg = kwargs.pop("reg", 1.0)
    with pytest.raises(exc, match=match):
        numbaot.screenkhorn(a, b, M, reg, **kwargs)
