"""Chapter 1: ``conv2d_loops(x, w)``, a stride-1 unpadded cross-correlation with loops."""

from grading.kinds import ConvTest
from grading.registry import Exercise

EXERCISE = Exercise(
    id="ex-kernels-loop-conv",
    tests=[ConvTest("conv2d_loops")],
    forbidden=("weightinit.conv", "weightinit.layers", "scipy.signal", "scipy.ndimage"),
)
