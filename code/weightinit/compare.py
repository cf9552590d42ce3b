"""Compare initialization schemes over seeds: train each scheme several times, summarize.

A ranking of schemes from one training run says little: on the course's 450 test digits one
image is 0.2 points of accuracy, and the seed (initial weights and minibatch order) moves the
result by more. The course's rule is **>= 10 seeds**, mean ± sd with ``ddof=1``, the
standard error of the mean and the test set's own binomial sampling error. This module does
exactly that and nothing else:

* :func:`summarize` and :func:`binomial_se` -- from :mod:`weightinit.experiments`
  (re-exported here): mean, sd (``ddof=1``), standard error and 95 % Student-t interval of
  a sample, and the binomial sampling error ``sqrt(p (1 - p) / n_test)`` of an accuracy;
* :func:`seed_strip_plot` -- every seed's final accuracy as a dot, the mean ± 1 sd
  (``ddof=1``) as a bar, schemes grouped by family with one colour per family;
* :func:`train_seeds` -- train one network per seed with the same minibatch SGD/Adam
  steps as :func:`weightinit.training.train` (same optimizer classes, same shuffling, so
  the final weights are identical) but with only the records a comparison needs: the mean
  minibatch loss of every epoch and the test accuracy after every epoch. It skips the
  full-training-set evaluation and depth profiles of ``train``, which would dominate the
  cost of ten seeds, and trains all seeds at once (:mod:`weightinit.stacked`) when the
  networks allow it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

import numpy as np

from ._blas import one_blas_thread
from ._validate import boolean, choice, positive_int, real
from .data import Dataset
from .experiments import Summary, binomial_se, summarize
from .initializers import as_generator
from .layers import NonFiniteError, Sequential, softmax_cross_entropy
from .stacked import train_stacked, why_not_stacked
from .training import SGD, Adam, _finite, evaluate

__all__ = ["SeedRuns", "Summary", "binomial_se", "seed_strip_plot", "summarize", "train_seeds"]


@dataclass
class SeedRuns:
    """What :func:`train_seeds` records, one row per seed.

    ``epoch_loss[s, e]`` is the mean minibatch loss during epoch ``e + 1`` of seed
    ``seeds[s]``; ``test_acc[s, 0]`` is the test accuracy before training and
    ``test_acc[s, e]`` after epoch ``e`` (with ``every_epoch=False``, ``test_acc`` has one
    column, the accuracy after the last epoch). A diverged run (non-finite loss or weights)
    keeps NaN from the epoch where it stopped and is flagged in ``diverged``: its
    :attr:`final_acc` is NaN, and :meth:`summary` leaves it out and counts it (the same
    policy as :class:`weightinit.experiments.SeedRuns`).
    """

    seeds: tuple[int, ...]
    epoch_loss: np.ndarray
    test_acc: np.ndarray
    diverged: np.ndarray
    n_test: int

    @property
    def final_acc(self) -> np.ndarray:
        """Test accuracy after the last epoch, one per seed (NaN for a diverged run)."""
        out = self.test_acc[:, -1].copy()
        out[np.asarray(self.diverged, dtype=bool)] = np.nan
        return out

    def summary(self) -> Summary:
        """:func:`summarize` of the final test accuracies of the runs that did not diverge,
        with the test set's binomial standard error (``n_test`` examples).

        Diverged runs are left out and counted in ``Summary.n_diverged`` (see
        :meth:`weightinit.experiments.SeedRuns.summary`); fewer than two runs left raise
        ``ValueError`` naming the seeds that diverged.
        """
        if len(self.seeds) < 2:
            raise ValueError(
                f"summary() needs runs of at least two seeds (an sd needs two), these runs "
                f"have seeds={self.seeds!r}"
            )
        diverged = np.asarray(self.diverged, dtype=bool)
        if int((~diverged).sum()) < 2:
            stopped = [s for s, d in zip(self.seeds, diverged, strict=True) if d]
            raise ValueError(
                f"summary() needs at least two runs that did not diverge (an sd needs two); "
                f"the runs of seeds {stopped} of {list(self.seeds)} diverged"
            )
        s = summarize(self.final_acc[~diverged], n_test=self.n_test)
        return replace(s, n_diverged=int(diverged.sum()))


@one_blas_thread
def train_seeds(build: Callable[[int], Sequential], data: Dataset, seeds: Iterable[int] = range(10),
                *, epochs: int, batch_size: int = 32, lr: float = 0.05, momentum: float = 0.9,
                optimizer: str = "sgd", every_epoch: bool = True,
                stacked: bool | None = None) -> SeedRuns:  # fmt: skip
    """Train ``build(seed)`` on ``data`` once per seed; seed ``s`` also shuffles the batches.

    The steps are those of :func:`weightinit.training.train` with ``rng=seed`` (the same
    permutation per epoch, optimizer and update order), so the weights after training are
    the same; only the records differ (see :class:`SeedRuns`).

    Parameters
    ----------
    build : callable seed -> Sequential
        Builds a freshly initialized network for a seed, e.g.
        ``lambda s: layers.small_cnn(weight_init="he_normal", rng=s)``.
    data : Dataset
    seeds : iterable of int
    epochs, batch_size : positive int
    lr, momentum : float
        As in :func:`weightinit.training.train` (``momentum`` is ignored by Adam).
    optimizer : {"sgd", "adam"}
    every_epoch : bool
        Evaluate the test accuracy before training and after every epoch (default). With
        ``False`` only after the last epoch, which saves a test-set pass per epoch:
        ``test_acc`` then has one column.
    stacked : bool or None
        ``None`` (default): train all seeds at once with :mod:`weightinit.stacked` when
        the networks allow it (:func:`weightinit.stacked.why_not_stacked`), otherwise one
        after the other; the records are the same either way. ``True``: stacked or a
        ``ValueError`` saying why not. ``False``: one seed after the other.
    """
    if not callable(build):
        raise TypeError(f"build must be a callable seed -> Sequential, got {type(build).__name__}")
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a weightinit Dataset, got {type(data).__name__}")
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Iterable):
        raise TypeError(f"seeds must be a sequence of integers, got {type(seeds).__name__}")
    seeds = tuple(seeds)
    if not seeds or not all(
        isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 0 for s in seeds
    ):
        raise ValueError(f"seeds must be a non-empty sequence of integers >= 0, got {seeds!r}")
    epochs = positive_int(epochs, "epochs")
    batch_size = positive_int(batch_size, "batch_size")
    optimizer = choice(optimizer, "optimizer", ("sgd", "adam"))
    every_epoch = boolean(every_epoch, "every_epoch")
    if stacked is not None and not isinstance(stacked, (bool, np.bool_)):
        raise TypeError(f"stacked must be None, True or False, got {stacked!r}")
    n = len(data.X_train)
    losses = np.full((len(seeds), epochs), np.nan)
    accs = np.full((len(seeds), epochs + 1 if every_epoch else 1), np.nan)
    diverged = np.zeros(len(seeds), dtype=bool)
    nets = []
    for seed in seeds:
        net = build(int(seed))
        if not isinstance(net, Sequential):
            raise TypeError(f"build({seed}) must return a Sequential, got {type(net).__name__}")
        nets.append(net)
    reason = None if stacked is False else why_not_stacked(nets)
    if stacked and reason is not None:
        raise ValueError(f"stacked=True, but the networks cannot be trained stacked: {reason}")
    if reason is None and stacked is not False:
        runs = train_stacked(nets, data, [int(s) for s in seeds], epochs=epochs,
                             batch_size=batch_size, lr=lr, momentum=momentum, optimizer=optimizer,
                             splits=("test",), every_epoch=every_epoch)  # fmt: skip
        for row, hist in enumerate(runs.histories):
            diverged[row] = hist.diverged
            accs[row, : len(hist.test_acc)] = hist.test_acc
            steps = iter(hist.step_loss)
            for epoch in range(runs.epochs_done[row]):  # summed as the loop below sums
                total = 0.0
                for start in range(0, n, batch_size):
                    total += next(steps) * min(batch_size, n - start)
                losses[row, epoch] = total / n
        return SeedRuns(seeds=seeds, epoch_loss=losses, test_acc=accs, diverged=diverged,
                        n_test=len(data.X_test))  # fmt: skip
    for row, seed in enumerate(seeds):
        net = nets[row]
        opt = SGD(net, lr=lr, momentum=momentum) if optimizer == "sgd" else Adam(net, lr=lr)
        gen = as_generator(int(seed))
        if every_epoch:
            try:
                accs[row, 0] = evaluate(net, data.X_test, data.y_test)[1]
            except NonFiniteError:  # the activations overflow already at initialization
                diverged[row] = True
                continue
        for epoch in range(epochs):
            order = gen.permutation(n)
            total, ok = 0.0, True
            for start in range(0, n, batch_size):
                idx = order[start : start + batch_size]
                try:
                    with np.errstate(over="ignore", invalid="ignore"):
                        out = net.forward(data.X_train[idx])
                        loss, dout = softmax_cross_entropy(out, data.y_train[idx])
                except NonFiniteError:  # the activations overflowed, as train() counts it
                    loss = math.inf
                if not math.isfinite(loss):
                    ok = False
                    break
                net.backward(dout)
                opt.step()
                total += loss * len(idx)
                if not _finite(net):  # as train() checks: every parameter finite
                    ok = False
                    break
            if not ok:
                diverged[row] = True
                break
            losses[row, epoch] = total / n
            if every_epoch or epoch == epochs - 1:
                try:
                    accs[row, epoch + 1 if every_epoch else 0] = evaluate(
                        net, data.X_test, data.y_test
                    )[1]
                except NonFiniteError:  # finite weights, overflowing test activations
                    diverged[row] = True
                    break
    return SeedRuns(seeds=seeds, epoch_loss=losses, test_acc=accs, diverged=diverged,
                    n_test=len(data.X_test))  # fmt: skip


#: Colours of the scheme families in :func:`seed_strip_plot` (colour-blind-safe, Okabe-Ito).
FAMILY_COLORS = ("#555555", "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9")


def seed_strip_plot(values, families, *, title: str, ylabel: str = "test accuracy", ax=None,
                    reference=None):  # fmt: skip
    """Dots for every seed and mean ± 1 sd (``ddof=1``) per scheme, grouped by family.

    Parameters
    ----------
    values : mapping scheme (str) -> 1-d array (one value per seed)
        At least one scheme; every array non-empty and finite (a diverged run has no
        accuracy: leave it out or plot it separately).
    families : mapping scheme -> family name (str)
        Schemes of one family share a colour and sit next to each other (in the order of
        ``values``); a family label is written under each group.
    title, ylabel : str
    ax : matplotlib Axes, optional
    reference : float, optional
        Draws a dotted horizontal line (e.g. the chance level 0.1).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        An argument of the wrong type (``values`` or ``families`` not a mapping, a
        non-string title or family name, ``ax`` not an Axes).
    ValueError
        No scheme, an empty or non-finite array, a scheme without a family, a
        non-finite ``reference``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes

    from .plots import STYLE, _curve, _mapping, _text

    values = {k: _curve(v, f"values[{k!r}]") for k, v in _mapping(values, "values").items()}
    if not isinstance(families, Mapping):
        raise TypeError(
            f"families must be a mapping scheme -> family name, got {type(families).__name__}"
        )
    missing = [k for k in values if k not in families]
    if missing:
        raise ValueError(f"families has no entry for {missing}")
    for k in values:
        _text(families[k], f"families[{k!r}]")
    title, ylabel = _text(title, "title"), _text(ylabel, "ylabel")
    if ax is not None and not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    if reference is not None:
        reference = real(reference, "reference")
    order = list(dict.fromkeys(families[k] for k in values))
    names = [k for fam in order for k in values if families[k] == fam]
    colors = {fam: FAMILY_COLORS[i % len(FAMILY_COLORS)] for i, fam in enumerate(order)}
    with plt.rc_context(STYLE):
        if ax is None:
            _, ax = plt.subplots(figsize=(max(6.4, 0.75 * len(names) + 1.5), 4.2))
        fig = ax.figure
        x, previous = 0.0, None
        ticks, centres = [], {}
        for name in names:
            fam = families[name]
            if previous is not None and fam != previous:
                x += 0.6  # a gap between families
            v = np.asarray(values[name], dtype=float)
            jitter = np.linspace(-0.18, 0.18, len(v)) if len(v) > 1 else np.zeros(1)
            ax.plot(x + jitter, v, "o", ms=4, alpha=0.6, color=colors[fam], mec="none")
            sd = v.std(ddof=1) if len(v) > 1 else 0.0
            ax.errorbar(x + 0.32, v.mean(), yerr=sd, fmt="D", ms=5, color="black", capsize=3,
                        lw=1.2)  # fmt: skip
            ticks.append(x)
            centres.setdefault(fam, []).append(x)
            previous = fam
            x += 1.0
        ax.set_xticks(ticks)
        ax.set_xticklabels(names, rotation=30, ha="right")
        for fam, xs in centres.items():
            ax.annotate(fam, xy=(np.mean(xs), 1.0), xycoords=("data", "axes fraction"),
                        xytext=(0, 4), textcoords="offset points", ha="center",
                        color=colors[fam], fontsize=9, fontweight="bold")  # fmt: skip
        if reference is not None:
            ax.axhline(reference, color="grey", ls=":", lw=1)
        ax.set_title(title, pad=18)
        ax.set_ylabel(ylabel)
        ax.grid(axis="x", visible=False)
        fig.tight_layout()
    return fig
