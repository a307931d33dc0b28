"""Imports run down the pipeline (DESIGN.md, STYLE.md rules 1 and 18).

Every import in core/, app/ and pages/ is read with `ast` — function-local and TYPE_CHECKING ones
included — and checked against the layer order

    data < graph < models < train, eval < store < explain < narrate < export, population
         < cli < app < pages

A module may import only from its own layer or below; core modules form no import circle; and a
function-local import is allowed only where it is listed in `LOCAL_IMPORTS` below, with the reason
(start-up time) next to it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TREES = ("core", "app", "pages")

# Layer of each top-level package or module; the longest matching prefix wins.
LAYERS: dict[str, int] = {
    "core.data": 0,
    "core.safe_text": 0,  # escaping helper with no core imports: usable by every layer
    "core.graph": 1,
    "core.subgraph": 1,  # node ids, named edges, bounded subgraphs (core.explain.base re-exports)
    "core.models": 2,
    "core.train": 3,
    "core.eval": 3,
    "core.distgraph": 3,  # partitioned graphs for distributed training
    "core.store": 4,
    "core.explain": 5,
    "core.narrate": 6,
    "core.export": 7,
    "core.population": 7,
    "core.cli": 8,
    "core.__main__": 8,
    "core": 8,  # the package itself: only `python -m core` lives there
    "app": 9,
    "pages": 10,
}

# Function-local imports kept on purpose, as (file, imported module). Each buys start-up time
# (or keeps an optional extra optional); anything else imports at the top of its module.
_BOOT = "app/boot.py"  # `boot.start()` returns at once; its thread does the heavy imports
LOCAL_IMPORTS: set[tuple[str, str]] = {
    # step 0 of the warm-up: what the browser's primer needs, before torch (app/primer.py)
    (_BOOT, "pandas"),
    (_BOOT, "plotly.graph_objects"),
    (_BOOT, "plotly.io"),
    (_BOOT, "plotly.tools"),
    (_BOOT, "pyarrow"),
    # step 1: the heavy modules the first page needs, imported in the warm-up thread
    (_BOOT, "torch"),
    (_BOOT, "app.sidebar"),
    (_BOOT, "app.views"),
    (_BOOT, "core.explain.registry"),
    (_BOOT, "core.models.registry"),
    # steps 2-4 (dataset, first launch, the first model), after step 1 in the same thread
    (_BOOT, "core.data"),
    (_BOOT, "core.explain.context"),
    (_BOOT, "core.store.artifacts"),
    (_BOOT, "core.store.workspace"),
    (_BOOT, "app.state"),
    (_BOOT, "app.workspace"),
    # SQLAlchemy (~0.5 s) only once a page records or shows feedback
    ("app/state.py", "core.store.feedback"),
    ("app/views.py", "core.store.feedback"),
    ("app/workspace.py", "core.store.feedback"),
    # the optional llamacpp extra (`make llm`): absent unless installed
    ("core/narrate/llamacpp.py", "llama_cpp"),
}


@dataclass(frozen=True)
class Import:
    file: str  # path relative to the repository root
    line: int
    target: str  # the imported module, resolved to a submodule where one exists
    local: bool  # inside a function body


def _module_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _targets(node: ast.Import | ast.ImportFrom, path: Path) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = _module_of(path).split(".")
        if path.name != "__init__.py":
            package = package[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, *([node.module] if node.module else [])])
    # `from core.explain import paths` imports the submodule core.explain.paths
    subs = [f"{base}.{alias.name}" for alias in node.names if _is_module(f"{base}.{alias.name}")]
    return subs or [base]


def _imports(path: Path, root: Path = ROOT) -> Iterator[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    rel = str(path.relative_to(root))

    def visit(node: ast.AST, local: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                for target in _targets(child, path):
                    yield Import(rel, child.lineno, target, local)
            inner = local or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            yield from visit(child, inner)

    yield from visit(tree, False)


def _all_imports() -> list[Import]:
    files = sorted(p for tree in TREES for p in (ROOT / tree).rglob("*.py"))
    return [imp for path in files for imp in _imports(path)]


def _layer(module: str) -> int | None:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in LAYERS:
            return LAYERS[".".join(parts[:n])]
    return None


def _own(imp: Import) -> str:
    return _module_of(ROOT / imp.file)


def test_every_module_has_a_layer():
    unplaced = sorted({_own(i) for i in _all_imports() if _layer(_own(i)) is None})
    assert unplaced == []


def test_no_import_goes_up_the_pipeline():
    upward = [
        f"{imp.file}:{imp.line} ({_own(imp)}, layer {_layer(_own(imp))}) imports "
        f"{imp.target} (layer {_layer(imp.target)})"
        for imp in _all_imports()
        if _layer(imp.target) is not None and _layer(imp.target) > _layer(_own(imp))
    ]
    assert upward == [], "imports against the layer order:\n" + "\n".join(upward)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            connect(v)
    return found


def test_core_modules_form_no_import_circle():
    edges: dict[str, set[str]] = {}
    for imp in _all_imports():
        source = _own(imp)
        if source.startswith("core") and imp.target.startswith("core") and imp.target != source:
            edges.setdefault(source, set()).add(imp.target)
    circles = _cycles(edges)
    assert circles == [], "import circles:\n" + "\n".join(" <-> ".join(c) for c in circles)


def test_function_local_imports_are_the_listed_ones():
    local = {(imp.file, imp.target) for imp in _all_imports() if imp.local}
    unlisted = sorted(local - LOCAL_IMPORTS)
    stale = sorted(LOCAL_IMPORTS - local)
    assert unlisted == [], (
        f"{len(unlisted)} function-local imports not in LOCAL_IMPORTS:\n"
        + "\n".join(f"{file}: {target}" for file, target in unlisted)
    )
    assert stale == [], "LOCAL_IMPORTS lists imports that are gone"


def test_no_module_imports_another_modules_private_names():
    # a private module (core/data/_sample_text.py) may serve its own package; private names of a
    # module are its own: what two modules share is public, in a module below both
    offenders = []
    for path in sorted(p for tree in TREES for p in (ROOT / tree).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    private = alias.name.startswith("_") and not alias.name.startswith("__")
                    if private and not _is_module(f"{node.module}.{alias.name}"):
                        offenders.append(f"{path.relative_to(ROOT)}: {node.module}.{alias.name}")
    assert offenders == []


def test_the_launcher_starts_without_the_heavy_imports():
    # what LOCAL_IMPORTS buys: app/boot.py and app/warm.py load with the standard library and
    # core.store.layout only, so the warm-up starts before torch, DGL or pandas are imported
    heavy = "{'torch', 'dgl', 'pandas'}"
    probe = f"import sys, app.boot, app.warm; print(sorted({heavy} & set(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_core_never_imports_streamlit():
    offenders = [
        imp.file
        for imp in _all_imports()
        if imp.file.startswith("core") and imp.target.split(".")[0] == "streamlit"
    ]
    assert offenders == []


def test_the_checker_reads_function_bodies_and_finds_circles(tmp_path):
    # the walk must reach into function bodies, or the order test passes vacuously
    probe = tmp_path / "probe.py"
    probe.write_text("import core.data\n\ndef f():\n    from core.cli.main import main\n")
    found = {(imp.target, imp.local) for imp in _imports(probe, root=tmp_path)}
    assert found == {("core.data", False), ("core.cli.main", True)}
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
