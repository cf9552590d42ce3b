"""Chapter 8: ``my_torch_default`` (U(±1/sqrt(fan_in))) and ``my_caffe_xavier``
(U(±sqrt(3/fan_in)))."""

from grading.kinds import InitializerTest
from grading.registry import INITIALIZER_LIBRARY, Exercise

EXERCISE = Exercise(
    id="ex-together-code",
    tests=[
        InitializerTest("my_torch_default", "torch_default"),
        InitializerTest("my_caffe_xavier", "caffe_xavier", seed=8001),
    ],
    forbidden=INITIALIZER_LIBRARY,
)
