"""Feedback database: round trip, validation, summaries and CSV export on a temporary SQLite."""

import io

import pandas as pd
import pytest

from core.store.feedback import (
    add_feedback,
    export_csv,
    feedback_frame,
    feedback_summary,
    feedback_url,
    open_feedback,
)


@pytest.fixture()
def engine(tmp_path):
    return open_feedback(feedback_url(tmp_path / "ws"))


def _vote(engine, model, explainer, vote, comment=""):
    return add_feedback(
        engine,
        model=model,
        explainer=explainer,
        user="u1",
        item="i9",
        explanation_hash="abc123",
        vote=vote,
        comment=comment,
        dataset="sample",
    )


def test_round_trip_keeps_every_field(engine, tmp_path):
    row_id = _vote(engine, "KGAT", "paths", "up", "makes sense <b>")
    assert (tmp_path / "ws" / "feedback.sqlite").exists()
    frame = feedback_frame(engine)
    assert len(frame) == 1
    row = frame.iloc[0]
    assert row["id"] == row_id
    assert (row["model"], row["explainer"], row["user"], row["item"]) == (
        "KGAT",
        "paths",
        "u1",
        "i9",
    )
    assert row["explanation_hash"] == "abc123" and row["vote"] == 1
    assert row["comment"] == "makes sense <b>" and row["dataset"] == "sample"
    assert pd.notna(row["created"])


def test_rejects_bad_votes(engine):
    with pytest.raises(ValueError):
        _vote(engine, "KGAT", "paths", 0)
    with pytest.raises(ValueError):
        _vote(engine, "KGAT", "paths", "maybe")
    assert feedback_frame(engine).empty


def test_summary_per_model_and_explainer(engine):
    _vote(engine, "KGAT", "paths", "up", "good")
    _vote(engine, "KGAT", "paths", -1)
    _vote(engine, "KGAT", "paths", 1)
    _vote(engine, "Attention", "attention", "down", " ")
    summary = feedback_summary(feedback_frame(engine)).set_index(["model", "explainer"])
    kgat = summary.loc[("KGAT", "paths")]
    assert (kgat["votes"], kgat["up"], kgat["down"], kgat["comments"]) == (3, 2, 1, 1)
    assert kgat["up_share"] == pytest.approx(2 / 3)
    att = summary.loc[("Attention", "attention")]
    assert (att["up"], att["down"], att["comments"]) == (0, 1, 0)


def test_export_csv_parses_back(engine):
    _vote(engine, "BPR-MF", "counterfactual", "up", 'comma, "quote"')
    parsed = pd.read_csv(io.StringIO(export_csv(engine)))
    assert list(parsed["model"]) == ["BPR-MF"]
    assert parsed["comment"].iat[0] == 'comma, "quote"'


def test_reopening_keeps_rows(tmp_path):
    url = feedback_url(tmp_path)
    _vote(open_feedback(url), "MostPop", "edges", 1)
    assert len(feedback_frame(open_feedback(url))) == 1


def test_export_csv_neutralises_formulas(engine):
    for comment in ('=HYPERLINK("http://evil")', "+cmd", "-1+2", "@SUM(1)", "ok"):
        _vote(engine, "KGAT", "paths", "up", comment)
    parsed = pd.read_csv(io.StringIO(export_csv(engine)), keep_default_na=False)
    assert parsed["comment"].tolist() == [
        '\'=HYPERLINK("http://evil")',
        "'+cmd",
        "'-1+2",
        "'@SUM(1)",
        "ok",
    ]
    assert parsed["vote"].tolist() == [1] * 5  # numbers stay numbers


def test_sqlite_uses_wal_and_a_busy_timeout(engine):
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_concurrent_writers_store_every_vote_once(tmp_path):
    import threading

    url = feedback_url(tmp_path / "ws")
    engines = [open_feedback(url) for _ in range(8)]  # one engine per "server process"
    errors = []

    def write(n, eng):
        try:
            for i in range(25):
                add_feedback(
                    eng,
                    model="m",
                    explainer="e",
                    user=f"u{n}",
                    item=f"i{i}",
                    explanation_hash="h",
                    vote=1,
                    comment=f"{n}-{i}",
                )
        except Exception as err:  # "database is locked" without the busy timeout
            errors.append(err)

    threads = [threading.Thread(target=write, args=(n, e)) for n, e in enumerate(engines)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    frame = feedback_frame(engines[0])
    assert len(frame) == 200 and frame["comment"].is_unique
    assert all(
        c.split("-")[0] == u[1:] for c, u in zip(frame["comment"], frame["user"], strict=True)
    )


def test_the_database_is_described_for_people_not_as_a_url(tmp_path):
    """The Feedback page showed a raw `sqlite:////...` URL; it now says what and where."""
    from sqlalchemy import create_engine

    from core.store.feedback import describe_database

    engine = open_feedback(feedback_url(tmp_path))
    assert describe_database(engine) == f"SQLite file {tmp_path.resolve() / 'feedback.sqlite'}"
    pg = create_engine("postgresql+psycopg://team:secret@db.local:5433/reclens")
    text = describe_database(pg)
    assert text == "postgresql database reclens on db.local:5433"
    assert "secret" not in text and "://" not in text
