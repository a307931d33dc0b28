"""Population figures of one export, as SQL over its Parquet files (DuckDB; never a full load).

`open_export` scans the shards' flat columns once (the `top_*` columns: no nested data is
decoded) into a table `expl`, one row per recommendation of the export's first method, with
what every figure needs:

    user, rank, item, shape             the top path's kind ("no path" when it has none)
    relation                            the top path's last relation, "~" stripped: the path type
    shared, shared_name                   the top path's shared node (the one before the item)
    driver_entity, driver_name          the shared when it is a KG entity (entities.parquet)
    driver_item, driver_item_name       the linking history item: the top path's first hop, or
                                        the heaviest history-item contribution without a path
    driver                              driver_entity, else driver_item (what a bubble shares)
    sampled, drop_m, random_drop_m      the deletion test at the largest m (fidelity sample)
    plus the side tables' item popularity, long tail and the user's activity quartile

and every figure is a GROUP BY over it. Definitions (core/population/README.md has them in full):

- bubble (per user): the share of the user's top-k whose top explanation has the list's most
  common driver (entity bubble), and the most common relation (relation bubble);
- not personal: a recommendation whose deletion test shows no dependence on the history,
  i.e. removing the M history items its explanation weighs most lowers its rank no more than
  removing M random ones (drop@M <= random drop@M, M the middle deletion size exported, 3 by
  default): the rule by which the card's headline drops its personal reason
  (core.explain.headline); over the fidelity sample only;
- long tail: recommended items outside the 20 % most-interacted items.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from core.population import metrics
from core.population.schema import ExportError
from core.population.tables import TABLES, table_path

TOP = 10  # drivers listed per model
EXAMPLES = 5  # example users per drill-down


@dataclass(frozen=True)
class Export:
    """An opened export: a DuckDB connection holding `expl` and the side tables."""

    folder: Path
    files: list[str]
    con: duckdb.DuckDBPyConnection
    method: str
    k: int
    ms: tuple[int, ...]


def _q(con, sql: str, params: list | None = None) -> list[dict]:
    cur = con.execute(sql, params or [])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def _one(con, sql: str, params: list | None = None):
    return con.execute(sql, params or []).fetchone()[0]


def open_export(
    folder: str | Path, files: list[str], plan: dict, threads: int = 2, memory: str = "1GB"
) -> Export:
    """Scan `files` (the export's shards, checked by the caller) into `expl`."""
    folder = Path(folder)
    for name in TABLES:
        if not table_path(folder, name).is_file():
            raise ExportError(f"{folder}: {name}.parquet is missing; re-run explain-all")
    con = duckdb.connect(
        config={"threads": threads, "memory_limit": memory, "preserve_insertion_order": False}
    )
    for name in TABLES:
        path = str(table_path(folder, name)).replace("'", "''")  # a SQL string literal
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path}')")
    ms = tuple(int(m) for m in plan["config"]["ms"])  # column names: ints only
    m, mid = max(ms), ms[len(ms) // 2]
    method = plan["methods"][0]
    con.execute(
        f"""
        CREATE TABLE expl AS
        WITH flat AS (
          SELECT user, rank, item, fidelity_sampled AS sampled,
                 "drop@{m}" AS drop_m, "random_drop@{m}" AS random_drop_m,
                 "drop@{mid}" AS drop_mid, "random_drop@{mid}" AS random_drop_mid,
                 top_shape AS shape, top_relation AS relation, top_shared AS shared,
                 top_shared_name AS shared_name, top_history AS driver_item,
                 top_history_name AS driver_item_name
          FROM read_parquet(?) WHERE method = ?
        )
        SELECT f.*, e.entity AS driver_entity,
               CASE WHEN e.entity IS NULL THEN NULL ELSE f.shared_name END AS driver_name,
               coalesce(e.entity, f.driver_item) AS driver,
               i.popularity, i.pop_quartile, i.long_tail, u.activity_quartile
        FROM flat f
        LEFT JOIN entities e ON e.entity = f.shared
        LEFT JOIN items i ON i.item = f.item
        LEFT JOIN users u ON u.user = f.user
        """,
        [files, method],
    )
    return Export(folder, files, con, method, int(plan["config"]["k"]), ms)


# --- the figures --------------------------------------------------------------------------------


def shares(ex: Export, column: str) -> list[dict]:
    """Share of recommendations per value of `column` ("shape" or "relation"), largest first."""
    assert column in ("shape", "relation")
    return _q(
        ex.con,
        f"""SELECT coalesce({column}, '(none)') AS value, count(*) AS n,
                   count(*) / sum(count(*)) OVER () AS share
            FROM expl GROUP BY 1 ORDER BY n DESC, value""",
    )


def top_drivers(ex: Export, column: str, top: int = TOP) -> list[dict]:
    """The `top` most frequent driver entities ("driver_entity") or history items
    ("driver_item") of the top explanations, with their count, share and users reached."""
    assert column in ("driver_entity", "driver_item")
    name = "driver_name" if column == "driver_entity" else "driver_item_name"
    return _q(
        ex.con,
        f"""SELECT {column} AS id, any_value({name}) AS name, count(*) AS n,
                   count(*) / (SELECT count(*) FROM expl) AS share,
                   count(DISTINCT user) AS users
            FROM expl WHERE {column} IS NOT NULL
            GROUP BY 1 ORDER BY n DESC, id LIMIT ?""",
        [top],
    )


PER_USER = """
    CREATE OR REPLACE TEMP TABLE per_user AS
    WITH d AS (SELECT user, driver, count(*) AS n FROM expl GROUP BY ALL),
         r AS (SELECT user, relation, count(*) AS n FROM expl
               WHERE relation IS NOT NULL GROUP BY ALL),
         u AS (SELECT user, count(*) AS n, any_value(activity_quartile) AS activity_quartile,
                      avg(long_tail::INT) AS long_tail,
                      count(DISTINCT driver) AS distinct_drivers
               FROM expl GROUP BY user),
         dm AS (SELECT user, max(n) AS top FROM d GROUP BY user),
         rm AS (SELECT user, max(n) AS top FROM r GROUP BY user)
    SELECT u.*, coalesce(dm.top, 0) / u.n AS bubble_entity,
           coalesce(rm.top, 0) / u.n AS bubble_relation
    FROM u LEFT JOIN dm USING (user) LEFT JOIN rm USING (user)
"""


def per_user(ex: Export) -> None:
    ex.con.execute(PER_USER)


def distribution(ex: Export, column: str) -> list[dict]:
    """How many users have each value of a per-user figure (bubble_* or distinct_drivers)."""
    assert column in ("bubble_entity", "bubble_relation", "distinct_drivers")
    return _q(
        ex.con,
        f"""SELECT round({column}, 4) AS value, count(*) AS users
            FROM per_user GROUP BY 1 ORDER BY 1""",
    )


def by_activity(ex: Export) -> list[dict]:
    """Per user-activity quartile (1 = least active): users, mean bubbles, distinct drivers,
    long-tail share, and the not-personal share over the fidelity sample."""
    return _q(
        ex.con,
        """SELECT p.activity_quartile AS quartile, count(*) AS users,
                  avg(bubble_entity) AS bubble_entity, avg(bubble_relation) AS bubble_relation,
                  avg(distinct_drivers) AS distinct_drivers, avg(p.long_tail) AS long_tail,
                  (SELECT avg((drop_mid <= random_drop_mid)::INT) FROM expl e
                   WHERE e.sampled AND e.activity_quartile = p.activity_quartile) AS not_personal
           FROM per_user p GROUP BY 1 ORDER BY 1""",
    )


def by_popularity(ex: Export) -> list[dict]:
    """Per recommended-item popularity quartile (1 = least popular): share of recommendations,
    share with a KG-entity driver, and the not-personal share over the fidelity sample."""
    return _q(
        ex.con,
        """SELECT pop_quartile AS quartile, count(*) AS n,
                  count(*) / sum(count(*)) OVER () AS share,
                  avg((driver_entity IS NOT NULL)::INT) AS entity_driven,
                  avg(CASE WHEN sampled THEN (drop_mid <= random_drop_mid)::INT END) AS not_personal
           FROM expl GROUP BY 1 ORDER BY 1""",
    )


def personal(ex: Export) -> dict:
    """The not-personal share over the fidelity sample: overall, of the #1s and by rank; and
    the mean deletion ratio (mean drop over mean random drop at the middle deletion size)."""
    n = _one(ex.con, "SELECT count(*) FROM expl WHERE sampled")
    by_rank = _q(
        ex.con,
        """SELECT rank, count(*) AS n, avg((drop_mid <= random_drop_mid)::INT) AS not_personal
           FROM expl WHERE sampled GROUP BY rank ORDER BY rank""",
    )
    ratio = _one(
        ex.con,
        """SELECT CASE WHEN avg(random_drop_mid) > 0 THEN avg(drop_mid) / avg(random_drop_mid)
                  END FROM expl WHERE sampled""",
    )
    return {
        "sampled_recommendations": n,
        "sampled_users": _one(ex.con, "SELECT count(DISTINCT user) FROM expl WHERE sampled"),
        "deletion_size": ex.ms[len(ex.ms) // 2],  # the headline's rule: drop@M <= random drop@M
        "not_personal": _one(
            ex.con, "SELECT avg((drop_mid <= random_drop_mid)::INT) FROM expl WHERE sampled"
        ),
        "not_personal_first": next((r["not_personal"] for r in by_rank if r["rank"] == 1), None),
        "by_rank": by_rank,
        "ratio_size": ex.ms[len(ex.ms) // 2],
        "mean_deletion_ratio": ratio,
    }


def summary(ex: Export) -> dict:
    """Every figure of one export as plain JSON-ready data."""
    per_user(ex)
    return {
        "method": ex.method,
        "k": ex.k,
        "n_recommendations": _one(ex.con, "SELECT count(*) FROM expl"),
        "n_users": _one(ex.con, "SELECT count(DISTINCT user) FROM expl"),
        "shapes": shares(ex, "shape"),
        "relations": shares(ex, "relation"),
        "driver_entities": top_drivers(ex, "driver_entity"),
        "driver_items": top_drivers(ex, "driver_item"),
        "bubble": {
            "entity_mean": _one(ex.con, "SELECT avg(bubble_entity) FROM per_user"),
            "relation_mean": _one(ex.con, "SELECT avg(bubble_relation) FROM per_user"),
            "entity": distribution(ex, "bubble_entity"),
            "relation": distribution(ex, "bubble_relation"),
        },
        "distinct_drivers": {
            "mean": _one(ex.con, "SELECT avg(distinct_drivers) FROM per_user"),
            "distribution": distribution(ex, "distinct_drivers"),
        },
        "long_tail": _one(ex.con, "SELECT avg(long_tail::INT) FROM expl"),
        "by_activity": by_activity(ex),
        "by_popularity": by_popularity(ex),
        "personal": personal(ex),
        "path_metrics": metrics.path_metrics(ex.con),
    }


# --- drill-down ----------------------------------------------------------------------------------

DRILLS = {  # what an aggregate's value selects, as a condition on `expl` (one parameter)
    "shape": "shape = ?",
    "relation": "relation = ?",
    "driver_entity": "driver_entity = ?",
    "driver_item": "driver_item = ?",
    "activity_quartile": "activity_quartile = ?",
    "pop_quartile": "pop_quartile = ?",
    "not_personal": "sampled AND (drop_mid <= random_drop_mid) = ?",
    "bubble_entity": "user IN (SELECT user FROM per_user WHERE round(bubble_entity, 4) = ?)",
    "bubble_relation": "user IN (SELECT user FROM per_user WHERE round(bubble_relation, 4) = ?)",
}


def examples(ex: Export, what: str, value, limit: int = EXAMPLES) -> list[dict]:
    """Example recommendations behind one aggregate (`what` in DRILLS, and its value): user,
    item, rank, title, shape, driver; the best-ranked one per user, `limit` users."""
    if what not in DRILLS:
        raise ValueError(f"cannot drill into {what!r}; one of {', '.join(DRILLS)}")
    if what.startswith("bubble"):
        per_user(ex)
    rows = _q(
        ex.con,
        f"""WITH pick AS (
              SELECT user, item, rank, shape, relation,
                     coalesce(driver_name, driver_item_name) AS driver
              FROM expl WHERE {DRILLS[what]}
              QUALIFY row_number() OVER (PARTITION BY user ORDER BY rank) = 1
              ORDER BY rank, user LIMIT ?)
            SELECT p.user, p.item, p.rank, t.title, p.shape, p.relation, p.driver
            FROM pick p LEFT JOIN (SELECT DISTINCT user, item, title FROM read_parquet(?)
                                   WHERE user IN (SELECT user FROM pick)) t USING (user, item)
            ORDER BY p.rank, p.user""",
        [value, limit, ex.files],
    )
    return rows
