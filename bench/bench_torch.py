"""Benchmark numbaot.torch's differentiable losses (value + backward) against GeomLoss and POT's torch backend.

Usage::

    python bench/bench_torch.py              # full run: n = m = 5000 points in 3D, float32, CPU
    python bench/bench_torch.py --quick      # smoke run (n = 500, few repeats)
    python bench/bench_torch.py --markdown   # tables as GitHub Markdown (for bench/RESULTS.md)

Method
------
* One process; for each case the contestants take turns (A B C A B C ...), each called once before timing (this
  compiles numbaot's cores), and the median time of value + ``backward()`` is reported with the ratio
  ``peer / numbaot`` (> 1: numbaot is faster). Inputs: float32 CPU tensors, X ~ U[0, 1]^3, Y ~ U[0, 1]^3 + 0.5.
* Sinkhorn divergence (GeomLoss's 'sinkhorn' loss, p = 2, blur = 0.05, scaling = 0.5, debias): numbaot.torch's
  ``samples_loss`` against ``geomloss.SamplesLoss(..., backend="tensorized")`` (the dense CPU backend; same
  annealing schedule and fixed step count, so the values agree). Target >= 2x. When geomloss is not installed the
  row is skipped (``pip install geomloss``; it needs torch only).
* Entropic OT (reg = 0.05 on the squared Euclidean cost, tol = 1e-5 on the marginals, at most 1000 iterations):
  numbaot.torch's ``solve_sample(x, y, reg=...)`` against POT's ``ot.solve_sample(x, y, reg=..., grad="envelope")``
  on the same tensors (POT's debiased solve_sample has no torch path; its default grad="autodiff" keeps every
  iteration's 5000 x 5000 matrices for the backward pass and does not fit in memory at this size). Target >= 3x.
* Energy distance (GeomLoss's 'energy' kernel norm) + backward: numbaot.torch's ``samples_loss(..., loss="energy")``
  (value online in O(n), gradient by blocks of rows) against ``geomloss.SamplesLoss("energy",
  backend="tensorized")`` (dense n x n kernels; its values differ by its 1e-4 clamp of the self-distances).
* Wrapper overhead at n = 2000: ``numbaot.torch.samples_loss`` (value + backward) against the bare numpy call it
  wraps, ``numbaot.autodiff.samples_loss`` plus its pullback on the points (same work, no tensors), for the
  Sinkhorn loss and the energy loss; and ``numbaot.torch.barycenter`` (two inputs on n / 2 = 1000 grid points,
  value + implicit backward in A) against ``numbaot.autodiff.barycenter`` and its vector-Jacobian product.
  Target < 5%. A 2-core machine's noise (a few % between two calls) is the size of the effect, so these rows are
  *paired*: each round times both calls back to back, in alternating order (wrapped first, then bare first), and
  the row reports the median over the rounds of the ratio wrapped / bare (wall time; the CPU-time ratio, all
  threads of the process, in the notes, which a busy machine disturbs less). The wrapper's own cost is also
  measured directly where the solve is negligible (n = 20, the same pairing): it bounds the overhead at any size.
"""
from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Contestant, fmt_time, format_table, machine_line, race, rel_diff  # noqa: E402

BLUR, SCALING, REG, TOL = 0.05, 0.5, 0.05, 1e-5
FULL = {"n": 5000, "repeats": 5, "overhead_n": 2000, "overhead_repeats": 21, "barycenter_repeats": 9,
        "tiny_repeats": 301}
QUICK = {"n": 500, "repeats": 2, "overhead_n": 300, "overhead_repeats": 3, "barycenter_repeats": 3,
         "tiny_repeats": 21}
HEADERS = ["case", "n", "numbaot ms", "peer", "peer ms", "peer/numbaot", "rel diff"]


def clouds(n, seed=0):
    import torch

    gen = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, generator=gen), torch.rand(n, 3, generator=gen) + 0.5


def value_and_backward(loss_fn, x, y):
    """A zero-argument call: a fresh leaf, the loss, its backward; returns (value, gradient) as numpy."""
    def call():
        leaf = x.detach().clone().requires_grad_(True)
        value = loss_fn(leaf, y)
        value.backward()
        return float(value.detach()), leaf.grad.numpy()

    return call


def bench_divergence(n, repeats):
    import numbaot.torch as nt

    try:
        import geomloss
    except ImportError:
        print("  geomloss not installed: divergence row skipped", file=sys.stderr)
        return []
    x, y = clouds(n)
    ours = Contestant("numbaot", value_and_backward(
        lambda x, y: nt.samples_loss(x, y, blur=BLUR, scaling=SCALING), x, y))
    loss = geomloss.SamplesLoss("sinkhorn", p=2, blur=BLUR, scaling=SCALING, backend="tensorized")
    peer = Contestant("GeomLoss tensorized", value_and_backward(loss, x, y))
    race([ours, peer], repeats)
    diff = max(rel_diff(ours.value[0], peer.value[0]), 0.0)
    gdiff = float(np.abs(ours.value[1] - peer.value[1]).max() / np.abs(peer.value[1]).max())
    ratio = peer.median / ours.median
    print(f"  done divergence n={n} (gradient rel diff {gdiff:.1e})", file=sys.stderr, flush=True)
    return [["Sinkhorn divergence + backward", n, fmt_time(ours.median), peer.name, fmt_time(peer.median),
             f"{ratio:.1f}x", f"{diff:.1e}"]], ratio


def bench_energy(n, repeats):
    import numbaot.torch as nt

    try:
        import geomloss
    except ImportError:
        print("  geomloss not installed: energy row skipped", file=sys.stderr)
        return []
    x, y = clouds(n, seed=3)
    ours = Contestant("numbaot", value_and_backward(lambda x, y: nt.samples_loss(x, y, loss="energy"), x, y))
    peer = Contestant("GeomLoss tensorized", value_and_backward(
        geomloss.SamplesLoss("energy", backend="tensorized"), x, y))
    race([ours, peer], repeats)
    diff = max(rel_diff(ours.value[0], peer.value[0]), 0.0)
    ratio = peer.median / ours.median
    print(f"  done energy n={n}", file=sys.stderr, flush=True)
    return [["energy distance + backward", n, fmt_time(ours.median), peer.name, fmt_time(peer.median),
             f"{ratio:.1f}x", f"{diff:.1e}"]], ratio


def bench_entropic(n, repeats):
    import ot

    import numbaot.torch as nt

    x, y = clouds(n, seed=1)
    ours = Contestant("numbaot", value_and_backward(
        lambda x, y: nt.solve_sample(x, y, reg=REG, tol=TOL, max_iter=1000, warn=False), x, y))
    peer = Contestant("POT torch (envelope)", value_and_backward(
        lambda x, y: ot.solve_sample(x, y, reg=REG, tol=TOL, max_iter=1000, grad="envelope").value, x, y))
    race([ours, peer], repeats)
    diff = rel_diff(ours.value[0], peer.value[0])
    ratio = peer.median / ours.median
    print(f"  done entropic n={n}", file=sys.stderr, flush=True)
    return [["entropic OT + backward", n, fmt_time(ours.median), peer.name, fmt_time(peer.median), f"{ratio:.1f}x",
             f"{diff:.1e}"]], ratio


def paired(wrapped, plain, repeats):
    """Warm both contestants, then ``repeats`` rounds that time both calls back to back, the order alternating
    (wrapped first in even rounds, bare first in odd ones: neither always runs after the other). Returns the medians
    over the rounds of ``wrapped / plain - 1`` in wall time and in CPU time (``time.process_time``: every thread of
    the process) and of ``wrapped - plain`` in wall seconds; each contestant's wall times go to its ``times``."""
    for c in (wrapped, plain):
        c.value = c.call()
    gc.collect()
    wall, cpu, diff = [], [], []
    for r in range(repeats):
        got = {}
        for c in ((wrapped, plain) if r % 2 == 0 else (plain, wrapped)):
            w0, c0 = time.perf_counter(), time.process_time()
            c.call()
            got[id(c)] = (time.perf_counter() - w0, time.process_time() - c0)
            c.times.append(got[id(c)][0])
        (ww, wc), (pw, pc) = got[id(wrapped)], got[id(plain)]
        wall.append(ww / pw)
        cpu.append(wc / pc if pc > 0 else 1.0)
        diff.append(ww - pw)
    return statistics.median(wall) - 1.0, statistics.median(cpu) - 1.0, statistics.median(diff)


def bench_overhead(n, repeats, bar_repeats, tiny_repeats):
    import torch

    import numbaot.torch as nt
    from numbaot import autodiff

    rows, worst, notes = [], -1.0, []

    def samples_pair(n, seed, loss, kw):
        x, y = clouds(n, seed=seed)
        X, Y = x.numpy(), y.numpy()

        def bare():
            value, pullback = autodiff.samples_loss(X, Y, loss=loss, **kw)
            return value, pullback(["X_a"])["X_a"]

        return (Contestant("numbaot.torch", value_and_backward(
            lambda x, y: nt.samples_loss(x, y, loss=loss, **kw), x, y)), Contestant("bare numpy", bare))

    for loss, kw in (("sinkhorn", dict(blur=BLUR, scaling=SCALING)), ("energy", {})):
        wrapped, plain = samples_pair(n, 2, loss, kw)
        overhead, cpu_overhead, _ = paired(wrapped, plain, repeats)
        worst = max(worst, overhead)
        rows.append([f"wrapper overhead ({loss} + grad)", n, fmt_time(wrapped.median), plain.name,
                     fmt_time(plain.median), f"{overhead * 100:+.1f}%",
                     f"{rel_diff(wrapped.value[0], plain.value[0]):.1e}"])
        notes.append(f"wrapper overhead ({loss} + grad, n={n}): {overhead * 100:+.1f}% wall, {cpu_overhead * 100:+.1f}%"
                     f" CPU (median of {repeats} paired rounds)")
        # the wrapper's own cost: the same pair where the solve takes well under a millisecond
        wrapped, plain = samples_pair(20, 2, loss, kw)
        _, _, cost = paired(wrapped, plain, tiny_repeats)
        notes.append(f"wrapper's own cost ({loss} + grad, n=20): {cost * 1e6:+.0f} us per call against "
                     f"{plain.median * 1e6:.0f} us for the bare call ({tiny_repeats} paired rounds)")
    # the barycenter: two inputs on a grid of n / 2 points, value + implicit backward in A
    m = n // 2
    s = np.linspace(0.0, 1.0, m)
    M = (s[:, None] - s[None, :]) ** 2
    A = np.stack([np.exp(-(s - 0.3) ** 2 / 0.01), np.exp(-(s - 0.7) ** 2 / 0.02)], axis=1)
    A /= A.sum(axis=0)
    x_bar = np.random.default_rng(0).normal(size=m)

    def bare_bar():
        bar, vjp = autodiff.barycenter(A, M, 0.01, tol=1e-9)
        return float(bar @ x_bar), vjp(["A"], x_bar)["A"]

    def wrapped_bar():
        leaf = torch.from_numpy(A.copy()).requires_grad_(True)
        value = nt.barycenter(leaf, torch.from_numpy(M), 0.01, tol=1e-9) @ torch.from_numpy(x_bar)
        value.backward()
        return float(value.detach()), leaf.grad.numpy()

    wrapped, plain = Contestant("numbaot.torch", wrapped_bar), Contestant("bare numpy", bare_bar)
    overhead, cpu_overhead, _ = paired(wrapped, plain, bar_repeats)
    worst = max(worst, overhead)
    rows.append(["wrapper overhead (barycenter + grad)", m, fmt_time(wrapped.median), plain.name,
                 fmt_time(plain.median), f"{overhead * 100:+.1f}%",
                 f"{rel_diff(wrapped.value[0], plain.value[0]):.1e}"])
    notes.append(f"wrapper overhead (barycenter + grad, m={m}): {overhead * 100:+.1f}% wall, {cpu_overhead * 100:+.1f}%"
                 f" CPU (median of {bar_repeats} paired rounds)")
    print(f"  done overhead n={n}", file=sys.stderr, flush=True)
    return rows, worst, notes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    args = parser.parse_args(argv)
    config = QUICK if args.quick else FULL
    md = args.markdown
    started = time.perf_counter()
    import torch

    print(("Machine: " if not md else "**Machine:** ") + machine_line() + f"; torch {torch.__version__} "
          f"({torch.get_num_threads()} threads)")
    rows, notes = [], []
    got = bench_divergence(config["n"], config["repeats"])
    if got:
        rows += got[0]
        met = "met" if got[1] >= 2 else "NOT met"
        notes.append(f"divergence: {got[1]:.1f}x GeomLoss tensorized ({met}, target 2x)")
    got = bench_energy(config["n"], config["repeats"])
    if got:
        rows += got[0]
        notes.append(f"energy: {got[1]:.1f}x GeomLoss tensorized (no target)")
    got = bench_entropic(config["n"], config["repeats"])
    rows += got[0]
    notes.append(f"entropic: {got[1]:.1f}x POT torch ({'met' if got[1] >= 3 else 'NOT met'}, target 3x)")
    got = bench_overhead(config["overhead_n"], config["overhead_repeats"], config["barycenter_repeats"],
                         config["tiny_repeats"])
    rows += got[0]
    notes += got[2]
    notes.append(f"wrapper overhead (worst row): {got[1] * 100:+.1f}% ({'met' if got[1] < 0.05 else 'NOT met'}, "
                 "target < 5%)")
    print("\n### numbaot.torch, float32 CPU tensors in 3D, value + backward (median ms)\n" if md else
          "\n== numbaot.torch, float32 CPU tensors in 3D, value + backward (median ms) ==")
    print(format_table(HEADERS, [[str(c) for c in r] for r in rows], md))
    print()
    for note in notes:
        print(note)
    print(f"(total benchmark time {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
