"""Chapter 7: ``my_he_normal`` (N(0, 2/fan_in)) and ``my_leaky_he_normal`` (slope 0.2,
N(0, 2/((1 + a²) fan_in))).

The leaky variant differs from plain He by a factor sqrt(1.04) = 1.0198 in the std at
a = 0.2; with 200,000 draws on each of five shapes the std is measured to ≈ 0.16 %,
so plain He (2 % off) is ≥ 12 standard errors outside the 1 % tolerance and is
diagnosed as such.
"""

import math

from weightinit import initializers

from grading.kinds import InitializerTest
from grading.registry import INITIALIZER_LIBRARY, Exercise

SLOPE = 0.2


def _he(shape):
    return initializers.distribution("he_normal", tuple(shape)).std


EXERCISE = Exercise(
    id="ex-he-code",
    tests=[
        InitializerTest("my_he_normal", "he_normal"),
        InitializerTest(
            "my_leaky_he_normal",
            "he_normal",
            kwargs={"negative_slope": SLOPE},
            seed=7001,
            draws=200_000,
            std_rtol=0.01,
            mistakes=[
                (
                    "your std is plain He's: the leaky ReLU keeps (1 + a²)/2 of the variance, "
                    "so Var(w) = 2 / ((1 + a²)·fan_in).",
                    _he,
                ),
                (
                    "you used (1 + a) instead of (1 + a²): Var(w) = 2 / ((1 + a²)·fan_in).",
                    lambda s: _he(s) / math.sqrt(1 + SLOPE),
                ),
                (
                    "you multiplied by (1 + a²) instead of dividing: Var(w) = 2 / ((1 + a²)·fan_in).",
                    lambda s: _he(s) * math.sqrt(1 + SLOPE**2),
                ),
            ],
        ),
    ],
    forbidden=INITIALIZER_LIBRARY,
)
