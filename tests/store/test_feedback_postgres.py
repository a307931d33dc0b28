"""The feedback store against a real PostgreSQL server (the README says a team can point
RECLENS_FEEDBACK_URL at one). Skipped only where no server can be started."""

from __future__ import annotations

import io
import threading

import pandas as pd
import pytest

from core.store.feedback import (
    add_feedback,
    export_csv,
    feedback_frame,
    feedback_summary,
    open_feedback,
)
from tests.store.postgres import postgres_server


@pytest.fixture(scope="module")
def pg_url():
    pytest.importorskip("psycopg")
    try:
        with postgres_server() as url:
            yield url
    except RuntimeError as err:
        pytest.skip(f"no PostgreSQL server could be started: {err}")


def test_votes_round_trip_through_postgresql(pg_url):
    engine = open_feedback(pg_url)
    assert engine.dialect.name == "postgresql"
    row = add_feedback(
        engine,
        model="kgat",
        explainer="paths",
        user="u1 <b>",
        item="m9",
        explanation_hash="abc",
        vote="down",
        comment="=1+1 ünïcode",
        dataset="sample",
    )
    frame = feedback_frame(engine)
    got = frame[frame["id"] == row].iloc[0]
    assert (got["user"], got["vote"], got["comment"]) == ("u1 <b>", -1, "=1+1 ünïcode")
    assert got["created"].tzinfo is not None
    parsed = pd.read_csv(io.StringIO(export_csv(engine)), keep_default_na=False)
    assert "'=1+1 ünïcode" in set(parsed["comment"])
    assert open_feedback(pg_url).url == engine.url  # reopening keeps the table (idempotent)


def test_eight_concurrent_writers_on_postgresql(pg_url):
    engine = open_feedback(pg_url)
    before = len(feedback_frame(engine))
    errors = []

    def write(n):
        try:
            for i in range(10):
                add_feedback(
                    engine,
                    model="m",
                    explainer="e",
                    user=f"w{n}",
                    item=f"i{i}",
                    explanation_hash="h",
                    vote=1,
                    comment=f"w{n}-{i}",
                )
        except Exception as err:
            errors.append(err)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    frame = feedback_frame(engine)
    new = frame.iloc[before:]
    assert len(new) == 80 and new["comment"].is_unique
    summary = feedback_summary(new)
    assert summary["votes"].sum() == 80
