"""Argument checks shared by the modules: one wording for every error message.

Conventions (see "API conventions" in CONTRIBUTING.md): a value of the wrong *type*
raises :class:`TypeError`, a value of the right type outside what is allowed raises
:class:`ValueError`; every message starts with the argument's name and says what is
allowed.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

#: Largest array (in bytes) any function of the library agrees to allocate. Requests
#: above it are refused with a ValueError before anything is allocated.
MAX_BYTES = 2 * 1024**3


def real(value, name: str, *, positive: bool = False, lower: float | None = None,
         upper: float | None = None) -> float:  # fmt: skip
    """Return ``value`` as a finite float, or raise naming ``name`` and what is allowed.

    ``positive``: must be ``> 0``; ``lower``: must be ``>= lower``; ``upper``: must
    be ``< upper``. Booleans are rejected (``True`` is not a number here).
    """
    if type(value) is not float:  # (a float needs no conversion: the common case)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
        try:
            value = float(value)
        except OverflowError:  # a Python int beyond float range
            raise ValueError(
                f"{name} must be finite, got an integer too large for a float"
            ) from None
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


def boolean(value, name: str) -> bool:
    """Return ``value`` if it is a ``bool`` (or numpy bool); anything else raises TypeError.

    ``flat="no"`` is truthy in Python; here it is a mistake.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def choice(value, name: str, allowed) -> str:
    """Return the lower-cased ``value`` if it is one of ``allowed`` (matched case-insensitively)."""
    allowed = tuple(allowed)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {allowed}, got {type(value).__name__} "
                        f"{value!r}")  # fmt: skip
    key = value.lower()
    if key not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
    return key


def seed(value, name: str = "seed") -> int:
    """A seed that must be a plain non-negative int (``None`` and Generators are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be a non-negative int (the result is deterministic by design), "
            f"got {type(value).__name__} {value!r}"
        )
    if value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value}")
    return int(value)


def slope_alias(negative_slope, alias_value, alias: str, *, given: bool | None = None,
                stacklevel: int = 2):  # fmt: skip
    """The leaky slope from ``negative_slope`` or from its deprecated alias ``alias``.

    The library's one name for the leaky-ReLU slope is ``negative_slope`` ("API
    conventions" in CONTRIBUTING.md); PyTorch's spellings (``a=`` of ``kaiming_*``,
    ``param=`` of ``calculate_gain``) still work with a :class:`DeprecationWarning`.
    Every function that accepts an alias resolves it with this helper.

    Parameters
    ----------
    negative_slope
        The value given as ``negative_slope`` (returned when no alias was given).
    alias_value
        The value given as the alias; ``None`` means not given.
    alias : str
        The alias's name, for the messages.
    given : bool, optional
        Whether ``negative_slope`` was given explicitly (default: ``negative_slope is not
        None``); passing both raises ``TypeError``.
    stacklevel : int
        As for :func:`warnings.warn` called *from the caller of this helper*: 2 points the
        warning at the caller's caller (the user's line when a public function calls it).
    """
    if alias_value is None:
        return negative_slope
    if negative_slope is not None if given is None else given:
        raise TypeError(f"give the slope once: negative_slope, or its deprecated alias {alias}")
    warnings.warn(
        f"{alias}= is deprecated: the leaky slope is called negative_slope in this library",
        DeprecationWarning,
        stacklevel=stacklevel + 1,
    )
    return alias_value


def check_bytes(n_items: int, itemsize: int, name: str, what: str = "array") -> None:
    """Refuse to allocate an ``n_items × itemsize`` array above :data:`MAX_BYTES`."""
    nbytes = int(n_items) * int(itemsize)
    if nbytes > MAX_BYTES:
        size = f"{nbytes / 1024**3:.3g} GiB" if nbytes < 10**300 else "more than 1e300 bytes"
        raise ValueError(
            f"{name} asks for a {what} of {size}, above the library's limit "
            f"of {MAX_BYTES / 1024**3:g} GiB (weightinit._validate.MAX_BYTES); use a smaller {name}"
        )


def real_array(x, name: str, ndim: int | None = None, *, allow_empty: bool = False,
               finite: bool = True, min_ndim: int = 0) -> np.ndarray:  # fmt: skip
    """``x`` as a real floating array; ``TypeError`` for non-numeric data, ``ValueError`` for
    a wrong number of dimensions, an empty array (unless ``allow_empty``) or NaN/inf
    (when ``finite``).

    A floating ndarray of an allowed shape (what a network passes from layer to layer)
    takes a fast path with the same checks; anything else, and every array that fails
    a check, goes through the general path, which raises the error.
    """
    if (
        type(x) is np.ndarray
        and x.dtype.kind == "f"  # exactly the dtypes np.issubdtype(dtype, np.floating) accepts
        and (ndim is None or x.ndim == ndim)
        and x.ndim >= min_ndim
        and (allow_empty or x.size)
        and (not finite or np.isfinite(x).all())
    ):
        return x
    try:
        x = np.asarray(x)
    except Exception as exc:  # ragged nested lists and the like
        raise TypeError(f"{name} must be a real numeric array, got {type(x).__name__}") from exc
    if x.dtype == bool or not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
        raise TypeError(f"{name} must be a real numeric array, got dtype {x.dtype}")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {x.shape}")
    if x.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimension(s), got shape {x.shape}")
    if not allow_empty and x.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    if finite and not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return x
