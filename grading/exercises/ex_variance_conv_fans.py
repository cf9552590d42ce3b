"""Chapter 4: ``conv_fans(shape) -> (fan_in, fan_out)`` in the PyTorch layout."""

from grading.kinds import FansTest
from grading.registry import INITIALIZER_LIBRARY, Exercise

EXERCISE = Exercise(
    id="ex-variance-conv-fans",
    tests=[FansTest("conv_fans")],
    forbidden=("weightinit.fans", *INITIALIZER_LIBRARY),
)
