"""Precompute the interactive explorer's results into ``_static/explorer/explorer_data.json``.

Usage::

    python scripts/make_explorer_data.py            # about 15 minutes on one core
    python scripts/make_explorer_data.py --check    # recompute a sample, compare, exit 1 if off
    python scripts/make_explorer_data.py --add      # compute only the settings missing from
                                                    # the stored file (e.g. a new scheme)

The explorer page (``chapters/explorer.ipynb``) runs in the reader's browser without a
Python kernel: ``_static/explorer/explorer.js`` reads this file and draws the standard
deviation of the activations through depth for the chosen initializer, activation,
depth, width and seed. Every number in the file comes from the course library:

* inputs: ``n_examples`` standard-normal rows of ``width`` features, drawn with
  ``numpy.random.default_rng([seed, 1])``;
* network: ``weightinit.layers.mlp([width] * (MAX_DEPTH + 1), activation_name=...,
  weight_init=..., rng=seed, final_activation=True)``, where ``weight_init`` is a name
  of the library's registry, except for the schemes of Part II (:data:`SPECIAL`):

  - ``orthogonal_gain``: ``weightinit.initializers.orthogonal`` with
    ``gain = weightinit.gain(activation)`` (PyTorch's ``calculate_gain`` values; 1 for
    linear and sigmoid, so the curve equals ``orthogonal``'s there);
  - ``lsuv``: the network's default draw (``mlp``'s ``glorot_uniform``), then
    ``weightinit.lsuv.lsuv(net, x, rng=seed)`` on the same probe batch ``x``
    (Mishkin & Matas 2016, Algorithm 1: an orthonormal redraw, then each layer rescaled
    to unit pre-activation variance on ``x``);
  - ``lsuv_glorot``: the same without the orthonormal redraw (``orthonormal=False``):
    LSUV's rescaling on top of the default ``glorot_uniform`` draw;
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
from weightinit import gain
from weightinit.layers import mlp
from weightinit.lsuv import lsuv
from weightinit.stats import depth_profile

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "_static" / "explorer" / "explorer_data.json"

INITIALIZERS = ["normal", "uniform", "torch_default", "lecun_normal", "glorot_uniform",
                "glorot_normal", "he_normal", "he_uniform", "orthogonal",
                "orthogonal_gain", "lsuv", "lsuv_glorot"]  # fmt: skip
#: the schemes that are not a plain registry name of ``mlp``'s ``weight_init``
SPECIAL = ("orthogonal_gain", "lsuv", "lsuv_glorot")
#: shown by the explorer next to the scheme's name (its caption)
NOTES = {
    "orthogonal_gain": "orthogonal, times PyTorch's calculate_gain of the activation",
    "lsuv": "LSUV: an orthonormal draw, then every layer rescaled to pre-activation "
    "variance 1 on these inputs",
    "lsuv_glorot": "the default glorot_uniform draw, then LSUV's rescaling to "
    "pre-activation variance 1 on these inputs",
}
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


def network(init: str, activation: str, width: int, seed: int, depth: int, x):
    """The explorer's MLP for one setting; ``x`` is the probe batch (used by LSUV)."""
    sizes = [width] * (depth + 1)
    if init == "orthogonal_gain":
        return mlp(sizes, activation_name=activation, weight_init="orthogonal", rng=seed,
                   init_kwargs={"gain": gain(activation)}, final_activation=True)  # fmt: skip
    if init in ("lsuv", "lsuv_glorot"):
        net = mlp(sizes, activation_name=activation, rng=seed, final_activation=True)
        lsuv(net, x, rng=seed, orthonormal=init == "lsuv")
        return net
    return mlp(sizes, activation_name=activation, weight_init=init, rng=seed,
               final_activation=True)  # fmt: skip


def profile(init: str, activation: str, width: int, seed: int, depth: int = MAX_DEPTH):
    """The library's per-layer statistics for one setting (a DepthProfile)."""
    x = np.random.default_rng([seed, 1]).standard_normal((N_EXAMPLES, width))
    net = network(init, activation, width, seed, depth, x)
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


def build(data: dict | None = None) -> dict:
    """Every setting of the explorer; with ``data``, only the keys missing from it."""
    data = dict(data or {})
    start = time.perf_counter()
    for init in INITIALIZERS:
        for activation in ACTIVATIONS:
            for width in WIDTHS:
                for seed in SEEDS:
                    k = key(init, activation, width, seed)
                    if k not in data:
                        data[k] = entry(init, activation, width, seed)
        print(f"{init:16s} done after {time.perf_counter() - start:6.0f} s", flush=True)
    data = {
        key(i, a, w, s): data[key(i, a, w, s)]
        for i in INITIALIZERS for a in ACTIVATIONS for w in WIDTHS for s in SEEDS
    }  # fmt: skip
    return {
        "description": (
            "Activation statistics of freshly initialized MLPs, computed with the weightinit "
            "library by scripts/make_explorer_data.py"
        ),
        "initializers": INITIALIZERS,
        "notes": NOTES,
        "activations": ACTIVATIONS,
        "widths": WIDTHS,
        "seeds": SEEDS,
        "max_depth": MAX_DEPTH,
        "n_examples": N_EXAMPLES,
        "data": data,
    }


def check(path: Path = OUT, samples: int = 12) -> list[str]:
    """Recompute a few stored settings with the library; the differences found.

    The sample is ``samples`` random keys plus one key of every Part II scheme
    (:data:`SPECIAL`), so that a change to those code paths is always seen.
    """
    stored = json.loads(path.read_text(encoding="utf-8"))
    keys = sorted(stored["data"])
    missing = [k for i in INITIALIZERS for k in [key(i, "relu", WIDTHS[0], SEEDS[0])]
               if k not in stored["data"]]  # fmt: skip
    if missing:
        return [f"missing (run --add): {k}" for k in missing]
    gen = np.random.default_rng(0)
    picks = [keys[i] for i in gen.choice(len(keys), samples, replace=False)]
    picks += [key(i, "tanh", WIDTHS[1], SEEDS[-1]) for i in SPECIAL]
    bad = []
    for k in picks:
        init, activation, width, seed = k.split("|")
        fresh = entry(init, activation, int(width), int(seed))
        if fresh != stored["data"][k]:
            bad.append(k)
    return bad


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="compare a sample, write nothing")
    mode.add_argument("--add", action="store_true",
                      help="keep the stored settings, compute only the missing ones")  # fmt: skip
    parser.add_argument("--out", type=Path, default=OUT,
                        help=f"the JSON file to check, extend or write (default {OUT})")  # fmt: skip
    args = parser.parse_args(argv)
    out = args.out
    if args.check:
        bad = check(out)
        print("explorer data matches the library" if not bad else f"differs: {bad}")
        return 1 if bad else 0
    result = build(json.loads(out.read_text(encoding="utf-8"))["data"] if args.add else None)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
