"""Optimal transport on the circle R/Z (coordinates in [0, 1)): the cores behind ``wasserstein_circle``,
``wasserstein1_circle``, ``semidiscrete_wasserstein2_unif_circle`` and the spherical sliced distances.

Lifting the measures to R (cumulative functions F(x + 1) = F(x) + 1), the cost of transport on the circle is
(Delon, Salomon and Sobolevski 2010; Rabin, Delon and Gousseau 2011)

    W_p^p = min over theta of  C(theta) = int_0^1 |F^{-1}(t) - G^{-1}(t + theta)|^p dt,

and the integrand is 1-periodic in t. Quantile functions of discrete measures are step functions, so C is convex and
piecewise linear in theta: its kinks are where a breakpoint of G shifted by theta meets one of F. ``_circle_walk``
evaluates C and its right derivative in one O(n + m) merge of the two staircases; ``circle_cost`` bisects on the
sign of the derivative (the minimiser lies in [-1, 1]) to a bracket of width 1e-15, then keeps the smallest value
at its ends and at the meeting point of their tangents (the kink itself when the bracket holds one): the error is at
most the slope times the bracket's width. W_1 also has the closed form of a weighted median
(``circle_w1``), an independent check.

Inputs are sorted values in [0, 1) with cumulative weights normalised to end exactly at 1.
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from .._jit import cpu_jit, twin

#: Width at which the bisection on [-1, 1] stops: below it the derivative's sign is rounding noise (a shifted
#: breakpoint cb_j - theta ties with ca_i once |theta| nears an ulp of 1).
BRACKET = 1e-15
BISECTION_STEPS = 60


@twin
def cost_twin(diff, p):
    d = abs(diff)
    if p == 1.0:
        return d
    if p == 2.0:
        return d * d
    return d ** p


_cost = cost_twin.cpu  # the CUDA build of the walk rebinds _cost to cost_twin.cuda


@twin(deps={"_cost": cost_twin}, inline="never")
def circle_walk_twin(xs, ca, ys, cb, theta, p):
    """``(C(theta), right derivative of C at theta)``: one pass over t in [0, 1)."""
    n = xs.shape[0]
    m = ys.shape[0]
    k = math.floor(theta)
    r = theta - k
    if r >= 1.0:  # a tiny negative theta: theta - floor(theta) rounds up to 1
        k += 1
        r = 0.0
    # j: the atom of the target that holds s = t + theta at t = 0+ (first j with cb[j] > r)
    lo = 0
    hi = m - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cb[mid] > r:
            hi = mid
        else:
            lo = mid + 1
    j = lo
    i = 0
    t = 0.0
    total = 0.0
    slope = 0.0
    shift = float(k)
    while i < n:
        tu = ca[i]
        tv = cb[j] + shift - theta
        y = ys[j] + shift
        if tv <= tu:
            # a target breakpoint first, on ties too: the derivative to the right sees x(t-) there; one at t = 1
            # exactly is counted (it moves into [0, 1) as theta grows), its periodic copy at t = 0 is not
            total += (tv - t) * _cost(xs[i] - y, p)
            t = tv
            if j + 1 < m:
                y_next = ys[j + 1] + shift
            else:
                y_next = ys[0] + shift + 1.0
            slope += _cost(xs[i] - y_next, p) - _cost(xs[i] - y, p)
            j += 1
            if j == m:
                j = 0
                shift += 1.0
        else:
            total += (tu - t) * _cost(xs[i] - y, p)
            t = tu
            i += 1
    return total, slope


_circle_walk = circle_walk_twin.cpu


@twin(deps={"_circle_walk": circle_walk_twin}, inline="never")
def circle_cost_twin(xs, ca, ys, cb, p):
    """``(W_p^p, optimal theta)`` between sorted measures on the circle (see the module docstring)."""
    lo = -1.0
    hi = 1.0
    for _ in range(BISECTION_STEPS):
        if hi - lo <= BRACKET:
            break
        mid = 0.5 * (lo + hi)
        _, slope = _circle_walk(xs, ca, ys, cb, mid, p)
        if slope >= 0.0:
            hi = mid
        else:
            lo = mid
    value_lo, slope_lo = _circle_walk(xs, ca, ys, cb, lo, p)
    value_hi, slope_hi = _circle_walk(xs, ca, ys, cb, hi, p)
    best = value_lo
    theta = lo
    if value_hi < best:
        best = value_hi
        theta = hi
    # C is piecewise linear: with one kink in the tiny bracket, the tangents at its ends meet at the kink
    if slope_lo < slope_hi:
        kink = (value_hi - value_lo + lo * slope_lo - hi * slope_hi) / (slope_lo - slope_hi)
        if lo <= kink <= hi:
            value_kink, _ = _circle_walk(xs, ca, ys, cb, kink, p)
            if value_kink < best:
                best = value_kink
                theta = kink
    if lo <= 0.0 <= hi:  # theta = 0 is exact to represent (a tiny negative theta wraps to 1 - tiny, with rounding)
        value_zero, _ = _circle_walk(xs, ca, ys, cb, 0.0, p)
        if value_zero <= best:
            best = value_zero
            theta = 0.0
    return max(best, 0.0), theta


circle_cost = circle_cost_twin.cpu


@cpu_jit(parallel=True)
def circle_cost_batch(xs, ca, ys, cb, p):
    """``circle_cost`` of the k problems given as rows (k, n) and (k, m), in parallel; values and thetas (k,)."""
    k = xs.shape[0]
    values = np.empty(k)
    thetas = np.empty(k)
    for t in prange(k):
        row = np.int64(t)
        values[row], thetas[row] = circle_cost(xs[row], ca[row], ys[row], cb[row], p)
    return values, thetas


@cpu_jit
def circle_w1(xs, wa, ys, wb):
    """W_1 on the circle in closed form: ``min_alpha int_0^1 |F(x) - G(x) - alpha| dx``, alpha a weighted median of
    the difference of the cumulative functions (weights: the lengths of the arcs between consecutive points)."""
    n = xs.shape[0]
    m = ys.shape[0]
    N = n + m
    points = np.empty(N)
    jumps = np.empty(N)
    for i in range(n):
        points[i] = xs[i]
        jumps[i] = wa[i]
    for j in range(m):
        points[n + j] = ys[j]
        jumps[n + j] = -wb[j]
    order = np.argsort(points, kind="mergesort")
    diffs = np.empty(N)  # F - G on the arc after each point
    lengths = np.empty(N)
    level = 0.0
    for q in range(N):
        level += jumps[order[q]]
        diffs[q] = level
        following = points[order[q + 1]] if q + 1 < N else 1.0 + points[order[0]]
        lengths[q] = following - points[order[q]]
    # the arc from the last point round to the first carries F - G = total mass difference = 0 after wrapping:
    # diffs[N - 1] is ~0 and its arc length covers [last, 1) and [0, first)
    by_level = np.argsort(diffs, kind="mergesort")
    half = 0.5 * np.sum(lengths)
    acc = 0.0
    median = diffs[by_level[N - 1]]
    for q in range(N):
        acc += lengths[by_level[q]]
        if acc >= half:
            median = diffs[by_level[q]]
            break
    total = 0.0
    for q in range(N):
        total += lengths[q] * abs(diffs[q] - median)
    return total


@cpu_jit(parallel=True)
def circle_w1_batch(xs, wa, ys, wb):
    k = xs.shape[0]
    out = np.empty(k)
    for t in prange(k):
        row = np.int64(t)
        out[row] = circle_w1(xs[row], wa[row], ys[row], wb[row])
    return out


@cpu_jit(parallel=True)
def w2_to_uniform_batch(xs, wa):
    """``W_2^2`` between each row's sorted measure (weights of mass 1) and the uniform measure on the circle.

    For the uniform target ``G^{-1}(s) = s``, so ``C(theta) = int_0^1 (F^{-1}(t) - t - theta)^2 dt`` is a parabola:
    its minimum is the variance of ``F^{-1}(t) - t`` over t uniform, each atom contributing the integral of
    ``(x_i - t)^2`` over its interval of t.
    """
    k, n = xs.shape
    out = np.empty(k)
    for t in prange(k):
        row = np.int64(t)
        lower = 0.0
        second = 0.0
        first = 0.0
        for i in range(n):
            upper = lower + wa[row, i] if i < n - 1 else 1.0
            x = xs[row, i]
            second += ((x - lower) ** 3 - (x - upper) ** 3) / 3.0
            first += x * (upper - lower) - 0.5 * (upper * upper - lower * lower)
            lower = upper
        out[row] = max(second - first * first, 0.0)
    return out
