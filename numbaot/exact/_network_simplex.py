"""Primal network simplex for the transportation problem, on the implicit complete bipartite graph.

Nodes ``0..n-1`` are the sources (supplies ``a``), ``n..n+m-1`` the sinks (demands ``b``) and ``n+m`` an artificial
root. Real arc ``(i, j)`` goes from node ``i`` to node ``n + j`` and costs ``C[i, j]``; it is never stored. The
spanning tree is kept the way Kelly and O'Neill and LEMON keep it (parent, arc to the parent and its direction,
preorder thread and its reverse, subtree sizes and last successors), so that a pivot costs time proportional to the
cycle and the moved subtree, not to the graph.

Only tree arcs carry flow, and a tree arc is the arc from a node to its parent, so flows live on the nodes:
``flow[u]`` is the flow on the arc between ``u`` and ``parent[u]``. With no capacities, no arc state is needed
either: tree arcs have reduced cost 0 and can never enter. Memory is O(n + m) on top of the cost matrix.

The tree is strongly feasible (every zero-flow tree arc points away from the root), maintained by the leaving-arc
rule below; this prevents cycling on degenerate problems (equal costs, uniform weights, ties).

Potentials follow LEMON's sign: a tree arc ``s -> t`` satisfies ``cost + pi[s] - pi[t] = 0``, and an arc may enter
when ``cost + pi[s] - pi[t] < 0``. The OT duals are ``f_i = -pi[i]`` and ``g_j = pi[n + j]``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import prange, types
from numba.extending import overload

from .._costs import PointClouds, pair_cost
from .._jit import cpu_jit
from .._status import INFEASIBLE, MAX_ITER_REACHED, OPTIMAL

#: The most arcs the pricing hands ``_segment_argmin`` at once (see ``_block_min``): 64 beat 32 and 128 at n = 1000
#: on an Intel Xeon.
_PRICING_CHUNK = 64

UP = 1  # the arc to the parent leaves the node (node -> parent)
DOWN = -1  # the arc to the parent enters the node (parent -> node)


# pair_cost is compiled with strict IEEE arithmetic (no fastmath): pricing, pivots and potentials evaluate the
# same arc in different inlined contexts and must get bit-identical costs, or a zero reduced cost can look
# negative and the simplex can cycle.
_pair_cost = pair_cost.cpu


def arc_cost(costs, i, j):
    """Cost of arc (i, j): ``costs[i, j]`` for a matrix, or computed from the points (PointClouds)."""
    if isinstance(costs, PointClouds):
        return pair_cost.py(costs.X, i, costs.Y, j, costs.metric, costs.p, costs.norms_x[i], costs.norms_y[j])
    return costs[i, j]


@overload(arc_cost)
def _arc_cost_overload(costs, i, j):
    if isinstance(costs, types.Array):
        return lambda costs, i, j: costs[i, j]

    def from_points(costs, i, j):
        return _pair_cost(costs[0], i, costs[1], j, costs[2], costs[3], costs[4][i], costs[5][j])

    return from_points


def _segment_argmin(costs, pi_sinks, i, j0, j1, pi_i, bound):
    """``(low, j)``: the minimum of ``cost(i, j) - pi_sinks[j]`` over ``j0 <= j < j1`` and where it is, when
    ``low + pi_i < bound``; otherwise the pair may also be ``(inf, -1)`` (the dense version says only that)."""
    low = np.inf
    where = j0
    for j in range(j0, j1):
        r = arc_cost(costs, i, j) - pi_sinks[j]
        if r < low:
            low = r
            where = j
    return low, where


# Not inline="always": an inlined overload still compiles on its own first, and LLVM inlines this call anyway.
# Without Numba's runtime, as _block_min (no reference counting of the array arguments on each call).
@overload(_segment_argmin, jit_options={"_nrt": False})
def _segment_argmin_overload(costs, pi_sinks, i, j0, j1, pi_i, bound):
    if isinstance(costs, types.Array):
        def dense(costs, pi_sinks, i, j0, j1, pi_i, bound):
            # Near the optimum most segments hold no arc below the bound. Counting them vectorises (LLVM does
            # not vectorise a floating-point min-reduction): 0.3 ns per arc against 1.2 for the minimum on four
            # chains, so the minimum and its position are found in a second pass, only where there is one.
            # Loops over slices from 0, so that no index needs a negative-wraparound check (which would also
            # block vectorisation).
            row = costs[i, j0:j1]
            pis = pi_sinks[j0:j1]
            below = 0
            for k in range(row.shape[0]):
                # the caller's own test on the minimum, term by term: it counts an arc exactly when the minimum
                # (found below) passes that test too, rounding included (x <= y gives fl(x + c) <= fl(y + c))
                below += (row[k] - pis[k]) + pi_i < bound
            if below == 0:
                return np.inf, -1
            low = np.inf
            where = 0
            for k in range(row.shape[0]):
                r = row[k] - pis[k]  # the same expression as the count: a counted arc is found here
                if r < low:
                    low = r
                    where = k
            return low, j0 + where

        return dense
    return _segment_argmin


@cpu_jit(inline="always")
def _init_artificial(a, b, art_cost, parent, pred, pred_dir, flow, pi, thread, rev_thread, succ_num, last_succ):
    """The all-artificial starting tree: every node hangs from the root by an artificial arc.

    Sources send their supply up to the root and the root sends each sink its demand. ``art_cost[u]`` is the cost
    of node u's artificial arc; the sinks' costs exceed the cost of any path of real arcs (big M), so artificial
    flow leaves the basis whenever it can. The starting potentials are ``pi[i] = -art_cost[i]`` and
    ``pi[n + j] = art_cost[n + j]``: a cold start uses 0 and M; a warm start from duals ``(f, g)`` uses ``f`` and
    ``g + M``, so that pricing ranks the real arcs by ``C_ij - f_i - g_j`` from the first pivot on.
    """
    n = a.shape[0]
    m = b.shape[0]
    root = n + m
    n_arcs = n * m
    for u in range(n + m):
        parent[u] = root
        pred[u] = n_arcs + u
        thread[u] = u + 1
        rev_thread[u + 1] = u
        succ_num[u] = 1
        last_succ[u] = u
        if u < n:
            pred_dir[u] = UP
            flow[u] = a[u]
            pi[u] = -art_cost[u]
        else:
            pred_dir[u] = DOWN
            flow[u] = b[u - n]
            pi[u] = art_cost[u]
    parent[root] = -1
    pred[root] = -1
    pred_dir[root] = 0
    thread[root] = 0
    rev_thread[0] = root
    succ_num[root] = n + m + 1
    last_succ[root] = root - 1
    pi[root] = 0.0
    flow[root] = 0.0


@cpu_jit(refcount=False)
def _block_min(costs, pi, n, m, start, count, tol):
    """Most negative reduced cost among ``count`` arcs from arc ``start`` (row-major order, wrapping around).

    Returns ``(best, arc)``; ``best`` is 0 and ``arc`` -1 when no arc there has a reduced cost below ``-tol``
    times the magnitudes involved (rounding noise on a zero reduced cost must not make an arc enter).
    """
    best = 0.0
    best_arc = np.int64(-1)
    i = start // m
    j = start - i * m
    remaining = count
    pi_sinks = pi[n:n + m]
    while remaining > 0:
        # Segments of at most _PRICING_CHUNK arcs, not whole rows: _segment_argmin counts the arcs below the bound
        # (vectorised) and looks for the minimum (scalar, 4x slower per arc) only in a segment that has one; that
        # scalar pass over whole rows was half the pricing at n = 1000. Each arc found lowers the bound (best)
        # for the segments after it.
        # Conditional expressions, not min and max: Numba's builtins compile an overload for each combination of
        # argument types they meet, and even an inlined helper costs a compile step per call site.
        seg = m - j if m - j < remaining else remaining
        seg = _PRICING_CHUNK if _PRICING_CHUNK < seg else seg
        pi_i = pi[i]
        # the test below, without the scale (which is at least |pi_i|): tree arcs, whose reduced cost is 0 up to
        # rounding, must not pass it
        bound = -tol * abs(pi_i)
        bound = best if best < bound else bound
        low, where = _segment_argmin(costs, pi_sinks, i, j, j + seg, pi_i, bound)
        if low + pi_i < bound:
            reduced = low + pi_i
            scale = abs(arc_cost(costs, i, where))
            scale = abs(pi_i) if abs(pi_i) > scale else scale
            scale = abs(pi_sinks[where]) if abs(pi_sinks[where]) > scale else scale
            if reduced < -tol * scale:
                best = reduced
                best_arc = i * m + where
        remaining -= seg
        j += seg
        if j == m:
            j = 0
            i += 1
            if i == n:
                i = 0
    return best, best_arc


@cpu_jit(parallel=True)
def _block_min_parallel(C, pi, n, m, start, count, tol, n_threads, best_out, arc_out):
    """``_block_min`` split into ``n_threads`` contiguous chunks; per-thread minima reduced serially."""
    n_arcs = n * m
    chunk = (count + n_threads - 1) // n_threads
    for t in prange(n_threads):
        first = t * chunk
        size = min(chunk, count - first)
        if size > 0:
            best, arc = _block_min(C, pi, n, m, (start + first) % n_arcs, size, tol)
            best_out[t] = best
            arc_out[t] = arc
        else:
            best_out[t] = 0.0
            arc_out[t] = -1
    best = 0.0
    best_arc = np.int64(-1)
    for t in range(n_threads):
        if arc_out[t] >= 0 and best_out[t] < best:
            best = best_out[t]
            best_arc = arc_out[t]
    return best, best_arc


def pricing_threads(n_threads, block_size, parallel_min_block):
    """The ``n_threads`` to pass to :func:`solve_tree`: None (serial pricing, and no parallel kernel
    compiled) when one thread is asked for or when no pricing block can reach ``parallel_min_block`` arcs."""
    return int(n_threads) if n_threads > 1 and block_size >= parallel_min_block else None


@cpu_jit(inline="always")
def _find_join(u, v, parent, succ_num):
    """The lowest common ancestor of ``u`` and ``v``: climb from whichever has the smaller subtree."""
    while u != v:
        if succ_num[u] < succ_num[v]:
            u = parent[u]
        else:
            v = parent[v]
    return u


@cpu_jit
def solve_tree(C, a, b, art_cost, state, from_tree, limits, n_threads, work):
    """Solve ``min <P, C>`` over plans with marginals ``a`` (n,) and ``b`` (m,) of equal mass: the one compiled
    entry of the network simplex (every caller, cold or warm, dense or from points, runs this function, so that the
    pivot loop is compiled once per cost type).

    Parameters
    ----------
    C : float64 (n, m), or PointClouds
        Costs, finite or +inf (a forbidden arc never enters), or the points to compute them from.
    a, b : float64 (n,), (m,)
        Positive weights (zero weights are removed by the caller) of equal total mass.
    art_cost : float64 (n + m,)
        Costs of the artificial arcs (see :func:`_init_artificial`: cold, or warm from duals).
    state : TreeState
        The tree (:func:`new_state`). Read only when ``from_tree``; left as the final tree with its potentials.
    from_tree : bool
        Start from the tree in ``state`` (its potentials are recomputed for C): for sequences of related problems
        (a conditional gradient's oracle), where the previous optimal tree is a primal feasible start for new costs
        with the same marginals. A start from a given tree that does not reach the optimum is retried cold, with
        a pivot budget of its own. False: start from the all-artificial tree.
    limits : tuple
        ``(max_iter, block_size, tol, parallel_min_block)``: the most pivots per start (<= 0: no limit), arcs
        priced per block (block search pivot rule), the relative tolerance on negative reduced costs, and the
        smallest block priced in parallel.
    n_threads : int or None
        Threads for pricing. None: serial pricing only, and the parallel kernel is not compiled in (see
        :func:`pricing_threads`).
    work : Work
        Buffers (:func:`new_work`): the pricing's per-thread minima, and the plan read off the final tree.

    Returns
    -------
    status : int
    n_iter : int
        Pivots performed (over both starts, if retried).
    count : int
        The plan's non-zeros are ``work.rows[:count]``, ``work.cols[:count]``, ``work.values[:count]``.
    value : float
        ``sum values * cost(rows, cols)`` in that order: the plan's cost, read on its support.
    """
    max_iter, block_size, tol, parallel_min_block = limits
    best_buf, arc_buf, out_rows, out_cols, out_values = work
    parent, pred, pred_dir, flow, pi, thread, rev_thread, succ_num, last_succ, dirty = state
    n = a.shape[0]
    m = b.shape[0]
    root = n + m
    n_arcs = n * m
    next_arc = np.int64(0)
    warm = from_tree
    if warm:
        _recompute_potentials(C, n, m, art_cost, parent, pred, pred_dir, pi, thread)
    restart = not warm  # (re)start from the all-artificial tree at the top of the loop: one copy of the start
    total = 0
    n_iter = 0
    status = OPTIMAL
    while True:
        if restart:
            _init_artificial(a, b, art_cost, parent, pred, pred_dir, flow, pi, thread, rev_thread, succ_num,
                             last_succ)
            restart = False
            total += n_iter
            n_iter = 0
            next_arc = 0
        # ---- pricing: block search, first block (scanning cyclically from next_arc) with a negative arc
        in_arc = np.int64(-1)
        scanned = np.int64(0)
        while scanned < n_arcs:
            count = block_size if block_size < n_arcs - scanned else n_arcs - scanned
            # Serial or parallel pricing is chosen by the type of n_threads (None or an int) when solve_tree
            # compiles: Numba prunes the dead branch of an ``is None`` test on an argument before typing, so that
            # a serial specialisation never compiles the parallel kernel and the parfor machinery behind it
            # (seconds of a cold compile; most problems never use it, see pricing_threads).
            if n_threads is None:
                best, arc = _block_min(C, pi, n, m, next_arc, count, tol)
            elif n_threads > 1 and count >= parallel_min_block:
                best, arc = _block_min_parallel(C, pi, n, m, next_arc, count, tol, n_threads, best_buf, arc_buf)
            else:
                best, arc = _block_min(C, pi, n, m, next_arc, count, tol)
            next_arc = (next_arc + count) % n_arcs
            scanned += count
            if arc >= 0:
                in_arc = arc
                break
        if in_arc < 0 or (max_iter > 0 and n_iter >= max_iter):
            # one call site (each inlined copy is compiled anew); a pass over the n + m nodes, once per start
            flow_status = _artificial_flow_status(a, b, pred, flow, n_arcs, root)
            status = flow_status if in_arc < 0 else MAX_ITER_REACHED
            if status != OPTIMAL and warm and (status != MAX_ITER_REACHED or flow_status != OPTIMAL):
                # the given tree led to an infeasible plan: start again from the all-artificial tree (a feasible
                # plan cut short by max_iter is kept: a cold start with the same budget would end further away)
                warm = False
                restart = True
                status = OPTIMAL
                continue
            break
        n_iter += 1
        src = in_arc // m
        tgt = n + (in_arc - src * m)
        in_cost = arc_cost(C, src, tgt - n)

        # ---- the cycle closed by the entering arc, and the leaving arc (strongly feasible rule)
        join = _find_join(src, tgt, parent, succ_num)
        delta = np.inf
        u_out = -1
        side = 0
        # Flow runs join -> ... -> src: arcs pointing up (towards join) lose flow.
        u = src
        while u != join:
            if pred_dir[u] == UP and flow[u] < delta:
                delta = flow[u]
                u_out = u
                side = 1
            u = parent[u]
        # Flow runs tgt -> ... -> join: arcs pointing down lose flow; ties go to the last arc of the cycle.
        u = tgt
        while u != join:
            if pred_dir[u] == DOWN and flow[u] <= delta:
                delta = flow[u]
                u_out = u
                side = 2
            u = parent[u]
        if u_out < 0:  # no blocking arc: impossible with finite supplies; report instead of looping
            status = INFEASIBLE
            if warm:
                warm = False
                restart = True
                status = OPTIMAL
                continue
            break
        if side == 1:
            u_in = src
            v_in = tgt
        else:
            u_in = tgt
            v_in = src

        # ---- push delta around the cycle
        if delta > 0.0:
            u = src
            while u != join:
                flow[u] -= pred_dir[u] * delta
                u = parent[u]
            u = tgt
            while u != join:
                flow[u] += pred_dir[u] * delta
                u = parent[u]
            # flow[u_out] is exactly 0 now (x - x == 0 in floating point)

        # ---- re-hang the tree: the stem u_in .. u_out reverses, u_in hangs from v_in by the entering arc
        _update_tree(u_in, v_in, u_out, join, in_arc, src, delta, parent, pred, pred_dir, flow, thread,
                     rev_thread, succ_num, last_succ, dirty)

        # ---- potentials of the moved subtree
        if pred_dir[u_in] == UP:
            sigma = pi[v_in] - pi[u_in] - in_cost
        else:
            sigma = pi[v_in] - pi[u_in] + in_cost
        # the moved subtree is one stretch of the thread: walk it from both ends at once (two independent chains
        # of loads, not one: the walk is bound by the latency of each thread[u])
        first = u_in
        last = last_succ[u_in]
        left = succ_num[u_in]
        while left > 1:
            pi[first] += sigma
            pi[last] += sigma
            first = thread[first]
            last = rev_thread[last]
            left -= 2
        if left == 1:
            pi[first] += sigma
    _recompute_potentials(C, n, m, art_cost, parent, pred, pred_dir, pi, thread)
    count, value = _read_plan(C, n, m, pred, flow, out_rows, out_cols, out_values)
    return status, total + n_iter, count, value


@cpu_jit(inline="always")
def _artificial_flow_status(a, b, pred, flow, n_arcs, root):
    """OPTIMAL, or INFEASIBLE when artificial arcs still carry flow: some mass could not be moved on finite arcs.
    A residue at the level of rounding is not that: sum(a) and sum(b) agree only to a few ulps after the
    front-end's rescaling."""
    sum_a = 0.0
    for i in range(a.shape[0]):
        sum_a += a[i]
    sum_b = 0.0
    for j in range(b.shape[0]):
        sum_b += b[j]
    residue = 1e-10 * sum_a + 2.0 * abs(sum_a - sum_b)
    for u in range(root):
        if pred[u] >= n_arcs and flow[u] > residue:
            return INFEASIBLE
    return OPTIMAL


@cpu_jit(refcount=False)  # not inlined: the simplex's Numba passes then work on a smaller function
def _update_tree(u_in, v_in, u_out, join, in_arc, src, delta, parent, pred, pred_dir, flow, thread, rev_thread,
                 succ_num, last_succ, dirty):
    """Replace the leaving arc (``u_out`` to its parent) by the entering one (``u_in`` to ``v_in``).

    The nodes on the path from ``u_in`` up to ``u_out`` (the stem) swap parent and child; the thread (preorder)
    is respliced so that the moved subtree follows ``v_in``; subtree sizes and last successors are repaired on the
    two paths to ``join``.
    """
    old_rev_thread = rev_thread[u_out]
    old_succ_num = succ_num[u_out]
    old_last_succ = last_succ[u_out]
    v_out = parent[u_out]
    in_dir = UP if u_in == src else DOWN

    if u_in == u_out:
        parent[u_in] = v_in
        pred[u_in] = in_arc
        pred_dir[u_in] = in_dir
        flow[u_in] = delta
        if thread[v_in] != u_out:
            # cut the subtree of u_out out of the thread and splice it in right after v_in
            after = thread[old_last_succ]
            thread[old_rev_thread] = after
            rev_thread[after] = old_rev_thread
            after = thread[v_in]
            thread[v_in] = u_out
            rev_thread[u_out] = v_in
            thread[old_last_succ] = after
            rev_thread[after] = old_last_succ
    else:
        # where the thread continues after the moved subtree
        thread_continue = thread[old_last_succ] if old_rev_thread == v_in else thread[v_in]
        stem = u_in
        par_stem = v_in
        last = last_succ[u_in]
        after = thread[last]
        thread[v_in] = u_in
        n_dirty = 0
        dirty[n_dirty] = v_in
        n_dirty += 1
        while stem != u_out:
            next_stem = parent[stem]
            # the next stem node follows the (remaining) subtree of the current one
            thread[last] = next_stem
            dirty[n_dirty] = last
            n_dirty += 1
            # take the subtree of stem out of the thread
            before = rev_thread[stem]
            thread[before] = after
            rev_thread[after] = before
            parent[stem] = par_stem
            par_stem = stem
            stem = next_stem
            last = rev_thread[par_stem] if last_succ[stem] == last_succ[par_stem] else last_succ[stem]
            after = thread[last]
        parent[u_out] = par_stem
        thread[last] = thread_continue
        rev_thread[thread_continue] = last
        last_succ[u_out] = last
        if old_rev_thread != v_in:
            thread[old_rev_thread] = after
            rev_thread[after] = old_rev_thread
        for k in range(n_dirty):
            w = dirty[k]
            rev_thread[thread[w]] = w
        # reverse pred, pred_dir, flow, subtree sizes and last successors along the stem (u_out back to u_in)
        tmp_sc = 0
        tmp_ls = last_succ[u_out]
        u = u_out
        p = parent[u]
        while u != u_in:
            pred[u] = pred[p]
            pred_dir[u] = -pred_dir[p]
            flow[u] = flow[p]
            tmp_sc += succ_num[u] - succ_num[p]
            succ_num[u] = tmp_sc
            last_succ[p] = tmp_ls
            u = p
            p = parent[u]
        pred[u_in] = in_arc
        pred_dir[u_in] = in_dir
        flow[u_in] = delta
        succ_num[u_in] = old_succ_num

    # last successors from v_in up, then from v_out up, as far as they pointed at the old values
    up_limit_out = join if last_succ[join] == v_in else -1
    last_succ_out = last_succ[u_out]
    u = v_in
    while u != -1 and last_succ[u] == v_in:
        last_succ[u] = last_succ_out
        u = parent[u]
    if join != old_rev_thread and v_in != old_rev_thread:
        u = v_out
        while u != up_limit_out and last_succ[u] == old_last_succ:
            last_succ[u] = old_rev_thread
            u = parent[u]
    elif last_succ_out != old_last_succ:
        u = v_out
        while u != up_limit_out and last_succ[u] == old_last_succ:
            last_succ[u] = last_succ_out
            u = parent[u]
    u = v_in
    while u != join:
        succ_num[u] += old_succ_num
        u = parent[u]
    u = v_out
    while u != join:
        succ_num[u] -= old_succ_num
        u = parent[u]


class TreeState(NamedTuple):
    """The spanning tree of the network simplex: one entry per node (n sources, m sinks, the root last).

    Compiled code unpacks it in this field order; host code reads fields by name (``state.pi``)."""

    parent: np.ndarray  # int64
    pred: np.ndarray  # int64: arc id to the parent (i * m + j, or n * m + u if artificial)
    pred_dir: np.ndarray  # int64: UP or DOWN
    flow: np.ndarray  # float64: flow on the arc to the parent
    pi: np.ndarray  # float64: node potentials
    thread: np.ndarray  # int64
    rev_thread: np.ndarray  # int64
    succ_num: np.ndarray  # int64
    last_succ: np.ndarray  # int64
    dirty: np.ndarray  # int64 (size + 1): scratch for the thread repair


def new_state(n: int, m: int) -> TreeState:
    """Allocate the tree arrays for n sources and m sinks (plus the root)."""
    size = n + m + 1
    ints = [np.empty(size, dtype=np.int64) for _ in range(6)]
    return TreeState(ints[0], ints[1], ints[2], np.empty(size), np.empty(size), ints[3], ints[4], ints[5],
                     np.empty(size, dtype=np.int64), np.empty(size + 1, dtype=np.int64))


class Work(NamedTuple):
    """Buffers of :func:`solve_tree`, allocated on the host (compiled code then allocates nothing)."""

    best: np.ndarray  # float64 (n_threads,): per-thread minima of the parallel pricing (empty when serial)
    arc: np.ndarray  # int64 (n_threads,): their arcs
    rows: np.ndarray  # int64 (n + m,): the plan's non-zeros, read off the final tree
    cols: np.ndarray  # int64 (n + m,)
    values: np.ndarray  # float64 (n + m,)


def new_work(n: int, m: int, n_threads) -> Work:
    """Buffers for :func:`solve_tree` on n sources and m sinks, for ``n_threads`` as passed to it."""
    k = 0 if n_threads is None else n_threads
    return Work(np.empty(k), np.empty(k, dtype=np.int64), np.empty(n + m, dtype=np.int64),
                np.empty(n + m, dtype=np.int64), np.empty(n + m))


def readonly(C):
    """A read-only view of the costs: the form every caller hands the compiled code (a user's read-only matrix
    and a fresh one are then the same type to Numba, one compilation)."""
    view = C.view()
    view.flags.writeable = False
    return view


def solve(C, a, b, art_cost, state, from_tree, limits, n_threads):
    """:func:`solve_tree` with fresh buffers: ``(status, n_iter, (rows, cols, values), value)``."""
    work = new_work(len(a), len(b), n_threads)
    status, n_iter, count, value = solve_tree(C, a, b, art_cost, state, from_tree, limits, n_threads, work)
    return status, n_iter, (work.rows[:count], work.cols[:count], work.values[:count]), value


@cpu_jit(inline="always")
def _read_plan(C, n, m, pred, flow, rows, cols, values):
    """The plan's non-zeros read off the tree's real arcs into ``rows``, ``cols``, ``values`` (n + m entries at
    least): ``(count, value)``, their number and ``sum values[k] * cost(rows[k], cols[k])`` in that order."""
    n_arcs = n * m
    count = 0
    value = 0.0
    for u in range(n + m):
        arc = pred[u]
        if arc < n_arcs and flow[u] > 0.0:
            i = arc // m
            j = arc - i * m
            rows[count] = i
            cols[count] = j
            values[count] = flow[u]
            value += flow[u] * arc_cost(C, i, j)
            count += 1
    return count, value


@cpu_jit(refcount=False)  # not inlined: solve_tree calls it twice, and each inlined copy compiles anew
def _recompute_potentials(C, n, m, art_cost, parent, pred, pred_dir, pi, thread):
    """Potentials recomputed exactly along the tree (preorder), free of the drift of many incremental updates.

    The helpers inlined into :func:`solve_tree` take the tree's arrays, not the ``state`` tuple: Numba's inliner
    mis-compiled a helper that unpacks the caller's tuple again (``_init_artificial`` taking ``state`` left the
    tree unset, and the simplex looped on whatever the buffers held). Not reproduced in isolation; a likely cause
    is that Numba's alias analysis does not see tuple unpacking as aliasing, so dead-code elimination after
    inlining may drop array writes not read later in the caller. Keep to arrays passed directly."""
    root = n + m
    n_arcs = n * m
    pi[root] = 0.0
    u = thread[root]
    while u != root:
        arc = pred[u]
        if arc < n_arcs:
            i = arc // m
            c = arc_cost(C, i, arc - i * m)
        else:
            c = art_cost[arc - n_arcs]  # artificial arcs never reverse: they stay the arc of their own node
        pi[u] = pi[parent[u]] + c if pred_dir[u] == DOWN else pi[parent[u]] - c
        u = thread[u]


@cpu_jit
def support_value(costs, rows, cols, values):
    """``sum values[k] * cost(rows[k], cols[k])``: the plan's cost, read on its support only."""
    total = 0.0
    for k in range(values.shape[0]):
        total += values[k] * arc_cost(costs, rows[k], cols[k])
    return total


@cpu_jit
def complete_duals(costs, f, g, rows_kept, cols_kept, dropped_rows, dropped_cols):
    """Feasible duals for zero-weight rows and columns, which carry no mass and so have no tree arc:
    ``f_i = min_j cost(i, j) - g_j`` over the kept columns, then ``g_j = min_i cost(i, j) - f_i`` over all rows.
    A row (column) whose costs are all +inf gets 0: any value is feasible for it."""
    for i in dropped_rows:
        low = np.inf
        for j in cols_kept:
            low = min(low, arc_cost(costs, i, j) - g[j])
        f[i] = low if low < np.inf else 0.0
    n = f.shape[0]
    for j in dropped_cols:
        low = np.inf
        for i in range(n):
            low = min(low, arc_cost(costs, i, j) - f[i])
        g[j] = low if low < np.inf else 0.0


@cpu_jit
def potentials_from_support(costs, rows, cols, n, m):
    """Duals ``(f, g)`` with ``f_i + g_j = cost(i, j)`` on a spanning forest of the support ``(rows, cols)`` of a
    plan: the warm start that a previous plan (e.g. the last Gromov-Wasserstein iterate) gives for new costs.
    Nodes off the support get 0; any duals are a valid warm start, good ones save pivots."""
    nnz = rows.shape[0]
    # adjacency lists of sources and sinks (CSR)
    row_start = np.zeros(n + 1, dtype=np.int64)
    col_start = np.zeros(m + 1, dtype=np.int64)
    for k in range(nnz):
        row_start[rows[k] + 1] += 1
        col_start[cols[k] + 1] += 1
    for i in range(n):
        row_start[i + 1] += row_start[i]
    for j in range(m):
        col_start[j + 1] += col_start[j]
    row_adj = np.empty(nnz, dtype=np.int64)
    col_adj = np.empty(nnz, dtype=np.int64)
    row_fill = row_start[:n].copy()
    col_fill = col_start[:m].copy()
    for k in range(nnz):
        row_adj[row_fill[rows[k]]] = cols[k]
        row_fill[rows[k]] += 1
        col_adj[col_fill[cols[k]]] = rows[k]
        col_fill[cols[k]] += 1
    f = np.zeros(n)
    g = np.zeros(m)
    seen = np.zeros(n + m, dtype=np.bool_)
    queue = np.empty(n + m, dtype=np.int64)
    for start in range(n):
        if seen[start] or row_start[start + 1] == row_start[start]:
            continue
        seen[start] = True
        head = 0
        tail = 1
        queue[0] = start
        while head < tail:
            u = queue[head]
            head += 1
            if u < n:
                for k in range(row_start[u], row_start[u + 1]):
                    j = row_adj[k]
                    if not seen[n + j]:
                        seen[n + j] = True
                        g[j] = arc_cost(costs, u, j) - f[u]
                        queue[tail] = n + j
                        tail += 1
            else:
                j = u - n
                for k in range(col_start[j], col_start[j + 1]):
                    i = col_adj[k]
                    if not seen[i]:
                        seen[i] = True
                        f[i] = arc_cost(costs, i, j) - g[j]
                        queue[tail] = i
                        tail += 1
    return f, g


@cpu_jit
def max_abs_finite(C):
    """The largest |c| over the finite entries of C, in one pass and without a temporary array."""
    top = 0.0
    for i in range(C.shape[0]):
        for j in range(C.shape[1]):
            c = abs(C[i, j])
            if top < c < np.inf:
                top = c
    return top


@cpu_jit
def staircase_basis(a, b, order_a, order_b):
    """The north-west corner rule along ``order_a`` and ``order_b``: a basic feasible plan as the ``n + m - 1``
    arcs ``(rows, cols, flows)`` of a spanning tree (a staircase through the reordered matrix).

    It is the optimal plan for any cost that is submodular in that order (the monotone coupling of 1D OT, or
    ``-x_i y_j`` with both orders ascending). Where a source and a sink run out together, the next arc goes to
    the next sink with zero flow, so that with the tree hung from the first sink every zero-flow arc points away
    from the root (:func:`init_tree_from_arcs` needs a strongly feasible tree).
    """
    n = a.shape[0]
    m = b.shape[0]
    rows = np.empty(n + m - 1, dtype=np.int64)
    cols = np.empty(n + m - 1, dtype=np.int64)
    flows = np.empty(n + m - 1)
    i = 0
    j = 0
    left_a = a[order_a[0]]
    left_b = b[order_b[0]]
    for k in range(n + m - 1):
        f = min(left_a, left_b)
        rows[k] = order_a[i]
        cols[k] = order_b[j]
        flows[k] = f
        left_a -= f
        left_b -= f
        # the next cell: the next sink when this one ran out first or together (or the sources are exhausted)
        if (left_b <= left_a and j < m - 1) or i == n - 1:
            j += 1
            if j < m:
                left_b = b[order_b[j]]
        else:
            i += 1
            left_a = a[order_a[i]]
    return rows, cols, flows


@cpu_jit
def init_tree_from_arcs(rows, cols, flows, n, m, root_sink, state):
    """Build the tree spanned by the real arcs ``(rows, cols)`` with ``flows`` (``n + m - 1`` of them), hung from
    the root by the artificial arc of sink ``root_sink`` (zero flow). Potentials are left to
    :func:`_recompute_potentials`.

    Returns False, leaving the state unusable, when the arcs do not span the n + m nodes or when a zero-flow arc
    would point towards the root (the tree would not be strongly feasible).
    """
    parent, pred, pred_dir, flow, pi, thread, rev_thread, succ_num, last_succ, dirty = state
    n_nodes = n + m
    root = n_nodes
    n_edges = rows.shape[0]
    if n_edges != n_nodes - 1:
        return False
    # adjacency (CSR) over the n + m nodes; edge k joins node rows[k] and node n + cols[k]
    start = np.zeros(n_nodes + 1, dtype=np.int64)
    for k in range(n_edges):
        start[rows[k] + 1] += 1
        start[n + cols[k] + 1] += 1
    for u in range(n_nodes):
        start[u + 1] += start[u]
    adj = np.empty(2 * n_edges, dtype=np.int64)
    fill = start[:n_nodes].copy()
    for k in range(n_edges):
        adj[fill[rows[k]]] = k
        fill[rows[k]] += 1
        adj[fill[n + cols[k]]] = k
        fill[n + cols[k]] += 1
    # preorder from the root by an explicit stack
    order = np.empty(n_nodes + 1, dtype=np.int64)
    seen = np.zeros(n_nodes, dtype=np.bool_)
    stack = np.empty(n_nodes, dtype=np.int64)
    first = n + root_sink
    parent[root] = -1
    pred[root] = -1
    pred_dir[root] = 0
    flow[root] = 0.0
    parent[first] = root
    pred[first] = n * m + first
    pred_dir[first] = DOWN
    flow[first] = 0.0
    seen[first] = True
    order[0] = root
    count = 1
    top = 0
    stack[0] = first
    while top >= 0:
        u = stack[top]
        top -= 1
        order[count] = u
        count += 1
        for t in range(start[u], start[u + 1]):
            k = adj[t]
            v = n + cols[k] if u < n else rows[k]
            if seen[v]:
                continue
            seen[v] = True
            parent[v] = u
            pred[v] = rows[k] * m + cols[k]
            pred_dir[v] = DOWN if u < n else UP  # the arc runs source -> sink
            flow[v] = flows[k]
            if flow[v] <= 0.0 and pred_dir[v] == UP:
                return False
            top += 1
            stack[top] = v
    if count != n_nodes + 1:
        return False
    for k in range(n_nodes + 1):
        u = order[k]
        nxt = order[k + 1] if k < n_nodes else root
        thread[u] = nxt
        rev_thread[nxt] = u
    for u in range(n_nodes + 1):
        succ_num[u] = 1
    for k in range(n_nodes, 0, -1):  # subtree sizes: children come after their parents in preorder
        u = order[k]
        succ_num[parent[u]] += succ_num[u]
    position = np.empty(n_nodes + 1, dtype=np.int64)
    for k in range(n_nodes + 1):
        position[order[k]] = k
    for u in range(n_nodes + 1):
        last_succ[u] = order[position[u] + succ_num[u] - 1]
    return True
