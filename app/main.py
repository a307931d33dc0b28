"""RecLens dashboard entrypoint: page config, navigation, shared sidebar, deep links.

Launch from the repo root: `python -m streamlit run app/main.py` (or `make run`).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run` puts app/ on sys.path, not the repo root
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app import boot, primer  # noqa: E402

# the server's warm-up (already running when launched by `python -m app.serve`, as `make run`
# does); its imports finish before this script's own, see app/boot.py. The browser's primer goes
# out first, so the code of the card's charts and tables loads while the server waits
# (app/primer.py).
_warm = boot.start()
_primer = primer.prime(_warm)
_warm.imported.wait()

from app import links, sidebar, workspace  # noqa: E402
from core.data import DataError  # noqa: E402
from core.models.base import NotSupported  # noqa: E402
from core.safe_text import md  # noqa: E402
from core.store.artifacts import ArtifactError  # noqa: E402

# no page_icon and no st.Page icons: the favicon made from a material or emoji icon is fetched
# from a CDN, and the app must stay offline (tests/app/test_browser.py checks it)
st.set_page_config(page_title="RecLens", layout="wide")

PAGES = {
    "overview": st.Page(ROOT / "pages" / "overview.py", title="Overview", default=True),
    "user_explorer": st.Page(ROOT / "pages" / "user_explorer.py", title="User explorer"),
    "compare": st.Page(ROOT / "pages" / "compare.py", title="Compare models"),
    "population": st.Page(ROOT / "pages" / "population.py", title="Population"),
    "knowledge_graph": st.Page(ROOT / "pages" / "knowledge_graph.py", title="Knowledge graph"),
    "profile_builder": st.Page(ROOT / "pages" / "profile_builder.py", title="Profile builder"),
    "train": st.Page(ROOT / "pages" / "train.py", title="Train"),
    "feedback": st.Page(ROOT / "pages" / "feedback.py", title="Feedback"),
}

current = st.navigation(list(PAGES.values()))
target = links.boot(PAGES)  # first run of a session: honour ?page=... and the other link params
target = target or links.pending(PAGES)  # a drill-down's page (links.goto)
if target is not None and target is not current:
    st.switch_page(target, query_params=dict(st.query_params))

try:
    if workspace.ensure_default_models():
        sidebar.render()
        links.set_page(next(name for name, page in PAGES.items() if page is current))
        current.run()
    if _primer is not None:
        _primer.empty()
except (ArtifactError, DataError, NotSupported) as err:  # expected: say what is wrong
    st.error(md(err))
except Exception as err:  # anything else: a message in the page, the traceback in the server log
    logging.getLogger("reclens").exception("page %s failed", current.title)
    st.error(f"Something went wrong on this page: {type(err).__name__}: {md(err)}")
