"""Chapter 6: ``my_glorot_uniform(shape, rng)``, U(-a, a) with a = sqrt(6/(fan_in + fan_out))."""

from grading.kinds import InitializerTest
from grading.registry import INITIALIZER_LIBRARY, Exercise

EXERCISE = Exercise(
    id="ex-glorot-code",
    tests=[InitializerTest("my_glorot_uniform", "glorot_uniform")],
    forbidden=INITIALIZER_LIBRARY,
)
