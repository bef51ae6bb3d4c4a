"""GW / FGW barycenters (numbaot.barycenters.gromov): POT's values from the same start, planted answers, bad input."""
from __future__ import annotations

import numpy as np
import pytest

import numbaot
from numbaot import ConvergenceWarning

ot = pytest.importorskip("ot")


def _structures(rng, sizes, d=2):
    out = []
    for n in sizes:
        x = rng.random((n, d))
        out.append(np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1)))
    return out


def test_gromov_barycenters_match_pot_from_the_same_start():
    rng = np.random.default_rng(0)
    Cs = _structures(rng, (8, 10, 9))
    lambdas = np.array([0.5, 0.3, 0.2])
    C0 = _structures(rng, (7,))[0]
    ours = numbaot.gromov_barycenters(7, Cs, lambdas=lambdas, init_C=C0, max_iter=50)
    theirs = ot.gromov.gromov_barycenters(7, Cs, lambdas=lambdas, init_C=C0, max_iter=50)
    # the same block coordinate descent: equal up to ties of the inner linear programs
    assert np.allclose(ours, theirs, atol=1e-6)
    assert np.allclose(ours, ours.T)


def test_asymmetric_inputs_and_warm_starts_match_pot():
    rng = np.random.default_rng(7)
    Cs = [rng.random((6, 6)), rng.random((7, 7))]
    C0 = rng.random((5, 5))
    # symmetric=None detects the asymmetry (the inner solves take the general gradient), as POT's symmetric=False
    ours = numbaot.gromov_barycenters(5, Cs, init_C=C0, symmetric=None, max_iter=20, warn=False)
    theirs = ot.gromov.gromov_barycenters(5, Cs, init_C=C0, symmetric=False, max_iter=20)
    assert np.allclose(ours, theirs, atol=1e-6)
    Cs = [C + C.T for C in Cs]
    ours = numbaot.gromov_barycenters(5, Cs, init_C=C0 + C0.T, warmstart=True, max_iter=20, warn=False)
    theirs = ot.gromov.gromov_barycenters(5, Cs, init_C=C0 + C0.T, warmstartT=True, max_iter=20)
    assert np.allclose(ours, theirs, atol=1e-6)


def test_couplings_side_by_side_equal_serial(monkeypatch):
    from numbaot.barycenters import gromov

    rng = np.random.default_rng(8)
    Cs = _structures(rng, (6, 7, 8))
    C0 = _structures(rng, (5,))[0]
    serial = numbaot.gromov_barycenters(5, Cs, init_C=C0, max_iter=10, warn=False, n_threads=2)
    monkeypatch.setattr(gromov, "THREADS_MIN_ENTRIES", 0)  # the threads' path at this size too
    threaded = numbaot.gromov_barycenters(5, Cs, init_C=C0, max_iter=10, warn=False, n_threads=2)
    assert np.array_equal(serial, threaded)


def test_gromov_barycenter_of_one_structure_and_scaled_copies():
    rng = np.random.default_rng(1)
    C1 = _structures(rng, (6,))[0]
    # from C1 itself the identity couplings are optimal: the barycenter of C1 and 3 C1 is 2 C1
    C = numbaot.gromov_barycenters(6, [C1, 3 * C1], init_C=C1)
    assert np.allclose(C, 2 * C1, atol=1e-10)
    # KL loss, one input: the couplings are permutations (GW may find a relabelling of C1 + 1 for C1 + 1, and so
    # the iterates may alternate between relabellings: max_iter=2, no convergence asked); every iterate is C1 + 1
    # up to a relabelling of its nodes
    Ckl = numbaot.gromov_barycenters(6, [C1 + 1], loss_fun="kl_loss", init_C=C1 + 1, max_iter=3, warn=False)
    assert np.allclose(np.sort(Ckl.ravel()), np.sort((C1 + 1).ravel()), atol=1e-8)


def test_random_start_is_pots():
    rng = np.random.default_rng(2)
    Cs = _structures(rng, (6, 6))
    ours = numbaot.gromov_barycenters(5, Cs, random_state=3, max_iter=30, warn=False)
    theirs = ot.gromov.gromov_barycenters(5, Cs, random_state=3, max_iter=30)
    assert np.allclose(ours, theirs, atol=1e-6)


def test_fgw_barycenters_match_pot():
    rng = np.random.default_rng(4)
    Cs = _structures(rng, (6, 7))
    Ys = [rng.random((6, 2)), rng.random((7, 2))]
    C0, X0 = _structures(rng, (5,))[0], rng.random((5, 2))
    X, C = numbaot.fgw_barycenters(5, Ys, Cs, alpha=0.5, init_C=C0, init_X=X0, max_iter=30)
    Xp, Cp = ot.gromov.fgw_barycenters(5, Ys, Cs, alpha=0.5, init_C=C0, init_X=X0, max_iter=30)
    assert np.allclose(X, Xp, atol=1e-6) and np.allclose(C, Cp, atol=1e-6)


def test_fgw_fixed_parts_and_translated_features():
    x = np.arange(4.0)
    C1 = np.abs(x[:, None] - x[None, :])
    Y = x[:, None]
    X, C = numbaot.fgw_barycenters(4, [Y, Y + 4.0], [C1, C1], init_C=C1, init_X=Y, fixed_structure=True)
    assert np.allclose(C, C1) and np.allclose(X, Y + 2.0, atol=1e-9)
    X, C = numbaot.fgw_barycenters(4, [Y, Y], [C1, 3 * C1], init_C=C1, init_X=Y, fixed_features=True)
    assert np.allclose(X, Y) and np.allclose(C, 2 * C1, atol=1e-9)


def test_entropic_variants_run_and_are_close_to_exact():
    rng = np.random.default_rng(5)
    C1 = _structures(rng, (6,))[0]
    C = numbaot.entropic_gromov_barycenters(6, [C1, 3 * C1], epsilon=1e-3, init_C=C1)
    assert np.allclose(C, 2 * C1, atol=1e-3)
    Y = rng.random((6, 1))
    X, C = numbaot.entropic_fused_gromov_barycenters(6, [Y, Y + 1.0], [C1, C1], epsilon=1e-3, init_C=C1,
                                                     init_Y=Y)
    assert np.allclose(X, Y + 0.5, atol=1e-3) and np.allclose(C, C1, atol=1e-3)


def test_max_iter_warns():
    rng = np.random.default_rng(6)
    Cs = _structures(rng, (6, 7))
    with pytest.warns(ConvergenceWarning, match="gromov_barycenters: MAX_ITER_REACHED"):
        numbaot.gromov_barycenters(5, Cs, random_state=0, max_iter=1)


@pytest.mark.parametrize("call, match", [
    (lambda: numbaot.gromov_barycenters(0, [np.eye(2)]), "positive int"),
    (lambda: numbaot.gromov_barycenters(2, np.eye(2)), "list"),
    (lambda: numbaot.gromov_barycenters(2, [np.ones((2, 3))]), "square"),
    (lambda: numbaot.gromov_barycenters(2, [np.eye(2)], lambdas=[0.5, 0.5]), "weights has 2"),
    (lambda: numbaot.gromov_barycenters(2, [np.eye(2)], loss_fun="l1"), "loss_fun"),
    (lambda: numbaot.gromov_barycenters(2, [-np.eye(2)], loss_fun="kl_loss"), "negative"),
    (lambda: numbaot.gromov_barycenters(2, [np.eye(2)], init_C=np.eye(3)), "init_C"),
    (lambda: numbaot.gromov_barycenters(2, [np.triu(np.ones((3, 3)))]), r"symmetric=True but Cs\[0\]"),
    (lambda: numbaot.fgw_barycenters(2, [np.ones((3, 1))], [np.eye(2)]), "rows"),
    (lambda: numbaot.fgw_barycenters(2, [np.ones((2, 1))], [np.eye(2)], fixed_structure=True), "init_C"),
    (lambda: numbaot.fgw_barycenters(2, [np.ones((2, 1))], [np.eye(2)], alpha=2.0), "alpha"),
    (lambda: numbaot.entropic_gromov_barycenters(2, [np.eye(2)], epsilon=0.0), "epsilon"),
])
def test_bad_input(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


@pytest.mark.parametrize("verb, arg", [(numbaot.fgw_barycenters, "init_X"),
                                       (numbaot.entropic_fused_gromov_barycenters, "init_Y")])
def test_feature_errors_name_the_argument_passed(verb, arg):
    """The starting features are ``init_X`` in fgw_barycenters and ``init_Y`` in the entropic one (POT 0.9.7's
    names): each error names the argument the caller passed, never the other verb's."""
    Ys, Cs = [np.ones((2, 1))], [np.eye(2)]
    with pytest.raises(ValueError, match=rf"^fixed_features=True needs the features in {arg}$"):
        verb(2, Ys, Cs, fixed_features=True)
    with pytest.raises(ValueError, match=rf"^{arg} has shape \(3, 1\) but the barycenter has N = 2 nodes of 1"):
        verb(2, Ys, Cs, **{arg: np.ones((3, 1))})
    with pytest.raises(ValueError, match=rf"^{arg} must be|^{arg} has|^{arg} is"):
        verb(2, Ys, Cs, **{arg: np.ones(2)})
    with pytest.raises(TypeError, match=rf"^{arg} must be"):
        verb(2, Ys, Cs, **{arg: "features"})


def test_pot_feature_names_match_pot():
    """numbaot.pot's FGW barycenters take POT 0.9.7's name of the starting features, and so do numbaot's verbs."""
    import inspect

    from numbaot.pot import gromov as pot_gromov

    for name, arg in (("fgw_barycenters", "init_X"), ("entropic_fused_gromov_barycenters", "init_Y")):
        for fn in (getattr(ot.gromov, name), getattr(pot_gromov, name), getattr(numbaot, name)):
            assert arg in inspect.signature(fn).parameters, (fn, arg)
    with pytest.raises(ValueError, match="init_Y has shape"):
        pot_gromov.entropic_fused_gromov_barycenters(2, [np.ones((2, 1))], [np.eye(2)], init_Y=np.ones((3, 1)))
