"""Embedding tables from another system: readers that refuse bad rows by file and row, an
artifact that scores exactly by the tables' rule, and re-fits that are BPR-MF's."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from core.cli.main import main
from core.data import DataError
from core.data.vectors import align_vectors, read_vectors
from core.models.base import ModelInputs, can_rescore
from core.models.bprmf import BPRMF, BPRMFConfig
from core.models.refit import RefitConfig
from core.models.registry import IMPORT_ONLY, build_model, trainable_models
from core.store.artifacts import load_artifact
from core.store.imported import _split, import_embeddings
from tests.train.fixture import tiny_dataset

DIM = 6


@pytest.fixture(scope="module")
def ds():
    return tiny_dataset()


def _tables(ds, seed=0):
    gen = np.random.default_rng(seed)
    return gen.normal(size=(ds.n_users, DIM)), gen.normal(size=(ds.n_items, DIM))


def _csv(path, ids, vectors, shuffle=True):
    order = np.random.default_rng(1).permutation(len(ids)) if shuffle else np.arange(len(ids))
    frame = pd.DataFrame(vectors[order], columns=[f"v{j}" for j in range(vectors.shape[1])])
    frame.insert(0, "id", [ids[i] for i in order])
    frame.to_csv(path, index=False, float_format="%.17g")
    return path


def _write_pair(tmp_path, ds, u, v):
    users = _csv(tmp_path / "users.csv", ds.user_ids.raw, u)
    items = _csv(tmp_path / "items.csv", ds.item_ids.raw, v)
    return users, items


def test_csv_columns_are_put_in_the_datasets_id_order(tmp_path, ds):
    u, _ = _tables(ds)
    table = read_vectors(_csv(tmp_path / "u.csv", ds.user_ids.raw, u))
    np.testing.assert_allclose(align_vectors(table, ds.user_ids, "user"), u, rtol=1e-6)


def test_a_parquet_list_column_reads_like_vector_columns(tmp_path, ds):
    _, v = _tables(ds)
    path = tmp_path / "items.parquet"
    pd.DataFrame({"item": list(ds.item_ids.raw), "vec": [list(r) for r in v]}).to_parquet(path)
    got = align_vectors(read_vectors(path), ds.item_ids, "item")
    np.testing.assert_allclose(got, v, rtol=1e-6)


def test_npy_reads_with_its_id_file(tmp_path, ds):
    u, _ = _tables(ds)
    np.save(tmp_path / "u.npy", u[::-1].copy())
    (tmp_path / "u.txt").write_text("\n".join(ds.user_ids.raw[::-1]) + "\n")
    got = align_vectors(read_vectors(tmp_path / "u.npy", tmp_path / "u.txt"), ds.user_ids, "user")
    np.testing.assert_allclose(got, u, rtol=1e-6)


def test_npy_without_ids_or_with_too_few_is_refused(tmp_path, ds):
    u, _ = _tables(ds)
    np.save(tmp_path / "u.npy", u)
    with pytest.raises(DataError, match="needs an id file"):
        read_vectors(tmp_path / "u.npy")
    (tmp_path / "u.txt").write_text("\n".join(ds.user_ids.raw[:-1]))
    with pytest.raises(DataError, match=r"u\.txt.*39 ids for the 40 rows"):
        read_vectors(tmp_path / "u.npy", tmp_path / "u.txt")


def test_an_id_the_dataset_lacks_is_refused_by_file_and_line(tmp_path, ds):
    u, _ = _tables(ds)
    ids = list(ds.user_ids.raw)
    ids[4] = "stranger"
    path = _csv(tmp_path / "u.csv", ids, u, shuffle=False)
    with pytest.raises(
        DataError, match=r"u\.csv: line 6: user id 'stranger' is not in the dataset"
    ):
        align_vectors(read_vectors(path), ds.user_ids, "user")


def test_a_duplicate_id_is_refused_naming_both_lines(tmp_path, ds):
    u, _ = _tables(ds)
    ids = list(ds.user_ids.raw)
    ids[7] = ids[2]
    path = _csv(tmp_path / "u.csv", ids, u, shuffle=False)
    with pytest.raises(DataError, match=r"line 9: user id 'u2' again \(first at line 4\)"):
        align_vectors(read_vectors(path), ds.user_ids, "user")


def test_a_dataset_id_without_a_vector_is_refused_not_dropped(tmp_path, ds):
    u, _ = _tables(ds)
    path = _csv(tmp_path / "u.csv", ds.user_ids.raw[:-2], u[:-2], shuffle=False)
    with pytest.raises(
        DataError, match=r"no vector for 2 of the dataset's 40 users \(e\.g\. 'u38'"
    ):
        align_vectors(read_vectors(path), ds.user_ids, "user")


def test_a_short_list_row_is_refused_with_the_expected_length(tmp_path, ds):
    rows = [json.dumps([0.1] * DIM)] * 3 + [json.dumps([0.1] * (DIM - 1))]
    path = tmp_path / "u.csv"
    pd.DataFrame({"user": ds.user_ids.raw[:4], "vector": rows}).to_csv(path, index=False)
    with pytest.raises(DataError, match=rf"line 5: a vector of {DIM - 1} numbers; expected {DIM}"):
        read_vectors(path)


def test_text_and_nan_values_are_refused_by_line_and_column(tmp_path, ds):
    path = tmp_path / "u.csv"
    path.write_text("user,a,b\nu0,1.0,2.0\nu1,1.0,oops\n")
    with pytest.raises(DataError, match=r"column 'b'.*line 3: 'oops' is not a number"):
        read_vectors(path)
    path.write_text("user,a,b\nu0,1.0,2.0\nu1,nan,1\n")
    with pytest.raises(DataError, match=r"line 3 \(id 'u1'\), value 1: nan is not a finite"):
        read_vectors(path)


def test_tables_of_two_lengths_are_refused(tmp_path, ds):
    u, v = _tables(ds)
    users, items = _write_pair(tmp_path, ds, u, v[:, :-1])
    with pytest.raises(DataError, match=f"user vectors have {DIM} numbers.*have {DIM - 1}"):
        import_embeddings(ds, users, items)


@pytest.mark.parametrize("rule", ["dot", "cosine"])
def test_the_artifact_scores_exactly_by_the_rule_and_loads_back(tmp_path, ds, rule):
    u, v = _tables(ds)
    users, items = _write_pair(tmp_path, ds, u, v)
    trained = import_embeddings(ds, users, items, score=rule, out=tmp_path / "art")
    if rule == "cosine":
        u = u / np.linalg.norm(u, axis=1, keepdims=True)
        v = v / np.linalg.norm(v, axis=1, keepdims=True)
    expected = u @ v.T
    got = trained.model.score(torch.arange(ds.n_users)).detach().double().numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert trained.meta["origin"]["measured"]["max_score_diff"] < 1e-5
    assert trained.meta["origin"]["summary"] == f"embeddings, {rule}"
    loaded = load_artifact(tmp_path / "art", ds)
    again = loaded.model.score(torch.arange(ds.n_users)).detach().double().numpy()
    np.testing.assert_array_equal(again, got)
    assert "recall@20" in loaded.metrics["test"]


def test_dot_refit_and_influence_are_bprmfs_on_the_same_tables(ds):
    u, v = _tables(ds)
    split = _split(ds)
    inputs = ModelInputs.from_dataset(ds, split)
    emb = build_model("embeddings", inputs, {"dim": DIM})
    emb.set_tables(u, v)
    mf = BPRMF.build(inputs, BPRMFConfig(dim=DIM, reg=emb.config.reg), torch.device("cpu"))
    mf.load_state_dict(emb.state_dict())
    user = 3
    hist = torch.as_tensor(split.train[split.train[:, 0] == user, 1])
    edited = [hist[2:], hist[:-3], hist]
    items = torch.arange(ds.n_items)
    cfg = RefitConfig(anchored=True)
    a, b = (
        emb.refit_histories(user, edited, items, cfg),
        mf.refit_histories(user, edited, items, cfg),
    )
    torch.testing.assert_close(a.scores, b.scores)
    # anchored: the full history (last column) keeps the imported vector and its scores
    torch.testing.assert_close(a.params[-1], torch.as_tensor(u[user], dtype=torch.float32))
    assert not torch.allclose(a.scores[0], a.scores[-1])
    ref = emb.reference_scores(user, hist[2:], items, a.params[0])
    torch.testing.assert_close(ref, a.scores[0])
    torch.testing.assert_close(
        emb.history_influence(user, 5, hist, cfg), mf.history_influence(user, 5, hist, cfg)
    )


def test_cosine_refit_keeps_the_rule_and_the_model_can_rescore(ds):
    u, v = _tables(ds)
    inputs = ModelInputs.from_dataset(ds, _split(ds))
    emb = build_model("embeddings", inputs, {"dim": DIM, "score": "cosine"})
    emb.set_tables(u, v)
    assert can_rescore(emb)
    hist = emb._history(0)
    out = emb.refit_histories(0, [hist[1:]], torch.arange(5), RefitConfig())
    p = out.params[0] / out.params[0].norm()
    q = torch.as_tensor(v[:5], dtype=torch.float32)
    torch.testing.assert_close(out.scores[0], (q / q.norm(dim=1, keepdim=True)) @ p)
    infl = emb.history_influence(0, 1, hist, RefitConfig())
    assert infl.shape == hist.shape and torch.isfinite(infl).all()


def test_embeddings_are_import_only(tmp_path, capsys):
    assert "embeddings" in IMPORT_ONLY and "embeddings" not in trainable_models()
    assert main(["train", "sample", "--model", "embeddings", "--out", str(tmp_path / "x")]) == 2
    assert "made by `python -m core import`" in capsys.readouterr().err


def test_a_pickled_npy_is_refused_without_unpickling(tmp_path, ds):
    arr = np.empty((2, 1), dtype=object)
    arr[0, 0], arr[1, 0] = [1.0], [2.0]
    np.save(tmp_path / "u.npy", arr, allow_pickle=True)
    (tmp_path / "u.txt").write_text("u0\nu1\n")
    with pytest.raises(DataError, match=r"u\.npy: not a numeric \.npy array"):
        read_vectors(tmp_path / "u.npy", tmp_path / "u.txt")
