"""scikit-learn's estimator rules and bad input, for every estimator of numbaot.da."""
from __future__ import annotations

import hashlib
import inspect
import pickle

import numpy as np
import pytest

from numbaot.da import (EMDLaplaceTransport, EMDTransport, JCPOTTransport, LinearGWTransport, LinearTransport,
                        MappingTransport, NotFittedError, SinkhornL1l2Transport, SinkhornLpl1Transport,
                        SinkhornTransport, UnbalancedSinkhornTransport)
from tests.conftest import SIMULATOR
from tests.da.data import shifted_blobs

ESTIMATORS = [EMDTransport, SinkhornTransport, UnbalancedSinkhornTransport, LinearTransport, LinearGWTransport,
              MappingTransport, SinkhornL1l2Transport, EMDLaplaceTransport, SinkhornLpl1Transport]
PLAN_ESTIMATORS = [EMDTransport, SinkhornTransport, UnbalancedSinkhornTransport]
#: Settings under which each fits (Xs, ys, Xt, yt) quickly and converges.
FIT = {SinkhornLpl1Transport: dict(limit_max=10, reg_e=2.0, max_inner_iter=2000), SinkhornL1l2Transport:
       dict(reg_e=2.0, max_inner_iter=2000), SinkhornTransport: dict(reg_e=2.0), UnbalancedSinkhornTransport:
       dict(reg_e=2.0), EMDLaplaceTransport: dict(tol=1e-6)}
Xs, ys, Xt, yt = shifted_blobs(24, 30, seed=1)


def _digest(*arrays):
    return hashlib.sha256(b"".join(np.ascontiguousarray(a).tobytes() for a in arrays)).hexdigest()


@pytest.mark.parametrize("cls", ESTIMATORS + [JCPOTTransport])
def test_params_are_init_arguments_stored_unchanged(cls):
    names = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    est = cls()
    assert sorted(est.get_params()) == sorted(names)
    for name in names:
        assert est.get_params()[name] is inspect.signature(cls.__init__).parameters[name].default
    assert est.set_params(**{names[0]: "changed"}) is est and est.get_params()[names[0]] == "changed"
    with pytest.raises(ValueError, match="invalid parameter 'nope'"):
        est.set_params(nope=1)
    assert repr(est).startswith(cls.__name__ + "(")


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_fit_returns_self_keeps_params_and_inputs(cls):
    est = cls(**FIT.get(cls, {}))
    before = est.get_params()
    for a in (Xs, ys, Xt, yt):
        a.flags.writeable = False  # read-only inputs must work
    digest = _digest(Xs, ys, Xt, yt)
    try:
        assert est.fit(Xs, ys, Xt, yt) is est
    finally:
        for a in (Xs, ys, Xt, yt):
            a.flags.writeable = True
    assert _digest(Xs, ys, Xt, yt) == digest
    assert est.get_params() == before
    assert est.transform(Xs).shape == Xs.shape and est.inverse_transform(Xt=Xt).shape == Xt.shape
    assert est.transform(Xs[:3] + 0.01).shape == (3, 2)
    assert np.allclose(pickle.loads(pickle.dumps(est)).transform(Xs), est.transform(Xs))
    fitted = [k for k in vars(est) if k.endswith("_") and not k.startswith("_")]
    assert fitted and all(k not in before for k in fitted)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_sklearn_clone(cls):
    base = pytest.importorskip("sklearn.base")
    est = cls(**FIT.get(cls, {})).fit(Xs, ys, Xt=Xt)
    copy = base.clone(est)
    assert type(copy) is cls and copy.get_params() == est.get_params()
    assert not hasattr(copy, "xs_")


@pytest.mark.parametrize("cls", ESTIMATORS + [JCPOTTransport])
def test_use_before_fit(cls):
    est = cls()
    with pytest.raises(NotFittedError, match=f"This {cls.__name__} instance is not fitted yet"):
        est.transform(Xs)
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
    if cls in PLAN_ESTIMATORS:
        with pytest.raises(NotFittedError):
            est.transform_labels(ys)
        with pytest.raises(NotFittedError):
            est.inverse_transform(Xt=Xt)


@pytest.mark.parametrize("cls", PLAN_ESTIMATORS)
def test_bad_input(cls):
    with pytest.raises(ValueError, match="Xs has points of dimension 2 but Xt of dimension 3"):
        cls().fit(Xs=Xs, Xt=np.ones((5, 3)))
    with pytest.raises(ValueError, match="ys has 23 labels but there are 24 source samples"):
        cls().fit(Xs, ys[:-1], Xt, yt)
    with pytest.raises(ValueError, match="yt has 29 labels but there are 30 target samples"):
        cls().fit(Xs, ys, Xt, yt[:-1])
    with pytest.raises(ValueError, match="metric must be one of"):
        cls(metric="mahalanobis").fit(Xs=Xs, Xt=Xt)
    with pytest.raises(ValueError, match="norm must be None or one of"):
        cls(norm="l2").fit(Xs=Xs, Xt=Xt)
    with pytest.raises(ValueError, match="unknown out_of_sample_map 'nearest'"):
        cls(out_of_sample_map="nearest").fit(Xs=Xs, Xt=Xt)
    with pytest.raises(ValueError, match=r"ys has classes \[7\] that no target sample has"):
        cls().fit(Xs, np.where(ys == 2, 7, ys), Xt, yt)
    with pytest.raises(ValueError, match=r"Xs\[3, 1\] is nan|Xs\[\(3, 1\)\] is nan"):
        bad = Xs.copy()
        bad[3, 1] = np.nan
        cls().fit(Xs=bad, Xt=Xt)
    with pytest.raises(TypeError, match="Xt is required"):
        cls().fit(Xs=Xs)
    with pytest.raises(ValueError, match="distribution_estimation"):
        cls(distribution_estimation=lambda X: -np.ones(len(X))).fit(Xs=Xs, Xt=Xt)
    est = cls().fit(Xs=Xs, Xt=Xt)
    with pytest.raises(ValueError, match="Xs has 3 features but the estimator was fitted on Xs with 2"):
        est.transform(np.ones((4, 3)))
    with pytest.raises(ValueError, match="ys has 5 labels but there are 24 fitted source samples"):
        est.transform_labels(ys[:5])
    with pytest.raises(ValueError, match="yt has 5 labels but there are 30 fitted target samples"):
        est.inverse_transform_labels(yt[:5])
    with pytest.raises(TypeError, match=r"inverse_transform\(Xt=...\)"):
        est.inverse_transform(Xt)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        est.transform(Xs + 1, batch_size=0)


def test_bad_scalar_parameters():
    with pytest.raises(ValueError, match="reg_e = 0 means unregularised OT"):
        SinkhornTransport(reg_e=0).fit(Xs=Xs, Xt=Xt)
    with pytest.raises(ValueError, match="method must be one of"):
        SinkhornTransport(method="fast").fit(Xs=Xs, Xt=Xt)
    with pytest.raises(TypeError, match="max_iter must be a positive integer"):
        EMDTransport(max_iter=1.5).fit(Xs=Xs, Xt=Xt)
    with pytest.raises(ValueError, match="limit_max must be a positive number"):
        EMDTransport(limit_max=-1).fit(Xs, ys, Xt, yt)
    with pytest.raises(ValueError, match="reg must be a finite number >= 0"):
        LinearTransport(reg=-1.0).fit(Xs=Xs, Xt=Xt)
    with pytest.raises(ValueError, match="sign_eigs must be None, 'skewness'"):
        LinearGWTransport(sign_eigs="kurtosis").fit(Xs=Xs, Xt=Xt)


class FakeDevice:
    __cuda_array_interface__ = {"shape": (3, 2), "typestr": "<f8", "data": (0, False), "version": 3}
    shape, dtype = (3, 2), np.dtype(np.float64)


@pytest.mark.skipif(SIMULATOR, reason="under the simulator device arrays are usable (tests/cuda/test_da.py)")
def test_gpu_arrays_without_a_gpu_say_what_to_do():
    """The estimators take device arrays (tests/cuda/test_da.py); without a usable GPU they say so before any copy,
    and host and device arrays mixed in one call are refused by name."""
    with pytest.raises(RuntimeError, match="no CUDA GPU or driver is usable|CUDA target is not installed"):
        EMDTransport().fit(Xs=FakeDevice(), Xt=FakeDevice())
    with pytest.raises(ValueError, match="Xs on the GPU but Xt on the host"):
        EMDTransport().fit(Xs=FakeDevice(), Xt=Xt)


def test_functions_refuse_gpu_arrays_clearly():
    from numbaot.da import joint_OT_mapping_linear

    with pytest.raises(ValueError, match="xs is a GPU array: numbaot.da's functions run on host"):
        joint_OT_mapping_linear(FakeDevice(), Xt)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_float32_points_come_back_float32(cls):
    """Transported samples keep the dtype of the points given (as POT's), in sample and out of sample."""
    est = cls(**FIT.get(cls, {})).fit(Xs.astype(np.float32), ys, Xt.astype(np.float32), yt)
    reference = cls(**FIT.get(cls, {})).fit(Xs.astype(np.float32).astype(np.float64), ys,
                                            Xt.astype(np.float32).astype(np.float64), yt)
    new = (Xs[:5] + 0.01).astype(np.float32)
    for points, ref in [(Xs.astype(np.float32), Xs.astype(np.float32).astype(np.float64)),
                        (new, new.astype(np.float64))]:
        out = est.transform(points)
        assert out.dtype == np.float32
        assert np.allclose(out, reference.transform(ref), atol=1e-5)
    assert est.inverse_transform(Xt=Xt.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("est,change", [
    (SinkhornTransport(reg_e=0.5), dict(reg_e=5.0, metric="euclidean", norm="max", out_of_sample_map="ferradans")),
    (MappingTransport(kernel="gaussian", sigma=0.7), dict(kernel="linear", sigma=3.0, bias=True)),
    (EMDTransport(), dict(metric="cityblock")),
])
def test_set_params_after_fit_leaves_the_fitted_model(est, change):
    """transform uses the settings of the fit (scikit-learn's rule); a new fit takes the new ones."""
    est.fit(Xs=Xs, Xt=Xt)
    new = Xs[:7] + 0.3
    before, back = est.transform(new, batch_size=3), est.inverse_transform(Xt=Xt[:4] - 0.3)
    est.set_params(**change)
    assert np.array_equal(est.transform(new, batch_size=3), before)
    assert np.array_equal(est.inverse_transform(Xt=Xt[:4] - 0.3), back)
    assert not np.allclose(est.fit(Xs=Xs, Xt=Xt).transform(new), before)


def test_fitted_weights_are_copies():
    w = np.full(len(Xs), 1.0 / len(Xs))
    est = EMDTransport(distribution_estimation=lambda X: w if len(X) == len(w) else np.full(len(X), 1 / len(X)))
    est.fit(Xs=Xs, Xt=Xt)
    w[:] = 0.0
    assert np.allclose(est.mu_s, 1.0 / len(Xs))


@pytest.mark.parametrize("cls", [SinkhornTransport, UnbalancedSinkhornTransport])
def test_unconverged_sinkhorn_warns_at_the_callers_line(cls):
    with pytest.warns(Warning, match=f"{cls.__name__}: MAX_ITER_REACHED") as record:
        est = cls(reg_e=0.05, max_iter=2, tol=1e-12).fit(Xs=Xs, Xt=Xt)
    assert record[0].filename == __file__
    assert est.coupling_.shape == (24, 30)


@pytest.mark.parametrize("cls,bad", [(SinkhornTransport, dict(reg_e=-1.0)), (EMDTransport, dict(max_iter=0)),
                                     (LinearTransport, dict(reg=-1.0)), (MappingTransport, dict(eta=-1.0))])
def test_a_failed_refit_leaves_the_estimator_unfitted(cls, bad):
    """Not half-refitted: a new xs_ beside the old plan would transport with the wrong plan."""
    est = cls().fit(Xs=Xs, Xt=Xt)
    est.set_params(**bad)
    with pytest.raises((ValueError, TypeError)):
        est.fit(Xs=Xs[:10], Xt=Xt[:12])
    with pytest.raises(NotFittedError):
        est.transform(Xs[:10])
    assert not hasattr(est, "coupling_") and not hasattr(est, "A_") and not hasattr(est, "log_")


def test_a_failed_jcpot_refit_leaves_it_unfitted():
    est = JCPOTTransport(reg_e=1.0).fit([Xs], [ys], Xt)
    with pytest.raises(ValueError):
        est.set_params(reg_e=-1.0).fit([Xs], [ys], Xt)
    with pytest.raises(NotFittedError):
        est.transform(Xs)


def test_base_transport_refuses_to_fit_with_a_clear_error():
    from numbaot.da import BaseTransport

    X = np.arange(6.0).reshape(3, 2)
    with pytest.raises(TypeError, match="BaseTransport has no solver of its own"):
        BaseTransport().fit(X, Xt=X + 1.0)
