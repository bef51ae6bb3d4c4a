"""numbaot.da's estimators on device arrays (run under NUMBA_ENABLE_CUDASIM=1 or on a GPU): the entropic solves run
on the GPU, the solvers without a CUDA driver on host copies (``ran_on_`` says which); fitted attributes and outputs
are device arrays equal to the host estimator's; host and device arrays are never mixed silently."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from numbaot import ConvergenceWarning
from numbaot.da import (EMDTransport, JCPOTTransport, LinearGWTransport, LinearTransport, MappingTransport,
                        NotFittedError, OT_mapping_linear, SinkhornTransport, UnbalancedSinkhornTransport)
from tests.cuda.common import same_error

pytestmark = pytest.mark.cuda


def dev(x):
    from numba import cuda

    if isinstance(x, list):
        return [dev(v) for v in x]
    return None if x is None else cuda.to_device(np.ascontiguousarray(x))


def host(x):
    if isinstance(x, list):
        return [host(v) for v in x]
    assert hasattr(x, "copy_to_host"), f"expected a device array, got {type(x).__name__}"
    return x.copy_to_host()


def _data(seed=0, n=9, m=8):
    rng = np.random.default_rng(seed)
    Xs = rng.normal(size=(n, 2))
    Xt = rng.normal(size=(m, 2)) @ np.array([[1.0, 0.3], [0.0, 1.2]]) + 0.7
    ys = np.arange(n) % 2
    yt = np.arange(m) % 2
    yt[::3] = -1  # unlabelled target samples
    return Xs, ys, Xt, yt


def _check_like_host(est, ref, Xs, ys, Xt, yt, atol):
    """Every output of the device-fitted ``est`` is a device array equal to the host-fitted ``ref``'s."""
    new_s, new_t = Xs[:4] + 0.05, Xt[:3] - 0.05
    pairs = [(est.transform(dev(Xs)), ref.transform(Xs)),
             (est.transform(dev(new_s), batch_size=2), ref.transform(new_s, batch_size=2)),
             (est.inverse_transform(Xt=dev(Xt)), ref.inverse_transform(Xt=Xt)),
             (est.inverse_transform(Xt=dev(new_t), batch_size=2), ref.inverse_transform(Xt=new_t, batch_size=2))]
    if hasattr(ref, "coupling_"):
        pairs += [(est.coupling_, ref.coupling_), (est.mu_s, ref.mu_s), (est.cost_, ref.cost_),
                  (est.transform_labels(dev(ys)), ref.transform_labels(ys)),
                  (est.inverse_transform_labels(dev(yt)), ref.inverse_transform_labels(yt))]
    for got, want in pairs:
        np.testing.assert_allclose(host(got), want, atol=atol, rtol=0)
    f32 = est.transform(dev(new_s.astype(np.float32)))
    assert host(f32).dtype == np.float32


@pytest.mark.parametrize("cls, params, labelled", [
    (SinkhornTransport, dict(reg_e=0.5), True),  # label-corrected cost: built on the host, solved on the GPU
    (SinkhornTransport, dict(reg_e=0.5, out_of_sample_map="ferradans"), False),  # plain cost: built on the GPU
    (SinkhornTransport, dict(reg_e=0.5, norm="median"), False),  # normalised cost: built on the host
    (UnbalancedSinkhornTransport, dict(reg_e=0.5, reg_m=1.0, method="sinkhorn_log"), False)])
def test_entropic_estimators_solve_on_the_gpu(cls, params, labelled, small_blocks):
    Xs, ys, Xt, yt = _data()
    fit_ys, fit_yt = (ys, yt) if labelled else (None, None)
    ref = cls(**params, log=True).fit(Xs, fit_ys, Xt, fit_yt)
    est = cls(**params, log=True)
    assert est.fit(dev(Xs), dev(fit_ys), dev(Xt), dev(fit_yt)) is est
    assert est.ran_on_ == "cuda"
    assert est.get_params() == cls(**params, log=True).get_params()
    _check_like_host(est, ref, Xs, ys, Xt, yt, atol=1e-9)
    arrays = [k for k, v in ref.log_.items() if isinstance(v, np.ndarray) and v.ndim]
    assert arrays and all(hasattr(est.log_[k], "copy_to_host") for k in arrays)  # the log's arrays too
    out = cls(**params).fit_transform(dev(Xs), dev(fit_ys), dev(Xt), dev(fit_yt))
    np.testing.assert_allclose(host(out), ref.transform(Xs), atol=1e-9, rtol=0)


@pytest.mark.parametrize("make", [EMDTransport, lambda: SinkhornTransport(reg_e=0.5, method="sinkhorn_epsilon_scaling"),
                                  LinearGWTransport, lambda: MappingTransport(kernel="linear", max_iter=5, tol=1e-3)],
                         ids=["emd", "method-without-a-gpu-driver", "linear-gw", "mapping"])
def test_solvers_without_a_gpu_driver_run_on_host_copies_and_say_so(make):
    Xs, ys, Xt, yt = _data(1)
    ref = make().fit(Xs, ys, Xt, yt)
    est = make().fit(dev(Xs), dev(ys), dev(Xt), dev(yt))
    # the network simplex; a Sinkhorn method the CUDA driver lacks (as UnbalancedSinkhornTransport's default
    # 'sinkhorn', whose host core is not compiled here to save time); GW's closed form; the joint map
    assert est.ran_on_ == "cpu"
    _check_like_host(est, ref, Xs, ys, Xt, yt, atol=1e-12)


def test_linear_transport_maps_on_the_gpu(small_blocks):
    """The Gaussian map by numbaot.gaussian's CUDA path (Newton-Schulz roots), its inverse on host copies."""
    Xs, ys, Xt, yt = _data(6, n=12, m=10)
    ref = LinearTransport(log=True).fit(Xs, None, Xt)
    est = LinearTransport(log=True).fit(dev(Xs), None, dev(Xt))
    assert est.ran_on_ == "cuda"
    for name in ("A_", "B_", "A1_", "B1_"):
        np.testing.assert_allclose(host(getattr(est, name)), getattr(ref, name), atol=1e-9, rtol=0)
    np.testing.assert_allclose(host(est.log_["Cs"]), ref.log_["Cs"], atol=1e-12)
    _check_like_host(est, ref, Xs, ys, Xt, yt, atol=1e-9)
    A, b = OT_mapping_linear(dev(Xs), dev(Xt), reg=1e-8)  # the function: the GPU path of numbaot.gaussian
    np.testing.assert_allclose(host(A), ref.A_, atol=1e-9, rtol=0)
    with pytest.raises(ValueError, match=r"OT_mapping_linear\(log=True\) runs on the host only"):
        OT_mapping_linear(dev(Xs), dev(Xt), log=True)


def test_jcpot_on_device_arrays():
    rng = np.random.default_rng(2)
    Xs = [rng.normal(size=(6, 2)), rng.normal(size=(8, 2)) + 0.2]
    ys = [np.arange(6) % 2, np.arange(8) % 2]
    Xt = rng.normal(size=(7, 2))
    ref = JCPOTTransport(reg_e=1.0).fit(Xs, ys, Xt)
    est = JCPOTTransport(reg_e=1.0).fit(dev(Xs), dev(ys), dev(Xt))
    assert est.ran_on_ == "cpu"
    np.testing.assert_allclose(host(est.proportions_), ref.proportions_, atol=1e-12)
    for got, want in [(est.transform(dev(Xs)), ref.transform(Xs)), (est.coupling_, ref.coupling_),
                      (est.inverse_transform(Xt=dev(Xt)), ref.inverse_transform(Xt=Xt)),
                      (est.inverse_transform_labels(dev(np.arange(7) % 2)),
                       ref.inverse_transform_labels(np.arange(7) % 2))]:
        for g, w in zip(got, want):
            np.testing.assert_allclose(host(g), w, atol=1e-12)
    np.testing.assert_allclose(host(est.transform_labels(dev(ys))), ref.transform_labels(ys), atol=1e-12)


def test_host_and_device_arrays_are_not_mixed():
    Xs, ys, Xt, yt = _data(3)
    with pytest.raises(ValueError, match="Xs on the GPU but Xt on the host"):
        EMDTransport().fit(dev(Xs), None, Xt)
    with pytest.raises(ValueError, match="Xs, Xt on the GPU but ys on the host"):
        EMDTransport().fit(dev(Xs), ys, dev(Xt))
    on_device = EMDTransport().fit(dev(Xs), None, dev(Xt))
    with pytest.raises(ValueError, match="fitted on GPU arrays but Xs is a host array"):
        on_device.transform(Xs)
    with pytest.raises(ValueError, match="fitted on GPU arrays but ys is a host array"):
        on_device.transform_labels(ys)
    with pytest.raises(ValueError, match="fitted on GPU arrays but Xs is a host array"):
        on_device.transform(Xs.tolist())  # a nested list is a host array too
    on_host = EMDTransport().fit(Xs, None, Xt)
    with pytest.raises(ValueError, match="fitted on host arrays but Xt lives on the GPU"):
        on_host.inverse_transform(Xt=dev(Xt))
    # a host refit forgets the device fit, and the other way round
    on_device.fit(Xs, None, Xt)
    assert not hasattr(on_device, "ran_on_") and isinstance(on_device.transform(Xs), np.ndarray)
    on_host.fit(dev(Xs), None, dev(Xt))
    assert on_host.ran_on_ == "cpu" and hasattr(on_host.transform(dev(Xs)), "copy_to_host")


def test_bad_input_on_device_gets_the_host_messages():
    Xs, ys, Xt, yt = _data(4)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        SinkhornTransport().transform(dev(Xs))
    same_error(lambda: SinkhornTransport().fit(Xs, None, Xt[:, :1]),
               lambda: SinkhornTransport().fit(dev(Xs), None, dev(Xt[:, :1])))
    same_error(lambda: EMDTransport().fit(Xs, ys[:-1], Xt, yt), lambda: EMDTransport().fit(dev(Xs), dev(ys[:-1]),
                                                                                          dev(Xt), dev(yt)))
    same_error(lambda: SinkhornTransport(metric="nope").fit(Xs, None, Xt),
               lambda: SinkhornTransport(metric="nope").fit(dev(Xs), None, dev(Xt)))
    est = SinkhornTransport(reg_e=0.5).fit(dev(Xs), None, dev(Xt))
    with pytest.raises(ValueError, match="Xs has 3 features but the estimator was fitted on Xs with 2"):
        est.transform(dev(np.ones((2, 3))))
    with pytest.raises(ValueError, match="reg_e"):  # a failed fit leaves the estimator unfitted
        est.set_params(reg_e=-1.0).fit(dev(Xs), None, dev(Xt))
    assert not hasattr(est, "coupling_") and not hasattr(est, "ran_on_")
    with pytest.raises(NotFittedError):
        est.transform(dev(Xs))


def test_gpu_non_convergence_warns_at_the_callers_line():
    Xs, ys, Xt, yt = _data(5)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        est = SinkhornTransport(reg_e=0.01, max_iter=2).fit(dev(Xs), None, dev(Xt))
    assert est.ran_on_ == "cuda"
    caught = [w for w in record if issubclass(w.category, ConvergenceWarning)]
    assert caught and "SinkhornTransport" in str(caught[0].message) and caught[0].filename == __file__
