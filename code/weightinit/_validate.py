"""Argument checks shared by the modules: one wording for every error message."""

from __future__ import annotations

import math
import numbers


def real(value, name: str, *, positive: bool = False, lower: float | None = None,
         upper: float | None = None) -> float:  # fmt: skip
    """Return ``value`` as a finite float, or raise naming ``name`` and what is allowed.

    ``positive``: must be ``> 0``; ``lower``: must be ``>= lower``; ``upper``: must
    be ``< upper``. Booleans are rejected (``True`` is not a number here).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    if lower is not None and value < lower:
        raise ValueError(f"{name} must be >= {lower:g}, got {value!r}")
    if upper is not None and value >= upper:
        raise ValueError(f"{name} must be < {upper:g}, got {value!r}")
    return value


def positive_int(value, name: str) -> int:
    """Return ``value`` as an ``int >= 1``; booleans and floats raise ``TypeError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive integer, got {type(value).__name__} {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return int(value)
