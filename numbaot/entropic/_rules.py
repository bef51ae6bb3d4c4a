"""The update and stopping rules of the Sinkhorn loop (:func:`numbaot.entropic._loop.sinkhorn_loop`): what a
marginal's penalty does to the half-steps, what the loop checks, and how the potentials are read out.

* :class:`Balanced`: both marginals exact. Plain half-steps; the loop stops on the L1 error of the column
  marginals, read off the column update for free (the column sums before it were ``b_j exp((g_j - g_new_j) /
  eps)``).
* :class:`Damped`: KL penalties ``rho`` on the marginals (Chizat et al. 2018). Half-steps damped by
  ``tau = rho / (rho + eps)`` (1 for an exact marginal); no marginal to check, so the loop stops when the
  potentials stop moving (``max |delta f|, |delta g| / eps``).
* :class:`TranslationInvariant`: the damped half-steps followed by the closed-form translation the dual gains most
  from (Sejourne, Vialard and Peyre 2022); the same fixed point, far fewer iterations when ``rho`` is large
  compared with ``eps``.
* :class:`Barycentric`: K problems from K inputs to one unknown measure, the barycenter (iterative Bregman
  projections, Benamou et al. 2015): after each column half-step the barycenter is the weighted geometric mean of
  the plans' column marginals (a power mean for KL-penalised inputs, Chizat et al. 2018), optionally debiased
  (Janati et al. 2020). The K problems stop together, on the spread of their column marginals.

A rule is a NamedTuple, and its helpers are picked by its class when Numba types the loop (``overload``, inlined),
so that a balanced solve compiles none of the unbalanced code: the loop's source is written once, and each rule
compiles only what it runs.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba.core import types
from numba.extending import overload

from .._jit import cpu_jit, twin
from ._geometry import half_step


class Balanced(NamedTuple):
    eps: float
    tau_a: float  # 1.0: both half-steps undamped
    tau_b: float


class Damped(NamedTuple):
    eps: float
    tau_a: float
    tau_b: float


class TranslationInvariant(NamedTuple):
    eps: float
    tau_a: float
    tau_b: float
    coef: np.ndarray  # (eps, tau_a, tau_b, s_a, s_b, k_a, k_b, xi_a, xi_b, fi_ab): see coefficients()


class Barycentric(NamedTuple):
    """The barycenter's rule. ``weights`` (B,) sum to 1; ``log_bar`` (B, m) is the loop's ``w.log_b`` and
    ``w.shift_b`` (every row the log of the current barycenter; the column half-steps aim at it); ``debias`` (m,)
    the debiasing potential of Janati et al. 2020 in log units (updated in place; ignored unless ``debiased``);
    ``error`` (1,) the joint error of the last check; ``bar_prev`` (m,) the barycenter at the last check."""

    eps: float
    tau_a: float
    tau_b: float
    weights: np.ndarray
    log_bar: np.ndarray
    debias: np.ndarray
    debiased: bool
    error: np.ndarray
    bar_prev: np.ndarray


def coefficients(eps: float, rho_a: float, rho_b: float) -> np.ndarray:
    """The constants of the updates: ``(eps, tau_a, tau_b, s_a, s_b, k_a, k_b, xi_a, xi_b, fi_ab)``.

    ``tau = rho / (rho + eps)`` damps a half-step (1 for a balanced marginal), ``s = 1 / rho`` (0 for inf). The
    translation-invariant ones (Sejourne et al. 2022): the f-update adds ``eps k_a log <b, exp(g s_b)>`` and
    subtracts ``eps xi_a log <a, exp(-f s_a)>`` (the g-update mirrors it), and the state is read out shifted by
    ``fi_ab (log <a, exp(-f s_a)> - log <b, exp(-g s_b)>)``, the translation that maximises the dual.
    """
    inf_a, inf_b = math.isinf(rho_a), math.isinf(rho_b)
    tau_a = 1.0 if inf_a else rho_a / (rho_a + eps)
    tau_b = 1.0 if inf_b else rho_b / (rho_b + eps)
    s_a = 0.0 if inf_a else 1.0 / rho_a
    s_b = 0.0 if inf_b else 1.0 / rho_b
    if not inf_a and not inf_b:
        # in forms that neither overflow nor raise for rho near the float range (rescaled huge coordinates)
        k_a = tau_b * (rho_b / (rho_a + rho_b))
        k_b = tau_a * (rho_a / (rho_a + rho_b))
        xi_a = rho_b / (eps + rho_a + rho_b)
        xi_b = rho_a / (eps + rho_a + rho_b)
        fi_ab = 1.0 / (s_a + s_b)
    elif inf_a and inf_b:
        k_a = k_b = xi_a = xi_b = fi_ab = 0.0
    elif inf_a:
        k_a = k_b = xi_a = 0.0
        xi_b, fi_ab = 1.0, rho_b
    else:
        k_a = k_b = xi_b = 0.0
        xi_a, fi_ab = 1.0, rho_a
    return np.array([eps, tau_a, tau_b, s_a, s_b, k_a, k_b, xi_a, xi_b, fi_ab], dtype=np.float64)


def rule_for(eps: float, rho_a: float, rho_b: float, translation_invariant: bool = False):
    """The rule of a problem: :class:`Balanced` for two exact marginals, else :class:`Damped` or (asked for)
    :class:`TranslationInvariant`."""
    coef = coefficients(float(eps), float(rho_a), float(rho_b))
    eps, tau_a, tau_b = float(coef[0]), float(coef[1]), float(coef[2])
    if math.isinf(rho_a) and math.isinf(rho_b):
        return Balanced(eps, 1.0, 1.0)
    if translation_invariant:
        return TranslationInvariant(eps, tau_a, tau_b, coef)
    return Damped(eps, tau_a, tau_b)


# ------------------------------------------------------------------------------------------------- shared bodies
@cpu_jit
def log_mass(log_w, x, scale):
    """``log sum_i w_i exp(scale * x_i)`` over the entries with ``w_i > 0`` (their potentials are finite)."""
    top = -math.inf
    for i in range(x.shape[0]):
        if log_w[i] > -math.inf:
            t = log_w[i] if scale == 0.0 else log_w[i] + scale * x[i]
            if t > top:
                top = t
    if top == -math.inf or not math.isfinite(top):
        return top
    total = 0.0
    for i in range(x.shape[0]):
        if log_w[i] > -math.inf:
            t = log_w[i] if scale == 0.0 else log_w[i] + scale * x[i]
            total += math.exp(t - top)
    return top + math.log(total)


@cpu_jit
def max_change(new, old, offset, log_w, d):
    """``max(d, max_i |new_i - old_i + offset|)`` over the entries with positive weight; NaN propagates."""
    for i in range(new.shape[0]):
        if log_w[i] > -math.inf:
            diff = abs(new[i] - old[i] + offset)
            if not diff <= d:
                d = diff
    return d


# ------------------------------------------------------------------------------------------ the rules' helpers
def _no_translation(geom, rule, rows, active, w, f, g, g_new, lam):
    return None


@cpu_jit
def _ti_shift(coef, active, log_a, log_b, f, g, g_new, lam, rows):
    # after the row half-step f_hat = f + c, then f_ = f_hat - eps xi_a log <a, exp(-f_hat s_a)>; after the
    # column one the same for g_new, and the read-out translation lam (compiled apart from the inlined rule: its
    # branch-merged variables upset Numba's inliner)
    eps, s_a, s_b = coef[0], coef[3], coef[4]
    k_a, k_b, xi_a, xi_b, fi_ab = coef[5], coef[6], coef[7], coef[8], coef[9]
    for k in range(f.shape[0]):
        if not active[k]:
            continue
        if rows:
            c = eps * k_a * log_mass(log_b[k], g[k], s_b) if k_a != 0.0 else 0.0
            shift = c
            if xi_a != 0.0:
                shift += eps * xi_a * (c * s_a - log_mass(log_a[k], f[k], -s_a))
            for i in range(f.shape[1]):
                f[k, i] += shift
        else:
            c = eps * k_b * log_mass(log_a[k], f[k], -s_a) if k_b != 0.0 else 0.0
            shift = c
            if xi_b != 0.0:
                shift += eps * xi_b * (c * s_b - log_mass(log_b[k], g_new[k], -s_b))
            for j in range(g_new.shape[1]):
                g_new[k, j] += shift
            lam[k] = fi_ab * (log_mass(log_a[k], f[k], -s_a) - log_mass(log_b[k], g_new[k], -s_b))


def _translate(geom, rule, rows, active, w, f, g, g_new, lam):
    _ti_shift(rule.coef, active, w.log_a, w.log_b, f, g, g_new, lam, rows)


@twin(inline="never")  # a call, not inlined: inlined branches upset Numba's inliner inside the inlined rule
def barycenter_entry(weights, g_new, j, old, tau, eps):
    """The new log barycenter at cell j from the K column half-steps ``g_new[k, j] = tau eps (old - lse_k)``:
    ``sum_k w_k lse_k`` for tau = 1, else ``(1 / (1 - tau)) log sum_k w_k exp((1 - tau) lse_k)``."""
    B = g_new.shape[0]
    if tau == 1.0:
        new = 0.0
        for k in range(B):
            new += weights[k] * (old - g_new[k, j] / eps)
        return new
    top = -math.inf
    for k in range(B):
        top = max(top, math.log(weights[k]) + (1.0 - tau) * (old - g_new[k, j] / (tau * eps)))
    total = 0.0
    for k in range(B):
        total += math.exp(math.log(weights[k]) + (1.0 - tau) * (old - g_new[k, j] / (tau * eps)) - top)
    return (top + math.log(total)) / (1.0 - tau)


_barycenter_entry = barycenter_entry.cpu  # the CUDA update kernel (numbaot.cuda.barycenter) uses .cuda


def _barycentric_update(geom, rule, rows, active, w, f, g, g_new, lam):
    # After the column half-step g_new[k] = tau eps (log_bar - lse_k), lse_k = log sum_i exp((f_k,i - C_ij) / eps).
    # The new barycenter: sum_k w_k lse_k (+ the debiasing potential) when tau = 1, else the power mean
    # (1 / (1 - tau)) log sum_k w_k exp((1 - tau) lse_k); then each g_new[k] is moved to aim at it.
    if not rows:
        B, m = g_new.shape
        tau, eps = rule.tau_b, rule.eps
        log_bar = rule.log_bar
        for j in range(m):
            old = log_bar[0, j]
            new = _barycenter_entry(rule.weights, g_new, j, old, tau, eps) + rule.debias[j]  # 0 unless debiased
            for k in range(B):
                g_new[k, j] += tau * eps * (new - old)
                log_bar[k, j] = new
        if rule.debiased:
            # c = (c + log_bar - log sum_i exp(c_i - C_ij / eps)) / 2, ten times (Janati et al. 2020, as POT does)
            c = rule.debias
            c_pot = np.empty((1, m))
            lse = np.empty((1, m))
            zeros = np.zeros((1, m))
            ones = np.ones(1, np.uint8)
            for _ in range(10):
                for j in range(m):
                    c_pot[0, j] = eps * c[j]
                    lse[0, j] = -eps * (log_bar[0, j] - c[j])  # first guess: c's own fixed point
                half_step(geom, 1, c_pot, zeros, zeros, ones, eps, 1.0, lse)
                for j in range(m):
                    c[j] = 0.5 * (c[j] + log_bar[0, j] + lse[0, j] / eps)


def _joint_spread(rule, k, w, f, f_prev, g, g_new, lam, lam_prev):
    # sum_j std_k of the plans' column marginals before the update, exp(log_bar + (g - g_new) / eps) (POT's
    # criterion), plus, when debiased, the L1 change of the barycenter since the last check (the debiasing potential
    # moves the barycenter when the plans agree: identical inputs have no spread); computed once, at the first
    # problem, for all: the problems stop together
    if k == 0:
        B, m = g.shape
        total = 0.0
        for j in range(m):
            mean = 0.0
            for q in range(B):
                mean += math.exp(w.log_b[q, j] + (g[q, j] - g_new[q, j]) / rule.eps)
            mean /= B
            var = 0.0
            for q in range(B):
                d = math.exp(w.log_b[q, j] + (g[q, j] - g_new[q, j]) / rule.eps) - mean
                var += d * d
            total += math.sqrt(var / B)
        if rule.debiased:
            for j in range(m):
                bar = math.exp(w.log_b[0, j])
                total += abs(bar - rule.bar_prev[j])
                rule.bar_prev[j] = bar
        if rule.tau_b != 1.0:  # KL-penalised inputs: no marginal to match, so the potentials' largest change
            total = 0.0
            for q in range(B):
                d = max_change(f[q], f_prev[q], 0.0, w.log_a[q], 0.0)
                total = max(total, max_change(g_new[q], g[q], 0.0, w.log_b[q], d) / rule.eps)
        rule.error[0] = total
    return rule.error[0]


def _marginal_error(rule, k, w, f, f_prev, g, g_new, lam, lam_prev):
    err = 0.0
    for j in range(g.shape[1]):
        lb = w.log_b[k, j]
        if lb > -math.inf:
            err += abs(math.exp(lb + (g[k, j] - g_new[k, j]) / rule.eps) - math.exp(lb))
    return err


def _potentials_change(rule, k, w, f, f_prev, g, g_new, lam, lam_prev):
    # the potentials read out: f_ + lam and g_ - lam (lam stays 0 but under the translation-invariant rule)
    moved = lam[k] - lam_prev[k]
    d = max_change(f[k], f_prev[k], moved, w.log_a[k], 0.0)
    return max_change(g_new[k], g[k], -moved, w.log_b[k], d) / rule.eps


def _no_read_out(rule, f, g, lam):
    return None


def _translated_read_out(rule, f, g, lam):
    for k in range(f.shape[0]):
        for i in range(f.shape[1]):
            f[k, i] += lam[k]
        for j in range(g.shape[1]):
            g[k, j] -= lam[k]


_TRANSLATE = {Balanced: _no_translation, Damped: _no_translation, TranslationInvariant: _translate,
              Barycentric: _barycentric_update}
_ERROR = {Balanced: _marginal_error, Damped: _potentials_change, TranslationInvariant: _potentials_change,
          Barycentric: _joint_spread}
_READ_OUT = {Balanced: _no_read_out, Damped: _no_read_out, TranslationInvariant: _translated_read_out,
             Barycentric: _no_read_out}


def _impl(table, rule):
    cls = getattr(rule, "instance_class", None) if isinstance(rule, types.BaseNamedTuple) else None
    return table.get(cls)


def translate(geom, rule, rows, active, w, f, g, g_new, lam):
    """After a half-step (``rows``: the row one): the rule's translation of the potentials, if it has one (the
    barycenter's update, for :class:`Barycentric`)."""
    return _TRANSLATE[type(rule)](geom, rule, rows, active, w, f, g, g_new, lam)


def error(rule, k, w, f, f_prev, g, g_new, lam, lam_prev):
    """The convergence error of problem ``k`` at a check, before ``g = g_new``."""
    return _ERROR[type(rule)](rule, k, w, f, f_prev, g, g_new, lam, lam_prev)


def read_out(rule, f, g, lam):
    """The potentials as the rule reads them out at the end (in place)."""
    return _READ_OUT[type(rule)](rule, f, g, lam)


@overload(translate, inline="always")
def _ol_translate(geom, rule, rows, active, w, f, g, g_new, lam):
    return _impl(_TRANSLATE, rule)


@overload(error, inline="always")
def _ol_error(rule, k, w, f, f_prev, g, g_new, lam, lam_prev):
    return _impl(_ERROR, rule)


@overload(read_out, inline="always")
def _ol_read_out(rule, f, g, lam):
    return _impl(_READ_OUT, rule)
