"""Weight initializers: the named schemes of the papers and of the frameworks.

Every initializer has the same call form::

    w = initializer(shape, *, rng=None, <scheme parameters>, layout=None, dtype=np.float64)

* ``shape`` is the weight shape in the given ``layout`` (see :mod:`weightinit.fans`;
  ``layout=None`` reads the PyTorch layout and warns when the shape looks channels-last);
* ``rng`` is **keyword-only**: a seed (``int``) or a :class:`numpy.random.Generator`; the
  same seed always gives the same array (``None`` draws fresh entropy). A positional
  second argument raises a :class:`TypeError`: in PyTorch ``xavier_uniform_(w, 2)``
  means *gain* 2, and here it would silently have meant seed 2;
* the result is a new :class:`numpy.ndarray` of ``dtype`` (a floating dtype), whose
  entries lie within the distribution's documented :attr:`Distribution.bounds` in that
  dtype (see "Dtypes" below).

The one exception is :func:`torch_default_bias`, which needs the layer's ``fan_in`` as a
required keyword (a bias has no fans of its own) and is therefore not in the registry.

Dtypes
------
Values are drawn in float64 and cast. After the cast, entries that rounded outside the
bounds of a bounded distribution (uniform, truncated normal) are clipped to the nearest
representable value inside them, so ``float16`` draws respect the documented bounds. A
distribution that overflows the dtype (any entry ``±inf``), or whose scale rounds to
0 in the dtype (every draw would equal the mean), raises a :class:`ValueError`; a
scale in the dtype's subnormal range draws with a :class:`RuntimeWarning` (precision lost).

Almost every scheme is a special case of :func:`variance_scaling`: draw from a
zero-mean distribution whose variance is ``scale / n`` with ``n`` a fan.  Each
initializer also exposes the exact distribution it samples from, without drawing,
as ``initializer.distribution(shape, **params)`` (a :class:`Distribution`): that
is what the tests, the self-checks and the chapters use to state bounds and
standard deviations.

Where frameworks disagree
-------------------------
=====================  ===============================  ===================================
scheme                 PyTorch (``torch.nn.init``)      Keras (``keras.initializers``)
=====================  ===============================  ===================================
LeCun normal           --                               truncated at 2 std, std / 0.8796...
Glorot/Xavier normal   ``xavier_normal_``, untruncated  ``GlorotNormal``, truncated
He/Kaiming normal      ``kaiming_normal_``, untruncated ``HeNormal``, truncated
default for a layer    ``kaiming_uniform_(a=sqrt(5))``  ``glorot_uniform``
                       = U(-1/sqrt(fan_in), +...)
=====================  ===============================  ===================================

The plain names here (:func:`lecun_normal`, :func:`glorot_normal`,
:func:`he_normal`) are the untruncated forms of the papers and of PyTorch; the
``keras_*`` variants reproduce Keras's truncated normals, :func:`torch_default`
PyTorch's layer default, :func:`caffe_xavier` and :func:`caffe_msra` Caffe's
fillers.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import re
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special as _special

from ._validate import check_bytes, choice, real, slope_alias
from .fans import _check_fan, check_shape, fans, gain

__all__ = [
    "KERAS_TRUNCATION_STD",
    "Distribution",
    "as_generator",
    "available",
    "caffe_msra",
    "caffe_xavier",
    "constant",
    "distribution",
    "get",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "is_library_initializer",
    "kaiming_normal",
    "kaiming_uniform",
    "keras_glorot_normal",
    "keras_he_normal",
    "keras_lecun_normal",
    "lecun_normal",
    "lecun_uniform",
    "normal",
    "ones",
    "orthogonal",
    "torch_default",
    "torch_default_bias",
    "truncated_normal",
    "uniform",
    "variance_scaling",
    "zeros",
]

#: Standard deviation of a standard normal truncated to [-2, 2]. Keras divides the
#: std by this number so that the *truncated* distribution has the intended std.
KERAS_TRUNCATION_STD = 0.87962566103423978

MODES = ("fan_in", "fan_out", "fan_avg")
DISTRIBUTIONS = ("uniform", "normal", "truncated_normal")
KINDS = ("constant", "uniform", "normal", "truncated_normal")

#: Smallest ``cutoff`` (in standard deviations) of a truncated normal. Below it the
#: distribution is indistinguishable from a uniform of width ``2·cutoff·std``: use
#: :func:`uniform`.
MIN_CUTOFF = 0.01

#: The truncated normal redraws out-of-range values (as TensorFlow does) for at most
#: this many rounds and at most ``_MAX_REDRAW_FACTOR × size`` draws in total; whatever
#: is still out of range then is drawn by inverse CDF on the truncated interval. For
#: cutoffs >= 1 the redraw loop finishes long before (so the draws are those of plain
#: redrawing); for tiny cutoffs the work stays bounded.
_MAX_REDRAW_ROUNDS = 64
_MAX_REDRAW_FACTOR = 8


# --------------------------------------------------------------------------- helpers
def as_generator(rng) -> np.random.Generator:
    """Turn ``rng`` into a :class:`numpy.random.Generator`.

    ``None`` gives a freshly seeded generator, a non-negative ``int`` seeds one,
    a ``Generator`` is returned as is.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, bool) or not isinstance(rng, (numbers.Integral, np.random.SeedSequence)):
        raise TypeError(
            "rng must be a non-negative int seed, a numpy.random.Generator or None, "
            f"got {type(rng).__name__} {rng!r}"
        )
    if isinstance(rng, numbers.Integral) and rng < 0:
        raise ValueError(f"rng seed must be a non-negative integer, got {rng}")
    return np.random.default_rng(rng)


_COMMON_FLOATS = frozenset(np.dtype(t) for t in (np.float16, np.float32, np.float64))


def _check_dtype(dtype) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except Exception as exc:  # TypeError, or ValueError/SyntaxError for odd strings
        raise TypeError(f"dtype must be a numpy floating dtype, got {dtype!r}") from exc
    if dt in _COMMON_FLOATS:  # (np.issubdtype costs more than a small draw)
        return dt
    if not np.issubdtype(dt, np.floating):
        raise TypeError(
            f"dtype must be a floating dtype (float16, float32, float64), got {dt.name}"
        )
    return dt


def _check_real(value, name: str, *, positive: bool = False, nonneg: bool = False) -> float:
    return real(value, name, positive=positive, lower=0.0 if nonneg else None)


_choice = choice


def _fan(shape, mode: str, layout: str) -> float:
    mode = _choice(mode, "mode", MODES)
    fan_in, fan_out = fans(shape, layout)
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    return (fan_in + fan_out) / 2.0


# --------------------------------------------------------------------------- distribution
def _normal_pdf(x: float) -> float:
    """The standard normal density, as :data:`scipy.stats.norm` computes it (the same
    bits), without importing scipy.stats (~0.7 s of CPU per process)."""
    # a one-element array: numpy may evaluate exp on an array (scipy's case) and on a
    # scalar with different last bits
    z = np.array([x], dtype=np.float64)
    return float((np.exp(-(z**2) / 2.0) / np.sqrt(2 * np.pi))[0])


@dataclass(frozen=True)
class Distribution:
    """A zero-mean (or shifted) distribution an initializer draws from.

    Parameters
    ----------
    kind : {"constant", "uniform", "normal", "truncated_normal"}
    loc : float
        Centre (the value itself for ``"constant"``).
    scale : float
        ``"uniform"``: half-width ``a`` of ``U(loc - a, loc + a)``;
        ``"normal"``: standard deviation; ``"truncated_normal"``: standard
        deviation of the normal *before* truncation.
    cutoff : float
        ``"truncated_normal"`` only: values are kept within ``loc ± cutoff·scale``.
    """

    kind: str
    loc: float = 0.0
    scale: float = 0.0
    cutoff: float = 2.0

    def __post_init__(self):
        # Validate once, here: a Distribution that exists can be sampled.
        kind = choice(self.kind, "kind", KINDS)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "loc", real(self.loc, "loc"))
        if kind == "constant":
            object.__setattr__(self, "scale", real(self.scale, "scale", lower=0.0))
        else:
            object.__setattr__(self, "scale", real(self.scale, "scale", positive=True))
        cutoff = real(self.cutoff, "cutoff", positive=True)
        if kind == "truncated_normal" and cutoff < MIN_CUTOFF:
            raise ValueError(
                f"cutoff must be >= {MIN_CUTOFF:g} (standard deviations), got {cutoff!r}; "
                "a normal cut that close to its mean is a uniform: use uniform"
            )
        object.__setattr__(self, "cutoff", cutoff)
        lo, hi = self.bounds
        if kind != "normal" and not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError(
                f"scale {self.scale!r} (with loc {self.loc!r}) gives bounds beyond the float range"
            )

    @property
    def bounds(self) -> tuple[float, float]:
        """Smallest and largest value that can be drawn (``±inf`` for a normal)."""
        if self.kind == "constant":
            return (self.loc, self.loc)
        if self.kind == "uniform":
            return (self.loc - self.scale, self.loc + self.scale)
        if self.kind == "truncated_normal":
            return (self.loc - self.cutoff * self.scale, self.loc + self.cutoff * self.scale)
        return (-math.inf, math.inf)

    @property
    def var(self) -> float:
        """Variance of the drawn values.

        ``U(-a, a)`` has variance ``a²/3``; a normal truncated at ``±c·σ`` has
        variance ``σ²·(1 - 2c·φ(c)/(2Φ(c) - 1))``.
        """
        if self.kind == "constant":
            return 0.0
        if self.kind == "uniform":
            return self.scale**2 / 3.0
        if self.kind == "normal":
            return self.scale**2
        c = self.cutoff
        shrink = 1.0 - 2.0 * c * _normal_pdf(c) / (2.0 * float(_special.ndtr(c)) - 1.0)
        return self.scale**2 * shrink

    @property
    def std(self) -> float:
        """Standard deviation of the drawn values."""
        return math.sqrt(self.var)

    def scipy(self):
        """The same distribution as a frozen :mod:`scipy.stats` object (for KS tests)."""
        from scipy import stats as _stats

        if self.kind == "uniform":
            return _stats.uniform(loc=self.loc - self.scale, scale=2.0 * self.scale)
        if self.kind == "normal":
            return _stats.norm(loc=self.loc, scale=self.scale)
        if self.kind == "truncated_normal":
            return _stats.truncnorm(-self.cutoff, self.cutoff, loc=self.loc, scale=self.scale)
        raise ValueError("a constant has no continuous scipy distribution")

    def sample(self, shape, *args, rng=None, dtype=np.float64) -> np.ndarray:
        """Draw an array of ``shape`` (float64 draws, cast to ``dtype``).

        ``rng`` and ``dtype`` are keyword-only, as in every function that draws: a
        positional second argument raises :class:`TypeError`.

        See "Dtypes" in the module docstring for what happens to values the dtype
        cannot hold (bounded draws are clipped into their bounds; overflow and a scale
        that rounds to 0 raise ValueError).
        """
        if args:
            raise _positional_trap("Distribution.sample", args)
        shape = check_shape(shape)
        dt = _check_dtype(dtype)
        check_bytes(math.prod(shape), 8, "shape", "float64 array")
        # Validate rng even for a constant (it draws nothing), so a bad seed is never ignored.
        gen = as_generator(rng)
        if self.kind == "constant":
            return self._cast(np.full(shape, self.loc), dt)
        if self.kind == "uniform":
            out = gen.uniform(self.loc - self.scale, self.loc + self.scale, size=shape)
        elif self.kind == "normal":
            out = gen.normal(self.loc, self.scale, size=shape)
        else:
            out = self.loc + self.scale * _truncated_standard_normal(gen, shape, self.cutoff)
        return self._cast(out, dt)

    def _cast(self, out: np.ndarray, dt: np.dtype) -> np.ndarray:
        """Cast float64 draws to ``dt`` following the dtype policy of the module."""
        with np.errstate(over="ignore"):
            res = out.astype(dt, copy=False)
        info = np.finfo(dt)
        if not np.isfinite(res).all():
            raise ValueError(
                f"dtype {dt.name} cannot hold these draws: {self} overflows its largest "
                f"value {float(info.max):.4g}; use a smaller scale or a wider dtype"
            )
        if self.kind == "constant":
            return res
        scale_dt = abs(float(dt.type(self.scale)))
        if scale_dt == 0.0:
            raise ValueError(
                f"dtype {dt.name} cannot hold these draws: the scale {self.scale:.4g} of {self} "
                f"rounds to 0 in {dt.name} (smallest value {float(info.smallest_subnormal):.3g}),"
                " so every draw would equal the mean; use a larger scale or a wider dtype"
            )
        if scale_dt < float(info.tiny):
            warnings.warn(
                f"the scale {self.scale:.4g} of {self} is subnormal in {dt.name} (below "
                f"{float(info.tiny):.3g}): the draws lose precision",
                RuntimeWarning,
                stacklevel=3,
            )
        if self.kind != "normal" and dt != np.float64:
            lo, hi = self.bounds
            lo_dt, hi_dt = dt.type(lo), dt.type(hi)
            if float(lo_dt) < lo:
                lo_dt = np.nextafter(lo_dt, dt.type(np.inf))
            if float(hi_dt) > hi:
                hi_dt = np.nextafter(hi_dt, dt.type(-np.inf))
            np.clip(res, lo_dt, hi_dt, out=res)
        return res

    def __str__(self) -> str:
        if self.kind == "constant":
            return f"constant {self.loc:g}"
        if self.kind == "uniform":
            lo, hi = self.bounds
            return f"U({lo:.6g}, {hi:.6g})"
        if self.kind == "normal":
            return f"N({self.loc:g}, {self.scale:.6g}²)"
        return f"N({self.loc:g}, {self.scale:.6g}²) truncated at ±{self.cutoff:g}σ"


def _truncated_standard_normal(gen: np.random.Generator, shape, cutoff: float) -> np.ndarray:
    """Standard normal draws restricted to ``[-cutoff, cutoff]``, in bounded time.

    Out-of-range values are redrawn, as TensorFlow's ``truncated_normal`` does, for at
    most ``_MAX_REDRAW_ROUNDS`` rounds and ``_MAX_REDRAW_FACTOR × size`` draws; any
    value still out of range is then drawn by inverse CDF,
    ``Φ⁻¹(U(Φ(-c), Φ(c)))``, which always lands inside. For ``cutoff = 2`` (Keras) a
    value needs more than 64 rounds with probability ``0.046⁶⁴``: the draws are those
    of plain redrawing.
    """
    z = gen.standard_normal(size=shape)
    bad = np.abs(z) > cutoff
    n_bad = int(bad.sum())
    budget = _MAX_REDRAW_FACTOR * z.size
    rounds = 0
    while n_bad and rounds < _MAX_REDRAW_ROUNDS and n_bad <= budget:
        budget -= n_bad
        rounds += 1
        z[bad] = gen.standard_normal(size=n_bad)
        bad = np.abs(z) > cutoff
        n_bad = int(bad.sum())
    if n_bad:
        lo = _special.ndtr(-cutoff)
        u = gen.uniform(lo, 1.0 - lo, size=n_bad)
        z[bad] = np.clip(_special.ndtri(u), -cutoff, cutoff)
    return z


# --------------------------------------------------------------------------- registry
_REGISTRY: dict[str, Callable] = {}


def _register(*names: str):
    def deco(fn):
        for n in names:
            _REGISTRY[n] = fn
        return fn

    return deco


def _positional_trap(fn_name: str, args: tuple) -> TypeError:
    """The error for ``init(shape, 2)``: the seed is keyword-only."""
    first = args[0]
    example = repr(first) if isinstance(first, (numbers.Integral, type(None))) else "..."
    return TypeError(
        f"{fn_name}() takes the shape as its only positional argument, got {len(args)} more "
        f"(a {type(first).__name__}); pass the seed as a keyword, "
        f"{fn_name}(shape, rng={example}). The seed is keyword-only because in PyTorch "
        f"a second positional argument is a parameter, not a seed "
        f"(xavier_uniform_(w, 2) means gain=2): write gain=... or rng=... explicitly"
    )


def _check_params(fn_name: str, allowed: list[str], params: dict) -> None:
    """An unknown keyword raises TypeError naming it and the accepted ones (``allowed``:
    the builder's parameters after ``shape``)."""
    for key in params:
        if key not in allowed:
            raise TypeError(
                f"{fn_name}() got an unexpected keyword argument {key!r}; it accepts "
                f"{', '.join(['rng', *allowed, 'dtype'])}"
            )


def _initializer(*aliases: str):
    """Turn a distribution builder ``spec(shape, **params) -> Distribution`` into an
    initializer ``init(shape, *, rng=None, **params, dtype=float64) -> ndarray``.

    The builder stays reachable as ``init.distribution``.
    """

    def deco(spec):
        sig = inspect.signature(spec)  # once: it costs more than drawing a small layer
        allowed = [p for p in sig.parameters if p != "shape"]

        @functools.wraps(spec)
        def init(shape, *args, rng=None, dtype=np.float64, **params):
            if args:
                raise _positional_trap(spec.__name__, args)
            if params:
                _check_params(spec.__name__, allowed, params)
            shape = check_shape(shape)
            return spec(shape, **params).sample(shape, rng=rng, dtype=dtype)

        params = list(sig.parameters.values())
        rng_param = inspect.Parameter("rng", inspect.Parameter.KEYWORD_ONLY, default=None)
        dtype_param = inspect.Parameter("dtype", inspect.Parameter.KEYWORD_ONLY, default=np.float64)
        init.__signature__ = sig.replace(
            parameters=[params[0], rng_param, *params[1:], dtype_param],
            return_annotation=np.ndarray,
        )
        init.distribution = spec
        return _register(spec.__name__, *aliases)(init)

    return deco


#: the library's initializers that are not in the registry (the structured kernels of
#: :mod:`weightinit.structured`, :func:`torch_default_bias`): they take ``rng=`` too
_UNREGISTERED: list[Callable] = []


def _library_initializer(fn):
    """Mark ``fn`` as a library initializer outside the registry (it takes ``rng=``)."""
    _UNREGISTERED.append(fn)
    return fn


def is_library_initializer(fn) -> bool:
    """Whether ``fn`` is one of this library's initializers (which take the seed as the
    keyword ``rng=``), as opposed to a user function ``f(shape, rng)``: the registered
    ones and the unregistered structured kernels (``weight_init=delta_orthogonal``)."""
    return any(fn is f for f in _REGISTRY.values()) or any(fn is f for f in _UNREGISTERED)


def available() -> list[str]:
    """Names accepted by :func:`get`, sorted."""
    return sorted(_REGISTRY)


#: The frameworks' spellings that :func:`get` maps onto this library's schemes, keyed by
#: the name lower-cased with underscores removed. Keras's class names map to the Keras
#: behaviour: ``GlorotNormal``, ``HeNormal`` and ``LecunNormal`` draw *truncated*
#: normals in Keras, so they map to the ``keras_*`` variants (which also default to
#: Keras's channels-last layout). PyTorch's ``torch.nn.init`` names end in ``_``
#: (``kaiming_uniform_``); with the ``_`` removed they are this library's names
#: (``trunc_normal_`` maps to :func:`truncated_normal`, whose ``cutoff`` is in std
#: units where PyTorch takes absolute bounds ``a, b``).
KERAS_CLASS_NAMES = {
    "glorotuniform": "glorot_uniform",
    "glorotnormal": "keras_glorot_normal",
    "heuniform": "he_uniform",
    "henormal": "keras_he_normal",
    "lecununiform": "lecun_uniform",
    "lecunnormal": "keras_lecun_normal",
    "randomuniform": "uniform",
    "randomnormal": "normal",
    "truncatednormal": "truncated_normal",
    "variancescaling": "variance_scaling",
    "orthogonal": "orthogonal",
    "zeros": "zeros",
    "ones": "ones",
    "constant": "constant",
}
_TORCH_ALIASES = {"trunc_normal": "truncated_normal"}
_PREFIXES = re.compile(r"^(tf\.)?(keras\.initializers\.|torch\.nn\.init\.|nn\.init\.|init\.)")


def _resolve(name: str) -> str | None:
    """The registry key for a library, PyTorch or Keras spelling, or None."""
    stripped = _PREFIXES.sub("", name.strip())
    key = stripped.lower()
    if key in _REGISTRY:
        return key
    if "_" not in stripped and any(c.isupper() for c in stripped):
        # a Keras class name such as "GlorotUniform" or "HeNormal"
        return KERAS_CLASS_NAMES.get(key)
    if key.endswith("_") and not key.endswith("__"):
        # a PyTorch in-place name such as "kaiming_uniform_"
        key = key[:-1]
        key = _TORCH_ALIASES.get(key, key)
        return key if key in _REGISTRY else None
    return None


def get(name) -> Callable:
    """Look an initializer up by name; a callable is returned unchanged.

    Accepts this library's names (case-insensitive, see :func:`available`), PyTorch's
    ``torch.nn.init`` names (``"kaiming_uniform_"``, ``"xavier_normal_"``,
    ``"trunc_normal_"``) and Keras's class names (``"GlorotUniform"``, ``"HeNormal"``),
    optionally prefixed by ``"torch.nn.init."`` or ``"keras.initializers."``. Keras
    class names go to the Keras behaviour: ``"HeNormal"`` -> :func:`keras_he_normal`
    (truncated, channels-last layout), see :data:`KERAS_CLASS_NAMES`. The snake-case
    ``"he_normal"`` is this library's (the paper's, untruncated) scheme.

    Raises
    ------
    ValueError
        Unknown name (the message lists the known ones).
    TypeError
        Neither a string nor a callable.
    """
    if callable(name):
        return name
    if not isinstance(name, str):
        raise TypeError(
            f"initializer must be a name (str) or a callable, got {type(name).__name__} {name!r}"
        )
    key = _resolve(name)
    if key is None:
        raise ValueError(
            f"unknown initializer name {name!r}; available: {', '.join(available())} (also "
            "PyTorch's names ending in '_' and Keras's class names such as 'HeNormal')"
        )
    return _REGISTRY[key]


def distribution(name, shape, **params) -> Distribution:
    """The distribution the named initializer draws from for ``shape``, without drawing.

    >>> print(distribution("glorot_uniform", (20, 10)))
    U(-0.447214, 0.447214)
    """
    init = get(name)
    spec = getattr(init, "distribution", None)
    if spec is None:
        raise ValueError(f"initializer {name!r} does not draw entries from a fixed distribution")
    allowed = [p for p in inspect.signature(spec).parameters if p != "shape"]
    _check_params(getattr(init, "__name__", str(name)), allowed, params)
    return spec(check_shape(shape), **params)


# --------------------------------------------------------------------------- simple ones
@_initializer()
def zeros(shape) -> Distribution:
    """All zeros. Breaks nothing and learns nothing: every unit stays identical.

    Caffe's default filler for weights is ``constant`` with value 0.
    """
    return Distribution("constant", 0.0)


@_initializer()
def ones(shape) -> Distribution:
    """All ones (a constant initializer with value 1)."""
    return Distribution("constant", 1.0)


@_initializer()
def constant(shape, *, value: float = 0.0) -> Distribution:
    """Every entry equals ``value`` (PyTorch ``constant_``, Keras ``Constant``)."""
    return Distribution("constant", _check_real(value, "value"))


@_initializer()
def uniform(shape, *, low: float = -0.05, high: float = 0.05) -> Distribution:
    """``U(low, high)``. The defaults are Keras's ``RandomUniform`` (±0.05).

    PyTorch's ``uniform_`` defaults to ``U(0, 1)``.
    """
    low = _check_real(low, "low")
    high = _check_real(high, "high")
    if not low < high:
        raise ValueError(f"uniform needs low < high, got low={low!r}, high={high!r}")
    if not math.isfinite(high - low):
        raise ValueError(f"high - low must be a finite float, got low={low!r}, high={high!r}")
    return Distribution("uniform", (low + high) / 2.0, (high - low) / 2.0)


@_initializer()
def normal(shape, *, mean: float = 0.0, std: float = 0.01) -> Distribution:
    """``N(mean, std²)``; the default ``std = 0.01`` is the classic "small random" start.

    Keras's ``RandomNormal`` defaults to ``std = 0.05``, PyTorch's ``normal_`` to 1.
    """
    return Distribution("normal", _check_real(mean, "mean"), _check_real(std, "std", positive=True))


@_initializer()
def truncated_normal(
    shape, *, mean: float = 0.0, std: float = 0.05, cutoff: float = 2.0
) -> Distribution:
    """Normal ``N(mean, std²)`` with values beyond ``mean ± cutoff·std`` redrawn.

    ``cutoff`` must be >= :data:`MIN_CUTOFF` (0.01). Sampling redraws out-of-range
    values a bounded number of times, then uses the inverse CDF (see
    :func:`_truncated_standard_normal`), so it always terminates.

    Defaults are Keras's ``TruncatedNormal`` (``std = 0.05``, cut at 2 std). Note
    that ``std`` is the standard deviation *before* truncation: the drawn values
    have std ``≈ 0.8796·std`` for ``cutoff = 2``. PyTorch's ``trunc_normal_`` takes
    absolute bounds ``a, b`` instead (default ``[-2, 2]`` with ``std = 1``, which is
    the same as ``cutoff = 2`` here).
    """
    return Distribution(
        "truncated_normal",
        _check_real(mean, "mean"),
        _check_real(std, "std", positive=True),
        _check_real(cutoff, "cutoff", positive=True),
    )


# --------------------------------------------------------------------------- variance scaling
@_initializer()
def variance_scaling(
    shape,
    *,
    scale: float = 1.0,
    mode: str = "fan_in",
    distribution: str = "truncated_normal",
    layout: str | None = None,
) -> Distribution:
    """The general rule ``Var(w) = scale / n`` (Keras ``VarianceScaling``).

    .. math::

        n = \\begin{cases} \\text{fan\\_in} & \\text{mode = fan\\_in}\\\\
                          \\text{fan\\_out} & \\text{mode = fan\\_out}\\\\
                          (\\text{fan\\_in} + \\text{fan\\_out})/2 & \\text{mode = fan\\_avg}
            \\end{cases}

    * ``"uniform"``: ``U(-a, a)`` with ``a = sqrt(3·scale/n)`` (since ``Var U(-a,a) = a²/3``);
    * ``"normal"``: ``N(0, scale/n)``;
    * ``"truncated_normal"`` (Keras's default): a normal with std
      ``sqrt(scale/n) / 0.87962566103423978`` truncated at 2 of those std, so the
      drawn values have variance ``scale/n``.

    Parameters
    ----------
    shape : sequence of int
        Weight shape (at least 2 dims).
    scale : float, > 0
        Target variance times ``n``.
    mode : {"fan_in", "fan_out", "fan_avg"}
    distribution : {"uniform", "normal", "truncated_normal"}
        ``"untruncated_normal"`` (Keras's spelling) is accepted for ``"normal"``.
    layout : {"torch", "keras"}
        How to read fans off ``shape``.
    """
    scale = _check_real(scale, "scale", positive=True)
    if isinstance(distribution, str) and distribution.lower() == "untruncated_normal":
        distribution = "normal"
    distribution = _choice(distribution, "distribution", DISTRIBUTIONS)
    var = scale / _fan(shape, mode, layout)
    if distribution == "uniform":
        return Distribution("uniform", 0.0, math.sqrt(3.0 * var))
    if distribution == "normal":
        return Distribution("normal", 0.0, math.sqrt(var))
    return Distribution("truncated_normal", 0.0, math.sqrt(var) / KERAS_TRUNCATION_STD, 2.0)


@_initializer()
def lecun_uniform(shape, *, layout: str | None = None) -> Distribution:
    """LeCun uniform: ``U(-a, a)``, ``a = sqrt(3 / fan_in)``, so ``Var(w) = 1/fan_in``.

    LeCun et al. (1998), "Efficient BackProp". Same as Keras ``lecun_uniform`` and
    Caffe's ``xavier`` filler with its default ``variance_norm: FAN_IN``.
    """
    return variance_scaling.distribution(
        shape, mode="fan_in", distribution="uniform", layout=layout
    )


@_initializer()
def lecun_normal(shape, *, layout: str | None = None) -> Distribution:
    """LeCun normal: ``N(0, 1/fan_in)``, untruncated (LeCun et al., 1998).

    Keras's ``lecun_normal`` truncates: see :func:`keras_lecun_normal`.
    """
    return variance_scaling.distribution(shape, mode="fan_in", distribution="normal", layout=layout)


def _check_gain(gain) -> float:
    g = _check_real(gain, "gain", positive=True)
    if not math.isfinite(g * g):
        raise ValueError(f"gain must be below 1e154 (gain² must be a finite float), got {g!r}")
    if g * g < sys.float_info.min:  # gain² underflows: it was reported as "scale must be > 0"
        raise ValueError(f"gain must be above 1.5e-154 (gain² must be a normal float), got {g!r}")
    return g


@_initializer("xavier_uniform")
def glorot_uniform(shape, *, gain: float = 1.0, layout: str | None = None) -> Distribution:
    """Glorot/Xavier uniform: ``U(-a, a)``, ``a = gain · sqrt(6 / (fan_in + fan_out))``.

    Glorot & Bengio (2010), their "normalized initialization"; ``Var(w) =
    gain² · 2/(fan_in + fan_out)``. Equals PyTorch ``xavier_uniform_(gain=gain)``
    and, for ``gain = 1``, Keras ``glorot_uniform`` (Keras's default for Dense and
    Conv layers).
    """
    g = _check_gain(gain)
    return variance_scaling.distribution(
        shape, scale=g * g, mode="fan_avg", distribution="uniform", layout=layout
    )


@_initializer("xavier_normal")
def glorot_normal(shape, *, gain: float = 1.0, layout: str | None = None) -> Distribution:
    """Glorot/Xavier normal: ``N(0, gain² · 2/(fan_in + fan_out))``, untruncated.

    Equals PyTorch ``xavier_normal_``. Keras's ``glorot_normal`` truncates: see
    :func:`keras_glorot_normal`.
    """
    g = _check_gain(gain)
    return variance_scaling.distribution(
        shape, scale=g * g, mode="fan_avg", distribution="normal", layout=layout
    )


def _slope(negative_slope, a) -> float:
    """The leaky slope: ``negative_slope``, or PyTorch's deprecated spelling ``a``."""
    if a is not None:
        return _check_real(slope_alias(negative_slope, a, "a", given=negative_slope != 0.0,
                                       stacklevel=4), "a")  # fmt: skip
    return _check_real(negative_slope, "negative_slope")


def _kaiming_std(shape, slope, mode, nonlinearity, layout) -> float:
    """PyTorch's ``gain(nonlinearity, slope) / sqrt(fan)`` with ``fan`` of ``mode``."""
    mode = _choice(mode, "mode", ("fan_in", "fan_out"))
    return gain(nonlinearity, slope) / math.sqrt(_fan(shape, mode, layout))


@_initializer()
def kaiming_uniform(
    shape,
    *,
    negative_slope: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    layout: str | None = None,
    a: float | None = None,
) -> Distribution:
    """He/Kaiming uniform, exactly as PyTorch ``kaiming_uniform_``.

    ``U(-b, b)`` with ``b = gain(nonlinearity, negative_slope) · sqrt(3 / n)``, ``n``
    the fan of ``mode`` (``"fan_in"`` or ``"fan_out"``). With the defaults (slope 0,
    leaky ReLU of slope 0 = ReLU) this is ``sqrt(6 / fan_in)`` (He et al., 2015).
    With ``negative_slope = sqrt(5)`` it is PyTorch's default layer init, see
    :func:`torch_default`. PyTorch calls the slope ``a``; ``a=`` is accepted as a
    deprecated alias.
    """
    slope = _slope(negative_slope, a)
    return Distribution(
        "uniform", 0.0, math.sqrt(3.0) * _kaiming_std(shape, slope, mode, nonlinearity, layout)
    )


@_initializer()
def kaiming_normal(
    shape,
    *,
    negative_slope: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    layout: str | None = None,
    a: float | None = None,
) -> Distribution:
    """He/Kaiming normal, exactly as PyTorch ``kaiming_normal_``: ``N(0, gain²/n)``.

    ``gain = gain(nonlinearity, negative_slope)``; for ReLU ``std = sqrt(2 / fan_in)``
    (He et al., 2015). Untruncated. ``a=`` (PyTorch's name) is a deprecated alias of
    ``negative_slope``.
    """
    slope = _slope(negative_slope, a)
    return Distribution("normal", 0.0, _kaiming_std(shape, slope, mode, nonlinearity, layout))


@_initializer("msra_uniform")
def he_uniform(
    shape, *, mode: str = "fan_in", negative_slope: float = 0.0, layout: str | None = None
) -> Distribution:
    """He uniform: ``U(-b, b)``, ``b = sqrt(6 / ((1 + α²) · n))``, ``n`` = fan of ``mode``.

    He et al. (2015) for (leaky) ReLU with negative slope ``α`` (0 for ReLU).
    ``α = 0``, ``mode = "fan_in"``: Keras ``he_uniform`` and PyTorch
    ``kaiming_uniform_(nonlinearity="relu")``.
    """
    slope = _check_real(negative_slope, "negative_slope")
    return kaiming_uniform.distribution(
        shape, negative_slope=slope, mode=mode, nonlinearity="leaky_relu", layout=layout
    )


@_initializer("msra_normal")
def he_normal(
    shape, *, mode: str = "fan_in", negative_slope: float = 0.0, layout: str | None = None
) -> Distribution:
    """He normal: ``N(0, 2 / ((1 + α²) · n))``, untruncated (He et al., 2015).

    Equals PyTorch ``kaiming_normal_(nonlinearity="relu")`` for ``α = 0``. Keras's
    ``he_normal`` truncates: see :func:`keras_he_normal`.
    """
    slope = _check_real(negative_slope, "negative_slope")
    return kaiming_normal.distribution(
        shape, negative_slope=slope, mode=mode, nonlinearity="leaky_relu", layout=layout
    )


# --------------------------------------------------------------------------- framework variants
@_initializer()
def keras_lecun_normal(shape, *, layout: str = "keras") -> Distribution:
    """Keras ``lecun_normal``: truncated normal, std ``sqrt(1/fan_in)/0.8796...``, cut at 2 std.

    Note the default ``layout="keras"``: shapes are read channels-last.
    """
    return variance_scaling.distribution(shape, scale=1.0, mode="fan_in", layout=layout)


@_initializer()
def keras_glorot_normal(shape, *, layout: str = "keras") -> Distribution:
    """Keras ``glorot_normal``: truncated normal with variance ``2/(fan_in + fan_out)``."""
    return variance_scaling.distribution(shape, scale=1.0, mode="fan_avg", layout=layout)


@_initializer()
def keras_he_normal(shape, *, layout: str = "keras") -> Distribution:
    """Keras ``he_normal``: truncated normal with variance ``2/fan_in``."""
    return variance_scaling.distribution(shape, scale=2.0, mode="fan_in", layout=layout)


@_initializer("glorot_bengio_standard")
def torch_default(shape, *, layout: str | None = None) -> Distribution:
    """PyTorch's default weight init for ``nn.Linear`` and ``nn.Conv*d``.

    ``kaiming_uniform_(w, a=sqrt(5))``: the gain is ``sqrt(2/(1+5)) = sqrt(1/3)``, so
    the bound is ``sqrt(1/3) · sqrt(3/fan_in) = 1/sqrt(fan_in)``, i.e.
    ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` with ``Var(w) = 1/(3·fan_in)``. This is
    also the "standard" heuristic Glorot & Bengio (2010) compare against.
    """
    return kaiming_uniform.distribution(shape, negative_slope=math.sqrt(5.0), layout=layout)


def torch_default_bias(shape, *args, rng=None, fan_in, dtype=np.float64) -> np.ndarray:
    """PyTorch's default bias init for ``nn.Linear``/``nn.Conv*d``: ``U(±1/sqrt(fan_in))``.

    The documented exception to "every initializer has the same call form": ``fan_in``,
    the fan-in of the layer's *weight*, is a required keyword (the bias itself has no
    fans), so this function is not in the registry (:func:`get`). Otherwise the call form
    is the common one: ``torch_default_bias((16,), rng=0, fan_in=72)``.
    """
    if args:
        raise _positional_trap("torch_default_bias", args)
    bound = 1.0 / math.sqrt(_check_fan(fan_in, "fan_in"))
    return Distribution("uniform", 0.0, bound).sample(shape, rng=rng, dtype=dtype)


_CAFFE_NORMS = ("fan_in", "fan_out", "average")


def _caffe_n(shape, variance_norm: str, layout: str) -> float:
    norm = variance_norm.lower() if isinstance(variance_norm, str) else variance_norm
    _choice(norm, "variance_norm", _CAFFE_NORMS)
    return _fan(shape, {"average": "fan_avg"}.get(norm, norm), layout)


@_initializer()
def caffe_xavier(
    shape, *, variance_norm: str = "fan_in", layout: str | None = None
) -> Distribution:
    """Caffe's ``xavier`` filler: ``U(-sqrt(3/n), sqrt(3/n))``.

    ``n`` is ``fan_in`` by default (``variance_norm: FAN_IN``), or ``fan_out`` or
    their average. With the default this is LeCun uniform, *not* Glorot uniform:
    the name is Caffe's. Caffe blobs use the ``(out, in, kh, kw)`` layout.
    """
    n = _caffe_n(shape, variance_norm, layout)
    return Distribution("uniform", 0.0, math.sqrt(3.0 / n))


@_initializer()
def caffe_msra(shape, *, variance_norm: str = "fan_in", layout: str | None = None) -> Distribution:
    """Caffe's ``msra`` filler: ``N(0, 2/n)``, ``n`` as in :func:`caffe_xavier`."""
    n = _caffe_n(shape, variance_norm, layout)
    return Distribution("normal", 0.0, math.sqrt(2.0 / n))


# --------------------------------------------------------------------------- orthogonal
@_register("orthogonal")
def orthogonal(shape, *args, rng=None, gain: float = 1.0, layout: str | None = None,
               dtype=np.float64):  # fmt: skip
    """(Semi-)orthogonal matrix times ``gain`` (Saxe et al., 2014).

    The weight is flattened to a matrix (``torch``: ``(shape[0], rest)`` as PyTorch
    ``orthogonal_``; ``keras``: ``(rest, shape[-1])`` as Keras ``Orthogonal``), a
    Gaussian matrix of that size is QR-factorised and the signs of ``R``'s diagonal
    are folded into ``Q`` so the result is uniformly (Haar) distributed. Rows (or
    columns, whichever are fewer) are orthonormal: ``W Wᵀ = gain² I``.
    """
    if args:
        raise _positional_trap("orthogonal", args)
    shape = check_shape(shape, min_dims=2)
    g = _check_real(gain, "gain", positive=True)
    dt = _check_dtype(dtype)
    layout = "torch" if layout is None else _choice(layout, "layout", ("torch", "keras"))
    # QR of an (m, k) matrix needs about three arrays of that size.
    check_bytes(3 * math.prod(shape), 8, "shape", "QR factorisation")
    gen = as_generator(rng)
    if layout == "torch":
        rows, cols = shape[0], math.prod(shape[1:])
    else:
        rows, cols = math.prod(shape[:-1]), shape[-1]
    a = gen.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    with np.errstate(over="ignore", under="ignore"):
        out = (g * q).reshape(shape).astype(dt, copy=False)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"gain {g!r} overflows dtype {dt.name}: use a smaller gain")
    if not np.any(out):
        raise ValueError(f"gain {g!r} underflows dtype {dt.name} (every entry is 0)")
    return out


def _hide_varargs(fn):
    """Show ``fn``'s signature without the ``*args`` that only exists to catch a positional
    seed (see :func:`_positional_trap`)."""
    sig = inspect.signature(fn)
    fn.__signature__ = sig.replace(
        parameters=[p for p in sig.parameters.values() if p.kind != p.VAR_POSITIONAL]
    )
    return fn


_hide_varargs(orthogonal)
_hide_varargs(torch_default_bias)
_hide_varargs(Distribution.sample)
_library_initializer(torch_default_bias)
