"""Finite differences shared by the gradient-check tests (conv2d and every layer)."""

import numpy as np


def numerical_grad(f, x, eps):
    """Central differences of the scalar function ``f()`` with respect to ``x``.

    ``x`` is perturbed in place, one entry at a time, and restored afterwards.
    """
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        fp = f()
        x[i] = old - eps
        fm = f()
        x[i] = old
        g[i] = (fp - fm) / (2 * eps)
    return g


def rel_err(a, b):
    """Largest absolute difference relative to the larger magnitude (a gradient check's error)."""
    return np.max(np.abs(a - b)) / max(1e-12, np.max(np.abs(a) + np.abs(b)))
