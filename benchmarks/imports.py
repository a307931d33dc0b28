"""Embedding tables and black-box lists from other systems, imported and checked, in one run.

    make peer   # once: .venv-peer with RecBole 1.2.1
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/imports.py            # ml100k
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/imports.py --cases ml100k ml100k-kg

Per case (RecBole's own split, exported as in benchmarks/vs_recbole.py, read by both sides):
1. RecBole 1.2.1 trains LightGCN at its defaults and dumps its final user / item vectors and
   every user's top-50 (benchmarks/recbole_dump.py, run by .venv-peer: the files come from
   RecBole itself); a numpy ALS (benchmarks/numpy_mf.py) does the same as "any other system".
2. `import embeddings` of each: RecLens's test Recall@20 / NDCG@20 of the artifact against
   RecBole's own on the same split, the largest score difference over 200 random pairs, and the
   artifact's top-50 against the system's own lists (all users).
3. `import lists` of each, with a LightGCN surrogate (and a KGAT one where the dataset has a KG):
   agreement@10 and rank correlation on held-out users, with two references on the same users:
   MostPop, and a RecLens LightGCN trained on the histories alone at its defaults.
Prints markdown tables; nothing is tuned here (the surrogate's settings were chosen on
validation users, core/train/surrogate.py).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.vs_recbole import OUT as VS_OUT  # noqa: E402
from benchmarks.vs_recbole import PEER_PY, export_split  # noqa: E402
from core.data import load_dataset  # noqa: E402
from core.data.toplists import read_lists  # noqa: E402
from core.eval.agreement import agreement  # noqa: E402
from core.models.base import ModelInputs  # noqa: E402
from core.models.registry import build_model  # noqa: E402
from core.store.imported import _split, import_embeddings, import_lists  # noqa: E402
from core.store.training import train_model  # noqa: E402
from core.train.surrogate import SurrogateConfig, cut_users, fit_surrogate  # noqa: E402

OUT = ROOT / "benchmarks" / "out" / "imports"


def _run(cmd: list[str], log: Path) -> None:
    with open(log, "w") as f:
        subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=ROOT, check=True)


def make_files(case: str, fresh: bool) -> dict[str, Path]:
    """The two systems' files for `case`: {"RecBole 1.2.1 LightGCN": folder, "numpy ALS": ...}."""
    splits = export_split(case)
    folder = splits / case
    recbole, als = OUT / f"{case}-lightgcn", OUT / f"{case}-numpy-als"
    OUT.mkdir(parents=True, exist_ok=True)
    if fresh or not (recbole / "recbole.json").exists():
        cmd = [str(PEER_PY), "benchmarks/recbole_dump.py", "--data", str(splits)]
        _run([*cmd, "--dataset", case, "--out", str(recbole)], OUT / f"{case}-recbole.log")
    if fresh or not (als / "lists.csv").exists():
        parts = [str(folder / f"{case}.{p}.inter") for p in ("train", "valid", "test")]
        cmd = [sys.executable, "benchmarks/numpy_mf.py", "--train", parts[0], "--catalogue"]
        _run([*cmd, *parts[1:], "--out", str(als)], OUT / f"{case}-als.log")
    return {"RecBole 1.2.1 LightGCN": recbole, "numpy ALS": als}


def _top(model, users: np.ndarray, train: np.ndarray, k: int) -> np.ndarray:
    """Each user's top k by the artifact, training items masked: int64 [len(users), k]."""
    with torch.no_grad():
        s = model.score(torch.as_tensor(users)).numpy().copy()
    row = {int(u): r for r, u in enumerate(users)}
    for u, i in train:
        if int(u) in row:
            s[row[int(u)], i] = -np.inf
    return np.argsort(-s, axis=1, kind="stable")[:, :k]


def embeddings_row(ds, name: str, folder: Path, work: Path) -> dict:
    if (folder / "users.npy").exists():
        kw = {"users": folder / "users.npy", "user_ids": folder / "users.txt"}
        kw["items"] = folder / "items.csv"
    else:
        kw = {"users": folder / "users.parquet", "items": folder / "items.parquet"}
    t0 = time.perf_counter()
    trained = import_embeddings(ds, out=work / "embeddings", library=name, **kw)
    seconds = time.perf_counter() - t0
    lists = read_lists(folder / "lists.csv", ds)
    users = lists.listed_users
    k = int(lists.ranks.max())
    top = _top(trained.model, users, np.asarray(trained.split.train), k)
    same = np.mean([np.array_equal(top[r], lists.ranked(u)) for r, u in enumerate(users)])
    overlap = np.mean([len(set(top[r]) & set(lists.ranked(u))) / k for r, u in enumerate(users)])
    ref = json.loads((folder / "recbole.json").read_text()) if "RecBole" in name else {}
    test = trained.metrics["test"]
    return {
        "system": name,
        "recall@20": test["recall@20"],
        "ndcg@20": test["ndcg@20"],
        "system recall@20": ref.get("recall@20"),
        "system ndcg@20": ref.get("ndcg@20"),
        "max |score diff|": trained.meta["origin"]["measured"]["max_score_diff"],
        f"top-{k} overlap": float(overlap),
        f"identical top-{k}": float(same),
        "import s": seconds,
    }


def lists_rows(ds, name: str, folder: Path, work: Path, models: list[str], base: dict) -> list:
    rows = []
    for model in models:
        cfg = SurrogateConfig(model=model)
        t0 = time.perf_counter()
        trained = import_lists(
            ds, folder / "lists.csv", config=cfg, out=work / f"surrogate-{model}", library=name
        )
        m = trained.meta["origin"]["measured"]
        rows.append(
            {
                "system": name,
                "surrogate": model,
                "agreement@10 (held out)": m["agreement@10"],
                "rank corr (held out)": m["rank_corr"],
                "held-out users": m["heldout_users"],
                "agreement@10 (fitted users)": m["agreement@10_fitted"],
                "epochs (best)": f"{trained.meta['epochs']} ({trained.meta['best_epoch']})",
                "converged": trained.meta["epochs"] < cfg.epochs,
                "seconds": time.perf_counter() - t0,
                **base[name],
            }
        )
    return rows


def references(ds, files: dict[str, Path], work: Path) -> dict[str, dict]:
    """MostPop and a histories-only RecLens LightGCN, on each system's held-out users."""
    split = _split(ds)
    inputs = ModelInputs.from_dataset(ds, split)
    pop = build_model("mostpop", inputs)
    lgcn = train_model(ds, "lightgcn", split=split, out_dir=work / "lightgcn-histories").model
    out = {}
    cfg = SurrogateConfig()
    for name, folder in files.items():
        lists = read_lists(folder / "lists.csv", ds)
        users = cut_users(lists.listed_users, cfg.holdout, cfg.seed)["test"]
        train = np.asarray(split.train)
        out[name] = {
            "MostPop": agreement(pop, lists, users, train).overlap,
            "LightGCN on histories": agreement(lgcn, lists, users, train).overlap,
        }
    return out


def tune(case: str, settings: list[str]) -> None:
    """Validation only: fit a surrogate of RecBole's lists per JSON of SurrogateConfig fields
    (plus "overrides": model settings) and print its best validation overlap@10; the
    held-out users' agreement is never printed."""
    ds = load_dataset(VS_OUT / "splits" / case)
    lists = read_lists(OUT / f"{case}-lightgcn" / "lists.csv", ds)
    inputs = ModelInputs.from_dataset(ds, _split(ds))
    for text in settings:
        fields = json.loads(text)
        overrides = fields.pop("overrides", None)  # model settings, e.g. {"reg": 1e-5}
        result = fit_surrogate(inputs, lists, SurrogateConfig(**fields), overrides=overrides).result
        row = {"settings": text, "valid": round(result.best_score, 4)}
        row.update(best=result.best_epoch, epochs=result.epochs_run)
        print(json.dumps(row), flush=True)


def table(rows: list[dict]) -> str:
    keys = list(rows[0])

    def cell(v) -> str:
        if isinstance(v, float):
            return f"{v:.2e}" if 0 < abs(v) < 1e-3 else f"{v:.4f}" if abs(v) < 10 else f"{v:.1f}"
        return "-" if v is None else str(v)

    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(cell(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", nargs="*", default=["ml100k"], help="ml100k, ml100k-kg")
    p.add_argument("--fresh", action="store_true", help="re-run RecBole and ALS")
    p.add_argument(
        "--systems", nargs="*", default=["RecBole", "numpy"], help="RecBole and/or numpy (ALS)"
    )
    p.add_argument("--tune", nargs="*", default=None, help="SurrogateConfig JSONs: valid only")
    args = p.parse_args()
    if args.tune is not None:
        tune(args.cases[0], args.tune)
        return 0
    if not PEER_PY.exists():
        p.error(f"{PEER_PY} not found: run `make peer` first")
    for case in args.cases:
        files = {
            name: folder
            for name, folder in make_files(case, args.fresh).items()
            if name.split()[0] in args.systems
        }
        ds = load_dataset(VS_OUT / "splits" / case)
        work = OUT / f"{case}-artifacts"
        emb = [
            embeddings_row(ds, name, folder, work / name.split()[0])
            for name, folder in files.items()
        ]
        base = references(ds, files, work)
        models = ["lightgcn", "kgat"] if len(ds.kg) else ["lightgcn"]
        sur = []
        for name, folder in files.items():
            sur += lists_rows(ds, name, folder, work / name.split()[0], models, base)
        print(f"\n### {case}: embedding tables\n\n{table(emb)}")
        print(f"\n### {case}: black-box lists\n\n{table(sur)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
