"""Black-box top-k lists: a reader that refuses bad rows by file and line, agreement figures
computed by hand, and a surrogate that reproduces lists on users it never saw."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.cli.main import main
from core.data import DataError, load_dataset
from core.data.toplists import read_lists
from core.eval.agreement import agreement, spearman
from core.explain.context import ExplainContext
from core.models.base import ModelInputs
from core.models.registry import build_model
from core.store.imported import _split, import_lists
from core.store.origin import origin_of
from core.train.surrogate import SurrogateConfig, cut_users
from tests.train.fixture import tiny_dataset


@pytest.fixture(scope="module")
def ds():
    return tiny_dataset()


def _write(path, rows, header="user,item,rank,score"):
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def test_lists_read_sorted_by_user_and_rank(tmp_path, ds):
    path = _write(tmp_path / "l.csv", ["u1,i3,2,0.5", "u0,i7,1,0.9", "u1,i4,1,0.8"])
    lists = read_lists(path, ds)
    assert lists.users.tolist() == [0, 1, 1]
    assert lists.ranked(1).tolist() == [4, 3]
    assert lists.pairs(k=1).tolist() == [[0, 7], [1, 4]]
    assert lists.scores.tolist() == [0.9, 0.8, 0.5]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["u0,i1,1,1", "ghost,i2,1,1"], r"line 3, column 'user': user id 'ghost' is not in"),
        (["u0,i1,1,1", "u0,i99,2,1"], r"line 3, column 'item': item id 'i99' is not in"),
        (["u0,i1,0,1"], r"line 2, column 'rank': rank '0': expected a positive whole number"),
        (["u0,i1,1.5,1"], r"line 2, column 'rank': rank '1.5'"),
        (
            ["u0,i1,1,1", "u0,i1,2,1"],
            r"line 3: item 'i1' listed twice for user 'u0' \(also at line 2\)",
        ),
        (
            ["u0,i1,1,1", "u0,i2,1,1"],
            r"line 3: two items at rank 1 for user 'u0' \(also at line 2\)",
        ),
        (["u0,i1,1,nan"], r"line 2, column 'score': score 'nan': expected a finite number"),
    ],
)
def test_bad_rows_are_refused_by_file_line_and_field(tmp_path, ds, rows, message):
    with pytest.raises(DataError, match=r"l\.csv, " + message):
        read_lists(_write(tmp_path / "l.csv", rows), ds)


def test_a_missing_column_is_refused_naming_the_expected_ones(tmp_path, ds):
    with pytest.raises(DataError, match="missing column.*rank; expected user,item,rank"):
        read_lists(_write(tmp_path / "l.csv", ["u0,i1"], header="user,item"), ds)


def test_spearman_by_hand():
    assert spearman(np.array([3.0, 2, 1]), np.array([30.0, 20, 10])) == pytest.approx(1.0)
    assert spearman(np.array([3.0, 2, 1]), np.array([10.0, 20, 30])) == pytest.approx(-1.0)
    # ranks (1,2,3,4) vs (1,3,2,4): d^2 = 2, rho = 1 - 6*2 / (4*15) = 0.8
    assert spearman(np.array([4.0, 3, 2, 1]), np.array([4.0, 2, 3, 1])) == pytest.approx(0.8)


def test_agreement_by_hand(tmp_path, ds):
    inputs = ModelInputs.from_dataset(ds, _split(ds))
    model = build_model("embeddings", inputs, {"dim": 1})
    # every user scores item i as i: top items are the highest unseen ids
    model.set_tables(np.ones((ds.n_users, 1)), np.arange(ds.n_items, dtype=float)[:, None])
    train = np.asarray(inputs.train)
    seen = set(train[train[:, 0] == 0, 1].tolist())
    best = [i for i in range(ds.n_items - 1, -1, -1) if i not in seen]
    # the list shares 2 of the model's top 3, in reverse order, plus one item it ranks lower
    listed = [best[1], best[0], best[5]]
    rows = [f"u0,i{i},{r + 1}" for r, i in enumerate(listed)]
    lists = read_lists(_write(tmp_path / "l.csv", rows, header="user,item,rank"), ds)
    got = agreement(model, lists, np.array([0]), train, k=3)
    assert got.overlap == pytest.approx(2 / 3)
    # list order (1,2,3) vs the model's (2,1,3): d^2 = 2, rho = 1 - 12 / 24 = 0.5
    assert got.rank_corr == pytest.approx(0.5) and got.n_users == 1


def test_users_are_cut_into_three_disjoint_seeded_parts():
    parts = cut_users(np.arange(100), (0.1, 0.2), seed=3)
    assert [len(parts[p]) for p in ("fit", "valid", "test")] == [70, 10, 20]
    assert sorted(np.concatenate(list(parts.values())).tolist()) == list(range(100))
    again = cut_users(np.arange(100), (0.1, 0.2), seed=3)
    assert all(np.array_equal(parts[p], again[p]) for p in parts)


@pytest.fixture(scope="module")
def sample():
    return load_dataset("sample")


def _teacher_lists(ds, path, k=20):
    """Lists of an item-to-item black box (cosine ItemKNN): score(u, i) = sum over u's history
    h of cooc(h, i) / sqrt(pop(h) pop(i)), the history masked."""
    split = _split(ds)
    m = np.zeros((ds.n_users, ds.n_items))
    m[split.train[:, 0], split.train[:, 1]] = 1
    pop = m.sum(0)
    cooc = m.T @ m
    np.fill_diagonal(cooc, 0)
    scores = m @ (cooc / np.sqrt(np.outer(pop, pop) + 1e-9))
    scores[m > 0] = -np.inf
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    rows = [
        (ds.user_ids.to_raw(u), ds.item_ids.to_raw(i), r + 1)
        for u in range(ds.n_users)
        for r, i in enumerate(top[u])
    ]
    pd.DataFrame(rows, columns=["user", "item", "rank"]).to_csv(path, index=False)
    return path


def test_a_surrogate_reproduces_lists_on_held_out_users(tmp_path, sample):
    path = _teacher_lists(sample, tmp_path / "lists.csv")
    cfg = SurrogateConfig(epochs=12, patience=4)
    trained = import_lists(sample, path, config=cfg, out=tmp_path / "sur")
    measured = trained.meta["origin"]["measured"]
    # what popularity alone gets on the same held-out users (0.29): the surrogate must do
    # clearly better on users whose lists it never saw
    inputs = ModelInputs.from_dataset(sample, _split(sample))
    pop = build_model("mostpop", inputs)
    users = cut_users(read_lists(path, sample).listed_users, cfg.holdout, cfg.seed)["test"]
    base = agreement(pop, read_lists(path, sample), users, np.asarray(inputs.train)).overlap
    assert measured["agreement@10"] > base + 0.1, (measured, base)
    assert measured["heldout_users"] == len(users)
    origin = origin_of(trained.meta)
    assert origin.kind == "surrogate" and origin.summary.startswith("surrogate of lists, ")


@pytest.mark.parametrize("surrogate", ["lightgcn", "kgat"])
def test_cli_imports_lists_and_the_artifact_explains(tmp_path, sample, capsys, surrogate):
    path = _teacher_lists(sample, tmp_path / "lists.csv")
    out = tmp_path / "art"
    argv = ["import", "lists", str(path), "--dataset", "sample", "--out", str(out)]
    assert main([*argv, "--epochs", "1", "--surrogate", surrogate]) == 0
    text = capsys.readouterr().out
    assert f"{surrogate} surrogate agrees" in text and "held-out users" in text
    ctx = ExplainContext.from_artifact(out)
    assert origin_of(ctx.artifact.meta).kind == "surrogate"
    assert main(["explain", str(out), "--user", "u0001", "-k", "1"]) == 0
    assert "surrogate" in capsys.readouterr().out


def test_a_lists_file_with_an_unknown_user_fails_the_command_cleanly(tmp_path, capsys):
    path = _write(tmp_path / "l.csv", ["nobody,m0001,1,1"])
    argv = ["import", "lists", str(path), "--dataset", "sample", "--out", str(tmp_path / "a")]
    assert main(argv) == 2
    assert "user id 'nobody' is not in the dataset" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()


def test_lists_of_too_few_users_are_refused_before_fitting(tmp_path, ds):
    rows = [f"u{u},i{i},{i + 1}" for u in range(4) for i in range(5)]
    path = _write(tmp_path / "l.csv", rows, header="user,item,rank")
    with pytest.raises(
        DataError, match=r"l\.csv: lists for 4 users; a surrogate needs at least 10"
    ):
        import_lists(ds, path)
