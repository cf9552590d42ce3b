"""Data for the experiments: real handwritten digits and small synthetic sets.

:func:`load_digits` uses scikit-learn's bundled copy of the UCI optical
handwritten digits (1,797 grey-scale 8×8 images of the digits 0-9), so nothing
is downloaded. Every split is deterministic for a given seed.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

__all__ = ["Dataset", "load_digits", "make_spirals"]


@dataclass(frozen=True)
class Dataset:
    """A train/test split. ``X`` arrays are float64, ``y`` arrays are int64 labels."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    name: str = ""

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}: train {self.X_train.shape}, test {self.X_test.shape}, "
            f"{self.n_classes} classes)"
        )

    def subset(self, n_train: int) -> Dataset:
        """The same data with only the first ``n_train`` training examples."""
        if isinstance(n_train, bool) or not isinstance(n_train, numbers.Integral) or n_train <= 0:
            raise ValueError(f"n_train must be a positive integer, got {n_train!r}")
        return Dataset(self.X_train[:n_train], self.y_train[:n_train], self.X_test, self.y_test,
                       self.n_classes, self.name)  # fmt: skip


def _check_fraction(test_size):
    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real):
        raise TypeError(f"test_size must be a float in (0, 1), got {test_size!r}")
    if not 0.0 < float(test_size) < 1.0:
        raise ValueError(f"test_size must be a float in (0, 1), got {test_size!r}")
    return float(test_size)


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
    seed : int
        Seed of the shuffle before the split.
    flat : bool
        ``False``: images of shape ``(N, 1, 8, 8)`` (the layout conv layers use);
        ``True``: vectors of shape ``(N, 64)``.
    """
    from sklearn.datasets import load_digits as _sk_load_digits
    from sklearn.model_selection import train_test_split

    test_size = _check_fraction(test_size)
    bunch = _sk_load_digits()
    X = bunch.images.astype(np.float64) / 16.0
    y = bunch.target.astype(np.int64)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=test_size, random_state=seed, stratify=y
    )
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
    """
    for name, value, low in (("n_per_class", n_per_class, 2), ("n_classes", n_classes, 2)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real) or not noise >= 0:
        raise ValueError(f"noise must be a non-negative number, got {noise!r}")
    test_size = _check_fraction(test_size)
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
