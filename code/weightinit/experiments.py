"""Repeat a training run over seeds and summarize it the way the course reports results.

Every comparison in the course is run over several seeds and reported as the mean, the
standard deviation with ``ddof=1`` (the unbiased sample variance), the standard error of
the mean ``sd / sqrt(n)`` and a 95 % t-interval, next to the binomial standard error of
an accuracy measured on a finite test set, ``sqrt(p (1 - p) / n_test)``.

>>> from weightinit.experiments import summarize
>>> s = summarize([0.96, 0.98, 0.97])
>>> round(s.mean, 3), round(s.sd, 3), s.n
(0.97, 0.01, 3)
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import special as _special

from ._validate import boolean, choice
from .data import Dataset
from .layers import Sequential
from .stacked import train_stacked, why_not_stacked
from .training import History, train

#: the records of a History that SeedRuns summarizes: per epoch, and ``step_loss`` per
#: SGD step
METRICS = ("test_acc", "test_loss", "train_acc", "train_loss", "step_loss")

__all__ = ["SeedRuns", "Summary", "binomial_se", "summarize", "train_seeds"]


def binomial_se(p: float, n_test: int) -> float:
    """Standard error of an accuracy ``p`` measured on ``n_test`` independent test examples.

    .. math:: \\mathrm{SE} = \\sqrt{p (1 - p) / n_\\text{test}}

    This is the sampling error of the test set alone: how much the accuracy of one
    fixed network would change on another test set of the same size.

    Parameters
    ----------
    p : float
        Accuracy in [0, 1].
    n_test : int
        Number of test examples, positive.
    """
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(f"p must be a real number in [0, 1], got {type(p).__name__} {p!r}")
    if not 0.0 <= float(p) <= 1.0:
        raise ValueError(f"p must be a number in [0, 1], got {p!r}")
    if isinstance(n_test, bool) or not isinstance(n_test, numbers.Integral):
        raise TypeError(
            f"n_test must be a positive integer, got {type(n_test).__name__} {n_test!r}"
        )
    if n_test <= 0:
        raise ValueError(f"n_test must be a positive integer, got {n_test!r}")
    p = float(p)
    return math.sqrt(p * (1.0 - p) / int(n_test))


@dataclass(frozen=True)
class Summary:
    """Mean, sd (ddof=1), standard error and 95 % t-interval of per-seed values.

    ``test_se`` is the binomial standard error of the mean accuracy on a test set of
    ``n_test`` examples (``nan`` when ``n_test`` was not given). ``n`` is the number of
    values summarized; ``n_diverged`` the number of runs left out because they diverged
    (set by ``SeedRuns.summary``; :func:`summarize` itself refuses NaN), which ``str``
    reports next to ``n``.
    """

    mean: float
    sd: float
    se: float
    ci95: tuple[float, float]
    n: int
    minimum: float
    maximum: float
    n_test: int | None = None
    test_se: float = float("nan")
    n_diverged: int = 0

    def __str__(self) -> str:
        runs = f"n = {self.n}"
        if self.n_diverged:
            runs += f" of {self.n + self.n_diverged} seeds, {self.n_diverged} diverged and left out"
        text = f"{self.mean:.3f} ± {self.sd:.3f} (sd, {runs}; SE {self.se:.3f})"
        if self.n_test is not None:
            text += f"; test-set SE {self.test_se:.3f}"
        return text


def summarize(values: Iterable[float], *, n_test: int | None = None) -> Summary:
    """Summarize per-seed results: mean, sd with ``ddof=1``, SE = sd/√n, 95 % t-interval.

    The interval is ``mean ± t_{0.975, n-1} · SE`` (Student's t, because the sd is
    estimated from the same ``n`` values).

    Parameters
    ----------
    values : iterable of float
        One finite value per seed; at least two (an sd needs two).
    n_test : int, optional
        Size of the test set, when the values are test accuracies: adds the binomial
        standard error :func:`binomial_se` of the mean accuracy.
    """
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(
            f"values must be a sequence of numbers (one per seed), got {type(values).__name__}"
        )
    try:
        a = np.asarray(list(values), dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"values must be a sequence of real numbers (one per seed): {exc}"
        ) from None
    if a.ndim != 1 or a.size < 2:
        raise ValueError(f"values must be at least two numbers (one per seed), got {a.size}")
    if not np.all(np.isfinite(a)):
        raise ValueError("values must be finite (a diverged run has no accuracy)")
    n = int(a.size)
    mean = float(a.mean())
    sd = float(a.std(ddof=1))
    se = sd / math.sqrt(n)
    # Student's t quantile: scipy.special.stdtrit is what scipy.stats.t.ppf evaluates
    # (equal to the last bit), without importing scipy.stats (~0.7 s of CPU per process)
    half = float(_special.stdtrit(n - 1, 0.975)) * se
    test_se = float("nan")
    if n_test is not None:
        test_se = binomial_se(min(max(mean, 0.0), 1.0), n_test)
    return Summary(
        mean=mean,
        sd=sd,
        se=se,
        ci95=(mean - half, mean + half),
        n=n,
        minimum=float(a.min()),
        maximum=float(a.max()),
        n_test=None if n_test is None else int(n_test),
        test_se=test_se,
    )


@dataclass
class SeedRuns:
    """The histories of one configuration trained once per seed."""

    seeds: list[int]
    histories: list[History]
    n_test: int
    nets: list = field(default_factory=list, repr=False)

    @property
    def diverged(self) -> np.ndarray:
        """Which runs diverged (``History.diverged``), one bool per seed."""
        return np.array([h.diverged for h in self.histories], dtype=bool)

    def final(self, metric: str = "test_acc") -> np.ndarray:
        """The value of ``metric`` at the end of training, one per seed.

        ``metric`` is one of :data:`METRICS` (case-insensitive). A run that diverged
        (``History.diverged``) never reached the end of training: its entry is NaN, not
        the last value it recorded before it stopped (which is an earlier epoch's, often
        the accuracy at initialization). Use ``np.isnan`` or :attr:`diverged` to pick the
        runs out; :meth:`summary` leaves them out and counts them.
        """
        metric = self._recorded(choice(metric, "metric", METRICS), finished_only=True)
        return np.array(
            [math.nan if h.diverged else getattr(h, metric)[-1] for h in self.histories],
            dtype=float,
        )

    def _recorded(self, metric: str, finished_only: bool = False) -> str:
        """``metric``, or a ValueError when a run has no record of it (its split was left
        out by ``train(..., splits=...)``, or the run diverged before its first record);
        ``finished_only``: only the runs that did not diverge must have one."""
        missing = [s for s, h in zip(self.seeds, self.histories, strict=True)
                   if not getattr(h, metric) and not (finished_only and h.diverged)]  # fmt: skip
        if missing:
            raise ValueError(
                f"metric {metric!r} was not recorded by the runs of seeds {missing} (a split "
                f"left out with splits=..., or a run that diverged before its first record)"
            )
        return metric

    def curves(self, metric: str = "test_acc") -> np.ndarray:
        """``metric`` per epoch, shape ``(n_seeds, epochs + 1)`` (``(n_seeds, 1)`` for runs
        trained with ``every_epoch=False``; ``step_loss``: one value per SGD step).

        Raises ``ValueError`` when a run diverged (its record stops early).
        """
        metric = self._recorded(choice(metric, "metric", METRICS))
        lengths = {len(getattr(h, metric)) for h in self.histories}
        if len(lengths) != 1:
            stopped = [s for s, h in zip(self.seeds, self.histories, strict=True) if h.diverged]
            raise ValueError(
                f"metric {metric!r} has records of different lengths {sorted(lengths)}: the "
                f"runs of seeds {stopped} diverged and stopped early"
            )
        return np.array([getattr(h, metric) for h in self.histories], dtype=float)

    def band(self, metric: str = "test_acc") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mean curve and the band mean ± 1 sd (ddof=1) over seeds: ``(mean, lo, hi)``."""
        c = self.curves(metric)
        mean, sd = c.mean(axis=0), c.std(axis=0, ddof=1)
        return mean, mean - sd, mean + sd

    def summary(self, metric: str = "test_acc") -> Summary:
        """:func:`summarize` of the final ``metric`` over the runs that did not diverge.

        Test-set SE for ``test_acc``. Diverged runs have no final value (NaN in
        :meth:`final`): they are left out of the mean, sd, SE and interval, and counted
        in ``Summary.n_diverged`` (``str`` of the summary says "n = 8 of 10 seeds, 2
        diverged and left out"). The statistics then describe the runs that trained,
        not the configuration's chance of training: report the count next to them.

        Raises
        ------
        ValueError
            Fewer than two runs did not diverge (an sd needs two); the message names
            the seeds that diverged.
        """
        metric = choice(metric, "metric", METRICS)
        n_test = self.n_test if metric == "test_acc" else None
        values, diverged = self.final(metric), self.diverged
        if int((~diverged).sum()) < 2:
            stopped = [s for s, d in zip(self.seeds, diverged, strict=True) if d]
            raise ValueError(
                f"summary() needs at least two runs that did not diverge (an sd needs two); "
                f"the runs of seeds {stopped} of {list(self.seeds)} diverged, so metric "
                f"{metric!r} has no final value for them"
            )
        s = summarize(values[~diverged], n_test=n_test)
        return replace(s, n_diverged=int(diverged.sum()))


#: train()'s defaults for the arguments the stacked engine reproduces
_TRAIN_DEFAULTS = {"epochs": 10, "batch_size": 32, "lr": 0.05, "momentum": 0.9,
                   "weight_decay": 0.0, "optimizer": "sgd", "profile": True,
                   "probe_size": 256, "splits": ("train", "test"),
                   "every_epoch": True}  # fmt: skip


def _why_not_stacked_kwargs(train_kwargs) -> str | None:
    """Why ``train(**train_kwargs)`` cannot be reproduced by the stacked engine, or None."""
    unknown = sorted(set(train_kwargs) - set(_TRAIN_DEFAULTS))
    if unknown:
        return f"train() arguments {unknown} are not reproduced by the stacked engine"
    if train_kwargs.get("profile", True) is not False:
        return "profile=True records depth profiles, which need the per-seed loop"
    return None


def train_seeds(
    build: Callable[[int], object],
    data: Dataset,
    seeds: Sequence[int] = tuple(range(10)),
    *,
    keep_nets: bool = False,
    stacked: bool | None = None,
    **train_kwargs,
) -> SeedRuns:
    """Train ``build(seed)`` with :func:`~weightinit.training.train` once per seed.

    The seed sets both the network (``build`` receives it) and the order of the
    minibatches (``train(..., rng=seed)``), so run ``k`` of two configurations sees the
    same minibatches.

    Parameters
    ----------
    build : callable seed -> Sequential
        Returns a fresh network for a seed.
    data : Dataset
    seeds : sequence of int
        At least two distinct seeds (the course uses ten).
    keep_nets : bool
        Keep the trained networks in ``SeedRuns.nets``.
    stacked : bool or None
        ``None`` (default): train all seeds at once with :mod:`weightinit.stacked` when
        that gives what ``train`` records, i.e. with ``profile=False`` (depth profiles
        need the per-seed loop) and stackable networks
        (:func:`weightinit.stacked.why_not_stacked`); otherwise one after the other. The
        histories and trained networks are the same either way. ``True``: stacked or a
        ``ValueError`` saying why not. ``False``: one seed after the other.
    **train_kwargs
        Passed to ``train`` (``epochs``, ``lr``, ``optimizer``, ``profile``, ``splits``,
        ``every_epoch``...), except ``rng``, which is the seed.
    """
    if not callable(build):
        raise TypeError(f"build must be a callable seed -> network, got {type(build).__name__}")
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a weightinit Dataset, got {type(data).__name__}")
    if "rng" in train_kwargs:
        raise TypeError("train_seeds sets rng to each seed; pass seeds=... instead of rng")
    keep_nets = boolean(keep_nets, "keep_nets")
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Iterable):
        raise TypeError(f"seeds must be a sequence of integers, got {type(seeds).__name__}")
    seeds = list(seeds)
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0:
            raise ValueError(f"seeds must be non-negative integers, got {s!r}")
    if len(seeds) < 2 or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be at least two distinct integers, got {seeds!r}")
    if stacked is not None and not isinstance(stacked, (bool, np.bool_)):
        raise TypeError(f"stacked must be None, True or False, got {stacked!r}")
    reason = None if stacked is False else _why_not_stacked_kwargs(train_kwargs)
    built = None
    if reason is None and stacked is not False:
        built = [build(int(s)) for s in seeds]
        bad = [type(n).__name__ for n in built if not isinstance(n, Sequential)]
        reason = f"build returned {bad[0]}, not a Sequential" if bad else why_not_stacked(built)
    if stacked and reason is not None:
        raise ValueError(f"stacked=True, but the seeds cannot be trained stacked: {reason}")
    if built is not None and reason is None:
        kwargs = {**_TRAIN_DEFAULTS, **train_kwargs}
        for name in ("epochs", "batch_size", "probe_size"):  # train()'s checks and errors
            value = kwargs[name]
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        runs = train_stacked(built, data, seeds, epochs=kwargs["epochs"],
                             batch_size=kwargs["batch_size"], lr=kwargs["lr"],
                             momentum=kwargs["momentum"], weight_decay=kwargs["weight_decay"],
                             optimizer=kwargs["optimizer"], splits=kwargs["splits"],
                             every_epoch=kwargs["every_epoch"])  # fmt: skip
        return SeedRuns(seeds=[int(s) for s in seeds], histories=runs.histories,
                        n_test=len(data.y_test), nets=built if keep_nets else [])  # fmt: skip
    histories, nets = [], []
    for k, s in enumerate(seeds):
        net = build(int(s)) if built is None else built[k]
        histories.append(train(net, data, rng=int(s), **train_kwargs))
        if keep_nets:
            nets.append(net)
    return SeedRuns(seeds=[int(s) for s in seeds], histories=histories,
                    n_test=len(data.y_test), nets=nets)  # fmt: skip
