"""JCPOT: target proportions (planted), plans and label transport against POT, bad input."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from numbaot.da import JCPOTTransport, jcpot_barycenter

ot = pytest.importorskip("ot")
CENTRES = np.array([[0.0, 0.0], [3.0, 1.0], [0.0, 3.0]])


def _domain(rng, n, props, shift, spread=0.3):
    counts = np.round(np.asarray(props) * n).astype(int)
    y = np.repeat(np.arange(len(props)), counts)
    return rng.normal(size=(len(y), 2)) * spread + CENTRES[y] + shift, y


def _domains(seed=0):
    rng = np.random.default_rng(seed)
    Xs1, ys1 = _domain(rng, 30, [0.5, 0.3, 0.2], 0.1)
    Xs2, ys2 = _domain(rng, 40, [0.2, 0.3, 0.5], -0.1)
    Xt, yt = _domain(rng, 50, [0.1, 0.1, 0.8], 0.0)
    return [Xs1, Xs2], [ys1, ys2], Xt, yt


def test_proportions_recover_the_target_shift():
    Xs, ys, Xt, yt = _domains()
    h = jcpot_barycenter(Xs, ys, Xt, reg=0.5, max_iter=500, tol=1e-7)
    assert np.allclose(h, [0.1, 0.1, 0.8], atol=0.02)
    assert np.isclose(h.sum(), 1.0)


def test_matches_pot():
    Xs, ys, Xt, yt = _domains(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # both stop at 100 iterations (POT's JCPOTTransport always does)
        ours = JCPOTTransport(reg_e=1.0, tol=1e-9).fit(Xs, ys, Xt)
        pot = ot.da.JCPOTTransport(reg_e=1.0, tol=1e-9).fit([x.copy() for x in Xs], [y.copy() for y in ys], Xt)
    assert np.allclose(ours.proportions_, pot.proportions_[0], atol=1e-9)
    for G, H in zip(ours.coupling_, pot.coupling_):
        assert np.allclose(G, H, atol=1e-12)
    for a, b in zip(ours.transform(Xs), pot.transform(Xs)):
        assert np.allclose(a, b, atol=1e-9)
    new = Xs[0][:7] + 0.05
    assert np.allclose(ours.transform(new, batch_size=3), pot.transform(new), atol=1e-9)
    assert np.allclose(ours.transform_labels(ys), pot.transform_labels(ys), atol=1e-12)
    for a, b in zip(ours.inverse_transform_labels(yt), pot.inverse_transform_labels(yt)):
        assert np.allclose(a, b, atol=1e-12)


def test_small_reg_stays_finite():
    """The log-domain iteration does not underflow where POT's Gibbs kernel exp(-M / reg) is all zeros."""
    Xs, ys, Xt, yt = _domains(2)
    Xs = [x * 30 for x in Xs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h = jcpot_barycenter(Xs, ys, Xt * 30, reg=0.05, max_iter=50)
    assert np.all(np.isfinite(h)) and np.isclose(h.sum(), 1.0)


def test_bad_input():
    Xs, ys, Xt, yt = _domains()
    with pytest.raises(ValueError, match=r"ys\[1\] has no sample of classes \[2\]"):
        jcpot_barycenter(Xs, [ys[0], np.minimum(ys[1], 1)], Xt, reg=1.0)
    with pytest.raises(TypeError, match="Xs must be a non-empty list"):
        jcpot_barycenter(Xs[0], ys[0], Xt, reg=1.0)
    with pytest.raises(TypeError, match="ys must be a list of 2 label arrays"):
        jcpot_barycenter(Xs, ys[:1], Xt, reg=1.0)
    with pytest.raises(ValueError, match=r"ys\[0\] has 29 labels"):
        jcpot_barycenter(Xs, [ys[0][:-1], ys[1]], Xt, reg=1.0)
    with pytest.raises(TypeError, match="JCPOTTransport needs the source labels"):
        JCPOTTransport().fit(Xs, Xt=Xt)
    with pytest.warns(Warning, match="jcpot_barycenter: the proportions still changed") as record:
        JCPOTTransport(reg_e=1.0, max_iter=2, tol=0.0).fit(Xs, ys, Xt)
    assert record[0].filename == __file__  # the warning names the caller's line


def test_inputs_and_parameters_are_left_alone():
    Xs, ys, Xt, yt = _domains(3)
    for a in [*Xs, *ys, Xt]:
        a.flags.writeable = False
    copies = [a.copy() for a in [*Xs, *ys, Xt]]
    est = JCPOTTransport(reg_e=1.0)
    params = est.get_params()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert est.fit(Xs, ys, Xt) is est
    assert all(np.array_equal(a, b) for a, b in zip([*Xs, *ys, Xt], copies))
    assert est.get_params() == params
    new = (Xs[1][:5] + 0.01).astype(np.float32)
    out = est.transform(new, batch_size=2)
    assert out.dtype == np.float32 and np.allclose(out, est.transform(new.astype(np.float64)), atol=1e-5)
