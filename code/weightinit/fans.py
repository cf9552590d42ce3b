"""Fans of a weight tensor and the gains of the common nonlinearities.

Every variance-preserving initializer in this course boils down to one number,
``Var(w) = scale / n``, where ``n`` is a *fan*: how many inputs feed one output
unit (fan-in) or how many outputs one input unit feeds (fan-out).  This module
computes those fans for dense and convolution kernels in the two weight layouts
that readers meet in practice, and the gain factors that correct the variance
for a nonlinearity.

Layouts
-------
``"torch"``
    PyTorch / Caffe: dense ``(out, in)``, convolution ``(out, in, kh, kw)``
    (and ``(out, in, k)`` or ``(out, in, kd, kh, kw)`` for 1-D/3-D kernels).
``"keras"``
    Keras / TensorFlow, channels-last: dense ``(in, out)``, convolution
    ``(kh, kw, in, out)``.

In both layouts, with ``k`` the product of the spatial kernel sizes (the
*receptive field*),

.. math::

    \\text{fan\\_in} = C_{in} \\cdot k, \\qquad \\text{fan\\_out} = C_{out} \\cdot k .
"""

from __future__ import annotations

import math
import numbers
import sys
import types
import warnings
from collections.abc import Sequence

import numpy as np

from ._validate import choice, slope_alias

__all__ = [
    "LAYOUTS",
    "NONLINEARITIES",
    "LayoutWarning",
    "check_shape",
    "fans",
    "gain",
    "looks_channels_last",
    "receptive_field",
]

LAYOUTS = ("torch", "keras")

#: Names accepted by :func:`gain` (the same set as PyTorch's ``calculate_gain``).
NONLINEARITIES = (
    "linear",
    "identity",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "selu",
)


def check_shape(shape, name: str = "shape", min_dims: int = 1) -> tuple[int, ...]:
    """Validate a weight shape and return it as a tuple of Python ints.

    Parameters
    ----------
    shape : sequence of int
        The shape to check. Every entry must be a positive integer (``bool``
        is rejected, integral numpy scalars are accepted).
    name : str
        Argument name used in error messages.
    min_dims : int
        Minimum number of dimensions.

    Raises
    ------
    TypeError
        If ``shape`` is not a sequence, or an entry is not an integer.
    ValueError
        If it has fewer than ``min_dims`` entries or an entry is ``<= 0``.
    """
    if type(shape) is tuple and len(shape) >= min_dims:  # the common case, checked fast
        for d in shape:
            if type(d) is not int or d <= 0:
                break
        else:
            return shape
    if isinstance(shape, np.ndarray):
        if shape.ndim == 0:
            shape = shape.item()
        elif shape.ndim != 1:
            raise ValueError(
                f"{name} must be a flat sequence of positive integers, got a {shape.ndim}-D array"
            )
        else:
            shape = shape.tolist()
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    if isinstance(shape, (str, bytes)) or not isinstance(shape, (Sequence, np.ndarray)):
        raise TypeError(
            f"{name} must be a tuple or list of positive integers, got {type(shape).__name__} {shape!r}"
        )
    out = []
    for i, d in enumerate(shape):
        if isinstance(d, bool) or not isinstance(d, numbers.Integral):
            raise TypeError(
                f"{name}[{i}] must be a positive integer, got {type(d).__name__} {d!r} "
                f"(in {name}={tuple(shape)!r})"
            )
        if d <= 0:
            raise ValueError(
                f"{name}[{i}] must be a positive integer, got {d} (in {name}={tuple(shape)!r}); "
                "every dimension of a weight tensor must be >= 1"
            )
        out.append(int(d))
    if len(out) < min_dims:
        raise ValueError(
            f"{name} must have at least {min_dims} dimension(s), got {len(out)}: {tuple(out)!r}"
        )
    return tuple(out)


class LayoutWarning(UserWarning):
    """A shape read in the PyTorch layout (the default) looks like a Keras channels-last one."""


#: Largest kernel side the channels-last heuristic treats as "looks like a kernel".
_KERNEL_SIDE = 7


def looks_channels_last(shape) -> bool:
    """Heuristic: does a conv shape look like Keras's ``(*kernel, in, out)`` layout?

    True when the leading ``d = ndim - 2`` entries look like a kernel (all equal and
    ``<= 7``) while the trailing ``d`` entries do not (not all equal, or ``> 7``), e.g.
    ``(3, 3, 16, 32)`` or ``(1, 1, 64, 128)``. Dense shapes (2-D) are never flagged: there
    the two layouts cannot be told apart.
    """
    shape = check_shape(shape, min_dims=2)
    d = len(shape) - 2
    if d == 0:
        return False

    def kernel_like(dims):
        return len(set(dims)) == 1 and dims[0] <= _KERNEL_SIDE

    return kernel_like(shape[:d]) and not kernel_like(shape[-d:])


def _check_layout(layout, shape=None) -> str:
    """``layout`` lower-cased; ``None`` means "torch", with a :class:`LayoutWarning` when
    ``shape`` looks channels-last (pass ``layout="torch"`` explicitly to silence it)."""
    if layout is None:
        if shape is not None and looks_channels_last(shape):
            warnings.warn(
                f"shape {tuple(shape)} looks like a Keras channels-last kernel (*kernel, in, out) "
                "but is read in the default PyTorch layout (out, in, *kernel); pass "
                "layout='keras' if it is channels-last, or layout='torch' to silence this",
                LayoutWarning,
                stacklevel=3,
            )
        return "torch"
    return choice(layout, "layout", LAYOUTS)


def receptive_field(shape, layout: str | None = None) -> int:
    """Product of the spatial kernel sizes (1 for a dense weight).

    Parameters
    ----------
    shape : sequence of int
        Weight shape with at least 2 dimensions.
    layout : {"torch", "keras"} or None
        ``"torch"``: spatial dims are ``shape[2:]``; ``"keras"``: ``shape[:-2]``;
        ``None`` (default): ``"torch"``, warning if the shape looks channels-last.
    """
    shape = check_shape(shape, min_dims=2)
    spatial = shape[2:] if _check_layout(layout, shape) == "torch" else shape[:-2]
    return math.prod(spatial)


def fans(shape, layout: str | None = None) -> tuple[int, int]:
    """Return ``(fan_in, fan_out)`` of a dense or convolution weight.

    .. math::

        \\text{fan\\_in} = C_{in} \\prod_i k_i, \\qquad
        \\text{fan\\_out} = C_{out} \\prod_i k_i

    This is what PyTorch's ``_calculate_fan_in_and_fan_out``, Keras's
    ``_compute_fans`` and Caffe's fillers compute (Caffe: ``fan_in = count / num``,
    ``fan_out = count / channels``).

    Parameters
    ----------
    shape : sequence of int
        At least two positive integers.
    layout : {"torch", "keras"} or None, default None
        ``"torch"``: ``(out, in, *kernel)``; ``"keras"``: ``(*kernel, in, out)``
        (case-insensitive). ``None`` reads the PyTorch layout but emits a
        :class:`LayoutWarning` when the shape looks channels-last
        (:func:`looks_channels_last`, e.g. ``(3, 3, 16, 32)``); an explicit
        ``"torch"`` never warns.

    Returns
    -------
    fan_in, fan_out : int

    Raises
    ------
    ValueError
        Fewer than 2 dimensions, a non-positive dimension, or an unknown layout.
    TypeError
        A non-integer dimension.

    Examples
    --------
    >>> fans((16, 8, 3, 3))                  # PyTorch conv: 16 filters over 8 channels
    (72, 144)
    >>> fans((3, 3, 8, 16), layout="keras")  # the same kernel, channels-last
    (72, 144)
    >>> fans((10, 784))                      # PyTorch Linear(784, 10)
    (784, 10)
    """
    shape = check_shape(shape, min_dims=2)
    layout = _check_layout(layout, shape)
    k = receptive_field(shape, layout)
    if layout == "torch":
        c_out, c_in = shape[0], shape[1]
    else:
        c_in, c_out = shape[-2], shape[-1]
    return c_in * k, c_out * k


def _check_fan(n, name: str = "fan") -> float:
    if isinstance(n, bool) or not isinstance(n, numbers.Real):
        raise TypeError(f"{name} must be a positive number, got {type(n).__name__} {n!r}")
    if not math.isfinite(n) or n <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {n!r}")
    return float(n)


def gain(nonlinearity: str, negative_slope: float | None = None, *, param=None) -> float:
    """Recommended gain for a nonlinearity, as PyTorch's ``nn.init.calculate_gain``.

    The gain :math:`g` multiplies the standard deviation of a variance-scaling
    initializer so that :math:`g^2 \\cdot E[f(y)^2] / \\mathrm{Var}(y) \\approx 1`:

    ============================  =======================================
    nonlinearity                  gain
    ============================  =======================================
    linear, identity, conv*,      :math:`1`
    sigmoid
    tanh                          :math:`5/3`
    relu                          :math:`\\sqrt{2}`
    leaky_relu                    :math:`\\sqrt{2 / (1 + a^2)}`, ``a = negative_slope`` (0.01)
    selu                          :math:`3/4`
    ============================  =======================================

    The ReLU value follows He et al. (2015); SELU's 3/4 is PyTorch's choice for
    self-normalizing networks used with ``kaiming_normal`` (the paper of Klambauer
    et al. uses ``lecun_normal``, gain 1).

    Parameters
    ----------
    nonlinearity : str
        One of :data:`NONLINEARITIES` (case-insensitive).
    negative_slope : float, optional
        Negative slope of ``leaky_relu`` (default 0.01, as PyTorch). Ignored for the
        other names (as in PyTorch). The library's one name for the leaky slope.
    param : float, optional
        Deprecated alias of ``negative_slope`` (PyTorch's name); keyword only.

    Raises
    ------
    ValueError
        Unknown nonlinearity (the message lists the allowed names) or a
        non-finite slope.
    TypeError
        A nonlinearity that is not a string, or a slope that is not a real number.
    """
    negative_slope = slope_alias(negative_slope, param, "param")
    name = choice(nonlinearity, "nonlinearity", NONLINEARITIES)
    if name == "tanh":
        return 5.0 / 3.0
    if name == "relu":
        return math.sqrt(2.0)
    if name == "selu":
        return 3.0 / 4.0
    if name != "leaky_relu":
        return 1.0  # linear, identity, conv*, conv_transpose*, sigmoid
    if negative_slope is None:
        return math.sqrt(2.0 / (1.0 + 0.01**2))
    if isinstance(negative_slope, bool) or not isinstance(negative_slope, numbers.Real):
        raise TypeError(
            f"negative_slope (the leaky_relu slope) must be a real number, got {negative_slope!r}"
        )
    try:
        slope = float(negative_slope)
    except OverflowError:
        slope = math.inf
    if not math.isfinite(slope):
        raise ValueError(f"negative_slope (the leaky_relu slope) must be finite, got {slope!r}")
    # sqrt(2 / (1 + a^2)) without overflowing a^2 for huge slopes
    return math.sqrt(2.0) / math.hypot(1.0, slope)


class _FansModule(types.ModuleType):
    """``weightinit.fans`` is this module; calling it calls :func:`fans` (a shortcut)."""

    def __call__(self, shape, layout: str | None = None) -> tuple[int, int]:
        return fans(shape, layout)


sys.modules[__name__].__class__ = _FansModule
