"""Chapter 2: ``max_filter_difference(W)``, the largest |W[f] - W[g]| over filter pairs."""

import numpy as np

from grading.kinds import ValueTest
from grading.registry import Exercise


def _flat(w):
    w = np.asarray(w, dtype=float)
    return w.reshape(w.shape[0], -1)


def _reference(args, kwargs):
    f = _flat(args[0])
    return float(np.max(f.max(axis=0) - f.min(axis=0)))


def _adjacent_only(args, kwargs):
    f = _flat(args[0])
    return float(np.max(np.abs(np.diff(f, axis=0)))) if len(f) > 1 else 0.0


def _signed(args, kwargs):
    f = _flat(args[0])
    return max((float(np.max(f[i] - f[j])) for i in range(len(f)) for j in range(i + 1, len(f))),
               default=0.0)  # fmt: skip


def _first_only(args, kwargs):
    f = _flat(args[0])
    return float(np.max(np.abs(f - f[0])))


def _mean_abs(args, kwargs):
    f = _flat(args[0])
    d = [np.mean(np.abs(f[i] - f[j])) for i in range(len(f)) for j in range(i + 1, len(f))]
    return float(max(d, default=0.0))


def _whole_range(args, kwargs):
    f = _flat(args[0])
    return float(f.max() - f.min())


_rng = np.random.default_rng(4242)
ARRAYS = {
    "conv": _rng.normal(0, 0.1, size=(16, 8, 3, 3)),
    "dense": _rng.normal(0, 1.0, size=(5, 4)),
    "nonsquare": _rng.uniform(-1, 1, size=(6, 3, 2, 5)),
    "equal": np.tile(_rng.normal(size=(1, 3, 3, 3)), (4, 1, 1, 1)),
    "integers": _rng.integers(-5, 6, size=(7, 3)),
    "sorted": np.sort(_rng.normal(size=(6, 2)), axis=0),
}

EXERCISE = Exercise(
    id="ex-zero-maxdiff",
    tests=[
        ValueTest(
            "max_filter_difference",
            cases=[([{"$array": k}], {}, {}) for k in ARRAYS],
            reference=_reference,
            rtol=1e-9,
            arrays=ARRAYS,
            mistakes=[
                (
                    "you compare only neighbouring filters (f, f + 1): compare every pair.",
                    _adjacent_only,
                ),
                ("you forgot the absolute value |W[f] - W[g]|.", _signed),
                (
                    "you compare every filter with the first one only: compare every pair.",
                    _first_only,
                ),
                (
                    "you averaged |W[f] - W[g]| over the entries: the exercise asks for the "
                    "largest entry.",
                    _mean_abs,
                ),
                (
                    "you took the range of all the weights, not the largest difference between "
                    "two filters at the same position.",
                    _whole_range,
                ),
            ],
        )
    ],
    forbidden=("weightinit.stats.max_pairwise_difference",),
)
