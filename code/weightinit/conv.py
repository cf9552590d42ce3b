"""Vectorized 2-D convolution in numpy: forward pass and backward pass.

The conventions are those of PyTorch's ``torch.nn.functional.conv2d`` (and of
Caffe and Keras): the operation is a *cross-correlation*, i.e. the kernel is
slid over the input **without** being flipped, the input is laid out as
``(N, C_in, H, W)`` and the weights as ``(C_out, C_in, kH, kW)``. Zero padding
is applied symmetrically, and the output size follows PyTorch's formula

.. math::

    H_{out} = \\left\\lfloor \\frac{H + 2 p_h - d_h (k_H - 1) - 1}{s_h} \\right\\rfloor + 1,

and likewise for the width.

How it is computed
------------------
The forward pass builds a strided *view* of every receptive field of the padded
input with :func:`numpy.lib.stride_tricks.sliding_window_view` (stride and
dilation are applied by slicing that view, so nothing is copied yet) and then
contracts it with the kernel in one (batched) matrix product -- the classic
"im2col + GEMM" scheme. The weight gradient contracts the same im2col matrix
with the output gradient. The input gradient is the *transposed* convolution,
computed as the inverse of im2col ("col2im"): for each kernel tap a small
matrix product gives the gradient reaching the input pixels that tap touched,
and it is added onto the padded input grid through one strided slice. That
short loop over the ``kH*kW`` taps is the only Python loop; there are none
over pixels, samples or channels (``conv2d_backward`` explains why the taps
are looped over).

Accepted inputs
---------------
Arrays may be any real numeric dtype. Floating-point arrays keep their dtype
(``float32`` in gives ``float32`` out; mixed precisions follow numpy's usual
promotion); integer arrays are promoted to ``float64`` before computing.
Booleans, complex numbers, strings and object arrays are rejected with a
``TypeError``; NaN or infinite entries are rejected with a ``ValueError``.
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._validate import check_bytes

__all__ = ["conv2d", "conv2d_backward", "conv2d_output_shape"]


# ---------------------------------------------------------------------------
# argument checking
# ---------------------------------------------------------------------------


def _is_int(value) -> bool:
    """True for Python/numpy integers, False for bools (which subclass int)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _pair(value, name: str, minimum: int) -> tuple[int, int]:
    """Turn an int or an ``(h, w)`` pair into a checked tuple of two ints.

    ``minimum`` is the smallest allowed value (1 for stride and dilation, 0 for
    padding).
    """
    what = "a positive integer" if minimum >= 1 else "a non-negative integer"
    if _is_int(value):
        items = (value, value)
    elif isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(
                f"{name} must be {what} or a pair (h, w) of length 2; "
                f"got a sequence of length {len(value)}"
            )
        items = tuple(value)
    else:
        raise TypeError(
            f"{name} must be {what} or a pair (h, w) of them; "
            f"got {value!r} of type {type(value).__name__}"
        )
    for item in items:
        if not _is_int(item):
            raise TypeError(
                f"{name} must contain integers only (bools and floats are not allowed); got {value!r}"
            )
        if item < minimum:
            raise ValueError(f"{name} must be {what} (>= {minimum}); got {value!r}")
    return int(items[0]), int(items[1])


def _as_real_array(a, name: str) -> np.ndarray:
    """Convert ``a`` to an ndarray and check that it holds real numbers."""
    arr = np.asarray(a)
    kind = arr.dtype.kind
    if kind not in "fiu":
        raise TypeError(
            f"{name} must be an array of real numbers (float or int); got dtype {arr.dtype}"
        )
    return arr


def _check_finite(arr: np.ndarray, name: str) -> None:
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")


def _compute_dtype(*arrays: np.ndarray) -> np.dtype:
    """Common floating dtype: numpy promotion, with integers going to float64."""
    dtype = np.result_type(*arrays)
    if dtype.kind != "f":
        dtype = np.result_type(dtype, np.float64)
    return dtype


def _check_x_w(x, w):
    x = _as_real_array(x, "x")
    w = _as_real_array(w, "w")
    if x.ndim != 4:
        raise ValueError(
            f"x must be 4-D with layout (N, C_in, H, W); got {x.ndim}-D array of shape {x.shape}"
        )
    if w.ndim != 4:
        raise ValueError(
            f"w must be 4-D with layout (C_out, C_in, kH, kW); got {w.ndim}-D array of shape {w.shape}"
        )
    if x.shape[1] != w.shape[1]:
        raise ValueError(
            f"channel mismatch: x has {x.shape[1]} input channels (x.shape[1]) but "
            f"w expects {w.shape[1]} (w.shape[1])"
        )
    if min(w.shape) == 0:
        raise ValueError(f"w must have non-zero size in every dimension; got shape {w.shape}")
    _check_finite(x, "x")
    _check_finite(w, "w")
    return x, w


def _geometry(x_shape, w_shape, stride, padding, dilation):
    """Validate the hyper-parameters and return them with the output size."""
    s = _pair(stride, "stride", 1)
    p = _pair(padding, "padding", 0)
    d = _pair(dilation, "dilation", 1)
    out_hw = _output_hw(x_shape[2:], w_shape[2:], s, p, d)
    # Refuse before allocating: the padded input and the im2col matrix (float64).
    n, c, h, w = x_shape
    padded = n * c * (h + 2 * p[0]) * (w + 2 * p[1])
    cols = n * c * w_shape[2] * w_shape[3] * out_hw[0] * out_hw[1]
    check_bytes(max(padded, cols), 8, "padding", "padded input or im2col matrix (for this x, w)")
    return s, p, d, out_hw


def _output_hw(input_hw, kernel_hw, s, p, d) -> tuple[int, int]:
    out = []
    for axis, size, k, si, pi, di in zip(
        ("height", "width"), input_hw, kernel_hw, s, p, d, strict=True
    ):
        padded = size + 2 * pi
        span = di * (k - 1) + 1
        if span > padded:
            raise ValueError(
                f"kernel {axis} is too large: the dilated kernel spans {span} pixels "
                f"(kernel size {k}, dilation {di}) but the padded input {axis} is only "
                f"{padded} (input {size} + 2*padding {pi})"
            )
        out.append((padded - span) // si + 1)
    return out[0], out[1]


def _size_pair(value, name: str) -> tuple[int, int]:
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(_is_int(v) for v in value):
        if min(value) < 1:
            raise ValueError(f"{name} must contain positive integers; got {value!r}")
        return int(value[0]), int(value[1])
    raise ValueError(f"{name} must be a pair (h, w) of positive integers; got {value!r}")


# ---------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------


def conv2d_output_shape(input_hw, kernel_hw, stride=1, padding=0, dilation=1) -> tuple[int, int]:
    """Spatial size ``(H_out, W_out)`` of a 2-D convolution.

    Parameters
    ----------
    input_hw : tuple of int
        ``(H, W)`` of the (unpadded) input.
    kernel_hw : tuple of int
        ``(kH, kW)`` of the kernel.
    stride, padding, dilation : int or tuple of int
        As in :func:`conv2d`.

    Returns
    -------
    tuple of int
        ``H_out = floor((H + 2*p_h - d_h*(kH - 1) - 1) / s_h) + 1`` and the
        analogous width.

    Raises
    ------
    ValueError
        If a size is not a pair of positive ints, a hyper-parameter is out of
        range, or the dilated kernel does not fit in the padded input.
    TypeError
        If a hyper-parameter is not an int (or a pair of ints).
    """
    in_hw = _size_pair(input_hw, "input_hw")
    k_hw = _size_pair(kernel_hw, "kernel_hw")
    s = _pair(stride, "stride", 1)
    p = _pair(padding, "padding", 0)
    d = _pair(dilation, "dilation", 1)
    return _output_hw(in_hw, k_hw, s, p, d)


def _pad(x: np.ndarray, ph: int, pw: int) -> np.ndarray:
    if ph == 0 and pw == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))


def _windows(xp: np.ndarray, kernel_hw, s, d, out_hw) -> np.ndarray:
    """Strided view ``(N, C, H_out, W_out, kH, kW)`` of all receptive fields.

    ``win[n, c, i, j, p, q] == xp[n, c, i*s_h + p*d_h, j*s_w + q*d_w]``; no data
    is copied.
    """
    kh, kw = kernel_hw
    span = (d[0] * (kh - 1) + 1, d[1] * (kw - 1) + 1)
    win = sliding_window_view(xp, span, axis=(2, 3))
    win = win[:, :, :: s[0], :: s[1], :: d[0], :: d[1]]
    # the slices above never overshoot, but trim defensively to the exact size
    return win[:, :, : out_hw[0], : out_hw[1]]


def _im2col(xp: np.ndarray, kernel_hw, s, d, out_hw) -> np.ndarray:
    """Receptive fields as a matrix per sample: ``(N, C*kH*kW, H_out*W_out)``.

    Rows are ordered ``(c, p, q)`` so that they line up with
    ``w.reshape(C_out, -1)``. This reshape is the one place the forward pass
    copies the (strided, overlapping) window view into fresh memory.
    """
    n, c = xp.shape[:2]
    kh, kw = kernel_hw
    win = _windows(xp, kernel_hw, s, d, out_hw)
    return win.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, out_hw[0] * out_hw[1])


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1) -> np.ndarray:
    """2-D cross-correlation of a batch of images with a bank of filters.

    Computes, for every sample ``n``, filter ``f`` and output pixel ``(i, j)``,

    ``y[n, f, i, j] = b[f] + sum_{c, p, q} w[f, c, p, q] * x_pad[n, c, i*s_h + p*d_h, j*s_w + q*d_w]``

    where ``x_pad`` is ``x`` with ``padding`` zeros added on both sides of each
    spatial axis, ``s`` is the stride and ``d`` the dilation. The kernel is not
    flipped (this is what deep-learning libraries call "convolution").

    Parameters
    ----------
    x : array_like, shape (N, C_in, H, W)
        Input batch.
    w : array_like, shape (C_out, C_in, kH, kW)
        Filters, in PyTorch's layout.
    b : array_like, shape (C_out,), optional
        One bias per output channel; ``None`` means no bias.
    stride : int or (int, int), default 1
        Step between neighbouring receptive fields (positive).
    padding : int or (int, int), default 0
        Number of zeros added on each side of the height / width (non-negative).
    dilation : int or (int, int), default 1
        Spacing between kernel taps (positive).

    Returns
    -------
    y : ndarray, shape (N, C_out, H_out, W_out)
        With ``H_out, W_out`` given by :func:`conv2d_output_shape`. The dtype is
        the common floating dtype of the inputs (``float32`` stays ``float32``,
        integers become ``float64``).

    Raises
    ------
    ValueError
        Wrong number of dimensions, channel mismatch, bad bias shape, bad
        stride/padding/dilation values, a dilated kernel larger than the padded
        input, or NaN/inf entries.
    TypeError
        Non-real dtypes, or a non-integer stride/padding/dilation.

    Examples
    --------
    >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> w = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])
    >>> conv2d(x, w)[0, 0]
    array([[-4., -4.],
           [-4., -4.]])
    """
    x, w = _check_x_w(x, w)
    arrays = [x, w]
    if b is not None:
        b = _as_real_array(b, "b")
        if b.shape != (w.shape[0],):
            raise ValueError(
                f"b must have shape (C_out,) = ({w.shape[0]},) to match w; got shape {b.shape}"
            )
        _check_finite(b, "b")
        arrays.append(b)
    dtype = _compute_dtype(*arrays)
    s, p, d, out_hw = _geometry(x.shape, w.shape, stride, padding, dilation)

    xp = _pad(x.astype(dtype, copy=False), *p)
    cols = _im2col(xp, w.shape[2:], s, d, out_hw)
    w_mat = w.astype(dtype, copy=False).reshape(w.shape[0], -1)
    # one batched GEMM: (C_out, K) @ (N, K, H_out*W_out) -> (N, C_out, H_out*W_out)
    y = np.matmul(w_mat, cols).reshape(x.shape[0], w.shape[0], *out_hw)
    if b is not None:
        y += b.astype(dtype, copy=False)[None, :, None, None]
    return y


def conv2d_backward(dy, x, w, stride=1, padding=0, dilation=1):
    """Gradients of a scalar loss through :func:`conv2d`.

    Given ``dy = dL/dy`` for ``y = conv2d(x, w, b, stride, padding, dilation)``,
    returns ``(dx, dw, db)`` with

    * ``db[f] = sum_{n, i, j} dy[n, f, i, j]``
    * ``dw[f, c, p, q] = sum_{n, i, j} dy[n, f, i, j] * x_pad[n, c, i*s_h + p*d_h, j*s_w + q*d_w]``
    * ``dx_pad[n, c, u, v] = sum_{f, p, q, i, j : i*s_h + p*d_h = u, j*s_w + q*d_w = v}
      dy[n, f, i, j] * w[f, c, p, q]`` and ``dx`` is ``dx_pad`` with the padding
      border cut away.

    The last sum is a transposed convolution. It equals a stride-1
    cross-correlation (same dilation) of ``dy`` -- dilated by the stride, i.e.
    ``s - 1`` zeros between entries, and padded with ``d*(k - 1)`` zeros on each
    side -- with the kernel flipped in both spatial axes and with ``C_in`` and
    ``C_out`` swapped. Here it is evaluated as im2col's inverse instead: for
    each of the ``kH*kW`` taps, ``w[:, :, p, q]^T @ dy`` is added onto a strided
    slice of the padded grid, which avoids multiplying the many zeros of the dilated ``dy`` when the stride is
    larger than one. Rows/columns of the padded input that no receptive field
    reaches (possible when the stride does not divide the remaining size) get a
    zero gradient.

    Parameters
    ----------
    dy : array_like, shape (N, C_out, H_out, W_out)
        Gradient of the loss with respect to the forward output.
    x, w, stride, padding, dilation
        Exactly what was passed to :func:`conv2d`. The bias is not needed.

    Returns
    -------
    dx : ndarray, shape like ``x``
    dw : ndarray, shape like ``w``
    db : ndarray, shape (C_out,)
        Always returned, even if the forward pass used no bias.

    Raises
    ------
    ValueError
        All the cases of :func:`conv2d`, plus ``dy`` not having the forward
        output's shape or containing NaN/inf.
    TypeError
        As in :func:`conv2d`, including for ``dy``.
    """
    x, w = _check_x_w(x, w)
    dy = _as_real_array(dy, "dy")
    s, p, d, out_hw = _geometry(x.shape, w.shape, stride, padding, dilation)
    n, c_in, h, wd = x.shape
    c_out, _, kh, kw = w.shape
    expected = (n, c_out, *out_hw)
    if dy.shape != expected:
        raise ValueError(
            f"dy must have the forward output shape (N, C_out, H_out, W_out) = {expected}; got {dy.shape}"
        )
    _check_finite(dy, "dy")
    dtype = _compute_dtype(dy, x, w)
    dy = dy.astype(dtype, copy=False)
    w = w.astype(dtype, copy=False)
    xp = _pad(x.astype(dtype, copy=False), *p)

    db = dy.sum(axis=(0, 2, 3))
    dy_mat = dy.reshape(n, c_out, out_hw[0] * out_hw[1])

    # dw: the forward's im2col matrix contracted with dy over (n, i, j)
    cols = _im2col(xp, (kh, kw), s, d, out_hw)  # (N, C_in*kH*kW, H_out*W_out)
    dw = np.matmul(dy_mat, cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
    del cols  # the largest temporary; free it before dx allocates its own

    # dx: "col2im". For each kernel tap (p, q), w[:, :, p, q]^T @ dy is the
    # gradient of the input pixels that this tap saw, one per output pixel;
    # it is added onto x_pad at rows p*d_h + i*s_h, columns q*d_w + j*s_w.
    # Summed over the taps this is exactly the transposed convolution. The
    # loop over the kH*kW taps is deliberate: on the benchmark shapes (3x3
    # kernels, batch 64, 8 -> 16 channels) it beat a loop-free transposed
    # convolution (dilate dy by the stride, pad, correlate with the flipped,
    # channel-swapped kernel) by about 1.2x at stride 1 and 3x at stride 2,
    # where the dilated dy is three-quarters zeros. Rows/columns of x_pad that
    # no receptive field reaches are never written and stay zero.
    dxp = np.zeros((n, c_in, h + 2 * p[0], wd + 2 * p[1]), dtype=dtype)
    rows_span = (out_hw[0] - 1) * s[0] + 1
    cols_span = (out_hw[1] - 1) * s[1] + 1
    w_taps = w.transpose(2, 3, 1, 0)  # (kH, kW, C_in, C_out)
    for tap_h in range(kh):
        r0 = tap_h * d[0]
        for tap_w in range(kw):
            c0 = tap_w * d[1]
            grad = np.matmul(w_taps[tap_h, tap_w], dy_mat)  # (N, C_in, H_out*W_out)
            dxp[:, :, r0 : r0 + rows_span : s[0], c0 : c0 + cols_span : s[1]] += grad.reshape(
                n, c_in, *out_hw
            )
    dx = dxp[:, :, p[0] : p[0] + h, p[1] : p[1] + wd]
    return np.ascontiguousarray(dx), dw, db
