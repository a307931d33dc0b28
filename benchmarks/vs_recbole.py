"""RecLens against RecBole 1.2.1, side by side on the same split files, in one run.

    make peer                                   # once: .venv-peer with RecBole 1.2.1
    .venv/bin/python benchmarks/vs_recbole.py   # ml100k and ml100k-kg, every model
    .venv/bin/python benchmarks/vs_recbole.py --cases ml100k:bprmf --threads 1 --write

Protocol. RecBole splits each dataset once, exactly as at its defaults (`export` in
benchmarks/recbole_side.py: every rating a positive, per-user random 80/10/10, seed 2020; for a
knowledge-aware model RecBole first drops the interactions of items without a KG link, hence the
separate `ml100k-kg`). Both are MovieLens-100K, named without the hyphen because RecBole reads a
dataset called exactly "ml-100k" from its own bundled copy. The three parts are written as
RecBole atomic files NAME.{train,valid,test}.inter under benchmarks/out/vs_recbole/splits/, and
both libraries read those same files: RecBole through `benchmark_filename`, RecLens through its
`recbole` pre-split loader. Each run is its own process (its peak RSS is its own), one run at a
time, RecBole and RecLens interleaved case by case so that both see the same machine load. Full
ranking; test Recall@20 and NDCG@20 are computed once per run, on the weights chosen on
validation (RecBole by its default MRR@10, RecLens by NDCG@20). Rows: RecBole at its defaults,
RecLens at its library defaults (`python -m core train`), and RecLens at its tuned benchmark
preset (benchmarks/accuracy.py). Speed rows (`:N` after a case, e.g. amazon-book:lightgcn:2)
train N epochs with no validation and test the last model. Ratios are RecBole's time over
RecLens's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out" / "vs_recbole"
CONFIGS = ROOT / "benchmarks" / "configs"
PEER_PY = ROOT / ".venv-peer" / "bin" / "python"
SHARED = Path(os.environ.get("RECLENS_DATASETS", ROOT.parent / "shared" / "datasets"))

# dataset -> (source files (RecBole name: shared file), model RecBole splits it for, preset key)
DATASETS = {
    "ml100k": ({"inter": "ml-100k-recbole-kg/ml-100k.inter"}, "BPR", "ml-100k-recbole-kg"),
    "ml100k-kg": (
        {
            "inter": "ml-100k-recbole-kg/ml-100k.inter",
            "kg": "ml-100k-recbole-kg/ml-100k.kg",
            "link": "ml-100k-recbole-kg/ml-100k.link",
        },
        "KGAT",
        "ml-100k-recbole-kg",
    ),
}
# datasets RecBole cannot read as they come: converted once to NAME.inter (atomic) by
# `convert_hetrec`, then split by RecBole like the others
CONVERTED = {"lastfm-kgcn": "lastfm-kgcn/user_artists.dat"}
DATASETS["lastfm-kgcn"] = ({}, "BPR", "lastfm-kgcn")
# datasets with their own train/test split (KGAT's): RecLens carves 5 % of each user's training
# rows as validation (seed 2020, as benchmarks/accuracy.py does) and writes the three parts once
GIVEN = {"amazon-book": ("kgat-amazon-book", "amazon-book")}  # folder, accuracy preset key
RECBOLE_NAME = {"bprmf": "BPR", "lightgcn": "LightGCN", "kgat": "KGAT"}
DEFAULT_CASES = [
    "ml100k:bprmf",
    "ml100k:lightgcn",
    "ml100k:bprmf:5",
    "ml100k:lightgcn:5",
    "lastfm-kgcn:bprmf",
    "lastfm-kgcn:lightgcn",
    "amazon-book:bprmf:2",
    "amazon-book:lightgcn:2",
    "ml100k-kg:kgat",
]
PARTS = ("train", "valid", "test")


# --- pure parts (tested in tests/benchmarks) -----------------------------------------------------


def write_split(folder: Path, name: str, parts: dict[str, tuple]) -> None:
    """Write NAME.train/valid/test.inter (RecBole atomic files, raw tokens) into `folder`.

    parts: {"train": (users, items), ...}, two equally long sequences of raw tokens per part.
    A token with a tab or a line break cannot be written as an atomic field: ValueError names it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for part in PARTS:
        users, items = parts[part]
        if len(users) != len(items):
            raise ValueError(f"{part}: {len(users)} users but {len(items)} items")
        lines = ["user_id:token\titem_id:token"]
        for row, (u, i) in enumerate(zip(users, items, strict=True), start=1):
            u, i = str(u), str(i)
            if any(c in u + i for c in "\t\r\n") or not u or not i:
                raise ValueError(f"{part} row {row}: token {u!r} / {i!r} is empty or has a tab")
            lines.append(f"{u}\t{i}")
        (folder / f"{name}.{part}.inter").write_text("\n".join(lines) + "\n", encoding="utf-8")


def convert_hetrec(source: Path, target: Path) -> int:
    """hetrec2011's user_artists.dat (`userID artistID weight`, tab-separated, one header line)
    as a RecBole atomic NAME.inter of (user, item) tokens, every row a positive, as RecLens's
    kgcn loader reads it. Returns the number of rows; a malformed line raises ValueError naming
    the file and line."""
    lines = source.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0].strip().lower().split("\t")[:2] != ["userid", "artistid"]:
        raise ValueError(f"{source} line 1: expected the header userID, artistID, weight")
    out = ["user_id:token\titem_id:token"]
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if not line.strip():
            continue
        if len(fields) != 3 or not all(f.strip().isdigit() for f in fields[:2]):
            raise ValueError(f"{source} line {number}: expected userID, artistID, weight: {line!r}")
        out.append(f"{fields[0].strip()}\t{fields[1].strip()}")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(out) + "\n", encoding="utf-8")
    return len(out) - 1


def config_hash(settings: dict) -> str:
    """First 10 hex digits of the sha256 of the settings' canonical JSON."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


COLUMNS = [
    "model",
    "run",
    "Recall@20",
    "NDCG@20",
    "valid NDCG@20",
    "epochs (kept)",
    "stopped by",
    "s/epoch",
    "CPU s/epoch",
    "eval s",
    "peak RSS MB",
    "RecBole/RecLens epoch (wall / CPU)",
    "RecBole/RecLens eval (wall / CPU)",
    "config",
]


def _ratio(peer: dict | None, ours: dict, wall: str, cpu: str) -> str:
    """RecBole's seconds over ours, wall clock / CPU (the CPU ratio is steadier on a busy
    machine: a single-threaded run waiting for a core adds wall time but no CPU time)."""

    def one(key: str) -> str:
        a, b = (peer or {}).get(key), ours.get(key)
        return f"{a / b:.1f}x" if a and b else "–"

    return f"{one(wall)} / {one(cpu)}"


def table(rows: list[dict]) -> str:
    """One markdown table for one dataset: per model the RecBole row, then the RecLens rows,
    each RecLens row with RecBole's time over its own (epoch, evaluation). A failed run shows
    its error in place of figures."""
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "|---|---|" + "---:|" * 4 + "---|" + "---:|" * 6 + "---|",
    ]
    groups = list(dict.fromkeys((r["model"], _is_speed(r)) for r in rows))
    for model, speed in groups:  # a speed row's ratio is to RecBole's speed row, and so on
        group = [r for r in rows if r["model"] == model and _is_speed(r) == speed]
        peer = next((r for r in group if r["library"] == "recbole" and "error" not in r), None)
        for r in sorted(group, key=lambda r: r["library"] != "recbole"):
            lines.append("| " + " | ".join(_cells(r, peer)) + " |")
    return "\n".join(lines)


def _is_speed(r: dict) -> bool:
    """A fixed-epoch speed row (no validation), told apart from an early-stopped one."""
    return bool(r.get("fixed")) or ("best_valid" in r and r["best_valid"] is None)


def _cells(r: dict, peer: dict | None) -> list[str]:
    run = r["library"] if r["library"] == "recbole" else f"reclens {r['preset']}"
    if "error" in r:
        return [r["model"], run, f"failed: {r['error'][:90]}"] + [""] * (len(COLUMNS) - 3)
    ours = r["library"] == "reclens"
    stop = "fixed epochs" if _is_speed(r) else ("early stop" if r["converged"] else "epoch cap")
    return [
        r["model"],
        run,
        f"{r['recall@20']:.4f}",
        f"{r['ndcg@20']:.4f}",
        f"{r['valid_ndcg@20']:.4f}" if r.get("valid_ndcg@20") is not None else "–",
        f"{r['epochs']} ({r['best_epoch']})",
        stop,
        f"{r['s_per_epoch']:.2f}",
        f"{r['cpu_s_per_epoch']:.2f}",
        f"{r['eval_s']:.2f}",
        f"{r['peak_rss_mb']:.0f}",
        _ratio(peer, r, "s_per_epoch", "cpu_s_per_epoch") if ours else "",
        _ratio(peer, r, "eval_s", "eval_cpu_s") if ours else "",
        f"`{r['config_hash']}`",
    ]


def parse_case(text: str) -> tuple[str, str, int | None]:
    """ "dataset:model" or "dataset:model:epochs" (a speed row of that many fixed epochs)."""
    bits = text.split(":")
    if len(bits) not in (2, 3) or bits[1] not in RECBOLE_NAME:
        raise ValueError(
            f"case {text!r}: expected DATASET:MODEL[:EPOCHS], model in bprmf, lightgcn, kgat"
        )
    return bits[0], bits[1], int(bits[2]) if len(bits) == 3 else None


def seed_summary(rows: list[dict]) -> str:
    """A markdown table of a seed study: per library (and RecLens preset) the validation
    NDCG@20 of each seed, their mean and sample sd, and the kept epochs; then the difference of
    the means with its standard error (the two sets of seeds are independent). rows: the `--tune`
    rows of both libraries ({"library", "seed", "valid": {"ndcg@20"}, "best_epoch"}, RecLens's
    also "preset"); a failed run ({"error"}) is listed as failed, not averaged."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        name = r["library"] if r["library"] == "recbole" else f"reclens {r.get('preset')}"
        groups.setdefault(name, []).append(r)
    lines = [
        "| run | seeds | valid NDCG@20 per seed | mean | sd | epochs kept |",
        "|---|---|---|---:|---:|---|",
    ]
    stats = {}
    for name, group in groups.items():
        ok = [r for r in group if "error" not in r]
        vals = [r["valid"]["ndcg@20"] for r in ok]
        per_seed = ", ".join(f"{v:.4f}" for v in vals) + "".join(
            f", seed {r.get('seed')} failed" for r in group if "error" in r
        )
        mean = sum(vals) / len(vals) if vals else float("nan")
        sd = (sum((v - mean) ** 2 for v in vals) / (len(vals) - 1)) ** 0.5 if len(vals) > 1 else 0.0
        stats[name] = (mean, sd, len(vals))
        seeds = ", ".join(str(r.get("seed")) for r in group)
        kept = ", ".join(str(r["best_epoch"]) for r in ok)
        lines.append(f"| {name} | {seeds} | {per_seed} | {mean:.4f} | {sd:.4f} | {kept} |")
    if "recbole" in stats:
        m0, s0, n0 = stats["recbole"]
        for name, (m, sd, n) in stats.items():
            if name != "recbole" and n and n0:
                se = (s0**2 / n0 + sd**2 / n) ** 0.5
                lines.append(
                    f"\n{name} minus recbole: {m - m0:+.4f} (standard error {se:.4f}, "
                    f"{n} and {n0} seeds)"
                )
    return "\n".join(lines)


# --- the RecLens side (a child process of this script) ----------------------------------------


# RecLens configured like RecBole 1.2.1's defaults (batches of 2048 too: equal work per epoch)
AS_RECBOLE = {
    "bprmf": ({"lr": 1e-3, "batch_size": 2048}, {"reg": 0.0}),
    "lightgcn": ({"lr": 1e-3, "batch_size": 2048}, {"n_layers": 2, "reg": 1e-5}),
    "kgat": (
        {"lr": 1e-3, "batch_size": 2048},
        {"layer_dims": [64], "kg_triples": "kg", "reg": 1e-5, "aggregator": "bi-interaction"}
        | {"combine": "concat", "normalize": True, "mess_dropout": 0.1},
    ),
}


def preset(dataset: str, model: str, which: str) -> tuple[dict, dict]:
    """(TrainConfig settings, model settings) of RecLens's `default` (the library's own),
    `tuned` (benchmarks/accuracy.py's preset for the benchmark dataset behind `dataset`) or
    `as-recbole` (RecBole's default settings, for like-for-like speed)."""
    if which == "default":
        return {}, {}
    if which == "as-recbole":
        return AS_RECBOLE[model]
    sys.path.insert(0, str(ROOT))
    from benchmarks import accuracy as acc

    key = DATASETS[dataset][2] if dataset in DATASETS else GIVEN[dataset][1]
    sampling = {k: v for k, v in acc.DATASET_TRAIN.get(key, {}).items() if k != "split_ratios"}
    train = {**acc.TRAIN.get(model, {}), **sampling, **acc.PAIR_TRAIN.get((key, model), {})}
    settings = {**acc.MODEL.get(model, {}), **acc.DATASET_MODEL.get((key, model), {})}
    return train, settings


def run_reclens(args: argparse.Namespace) -> dict:
    import resource

    import torch

    sys.path.insert(0, str(ROOT))
    import core.train.trainer as trainer
    from core.data import load_dataset, split_dataset
    from core.eval.runner import evaluate
    from core.store.training import train_model
    from core.train import TrainConfig

    torch.set_num_threads(args.threads)
    folder, model = Path(args.reclens_one[0]), args.reclens_one[1]
    ds = load_dataset(folder, "recbole")
    split = split_dataset(ds, "given")  # the files' train / valid / test, exactly
    train_settings, overrides = preset(args.dataset, model, args.preset)
    overrides = {**overrides, **json.loads(args.set or "{}")}
    train_settings = {**train_settings, **json.loads(args.train_set or "{}")}
    if args.fixed:  # a speed row: exactly that many epochs, validated only after the last
        train_settings.update(epochs=args.fixed, fixed_epochs=True, eval_every=args.fixed + 1)
    cfg = TrainConfig(device="cpu", **train_settings)
    cpu: list[float] = []
    real_epoch = trainer._Loop.run_epoch

    def timed_epoch(self, *a, **kw):  # CPU seconds of the training part of each epoch
        c0 = time.process_time()
        out = real_epoch(self, *a, **kw)
        cpu.append(time.process_time() - c0)
        return out

    trainer._Loop.run_epoch = timed_epoch
    trained = train_model(
        ds, model, overrides=overrides, train_config=cfg, split=split, evaluate_test=not args.tune
    )
    res = trained.result
    if args.tune:  # validation figures of the kept epoch and the curve; test is never scored
        return {
            "model": model,
            "dataset": args.dataset,
            "preset": args.preset,
            "set": overrides,
            "train_set": train_settings,
            "valid": {k: trained.metrics["valid"][k] for k in ("recall@20", "ndcg@20")},
            "epochs": res.epochs_run,
            "best_epoch": res.best_epoch,
            "curve": [round(h.get("val_ndcg@20", float("nan")), 4) for h in res.history],
        }
    e0, c0 = time.perf_counter(), time.process_time()  # RecBole's metric set: @10 and @20
    evaluate(trained.model, split.train, split.test, valid=split.valid, beyond_accuracy=False)
    eval_s, eval_cpu_s = time.perf_counter() - e0, time.process_time() - c0
    test = trained.metrics["test"]
    return {
        "library": "reclens",
        "preset": args.preset,
        "model": model,
        "dataset": args.dataset,
        "recall@20": test["recall@20"],
        "ndcg@20": test["ndcg@20"],
        "epochs": res.epochs_run,
        "best_epoch": res.best_epoch,
        "fixed": bool(args.fixed),
        "converged": res.stopped_early,
        "best_valid": res.best_score,
        "valid_metric": res.monitor,
        "valid_ndcg@20": None if args.fixed else res.best_score,
        "s_per_epoch": res.mean_epoch_seconds,
        "cpu_s_per_epoch": sum(cpu) / max(1, len(cpu)),
        "eval_s": eval_s,
        "eval_cpu_s": eval_cpu_s,
        "train_s": res.train_seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "threads": args.threads,
        "seed": cfg.seed,
        "config": {"train": trained.meta["train_config"], "model": trained.meta["config"]},
        "sizes": [len(split.train), len(split.valid), len(split.test)],
    }


# --- orchestration ------------------------------------------------------------------------------


def _child(cmd: list[str], log: Path, timeout: float | None = None) -> dict:
    """Run one benchmark process; its last JSON line is the row (stderr goes to `log`). A run
    past `timeout` seconds is stopped and its row says so (budget-cut, no figures)."""
    with open(log, "w") as err:
        try:
            proc = subprocess.run(
                cmd, stdout=subprocess.PIPE, stderr=err, text=True, cwd=ROOT, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            return {"error": f"budget-cut: stopped after the {timeout:.0f} s per-run limit"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = [ln.strip() for ln in log.read_text().splitlines() if ln.strip()] or ["no output"]
        return {"error": tail[-1]}
    return json.loads(lines[-1])


def stage_source(dataset: str) -> Path:
    """OUT/source/DATASET/DATASET.{inter,kg,link}: symlinks to the shared files, named as
    RecBole expects; returns OUT/source."""
    files, _, _ = DATASETS[dataset]
    folder = OUT / "source" / dataset
    folder.mkdir(parents=True, exist_ok=True)
    if dataset in CONVERTED and not (folder / f"{dataset}.inter").exists():
        convert_hetrec(SHARED / CONVERTED[dataset], folder / f"{dataset}.inter")
    for ext, rel in files.items():
        link = folder / f"{dataset}.{ext}"
        if not link.exists():
            link.symlink_to(SHARED / rel)
    return OUT / "source"


def export_given(dataset: str, target: Path) -> dict:
    """A given-split dataset's parts (5 % of train carved out as validation) as atomic files."""
    sys.path.insert(0, str(ROOT))
    from core.data import load_dataset, split_dataset

    ds = load_dataset(SHARED / GIVEN[dataset][0])
    split = split_dataset(ds, "given", (0.95, 0.05, 0.0), 2020)
    parts = {}
    for name, arr in zip(PARTS, (split.train, split.valid, split.test), strict=True):
        parts[name] = (
            [ds.user_ids.raw[u] for u in arr[:, 0]],
            [ds.item_ids.raw[i] for i in arr[:, 1]],
        )
    write_split(target, dataset, parts)
    return {
        "dataset": dataset,
        "split": "given, 5 % of train as valid, seed 2020",
        "sizes": {k: len(v[0]) for k, v in parts.items()},
    }


def export_split(dataset: str) -> Path:
    """The split of `dataset` (RecBole's own, or a given one), written once; returns OUT/splits
    (holding DATASET/)."""
    splits = OUT / "splits"
    target = splits / dataset
    if dataset in GIVEN and not (target / f"{dataset}.test.inter").exists():
        info = export_given(dataset, target)
        (target / "export.json").write_text(json.dumps(info, indent=1))
    if not (target / f"{dataset}.test.inter").exists():
        source = stage_source(dataset)
        cmd = [
            str(PEER_PY),
            "benchmarks/recbole_side.py",
            "export",
            "--source",
            str(source),
            "--dataset",
            dataset,
            "--model",
            DATASETS[dataset][1],
            "--out",
            str(target),
        ]
        info = _child(cmd, OUT / f"export-{dataset}.log")
        if "error" in info:
            raise SystemExit(f"RecBole could not export {dataset}: {info['error']}")
        (target / "export.json").write_text(json.dumps(info, indent=1))
    return splits


def record_config(row: dict) -> dict:
    """Store the row's resolved config under benchmarks/configs/HASH.json; the row keeps HASH."""
    if "config" in row:
        h = config_hash({"library": row["library"], "model": row["model"], **row["config"]})
        CONFIGS.mkdir(parents=True, exist_ok=True)
        (CONFIGS / f"{h}.json").write_text(json.dumps(row["config"], indent=1, sort_keys=True))
        row["config_hash"] = h
    return row


def presets_of(dataset: str, model: str, presets: list[str]) -> list[str]:
    """`presets` without those that resolve to the same settings as an earlier one (the tuned
    preset of a dataset without its own tuning is the default), so no run is made twice."""
    kept, seen = [], []
    for which in presets:
        resolved = _resolved(model, preset(dataset, model, which))
        if resolved not in seen:
            kept.append(which)
            seen.append(resolved)
    return kept


def _resolved(model: str, settings: tuple[dict, dict]) -> str:
    """The settings as a model default would fill them (lr / batch None: the model's own)."""
    sys.path.insert(0, str(ROOT))
    from core.models.registry import MODELS

    cls = MODELS[model]
    train, model_set = settings
    train = {"lr": cls.default_lr, "batch_size": cls.default_batch_size, **train}
    return json.dumps([train, model_set], sort_keys=True, default=str)


def run_case(dataset: str, model: str, fixed: int | None, args) -> list[dict]:
    splits = export_split(dataset)
    tag = f"{dataset}-{model}" + (f"-{fixed}ep" if fixed else "")
    common = ["--threads", str(args.threads)]
    peer = [
        str(PEER_PY),
        "benchmarks/recbole_side.py",
        "train",
        "--data",
        str(splits),
        "--dataset",
        dataset,
        "--model",
        RECBOLE_NAME[model],
        *common,
    ]
    if fixed:
        peer += ["--epochs", str(fixed), "--fixed-epochs"]
    if args.max_epochs:
        peer += ["--epochs", str(args.max_epochs)] if not fixed else []
    rows = []
    runs = [("recbole", peer)]
    for which in presets_of(dataset, model, args.speed_presets if fixed else args.presets):
        ours = [
            sys.executable,
            __file__,
            "--reclens-one",
            str(splits / dataset),
            model,
            "--dataset",
            dataset,
            "--preset",
            which,
            *common,
        ]
        if fixed:
            ours += ["--fixed", str(fixed)]
        elif args.max_epochs:  # the same cap for both libraries
            ours += ["--train-set", json.dumps({"epochs": args.max_epochs})]
        runs.append((f"reclens-{which}", ours))
    for name, cmd in runs:
        t0 = time.perf_counter()
        row = _child(cmd, OUT / f"{tag}-{name}.log", args.run_timeout)
        row.setdefault("library", name.split("-")[0])
        row.setdefault("preset", name.split("-", 1)[-1])
        row["model"] = model  # RecBole's rows say "BPR"; the tables group by RecLens's names
        row["dataset"], row["load"] = dataset, os.getloadavg()[0]
        row["wall_s"] = time.perf_counter() - t0
        rows.append(record_config(row))
        print(json.dumps({k: v for k, v in row.items() if k != "config"}), flush=True)
    return rows


def run_seed_study(dataset: str, model: str, seeds: list[int], args) -> list[dict]:
    """Validation only (test is never scored): RecBole at its defaults and RecLens at each of
    `args.presets`, once per seed, interleaved seed by seed. The split files stay the same; the
    seed moves the initial weights, the batch order and the negatives."""
    splits = export_split(dataset)
    rows = []
    for seed in seeds:
        peer = [str(PEER_PY), "benchmarks/recbole_side.py", "train", "--data", str(splits)]
        peer += ["--dataset", dataset, "--model", RECBOLE_NAME[model], "--tune"]
        peer += ["--threads", str(args.threads), "--seed", str(seed)]
        runs = [("recbole", peer)]
        for which in args.presets:
            ours = [sys.executable, __file__, "--reclens-one", str(splits / dataset), model]
            ours += ["--dataset", dataset, "--preset", which, "--threads", str(args.threads)]
            ours += ["--tune", "--train-set", json.dumps({"seed": seed})]
            runs.append((f"reclens-{which}", ours))
        for name, cmd in runs:
            log = OUT / f"seeds-{dataset}-{model}-{name}-{seed}.log"
            row = _child(cmd, log, args.run_timeout)
            row.setdefault("library", name.split("-")[0])
            row.setdefault("preset", name.split("-", 1)[-1])
            row["seed"], row["load"] = seed, os.getloadavg()[0]
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def markdown(all_rows: list[dict], note: str) -> str:
    ours = {v: k for k, v in RECBOLE_NAME.items()}
    all_rows = [{**r, "model": ours.get(r["model"], r["model"])} for r in all_rows]
    parts = []
    for dataset in dict.fromkeys(r["dataset"] for r in all_rows):
        rows = [r for r in all_rows if r["dataset"] == dataset]
        sizes = next((r["sizes"] for r in rows if r.get("sizes")), None)
        head = f"#### {dataset}" + (f" (train / valid / test rows {sizes})" if sizes else "")
        parts.append(f"{head}\n\n{table(rows)}{_load_line(rows)}")
    return "\n\n".join(parts) + f"\n\n{note}"


def _load_line(rows: list[dict]) -> str:
    """The 1-minute load average when each run of the table ended (2 cores here)."""
    loads = [r["load"] for r in rows if r.get("load") is not None]
    return (
        f"\n\nLoad average at the end of each run: {min(loads):.1f}-{max(loads):.1f}."
        if loads
        else ""
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", nargs="+", default=DEFAULT_CASES, help="DATASET:MODEL[:EPOCHS]")
    p.add_argument("--presets", nargs="+", default=["default", "tuned"])
    p.add_argument(
        "--speed-presets",
        nargs="+",
        default=["default", "as-recbole"],
        help="RecLens presets of the speed rows (DATASET:MODEL:EPOCHS)",
    )
    p.add_argument("--threads", type=int, default=1, help="torch threads of every run")
    p.add_argument(
        "--max-epochs",
        type=int,
        default=None,
        help="cap the epochs of both (RecBole's default is 300, RecLens's 100)",
    )
    p.add_argument(
        "--run-timeout",
        type=float,
        default=None,
        help="stop any one run after this many seconds; its row then says budget-cut",
    )
    p.add_argument("--write", action="store_true", help="put the tables into RESULTS.md")
    p.add_argument(
        "--from-json",
        nargs="+",
        default=None,
        help="no runs: build the tables from the rows.json files of earlier invocations",
    )
    p.add_argument("--json", default=str(OUT / "rows.json"), help="all rows, configs included")
    p.add_argument(
        "--seed-study",
        metavar="DATASET:MODEL",
        default=None,
        help="validation only: both libraries once per --seeds, mean and sd (never test)",
    )
    p.add_argument("--seeds", nargs="+", type=int, default=[2020, 1, 2, 3, 4])
    one = p.add_argument_group("one RecLens run (what the table runs call; also for tuning)")
    one.add_argument("--reclens-one", nargs=2, metavar=("FOLDER", "MODEL"), help="split folder")
    one.add_argument("--dataset", help="the dataset's name in this script (e.g. ml100k)")
    one.add_argument("--preset", default="default", help="default, tuned or as-recbole")
    one.add_argument("--fixed", type=int, default=None, help="train exactly N epochs")
    one.add_argument("--set", default=None, help="model settings on top, as JSON")
    one.add_argument("--train-set", default=None, help="TrainConfig settings on top, as JSON")
    one.add_argument("--tune", action="store_true", help="validation figures only, never test")
    args = p.parse_args()
    if args.reclens_one:
        print(json.dumps(run_reclens(args)))
        return 0
    if not PEER_PY.exists():
        p.error(f"{PEER_PY} not found: run `make peer` first")
    if args.seed_study:
        dataset, model, _ = parse_case(args.seed_study)
        OUT.mkdir(parents=True, exist_ok=True)
        presets = args.presets if "--presets" in sys.argv else ["default"]
        args.presets = presets
        rows = run_seed_study(dataset, model, args.seeds, args)
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        cmd = "python benchmarks/vs_recbole.py " + shlex.join(sys.argv[1:])
        loads = [r["load"] for r in rows]
        text = (
            f"#### {dataset} {model}: validation NDCG@20 over seeds\n\n{seed_summary(rows)}\n\n"
            f"{when}, `{cmd}` ({args.threads} thread(s) per run, CPU; load average at the end "
            f"of each run {min(loads):.1f}-{max(loads):.1f})"
        )
        Path(args.json).write_text(json.dumps({"note": text, "rows": rows}, indent=1))
        print("\n" + text)
        return 0 if all("error" not in r for r in rows) else 1
    if args.from_json:
        rows, notes = [], []
        for path in args.from_json:
            data = json.loads(Path(path).read_text())
            rows += data["rows"]
            notes.append(data["note"])
        text = markdown(rows, "Runs: " + "; ".join(notes))
    else:
        cases = [parse_case(c) for c in args.cases]
        OUT.mkdir(parents=True, exist_ok=True)
        rows = []
        for dataset, model, fixed in cases:
            rows += run_case(dataset, model, fixed, args)
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        cmd = "python benchmarks/vs_recbole.py " + shlex.join(sys.argv[1:])
        note = f"{when}, `{cmd}` ({args.threads} thread(s) per run, CPU)"
        Path(args.json).write_text(json.dumps({"note": note, "rows": rows}, indent=1))
        text = markdown(rows, note)
    print("\n" + text)
    if args.write:
        sys.path.insert(0, str(ROOT))
        from benchmarks.explain_common import write_section

        write_section("vs-recbole", text)
    return 0 if all("error" not in r for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
