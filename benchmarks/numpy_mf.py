"""A recommender that is not RecLens and not RecBole: implicit-feedback ALS in plain numpy (Hu,
Koren & Volinsky, ICDM 2008), written to show how any system's output becomes RecLens input.

    python benchmarks/numpy_mf.py --train DIR/NAME.train.inter --out DIR \
        --catalogue DIR/NAME.valid.inter DIR/NAME.test.inter

Reads a training file of (user, item) rows (RecBole atomic `.inter` or a CSV with user,item
columns), fits user and item factors, and writes what `python -m core import` reads:
users.parquet and items.parquet (an id column and the vector as one list column) and
lists.csv (`user,item,rank,score`: each user's top --k, training items masked). Imports only
numpy and pandas: no RecLens code, so the files come from outside.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd


def read_pairs(path: Path) -> pd.DataFrame:
    """(user, item) string columns from an atomic `.inter` (tab, typed header) or a CSV."""
    if path.suffix == ".inter":
        frame = pd.read_csv(path, sep="\t", dtype=str)
        frame.columns = [c.split(":")[0] for c in frame.columns]
        return frame.rename(columns={"user_id": "user", "item_id": "item"})[["user", "item"]]
    return pd.read_csv(path, dtype=str)[["user", "item"]]


def als(m: np.ndarray, dim: int, alpha: float, reg: float, iters: int, seed: int):
    """Factors (X [U, d], Y [I, d]) of the binary matrix m [U, I] with confidence 1 + alpha m."""
    gen = np.random.default_rng(seed)
    x = gen.normal(0, 0.01, (m.shape[0], dim))
    y = gen.normal(0, 0.01, (m.shape[1], dim))
    for _ in range(iters):
        x = _solve(m, y, alpha, reg)
        y = _solve(m.T, x, alpha, reg)
    return x, y


def _solve(m: np.ndarray, y: np.ndarray, alpha: float, reg: float) -> np.ndarray:
    """Each row's least squares: (Y'Y + alpha Y'_u Y_u + reg I) x_u = (1 + alpha) Y'_u 1."""
    gram = y.T @ y + reg * np.eye(y.shape[1])
    out = np.empty((m.shape[0], y.shape[1]))
    for r in range(m.shape[0]):
        cols = np.flatnonzero(m[r])
        yu = y[cols]
        out[r] = np.linalg.solve(gram + alpha * yu.T @ yu, (1 + alpha) * yu.sum(0))
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train", required=True, help="training (user, item) rows")
    p.add_argument("--out", required=True)
    p.add_argument(
        "--catalogue",
        nargs="*",
        default=(),
        help="more (user, item) files whose ids also get vectors (e.g. the valid and test parts:"
        " an id seen only there gets the factor its empty row solves to)",
    )
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--alpha", type=float, default=10.0)
    p.add_argument("--reg", type=float, default=10.0)
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--k", type=int, default=50, help="list length per user")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    pairs = read_pairs(Path(args.train))
    everything = pd.concat([pairs, *(read_pairs(Path(f)) for f in args.catalogue)])
    users, items = sorted(everything["user"].unique()), sorted(everything["item"].unique())
    u_idx = {u: i for i, u in enumerate(users)}
    i_idx = {t: i for i, t in enumerate(items)}
    m = np.zeros((len(users), len(items)))
    m[pairs["user"].map(u_idx), pairs["item"].map(i_idx)] = 1
    x, y = als(m, args.dim, args.alpha, args.reg, args.iters, args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"user": users, "vector": list(x.astype(np.float32))}).to_parquet(
        out / "users.parquet"
    )
    pd.DataFrame({"item": items, "vector": list(y.astype(np.float32))}).to_parquet(
        out / "items.parquet"
    )
    scores = x.astype(np.float32) @ y.astype(np.float32).T
    scores[m > 0] = -np.inf
    top = np.argsort(-scores, axis=1, kind="stable")[:, : args.k]
    rows = [
        (users[u], items[i], r + 1, float(scores[u, i]))
        for u in range(len(users))
        for r, i in enumerate(top[u])
    ]
    pd.DataFrame(rows, columns=["user", "item", "rank", "score"]).to_csv(
        out / "lists.csv", index=False
    )
    print(f"wrote {out}: {len(users)} users, {len(items)} items, {len(rows)} list rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
