"""The one escaping rule (core.safe_text): data text stays literal in Markdown, HTML, plotly,
vis-network tooltips and CSV."""

import re

import pandas as pd
import pytest

from core.safe_text import csv_cell, csv_frame, html_text, md, plotly_text, tooltip

PAYLOADS = [
    "![t](http://example.com/x.png)",
    "[click](javascript:alert(1))",
    "<script>alert('xss')</script>",
    "<img src=x onerror=alert(1)>",
    "**bold** _it_ `code` # head > quote $x$ :red[c] ~~s~~ | t |",
    "http://example.com/auto",
]


def _unescape_md(text: str) -> str:
    """What CommonMark shows for a string whose punctuation is all backslash-escaped."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text.replace("  \n", "\n"))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_md_escapes_every_punctuation_character_and_round_trips(payload):
    out = md(payload)
    # every punctuation character is preceded by a backslash: nothing can open markup
    assert re.search(r"(?<!\\)[!\[\]()<>*_`#$:~|]", out.replace("\\\\", "")) is None
    assert _unescape_md(out) == payload


def test_md_keeps_lines_as_lines_and_escapes_backslashes():
    assert md("a\\b") == "a\\\\b"
    assert md("line 1\n# line 2") == "line 1  \n\\# line 2"


def test_html_and_plotly_and_tooltip():
    assert html_text('<a href="x">&') == "&lt;a href=&quot;x&quot;&gt;&amp;"
    assert plotly_text('<a href="x">') == '&lt;a href="x"&gt;'
    assert tooltip("<script>") == "<script>"  # escaped once, by the renderer, not twice


@pytest.mark.parametrize("cell", ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_csv_cells_that_start_a_formula_are_neutralised(cell):
    assert csv_cell(cell) == "'" + cell


def test_csv_frame_leaves_numbers_and_plain_text_alone():
    frame = pd.DataFrame({"vote": [-1, 1], "comment": ["=1+1", "fine"], "=h": ["a", "b"]})
    out = csv_frame(frame)
    assert out["vote"].tolist() == [-1, 1]
    assert out["comment"].tolist() == ["'=1+1", "fine"]
    assert list(out.columns) == ["vote", "comment", "'=h"]
    assert frame["comment"].tolist() == ["=1+1", "fine"]  # the input is not modified
