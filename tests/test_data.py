"""``data.load_digits`` reads and splits the digits without importing scikit-learn: the
result must be scikit-learn's, to the bit (every chapter's numbers depend on the split)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import load_digits as sk_load_digits
from sklearn.model_selection import train_test_split
from weightinit import data


def _sklearn_digits(test_size, seed, flat, standardize):
    """What ``load_digits`` computed before it stopped importing scikit-learn."""
    bunch = sk_load_digits()
    X = bunch.images.astype(np.float64) / 16.0
    y = bunch.target.astype(np.int64)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=test_size, random_state=seed, stratify=y
    )
    if standardize:
        mu, sd = X_tr.mean(), X_tr.std()
        X_tr, X_te = (X_tr - mu) / sd, (X_te - mu) / sd
    shape = (-1, 64) if flat else (-1, 1, 8, 8)
    return X_tr.reshape(shape), y_tr, X_te.reshape(shape), y_te


@pytest.mark.parametrize(
    ("test_size", "seed", "flat", "standardize"),
    [(0.25, 0, False, True), (0.25, 0, True, True), (0.25, 0, False, False)]
    + [(0.25, seed, True, True) for seed in (1, 2, 7, 42, 12345)]
    + [(ts, 3, True, False) for ts in (0.006, 0.1, 0.2, 1 / 3, 0.5, 0.77, 0.994)],
)
def test_load_digits_is_scikit_learns_split_to_the_bit(test_size, seed, flat, standardize):
    got = data.load_digits(test_size=test_size, seed=seed, flat=flat, standardize=standardize)
    want = _sklearn_digits(test_size, seed, flat, standardize)
    for name, a, b in zip(("X_train", "y_train", "X_test", "y_test"),
                          (got.X_train, got.y_train, got.X_test, got.y_test), want,
                          strict=True):  # fmt: skip
        assert a.dtype == b.dtype and a.shape == b.shape, name
        assert np.array_equal(a, b), f"{name} differs from scikit-learn's"


def test_stratified_split_matches_scikit_learn_on_uneven_classes():
    # ties between remainders are broken by the random state, in scikit-learn's order
    rng = np.random.default_rng(0)
    for trial in range(30):
        y = rng.integers(0, 2 + trial % 7, size=int(rng.integers(40, 300)))
        y = np.concatenate([y, np.arange(y.max() + 1), np.arange(y.max() + 1)])  # >= 2 each
        for test_size in (0.2, 0.35, 0.5):
            idx = np.arange(len(y))
            want_tr, want_te = train_test_split(
                idx, test_size=test_size, random_state=trial, stratify=y
            )
            got_tr, got_te = data._stratified_split(y, test_size, trial)
            assert np.array_equal(got_tr, want_tr) and np.array_equal(got_te, want_te)


def test_a_chapters_imports_leave_out_scikit_learn_and_scipy_stats():
    # about 1 s and 0.5 s of CPU in every notebook kernel: loaded only when a function
    # that needs them runs (a KS test, a scipy.stats distribution, brentq)
    code = (
        "import sys; import weightinit.plots\n"
        "from weightinit import (analysis, calculator, checks, compare, data, experiments, "
        "layers, lsuv, mup, stacked, stats, training)\n"
        "data.load_digits(); experiments.summarize([0.5, 0.6, 0.7], n_test=450)\n"
        "weightinit.initializers.Distribution('truncated_normal', 0.0, 1.0, 2.0).std\n"
        "print(sorted(m for m in sys.modules if m.startswith(('sklearn', 'scipy.stats', "
        "'scipy.optimize'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_digits_without_the_data_file_come_from_scikit_learn(monkeypatch):
    # when scikit-learn keeps its data elsewhere, load_digits asks sklearn.datasets
    first = data._digits()
    monkeypatch.setattr(data.importlib.util, "find_spec", lambda name: None)
    images, labels = data._digits()
    assert images.shape == (1797, 8, 8) and labels.dtype == np.int64
    assert np.array_equal(images, first[0]) and np.array_equal(labels, first[1])
