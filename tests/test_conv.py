"""Tests for ``weightinit.conv``: forward values, gradients, shapes, dtypes, errors.

The forward pass is compared with ``loop_conv2d`` below, a deliberately plain
transcription of the definition with one Python loop per index. It handles
padding by bounds-checking the input index instead of calling ``np.pad``, so it
shares no code path with the library.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from gradcheck import numerical_grad
from hypothesis import given, settings
from hypothesis import strategies as st
from weightinit import conv as conv_module
from weightinit.conv import conv2d, conv2d_backward, conv2d_output_shape

# ---------------------------------------------------------------------------
# reference implementation (tests only)
# ---------------------------------------------------------------------------


def _as_pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def loop_conv2d(x, w, b=None, stride=1, padding=0, dilation=1):
    """y[n,f,i,j] = b[f] + sum_{c,p,q} w[f,c,p,q] * x_pad[n,c,i*sh+p*dh,j*sw+q*dw], by loops."""
    sh, sw = _as_pair(stride)
    ph, pw = _as_pair(padding)
    dh, dw = _as_pair(dilation)
    n_batch, c_in, h, wd = x.shape
    c_out, _, kh, kw = w.shape
    h_out = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    w_out = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n_batch, c_out, h_out, w_out))
    for n in range(n_batch):
        for f in range(c_out):
            for i in range(h_out):
                for j in range(w_out):
                    total = 0.0 if b is None else float(b[f])
                    for c in range(c_in):
                        for p in range(kh):
                            for q in range(kw):
                                row = i * sh + p * dh - ph  # index into the unpadded x
                                col = j * sw + q * dw - pw
                                if 0 <= row < h and 0 <= col < wd:
                                    total += float(w[f, c, p, q]) * float(x[n, c, row, col])
                    y[n, f, i, j] = total
    return y


def loop_conv2d_backward(dy, x, w, stride=1, padding=0, dilation=1):
    """(dx, dw, db) of ``sum(loop_conv2d(x, w, b) * dy)``, by the same plain loops.

    Every output entry adds ``dy * w`` to each input pixel of its receptive field and
    ``dy * x`` to each kernel tap, skipping the padding by bounds checks like
    :func:`loop_conv2d`. Shares nothing with the library's gather.
    """
    sh, sw = _as_pair(stride)
    ph, pw = _as_pair(padding)
    dh, dw_ = _as_pair(dilation)
    n_batch, c_in, h, wd = x.shape
    c_out, _, kh, kw = w.shape
    dx = np.zeros(x.shape)
    dw = np.zeros(w.shape)
    for n in range(n_batch):
        for f in range(c_out):
            for i in range(dy.shape[2]):
                for j in range(dy.shape[3]):
                    g = float(dy[n, f, i, j])
                    for c in range(c_in):
                        for p in range(kh):
                            for q in range(kw):
                                row = i * sh + p * dh - ph
                                col = j * sw + q * dw_ - pw
                                if 0 <= row < h and 0 <= col < wd:
                                    dx[n, c, row, col] += g * float(w[f, c, p, q])
                                    dw[f, c, p, q] += g * float(x[n, c, row, col])
    return dx, dw, dy.sum(axis=(0, 2, 3), dtype=np.float64)


def _random_problem(rng, n, c_in, c_out, h, wd, kh, kw, bias=True):
    x = rng.standard_normal((n, c_in, h, wd))
    w = rng.standard_normal((c_out, c_in, kh, kw))
    b = rng.standard_normal(c_out) if bias else None
    return x, w, b


# ---------------------------------------------------------------------------
# the reference itself
# ---------------------------------------------------------------------------


def test_loop_reference_matches_hand_computation():
    # guards against a reference that is wrong in the same way as the library
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    w = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    np.testing.assert_array_equal(loop_conv2d(x, w)[0, 0], [[37.0, 47.0], [67.0, 77.0]])


# ---------------------------------------------------------------------------
# forward vs the loop reference
# ---------------------------------------------------------------------------


@st.composite
def conv_problems(draw):
    n = draw(st.integers(1, 2))
    c_in = draw(st.integers(1, 3))
    c_out = draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    # smallest input for which the dilated kernel fits, then a few extra pixels
    min_h = max(1, dilation[0] * (kh - 1) + 1 - 2 * padding[0])
    min_w = max(1, dilation[1] * (kw - 1) + 1 - 2 * padding[1])
    h = min_h + draw(st.integers(0, 4))
    wd = min_w + draw(st.integers(0, 4))
    bias = draw(st.booleans())
    seed = draw(st.integers(0, 2**32 - 1))
    return (n, c_in, c_out, h, wd, kh, kw, stride, padding, dilation, bias, seed)


@settings(max_examples=60, deadline=None, database=None)
@given(conv_problems())
def test_forward_matches_loop_reference_random(problem):
    n, c_in, c_out, h, wd, kh, kw, stride, padding, dilation, bias, seed = problem
    x, w, b = _random_problem(np.random.default_rng(seed), n, c_in, c_out, h, wd, kh, kw, bias)
    got = conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation)
    want = loop_conv2d(x, w, b, stride, padding, dilation)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


# (n, c_in, c_out, h, w, kh, kw, stride, padding, dilation)
EXPLICIT_CASES = {
    "plain 3x3": (2, 3, 4, 6, 6, 3, 3, 1, 0, 1),
    "non-square kernel 2x3": (2, 2, 3, 5, 7, 2, 3, 1, 0, 1),
    "non-square kernel 3x1 + padding": (1, 2, 2, 5, 4, 3, 1, 1, (1, 0), 1),
    "stride 2, leftover row and column": (2, 2, 3, 6, 8, 3, 3, 2, 0, 1),
    "stride (2, 3) with padding": (1, 3, 2, 7, 9, 3, 2, (2, 3), 1, 1),
    "padding 2 larger than needed": (1, 1, 2, 4, 4, 3, 3, 1, 2, 1),
    "dilation 2": (2, 2, 2, 7, 7, 3, 3, 1, 0, 2),
    "dilation (2, 1) + stride 2 + padding 1": (1, 2, 3, 8, 7, 3, 2, 2, 1, (2, 1)),
    "batch 1, single channel": (1, 1, 1, 5, 5, 2, 2, 1, 0, 1),
    "1x1 kernel": (3, 4, 2, 3, 5, 1, 1, 1, 0, 1),
    "kernel as large as the input": (2, 2, 3, 4, 5, 4, 5, 1, 0, 1),
}


@pytest.mark.parametrize("case", EXPLICIT_CASES.values(), ids=EXPLICIT_CASES.keys())
def test_forward_matches_loop_reference_explicit(case):
    n, c_in, c_out, h, wd, kh, kw, stride, padding, dilation = case
    x, w, b = _random_problem(np.random.default_rng(1), n, c_in, c_out, h, wd, kh, kw)
    got = conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation)
    want = loop_conv2d(x, w, b, stride, padding, dilation)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------
# hand-worked examples
# ---------------------------------------------------------------------------


X_HAND = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # [[1,2,3],[4,5,6],[7,8,9]]
W_HAND = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])


def test_hand_example_forward_is_cross_correlation():
    # top-left: 1*1 + 2*2 + 4*3 + 5*4 = 37; a flipped (true) convolution would give 23
    y = conv2d(X_HAND, W_HAND, b=np.array([0.5]))
    np.testing.assert_array_equal(y, [[[[37.5, 47.5], [67.5, 77.5]]]])


def test_hand_example_with_padding_and_stride():
    # padding 1 gives a 5x5 grid; stride 2 keeps the windows starting at rows/cols 0 and 2
    y = conv2d(X_HAND, W_HAND, stride=2, padding=1)
    # window (0,0) sees [[0,0],[0,1]] -> 4; (0,2) sees [[0,0],[2,3]] -> 3*2 + 4*3 = 18
    # window (2,0) sees [[0,4],[0,7]] -> 2*4 + 4*7 = 36; (2,2) sees [[5,6],[8,9]] -> 77
    np.testing.assert_array_equal(y, [[[[4.0, 18.0], [36.0, 77.0]]]])


def test_hand_example_backward():
    dx, dw, db = conv2d_backward(np.ones((1, 1, 2, 2)), X_HAND, W_HAND)
    # each input pixel collects the kernel taps that covered it
    np.testing.assert_array_equal(dx, [[[[1.0, 3.0, 2.0], [4.0, 10.0, 6.0], [3.0, 7.0, 4.0]]]])
    # each tap collects the sum of the pixels it saw
    np.testing.assert_array_equal(dw, [[[[12.0, 16.0], [24.0, 28.0]]]])
    np.testing.assert_array_equal(db, [4.0])


# ---------------------------------------------------------------------------
# gradients
# ---------------------------------------------------------------------------

GRAD_CASES = {
    "3x3 plain": (2, 2, 3, 5, 5, 3, 3, 1, 0, 1),
    "2x3 kernel, padding 1": (1, 3, 2, 4, 6, 2, 3, 1, 1, 1),
    "stride 2 leftover": (2, 2, 2, 6, 7, 3, 3, 2, 0, 1),
    "stride 2 + padding + dilation": (2, 2, 3, 7, 6, 3, 2, 2, 1, 2),
    "mixed pairs": (1, 2, 2, 8, 7, 2, 3, (3, 1), (2, 0), (1, 2)),
}


def _relative_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a), np.linalg.norm(b), 1e-300)


@pytest.mark.parametrize("case", GRAD_CASES.values(), ids=GRAD_CASES.keys())
def test_gradients_match_finite_differences(case):
    n, c_in, c_out, h, wd, kh, kw, stride, padding, dilation = case
    rng = np.random.default_rng(7)
    x, w, b = _random_problem(rng, n, c_in, c_out, h, wd, kh, kw)
    kwargs = {"stride": stride, "padding": padding, "dilation": dilation}
    r = rng.standard_normal(conv2d(x, w, b, **kwargs).shape)

    def loss():
        return float(np.sum(conv2d(x, w, b, **kwargs) * r))

    dx, dw, db = conv2d_backward(r, x, w, **kwargs)  # dL/dy = R
    assert dx.shape == x.shape and dw.shape == w.shape and db.shape == b.shape
    assert _relative_error(dx, numerical_grad(loss, x, eps=1e-5)) < 1e-6
    assert _relative_error(dw, numerical_grad(loss, w, eps=1e-5)) < 1e-6
    assert _relative_error(db, numerical_grad(loss, b, eps=1e-5)) < 1e-6


@pytest.mark.parametrize("case", GRAD_CASES.values(), ids=GRAD_CASES.keys())
def test_adjoint_identity(case):
    # without bias y is linear in x and in w, and backward applies the transposes:
    # <conv(x, w), dy> == <x, dx> == <w, dw>
    n, c_in, c_out, h, wd, kh, kw, stride, padding, dilation = case
    rng = np.random.default_rng(11)
    x, w, _ = _random_problem(rng, n, c_in, c_out, h, wd, kh, kw, bias=False)
    kwargs = {"stride": stride, "padding": padding, "dilation": dilation}
    y = conv2d(x, w, **kwargs)
    dy = rng.standard_normal(y.shape)
    dx, dw, db = conv2d_backward(dy, x, w, **kwargs)
    lhs = np.vdot(y, dy)
    assert np.isclose(lhs, np.vdot(x, dx), rtol=1e-12, atol=1e-12)
    assert np.isclose(lhs, np.vdot(w, dw), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(db, dy.sum(axis=(0, 2, 3)), rtol=1e-13)


@pytest.mark.parametrize("case", GRAD_CASES.values(), ids=GRAD_CASES.keys())
def test_dx_equals_transposed_convolution(case):
    # independent formula for dx built only from the public forward: dilate dy by
    # the stride, pad by the dilated kernel extent minus one, correlate with the
    # flipped kernel whose channel axes are swapped, then drop the padding border
    n, c_in, c_out, h, wd, kh, kw, stride, padding, dilation = case
    rng = np.random.default_rng(3)
    x, w, _ = _random_problem(rng, n, c_in, c_out, h, wd, kh, kw, bias=False)
    (sh, sw), (ph, pw), (dh, dw_) = _as_pair(stride), _as_pair(padding), _as_pair(dilation)
    y = conv2d(x, w, stride=stride, padding=padding, dilation=dilation)
    dy = rng.standard_normal(y.shape)
    spread = np.zeros((n, c_out, (y.shape[2] - 1) * sh + 1, (y.shape[3] - 1) * sw + 1))
    spread[:, :, ::sh, ::sw] = dy
    w_flip = w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1]
    full = conv2d(spread, w_flip, padding=(dh * (kh - 1), dw_ * (kw - 1)), dilation=dilation)
    dx_pad = np.zeros((n, c_in, h + 2 * ph, wd + 2 * pw))
    dx_pad[:, :, : full.shape[2], : full.shape[3]] = full  # unreached rows/cols stay 0
    want = dx_pad[:, :, ph : ph + h, pw : pw + wd]
    dx, _, _ = conv2d_backward(dy, x, w, stride=stride, padding=padding, dilation=dilation)
    np.testing.assert_allclose(dx, want, rtol=1e-12, atol=1e-12)


@settings(max_examples=60, deadline=None, database=None)
@given(conv_problems())
def test_backward_matches_loop_reference_random(problem):
    # every stride/padding/dilation/kernel combination the strategy draws; strides up to 3
    # exercise the input gradient's residue classes (one strided gather per class)
    n, c_in, c_out, h, wd, kh, kw, stride, padding, dilation, _, seed = problem
    rng = np.random.default_rng(seed)
    x, w, _ = _random_problem(rng, n, c_in, c_out, h, wd, kh, kw, bias=False)
    kwargs = {"stride": stride, "padding": padding, "dilation": dilation}
    dy = rng.standard_normal(conv2d(x, w, **kwargs).shape)
    got = conv2d_backward(dy, x, w, **kwargs)
    want = loop_conv2d_backward(dy, x, w, stride, padding, dilation)
    for g, r in zip(got, want, strict=True):
        assert g.shape == r.shape
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-12)


# (n, c_in, c_out, h, w, kh, kw, stride, padding, dilation)
BACKWARD_CASES = {
    **EXPLICIT_CASES,
    "stride 2, even size": (2, 3, 2, 8, 8, 3, 3, 2, 1, 1),
    "stride 2, odd size": (1, 2, 3, 9, 7, 3, 3, 2, 1, 1),
    "stride 3, 2x2 kernel (gaps no window reads)": (2, 2, 2, 8, 10, 2, 2, 3, 0, 1),
    "stride 2 = dilation 2 (odd rows never read)": (1, 2, 2, 9, 9, 3, 3, 2, 0, 2),
    "stride 2, dilation 3": (1, 1, 2, 11, 10, 3, 3, 2, 2, 3),
    "stride (2, 1), dilation (1, 2)": (2, 2, 3, 7, 9, 3, 3, (2, 1), 1, (1, 2)),
    "stride (1, 3), 1x3 kernel": (1, 3, 2, 5, 11, 1, 3, (1, 3), (0, 1), 1),
    "padding larger than the kernel": (1, 2, 2, 4, 5, 3, 3, 1, 3, 1),
    "padding larger than the kernel, stride 2": (1, 2, 2, 5, 4, 3, 3, 2, (3, 2), 1),
    "1x1 kernel, stride 2": (2, 3, 2, 6, 5, 1, 1, 2, 0, 1),
    "dilated 5x1 kernel": (1, 1, 2, 12, 3, 5, 1, 1, (4, 0), (2, 1)),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", BACKWARD_CASES.values(), ids=BACKWARD_CASES.keys())
def test_backward_matches_loop_reference_explicit(case, dtype):
    n, c_in, c_out, h, wd, kh, kw, stride, padding, dilation = case
    rng = np.random.default_rng(2)
    x, w, _ = _random_problem(rng, n, c_in, c_out, h, wd, kh, kw, bias=False)
    kwargs = {"stride": stride, "padding": padding, "dilation": dilation}
    dy = rng.standard_normal(conv2d(x, w, **kwargs).shape)
    x32, w32, dy32 = (a.astype(dtype) for a in (x, w, dy))
    got = conv2d_backward(dy32, x32, w32, **kwargs)
    # the reference sees exactly the values the library saw
    want = loop_conv2d_backward(dy32, x32, w32, stride, padding, dilation)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    for g, r in zip(got, want, strict=True):
        assert g.dtype == dtype
        scale = max(1.0, float(np.abs(r).max()))
        np.testing.assert_allclose(g, r, rtol=tol, atol=tol * scale)


@pytest.mark.parametrize("case", BACKWARD_CASES.values(), ids=BACKWARD_CASES.keys())
def test_image_by_image_chunks_match_the_loop_reference(case, monkeypatch):
    # large problems run the passes in chunks of whole images (conv._CHUNK_BYTES); force
    # one image per chunk on these small ones (batch 3) so that every geometry goes
    # through chunk boundaries
    monkeypatch.setattr(conv_module, "_CHUNK_BYTES", 1)
    _, c_in, c_out, h, wd, kh, kw, stride, padding, dilation = case
    rng = np.random.default_rng(5)
    x, w, b = _random_problem(rng, 3, c_in, c_out, h, wd, kh, kw)
    kwargs = {"stride": stride, "padding": padding, "dilation": dilation}
    y = conv2d(x, w, b, **kwargs)
    np.testing.assert_allclose(
        y, loop_conv2d(x, w, b, stride, padding, dilation), rtol=1e-12, atol=1e-12
    )
    dy = rng.standard_normal(y.shape)
    got = conv2d_backward(dy, x, w, **kwargs)
    want = loop_conv2d_backward(dy, x, w, stride, padding, dilation)
    for g, r in zip(got, want, strict=True):
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-12)


def test_chunks_are_balanced_whole_images():
    plan = conv_module._geometry((64, 16, 28, 28), (32, 16, 3, 3), 1, 1, 1)
    chunks = conv_module._chunks(plan, 4)
    assert len(chunks) > 1  # this benchmark shape is chunked at the default size
    sizes = [n1 - n0 for n0, n1, _ in chunks]
    assert sum(sizes) == 64 and max(sizes) - min(sizes) <= 1
    assert chunks[0][0] == 0 and all(a[1] == b[0] for a, b in itertools.pairwise(chunks))
    tn = plan.frame_hw[0] * plan.frame_hw[1]
    assert all(sl == slice(n0 * tn, n1 * tn) for n0, n1, sl in chunks)
    small = conv_module._geometry((2, 3, 5, 5), (4, 3, 3, 3), 1, 1, 1)
    assert len(conv_module._chunks(small, 8)) == 1


def test_pixels_no_tap_reaches_get_exactly_zero_gradient():
    # stride 2 and dilation 2, no padding: every tap reads an even row and column, so the
    # odd ones are in no receptive field (a residue class of the stride with no taps)
    rng = np.random.default_rng(8)
    x, w, _ = _random_problem(rng, 2, 2, 3, 9, 9, 3, 3, bias=False)
    y = conv2d(x, w, stride=2, dilation=2)
    dx, _, _ = conv2d_backward(rng.standard_normal(y.shape), x, w, stride=2, dilation=2)
    assert np.all(dx[:, :, 1::2, :] == 0.0)
    assert np.all(dx[:, :, :, 1::2] == 0.0)
    assert np.all(dx[:, :, ::2, ::2] != 0.0)


def test_unused_rows_and_columns_get_zero_gradient():
    # 6x6 input, 3x3 kernel, stride 2: windows start at 0 and 2, so row/col 5 is never read
    rng = np.random.default_rng(5)
    x, w, _ = _random_problem(rng, 2, 2, 3, 6, 6, 3, 3, bias=False)
    y = conv2d(x, w, stride=2)
    assert y.shape == (2, 3, 2, 2)
    dx, _, _ = conv2d_backward(rng.standard_normal(y.shape), x, w, stride=2)
    assert np.all(dx[:, :, 5, :] == 0.0)
    assert np.all(dx[:, :, :, 5] == 0.0)
    assert np.all(dx[:, :, :5, :5] != 0.0)
    # and changing the unused pixels does not change the output
    x2 = x.copy()
    x2[:, :, 5, :] = 100.0
    x2[:, :, :, 5] = -100.0
    np.testing.assert_array_equal(conv2d(x2, w, stride=2), y)


# ---------------------------------------------------------------------------
# shapes and dtypes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("input_hw", "kernel_hw", "stride", "padding", "dilation", "expected"),
    [
        ((28, 28), (3, 3), 1, 1, 1, (28, 28)),  # "same" padding
        ((28, 28), (3, 3), 2, 1, 1, (14, 14)),
        ((32, 32), (5, 5), 1, 0, 1, (28, 28)),  # LeNet's first layer
        ((224, 224), (7, 7), 2, 3, 1, (112, 112)),  # ResNet stem
        ((7, 9), (3, 2), (2, 3), 0, 1, (3, 3)),
        ((7, 7), (3, 3), 2, 0, 2, (2, 2)),  # floor((7 - 4 - 1)/2) + 1
        ((5, 6), (2, 3), 1, (1, 2), (2, 1), (5, 8)),
    ],
)
def test_output_shape_formula(input_hw, kernel_hw, stride, padding, dilation, expected):
    assert conv2d_output_shape(input_hw, kernel_hw, stride, padding, dilation) == expected
    x = np.zeros((1, 1, *input_hw))
    w = np.zeros((2, 1, *kernel_hw))
    y = conv2d(x, w, stride=stride, padding=padding, dilation=dilation)
    assert y.shape == (1, 2, *expected)


def test_float32_is_preserved():
    rng = np.random.default_rng(0)
    x, w, b = (a.astype(np.float32) for a in _random_problem(rng, 2, 3, 4, 6, 6, 3, 3))
    y = conv2d(x, w, b, stride=2, padding=1)
    assert y.dtype == np.float32
    dx, dw, db = conv2d_backward(np.ones_like(y), x, w, stride=2, padding=1)
    assert (dx.dtype, dw.dtype, db.dtype) == (np.float32,) * 3
    # and float32 values are still right, to float32 precision
    want = loop_conv2d(x, w, b, 2, 1)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)


def test_integer_inputs_are_computed_in_float64():
    x = np.arange(1, 10).reshape(1, 1, 3, 3)
    w = np.array([[[[1, 2], [3, 4]]]], dtype=np.int8)
    y = conv2d(x, w)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, [[[[37.0, 47.0], [67.0, 77.0]]]])


def test_mixed_precision_promotes_to_float64():
    x = np.ones((1, 1, 3, 3), dtype=np.float32)
    w = np.ones((1, 1, 2, 2), dtype=np.float64)
    assert conv2d(x, w).dtype == np.float64


def test_inputs_are_not_modified():
    rng = np.random.default_rng(0)
    x, w, b = _random_problem(rng, 1, 2, 2, 5, 5, 3, 3)
    copies = [a.copy() for a in (x, w, b)]
    y = conv2d(x, w, b, padding=1)
    dy = np.ones_like(y)
    conv2d_backward(dy, x, w, padding=1)
    for a, c in zip((x, w, b), copies, strict=True):
        np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(dy, 1.0)


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------

X_OK = np.ones((1, 2, 5, 5))
W_OK = np.ones((3, 2, 3, 3))


def test_x_not_4d():
    with pytest.raises(ValueError, match=r"x must be 4-D .* got 3-D"):
        conv2d(np.ones((2, 5, 5)), W_OK)


def test_w_not_4d():
    with pytest.raises(ValueError, match=r"w must be 4-D .* got 2-D"):
        conv2d(X_OK, np.ones((3, 18)))


@pytest.mark.parametrize(
    ("x", "w", "name"),
    [
        (np.full((1, 2, 5, 5), "a"), W_OK, "x"),
        (X_OK.astype(bool), W_OK, "x"),
        (X_OK, W_OK.astype(complex), "w"),
        (X_OK.astype(object), W_OK, "x"),
    ],
    ids=["str x", "bool x", "complex w", "object x"],
)
def test_non_numeric_arrays(x, w, name):
    with pytest.raises(TypeError, match=rf"{name} must be an array of real numbers"):
        conv2d(x, w)


def test_non_numeric_bias():
    with pytest.raises(TypeError, match=r"b must be an array of real numbers"):
        conv2d(X_OK, W_OK, b=np.array(["a", "b", "c"]))


def test_channel_mismatch_names_both_counts():
    with pytest.raises(ValueError, match=r"x has 4 input channels.*w expects 2"):
        conv2d(np.ones((1, 4, 5, 5)), W_OK)


@pytest.mark.parametrize(
    "b", [np.ones(2), np.ones((3, 1)), np.ones(())], ids=["short", "2-D", "0-D"]
)
def test_bias_wrong_shape(b):
    with pytest.raises(ValueError, match=r"b must have shape \(C_out,\) = \(3,\)"):
        conv2d(X_OK, W_OK, b=b)


@pytest.mark.parametrize("name", ["stride", "dilation"])
@pytest.mark.parametrize("value", [0, -1, (1, 0)])
def test_stride_dilation_not_positive(name, value):
    with pytest.raises(ValueError, match=rf"{name} must be a positive integer"):
        conv2d(X_OK, W_OK, **{name: value})


@pytest.mark.parametrize("name", ["stride", "dilation"])
@pytest.mark.parametrize("value", [1.5, 2.0, True, "1", (1, 1.0), None])
def test_stride_dilation_not_int(name, value):
    with pytest.raises(TypeError, match=rf"{name} must"):
        conv2d(X_OK, W_OK, **{name: value})


def test_padding_negative():
    with pytest.raises(ValueError, match=r"padding must be a non-negative integer"):
        conv2d(X_OK, W_OK, padding=(0, -1))


@pytest.mark.parametrize("value", [0.5, 1.0, False, (1, 0.5)])
def test_padding_not_int(value):
    with pytest.raises(TypeError, match=r"padding must"):
        conv2d(X_OK, W_OK, padding=value)


@pytest.mark.parametrize("name", ["stride", "padding", "dilation"])
@pytest.mark.parametrize("value", [(1,), (1, 1, 1), []])
def test_pair_wrong_length(name, value):
    with pytest.raises(ValueError, match=rf"{name} must be .* pair \(h, w\) of length 2"):
        conv2d(X_OK, W_OK, **{name: value})


def test_kernel_larger_than_padded_input():
    # width: 5 + 2*0 = 5 < 6
    with pytest.raises(ValueError, match=r"kernel width is too large.*spans 6 .*only 5"):
        conv2d(X_OK, np.ones((3, 2, 3, 6)))
    # height with dilation: 3 taps at dilation 3 span 7 > 5 + 2*0
    with pytest.raises(ValueError, match=r"kernel height is too large.*spans 7 .*only 5"):
        conv2d(X_OK, W_OK, dilation=(3, 1))
    # padding can make it fit
    assert conv2d(X_OK, W_OK, dilation=(3, 1), padding=(1, 0)).shape == (1, 3, 1, 3)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("name", ["x", "w"])
def test_non_finite_values(name, bad):
    x, w = X_OK.copy(), W_OK.copy()
    (x if name == "x" else w)[0, 1, 2, 2] = bad
    with pytest.raises(ValueError, match=rf"{name} contains NaN or infinite values"):
        conv2d(x, w)
    with pytest.raises(ValueError, match=rf"{name} contains NaN or infinite values"):
        conv2d_backward(np.ones((1, 3, 3, 3)), x, w)


def test_backward_dy_wrong_shape():
    with pytest.raises(ValueError, match=r"dy must have the forward output shape .*\(1, 3, 3, 3\)"):
        conv2d_backward(np.ones((1, 3, 5, 5)), X_OK, W_OK)
    with pytest.raises(ValueError, match=r"dy must have the forward output shape"):
        conv2d_backward(np.ones((1, 3, 2, 2)), X_OK, W_OK, padding=1)


def test_backward_validates_like_forward():
    with pytest.raises(ValueError, match=r"x has 4 input channels.*w expects 2"):
        conv2d_backward(np.ones((1, 3, 3, 3)), np.ones((1, 4, 5, 5)), W_OK)
    with pytest.raises(TypeError, match=r"stride must"):
        conv2d_backward(np.ones((1, 3, 3, 3)), X_OK, W_OK, stride=1.5)
    with pytest.raises(TypeError, match=r"dy must be an array of real numbers"):
        conv2d_backward(np.ones((1, 3, 3, 3), dtype=complex), X_OK, W_OK)


def test_output_shape_rejects_bad_sizes():
    with pytest.raises(ValueError, match=r"input_hw must be a pair"):
        conv2d_output_shape((5,), (3, 3))
    with pytest.raises(ValueError, match=r"kernel_hw must contain positive integers"):
        conv2d_output_shape((5, 5), (0, 3))
    with pytest.raises(ValueError, match=r"kernel height is too large"):
        conv2d_output_shape((2, 5), (3, 3))
