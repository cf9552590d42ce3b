"""Tests of weightinit.compare: seed summaries and the multi-seed training runner."""

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats
from weightinit import compare, data, layers, training


def test_summarize_matches_definitions():
    x = np.array([0.91, 0.95, 0.93, 0.97, 0.90])
    s = compare.summarize(x)
    assert s.n == 5
    assert s.mean == pytest.approx(np.mean(x))
    # ddof = 1, not numpy's default ddof = 0
    assert s.sd == pytest.approx(math.sqrt(np.sum((x - x.mean()) ** 2) / 4))
    assert s.sd > np.std(x)
    assert s.se == pytest.approx(s.sd / math.sqrt(5))
    lo, hi = scipy_stats.t.interval(0.95, 4, loc=x.mean(), scale=s.se)
    assert s.ci95 == pytest.approx((lo, hi))
    assert "±" in str(s) and "n = 5" in str(s)


def test_summarize_interval_covers_mean_at_95_percent():
    rng = np.random.default_rng(0)
    hits = sum(
        lo <= 0.0 <= hi
        for lo, hi in (compare.summarize(rng.standard_normal(10)).ci95 for _ in range(2000))
    )
    assert 0.93 < hits / 2000 < 0.97


@pytest.mark.parametrize("bad", [[1.0], [], [[1.0, 2.0]], [1.0, np.nan]])
def test_summarize_rejects_bad_input(bad):
    with pytest.raises(ValueError):
        compare.summarize(bad)


def test_binomial_se():
    assert compare.binomial_se(0.95, 450) == pytest.approx(math.sqrt(0.95 * 0.05 / 450))
    assert compare.binomial_se(1.0, 10) == 0.0
    with pytest.raises(ValueError, match="p must"):
        compare.binomial_se(1.5, 10)
    with pytest.raises(ValueError, match="n_test"):
        compare.binomial_se(0.5, 0)
    with pytest.raises(TypeError, match="n_test"):
        compare.binomial_se(0.5, 2.0)


@pytest.fixture(scope="module")
def tiny():
    return data.load_digits(flat=True).subset(120)


def _build(seed):
    return layers.mlp([64, 16, 10], activation_name="relu", weight_init="he_normal", rng=seed)


@pytest.mark.parametrize("optimizer,lr", [("sgd", 0.05), ("adam", 0.01)])
def test_train_seeds_reproduces_train(tiny, optimizer, lr):
    runs = compare.train_seeds(_build, tiny, seeds=[3, 4], epochs=2, batch_size=16, lr=lr,
                               optimizer=optimizer)  # fmt: skip
    assert runs.test_acc.shape == (2, 3) and runs.epoch_loss.shape == (2, 2)
    assert runs.n_test == len(tiny.X_test)
    for row, seed in enumerate([3, 4]):
        hist = training.train(_build(seed), tiny, epochs=2, batch_size=16, lr=lr, rng=seed,
                              optimizer=optimizer, profile=False)  # fmt: skip
        np.testing.assert_allclose(runs.test_acc[row], hist.test_acc)
        # mean minibatch loss of the epoch = weighted mean of the recorded step losses
        steps = np.array(hist.step_loss).reshape(2, -1)
        sizes = np.array([16] * 7 + [8])
        np.testing.assert_allclose(runs.epoch_loss[row], steps @ sizes / 120)
    assert not runs.diverged.any()
    np.testing.assert_array_equal(runs.final_acc, runs.test_acc[:, -1])
    assert runs.summary().n == 2


def test_train_seeds_flags_divergence(tiny):
    def build(seed):
        return layers.mlp([64, 64, 10], weight_init="normal", init_kwargs={"std": 10.0}, rng=seed)

    runs = compare.train_seeds(build, tiny, seeds=[0], epochs=2, lr=1e300, momentum=0.0)
    assert runs.diverged[0]
    assert np.isnan(runs.test_acc[0, -1])


def test_train_seeds_bad_arguments(tiny):
    with pytest.raises(TypeError, match="build"):
        compare.train_seeds(None, tiny, epochs=1)
    with pytest.raises(TypeError, match="data"):
        compare.train_seeds(_build, "digits", epochs=1)
    with pytest.raises(ValueError, match="seeds"):
        compare.train_seeds(_build, tiny, seeds=[], epochs=1)
    with pytest.raises(ValueError, match="optimizer"):
        compare.train_seeds(_build, tiny, epochs=1, optimizer="rmsprop")
    with pytest.raises(ValueError, match="epochs"):
        compare.train_seeds(_build, tiny, epochs=0)
    with pytest.raises(TypeError, match="Sequential"):
        compare.train_seeds(lambda s: 3, tiny, epochs=1)


def test_every_epoch_false_records_only_the_final_accuracy(tiny):
    kw = dict(seeds=[0, 1], epochs=2, batch_size=16, lr=0.05)
    full = compare.train_seeds(_build, tiny, **kw)
    last = compare.train_seeds(_build, tiny, every_epoch=False, **kw)
    assert last.test_acc.shape == (2, 1)
    np.testing.assert_array_equal(last.final_acc, full.final_acc)
    np.testing.assert_array_equal(last.epoch_loss, full.epoch_loss)


def test_seed_strip_plot_groups_families():
    import matplotlib

    matplotlib.use("Agg")
    values = {"a1": [0.1, 0.2, 0.3], "b1": [0.5, 0.6, 0.7], "a2": [0.0, 0.0, 0.0]}
    fams = {"a1": "A", "a2": "A", "b1": "B"}
    fig = compare.seed_strip_plot(values, fams, title="t", reference=0.1)
    ax = fig.axes[0]
    # schemes of a family are adjacent, in family order of first appearance
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a1", "a2", "b1"]
    ticks = ax.get_xticks()
    assert ticks[2] - ticks[1] > ticks[1] - ticks[0]  # gap between the families
    # one mean ± sd bar per scheme, with the sd over seeds computed with ddof = 1
    bars = [c for c in ax.containers if hasattr(c, "has_yerr") and c.has_yerr]
    assert len(bars) == 3
    seg = bars[0].lines[2][0].get_segments()[0]
    assert seg[1][1] - seg[0][1] == pytest.approx(2 * np.std([0.1, 0.2, 0.3], ddof=1))
    # the points of one family share a colour, another family has another
    dots = [line for line in ax.lines if line.get_marker() == "o"]
    assert dots[0].get_color() == dots[1].get_color() != dots[2].get_color()
    with pytest.raises(ValueError, match="families"):
        compare.seed_strip_plot({"c": [1, 2]}, fams, title="t")


# --------------------------------------------------------------------------- issue 12 (fuzz)
@pytest.fixture(scope="module")
def spirals():
    return data.make_spirals(8, n_classes=2, seed=0)


def _spiral_build(seed):
    return layers.mlp([2, 6, 2], rng=seed)


def test_seed_runs_summary_has_the_test_set_error(spirals):
    # summary() dropped the binomial SE (test_se NaN) although n_test is recorded
    runs = compare.train_seeds(_spiral_build, spirals, [0, 1], epochs=1)
    s = runs.summary()
    assert s.n_test == runs.n_test == len(spirals.X_test)
    assert s.test_se == pytest.approx(compare.binomial_se(s.mean, runs.n_test))


def test_train_seeds_arguments_follow_the_conventions(spirals):
    ref = compare.train_seeds(_spiral_build, spirals, [3], epochs=1, optimizer="adam", lr=0.01)
    same = compare.train_seeds(_spiral_build, spirals, [3], epochs=1, optimizer="Adam", lr=0.01)
    np.testing.assert_array_equal(ref.test_acc, same.test_acc)
    with pytest.raises(TypeError, match=r"^seeds must be a sequence of integers, got float"):
        compare.train_seeds(_spiral_build, spirals, 1.0, epochs=1)  # was "'float' ... iterable"
    with pytest.raises(ValueError, match=r"^seeds must be .* integers >= 0"):
        compare.train_seeds(_spiral_build, spirals, [-1], epochs=1)  # was an 'rng' message
    with pytest.raises(TypeError, match=r"^every_epoch must be True or False"):
        compare.train_seeds(_spiral_build, spirals, [0], epochs=1, every_epoch="no")


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"values": 1.0}, TypeError, "^values must be a mapping"),
        ({"values": {}}, ValueError, "^values must contain at least one entry"),
        ({"values": {"a": []}}, ValueError, r"^values\['a'\] must not be empty"),
        ({"values": {"a": [0.5, np.nan]}}, ValueError, r"^values\['a'\] contains NaN"),
        ({"values": {"a": "xy"}}, TypeError, r"^values\['a'\] must be a real numeric array"),
        ({"families": None}, TypeError, "^families must be a mapping"),
        ({"families": {"a": ["A"]}}, TypeError, r"^families\['a'\] must be a string"),
        ({"title": None}, TypeError, "^title must be a string"),
        ({"ax": "bogus"}, TypeError, "^ax must be a matplotlib Axes"),
        ({"reference": "x"}, TypeError, "^reference must be a real number"),
        ({"reference": np.nan}, ValueError, "^reference must be finite"),
    ],
)
def test_seed_strip_plot_names_bad_arguments(kwargs, exc, match):
    args = {"values": {"a": [0.5, 0.6]}, "families": {"a": "A"}, "title": "t", **kwargs}
    with pytest.raises(exc, match=match):
        compare.seed_strip_plot(**args)


def test_seed_runs_summary_of_one_seed_names_seeds(spirals):
    # it said "values must be at least two numbers" (summarize's argument)
    runs = compare.train_seeds(_spiral_build, spirals, [0], epochs=1)
    with pytest.raises(ValueError, match=r"^summary\(\) needs runs of at least two seeds"):
        runs.summary()


def test_seed_runs_final_acc_and_summary_of_diverged_runs(tiny):
    # the same policy as experiments.SeedRuns: NaN final accuracy, left out and counted by
    # summary() (it raised "values must be finite" for any diverged run)
    def build(seed):
        std = 1e200 if seed == 1 else 0.1
        return layers.mlp([64, 16, 10], weight_init="normal", init_kwargs={"std": std}, rng=seed)

    for every_epoch in (True, False):
        runs = compare.train_seeds(build, tiny, seeds=[0, 1, 2], epochs=1, every_epoch=every_epoch)
        np.testing.assert_array_equal(runs.diverged, [False, True, False])
        assert np.isnan(runs.final_acc[1]) and np.all(np.isfinite(runs.final_acc[[0, 2]]))
        s = runs.summary()
        assert (s.n, s.n_diverged) == (2, 1)
        assert s.mean == pytest.approx(runs.final_acc[[0, 2]].mean())
        assert "1 diverged and left out" in str(s)
    runs = compare.train_seeds(build, tiny, seeds=[1, 0], epochs=1)
    with pytest.raises(ValueError, match=r"at least two runs that did not diverge.*\[1\]"):
        runs.summary()
