"""Average pooling (the max-pooling layer lives in :mod:`weightinit.layers`).

Average pooling is linear: it multiplies the variance of independent inputs by
``1/size²`` but keeps the variance of a spatially constant signal, which is why a
variance calculation has to say what it assumes about the correlation of
neighbouring pixels.
"""

from __future__ import annotations

import numpy as np

from ._validate import positive_int
from .layers import Layer, _check_array

__all__ = ["AvgPool2D"]


class AvgPool2D(Layer):
    """Non-overlapping average pooling over ``size × size`` windows (stride = size).

    ``y[n, c, i, j] = mean(x[n, c, i·s : (i+1)·s, j·s : (j+1)·s])``, as PyTorch's
    ``avg_pool2d(x, s)`` with its defaults (``ceil_mode=False``: rows and columns that
    do not fill a whole window are dropped and get a zero gradient). The backward
    pass spreads each output gradient evenly, ``dy/s²``, over its window.

    Parameters
    ----------
    size : int, default 2
        Window size and stride. ``size`` equal to the image size gives global average
        pooling.
    """

    def __init__(self, size: int = 2):
        super().__init__()
        self.size = positive_int(size, "size")
        self._shape = None

    def forward(self, x, training=True):
        x = _check_array(x, "AvgPool2D input", ndim=4)
        n, c, h, w = x.shape
        s = self.size
        if h < s or w < s:
            raise ValueError(f"AvgPool2D size {s} is larger than the input ({h}x{w})")
        ho, wo = h // s, w // s
        self._shape = x.shape
        return x[:, :, : ho * s, : wo * s].reshape(n, c, ho, s, wo, s).mean(axis=(3, 5))

    def backward(self, dy):
        if self._shape is None:
            raise RuntimeError("AvgPool2D.backward() called before forward()")
        n, c, h, w = self._shape
        s = self.size
        ho, wo = h // s, w // s
        dy = np.asarray(dy)
        if dy.shape != (n, c, ho, wo):
            raise ValueError(f"dy has shape {dy.shape}, the forward output had {(n, c, ho, wo)}")
        dt = dy.dtype if np.issubdtype(dy.dtype, np.floating) else np.float64
        dx = np.zeros(self._shape, dtype=dt)
        g = np.broadcast_to(dy[:, :, :, None, :, None] / (s * s), (n, c, ho, s, wo, s))
        dx[:, :, : ho * s, : wo * s] = g.reshape(n, c, ho * s, wo * s)
        return dx

    def __repr__(self):
        return f"AvgPool2D({self.size})"
