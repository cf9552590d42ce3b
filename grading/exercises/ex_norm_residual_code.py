"""Chapter 10: ``my_stream_second_moment(depth, gate, q0=1.0, normalized=False)``, the
predicted second moment of a residual stream after ``depth`` blocks ``x + gate·F(x)``:
``q0·(1 + gate²)^depth`` for He branches, ``q0 + depth·gate²`` for normalized branches."""

from grading.kinds import ValueTest
from grading.registry import Exercise


def _unpack(args, kwargs):
    depth, gate = args
    return depth, gate, kwargs.get("q0", 1.0), kwargs.get("normalized", False)


def _reference(args, kwargs):
    from weightinit.residual import stream_second_moment

    depth, gate, q0, normalized = _unpack(args, kwargs)
    return stream_second_moment(depth, gate, q0=q0, normalized=normalized)


def _gate_not_squared(args, kwargs):
    depth, gate, q0, normalized = _unpack(args, kwargs)
    return float(q0 + depth * gate) if normalized else float(q0 * (1.0 + gate) ** depth)


def _always_exponential(args, kwargs):
    depth, gate, q0, _ = _unpack(args, kwargs)
    return float(q0 * (1.0 + gate**2) ** depth)


def _always_linear(args, kwargs):
    depth, gate, q0, _ = _unpack(args, kwargs)
    return float(q0 + depth * gate**2)


def _ignores_q0(args, kwargs):
    depth, gate, _, normalized = _unpack(args, kwargs)
    return float(1.0 + depth * gate**2) if normalized else float((1.0 + gate**2) ** depth)


def _gate_only(args, kwargs):  # forgot the shortcut: x <- g F(x)
    depth, gate, q0, normalized = _unpack(args, kwargs)
    return float(gate**2) if normalized and depth else float(q0 * gate ** (2 * depth))


EXERCISE = Exercise(
    id="ex-norm-residual-code",
    tests=[
        ValueTest(
            "my_stream_second_moment",
            cases=[
                ([16, 1.0], {}, {}),
                ([12, 0.7], {"q0": 2.5}, {}),
                ([0, 1.3], {"q0": 4.0}, {}),
                ([9, 0.0], {"q0": 1.7}, {}),
                ([25, 0.4], {"q0": 0.3, "normalized": True}, {}),
                ([40, 1.0], {"normalized": True}, {}),
                ([7, 1.0 / 7**0.5], {"q0": 3.0}, {}),
                ([0, 2.0], {"q0": 5.0, "normalized": True}, {}),
            ],
            reference=_reference,
            rtol=1e-6,
            mistakes=[
                (
                    "a gate g multiplies the branch's values, so its second moment by g²: "
                    "you used g instead of g².",
                    _gate_not_squared,
                ),
                (
                    "with normalized=True the branch adds g²·1 per block whatever the stream "
                    "holds: the growth is linear, not a product.",
                    _always_exponential,
                ),
                (
                    "without normalization the branch adds g²·E[x_l²], proportional to the "
                    "stream: the growth is a product (1 + g²)^L, not a sum.",
                    _always_linear,
                ),
                ("you ignored q0, the second moment entering the first block.", _ignores_q0),
                ("you dropped the shortcut x: a residual block adds g·F(x) to x.", _gate_only),
            ],
        )
    ],
    forbidden=("weightinit.residual.stream_second_moment",),
)
