"""numbaot.torch: gradients against finite differences (gradcheck, float64), closed forms, a gradient flow, no
copies, dtypes, bad input."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import numbaot  # noqa: E402
import numbaot.torch as nt  # noqa: E402

TIGHT = dict(tol=1e-13, max_iter=100000)  # converged solves: envelope gradients are exact at the optimum


def _t(x, grad=True):
    return torch.tensor(np.asarray(x), dtype=torch.float64, requires_grad=grad)


@pytest.fixture
def clouds():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(5, 2)), rng.normal(size=(4, 2)) + 0.5
    wa, wb = rng.random(5) + 0.5, rng.random(4) + 0.5
    return X, Y, wa, wb


def _simplex(theta):
    """Weights on the simplex from positive parameters: balanced problems need equal masses at every probe."""
    return theta / theta.sum()


def _check(fn, *inputs):
    assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-6, rtol=1e-4)


# ------------------------------------------------------------------------------------------- cost matrices


@pytest.mark.parametrize("reg, unbalanced", [(None, None), (0.5, None), (0.5, 1.0), (0.5, (0.7, 2.0))])
def test_solve_gradcheck(clouds, reg, unbalanced):
    X, Y, wa, wb = clouds
    M, ta, tb = _t(numbaot.dist(X, Y)), _t(wa), _t(wb)
    kw = {} if reg is None else TIGHT
    if unbalanced is None:
        _check(lambda M, ta, tb: nt.solve(M, _simplex(ta), _simplex(tb), reg, **kw), M, ta, tb)
    else:
        _check(lambda M, a, b: nt.solve(M, a, b, reg, unbalanced=unbalanced, **kw), M, ta, tb)


def test_emd2_and_sinkhorn2_gradcheck(clouds):
    X, Y, wa, wb = clouds
    M, ta, tb = _t(numbaot.dist(X, Y)), _t(wa), _t(wb)
    _check(lambda M, ta, tb: nt.emd2(_simplex(ta), _simplex(tb), M), M, ta, tb)
    _check(lambda M, ta, tb: nt.sinkhorn2(_simplex(ta), _simplex(tb), M, 0.5, **TIGHT), M, ta, tb)


def test_emd2_envelope_gradients_are_plan_and_centred_potentials(clouds):
    X, Y, wa, wb = clouds
    a, b = wa / wa.sum(), wb / wb.sum()
    M, ta, tb = _t(numbaot.dist(X, Y)), _t(a), _t(b)
    nt.emd2(ta, tb, M).backward()
    ref = numbaot.solve(numbaot.dist(X, Y), a, b)
    assert np.allclose(M.grad.numpy(), ref.plan, atol=1e-12)
    assert np.allclose(ta.grad.numpy(), ref.potential_a - ref.potential_a.mean(), atol=1e-10)
    assert abs(float(ta.grad.sum())) < 1e-12 and abs(float(tb.grad.sum())) < 1e-12


def test_solve_batch_gradcheck_and_plans():
    rng = np.random.default_rng(1)
    M = _t(rng.random((3, 4, 5)))
    _check(lambda M: nt.solve_batch(M, 0.5, **TIGHT), M)
    values = nt.solve_batch(M, 0.5)
    (values * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)).sum().backward()
    plans = numbaot.solve_batch(M.detach().numpy(), 0.5).plan
    assert values.shape == (3,)
    assert np.allclose(M.grad.numpy(), plans * np.array([1.0, 2.0, 3.0])[:, None, None], atol=1e-10)


# ------------------------------------------------------------------------------------------- point clouds


@pytest.mark.parametrize("kw", [
    dict(),
    dict(metric="euclidean"),
    dict(reg=0.5, **TIGHT),
    pytest.param(dict(reg=0.5, lazy=True, **TIGHT), marks=pytest.mark.slow),  # compiles the online solver
    dict(reg=0.5, debias=True, **TIGHT),
    dict(reg=0.5, debias=True, metric="euclidean", **TIGHT),
], ids=["exact", "exact-euclidean", "entropic", "lazy", "divergence", "divergence-euclidean"])
def test_solve_sample_gradcheck(clouds, kw):
    X, Y, wa, wb = clouds
    _check(lambda X, Y, ta, tb: nt.solve_sample(X, Y, _simplex(ta), _simplex(tb), **kw), _t(X), _t(Y), _t(wa),
           _t(wb))


@pytest.mark.parametrize("debias", [pytest.param(False, marks=pytest.mark.slow), True])
def test_unbalanced_solve_sample_gradcheck(clouds, debias):
    X, Y, wa, wb = clouds
    kw = dict(reg=0.5, reg_m=1.0, debias=debias, lazy=not debias, **TIGHT)
    _check(lambda X, Y, a, b: nt.solve_sample(X, Y, a, b, **kw), _t(X), _t(Y), _t(wa * 0.3), _t(wb * 0.2))


def test_wasserstein_1d_sliced_gw_soft_dtw_gradcheck(clouds):
    X, Y, wa, wb = clouds
    u, v = _t(X[:, 0]), _t(Y[:, 0])
    for p in (1.5, 2):
        _check(lambda u, v, ta, tb: nt.wasserstein_1d(u, v, _simplex(ta), _simplex(tb), p=p), u, v, _t(wa), _t(wb))
    _check(lambda X, Y, ta: nt.sliced_wasserstein_distance(X, Y, _simplex(ta), None, n_projections=4, seed=0),
           _t(X), _t(Y), _t(wa))
    C1, C2 = _t(numbaot.dist(X, X)), _t(numbaot.dist(Y, Y))
    _check(lambda C1, C2, ta, tb: nt.gromov_wasserstein2(C1, C2, _simplex(ta), _simplex(tb)), C1, C2, _t(wa),
           _t(wb))
    _check(lambda X, Y: nt.soft_dtw(X, Y, 0.5), _t(X), _t(Y))


def test_w2_between_diracs_closed_form():
    x, y = _t([[0.5, -1.0, 2.0]]), _t([[1.5, 1.0, -1.0]], grad=False)
    mass = 0.7
    loss = nt.solve(torch.cdist(x, y) ** 2, _t([mass], grad=False), _t([mass], grad=False))
    loss.backward()
    assert np.allclose(x.grad.numpy(), 2 * (x - y).detach().numpy() * mass)
    x.grad = None
    nt.solve_sample(x, y).backward()
    assert np.allclose(x.grad.numpy(), 2 * (x - y).detach().numpy())


def test_wasserstein_1d_quantile_coupling_closed_form():
    rng = np.random.default_rng(3)
    u, v = rng.normal(size=7), rng.normal(size=7) + 1.0
    p = 3.0
    tu = _t(u)
    w = nt.wasserstein_1d(tu, _t(v, grad=False), p=p)
    w.backward()
    iu, iv = np.argsort(u), np.argsort(v)
    d = u[iu] - v[iv]  # equal uniform weights: the i-th smallest goes to the i-th smallest
    assert np.isclose(w.item(), np.mean(np.abs(d) ** p))
    expected = np.empty(7)
    expected[iu] = p * np.abs(d) ** (p - 1) * np.sign(d) / 7
    assert np.allclose(tu.grad.numpy(), expected)


def test_entropic_position_gradient_is_the_barycentric_displacement(clouds):
    """d OT_eps / d x_i = 2 (r_i x_i - (P Y)_i) = 2 a_i (x_i - T(x_i)), T(x_i) = (P Y)_i / a_i (sqeuclidean)."""
    X, Y, wa, wb = clouds
    a, b = wa / wa.sum(), wb / wb.sum()
    tx = _t(X)
    nt.solve_sample(tx, _t(Y, grad=False), _t(a, grad=False), _t(b, grad=False), reg=0.5, **TIGHT).backward()
    P = numbaot.solve_sample(X, Y, a, b, reg=0.5, **TIGHT).plan
    assert np.allclose(tx.grad.numpy(), 2 * a[:, None] * (X - (P @ Y) / a[:, None]), atol=1e-9)


def test_divergence_position_gradient_closed_form(clouds):
    """S = OT(a, b) - (OT(a, a) + OT(b, b)) / 2: d S / d x_i = 2 a_i (T_aa(x_i) - T_ab(x_i)) with the barycentric
    maps of the a-b plan P and the a-a plan Q (the self problem sees x_i twice: its 1/2 cancels)."""
    X, Y, wa, wb = clouds
    a, b = wa / wa.sum(), wb / wb.sum()
    tx = _t(X)
    nt.sinkhorn_divergence(tx, _t(Y, grad=False), _t(a, grad=False), _t(b, grad=False), reg=0.5, tol=1e-13,
                           max_iter=100000).backward()
    P = numbaot.solve_sample(X, Y, a, b, reg=0.5, **TIGHT).plan
    Q = numbaot.solve_sample(X, X, a, a, reg=0.5, **TIGHT).plan
    assert np.allclose(tx.grad.numpy(), 2 * a[:, None] * ((Q @ X) / a[:, None] - (P @ Y) / a[:, None]), atol=1e-8)


def test_samples_loss_matches_converged_divergence_and_translation():
    """GeomLoss's loss runs a fixed annealing schedule; with a slow schedule its gradient nears the converged
    divergence's (halved: the cost is |x - y|^2 / 2)."""
    rng = np.random.default_rng(4)
    X, Y = rng.normal(size=(20, 2)), rng.normal(size=(15, 2))
    tx = _t(X)
    loss = nt.samples_loss(tx, _t(Y, grad=False), blur=0.5, scaling=0.95)
    loss.backward()
    ty = _t(X)
    ref = nt.sinkhorn_divergence(ty, _t(Y, grad=False), reg=2 * 0.25, tol=1e-12, max_iter=100000)
    ref.backward()
    assert loss.shape == () and np.isclose(loss.item(), ref.item() / 2, rtol=2e-3)
    assert np.allclose(tx.grad.numpy(), ty.grad.numpy() / 2, atol=5e-3)  # |grad| ~ 0.07: not yet converged


@pytest.mark.slow
def test_samples_loss_agrees_with_geomloss():
    """Values equal GeomLoss's (same schedule); GeomLoss differentiates its last extrapolation with the potentials
    from before it, we use the final ones: the gradients agree to the schedule's convergence."""
    geomloss = pytest.importorskip("geomloss")
    rng = np.random.default_rng(7)
    X, Y = rng.normal(size=(20, 2)), rng.normal(size=(15, 2))
    for kw in (dict(blur=0.5, scaling=0.9), dict(blur=0.5, scaling=0.9, reach=1.0)):
        tx, gx = _t(X), _t(X)
        ours = nt.samples_loss(tx, _t(Y, grad=False), **kw)
        ours.backward()
        theirs = geomloss.SamplesLoss("sinkhorn", backend="tensorized", **kw)(gx, _t(Y, grad=False))
        theirs.backward()
        assert np.isclose(ours.item(), theirs.item(), rtol=1e-10)
        if "reach" not in kw:  # unbalanced: both gradients are far from converged at this schedule (~20%)
            assert np.allclose(tx.grad.numpy(), gx.grad.numpy(), atol=0.05 * np.abs(gx.grad.numpy()).max())


def test_samples_loss_module_batched_and_weights():
    rng = np.random.default_rng(5)
    X = torch.tensor(rng.normal(size=(2, 6, 3)), requires_grad=True)
    Y = torch.tensor(rng.normal(size=(2, 4, 3)))
    loss = nt.SamplesLoss("sinkhorn", p=2, blur=0.1)
    values = loss(X, Y)
    assert values.shape == (2,)
    values.sum().backward()
    for k in range(2):
        xk = X[k].detach().clone().requires_grad_(True)
        nt.samples_loss(xk, Y[k], blur=0.1).backward()
        assert np.allclose(X.grad[k].numpy(), xk.grad.numpy())
    a, b = torch.full((2, 6), 1 / 6, dtype=torch.float64), torch.full((2, 4), 1 / 4, dtype=torch.float64)
    assert torch.allclose(loss(a, X, b, Y), values)
    with pytest.raises(ValueError, match="loss must be one of"):
        nt.SamplesLoss("wasserstein")
    with pytest.raises(ValueError, match="same B"):
        loss(X, Y[0])


@pytest.mark.parametrize("n, batched", [(100, False), pytest.param(500, False, marks=pytest.mark.slow),
                                        pytest.param(100, True, marks=pytest.mark.slow)],
                         ids=["100", "500", "batched"])
def test_gradient_flow_reaches_small_divergence(n, batched):
    """Feydy et al. (2019)'s gradient flow: source points moved by Adam on the Sinkhorn divergence (500 points:
    about 140 steps; batches (B, N, D) as GeomLoss takes them)."""
    gen = torch.Generator().manual_seed(0)
    shape = (2, n, 2) if batched else (n, 2)
    X = (0.3 * torch.randn(*shape, generator=gen, dtype=torch.float64)).requires_grad_(True)
    Y = torch.rand(*shape, generator=gen, dtype=torch.float64) + 1.0
    loss = nt.SamplesLoss(p=2, blur=0.05)
    opt = torch.optim.Adam([X], lr=0.02)
    for _ in range(300):
        opt.zero_grad()
        value = loss(X, Y).sum()
        value.backward()
        opt.step()
        if value.item() < 1e-3:
            break
    assert loss(X, Y).sum().item() < 1e-3


# ------------------------------------------------------------------------------------------- tensors in, out


def test_no_copy_cpu_tensors_share_memory(monkeypatch):
    from numbaot import autodiff

    seen = {}
    real = autodiff.solve_sample

    def spy(X_a, X_b, *args, **kwargs):
        seen["X_a"], seen["X_b"] = X_a, X_b
        return real(X_a, X_b, *args, **kwargs)

    monkeypatch.setattr(autodiff, "solve_sample", spy)
    x = torch.rand(10, 3, dtype=torch.float32, requires_grad=True)
    y = torch.rand(7, 3, dtype=torch.float32)
    nt.solve_sample(x, y, reg=0.1, tol=1e-5)  # the float32 test's call: one compilation for both
    assert isinstance(seen["X_a"], np.ndarray)
    assert seen["X_a"].__array_interface__["data"][0] == x.data_ptr()
    assert seen["X_b"].__array_interface__["data"][0] == y.data_ptr()


@pytest.mark.parametrize("lazy", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_float32_in_float32_out(lazy):
    rng = np.random.default_rng(6)
    x = torch.tensor(rng.random((10, 3)), dtype=torch.float32, requires_grad=True)
    y = torch.tensor(rng.random((7, 3)), dtype=torch.float32)
    value = nt.solve_sample(x, y, reg=0.1, lazy=lazy, tol=1e-5)
    assert value.dtype == torch.float32 and value.device == x.device
    value.backward()
    assert x.grad.dtype == torch.float32
    x64 = x.detach().double().requires_grad_(True)
    nt.solve_sample(x64, y.double(), reg=0.1, lazy=lazy).backward()
    assert np.allclose(x.grad.numpy(), x64.grad.numpy(), atol=1e-4)


def test_bad_input_messages():
    x = torch.rand(4, 2, dtype=torch.float64, requires_grad=True)
    y = torch.rand(3, 2, dtype=torch.float64)
    with pytest.raises(TypeError, match=r"X_b is an integer tensor.*\.double\(\)"):
        nt.solve_sample(x, torch.ones(3, 2, dtype=torch.int64))
    with pytest.raises(TypeError, match="float16"):
        nt.solve_sample(x, y.half())
    with pytest.raises(ValueError, match="reg requires grad"):
        nt.solve_sample(x, y, reg=torch.tensor(0.1, requires_grad=True))
    with pytest.raises(ValueError, match="projections requires grad"):
        nt.sliced_wasserstein_distance(x, y, projections=torch.rand(2, 3, requires_grad=True))
    with pytest.raises(ValueError, match="metric='cosine'"):
        nt.solve_sample(x, y, metric="cosine")
    with pytest.raises(ValueError, match=r"different devices \(X_a on cpu, X_b on meta\)"):
        nt.solve_sample(x, torch.empty(3, 2, dtype=torch.float64, device="meta"))
    with pytest.raises(ValueError, match="CPU and CUDA"):
        nt.emd2(None, None, torch.empty(3, 2, dtype=torch.float64, device="meta"))
    with pytest.raises(TypeError, match=r"\(x, y\) or \(a, x, b, y\)"):
        nt.SamplesLoss()(x)


def test_cuda_gradients_refused_before_running(monkeypatch):
    """The CUDA branch of the bridge: tensors that require grad on a CUDA device are refused before any solve (no
    GPU here: the bridge is asked for the CUDA device directly)."""
    from numbaot.torch import _bridge

    from numbaot._validation import UnsupportedOption

    called = []
    x = torch.rand(3, 2, dtype=torch.float64, requires_grad=True)
    with pytest.raises(UnsupportedOption, match=r"X_a is a CUDA tensor.*gradients of CUDA tensors.*X_a\.cpu\(\).*"
                                                r"torch.no_grad") as err:
        _bridge.apply(lambda *arrays: called.append(arrays), ("X_a",), (x,), device=torch.device("cuda"))
    assert isinstance(err.value, ValueError) and isinstance(err.value, NotImplementedError)  # old code catches it
    assert not called
    # through the public functions: tensors that look like CUDA tensors (no CUDA build of torch here to make one)
    monkeypatch.setattr(_bridge, "device_of", lambda **tensors: torch.device("cuda", 0))
    y = torch.rand(4, 2, dtype=torch.float64, requires_grad=True)
    with pytest.raises(UnsupportedOption, match=r"X_a is a CUDA tensor that requires grad \(so do X_b\)"):
        nt.solve_sample(x, y, reg=0.1)
    A = torch.full((3, 2), 1 / 3, dtype=torch.float64)
    M = torch.rand(3, 3, dtype=torch.float64)
    with pytest.raises(UnsupportedOption, match=r"A is on cuda:0.*CPU tensors only.*A\.cpu\(\)"):
        nt.barycenter(A, M, 0.1)
    with pytest.raises(UnsupportedOption, match="CPU tensors only"):
        nt.barycenter_1d([torch.rand(3, dtype=torch.float64)])


def test_without_torch_the_functions_say_what_to_install(monkeypatch):
    import importlib
    import sys

    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.delitem(sys.modules, "numbaot.torch.api", raising=False)
    with pytest.raises(ImportError, match=r"pip install 'numbaot\[torch\]'"):
        importlib.import_module("numbaot.torch.api")
