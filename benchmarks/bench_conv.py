"""Time ``weightinit.conv`` (forward + backward) against PyTorch, the GEMM limit and loops.

Run with ``make bench`` or ``python benchmarks/bench_conv.py`` (``--quick``: fewer
repeats; ``--loops``: also time the loop baselines when PyTorch is installed;
``--cpu-time``: measure CPU time instead of wall time, on a machine busy with other work;
``--torch-venv DIR``, or the environment variable ``TORCH_VENV=DIR``: import PyTorch from
the separate virtualenv ``DIR``, e.g. one made with ``python3 -m venv /tmp/torchvenv &&
/tmp/torchvenv/bin/pip install torch numpy``. PyTorch is never a project dependency: only
its site-packages directory is appended to ``sys.path``, numpy and the library still come
from the project's environment).

The library's two timings and PyTorch's alternate run by run (not one candidate's 15
runs, then the next one's), so that a load that drifts while the benchmark runs hits all
of them alike; ``layer/torch`` is the median (and interquartile range) of the ratios
within a round.

For each of the five shapes of issue 10 (3x3 kernels, stride 1, "same" padding), in
float32 and float64, one thread (numpy's BLAS and PyTorch both limited to one), it
prints the median of >= 7 runs of a forward + backward pass:

``layer``
    :class:`weightinit.layers.Conv2D` ``forward`` + ``backward``: the im2col matrix of
    the forward pass is kept for the weight gradient (what training runs).
``functions``
    :func:`~weightinit.conv.conv2d` + :func:`~weightinit.conv.conv2d_backward`, which
    validate their arguments and rebuild the im2col matrix.
``torch``
    ``torch.nn.functional.conv2d`` + autograd ``backward`` on the CPU, when PyTorch can be
    imported (it is optional, never a project dependency).

GFLOP/s counts ``3 * 2 * N * C_out * C_in * kH * kW * H_out * W_out`` (forward, input
gradient, weight gradient) and is compared with numpy's own ``sgemm``/``dgemm`` on
2048 x 2048 matrices on the same thread: the "GEMM limit". The BLAS library and kernel
that numpy uses are printed (threadpoolctl); OpenBLAS's ``OPENBLAS_CORETYPE`` and
``OPENBLAS_L2_SIZE`` change them, so ``make bench`` unsets both. The peak memory of the
layer's forward + backward on the largest shape is measured with tracemalloc (numpy
reports its allocations to it).

Three Python-loop baselines are written out below, from most to least naive. All of
them still use numpy for the innermost sum, so none is a seven-deep pure-Python loop:

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

The backward passes loop in the same way and scatter the gradients back. The loops are
slow, so each is timed on a small batch (``BASELINES``) and its time is scaled linearly
to the full batch (the work is exactly linear in the batch); the output says so. They
run when PyTorch is absent, or with ``--loops``.
"""

from __future__ import annotations

import glob
import os
import platform
import site
import sys
import time
import tracemalloc

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits
from weightinit.conv import conv2d, conv2d_backward
from weightinit.layers import Conv2D


def _add_torch_venv():
    """Make a separate virtualenv's PyTorch importable (``--torch-venv DIR`` or ``TORCH_VENV``).

    PyTorch is never a project dependency: it lives in a virtualenv of its own. Its
    site-packages directory is *appended* to ``sys.path``, so numpy, scipy and the library
    still come from this interpreter's environment and only ``torch`` is taken from there.
    """
    venv = os.environ.get("TORCH_VENV")
    if "--torch-venv" in sys.argv:
        i = sys.argv.index("--torch-venv")
        if i + 1 >= len(sys.argv):
            sys.exit("--torch-venv needs a directory (a virtualenv with torch installed)")
        venv = sys.argv[i + 1]
    if not venv:
        return
    found = sorted(glob.glob(os.path.join(venv, "lib", "python*", "site-packages")))
    if not found:
        sys.exit(f"--torch-venv / TORCH_VENV: no lib/python*/site-packages in {venv!r}")
    for path in found:
        site.addsitedir(path)  # appended after this environment's own packages


_add_torch_venv()

try:  # optional comparison
    import torch
    import torch.nn.functional as torch_f
except ImportError:  # pragma: no cover - depends on the machine
    torch = None

QUICK = "--quick" in sys.argv
# --cpu-time: the process's CPU time instead of the wall clock, for a machine that other
# work keeps busy (time slices lost to other processes are not counted; their cache and
# memory-bandwidth contention still is)
CLOCK = time.process_time if "--cpu-time" in sys.argv else time.perf_counter
LOOPS = "--loops" in sys.argv or torch is None
REPEATS = 7 if QUICK else 15  # library / torch: median of this many runs
LOOP_REPEATS = 1 if QUICK else 3

# (N, C_in, C_out, H, W): 3x3 kernels, stride 1, padding 1 (issue 10's table)
CASES = [
    (64, 8, 16, 8, 8),
    (64, 8, 16, 28, 28),
    (64, 16, 32, 28, 28),
    (128, 1, 8, 8, 8),
    (32, 32, 64, 32, 32),
]
K, STRIDE, PAD = 3, 1, 1


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


def median_time(fn, repeats):
    """Median wall time of ``fn()`` over ``repeats`` runs, after one warm-up run."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = CLOCK()
        fn()
        times.append(CLOCK() - t0)
    return float(np.median(times))


def interleaved_times(fns, repeats):
    """Times of each of ``fns`` (a dict), run in turn ``repeats`` times after a warm-up.

    Alternating the candidates run by run, rather than timing one after the other,
    exposes them to the same load when other work shares the machine: the per-round
    ratios stay meaningful while the load drifts.
    """
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = CLOCK()
            fn()
            times[name].append(CLOCK() - t0)
    return {name: np.array(ts) for name, ts in times.items()}


def gemm_gflops(dtype, size=2048):
    """numpy's GEMM speed on ``size x size`` matrices: the limit for the convolution."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size)).astype(dtype)
    b = rng.standard_normal((size, size)).astype(dtype)
    out = np.empty_like(a)
    t = median_time(lambda: np.matmul(a, b, out=out), 7 if not QUICK else 3)
    return 2 * size**3 / t / 1e9


def conv_flops(n, c_in, c_out, h, w):
    return 3 * 2 * n * c_out * c_in * K * K * h * w  # stride 1, "same": H_out = H


def problem(n, c_in, c_out, h, w, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c_in, h, w)).astype(dtype)
    wt = (rng.standard_normal((c_out, c_in, K, K)) / np.sqrt(c_in * K * K)).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype)
    dy = rng.standard_normal((n, c_out, h, w)).astype(dtype)
    return x, wt, b, dy


def make_layer(c_in, c_out, w, b, dtype):
    layer = Conv2D(c_in, c_out, K, padding=PAD, dtype=dtype)
    layer.params["W"][...] = w
    layer.params["b"][...] = b
    return layer


def peak_memory_mb(case, dtype):
    """Peak of numpy's allocations during one layer forward + backward (tracemalloc)."""
    _, c_in, c_out, _, _ = case
    x, wt, b, dy = problem(*case, dtype)
    layer = make_layer(c_in, c_out, wt, b, dtype)
    tracemalloc.start()
    layer.forward(x)
    layer.backward(dy)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20, (x.nbytes + dy.nbytes) / 2**20


def blas_description():
    parts = []
    for info in threadpool_info():
        if info.get("user_api") == "blas":
            owner = os.path.basename(os.path.dirname(info.get("filepath", "")))  # numpy.libs
            parts.append(
                f"{info.get('internal_api')} {info.get('version')} ({owner}), kernel "
                f"{info.get('architecture', '?')}, {info.get('num_threads')} thread(s)"
            )
    return "; ".join(parts) or "unknown"


def main():
    threadpool_limits(1)
    if torch is not None:
        torch.set_num_threads(1)
    print(f"numpy {np.__version__}, python {platform.python_version()}")
    print(f"BLAS: {blas_description()}")
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if var in os.environ:
            print(f"note: {var}={os.environ[var]} is set (it changes OpenBLAS's kernel)")
    if torch is not None:
        print(f"torch {torch.__version__} (CPU, {torch.get_num_threads()} thread)")
    else:
        print("torch: not importable; the loop baselines are timed instead")
    limits = {np.float32: gemm_gflops(np.float32), np.float64: gemm_gflops(np.float64)}
    print(
        f"GEMM limit (numpy matmul 2048^2, 1 thread): sgemm {limits[np.float32]:.0f} GFLOP/s, "
        f"dgemm {limits[np.float64]:.0f} GFLOP/s"
    )
    clock = "CPU time" if CLOCK is time.process_time else "wall time"
    print(
        f"ms ({clock}) for forward + backward, median of {REPEATS} runs (the candidates "
        "alternate run by run); 3x3 kernels, stride 1, padding 1\n"
    )

    header = f"{'dtype':<8}{'N, C->O, HxW':<20}{'layer':>8}{'funcs':>8}"
    if torch is not None:
        header += f"{'torch':>8}{'layer/torch (IQR)':>22}"
    header += f"{'GFLOP/s':>9}{'% GEMM':>8}"
    if LOOPS:
        for name in BASELINES:
            header += f"{name + ' loop':>14}"
    print(header)
    print("-" * len(header))

    for dtype in (np.float32, np.float64):
        for case in CASES:
            n, c_in, c_out, h, wd = case
            x, w, b, dy = problem(*case, dtype)
            layer = make_layer(c_in, c_out, w, b, dtype)
            y = layer.forward(x)
            assert y.dtype == dtype
            np.testing.assert_array_equal(y, conv2d(x, w, b, padding=PAD))

            def layer_step(layer=layer, x=x, dy=dy):
                layer.forward(x)
                layer.backward(dy)

            def function_step(x=x, w=w, b=b, dy=dy):
                conv2d(x, w, b, padding=PAD)
                conv2d_backward(dy, x, w, padding=PAD)

            steps = {"layer": layer_step, "funcs": function_step}
            if torch is not None:
                xt = torch.from_numpy(x).requires_grad_(True)
                wt = torch.from_numpy(w).requires_grad_(True)
                bt = torch.from_numpy(b).requires_grad_(True)
                dyt = torch.from_numpy(dy)
                with torch.no_grad():
                    ref = torch_f.conv2d(xt, wt, bt, padding=PAD).numpy()
                tol = 1e-3 if dtype == np.float32 else 1e-10
                np.testing.assert_allclose(y, ref, rtol=tol, atol=tol)

                def torch_step(xt=xt, wt=wt, bt=bt, dyt=dyt):
                    xt.grad = wt.grad = bt.grad = None
                    torch_f.conv2d(xt, wt, bt, padding=PAD).backward(dyt)

                steps["torch"] = torch_step
            times = interleaved_times(steps, REPEATS)
            t_layer, t_func = np.median(times["layer"]), np.median(times["funcs"])
            gflops = conv_flops(*case) / t_layer / 1e9
            label = f"{n}, {c_in}->{c_out}, {h}x{wd}"
            row = f"{np.dtype(dtype).name:<8}{label:<20}{t_layer * 1e3:>8.2f}{t_func * 1e3:>8.2f}"
            if torch is not None:
                t_torch = np.median(times["torch"])
                # ratio of the runs of one round (same load); median and quartiles
                q1, q2, q3 = np.percentile(times["layer"] / times["torch"], [25, 50, 75])
                row += f"{t_torch * 1e3:>8.2f}{q2:>9.2f}x ({q1:.2f}-{q3:.2f})"
            row += f"{gflops:>9.1f}{100 * gflops / limits[dtype]:>7.0f}%"

            if LOOPS:
                for forward, backward, m in BASELINES.values():
                    # the baseline must agree with the library before it is timed
                    tol = 1e-3 if dtype == np.float32 else 1e-9
                    got_y = forward(x[:m], w, b, STRIDE, PAD)
                    np.testing.assert_allclose(got_y, y[:m], rtol=tol, atol=tol)
                    got = backward(dy[:m], x[:m], w, STRIDE, PAD)
                    want = conv2d_backward(dy[:m], x[:m], w, stride=STRIDE, padding=PAD)
                    for g, r in zip(got, want, strict=True):
                        np.testing.assert_allclose(g, r, rtol=tol, atol=tol)

                    def loop_step(fw=forward, bw=backward, m=m, x=x, w=w, b=b, dy=dy):
                        fw(x[:m], w, b, STRIDE, PAD)
                        bw(dy[:m], x[:m], w, STRIDE, PAD)

                    t_loop = median_time(loop_step, LOOP_REPEATS) * (n / m)
                    row += f"{t_loop * 1e3:>9.0f} ({t_loop / t_layer:>3.0f}x)"
            print(row, flush=True)

    if LOOPS:
        note = ", ".join(f"{name} at batch {bs}" for name, (_, _, bs) in BASELINES.items())
        print(f"\nloops: ms scaled linearly from a smaller batch ({note}); (Nx) = loop/layer")
    largest = CASES[-1]
    for dtype in (np.float32, np.float64):
        peak, io = peak_memory_mb(largest, dtype)
        print(
            f"peak memory, layer forward + backward on {largest}, {np.dtype(dtype).name}: "
            f"{peak:.1f} MiB allocated by numpy (input + output gradient: {io:.1f} MiB)"
        )


if __name__ == "__main__":
    main()
