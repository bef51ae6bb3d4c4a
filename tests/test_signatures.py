"""Positional traps of the POT-named verbs.

Every public verb takes its problem's data positionally and everything else by keyword, except parameters that
sit in POT's positional order with POT's meaning. A positional call written for POT then either means the same
here or is refused with a TypeError (``numbaot.emd2(a, b, M, 1)``, where POT's 1 is ``processes``, used to bind 1
to ``max_iter``, run one pivot and return 0.0 with only a warning).
"""
from __future__ import annotations

import inspect

import numpy as np
import pytest

import numbaot

POSITIONAL_OR_KEYWORD = inspect.Parameter.POSITIONAL_OR_KEYWORD
KEYWORD_ONLY = inspect.Parameter.KEYWORD_ONLY

# The parameters each verb takes positionally, in order: the problem's data, then (only where POT has them next,
# with the same meaning) POT's following parameters. Everything after them is keyword-only.
POSITIONAL = {
    "emd": ("a", "b", "M"),
    "emd2": ("a", "b", "M"),
    "sinkhorn": ("a", "b", "M", "reg"),
    "sinkhorn2": ("a", "b", "M", "reg"),
    "sinkhorn_unbalanced": ("a", "b", "M", "reg", "reg_m"),
    "sinkhorn_unbalanced2": ("a", "b", "M", "reg", "reg_m"),
    "emd_1d": ("x_a", "x_b", "a", "b", "metric", "p", "dense"),
    "emd2_1d": ("x_a", "x_b", "a", "b", "metric", "p"),
    "wasserstein_1d": ("u_values", "v_values", "u_weights", "v_weights", "p", "require_sort"),
    "solve": ("M", "a", "b", "reg"),
    "solve_sample": ("X_a", "X_b", "a", "b", "metric"),
    "solve_gromov": ("Ca", "Cb", "M", "a", "b", "loss", "symmetric", "alpha", "reg"),
    "solve_batch": ("M", "reg", "a", "b"),
    "gromov_wasserstein": ("C1", "C2", "p", "q", "loss_fun", "symmetric", "log"),
    "gromov_wasserstein2": ("C1", "C2", "p", "q", "loss_fun", "symmetric", "log"),
    "fused_gromov_wasserstein": ("M", "C1", "C2", "p", "q", "loss_fun", "symmetric", "alpha"),
    "fused_gromov_wasserstein2": ("M", "C1", "C2", "p", "q", "loss_fun", "symmetric", "alpha"),
    "entropic_gromov_wasserstein": ("C1", "C2", "p", "q", "loss_fun", "epsilon", "symmetric", "G0", "max_iter",
                                    "tol"),
    "entropic_gromov_wasserstein2": ("C1", "C2", "p", "q", "loss_fun", "epsilon", "symmetric", "G0", "max_iter",
                                     "tol"),
    "entropic_fused_gromov_wasserstein": ("M", "C1", "C2", "p", "q", "loss_fun", "epsilon", "symmetric", "alpha",
                                          "G0", "max_iter", "tol"),
    "entropic_fused_gromov_wasserstein2": ("M", "C1", "C2", "p", "q", "loss_fun", "epsilon", "symmetric", "alpha",
                                           "G0", "max_iter", "tol"),
    "semirelaxed_gromov_wasserstein": ("C1", "C2", "p", "loss_fun", "symmetric", "log"),
    "semirelaxed_gromov_wasserstein2": ("C1", "C2", "p", "loss_fun", "symmetric", "log"),
    "sinkhorn_divergence": ("X_a", "X_b", "a", "b"),
    "samples_loss": ("X_a", "X_b", "a", "b"),
    "dist": ("x1", "x2", "metric", "p"),
    "unif": ("n", "type_as"),
    "sliced_wasserstein_distance": ("X_s", "X_t", "a", "b", "n_projections", "p", "projections", "seed"),
    "max_sliced_wasserstein_distance": ("X_s", "X_t", "a", "b", "n_projections", "p", "projections", "seed"),
    "get_random_projections": ("d", "n_projections", "seed"),
    "bures_wasserstein_distance": ("ms", "mt", "Cs", "Ct", "paired"),
    "bures_wasserstein_mapping": ("ms", "mt", "Cs", "Ct"),
    "empirical_bures_wasserstein_distance": ("xs", "xt", "reg", "ws", "wt", "bias"),
    "empirical_bures_wasserstein_mapping": ("xs", "xt", "reg", "ws", "wt", "bias"),
    "bures_wasserstein_barycenter": ("m", "C", "weights", "method"),
    "bures_wasserstein_distance_hd": ("ms", "mt", "Us", "Ut", "ls", "lt", "sigma2_s", "sigma2_t"),
    "empirical_bures_wasserstein_distance_hd": ("xs", "xt", "d_intrinsic", "reg", "ws", "wt", "bias"),
    "bures_wasserstein_mapping_hd": ("ms", "mt", "Us", "Ut", "ls", "lt", "sigma2_s", "sigma2_t"),
    "empirical_bures_wasserstein_mapping_hd": ("xs", "xt", "d_intrinsic", "reg", "ws", "wt", "bias"),
    "gmm_ot_loss": ("m_s", "m_t", "C_s", "C_t", "w_s", "w_t"),
    "gmm_ot_plan": ("m_s", "m_t", "C_s", "C_t", "w_s", "w_t"),
    "gmm_ot_apply_map": ("x", "m_s", "m_t", "C_s", "C_t", "w_s", "w_t", "plan", "method", "seed"),
    "gmm_ot_plan_density": ("x", "y", "m_s", "m_t", "C_s", "C_t", "w_s", "w_t", "plan", "atol"),
    "gaussian_gromov_wasserstein_distance": ("Cov_s", "Cov_t"),
    "gaussian_gromov_wasserstein_mapping": ("mu_s", "mu_t", "Cov_s", "Cov_t", "sign_eigs"),
    "empirical_gaussian_gromov_wasserstein_distance": ("xs", "xt", "ws", "wt"),
    "empirical_gaussian_gromov_wasserstein_mapping": ("xs", "xt", "ws", "wt", "sign_eigs"),
    "wasserstein_circle": ("u_values", "v_values", "u_weights", "v_weights", "p"),
    "binary_search_circle": ("u_values", "v_values", "u_weights", "v_weights", "p"),
    "wasserstein1_circle": ("u_values", "v_values", "u_weights", "v_weights"),
    "semidiscrete_wasserstein2_unif_circle": ("u_values", "u_weights"),
    "get_projections_sphere": ("d", "n_projections", "seed"),
    "sliced_wasserstein_sphere": ("X_s", "X_t", "a", "b", "n_projections", "p", "projections", "seed"),
    "sliced_wasserstein_sphere_unif": ("X_s", "a", "n_projections", "projections", "seed"),
    "barycenter": ("A", "M", "reg", "weights", "method"),
    "barycenter_debiased": ("A", "M", "reg", "weights", "method"),
    "barycenter_unbalanced": ("A", "M", "reg", "reg_m", "method", "weights"),
    "convolutional_barycenter2d": ("A", "reg", "weights", "method"),
    "convolutional_barycenter2d_debiased": ("A", "reg", "weights", "method"),
    "convolutional_barycenter3d": ("A", "reg", "weights", "method"),
    "lp_barycenter": ("A", "M", "weights"),
    "free_support_barycenter": ("measures_locations", "measures_weights", "X_init", "b", "weights"),
    "free_support_sinkhorn_barycenter": ("measures_locations", "measures_weights", "X_init", "reg", "b", "weights"),
    "solve_barycenter": ("A", "M", "reg", "weights"),
    "solve_bary_sample": ("X_a_list", "n", "a_list", "w", "X_b_init", "b"),
    "barycenter_1d": ("x_list", "a_list", "weights"),
    "gromov_barycenters": ("N", "Cs", "ps", "p", "lambdas", "loss_fun", "symmetric"),
    "entropic_gromov_barycenters": ("N", "Cs", "ps", "p", "lambdas", "loss_fun", "epsilon", "symmetric"),
    "fgw_barycenters": ("N", "Ys", "Cs", "ps", "lambdas", "alpha", "fixed_structure", "fixed_features", "p",
                        "loss_fun"),
    "entropic_fused_gromov_barycenters": ("N", "Ys", "Cs", "ps", "p", "lambdas", "loss_fun", "epsilon", "symmetric",
                                          "alpha"),
    "partial_wasserstein": ("a", "b", "M", "m", "nb_dummies"),
    "partial_wasserstein2": ("a", "b", "M", "m", "nb_dummies"),
    "partial_wasserstein_lagrange": ("a", "b", "M", "reg_m", "nb_dummies"),
    "entropic_partial_wasserstein": ("a", "b", "M", "reg", "m"),
    "mm_unbalanced": ("a", "b", "M", "reg_m", "c", "reg", "div", "G0"),
    "mm_unbalanced2": ("a", "b", "M", "reg_m", "c", "reg", "div", "G0"),
    "lbfgsb_unbalanced": ("a", "b", "M", "reg", "reg_m", "c", "reg_div", "regm_div", "G0"),
    "lbfgsb_unbalanced2": ("a", "b", "M", "reg", "reg_m", "c", "reg_div", "regm_div", "G0"),
    "partial_gromov_wasserstein": ("C1", "C2", "p", "q", "m", "loss_fun", "nb_dummies", "G0"),
    "partial_gromov_wasserstein2": ("C1", "C2", "p", "q", "m", "loss_fun", "nb_dummies", "G0"),
    "entropic_partial_gromov_wasserstein": ("C1", "C2", "p", "q", "reg", "m", "loss_fun", "G0"),
    "entropic_partial_gromov_wasserstein2": ("C1", "C2", "p", "q", "reg", "m", "loss_fun", "G0"),
    "cg": ("a", "b", "M", "reg", "f", "df", "G0", "line_search"),
    "gcg": ("a", "b", "M", "reg1", "reg2", "f", "df", "G0"),
    "semirelaxed_cg": ("a", "b", "M", "reg", "f", "df", "G0", "line_search"),
    "sinkhorn_lpl1_mm": ("a", "labels_a", "b", "M", "reg", "eta"),
    "sinkhorn_l1l2_gl": ("a", "labels_a", "b", "M", "reg", "eta"),
    "emd_laplace": ("a", "b", "xs", "xt", "M", "sim", "sim_param", "reg", "eta", "alpha"),
    "smooth_ot_dual": ("a", "b", "M", "reg", "reg_type"),
    "smooth_ot_semi_dual": ("a", "b", "M", "reg", "reg_type", "max_nz"),
    "screenkhorn": ("a", "b", "M", "reg", "ns_budget", "nt_budget", "uniform", "restricted"),
}

# Public verbs without a POT namesake (GeomLoss-like front-ends); checked by test (c) only.
NOT_IN_POT = {"sinkhorn_divergence", "samples_loss", "lp_barycenter", "convolutional_barycenter3d",
              "solve_barycenter", "barycenter_1d"}

# Positional parameters whose names differ from POT's at the same position although the meaning agrees:
# {verb: {our name: POT's name}}. Keep it short; today every positional name is POT's own.
SAME_MEANING = {}


def _verbs():
    return sorted(name for name in numbaot.__all__ if inspect.isfunction(getattr(numbaot, name)))


def _positional_names(fn):
    return [p.name for p in inspect.signature(fn).parameters.values() if p.kind == POSITIONAL_OR_KEYWORD]


def _pot_namesake(ot, name):
    """``ot.<name>``, or the namesake in ``ot.gromov``, ``ot.bregman``, ``ot.lp``, ``ot.sliced``, ``ot.gaussian``,
    ``ot.gmm`` or ``ot.lp.solver_circle``; None if there is none."""
    for path in ((), ("gromov",), ("bregman",), ("lp",), ("sliced",), ("gaussian",), ("gmm",),
                 ("lp", "solver_circle"), ("partial",), ("unbalanced",), ("optim",), ("da",), ("smooth",)):
        obj = ot
        for attr in path + (name,):
            obj = getattr(obj, attr, None)
            if obj is None:
                break
        if obj is not None and callable(obj):
            return obj
    return None


def test_every_public_verb_is_listed():
    assert set(_verbs()) == set(POSITIONAL)


# ----------------------------------------------------------------------- (a) POT's positional calls are refused
a = b = np.array([0.5, 0.5])
M = np.array([[0.0, 1.0], [1.0, 0.0]])
X = np.array([[0.0], [1.0]])
MB = np.stack([M, M])

TRAPS = [  # (verb, positional arguments as POT would take them; the last one is what POT means by it)
    ("emd", (a, b, M, 100000)),  # numItermax
    ("emd2", (a, b, M, 1)),  # processes
    ("sinkhorn", (a, b, M, 0.1, "sinkhorn")),  # method
    ("sinkhorn2", (a, b, M, 0.1, "sinkhorn")),  # method
    ("sinkhorn_unbalanced", (a, b, M, 0.1, 1.0, "sinkhorn")),  # method
    ("sinkhorn_unbalanced2", (a, b, M, 0.1, 1.0, "sinkhorn")),  # method
    ("emd_1d", (X[:, 0], X[:, 0], a, b, "sqeuclidean", 1.0, True, False)),  # log
    ("emd2_1d", (X[:, 0], X[:, 0], a, b, "sqeuclidean", 1.0, True)),  # dense
    ("wasserstein_1d", (X[:, 0], X[:, 0], a, b, 1, True, False)),  # return_plans
    ("solve", (M, a, b, 0.1, None)),  # c
    ("solve_sample", (X, X, a, b, "sqeuclidean", 0.1)),  # reg
    ("solve_gromov", (M, M, None, a, b, "square_loss", None, 0.5, 0.1, "entropy")),  # reg_type
    ("solve_batch", (MB, 0.1, None, None, 1000)),  # max_iter
    ("gromov_wasserstein", (M, M, a, b, "square_loss", None, False, False)),  # armijo
    ("gromov_wasserstein2", (M, M, a, b, "square_loss", None, False, False)),  # armijo
    ("fused_gromov_wasserstein", (M, M, M, a, b, "square_loss", None, 0.5, False)),  # armijo
    ("fused_gromov_wasserstein2", (M, M, M, a, b, "square_loss", None, 0.5, False)),  # armijo
    ("entropic_gromov_wasserstein", (M, M, a, b, "square_loss", 0.1, None, None, 1000, 1e-9, "PGD")),  # solver
    ("entropic_gromov_wasserstein2", (M, M, a, b, "square_loss", 0.1, None, None, 1000, 1e-9, "PGD")),  # solver
    ("entropic_fused_gromov_wasserstein",
     (M, M, M, a, b, "square_loss", 0.1, None, 0.5, None, 1000, 1e-9, "PGD")),  # solver
    ("entropic_fused_gromov_wasserstein2",
     (M, M, M, a, b, "square_loss", 0.1, None, 0.5, None, 1000, 1e-9, "PGD")),  # solver
    ("semirelaxed_gromov_wasserstein", (M, M, a, "square_loss", None, False, None)),  # G0
    ("semirelaxed_gromov_wasserstein2", (M, M, a, "square_loss", None, False, None)),  # G0
    ("sinkhorn_divergence", (X, X, a, b, 0.1)),  # reg
    ("samples_loss", (X, X, a, b, "sinkhorn")),  # loss
    ("dist", (X, X, "sqeuclidean", 2, None)),  # w
    ("unif", (2, None, None)),
    ("sliced_wasserstein_distance", (X, X, a, b, 50, 2, None, None, False)),  # log
    ("max_sliced_wasserstein_distance", (X, X, a, b, 50, 2, None, None, False)),  # log
    ("get_random_projections", (2, 3, 0, None)),  # backend
    ("bures_wasserstein_distance", (X[:, 0], X[:, 0], M, M, False, False)),  # log
    ("bures_wasserstein_mapping", (X[:, 0], X[:, 0], M, M, False)),  # log
    ("empirical_bures_wasserstein_distance", (X, X, 1e-6, None, None, True, False)),  # log
    ("empirical_bures_wasserstein_mapping", (X, X, 1e-6, None, None, True, False)),  # log
    ("bures_wasserstein_barycenter", (X, MB, None, "fixed_point", 1000)),  # num_iter
    ("bures_wasserstein_distance_hd", (X[:, 0], X[:, 0], X, X, a[:1], a[:1], 1.0, 1.0, False)),  # log
    ("empirical_bures_wasserstein_distance_hd", (X, X, 1, 0.0, None, None, True, False)),  # log
    ("bures_wasserstein_mapping_hd", (X[:, 0], X[:, 0], X, X, a[:1], a[:1], 1.0, 1.0, False)),  # log
    ("empirical_bures_wasserstein_mapping_hd", (X, X, 1, 0.0, None, None, True, False)),  # log
    ("gmm_ot_loss", (X, X, MB, MB, a, b, False)),  # log
    ("gmm_ot_plan", (X, X, MB, MB, a, b, False)),  # log
    ("gmm_ot_apply_map", (X, X, X, MB, MB, a, b, None, "bary", None, None)),
    ("gmm_ot_plan_density", (X, X, X, X, MB, MB, a, b, None, 1e-2, None)),
    ("gaussian_gromov_wasserstein_distance", (M, M, False)),  # log
    ("gaussian_gromov_wasserstein_mapping", (X[:, 0], X[:, 0], M, M, None, False)),  # log
    ("empirical_gaussian_gromov_wasserstein_distance", (X, X, None, None, False)),  # log
    ("empirical_gaussian_gromov_wasserstein_mapping", (X, X, None, None, None, False)),  # log
    ("wasserstein_circle", (X[:, 0], X[:, 0], a, b, 1, 10)),  # Lm
    ("binary_search_circle", (X[:, 0], X[:, 0], a, b, 1, 10)),  # Lm
    ("wasserstein1_circle", (X[:, 0], X[:, 0], a, b, True)),  # require_sort
    ("semidiscrete_wasserstein2_unif_circle", (X[:, 0], a, None)),
    ("get_projections_sphere", (3, 2, 0, None)),  # backend
    ("sliced_wasserstein_sphere", (X, X, a, b, 50, 2, None, None, False)),  # log
    ("sliced_wasserstein_sphere_unif", (X, a, 50, None, None, False)),  # log
    ("barycenter", (M, M, 0.1, None, "sinkhorn", 1000)),  # numItermax
    ("barycenter_debiased", (M, M, 0.1, None, "sinkhorn", 1000)),  # numItermax
    ("barycenter_unbalanced", (M, M, 0.1, 1.0, "sinkhorn", None, 1000)),  # numItermax
    ("convolutional_barycenter2d", (MB, 0.1, None, "sinkhorn", 1000)),  # numItermax
    ("convolutional_barycenter2d_debiased", (MB, 0.1, None, "sinkhorn", 1000)),  # numItermax
    ("convolutional_barycenter3d", (MB[None], 0.1, None, "sinkhorn", 1000)),
    ("lp_barycenter", (M, M, None, False)),  # verbose (ot.lp.barycenter)
    ("free_support_barycenter", ([X], None, X, None, None, 100)),  # numItermax
    ("free_support_sinkhorn_barycenter", ([X], None, X, 0.1, None, None, 100)),  # numItermax
    ("solve_barycenter", (M, M, 0.1, None, None)),
    ("solve_bary_sample", ([X], 2, None, None, X, None, "sqeuclidean")),  # metric
    ("barycenter_1d", ([X[:, 0]], None, None, 2)),
    ("gromov_barycenters", (2, [M], None, None, None, "square_loss", True, False)),  # armijo
    ("entropic_gromov_barycenters", (2, [M], None, None, None, "square_loss", 0.1, True, 1000)),  # max_iter
    ("fgw_barycenters", (2, [X], [M], None, None, 0.5, False, False, None, "square_loss", False)),  # armijo
    ("entropic_fused_gromov_barycenters",
     (2, [X], [M], None, None, None, "square_loss", 0.1, True, 0.5, 1000)),  # max_iter
    ("partial_wasserstein", (a, b, M, 0.5, 1, False)),  # log
    ("partial_wasserstein2", (a, b, M, 0.5, 1, False)),  # log
    ("partial_wasserstein_lagrange", (a, b, M, 1.0, 1, False)),  # log
    ("entropic_partial_wasserstein", (a, b, M, 0.1, 0.5, "sinkhorn")),  # method
    ("mm_unbalanced", (a, b, M, 1.0, None, 0, "kl", None, 1000)),  # numItermax
    ("mm_unbalanced2", (a, b, M, 1.0, None, 0, "kl", None, "linear")),  # returnCost
    ("lbfgsb_unbalanced", (a, b, M, 0.1, 1.0, None, "kl", "kl", None, 1000)),  # numItermax
    ("lbfgsb_unbalanced2", (a, b, M, 0.1, 1.0, None, "kl", "kl", None, "linear")),  # returnCost
    ("partial_gromov_wasserstein", (M, M, a, b, 0.5, "square_loss", 1, None, 1)),  # thres
    ("partial_gromov_wasserstein2", (M, M, a, b, 0.5, "square_loss", 1, None, 1)),  # thres
    ("entropic_partial_gromov_wasserstein", (M, M, a, b, 0.1, 0.5, "square_loss", None, 1000)),  # numItermax
    ("entropic_partial_gromov_wasserstein2", (M, M, a, b, 0.1, 0.5, "square_loss", None, 1000)),  # numItermax
    ("cg", (a, b, M, 0.1, np.sum, np.ones_like, None, None, 200)),  # numItermax
    ("gcg", (a, b, M, 0.1, 0.1, np.sum, np.ones_like, None, 10)),  # numItermax
    ("semirelaxed_cg", (a, b, M, 0.1, np.sum, np.ones_like, None, None, 200)),  # numItermax
    ("sinkhorn_lpl1_mm", (a, [0, 1], b, M, 0.1, 0.1, 10)),  # numItermax
    ("sinkhorn_l1l2_gl", (a, [0, 1], b, M, 0.1, 0.1, 10)),  # numItermax
    ("emd_laplace", (a, b, X, X, M, "knn", None, "pos", 1, 0.5, 100)),  # numItermax
    ("smooth_ot_dual", (a, b, M, 0.1, "l2", "L-BFGS-B")),  # method
    ("smooth_ot_semi_dual", (a, b, M, 0.1, "l2", None, "L-BFGS-B")),  # method
    ("screenkhorn", (a, b, M, 0.1, 1, 1, False, True, 10000)),  # maxiter
]


def test_traps_cover_every_verb():
    assert {name for name, _ in TRAPS} == set(POSITIONAL)


@pytest.mark.parametrize("name, args", TRAPS, ids=[name for name, _ in TRAPS])
def test_positional_call_past_the_data_is_refused(name, args):
    with pytest.raises(TypeError, match="positional argument"):
        getattr(numbaot, name)(*args)


def test_emd2_processes_trap():
    with pytest.raises(TypeError, match="positional argument"):
        numbaot.emd2(a, b, M, 1)


# ------------------------------------------------------------------------------ (b) a prefix of POT's positionals
def _pot_verbs():
    ot = pytest.importorskip("ot")
    return [(name, _pot_namesake(ot, name)) for name in _verbs() if name not in NOT_IN_POT]


def test_pot_namesakes_found():
    missing = [name for name, fn in _pot_verbs() if fn is None]
    assert not missing, f"no ot.<name> or ot.gromov.<name> for {missing}; add them to NOT_IN_POT?"


@pytest.mark.parametrize("name", sorted(set(POSITIONAL) - NOT_IN_POT))
def test_positional_names_are_a_prefix_of_pots(name):
    ot = pytest.importorskip("ot")
    pot = _pot_namesake(ot, name)
    assert pot is not None
    ours = _positional_names(getattr(numbaot, name))
    theirs = _positional_names(pot)
    renamed = SAME_MEANING.get(name, {})
    ours_as_pot = [renamed.get(p, p) for p in ours]
    assert ours_as_pot == theirs[:len(ours)], (
        f"numbaot.{name}{tuple(ours)} vs ot's {tuple(theirs)}: a positional POT call would bind differently")


# ---------------------------------------------------------------------------- (c) keyword-only after the data
@pytest.mark.parametrize("name", sorted(POSITIONAL))
def test_keyword_only_after_the_data(name):
    params = list(inspect.signature(getattr(numbaot, name)).parameters.values())
    n = len(POSITIONAL[name])
    assert tuple(p.name for p in params[:n]) == POSITIONAL[name]
    assert all(p.kind == POSITIONAL_OR_KEYWORD for p in params[:n]), name
    late = [p.name for p in params[n:] if p.kind != KEYWORD_ONLY]
    assert not late, f"numbaot.{name}: {late} should be keyword-only"
