"""`python -m core population EXPORT [--compare EXPORT2] [--json]`: what drives a model's
recommendations across all users, from an `explain-all` export (core.population)."""

from __future__ import annotations

import argparse
import json

from core.cli.common import UsageError
from core.population.report import population
from core.population.schema import ExportError


def register(sub) -> None:
    """Add `population` to the argparse sub-parsers `sub`."""
    p = sub.add_parser(
        "population", help="population figures (drivers, bubbles, path metrics) of an export"
    )
    p.add_argument("export", help="export folder written by `explain-all`")
    p.add_argument("--compare", default=None, help="a second export, shown side by side")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(handler=cmd_population)


def cmd_population(args: argparse.Namespace) -> int:
    try:
        results = [population(args.export)]
        if args.compare:
            results.append(population(args.compare))
    except ExportError as err:
        raise UsageError(str(err)) from None
    if args.json:
        print(json.dumps(results[0] if len(results) == 1 else results, indent=2, default=float))
        return 0
    print(render(results))
    return 0


def _pct(x) -> str:
    return "—" if x is None else f"{100 * x:.1f} %"


def _num(x, digits: int = 3) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _lines(r: dict) -> list[tuple[str, str]]:
    """(label, value) rows of one model's figures."""
    rows = [
        ("export", f"{r['export']} ({r['finished']}, weights {r['weights']})"),
        ("recommendations", f"{r['n_recommendations']} ({r['n_users']} users x top-{r['k']})"),
        ("method", r["method"]),
    ]
    rows += [(f"shape {s['value']}", _pct(s["share"])) for s in r["shapes"][:4]]
    rows += [(f"relation {s['value']}", _pct(s["share"])) for s in r["relations"][:6]]
    rows += [
        (f"driver entity #{n + 1}", f"{d['name']} ({d['id']}): {d['n']} recs, {d['users']} users")
        for n, d in enumerate(r["driver_entities"][:5])
    ]
    rows += [
        (f"driver history item #{n + 1}", f"{d['name']} ({d['id']}): {d['n']} recs")
        for n, d in enumerate(r["driver_items"][:5])
    ]
    pers, pm = r["personal"], r["path_metrics"]
    rows += [
        ("bubble (one driver), mean", _pct(r["bubble"]["entity_mean"])),
        ("bubble (one relation), mean", _pct(r["bubble"]["relation_mean"])),
        ("distinct drivers per list", _num(r["distinct_drivers"]["mean"], 2)),
        ("long-tail exposure", _pct(r["long_tail"])),
        (
            f"not personal (drop@{pers['deletion_size']} <= random)",
            f"{_pct(pers['not_personal'])} of top-{r['k']}, {_pct(pers['not_personal_first'])}"
            f" of #1s ({pers['sampled_users']} sampled users)",
        ),
        (f"mean deletion ratio@{pers['ratio_size']}", _num(pers["mean_deletion_ratio"], 2)),
    ]
    rows += [(name.upper(), _num(pm[name])) for name in ("lir", "sep", "ptd", "ptc", "lid", "sed")]
    for q in r["by_activity"]:
        rows.append(
            (
                f"activity quartile {q['quartile']}",
                f"{q['users']} users, bubble {_pct(q['bubble_entity'])}, long tail "
                f"{_pct(q['long_tail'])}, not personal {_pct(q['not_personal'])}",
            )
        )
    rows.append(("queries", f"{r['seconds']:.2f} s"))
    return rows


def render(results: list[dict]) -> str:
    """One model as label: value lines; two as a three-column table."""
    tables = [_lines(r) for r in results]
    if len(tables) == 1:
        width = max(len(label) for label, _ in tables[0])
        return "\n".join(f"{label:<{width}}  {value}" for label, value in tables[0])
    out = [f"| figure | {results[0]['model']} | {results[1]['model']} |", "|---|---|---|"]
    right = dict(tables[1])
    labels = [label for label, _ in tables[0]] + [
        lb for lb, _ in tables[1] if lb not in dict(tables[0])
    ]
    left = dict(tables[0])
    for label in labels:
        out.append(f"| {label} | {left.get(label, '—')} | {right.get(label, '—')} |")
    return "\n".join(out)
