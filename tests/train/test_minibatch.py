"""Mini-batch training on sampled blocks: exact with full neighbourhoods, bounded with a fanout."""

from __future__ import annotations

import dgl
import pytest
import torch

from core.models.kgat import KGAT, KGATConfig
from core.models.lightgcn import LightGCN, LightGCNConfig
from core.train.minibatch import GeneratorNeighborSampler, KGATBlocks, LightGCNBlocks, MiniBatch
from tests.models.tiny import bpr_batch, tiny_inputs
from tests.train.fixture import tiny_dataset


def _lightgcn(n_layers: int = 3) -> LightGCN:
    torch.manual_seed(0)
    return LightGCN.build(tiny_inputs(), LightGCNConfig(dim=8, n_layers=n_layers), "cpu")


def _kgat() -> KGAT:
    torch.manual_seed(0)
    model = KGAT.build(
        tiny_inputs(),
        KGATConfig(
            dim=8,
            relation_dim=4,
            layer_dims=(8, 4),
            aggregator="bi-interaction",
            combine="concat",
            normalize=True,
        ),
        "cpu",
    )
    for p in model.parameters():  # a non-uniform attention, so renormalising would show
        p.data.add_(0.3 * torch.randn_like(p))
    model.refresh_attention()
    return model


def test_lightgcn_blocks_with_full_neighbourhoods_equal_the_full_graph_forward():
    model = _lightgcn()
    blocks = LightGCNBlocks(model, (-1, -1, -1), torch.Generator().manual_seed(0))
    nodes = torch.tensor([0, 5, 3, 6, 13, 9, 0])  # users and items, with a repeat
    full = model.propagate()[nodes]
    torch.testing.assert_close(blocks.final_rows(nodes), full, atol=1e-5, rtol=1e-5)
    users, pos, neg = bpr_batch(tiny_inputs(), torch.Generator().manual_seed(1))
    torch.testing.assert_close(
        blocks.loss(users, pos, neg), model.loss(users, pos, neg), atol=1e-5, rtol=1e-5
    )


def test_lightgcn_block_gradient_equals_the_full_graph_gradient():
    users, pos, neg = bpr_batch(tiny_inputs(), torch.Generator().manual_seed(1))
    model = _lightgcn()
    model.loss(users, pos, neg).backward()
    full = model.embedding.weight.grad.clone()
    model.embedding.weight.grad = None
    LightGCNBlocks(model, (-1,) * 3, torch.Generator()).loss(users, pos, neg).backward()
    torch.testing.assert_close(model.embedding.weight.grad, full, atol=1e-6, rtol=1e-5)


def test_kgat_blocks_with_full_neighbourhoods_equal_the_full_graph_forward():
    model = _kgat().eval()
    blocks = KGATBlocks(model, (-1, -1), torch.Generator().manual_seed(0))
    nodes = torch.tensor([12, 0, 7, 17, 9, 3, 12])  # users (>= 12), items, an entity
    full = torch.cat(model.layer_embeddings(), 1)[nodes]
    torch.testing.assert_close(blocks.final_rows(nodes, False), full, atol=1e-5, rtol=1e-5)
    users, pos, neg = bpr_batch(tiny_inputs(), torch.Generator().manual_seed(1))
    torch.testing.assert_close(
        blocks.loss(users, pos, neg), model.loss(users, pos, neg), atol=1e-5, rtol=1e-5
    )


def test_sampler_takes_at_most_fanout_in_edges_and_only_existing_edges():
    g = _lightgcn().graph
    seeds = torch.tensor([0, 5, 6, 9])
    sampler = GeneratorNeighborSampler((1, 2), torch.Generator().manual_seed(3))
    _, _, blocks = sampler.sample_blocks(g, seeds)
    last = blocks[-1]
    assert torch.equal(last.dstdata[dgl.NID], seeds)
    degree = g.in_degrees(seeds)
    assert (last.in_degrees() <= torch.clamp(degree, max=2)).all()
    assert (last.in_degrees() >= torch.clamp(degree, max=1)).all()  # a busy node keeps one
    assert torch.equal(last.in_degrees()[degree <= 2], degree[degree <= 2])  # all of few
    for block in blocks:
        src, dst = block.edges()
        eids = block.edata["parent_eid"]
        psrc, pdst = g.find_edges(eids)
        assert torch.equal(block.srcdata[dgl.NID][src], psrc)
        assert torch.equal(block.dstdata[dgl.NID][dst], pdst)
    assert blocks[0].in_degrees().max() <= 1


def test_sampling_is_seeded_by_the_generator():
    g = _lightgcn().graph
    seeds = torch.arange(14)

    def eids(seed):
        sampler = GeneratorNeighborSampler((1,), torch.Generator().manual_seed(seed))
        return sampler.sample_blocks(g, seeds)[2][0].edata["parent_eid"]

    assert torch.equal(eids(1), eids(1))
    assert any(not torch.equal(eids(1), eids(s)) for s in range(2, 6))


@pytest.mark.parametrize("model_name", ["lightgcn", "kgat"])
def test_train_model_with_a_sampled_minibatch_learns_and_saves_a_loadable_artifact(
    tmp_path, model_name
):
    from core.store import load_artifact
    from core.store.training import train_model
    from core.train import TrainConfig

    ds = tiny_dataset()
    cfg = TrainConfig(epochs=3, batch_size=64, patience=0, eval_every=3, device="cpu")
    strategy = MiniBatch(fanouts=(3,))
    trained = train_model(
        ds, model_name, train_config=cfg, out_dir=tmp_path / "a", strategy=strategy
    )
    losses = [h["loss"] for h in trained.result.history]
    assert losses[-1] < losses[0]
    assert trained.meta["strategy"] == {"kind": "minibatch", "fanouts": [3], "seed": 2020}
    loaded = load_artifact(tmp_path / "a", ds)
    assert type(loaded.model) is type(trained.model)
    users = torch.arange(5)
    torch.testing.assert_close(loaded.model.score(users), trained.model.score(users))


def test_minibatch_refuses_models_without_a_block_forward():
    with pytest.raises(ValueError, match="bprmf"):
        from core.models.registry import build_model

        model = build_model("bprmf", tiny_inputs(), {}, torch.device("cpu"))
        MiniBatch()(model, tiny_inputs())


def test_cli_refuses_bad_fanouts_and_models_without_blocks(tmp_path, capsys):
    from core.cli.main import main
    from core.data.sample import SampleConfig, write_sample

    write_sample(tmp_path, SampleConfig(n_users=40, n_items=200, n_directors=20, n_actors=80))
    args = ["train", str(tmp_path), "--epochs", "1", "--no-progress", "--out", str(tmp_path / "a")]
    assert main([*args, "--model", "lightgcn", "--fanouts", "0"]) == 2
    assert "--fanouts" in capsys.readouterr().err
    assert main([*args, "--model", "bprmf", "--minibatch"]) == 2
    assert "supports lightgcn and kgat, not 'bprmf'" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()
