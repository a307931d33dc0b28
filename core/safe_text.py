"""The one escaping rule for text that comes from data, uploads or URLs (DESIGN.md: "Untrusted
input stays data").

Every data string (titles, entity and relation names, user and item ids, query-parameter values,
error messages that quote them) is shown as literal text, whatever the sink:

- `md(s)`: for anything Streamlit renders as Markdown (st.error / info / caption / markdown,
  subheaders, widget labels). Every ASCII punctuation character is backslash-escaped, which
  CommonMark defines as "this character, literally": no link, no image (so nothing is fetched),
  no emphasis, heading, HTML tag or math.
- `html_text(s)`: for HTML documents we build (the report): entities for & < > " '.
- `plotly_text(s)`: for plotly labels and titles (& < > only: plotly shows quotes as written).
- `tooltip(s)`: vis-network shows a string title as plain text and pyvis's template escapes it
  for the script; so the text goes in as it is, escaped exactly once (never `html.escape`d
  first, which showed "&lt;script&gt;").
- `csv_cell(v)`: a string a spreadsheet would read as a formula (starts with = + - @, tab or CR)
  gets a leading apostrophe.

No streamlit here: core and app both import it.
"""

from __future__ import annotations

import html
import re

import pandas as pd

_MD_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def md(text: object) -> str:
    """`text` as Markdown that renders as exactly that text; its lines stay lines."""
    return "  \n".join(_MD_SPECIAL.sub(r"\\\1", line) for line in str(text).splitlines())


def html_text(text: object) -> str:
    """`text` as HTML character data or an attribute value."""
    return html.escape(str(text), quote=True)


def plotly_text(text: object) -> str:
    """`text` for a plotly label or title: plotly reads a few tags (<b>, <a href>, <br>) in text
    but shows entities and quotes as written, so only & < > are escaped."""
    return html.escape(str(text), quote=False)


def tooltip(text: object) -> str:
    """`text` for a vis-network title: plain text; the renderer escapes it once."""
    return str(text)


def csv_cell(value: object) -> object:
    """`value` safe to open in a spreadsheet: strings that would start a formula are prefixed
    with an apostrophe (OWASP's advice); everything else is returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` with every text cell passed through `csv_cell` (headers too)."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].map(csv_cell)
    out.columns = [csv_cell(c) for c in out.columns]
    return out
