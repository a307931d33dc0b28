"""MostPop and BPR-MF against the Recommender contract, on the hand-made tiny inputs."""

import pytest
import torch

from core.models.refit import RefitConfig
from core.models.registry import MODELS, UnknownModelError, build_model, make_config, parse_override
from tests.models.tiny import run_steps, seen_items, tiny_inputs


def test_registry_lists_baselines_and_rejects_unknown_names():
    assert {"mostpop", "bprmf"} <= set(MODELS)
    with pytest.raises(UnknownModelError, match="known models: .*bprmf.*mostpop"):
        build_model("nosuch", tiny_inputs(), {})
    with pytest.raises(UnknownModelError, match="its settings are: .*dim"):
        make_config("bprmf", {"dimension": 3})
    assert parse_override("bprmf", "dim", "12") == 12
    assert parse_override("bprmf", "reg", "1e-3") == pytest.approx(1e-3)


def test_mostpop_scores_are_training_popularity():
    model = build_model("mostpop", tiny_inputs(), {})
    # distinct training users per item, counted by hand from tests/models/tiny.py TRAIN
    assert model.popularity.tolist() == [2, 2, 3, 2, 2, 2, 2, 2]
    assert not model.is_trainable
    scores = model.score(torch.tensor([0, 3]))
    assert scores.shape == (2, 8) and torch.equal(scores[0], scores[1])
    _, items = model.recommend(torch.tensor([0]), 3, seen_items(tiny_inputs())[:1])
    assert set(items[0].tolist()).isdisjoint({0, 1, 2})


def test_mostpop_history_does_not_matter():
    model = build_model("mostpop", tiny_inputs(), {})
    items = torch.tensor([2, 5])
    full = model.score_with_history(0, torch.tensor([0, 1, 2]), items)
    none = model.score_with_history(0, torch.tensor([], dtype=torch.long), items)
    assert torch.equal(full, none) and full.tolist() == [3.0, 2.0]


def test_bprmf_trains_and_score_pairs_matches_score():
    inputs = tiny_inputs()
    torch.manual_seed(0)
    model = build_model("bprmf", inputs, {"dim": 8, "sparse_grad": False})  # run_steps: plain Adam
    losses = run_steps(model, inputs, steps=30)
    assert losses[-1] < losses[0] * 0.7
    users, items = torch.tensor([0, 1, 5]), torch.tensor([3, 7, 0])
    with torch.no_grad():
        pairs = model.score_pairs(users, items)
        full = model.score(users)
    assert torch.allclose(pairs, full[torch.arange(3), items], atol=1e-6)


def test_bprmf_refit_is_deterministic_history_dependent_and_pure():
    inputs = tiny_inputs()
    torch.manual_seed(0)
    model = build_model(
        "bprmf", inputs, {"dim": 8, "sparse_grad": False, "init_std": 0.1}
    )  # run_steps: plain Adam
    run_steps(model, inputs, steps=60)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    all_items = torch.arange(8)
    histories = [torch.tensor([4, 5]), torch.tensor([4])]  # user 2's history, then without 5
    a = model.refit_histories(2, histories, all_items, RefitConfig())
    b = model.refit_histories(2, histories, all_items, RefitConfig())
    assert torch.equal(a.scores, b.scores)
    assert not torch.allclose(a.scores[0], a.scores[1])  # the re-fit reads the history
    # item 5 loses more than the items unrelated to the edit when it leaves the history
    drop = a.scores[0] - a.scores[1]
    assert drop[5] > drop[[0, 1, 2, 3, 6, 7]].max()
    # inference-only re-scoring keeps the learned vector: history does not matter
    inference = model.score_with_history(2, torch.tensor([4]), all_items)
    torch.testing.assert_close(inference, model.score(torch.tensor([2]))[0])
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_bprmf_closed_form_loss_matches_autograd_through_the_lookups():
    """The hand-written gradient (`_BPRLoss`) equals autograd's, rows drawn twice included."""
    import torch.nn.functional as F

    inputs = tiny_inputs()
    model = build_model("bprmf", inputs, {"init_std": 0.3, "reg": 0.05}, torch.device("cpu"))
    users = torch.tensor([0, 1, 1, 3, 0])
    pos, neg = torch.tensor([2, 4, 4, 0, 2]), torch.tensor([5, 2, 3, 2, 1])
    fast = model.loss(users, pos, neg)
    fast.backward()
    grads = [model.user_emb.weight.grad.clone(), model.item_emb.weight.grad.clone()]
    model.zero_grad()
    u, p, n = model.user_emb(users), model.item_emb(pos), model.item_emb(neg)
    l2 = (u.pow(2).sum() + p.pow(2).sum() + n.pow(2).sum()) / 2 / len(users)
    slow = F.softplus(-((u * p).sum(1) - (u * n).sum(1))).mean() + 0.05 * l2
    slow.backward()
    torch.testing.assert_close(fast, slow)
    torch.testing.assert_close(grads[0], model.user_emb.weight.grad)
    torch.testing.assert_close(grads[1], model.item_emb.weight.grad)
    assert grads[1][2].abs().sum() > 0  # item 2 is a positive twice and a negative twice
