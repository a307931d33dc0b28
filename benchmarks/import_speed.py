"""Time `import recbole` on a checkpoint: the restricted read alone and the whole import.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/import_speed.py CHECKPOINT \
        --dataset ../shared/datasets/ml-100k-recbole-kg

Prints one table row: file size, seconds to read it with the restricted unpickler, seconds for
the whole import (dataset loaded beforehand: read, ids, split, model, evaluation, artifact write)
and for loading the dataset. The 100 MB target of issue 25 is on the whole import.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.data import load_dataset  # noqa: E402
from core.store.recbole_import import import_recbole  # noqa: E402
from core.store.safe_checkpoint import load_checkpoint  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint")
    p.add_argument("--dataset", required=True)
    args = p.parse_args()
    path = Path(args.checkpoint)
    t0 = time.perf_counter()
    ds = load_dataset(args.dataset, "recbole")
    t1 = time.perf_counter()
    load_checkpoint(path)
    t2 = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        result = import_recbole(path, ds, args.dataset, Path(out) / "art")
    t3 = time.perf_counter()
    print("| checkpoint | MB | restricted read s | whole import s | dataset load s |")
    print("|---|---:|---:|---:|---:|")
    mb = path.stat().st_size / 1e6
    print(f"| {result.origin.model} | {mb:.1f} | {t2 - t1:.2f} | {t3 - t2:.2f} | {t1 - t0:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
