"""Structured (non-i.i.d.) initializers: identity, Dirac and delta-orthogonal kernels.

The initializers of :mod:`weightinit.initializers` draw every entry independently (or,
for :func:`~weightinit.initializers.orthogonal`, a whole matrix at once). The ones here
place structure in the kernel so that a layer starts as an exact identity or an exact
isometry of its input:

* :func:`eye` -- a dense weight equal to the identity matrix (PyTorch ``eye_``,
  Keras ``Identity``);
* :func:`dirac` -- a convolution kernel that copies input channel ``d`` to output
  channel ``d`` (PyTorch ``dirac_``);
* :func:`delta_orthogonal` -- an orthogonal matrix at the centre tap of the kernel and
  zeros elsewhere (Xiao et al., 2018): the convolution is then an isometry of the
  channel vector at every pixel.

Like every initializer they take ``(shape, *, rng=None, ..., dtype=float64)``: ``rng`` is
keyword-only, and a positional second argument raises the same :class:`TypeError` as
``glorot_uniform(shape, 2)`` (in PyTorch ``dirac_(w, 2)`` means *groups* 2). A layer
accepts them as ``weight_init=delta_orthogonal`` (it passes ``rng=``); :func:`eye` and
:func:`dirac` draw no random numbers (``rng`` is validated and ignored). They are *not* in the
name registry of :mod:`weightinit.initializers` when the package is imported, because
the registry's generic tests require every registered scheme to draw i.i.d.
continuous entries (distinct, seed-dependent values): :func:`register` adds them
(``weightinit.get("delta_orthogonal")`` then works) for code that wants names.

Reference: Xiao, Bahri, Sohl-Dickstein, Schoenholz & Pennington (2018), *Dynamical
isometry and a mean field theory of CNNs: how to train 10,000-layer vanilla
convolutional neural networks*, ICML.
"""

from __future__ import annotations

import numpy as np

from . import initializers as _init
from ._validate import positive_int, real
from .fans import LAYOUTS, check_shape

__all__ = ["STRUCTURED", "delta_orthogonal", "dirac", "eye", "register"]


def _layout(layout: str) -> str:
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    return layout


def _conv_shape(shape, layout: str, who: str, min_dims: int = 3):
    """(shape, out, in, kernel) of a kernel with ``min_dims - 2`` to 3 spatial dims."""
    shape = check_shape(shape, min_dims=2)
    if not min_dims <= len(shape) <= 5:
        raise ValueError(
            f"{who} needs a convolution kernel with 1 to 3 spatial dimensions, "
            f"e.g. (out, in, kh, kw) in the torch layout; got shape {shape} "
            "(for a dense weight use eye or orthogonal)"
        )
    if _layout(layout) == "torch":
        return shape, shape[0], shape[1], shape[2:]
    return shape, shape[-1], shape[-2], shape[:-2]


def _to_layout(w_torch: np.ndarray, layout: str) -> np.ndarray:
    """(out, in, *k) -> (*k, in, out) for the keras layout."""
    if layout == "torch":
        return w_torch
    nk = w_torch.ndim - 2
    return np.transpose(w_torch, (*range(2, 2 + nk), 1, 0))


def _cast(w: np.ndarray, dtype, gain: float) -> np.ndarray:
    """``w`` in ``dtype``; a gain the dtype cannot hold raises (as for orthogonal) instead of
    giving inf or an all-zero kernel."""
    with np.errstate(over="ignore"):  # checked below
        out = w.astype(dtype)
    if not np.all(np.isfinite(out)):
        raise ValueError(
            f"gain {gain!r} overflows dtype {np.dtype(dtype).name}: use a smaller gain"
        )
    if np.any(w) and not np.any(out):
        raise ValueError(
            f"gain {gain!r} underflows dtype {np.dtype(dtype).name} (every entry is 0)"
        )
    return out


def _centre(kernel) -> tuple[int, ...]:
    # PyTorch's dirac_ puts the 1 at size // 2 (the centre of an odd kernel).
    return tuple(k // 2 for k in kernel)


@_init._library_initializer
def eye(shape, *args, rng=None, gain: float = 1.0, layout: str = "torch", dtype=np.float64):
    """Identity matrix times ``gain`` for a dense weight: ``W[i, i] = gain``, 0 elsewhere.

    ``W x = gain · x`` for a square weight; a rectangular one keeps the first
    ``min(out, in)`` coordinates. PyTorch ``torch.nn.init.eye_`` (``gain = 1``) and
    Keras ``Identity(gain)``; the transpose in the keras layout ``(in, out)`` is the
    same pattern. ``rng`` (keyword-only) is validated and ignored.
    """
    if args:
        raise _init._positional_trap("eye", args)
    shape = check_shape(shape, min_dims=2)
    if len(shape) != 2:
        raise ValueError(f"eye needs a 2-D (dense) weight shape, got {shape}; for a conv use dirac")
    _layout(layout)
    g = real(gain, "gain", positive=True)
    dt = _init._check_dtype(dtype)
    _init.as_generator(rng)
    return _cast(g * np.eye(shape[0], shape[1]), dt, g)


@_init._library_initializer
def dirac(shape, *args, rng=None, groups: int = 1, gain: float = 1.0, layout: str = "torch",
          dtype=np.float64):  # fmt: skip
    """Dirac delta kernel: the convolution copies input channel ``d`` to output channel ``d``.

    .. math::

        W[g\\,m + d,\\ d,\\ \\lfloor k_h/2 \\rfloor,\\ \\lfloor k_w/2 \\rfloor] = \\text{gain},
        \\qquad d < \\min(m, C_\\text{in}),\\ m = C_\\text{out}/\\text{groups},

    zero elsewhere, for each group :math:`g`. With ``padding = k // 2`` and stride 1 the
    layer is the identity on the first ``min(C_out, C_in)`` channels. Exactly PyTorch
    ``torch.nn.init.dirac_(w, groups)`` for ``gain = 1`` (torch layout; the keras
    layout ``(*k, in, out)`` holds the same kernel transposed). ``rng`` (keyword-only)
    is validated and ignored; ``groups`` is a keyword too (PyTorch's ``dirac_(w, 2)``
    means ``groups=2``, so ``dirac(shape, 2)`` raises ``TypeError``).

    Raises
    ------
    ValueError
        Not a 3-D to 5-D kernel, or ``out`` not divisible by ``groups``.
    """
    if args:
        raise _init._positional_trap("dirac", args)
    shape, c_out, c_in, kernel = _conv_shape(shape, layout, "dirac")
    groups = positive_int(groups, "groups")
    if c_out % groups:
        raise ValueError(f"groups={groups} must divide the number of output channels {c_out}")
    g = real(gain, "gain", positive=True)
    dt = _init._check_dtype(dtype)
    _init.as_generator(rng)
    w = np.zeros((c_out, c_in, *kernel))
    per_group = c_out // groups
    d = np.arange(min(per_group, c_in))
    for grp in range(groups):
        w[(grp * per_group + d, d, *_centre(kernel))] = g
    return _cast(_to_layout(w, layout), dt, g)


@_init._library_initializer
def delta_orthogonal(shape, *args, rng=None, gain: float = 1.0, layout: str = "torch",
                     dtype=np.float64):  # fmt: skip
    """Delta-orthogonal convolution kernel (Xiao et al., 2018, Algorithm 2).

    .. math::

        W[:, :, \\lfloor k_h/2 \\rfloor, \\lfloor k_w/2 \\rfloor] = \\text{gain}\\cdot H,
        \\qquad H^\\top H = I_{C_\\text{in}},

    and zeros at every other tap, with :math:`H` a :math:`C_\\text{out} \\times C_\\text{in}`
    matrix with orthonormal columns drawn uniformly (Haar) by
    :func:`weightinit.initializers.orthogonal`. Each output pixel is then ``gain · H``
    times the input's channel vector at the same pixel, an isometry (for ``gain = 1``),
    so a stack of such layers has a Jacobian whose singular values are all ``gain**L``
    at initialization. It needs ``C_out >= C_in`` (an orthonormal set of ``C_in``
    columns in :math:`\\mathbb{R}^{C_\\text{out}}`). The paper's TensorFlow code and Keras's
    former ``ConvolutionDeltaOrthogonal`` build the same kernel; PyTorch has no
    built-in (``dirac_`` is the special case :math:`H = I`).

    Parameters
    ----------
    shape : sequence of int
        ``(out, in, *kernel)`` (torch) or ``(*kernel, in, out)`` (keras), 1 to 3
        spatial dims; odd kernel sizes put the matrix exactly at the centre. A dense
        shape ``(out, in)`` (no spatial dims) gives the orthogonal matrix itself.
    rng : int, Generator or None
        Keyword-only: ``delta_orthogonal(shape, 0)`` raises :class:`TypeError`.
    gain : float, > 0
        Scale (the paper's :math:`\\sigma_w`; 1 for a linear or tanh network at the
        edge of chaos with :math:`\\sigma_b = 0`).
    layout : {"torch", "keras"}
    dtype : floating dtype

    Raises
    ------
    ValueError
        Not a 2-D to 5-D weight shape, or fewer output than input channels.
    """
    if args:
        raise _init._positional_trap("delta_orthogonal", args)
    shape, c_out, c_in, kernel = _conv_shape(shape, layout, "delta_orthogonal", min_dims=2)
    if c_out < c_in:
        raise ValueError(
            f"delta_orthogonal needs out_channels >= in_channels (orthonormal columns), "
            f"got out={c_out}, in={c_in} in shape {shape}"
        )
    g = real(gain, "gain", positive=True)
    dt = _init._check_dtype(dtype)
    h = _init.orthogonal((c_out, c_in), rng=rng, gain=g)
    w = np.zeros((c_out, c_in, *kernel))
    w[(slice(None), slice(None), *_centre(kernel))] = h
    return _cast(_to_layout(w, layout), dt, g)


for _fn in (eye, dirac, delta_orthogonal):
    _init._hide_varargs(_fn)

#: The structured initializers by name.
STRUCTURED = {"delta_orthogonal": delta_orthogonal, "dirac": dirac, "eye": eye}


def register() -> None:
    """Add :data:`STRUCTURED` to the registry of :func:`weightinit.get` (idempotent).

    Not done on import: see the module docstring.
    """
    for name, fn in STRUCTURED.items():
        _init._register(name)(fn)
