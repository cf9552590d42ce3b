"""Chapter 4: ``leaky_second_moment(alpha)``, a Monte-Carlo E[f(y)²] / Var(y) for a leaky ReLU."""

import math

from grading.kinds import ValueTest
from grading.registry import Exercise


def _alpha(args, kwargs):
    return float(args[0])


EXERCISE = Exercise(
    id="ex-variance-leaky-mc",
    tests=[
        ValueTest(
            "leaky_second_moment",
            cases=[([a], {}, {}) for a in (0.2, 0.5, 0.0, 1.0, 0.01, 0.7)],
            reference=lambda a, k: (1 + _alpha(a, k) ** 2) / 2,
            rtol=0.015,
            mistakes=[
                (
                    "you measured Var(f(y)), not E[f(y)²]: the next layer's variance needs the "
                    "second moment, the mean of f(y)² (f(y) does not have mean 0).",
                    lambda a, k: (
                        (1 + _alpha(a, k) ** 2) / 2 - (1 - _alpha(a, k)) ** 2 / (2 * math.pi)
                    ),
                ),
                (
                    "your value is (1 + a)/2: the negative half contributes a²·Var(y)/2, so the "
                    "factor is (1 + a²)/2.",
                    lambda a, k: (1 + _alpha(a, k)) / 2,
                ),
                (
                    "your value ignores the slope (ReLU's 1/2): apply the leaky ReLU with the "
                    "given alpha.",
                    lambda a, k: 0.5,
                ),
                (
                    "you returned E[f(y)], not E[f(y)²].",
                    lambda a, k: (1 - _alpha(a, k)) / math.sqrt(2 * math.pi),
                ),
            ],
        )
    ],
    forbidden=("weightinit.fans.gain", "weightinit.gain"),
)
