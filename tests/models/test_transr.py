"""TransE / TransR: recommender smoke tests and KG completion."""

import pytest
import torch

from core.models.transr import TransE, TransEConfig, TransR, TransRConfig
from tests.models.tiny import check_contract, tiny_inputs, trained_scores

CPU = torch.device("cpu")
CASES = [(TransE, TransEConfig(kg_lr=0.01)), (TransR, TransRConfig(kg_lr=0.01, relation_dim=32))]


@pytest.mark.parametrize("cls,config", CASES, ids=["transe", "transr"])
def test_one_epoch_smoke_and_contract(cls, config):
    torch.manual_seed(0)
    check_contract(cls.build(tiny_inputs(), config, CPU), tiny_inputs())


@pytest.mark.parametrize("cls,config", CASES, ids=["transe", "transr"])
def test_deterministic_given_seed(cls, config):
    inputs = tiny_inputs()
    build = lambda: cls.build(inputs, config, CPU)  # noqa: E731
    assert torch.equal(trained_scores(build, inputs), trained_scores(build, inputs))


@pytest.mark.parametrize("cls,config", CASES, ids=["transe", "transr"])
def test_kg_completion_learns_the_tiny_kg(cls, config):
    torch.manual_seed(0)
    model = cls.build(tiny_inputs(), config, CPU)
    generator = torch.Generator().manual_seed(0)
    losses = [model.on_epoch_end(e, generator)["kg_loss"] for e in range(60)]
    assert sum(losses[-10:]) / 10 < 0.5 * losses[0]  # single epochs are noisy (13 triples)
    # item 3's genre is entity 9: it must outrank the other genre entity 8
    h, r = torch.tensor([3, 3]), torch.tensor([0, 0])
    true, false = model.score_triples(h, r, torch.tensor([9, 8]))
    assert true > false
    scores, ids = model.predict_tails(3, 0, k=12)
    assert scores.shape == (12,) and bool((scores[:-1] >= scores[1:]).all())
    assert ids.max() < 12  # entities only, never users


def test_nearest_entities_excludes_itself_and_is_sorted():
    torch.manual_seed(0)
    model = TransE.build(tiny_inputs(), TransEConfig(), CPU)
    sims, ids = model.nearest_entities(4, k=5)
    assert 4 not in ids.tolist() and bool((sims[:-1] >= sims[1:]).all())
    assert model.entity_embeddings().shape == (12, 64)


def test_transe_rejects_a_relation_space_of_another_size():
    from core.models.transr import TranslationalScorer

    with pytest.raises(ValueError):
        TranslationalScorer(3, 8, 4, projection=False)


def _trained(cls, config):
    from tests.models.tiny import run_steps

    torch.manual_seed(0)
    model = cls.build(tiny_inputs(), config, CPU)
    run_steps(model, tiny_inputs(), 40)
    model.eval()
    return model


@pytest.mark.parametrize("cls,config", CASES, ids=["transe", "transr"])
def test_history_influence_is_one_newton_step_of_the_anchored_refit(cls, config):
    """Written out independently with autograd: each column's loss is the re-fit's (mean over
    the column's history of the mean softplus(s_n - s_h) over the other items, removed items
    included, plus the L2 term); dropping h moves the anchored gradient by D_h, one Newton step
    moves e by -H^-1 D_h, and the score of `item` drops by grad s_item . H^-1 D_h."""
    import torch.nn.functional as F

    from core.models.refit import RefitConfig

    # float64 throughout: TransR's relation space (32) is smaller than dim (64), so the
    # Hessian w.r.t. e is singular and its pseudo-inverse needs the precision
    model, user, item = _trained(cls, config).double(), 5, 0
    hist = model._train_items(user)  # items 2, 6, 7, 3
    e0 = model.node.weight[user + model.n_entities].detach()

    def score(e, items):
        return -(model._user_side(e.view(1, -1)) - model._item_side(items)).pow(2).sum(1)

    def loss(e, kept):
        negs = torch.tensor([i for i in range(model.n_items) if i not in kept.tolist()])
        s_pos, s_neg = score(e, kept), score(e, negs)
        pair = F.softplus(s_neg.unsqueeze(0) - s_pos.unsqueeze(1)).mean(1)
        return pair.mean() + model._user_reg(e.view(1, -1))[0]

    def grad(f, e):
        e = e.clone().requires_grad_(True)
        return torch.autograd.grad(f(e), e)[0]

    with torch.enable_grad():
        g_full = grad(lambda e: loss(e, hist), e0)
        edits = torch.stack([grad(lambda e, h=h: loss(e, hist[hist != h]), e0) for h in hist])
        hess = torch.autograd.functional.hessian(lambda e: loss(e, hist), e0)
        g_item = grad(lambda e: score(e, torch.tensor([item]))[0], e0)
    expected = g_item @ torch.linalg.pinv(hess, rtol=1e-9, hermitian=True) @ (edits - g_full).T
    got = model.history_influence(user, item, hist, RefitConfig(anchored=True))
    assert got.shape == (len(hist),)
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-9)
