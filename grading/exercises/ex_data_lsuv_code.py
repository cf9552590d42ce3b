"""Chapter 11: ``lsuv_factor(W, x, target_var=1.0)``, the factor of one LSUV step."""

import numpy as np

from grading.kinds import ValueTest
from grading.registry import Exercise

_gen = np.random.default_rng(1101)
ARRAYS = {
    # (out, in) weights and (batch, in) batches: square, wide, tall; zero and non-zero mean
    "W1": _gen.standard_normal((32, 20)),
    "x1": 3.0 * _gen.standard_normal((100, 20)) + 1.0,
    "W2": 0.01 * _gen.standard_normal((5, 64)),
    "x2": _gen.standard_normal((7, 64)),
    "W3": _gen.uniform(-1, 1, (128, 3)),
    "x3": _gen.exponential(2.0, (50, 3)),
    "W4": _gen.standard_normal((1, 1)),
    "x4": _gen.standard_normal((9, 1)) - 4.0,
}
CASES = [
    ([{"$array": "W1"}, {"$array": "x1"}], {"target_var": 0.5}, {}),
    ([{"$array": "W1"}, {"$array": "x1"}], {}, {}),
    ([{"$array": "W2"}, {"$array": "x2"}], {"target_var": 2.0}, {}),
    ([{"$array": "W3"}, {"$array": "x3"}], {"target_var": 1.0}, {}),
    ([{"$array": "W4"}, {"$array": "x4"}], {"target_var": 3.0}, {}),
]


def _unpack(args, kwargs):
    W, x = args
    return W, x, kwargs.get("target_var", 1.0)


def _reference(args, kwargs):
    W, x, t = _unpack(args, kwargs)
    return float(np.sqrt(t / np.var(x @ W.T)))


def _second_moment(args, kwargs):
    W, x, t = _unpack(args, kwargs)
    return float(np.sqrt(t / np.mean((x @ W.T) ** 2)))


def _no_root(args, kwargs):
    W, x, t = _unpack(args, kwargs)
    return float(t / np.var(x @ W.T))


def _inverted(args, kwargs):
    W, x, t = _unpack(args, kwargs)
    return float(np.sqrt(np.var(x @ W.T) / t))


def _weight_variance(args, kwargs):
    W, _x, t = _unpack(args, kwargs)
    with np.errstate(divide="ignore"):  # a 1 × 1 weight has variance 0: this mistake gives inf
        return float(np.sqrt(t / np.var(W)))


def _std_not_var(args, kwargs):
    W, x, t = _unpack(args, kwargs)
    return float(t / np.std(x @ W.T))


EXERCISE = Exercise(
    id="ex-data-lsuv-code",
    tests=[
        ValueTest(
            "lsuv_factor",
            cases=CASES,
            reference=_reference,
            rtol=1e-6,
            arrays=ARRAYS,
            mistakes=[
                (
                    "you set the second moment E[y²] to the target, not the variance: the outputs "
                    "here have a non-zero mean; use np.var of x @ W.T.",
                    _second_moment,
                ),
                (
                    "you forgot the square root: the variance scales with s², so s = sqrt(...).",
                    _no_root,
                ),
                ("your factor is inverted: s = sqrt(target / Var(x Wᵀ)).", _inverted),
                (
                    "you used the variance of the weights, not of the layer's output on the "
                    "batch: LSUV measures the output x @ W.T.",
                    _weight_variance,
                ),
                (
                    "you divided by the standard deviation without the square root of the target.",
                    _std_not_var,
                ),
            ],
        )
    ],
    forbidden=("weightinit.lsuv",),
)
