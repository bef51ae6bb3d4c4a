"""The epsilon schedules of the annealed Sinkhorn solvers, in one place: where the temperature starts, how fast it
falls, and where it stops.

* :func:`epsilon_schedule`: GeomLoss's (``SamplesLoss``): ``diameter^p`` down to ``blur^p`` by factors
  ``scaling^p`` (:mod:`numbaot.losses`), from the clouds' :func:`max_diameter`.
* :func:`annealing_schedule`: the Sinkhorn divergence's, the same from the largest cost of the clouds' bounding box
  down to ``reg`` (:mod:`numbaot.entropic.divergence` and its CUDA twin).
* :func:`halving_schedule`: ``method='sinkhorn_epsilon_scaling'``'s, the spread of the costs halved down to twice
  ``reg``; the last stage at ``reg`` itself is the caller's.
"""
from __future__ import annotations

import math

import numpy as np

from .._costs import cost_matrix_numpy


def epsilon_schedule(power, diameter, blur, scaling):
    """GeomLoss's temperatures: ``diameter^p``, then ``blur^p`` reached by steps of ``scaling^p``, then ``blur^p``.

    ``[diameter**p] + [exp(e) for e in arange(p log(diameter), p log(blur), p log(scaling))] + [blur**p]``; a
    diameter below ``blur`` (clouds smaller than the blur) gives ``[diameter**p, blur**p]`` only.
    """
    diameter = max(float(diameter), float(blur))
    steps = np.arange(power * math.log(diameter), power * math.log(blur), power * math.log(scaling))
    return [diameter**power] + [math.exp(e) for e in steps] + [blur**power]


def max_diameter(X, Y):
    """GeomLoss's bound on the distances between the points: the diagonal of the two clouds' bounding box."""
    low = np.minimum(X.min(axis=0), Y.min(axis=0))
    high = np.maximum(X.max(axis=0), Y.max(axis=0))
    return float(np.linalg.norm(high - low))


def annealing_schedule(low, high, metric, p, reg, scaling):
    """The temperatures of the Sinkhorn divergence for clouds in the box with corners ``low``, ``high``: from
    the largest cost between them (the cost across the box's diagonal; 2 for 'cosine') down to ``reg``."""
    power = 2.0 if metric == "sqeuclidean" else 1.0
    if metric == "cosine":
        top = 2.0
    else:
        # one cost: by numpy (no kernel to compile for it), the same value as the kernels'
        top = float(cost_matrix_numpy(np.asarray(low, dtype=np.float64)[None, :],
                                      np.asarray(high, dtype=np.float64)[None, :], metric, p)[0, 0])
    eps_list = epsilon_schedule(power, top ** (1 / power), reg ** (1 / power), scaling)
    eps_list[-1] = reg  # exactly, whatever the rounding of reg^(1/p)^p
    return eps_list


def halving_schedule(spread, reg, factor=2.0):
    """The intermediate temperatures of epsilon scaling: ``spread, spread / factor, ...`` while above
    ``reg * factor`` (empty when the costs' spread is already below it)."""
    stages = []
    stage = float(spread)
    while stage > reg * factor:
        stages.append(stage)
        stage /= factor
    return stages


def reg_scaling_stages(spread, opts):
    """The intermediate stages of ``sinkhorn_unbalanced(method='sinkhorn_reg_scaling')`` (host and GPU drivers
    alike): ``opts`` (a ``SinkhornOptions``) at each temperature of :func:`halving_schedule` from the costs'
    ``spread`` down to ``opts.reg``, 100 iterations at most, to tol ``max(opts.tol, 1e-3)``. Only the last stage,
    at ``reg`` with ``opts`` itself (the caller's), must converge; each stage warm-starts the next."""
    return [opts._replace(reg=eps, max_iter=100, tol=max(opts.tol, 1e-3))
            for eps in halving_schedule(spread, opts.reg, 2.0)]
