"""Draw the course logo and favicon (run once; the PNGs are committed).

Usage::

    python scripts/make_logo.py

Writes ``_static/logo.png`` (sidebar logo) and ``_static/favicon.png`` (browser
tab icon). The picture is the course in one glance: a 3×3 convolution kernel whose
weights are drawn at random (seeded), under the bell curve they were drawn from.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "_static"


def draw(size_px: int, dpi: int = 100, curve: bool = True):
    """A square figure: kernel cells coloured by weight, a Gaussian on top."""
    rng = np.random.default_rng(3)
    kernel = rng.normal(0.0, 1.0, (3, 3))
    fig = plt.figure(figsize=(size_px / dpi, size_px / dpi), dpi=dpi)
    fig.patch.set_alpha(0.0)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 3)
    ax.set_ylim(0, 3)
    ax.set_aspect("equal")
    ax.axis("off")
    cmap = plt.get_cmap("RdBu_r")
    vmax = float(np.abs(kernel).max())
    gap = 0.08
    for i in range(3):
        for j in range(3):
            value = kernel[i, j]
            color = cmap(0.5 + 0.45 * value / vmax)
            ax.add_patch(
                plt.Rectangle(
                    (j + gap, 2 - i + gap),
                    1 - 2 * gap,
                    1 - 2 * gap,
                    facecolor=color,
                    edgecolor="none",
                    joinstyle="round",
                )
            )
    if curve:
        x = np.linspace(0.05, 2.95, 200)
        y = 0.35 + 2.3 * np.exp(-0.5 * ((x - 1.5) / 0.45) ** 2)
        ax.plot(x, y, color="white", lw=size_px / 40, solid_capstyle="round")
        ax.plot(x, y, color="#1f2d3d", lw=size_px / 110, solid_capstyle="round")
    return fig


def main() -> None:
    STATIC.mkdir(exist_ok=True)
    fig = draw(320)
    fig.savefig(STATIC / "logo.png", transparent=True)
    plt.close(fig)
    fig = draw(64)
    fig.savefig(STATIC / "favicon.png", transparent=True)
    plt.close(fig)
    for name in ("logo.png", "favicon.png"):
        print(STATIC / name)


if __name__ == "__main__":
    main()
