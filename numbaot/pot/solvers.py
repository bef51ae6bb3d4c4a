"""``ot.solvers`` over numbaot: POT's unified ``solve``, ``solve_gromov``, ``solve_sample``, ``solve_bary_sample``.

Results are numbaot's :class:`~numbaot.OTResult` (``plan``, ``value``, ``value_linear``, ``potentials``,
``status``, ...), with POT's conventions for the potentials: the exact duals, and for entropic problems the log
scalings POT reports (``log u``, ``log v``; numbaot's own ``numbaot.solve`` gives ``f = reg (log u - log a)``).
"""
from __future__ import annotations

import numpy as np

from . import _common as C

__all__ = ["solve", "solve_gromov", "solve_sample", "solve_bary_sample"]

#: POT's ``solve_sample`` methods (the list POT's tests parametrise over).
lst_method_solve_sample = ["1d", "gaussian", "gaussian_hd", "lowrank", "nystroem", "factored", "geomloss",
                           "geomloss_auto", "geomloss_tensorized", "geomloss_online", "geomloss_multiscale",
                           "sliced", "max_sliced", "bsp"]
_POT_ONLY_METHODS = {"factored", "lowrank", "nystroem", "gaussian_hd", "bsp", "geomloss_multiscale"}
_NATIVE_SAMPLE_METHODS = {"1d", "sliced", "max_sliced", "gaussian"}
#: POT's ``solve`` methods (entropic and unbalanced; exact OT takes none).
_SOLVE_METHODS = {"sinkhorn", "sinkhorn_log", "sinkhorn_knopp", "sinkhorn_stabilized", "sinkhorn_epsilon_scaling",
                  "greenkhorn", "sinkhorn_translation_invariant", "lbfgsb", "mm", "emd", "network_simplex"}


def _reg(reg):
    return None if reg is None or (np.isscalar(reg) and reg == 0) else reg


def _reg_type(reg_type):
    if isinstance(reg_type, tuple):
        raise C.PotNotImplementedError("a custom regulariser reg_type=(f, df) is not implemented by numbaot.pot's "
                                       "solve; closest numbaot function: numbaot.pot.optim.cg / gcg")
    if str(reg_type).lower() not in ("kl", "entropy"):
        raise C.PotNotImplementedError(f"reg_type={reg_type!r} is not implemented by numbaot.pot's solve; closest "
                                       "numbaot function: numbaot.pot.smooth.smooth_ot_dual for 'L2'")
    return "entropy" if str(reg_type).lower() == "entropy" else "KL"


def _c(c, a, b, M):
    if c is None:
        return
    M = np.asarray(M)
    a = np.full(M.shape[0], 1.0 / M.shape[0]) if a is None else np.asarray(a, dtype=float)
    b = np.full(M.shape[1], 1.0 / M.shape[1]) if b is None else np.asarray(b, dtype=float)
    if not np.allclose(np.asarray(c, dtype=float), np.outer(a, b)):
        raise C.PotNotImplementedError("a reference measure c other than a b^T is not implemented by numbaot.pot")


def _pot_potentials(result, a, b, reg, unbalanced):
    """POT's result with POT's entropic potentials: log-scalings (``log u = log a + f / reg`` balanced,
    ``f / reg`` unbalanced)."""
    from .utils import OTResult

    f, g = result.potential_a, result.potential_b
    if f is None or reg is None:
        return OTResult.from_numbaot(result)
    if unbalanced is not None:
        return OTResult.from_numbaot(result, potentials=(f / reg, g / reg))
    n, m = np.shape(f)[0], np.shape(g)[0]
    a = np.full(n, 1.0 / n) if a is None else np.asarray(a, dtype=np.float64)
    b = np.full(m, 1.0 / m) if b is None else np.asarray(b, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return OTResult.from_numbaot(result, potentials=(np.log(a) + f / reg, np.log(b) + g / reg))


def solve(M, a=None, b=None, reg=None, c=None, reg_type="KL", unbalanced=None, unbalanced_type="KL", method=None,
          n_threads=1, max_iter=None, plan_init=None, potentials_init=None, tol=None, verbose=False,
          grad="autodiff"):
    """POT's ``ot.solve`` by :func:`numbaot.solve`: exact (``reg`` None or 0), entropic ('KL' or 'entropy'),
    unbalanced entropic with KL marginal penalties.

    Returns numbaot's :class:`~numbaot.OTResult`; for entropic problems ``potentials`` are POT's log-scalings.
    Exact unbalanced OT, ``reg_type='L2'`` and custom regularisers raise
    :class:`~numbaot.pot.PotNotImplementedError` naming the numbaot function to use.

    Examples
    --------
    >>> import numbaot.pot as ot
    >>> res = ot.solve([[0.0, 1.0], [1.0, 0.0]])
    >>> float(res.value), res.plan
    (0.0, array([[0.5, 0. ],
           [0. , 0.5]]))
    """
    import numbaot

    a, b, M = C.weights(a), C.weights(b), C.as_array(M)
    reg = _reg(reg)
    if method is not None and method not in _SOLVE_METHODS:
        raise ValueError(f"Unknown method={method!r} for solve: use one of {sorted(_SOLVE_METHODS)}")
    if c is not None and not (reg is None and unbalanced is None):
        _c(c, a, b, M)
    custom = isinstance(reg_type, tuple)
    kl = not custom and str(reg_type).lower() in ("kl", "entropy")
    if not custom and str(reg_type).lower() not in ("kl", "entropy", "l2"):
        raise C.UnsupportedOption(f"Not implemented reg_type={reg_type!r}: use 'KL', 'entropy', 'L2' or (f, df)")
    if unbalanced is not None and str(unbalanced_type).lower() not in ("kl", "l2", "tv"):
        raise C.UnsupportedOption(f"Not implemented unbalanced_type={unbalanced_type!r}: use 'KL', 'L2' or 'TV'")
    if method in ("sinkhorn_knopp",):
        method = "sinkhorn"
    if reg is None or not kl or unbalanced is not None and str(unbalanced_type).lower() != "kl":
        method = None  # POT's method names are Sinkhorn's; numbaot picks the solver of the other problems
    kwargs = dict(max_iter=max_iter, n_threads=C.threads(n_threads), plan_init=plan_init, tol=tol, method=method)
    if reg is None:
        kwargs.pop("tol") if unbalanced is None else None
        kwargs.pop("method")
    else:
        kwargs.pop("plan_init") if kl else None
    if potentials_init is not None and reg is not None and kl and unbalanced is not None:
        kwargs["potentials_init"] = tuple(reg * np.asarray(p, dtype=float) for p in potentials_init)
    elif potentials_init is not None and reg is None and unbalanced is None:
        kwargs["potentials_init"] = potentials_init
    rt = reg_type if custom else ("entropy" if str(reg_type).lower() == "entropy" else
                                  "L2" if str(reg_type).lower() == "l2" else "KL")
    ut = str(unbalanced_type).upper()
    with C.asserting() if reg is None and unbalanced is None else _nullcontext():
        result = numbaot.solve(M, a, b, reg=reg, reg_type=rt, unbalanced=unbalanced, unbalanced_type=ut, **kwargs)
    C.report(verbose, "solve", result)
    if reg is not None and not custom and rt == "L2" and unbalanced is None:
        P = np.asarray(result.plan)
        result = result.replace(value=float(np.sum(P * np.asarray(M)) + reg * np.sum(P ** 2)))  # POT's value
    if reg is None or not kl or (unbalanced is not None and ut != "KL"):
        return _pot_potentials(result, a, b, None, None)
    return _pot_potentials(result, a, b, reg, unbalanced)


def _nullcontext():
    import contextlib

    return contextlib.nullcontext()


def solve_gromov(Ca, Cb, M=None, a=None, b=None, loss="L2", symmetric=None, alpha=0.5, reg=None,
                 reg_type="entropy", unbalanced=None, unbalanced_type="KL", n_threads=1, method=None, max_iter=None,
                 plan_init=None, tol=None, verbose=False):
    """POT's ``ot.solve_gromov`` by :func:`numbaot.solve_gromov`: GW/FGW, exact or entropic, and the semi-relaxed
    GW (``unbalanced_type='semirelaxed'``) by :func:`numbaot.semirelaxed_gromov_wasserstein`.

    ``loss``: 'L2' (``square_loss``) or 'KL' (``kl_loss``).
    """
    import numbaot

    losses = {"l2": "square_loss", "square_loss": "square_loss", "kl": "kl_loss", "kl_loss": "kl_loss"}
    if str(loss).lower() not in losses:
        raise C.UnsupportedOption(f"Unknown loss {loss!r}: use 'L2' or 'KL'")
    loss_fun = losses[str(loss).lower()]
    reg = _reg(reg)
    a, b = C.weights(a), C.weights(b)
    if unbalanced_type is not None and str(unbalanced_type).lower() == "semirelaxed":
        if M is not None or reg is not None:
            raise C.PotNotImplementedError("semi-relaxed fused or entropic GW is not implemented by numbaot.pot; "
                                           "closest numbaot function: numbaot.semirelaxed_gromov_wasserstein")
        G, lg = numbaot.semirelaxed_gromov_wasserstein(Ca, Cb, a, loss_fun, symmetric, True, G0=plan_init,
                                                       max_iter=10000 if max_iter is None else max_iter)
        from .utils import OTResult as PotResult

        value = lg.get("srgw_dist", lg.get("gw_dist"))
        return PotResult(value=value, value_quad=value, value_linear=0.0, plan=G)
    if unbalanced is not None:
        raise C.PotNotImplementedError("unbalanced GW is not implemented by numbaot.pot; closest numbaot function: "
                                       "numbaot.solve_gromov (balanced)")
    if reg is not None and str(reg_type).lower() not in ("entropy", "kl"):
        raise C.PotNotImplementedError(f"reg_type={reg_type!r} is not implemented by numbaot.pot's solve_gromov")
    result = numbaot.solve_gromov(Ca, Cb, M, a, b, loss_fun, symmetric, alpha, reg, max_iter=max_iter, tol=tol,
                                  G0=plan_init, n_threads=C.threads(n_threads))
    return _pot_potentials(result, a, b, None, None)


def solve_sample(X_a, X_b, a=None, b=None, metric="sqeuclidean", reg=None, c=None, reg_type="KL", unbalanced=None,
                 unbalanced_type="KL", lazy=False, batch_size=None, method=None, n_threads=1, max_iter=None,
                 plan_init=None, rank=100, scaling=0.95, potentials_init=None, X_init=None, tol=None, verbose=False,
                 grad="autodiff", random_state=None, debias=False, n_projections=50, projections=None, scaler=None):
    """POT's ``ot.solve_sample`` by :func:`numbaot.solve_sample` (exact, entropic, lazy, '1d', 'sliced',
    'max_sliced', 'gaussian'); POT's 'factored', 'lowrank' and 'nystroem' methods raise
    :class:`~numbaot.pot.PotNotImplementedError`; 'geomloss*' methods run numbaot's lazy (online) Sinkhorn."""
    import numbaot

    if method in _POT_ONLY_METHODS:
        raise C.PotNotImplementedError(f"solve_sample(method={method!r}) is not implemented by numbaot.pot; closest "
                                       "numbaot function: numbaot.solve_sample(..., lazy=True)")
    if method is not None and method not in lst_method_solve_sample:
        raise ValueError(f"Unknown method={method!r} for solve_sample: use one of {lst_method_solve_sample}")
    if debias not in (True, False):
        raise C.PotNotImplementedError(f"solve_sample(debias={debias!r}) is not implemented by numbaot.pot; "
                                       "use debias=True or False")
    if lazy and unbalanced is not None and reg is None:
        raise C.UnsupportedOption("lazy exact unbalanced OT is not available: give reg > 0 (numbaot's online "
                                  "unbalanced Sinkhorn)")
    if scaler is not None or X_init is not None:
        raise C.PotNotImplementedError("solve_sample(scaler=, X_init=) is not implemented by numbaot.pot")
    if isinstance(method, str) and method.startswith("geomloss"):
        method, lazy = None, True
    reg = _reg(reg)
    _reg_type(reg_type)
    if unbalanced is not None and str(unbalanced_type).lower() != "kl":
        raise C.PotNotImplementedError(f"unbalanced_type={unbalanced_type!r} is not implemented by numbaot.pot")
    if method is not None:
        try:
            result = numbaot.solve_sample(X_a, X_b, C.weights(a), C.weights(b), metric, method=method,
                                          n_projections=n_projections, projections=projections,
                                          random_state=random_state)
        except ValueError as exc:  # an option the method does not have: POT's NotImplementedError
            raise C.UnsupportedOption(str(exc)) from exc
        return _pot_potentials(result, None, None, None, None)
    result = numbaot.solve_sample(X_a, X_b, C.weights(a), C.weights(b), metric, reg=reg, lazy=bool(lazy),
                                  max_iter=max_iter, n_threads=C.threads(n_threads), tol=tol, debias=debias,
                                  reg_m=unbalanced)
    if reg is None or lazy or debias:
        return _pot_potentials(result, None, None, None, None)
    return _pot_potentials(result, C.weights(a), C.weights(b), reg, unbalanced)


def solve_bary_sample(X_a_list, n, a_list=None, w=None, X_b_init=None, b=None, metric="sqeuclidean", reg=None,
                      c=None, reg_type="KL", unbalanced=None, unbalanced_type="KL", lazy=False, method=None,
                      auto_bary_method="L2_barycentric_proj", warmstart=True, stopping_criterion="loss",
                      max_iter_bary=1000, tol_bary=1e-5, random_state=0, verbose=False, **kwargs):
    """POT's ``ot.solve_bary_sample`` by :func:`numbaot.solve_bary_sample` (free-support barycenter of point
    clouds, squared Euclidean cost, exact or entropic plans); returns POT's :class:`~numbaot.pot.utils.BaryResult`
    (``X`` the support, ``b`` the weights)."""
    import numbaot

    from .utils import BaryResult

    if stopping_criterion not in ("loss", "bary"):
        raise ValueError(f"stopping_criterion must be 'loss' or 'bary', got {stopping_criterion!r}")
    if X_b_init is not None and (np.ndim(X_b_init) != 2 or np.shape(X_b_init)[0] != n):
        raise ValueError(f"X_b_init must have shape (n, d) = ({n}, d), got {np.shape(X_b_init)}")
    if unbalanced is not None or c is not None:
        raise C.PotNotImplementedError("unbalanced free-support barycenters are not implemented by numbaot.pot; "
                                       "closest numbaot function: numbaot.solve_bary_sample")
    if lazy or method is not None or (isinstance(metric, str) and metric != "sqeuclidean"):
        raise C.UnsupportedOption("solve_bary_sample takes neither lazy=True, nor a method, nor a metric other than "
                                  "'sqeuclidean' (as POT)")
    if callable(metric):
        raise C.PotNotImplementedError("solve_bary_sample with a callable metric is not implemented by numbaot.pot")
    if reg is not None:
        _reg_type(reg_type)
    result = numbaot.solve_bary_sample(X_a_list, n, a_list, w, X_b_init, b, reg=_reg(reg),
                                       max_iter=C.max_iter(max_iter_bary, "max_iter_bary"), tol=tol_bary,
                                       random_state=0 if random_state is None else random_state)
    return BaryResult.from_numbaot(result)
