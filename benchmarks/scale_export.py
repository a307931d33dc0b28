"""Issue 29's rows of the cost curve (run through benchmarks/scale.py --export / --population):

Export throughput: one fresh process per (model, fidelity, processes) loads a generated sample
(`SampleConfig.scaled`), builds the model with seeded random weights (the cost of explaining
does not depend on what the weights learned; no quality figure comes from these rows), and
times `core.export.export_explanations` of a slice of `--slice` users x top-10, spread over 1
or 2 torchrun processes as explain-all spreads shards. Users per second per process = the
rank's users / its export seconds (loading excluded, reported apart). The 100k-user time is a
projection from the slice's rate, marked as such: without fidelity, and with a fidelity sample
of 1 % of the users (the rest of the users at the no-fidelity rate).

Population queries: an export is scaled to >= `--rows` rows by copying its rows under renamed
users (`user#copy`, side tables copied the same way) and marked synthetic; then a fresh process
(no torch imported) runs `core.population.report.population` on it: query seconds and peak RSS,
with the RSS after imports beside it.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_USERS = 100_000
FIDELITY_SHARE = 0.01  # fidelity sample of the projection: 1 % of the users


def _cpu() -> float:
    """CPU seconds of this process, every thread (a busy shared machine inflates wall time)."""
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- export throughput (worker: one torchrun process) ------------------------------------------


def export_worker(data: str, model_name: str, n: int, fidelities: list[bool], out: str) -> list:
    import dataclasses

    import torch

    from core import export
    from core.data import load_dataset, split_dataset
    from core.explain.context import ExplainContext
    from core.models.base import ModelInputs
    from core.models.registry import build_model, make_config
    from core.train.trainer import TrainConfig

    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    t0 = time.perf_counter()
    ds = load_dataset(data)
    cfg = TrainConfig(device="cpu")
    split = split_dataset(ds, cfg.split_method, cfg.split_ratios, cfg.split_seed)
    inputs = ModelInputs.from_dataset(ds, split)
    torch.manual_seed(0)  # a benchmark process, not core/: model init draws from it
    model = build_model(
        model_name, inputs, dataclasses.asdict(make_config(model_name, None)), "cpu"
    )
    model.eval()
    model.prepare_inference()
    ctx = ExplainContext.from_dataset(ds, split, model)
    load_s = time.perf_counter() - t0
    users = export.all_users_with_history(ctx)[:n]
    rows = []
    for fidelity in fidelities:  # one load, every mode timed after it
        ecfg = export.ExportConfig(k=10, shard_size=max(1, n // 8), fidelity=fidelity,
                                   random_draws=1)  # fmt: skip
        t, cpu = time.perf_counter(), _cpu()
        report = export.export_explanations(ctx, ds, users, Path(out, f"f{int(fidelity)}"), ecfg,
                                            rank, world)  # fmt: skip
        rows.append({"rank": rank, "fidelity": fidelity, "users": report.rows // ecfg.k,
                     "rows": report.rows, "seconds": time.perf_counter() - t,
                     "cpu_s": _cpu() - cpu, "load_s": load_s, "n_users": ds.n_users,
                     "method": export.methods_for(ctx, ecfg)[0]})  # fmt: skip
    for row in rows:
        row["rss_mb"] = _rss_mb()
    Path(out, f"rank-{rank}.json").write_text(json.dumps(rows))
    return rows


def run_export(data: Path, model: str, n: int, procs: int, tmp: Path, timeout: float) -> list:
    """Rows (no fidelity, fidelity on every row) of one run with `procs` processes."""
    out = tmp / f"export-{model}-{procs}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    args = [str(Path(__file__).resolve()), "--export-worker", str(data), model, str(n), "0,1"]
    args += [str(out)]
    cmd = [sys.executable]
    if procs > 1:
        cmd += ["-m", "torch.distributed.run", "--nproc_per_node", str(procs), "--master_port"]
        cmd += [str(_free_port())]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    base = [{"model": model, "fidelity": f, "processes": procs, "slice": n} for f in (False, True)]
    try:
        _run_group(cmd + args, env, timeout)
    except subprocess.TimeoutExpired:
        return [{**b, "cut": f"over the remaining budget ({timeout / 60:.0f} min)"} for b in base]
    except subprocess.CalledProcessError as err:
        why = err.stderr.decode().strip().splitlines()[-1][:120]
        return [{**b, "cut": f"failed: {why}"} for b in base]
    ranks = [json.loads(p.read_text()) for p in sorted(out.glob("rank-*.json"))]
    shutil.rmtree(out, ignore_errors=True)
    rows = []
    for b, per_rank in zip(base, zip(*ranks, strict=True), strict=True):
        wall = max(r["seconds"] for r in per_rank)
        rows.append({**b, "n_users": per_rank[0]["n_users"], "method": per_rank[0]["method"],
                     "export_s": wall, "load_s": max(r["load_s"] for r in per_rank),
                     "rss_mb": max(r["rss_mb"] for r in per_rank),
                     "users_per_s_per_proc": sum(r["users"] / r["seconds"] for r in per_rank)
                     / len(per_rank),
                     "users_per_cpu_s": sum(r["users"] for r in per_rank)
                     / sum(r["cpu_s"] for r in per_rank),
                     "users_per_s": n / wall})  # fmt: skip
    return rows


def _run_group(cmd: list[str], env: dict, timeout: float) -> None:
    """Run `cmd` in its own process group; on a timeout end the whole group (torchrun's
    workers too, which a plain subprocess timeout would leave running)."""
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, cmd, stderr=err)


def export_table(rows: list[dict]) -> str:
    lines = [
        "| model (method) | data users | processes | fidelity | slice users | export s | "
        "users/s per process | users per CPU s | users/s total | load s | peak RSS MB | note |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        if r.get("cut"):
            lines.append(f"| {r['model']} | — | {r['processes']} | {r['fidelity']} | {r['slice']}"
                         f" | — | — | — | — | — | — | **budget-cut: {r['cut']}** |")  # fmt: skip
            continue
        lines.append(
            f"| {r['model']} ({r['method']}) | {r['n_users']} | {r['processes']} | "
            f"{'every row' if r['fidelity'] else 'none'} | {r['slice']} | {r['export_s']:.1f} | "
            f"{r['users_per_s_per_proc']:.2f} | {r['users_per_cpu_s']:.2f} | "
            f"{r['users_per_s']:.2f} | {r['load_s']:.0f} | "
            f"{r['rss_mb']:.0f} | slice, not the {r['n_users']} users |"
        )
    lines += ["", "Projected time for 100k users x top-10 (estimates from the slice rates above): "
              "from the wall rate on this busy machine, and from the CPU rate with one free "
              "core per process (users per CPU s x processes):", ""]  # fmt: skip
    lines += ["| model | processes | no fidelity (wall) | no fidelity (own cores) | "
              "1 % fidelity sample (wall) | 1 % fidelity sample (own cores) |",
              "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for model in dict.fromkeys(r["model"] for r in rows):
        for procs in (1, 2):
            wall = _projection(rows, model, procs, "users_per_s", 1)
            cpu = _projection(rows, model, procs, "users_per_cpu_s", procs)
            if wall[0] is None:
                continue
            cells = [_dur(wall[0]), _dur(cpu[0]), _dur(wall[1]), _dur(cpu[1])]
            lines.append(f"| {model} | {procs} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _rate(rows, model, procs, fidelity, key):
    for r in rows:
        same = (r["model"], r["processes"], r["fidelity"]) == (model, procs, fidelity)
        if same and not r.get("cut"):
            return r[key]
    return None


def _projection(rows, model, procs, key, scale) -> tuple:
    """(seconds without fidelity, seconds with a FIDELITY_SHARE sample) for TARGET_USERS, at
    the rows' rate `key` x `scale`; None where a row is missing or cut."""
    plain, fid = (_rate(rows, model, procs, f, key) for f in (False, True))
    if not plain:
        return None, None
    n, plain = TARGET_USERS, plain * scale
    with_fid = (
        n * (1 - FIDELITY_SHARE) / plain + n * FIDELITY_SHARE / (fid * scale) if fid else None
    )
    return n / plain, with_fid


def _dur(seconds) -> str:
    if seconds is None:
        return "—"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- population queries over a synthetic >= 1M-row export --------------------------------------


def synthesise(source: Path, out: Path, rows: int) -> dict:
    """Copy `source`'s rows under renamed users until >= `rows`; returns the manifest."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from core.population.schema import MANIFEST, PLAN, shard_files
    from core.population.tables import TABLES, table_path

    files = shard_files(source)
    base = pa.concat_tables([pq.read_table(f) for f in files])
    copies = -(-rows // base.num_rows)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)

    def renamed(table, column: str, c: int):
        col = pc.binary_join_element_wise(table[column], pa.scalar(f"{c}"), "#")
        return table.set_column(table.schema.get_field_index(column), column, col)

    per_shard = max(1, 100_000 // base.num_rows)  # copies per shard file: ~100k rows each
    for n, first in enumerate(range(0, copies, per_shard)):
        group = range(first, min(first + per_shard, copies))
        shard = pa.concat_tables([renamed(base, "user", c) for c in group])
        pq.write_table(
            shard.replace_schema_metadata(base.schema.metadata), out / f"shard-{n:05d}.parquet"
        )
    for name in TABLES:
        table = pq.read_table(table_path(source, name))
        if name in ("users", "recency"):
            table = pa.concat_tables([renamed(table, "user", c) for c in range(copies)])
        pq.write_table(table, table_path(out, name))
    plan = json.loads((source / PLAN).read_text())
    manifest = json.loads((source / MANIFEST).read_text())
    manifest.update(
        rows=base.num_rows * copies, shards=copies, synthetic=f"{copies} copies of {source}"
    )
    (out / PLAN).write_text(json.dumps(plan))
    (out / MANIFEST).write_text(json.dumps(manifest))
    return manifest


def population_worker(folder: str) -> dict:
    from core.population.report import population

    before = _rss_mb()
    t, cpu = time.perf_counter(), _cpu()
    res = population(folder)
    return {"rows": res["n_recommendations"], "users": res["n_users"],
            "query_s": res["seconds"], "wall_s": time.perf_counter() - t, "cpu_s": _cpu() - cpu,
            "rss_after_imports_mb": before, "peak_rss_mb": _rss_mb(),
            "torch_loaded": "torch" in sys.modules}  # fmt: skip


def run_population(folder: Path, runs: int = 3) -> list[dict]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--population-worker", str(folder)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = []
    for _ in range(runs):
        res = subprocess.run(cmd, env=env, cwd=ROOT, check=True, capture_output=True, text=True)
        out.append(json.loads(res.stdout.strip().splitlines()[-1]))
    return out


def population_table(source: Path, manifest: dict, runs: list[dict]) -> str:
    lines = [
        f"Synthetic export: {manifest['synthetic']} ({manifest['rows']:,} rows, "
        f"{runs[0]['users']:,} users); DuckDB with 2 threads and a 1 GB memory limit.",
        "",
        "| run | rows | query wall s | query CPU s (2 threads) | peak RSS MB | "
        "RSS after imports MB | torch imported |",
        "|---:|---:|---:|---:|---:|---:|---|",
    ]
    for n, r in enumerate(runs, 1):
        lines.append(f"| {n} | {r['rows']:,} | {r['query_s']:.2f} | {r['cpu_s']:.2f} | "
                     f"{r['peak_rss_mb']:.0f} | "
                     f"{r['rss_after_imports_mb']:.0f} | {r['torch_loaded']} |")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1] == "--export-worker":
        data, model, n, modes, out = sys.argv[2:7]
        fidelities = [m == "1" for m in modes.split(",")]
        print(json.dumps(export_worker(data, model, int(n), fidelities, out)))
    elif sys.argv[1] == "--population-worker":
        print(json.dumps(population_worker(sys.argv[2])))
