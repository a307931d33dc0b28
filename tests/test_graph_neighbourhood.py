"""KG neighbourhood search, entity lookup and relation statistics (core.graph) on a 6-entity KG.

Items 0..2, entities 3 (director "Ann"), 4 (genre "Drama"), 5 (studio "Acme").
Triples: 0 -directed_by-> 3, 1 -directed_by-> 3, 1 -genre-> 4, 2 -genre-> 4, 4 -made_by-> 5.
"""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from core.eval.metrics import mean_jaccard
from core.graph import kg_neighbourhood, relation_stats, resolve_entity


class _Ids:
    def __init__(self, raw):
        self.raw = list(raw)

    def get(self, r):
        return self.raw.index(r) if r in self.raw else None


def _ds():
    kg = pd.DataFrame(
        [[0, 0, 3], [1, 0, 3], [1, 1, 4], [2, 1, 4], [4, 2, 5]],
        columns=["head", "relation", "tail"],
    )
    return SimpleNamespace(
        kg=kg,
        n_items=3,
        relation_names=("directed_by", "genre", "made_by"),
        entity_names=("Alien", "Brazil", "Cube", "Ann", "Drama", "Acme"),
        entity_ids=_Ids(["i0", "i1", "i2", "e3", "e4", "e5"]),
    )


def test_one_hop_is_the_direct_neighbours_with_their_triples():
    sub = kg_neighbourhood(_ds(), 1, hops=1)
    assert set(sub.nodes) == {"i:1", "e:3", "e:4"}
    assert sub.node_kinds["i:1"] == "target" and sub.node_kinds["e:3"] == "entity"
    assert {(e.src, e.relation, e.dst) for e in sub.edges} == {
        ("i:1", "directed_by", "e:3"),
        ("i:1", "genre", "e:4"),
    }


def test_two_hops_relation_filter_and_bound():
    ds = _ds()
    assert set(kg_neighbourhood(ds, 1, hops=2).nodes) == {f"i:{i}" for i in range(3)} | {
        "e:3",
        "e:4",
        "e:5",
    }
    only_genre = kg_neighbourhood(ds, 1, hops=2, relations=("genre",))
    assert set(only_genre.nodes) == {"i:1", "e:4", "i:2"}
    small = kg_neighbourhood(ds, 1, hops=3, max_nodes=3)
    assert len(small.nodes) == 3 and "i:1" in small.nodes  # nearest first, center kept
    assert all(e.src in small.nodes and e.dst in small.nodes for e in small.edges)


def test_resolve_entity_by_raw_id_then_name():
    ds = _ds()
    assert resolve_entity(ds, "e4") == 4
    assert resolve_entity(ds, " drama ") == 4
    assert resolve_entity(ds, "zzz") is None and resolve_entity(ds, "  ") is None


def test_relation_stats():
    frame = relation_stats(_ds())
    assert frame["relation"].tolist()[:2] in (["directed_by", "genre"], ["genre", "directed_by"])
    row = frame.set_index("relation").loc["directed_by"]
    assert (row["triples"], row["heads"], row["tails"]) == (2, 2, 1)
    assert row["tails per head"] == 1.0
    assert row["in words"] == "directed by"  # as the graph's edge labels read it


def test_mean_jaccard_by_hand():
    a = [[1, 2], [3, 4]]
    b = [[2, 1], [3, 5]]  # 1.0 and 1/3
    assert mean_jaccard(a, b) == 2 / 3
    assert mean_jaccard([[]], [[]]) == 0.0
