"""Side tables of an export: what population queries join the explanation rows with.

Written once per export folder (by rank 0, atomically) from the dataset and the explanation
context the export ran on, all keyed by raw ids:

- `items.parquet`: item, popularity (training interactions), popularity quartile (1 = least
  popular), long_tail (outside the 20 % most-interacted items, the usual Pareto cut);
- `users.parquet`: user, n_history (training items), activity quartile (1 = least active);
- `recency.parquet`: user, item, lir: each training-history item's recency, 0 (oldest) .. 1
  (newest), as the exponentially weighted moving average of the user's sorted interaction
  times, min-max normalised per user (Balloccu et al., SIGIR 2022, "LIR");
- `entities.parquet`: entity, relation, degree (KG triples it is in), sep: the same smoothing
  over the degrees of the entities reached by one relation, min-max normalised ("SEP").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

TABLES = ("items", "users", "recency", "entities")
BETA = 0.3  # smoothing of the moving average behind LIR and SEP (our choice; see docs)
TAIL_HEAD_SHARE = 0.2  # items outside the most popular 20 % are the long tail


def table_path(out: Path, name: str) -> Path:
    return Path(out) / f"{name}.parquet"


def normalised_ema(values: np.ndarray, beta: float = BETA) -> np.ndarray:
    """EWMA of ascending `values` (ema_0 = v_0, ema_i = (1-beta) ema_{i-1} + beta v_i), min-max
    normalised to [0, 1]; all zeros when the values are all equal. float [n]."""
    ema = np.empty(len(values), dtype=np.float64)
    acc = 0.0
    for i, v in enumerate(np.asarray(values, dtype=np.float64)):
        acc = v if i == 0 else (1 - beta) * acc + beta * v
        ema[i] = acc
    span = ema.max() - ema.min() if len(ema) else 0.0
    return (ema - ema.min()) / span if span > 0 else np.zeros(len(ema))


def quartiles(values: np.ndarray) -> np.ndarray:
    """Quartile 1..4 of each value by rank (ties broken by position). int [n]."""
    order = np.argsort(values, kind="stable")
    q = np.empty(len(values), dtype=np.int64)
    q[order] = np.arange(len(values)) * 4 // max(len(values), 1) + 1
    return q


def items_table(ds, train: np.ndarray) -> pd.DataFrame:
    pop = np.bincount(train[:, 1], minlength=ds.n_items)
    head = max(1, int(round(TAIL_HEAD_SHARE * ds.n_items)))
    order = np.argsort(-pop, kind="stable")
    tail = np.ones(ds.n_items, dtype=bool)
    tail[order[:head]] = False
    return pd.DataFrame(
        {"item": list(ds.item_ids.raw), "popularity": pop, "pop_quartile": quartiles(pop),
         "long_tail": tail}
    )  # fmt: skip


def users_table(ds, ptr: np.ndarray) -> pd.DataFrame:
    n = np.diff(ptr)
    return pd.DataFrame(
        {"user": list(ds.user_ids.raw), "n_history": n, "activity_quartile": quartiles(n)}
    )


def recency_table(ds, ptr: np.ndarray, items: np.ndarray) -> pd.DataFrame:
    """LIR per (user, history item); order by timestamp when the data has one, else by the
    order of the training rows."""
    times = None
    if "timestamp" in ds.interactions.columns:
        inter = ds.interactions
        key = inter["user"].to_numpy() * ds.n_items + inter["item"].to_numpy()
        times = pd.Series(inter["timestamp"].to_numpy(), index=key)
        times = times.groupby(level=0).max()
    users, hist, lir = [], [], []
    for u in range(len(ptr) - 1):
        h = items[ptr[u] : ptr[u + 1]]
        if not len(h):
            continue
        t = times.reindex(u * ds.n_items + h).to_numpy() if times is not None else None
        t = np.arange(len(h), dtype=np.float64) if t is None or np.isnan(t).any() else t
        order = np.argsort(t, kind="stable")
        value = np.empty(len(h))
        value[order] = normalised_ema(t[order])
        users.append(np.full(len(h), u))
        hist.append(h)
        lir.append(value)
    u = np.concatenate(users) if users else np.zeros(0, dtype=np.int64)
    h = np.concatenate(hist) if hist else np.zeros(0, dtype=np.int64)
    raw_u = np.asarray(ds.user_ids.raw, dtype=object)
    raw_i = np.asarray(ds.item_ids.raw, dtype=object)
    lir_all = np.concatenate(lir) if lir else np.zeros(0)
    return pd.DataFrame({"user": raw_u[u], "item": raw_i[h], "lir": lir_all})


def entities_table(ds) -> pd.DataFrame:
    """Degree and SEP of every KG entity that some triple reaches (its relation: the one it is
    reached by most often)."""
    kg = ds.kg
    if kg.empty:
        return pd.DataFrame({"entity": [], "relation": [], "degree": [], "sep": []})
    degree = np.bincount(np.concatenate([kg["head"], kg["tail"]]), minlength=ds.n_entities)
    reached = kg.groupby(["tail", "relation"]).size().reset_index(name="n")
    reached = reached.sort_values(["tail", "n"], ascending=[True, False]).drop_duplicates("tail")
    frame = pd.DataFrame(
        {"entity_idx": reached["tail"].to_numpy(), "rel": reached["relation"].to_numpy()}
    )
    frame["degree"] = degree[frame["entity_idx"]]
    frame["sep"] = 0.0
    for _, idx in frame.groupby("rel").groups.items():
        part = frame.loc[idx].sort_values("degree", kind="stable")
        frame.loc[part.index, "sep"] = normalised_ema(part["degree"].to_numpy())
    names = np.asarray(ds.relation_names, dtype=object)
    raw = np.asarray(ds.entity_ids.raw, dtype=object)
    return pd.DataFrame(
        {"entity": raw[frame["entity_idx"]], "relation": names[frame["rel"]],
         "degree": frame["degree"].to_numpy(), "sep": frame["sep"].to_numpy()}
    )  # fmt: skip


def side_tables(ds, ptr: np.ndarray, items: np.ndarray) -> dict[str, pd.DataFrame]:
    """The four tables from the training-history CSR (ptr int64 [U + 1], items int64 [N])."""
    train = np.stack([np.repeat(np.arange(len(ptr) - 1), np.diff(ptr)), items], axis=1)
    return {
        "items": items_table(ds, train),
        "users": users_table(ds, ptr),
        "recency": recency_table(ds, ptr, items),
        "entities": entities_table(ds),
    }


def write_side_tables(out: Path, tables: dict[str, pd.DataFrame], write) -> None:
    """Each table through `write(table, path)` (the export's atomic writer), unless present."""
    for name, frame in tables.items():
        path = table_path(out, name)
        if not path.is_file():
            write(pa.Table.from_pandas(frame, preserve_index=False), path)


def read_side_table(out: Path, name: str) -> pa.Table:
    return pq.read_table(table_path(out, name))
