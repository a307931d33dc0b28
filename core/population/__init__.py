"""Population figures over an `explain-all` export: SQL (DuckDB) over its Parquet files.

- `tables.py`: the small side tables the export writes next to its shards (item popularity and
  long tail, user activity, recency of each history item, KG-entity degree), so every figure is
  a query over the export folder alone.
- `queries.py`: the figures (shares per explanation shape and relation, drivers, bubbles, how
  personal, cohorts, long-tail exposure) and `population(export) -> dict`.
- `metrics.py`: the explanation-path metrics of Balloccu et al. (SIGIR 2022) and hopwise (LIR,
  SEP, PTD, PTC, LID, SED), as SQL.

Nothing here imports a submodule at package import (core.export imports `tables`).
"""
