"""Tests of weightinit.experiments: per-seed training and the course's summary statistics."""

import math
import statistics

import numpy as np
import pytest
from scipy import stats
from weightinit.data import make_spirals
from weightinit.experiments import binomial_se, summarize, train_seeds
from weightinit.layers import mlp


def test_binomial_se_formula_and_edges():
    assert binomial_se(0.9, 450) == pytest.approx(math.sqrt(0.9 * 0.1 / 450))
    assert binomial_se(0.0, 10) == 0.0
    assert binomial_se(1.0, 10) == 0.0
    # largest at p = 1/2
    assert binomial_se(0.5, 100) > binomial_se(0.6, 100) > binomial_se(0.9, 100)


@pytest.mark.parametrize(
    ("p", "exc"),
    [(-0.1, ValueError), (1.5, ValueError), ("0.5", TypeError), (True, TypeError),
     (float("nan"), ValueError)],
)  # fmt: skip
def test_binomial_se_rejects_bad_p(p, exc):
    with pytest.raises(exc, match="p must be"):
        binomial_se(p, 10)


@pytest.mark.parametrize(
    ("n", "exc"), [(0, ValueError), (-3, ValueError), (2.5, TypeError), (True, TypeError)]
)
def test_binomial_se_rejects_bad_n(n, exc):
    with pytest.raises(exc, match="n_test must be"):
        binomial_se(0.5, n)


def test_summarize_uses_ddof_1_and_a_t_interval():
    rng = np.random.default_rng(3)
    values = rng.normal(0.9, 0.02, size=10)
    s = summarize(values, n_test=450)
    assert s.n == 10
    assert s.mean == pytest.approx(statistics.fmean(values))
    assert s.sd == pytest.approx(statistics.stdev(values))  # sample sd, ddof = 1
    assert s.sd > np.std(values)  # ddof = 0 would be smaller
    assert s.se == pytest.approx(statistics.stdev(values) / math.sqrt(10))
    lo, hi = stats.t.interval(0.95, 9, loc=s.mean, scale=s.se)
    assert s.ci95 == pytest.approx((lo, hi))
    assert s.minimum == values.min() and s.maximum == values.max()
    assert s.test_se == pytest.approx(math.sqrt(s.mean * (1 - s.mean) / 450))
    assert "± " in str(s) and "test-set SE" in str(s)


def test_summarize_without_test_set_has_nan_test_se():
    s = summarize([1.0, 2.0, 4.0])
    assert math.isnan(s.test_se) and s.n_test is None
    assert "test-set" not in str(s)


@pytest.mark.parametrize("values", [[], [0.5], [[0.1, 0.2], [0.3, 0.4]], [0.1, float("nan")]])
def test_summarize_rejects_too_few_or_non_finite(values):
    with pytest.raises(ValueError, match="values must"):
        summarize(values)


@pytest.fixture(scope="module")
def spirals():
    return make_spirals(40, seed=1)


def _build(seed):
    return mlp([2, 16, 3], activation_name="tanh", weight_init="glorot_normal", rng=seed)


def test_train_seeds_is_reproducible_and_seeds_differ(spirals):
    kw = dict(epochs=2, batch_size=16, lr=0.1, profile=False)
    a = train_seeds(_build, spirals, seeds=[0, 1, 2], **kw)
    b = train_seeds(_build, spirals, seeds=[0, 1, 2], **kw)
    assert a.seeds == [0, 1, 2] and len(a.histories) == 3
    assert a.n_test == len(spirals.y_test)
    np.testing.assert_array_equal(a.curves("train_loss"), b.curves("train_loss"))
    assert a.curves("test_acc").shape == (3, 3)  # before training + 2 epochs
    losses = a.final("train_loss")
    assert len(set(losses.round(12))) == 3  # different seeds, different runs
    mean, lo, hi = a.band("train_loss")
    sd = a.curves("train_loss").std(axis=0, ddof=1)
    np.testing.assert_allclose(hi - mean, sd)
    np.testing.assert_allclose(mean - lo, sd)
    s = a.summary()
    assert s.n_test == len(spirals.y_test)
    assert s.mean == pytest.approx(a.final("test_acc").mean())
    assert math.isnan(a.summary("train_loss").test_se)


def test_train_seeds_keeps_nets_only_when_asked(spirals):
    kw = dict(epochs=1, batch_size=32, profile=False)
    assert train_seeds(_build, spirals, seeds=[0, 1], **kw).nets == []
    runs = train_seeds(_build, spirals, seeds=[0, 1], keep_nets=True, **kw)
    assert len(runs.nets) == 2 and runs.nets[0] is not runs.nets[1]


def test_train_seeds_argument_errors(spirals):
    with pytest.raises(TypeError, match="build"):
        train_seeds(None, spirals)
    with pytest.raises(TypeError, match="data"):
        train_seeds(_build, "spirals")
    with pytest.raises(TypeError, match="rng"):
        train_seeds(_build, spirals, seeds=[0, 1], rng=3)
    for bad in ([0], [1, 1], [0, -1], [0, 1.5]):
        with pytest.raises(ValueError, match="seeds"):
            train_seeds(_build, spirals, seeds=bad, epochs=1)


# --------------------------------------------------------------------------- issue 12 (fuzz)
@pytest.fixture(scope="module")
def small_runs():
    data = make_spirals(8, n_classes=2, seed=0)
    return train_seeds(lambda s: mlp([2, 6, 2], rng=s), data, seeds=[0, 1], epochs=2,
                       profile=False)  # fmt: skip


def test_seed_runs_metric_is_checked(small_runs):
    # a bad metric raised AttributeError / "attribute name must be string"
    for method in (small_runs.final, small_runs.curves, small_runs.band, small_runs.summary):
        with pytest.raises(ValueError, match=r"^metric must be one of"):
            method("bogus")
        with pytest.raises(TypeError, match=r"^metric must be a string"):
            method(0.5)
    np.testing.assert_array_equal(small_runs.final("Test_Acc"), small_runs.final("test_acc"))


def test_seed_runs_curves_of_a_diverged_run_say_so(small_runs):
    # ragged records (a run that stopped early) failed inside numpy
    import copy

    runs = copy.deepcopy(small_runs)
    runs.histories[1].test_acc.pop()
    runs.histories[1].diverged = True
    with pytest.raises(ValueError, match=r"runs of seeds \[1\] diverged"):
        runs.curves()


def test_train_seeds_keep_nets_and_seeds_types():
    data = make_spirals(8, n_classes=2, seed=0)
    with pytest.raises(TypeError, match=r"^keep_nets must be True or False"):
        train_seeds(lambda s: mlp([2, 3, 2], rng=s), data, keep_nets="no", epochs=1)
    with pytest.raises(TypeError, match=r"^seeds must be a sequence of integers"):
        train_seeds(lambda s: mlp([2, 3, 2], rng=s), data, seeds=3, epochs=1)


# --------------------------------------------------------------------------- diverged runs
def _diverging_build(seed):
    # seed 1: weights so large that the activations overflow: the run diverges at step 0
    std = 1e200 if seed == 1 else None
    kw = {"weight_init": "normal", "init_kwargs": {"std": std}} if std else {}
    return mlp([2, 6, 2], rng=seed, **kw)


@pytest.mark.parametrize("stacked", [False, None])
def test_final_of_a_diverged_run_is_nan_and_summary_leaves_it_out(stacked):
    data = make_spirals(8, n_classes=2, seed=0)
    runs = train_seeds(_diverging_build, data, seeds=[0, 1, 2], epochs=2, profile=False,
                       stacked=stacked)  # fmt: skip
    np.testing.assert_array_equal(runs.diverged, [False, True, False])
    for metric in ("test_acc", "train_loss", "Test_Loss", "train_acc"):
        final = runs.final(metric)
        assert np.isnan(final[1]) and np.all(np.isfinite(final[[0, 2]]))
        s = runs.summary(metric)
        assert (s.n, s.n_diverged) == (2, 1)
        assert s.mean == pytest.approx(np.mean(final[[0, 2]]))
        assert s.sd == pytest.approx(np.std(final[[0, 2]], ddof=1))
    assert "n = 2 of 3 seeds, 1 diverged and left out" in str(runs.summary())


def test_final_is_nan_even_when_the_diverged_run_recorded_values():
    # the bug: final() returned the last value a diverged run recorded (an earlier epoch's
    # accuracy), which summary() then averaged with the finished runs
    from weightinit.experiments import SeedRuns
    from weightinit.training import History

    ok = [History(test_acc=[0.1, 0.8, 0.9]), History(test_acc=[0.1, 0.7, 0.85]),
          History(test_acc=[0.1, 0.75, 0.8])]  # fmt: skip
    stopped = History(test_acc=[0.1, 0.6], diverged=True, diverged_at_step=7)
    runs = SeedRuns(seeds=[0, 1, 2, 3], histories=[ok[0], stopped, ok[1], ok[2]], n_test=100)
    final = runs.final()
    assert np.isnan(final[1])
    np.testing.assert_array_equal(final[[0, 2, 3]], [0.9, 0.85, 0.8])
    s = runs.summary()
    assert (s.n, s.n_diverged) == (3, 1) and s.mean == pytest.approx(0.85)
    assert s.test_se == pytest.approx(binomial_se(0.85, 100))
    # fewer than two finished runs: refused, naming the seeds that diverged
    runs = SeedRuns(seeds=[0, 1, 2], histories=[ok[0], stopped, stopped], n_test=100)
    with pytest.raises(ValueError, match=r"^summary\(\) needs at least two runs that did not "
                       r"diverge.*seeds \[1, 2\] of \[0, 1, 2\] diverged"):  # fmt: skip
        runs.summary()


def test_summary_without_divergence_is_unchanged(small_runs):
    s = small_runs.summary()
    assert s.n_diverged == 0 and s == summarize(small_runs.final(), n_test=small_runs.n_test)
    assert "diverged" not in str(s)
