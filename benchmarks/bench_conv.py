"""Time ``weightinit.conv`` (forward + backward) against naive loop versions.

Run with ``python benchmarks/bench_conv.py`` (add ``--quick`` for fewer repeats).

Three Python-loop baselines are written out below, from most to least naive.
All of them still use numpy for the innermost sum, so none is a seven-deep
pure-Python loop:

``naive``
    One Python iteration per output *element* ``(n, f, i, j)``; the sum over
    ``(c, p, q)`` is ``np.sum(patch * w[f])``. This is the definition written
    down directly (what the loop reference in ``tests/test_conv.py`` does, minus
    its innermost loops).
``pixel``
    One iteration per output *pixel* of each image ``(n, i, j)``; a small
    matrix-vector product ``(C_out, C_in*kH*kW) @ patch`` gives all output
    channels at once.
``batched``
    One iteration per output pixel position ``(i, j)``, vectorized over the
    batch and the channels with ``np.tensordot``. This is a fairly good
    "first attempt" and the hardest of the three to beat.

The backward passes loop in the same way and scatter the gradients back.

The loops are slow, so each is timed on a small batch (``LOOP_BATCH``) with
fewer repeats and its time is scaled linearly to the full batch of 64 (the
work is exactly linear in the batch); the output says so. If PyTorch can be
imported, the same shapes are timed with ``torch.nn.functional.conv2d`` plus
autograd on the CPU (PyTorch is optional, not a project dependency).
"""

from __future__ import annotations

import platform
import sys
import time

import numpy as np
from weightinit.conv import conv2d, conv2d_backward

try:  # optional comparison
    import torch
    import torch.nn.functional as torch_f
except ImportError:  # pragma: no cover - depends on the machine
    torch = None

DTYPE = np.float32
QUICK = "--quick" in sys.argv
REPEATS = 3 if QUICK else 9  # library / torch: best of this many runs
LOOP_REPEATS = 1 if QUICK else 3

# (label, N, C_in, C_out, H, W, k, stride, padding)
CASES = [
    ("64x8x8x8 -> 16, k3 s1 p1", 64, 8, 16, 8, 8, 3, 1, 1),
    ("64x8x28x28 -> 16, k3 s1 p1", 64, 8, 16, 28, 28, 3, 1, 1),
    ("64x8x28x28 -> 16, k3 s2 p1", 64, 8, 16, 28, 28, 3, 2, 1),
]


# ---------------------------------------------------------------------------
# loop baselines (square kernels, int stride/padding, no dilation)
# ---------------------------------------------------------------------------


def _setup(x, w, stride, padding):
    h, wd = x.shape[2:]
    k = w.shape[2]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    h_out = (h + 2 * padding - k) // stride + 1
    w_out = (wd + 2 * padding - k) // stride + 1
    return xp, k, h_out, w_out


def naive_forward(x, w, b, stride, padding):
    xp, k, h_out, w_out = _setup(x, w, stride, padding)
    n, c_out = x.shape[0], w.shape[0]
    y = np.empty((n, c_out, h_out, w_out), dtype=x.dtype)
    for s in range(n):
        for f in range(c_out):
            for i in range(h_out):
                for j in range(w_out):
                    r, c = i * stride, j * stride
                    y[s, f, i, j] = np.sum(xp[s, :, r : r + k, c : c + k] * w[f]) + b[f]
    return y


def naive_backward(dy, x, w, stride, padding):
    xp, k, h_out, w_out = _setup(x, w, stride, padding)
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for s in range(x.shape[0]):
        for f in range(w.shape[0]):
            for i in range(h_out):
                for j in range(w_out):
                    r, c = i * stride, j * stride
                    g = dy[s, f, i, j]
                    dw[f] += g * xp[s, :, r : r + k, c : c + k]
                    dxp[s, :, r : r + k, c : c + k] += g * w[f]
    return _crop(dxp, x, padding), dw, dy.sum(axis=(0, 2, 3))


def pixel_forward(x, w, b, stride, padding):
    xp, k, h_out, w_out = _setup(x, w, stride, padding)
    n, c_out = x.shape[0], w.shape[0]
    w_mat = w.reshape(c_out, -1)
    y = np.empty((n, c_out, h_out, w_out), dtype=x.dtype)
    for s in range(n):
        for i in range(h_out):
            for j in range(w_out):
                r, c = i * stride, j * stride
                y[s, :, i, j] = w_mat @ xp[s, :, r : r + k, c : c + k].ravel() + b
    return y


def pixel_backward(dy, x, w, stride, padding):
    xp, k, h_out, w_out = _setup(x, w, stride, padding)
    c_out, c_in = w.shape[:2]
    w_mat = w.reshape(c_out, -1)
    dxp, dw_mat = np.zeros_like(xp), np.zeros_like(w_mat)
    for s in range(x.shape[0]):
        for i in range(h_out):
            for j in range(w_out):
                r, c = i * stride, j * stride
                g = dy[s, :, i, j]
                dw_mat += np.outer(g, xp[s, :, r : r + k, c : c + k].ravel())
                dxp[s, :, r : r + k, c : c + k] += (g @ w_mat).reshape(c_in, k, k)
    return _crop(dxp, x, padding), dw_mat.reshape(w.shape), dy.sum(axis=(0, 2, 3))


def batched_forward(x, w, b, stride, padding):
    xp, k, h_out, w_out = _setup(x, w, stride, padding)
    y = np.empty((x.shape[0], w.shape[0], h_out, w_out), dtype=x.dtype)
    for i in range(h_out):
        for j in range(w_out):
            r, c = i * stride, j * stride
            patch = xp[:, :, r : r + k, c : c + k]
            y[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return y


def batched_backward(dy, x, w, stride, padding):
    xp, k, h_out, w_out = _setup(x, w, stride, padding)
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for i in range(h_out):
        for j in range(w_out):
            r, c = i * stride, j * stride
            g = dy[:, :, i, j]  # (N, C_out)
            dw += np.tensordot(g, xp[:, :, r : r + k, c : c + k], axes=([0], [0]))
            dxp[:, :, r : r + k, c : c + k] += np.tensordot(g, w, axes=([1], [0]))
    return _crop(dxp, x, padding), dw, dy.sum(axis=(0, 2, 3))


def _crop(dxp, x, padding):
    h, wd = x.shape[2:]
    return dxp[:, :, padding : padding + h, padding : padding + wd]


# name -> (forward, backward, batch the loop is timed on)
BASELINES = {
    "naive": (naive_forward, naive_backward, 2),
    "pixel": (pixel_forward, pixel_backward, 4),
    "batched": (batched_forward, batched_backward, 16),
}


# ---------------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------------


def best_of(fn, repeats):
    fn()  # warm-up (also allocates)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    rng = np.random.default_rng(0)
    print(
        f"numpy {np.__version__}, python {platform.python_version()}, dtype {np.dtype(DTYPE).name}"
    )
    if torch is not None:
        print(f"torch {torch.__version__} (CPU, {torch.get_num_threads()} threads)")
    else:
        print("torch: not importable, column skipped")
    loop_note = ", ".join(f"{name} at batch {bs}" for name, (_, _, bs) in BASELINES.items())
    print(
        f"ms for forward + backward; library/torch best of {REPEATS}, loops best of "
        f"{LOOP_REPEATS}, timed on a smaller batch ({loop_note}) and scaled linearly to batch 64\n"
    )

    header = f"{'shape':<28} {'library':>8}"
    if torch is not None:
        header += f" {'torch':>7} {'lib/torch':>9}"
    for name in BASELINES:
        header += f" {name + ' loop':>13} {'speed-up':>8}"
    print(header)
    print("-" * len(header))

    for label, n, c_in, c_out, h, wd, k, s, p in CASES:
        x = rng.standard_normal((n, c_in, h, wd)).astype(DTYPE)
        w = (rng.standard_normal((c_out, c_in, k, k)) / np.sqrt(c_in * k * k)).astype(DTYPE)
        b = rng.standard_normal(c_out).astype(DTYPE)
        y = conv2d(x, w, b, stride=s, padding=p)
        dy = rng.standard_normal(y.shape).astype(DTYPE)

        def library_step(x=x, w=w, b=b, dy=dy, s=s, p=p):
            conv2d(x, w, b, stride=s, padding=p)
            conv2d_backward(dy, x, w, stride=s, padding=p)

        t_lib = best_of(library_step, REPEATS)
        row = f"{label:<28} {t_lib * 1e3:>8.2f}"

        if torch is not None:
            xt = torch.from_numpy(x).requires_grad_(True)
            wt = torch.from_numpy(w).requires_grad_(True)
            bt = torch.from_numpy(b).requires_grad_(True)
            dyt = torch.from_numpy(dy)
            with torch.no_grad():
                diff = np.abs(torch_f.conv2d(xt, wt, bt, stride=s, padding=p).numpy() - y).max()
            assert diff < 1e-3, f"torch and weightinit disagree by {diff}"

            def torch_step(xt=xt, wt=wt, bt=bt, dyt=dyt, s=s, p=p):
                xt.grad = wt.grad = bt.grad = None
                torch_f.conv2d(xt, wt, bt, stride=s, padding=p).backward(dyt)

            t_torch = best_of(torch_step, REPEATS)
            row += f" {t_torch * 1e3:>7.2f} {t_lib / t_torch:>8.1f}x"

        for forward, backward, m in BASELINES.values():
            # the baseline must agree with the library before it is timed
            np.testing.assert_allclose(forward(x[:m], w, b, s, p), y[:m], rtol=1e-4, atol=1e-4)
            got = backward(dy[:m], x[:m], w, s, p)
            want = conv2d_backward(dy[:m], x[:m], w, stride=s, padding=p)
            for g, ref in zip(got, want, strict=True):
                np.testing.assert_allclose(g, ref, rtol=1e-3, atol=1e-3)

            def loop_step(fw=forward, bw=backward, m=m, x=x, w=w, b=b, dy=dy, s=s, p=p):
                fw(x[:m], w, b, s, p)
                bw(dy[:m], x[:m], w, s, p)

            t_loop = best_of(loop_step, LOOP_REPEATS) * (n / m)
            row += f" {t_loop * 1e3:>13.1f} {t_loop / t_lib:>7.0f}x"
        print(row, flush=True)


if __name__ == "__main__":
    main()
