"""KG-path explainer on the tiny hand-built graph (tests/explain/conftest.py)."""

from __future__ import annotations

import numpy as np
import pytest

from core.explain import api
from core.explain.base import Explanation
from core.explain.context import ExplainContext
from core.explain.kg_paths import enumerate_paths, join
from tests.explain.conftest import HOSTILE, RandomKGAT, assert_edges_exist


def test_join_returns_all_equal_pairs():
    ia, ib = join(np.array([3, 1, 3]), np.array([3, 2, 3, 1]))
    pairs = sorted(zip(ia.tolist(), ib.tolist(), strict=True))
    assert pairs == [(0, 0), (0, 2), (1, 3), (2, 0), (2, 2)]


def test_the_only_path_is_found(kgat_ctx):
    expl = api.explain(kgat_ctx, user=0, item=3, method="paths")
    assert isinstance(expl, Explanation)
    assert len(expl.paths) == 1
    path = expl.paths[0]
    assert path.nodes == ("u:0", "i:2", "e:6", "i:3")
    assert [e.relation for e in path.edges] == ["interacted", "genre", "~genre"]
    assert path.kind == "user-item-entity-item"


def test_paths_of_both_shapes_exist_and_score_by_attention_product(kgat_ctx):
    expl = api.explain(kgat_ctx, user=0, item=1, method="paths")
    kinds = {p.kind: p for p in expl.paths}
    assert set(kinds) == {"user-item-entity-item", "user-item-user-item"}
    kg, collab = kinds["user-item-entity-item"], kinds["user-item-user-item"]
    assert kg.nodes == ("u:0", "i:0", "e:5", "i:1")
    assert collab.nodes == ("u:0", "i:0", "u:1", "i:1")
    # product of reverse-edge attention: (1/2) * 1 * 1 and (1/2) * (1/3) * (1/2)
    assert kg.score == pytest.approx(0.5)
    assert collab.score == pytest.approx(1 / 12)
    assert expl.paths[0] == kg
    assert expl.top_entities(1) == ["e:5"]
    for p in expl.paths:
        assert_edges_exist(kgat_ctx, p.edges)
    assert_edges_exist(kgat_ctx, expl.subgraph.edges)


def test_mean_and_min_aggregations(kgat_ctx):
    scores = {}
    for how in ("mean", "min"):
        expl = api.explain(kgat_ctx, 0, 1, "paths", aggregation=how)
        scores[how] = {p.kind: p.score for p in expl.paths}
    assert scores["mean"]["user-item-user-item"] == pytest.approx((1 / 2 + 1 / 3 + 1 / 2) / 3)
    assert scores["min"]["user-item-entity-item"] == pytest.approx(0.5)


def test_embedding_scoring_without_attention(toy_ctx):
    expl = api.explain(toy_ctx, 0, 3, "paths")
    assert expl.extra["scoring"] == "embedding"
    (path,) = expl.paths
    assert path.nodes == ("u:0", "i:2", "e:6", "i:3")
    assert 0 < path.score <= 1


def test_subgraph_is_bounded_and_contains_user_and_target(kgat_ctx):
    expl = api.explain(kgat_ctx, 0, 1, "paths", max_nodes=4)
    sub = expl.subgraph
    assert len(sub.nodes) <= 4
    assert sub.node_kinds["i:1"] == "target" and sub.node_kinds["u:0"] == "user"
    node_ids = set(sub.nodes)
    assert all(e.src in node_ids and e.dst in node_ids for e in sub.edges)


def test_hostile_entity_name_passes_through_unescaped(kgat_ctx):
    expl = api.explain(kgat_ctx, 0, 3, "paths")
    assert expl.subgraph.nodes["e:6"] == HOSTILE
    assert HOSTILE in expl.sentence


def test_random_graph_every_returned_edge_is_real():
    """A random CKG: every path edge and subgraph edge exists; subgraph <= 60 nodes."""
    from core.models.base import ModelInputs

    rng = np.random.default_rng(0)
    n_users, n_items, n_ent = 30, 40, 60
    train = np.stack([rng.integers(0, n_users, 400), rng.integers(0, n_items, 400)], 1)
    heads, rels = rng.integers(0, n_items, 150), rng.integers(0, 3, 150)
    kg = np.stack([heads, rels, rng.integers(0, n_ent, 150)], 1)
    inputs = ModelInputs(n_users, n_items, n_ent, 3, train, kg, ("a", "b", "c"))
    ctx = ExplainContext.build(RandomKGAT(inputs), inputs)
    for user in range(5):
        for expl in api.explain_top_k(ctx, user, 5, "paths"):
            assert expl.paths, "a dense random graph always has some path"
            for p in expl.paths:
                assert p.nodes[0] == f"u:{user}" and p.nodes[-1] == f"i:{expl.item}"
                assert_edges_exist(ctx, p.edges)
            assert len(expl.subgraph.nodes) <= 60
            n_paths = sum(len(s.eids) for s in enumerate_paths(ctx, user, expl.item))
            assert n_paths == expl.extra["n_paths"]


def _clustered_ctx(name: str) -> ExplainContext:
    """30 users who each like one of 4 item clusters (a genre entity per cluster), plus noise;
    a TransE / TransR trained briefly. Large enough that the user's re-fit objective has more
    (history, negative) pairs than embedding dimensions, as on real data."""
    import torch

    from core.models.base import ModelInputs
    from core.models.registry import build_model
    from tests.models.tiny import run_steps

    rng = np.random.default_rng(0)
    n_users, n_items = 30, 80
    cluster, taste = rng.integers(0, 4, n_items), rng.integers(0, 4, n_users)
    rows = []
    for u in range(n_users):
        liked = rng.choice(np.nonzero(cluster == taste[u])[0], 8, replace=False)
        rows += [(u, i) for i in np.unique(np.r_[liked, rng.choice(n_items, 4, replace=False)])]
    kg = [(i, 0, n_items + cluster[i]) for i in range(n_items)]
    kg += [(i, 1, n_items + 4 + rng.integers(0, 16)) for i in range(n_items)]
    inputs = ModelInputs(
        n_users, n_items, n_items + 20, 2, np.array(rows), np.array(kg), ("genre", "director")
    )
    over = {"dim": 16, "kg_lr": 0.01, **({"relation_dim": 16} if name != "transe" else {})}
    if name == "kgat":  # the bundled sample's light layers (issue 14's default), two of 16.
        # The library default since issue 25 (one bi-interaction layer) ranks less like the
        # refit on this toy: mean rank correlation 0.38 (two such layers: 0.50).
        over.update(layer_dims=(16, 16), aggregator="light", combine="mean", normalize=False)
    torch.manual_seed(0)
    model = build_model(name, inputs, over)
    run_steps(model, inputs, 200, lr=0.02)
    model.eval()
    model.prepare_inference()
    return ExplainContext.build(model, inputs)


def _rank_corr(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman correlation (no ties expected in float scores)."""
    return float(np.corrcoef(np.argsort(np.argsort(a)), np.argsort(np.argsort(b)))[0, 1])


@pytest.mark.parametrize("name", ["transe", "transr", "kgat"])
def test_paths_rank_history_items_like_the_refit(name):
    """The history items a TransE / TransR / KGAT path explanation ranks first are the ones
    whose removal lowers the re-fitted score most (the deletion curve's "without these items").
    The old weights ranked them no better than chance or against it: TransE / TransR's
    embedding cosines (sample: Spearman -0.2), KGAT's attention products (ml-100k: deletion
    ratio@3 1.2-1.7, where KGAT's edge attribution gives 6-8)."""
    ctx = _clustered_ctx(name)
    corr, named = [], []
    for user in range(6):
        hist = ctx.history(user)
        scores = ctx.scores_with_histories(user, [hist[hist != h] for h in hist] + [hist])
        for item in ctx.top_k(user, 3):
            expl = api.explain(ctx, user, int(item), "paths")
            w = {c.id: c.weight for c in expl.contributions if c.kind == "history_item"}
            actual = scores[-1, item] - scores[:-1, item]
            corr.append(_rank_corr(np.array([w.get(f"i:{h}", -np.inf) for h in hist]), actual))
            named.append(set(w) == {f"i:{h}" for h in hist})
    assert np.mean(corr) > 0.5, corr
    assert all(named)  # every history item is ranked, with or without a path to the item
    assert expl.extra["scoring"] == ("attribution" if name == "kgat" else "influence")


def test_influence_paths_share_their_history_items_influence():
    """Honest scores: the paths through a history item split its positive influence (score
    units) in proportion to their plausibility, so the shares shown add up to 1 over all
    paths and a history item's paths add up to its influence."""
    from core.explain.kg_paths import influence_scored

    ctx = _clustered_ctx("transe")
    user = 0
    item = int(ctx.top_k(user, 1)[0])
    expl = api.explain(ctx, user, item, "paths")
    infl = {c.id: c.weight for c in expl.contributions if c.kind == "history_item"}
    scored = influence_scored(
        ctx,
        enumerate_paths(ctx, user, item),
        ctx.history(user),
        np.array([infl[f"i:{h}"] for h in ctx.history(user)]),
    )
    heads = np.concatenate([ctx.ckg.dst[s.eids[:, 0]] for s in scored])
    scores = np.concatenate([s.scores for s in scored])
    assert len(scores) and (scores > 0).all()
    for h in np.unique(heads):
        assert scores[heads == h].sum() == pytest.approx(infl[f"i:{h}"])
    assert expl.extra["path_total"] == pytest.approx(scores.sum())
    assert sum(expl.share_of_score(p) for p in expl.paths) <= 1 + 1e-9
    for p in expl.paths:
        assert p.edges[0].weight == pytest.approx(infl[p.nodes[1]])  # user -> history item
        assert all(0 <= e.weight <= 1 for e in p.edges[1:])  # KG / co-user plausibility
        assert_edges_exist(ctx, p.edges)


def test_dashboard_path_shares_follow_the_influence_scoring():
    """The dashboard's path shares divide by the explainer's own total: re-scoring the paths
    with the embedding weights (the old `present.path_shares`) gave shares of another scale."""
    from core.explain import present

    ctx = _clustered_ctx("transr")
    for user in range(3):
        for item in ctx.top_k(user, 3):
            expl = api.explain(ctx, user, int(item), "paths")
            shares = present.path_shares(ctx, expl)
            assert shares == pytest.approx([expl.share_of_score(p) for p in expl.paths])
            assert all(0 < x <= 1 for x in shares) and sum(shares) <= 1 + 1e-9
