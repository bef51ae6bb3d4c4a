"""Pictures of transport plans with matplotlib (``pip install numbaot[plot]``).

POT's ``plot1D_mat`` and ``plot2D_samples_mat`` (also reachable as ``numbaot.pot.plot``), and the pictures users ask
for: a plan as a matrix with its marginals (:func:`plot_plan`), a matching between two 2D clouds
(:func:`plot_matching`), a grid of images with their barycenter (:func:`plot_barycenter_grid`) and a soft-DTW
alignment (:func:`plot_soft_dtw_alignment`). Each returns the matplotlib objects it made, so that callers can
restyle or save them; none calls ``plt.show()``.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import numpy as np
>>> from numbaot.plot import plot_plan
>>> fig, axes = plot_plan(np.array([[0.5, 0.0], [0.1, 0.4]]))
>>> sorted(axes)
['a', 'b', 'plan']
"""
from __future__ import annotations

import numpy as np

__all__ = ["plot1D_mat", "plot2D_samples_mat", "rescale_for_imshow_plot", "plot_plan", "plot_matching",
           "plot_barycenter_grid", "plot_soft_dtw_alignment"]


def _plt():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - the error names the extra
        raise ImportError("numbaot.plot needs matplotlib: pip install 'numbaot[plot]'") from exc
    return plt


def _host(x, name):
    if hasattr(x, "__cuda_array_interface__") and not isinstance(x, np.ndarray):
        from ._device import to_host

        x = to_host(x)
    if hasattr(x, "toarray"):  # scipy sparse plans
        x = x.toarray()
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} holds NaN or inf values: nothing sensible to draw")
    return x


def plot1D_mat(a, b, M, title="", plot_style="yx", a_label="", b_label="", color_source="b", color_target="r",
               coupling_cmap="gray_r"):  # noqa: N802 - POT's name
    """POT's picture of a matrix between two 1D histograms: ``M`` in the middle, ``a`` on the left (or below with
    ``plot_style='xy'``) and ``b`` on top.

    Returns
    -------
    ax_a, ax_b, ax_M : the three matplotlib Axes (histogram of a, histogram of b, matrix).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from numbaot.plot import plot1D_mat
    >>> ax_a, ax_b, ax_M = plot1D_mat(np.full(3, 1 / 3), np.full(4, 0.25), np.ones((3, 4)) / 12)
    >>> ax_M.images[0].get_array().shape
    (3, 4)
    """
    plt = _plt()
    a, b, M = _host(a, "a"), _host(b, "b"), _host(M, "M")
    if M.shape != (a.shape[0], b.shape[0]):
        raise ValueError(f"M has shape {M.shape} but a has {a.shape[0]} and b has {b.shape[0]} entries")
    if plot_style not in ("yx", "xy"):
        raise ValueError(f"plot_style must be 'yx' or 'xy', got {plot_style!r}")
    na, nb = M.shape
    fig = plt.gcf()
    grid = fig.add_gridspec(3, 3)
    xa, xb = np.arange(na), np.arange(nb)
    if plot_style == "yx":
        ax_a = fig.add_subplot(grid[1:, 0])
        ax_a.plot(a, xa, color=color_source, label=a_label)
        ax_a.invert_xaxis()
        ax_a.set_ylim(-0.5, na - 0.5)
        ax_a.invert_yaxis()
        ax_b = fig.add_subplot(grid[0, 1:])
        ax_b.plot(xb, b, color=color_target, label=b_label)
        ax_b.set_xlim(-0.5, nb - 0.5)
        ax_M = fig.add_subplot(grid[1:, 1:], sharex=ax_b, sharey=ax_a)
        ax_M.imshow(M, interpolation="nearest", cmap=coupling_cmap, aspect="auto")
    else:
        ax_a = fig.add_subplot(grid[0, :2])
        ax_a.plot(xa, a, color=color_source, label=a_label)
        ax_a.set_xlim(-0.5, na - 0.5)
        ax_b = fig.add_subplot(grid[1:, 2])
        ax_b.plot(b, xb, color=color_target, label=b_label)
        ax_b.set_ylim(-0.5, nb - 0.5)
        ax_M = fig.add_subplot(grid[1:, :2], sharex=ax_a, sharey=ax_b)
        ax_M.imshow(M.T, interpolation="nearest", cmap=coupling_cmap, aspect="auto", origin="lower")
    for ax in (ax_a, ax_b):
        ax.set_xticks([]) if ax is (ax_b if plot_style == "yx" else ax_a) else ax.set_yticks([])
    if title:
        ax_M.set_title(title)
    return ax_a, ax_b, ax_M


def plot2D_samples_mat(xs, xt, G, thr=1e-8, **kwargs):  # noqa: N802 - POT's name
    """POT's picture of a plan between two 2D clouds: a segment from ``xs[i]`` to ``xt[j]`` for every entry of
    ``G`` above ``thr * max(G)``, its opacity proportional to the entry (``alpha`` in kwargs scales it).

    Returns
    -------
    list of Line2D
    """
    plt = _plt()
    xs, xt, G = _host(xs, "xs"), _host(xt, "xt"), _host(G, "G")
    if G.shape != (xs.shape[0], xt.shape[0]):
        raise ValueError(f"G has shape {G.shape} but xs has {xs.shape[0]} and xt {xt.shape[0]} points")
    if xs.ndim != 2 or xs.shape[1] < 2 or xt.ndim != 2 or xt.shape[1] < 2:
        raise ValueError("xs and xt must be 2D point clouds of shape (n, 2) and (m, 2)")
    mx = G.max() if G.size else 0.0
    scale = kwargs.pop("alpha", 1.0)
    kwargs.setdefault("color", "k")
    lines = []
    if mx <= 0:
        return lines
    for i, j in zip(*np.nonzero(G > thr * mx)):
        lines += plt.plot([xs[i, 0], xt[j, 0]], [xs[i, 1], xt[j, 1]], alpha=scale * G[i, j] / mx, **kwargs)
    return lines


def rescale_for_imshow_plot(x, y, n, m=None, a_y=None, b_y=None):
    """Rescale a 1D curve ``(x, y)`` onto an image's pixel grid of n columns (and m rows): POT's helper for
    drawing a density over ``imshow``. Returns the rescaled ``(x, y)``, the curve restricted to ``[a_y, b_y]``."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"x and y must be 1D of the same length, got {x.shape} and {y.shape}")
    m = n if m is None else m
    a_y = y.min() if a_y is None else a_y
    b_y = y.max() if b_y is None else b_y
    keep = (y >= a_y) & (y <= b_y)
    x, y = x[keep], y[keep]
    span_x = x.max() - x.min() if x.size and x.max() > x.min() else 1.0
    x_new = (x - x.min()) / span_x * (n - 1)
    y_new = (y - a_y) / ((b_y - a_y) if b_y > a_y else 1.0) * (m - 1)
    return x_new, y_new


def plot_plan(plan, a=None, b=None, *, cmap="viridis", title=None, ax=None):
    """A plan as an image with its marginals: the row sums (or the given ``a``) on the left, the column sums (or
    ``b``) on top, and a colour bar.

    Returns
    -------
    fig, axes : the Figure and a dict of Axes ``{'plan', 'a', 'b'}``.
    """
    plt = _plt()
    P = _host(plan, "plan")
    if P.ndim != 2:
        raise ValueError(f"plan must be a matrix, got shape {P.shape}")
    a = P.sum(axis=1) if a is None else _host(a, "a")
    b = P.sum(axis=0) if b is None else _host(b, "b")
    if a.shape != (P.shape[0],) or b.shape != (P.shape[1],):
        raise ValueError(f"a and b must have {P.shape[0]} and {P.shape[1]} entries, got {a.shape} and {b.shape}")
    fig = plt.figure(figsize=(6, 6)) if ax is None else ax.figure
    grid = fig.add_gridspec(4, 4, wspace=0.05, hspace=0.05)
    ax_plan = fig.add_subplot(grid[1:, 1:])
    image = ax_plan.imshow(P, cmap=cmap, aspect="auto", interpolation="nearest")
    ax_plan.set_yticks([])
    ax_a = fig.add_subplot(grid[1:, 0], sharey=ax_plan)
    ax_a.barh(np.arange(P.shape[0]), a, color="tab:blue")
    ax_a.invert_xaxis()
    ax_b = fig.add_subplot(grid[0, 1:], sharex=ax_plan)
    ax_b.bar(np.arange(P.shape[1]), b, color="tab:red")
    ax_b.tick_params(labelbottom=False)
    fig.colorbar(image, ax=ax_plan, fraction=0.05)
    if title:
        ax_b.set_title(title)
    return fig, {"plan": ax_plan, "a": ax_a, "b": ax_b}


def plot_matching(X_a, X_b, plan, *, threshold=1e-8, ax=None, colors=("tab:blue", "tab:red"), linecolor="k"):
    """A matching between two 2D clouds: the points of each cloud, and a segment for each entry of the plan
    above ``threshold * max(plan)``, as opaque as the entry is large.

    Returns
    -------
    ax, lines : the Axes and the LineCollection of the segments.
    """
    plt = _plt()
    from matplotlib.collections import LineCollection

    X_a, X_b, P = _host(X_a, "X_a"), _host(X_b, "X_b"), _host(plan, "plan")
    if X_a.ndim != 2 or X_b.ndim != 2 or X_a.shape[1] != 2 or X_b.shape[1] != 2:
        raise ValueError(f"X_a and X_b must be clouds of shape (n, 2) and (m, 2), got {X_a.shape} and {X_b.shape}")
    if P.shape != (X_a.shape[0], X_b.shape[0]):
        raise ValueError(f"plan has shape {P.shape} but the clouds have {X_a.shape[0]} and {X_b.shape[0]} points")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    mx = P.max() if P.size else 0.0
    rows, cols = np.nonzero(P > threshold * mx) if mx > 0 else (np.array([], int), np.array([], int))
    segments = np.stack([X_a[rows], X_b[cols]], axis=1)
    rgba = np.zeros((rows.size, 4))
    rgba[:, :3] = np.array(plt.matplotlib.colors.to_rgb(linecolor))
    rgba[:, 3] = P[rows, cols] / mx if mx > 0 else 0.0
    lines = LineCollection(segments, colors=rgba, linewidths=1.0, zorder=1)
    ax.add_collection(lines)
    ax.scatter(X_a[:, 0], X_a[:, 1], c=colors[0], zorder=2, label="a")
    ax.scatter(X_b[:, 0], X_b[:, 1], c=colors[1], zorder=2, label="b")
    ax.set_aspect("equal", adjustable="datalim")
    ax.autoscale_view()
    return ax, lines


def plot_barycenter_grid(images, barycenter, *, weights=None, cmap="Blues", titles=None):
    """The input images and their barycenter side by side (images of shape (K, H, W), barycenter (H, W)).

    Returns
    -------
    fig, axes : the Figure and the array of K + 1 Axes (the barycenter last).
    """
    plt = _plt()
    images, bary = _host(images, "images"), _host(barycenter, "barycenter")
    if images.ndim != 3 or bary.shape != images.shape[1:]:
        raise ValueError(f"images must be (K, H, W) and barycenter (H, W), got {images.shape} and {bary.shape}")
    K = images.shape[0]
    fig, axes = plt.subplots(1, K + 1, figsize=(2.2 * (K + 1), 2.4), squeeze=False)
    axes = axes[0]
    names = list(titles) if titles is not None else [
        f"input {k}" + ("" if weights is None else f" (w={float(np.asarray(weights)[k]):.2g})") for k in range(K)]
    for k in range(K):
        axes[k].imshow(images[k], cmap=cmap)
        axes[k].set_title(names[k])
    axes[K].imshow(bary, cmap="Reds")
    axes[K].set_title("barycenter")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    return fig, axes


def plot_soft_dtw_alignment(X, Y, gamma=1.0, *, metric="sqeuclidean", cmap="gray_r"):
    """Two time series and their soft-DTW expected alignment (:func:`numbaot.timeseries.soft_dtw_alignment`),
    drawn over the frame cost matrix: Y on top, X on the left, the alignment probabilities in the middle.

    Returns
    -------
    fig, axes, (E, value) : the Figure, a dict of Axes ``{'alignment', 'X', 'Y'}``, and the alignment with the
    soft-DTW value.
    """
    plt = _plt()
    from .timeseries import soft_dtw_alignment

    E, value = soft_dtw_alignment(X, Y, gamma, metric=metric)
    E = _host(E, "alignment")
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    Xp = X.reshape(X.shape[0], -1)
    Yp = Y.reshape(Y.shape[0], -1)
    fig = plt.figure(figsize=(6, 6))
    grid = fig.add_gridspec(4, 4, wspace=0.05, hspace=0.05)
    ax_E = fig.add_subplot(grid[1:, 1:])
    ax_E.imshow(E, cmap=cmap, aspect="auto", interpolation="nearest", vmin=0, vmax=1)
    ax_E.set_yticks([])
    ax_E.set_title(f"soft-DTW = {float(value):.4g} (gamma = {gamma:g})", fontsize=9)
    ax_X = fig.add_subplot(grid[1:, 0], sharey=ax_E)
    for k in range(Xp.shape[1]):
        ax_X.plot(Xp[:, k], np.arange(Xp.shape[0]))
    ax_X.invert_xaxis()
    ax_Y = fig.add_subplot(grid[0, 1:], sharex=ax_E)
    for k in range(Yp.shape[1]):
        ax_Y.plot(np.arange(Yp.shape[0]), Yp[:, k])
    ax_Y.tick_params(labelbottom=False)
    return fig, {"alignment": ax_E, "X": ax_X, "Y": ax_Y}, (E, value)
