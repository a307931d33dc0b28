"""Pure renderers: escaping of untrusted text, offline HTML, highlighted paths, report content."""

import json
import re

import numpy as np
import pandas as pd
import pytest

from app.components.explanation_card import card_texts, counterfactual_text, fidelity_text
from app.components.heatmap import build_heatmap
from app.components.kg_graph import build_kg_html
from app.components.report import ReportSection, build_report_html
from app.components.tables import edges_frame, leaderboard_frame, paths_frame
from core.explain.base import Contribution, Counterfactual, Edge, Explanation, Path, Subgraph

EVIL = "<script>alert('x')</script>"
EVIL_IMG = '<img src=x onerror="alert(1)">'
# a tag that would load something from the network (plotly.js only *mentions* URLs in strings)
REMOTE = re.compile(
    r"""<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=\s*["']?\s*(https?:)?//""", re.I
)


@pytest.fixture()
def expl():
    e1 = Edge("u:0", "interacted", "i:1", 0.9)
    e2 = Edge("i:1", "genre", "e:5", 0.7)
    e3 = Edge("e:5", "~genre", "i:2", 0.6)
    side = Edge("i:3", "genre", "e:5", 0.1)
    sub = Subgraph(
        nodes={
            "u:0": "user u0",
            "i:1": EVIL,
            "e:5": EVIL_IMG,
            "i:2": "Target & Co",
            "i:3": "Other",
        },
        node_kinds={"u:0": "user", "i:1": "item", "e:5": "entity", "i:2": "target", "i:3": "item"},
        edges=(e1, e2, e3, side),
    )
    return Explanation(
        user=0,
        item=2,
        score=1.5,
        rank=1,
        method="paths",
        model="KGAT",
        contributions=(
            Contribution("history_item", "i:1", EVIL, 0.8),
            Contribution("entity", "e:5", EVIL_IMG, 0.5),
        ),
        paths=(Path((e1, e2, e3), 0.8, "user-item-entity-item"),),
        subgraph=sub,
        sentence=f"Because you watched {EVIL}",
        counterfactual=Counterfactual(("i:1", "i:3"), (EVIL, "Other"), 37, 0.12, 10, True),
        extra={"fidelity": 0.42},
    )


def test_heatmap_escapes_labels_and_keeps_shape():
    fig = build_heatmap(np.array([[0.2, 0.8], [0.5, 0.5]]), [EVIL, "B"], ["A", EVIL_IMG])
    heat = fig.data[0]
    assert np.asarray(heat.z).shape == (2, 2)
    labels = list(heat.x) + list(heat.y)
    assert not any("<script" in s or "<img" in s for s in labels)
    assert "1. &lt;script&gt;" in heat.y[0] and "&lt;img" in heat.x[1]
    with pytest.raises(ValueError):
        build_heatmap(np.zeros((2, 3)), ["a", "b"], ["c"])


def test_heatmap_keeps_duplicate_titles_apart():
    fig = build_heatmap(np.ones((1, 2)), ["x"], ["Same", "Same"])
    assert len(set(fig.data[0].x)) == 2


def test_kg_html_is_offline_escaped_and_highlights_paths(expl):
    doc = build_kg_html(expl.subgraph, expl.paths)
    assert REMOTE.search(doc) is None, REMOTE.search(doc)
    assert "vis.Network" in doc and "physics: false" in doc
    assert EVIL not in doc and 'onerror="alert' not in doc
    assert "\\u003cscript\\u003e" in doc  # labels and tooltips: literal text, JSON-escaped
    # tooltips are escaped exactly once: vis-network shows a string title as text, so an
    # html.escape before the template's JSON escaping showed "&lt;script&gt;" on hover
    assert "&lt;script" not in doc and "\\u0026lt;script" not in doc
    nodes = json.loads(re.search(r"nodes = new vis.DataSet\((.*?)\);", doc).group(1))
    assert any(n["title"].startswith(EVIL + " (") for n in nodes)
    assert doc.count('"width": 4') == 3  # the three path edges, not the side edge
    assert '"label": "genre"' in doc and '"label": "~genre"' in doc


def test_kg_html_bounds_node_count(expl):
    nodes = {f"e:{i}": f"n{i}" for i in range(300)}
    sub = Subgraph(nodes, {n: "entity" for n in nodes}, ())
    doc = build_kg_html(sub, max_nodes=25)
    assert doc.count('"shape": "dot"') == 25


def test_tables_and_texts(expl):
    paths = paths_frame(expl)
    assert paths["path"].iat[0].startswith("user u0 —interacted→ " + EVIL)
    assert edges_frame(expl)["weight"].iat[0] == pytest.approx(0.9)
    assert (
        counterfactual_text(expl)
        == f"Without {EVIL} and Other this drops to rank 37 (score 0.120)."
    )
    fid = {"drop@1": 4.0, "random_drop@1": 1.5, "drop@3": 12.0, "random_drop@3": 2.0, "auc": 0.5}
    assert fidelity_text(fid).startswith(
        "Fidelity: removing its top 1 history item(s) moves the item down 4 places (random: 1.5)"
    )
    assert (
        fidelity_text(fid).endswith("deletion AUC 0.500 (lower = more faithful)")
        and fidelity_text(None) == ""
    )
    assert card_texts(expl, "T")["header"].startswith("#1 T — score 1.500")
    board = leaderboard_frame({"A": {"recall@10": 0.1, "note": "x"}, "B": {"recall@10": 0.3}})
    assert list(board["model"]) == ["B", "A"] and "note" not in board


def test_report_is_self_contained_and_escaped(expl):
    heat = build_heatmap(np.array([[1.0]]), [EVIL], [EVIL_IMG])
    sec = ReportSection(
        expl,
        EVIL,
        counterfactual_text(expl),
        paths_frame(expl),
        heat,
        build_kg_html(expl.subgraph, expl.paths),
    )
    doc = build_report_html(
        f"Report {EVIL}", {"user": EVIL_IMG}, pd.DataFrame({"title": [EVIL]}), [sec, sec]
    )
    assert REMOTE.search(doc) is None
    assert EVIL not in doc and EVIL_IMG not in doc
    assert doc.count("&lt;script&gt;alert") >= 4
    assert "srcdoc=" in doc and doc.count("<iframe") == 2
    # plotly.js is inlined exactly once, so the report opens offline
    assert len(doc) > 1_000_000 and doc.count("plotly.js v") <= 2
