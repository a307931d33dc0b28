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
