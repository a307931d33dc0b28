"""`--items` on `recommend` / `explain` (a new user folded in from raw item ids) and
`python -m core launch` (a new item placed from its KG attributes, and who it would reach)."""

from __future__ import annotations

import argparse
import json

from core.cli.common import UsageError, load_context
from core.explain import cold, whatif
from core.explain.context import ExplainContext


def items_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--items",
        default=None,
        help="comma-separated raw item ids: a new user with this history, folded in "
        "(instead of --user)",
    )


def user_or_items(args: argparse.Namespace) -> None:
    """Exactly one of --user and --items, or a UsageError."""
    if (args.user is None) == (args.items is None):
        raise UsageError("give either --user RAW_ID or --items RAW1,RAW2,... (not both)")


def folded(args: argparse.Namespace) -> tuple[ExplainContext, cold.FoldedContext]:
    """(the artifact's context, the new user of --items folded into a copy of it)."""
    _, _, ctx = load_context(args.artifact, args.dataset, args.format, args.device)
    raw = [r for r in args.items.split(",") if r.strip()]
    try:
        return ctx, cold.folded_context(ctx, cold.items_from_raw(ctx, raw))
    except ValueError as err:
        raise UsageError(str(err)) from None


def cmd_recommend_items(args: argparse.Namespace) -> int:
    """`recommend ARTIFACT --items ...`: the folded-in user's top-k."""
    ctx, fc = folded(args)
    items, scores = whatif.profile_top_k(fc, args.k)
    rows = [
        {"rank": r + 1, "item": ctx.item_raw[i], "title": ctx.entity_names[i], "score": float(s)}
        for r, (i, s) in enumerate(zip(items.tolist(), scores, strict=True))
    ]
    profile = [ctx.item_raw[i] for i in fc.folded.items]
    note = "the same list for everyone" if fc.same_for_everyone else fc.folded.method
    if args.json:
        out = {"user": cold.NEW_USER, "profile": profile, "model": ctx.model.name,
               "fold_in": fc.folded.method, "same_for_everyone": fc.same_for_everyone,
               "items": rows}  # fmt: skip
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    print(f"top {len(rows)} for a new user with {', '.join(profile)} by {ctx.model.name} ({note}):")
    for row in rows:
        print(f"{row['rank']:>4}  {row['item']:<12} {row['score']:>9.4f}  {row['title']}")
    return 0
