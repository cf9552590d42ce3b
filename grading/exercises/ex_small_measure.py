"""Chapter 3: ``shrink_factor(sigma_w, width, x, depth=10, seed=0)``, the measured per-layer
factor of the activation std in a deep ReLU MLP with N(0, sigma_w²) weights."""

import functools

import numpy as np

from grading.kinds import ValueTest
from grading.registry import Exercise


def _stds(sigma_w, width, x, depth, seed):
    if x is X:  # the hidden input: computed once per process, not once per student
        return _stds_of_x(sigma_w, width, depth, seed)
    return _compute(sigma_w, width, x, depth, seed)


@functools.lru_cache(maxsize=64)
def _stds_of_x(sigma_w, width, depth, seed):
    return _compute(sigma_w, width, X, depth, seed)


def _compute(sigma_w, width, x, depth, seed):
    from weightinit import layers, stats

    net = layers.mlp([x.shape[1]] + [width] * depth + [10], activation_name="relu",
                     weight_init="normal", init_kwargs={"std": sigma_w}, rng=seed)  # fmt: skip
    return stats.depth_profile(net, x).act_std[:depth]


def _unpack(args, kwargs):
    sigma_w, width, x = args
    return sigma_w, width, x, kwargs.get("depth", 10), kwargs.get("seed", 0)


def _reference(args, kwargs):
    sigma_w, width, x, depth, seed = _unpack(args, kwargs)
    s = _stds(sigma_w, width, x, depth, seed)
    return float((s[-1] / s[0]) ** (1 / (depth - 1)))


def _no_root(args, kwargs):
    sigma_w, width, x, depth, seed = _unpack(args, kwargs)
    s = _stds(sigma_w, width, x, depth, seed)
    return float(s[-1] / s[0])


def _root_depth(args, kwargs):
    sigma_w, width, x, depth, seed = _unpack(args, kwargs)
    s = _stds(sigma_w, width, x, depth, seed)
    return float((s[-1] / s[0]) ** (1 / depth))


def _prediction(args, kwargs):
    sigma_w, width, *_ = _unpack(args, kwargs)
    return float(np.sqrt(width / 2) * sigma_w)


X = np.random.default_rng(31).standard_normal((100, 64))

EXERCISE = Exercise(
    id="ex-small-measure",
    tests=[
        ValueTest(
            "shrink_factor",
            cases=[
                ([0.01, 256, {"$array": "x"}], {}, {}),
                ([0.05, 64, {"$array": "x"}], {}, {}),
                ([0.02, 128, {"$array": "x"}], {}, {"depth": 6, "seed": 3}),
                ([0.3, 32, {"$array": "x"}], {}, {"seed": 5}),
            ],
            reference=_reference,
            rtol=0.03,
            arrays={"x": X},
            mistakes=[
                (
                    "you returned s_depth / s_1 itself: the per-layer factor is its "
                    "(depth - 1)-th root.",
                    _no_root,
                ),
                (
                    "you took the depth-th root: from layer 1 to layer depth there are depth - 1 "
                    "steps.",
                    _root_depth,
                ),
                (
                    "you returned the prediction sqrt(width/2)·sigma_w, not the measured factor.",
                    _prediction,
                ),
            ],
        )
    ],
    forbidden=(),
)
