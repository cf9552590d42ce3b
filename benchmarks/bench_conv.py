"""Time ``weightinit.conv`` (forward + backward) against a naive loop version.

Run with ``python benchmarks/bench_conv.py``.

The baseline ("loop") is written below in the most direct way: it walks over
every output pixel ``(i, j)`` in Python and, for each one, takes the receptive
field of all samples at once and does a small ``tensordot`` with the kernel.
Its backward pass walks over the output pixels the same way and scatters the
gradient back. So the baseline loops over pixels only, not over samples or
channels -- a realistic "first attempt" rather than a straw man with seven
nested loops.

The loop baseline is slow, so it is timed on a smaller batch (``LOOP_BATCH``)
with fewer repeats, and its time is scaled linearly up to the full batch; the
table says when that happened. If PyTorch can be imported, the same shapes are
timed with ``torch.nn.functional.conv2d`` + autograd on the CPU as well
(PyTorch is optional and not a dependency of the project).
"""

from __future__ import annotations

import platform
import time

import numpy as np
from weightinit.conv import conv2d, conv2d_backward

try:  # optional comparison
    import torch
    import torch.nn.functional as torch_f
except ImportError:  # pragma: no cover - depends on the machine
    torch = None

DTYPE = np.float32
REPEATS = 7  # library / torch: best of this many runs
LOOP_REPEATS = 3
LOOP_BATCH = 8  # batch used for the loop baseline, scaled up afterwards

# (label, N, C_in, C_out, H, W, k, stride, padding)
CASES = [
    ("64x8x8x8 -> 16, k3 s1 p1", 64, 8, 16, 8, 8, 3, 1, 1),
    ("64x8x28x28 -> 16, k3 s1 p1", 64, 8, 16, 28, 28, 3, 1, 1),
    ("64x8x28x28 -> 16, k3 s2 p1", 64, 8, 16, 28, 28, 3, 2, 1),
]


# ---------------------------------------------------------------------------
# naive baseline: Python loop over output pixels, vectorized over n, c, f
# ---------------------------------------------------------------------------


def loop_conv2d(x, w, b, stride, padding):
    n, _, h, wd = x.shape
    c_out, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    h_out = (h + 2 * padding - kh) // stride + 1
    w_out = (wd + 2 * padding - kw) // stride + 1
    y = np.empty((n, c_out, h_out, w_out), dtype=x.dtype)
    for i in range(h_out):
        for j in range(w_out):
            patch = xp[:, :, i * stride : i * stride + kh, j * stride : j * stride + kw]
            y[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3]))
    if b is not None:
        y += b[None, :, None, None]
    return y


def loop_conv2d_backward(dy, x, w, stride, padding):
    _, _, h, wd = x.shape
    _, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for i in range(dy.shape[2]):
        for j in range(dy.shape[3]):
            rows = slice(i * stride, i * stride + kh)
            cols = slice(j * stride, j * stride + kw)
            g = dy[:, :, i, j]  # (N, C_out)
            dw += np.tensordot(g, xp[:, :, rows, cols], axes=([0], [0]))
            dxp[:, :, rows, cols] += np.tensordot(g, w, axes=([1], [0]))
    dx = dxp[:, :, padding : padding + h, padding : padding + wd]
    return dx, dw, dy.sum(axis=(0, 2, 3))


# ---------------------------------------------------------------------------
# timing helpers
# ---------------------------------------------------------------------------


def best_of(fn, repeats):
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def library_step(x, w, b, dy, s, p):
    conv2d(x, w, b, stride=s, padding=p)
    conv2d_backward(dy, x, w, stride=s, padding=p)


def loop_step(x, w, b, dy, s, p):
    loop_conv2d(x, w, b, s, p)
    loop_conv2d_backward(dy, x, w, s, p)


def torch_step(xt, wt, bt, dyt, s, p):
    xt.grad = wt.grad = bt.grad = None
    y = torch_f.conv2d(xt, wt, bt, stride=s, padding=p)
    y.backward(dyt)


def main():
    rng = np.random.default_rng(0)
    print(
        f"numpy {np.__version__}, python {platform.python_version()}, dtype {np.dtype(DTYPE).name}"
    )
    if torch is not None:
        print(f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    else:
        print("torch not importable: skipping the torch column")
    print(
        f"times are forward + backward, best of {REPEATS} (library/torch) or {LOOP_REPEATS} (loop); "
        f"loop timed at batch {LOOP_BATCH} and scaled linearly to the full batch\n"
    )

    header = f"{'shape':<30} {'library ms':>11} {'loop ms':>10} {'speed-up':>9}"
    if torch is not None:
        header += f" {'torch ms':>9} {'lib/torch':>10}"
    print(header)
    print("-" * len(header))

    for label, n, c_in, c_out, h, wd, k, s, p in CASES:
        x = rng.standard_normal((n, c_in, h, wd)).astype(DTYPE)
        w = (rng.standard_normal((c_out, c_in, k, k)) / np.sqrt(c_in * k * k)).astype(DTYPE)
        b = rng.standard_normal(c_out).astype(DTYPE)
        y = conv2d(x, w, b, stride=s, padding=p)
        dy = rng.standard_normal(y.shape).astype(DTYPE)

        # sanity check: the two implementations agree on the small batch
        m = LOOP_BATCH
        ref = loop_conv2d(x[:m], w, b, s, p)
        np.testing.assert_allclose(y[:m], ref, rtol=1e-4, atol=1e-4)
        ref_grads = loop_conv2d_backward(dy[:m], x[:m], w, s, p)
        lib_grads = conv2d_backward(dy[:m], x[:m], w, stride=s, padding=p)
        for got, want in zip(lib_grads, ref_grads, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3)

        t_lib = best_of(lambda: library_step(x, w, b, dy, s, p), REPEATS)  # noqa: B023
        t_loop = best_of(
            lambda: loop_step(x[:m], w, b, dy[:m], s, p),  # noqa: B023
            LOOP_REPEATS,
        ) * (n / m)
        row = f"{label:<30} {t_lib * 1e3:>11.2f} {t_loop * 1e3:>10.1f} {t_loop / t_lib:>8.0f}x"
        if torch is not None:
            xt = torch.from_numpy(x).requires_grad_(True)
            wt = torch.from_numpy(w).requires_grad_(True)
            bt = torch.from_numpy(b).requires_grad_(True)
            dyt = torch.from_numpy(dy)
            with torch.no_grad():
                diff = np.abs(torch_f.conv2d(xt, wt, bt, stride=s, padding=p).numpy() - y).max()
            assert diff < 1e-3, f"torch disagrees with weightinit by {diff}"
            t_torch = best_of(lambda: torch_step(xt, wt, bt, dyt, s, p), REPEATS)  # noqa: B023
            row += f" {t_torch * 1e3:>9.2f} {t_lib / t_torch:>9.1f}x"
        print(row)


if __name__ == "__main__":
    main()
