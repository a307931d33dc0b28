"""The Train page's form trains at the library's defaults, stopping early on validation."""

from __future__ import annotations

import dataclasses

from streamlit.testing.v1 import AppTest

from core.train import TrainConfig
from tests.app.conftest import MAIN


def _train_page(tiny_env) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.query_params.update(page="train")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_default_form_trains_at_library_defaults_with_early_stopping(tiny_env, monkeypatch):
    from app import workspace

    jobs = []
    real = workspace.run_job

    def spy(job, report):
        jobs.append(job)
        return real(job, report)

    monkeypatch.setattr(workspace, "run_job", spy)
    at = _train_page(tiny_env)
    at.selectbox(key="tr_model").set_value("bprmf").run()
    cap = at.number_input(key="tr_epochs")
    assert cap.value == TrainConfig().epochs  # the library's cap, not a fixed 10 epochs
    at.button(key="tr_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    (job,) = jobs
    # nothing but the library's own training: early stopping on validation, best epoch kept
    assert job.config == TrainConfig()
    assert job.config.patience > 0 and not job.config.fixed_epochs and job.overrides == {}
    captions = [c.value for c in at.caption]
    assert any(c.startswith("Stopped early after") or "epoch cap" in c for c in captions)


def test_a_raised_cap_keeps_the_other_defaults(tiny_env, monkeypatch):
    from app import workspace

    jobs = []
    monkeypatch.setattr(workspace, "run_job", lambda job, report: jobs.append(job) or "x")
    monkeypatch.setattr("app.trainui.read_meta", lambda path: {"epochs": 3, "best_epoch": 2})
    at = _train_page(tiny_env)
    at.selectbox(key="tr_model").set_value("bprmf").run()
    at.number_input(key="tr_epochs").set_value(3 * TrainConfig().epochs).run()
    at.button(key="tr_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    (job,) = jobs
    assert job.config == dataclasses.replace(TrainConfig(), epochs=3 * TrainConfig().epochs)
    assert any("Stopped early after 3 epochs; kept epoch 2" in c.value for c in at.caption)
