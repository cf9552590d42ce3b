"""The table helper: the same values in the text and the HTML form, and clear errors."""

import numpy as np
import pytest
from weightinit.display import Table, table


def test_text_and_html_forms_agree():
    t = table(
        [{"scheme": "he_normal", "acc": 0.97123, "n": 10}, {"scheme": "zeros", "acc": 0.1, "n": 3}],
        caption="Accuracy <by> scheme",
    )
    text = str(t)
    assert text.splitlines()[0] == "Accuracy <by> scheme"
    assert "he_normal" in text and "0.971" in text and "0.100" in text
    # numbers are right-aligned under their header
    lines = text.splitlines()
    assert lines[3].index("0.971") == lines[4].index("0.100")
    h = t._repr_html_()
    assert "<caption>Accuracy &lt;by&gt; scheme</caption>" in h
    assert h.count("<tr>") == 3 and "0.971" in h and "wi-num" in h
    assert repr(t) == text


def test_sequence_rows_and_per_column_formats():
    t = Table([("a", 1.23456, np.float32(2.5)), ("b", 2.0, 3)], ["k", "x", "y"],
              floatfmt={"x": ".1f"})  # fmt: skip
    assert t.cells == [["a", "1.2", "2.500"], ["b", "2.0", "3"]]


@pytest.mark.parametrize(
    ("args", "kwargs", "exc", "match"),
    [
        (("abc",), {}, TypeError, "rows"),
        (([(1, 2)],), {}, ValueError, "columns"),
        (([(1, 2)], ["a"]), {}, ValueError, "rows\\[0\\]"),
        (([{"a": 1}], ["a", "b"]), {}, ValueError, "column"),
        (([{"a": 1}],), {"floatfmt": 3}, TypeError, "floatfmt"),
        (([{"a": 1}],), {"caption": 3}, TypeError, "caption"),
        (([], []), {}, ValueError, "columns"),
    ],
)
def test_bad_input(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        table(*args, **kwargs)
