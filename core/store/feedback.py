"""Analyst feedback on explanations: one row per thumbs up/down, in any SQLAlchemy database.

The default is a SQLite file in the workspace (`feedback_url(workspace)`); a PostgreSQL URL works
the same. Users and items are stored as raw ids (what the analyst saw), and each row carries the
`Explanation.digest()` it judged, so feedback stays attached to the exact explanation content even
after a model is retrained.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
    inspect,
    select,
    text,
)

from core.safe_text import csv_frame

VOTES = {"up": 1, "down": -1}
BUSY_TIMEOUT_S = 30  # SQLite: how long a writer waits for another session's write to finish

_metadata = MetaData()
feedback_table = Table(
    "feedback",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("dataset", String(200), nullable=False, default=""),
    Column("model", String(100), nullable=False),
    Column("explainer", String(100), nullable=False),
    Column("user", String(200), nullable=False),  # raw user id
    Column("item", String(200), nullable=False),  # raw item id
    Column("explanation_hash", String(64), nullable=False),
    Column("vote", Integer, nullable=False),  # +1 thumbs up, -1 thumbs down
    Column("comment", Text, nullable=False, default=""),
    # narrated explanations (issue 12): which language model wrote the text shown, and the
    # grounding verdict; NULL for template-only feedback and in databases made before them
    Column("llm_backend", String(50), nullable=True),
    Column("llm_model", String(200), nullable=True),
    Column("llm_verdict", String(20), nullable=True),
)
COLUMNS = [c.name for c in feedback_table.columns]
_ADDED_LATER = ("llm_backend", "llm_model", "llm_verdict")  # nullable, added by _upgrade


def feedback_url(workspace: str | Path) -> str:
    """The default database: `<workspace>/feedback.sqlite`."""
    return f"sqlite:///{Path(workspace).resolve() / 'feedback.sqlite'}"


def describe_database(engine: Engine) -> str:
    """Where the votes are kept, for people: 'SQLite file /path' or 'postgresql database db on
    host:port' (never the password, never a raw SQLAlchemy URL)."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return f"SQLite file {url.database}" if url.database else "SQLite in memory"
    where = f"{url.host}:{url.port}" if url.port else f"{url.host or 'localhost'}"
    return f"{url.get_backend_name()} database {url.database} on {where}"


def open_feedback(url: str) -> Engine:
    """Engine for `url` with the feedback table created if missing (idempotent)."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    _metadata.create_all(engine)
    _upgrade(engine)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL lets readers (the Feedback page) run while a session writes a vote, and the busy
    timeout makes concurrent writers queue instead of failing with "database is locked"."""
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.close()


def _upgrade(engine: Engine) -> None:
    """Add the nullable columns a database made by an older RecLens lacks (existing rows get
    NULL), so old feedback files keep opening."""
    have = {c["name"] for c in inspect(engine).get_columns("feedback")}
    with engine.begin() as conn:
        for name in _ADDED_LATER:
            if name not in have:
                col = feedback_table.c[name]
                kind = col.type.compile(dialect=engine.dialect)
                conn.execute(text(f'ALTER TABLE feedback ADD COLUMN "{name}" {kind}'))


def add_feedback(
    engine: Engine,
    *,
    model: str,
    explainer: str,
    user: str,
    item: str,
    explanation_hash: str,
    vote: int | str,
    comment: str = "",
    dataset: str = "",
    llm_backend: str | None = None,
    llm_model: str | None = None,
    llm_verdict: str | None = None,
) -> int:
    """Store one vote (+1 / -1, or "up" / "down") and return its row id."""
    value = VOTES.get(vote, vote) if isinstance(vote, str) else int(vote)
    if value not in (1, -1):
        raise ValueError(f"vote must be +1/-1 or 'up'/'down', got {vote!r}")
    row = {
        "created": datetime.now(UTC),
        "dataset": str(dataset),
        "model": str(model),
        "explainer": str(explainer),
        "user": str(user),
        "item": str(item),
        "explanation_hash": str(explanation_hash),
        "vote": value,
        "comment": str(comment or ""),
        "llm_backend": llm_backend,
        "llm_model": llm_model,
        "llm_verdict": llm_verdict,
    }
    with engine.begin() as conn:
        result = conn.execute(insert(feedback_table).values(**row))
        return int(result.inserted_primary_key[0])


def feedback_frame(engine: Engine) -> pd.DataFrame:
    """All feedback rows, oldest first, with the columns of the table."""
    with engine.connect() as conn:
        rows = conn.execute(select(feedback_table).order_by(feedback_table.c.id)).mappings().all()
    return pd.DataFrame([dict(r) for r in rows], columns=COLUMNS)


def feedback_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per (model, explainer): votes, thumbs up, thumbs down, share of thumbs up, comments."""
    cols = ["model", "explainer", "votes", "up", "down", "up_share", "comments"]
    if frame.empty:
        return pd.DataFrame(columns=cols)
    grouped = frame.groupby(["model", "explainer"], sort=True)
    out = pd.DataFrame(
        {
            "votes": grouped["vote"].size(),
            "up": grouped["vote"].apply(lambda v: int((v > 0).sum())),
            "down": grouped["vote"].apply(lambda v: int((v < 0).sum())),
            "comments": grouped["comment"].apply(lambda c: int((c.str.strip() != "").sum())),
        }
    ).reset_index()
    out["up_share"] = out["up"] / out["votes"]
    return out[cols]


def export_csv(engine: Engine) -> str:
    """All feedback as CSV text (header included), for download; text cells that a spreadsheet
    would run as a formula (= + - @ ...) are neutralised (core.safe_text.csv_cell)."""
    buf = io.StringIO()
    csv_frame(feedback_frame(engine)).to_csv(buf, index=False)
    return buf.getvalue()
