"""numbaot._threads: the CPU-wait reading and the thread count of the short-region cores."""
import numba
import numpy as np
import pytest

import numbaot
from numbaot import _threads


@pytest.fixture
def schedstat(tmp_path, monkeypatch):
    """A fake ``/proc/thread-self/schedstat``: ``write(run_ns, wait_ns)``, a fresh per-thread memory."""
    path = tmp_path / "schedstat"
    monkeypatch.setattr(_threads, "SCHEDSTAT", str(path))
    monkeypatch.setattr(_threads, "_seen", type(_threads._seen)())
    ticks = iter(range(0, 10**15, _threads.WAIT_SPAN_NS))  # a wall clock that never gates a look
    monkeypatch.setattr(_threads, "_clock", lambda: next(ticks))

    def write(run, wait):
        path.write_text(f"{run} {wait} 7\n")
    return write


MS = 1_000_000


def test_first_look_judges_the_thread_so_far(schedstat):
    schedstat(100 * MS, 60 * MS)  # waited 60 of 160 ms
    assert _threads.cpu_wait_fraction() == pytest.approx(60 / 160)


def test_later_looks_judge_the_span_since_the_last(schedstat):
    schedstat(100 * MS, 100 * MS)
    assert _threads.cpu_wait_fraction() == pytest.approx(0.5)
    schedstat(200 * MS, 102 * MS)  # since then: 100 ms run, 2 ms waiting, whatever came before
    assert _threads.cpu_wait_fraction() == pytest.approx(2 / 102)
    schedstat(230 * MS, 142 * MS)  # 30 ms run, 40 ms waiting
    assert _threads.cpu_wait_fraction() == pytest.approx(40 / 70)


def test_short_span_keeps_the_last_answer(schedstat):
    schedstat(100 * MS, 100 * MS)
    assert _threads.cpu_wait_fraction() == pytest.approx(0.5)
    schedstat(105 * MS, 100 * MS)  # 5 ms: too short to tell (below WAIT_SPAN_NS), the last answer kept
    assert _threads.cpu_wait_fraction() == pytest.approx(0.5)
    schedstat(125 * MS, 100 * MS)  # 25 ms since the last judged look, none waiting
    assert _threads.cpu_wait_fraction() == 0.0


def test_looks_within_the_wall_span_skip_the_read(schedstat, monkeypatch, tmp_path):
    """Under WAIT_SPAN_NS of wall time since the last judged look the file cannot give a long enough span: the last
    answer comes back without reading it (here: the file is gone)."""
    schedstat(100 * MS, 100 * MS)
    now = [0]
    monkeypatch.setattr(_threads, "_clock", lambda: now[0])
    assert _threads.cpu_wait_fraction() == pytest.approx(0.5)
    (tmp_path / "schedstat").unlink()
    now[0] = _threads.WAIT_SPAN_NS - 1
    assert _threads.cpu_wait_fraction() == pytest.approx(0.5)  # not read: an unreadable file would give 0.0
    now[0] = _threads.WAIT_SPAN_NS
    assert _threads.cpu_wait_fraction() == 0.0  # read again, and unreadable


def test_counter_going_back_starts_over(schedstat):
    schedstat(100 * MS, 100 * MS)
    _threads.cpu_wait_fraction()
    schedstat(10 * MS, 0)
    assert _threads.cpu_wait_fraction() == pytest.approx(0.5)  # kept; the next span counts from this reading
    schedstat(40 * MS, 10 * MS)
    assert _threads.cpu_wait_fraction() == pytest.approx(10 / 40)


@pytest.mark.parametrize("content", ["", "x y z", "12"])
def test_unreadable_means_no_wait(schedstat, content, tmp_path):
    (tmp_path / "schedstat").write_text(content)
    assert _threads.cpu_wait_fraction() == 0.0


def test_missing_file_means_no_wait(monkeypatch):
    monkeypatch.setattr(_threads, "_seen", type(_threads._seen)())  # no earlier look of this thread to keep
    monkeypatch.setattr(_threads, "SCHEDSTAT", "/nonexistent/schedstat")
    assert _threads.cpu_wait_fraction() == 0.0
    assert _threads.short_region_threads(4) == 4


@pytest.mark.parametrize("threads, wait, expected", [
    (2, 0.0, 2), (2, 0.2, 2), (2, 0.3, 1), (2, 0.67, 1), (2, 1.0, 1),
    (1, 0.0, 1), (1, 0.9, 1),
    (16, 0.0, 16), (16, 0.2, 13), (16, 0.5, 8), (16, 0.99, 1)])
def test_short_region_threads(monkeypatch, threads, wait, expected):
    monkeypatch.setattr(_threads, "cpu_wait_fraction", lambda: wait)
    assert _threads.short_region_threads(threads) == expected


def test_real_reading_is_a_fraction():
    assert 0.0 <= _threads.cpu_wait_fraction() <= 1.0


# The two cores that use it keep their chunking at the requested count: a busy machine (1 Numba thread) gives
# the very same numbers as a quiet one.
def _problem(n=120, seed=3):
    rng = np.random.default_rng(seed)
    M = numbaot.dist(rng.random((n, 2)), rng.random((n, 2)))
    a = rng.random(n) + 0.1
    return M, a / a.sum()


def _both(monkeypatch, solve):
    """``solve(threads)`` on a quiet, then on a busy machine (2 threads asked for); checks that the busy run did
    run its short-region cores on 1 thread, the quiet one on 2."""
    threads = min(2, numba.config.NUMBA_NUM_THREADS)
    counts = []
    real = _threads.short_region_threads

    def spy(n):
        counts.append(real(n))
        return counts[-1]
    monkeypatch.setattr(_threads, "short_region_threads", spy)
    monkeypatch.setattr(_threads, "cpu_wait_fraction", lambda: 0.0)
    quiet = solve(threads)
    assert counts and set(counts) == {threads}
    counts.clear()
    monkeypatch.setattr(_threads, "cpu_wait_fraction", lambda: 0.7)
    busy = solve(threads)
    assert counts and set(counts) == {1}
    return quiet, busy


def test_sinkhorn_scaling_same_results_busy_or_not(monkeypatch):
    M, a = _problem()
    reg = 0.05 * float(M.max())
    quiet, busy = _both(monkeypatch, lambda t: numbaot.sinkhorn(a, a, M, reg, method="sinkhorn", max_iter=200,
                                                                tol=0.0, check_every=50, n_threads=t, warn=False))
    np.testing.assert_array_equal(quiet, busy)


def test_entropic_partial_same_results_busy_or_not(monkeypatch):
    M, a = _problem(seed=4)
    reg = 0.02 * float(M.max())
    quiet, busy = _both(monkeypatch, lambda t: numbaot.entropic_partial_wasserstein(
        a, a, M, reg, m=0.6, method="sinkhorn", max_iter=300, tol=0.0, n_threads=t, warn=False))
    np.testing.assert_array_equal(quiet, busy)


def test_busy_core_restores_thread_count(monkeypatch):
    monkeypatch.setattr(_threads, "cpu_wait_fraction", lambda: 0.7)
    before = numba.get_num_threads()
    M, a = _problem(n=40)
    numbaot.entropic_partial_wasserstein(a, a, M, 0.1, m=0.5, method="sinkhorn", max_iter=20, warn=False)
    assert numba.get_num_threads() == before


# The cores of the log-domain loop, the divergence's steps, the Bregman barycenter and the smooth dual run on fewer
# threads while busy (run_short_regions / short_region_threads); their rows are computed on their own (or the
# chunking stays at the count asked), so a busy machine gives the very same numbers as a quiet one.
@pytest.mark.parametrize("method", ["sinkhorn_log", "sinkhorn_epsilon_scaling"])
def test_sinkhorn_log_same_results_busy_or_not(monkeypatch, method):
    M, a = _problem(seed=5)
    reg = 0.02 * float(M.max())
    quiet, busy = _both(monkeypatch, lambda t: numbaot.sinkhorn(a, a, M, reg, method=method, max_iter=200, tol=0.0,
                                                                check_every=50, n_threads=t, warn=False))
    np.testing.assert_array_equal(quiet, busy)


@pytest.mark.parametrize("lazy", [False, True])
def test_divergence_same_results_busy_or_not(monkeypatch, lazy):
    rng = np.random.default_rng(6)
    X, Y = rng.random((90, 2)), rng.random((70, 2))
    quiet, busy = _both(monkeypatch, lambda t: numbaot.sinkhorn_divergence(X, Y, reg=0.01, lazy=lazy, n_threads=t))
    assert quiet == busy


def test_barycenter_same_results_busy_or_not(monkeypatch):
    xs = np.linspace(0.0, 1.0, 60)
    A = np.random.default_rng(7).random((60, 3)) + 0.01
    A /= A.sum(0)
    quiet, busy = _both(monkeypatch, lambda t: numbaot.barycenter(A, (xs[:, None] - xs[None]) ** 2, 0.01,
                                                                  max_iter=200, n_threads=t, warn=False))
    np.testing.assert_array_equal(quiet, busy)


def test_smooth_dual_same_results_busy_or_not(monkeypatch):
    from numbaot.smooth import api as smooth_api

    n = 260  # above the smooth solver's parallel threshold, so it chunks and runs a parallel region
    assert n * n >= smooth_api.PARALLEL_MIN_ENTRIES
    M, a = _problem(n=n, seed=8)
    quiet, busy = _both(monkeypatch, lambda t: numbaot.smooth_ot_dual(a, a, M, 0.05, max_iter=50, n_threads=t,
                                                                      warn=False))
    np.testing.assert_array_equal(quiet, busy)


def test_unbalanced_and_batch_same_results_busy_or_not(monkeypatch):
    M, a = _problem(seed=9)
    reg = 0.02 * float(M.max())
    quiet, busy = _both(monkeypatch, lambda t: numbaot.sinkhorn_unbalanced(a, a, M, reg, 1.0, max_iter=200, tol=0.0,
                                                                          n_threads=t, warn=False))
    np.testing.assert_array_equal(quiet, busy)
    batch = np.stack([M, M[::-1]])
    quiet, busy = _both(monkeypatch, lambda t: numbaot.solve_batch(batch, reg, max_iter=100, tol=0.0, n_threads=t,
                                                                   warn=False).plan)
    np.testing.assert_array_equal(quiet, busy)


def test_online_same_results_busy_or_not(monkeypatch):
    rng = np.random.default_rng(10)
    X, Y = rng.random((150, 2)), rng.random((120, 2))
    quiet, busy = _both(monkeypatch, lambda t: numbaot.solve_sample(X, Y, reg=0.01, lazy=True, max_iter=100, tol=0.0,
                                                                    n_threads=t, warn=False).potential_a)
    np.testing.assert_array_equal(quiet, busy)

