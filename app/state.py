"""The only place that caches core objects (STYLE.md rule 9).

`cache_resource` holds shared read-only objects (datasets, trained models in eval mode with
`prepare_inference()` done, explanation contexts); `cache_data` holds small results keyed by plain
values. Artifact keys include the artifact's meta.json mtime, so a retrained or deleted artifact
is never served stale. No widgets here.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from app import warm
from app.components.kg_graph import build_kg_html
from core.data import Dataset, load_dataset
from core.eval.metrics import mean_jaccard
from core.explain import api, card, cold, heatmap, launch, quality, whatif
from core.explain.base import Explanation
from core.explain.context import ExplainContext
from core.explain.evidence import build_evidence
from core.explain.grounding import Checker
from core.explain.present import node_namer
from core.graph import kg_neighbourhood
from core.graph import relation_stats as kg_relation_stats
from core.narrate.base import BackendError
from core.narrate.config import LLMSettings, make_backend
from core.narrate.narrator import Narration, narrate
from core.population import queries as population_queries
from core.population.report import open_population
from core.population.report import population as population_report
from core.store.artifacts import TrainedModel, load_artifact
from core.store.layout import workspace_dir


def artifact_key(folder: str | Path) -> str:
    """`folder@mtime` so caches follow retraining; callers pass it instead of the bare path."""
    meta = Path(folder) / "meta.json"
    return f"{Path(folder)}@{meta.stat().st_mtime_ns if meta.exists() else 0}"


def _folder(key: str) -> Path:
    return Path(key.rsplit("@", 1)[0])


def _workspace() -> Path:
    return workspace_dir()


# dataset / trained / context take what the server's warm-up (app.warm) loaded for them, and
# load it themselves when it did not
@st.cache_resource(max_entries=4, show_spinner="Loading dataset…")
def dataset(path: str) -> Dataset:
    return warm.dataset(_workspace(), path) or load_dataset(path)


@st.cache_resource(max_entries=12, show_spinner="Loading model…")
def trained(key: str, data_path: str) -> TrainedModel:
    """The artifact's model in eval mode, ready for inference (load_artifact does both)."""
    found = warm.model(_workspace(), key, data_path)
    if found is not None:
        return found[0]
    return load_artifact(_folder(key), dataset(data_path))


@st.cache_resource(max_entries=12, show_spinner="Preparing explanations…")
def context(key: str, data_path: str) -> ExplainContext:
    tm = trained(key, data_path)
    found = warm.model(_workspace(), key, data_path)
    if found is not None and found[0] is tm:
        return found[1]
    return ExplainContext.from_dataset(dataset(data_path), tm.split, tm.model)


@st.cache_resource(max_entries=8, show_spinner="Folding the new user in…")
def folded(key: str, data_path: str, profile: tuple[int, ...]) -> cold.FoldedContext:
    """A new user with history `profile`, folded into a copy of the model (core.explain.cold);
    the shared model is never written."""
    inputs = trained(key, data_path).inputs
    return cold.folded_context(context(key, data_path), list(profile), inputs=inputs)


@st.cache_resource(max_entries=8, show_spinner="Placing the new item…")
def launched(
    key: str, data_path: str, title: str, attributes: tuple[str, ...], k: int
) -> launch.LaunchedContext:
    """A new item from RELATION=ENTITY attributes in a copy of the model, with its audience
    (core.explain.launch). Raises ValueError for an attribute that does not resolve."""
    ctx, inputs = context(key, data_path), trained(key, data_path).inputs
    triples = launch.parse_attributes(ctx, inputs, attributes)
    return launch.launch(ctx, title, triples, k, inputs=inputs)


_TRAIN_LOCK = threading.Lock()


def train_lock() -> threading.Lock:
    """One training at a time per server (two first-launch sessions must not both train). A
    module global, not a cached resource: the warm-up's thread takes it too (app.warm)."""
    return _TRAIN_LOCK


@st.cache_resource
def feedback_db(url: str):
    from core.store.feedback import open_feedback  # SQLAlchemy only when feedback is used

    return open_feedback(url)


@st.cache_data(max_entries=256)
def top_k(key: str, data_path: str, user: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(items int64 [k], scores float [k]) of the user's unseen top-k."""
    ctx = context(key, data_path)
    scores = ctx.scores(user)
    items = ctx.top_k(user, k, scores)
    return items, scores[items]


@st.cache_data(max_entries=256)
def explanation(key: str, data_path: str, user: int, item: int, method: str, k: int) -> Explanation:
    return api.explain(context(key, data_path), user, item, method, k)


@st.cache_data(max_entries=64)
def heatmap_data(key: str, data_path: str, user: int, items: tuple[int, ...]):
    """HeatmapData (weights [C, T], history [T], kind) or None; see core.explain.heatmap."""
    return heatmap.heatmap_data(context(key, data_path), user, list(items))


@st.cache_data(max_entries=64)
def graph_html(key: str, data_path: str, user: int, item: int, method: str, k: int) -> str | None:
    """The explanation's KG subgraph as offline pyvis HTML (None without a subgraph)."""
    expl = explanation(key, data_path, user, item, method, k)
    if expl.subgraph is None:
        return None
    # tooltips name items by title and raw id, as the tables and the report do
    return build_kg_html(expl.subgraph, expl.paths[:3], name=node_namer(dataset(data_path)))


@st.cache_data(max_entries=32)
def methods(key: str, data_path: str) -> list[str]:
    return api.supported_methods(context(key, data_path))


@st.cache_data(max_entries=8)
def neighbourhood(
    data_path: str, center: int, hops: int, relations: tuple[str, ...], max_nodes: int
):
    """Subgraph within `hops` of entity `center` (see core.graph.kg_neighbourhood)."""
    return kg_neighbourhood(dataset(data_path), center, hops, relations, max_nodes)


@st.cache_data(max_entries=8)
def relation_stats(data_path: str) -> pd.DataFrame:
    return kg_relation_stats(dataset(data_path))


@st.cache_data(max_entries=16)
def overlap(key_a: str, key_b: str, data_path: str, k: int, n_users: int = 200) -> float:
    """Average Jaccard@k of two models' lists over the first `n_users` users."""
    users = list(range(min(n_users, dataset(data_path).n_users)))
    lists = [whatif.top_k_matrix(context(key, data_path), users, k) for key in (key_a, key_b)]
    return mean_jaccard(*lists)


@st.cache_data(max_entries=128)
def card_rescoring(key: str, data_path: str, user: int, item: int, method: str, k: int) -> dict:
    """The card's re-scoring parts by name (core.explain.card.rescoring_parts: "deletion", a
    DeletionCurve or None; "counterfactual", an Explanation or None), once per card."""
    expl = explanation(key, data_path, user, item, method, k)
    parts = card.rescoring_parts(context(key, data_path), expl, k)
    return {p.name: p.value for p in parts}


def headlined(key: str, data_path: str, user: int, item: int, method: str, k: int):
    """The explanation with the sentence its deletion curve supports (core.explain.card)."""
    expl = explanation(key, data_path, user, item, method, k)
    curve = card_rescoring(key, data_path, user, item, method, k)["deletion"]
    return card.headlined(context(key, data_path), expl, curve)


@st.cache_data(max_entries=16)
def fidelity_table(key: str, data_path: str):
    drivers = quality.planted_drivers(data_path, dataset(data_path))
    return quality.fidelity_table(context(key, data_path), drivers)


@st.cache_data(max_entries=16, show_spinner="Querying the export…")
def population(folder: str, stamp: int) -> dict:
    """core.population figures of an export; `stamp` (the manifest's mtime) follows re-exports."""
    return population_report(folder)


@st.cache_data(max_entries=64)
def population_examples(folder: str, stamp: int, what: str, value) -> list[dict]:
    """Example recommendations behind one aggregate (core.population.queries.examples)."""
    ex = open_population(folder)
    try:
        return population_queries.examples(ex, what, value)
    finally:
        ex.con.close()


def forget_models() -> None:
    """Drop loaded models, contexts and results after an artifact was written or deleted
    (keys carry the artifact's mtime, so this only frees memory sooner)."""
    trained.clear()
    context.clear()
    st.cache_data.clear()
    warm.drop_stale(lambda key: artifact_key(_folder(key)) == key)


# --- language-model narration (issue 12) ------------------------------------------------------
@st.cache_resource(max_entries=8, show_spinner=False)
def grounding_checker(key: str, data_path: str) -> Checker:
    """The grounding checker over the dataset's whole lexicon (built once per model)."""
    return Checker.from_context(context(key, data_path))


@st.cache_resource(max_entries=4, show_spinner="Starting the language model…")
def llm_backend(settings: LLMSettings):
    """One shared backend per settings (the llama.cpp one serialises its calls)."""
    return make_backend(settings)


@st.cache_data(max_entries=256, show_spinner="Writing and checking the explanation…")
def narration(
    key: str, data_path: str, user: int, item: int, method: str, k: int,
    settings: LLMSettings, mode: str,
) -> Narration:  # fmt: skip
    checker = grounding_checker(key, data_path)
    evidence = build_evidence(headlined(key, data_path, user, item, method, k), checker.lexicon)
    return narrate(evidence, llm_backend(settings), checker, mode=mode)


def llm_ping(settings: LLMSettings) -> tuple[bool, str]:
    """Whether the configured backend answers (not cached: the button asks now)."""
    try:
        return llm_backend(settings).ping()
    except (ValueError, BackendError) as err:
        return False, str(err)
