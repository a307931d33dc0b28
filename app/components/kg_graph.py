"""Interactive knowledge-graph subgraph (pyvis / vis-network), fully offline.

`build_kg_html` returns one self-contained HTML document: vis-network is embedded inline, the
bootstrap CDN tags that pyvis's template always adds are removed, tooltips and labels are plain
text that vis-network shows as text (the template JSON-escapes them once; see core.safe_text),
and physics is switched off once the layout has stabilised so the view stays still.
"""

from __future__ import annotations

import functools
import pathlib
import re
from collections.abc import Sequence

import pyvis
from jinja2 import Environment, FileSystemLoader
from pyvis.network import Network

from core.explain.base import Path, Subgraph
from core.safe_text import tooltip

KIND_COLORS = {
    "user": "#f28e2b",
    "item": "#4e79a7",
    "target": "#e15759",
    "entity": "#76b7b2",
}
HIGHLIGHT = "#e15759"
_REMOTE_TAG = re.compile(
    r"<link[^>]*href=\"https?://[^\"]*\"[^>]*/?>|<script[^>]*src=\"https?://[^\"]*\"[^>]*>\s*</script>",
    re.S,
)
_STOP_PHYSICS = """
network.once("stabilizationIterationsDone", function () {
    network.setOptions({physics: false});
});
setTimeout(function () { network.setOptions({physics: false}); }, 4000);
"""


def _short(text: str, n: int = 28) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _path_edges(paths: Sequence[Path]) -> set[tuple[str, str]]:
    """Undirected (src, dst) pairs on the highlighted paths."""
    pairs = set()
    for p in paths:
        for e in p.edges:
            pairs.add((e.src, e.dst))
            pairs.add((e.dst, e.src))
    return pairs


@functools.lru_cache(maxsize=1)
def _template_env() -> Environment:
    """One shared jinja environment: pyvis makes a new one per Network and so re-parses its
    700 kB template (vis-network inlined) on every graph, ~0.3 s; shared, it compiles once."""
    return Environment(loader=FileSystemLoader(pathlib.Path(pyvis.__file__).parent / "templates"))


def _network(height: str) -> Network:
    net = Network(height=height, width="100%", directed=True, cdn_resources="in_line")
    net.templateEnv = _template_env()
    net.set_options(
        '{"physics": {"solver": "forceAtlas2Based", "stabilization": {"iterations": 150}},'
        ' "edges": {"font": {"size": 10, "align": "middle"}, "smooth": false},'
        ' "interaction": {"hover": true}}'
    )
    return net


def build_kg_html(
    subgraph: Subgraph,
    highlight: Sequence[Path] = (),
    height: str = "430px",
    max_nodes: int = 80,
) -> str:
    """HTML of `subgraph` with the edges of `highlight` paths drawn thick and red.

    At most `max_nodes` nodes are drawn (nodes on highlighted paths first) to keep it responsive.
    """
    on_path = {n for p in highlight for n in p.nodes}
    order = sorted(subgraph.nodes, key=lambda n: (n not in on_path, n))[:max_nodes]
    keep = set(order)
    net = _network(height)
    for nid in order:
        name, kind = subgraph.nodes[nid], subgraph.node_kinds.get(nid, "entity")
        net.add_node(
            nid,
            # canvas text, not HTML: the template's `tojson` already escapes < > & for the script
            label=_short(name),
            title=tooltip(f"{name} ({kind}, {nid})"),
            color=KIND_COLORS.get(kind, "#bab0ac"),
            size=22 if kind in ("target", "user") else 14,
            borderWidth=3 if nid in on_path else 1,
        )
    hot = _path_edges(highlight)
    for e in subgraph.edges:
        if e.src not in keep or e.dst not in keep:
            continue
        lit = (e.src, e.dst) in hot
        net.add_edge(
            e.src,
            e.dst,
            label=e.relation,
            title=tooltip(f"{e.relation} (weight {e.weight:.3f})"),
            color=HIGHLIGHT if lit else "#9aa5b1",
            width=4 if lit else 1,
        )
    return _finish(net.generate_html(notebook=False))


def _finish(doc: str) -> str:
    """Drop remote tags (offline) and stop physics after stabilising."""
    doc = _REMOTE_TAG.sub("", doc)
    return doc.replace("return network;", _STOP_PHYSICS + "\nreturn network;", 1)


def show_kg(st, doc: str, height: int = 450) -> None:
    st.iframe(doc, height=height)
