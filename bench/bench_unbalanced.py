"""Unbalanced and batched entropic OT: numbaot side by side with POT, in one process.

1. Per iteration, n = m = ``--n`` (1000): ``numbaot.sinkhorn_unbalanced`` (log domain, translation invariant,
   and the scaling-domain 'sinkhorn') against POT's ``ot.sinkhorn_unbalanced`` with methods 'sinkhorn' (scaling
   domain), 'sinkhorn_stabilized' and 'sinkhorn_translation_invariant'; a fixed number of iterations (tol = 0,
   POT's stopThr = 0), runs alternated, medians; ratio = POT / numbaot (above 1: numbaot is faster).
2. To convergence (n = min(n, 500)), reg = 0.05 and 0.002 * max(M): iterations and time of numbaot's
   'sinkhorn_log', 'sinkhorn_translation_invariant' and 'sinkhorn' (tol 1e-9 on the change of the potentials /
   reg) and POT's
   'sinkhorn', 'sinkhorn_stabilized' and 'sinkhorn_translation_invariant' (stopThr 1e-9 on its relative change of
   the scalings), with the largest plan difference to a tightly converged reference and the plan's mass.
3. Batches, a fixed number of iterations: ``numbaot.solve_batch`` against a loop of ``numbaot.solve``, POT's
   ``ot.batch.solve_batch`` (method 'log_sinkhorn', reg_type 'kl') and a loop of POT's
   ``ot.sinkhorn(method='sinkhorn_log')``; and numbaot's shared core (one parallel loop over the B * n rows)
   against a variant with a prange over the B problems, each solved serially inside.

Problems: random 2D clouds in the unit square, squared Euclidean costs, float64, uniform a and b (b of mass 1.5
for the unbalanced runs), reg = 0.05 * max(M), reg_m = 1.

Usage: python bench/bench_unbalanced.py [--quick] [--markdown] [--n N] [--unbalanced-only]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # measure this checkout's numbaot
from _common import Contestant, fmt_time, format_table, machine_line, race  # noqa: E402

REG_M = 1.0


def make_problem(n: int, seed: int = 0, mass_b: float = 1.5):
    import numbaot

    rng = np.random.default_rng(seed)
    M = numbaot.dist(rng.random((n, 2)), rng.random((n, 2)))
    return np.full(n, 1.0 / n), np.full(n, mass_b / n), M


def per_iteration(n, iters, repeats, markdown):
    import ot

    import numbaot

    a, b, M = make_problem(n)
    reg = 0.05 * M.max()

    def pot(method):
        def call():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return ot.sinkhorn_unbalanced(a, b, M, reg, REG_M, method=method, numItermax=iters, stopThr=0.0)
        return call

    field = race([
        Contestant("numbaot sinkhorn_log",
                   lambda: numbaot.sinkhorn_unbalanced(a, b, M, reg, REG_M, max_iter=iters, tol=0.0, warn=False)),
        Contestant("numbaot sinkhorn_translation_invariant",
                   lambda: numbaot.sinkhorn_unbalanced(a, b, M, reg, REG_M, method="sinkhorn_translation_invariant",
                                                       max_iter=iters, tol=0.0, warn=False)),
        Contestant("numbaot sinkhorn",
                   lambda: numbaot.sinkhorn_unbalanced(a, b, M, reg, REG_M, method="sinkhorn", max_iter=iters,
                                                       tol=0.0, warn=False)),
        Contestant("POT sinkhorn", pot("sinkhorn")),
        Contestant("POT sinkhorn_stabilized", pot("sinkhorn_stabilized")),
        Contestant("POT sinkhorn_translation_invariant", pot("sinkhorn_translation_invariant")),
    ], repeats)
    ours, ours_ti, ours_scaling = field[0], field[1], field[2]
    pot_scaling, pot_stabilized, pot_ti = field[3], field[4], field[5]
    rows = []
    for mine, peer in ((ours, pot_scaling), (ours, pot_stabilized), (ours_ti, pot_ti), (ours_scaling, pot_scaling),
                       (ours_scaling, pot_stabilized)):
        diff = float(np.abs(mine.value - peer.value).max())
        rows.append([n, mine.name.replace("numbaot ", ""), peer.name, fmt_time(mine.median / iters),
                     fmt_time(peer.median / iters), f"{peer.median / mine.median:.2f}", f"{diff:.1e}"])
    headers = ["n = m", "numbaot method", "peer", "numbaot ms/iter", "peer ms/iter", "ratio", "max |plan diff|"]
    return format_table(headers, rows, markdown)


def to_convergence(n, markdown):
    import ot

    import numbaot

    a, b, M = make_problem(n, seed=1)
    rows = []
    for factor in (0.05, 0.002):
        reg = factor * M.max()
        ref = numbaot.sinkhorn_unbalanced(a, b, M, reg, REG_M, method="sinkhorn_translation_invariant",
                                          max_iter=200000, tol=1e-14, warn=False)
        for method in ("sinkhorn_log", "sinkhorn_translation_invariant", "sinkhorn"):
            numbaot.solve(M, a, b, reg=reg, unbalanced=REG_M, method=method, max_iter=2, warn=False)  # compile
            start = time.perf_counter()
            res = numbaot.solve(M, a, b, reg=reg, unbalanced=REG_M, method=method, max_iter=200000, tol=1e-9)
            elapsed = time.perf_counter() - start
            rows.append([factor, f"numbaot {method}", res.status.name, res.n_iter, fmt_time(elapsed),
                         f"{np.abs(res.plan - ref).max():.1e}", f"{float(res.plan.sum()):.6f}"])
        for method in ("sinkhorn", "sinkhorn_stabilized", "sinkhorn_translation_invariant"):
            start = time.perf_counter()
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                P, log = ot.sinkhorn_unbalanced(a, b, M, reg, REG_M, method=method, numItermax=200000,
                                                stopThr=1e-9, log=True)
            elapsed = time.perf_counter() - start
            stopped = "stopped" if log["err"] and log["err"][-1] < 1e-9 else "max_iter or numerical error"
            rows.append([factor, f"POT {method}", stopped, len(log["err"]), fmt_time(elapsed),
                         f"{np.abs(P - ref).max():.1e}", f"{float(np.sum(P)):.6f}"])
    headers = ["reg / max(M)", "solver", "status", "iterations", "time ms", "max |plan - reference|", "plan mass"]
    return format_table(headers, rows, markdown)


def _prange_over_problems():
    """The alternative batch layout: a prange over the B problems, each problem's rows updated serially."""
    import math

    from numba import prange

    from numbaot._jit import cpu_jit
    from numbaot.entropic._softmin import softmin_row

    softmin = softmin_row.cpu

    @cpu_jit(parallel=True)
    def run(C, CT, log_a, log_b, eps, f, g, iters):
        B, n, m = C.shape
        inv_eps = 1.0 / eps
        for k in prange(B):
            h_rows = np.empty(m)
            h_cols = np.empty(n)
            for _ in range(iters):
                for j in range(m):
                    h_rows[j] = g[k, j] * inv_eps + log_b[k, j]
                for i in range(n):
                    f[k, i] = -eps * softmin(C[k], i, h_rows, inv_eps)
                for i in range(n):
                    h_cols[i] = f[k, i] * inv_eps + log_a[k, i]
                for j in range(m):
                    g[k, j] = -eps * softmin(CT[k], j, h_cols, inv_eps)
        return math.nan

    return run


def batches(shapes, iters, repeats, markdown):
    import ot
    import ot.batch

    import numbaot
    from numbaot.entropic._geometry import DenseCosts
    from numbaot.entropic._loop import LoopRecord, control, log_weights, sinkhorn_loop
    from numbaot.entropic._rules import rule_for

    prange_core = _prange_over_problems()
    rows, layout_rows = [], []
    for B, n in shapes:
        rng = np.random.default_rng(2)
        X, Y = rng.random((B, n, 2)), rng.random((B, n, 2))
        M = np.stack([numbaot.dist(X[k], Y[k]) for k in range(B)])
        a = np.full((B, n), 1.0 / n)
        reg = 0.05 * float(M.max())
        field = race([
            Contestant("numbaot solve_batch",
                       lambda: numbaot.solve_batch(M, reg, a, a, max_iter=iters, tol=0.0, warn=False).plan),
            Contestant("loop of numbaot.solve",
                       lambda: np.stack([numbaot.solve(M[k], a[k], a[k], reg=reg, max_iter=iters, tol=0.0,
                                                       warn=False).plan for k in range(B)])),
            Contestant("POT ot.batch.solve_batch",
                       lambda: np.asarray(ot.batch.solve_batch(M, reg, a, a, max_iter=iters, tol=0.0,
                                                               method="log_sinkhorn", reg_type="kl").plan)),
            Contestant("loop of POT sinkhorn_log",
                       lambda: np.stack([ot.sinkhorn(a[k], a[k], M[k], reg, method="sinkhorn_log",
                                                     numItermax=iters, stopThr=0.0) for k in range(B)])),
        ], repeats)
        ours = field[0]
        for peer in field[1:]:
            rows.append([B, n, peer.name, fmt_time(ours.median), fmt_time(peer.median),
                         f"{peer.median / ours.median:.2f}", f"{np.abs(ours.value - peer.value).max():.1e}"])

        # The two parallel layouts on the same arrays, fixed iterations, no result assembly.
        CT = np.ascontiguousarray(np.transpose(M, (0, 2, 1)))
        log_a = np.log(a)
        rule = rule_for(reg, np.inf, np.inf)
        record = LoopRecord(*(np.empty(B, np.int64) for _ in range(2)), np.empty((B, iters + 1)),
                            np.empty(B, np.int64))

        def flat():
            f, g = np.zeros((B, n)), np.zeros((B, n))
            sinkhorn_loop(DenseCosts(M, CT), log_weights(a, a), rule, control(iters, 0.0, iters), f, g, record)
            return f

        def per_problem():
            f, g = np.zeros((B, n)), np.zeros((B, n))
            prange_core(M, CT, log_a, log_a, reg, f, g, iters)
            return f

        lay = race([Contestant("rows of all problems (numbaot)", flat),
                    Contestant("prange over problems", per_problem)], repeats)
        layout_rows.append([B, n, fmt_time(lay[0].median / iters), fmt_time(lay[1].median / iters),
                            f"{lay[1].median / lay[0].median:.2f}", f"{np.abs(lay[0].value - lay[1].value).max():.1e}"])
        print(f"  B={B} n={n} done", file=sys.stderr)
    headers = ["B", "n = m", "peer", f"numbaot ms ({iters} it)", "peer ms", "ratio", "max |plan diff|"]
    layout_headers = ["B", "n = m", "rows of all problems ms/iter", "prange over problems ms/iter",
                      "ratio (prange / rows)", "max |f diff|"]
    return format_table(headers, rows, markdown) + "\n\n" + format_table(layout_headers, layout_rows, markdown)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--n", type=int, default=None, help="size of the unbalanced problems (default 1000)")
    parser.add_argument("--unbalanced-only", action="store_true", help="skip the batch tables")
    args = parser.parse_args(argv)
    print(machine_line())
    n = args.n or (300 if args.quick else 1000)
    iters, repeats = (10, 3) if args.quick else (30, 5)
    print(per_iteration(n, iters, repeats, args.markdown))
    print()
    print(to_convergence(min(n, 500), args.markdown))
    print()
    if args.unbalanced_only:
        return
    shapes = [(64, 50), (3, 300)] if args.quick else [(256, 64), (64, 200), (3, 800)]
    print(batches(shapes, iters, repeats, args.markdown))


if __name__ == "__main__":
    main()
