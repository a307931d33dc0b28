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
