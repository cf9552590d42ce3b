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
"im2col + GEMM", with the matrix laid out so that both the copy and the matrix
products run over long contiguous rows:

* **im2col, once.** The input is zero-padded into a channel-major buffer
  ``(C_in, N, H_p, W_p)`` and every receptive field is copied, in one
  :func:`numpy.copyto` from a strided view, into a matrix ``cols`` of shape
  ``(C_in*kH*kW, N*H_out*R)``: rows ``(c, p, q)`` line up with
  ``w.reshape(C_out, -1)``, columns are output pixels ``(n, i, j)``. With a
  horizontal stride of 1 a row of the output is computed over the whole padded
  width (``R = W_p``; the ``d_w (k_W - 1)`` extra columns are dropped at the end),
  which makes the receptive fields of one kernel tap a single contiguous run per
  (channel, sample), so the copy moves long runs instead of ``W_out``-long pieces.
* **forward**: one GEMM ``w_mat @ cols``, then one pass that transposes the result to
  ``(N, C_out, H_out, W_out)`` and adds the bias.
* **weight gradient**: one GEMM of the (transposed) output gradient with ``cols``.
  :class:`weightinit.layers.Conv2D` keeps ``cols`` from its forward pass, so
  training builds the matrix once per step; :func:`conv2d_backward`, which is
  stateless, rebuilds it.
* **input gradient**: one GEMM ``w_mat^T @ dy`` gives the gradient of every entry
  of ``cols`` (written over ``cols``, which is not needed any more), and "col2im"
  adds the ``kH*kW`` blocks of that matrix onto the padded input grid, one
  vectorized add through a strided view per kernel tap (no matrix product per tap).

Float64 results agree with the earlier per-sample implementation to rounding
(below 1e-15 of the largest entry, in the weight gradient, whose sums are ordered
differently, and in a few input gradients).

Accepted inputs
---------------
Arrays may be any real numeric dtype. Floating-point arrays keep their dtype
(``float32`` in gives ``float32`` out; mixed precisions follow numpy's usual
promotion); integer arrays are promoted to ``float64`` before computing.
Booleans, complex numbers, strings and object arrays are rejected with a
``TypeError``; NaN or infinite entries are rejected with a ``ValueError``.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from numpy.lib.stride_tricks import as_strided

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
    # min and max propagate NaN and expose +-inf, without a boolean temporary
    if arr.dtype.kind == "f" and arr.size and not np.isfinite(arr.min() + arr.max()):
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
    # Refuse before allocating: the padded input, the im2col matrix and the output
    # (float64) are alive at the same time, so their sum is the call's working set.
    n, c, h, w = x_shape
    padded = n * c * (h + 2 * p[0]) * (w + 2 * p[1])
    cols = n * c * w_shape[2] * w_shape[3] * out_hw[0] * out_hw[1]
    out = n * w_shape[0] * out_hw[0] * out_hw[1]
    check_bytes(
        padded + cols + out, 8, "padding",
        "working set (padded input + im2col matrix + output, for this x, w)",
    )  # fmt: skip
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


def _cols_layout(out_hw, s, p, d, in_hw, kernel_hw):
    """Width of one output row in the im2col matrix and the padded input's shape.

    With a horizontal stride of 1 every output row is computed over the full padded
    width ``W + 2 p_w`` (the last ``d_w (k_W - 1)`` entries of each row are discarded
    afterwards): then the receptive fields of one kernel tap form a single contiguous
    run of the padded input per (channel, sample), and im2col is one long-run copy.
    One extra zero row at the bottom keeps the last run inside the buffer. With a larger
    stride a row is exactly ``W_out`` wide.
    """
    hp, wp = in_hw[0] + 2 * p[0], in_hw[1] + 2 * p[1]
    if s[1] == 1:
        return wp, (hp + 1, wp)
    return out_hw[1], (hp, wp)


def _padded_channels_first(x: np.ndarray, p, buf_hw) -> np.ndarray:
    """``x`` as a zero-padded buffer of shape ``(C, N, Hb, Wb)`` (channel-major)."""
    n, c, h, wd = x.shape
    xp = np.zeros((c, n, *buf_hw), dtype=x.dtype)
    xp[:, :, p[0] : p[0] + h, p[1] : p[1] + wd] = x.transpose(1, 0, 2, 3)
    return xp


def _tap_view(buf: np.ndarray, offset: int, shape, strides, writeable=False) -> np.ndarray:
    """A strided view of the flat buffer ``buf`` starting ``offset`` elements in."""
    flat = buf.reshape(-1)[offset:]
    return as_strided(flat, shape=shape, strides=strides, writeable=writeable)


def _im2col(x: np.ndarray, kernel_hw, s, p, d, out_hw, workspace=None) -> tuple[np.ndarray, int]:
    """Receptive fields as one matrix ``(C*kH*kW, N*H_out*R)``, and the row width ``R``.

    Rows are ordered ``(c, p, q)`` so that they line up with ``w.reshape(C_out, -1)``;
    columns are ordered ``(n, i, j)``, channels-last for the GEMM, with ``R`` the
    width of one output row (``W_out``, or the padded width when the stride is 1, see
    :func:`_cols_layout`). Built by one copy from a strided view of the padded input;
    this is the forward pass's only copy of the input data besides the padding.

    ``workspace``: an optional 1-D array of ``x``'s dtype to build the matrix in when it
    is large enough (a layer reuses one across training steps: a fresh allocation of
    tens of megabytes costs as much as the copy itself, in page faults).
    """
    n, c = x.shape[:2]
    kh, kw = kernel_hw
    row, buf_hw = _cols_layout(out_hw, s, p, d, x.shape[2:], kernel_hw)
    xp = _padded_channels_first(x, p, buf_hw)
    e = xp.itemsize
    wb = buf_hw[1]
    view = _tap_view(
        xp,
        0,
        (c, kh, kw, n, out_hw[0], row),
        (
            n * buf_hw[0] * wb * e,
            d[0] * wb * e,
            d[1] * e,
            buf_hw[0] * wb * e,
            s[0] * wb * e,
            s[1] * e,
        ),
    )
    shape = (c, kh, kw, n, out_hw[0], row)
    size = math.prod(shape)
    if workspace is not None and workspace.dtype == x.dtype and workspace.size >= size:
        cols = workspace[:size].reshape(shape)
    else:
        cols = np.empty(shape, dtype=x.dtype)
    np.copyto(cols, view)
    return cols.reshape(c * kh * kw, n * out_hw[0] * row), row


def _forward(x, w, b, s, p, d, out_hw, keep_cols=False, workspace=None):
    """Forward pass on validated arrays of one dtype: ``(y, cols or None)``.

    One GEMM ``(C_out, C_in*kH*kW) @ (C_in*kH*kW, N*H_out*R)``; the result is
    transposed to ``(N, C_out, H_out, W_out)`` with the bias added in the same pass.
    """
    n = x.shape[0]
    c_out = w.shape[0]
    cols, row = _im2col(x, w.shape[2:], s, p, d, out_hw, workspace)
    y = np.matmul(w.reshape(c_out, -1), cols)
    y = y.reshape(c_out, n, out_hw[0], row)[:, :, :, : out_hw[1]].transpose(1, 0, 2, 3)
    out = np.empty((n, c_out, *out_hw), dtype=x.dtype)
    if b is None:
        np.copyto(out, y)
    else:
        np.add(y, b[None, :, None, None], out=out)
    return out, (cols if keep_cols else None)


def _backward(dy, x_shape, w, s, p, d, out_hw, cols):
    """Backward pass on validated arrays of one dtype, reusing the forward's ``cols``.

    ``dw`` is one GEMM of the output gradient with the im2col matrix; ``dx`` is one
    GEMM ``w^T @ dy`` (the gradient of every im2col entry), written over ``cols``
    (which is no longer needed, so no second matrix of that size is allocated),
    followed by col2im: the ``kH*kW`` blocks of that matrix are added onto the padded
    input grid through strided views (one vectorized add per kernel tap, no matrix
    product per tap; this beat a loop-free transposed convolution -- im2col of the
    padded ``dy`` and one GEMM with the flipped kernel -- by 1.5-3x on the benchmark
    shapes, because that im2col matrix is ``C_out/C_in`` times larger).
    """
    n, c_in, h, wd = x_shape
    c_out, _, kh, kw = w.shape
    row, buf_hw = _cols_layout(out_hw, s, p, d, (h, wd), (kh, kw))

    db = dy.sum(axis=(0, 2, 3))
    # dy channel-major, (C_out, N, H_out, R); the discarded columns get zeros
    if row == out_hw[1]:
        dyt = np.ascontiguousarray(dy.transpose(1, 0, 2, 3))
    else:
        dyt = np.zeros((c_out, n, out_hw[0], row), dtype=dy.dtype)
        dyt[:, :, :, : out_hw[1]] = dy.transpose(1, 0, 2, 3)
    dyt = dyt.reshape(c_out, -1)
    w_mat = w.reshape(c_out, -1)

    # OpenBLAS's sgemm is 1.2-2x faster on these shapes with the long dimension in the
    # middle; its dgemm prefers the other order (measured on the benchmark shapes)
    if dy.dtype == np.float32:
        dw = np.ascontiguousarray(np.matmul(cols, dyt.T).T)
    else:
        dw = np.matmul(dyt, cols.T)
    dw = dw.reshape(w.shape)

    # d(cols) = w^T dy, written over cols; then col2im: tap (p, q) of row (i, j)
    # touched padded pixel (i*s_h + p*d_h, j*s_w + q*d_w); entries of the discarded
    # columns are zero.
    dcols = np.matmul(w_mat.T, dyt, out=cols).reshape(c_in, kh, kw, n, out_hw[0], row)
    dxp = np.zeros((c_in, n, *buf_hw), dtype=dy.dtype)
    e = dxp.itemsize
    wb = buf_hw[1]
    shape = (c_in, n, out_hw[0], row)
    strides = (n * buf_hw[0] * wb * e, buf_hw[0] * wb * e, s[0] * wb * e, s[1] * e)
    flat = dxp.reshape(c_in, n, -1)
    run = out_hw[0] * row
    for tap_h in range(kh):
        for tap_w in range(kw):
            offset = tap_h * d[0] * wb + tap_w * d[1]
            if s == (1, 1):  # the tap's pixels are one run per (channel, sample)
                dst = flat[:, :, offset : offset + run].reshape(shape)
            else:
                dst = _tap_view(dxp, offset, shape, strides, writeable=True)
            np.add(dst, dcols[:, tap_h, tap_w], out=dst)
    dx = dxp[:, :, p[0] : p[0] + h, p[1] : p[1] + wd].transpose(1, 0, 2, 3)
    return np.ascontiguousarray(dx), dw, db


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

    x = x.astype(dtype, copy=False)
    w = w.astype(dtype, copy=False)
    if b is not None:
        b = b.astype(dtype, copy=False)
    y, _ = _forward(x, w, b, s, p, d, out_hw)
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
    ``C_out`` swapped. Here it is evaluated as im2col's inverse instead: one
    GEMM ``w_mat^T @ dy`` gives the gradient of every im2col entry and, for each
    of the ``kH*kW`` taps, its block is added onto a strided slice of the padded
    grid (see the module docstring); this never multiplies the zeros of the
    dilated ``dy`` when the stride is larger than one. Rows/columns of the padded
    input that no receptive field reaches (possible when the stride does not
    divide the remaining size) get a zero gradient.

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
    n = x.shape[0]
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
    cols, _ = _im2col(x.astype(dtype, copy=False), (kh, kw), s, p, d, out_hw)
    return _backward(dy, x.shape, w, s, p, d, out_hw, cols)
