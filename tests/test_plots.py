"""Figure helpers: every figure has a title, labelled axes and a legend."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from weightinit import plots
from weightinit.training import History


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_std_by_depth_has_title_labels_legend():
    fig = plots.std_by_depth({"a": [1, 0.5, 0.25], "b": [1, 1, 1]}, title="T", ylabel="std",
                             reference=1.0)  # fmt: skip
    ax = fig.axes[0]
    assert ax.get_title() == "T" and ax.get_xlabel() == "layer" and ax.get_ylabel() == "std"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["a", "b", "reference 1"]
    assert ax.get_yscale() == "log"
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [1, 2, 3])


def test_layer_histograms_one_panel_per_group():
    rng = np.random.default_rng(0)
    groups = {"small": [rng.normal(0, s, 100) for s in (1, 0.5)],
              "big": [rng.normal(0, s, 100) for s in (1, 2)]}  # fmt: skip
    fig = plots.layer_histograms(groups, title="H")
    assert fig._suptitle.get_text() == "H"
    assert [ax.get_title() for ax in fig.axes] == ["small", "big"]
    assert all(ax.get_xlabel() == "activation value" for ax in fig.axes)
    assert fig.axes[0].get_ylabel() == "density"
    assert [t.get_text() for t in fig.axes[-1].get_legend().get_texts()] == ["layer 1", "layer 2"]
    with pytest.raises(ValueError, match="at least one"):
        plots.layer_histograms({}, title="x")


def test_learning_curves_from_histories_with_band():
    h = History(train_loss=[2.0, 1.0, 0.5])
    fig = plots.learning_curves({"he": h, "raw": [3.0, 2.0, 1.5]}, metric="train_loss",
                                title="L", band={"he": ([1.5, 0.8, 0.4], [2.5, 1.2, 0.6])})  # fmt: skip
    ax = fig.axes[0]
    assert ax.get_title() == "L" and ax.get_xlabel() == "epoch" and ax.get_ylabel() == "train loss"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["he", "raw"]
    assert len(ax.collections) == 1  # the band


def test_filter_grid():
    w = np.random.default_rng(0).standard_normal((5, 2, 3, 3))
    fig = plots.filter_grid(w, title="F", ncols=3, channel=1)
    assert fig._suptitle.get_text() == "F"
    images = [ax for ax in fig.axes if ax.images]
    assert len(images) == 5
    np.testing.assert_array_equal(images[4].images[0].get_array(), w[4, 1])
    assert any(ax.get_ylabel() == "weight value" for ax in fig.axes)  # the colour bar
    with pytest.raises(ValueError, match="F, C, kh, kw"):
        plots.filter_grid(np.zeros((3, 3)), title="x")
    with pytest.raises(ValueError, match="channel"):
        plots.filter_grid(w, title="x", channel=2)


def test_figure_alt_text_replaces_the_object_repr_in_a_notebook():
    fig = plots.std_by_depth({"a": [1, 2]}, title="signal by depth", ylabel="std")
    assert plots.figure_alt_text(fig) == "[figure: signal by depth]"
    fig2, (a1, a2) = plt.subplots(1, 2)
    a1.set_title("left")
    a2.set_title("right")
    assert plots.figure_alt_text(fig2) == "[figure: left; right]"
    # Outside IPython nothing is registered ...
    assert plots.register_notebook_alt_text() is False
    # ... inside, a displayed figure's text/plain is its title, not "<Figure size ...>".
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        assert plots.register_notebook_alt_text() is True
        data, _ = shell.display_formatter.format(fig)
        assert data["text/plain"] == "[figure: signal by depth]"
    finally:
        InteractiveShell.clear_instance()


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (
            lambda: plots.std_by_depth({"a": [1, np.nan]}, title="t", ylabel="y"),
            ValueError,
            r"curves\['a'\] contains NaN",
        ),
        (
            lambda: plots.std_by_depth({"a": [1, 2]}, title=3, ylabel="y"),
            TypeError,
            r"title must be a string",
        ),
        (
            lambda: plots.std_by_depth([1, 2], title="t", ylabel="y"),
            TypeError,
            r"curves must be a mapping",
        ),
        (
            lambda: plots.learning_curves({"a": [1.0, np.inf]}, title="t"),
            ValueError,
            r"histories\['a'\] contains NaN or infinite",
        ),
        (
            lambda: plots.learning_curves(
                {"a": History(train_loss=[1.0])}, metric="nope", title="t"
            ),
            ValueError,
            r"metric must be an attribute",
        ),
        (
            lambda: plots.learning_curves({"a": [1.0, 2.0]}, title="t", band={"a": ([1.0], [2.0])}),
            ValueError,
            r"band\['a'\] must have 2 values per side",
        ),
        (
            lambda: plots.layer_histograms({"a": [np.ones(3)]}, title="t", bins=0),
            ValueError,
            r"bins must be a positive integer",
        ),
        (
            lambda: plots.layer_histograms({"a": [np.ones(3)]}, title="t", layers=[1]),
            ValueError,
            r"layers must be indices in \[0, 1\)",
        ),
        (
            lambda: plots.layer_histograms({"a": [np.ones(3)]}, title="t", value_range=(1, 0)),
            ValueError,
            r"value_range must be a pair",
        ),
        (
            lambda: plots.filter_grid(np.ones((2, 1, 3, 3)), title="t", channel=0.0),
            TypeError,
            r"channel must be an integer",
        ),
        (lambda: plots.figure_alt_text("fig"), TypeError, r"fig must be a matplotlib Figure"),
    ],
)
def test_plots_refuse_bad_input_naming_the_argument(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
    plt.close("all")
