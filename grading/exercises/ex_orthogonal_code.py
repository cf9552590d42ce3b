"""Chapter 9: ``my_delta_orthogonal(shape, rng)``, a delta-orthogonal conv kernel
(Xiao et al. 2018): an ``out × in`` matrix with orthonormal columns, uniformly (Haar)
distributed, at the centre tap, zeros elsewhere; ``ValueError`` when out < in.

The checks and their tolerances are in :class:`grading.kinds.DeltaOrthogonalTest`
(five hidden shapes, 2000 seeds for the distribution, one invalid shape).
"""

from grading.kinds import DeltaOrthogonalTest
from grading.registry import INITIALIZER_LIBRARY, Exercise

EXERCISE = Exercise(
    id="ex-orthogonal-code",
    tests=[DeltaOrthogonalTest("my_delta_orthogonal")],
    # the library's delta_orthogonal and orthogonal, and every module that draws with them
    forbidden=(
        "weightinit.structured",
        "weightinit.lsuv",
        "weightinit.mup",
        "weightinit.residual",
        "weightinit.calculator",
        *INITIALIZER_LIBRARY,
    ),
)
