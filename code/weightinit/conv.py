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
"im2col + GEMM": three matrix products (GEMMs) per forward + backward, and no
Python loop over the kernel taps.

* **The frame.** Output pixel ``(n, i, j)`` of every image is one column ``t`` of the
  GEMMs, ``t = (n*H_f + i)*R + j``, with a few extra ("junk") rows and columns per
  image (``H_f >= H_out``, ``R >= W_out``) that are computed and thrown away; their
  output gradient is zero (:func:`_make_plan` sizes them).
* **im2col, once.** The input is copied, channel-major, into a zero-padded buffer
  in which neighbouring rows and images share their padding zeros. At stride 1 the
  buffer has the frame's geometry, so output ``t`` reads entry
  ``t + p*d_h*R + q*d_w`` through kernel tap ``(p, q)``: each row ``(c, p, q)`` of the
  matrix ``cols`` (``C_in*kH*kW`` rows, lined up with ``w.reshape(C_out, -1)``) is one
  contiguous slice of the buffer, and the whole matrix is one :func:`numpy.copyto`
  from a strided view. With a larger stride the same copy moves ``W_out``-long runs.
* **forward**: one GEMM ``w_mat @ cols``, then one pass that takes the valid pixels
  to ``(N, C_out, H_out, W_out)`` and adds the bias.
* **weight gradient**: one GEMM of the output gradient (in the frame) with ``cols``.
  :class:`weightinit.layers.Conv2D` keeps ``cols`` from its forward pass, so
  training builds the matrix once per step; :func:`conv2d_backward`, which is
  stateless, builds it inside the backward pass. A forward pass that keeps nothing
  (:func:`conv2d`, ``Conv2D.forward(training=False)``) builds one chunk of it at a
  time.
* **input gradient**: one GEMM ``w_mat^T @ dy`` gives the gradient of every entry of
  ``cols`` (written over ``cols``, which is not needed any more); each input pixel's
  gradient is the sum of the entries it was copied to. At stride 1 those are entries
  ``u - p*d_h*R - q*d_w`` of the rows ``(c, p, q)``, one strided view of the matrix,
  so the sum over all taps and pixels is a single :func:`numpy.add.reduce` (a
  "gather"; no scatter-add per tap). With a stride ``s > 1`` the pixels split into
  ``s_h*s_w`` residue classes, each one strided view and one reduction
  (:func:`_gather_views`).

Large problems go through these steps in chunks of whole images of about 2 MiB of the
im2col matrix (``_CHUNK_BYTES``): each GEMM then reads what the copy before it has just
written while it is still in the cache (5-15 % faster on the larger benchmark shapes),
and the output, output-gradient and input-gradient passes need no full-size
temporaries. The chunks are a loop over images, not over taps; the weight gradient adds
up one small ``(C_out, C_in*kH*kW)`` product per chunk.

This beat the alternative for the input gradient -- a transposed convolution, im2col
of the padded output gradient and one GEMM with the flipped kernel -- by 1.3-2.5x on
the benchmark shapes: that im2col matrix is ``C_out/C_in`` times larger than ``cols``.

Float64 results agree with the loop reference of the tests to rounding (sums are
ordered differently).

Accepted inputs
---------------
Arrays may be any real numeric dtype. Floating-point arrays keep their dtype
(``float32`` in gives ``float32`` out; mixed precisions follow numpy's usual
promotion); integer arrays are promoted to ``float64`` before computing.
Booleans, complex numbers, strings and object arrays are rejected with a
``TypeError``; NaN or infinite entries are rejected with a ``ValueError``.
"""

from __future__ import annotations

import itertools
import math
import numbers
from typing import NamedTuple

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


def _geometry(x_shape, w_shape, stride, padding, dilation) -> _Plan:
    """Validate the hyper-parameters and lay out the computation (:func:`_make_plan`)."""
    s = _pair(stride, "stride", 1)
    p = _pair(padding, "padding", 0)
    d = _pair(dilation, "dilation", 1)
    out_hw = _output_hw(x_shape[2:], w_shape[2:], s, p, d)
    plan = _make_plan(x_shape, w_shape, s, p, d, out_hw)
    # Refuse before allocating: the im2col matrix, the padded input and the output frame
    # (float64) can be alive at the same time, so their sum is the call's working set.
    rows = w_shape[1] * w_shape[2] * w_shape[3]
    working = rows * plan.row_len + x_shape[1] * plan.buf_len + w_shape[0] * plan.t
    check_bytes(
        working, 8, "padding",
        "working set (padded input + im2col matrix + output, for this x, w)",
    )  # fmt: skip
    return plan


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


class _Plan(NamedTuple):
    """Every size and offset of one convolution's computation (see :func:`_make_plan`)."""

    n: int
    c_in: int
    c_out: int
    in_hw: tuple[int, int]
    kernel_hw: tuple[int, int]
    s: tuple[int, int]
    p: tuple[int, int]
    d: tuple[int, int]
    out_hw: tuple[int, int]
    frame_hw: tuple[int, int]  # (H_f, R): rows and row width of one image in the frame
    buf_hw: tuple[int, int]  # (H_b, W_b): rows and row width of one image in the buffer
    buf_len: int  # entries of one channel of the padded-input buffer
    t: int  # columns of the frame: N * H_f * R
    margin: int  # zero entries in front of each row of the im2col matrix
    row_len: int  # stride of the im2col matrix's rows (>= margin + t)


def _make_plan(x_shape, w_shape, s, p, d, out_hw) -> _Plan:
    """Lay out the padded input, the im2col matrix and the output "frame".

    The **frame** indexes the output pixels of all images in one flat axis:
    output ``(n, i, j)`` is column ``t = (n*H_f + i)*R + j`` of the GEMMs, with
    ``H_f >= H_out`` rows of ``R >= W_out`` entries per image; the extra ("junk") rows and
    columns are computed and thrown away by the forward pass, and their output gradient is
    zero. They are sized so that the input gradient's gather (:func:`_gather_views`) can
    step a kernel's extent below row or column 0 of an image and land on zeros:
    ``R >= W_out + (taps reaching before column 0)`` and ``R`` above the last column a
    real input pixel maps to (likewise for the rows).

    The **buffer** is the zero-padded input, channel-major, ``(C_in, buf_len)``: image
    ``n``'s padded pixel ``(a, b)`` is entry ``(n*H_b + a)*W_b + b``, so padding zeros are
    shared by neighbouring rows and images (``W_b = W + g_w`` with a gap ``g_w >= p_w``
    of zeros after each row stands for the left *and* the right padding). With stride 1
    the buffer has the frame's geometry (``W_b = R``, ``H_b = H_f``): then output ``t``
    reads buffer entry ``t + p*d_h*W_b + q*d_w`` through kernel tap ``(p, q)``, and a row
    of the im2col matrix is one contiguous slice of the buffer.
    """
    n, c_in, h, w = x_shape
    c_out, _, kh, kw = w_shape
    ho, wo = out_hw
    frame = []
    for size, k, si, pi, di, o in zip((h, w), (kh, kw), s, p, d, out_hw, strict=True):
        lowest = (pi - (k - 1) * di) // si  # lowest output index a real pixel maps to
        highest = (pi + size - 1) // si  # highest one
        frame.append(max(o + max(0, -lowest), highest + 1))
    hf, r = frame
    if s == (1, 1):
        hb, wb = hf, r
    else:
        hb, wb = h + p[0], w + p[1]
    # entries read by the forward pass: all frame columns with every tap at stride 1
    # (junk ones included), the valid outputs otherwise
    reach = (kh - 1) * d[0] * wb + (kw - 1) * d[1]
    t = n * hf * r
    if s == (1, 1):
        last = t - 1 + reach
    else:
        last = (n - 1) * hb * wb + (ho - 1) * s[0] * wb + (wo - 1) * s[1] + reach
    buf_len = max(last + 1, n * hb * wb)
    lowest_t = ((p[0] - (kh - 1) * d[0]) // s[0]) * r + (p[1] - (kw - 1) * d[1]) // s[1]
    margin = max(0, -lowest_t)
    row_len = -(-(margin + t) // 16) * 16  # rows start 64-byte aligned in float32
    return _Plan(
        n, c_in, c_out, (h, w), (kh, kw), s, p, d, out_hw, (hf, r), (hb, wb), buf_len, t,
        margin, row_len,
    )  # fmt: skip


class _Workspace:
    """The arrays of one convolution (one plan, one dtype), reusable across calls.

    ``cols`` (the im2col matrix, ``(C_in*kH*kW, row_len)``, zero margins), ``buf`` (the
    padded input, zero gaps) and ``dy`` (the output gradient in the ``(C_out, t)`` frame,
    zero junk entries). Only the entries that hold data are written, so a workspace that
    is used again keeps its zeros: the padding is not rewritten at every step. The
    strided views into these arrays are made (and bounds-checked) once per workspace.
    (The forward's output frame is a temporary: keeping it measured no faster.)
    """

    def __init__(self, plan: _Plan, dtype):
        self.plan, self.dtype = plan, np.dtype(dtype)
        self._memo = {}

    def _get(self, name, make):
        value = self._memo.get(name)
        if value is None:
            value = self._memo[name] = make()
        return value

    def cols(self) -> np.ndarray:
        def make():
            pl = self.plan
            rows = pl.c_in * pl.kernel_hw[0] * pl.kernel_hw[1]
            cols = np.empty((rows, pl.row_len), self.dtype)
            cols[:, : pl.margin] = 0
            cols[:, pl.margin + pl.t :] = 0
            return cols

        return self._get("cols", make)

    def cols_data(self) -> np.ndarray:
        """The data part ``(C_in*kH*kW, t)`` of the matrix (rows ``row_len`` apart)."""
        pl = self.plan
        return self._get("cols_data", lambda: self.cols()[:, pl.margin : pl.margin + pl.t])

    def buf(self) -> np.ndarray:
        pl = self.plan
        return self._get("buf", lambda: np.zeros((pl.c_in, pl.buf_len), self.dtype))

    def dy(self) -> np.ndarray:
        pl = self.plan
        return self._get("dy", lambda: np.zeros((pl.c_out, pl.t), self.dtype))

    def x_slot(self) -> np.ndarray:
        """Where ``x.transpose(1, 0, 2, 3)`` goes in the buffer, ``(C_in, N, H, W)``."""

        def make():
            pl = self.plan
            (h, w), (hb, wb) = pl.in_hw, pl.buf_hw
            inner = self.buf()[:, : pl.n * hb * wb].reshape(pl.c_in, pl.n, hb, wb)
            return inner[:, :, pl.p[0] : pl.p[0] + h, pl.p[1] : pl.p[1] + w]

        return self._get("x_slot", make)

    def dy_slot(self) -> np.ndarray:
        """Where ``dy.transpose(1, 0, 2, 3)`` goes in the frame, ``(C_out, N, H_out, W_out)``."""
        return self._get("dy_slot", lambda: _frame(self.dy(), self.plan))

    def im2col_source(self) -> np.ndarray:
        """The receptive fields as a strided view of the buffer.

        ``(C_in, kH, kW, t)`` at stride 1 (all frame columns, each a contiguous run),
        ``(C_in, kH, kW, N, H_out, W_out)`` otherwise (the valid outputs only).
        """

        def make():
            pl = self.plan
            (kh, kw), (hb, wb), (ho, wo) = pl.kernel_hw, pl.buf_hw, pl.out_hw
            tap = (pl.buf_len, pl.d[0] * wb, pl.d[1])
            if pl.s == (1, 1):
                return _view(self.buf(), 0, (pl.c_in, kh, kw, pl.t), (*tap, 1))
            steps = (*tap, hb * wb, pl.s[0] * wb, pl.s[1])
            return _view(self.buf(), 0, (pl.c_in, kh, kw, pl.n, ho, wo), steps)

        return self._get("im2col_source", make)

    def gather(self):
        """The strided views of the input gradient's gather (:func:`_gather_views`)."""
        return self._get("gather", lambda: _gather_views(self.cols(), self.plan))


def _frame(a: np.ndarray, plan: _Plan) -> np.ndarray:
    """The valid part of a ``(rows, t)`` frame as ``(rows, N, H_out, W_out)``."""
    pl = plan
    return a.reshape(a.shape[0], pl.n, *pl.frame_hw)[:, :, : pl.out_hw[0], : pl.out_hw[1]]


def _view(a: np.ndarray, offset: int, shape, steps) -> np.ndarray:
    """Read-only strided view of the contiguous array ``a``, from flat entry ``offset``.

    ``steps`` are strides in entries (not bytes). Every entry of the view is checked to
    lie inside ``a`` (a few integer operations): a wrong layout fails loudly here
    instead of reading memory that is not ``a``'s.
    """
    lo = hi = offset
    for size, step in zip(shape, steps, strict=True):
        if size == 0:
            lo, hi = 0, -1
            break
        reach = (size - 1) * step
        lo, hi = lo + min(reach, 0), hi + max(reach, 0)
    if lo < 0 or hi >= a.size or not a.flags.c_contiguous:
        raise RuntimeError(  # pragma: no cover - a bug in the layout, never the user's
            f"internal error: strided view [{lo}, {hi}] outside an array of {a.size} entries"
        )
    e = a.itemsize
    flat = a.reshape(-1)[offset:]
    return as_strided(flat, shape, [step * e for step in steps], writeable=False)


#: The passes work through the im2col matrix in chunks of whole images of about this
#: many bytes (and not at all below twice as many): the GEMM reads what the im2col copy
#: has just written, and the gather what the GEMM has just written, from the cache.
#: Measured on the benchmark shapes: 5-15 % faster than whole-matrix passes at 1-2 MiB,
#: up to 10 % slower on the small ones at 0.5 MiB.
_CHUNK_BYTES = 2 * 2**20


def _chunks(plan: _Plan, itemsize: int):
    """``(first image, end image, frame slice)`` of the chunks the passes work through."""
    pl = plan
    rows = pl.c_in * pl.kernel_hw[0] * pl.kernel_hw[1]
    tn = pl.frame_hw[0] * pl.frame_hw[1]
    total = rows * pl.t * itemsize
    count = 1 if total <= 2 * _CHUNK_BYTES else min(pl.n, -(-total // _CHUNK_BYTES))
    bounds = [pl.n * k // count for k in range(count + 1)]  # balanced
    return [(n0, n1, slice(n0 * tn, n1 * tn)) for n0, n1 in itertools.pairwise(bounds)]


def _fill_cols(dst: np.ndarray, ws: _Workspace, n0: int, n1: int) -> None:
    """Copy the im2col columns of images ``n0:n1`` into ``dst`` (``(C_in*kH*kW, cols)``).

    At stride 1 each row is a single contiguous slice of the buffer; otherwise one run
    of ``W_out`` entries per output row, and the junk entries are zeroed (no stale value
    meets the zero output gradient).
    """
    pl = ws.plan
    (kh, kw), (hf, r), (ho, wo) = pl.kernel_hw, pl.frame_hw, pl.out_hw
    src = ws.im2col_source()
    tn = hf * r
    dst = np.reshape(dst, (pl.c_in, kh, kw, (n1 - n0) * tn), copy=False)  # a view
    if pl.s == (1, 1):
        np.copyto(dst, src[..., n0 * tn : n1 * tn])
        return
    dst = np.reshape(dst, (pl.c_in, kh, kw, n1 - n0, hf, r), copy=False)
    np.copyto(dst[..., :ho, :wo], src[:, :, :, n0:n1])
    dst[..., ho:, :] = 0
    dst[..., :ho, wo:] = 0


def _forward(x, w, b, plan: _Plan, ws: _Workspace, keep: bool = True) -> np.ndarray:
    """Forward pass on validated arrays of one dtype.

    Per chunk of images: the im2col copy, one GEMM ``(C_out, C_in*kH*kW) @ (C_in*kH*kW,
    frame columns)``, and one pass that takes the valid pixels to
    ``(N, C_out, H_out, W_out)`` and adds the bias. ``keep``: build the whole im2col
    matrix in ``ws`` (for a backward pass); otherwise only a chunk-sized one, reused
    from chunk to chunk.
    """
    pl = plan
    (hf, r), (ho, wo) = pl.frame_hw, pl.out_hw
    np.copyto(ws.x_slot(), x.transpose(1, 0, 2, 3))
    chunks = _chunks(pl, x.itemsize)
    if keep:
        cols = ws.cols_data()
    else:
        longest = max(n1 - n0 for n0, n1, _ in chunks) * hf * r
        scratch = np.empty((pl.c_in * pl.kernel_hw[0] * pl.kernel_hw[1], longest), x.dtype)
    w_mat = w.reshape(pl.c_out, -1)
    out = np.empty((pl.n, pl.c_out, ho, wo), dtype=x.dtype)
    for n0, n1, sl in chunks:
        part = cols[:, sl] if keep else scratch[:, : (n1 - n0) * hf * r]
        _fill_cols(part, ws, n0, n1)
        yf = np.matmul(w_mat, part)
        y = yf.reshape(pl.c_out, n1 - n0, hf, r)[:, :, :ho, :wo].transpose(1, 0, 2, 3)
        if b is None:
            np.copyto(out[n0:n1], y)
        else:
            np.add(y, b[None, :, None, None], out=out[n0:n1])
    return out


def _backward(dy, w, plan: _Plan, ws: _Workspace, x=None):
    """Backward pass on validated arrays of one dtype, from the im2col matrix in ``ws``.

    ``db`` is a sum. Per chunk of images: ``dw`` one GEMM of the output gradient (in the
    frame, zero on the junk pixels) with the im2col matrix, summed over the chunks; ``dx``
    one GEMM ``w^T @ dy`` -- the gradient of every im2col entry, written over the matrix,
    which is not needed any more -- and the gather of :func:`_gather_views`. The matrix
    is overwritten: it serves one backward. With ``x`` the matrix is built here, chunk by
    chunk (for a forward pass that kept none): each chunk's GEMMs then read it from the
    cache.
    """
    pl = plan
    (h, wd), (hf, r) = pl.in_hw, pl.frame_hw
    db = dy.sum(axis=(0, 2, 3))
    dyf, dy_slot, cols = ws.dy(), ws.dy_slot(), ws.cols_data()
    w_t = w.reshape(pl.c_out, -1).T
    views = ws.gather()
    dx = np.empty((pl.n, pl.c_in, h, wd), dtype=dy.dtype)
    dw = None
    if x is not None:
        np.copyto(ws.x_slot(), x.transpose(1, 0, 2, 3))
    for n0, n1, sl in _chunks(pl, dy.itemsize):
        if x is not None:
            _fill_cols(cols[:, sl], ws, n0, n1)
        np.copyto(dy_slot[:, n0:n1], dy[n0:n1].transpose(1, 0, 2, 3))
        # OpenBLAS's sgemm was faster on these shapes with the long dimension in the
        # middle on its SkylakeX kernel, its dgemm with the other order; on its Haswell
        # kernel (AMD EPYC) both orders are within 3 % of each other
        if dy.dtype == np.float32:
            part = np.matmul(cols[:, sl], dyf[:, sl].T).T
        else:
            part = np.matmul(dyf[:, sl], cols[:, sl].T)
        dw = np.ascontiguousarray(part) if dw is None else np.add(dw, part, out=dw)
        np.matmul(w_t, dyf[:, sl], out=cols[:, sl])  # d(cols), junk columns zero
        if pl.s == (1, 1):  # the gradient of the chunk's part of the padded buffer
            dxf = np.add.reduce(views[0][1][:, sl], axis=(2, 3))
            dxf = dxf.reshape(pl.c_in, n1 - n0, hf, r)
            dxf = dxf[:, :, pl.p[0] : pl.p[0] + h, pl.p[1] : pl.p[1] + wd]
            np.copyto(dx[n0:n1], dxf.transpose(1, 0, 2, 3))
        else:
            for where, view in views:
                if view is None:
                    dx[n0:n1][where] = 0
                else:
                    np.add.reduce(view[n0:n1], axis=(4, 5), out=dx[n0:n1][where])
    return dx, dw.reshape(w.shape), db


def _gather_views(dcols: np.ndarray, plan: _Plan):
    """The input gradient's gather: ``[(slices of dx, strided view of dcols or None)]``.

    Input pixel ``(a, b)`` (padded coordinates) received ``x``'s value in every im2col
    entry ``(c, p, q; n, i, j)`` with ``a = i*s_h + p*d_h`` and ``b = j*s_w + q*d_w``;
    its gradient is the sum of those entries' gradients (``dcols``, the matrix after
    :func:`_backward`'s second GEMM). For the pixels with ``a`` in one residue class
    modulo ``s_h`` (and ``b`` modulo ``s_w``), the contributing taps ``p`` form an
    arithmetic progression and ``i`` falls by a fixed step from one to the next, so the
    entries to add up are one strided view ``(N, C_in, rows, columns, taps_h, taps_w)``
    of ``dcols``, and one ``np.add.reduce`` over its two tap axes writes those pixels of
    ``dx`` (``dx[slices]``); a class no tap reaches gets zeros (view ``None``). Entries
    outside ``0 <= i < H_out``, ``0 <= j < W_out`` land on the frame's junk pixels or the
    row margins, which are zero (:func:`_make_plan`). No Python loop over the taps.

    At stride 1 there is one class, and the buffer has the frame's geometry: buffer
    entry ``u`` gets entry ``u - p*d_h*R - q*d_w`` of row ``(c, p, q)``, a single
    ``(C_in, t, kH, kW)`` view whose sum over the taps is the gradient of the whole padded
    buffer, long contiguous runs (``slices`` is then ``None``; the padding is cut after).
    """
    pl = plan
    (h, w), (kh, kw), (hf, r) = pl.in_hw, pl.kernel_hw, pl.frame_hw
    big = dcols.shape[1]  # row_len
    if pl.s == (1, 1):
        # buffer geometry = frame geometry: pixel u of the buffer gets d(cols) entry
        # u - (p*d_h*W_b + q*d_w) of row (c, p, q); one reduction over whole channels
        shape = (pl.c_in, pl.t, kh, kw)
        steps = (kh * kw * big, 1, kw * big - pl.d[0] * r, big - pl.d[1])
        return [(None, _view(dcols, pl.margin, shape, steps))]
    axes = []
    for size, k, si, pi, di in zip((h, w), (kh, kw), pl.s, pl.p, pl.d, strict=True):
        g = math.gcd(si, di)
        classes = []
        for res in range(si):
            first = (res - pi) % si  # first unpadded index with (index + p) % s == res
            if first >= size:
                continue
            taps = [tap for tap in range(k) if (tap * di) % si == res]
            # (slice of dx, count, first tap, taps, tap step, index step per tap,
            #  output index of the first pixel through the first tap)
            count = len(range(first, size, si))
            where = slice(first, None, si)
            if taps:
                start = (first + pi - taps[0] * di) // si
                classes.append((where, count, taps[0], len(taps), si // g, di // g, start))
            else:
                classes.append((where, count, 0, 0, 0, 0, 0))
        axes.append(classes)
    views = []
    for sh, ch, ph0, nh, th, dh, ih in axes[0]:
        for sw, cw, pw0, nw, tw, dw_, jw in axes[1]:
            where = (slice(None), slice(None), sh, sw)
            if nh == 0 or nw == 0:  # no tap reaches these pixels
                views.append((where, None))
                continue
            base = (ph0 * kw + pw0) * big + pl.margin + ih * r + jw
            shape = (pl.n, pl.c_in, ch, cw, nh, nw)
            steps = (hf * r, kh * kw * big, r, 1, th * kw * big - dh * r, tw * big - dw_)
            views.append((where, _view(dcols, base, shape, steps)))
    return views


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
    plan = _geometry(x.shape, w.shape, stride, padding, dilation)

    x = x.astype(dtype, copy=False)
    w = w.astype(dtype, copy=False)
    if b is not None:
        b = b.astype(dtype, copy=False)
    return _forward(x, w, b, plan, _Workspace(plan, dtype), keep=False)


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
    GEMM ``w_mat^T @ dy`` gives the gradient of every im2col entry, and each
    input pixel sums the entries it was copied to, through one strided view per
    residue class of the stride (one in all at stride 1; see the module
    docstring); this never multiplies the zeros of the dilated ``dy`` when the
    stride is larger than one. Rows/columns of the padded
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
    plan = _geometry(x.shape, w.shape, stride, padding, dilation)
    expected = (x.shape[0], w.shape[0], *plan.out_hw)
    if dy.shape != expected:
        raise ValueError(
            f"dy must have the forward output shape (N, C_out, H_out, W_out) = {expected}; got {dy.shape}"
        )
    _check_finite(dy, "dy")
    dtype = _compute_dtype(dy, x, w)
    dy = dy.astype(dtype, copy=False)
    w = w.astype(dtype, copy=False)
    return _backward(dy, w, plan, _Workspace(plan, dtype), x=x.astype(dtype, copy=False))
