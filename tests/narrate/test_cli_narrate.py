"""`python -m core narrate` on a tiny KGAT artifact trained in the test: template by default,
checked text from a (fake) endpoint given by --llm-url, and `--check` on any text."""

from __future__ import annotations

import json
import re

import pytest

from core.cli.main import main
from tests.models.tiny import paper_kgat_overrides
from tests.narrate.fake_server import FakeServer, chat

# the paper's KGAT settings (the KGATConfig defaults before issue 14), two small layers
PAPER_BI = paper_kgat_overrides()

TITLES = {f"m{i}": f"Movie {i}" for i in range(30)}


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    from core.data import load_dataset
    from core.store.training import train_model
    from core.train import TrainConfig

    folder = tmp_path_factory.mktemp("data")
    rows = ["user,item"] + [f"u{u},m{(u * 3 + j) % 30}" for u in range(16) for j in range(20)]
    (folder / "interactions.csv").write_text("\n".join(rows) + "\n")
    items = ["item,title"] + [f"{i},{t}" for i, t in TITLES.items()]
    (folder / "items.csv").write_text("\n".join(items) + "\n")
    kg = ["head,relation,tail"] + [f"m{i},directed_by,Director {i % 4}" for i in range(30)]
    (folder / "kg.csv").write_text("\n".join(kg) + "\n")
    ds = load_dataset(folder)
    out = tmp_path_factory.mktemp("art") / "kgat"
    cfg = TrainConfig(epochs=1, batch_size=64, split_method="random")
    train_model(ds, "kgat", overrides=PAPER_BI, train_config=cfg, out_dir=out,
                dataset_source={"path": str(folder), "format": None})  # fmt: skip
    return str(out)


@pytest.fixture(autouse=True)
def _no_llm_env(monkeypatch):
    for var in ("RECLENS_LLM_BASE_URL", "RECLENS_LLM_MODEL", "RECLENS_LLM_BACKEND"):
        monkeypatch.delenv(var, raising=False)


def _json(capsys, argv) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_default_is_the_template(artifact, capsys):
    out = _json(capsys, ["narrate", artifact, "--user", "u1", "-k", "3", "--json"])
    assert out["backend"] == "template" and out["method"] == "paths"
    assert len(out["narrations"]) == 3
    for n in out["narrations"]:
        assert n["text"] == n["template"] and n["source"] == "template"
        assert n["verdict"] == "template" and not n["fell_back"]


def _item_name(body: dict) -> str:
    return re.search(r'Recommended item: "([^"]*)"', body["messages"][1]["content"]).group(1)


def test_endpoint_text_is_checked_and_labelled(artifact, capsys):
    def script(body):
        name = _item_name(body)
        # the first recommendation gets a grounded text, the others an invented number
        return chat(f"{name} suits you." if name == first else f"{name} has 1234 fans.")

    first_out = _json(capsys, ["narrate", artifact, "--user", "u1", "-k", "2", "--json"])
    first = first_out["narrations"][0]["title"]
    with FakeServer(script) as srv:
        argv = ["narrate", artifact, "--user", "u1", "-k", "2", "--json",
                "--llm-url", srv.url, "--llm-model", "fake"]  # fmt: skip
        out = _json(capsys, argv)
    assert out["backend"] == "openai" and out["llm_model"] == "fake"
    good, bad = out["narrations"]
    assert good["source"] == "llm" and good["text"] == f"{first} suits you."
    assert bad["source"] == "template" and bad["fell_back"] and bad["text"] == bad["template"]
    assert [v["span"] for v in bad["violations"]] == ["1234", "fans"]
    assert len(srv.posts) == 1 + 2  # one grounded answer, one answer plus its retry


def test_text_output_shows_template_generated_and_verdict(artifact, capsys):
    with FakeServer(lambda body: chat(f"{_item_name(body)} has 1234 fans.")) as srv:
        argv = ["narrate", artifact, "--user", "u1", "-k", "1", "--llm-url", srv.url,
                "--llm-model", "fake"]  # fmt: skip
        assert main(argv) == 0
    out = capsys.readouterr().out
    assert "template:" in out and "generated:" in out and "1234 fans" in out
    assert "verdict:   failed  (fell back to the template)" in out and "number:" in out


def test_check_any_text(artifact, capsys):
    expl = _json(capsys, ["explain", artifact, "--user", "u1", "-k", "1", "--method", "paths",
                          "--json"])["explanations"][0]  # fmt: skip
    base = ["narrate", artifact, "--user", "u1", "--item", expl["item"], "--json", "--check"]
    ok = _json(capsys, base + [expl["sentence"]])
    assert ok["grounded"] is True and ok["violations"] == []
    # --json gives what each verified span rests on, as the dashboard shows it
    spans = {a["span"]: a for a in ok["attributions"]}
    assert expl["title"] in spans and spans[expl["title"]]["kind"] == "entity"
    assert all(ok["text"][a["start"] : a["end"]] == a["span"] for a in ok["attributions"])
    foreign = next(t for i, t in TITLES.items() if t not in json.dumps(expl))
    bad = _json(capsys, base + [f"{expl['title']} is loved by fans of {foreign}."])
    assert bad["grounded"] is False and bad["hallucinated"] is True
    assert [(v["kind"], v["span"]) for v in bad["violations"]] == [
        ("unsupported", "fans"),  # the closed world: no evidence mentions fans
        ("foreign_entity", foreign),
    ]
    missing = _json(capsys, base + ["Nothing named here."])
    assert missing["grounded"] is False and missing["hallucinated"] is False


def test_check_needs_an_item(artifact, capsys):
    assert main(["narrate", artifact, "--user", "u1", "--check", "text"]) == 2
    assert "--check needs --item" in capsys.readouterr().err
