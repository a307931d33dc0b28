"""`python -m core narrate`: language-model narration of a user's recommendations, every text
checked against its evidence; or `--check TEXT`: ground any text against one explanation.

The backend comes from RECLENS_LLM_* (core.narrate.config); `--llm-url` / `--llm-model`
override it; with neither, the template is shown. `--check` exits 0 whatever the verdict and
reports it in `grounded`.
"""

from __future__ import annotations

import argparse
import json

from core.cli.common import UsageError, explain_args, internal_id, load_context
from core.explain import api
from core.explain.evidence import build_evidence
from core.explain.grounding import Checker
from core.explain.registry import supported_methods
from core.narrate.base import BackendError
from core.narrate.config import LLMSettings, make_backend
from core.narrate.narrator import MODES, narrate


def register(sub) -> None:
    """Add `narrate` to the argparse sub-parsers `sub`."""
    p = sub.add_parser("narrate", help="checked language-model explanations of recommendations")
    p.add_argument("artifact", help="artifact folder written by `train`")
    p.add_argument("--user", required=True, help="raw user id, as in the data files")
    p.add_argument("--item", default=None, help="raw item id (default: the user's top-k)")
    p.add_argument("-k", type=int, default=5, help="recommendations narrated (default 5)")
    p.add_argument("--mode", choices=MODES, default="polish", help="polish (default) or narrate")
    p.add_argument("--method", default=None, help="explanation method (default: paths if offered)")
    p.add_argument(
        "--check", default=None, metavar="TEXT", help="check TEXT instead (needs --item)"
    )
    p.add_argument("--llm-url", default=None, help="OpenAI-compatible API root (overrides env)")
    p.add_argument("--llm-model", default=None, help="model name (overrides RECLENS_LLM_MODEL)")
    explain_args(p)
    p.set_defaults(handler=cmd_narrate)


def _method(ctx, requested: str | None) -> str:

    offered = supported_methods(ctx)
    if requested:
        return requested
    if not offered:
        raise UsageError(f"model {ctx.model.name} supports no explanation method")
    return "paths" if "paths" in offered else offered[0]


def _backend(args):

    try:
        return make_backend(LLMSettings.from_env(url=args.llm_url, model=args.llm_model))
    except (ValueError, BackendError) as err:
        raise UsageError(str(err)) from None


def cmd_narrate(args: argparse.Namespace) -> int:

    if args.k < 1:
        raise UsageError("-k must be at least 1")
    if args.check is not None and args.item is None:
        raise UsageError("--check needs --item (the explanation to check the text against)")
    ds, _, ctx = load_context(args.artifact, args.dataset, args.format, args.device)
    user = internal_id(ds.user_ids, args.user, "user", ds)
    method = _method(ctx, args.method)
    if args.item is not None:
        item = internal_id(ds.item_ids, args.item, "item", ds)
        expls = [api.explain(ctx, user, item, method, args.k)]
    else:
        expls = api.explain_top_k(ctx, user, args.k, method)
    checker = Checker.from_context(ctx)
    if args.check is not None:
        report = checker.check(args.check, build_evidence(expls[0], checker.lexicon))
        out = {"user": args.user, "item": args.item, "method": method, "text": args.check}
        return _print_check(out | report.to_dict() | {"hallucinated": report.hallucinated}, args)
    return _narrate_all(args, ds, ctx, method, expls, checker)


def _print_check(row: dict, args) -> int:
    if args.json:
        print(json.dumps(row, indent=2, ensure_ascii=False))
        return 0
    print(f"grounded: {str(row['grounded']).lower()}  coverage: {row['coverage']}")
    for v in row["violations"]:
        print(f"  {v['kind']}: {v['message']}  [{v['span']}]")
    for a in row["attributions"]:
        print(f"  ok {a['kind']}: [{a['span']}] rests on {a['what']}")
    return 0


def _narrate_all(args, ds, ctx, method: str, expls, checker) -> int:

    backend = _backend(args)
    rows = []
    for e in expls:
        n = narrate(build_evidence(e, checker.lexicon), backend, checker, mode=args.mode)
        rows.append(
            {"rank": e.rank, "item": ds.item_ids.to_raw(e.item), "title": ds.title(e.item)}
            | n.to_dict()
        )
    if args.json:
        head = {
            "user": args.user,
            "model": ctx.model.name,
            "method": method,
            "mode": args.mode,
            "backend": backend.name,
            "llm_model": backend.model,
        }
        print(json.dumps(head | {"narrations": rows}, indent=2, ensure_ascii=False))
        return 0
    print(
        f"user {args.user}, model {ctx.model.name}, method {method}, backend {backend.name}"
        + (f" ({backend.model})" if backend.model else "")
        + f", mode {args.mode}:"
    )
    for r in rows:
        print(f"#{r['rank']:<3} {r['item']}  {r['title']}")
        print(f"     template:  {r['template']}")
        generated = next((a["text"] for a in reversed(r["attempts"]) if a["text"]), None)
        if generated is not None:
            print(f"     generated: {generated}")
        fell = "  (fell back to the template)" if r["fell_back"] else ""
        print(f"     verdict:   {r['verdict']}{fell}")
        for v in r["violations"]:
            print(f"       {v['kind']}: {v['message']}")
        for a in r["attempts"]:
            if a["error"]:
                print(f"       error: {a['error']}")
    return 0
