"""Labelled grounding benchmark (issue 26): does the check refuse hallucinated narrations and
accept faithful ones?

Texts are built from real explanations (the card's primary method) of several models on the
sample and on ml-100k-recbole-kg by benchmarks/grounding_cases.py: the template sentence, faithful
paraphrases in six surface forms, and hallucinations of 15 kinds. Each is checked by
`Checker.check` against its own evidence; a text is accepted when it is grounded (what the
narrator shows). Prints per-kind recall, per-form acceptance and the template's acceptance, and
with --write puts the table into benchmarks/RESULTS.md.

The models are trained for a few epochs when no artifact exists (--epochs, marked "capped"): the
benchmark measures the text check, not ranking quality.

    nice -n 10 env OMP_NUM_THREADS=1 .venv/bin/python benchmarks/grounding.py --write
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.explain_common import get_context, write_section  # noqa: E402
from benchmarks.grounding_cases import FORMS, KINDS, LATER_FORMS, cases  # noqa: E402
from core.explain import api  # noqa: E402
from core.explain.card import primary_method  # noqa: E402
from core.explain.evidence import build_evidence  # noqa: E402
from core.explain.grounding import Checker  # noqa: E402
from core.explain.lexicon import relation_key  # noqa: E402
from core.explain.readable import is_id_like  # noqa: E402

DEFAULT_ARTIFACTS = ROOT / "benchmarks" / "out" / "artifacts-grounding"
RAW_ID = re.compile(r"\b[mg]\.[0-9a-z_]{3,}\b")  # a Freebase id shown as a name
IDS_SHOWN: list[tuple[str, int, int]] = []  # (dataset, texts with a raw id, texts) per card


PROTOCOL = """\
Texts built by `benchmarks/grounding_cases.py` from each explanation's evidence (seeded): the
card's template sentence; six faithful paraphrases (reordered, passive, relation worded
differently, titles unquoted, two sentences, with a path citation; on ml-100k-recbole-kg, whose
entities have only Freebase ids, the paraphrases use role phrases: "shares an actor with ...");
and 15 hallucination kinds appended to or substituted into a faithful sentence. A text counts as
refused when the check does not pass it (what the narrator would not show). The kinds and forms
were fixed (committed) before the benchmark was first run; the three "added after" forms were
added after every fixed form had been accepted, to probe the vocabulary with wordings a chatty
model uses (the check was not changed for them). What changed in the checker after the first run
(sample): a relation phrase with no name after it ("A is linked to B (genre)") now joins the two
names before it (`swapped_hop` was 0.00), and the attention/edges template names its item (it
failed as `item_missing`, so the template passed 0.67). The history-claim and negation rules
came from a SmolLM2 answer ("The user liked <the recommended item>"), not from these cases.
Limits: the paraphrases are written by us from the same vocabulary the check uses, so faithful
acceptance here is an upper bound for a language model's free text (SmolLM2's acceptance is in
the narrator table). Artifacts: the ml-100k-recbole-kg KGAT is the library-default one of the
headline benchmark, put in the artifacts folder before the run (`python -m core train
<ml-100k-recbole-kg> --model kgat --seed 0 --split random --out
benchmarks/out/artifacts-grounding/ml-100k-recbole-kg-kgat`, early-stopped: best epoch 37 of
47); every other model is trained by this script for --epochs (capped)."""


def outsiders_of(ctx, ev, rng: random.Random, n: int = 40) -> list[str]:
    """Named dataset items and entities the evidence does not hold."""
    names = [str(x) for x in ctx.entity_names]
    picks = rng.sample(range(len(names)), min(len(names), 400))
    held = {int(e.split(":")[1]) for e in ev.entities}
    out = [names[i] for i in picks if i not in held and not is_id_like(names[i])]
    return out[:n]


def run_one(dataset: str, model: str, args, rng: random.Random) -> list[dict]:
    ds, _, ctx, secs = get_context(dataset, model, args.artifacts, args.epochs)
    print(f"{dataset}/{model}: ready in {secs:.0f} s", flush=True)
    checker = Checker.from_context(ctx)
    method = primary_method(ctx)
    relations = sorted({relation_key(r) for r in ctx.ckg.relation_names} - {"interacted"})
    users = [u for u in range(ctx.n_users) if len(ctx.history(u)) >= 3]
    rows = []
    for user in rng.sample(users, min(args.users, len(users))):
        for expl in api.explain_top_k(ctx, user, args.k, method):
            labels = list(expl.subgraph.nodes.values()) if expl.subgraph else []
            raw = [t for t in [expl.sentence, *labels] if RAW_ID.search(t)]
            IDS_SHOWN.append((dataset, len(raw), 1 + len(labels)))
            ev = build_evidence(expl, checker.lexicon)
            for c in cases(ev, rng, outsiders_of(ctx, ev, rng), relations):
                report = checker.check(c.text, ev)
                found = [(v.kind, v.span) for v in report.violations]
                rows.append({"dataset": dataset, "model": model, "method": method,
                             "label": c.label, "kind": c.kind, "text": c.text,
                             "accepted": report.grounded, "violations": found})  # fmt: skip
    return rows


def _rate(rows: list[dict], accepted: bool) -> str:
    if not rows:
        return "–"
    return f"{sum(r['accepted'] == accepted for r in rows) / len(rows):.3f}"


def table(rows: list[dict], args) -> str:
    by = defaultdict(list)
    for r in rows:
        by[(r["label"], r["kind"])].append(r)
    hall = [r for r in rows if r["label"] == "hallucination"]
    faith = [r for r in rows if r["label"] == "faithful" and r["kind"] in FORMS]
    later = [r for r in rows if r["label"] == "faithful" and r["kind"] in LATER_FORMS]
    lines = [
        "| texts | kind | n | refused (recall) / accepted |",
        "|---|---|---:|---:|",
        f"| hallucinations | all | {len(hall)} | {_rate(hall, False)} refused |",
    ]
    lines += [
        f"| hallucinations | {k} | {len(by[('hallucination', k)])} | "
        f"{_rate(by[('hallucination', k)], False)} refused |"
        for k in KINDS
    ]
    lines.append(f"| faithful | all | {len(faith)} | {_rate(faith, True)} accepted |")
    lines += [
        f"| faithful | {f} | {len(by[('faithful', f)])} | {_rate(by[('faithful', f)], True)} "
        "accepted |"
        for f in FORMS
    ]
    lines.append(
        f"| faithful, added after the first results | all | {len(later)} | "
        f"{_rate(later, True)} accepted |"
    )
    lines += [
        f"| faithful, added after | {f} | {len(by[('faithful', f)])} | "
        f"{_rate(by[('faithful', f)], True)} accepted |"
        for f in LATER_FORMS
    ]
    tpl = by[("template", "template")]
    lines.append(f"| template | card sentence | {len(tpl)} | {_rate(tpl, True)} accepted |")
    per = defaultdict(list)
    for r in rows:
        per[(r["dataset"], r["model"], r["method"])].append(r)
    src = ", ".join(f"{d}/{m} ({meth}, {len(v)} texts)" for (d, m, meth), v in sorted(per.items()))
    note = (
        f"{len(rows)} texts from {args.users} users x top-{args.k} per model, seed {args.seed}; "
        f"models without an artifact trained {args.epochs} epochs (capped: the benchmark measures "
        "the text check). "
        f"Sources: {src}."
    )
    shown = defaultdict(lambda: [0, 0])
    for d, bad, n in IDS_SHOWN:
        shown[d][0] += bad
        shown[d][1] += n
    ids = "; ".join(f"{d}: {b} of {n}" for d, (b, n) in sorted(shown.items()))
    note += f" Sentences and graph labels showing a raw Freebase id: {ids}."
    return "\n".join(lines) + "\n\n" + note


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", default=["sample", "ml-100k-recbole-kg"])
    p.add_argument("--models", nargs="+", default=["kgat", "lightgcn", "bprmf"])
    p.add_argument("--artifacts", type=Path, default=DEFAULT_ARTIFACTS)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--users", type=int, default=4)
    p.add_argument("-k", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--write", action="store_true", help="put the table into RESULTS.md")
    p.add_argument("--show", type=int, default=5, help="misjudged texts printed per kind")
    args = p.parse_args(argv)
    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    rows = [r for d in args.datasets for m in args.models for r in run_one(d, m, args, rng)]
    wrong = defaultdict(list)
    for r in rows:
        if r["accepted"] != (r["label"] != "hallucination"):
            wrong[(r["label"], r["kind"])].append(r)
    for (label, kind), rs in sorted(wrong.items()):
        for r in rs[: args.show]:
            print(f"MISJUDGED {label}/{kind} [{r['dataset']}/{r['model']}]: {r['text']}")
            print(f"    violations: {r['violations']}")
    text = table(rows, args)
    print(text)
    print(f"({time.perf_counter() - t0:.0f} s)")
    if args.write:
        cmd = "nice -n 10 env OMP_NUM_THREADS=1 .venv/bin/python benchmarks/grounding.py --write"
        write_section(
            "grounding", f"### Grounding check (issue 26)\n\n{PROTOCOL}\n\n`{cmd}`\n\n{text}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
