"""Feedback on narrated explanations records backend, model and verdict; databases made before
those columns existed still open, keep their rows, and accept new votes."""

from __future__ import annotations

import sqlite3

from core.store.feedback import add_feedback, feedback_frame, open_feedback

OLD_SCHEMA = """CREATE TABLE feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT, created DATETIME NOT NULL, dataset VARCHAR(200) NOT NULL,
    model VARCHAR(100) NOT NULL, explainer VARCHAR(100) NOT NULL, user VARCHAR(200) NOT NULL,
    item VARCHAR(200) NOT NULL, explanation_hash VARCHAR(64) NOT NULL, vote INTEGER NOT NULL,
    comment TEXT NOT NULL)"""

VOTE = dict(model="kgat", explainer="paths", user="u1", item="m2", explanation_hash="h" * 16)


def test_llm_fields_round_trip(tmp_path):
    engine = open_feedback(f"sqlite:///{tmp_path / 'fb.sqlite'}")
    add_feedback(engine, vote=1, llm_backend="openai", llm_model="qwen", llm_verdict="grounded",
                 **VOTE)  # fmt: skip
    add_feedback(engine, vote=-1, **VOTE)  # a template explanation
    frame = feedback_frame(engine)
    assert list(frame["llm_backend"]) == ["openai", None]
    assert list(frame["llm_model"]) == ["qwen", None]
    assert list(frame["llm_verdict"]) == ["grounded", None]


def test_a_database_from_before_the_llm_columns_still_opens(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute(OLD_SCHEMA)
        conn.execute(
            "INSERT INTO feedback (created, dataset, model, explainer, user, item, "
            "explanation_hash, vote, comment) VALUES "
            "('2026-01-01 00:00:00', 'sample', 'bprmf', 'attention', 'u9', 'm1', 'abc', 1, 'ok')"
        )
    engine = open_feedback(f"sqlite:///{path}")
    add_feedback(engine, vote=1, llm_backend="llamacpp", llm_model="smollm2",
                 llm_verdict="failed", **VOTE)  # fmt: skip
    frame = feedback_frame(engine)
    assert list(frame["user"]) == ["u9", "u1"] and frame["comment"].iat[0] == "ok"
    assert frame["llm_backend"].iat[0] is None and frame["llm_verdict"].iat[1] == "failed"
    open_feedback(f"sqlite:///{path}")  # upgrading twice is a no-op
