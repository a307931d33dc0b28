"""The browser's primer (app/primer.py): hidden chart, table and iframe elements sent at the
start of a session's first run, before the script waits for the warm-up's imports, so the
browser loads their code while the server works (the card's heatmap used to wait for
plotly's 4.7 MB chunk)."""

from __future__ import annotations

from types import SimpleNamespace

from streamlit.testing.v1 import AppTest

from app import boot
from tests.app.conftest import MAIN, element_types


def _primer_app():
    import threading
    from types import SimpleNamespace

    import pandas as pd
    import plotly.graph_objects as go

    from app import primer

    ready = threading.Event()
    ready.set()
    content = {
        "figure": go.Figure(go.Heatmap(z=[[0.0]])).to_plotly_json(),
        "frame": pd.DataFrame({"primer": [""]}),
    }
    primer.prime(SimpleNamespace(primer_ready=ready, primer=content))


def test_the_primer_sends_hidden_chart_table_and_iframe_once_per_session():
    at = AppTest.from_function(_primer_app)
    at.run()
    assert not at.exception
    sent = element_types(at.sidebar)
    # what the card draws first: its heatmap, tables and graph
    for kind in ("plotly_chart", "dataframe", "table", "iframe"):
        assert kind in sent, (kind, sent)
    hides = [h.proto.body for h in at.get("html")]
    assert any(".st-key-reclens-primer" in h and "display: none" in h for h in hides)
    at.run()  # the session's next run: nothing again
    assert not any("plotly_chart" in t for t in element_types(at.sidebar))


def test_without_the_warm_up_s_content_no_primer_is_sent(monkeypatch):
    from app import primer

    monkeypatch.setattr(primer, "WAIT_S", 0.01)  # the warm-up's step 0 never finishes here

    def app():
        import threading
        from types import SimpleNamespace

        from app import primer

        primer.prime(SimpleNamespace(primer_ready=threading.Event(), primer=None))

    at = AppTest.from_function(app)
    at.run()
    assert not at.exception and element_types(at.sidebar) == []


def test_main_sends_the_primer_before_it_waits_for_the_imports(tiny_env, monkeypatch):
    from app import primer

    order = []
    real_start, real_prime = boot.start, primer.prime

    class Recorder:
        def __init__(self, w):
            self._w = w

        def __getattr__(self, name):
            return getattr(self._w, name)

        @property
        def imported(self):
            event = self._w.imported
            return SimpleNamespace(wait=lambda *a: order.append("imports") or event.wait(*a))

    def prime(w):
        slot = real_prime(w)
        order.append("primer sent" if slot is not None else "no primer")
        return slot

    monkeypatch.setattr(boot, "start", lambda *a, **k: Recorder(real_start(*a, **k)))
    monkeypatch.setattr(primer, "prime", prime)
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert order[:2] == ["primer sent", "imports"]
    # cleared once the page is drawn: no leftover chart in the sidebar
    assert not any("plotly_chart" in t for t in element_types(at.sidebar))
