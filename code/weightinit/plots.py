"""The figures the chapters repeat, in one consistent style.

Every helper gives its figure a title, labelled axes and a legend (where there
is more than one curve), and returns the :class:`matplotlib.figure.Figure` so a
notebook can tweak it. End the notebook cell with ``plt.show()``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from ._validate import positive_int, real_array

__all__ = [
    "COLUMN_WIDTH_IN",
    "DPI",
    "MIN_FONT_PT",
    "PALETTE",
    "STYLE",
    "figure_alt_text",
    "filter_grid",
    "layer_histograms",
    "learning_curves",
    "register_notebook_alt_text",
    "std_by_depth",
    "use_style",
]

# ============================================================================ style
# The course's figure style (website-owned block: rcParams, colours, sizes). Everything
# about how a figure looks on the site lives between these two rules; the setup cell of
# every notebook applies it with use_style(). Sizes are chosen for the site's column:
# at DPI pixels per inch a figure COLUMN_WIDTH_IN wide is shown at 1:1 on a 1366 px
# laptop, so text of MIN_FONT_PT points is MIN_FONT_PT / 72 * DPI >= 12 px there; the
# notebooks' inline backend draws retina PNGs (2 x DPI) so it stays sharp on HiDPI.

#: CSS pixels per inch of a figure on the site (1 figure inch = DPI px at 1:1)
DPI = 100
#: widest figure (inches) that the site's column shows unscaled at 1366 px
COLUMN_WIDTH_IN = 7.0
#: smallest font size (points) any helper or the style uses
MIN_FONT_PT = 9
#: colour-blind-safe qualitative palette (Okabe & Ito), the default colour cycle
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
           "#000000", "#F0E442"]  # fmt: skip

#: rcParams applied by every helper and, through use_style(), by every notebook
STYLE = {
    "figure.dpi": DPI,
    "savefig.dpi": "figure",
    "figure.figsize": (6.4, 3.8),
    # an opaque white background: readable on the site's dark mode too
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "axes.facecolor": "white",
    "axes.prop_cycle": plt.cycler(color=PALETTE),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 10,
    "axes.titlesize": 11,
    "figure.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": MIN_FONT_PT,
    "ytick.labelsize": MIN_FONT_PT,
    "legend.fontsize": MIN_FONT_PT,
    "legend.title_fontsize": MIN_FONT_PT,
    "legend.frameon": False,
    "lines.linewidth": 1.6,
    "svg.hashsalt": "weightinit",
}


def use_style() -> None:
    """Apply :data:`STYLE` to every later figure (the notebooks' setup cell calls it)."""
    plt.rcParams.update(STYLE)


def figure_width(panels: int = 1, per_panel: float = 3.4, extra: float = 0.6) -> float:
    """Width in inches for ``panels`` side by side, capped at :data:`COLUMN_WIDTH_IN`."""
    return min(COLUMN_WIDTH_IN, per_panel * panels + extra)


# ========================================================================= end style


def _mapping(value, name: str) -> dict:
    """A non-empty mapping label -> data; labels must be strings."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a mapping label -> values, got {type(value).__name__}")
    if not value:
        raise ValueError(f"{name} must contain at least one entry")
    for label in value:
        if not isinstance(label, str):
            raise TypeError(f"{name} labels must be strings, got {type(label).__name__} {label!r}")
    return dict(value)


def _text(value, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {type(value).__name__} {value!r}")
    return value


def _curve(values, name: str) -> np.ndarray:
    """A non-empty, finite 1-D curve (see the NaN and empty-input policies in CONTRIBUTING)."""
    return real_array(values, name, ndim=1).astype(float)


def _colors(n: int):
    cmap = plt.get_cmap("viridis")
    return [cmap(x) for x in np.linspace(0.05, 0.9, max(n, 1))]


def std_by_depth(curves: Mapping[str, Sequence[float]], *, title: str, ylabel: str,
                 xlabel: str = "layer", logy: bool = True, reference: float | None = None,
                 ax=None):  # fmt: skip
    """Line plot of a per-layer quantity (e.g. activation std) against depth.

    Parameters
    ----------
    curves : mapping label -> values (layer 1 first)
    reference : float, optional
        Draw a dashed horizontal line (e.g. at 1, the variance-preserving target).

    Every curve must be a non-empty, finite 1-D sequence (``ValueError`` otherwise).
    """
    curves = {k: _curve(v, f"curves[{k!r}]") for k, v in _mapping(curves, "curves").items()}
    title, ylabel, xlabel = _text(title, "title"), _text(ylabel, "ylabel"), _text(xlabel, "xlabel")
    if reference is not None:
        reference = float(real_array(reference, "reference"))
    with plt.rc_context(STYLE):
        if ax is None:
            fig, ax = plt.subplots(figsize=(6.4, 3.8))
        fig = ax.figure
        for label, values in curves.items():
            ax.plot(np.arange(1, len(values) + 1), values, marker="o", ms=3, label=label)
        if reference is not None:
            ax.axhline(reference, color="k", ls="--", lw=1, label=f"reference {reference:g}")
        if logy:
            ax.set_yscale("log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.legend()
        fig.tight_layout()
    return fig


def layer_histograms(groups: Mapping[str, Sequence[np.ndarray]], *, title: str,
                     xlabel: str = "activation value", layers: Sequence[int] | None = None,
                     bins: int = 60, value_range: tuple[float, float] | None = None,
                     sharey: bool = True):  # fmt: skip
    """Per-layer histograms, one panel per group, layers overlaid in colour.

    This is the layout of Glorot & Bengio's (2010) activation figures: each
    panel is one initialization scheme, each curve one layer.

    Parameters
    ----------
    groups : mapping label -> list of arrays (one per layer)
    layers : indices of the layers to show (default: all)
    value_range : histogram range; default spans all the data
    """
    groups = _mapping(groups, "groups")
    title, xlabel = _text(title, "title"), _text(xlabel, "xlabel")
    bins = positive_int(bins, "bins")
    if bins > 1000:
        raise ValueError(f"bins must be <= 1000, got {bins}")
    for label, arrays in groups.items():
        if isinstance(arrays, np.ndarray) or not isinstance(arrays, Sequence) or not arrays:
            raise TypeError(
                f"groups[{label!r}] must be a non-empty list of arrays (one per layer), "
                f"got {type(arrays).__name__}"
            )
        groups[label] = [real_array(a, f"groups[{label!r}][{i}]") for i, a in enumerate(arrays)]
        if layers is not None:
            for i in layers:
                if isinstance(i, bool) or not isinstance(i, int | np.integer):
                    raise TypeError(f"layers must be integers, got {i!r}")
                if not 0 <= i < len(arrays):
                    raise ValueError(
                        f"layers must be indices in [0, {len(arrays)}) for groups[{label!r}], "
                        f"got {i}"
                    )
    if value_range is not None:
        lo_hi = real_array(value_range, "value_range", ndim=1)
        if lo_hi.shape != (2,) or not lo_hi[0] < lo_hi[1]:
            raise ValueError(f"value_range must be a pair (low, high) with low < high, "
                             f"got {value_range!r}")  # fmt: skip
        value_range = (float(lo_hi[0]), float(lo_hi[1]))
    if value_range is None:
        lo = min(float(np.min(a)) for arrays in groups.values() for a in arrays)
        hi = max(float(np.max(a)) for arrays in groups.values() for a in arrays)
        value_range = (lo, hi) if hi > lo else (lo - 1, hi + 1)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, len(groups), figsize=(figure_width(len(groups)), 3.2),
                                 sharey=sharey, squeeze=False)  # fmt: skip
        for ax, (label, arrays) in zip(axes[0], groups.items(), strict=True):
            idx = list(range(len(arrays))) if layers is None else list(layers)
            for color, i in zip(_colors(len(idx)), idx, strict=True):
                ax.hist(np.ravel(arrays[i]), bins=bins, range=value_range, density=True,
                        histtype="step", color=color, lw=1.2, label=f"layer {i + 1}")  # fmt: skip
            ax.set_title(label)
            ax.set_xlabel(xlabel)
        axes[0, 0].set_ylabel("density")
        axes[0, -1].legend(loc="upper right")
        fig.suptitle(title)
        fig.tight_layout()
    return fig


def learning_curves(histories: Mapping[str, object], *, metric: str = "train_loss",
                    title: str, ylabel: str | None = None, logy: bool = False,
                    ax=None, band: Mapping[str, Sequence] | None = None):  # fmt: skip
    """Curves of a :class:`~weightinit.training.History` metric, one per label.

    Parameters
    ----------
    histories : mapping label -> History (or a plain sequence of values)
    metric : attribute of History, e.g. "train_loss", "test_acc" or "step_loss"
    band : optional mapping label -> (low, high) sequences drawn as a shaded band
        (for a mean ± std over seeds)
    """
    histories = _mapping(histories, "histories")
    metric, title = _text(metric, "metric"), _text(title, "title")
    if ylabel is not None:
        ylabel = _text(ylabel, "ylabel")
    curves = {}
    for label, hist in histories.items():
        if hasattr(hist, "train_loss") and not hasattr(hist, metric):  # a History
            raise ValueError(f"metric must be an attribute of History, got {metric!r}")
        values = getattr(hist, metric) if hasattr(hist, metric) else hist
        curves[label] = _curve(values, f"histories[{label!r}]")
    if band is not None:
        band = _mapping(band, "band")
        for label, pair in band.items():
            if not isinstance(pair, (Sequence, np.ndarray)) or len(pair) != 2:
                raise TypeError(f"band[{label!r}] must be a pair (low, high) of sequences")
            lo, hi = (_curve(v, f"band[{label!r}]") for v in pair)
            if label in curves and not len(lo) == len(hi) == len(curves[label]):
                raise ValueError(
                    f"band[{label!r}] must have {len(curves[label])} values per side like its "
                    f"curve, got {len(lo)} and {len(hi)}"
                )
    with plt.rc_context(STYLE):
        if ax is None:
            fig, ax = plt.subplots(figsize=(6.4, 3.8))
        fig = ax.figure
        for label, values in curves.items():
            x = np.arange(len(values))
            (line,) = ax.plot(x, values, label=label)
            if band and label in band:
                lo, hi = band[label]
                ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2)
        if logy:
            ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("step" if metric == "step_loss" else "epoch")
        ax.set_ylabel(ylabel or metric.replace("_", " "))
        ax.legend()
        fig.tight_layout()
    return fig


def filter_grid(weights, *, title: str, channel: int = 0, ncols: int = 8,
                symmetric: bool = True):  # fmt: skip
    """Show the kernels ``weights[f, channel]`` of a conv weight ``(F, C, kh, kw)``.

    One small image per filter, a shared diverging colour scale (blue negative,
    red positive) and a colour bar as the legend.
    """
    w = real_array(weights, "weights").astype(float)
    title = _text(title, "title")
    ncols = positive_int(ncols, "ncols")
    if w.ndim != 4:
        raise ValueError(f"weights must have shape (F, C, kh, kw), got {w.shape}")
    if isinstance(channel, bool) or not isinstance(channel, int | np.integer):
        raise TypeError(f"channel must be an integer, got {type(channel).__name__} {channel!r}")
    if w.shape[0] > 1024:
        raise ValueError(f"weights has {w.shape[0]} filters; filter_grid draws at most 1024")
    if not 0 <= channel < w.shape[1]:
        raise ValueError(f"channel must be in [0, {w.shape[1]}), got {channel}")
    k = w[:, channel]
    vmax = float(np.abs(k).max()) or 1.0
    vmin = -vmax if symmetric else float(k.min())
    n = k.shape[0]
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    with plt.rc_context({**STYLE, "axes.grid": False}):
        fig, axes = plt.subplots(nrows, ncols, figsize=(min(COLUMN_WIDTH_IN, 1.3 * ncols + 1.0), 1.4 * nrows + 0.6),
                                 squeeze=False)  # fmt: skip
        im = None
        for f, ax in enumerate(axes.flat):
            ax.set_xticks([])
            ax.set_yticks([])
            if f < n:
                im = ax.imshow(k[f], cmap="RdBu_r", vmin=vmin, vmax=vmax)
                ax.set_xlabel(f"filter {f}", fontsize=MIN_FONT_PT)
            else:
                ax.axis("off")
        fig.suptitle(title)
        fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8, label="weight value")
    return fig


def figure_alt_text(fig) -> str:
    """A one-line text description of a figure: its title(s), for screen readers and logs.

    ``"[figure: <suptitle>]"``, or the panel titles joined by ``"; "`` when the
    figure has no overall title.
    """
    from matplotlib.figure import Figure

    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    suptitle = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) else ""
    panels = [ax.get_title() for ax in fig.axes if ax.get_title()]
    return f"[figure: {suptitle or '; '.join(panels) or 'untitled'}]"


def register_notebook_alt_text() -> bool:
    """In a Jupyter kernel, show :func:`figure_alt_text` as a figure's plain-text form.

    A notebook stores every displayed figure twice: as a PNG and as plain text. By
    default the text is matplotlib's ``<Figure size ... with N Axes>``, an object
    repr that tells a reader (or a text diff of the notebook) nothing. This swaps it
    for the figure's title. It changes nothing outside IPython; returns whether it
    was registered. Called when :mod:`weightinit` is imported.

    The inline backend drops every formatter registered for ``Figure`` when it is
    set up (at the first figure, or on ``%matplotlib inline``), so the backend is
    set up first and the formatter is checked again before each cell runs.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with the notebook tools
        return False
    shell = get_ipython()
    if shell is None:
        return False
    from matplotlib.figure import Figure

    plt.switch_backend(plt.get_backend())  # loads, and so sets up, the inline backend now
    formatter = shell.display_formatter.formatters["text/plain"]

    def ensure(*_args) -> None:
        if Figure not in formatter.type_printers:
            formatter.for_type(Figure, lambda fig, p, cycle: p.text(figure_alt_text(fig)))

    ensure()
    if not getattr(shell, "_weightinit_alt_text", False):
        shell.events.register("pre_run_cell", ensure)
        shell._weightinit_alt_text = True
    return True
