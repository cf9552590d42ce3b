"""Precompute the interactive explorer's results into ``_static/explorer/explorer_data.json``.

Usage::

    python scripts/make_explorer_data.py            # about 10 minutes on one core
    python scripts/make_explorer_data.py --check    # recompute a sample, compare, exit 1 if off

The explorer page (``chapters/explorer.ipynb``) runs in the reader's browser without a
Python kernel: ``_static/explorer/explorer.js`` reads this file and draws the standard
deviation of the activations through depth for the chosen initializer, activation,
depth, width and seed. Every number in the file comes from the course library:

* inputs: ``n_examples`` standard-normal rows of ``width`` features, drawn with
  ``numpy.random.default_rng([seed, 1])``;
* network: ``weightinit.layers.mlp([width] * (MAX_DEPTH + 1), activation_name=...,
  weight_init=..., rng=seed, final_activation=True)``;
* statistics: ``weightinit.stats.depth_profile(net, x, rng=seed)``: per layer the
  activation std (``act_std``, 4 significant digits), the percentage of dead units
  (``dead``) and of saturated units (``sat``); a list of zeros is left out.

One network of depth ``MAX_DEPTH`` serves every depth: its layers draw their weights one
after the other from one generator, so the first ``d`` layers are exactly the network of
depth ``d``. The explorer notebook checks that (and a sample of values) against the
library when the book is built. A setting whose activations overflow is stored as
``null`` from the first non-finite layer on.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from weightinit.layers import mlp
from weightinit.stats import depth_profile

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "_static" / "explorer" / "explorer_data.json"

INITIALIZERS = ["normal", "uniform", "torch_default", "lecun_normal", "glorot_uniform",
                "glorot_normal", "he_normal", "he_uniform", "orthogonal"]  # fmt: skip
ACTIVATIONS = ["relu", "leaky_relu", "tanh", "sigmoid", "selu", "linear"]
WIDTHS = [16, 64, 128, 256, 512]
SEEDS = [0, 1, 2, 3, 4]
MAX_DEPTH = 30
N_EXAMPLES = 256
SIG_DIGITS = 4


def key(init: str, activation: str, width: int, seed: int) -> str:
    return f"{init}|{activation}|{width}|{seed}"


def _round(x: float) -> float | None:
    if not math.isfinite(x):
        return None
    return float(f"{x:.{SIG_DIGITS}g}")


def profile(init: str, activation: str, width: int, seed: int, depth: int = MAX_DEPTH):
    """The library's per-layer statistics for one setting (a DepthProfile)."""
    x = np.random.default_rng([seed, 1]).standard_normal((N_EXAMPLES, width))
    net = mlp([width] * (depth + 1), activation_name=activation, weight_init=init, rng=seed,
              final_activation=True)  # fmt: skip
    with np.errstate(over="ignore", invalid="ignore"):
        return depth_profile(net, x, rng=seed)


def entry(init: str, activation: str, width: int, seed: int) -> dict:
    """{"std": [...], "dead": [...], "sat": [...]} over layers 1..MAX_DEPTH (percent ints)."""
    depth = MAX_DEPTH
    while True:
        try:
            p = profile(init, activation, width, seed, depth)
            break
        except FloatingPointError:  # overflow: keep the finite prefix
            depth -= 1
            if depth == 0:
                p = None
                break
    n = 0 if p is None else depth
    pad = [None] * (MAX_DEPTH - n)
    if p is None:
        return {"std": pad, "dead": pad, "sat": pad}
    return compact({
        "std": [_round(v) for v in p.act_std[:n]] + pad,
        "dead": [round(100 * float(v)) for v in p.dead[:n]] + pad,
        "sat": [round(100 * float(v)) for v in p.saturated[:n]] + pad,
    })  # fmt: skip


def compact(item: dict) -> dict:
    """Leave out a "dead" or "sat" list that is all zeros (the explorer reads it as 0)."""
    return {k: v for k, v in item.items() if k == "std" or any(x != 0 for x in v)}


def build() -> dict:
    data = {}
    start = time.perf_counter()
    for init in INITIALIZERS:
        for activation in ACTIVATIONS:
            for width in WIDTHS:
                for seed in SEEDS:
                    data[key(init, activation, width, seed)] = entry(init, activation, width, seed)
        print(f"{init:16s} done after {time.perf_counter() - start:6.0f} s", flush=True)
    return {
        "description": (
            "Activation statistics of freshly initialized MLPs, computed with the weightinit "
            "library by scripts/make_explorer_data.py"
        ),
        "initializers": INITIALIZERS,
        "activations": ACTIVATIONS,
        "widths": WIDTHS,
        "seeds": SEEDS,
        "max_depth": MAX_DEPTH,
        "n_examples": N_EXAMPLES,
        "data": data,
    }


def check(path: Path = OUT, samples: int = 12) -> list[str]:
    """Recompute a few stored settings with the library; the differences found."""
    stored = json.loads(path.read_text(encoding="utf-8"))
    keys = sorted(stored["data"])
    picks = [keys[i] for i in np.random.default_rng(0).choice(len(keys), samples, replace=False)]
    bad = []
    for k in picks:
        init, activation, width, seed = k.split("|")
        fresh = entry(init, activation, int(width), int(seed))
        if fresh != stored["data"][k]:
            bad.append(k)
    return bad


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare a sample, write nothing")
    args = parser.parse_args(argv)
    if args.check:
        bad = check()
        print("explorer data matches the library" if not bad else f"differs: {bad}")
        return 1 if bad else 0
    result = build()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
