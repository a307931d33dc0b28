"""Pure renderers: escaping of untrusted text, offline HTML, highlighted paths, report content."""

import json
import re

import numpy as np
import pandas as pd
import pytest

from app.components.charts import build_popularity
from app.components.explanation_card import card_texts, counterfactual_text, fidelity_text
from app.components.heatmap import build_heatmap
from app.components.kg_graph import build_kg_html, doc_height
from app.components.report import ReportSection, build_report_html
from app.components.tables import (
    contributions_frame,
    edges_frame,
    leaderboard_frame,
    leaderboard_parts,
    metric_header,
    paths_frame,
)
from core.explain.base import Contribution, Counterfactual, Edge, Explanation, Path, Subgraph
from core.explain.quality import DeletionCurve

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
    assert "vis.Network" in doc and '"enabled": false' in doc  # physics off: nothing moves
    assert EVIL not in doc and 'onerror="alert' not in doc
    # data text reaches the page once, JSON-escaped by the template (vis-network shows labels
    # as canvas text and tooltips through innerText), never pre-escaped into "&lt;"
    assert "\\u003cscript\\u003e" in doc and "&lt;script" not in doc
    assert "\\u0026lt;script" not in doc
    nodes = json.loads(re.search(r"nodes = new vis.DataSet\((\[.*?\])\);", doc).group(1))
    assert any(n["title"].startswith(EVIL) for n in nodes)
    assert doc.count('"width": 3') == 3  # the three path edges, not the side edge
    # relation words on the highlighted edges only
    assert doc.count('"label": "genre"') == 2 and '"label": null' in doc
    assert "recommended item" in doc and "top paths" in doc  # the legend


def test_kg_html_lays_out_columns_without_overlap(expl):
    doc = build_kg_html(expl.subgraph, expl.paths)
    nodes = json.loads(re.search(r"nodes = new vis.DataSet\((\[.*?\])\);", doc).group(1))
    pos = {n["id"]: (n["x"], n["y"]) for n in nodes}
    assert pos["u:0"][0] < pos["i:1"][0] < pos["e:5"][0] < pos["i:2"][0]  # user -> item
    assert len(set(pos.values())) == len(pos)  # no two nodes share a spot
    faded = {n["id"]: n["color"] for n in nodes}
    assert faded["i:3"] != faded["i:1"]  # context node drawn faded
    assert doc_height(doc) > 100


def test_kg_html_bounds_node_count(expl):
    nodes = {f"e:{i}": f"n{i}" for i in range(300)}
    sub = Subgraph(nodes, {n: "entity" for n in nodes}, ())
    assert build_kg_html(sub).count('"shape": "dot"') == 25  # the default bound
    assert build_kg_html(sub, max_nodes=60).count('"shape": "dot"') == 60


def test_tables_and_texts(expl):
    paths = paths_frame(expl, shares=[0.42])
    assert (
        paths["path"].iat[0]
        == f"user u0 —interacted→ {EVIL} —genre→ {EVIL_IMG} ←genre— Target & Co"
    )
    assert paths["share"].iat[0] == "42 %"
    assert "i:" not in " ".join(paths["path"]) and "u:0" not in " ".join(paths["path"])
    contrib = contributions_frame(expl)
    assert list(contrib["name"]) == [EVIL, EVIL_IMG] and "id" not in contrib
    assert edges_frame(expl)["weight"].iat[0] == pytest.approx(0.9)
    assert "i:" not in " ".join(edges_frame(expl)["edge"])
    assert (
        counterfactual_text(expl)
        == f"Without {EVIL} and Other this drops to rank 37 (score 0.120)."
    )
    one = DeletionCurve(ranks=(1, 2, 3, 4), random_ranks=(1.0, 1.5, 2.0, 2.5), draws=2)
    assert fidelity_text(one).startswith(
        "Removing the 3 history items this explanation ranks highest moves the item down "
        "3 places; removing 3 random ones moves it 1.5 places on average (2.0× random)"
    )
    flat = DeletionCurve(ranks=(1, 1, 1, 2), random_ranks=(1.0, 1.0, 1.0, 1.0), draws=2)
    assert "down 1 place;" in fidelity_text(flat) and fidelity_text(None) == ""
    still = DeletionCurve(ranks=(2, 2, 2, 2), random_ranks=(2.0,) * 4, draws=2)
    assert "does not move the item (rank 2 stays)" in fidelity_text(still)
    assert card_texts(expl, "T")["header"].startswith("#1 T — score 1.500")
    board = leaderboard_frame(
        {
            "A": {"precision@10": 0.9, "ndcg@20": 0.1, "recall@20": 0.2, "note": "x"},
            "B": {"precision@10": 0.1, "ndcg@20": 0.3, "recall@20": 0.1},
        }
    )
    assert list(board["model"]) == ["B", "A"] and "note" not in board
    assert list(board.columns[:3]) == ["model", "recall@20", "ndcg@20"]


def test_leaderboard_parts_put_each_cut_off_in_its_own_table():
    board = leaderboard_frame(
        {
            "A": {"recall@20": 0.2, "ndcg@20": 0.1, "novelty@20": 5.0, "hit@10": 0.3, "n": 3.0},
            "B": {"recall@20": 0.1, "ndcg@20": 0.3, "novelty@20": 4.0, "hit@10": 0.2, "n": 3.0},
        }
    )
    main, rest = leaderboard_parts(board)
    assert list(main.columns) == ["model", "recall@20", "ndcg@20", "novelty@20"]
    assert list(main["model"]) == ["B", "A"]  # the board's best-first order
    assert [(t, list(f.columns)) for t, f in rest] == [
        ("cut-off 10", ["model", "hit@10"]),
        ("other", ["model", "n"]),
    ]
    assert metric_header("ndcg@20")[0] == "NDCG@20" and "top 20" in metric_header("ndcg@20")[1]
    assert metric_header("avg_popularity@10")[2] == "%.1f"
    assert metric_header("n") == ("n", "", "%.4f")  # unknown metrics keep their name
    only10, rest10 = leaderboard_parts(board[["model", "hit@10"]])
    assert list(only10.columns) == ["model", "hit@10"] and rest10 == []


def test_popularity_axis_ticks_at_powers_of_ten():
    fig = build_popularity(np.array([500, 120, 30, 7, 1, 0]))
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis.dtick == 1


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


def test_the_card_pauses_for_the_server_to_send_it_before_re_scoring(expl, monkeypatch):
    """The re-scoring parts hold the GIL for seconds; the card pauses first so the server's
    event loop sends the graph, paths and heatmap already drawn (issue 15: they reached the
    browser 2.3 s late)."""
    from app.components import explanation_card as card
    from app.components.explanation_card import CardParts, Measured

    order = []
    monkeypatch.setattr(card.time, "sleep", lambda s: order.append(("pause", s)))

    def measure():
        order.append(("measure", None))
        return Measured()

    card.show_explanation_card(expl, "Target & Co", key="t", parts=CardParts(measure=measure))
    assert order == [("pause", card.SEND_PAUSE_S), ("measure", None)]
    assert 0 < card.SEND_PAUSE_S <= 0.2  # a pause, not a delay anyone notices


def test_kg_html_keeps_context_out_of_the_path_edges_way():
    """A column holding path nodes never spills context into a sub-column beside it, where the
    path edges and their relation words crossed the faded nodes (seen on the first card)."""
    e1, e2 = Edge("u:0", "interacted", "i:1", 0.9), Edge("i:1", "genre", "e:5", 0.8)
    e3 = Edge("e:5", "~genre", "i:2", 0.7)
    crowd = [Edge(f"u:{k}", "interacted", "i:2", 0.5 - k / 100) for k in range(1, 16)]
    crowd += [Edge("i:1", "interacted~", f"u:{k}", 0.3) for k in range(1, 16)]
    nodes = {"u:0": "me", "i:1": "liked", "e:5": "Drama", "i:2": "target"}
    nodes |= {f"u:{k}": f"other {k}" for k in range(1, 16)}
    kinds = {n: "user" for n in nodes} | {"i:1": "item", "e:5": "entity", "i:2": "target"}
    sub = Subgraph(nodes, kinds, (e1, e2, e3, *crowd))
    doc = build_kg_html(sub, (Path((e1, e2, e3), 0.8, "user-item-entity-item"),))
    drawn = json.loads(re.search(r"nodes = new vis.DataSet\((\[.*?\])\);", doc).group(1))
    x = {n["id"]: n["x"] for n in drawn}
    assert {"u:0", "i:1", "e:5", "i:2"} <= set(x)  # the path is drawn whole
    between = [n for n, v in x.items() if x["i:1"] < v < x["i:2"] and v != x["e:5"]]
    assert between == []  # nothing sits under the path edges between the path's columns
    in_column = [n for n, v in x.items() if v == x["e:5"]]
    assert 1 < len(in_column) <= 10  # the heaviest context stays, faded, in the column
