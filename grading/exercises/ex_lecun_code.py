"""Chapter 5: ``my_lecun_normal(shape, rng)``, N(0, 1/fan_in)."""

from grading.kinds import InitializerTest
from grading.registry import INITIALIZER_LIBRARY, Exercise

EXERCISE = Exercise(
    id="ex-lecun-code",
    tests=[InitializerTest("my_lecun_normal", "lecun_normal")],
    forbidden=INITIALIZER_LIBRARY,
)
