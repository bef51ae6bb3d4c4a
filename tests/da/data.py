"""Domain adaptation data built with numpy: Gaussian blobs (the target shifted and rotated) and two moons."""
from __future__ import annotations

import numpy as np


def rotation(theta, d=2):
    R = np.eye(d)
    c, s = np.cos(theta), np.sin(theta)
    R[:2, :2] = [[c, -s], [s, c]]
    return R


def blobs(n, d=2, n_classes=3, seed=0, spread=0.4):
    """Class centres on a circle of radius 2 (and 0 beyond the plane), isotropic noise of std ``spread``."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    angles = 2 * np.pi * np.arange(n_classes) / n_classes
    centres = np.zeros((n_classes, d))
    centres[:, 0], centres[:, 1] = 2 * np.cos(angles), 2 * np.sin(angles)
    return centres[y] + spread * rng.normal(size=(n, d)), y


def shifted_blobs(ns, nt, d=2, n_classes=3, seed=0, theta=0.4, shift=1.0):
    """Source blobs and target blobs rotated by ``theta`` and shifted by ``shift`` along each axis."""
    Xs, ys = blobs(ns, d, n_classes, seed)
    Xt, yt = blobs(nt, d, n_classes, seed + 1)
    return Xs, ys, Xt @ rotation(theta, d).T + shift, yt


def moons(n, seed=0, noise=0.1):
    """Two interleaved half circles (as scikit-learn's make_moons), labels 0 and 1."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    t = np.pi * rng.uniform(size=n)
    X = np.where(y[:, None] == 0, np.c_[np.cos(t), np.sin(t)], np.c_[1 - np.cos(t), 0.5 - np.sin(t)])
    return X + noise * rng.normal(size=(n, 2)), y


def shifted_moons(ns, nt, seed=0, theta=0.5):
    Xs, ys = moons(ns, seed)
    Xt, yt = moons(nt, seed + 1)
    return Xs, ys, (Xt - 0.5) @ rotation(theta).T + 0.5, yt


def one_nn_accuracy(X_train, y_train, X_test, y_test):
    d = ((X_test[:, None, :] - X_train[None, :, :]) ** 2).sum(-1)
    return float(np.mean(y_train[np.argmin(d, axis=1)] == y_test))
