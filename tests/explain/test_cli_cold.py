"""`recommend` / `explain` with `--items`: a new user folded in from raw item ids (issue 27)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "sample_data" / "models"
PROFILE = "m0004,m0018,m0043"


def run_json(capsys, *argv: str) -> dict:
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(autouse=True)
def _sample():
    if not (MODELS / "kgat").is_dir():
        pytest.skip("sample models are absent")


def test_recommend_items_lists_the_new_users_top_k(capsys):
    out = run_json(capsys, "recommend", str(MODELS / "bprmf"), "--items", PROFILE, "-k", "5")
    assert out["profile"] == PROFILE.split(",") and out["fold_in"] == "refit"
    got = [row["item"] for row in out["items"]]
    assert len(got) == 5 and not set(got) & set(PROFILE.split(","))
    mostpop = run_json(capsys, "recommend", str(MODELS / "mostpop"), "--items", PROFILE)
    assert mostpop["same_for_everyone"] is True


def test_explain_items_explains_the_new_user_through_their_profile(capsys):
    out = run_json(
        capsys, "explain", str(MODELS / "kgat"), "--items", PROFILE, "-k", "3", "--method", "paths"
    )
    assert out["user"] == "(new user)" and len(out["explanations"]) == 3
    first_hops = {p["edges"][0][2] for e in out["explanations"] for p in e["paths"]}
    assert first_hops and first_hops <= set(PROFILE.split(","))  # paths leave from the profile


def test_items_and_user_are_one_or_the_other(capsys):
    assert main(["recommend", str(MODELS / "bprmf"), "--items", PROFILE, "--user", "u0001"]) == 2
    assert main(["recommend", str(MODELS / "bprmf"), "--items", "m0004,nope"]) == 2
    assert "unknown item 'nope'" in capsys.readouterr().err


def test_launch_json_has_every_users_score_and_the_audience(capsys):
    out = run_json(capsys, "launch", str(MODELS / "kgat"), "--title", "My Film",
                   "--attr", "genre=Family", "--attr", "directed_by=Mara Lindqvist",
                   "--cards", "1")  # fmt: skip
    scores = out["user_scores"]
    assert len(scores) == 1000 and scores["u0001"] == pytest.approx(scores["u0001"])
    aud = out["audience"]
    assert aud["count"] == len(aud["reached"]) > 0
    best = aud["most_likely"][0]  # the best rank in their own list, ties by score
    assert best["rank"] == min(m["rank"] for m in aud["most_likely"])
    assert best["user"] in aud["reached"] and best["score"] == pytest.approx(scores[best["user"]])
    path = out["cards"][0]["paths"][0]["edges"]
    assert out["cards"][0]["user"] == best["user"]
    assert path[0][0] == best["user"] and path[-1][2] == "My Film"
    assert path[-1][0] in ("Family", "Mara Lindqvist")  # through a shared entity


def test_launch_refuses_a_model_without_a_kg_and_a_bad_attribute(capsys):
    assert main(["launch", str(MODELS / "bprmf"), "--title", "x", "--attr", "genre=Family"]) == 2
    assert "does not place items" in capsys.readouterr().err
    assert main(["launch", str(MODELS / "kgat"), "--title", "x", "--attr", "genre"]) == 2
    assert "RELATION=ENTITY" in capsys.readouterr().err
