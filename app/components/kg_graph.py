"""Knowledge-graph subgraph (pyvis / vis-network) laid out to be read at a glance, fully offline.

`build_kg_html` returns one self-contained HTML document: vis-network is embedded inline
(`cdn_resources="in_line"`; the bootstrap CDN tags pyvis's template always adds are removed).
Nodes sit in fixed columns, user on the left and the recommended item on the right, so labels
never overlap and nothing moves (physics off). The top paths are drawn thick with their relation
words; context nodes and edges are faded and capped (`max_nodes`, top paths first). A colour
legend sits above the canvas. Data text reaches the page once, through the template's `tojson`
(labels are canvas text, tooltips are set with innerText by vis-network), so it is never HTML.
The document records its own height in `<meta name="reclens-height">` for `show_kg`.
"""

from __future__ import annotations

import functools
import pathlib
import re
from collections.abc import Callable, Sequence

import pyvis
from jinja2 import Environment, FileSystemLoader
from pyvis.network import Network

from core.explain.base import Path, Subgraph
from core.explain.present import node_layers, spread
from core.explain.text import relation_phrase
from core.safe_text import tooltip

KIND_COLORS = {
    "user": "#f28e2b",
    "item": "#4e79a7",
    "target": "#e15759",
    "entity": "#59a14f",
}
KIND_NAMES = {
    "user": "user",
    "item": "item (history or other)",
    "entity": "KG entity",
    "target": "recommended item",
}
FADED = {"user": "#f9d3ad", "item": "#c3d3e6", "target": "#f2b8b9", "entity": "#c8e2c3"}
HIGHLIGHT = "#d62728"
COL_GAP, ROW_GAP, PER_COLUMN = 230, 56, 10
VIEW_WIDTH = 1000  # px the graph is usually shown at (full card width in the wide layout)
_REMOTE_TAG = re.compile(
    r"<link[^>]*href=\"https?://[^\"]*\"[^>]*/?>|<script[^>]*src=\"https?://[^\"]*\"[^>]*>\s*</script>",
    re.S,
)
_HEIGHT = re.compile(r'<meta name="reclens-height" content="(\d+)">')


def _short(text: str, n: int = 30) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _path_edges(paths: Sequence[Path]) -> dict[tuple[str, str], str]:
    """(src, dst) in both directions -> relation, for the edges on the highlighted paths."""
    pairs: dict[tuple[str, str], str] = {}
    for p in paths:
        for e in p.edges:
            pairs.setdefault((e.src, e.dst), e.relation)
            pairs.setdefault((e.dst, e.src), e.relation)
    return pairs


@functools.lru_cache(maxsize=1)
def _template_env() -> Environment:
    """One shared jinja environment: pyvis makes a new one per Network and so re-parses its
    700 kB template (vis-network inlined) on every graph, ~0.3 s; shared, it compiles once."""
    return Environment(loader=FileSystemLoader(pathlib.Path(pyvis.__file__).parent / "templates"))


def _network(height: int) -> Network:
    net = Network(height=f"{height}px", width="100%", directed=True, cdn_resources="in_line")
    net.templateEnv = _template_env()
    net.set_options(
        '{"physics": {"enabled": false},'
        ' "edges": {"smooth": false, "arrows": {"to": {"scaleFactor": 0.5}}},'
        ' "nodes": {"font": {"size": 13, "face": "sans-serif"}},'
        ' "interaction": {"hover": true, "dragNodes": true, "zoomView": true}}'
    )
    return net


def _pick_nodes(subgraph: Subgraph, highlight: Sequence[Path], max_nodes: int) -> list[str]:
    """Nodes on the highlighted paths (best path first), then the heaviest context nodes."""
    order = list(dict.fromkeys(n for p in highlight for n in p.nodes if n in subgraph.nodes))
    weight: dict[str, float] = {}
    for e in subgraph.edges:
        for n in (e.src, e.dst):
            weight[n] = max(weight.get(n, 0.0), e.weight)
    rest = sorted(
        (n for n in subgraph.nodes if n not in order),
        key=lambda n: (subgraph.node_kinds.get(n) not in ("target", "user"), -weight.get(n, 0), n),
    )
    return (order + rest)[:max_nodes]


def _columns(subgraph: Subgraph, nodes: list[str], highlight: Sequence[Path]) -> dict[str, int]:
    """Column of every node: path nodes by their position on the paths, context nodes by their
    distance from a placed node (user / center first), never in the target's column."""
    layers = node_layers([tuple(n for n in p.nodes if n in nodes) for p in highlight])
    kinds = subgraph.node_kinds
    # the paths start at the explained user; without paths the center (target) goes first
    start = [p.nodes[0] for p in highlight if p.nodes and p.nodes[0] in nodes][:1] or [
        n for n in nodes if kinds.get(n) == "target"
    ][:1]
    for n in start:
        layers.setdefault(n, 0)
    last = max(layers.values(), default=0)
    keep = set(nodes)
    adj: dict[str, list[str]] = {}
    for e in subgraph.edges:
        if e.src in keep and e.dst in keep:
            adj.setdefault(e.src, []).append(e.dst)
            adj.setdefault(e.dst, []).append(e.src)
    queue = list(layers)
    for n in queue:  # breadth first from the placed nodes
        for m in adj.get(n, []):
            if m not in layers:
                col = layers[n] + 1
                layers[m] = min(col, last - 1) if highlight and last > 1 else col
                queue.append(m)
    for n in nodes:
        layers.setdefault(n, max(1, last - 1) if highlight else last + 1)
    return layers


def _fit_path_columns(nodes: list[str], layers: dict[str, int], on_path: set[str]) -> list[str]:
    """`nodes` without the context nodes that would overflow a column holding path nodes: a
    full column spills into a sub-column beside it, which the path edges and their relation
    words then cross (the words sat on faded nodes' labels). Path nodes come first in `nodes`
    and the context by weight (`_pick_nodes`), so the lightest context is left out."""
    path_cols = {layers[n] for n in nodes if n in on_path}
    used: dict[int, int] = {}
    kept = []
    for n in nodes:
        col = layers[n]
        if n in on_path or col not in path_cols or used.get(col, 0) < PER_COLUMN:
            kept.append(n)
            used[col] = used.get(col, 0) + 1
    return kept


def _positions(nodes: list[str], layers: dict[str, int]) -> tuple[dict, int]:
    """(node -> (x, y), height px). A column holds at most PER_COLUMN nodes; more spill into
    sub-columns, so labels keep their own row."""
    by_col: dict[int, list[str]] = {}
    for n in nodes:
        by_col.setdefault(layers[n], []).append(n)
    pos, x, tallest = {}, 0.0, 1
    for col in sorted(by_col):
        members = by_col[col]
        chunks = [members[i : i + PER_COLUMN] for i in range(0, len(members), PER_COLUMN)]
        for chunk in chunks:
            for n, y in zip(chunk, spread(len(chunk), ROW_GAP), strict=True):
                pos[n] = (x, float(y))
            tallest = max(tallest, len(chunk))
            x += COL_GAP * (0.7 if len(chunks) > 1 else 1.0)
    # vis-network zooms to fit: a layout wider than the view is scaled down, and so is its
    # height, so the frame is sized to the scaled drawing (no blank band under it)
    width = max(x - COL_GAP, 1) + 240  # + room for the outer labels
    scale = min(1.0, VIEW_WIDTH / width)
    return pos, int((tallest - 1) * ROW_GAP * scale + 90)


def _legend(kinds: set[str], has_paths: bool) -> str:
    items = "".join(
        f'<span style="margin-right:14px"><span style="display:inline-block;width:11px;'
        f'height:11px;border-radius:50%;background:{KIND_COLORS[k]};margin-right:4px"></span>'
        f"{KIND_NAMES[k] if has_paths or k != 'target' else 'searched item / entity'}</span>"
        for k in KIND_COLORS
        if k in kinds
    )
    if has_paths:
        items += (
            f'<span style="margin-right:14px"><span style="display:inline-block;width:18px;'
            f'height:3px;background:{HIGHLIGHT};vertical-align:middle;margin-right:4px"></span>'
            "top paths</span><span>faded: context</span>"
        )
    return '<div style="font:12px sans-serif;color:#333;padding:4px 2px 6px">' + items + "</div>"


def build_kg_html(
    subgraph: Subgraph,
    highlight: Sequence[Path] = (),
    max_nodes: int = 25,
    name: Callable[[str], str] | None = None,
) -> str:
    """HTML of `subgraph`, at most `max_nodes` nodes, with the `highlight` paths prominent.

    name: node id -> tooltip text (e.g. "Title (raw id)"); default the subgraph's own names.
    """
    nodes = _pick_nodes(subgraph, highlight, max_nodes)
    on_path = {n for p in highlight for n in p.nodes}
    layers = _columns(subgraph, nodes, highlight)
    nodes = _fit_path_columns(nodes, layers, on_path)
    keep = set(nodes)
    pos, height = _positions(nodes, layers)
    net = _network(height)
    kinds = subgraph.node_kinds
    for nid in nodes:
        text, kind = subgraph.nodes[nid], kinds.get(nid, "entity")
        lit = nid in on_path or not highlight
        x, y = pos[nid]
        net.add_node(
            nid,
            label=_short(text),
            title=tooltip(f"{name(nid) if name else text} · {KIND_NAMES.get(kind, kind)}"),
            color=KIND_COLORS.get(kind, "#bab0ac") if lit else FADED.get(kind, "#ddd"),
            size=20 if kind in ("target", "user") else (14 if lit else 9),
            font={"color": "#222" if lit else "#999", "size": 13 if lit else 11},
            x=x,
            y=y,
            physics=False,
        )
    hot = _path_edges(highlight)
    for e in subgraph.edges:
        if e.src not in keep or e.dst not in keep:
            continue
        lit = (e.src, e.dst) in hot
        word = relation_phrase(e.relation)
        net.add_edge(
            e.src,
            e.dst,
            label=word if lit or not highlight else None,  # no paths: every edge is named
            title=tooltip(f"{word} (weight {e.weight:.3g})"),
            color=HIGHLIGHT if lit else "rgba(150,160,170,0.35)",
            width=3 if lit else 1,
            font={"size": 13, "background": "white", "strokeWidth": 0, "color": "#a11"},
        )
    doc = net.generate_html(notebook=False)
    return _finish(doc, height, _legend({kinds.get(n, "entity") for n in nodes}, bool(highlight)))


def _finish(doc: str, height: int, legend: str) -> str:
    """Drop remote tags (offline), put the legend above the canvas, record the height."""
    doc = _REMOTE_TAG.sub("", doc)
    doc = doc.replace("<body>", f"<body>{legend}", 1)
    # pyvis's template adds a bordered card and padding that leave a gap under the canvas
    style = (
        "<style>body{margin:0}.card{border:0!important;margin:0!important}"
        "#mynetwork{border:0!important;float:none!important}</style>"
    )
    meta = f'<meta name="reclens-height" content="{height + 40}">'
    return doc.replace("<head>", f"<head>{meta}{style}", 1)


def doc_height(doc: str, default: int = 450) -> int:
    """The height the document asks for (legend included), for the iframe around it."""
    found = _HEIGHT.search(doc)
    return int(found.group(1)) if found else default


def show_kg(st, doc: str, height: int | None = None) -> None:
    st.iframe(doc, height=height or doc_height(doc))
