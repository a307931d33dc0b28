"""Explanation-path metrics over the population table `expl` (core.population.queries), one
path per recommendation: its top path, as Balloccu et al. select one path per item.

Reference: G. Balloccu, L. Boratto, G. Fenu, M. Marras, "Post Processing Recommender Systems
with Knowledge Graphs for Recency, Popularity, and Diversity of Explanations", SIGIR 2022
(LIR, SEP, ETD); the path-type measures as hopwise's evaluator defines them (PTD, PTC, LID,
SED). Each is averaged first within a user's list, then over users:

- LIR, linking-interaction recency: recency (0 oldest .. 1 newest, smoothed and normalised per
  user: core.population.tables) of the history item the path starts from;
- SEP, shared-entity popularity: popularity of the path's shared KG entity among the entities
  of its relation (degree, smoothed and normalised per relation); KG-entity paths only;
- PTD, path-type diversity (the paper's ETD): distinct path types in the list over
  min(paths in the list, path types in the whole export); a path's type is its last relation;
- PTC, path-type concentration: 1 - sum_t n_t (n_t - 1) / (N (N - 1)), a Simpson index (higher:
  types spread more evenly; 0 for a list of one path);
- LID / SED: distinct linking history items / distinct shared nodes over the list's paths.
"""

from __future__ import annotations

PATH_METRICS_SQL = """
WITH p AS (
  SELECT e.user, e.relation, e.driver_item, e.shared, e.driver_entity, r.lir, en.sep
  FROM expl e
  LEFT JOIN recency r ON r.user = e.user AND r.item = e.driver_item
  LEFT JOIN entities en ON en.entity = e.driver_entity
  WHERE e.relation IS NOT NULL
), types AS (SELECT count(DISTINCT relation) AS t FROM p),
per_type AS (SELECT user, relation, count(*) AS n FROM p GROUP BY ALL),
per_user AS (
  SELECT user, count(*) AS n, avg(lir) AS lir, avg(sep) AS sep,
         count(DISTINCT relation) AS types, count(DISTINCT driver_item) AS items,
         count(DISTINCT shared) AS pivots
  FROM p GROUP BY user
), simpson AS (
  SELECT user, sum(n * (n - 1)) AS same FROM per_type GROUP BY user
)
SELECT avg(u.lir) AS lir, avg(u.sep) AS sep,
       avg(u.types / least(u.n, (SELECT t FROM types))) AS ptd,
       avg(CASE WHEN u.n > 1 THEN 1 - s.same / (u.n * (u.n - 1)) ELSE 0 END) AS ptc,
       avg(u.items / u.n) AS lid, avg(u.pivots / u.n) AS sed,
       count(*) AS users, sum(u.n) AS paths
FROM per_user u JOIN simpson s USING (user)
"""


def path_metrics(con) -> dict:
    """LIR, SEP, PTD, PTC, LID, SED over the users whose recommendations have a path (None
    each when no recommendation has one), with the users and paths counted."""
    cur = con.execute(PATH_METRICS_SQL)
    cols = [d[0] for d in cur.description]
    return dict(zip(cols, cur.fetchone(), strict=True))
