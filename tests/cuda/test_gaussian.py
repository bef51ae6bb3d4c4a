"""The CUDA Bures-Wasserstein paths (Newton-Schulz square roots) against the CPU paths (eigendecompositions)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import numbaot
from numbaot._status import ConvergenceWarning

pytestmark = pytest.mark.cuda


def dev(x):
    from numba import cuda

    return None if x is None else cuda.to_device(np.ascontiguousarray(x))


def host(x):
    return x.copy_to_host() if hasattr(x, "copy_to_host") else np.asarray(x)


def spd(rng, K, d, floor=0.2):
    A = rng.normal(size=(K, d, d))
    return A @ np.swapaxes(A, 1, 2) / d + floor * np.eye(d)


def gaussians(K, d=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(K, d)), spd(rng, K, d)


def test_newton_schulz_matches_eigh():
    from numba import cuda

    from numbaot.cuda import gaussian as g

    rng = np.random.default_rng(1)
    C = spd(rng, 3, 4, floor=1e-3)
    C[2] = np.diag([4.0, 1.0, 0.0, 0.0])  # singular: the root still converges (the inverse is meaningless)
    stream = cuda.default_stream()
    root, inv, trace, status, iters = g.sqrtm_cuda(dev(C), stream)
    root, inv, trace, status = (host(x) for x in (root, inv, trace, status))
    assert np.all(status == numbaot.Status.OPTIMAL)
    for k in range(3):
        w, V = np.linalg.eigh(C[k])
        ref = (V * np.sqrt(np.maximum(w, 0))) @ V.T
        np.testing.assert_allclose(root[k], ref, atol=1e-7 if k == 2 else 1e-10)
        np.testing.assert_allclose(trace[k], np.trace(ref), rtol=1e-7)
        if k < 2:
            np.testing.assert_allclose(inv[k] @ C[k] @ inv[k], np.eye(4), atol=1e-8)


def test_newton_schulz_cap_is_reported():
    from numba import cuda

    from numbaot.cuda import gaussian as g

    C = np.diag([1.0, 1e-6])[None]
    _, _, _, status, iters = g.sqrtm_cuda(dev(C), cuda.default_stream(), max_iter=2)
    assert host(status)[0] == numbaot.Status.MAX_ITER_REACHED and host(iters)[0] == 2


@pytest.mark.parametrize("paired", [False, True])
def test_distance_matches_cpu(small_blocks, paired):
    ms, Cs = gaussians(2, d=2, seed=0)
    mt, Ct = gaussians(2, d=2, seed=1)
    cpu = numbaot.bures_wasserstein_distance(ms, mt, Cs, Ct, paired=paired)
    gpu = numbaot.bures_wasserstein_distance(dev(ms), dev(mt), dev(Cs), dev(Ct), paired=paired)
    assert gpu.shape == cpu.shape
    np.testing.assert_allclose(host(gpu), cpu, rtol=1e-9, atol=1e-12)
    one = numbaot.bures_wasserstein_distance(dev(ms[0]), dev(mt[1]), dev(Cs[0].astype(np.float32)), dev(Ct[1]))
    assert isinstance(one, float)
    np.testing.assert_allclose(one, numbaot.bures_wasserstein_distance(ms[0], mt[1], Cs[0].astype(np.float32),
                                                                       Ct[1]), rtol=1e-9)


def test_mapping_matches_cpu(small_blocks):
    ms, Cs = gaussians(2, seed=2)
    A_cpu, b_cpu = numbaot.bures_wasserstein_mapping(ms[0], ms[1], Cs[0], Cs[1])
    A, b = numbaot.bures_wasserstein_mapping(dev(ms[0]), dev(ms[1]), dev(Cs[0]), dev(Cs[1]))
    np.testing.assert_allclose(host(A), A_cpu, atol=1e-9)
    np.testing.assert_allclose(host(b), b_cpu, atol=1e-9)


@pytest.mark.parametrize("weighted, bias", [(False, True), (True, False)])
def test_empirical_matches_cpu(small_blocks, weighted, bias):
    rng = np.random.default_rng(3)
    xs = rng.normal(size=(40, 3))
    xt = rng.normal(size=(30, 3)) @ np.diag([2.0, 1.0, 0.5]) + 1.0
    ws = rng.integers(1, 4, 40).astype(float) if weighted else None
    wt = rng.integers(1, 4, (30, 1)).astype(float) if weighted else None
    kw = dict(reg=1e-3, bias=bias)
    cpu = numbaot.empirical_bures_wasserstein_distance(xs, xt, ws=ws, wt=wt, **kw)
    gpu = numbaot.empirical_bures_wasserstein_distance(dev(xs), dev(xt), ws=dev(ws), wt=dev(wt), **kw)
    np.testing.assert_allclose(gpu, cpu, rtol=1e-9)
    A_cpu, b_cpu = numbaot.empirical_bures_wasserstein_mapping(xs, xt, ws=ws, wt=wt, **kw)
    A, b = numbaot.empirical_bures_wasserstein_mapping(dev(xs), dev(xt), ws=dev(ws), wt=dev(wt), **kw)
    np.testing.assert_allclose(host(A), A_cpu, atol=1e-9)
    np.testing.assert_allclose(host(b), b_cpu, atol=1e-9)


def test_barycenter_matches_cpu():
    m, C = gaussians(3, d=2, seed=4)
    w = np.array([0.5, 0.25, 0.25])
    mb_cpu, Cb_cpu = numbaot.bures_wasserstein_barycenter(m, C, w, tol=1e-6)
    mb, Cb = numbaot.bures_wasserstein_barycenter(dev(m), dev(C), dev(w), tol=1e-6)
    np.testing.assert_allclose(host(mb), mb_cpu, atol=1e-12)
    np.testing.assert_allclose(host(Cb), Cb_cpu, atol=1e-8)


def test_barycenter_gradient_steps_and_cap_warn():
    m, C = gaussians(2, d=2, seed=5)
    kw = dict(method="gradient_descent", step_size=0.7, max_iter=3, tol=0.0)
    with pytest.warns(ConvergenceWarning, match="MAX_ITER"):
        _, Cb_cpu = numbaot.bures_wasserstein_barycenter(m, C, **kw)
    with pytest.warns(ConvergenceWarning, match="MAX_ITER"):
        _, Cb = numbaot.bures_wasserstein_barycenter(dev(m), dev(C), **kw)
    np.testing.assert_allclose(host(Cb), Cb_cpu, atol=1e-10)


@pytest.mark.parametrize("case, match", [("asym", "not symmetric"), ("nan", "NaN"), ("neg", "semi-definite"),
                                         ("shape", "same Gaussians"), ("project", "host only")])
def test_bad_covariances(case, match):
    m, C = gaussians(2, seed=6)
    psd = "raise"
    if case == "asym":
        C[1, 0, 2] += 0.5
    elif case == "nan":
        C[0, 1, 1] = np.nan
    elif case in ("neg", "project"):
        C[1] = np.diag([1.0, -0.5, 1.0])
        psd = "project" if case == "project" else "raise"
    elif case == "shape":
        m = m[:, :2]
    with pytest.raises(ValueError, match=match):
        numbaot.bures_wasserstein_distance(dev(m), dev(m), dev(C), dev(C), psd=psd)


def test_singular_source_map_and_mixed_devices():
    m, C = gaussians(2, seed=7)
    with pytest.raises(ValueError, match="singular"):
        numbaot.bures_wasserstein_mapping(dev(m[0]), dev(m[1]), dev(np.diag([1.0, 0.0, 1.0])), dev(C[1]))
    with pytest.raises(ValueError, match="different devices"):
        numbaot.bures_wasserstein_distance(dev(m[0]), m[1], dev(C[0]), C[1])
    with pytest.raises(ValueError, match="ws"):
        numbaot.empirical_bures_wasserstein_distance(dev(np.ones((4, 2))), dev(np.ones((4, 2))),
                                                     ws=dev(np.array([1.0, -1.0, 1.0, 1.0])))


def test_no_warning_when_converged():
    m, C = gaussians(2, seed=8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        numbaot.bures_wasserstein_distance(dev(m), dev(m), dev(C), dev(C))


def test_stochastic_barycenter_refuses_device_arrays():
    m, C = gaussians(2, d=2, seed=9)
    with pytest.raises(ValueError, match="host only"):
        numbaot.bures_wasserstein_barycenter(dev(m), dev(C), method="stochastic_gradient_descent")


def test_hd_functions_refuse_device_arrays():
    U = np.eye(3)[:, :1]
    with pytest.raises(ValueError, match="host only"):
        numbaot.bures_wasserstein_distance_hd(dev(np.zeros(3)), dev(np.zeros(3)), dev(U), dev(U), dev(np.ones(1)),
                                              dev(np.ones(1)), 1.0, 1.0)
    x = dev(np.ones((4, 3)))
    with pytest.raises(ValueError, match="host only"):
        numbaot.empirical_bures_wasserstein_mapping_hd(x, x, 1)
