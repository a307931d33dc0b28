"""A tiny RecBole atomic-file dataset whose RecBole id order differs from RecLens's.

RecLens numbers items in .item order; RecBole numbers them by first appearance in .inter (its
.item file is not loaded at `load_col: {inter: [...]}`), so a fake checkpoint built here in RecBole
order only scores right if the import moves every row to the right RecLens id.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

USERS = [f"u{k}" for k in range(8)]
ITEMS = [f"i{k}" for k in range(12)]


def write_folder(root: Path, name: str = "tiny", kg: bool = False) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    rng = np.random.default_rng(7)
    lines = ["user_id:token\titem_id:token\ttimestamp:float"]
    for u, user in enumerate(USERS):
        for item in rng.choice(ITEMS, size=6 + u % 3, replace=False):
            lines.append(f"{user}\t{item}\t{len(lines)}")
    (folder / f"{name}.inter").write_text("\n".join(lines) + "\n", encoding="utf-8")
    items = ["item_id:token\ttitle:token_seq"] + [f"{i}\tTitle {i}" for i in ITEMS]
    (folder / f"{name}.item").write_text("\n".join(items) + "\n", encoding="utf-8")
    if kg:
        link = ["item_id:token\tentity_id:token"] + [f"{i}\tm.{i}" for i in ITEMS[:9]]
        (folder / f"{name}.link").write_text("\n".join(link) + "\n", encoding="utf-8")
        triples = ["head_id:token\trelation_id:token\ttail_id:token"]
        triples += [f"m.{i}\tgenre\tg{k % 3}" for k, i in enumerate(ITEMS[:8])]
        (folder / f"{name}.kg").write_text("\n".join(triples) + "\n", encoding="utf-8")
    return folder


def first_seen(folder: Path, column: int) -> list[str]:
    """Tokens of one .inter column in first-seen order (RecBole's numbering from 1)."""
    rows = (folder / f"{folder.name}.inter").read_text(encoding="utf-8").splitlines()[1:]
    return list(dict.fromkeys(r.split("\t")[column] for r in rows))


SETTINGS = {
    "seed": 2020,
    "eval_args": {"split": {"RS": [0.8, 0.1, 0.1]}, "order": "RO", "group_by": "user"},
    "load_col": {"inter": ["user_id", "item_id"]},
    "filter_inter_by_user_or_item": True,
    "valid_metric": "MRR@10",
}
