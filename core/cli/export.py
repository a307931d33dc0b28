"""`python -m core explain-all ARTIFACT --out DIR`: precompute every user's top-k explanations.

Under torchrun the users' shards are spread over the ranks (rank r takes shards r, r + W, ...);
a rerun resumes, skipping the shards already written. See core.export for the file layout.

    torchrun --nproc_per_node 4 -m core explain-all workspace/models/sample-kgat --out exports/kgat
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import torch.distributed as dist

from core import export
from core.cli.common import UsageError, dataset_args, load_context
from core.train import distributed
from core.train.distributed import env_rank


def register(sub) -> None:
    """Add `explain-all` to the argparse sub-parsers `sub`."""
    ex = sub.add_parser(
        "explain-all", help="top-k and explanations of many users to Parquet (resumable)"
    )
    ex.add_argument("artifact", help="artifact folder written by `train`")
    ex.add_argument("--out", required=True, help="export folder (resumed when it exists)")
    ex.add_argument(
        "--users", default=None, help="comma-separated raw user ids (default: every user)"
    )
    ex.add_argument("-k", type=int, default=10, help="recommendations per user (default 10)")
    ex.add_argument(
        "--methods", default=None, help="comma-separated (default: the first supported)"
    )
    ex.add_argument("--shard-size", type=int, default=256, help="users per shard (default 256)")
    ex.add_argument("--no-fidelity", action="store_true", help="skip the deletion fidelity")
    ex.add_argument(
        "--fidelity-sample",
        type=int,
        default=0,
        metavar="N",
        help="measure the deletion fidelity on N random users only (seeded by --seed)",
    )
    ex.add_argument("--seed", type=int, default=0, help="random deletions' seed (default 0)")
    ex.add_argument(
        "--random-draws", type=int, default=2, help="random deletions per row (default 2)"
    )
    dataset_args(ex)
    ex.add_argument("--device", default="cpu", help="auto, cpu or cuda (default cpu)")
    ex.set_defaults(handler=cmd_explain_all)


def cmd_explain_all(args: argparse.Namespace) -> int:

    if args.k < 1:
        raise UsageError("-k must be at least 1")
    if args.fidelity_sample < 0 or (args.fidelity_sample and args.no_fidelity):
        raise UsageError("--fidelity-sample takes N >= 1 and cannot go with --no-fidelity")
    rank = env_rank()
    device = args.device
    if rank.world_size > 1:
        _, resolved = distributed.init(args.device)
        device = str(resolved)
    try:
        ds, _, ctx = load_context(args.artifact, args.dataset, args.format, device)
        users = _users(args, ds, ctx)
        cfg = export.ExportConfig(
            k=args.k,
            methods=tuple(args.methods.split(",")) if args.methods else (),
            shard_size=args.shard_size,
            fidelity=not args.no_fidelity,
            fidelity_sample=args.fidelity_sample,
            seed=args.seed,
            random_draws=args.random_draws,
        )
        source = {
            "artifact": str(Path(args.artifact).resolve()),
            "weights": export.artifact_digest(args.artifact),
        }
        try:
            report = export.export_explanations(
                ctx, ds, users, args.out, cfg, rank.rank, rank.world_size, source=source
            )
        except export.ExportError as err:
            raise UsageError(str(err)) from None
        totals, reduced = _totals(report, rank.world_size)
    finally:
        if rank.world_size > 1:
            distributed.shutdown()  # after the barrier every rank's shards are in place
    del reduced  # released only now that the process group is gone (see _totals)
    if not rank.is_main:
        return 0
    manifest = export.finish(args.out)
    written, skipped, rows = totals
    print(
        f"explain-all {ctx.model.name}: {len(users)} users in {report.shards} shards over"
        f" {rank.world_size} process(es): wrote {written}, skipped {skipped} already done"
        f" ({rows} new rows, {manifest['rows']} in all) -> {args.out}"
    )
    return 0


def _users(args: argparse.Namespace, ds, ctx) -> list[int]:

    if args.users is None:
        return export.all_users_with_history(ctx)
    out = []
    for raw in args.users.split(","):
        idx = ds.user_ids.get(raw.strip())
        if idx is None:
            raise UsageError(f"--users: unknown user '{raw.strip()}' in dataset {ds.name}")
        out.append(int(idx))
    return out


def _totals(report, world_size: int) -> tuple[tuple[int, int, int], torch.Tensor | None]:
    """(shards written, shards skipped, rows written) summed over the ranks, and the reduced
    tensor. The caller holds that tensor until the process group is gone: a gloo worker thread
    keeps its last collective's tensor, and if that thread dropped the tensor's last reference
    while the main thread destroys the group (holding the GIL, joining the thread), the two
    would deadlock (seen: rank 1 hung in destroy_process_group on torch 2.2.1)."""
    counts = [len(report.written), len(report.skipped), report.rows]
    if world_size == 1:
        return (counts[0], counts[1], counts[2]), None
    t = torch.tensor(counts, dtype=torch.int64)
    dist.all_reduce(t)
    counts = t.tolist()
    return (counts[0], counts[1], counts[2]), t
