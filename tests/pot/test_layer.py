"""numbaot.pot: POT's names, positional order, defaults, log dicts and error types over numbaot's own verbs."""
import logging
import re
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

import numbaot
import numbaot.pot as ot
from numbaot.pot import (MarginalsError, PotModuleError, PotNameError, PotNotImplementedError,
                         UnsupportedOption)


def _problem(n=6, m=5, seed=0):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(n, 2)), rng.normal(size=(m, 2))
    a, b = rng.random(n) + 0.1, rng.random(m) + 0.1
    return a / a.sum(), b / b.sum(), numbaot.dist(x, y)


def test_import_is_lazy_and_cheap():
    code = ("import sys, time; t = time.perf_counter(); import numbaot.pot; dt = time.perf_counter() - t; "
            "print(dt, 'numba' in sys.modules, 'numbaot.pot.lp' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[1:] == ["False", "False"]
    assert float(out[0]) < 1.0  # 0.2 s on a quiet machine (bench/bench_layers.py measures it)


def test_emd_values_equal_the_native_verbs_and_uniform_empty_weights():
    a, b, M = _problem()
    assert np.allclose(ot.emd(a, b, M), numbaot.emd(a, b, M))
    assert np.isclose(ot.emd2(a, b, M), numbaot.emd2(a, b, M))
    n, m = M.shape
    assert np.allclose(ot.emd([], [], M), numbaot.emd(np.full(n, 1 / n), np.full(m, 1 / m), M))
    assert np.allclose(ot.lp.emd(np.array([]), b, M), numbaot.emd(None, b, M))


def test_emd2_positional_order_is_pots():
    """``emd2(a, b, M, 1)``: the fourth argument is ``processes`` (ignored), not a cap of one pivot."""
    a, b, M = _problem(12, 11)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isclose(ot.emd2(a, b, M, 1), numbaot.emd2(a, b, M))
    cost, log = ot.emd2(a, b, M, 1, 100000, True, True)
    assert set(log) == {"cost", "u", "v", "warning", "result_code", "G"}
    assert log["result_code"] == 1 and log["warning"] is None and np.isclose(log["cost"], cost)
    assert np.isclose(a @ log["u"] + b @ log["v"], cost)  # strong duality with POT's centred duals
    assert np.isclose(a @ log["u"], b @ log["v"])


def test_emd_log_and_max_iter_warning():
    a, b, M = _problem(12, 11)
    G, log = ot.emd(a, b, M, log=True)
    assert sorted(log) == ["cost", "result_code", "u", "v", "warning"]
    with pytest.warns(UserWarning, match="numItermax"):
        G, log = ot.emd(a, b, M, numItermax=1, log=True)
    assert log["result_code"] == 3


def test_emd_unequal_masses_raise_pots_assertion_and_our_value_error():
    a, b, M = _problem()
    with pytest.raises(AssertionError, match="sum"):
        ot.emd(a, 2 * b, M)
    with pytest.raises(ValueError):
        ot.emd2(a, 2 * b, M)
    assert issubclass(MarginalsError, AssertionError) and issubclass(MarginalsError, ValueError)


def test_num_threads_is_pots_deprecated_parameter_but_honoured():
    a, b, M = _problem()
    with pytest.warns(DeprecationWarning, match="numThreads"):
        G = ot.emd(a, b, M, numThreads=2)
    assert np.allclose(G, numbaot.emd(a, b, M))
    with pytest.raises(ValueError, match="numThreads"):
        ot.emd(a, b, M, numThreads=0)


@pytest.mark.parametrize("method, keys", [
    ("sinkhorn", {"err", "niter", "u", "v"}),
    ("sinkhorn_log", {"err", "niter", "u", "v", "log_u", "log_v"}),
    ("sinkhorn_stabilized", {"err", "n_iter", "logu", "logv", "alpha", "beta", "warmstart"}),
])
def test_sinkhorn_log_dicts_have_pots_keys(method, keys):
    a, b, M = _problem()
    reg = 0.5
    G, log = ot.sinkhorn(a, b, M, reg, method=method, log=True, stopThr=1e-12, numItermax=5000)
    assert set(log) == keys
    assert np.allclose(G, numbaot.sinkhorn(a, b, M, reg, method=method, tol=1e-12, max_iter=5000))
    u = log["u"] if "u" in log else np.exp(log["logu"])
    v = log["v"] if "v" in log else np.exp(log["logv"])
    assert np.allclose(u[:, None] * np.exp(-M / reg) * v[None, :], G)  # POT's scalings: P = diag(u) K diag(v)


def test_sinkhorn_positional_order_and_multiple_targets():
    a, b, M = _problem()
    G = ot.sinkhorn(a, b, M, 1.0, "sinkhorn_log", 2000, 1e-12)
    assert np.allclose(G, numbaot.sinkhorn(a, b, M, 1.0, max_iter=2000, tol=1e-12))
    B = np.stack([b, b[::-1]], axis=1)
    costs = ot.sinkhorn2(a, B, M, 1.0)
    assert costs.shape == (2,)
    assert np.isclose(costs[0], numbaot.sinkhorn2(a, b, M, 1.0))


def test_sinkhorn_warmstart_is_pots_log_scalings():
    a, b, M = _problem()
    G, log = ot.sinkhorn(a, b, M, 0.3, method="sinkhorn_log", log=True, stopThr=1e-12, numItermax=5000)
    G2, log2 = ot.sinkhorn(a, b, M, 0.3, method="sinkhorn_log", log=True, warmstart=(log["log_u"], log["log_v"]))
    assert np.allclose(G, G2, atol=1e-10) and log2["niter"] <= 10


def test_sinkhorn_unknown_method_and_convergence_warning():
    a, b, M = _problem()
    with pytest.raises(ValueError, match="method"):
        ot.sinkhorn(a, b, M, 1.0, method="nope")
    with pytest.warns(UserWarning):
        ot.sinkhorn(a, b, M, 0.01, stopThr=0, numItermax=2)


def test_unbalanced_log_and_values():
    a, b, M = _problem()
    G, log = ot.sinkhorn_unbalanced(a, 2 * b, M, 0.5, 1.0, log=True, stopThr=1e-10)
    assert set(log) == {"err", "logu", "logv", "cost", "total_cost"}
    assert np.allclose(G, numbaot.sinkhorn_unbalanced(a, 2 * b, M, 0.5, 1.0, method="sinkhorn", tol=1e-10))
    assert np.isclose(log["cost"], np.sum(G * M))
    assert np.isclose(ot.sinkhorn_unbalanced2(a, 2 * b, M, 0.5, 1.0, returnCost="total", stopThr=1e-10),
                      log["total_cost"])


def test_solve_result_has_pots_attributes():
    a, b, M = _problem()
    res = ot.solve(M, a, b)
    assert res._backend is None and res.log is None
    assert np.allclose(res.plan, numbaot.emd(a, b, M))
    assert np.allclose(res.marginals[0], a)
    res = ot.solve(M, a, b, reg=1.0)
    G, log = ot.sinkhorn(a, b, M, 1.0, method="sinkhorn_log", log=True)
    assert np.allclose(res.potentials[0] - res.potentials[0][0], log["log_u"] - log["log_u"][0], atol=1e-6)
    with pytest.raises(ValueError):
        ot.solve(M, method="invalid")
    with pytest.raises(NotImplementedError):
        ot.solve_gromov(M[:5, :5], M[:5, :5], loss="weird")
    assert issubclass(UnsupportedOption, NotImplementedError)


def test_missing_names_do_not_exist_and_their_error_names_the_closest_function():
    with pytest.raises(AttributeError, match=r"ot.weak_optimal_transport is not implemented by numbaot.*numbaot.emd"):
        ot.weak_optimal_transport  # noqa: B018
    with pytest.raises(PotNameError, match=r"ot.bregman.jcpot_barycenter is not implemented.*numbaot.barycenter"):
        ot.bregman.jcpot_barycenter  # noqa: B018
    with pytest.raises(PotNotImplementedError, match="ot.dr.ewca"):  # and catchable as POT-not-implemented
        ot.dr.ewca  # noqa: B018
    with pytest.raises(ImportError, match="jcpot_barycenter"):
        from numbaot.pot.bregman import jcpot_barycenter  # noqa: F401
    assert not hasattr(ot.bregman, "jcpot_barycenter") and not hasattr(ot, "lowrank_sinkhorn")
    assert not hasattr(ot.da, "NearestBrenierPotential") and not hasattr(ot.smooth, "NegEntropy")
    with pytest.raises(AttributeError) as info:
        ot.not_a_pot_name  # noqa: B018 - names POT lacks too are plain AttributeErrors
    assert not isinstance(info.value, PotNotImplementedError)
    with pytest.raises(AttributeError) as info:
        ot.bregman.not_a_pot_name  # noqa: B018
    assert not isinstance(info.value, PotNotImplementedError)


@pytest.mark.parametrize("name", ["coot", "lowrank", "gnn", "weak", "batch", "sgot"])
def test_missing_submodules_do_not_exist_and_their_error_names_the_closest_function(name):
    closest = ot._MISSING_SUBMODULES[name]
    hint = f"closest numbaot function: {closest}" if closest else "numbaot has no equivalent"
    with pytest.raises(PotNameError, match=rf"ot.{name} is not implemented by numbaot.*{hint[:30]}"):
        getattr(ot, name)
    assert not hasattr(ot, name) and getattr(ot, name, None) is None  # feature probes answer, not raise
    with pytest.raises(PotModuleError, match=rf"ot.{name} is not implemented.*{hint[:30]}"):
        exec(f"from numbaot.pot import {name}", {})
    with pytest.raises(PotModuleError, match=rf"ot.{name} is not implemented.*{hint[:30]}"):
        exec(f"import numbaot.pot.{name}", {})
    assert name not in dir(ot) and name not in ot.__all__


def test_dir_and_all_list_only_what_works():
    """Every name a numbaot.pot module lists (``__all__``, ``dir``) resolves to a real object; none of POT's names
    numbaot lacks is listed; every implemented top-level name is POT's submodule's own object."""
    import importlib

    assert set(ot.__all__) <= set(dir(ot))
    for name in ot.__all__:
        assert getattr(ot, name) is not None
    for sub in ot._SUBMODULES:
        module = importlib.import_module(f"numbaot.pot.{sub}")
        listed = set(getattr(module, "__all__", ())) | {n for n in dir(module) if not n.startswith("_")}
        for name in getattr(module, "__all__", ()):
            getattr(module, name)
        assert not listed & set(getattr(module, "_MISSING", {})), sub
    assert not set(ot.__all__) & (set(ot._TOP_MISSING) | set(ot._MISSING_SUBMODULES))
    assert ot.dr.dist is ot.dist and ot.dr.sinkhorn is ot.sinkhorn  # POT's ot.dr re-exports them
    for name, sub in ot._TOP.items():
        assert getattr(ot, name) is getattr(getattr(ot, sub), name)
    for name, sub in ot._TOP_MISSING.items():  # each missing top-level name has its hint
        with pytest.raises(PotNameError, match=f"ot.{name} is not implemented"):
            getattr(ot, name)


def test_verbose_lines_are_info_records_of_the_numbaot_pot_logger(caplog):
    a, b, M = _problem()
    with caplog.at_level(logging.INFO, logger="numbaot.pot"):
        ot.sinkhorn(a, b, M, 1.0, verbose=True)
        ot.solve(M, a, b, verbose=True)
    lines = [r.getMessage() for r in caplog.records if r.name == "numbaot.pot" and r.levelno == logging.INFO]
    assert len(lines) == 2
    assert re.fullmatch(r"sinkhorn: optimal after \d+ iterations, value 2\.\d+", lines[0])
    assert re.fullmatch(r"solve: optimal after \d+ iterations, value 1\.\d+", lines[1])
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="numbaot.pot"):
        ot.sinkhorn(a, b, M, 1.0)  # quiet by default
    assert not [r for r in caplog.records if r.name == "numbaot.pot"]


def test_verbose_lines_reach_stdout_where_logging_is_not_configured(monkeypatch, capsys):
    """As POT prints them, with no handler added to any logger; a level above INFO on the logger silences them."""
    logger = logging.getLogger("numbaot.pot")
    monkeypatch.setattr(logger, "propagate", False)  # no handler on the way to the root (pytest adds its own there)
    assert not logger.hasHandlers()
    a, b, M = _problem()
    ot.sinkhorn(a, b, M, 1.0, verbose=True)
    assert re.fullmatch(r"sinkhorn: optimal after \d+ iterations, value [\d.]+\n", capsys.readouterr().out)
    assert not logger.handlers
    monkeypatch.setattr(logging.getLogger("numbaot"), "level", logging.ERROR)  # a level on a parent counts too
    ot.sinkhorn(a, b, M, 1.0, verbose=True)
    assert capsys.readouterr().out == ""
    monkeypatch.setattr(logger, "level", logging.WARNING)
    ot.sinkhorn(a, b, M, 1.0, verbose=True)
    assert capsys.readouterr().out == ""


def test_toc_returns_the_elapsed_time_and_logs_its_message(caplog):
    ot.tic()
    time.sleep(0.01)
    with caplog.at_level(logging.INFO, logger="numbaot.pot"):
        t = ot.toc("took {:.3f}")
    assert 0.01 <= t < 60 and ot.toq() >= t
    assert [r.getMessage() for r in caplog.records if r.name == "numbaot.pot"] == [f"took {t:.3f}"]


def test_smooth_wrappers_run_numbaots_smooth_solvers():
    a, b, M = _problem()
    for pot_fn, native in ((ot.smooth.smooth_ot_dual, numbaot.smooth_ot_dual),
                           (ot.smooth.smooth_ot_semi_dual, numbaot.smooth_ot_semi_dual)):
        G = pot_fn(a, b, M, 0.5, reg_type="l2", stopThr=1e-10)
        assert np.allclose(G, native(a, b, M, 0.5, reg_type="l2", tol=1e-10))
        assert np.allclose(G.sum(axis=0), b, atol=1e-6) and np.allclose(G.sum(axis=1), a, atol=1e-6)
    G, log = ot.smooth.smooth_ot_dual([], [], M, 0.5, reg_type="kl", log=True)
    assert np.allclose(G.sum(axis=1), 1 / M.shape[0], atol=1e-6) and isinstance(log, dict)


@pytest.mark.parametrize("metric", ["sqeuclidean", "euclidean", "cityblock", "cosine", "chebyshev", "canberra",
                                    "braycurtis", "correlation", "jensenshannon", "seuclidean"])
def test_dist_has_scipys_metrics(metric):
    from scipy.spatial.distance import cdist

    rng = np.random.default_rng(1)
    x, y = rng.random((4, 3)), rng.random((5, 3))
    assert np.allclose(ot.dist(x, y, metric=metric), cdist(x, y, metric=metric))


def test_dist_weights_and_bad_metric():
    from scipy.spatial.distance import cdist

    rng = np.random.default_rng(2)
    x, y, w = rng.random((4, 3)), rng.random((5, 3)), rng.random(3)
    assert np.allclose(ot.dist(x, y, "minkowski", p=3, w=w), cdist(x, y, "minkowski", p=3, w=w))
    with pytest.raises(ValueError, match="metric"):
        ot.dist(x, y, metric="fakeone")


def test_utils():
    from numbaot.pot import utils

    v = np.array([[0.5, 2.0], [0.2, -1.0], [0.9, 0.0]])
    P = utils.proj_simplex(v)
    assert np.allclose(P.sum(axis=0), 1) and (P >= 0).all()
    # the projection is the closest point of the simplex: no random point of it is closer
    rng = np.random.default_rng(0)
    for _ in range(50):
        q = rng.dirichlet(np.ones(3))
        assert np.linalg.norm(q - v[:, 0]) >= np.linalg.norm(P[:, 0] - v[:, 0]) - 1e-12
    C = np.array([[1.0, 3.0], [2.0, 6.0]])
    assert np.isclose(utils.cost_normalization(C, "median").max(), 6 / 2.5)
    with pytest.raises(ValueError):
        utils.cost_normalization(C, "error")
    assert np.allclose(utils.laplacian(np.ones((2, 2))), [[1, -1], [-1, 1]])
    assert np.allclose(utils.dots(np.eye(2), C, np.eye(2)), C)
    assert list(utils.label_normalization(np.array([3, 4, 5]))) == [0, 1, 2]
    assert utils.unif(3).sum() == pytest.approx(1)
    a, b = utils.list_to_array([1.0, 2.0], np.ones(2))
    assert isinstance(a, np.ndarray)
    assert np.allclose(utils.kernel(np.zeros((1, 2)), np.ones((1, 2)), sigma=1), np.exp(-1.0))


def test_families_of_other_helpers_map_with_pots_names():
    a, b, M = _problem()
    with pytest.warns(numbaot.ConvergenceWarning):  # 3 iterations: no duality-gap certificate, numbaot says so
        G = ot.unbalanced.mm_unbalanced(a, b, M, 1.0, numItermax=3)
    assert np.allclose(G, numbaot.mm_unbalanced(a, b, M, 1.0, max_iter=3, tol=1e-15, warn=False))
    G, log = ot.partial.partial_wasserstein(a, b, M, m=0.5, log=True)
    assert np.isclose(G.sum(), 0.5) and np.isclose(log["partial_w_dist"], np.sum(G * M))
    res = ot.solve(M, a, b, reg=0.5, reg_type="L2")
    assert np.isclose(res.value, np.sum(res.plan * M) + 0.5 * np.sum(res.plan ** 2))  # POT's L2 value
    with pytest.raises(ValueError, match="simplex"):
        ot.partial.partial_wasserstein_lagrange(a + 1, b, M, 1.0)


def test_gromov_and_sliced_equal_the_native_verbs():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, 2))
    C1 = numbaot.dist(x, x)
    C2 = C1[::-1, ::-1].copy()
    assert np.allclose(ot.gromov_wasserstein(C1, C2), numbaot.gromov_wasserstein(C1, C2))
    const, h1, h2 = ot.gromov.init_matrix(C1, C2, ot.unif(6), ot.unif(6))
    T = numbaot.gromov_wasserstein(C1, C2)
    assert np.isclose(ot.gromov.gwloss(const, h1, h2, T), numbaot.gromov_wasserstein2(C1, C2))
    y = rng.normal(size=(5, 2))
    val, log = ot.sliced_wasserstein_distance(x, y, n_projections=20, seed=0, log=True)
    assert log["projections"].shape == (2, 20)
    assert np.isclose(val, numbaot.sliced_wasserstein_distance(x, y, projections=log["projections"]))


def test_datasets_shapes():
    from numbaot.pot import datasets

    assert datasets.make_1D_gauss(10, 5, 2).sum() == pytest.approx(1)
    X = datasets.make_2D_samples_gauss(7, [0.0, 1.0], np.eye(2), random_state=0)
    assert X.shape == (7, 2)
    X, y = datasets.make_data_classif("gaussrot", 8, random_state=0)
    assert X.shape == (8, 2) and set(y) == {1, 2}


def test_result_maps_need_the_point_clouds():
    res = ot.solve(np.array([[0.0, 1.0], [1.0, 0.0]]))
    for name in ("a_to_b", "b_to_a"):
        with pytest.raises(ValueError, match="solve_sample"):
            getattr(res, name)
        with pytest.raises(NotImplementedError):  # POT's type for the same request
            getattr(res, name)


def test_greenkhorn_numitermax_counts_single_updates_as_pots():
    """POT's greenkhorn caps single row/column updates; numbaot's iterations are n + m of them, so the layer runs
    ceil(numItermax / (n + m)) iterations: as many updates as POT at most, rounded up to a whole sweep."""
    from numbaot.pot.bregman import _iterations

    assert _iterations("greenkhorn", 10000, 60, 40) == 100
    assert _iterations("greenkhorn", 10001, 60, 40) == 101
    assert _iterations("greenkhorn", 3, 60, 40) == 1
    assert _iterations("greenkhorn", 1e4, 60, 40) == 100  # POT's float caps
    assert _iterations("sinkhorn", 1000, 60, 40) == 1000
    rng = np.random.default_rng(13)
    M = numbaot.dist(rng.random((60, 2)), rng.random((40, 2)))
    a, b = np.full(60, 1 / 60), np.full(40, 1 / 40)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # converges within POT's default 10000 updates here
        P = ot.bregman.greenkhorn(a, b, M, 0.1)
    ref = numbaot.sinkhorn(a, b, M, 0.1, tol=1e-12)
    np.testing.assert_allclose(P, ref, atol=1e-8)
    with pytest.warns(numbaot.ConvergenceWarning, match="MAX_ITER_REACHED"):
        ot.bregman.greenkhorn(a, b, M, 0.1, numItermax=150)  # two sweeps
