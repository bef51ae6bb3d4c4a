"""``ot.gromov`` over numbaot: (fused) Gromov-Wasserstein, entropic and semi-relaxed variants, barycenters, and
the tensor-product helpers of Peyre et al. (2016) that POT's scripts call (``init_matrix``, ``tensor_product``,
``gwloss``, ``gwggrad``).
"""
from __future__ import annotations

import numpy as np

from . import _common as C

__all__ = ["gromov_wasserstein", "gromov_wasserstein2", "fused_gromov_wasserstein", "fused_gromov_wasserstein2",
           "entropic_gromov_wasserstein", "entropic_gromov_wasserstein2", "entropic_fused_gromov_wasserstein",
           "entropic_fused_gromov_wasserstein2", "semirelaxed_gromov_wasserstein", "semirelaxed_gromov_wasserstein2",
           "gromov_barycenters", "fgw_barycenters", "entropic_gromov_barycenters",
           "entropic_fused_gromov_barycenters", "init_matrix", "tensor_product", "gwloss", "gwggrad"]


def _loss_parts(loss_fun):
    if loss_fun == "square_loss":
        return (lambda a: a ** 2), (lambda b: b ** 2), (lambda a: a), (lambda b: 2 * b)
    if loss_fun == "kl_loss":
        return ((lambda a: a * np.log(a + 1e-15) - a), (lambda b: b), (lambda a: a),
                (lambda b: np.log(b + 1e-15)))
    raise ValueError(f"Unknown loss_fun {loss_fun!r}: use 'square_loss' or 'kl_loss'")


def init_matrix(C1, C2, p, q, loss_fun="square_loss", nx=None):
    """``(constC, hC1, hC2)`` such that ``L(C1, C2) (x) T = constC - hC1 T hC2^T`` for a plan with marginals
    p and q (Peyre, Cuturi and Solomon 2016, Prop. 1), for 'square_loss' and 'kl_loss'.

    Examples
    --------
    >>> import numpy as np
    >>> from numbaot.pot.gromov import init_matrix, gwloss
    >>> C = np.array([[0.0, 1.0], [1.0, 0.0]]); p = np.full(2, 0.5); T = np.diag(p)
    >>> float(gwloss(*init_matrix(C, C, p, p), T))
    0.0
    """
    C1, C2 = np.asarray(C1, dtype=float), np.asarray(C2, dtype=float)
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    f1, f2, h1, h2 = _loss_parts(loss_fun)
    constC = (f1(C1) @ p)[:, None] + (q @ f2(C2).T)[None, :]
    return constC, h1(C1), h2(C2)


def tensor_product(constC, hC1, hC2, T, nx=None):
    """``L(C1, C2) (x) T`` from :func:`init_matrix`'s pieces."""
    return constC - hC1 @ np.asarray(T) @ hC2.T


def gwloss(constC, hC1, hC2, T, nx=None):
    """The GW objective ``<L(C1, C2) (x) T, T>``."""
    return np.sum(tensor_product(constC, hC1, hC2, T) * np.asarray(T))


def gwggrad(constC, hC1, hC2, T, nx=None):
    """The GW objective's gradient ``2 L(C1, C2) (x) T`` (symmetric structures)."""
    return 2 * tensor_product(constC, hC1, hC2, T)


def _weights(p):
    return C.weights(p)


def _armijo(armijo):
    # numbaot's conditional gradient takes the exact line search of the quadratic (Vayer et al. 2019); POT's
    # Armijo option reaches the same kind of stationary point, so it is accepted and the exact search is kept.
    return None


def gromov_wasserstein(C1, C2, p=None, q=None, loss_fun="square_loss", symmetric=None, log=False, armijo=False,
                       G0=None, max_iter=1e4, tol_rel=1e-9, tol_abs=1e-9, **kwargs):
    """GW plan (POT's ``ot.gromov_wasserstein``) by :func:`numbaot.gromov_wasserstein`; ``armijo`` is accepted
    (numbaot uses the exact line search); ``log=True`` gives numbaot's log with POT's 'gw_dist'.

    Examples
    --------
    >>> import numpy as np, numbaot.pot as ot
    >>> C = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 1.0, 0.0]])
    >>> ot.gromov_wasserstein(C, C).round(4)
    array([[0.3333, 0.    , 0.    ],
           [0.    , 0.3333, 0.    ],
           [0.    , 0.    , 0.3333]])
    """
    import numbaot

    _armijo(armijo)
    return numbaot.gromov_wasserstein(C1, C2, _weights(p), _weights(q), loss_fun, symmetric, log, G0=G0,
                                      max_iter=C.max_iter(max_iter, "max_iter"), tol_rel=tol_rel, tol_abs=tol_abs)


def gromov_wasserstein2(C1, C2, p=None, q=None, loss_fun="square_loss", symmetric=None, log=False, armijo=False,
                        G0=None, max_iter=1e4, tol_rel=1e-9, tol_abs=1e-9, **kwargs):
    """GW value (POT's ``ot.gromov_wasserstein2``) by :func:`numbaot.gromov_wasserstein2`."""
    import numbaot

    _armijo(armijo)
    return numbaot.gromov_wasserstein2(C1, C2, _weights(p), _weights(q), loss_fun, symmetric, log, G0=G0,
                                       max_iter=C.max_iter(max_iter, "max_iter"), tol_rel=tol_rel, tol_abs=tol_abs)


def fused_gromov_wasserstein(M, C1, C2, p=None, q=None, loss_fun="square_loss", symmetric=None, alpha=0.5,
                             armijo=False, G0=None, log=False, max_iter=1e4, tol_rel=1e-9, tol_abs=1e-9, **kwargs):
    """FGW plan (POT's name) by :func:`numbaot.fused_gromov_wasserstein`."""
    import numbaot

    _armijo(armijo)
    return numbaot.fused_gromov_wasserstein(M, C1, C2, _weights(p), _weights(q), loss_fun, symmetric, alpha,
                                            G0=G0, log=log, max_iter=C.max_iter(max_iter, "max_iter"),
                                            tol_rel=tol_rel, tol_abs=tol_abs)


def fused_gromov_wasserstein2(M, C1, C2, p=None, q=None, loss_fun="square_loss", symmetric=None, alpha=0.5,
                              armijo=False, G0=None, log=False, max_iter=1e4, tol_rel=1e-9, tol_abs=1e-9, **kwargs):
    """FGW value (POT's name) by :func:`numbaot.fused_gromov_wasserstein2`."""
    import numbaot

    _armijo(armijo)
    return numbaot.fused_gromov_wasserstein2(M, C1, C2, _weights(p), _weights(q), loss_fun, symmetric, alpha,
                                             G0=G0, log=log, max_iter=C.max_iter(max_iter, "max_iter"),
                                             tol_rel=tol_rel, tol_abs=tol_abs)


def _solver(solver):
    if solver != "PGD":
        raise C.PotNotImplementedError(f"solver={solver!r} is not implemented by numbaot.pot; numbaot's "
                                       "entropic GW is projected gradient descent (solver='PGD')")


def entropic_gromov_wasserstein(C1, C2, p=None, q=None, loss_fun="square_loss", epsilon=0.1, symmetric=None, G0=None,
                                max_iter=1000, tol=1e-9, solver="PGD", warmstart=False, verbose=False, log=False,
                                **kwargs):
    """Entropic GW plan (POT's name) by :func:`numbaot.entropic_gromov_wasserstein` (solver 'PGD')."""
    import numbaot

    _solver(solver)
    return numbaot.entropic_gromov_wasserstein(C1, C2, _weights(p), _weights(q), loss_fun, epsilon, symmetric, G0,
                                               C.max_iter(max_iter, "max_iter"), tol, log=log)


def entropic_gromov_wasserstein2(C1, C2, p=None, q=None, loss_fun="square_loss", epsilon=0.1, symmetric=None,
                                 G0=None, max_iter=1000, tol=1e-9, solver="PGD", warmstart=False, verbose=False,
                                 log=False, **kwargs):
    """Entropic GW value (POT's name) by :func:`numbaot.entropic_gromov_wasserstein2`."""
    import numbaot

    _solver(solver)
    return numbaot.entropic_gromov_wasserstein2(C1, C2, _weights(p), _weights(q), loss_fun, epsilon, symmetric, G0,
                                                C.max_iter(max_iter, "max_iter"), tol, log=log)


def entropic_fused_gromov_wasserstein(M, C1, C2, p=None, q=None, loss_fun="square_loss", epsilon=0.1,
                                      symmetric=None, alpha=0.5, G0=None, max_iter=1000, tol=1e-9, solver="PGD",
                                      warmstart=False, verbose=False, log=False, **kwargs):
    """Entropic FGW plan (POT's name) by :func:`numbaot.entropic_fused_gromov_wasserstein`."""
    import numbaot

    _solver(solver)
    return numbaot.entropic_fused_gromov_wasserstein(M, C1, C2, _weights(p), _weights(q), loss_fun, epsilon,
                                                     symmetric, alpha, G0, C.max_iter(max_iter, "max_iter"), tol,
                                                     log=log)


def entropic_fused_gromov_wasserstein2(M, C1, C2, p=None, q=None, loss_fun="square_loss", epsilon=0.1,
                                       symmetric=None, alpha=0.5, G0=None, max_iter=1000, tol=1e-9, solver="PGD",
                                       warmstart=False, verbose=False, log=False, **kwargs):
    """Entropic FGW value (POT's name) by :func:`numbaot.entropic_fused_gromov_wasserstein2`."""
    import numbaot

    _solver(solver)
    return numbaot.entropic_fused_gromov_wasserstein2(M, C1, C2, _weights(p), _weights(q), loss_fun, epsilon,
                                                      symmetric, alpha, G0, C.max_iter(max_iter, "max_iter"), tol,
                                                      log=log)


def semirelaxed_gromov_wasserstein(C1, C2, p=None, loss_fun="square_loss", symmetric=None, log=False, G0=None,
                                   max_iter=1e4, tol_rel=1e-9, tol_abs=1e-9, random_state=0, **kwargs):
    """Semi-relaxed GW plan (POT's name) by :func:`numbaot.semirelaxed_gromov_wasserstein`."""
    import numbaot

    return numbaot.semirelaxed_gromov_wasserstein(C1, C2, _weights(p), loss_fun, symmetric, log, G0=G0,
                                                  max_iter=C.max_iter(max_iter, "max_iter"), tol_rel=tol_rel,
                                                  tol_abs=tol_abs)


def semirelaxed_gromov_wasserstein2(C1, C2, p=None, loss_fun="square_loss", symmetric=None, log=False, G0=None,
                                    max_iter=1e4, tol_rel=1e-9, tol_abs=1e-9, random_state=0, **kwargs):
    """Semi-relaxed GW value (POT's name) by :func:`numbaot.semirelaxed_gromov_wasserstein2`."""
    import numbaot

    return numbaot.semirelaxed_gromov_wasserstein2(C1, C2, _weights(p), loss_fun, symmetric, log, G0=G0,
                                                   max_iter=C.max_iter(max_iter, "max_iter"), tol_rel=tol_rel,
                                                   tol_abs=tol_abs)


def _bary_log(out, log):
    return (out, {}) if log else out


def gromov_barycenters(N, Cs, ps=None, p=None, lambdas=None, loss_fun="square_loss", symmetric=True, armijo=False,
                       max_iter=1000, tol=1e-9, stop_criterion="barycenter", warmstartT=False, verbose=False,
                       log=False, init_C=None, random_state=None, **kwargs):
    """GW barycenter structure (POT's name) by :func:`numbaot.gromov_barycenters`."""
    import numbaot

    out = numbaot.gromov_barycenters(N, Cs, ps, C.weights(p), lambdas, loss_fun, symmetric,
                                     max_iter=C.max_iter(max_iter, "max_iter"), tol=tol, warmstart=warmstartT,
                                     init_C=init_C, random_state=random_state)
    return _bary_log(out, log)


def fgw_barycenters(N, Ys, Cs, ps=None, lambdas=None, alpha=0.5, fixed_structure=False, fixed_features=False,
                    p=None, loss_fun="square_loss", armijo=False, symmetric=True, max_iter=100, tol=1e-9,
                    stop_criterion="barycenter", warmstartT=False, verbose=False, log=False, init_C=None,
                    init_X=None, random_state=None, **kwargs):
    """FGW barycenter ``(X, C)`` (POT's name) by :func:`numbaot.fgw_barycenters`."""
    import numbaot

    out = numbaot.fgw_barycenters(N, Ys, Cs, ps, lambdas, alpha, fixed_structure, fixed_features, C.weights(p),
                                  loss_fun, symmetric=symmetric, max_iter=C.max_iter(max_iter, "max_iter"), tol=tol,
                                  warmstart=warmstartT, init_C=init_C, init_X=init_X, random_state=random_state)
    return (*out, {}) if log else out


def entropic_gromov_barycenters(N, Cs, ps=None, p=None, lambdas=None, loss_fun="square_loss", epsilon=0.1,
                                symmetric=True, max_iter=1000, tol=1e-9, stop_criterion="barycenter",
                                warmstartT=False, verbose=False, log=False, init_C=None, random_state=None, **kwargs):
    """Entropic GW barycenter (POT's name) by :func:`numbaot.entropic_gromov_barycenters`."""
    import numbaot

    out = numbaot.entropic_gromov_barycenters(N, Cs, ps, C.weights(p), lambdas, loss_fun, epsilon, symmetric,
                                              max_iter=C.max_iter(max_iter, "max_iter"), tol=tol,
                                              warmstart=warmstartT, init_C=init_C, random_state=random_state)
    return _bary_log(out, log)


def entropic_fused_gromov_barycenters(N, Ys, Cs, ps=None, p=None, lambdas=None, loss_fun="square_loss",
                                      epsilon=0.1, symmetric=True, alpha=0.5, max_iter=1000, tol=1e-9,
                                      stop_criterion="barycenter", warmstartT=False, verbose=False, log=False,
                                      init_C=None, init_Y=None, fixed_structure=False, fixed_features=False,
                                      random_state=None, **kwargs):
    """Entropic FGW barycenter ``(Y, C)`` (POT's name) by :func:`numbaot.entropic_fused_gromov_barycenters`."""
    import numbaot

    out = numbaot.entropic_fused_gromov_barycenters(
        N, Ys, Cs, ps, C.weights(p), lambdas, loss_fun, epsilon, symmetric, alpha,
        max_iter=C.max_iter(max_iter, "max_iter"), tol=tol, warmstart=warmstartT, init_C=init_C, init_Y=init_Y,
        fixed_structure=fixed_structure, fixed_features=fixed_features, random_state=random_state)
    return (*out, {}) if log else out


def partial_gromov_wasserstein(C1, C2, p=None, q=None, m=None, loss_fun="square_loss", nb_dummies=1, G0=None, thres=1,
                               numItermax=1e4, tol=1e-8, symmetric=None, warn=True, log=False, verbose=False,
                               **kwargs):
    """Partial GW plan (POT's ``ot.gromov`` signature) by :func:`numbaot.partial_gromov_wasserstein`."""
    import numbaot

    with C.asserting():
        G = numbaot.partial_gromov_wasserstein(C1, C2, C.weights(p), C.weights(q), m, loss_fun, nb_dummies, G0,
                                               symmetric=symmetric, max_iter=C.max_iter(numItermax), tol=tol,
                                               warn=warn)
    return (G, {}) if log else G


def partial_gromov_wasserstein2(C1, C2, p=None, q=None, m=None, loss_fun="square_loss", nb_dummies=1, G0=None,
                                thres=1, numItermax=1e4, tol=1e-7, symmetric=None, warn=False, log=False,
                                verbose=False, **kwargs):
    """Partial GW value (POT's ``ot.gromov`` signature) by :func:`numbaot.partial_gromov_wasserstein2`."""
    import numbaot

    with C.asserting():
        value = numbaot.partial_gromov_wasserstein2(C1, C2, C.weights(p), C.weights(q), m, loss_fun, nb_dummies,
                                                    G0, symmetric=symmetric, max_iter=C.max_iter(numItermax),
                                                    tol=tol, warn=warn)
    if not log:
        return value
    G = partial_gromov_wasserstein(C1, C2, p, q, m, loss_fun, nb_dummies, G0, thres, numItermax, tol, symmetric, False)
    return value, {"partial_gw_dist": value, "T": G}


def entropic_partial_gromov_wasserstein(C1, C2, p=None, q=None, reg=1.0, m=None, loss_fun="square_loss", G0=None,
                                        numItermax=1000, tol=1e-7, symmetric=None, log=False, verbose=False):
    """Entropic partial GW plan (POT's ``ot.gromov`` signature)."""
    import numbaot

    with C.asserting():
        G = numbaot.entropic_partial_gromov_wasserstein(C1, C2, C.weights(p), C.weights(q), reg, m, loss_fun, G0,
                                                        symmetric=symmetric, max_iter=C.max_iter(numItermax),
                                                        tol=tol)
    return (G, {}) if log else G


def entropic_partial_gromov_wasserstein2(C1, C2, p=None, q=None, reg=1.0, m=None, loss_fun="square_loss", G0=None,
                                         numItermax=1000, tol=1e-7, symmetric=None, log=False, verbose=False):
    """Entropic partial GW value (POT's ``ot.gromov`` signature)."""
    import numbaot

    with C.asserting():
        value = numbaot.entropic_partial_gromov_wasserstein2(C1, C2, C.weights(p), C.weights(q), reg, m, loss_fun,
                                                             G0, symmetric=symmetric,
                                                             max_iter=C.max_iter(numItermax), tol=tol)
    if not log:
        return value
    G = entropic_partial_gromov_wasserstein(C1, C2, p, q, reg, m, loss_fun, G0, numItermax, tol, symmetric)
    return value, {"partial_gw_dist": value, "T": G}


#: POT's names in this module that numbaot does not implement -> numbaot's closest function (None: no
#: equivalent); reaching one raises PotNameError, an AttributeError.
_MISSING = {name: closest for closest, names in {
    "numbaot.gromov_wasserstein": ["BAPG_gromov_wasserstein", "BAPG_gromov_wasserstein2", "GW_distance_estimation",
                                   "pointwise_gromov_wasserstein", "sampled_gromov_wasserstein",
                                   "solve_gromov_linesearch", "quantized_fused_gromov_wasserstein",
                                   "quantized_fused_gromov_wasserstein_samples",
                                   "quantized_fused_gromov_wasserstein_partitioned", "get_graph_partition",
                                   "get_graph_representants", "format_partitioned_graph",
                                   "get_partition_and_representants_samples", "format_partitioned_samples",
                                   "gromov_wasserstein_dictionary_learning", "gromov_wasserstein_linear_unmixing",
                                   "lowrank_gromov_wasserstein_samples"],
    "numbaot.fused_gromov_wasserstein": ["BAPG_fused_gromov_wasserstein", "BAPG_fused_gromov_wasserstein2",
                                         "fused_gromov_wasserstein_dictionary_learning",
                                         "fused_gromov_wasserstein_linear_unmixing",
                                         "partial_fused_gromov_wasserstein", "partial_fused_gromov_wasserstein2",
                                         "entropic_partial_fused_gromov_wasserstein",
                                         "entropic_partial_fused_gromov_wasserstein2",
                                         "fused_unbalanced_gromov_wasserstein",
                                         "fused_unbalanced_gromov_wasserstein2", "unbalanced_co_optimal_transport",
                                         "unbalanced_co_optimal_transport2",
                                         "fused_unbalanced_across_spaces_divergence"],
    "numbaot.semirelaxed_gromov_wasserstein": ["semirelaxed_fused_gromov_wasserstein",
                                               "semirelaxed_fused_gromov_wasserstein2",
                                               "entropic_semirelaxed_gromov_wasserstein",
                                               "entropic_semirelaxed_gromov_wasserstein2",
                                               "entropic_semirelaxed_fused_gromov_wasserstein",
                                               "entropic_semirelaxed_fused_gromov_wasserstein2",
                                               "semirelaxed_fgw_barycenters", "semirelaxed_gromov_barycenters",
                                               "init_matrix_semirelaxed", "semirelaxed_init_plan",
                                               "solve_semirelaxed_gromov_linesearch"],
    "numbaot.gromov_barycenters": ["update_barycenter_structure", "update_barycenter_feature"],
    None: ["div_between_product", "div_to_product", "fused_unbalanced_across_spaces_cost", "uot_cost_matrix",
           "uot_parameters_and_measures"],
}.items() for name in names}
__getattr__ = C.missing_getattr(__name__, _MISSING)
