"""Data for the experiments: real handwritten digits and small synthetic sets.

:func:`load_digits` uses scikit-learn's bundled copy of the UCI optical
handwritten digits (1,797 grey-scale 8×8 images of the digits 0-9), so nothing
is downloaded. Every split is deterministic for a given seed: it is scikit-learn's
stratified ``train_test_split``, computed here in numpy (the same indices, checked by
``tests/test_data.py``) so that a notebook does not pay for importing scikit-learn.
"""

from __future__ import annotations

import gzip
import importlib.util
import math
import numbers
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._validate import boolean, positive_int, real, real_array
from ._validate import seed as _seed

__all__ = ["Dataset", "load_digits", "make_spirals"]


def _labels(y, name: str, n: int, n_classes: int) -> np.ndarray:
    y = np.asarray(y)
    if y.dtype == bool or not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"{name} must be an integer array of class labels, got dtype {y.dtype}")
    if y.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) to match its X, got {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(
            f"{name} must lie in [0, n_classes={n_classes}), got values in [{y.min()}, {y.max()}]"
        )
    return y.astype(np.int64, copy=False)


@dataclass(frozen=True)
class Dataset:
    """A train/test split. ``X`` arrays are float64, ``y`` arrays are int64 labels.

    Checked on construction: ``X_train`` and ``X_test`` are finite real arrays with one
    example per row and the same feature shape, each with at least one example;
    ``y_*`` are integer labels in ``[0, n_classes)``, one per example;
    ``n_classes >= 2``; ``name`` is a string.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    name: str = ""

    def __post_init__(self):
        n_classes = positive_int(self.n_classes, "n_classes")
        if n_classes < 2:
            raise ValueError(f"n_classes must be >= 2, got {n_classes}")
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a string, got {type(self.name).__name__}")
        X_tr = real_array(self.X_train, "X_train")
        X_te = real_array(self.X_test, "X_test")
        if X_tr.ndim < 2 or X_te.ndim < 2 or X_tr.shape[1:] != X_te.shape[1:]:
            raise ValueError(
                "X_train and X_test must be (N, ...) arrays with the same feature shape, got "
                f"{X_tr.shape} and {X_te.shape}"
            )
        y_tr = _labels(self.y_train, "y_train", len(X_tr), n_classes)
        y_te = _labels(self.y_test, "y_test", len(X_te), n_classes)
        for key, value in (("X_train", X_tr), ("y_train", y_tr), ("X_test", X_te),
                           ("y_test", y_te), ("n_classes", n_classes)):  # fmt: skip
            object.__setattr__(self, key, value)

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}: train {self.X_train.shape}, test {self.X_test.shape}, "
            f"{self.n_classes} classes)"
        )

    def subset(self, n_train: int) -> Dataset:
        """The same data with only the first ``n_train`` training examples."""
        n_train = positive_int(n_train, "n_train")
        return Dataset(self.X_train[:n_train], self.y_train[:n_train], self.X_test, self.y_test,
                       self.n_classes, self.name)  # fmt: skip


def _check_fraction(test_size, n_total: int, n_classes: int = 1):
    """``test_size`` in (0, 1) leaving at least ``n_classes`` examples in each split."""
    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real):
        raise TypeError(f"test_size must be a float in (0, 1), got {test_size!r}")
    if not 0.0 < float(test_size) < 1.0:
        raise ValueError(f"test_size must be a float in (0, 1), got {test_size!r}")
    n_test = round(float(test_size) * n_total)
    if n_test < n_classes or n_total - n_test < n_classes:
        raise ValueError(
            f"test_size={test_size!r} of {n_total} examples leaves {n_test} for testing and "
            f"{n_total - n_test} for training; each split needs at least {n_classes} "
            f"(one per class): use a test_size in [{n_classes / n_total:.3g}, "
            f"{1 - n_classes / n_total:.3g}]"
        )
    return float(test_size)


def _digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled digits: ``(images (1797, 8, 8) float64 0-16, labels int64)``.

    Read from the package's data file (``sklearn/datasets/data/digits.csv.gz``, what
    ``sklearn.datasets.load_digits`` reads) without importing scikit-learn, whose
    import costs about 1 s of CPU in every process (each notebook's kernel); through
    ``sklearn.datasets.load_digits`` when that file is not where it was.
    """
    spec = importlib.util.find_spec("sklearn")  # finds the package, does not import it
    locations = (spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        path = Path(folder) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            with gzip.open(path, mode="rt", encoding="utf-8") as f:
                data = np.loadtxt(f, delimiter=",")
            return data[:, :-1].reshape(-1, 8, 8), data[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    return bunch.images, bunch.target.astype(np.int64)


def _approximate_mode(counts: np.ndarray, n_draws: int, rng) -> np.ndarray:
    """Examples per class of a stratified draw of ``n_draws`` (scikit-learn's rule).

    Each class gets the floor of its share; the examples left over go to the classes
    with the largest remainders, ties broken at random by ``rng``.
    """
    continuous = counts / counts.sum() * n_draws
    floored = np.floor(continuous)
    need = int(n_draws - floored.sum())
    if need > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (inds,) = np.where(remainder == value)
            add_now = min(len(inds), need)
            floored[rng.choice(inds, size=add_now, replace=False)] += 1
            need -= add_now
            if need == 0:
                break
    return floored.astype(int)


def _stratified_split(y: np.ndarray, test_size: float, seed: int):
    """``(train indices, test indices)``: the split of
    ``sklearn.model_selection.train_test_split(..., test_size=test_size,
    random_state=seed, stratify=y)``, the same indices in the same order, computed with
    numpy alone (``tests/test_data.py`` compares the two).

    ``ceil(test_size * n)`` examples for testing, the rest for training; per class,
    :func:`_approximate_mode` shares, drawn from one permutation of the class's
    examples; then each split is shuffled. One ``RandomState(seed)`` draws everything,
    in scikit-learn's order.
    """
    n = len(y)
    n_test = math.ceil(test_size * n)
    n_train = n - n_test
    rng = np.random.RandomState(seed)
    _, y_indices, counts = np.unique(y, return_inverse=True, return_counts=True)
    class_indices = np.split(np.argsort(y_indices, kind="stable"), np.cumsum(counts)[:-1])
    n_i = _approximate_mode(counts, n_train, rng)
    t_i = _approximate_mode(counts - n_i, n_test, rng)
    train, test = [], []
    for i, members in enumerate(class_indices):
        shuffled = members.take(rng.permutation(counts[i]), mode="clip")
        train.extend(shuffled[: n_i[i]])
        test.extend(shuffled[n_i[i] : n_i[i] + t_i[i]])
    return rng.permutation(train), rng.permutation(test)


def load_digits(*, test_size: float = 0.25, seed: int = 0, flat: bool = False,
                standardize: bool = True) -> Dataset:  # fmt: skip
    """scikit-learn's 8×8 handwritten digits, split and scaled deterministically.

    Pixel values (0-16) are divided by 16. With ``standardize`` (the default) they
    are then shifted and scaled by the mean and std of the *training* pixels, so
    the inputs have zero mean and unit variance, the assumption behind every
    variance derivation of the course. The split is stratified by class.

    Parameters
    ----------
    test_size : float in (0, 1)
        Both splits must keep at least one example per class.
    seed : int >= 0
        Seed of the shuffle before the split. Only a plain int: ``None`` (fresh
        entropy) would silently change the split, so it is refused (``seed`` names an
        int-only seed in this library, ``rng`` an int or Generator).
    flat : bool
        ``False``: images of shape ``(N, 1, 8, 8)`` (the layout conv layers use);
        ``True``: vectors of shape ``(N, 64)``.
    """
    seed = _seed(seed, "seed")
    flat = boolean(flat, "flat")
    standardize = boolean(standardize, "standardize")
    test_size = _check_fraction(test_size, 1797, 10)
    images, y = _digits()
    X = images.astype(np.float64) / 16.0
    train, test = _stratified_split(y, test_size, seed)
    X_tr, X_te, y_tr, y_te = X[train], X[test], y[train], y[test]
    if standardize:
        mu, sd = X_tr.mean(), X_tr.std()
        X_tr, X_te = (X_tr - mu) / sd, (X_te - mu) / sd
    shape = (-1, 64) if flat else (-1, 1, 8, 8)
    return Dataset(X_tr.reshape(shape), y_tr, X_te.reshape(shape), y_te, 10, "digits")


def make_spirals(n_per_class: int = 200, *, n_classes: int = 3, noise: float = 0.2,
                 test_size: float = 0.25, seed: int = 0) -> Dataset:  # fmt: skip
    """Interleaved 2-D spirals, one arm per class: small, fast and not linearly separable.

    Point ``t ∈ [0, 1)`` of arm ``k`` sits at radius ``t`` and angle
    ``4t + 2πk/K`` plus Gaussian noise of std ``noise`` on the angle.

    ``noise`` must be finite and ``>= 0``; ``seed`` a plain int (see :func:`load_digits`);
    ``test_size`` must leave at least one example per class in each split; the total
    ``n_per_class · n_classes`` is limited to 10⁷ points.
    """
    for name, value in (("n_per_class", n_per_class), ("n_classes", n_classes)):
        if positive_int(value, name) < 2:
            raise ValueError(f"{name} must be an integer >= 2, got {value!r}")
    if n_per_class * n_classes > 10**7:
        raise ValueError(
            f"n_per_class * n_classes must be <= 10**7 points, got {n_per_class * n_classes}"
        )
    noise = real(noise, "noise", lower=0.0)
    seed = _seed(seed, "seed")
    test_size = _check_fraction(test_size, n_per_class * n_classes, n_classes)
    gen = np.random.default_rng(seed)
    t = np.tile(np.linspace(0.0, 1.0, n_per_class, endpoint=False), n_classes)
    k = np.repeat(np.arange(n_classes), n_per_class)
    angle = 4.0 * t + 2.0 * np.pi * k / n_classes + gen.normal(0.0, noise, t.shape)
    X = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    order = gen.permutation(len(X))
    X, y = X[order], k[order].astype(np.int64)
    n_test = round(test_size * len(X))
    return Dataset(X[n_test:], y[n_test:], X[:n_test], y[:n_test], n_classes, "spirals")
