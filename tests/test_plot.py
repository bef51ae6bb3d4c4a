"""numbaot.plot renders with the Agg backend; each function returns its matplotlib objects."""
import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from numbaot import plot  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _png(fig, tmp_path, name):
    path = tmp_path / f"{name}.png"
    fig.savefig(path)
    assert path.stat().st_size > 1000
    return path


def test_plot1D_mat(tmp_path):
    a, b = np.full(4, 0.25), np.full(5, 0.2)
    M = np.outer(a, b)
    for style in ("yx", "xy"):
        plt.figure()
        ax_a, ax_b, ax_M = plot.plot1D_mat(a, b, M, "plan", plot_style=style)
        assert ax_M.images and ax_a.lines and ax_b.lines
        _png(ax_M.figure, tmp_path, f"plot1d_{style}")
    with pytest.raises(ValueError, match="shape"):
        plot.plot1D_mat(a, b, M.T)


def test_plot2D_samples_mat_draws_one_segment_per_entry(tmp_path):
    xs, xt = np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([[0.0, 1.0], [1.0, 1.0], [2.0, 1.0]])
    G = np.array([[0.5, 0.0, 0.0], [0.0, 0.25, 0.25]])
    plt.figure()
    lines = plot.plot2D_samples_mat(xs, xt, G, color="b")
    assert len(lines) == 3
    assert sorted(round(line.get_alpha(), 3) for line in lines) == [0.5, 0.5, 1.0]
    _png(plt.gcf(), tmp_path, "samples")


def test_plot_plan_and_matching(tmp_path):
    import numbaot

    rng = np.random.default_rng(0)
    X, Y = rng.random((6, 2)), rng.random((5, 2))
    P = numbaot.emd(None, None, numbaot.dist(X, Y))
    fig, axes = plot.plot_plan(P, title="exact plan")
    assert np.allclose(axes["plan"].images[0].get_array(), P)
    _png(fig, tmp_path, "plan")
    ax, lines = plot.plot_matching(X, Y, P)
    assert len(lines.get_segments()) == np.count_nonzero(P > 1e-8 * P.max())
    _png(ax.figure, tmp_path, "matching")
    with pytest.raises(ValueError, match="NaN"):
        plot.plot_plan(np.array([[np.nan]]))


def test_plot_barycenter_grid_and_soft_dtw(tmp_path):
    images = np.zeros((2, 5, 5))
    images[0, 1, 1] = images[1, 3, 3] = 1.0
    bary = images.mean(axis=0)
    fig, axes = plot.plot_barycenter_grid(images, bary, weights=[0.5, 0.5])
    assert len(axes) == 3 and axes[-1].get_title() == "barycenter"
    _png(fig, tmp_path, "bary")
    fig, axes, (E, value) = plot.plot_soft_dtw_alignment(np.sin(np.linspace(0, 3, 8)), np.cos(np.linspace(0, 3, 6)),
                                                         gamma=0.1)
    assert E.shape == (8, 6) and np.isfinite(value)
    _png(fig, tmp_path, "softdtw")


def test_rescale_for_imshow_plot():
    x, y = plot.rescale_for_imshow_plot(np.linspace(0, 1, 5), np.linspace(-1, 1, 5), 10, a_y=-1, b_y=1)
    assert x[0] == 0 and x[-1] == 9 and y[0] == 0 and y[-1] == 9


def test_pot_plot_names():
    import numbaot.pot as ot

    assert ot.plot.plot1D_mat is plot.plot1D_mat and ot.plot.plot2D_samples_mat is plot.plot2D_samples_mat
