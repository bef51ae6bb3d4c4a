"""``ot.datasets``: the small synthetic data POT's examples and tests draw (1D Gaussian histograms, 2D Gaussian
samples, labelled classification sets)."""
from __future__ import annotations

import numpy as np

from . import _common as C
from .utils import check_random_state

__all__ = ["make_1D_gauss", "get_1D_gauss", "make_2D_samples_gauss", "get_2D_samples_gauss", "make_data_classif"]


def make_1D_gauss(n, m, s):  # noqa: N802 - POT's name
    """A Gaussian histogram of mean ``m`` and std ``s`` on the bins ``0 .. n-1``, normalised to sum 1.

    Examples
    --------
    >>> from numbaot.pot.datasets import make_1D_gauss
    >>> h = make_1D_gauss(5, 2, 1)
    >>> round(float(h.sum()), 12), int(h.argmax())
    (1.0, 2)
    """
    x = np.arange(n, dtype=np.float64)
    h = np.exp(-((x - m) ** 2) / (2 * s ** 2))
    return h / h.sum()


get_1D_gauss = make_1D_gauss  # noqa: N816 - POT's deprecated alias


def make_2D_samples_gauss(n, m, sigma, random_state=None):  # noqa: N802
    """``n`` samples of N(m, sigma) in 2D (``sigma`` a 2x2 covariance or a scalar)."""
    rng = check_random_state(random_state)
    m = np.asarray(m, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    if sigma.ndim < 2:
        sigma = np.eye(m.shape[0]) * sigma
    return rng.randn(n, m.shape[0]) @ np.linalg.cholesky(sigma).T + m


get_2D_samples_gauss = make_2D_samples_gauss  # noqa: N816


def make_data_classif(dataset, n, nz=0.5, theta=0, p=0.5, random_state=None, **kwargs):
    """Labelled 2D samples ``(X, y)``: '3gauss' (three Gaussian classes), '3gauss2' (the same, shifted),
    'gaussrot' (two classes rotated by ``theta``), '2gauss_prop' (two classes in proportions ``p``, ``1 - p``).

    Examples
    --------
    >>> from numbaot.pot.datasets import make_data_classif
    >>> X, y = make_data_classif("3gauss", 30, random_state=0)
    >>> X.shape, sorted(set(y.tolist()))
    ((30, 2), [1, 2, 3])
    """
    rng = check_random_state(random_state)
    if dataset.lower() in ("3gauss", "3gauss2"):
        y = np.floor(np.arange(n) * 3.0 / n).astype(int) + 1
        centers = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
        if dataset.lower() == "3gauss2":
            centers = centers * 2 + 0.5
        X = centers[y - 1] + nz * rng.randn(n, 2)
    elif dataset.lower() == "gaussrot":
        y = np.concatenate([np.ones(n // 2, dtype=int), 2 * np.ones(n - n // 2, dtype=int)])
        X = np.where((y == 1)[:, None], [1.0, 1.0], [-1.0, -1.0]) + nz * rng.randn(n, 2)
        rot = np.array([[np.cos(theta), np.sin(theta)], [-np.sin(theta), np.cos(theta)]])
        X = X @ rot
    elif dataset.lower() == "2gauss_prop":
        y = np.concatenate([np.ones(int(p * n), dtype=int), np.zeros(n - int(p * n), dtype=int)])
        X = np.where((y == 1)[:, None], [1.5, 0.0], [-1.5, 0.0]) + nz * rng.randn(n, 2)
        if "bias" in kwargs:
            X = X + kwargs["bias"]
    else:
        raise ValueError(f"Unknown dataset {dataset!r}: use '3gauss', '3gauss2', 'gaussrot' or '2gauss_prop'")
    return X, y


#: POT's ``ot.datasets`` names that numbaot does not implement -> numbaot's closest function.
_MISSING = {"make_gauss_hd": "numbaot.pot.datasets.make_2D_samples_gauss"}


__getattr__ = C.missing_getattr(__name__, _MISSING)
