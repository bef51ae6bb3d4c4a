"""JCPOT: target proportions (planted), plans and label transport against POT, bad input."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from numbaot.da import JCPOTTransport, NotFittedError, jcpot_barycenter

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


def _translated_domains():
    """Two source domains that are the target translated by s_k, classes balanced in all three: the plans are
    (nearly) the identity, so inverse_transform sends the target to the target + s_k (planted)."""
    grid = 2.0 * np.arange(5.0)
    Xt = np.r_[np.c_[grid, np.zeros(5)], np.c_[grid, np.full(5, 10.0)]]  # points 2 apart: the plans are sharp
    yt = np.repeat([0, 1], 5)
    shifts = [np.array([0.15, -0.1]), np.array([-0.1, 0.2])]
    return [Xt + s for s in shifts], [yt.copy(), yt.copy()], Xt, shifts


def test_inverse_transform_planted_and_projection():
    Xs, ys, Xt, shifts = _translated_domains()
    est = JCPOTTransport(reg_e=0.05, max_iter=200).fit(Xs, ys, Xt)
    assert np.allclose(est.proportions_, [0.5, 0.5], atol=1e-6)
    back = est.inverse_transform(Xt=Xt)
    assert isinstance(back, list) and len(back) == 2
    for G, x, out, s in zip(est.coupling_, Xs, back, shifts):
        # certificate: the fitted target points go to the barycentric projections of the plans' columns
        assert np.allclose(out, (G.T @ x) / G.sum(axis=0)[:, None], rtol=1e-12, atol=1e-12)
        assert np.allclose(out, Xt + s, atol=1e-6)  # planted: each domain is the target translated
    new = Xt[:5] + 0.01  # out of sample: nearest fitted target point plus the displacement
    for out, s in zip(est.inverse_transform(Xt=new, batch_size=2), shifts):
        assert np.allclose(out, new + s, atol=1e-6)
    f32 = est.inverse_transform(Xt=new.astype(np.float32))
    assert all(out.dtype == np.float32 for out in f32)
    # labels come back through the same plans: each source point gets its own class
    for soft, y in zip(est.inverse_transform_labels(ys[0]), ys):
        assert np.allclose(soft, np.eye(2)[y], atol=1e-6)


def test_inverse_transform_bad_input():
    Xs, ys, Xt, _ = _translated_domains()
    with pytest.raises(NotFittedError, match="not fitted yet"):
        JCPOTTransport().inverse_transform(Xt=Xt)
    est = JCPOTTransport(reg_e=0.5).fit(Xs, ys, Xt)
    with pytest.raises(TypeError, match=r"inverse_transform\(Xt=...\)"):
        est.inverse_transform(Xt)
    with pytest.raises(ValueError, match="Xt has 3 features but the estimator was fitted on Xt with 2"):
        est.inverse_transform(Xt=np.ones((4, 3)))
    with pytest.raises(ValueError, match="batch_size"):
        est.inverse_transform(Xt=Xt, batch_size=0)
