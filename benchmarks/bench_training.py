"""Training throughput: SGD steps per second of the course's two benchmark networks.

Run with ``python benchmarks/bench_training.py`` (``--quick``: fewer steps and repeats;
``--cpu-time``: CPU time instead of wall time, on a machine busy with other work).

The networks, trained on the digits (``weightinit.data.load_digits``), batch 32, SGD with
momentum 0.9 (``train``'s defaults):

``small CNN``
    :func:`weightinit.layers.small_cnn` with its defaults (two 3x3 convolutions with 8
    and 16 channels, ReLU, 2x2 max pooling, a dense layer; He-normal weights); learning
    rate 0.05.
``deep MLP``
    ``mlp([64] + [128] * 29 + [10])`` with ReLU and He-normal weights: the 30-layer
    network of the He chapter, with its learning rate 0.001 (larger rates make this
    network diverge, and steps on NaNs are not what is to be timed).

One step is what :func:`weightinit.training.train` does per minibatch: forward, softmax
cross-entropy, backward, :class:`~weightinit.training.SGD` step (the per-epoch
evaluation and depth profiles of ``train`` are left out). Each network is timed in
float32 and float64 (the data are converted once, beforehand) for ``STEPS`` steps;
the median over ``REPEATS`` timings is reported, with one thread for numpy's BLAS. When
PyTorch can be imported, the same networks (same layers, same optimizer, same batches)
are timed on its CPU backend with one thread.

To measure an older version of the library (e.g. the commit before the float32 path),
put its ``code/`` first on ``PYTHONPATH``; a library without the ``dtype`` argument is
timed in float64 only. To compare two versions on a busy machine, ``--before DIR`` (the
``code/`` directory of another version, e.g. ``mkdir /tmp/old && git archive <commit> code
| tar -x -C /tmp/old`` gives ``/tmp/old/code``) imports that library as well and times
the two alternately, repeat by repeat, so both see the same load: the table gets a
``before`` column and the ratio ``now/before``.

A second table times :func:`weightinit.compare.train_seeds` as the chapters call it, in
CPU time per seed, with the per-seed loop (``stacked=False``) and with all seeds trained
at once (``stacked=True``, :mod:`weightinit.stacked`), and checks that both give the same
records: the deep MLP (He normal, batch 32, SGD lr 0.001, momentum 0.9, 6 epochs) and the
small CNN (He normal, batch 32, SGD lr 0.05, momentum 0.9, 5 epochs), 10 seeds each, test
accuracy after every epoch (``--quick``: 2 epochs). ``--seeds-only`` runs only this table.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import itertools
import platform
import sys
import time
from pathlib import Path

import numpy as np
import weightinit
from threadpoolctl import threadpool_limits
from weightinit.compare import train_seeds
from weightinit.data import load_digits
from weightinit.layers import mlp, small_cnn, softmax_cross_entropy
from weightinit.training import SGD

try:  # optional comparison
    import torch
    from torch import nn
except ImportError:  # pragma: no cover - depends on the machine
    torch = None

QUICK = "--quick" in sys.argv
STEPS = 100 if QUICK else 300
REPEATS = 3 if QUICK else 7
CLOCK = time.process_time if "--cpu-time" in sys.argv else time.perf_counter
BATCH, MOMENTUM = 32, 0.9
LR = {"small CNN": 0.05, "deep MLP": 0.001}
MLP_SIZES = [64] + [128] * 29 + [10]
HAS_DTYPE = "dtype" in inspect.signature(mlp).parameters
BEFORE = sys.argv[sys.argv.index("--before") + 1] if "--before" in sys.argv else None


def import_before(code_dir):
    """The library in ``code_dir/weightinit``, imported as the package ``weightinit_before``."""
    pkg = Path(code_dir) / "weightinit"
    spec = importlib.util.spec_from_file_location(
        "weightinit_before", pkg / "__init__.py", submodule_search_locations=[str(pkg)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["weightinit_before"] = module
    spec.loader.exec_module(module)
    for sub in ("layers", "training"):
        importlib.import_module(f"weightinit_before.{sub}")
    return module


def build(name, dtype, lib=None):
    make_mlp, make_cnn = (lib.layers.mlp, lib.layers.small_cnn) if lib else (mlp, small_cnn)
    kwargs = {"dtype": dtype} if "dtype" in inspect.signature(make_mlp).parameters else {}
    if name == "small CNN":
        return make_cnn(weight_init="he_normal", rng=0, **kwargs)
    return make_mlp(MLP_SIZES, weight_init="he_normal", rng=0, **kwargs)


def batches(n, steps, seed=0):
    """``steps`` index arrays of size BATCH, epoch after epoch of shuffled data."""
    gen = np.random.default_rng(seed)
    out = []
    while len(out) < steps:
        order = gen.permutation(n)
        out += [order[i : i + BATCH] for i in range(0, n - BATCH + 1, BATCH)]
    return out[:steps]


def time_weightinit(name, X, y, idx, lib=None):
    net = build(name, X.dtype, lib)
    opt = (lib.training.SGD if lib else SGD)(net, lr=LR[name], momentum=MOMENTUM)
    loss_fn = lib.layers.softmax_cross_entropy if lib else softmax_cross_entropy

    def run():
        for i in idx:
            out = net.forward(X[i])
            loss, dout = loss_fn(out, y[i])
            net.backward(dout)
            opt.step()
        assert np.isfinite(loss), f"{name} diverged: the timing would be of NaNs"
        return out.dtype

    return run


def torch_net(name, dtype):
    torch.manual_seed(0)
    if name == "small CNN":
        layers = [nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, padding=1),
                  nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 4 * 4, 10)]  # fmt: skip
    else:
        layers = []
        for i, (a, b) in enumerate(itertools.pairwise(MLP_SIZES)):
            layers.append(nn.Linear(a, b))
            if i < len(MLP_SIZES) - 2:
                layers.append(nn.ReLU())
    net = nn.Sequential(*layers).to(torch.float32 if dtype == np.float32 else torch.float64)
    for m in net:
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)
    return net


def time_torch(name, X, y, idx):
    net = torch_net(name, X.dtype)
    opt = torch.optim.SGD(net.parameters(), lr=LR[name], momentum=MOMENTUM)
    loss_fn = nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    idx = [torch.from_numpy(i) for i in idx]

    def run():
        for i in idx:
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(Xt[i]), yt[i])
            loss.backward()
            opt.step()
        assert torch.isfinite(loss), f"{name} diverged in torch"

    return run


def steps_per_second(run, steps, *others):
    """Median steps per second of ``run`` (and of each of ``others``, timed alternately)."""
    runs = (run, *others)
    for r in runs:
        r()  # warm-up
    times = [[] for _ in runs]
    for _ in range(REPEATS):
        for r, t in zip(runs, times, strict=True):
            t0 = CLOCK()
            r()
            t.append(CLOCK() - t0)
    rates = [steps / float(np.median(t)) for t in times]
    return rates if others else rates[0]


SEED_RUNS = {  # name: (epochs, lr) of the chapters' runs
    "deep MLP": (6, 0.001),
    "small CNN": (5, 0.05),
}
N_SEEDS = 10


def time_train_seeds(name, dtype, data, stacked):
    """CPU seconds per seed of compare.train_seeds, and its records."""
    epochs, lr = SEED_RUNS[name]
    epochs = min(epochs, 2) if QUICK else epochs

    def build(seed):
        if name == "small CNN":
            return small_cnn(weight_init="he_normal", rng=seed, dtype=dtype)
        return mlp(MLP_SIZES, weight_init="he_normal", rng=seed, dtype=dtype)

    t0 = time.process_time()
    runs = train_seeds(build, data, range(N_SEEDS), epochs=epochs, batch_size=BATCH, lr=lr,
                       momentum=MOMENTUM, stacked=stacked)  # fmt: skip
    return (time.process_time() - t0) / N_SEEDS, runs


def seeds_table():
    digits = load_digits()
    sets = {"small CNN": digits, "deep MLP": load_digits(flat=True)}
    print(
        f"\ncompare.train_seeds, {N_SEEDS} seeds: CPU seconds per seed (train + test accuracy "
        "after every epoch)\n"
    )
    header = f"{'network':<11}{'dtype':<9}{'epochs':>7}{'loop':>9}{'stacked':>9}{'speed-up':>10}"
    print(header)
    print("-" * len(header))
    for name in ("deep MLP", "small CNN"):
        for dtype in (np.float64, np.float32):
            loop, slow = time_train_seeds(name, dtype, sets[name], stacked=False)
            fast_time, fast = time_train_seeds(name, dtype, sets[name], stacked=True)
            # the same records, or the timing compares different work
            np.testing.assert_array_equal(fast.test_acc, slow.test_acc)
            np.testing.assert_allclose(fast.epoch_loss, slow.epoch_loss, rtol=1e-12)
            epochs = fast.epoch_loss.shape[1]
            print(f"{name:<11}{np.dtype(dtype).name:<9}{epochs:>7}{loop:>9.3f}{fast_time:>9.3f}"
                  f"{loop / fast_time:>9.2f}x", flush=True)  # fmt: skip


def main():
    threadpool_limits(1)
    if "--seeds-only" in sys.argv:
        print(f"weightinit from {weightinit.__file__}")
        seeds_table()
        return
    if torch is not None:
        torch.set_num_threads(1)
    print(f"weightinit from {weightinit.__file__}")
    print(f"numpy {np.__version__}, python {platform.python_version()}, 1 BLAS thread")
    if torch is not None:
        print(f"torch {torch.__version__} (CPU, 1 thread)")
    if not HAS_DTYPE:
        print("this weightinit has no dtype argument: float32 rows are not applicable")
    clock = "CPU time" if CLOCK is time.process_time else "wall time"
    print(
        f"SGD steps per second of {clock} (batch {BATCH}), median of {REPEATS} runs of "
        f"{STEPS} steps\n"
    )
    digits = load_digits()
    before = import_before(BEFORE) if BEFORE else None
    if before:
        print(f"before: weightinit from {before.__file__}, timed alternately with it")
    header = f"{'network':<11}{'dtype':<9}{'weightinit':>11}"
    if before:
        header += f"{'before':>9}{'now/before':>12}"
    if torch is not None:
        header += f"{'torch':>9}{'torch/weightinit':>18}"
    print(header)
    print("-" * len(header))
    for name in ("small CNN", "deep MLP"):
        for dtype in (np.float32, np.float64):
            X = digits.X_train if name == "small CNN" else digits.X_train.reshape(-1, 64)
            X = np.ascontiguousarray(X, dtype=dtype)
            y = digits.y_train
            idx = batches(len(X), STEPS)
            row = f"{name:<11}{np.dtype(dtype).name:<9}"
            if before:
                run, old = (
                    time_weightinit(name, X, y, idx),
                    time_weightinit(name, X, y, idx, before),
                )
                ours, theirs_before = steps_per_second(run, STEPS, old)
                ratio = f"{ours / theirs_before:.2f}x"
                row += f"{ours:>11.0f}{theirs_before:>9.0f}{ratio:>12}"
            elif HAS_DTYPE or dtype == np.float64:
                run = time_weightinit(name, X, y, idx)
                assert run() == (dtype if HAS_DTYPE else np.float64)
                ours = steps_per_second(run, STEPS)
                row += f"{ours:>11.0f}"
            else:
                ours = None
                row += f"{'n/a':>11}"
            if torch is not None:
                theirs = steps_per_second(time_torch(name, X, y, idx), STEPS)
                ratio = f"{theirs / ours:.2f}x" if ours else "n/a"
                row += f"{theirs:>9.0f}{ratio:>18}"
            print(row, flush=True)
    if HAS_DTYPE:
        seeds_table()


if __name__ == "__main__":
    main()
