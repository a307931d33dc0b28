"""`--items` on `recommend` / `explain` (a new user folded in from raw item ids) and
`python -m core launch` (a new item placed from its KG attributes, and who it would reach)."""

from __future__ import annotations

import argparse
import json

from core.cli.common import UsageError, explain_args, load_context
from core.explain import card, cold, launch, whatif
from core.explain.base import parse_node_id
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


# --- launch ---------------------------------------------------------------------------------------


def register(sub) -> None:
    """`launch`: a new item from a title and KG attributes, and who it would reach."""
    la = sub.add_parser("launch", help="place a new item by its KG attributes; who it reaches")
    la.add_argument("artifact", help="artifact folder of a KG model (kgat, transe, transr)")
    la.add_argument("--title", required=True, help="the new item's title")
    la.add_argument(
        "--attr",
        action="append",
        required=True,
        metavar="RELATION=ENTITY",
        help="a KG attribute (repeat): relation name = entity name or raw entity id",
    )
    la.add_argument("-k", type=int, default=10, help="reach = the item enters the top-k (10)")
    la.add_argument("--top", type=int, default=10, help="most likely users listed (10)")
    la.add_argument("--cards", type=int, default=3, help="cards of the most likely users (3)")
    explain_args(la)
    la.set_defaults(handler=cmd_launch)


def _name(ctx: ExplainContext, nid: str) -> str:
    kind, idx = parse_node_id(nid)
    return ctx.user_names[idx] if kind == "u" else ctx.entity_names[idx]


def card_record(ctx: ExplainContext, got: card.Card) -> dict:
    """A card as JSON-ready data, nodes by name (a launched item has no raw id in the data)."""
    e = got.explanation
    cf = got.counterfactual.counterfactual if got.counterfactual is not None else None
    return {
        "user": ctx.user_names[e.user], "rank": e.rank, "score": e.score, "method": e.method,
        "sentence": e.sentence,
        "paths": [{"score": p.score, "edges": [[_name(ctx, x.src), x.relation, _name(ctx, x.dst)]
                                               for x in p.edges]} for p in e.paths],
        "counterfactual": None if cf is None else {
            "removed": [_name(ctx, n) for n in cf.removed], "new_rank": cf.new_rank,
            "valid": cf.valid},
    }  # fmt: skip


def cmd_launch(args: argparse.Namespace) -> int:
    if args.k < 1:
        raise UsageError("-k must be at least 1")
    _, _, ctx = load_context(args.artifact, args.dataset, args.format, args.device)
    inputs = cold.model_inputs(ctx)
    try:
        attrs = launch.parse_attributes(ctx, inputs, args.attr)
    except ValueError as err:
        raise UsageError(str(err)) from None
    lc = launch.launch(ctx, args.title, attrs, args.k, inputs=inputs)
    aud, gctx = lc.audience, lc.ctx
    likely = aud.most_likely(args.top)
    cards = [card_record(gctx, card.explain_card(gctx, int(u), lc.item, args.k))
             for u in likely[: args.cards]]  # fmt: skip
    out = {
        "title": args.title, "model": ctx.model.name, "k": args.k,
        "attributes": [[inputs.relation_names[r], ctx.entity_names[max(h, t)]]
                       for h, r, t in attrs.tolist()],
        "audience": {"count": aud.count, "share": aud.share, "quartiles": list(aud.quartiles),
                     "reached": [ctx.user_names[u] for u in aud.reached.tolist()],
                     "most_likely": [{"user": ctx.user_names[u], "score": float(aud.scores[u]),
                                      "rank": int(aud.ranks[u])} for u in likely.tolist()]},
        "cards": cards,
        "user_scores": {ctx.user_names[u]: float(s) for u, s in enumerate(aud.scores)},
    }  # fmt: skip
    if args.json:
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    _print_launch(out)
    return 0


def _print_launch(out: dict) -> None:
    aud = out["audience"]
    attrs = ", ".join(f"{r}={e}" for r, e in out["attributes"])
    print(f"'{out['title']}' ({attrs}) by {out['model']}:")
    print(f"  enters the top-{out['k']} of {aud['count']} users ({aud['share']:.1%})")
    for q in aud["quartiles"]:
        print(f"  activity quartile {q['quartile']} ({q['min_train']}-{q['max_train']} items): "
              f"{q['reached']}/{q['users']} ({q['share']:.1%})")  # fmt: skip
    print(
        "  most likely:", ", ".join(f"{m['user']} (rank {m['rank']})" for m in aud["most_likely"])
    )
    for c in out["cards"]:
        print(f"  {c['user']}: {c['sentence']}")
        for p in c["paths"][:2]:
            print("     path: " + " ; ".join(f"({s}, {r}, {d})" for s, r, d in p["edges"]))
