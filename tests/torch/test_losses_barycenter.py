"""numbaot.torch: GeomLoss's kernel and Hausdorff losses (against GeomLoss, a converged reference, closed forms)
and the barycenter's implicit gradient (gradcheck, finite differences)."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import numbaot  # noqa: E402
import numbaot.torch as nt  # noqa: E402

#: GeomLoss's tensorized distances are sqrt(max(|x - y|^2, 1e-8)): its self-distances are 1e-4, not 0
CLAMP = 1e-4


def _t(x, grad=True):
    return torch.tensor(np.asarray(x), dtype=torch.float64, requires_grad=grad)


@pytest.fixture
def clouds():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(6, 2)), rng.normal(size=(5, 2)) + 0.3
    a, b = rng.random(6) + 0.5, rng.random(5) + 0.5
    return X, Y, a / a.sum(), b / b.sum()


def _diagonal_shift(loss, blur, a):
    """GeomLoss's self-kernel value minus ours, k(1e-4) - k(0) per unit weight (its laplacian kernel clamps the
    distance between x / blur and y / blur; its gaussian kernel needs no clamp)."""
    return {"energy": -CLAMP, "laplacian": np.expm1(-CLAMP), "gaussian": 0.0}[loss] * np.asarray(a)


@pytest.mark.parametrize("loss", ["energy", "gaussian", "laplacian"])
def test_kernel_losses_agree_with_geomloss(clouds, loss):
    geomloss = pytest.importorskip("geomloss")
    X, Y, a, b = clouds
    blur = 0.7
    ours = [_t(v) for v in (a, X, b, Y)]
    theirs = [_t(v) for v in (a, X, b, Y)]
    value = nt.SamplesLoss(loss, blur=blur)(*ours)
    value.backward()
    ref = geomloss.SamplesLoss(loss, blur=blur, backend="tensorized")(*theirs)
    ref.backward()
    shift = 0.5 * (_diagonal_shift(loss, blur, a) @ a + _diagonal_shift(loss, blur, b) @ b)
    assert np.isclose(value.item(), ref.item() - shift, rtol=1e-12, atol=0)
    for mine, other in zip(ours[1::2], theirs[1::2]):  # positions: GeomLoss's clamp has zero gradient, as ours
        assert np.allclose(mine.grad.numpy(), other.grad.numpy(), rtol=1e-10, atol=1e-14)
    for mine, other, w in zip(ours[::2], theirs[::2], (a, b)):
        assert np.allclose(mine.grad.numpy(), other.grad.numpy() - _diagonal_shift(loss, blur, w), atol=1e-13)


def test_kernel_losses_gradcheck_batched_and_planted():
    rng = np.random.default_rng(1)
    X, Y = _t(rng.normal(size=(2, 4, 2))), _t(rng.normal(size=(2, 3, 2)))
    a, b = _t(rng.random((2, 4)) + 0.5), _t(rng.random((2, 3)) + 0.5)  # any weights: the norm is a polynomial
    for loss in ("energy", "gaussian", "laplacian"):
        fn = nt.SamplesLoss(loss, blur=0.8)
        assert torch.autograd.gradcheck(lambda *args: fn(*args), (a, X, b, Y), eps=1e-6, atol=1e-7, rtol=1e-5)
        assert fn(a, X, a, X).abs().max().item() < 1e-12  # a cloud against itself
    # energy distance between two Diracs: 0.5 k(0) + 0.5 k(0) - k(x, y) = |x - y|, gradient (x - y) / |x - y|
    x, y = _t([[0.5, -1.0, 2.0]]), _t([[1.5, 1.0, 0.0]], grad=False)
    loss = nt.samples_loss(x, y, loss="energy")
    loss.backward()
    d = (x - y).detach().numpy()
    assert np.isclose(loss.item(), np.linalg.norm(d)) and np.allclose(x.grad.numpy(), d / np.linalg.norm(d))
    x32 = x.detach().float().requires_grad_(True)
    loss32 = nt.samples_loss(x32, y.float(), loss="energy")
    loss32.backward()
    assert loss32.dtype == torch.float32 and x32.grad.dtype == torch.float32
    assert np.allclose(x32.grad.numpy(), x.grad.numpy(), atol=1e-6)


def _hausdorff_reference(x, y, a, b, blur, n_steps=200):
    """The converged Hausdorff divergence for the cost |x - y|^2 / 2 (GeomLoss's p = 2), differentiated by torch
    through the averaged self-iterations (unrolled far past convergence: the implicit gradient)."""
    eps = blur**2

    def cost(u, v):
        return ((u[:, None, :] - v[None, :, :]) ** 2).sum(-1) / 2

    def softmin(C, w, f):
        return -eps * torch.logsumexp(torch.log(w)[None, :] + (f[None, :] - C) / eps, dim=1)

    def self_potential(u, w):
        f = torch.zeros_like(w)
        for _ in range(n_steps):
            f = 0.5 * (f + softmin(cost(u, u), w, f))
        return f

    f_aa, g_bb = self_potential(x, a), self_potential(y, b)
    f_ba, g_ab = softmin(cost(x, y), b, g_bb), softmin(cost(y, x), a, f_aa)
    return 0.5 * ((a * (f_ba - f_aa)).sum() + (b * (g_ab - g_bb)).sum())


def test_hausdorff_value_and_gradients_against_converged_reference(clouds):
    X, Y, a, b = clouds
    ours, ref = [_t(v) for v in (a, X, b, Y)], [_t(v) for v in (a, X, b, Y)]
    value = nt.SamplesLoss("hausdorff", blur=0.7, scaling=0.99)(*ours)  # a slow schedule: nearly converged
    value.backward()
    expected = _hausdorff_reference(ref[1], ref[3], ref[0], ref[2], 0.7)
    expected.backward()
    assert np.isclose(value.item(), expected.item(), rtol=5e-5)  # the schedule stops about 1e-5 short
    for mine, other in zip(ours[1::2], ref[1::2]):
        assert np.allclose(mine.grad.numpy(), other.grad.numpy(), atol=1e-10)
    for mine, other in zip(ours[::2], ref[::2]):  # weights: centred (equal masses are required)
        g = other.grad.numpy()
        assert np.allclose(mine.grad.numpy(), g - g.mean(), atol=1e-10)
    x = _t(X)
    assert abs(nt.samples_loss(x, x.detach(), loss="hausdorff", blur=0.5).item()) < 1e-12


def test_hausdorff_p1_gradients_match_float64_finite_differences_of_the_converged_value(clouds):
    """p = 1 (cost |x - y|): the pullback against central differences of its own converged value."""
    from numbaot import autodiff

    X, Y, a, b = clouds
    _, pullback = autodiff.hausdorff_loss(X, Y, a, b, p=1, blur=0.7, diameter=3.0)
    g = pullback(["X_a"])["X_a"]
    ref = _t(X)
    value_and_grad = nt.samples_loss(ref, _t(Y, grad=False), _t(a, grad=False), _t(b, grad=False),
                                     loss="hausdorff", p=1, blur=0.7, diameter=3.0)
    value_and_grad.backward()
    assert np.allclose(ref.grad.numpy(), g)
    h, fd = 1e-6, np.zeros_like(X)
    eps = 0.7
    for idx in np.ndindex(X.shape):
        Xp, Xm = X.copy(), X.copy()
        Xp[idx] += h
        Xm[idx] -= h
        fd[idx] = (_converged_p1(Xp, Y, a, b, eps) - _converged_p1(Xm, Y, a, b, eps)) / (2 * h)
    assert np.allclose(g, fd, atol=1e-7)


def _converged_p1(X, Y, a, b, eps, tol=1e-14):
    """The converged p = 1 Hausdorff divergence in plain numpy: each self-potential by averaged softmin updates to
    a fixed point, the cross potentials by one softmin of the other measure's."""
    def C(u, v):
        return np.sqrt(((u[:, None] - v[None]) ** 2).sum(-1))

    def softmin(C, w, f):
        Z = np.log(w)[None, :] + (f[None, :] - C) / eps
        top = Z.max(axis=1, keepdims=True)
        return -eps * (top[:, 0] + np.log(np.exp(Z - top).sum(axis=1)))

    def self_potential(u, w):
        f = np.zeros(len(w))
        for _ in range(100000):
            new = 0.5 * (f + softmin(C(u, u), w, f))
            if np.abs(new - f).max() <= tol:
                return new
            f = new
        raise AssertionError("reference self-potential did not converge")

    f_aa, g_bb = self_potential(X, a), self_potential(Y, b)
    f_ba, g_ab = softmin(C(X, Y), b, g_bb), softmin(C(Y, X), a, f_aa)
    return 0.5 * (a @ (f_ba - f_aa) + b @ (g_ab - g_bb))


@pytest.mark.parametrize("p", [1, 2])
def test_hausdorff_value_and_pullback_agree_at_the_default_scaling(clouds, p):
    """The returned value is the function the pullback differentiates (the default scaling=0.5 anneals coarsely:
    the annealed estimate's derivative is off by ~10%; ours is the converged divergence's)."""
    from numbaot import autodiff

    X, Y, a, b = clouds
    value, pullback = autodiff.hausdorff_loss(X, Y, a, b, p=p, blur=0.3)
    g = pullback(["X_a", "X_b", "a", "b"])
    rng = np.random.default_rng(p)
    h = 1e-6
    for name, arr in (("X_a", X), ("X_b", Y), ("a", a), ("b", b)):
        D = rng.normal(size=arr.shape)
        if name in ("a", "b"):
            D -= D.mean()  # weights: mass-preserving directions
        args = dict(X_a=X, X_b=Y, a=a, b=b)
        plus = autodiff.hausdorff_loss(**{**args, name: arr + h * D}, p=p, blur=0.3)[0]
        minus = autodiff.hausdorff_loss(**{**args, name: arr - h * D}, p=p, blur=0.3)[0]
        assert np.isclose((plus - minus) / (2 * h), (g[name] * D).sum(), rtol=1e-6, atol=1e-9), name
    annealed = numbaot.samples_loss(X, Y, a, b, loss="hausdorff", p=p, blur=0.3)
    assert abs(value - annealed) < 0.05 * abs(value)  # the annealing error, nothing more
    if p == 1:  # the plain-numpy reference (fixed points to 1e-14)
        assert np.isclose(value, _converged_p1(X, Y, a, b, 0.3), rtol=1e-10)


def test_gradient_solvers_warn_when_they_do_not_converge(clouds, monkeypatch):
    """The implicit systems (conjugate gradients) and the Hausdorff self fixed point warn when they stop short."""
    import scipy.sparse.linalg as spla

    from numbaot import autodiff

    X, Y, a, b = clouds
    with pytest.warns(numbaot.ConvergenceWarning, match="self-potential"):
        autodiff._self_fixed_point(np.zeros((3, 3)) + np.eye(3), np.log(np.full(3, 1 / 3)), 0.01, max_iter=1)
    cg = spla.cg
    monkeypatch.setattr(spla, "cg", lambda *args, **kw: cg(*args, **{**kw, "maxiter": 1}))
    M = ((X[:, None] - Y[None]) ** 2).sum(-1)
    _, pullback = autodiff.sinkhorn2(a, b, M, 0.5)
    with pytest.warns(numbaot.ConvergenceWarning, match="sinkhorn2's gradient.*conjugate gradients"):
        assert np.isfinite(pullback(["M"])["M"]).all()
    _, pullback = autodiff.hausdorff_loss(X, Y, a, b, blur=0.3)
    with pytest.warns(numbaot.ConvergenceWarning, match="Hausdorff loss's gradient.*conjugate gradients"):
        pullback(["X_a"])


def test_hausdorff_limits_and_errors():
    x = torch.tensor([[0.0, 0.0], [1.0, 0.0]], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([[0.0, 3.0], [1.0, 3.0]], dtype=torch.float64)
    loss = nt.samples_loss(x, y, loss="hausdorff", blur=0.01)  # small blur: nearest neighbours, (9/2 + 9/2) / 2
    loss.backward()
    assert np.isclose(loss.item(), 4.5, rtol=1e-6)
    assert np.allclose(x.grad.numpy(), [[0.0, -1.5], [0.0, -1.5]], atol=1e-6)  # (a_i + b_i) (x_i - y_i) / 2
    with torch.no_grad():
        assert np.isfinite(nt.samples_loss(x, y, loss="hausdorff", reach=1.0).item())


@pytest.mark.parametrize("p, reach", [(1, 0.5), (2, 0.5), (2, 3.0)])
def test_hausdorff_with_reach_value_and_pullback_agree(clouds, p, reach):
    """Unbalanced (KL penalties, ``reach``): the pullback is the derivative of the returned value (the converged
    damped self fixed points) in every argument, masses unequal and one weight zero (a one-sided difference
    there), and the value is the annealed one's up to the annealing error."""
    from numbaot import autodiff

    X, Y, a, b = clouds
    a, b = a.copy(), 1.3 * b
    a[2] = 0.0
    value, pullback = autodiff.hausdorff_loss(X, Y, a, b, p=p, blur=0.4, reach=reach)
    g = pullback(["X_a", "X_b", "a", "b"])
    rng = np.random.default_rng(p)
    args = dict(X_a=X, X_b=Y, a=a, b=b)

    def at(**kw):
        return autodiff.hausdorff_loss(**{**args, **kw}, p=p, blur=0.4, reach=reach)[0]

    h = 1e-6
    for name, arr in args.items():
        D = rng.normal(size=arr.shape)
        if name == "a":
            D[2] = 0.0
        fd = (at(**{name: arr + h * D}) - at(**{name: arr - h * D})) / (2 * h)
        assert np.isclose(fd, (g[name] * D).sum(), rtol=1e-6, atol=1e-9), name
    e = np.zeros_like(a)
    e[2] = 1.0
    assert np.isclose((at(a=a + 1e-7 * e) - value) / 1e-7, g["a"][2], rtol=1e-5, atol=1e-8)
    annealed = numbaot.samples_loss(X, Y, a, b, loss="hausdorff", p=p, blur=0.4, reach=reach)
    assert abs(value - annealed) < 0.02 * abs(value)


def test_hausdorff_with_reach_gradcheck_and_balanced_limit(clouds):
    X, Y, a, b = clouds
    args = (_t(X), _t(Y), _t(a), _t(1.2 * b))
    assert torch.autograd.gradcheck(lambda *t: nt.samples_loss(*t, loss="hausdorff", blur=0.5, reach=1.0), args,
                                    eps=1e-6, atol=1e-6)
    # reach -> inf: the balanced divergence and its gradient in the points (equal masses), up to O(eps / rho)
    x, y = _t(X), _t(Y)
    nt.samples_loss(x, y, _t(a, grad=False), _t(b, grad=False), loss="hausdorff", blur=0.5, reach=1e4).backward()
    x0 = _t(X)
    balanced = nt.samples_loss(x0, _t(Y, grad=False), _t(a, grad=False), _t(b, grad=False), loss="hausdorff",
                               blur=0.5)
    balanced.backward()
    assert np.allclose(x.grad.numpy(), x0.grad.numpy(), rtol=0, atol=1e-5)


# ------------------------------------------------------------------------------------------------- barycenters


def _barycenter_problem():
    rng = np.random.default_rng(2)
    s = np.linspace(0.0, 1.0, 5)
    M = (s[:, None] - s[None, :]) ** 2
    return rng.random((5, 2)) + 0.2, M


def test_barycenter_gradcheck_in_histograms_and_cost():
    theta, M = _barycenter_problem()
    kw = dict(reg=0.1, tol=1e-13, max_iter=100000)
    x_bar = torch.tensor(np.random.default_rng(3).normal(size=5))

    def fn(theta, M):  # columns of equal mass at every probe
        return nt.barycenter(theta / theta.sum(dim=0), M, **kw) @ x_bar

    assert torch.autograd.gradcheck(fn, (_t(theta), _t(M)), eps=1e-6, atol=1e-6, rtol=1e-4)
    A = _t(theta / theta.sum(axis=0))
    bar = nt.barycenter(A, _t(M, grad=False), **kw)
    assert np.allclose(bar.detach().numpy(), numbaot.barycenter(A.detach().numpy(), M, **kw))
    bar.sum().backward()  # the mass of the barycenter is the inputs': 1/K of it from each input
    assert np.allclose(A.grad.numpy(), 0.5)


def test_barycenter_gradient_at_zero_entries_is_one_sided_derivative():
    theta, M = _barycenter_problem()
    A = theta / theta.sum(axis=0)
    A[1, 0] = 0.0
    A[:, 0] /= A[:, 0].sum()
    kw = dict(reg=0.1, tol=1e-13, max_iter=100000)
    tA = _t(A)
    (nt.barycenter(tA, _t(M, grad=False), **kw) ** 2).sum().backward()
    e = np.zeros_like(A)
    e[1, 0], e[3, 0] = 1.0, -1.0  # mass moved into the empty entry
    h = 1e-6
    fd = ((numbaot.barycenter(A + h * e, M, **kw) ** 2).sum() - (numbaot.barycenter(A, M, **kw) ** 2).sum()) / h
    assert np.isclose((tA.grad.numpy() * e).sum(), fd, rtol=1e-4)


def test_barycenter_gradcheck_in_the_weights():
    """Weights on the simplex through a softmax (the solver wants them summing to 1): gradcheck in float64, and
    the returned gradient is orthogonal to the weights (the derivative of x(w / sum(w)))."""
    theta, M = _barycenter_problem()
    rng = np.random.default_rng(5)
    A = np.concatenate([theta, rng.random((5, 1)) + 0.2], axis=1)
    A /= A.sum(axis=0)
    kw = dict(reg=0.1, tol=1e-13, max_iter=100000)
    x_bar = torch.tensor(rng.normal(size=5))

    def fn(phi, theta):  # columns of equal mass at every probe
        return nt.barycenter(theta / theta.sum(dim=0), _t(M, grad=False), weights=torch.softmax(phi, 0), **kw) @ x_bar

    assert torch.autograd.gradcheck(fn, (_t([0.1, -0.4, 0.3]), _t(A)), eps=1e-6, atol=1e-6, rtol=1e-4)
    w = _t([0.2, 0.5, 0.3])
    (nt.barycenter(_t(A, grad=False), _t(M, grad=False), weights=w, **kw) @ x_bar).backward()
    assert abs(float(w.grad @ w.detach())) < 1e-12
    # finite differences along a direction of zero sum, plain numpy
    d, h = np.array([1.0, -2.0, 1.0]), 1e-6
    at = lambda v: numbaot.barycenter(A, M, weights=v, **kw) @ x_bar.numpy()  # noqa: E731
    fd = (at(w.detach().numpy() + h * d) - at(w.detach().numpy() - h * d)) / (2 * h)
    assert np.isclose(float(w.grad.numpy() @ d), fd, rtol=1e-5)


def test_barycenter_1d_gradcheck_and_quantile_closed_form():
    rng = np.random.default_rng(4)
    x0, x1 = _t(rng.normal(size=4)), _t(rng.normal(size=3) + 2.0)
    a_list = [rng.random(4) + 0.5, rng.random(3) + 0.5]
    w = [0.3, 0.7]
    assert torch.autograd.gradcheck(lambda x0, x1: nt.barycenter_1d([x0, x1], a_list, w)[0], (x0, x1), eps=1e-6,
                                    atol=1e-8)
    support, masses = nt.barycenter_1d([x0, x1], a_list, w)
    ref = numbaot.barycenter_1d([x0.detach().numpy(), x1.detach().numpy()], a_list, w)
    assert np.allclose(support.detach().numpy(), ref.support.ravel()) and np.allclose(masses, ref.barycenter)
    # uniform inputs of one size: the l-th smallest points averaged, so d support_l / d x_k = w_k at its rank
    u, v = _t([3.0, 1.0, 2.0]), _t([0.0, 5.0, 4.0])
    support, _ = nt.barycenter_1d([u, v], weights=w)
    (support * torch.tensor([1.0, 10.0, 100.0], dtype=torch.float64)).sum().backward()
    assert np.allclose(support.detach().numpy(), 0.3 * np.array([1, 2, 3]) + 0.7 * np.array([0, 4, 5]))
    assert np.allclose(u.grad.numpy(), 0.3 * np.array([100.0, 1.0, 10.0]))
    assert np.allclose(v.grad.numpy(), 0.7 * np.array([1.0, 100.0, 10.0]))


def test_barycenter_gradient_at_small_reg_with_disjoint_inputs():
    """reg = 0.002, disjoint supports: cells of mass 1e-30 and near-disconnected couplings (the former dense
    inverse raised LinAlgError); the gradient is finite and matches central differences along mass-preserving
    directions in A and along any direction in M."""
    from numbaot import autodiff

    x = np.linspace(0.0, 1.0, 12)
    M = (x[:, None] - x[None, :]) ** 2
    A = np.zeros((12, 2))
    A[:4, 0], A[8:, 1] = [0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1]
    reg, rng = 0.002, np.random.default_rng(3)
    x_bar = rng.normal(size=12)
    bar, vjp = autodiff.barycenter(A, M, reg, tol=1e-13)
    assert bar.min() < 1e-25  # the case: cells with (nearly) no mass
    grads = vjp(["A", "M"], x_bar)
    assert np.isfinite(grads["A"]).all() and np.isfinite(grads["M"]).all()

    def value(A_, M_):
        return autodiff.barycenter(A_, M_, reg, tol=1e-13)[0] @ x_bar

    h = 1e-7
    for _ in range(2):
        D = rng.normal(size=A.shape) * (A > 0)
        D -= (A > 0) * D.sum(axis=0) / (A > 0).sum(axis=0)  # each input keeps its support and its mass
        fd = (value(A + h * D, M) - value(A - h * D, M)) / (2 * h)
        assert np.isclose(fd, (grads["A"] * D).sum(), rtol=1e-5, atol=1e-7)
        E = rng.normal(size=M.shape)
        fd = (value(A, M + h * E) - value(A, M - h * E)) / (2 * h)
        assert np.isclose(fd, (grads["M"] * E).sum(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("opts", [dict(debias=True), dict(reg_m=0.5)], ids=["debiased", "unbalanced"])
def test_debiased_and_unbalanced_barycenter_gradcheck(opts):
    """Histograms (equal masses when balanced, free when unbalanced), cost and weights (through a softmax) at
    once, by gradcheck in float64; the value is numbaot's and the named entries are the same functions."""
    theta, M = _barycenter_problem()
    kw = dict(reg=0.1, tol=1e-13, max_iter=100000, **opts)
    x_bar = torch.tensor(np.random.default_rng(7).normal(size=5))
    balanced = "debias" in opts

    def fn(theta, M, phi):
        A = theta / theta.sum(dim=0) if balanced else theta
        return nt.barycenter(A, M, weights=torch.softmax(phi, 0), **kw) @ x_bar

    assert torch.autograd.gradcheck(fn, (_t(theta), _t(M), _t([0.3, -0.2])), eps=1e-6, atol=1e-6, rtol=1e-4)
    A = theta / theta.sum(axis=0) if balanced else theta
    named = nt.barycenter_debiased(_t(A), _t(M), 0.1, tol=1e-13, max_iter=100000) if balanced else \
        nt.barycenter_unbalanced(_t(A), _t(M), 0.1, 0.5, tol=1e-13, max_iter=100000)
    ref = numbaot.barycenter_debiased(A, M, 0.1, tol=1e-13, max_iter=100000) if balanced else \
        numbaot.barycenter_unbalanced(A, M, 0.1, 0.5, tol=1e-13, max_iter=100000)
    assert np.allclose(named.detach().numpy(), ref, rtol=1e-12, atol=0)
