"""Population figures (core.population) on a hand-built export whose answers are worked out
below, the `population` command, and a smoke run over exports of every bundled model."""

from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core import export
from core.cli.main import main
from core.population import queries
from core.population.report import check_fresh, freshness, open_population, population
from core.population.schema import META_KEY, ExportError, row_schema, top_fields

ROOT = Path(__file__).resolve().parents[1]
FIDELITY = ["deletion_auc", "drop@1", "random_drop@1", "drop@3", "random_drop@3"]
FIDELITY += ["drop@5", "random_drop@5"]


def _path(user: str, hops: list[tuple[str, str, str]], kind: str) -> dict:
    names = [user] + [f"name of {t}" for _, _, t in hops]
    hops = [{"head": h, "relation": r, "tail": t} for h, r, t in hops]
    return {"kind": kind, "score": 1.0, "hops": hops, "names": names}


def _kg(user: str, hist: str, rel: str, entity: str, item: str) -> dict:
    return _path(
        user,
        [(user, "interacted", hist), (hist, rel, entity), (entity, "~" + rel, item)],
        "user-item-entity-item",
    )


def _row(user: str, rank: int, item: str, paths: list, hist: str, drop5: float | None) -> dict:
    contrib = [{"kind": "history_item", "id": hist, "name": f"name of {hist}", "weight": 0.5}]
    row = {
        "user": user, "user_index": 0 if user == "a" else 1, "method": "paths",
        "model": "kgat", "rank": rank, "item": item, "item_index": 0, "title": f"title {item}",
        "score": 1.0, "sentence": "s", "contributions": contrib, "paths": paths,
        "counterfactual": None, "fidelity_sampled": drop5 is not None,
    }  # fmt: skip
    row.update(top_fields(paths, contrib))
    for c in FIDELITY:
        row[c] = float("nan")
    if drop5 is not None:
        row.update({"drop@5": drop5, "drop@3": drop5, "random_drop@3": 1.0})
    return row


ROWS = [
    # user a: driver dir:X twice, g:Y once; relations directed_by x2, genre; sampled
    _row("a", 1, "i1", [_kg("a", "h1", "directed_by", "dir:X", "i1")], "h1", 0.0),
    _row("a", 2, "i2", [_kg("a", "h2", "directed_by", "dir:X", "i2")], "h2", 2.0),
    _row("a", 3, "i3", [_kg("a", "h1", "genre", "g:Y", "i3")], "h1", 0.0),
    # user b: a co-interaction path, no path at all, and dir:X; not sampled
    _row(
        "b",
        1,
        "i1",
        [
            _path(
                "b",
                [("b", "interacted", "h3"), ("h3", "~interacted", "c"), ("c", "interacted", "i1")],
                "user-item-user-item",
            )
        ],
        "h3",
        None,
    ),  # fmt: skip
    _row("b", 2, "i4", [], "h4", None),
    _row("b", 3, "i2", [_kg("b", "h3", "directed_by", "dir:X", "i2")], "h3", None),
]


def write_hand_export(out: Path, rows=ROWS, digest: str = "d1") -> Path:
    out.mkdir(parents=True, exist_ok=True)
    config = {"k": 3, "ms": [1, 3, 5], "shard_size": 10}
    meta = {"format": 2, "model": "kgat", "source": {"weights": digest}, "methods": ["paths"]}
    meta["config"] = config
    sch = row_schema(FIDELITY).with_metadata({META_KEY: json.dumps(meta).encode()})
    pq.write_table(pa.Table.from_pylist(rows, schema=sch), out / "shard-00000.parquet")
    plan = {**meta, "users": [0, 1], "fidelity_users": [0]}
    (out / "plan.json").write_text(json.dumps(plan))
    manifest = {"format": 2, "shards": 1, "rows": len(rows), "complete": True, "model": "kgat"}
    manifest.update(source=meta["source"], finished="2026-12-07T10:00:00Z", k=3)
    (out / "manifest.json").write_text(json.dumps(manifest))
    items = pd.DataFrame(
        {"item": ["i1", "i2", "i3", "i4"], "popularity": [40, 10, 5, 1],
         "pop_quartile": [4, 3, 2, 1], "long_tail": [False, True, True, True]}
    )  # fmt: skip
    users = pd.DataFrame({"user": ["a", "b"], "n_history": [2, 9], "activity_quartile": [1, 4]})
    recency = pd.DataFrame(
        {"user": ["a", "a", "b"], "item": ["h1", "h2", "h3"], "lir": [1.0, 0.0, 0.5]}
    )
    entities = pd.DataFrame(
        {"entity": ["dir:X", "g:Y"], "relation": ["directed_by", "genre"], "degree": [3, 9],
         "sep": [0.25, 1.0]}
    )  # fmt: skip
    for name, frame in dict(items=items, users=users, recency=recency, entities=entities).items():
        frame.to_parquet(out / f"{name}.parquet", index=False)
    return out


@pytest.fixture(scope="module")
def figures(tmp_path_factory) -> dict:
    return population(write_hand_export(tmp_path_factory.mktemp("hand")))


def _by(rows: list[dict], key: str = "value") -> dict:
    return {r[key]: r for r in rows}


def test_shares_per_shape_and_relation(figures):
    assert figures["n_recommendations"] == 6 and figures["n_users"] == 2
    shapes = _by(figures["shapes"])
    assert shapes["user-item-entity-item"]["n"] == 4 and shapes["no path"]["n"] == 1
    assert math.isclose(shapes["user-item-user-item"]["share"], 1 / 6)
    relations = {r["value"]: r["n"] for r in figures["relations"]}
    assert relations == {"directed_by": 3, "genre": 1, "interacted": 1, "(none)": 1}


def test_drivers_bubbles_and_distinct_drivers(figures):
    entities = [(d["id"], d["n"], d["users"]) for d in figures["driver_entities"]]
    assert entities == [("dir:X", 3, 2), ("g:Y", 1, 1)]
    assert figures["driver_entities"][0]["name"] == "name of dir:X"
    items = {d["id"]: d["n"] for d in figures["driver_items"]}
    assert items == {"h1": 2, "h2": 1, "h3": 2, "h4": 1}  # path's first hop, else contribution
    bubble = figures["bubble"]
    # a: dir:X carries 2 of 3; b: three different drivers (h3, h4, dir:X)
    assert math.isclose(bubble["entity_mean"], (2 / 3 + 1 / 3) / 2)
    # a: directed_by 2 of 3; b: interacted 1, directed_by 1, none 1
    assert math.isclose(bubble["relation_mean"], (2 / 3 + 1 / 3) / 2)
    assert {r["value"]: r["users"] for r in bubble["entity"]} == {0.3333: 1, 0.6667: 1}
    assert math.isclose(figures["distinct_drivers"]["mean"], (2 + 3) / 2)


def test_personal_long_tail_and_cohorts(figures):
    pers = figures["personal"]
    assert pers["sampled_users"] == 1 and pers["sampled_recommendations"] == 3
    assert math.isclose(pers["not_personal"], 2 / 3) and pers["not_personal_first"] == 1.0
    assert math.isclose(pers["mean_deletion_ratio"], (2 / 3) / 1.0)
    assert math.isclose(figures["long_tail"], 4 / 6)  # i2, i3, i4, i2 of i1 i2 i3 i1 i4 i2
    act = _by(figures["by_activity"], "quartile")
    assert act[1]["users"] == 1 and math.isclose(act[1]["not_personal"], 2 / 3)
    assert act[4]["not_personal"] is None  # nobody of quartile 4 was in the fidelity sample
    pop = _by(figures["by_popularity"], "quartile")
    assert pop[4]["n"] == 2 and math.isclose(pop[1]["entity_driven"], 0.0)


def test_path_metrics_by_hand(figures):
    pm = figures["path_metrics"]
    # LIR of the linking items: a: h1 1.0, h2 0.0, h1 1.0 -> 2/3; b: h3 0.5 twice -> 0.5
    assert math.isclose(pm["lir"], (2 / 3 + 0.5) / 2)
    # SEP over KG-entity paths: a: 0.25, 0.25, 1.0 -> 0.5; b: dir:X 0.25
    assert math.isclose(pm["sep"], (0.5 + 0.25) / 2)
    # path types in the export: directed_by, genre, interacted (3)
    assert math.isclose(pm["ptd"], (2 / 3 + 2 / 2) / 2)
    assert math.isclose(pm["ptc"], ((1 - 2 / 6) + 1) / 2)
    assert pm["users"] == 2 and pm["paths"] == 5


def test_drill_down_names_example_users(tmp_path):
    ex = open_population(write_hand_export(tmp_path / "e"))
    rows = queries.examples(ex, "driver_entity", "dir:X")
    assert [(r["user"], r["item"], r["rank"]) for r in rows] == [("a", "i1", 1), ("b", "i2", 3)]
    assert [r["user"] for r in queries.examples(ex, "bubble_entity", 0.6667)] == ["a"]
    assert [r["item"] for r in queries.examples(ex, "not_personal", True)] == ["i1"]
    with pytest.raises(ValueError, match="cannot drill"):
        queries.examples(ex, "user; DROP TABLE expl", 1)


def test_freshness_refuses_an_export_of_other_weights(tmp_path):
    out = write_hand_export(tmp_path / "e", digest="0000")
    art = ROOT / "sample_data" / "models" / "kgat"
    assert freshness(out).current is None and not freshness(out).stale
    with pytest.raises(ExportError, match="other weights of kgat"):
        check_fresh(out, art)
    fresh = write_hand_export(tmp_path / "f", digest=export.artifact_digest(art))
    assert not check_fresh(fresh, art).stale


def test_population_command_json_compare_and_refusals(tmp_path, capsys):
    a = write_hand_export(tmp_path / "a")
    assert main(["population", str(a), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_recommendations"] == 6 and out["model"] == "kgat"
    assert main(["population", str(a), "--compare", str(a)]) == 0
    text = capsys.readouterr().out
    assert "| bubble (one driver), mean | 50.0 % | 50.0 % |" in text
    (a / "manifest.json").write_text(json.dumps({"shards": 1}))  # a format-1 manifest
    assert main(["population", str(a)]) == 2
    assert "older RecLens" in capsys.readouterr().err


@pytest.mark.parametrize("model", ["kgat", "lightgcn", "attention", "bprmf", "mostpop"])
def test_every_bundled_model_exports_and_queries(model, tmp_path, capsys):
    out = tmp_path / model
    args = ["explain-all", str(ROOT / "sample_data" / "models" / model), "--out", str(out)]
    args += ["--users", "u0001,u0002,u0003", "-k", "3", "--fidelity-sample", "1"]
    args += ["--random-draws", "1"]
    assert main(args) == 0
    capsys.readouterr()
    figures = population(out)
    assert figures["n_recommendations"] == 9 and figures["n_users"] == 3
    # the flat top_* columns the queries read agree with the nested paths they summarise
    disagree = duckdb.sql(
        f"""SELECT count(*) FROM read_parquet('{out}/shard-*.parquet')
            WHERE top_shape IS DISTINCT FROM coalesce(paths[1].kind, 'no path')
               OR top_shared IS DISTINCT FROM paths[1].hops[-1].head
               OR top_relation IS DISTINCT FROM regexp_replace(paths[1].hops[-1].relation, '^~', '')
               OR (paths[1].hops[1].relation = 'interacted'
                   AND top_history IS DISTINCT FROM paths[1].hops[1].tail)"""
    ).fetchone()[0]
    assert disagree == 0
    assert sum(s["n"] for s in figures["shapes"]) == 9
    assert 1 / 3 <= figures["bubble"]["entity_mean"] <= 1.0
