"""benchmarks/scale_export.py: the synthetic >= N-row export keeps every per-user figure of its
source (copies of users, renamed), so its timings measure the source's population at scale."""

import math

from benchmarks.scale_export import _dur, export_table, synthesise
from core.population.report import population
from tests.test_population import write_hand_export


def test_a_synthetic_export_scales_rows_and_users_and_keeps_the_figures(tmp_path):
    source = write_hand_export(tmp_path / "hand")
    manifest = synthesise(source, tmp_path / "big", rows=50)
    assert manifest["rows"] == 54 and "9 copies" in manifest["synthetic"]  # 9 x 6 rows
    big, small = population(tmp_path / "big"), population(source)
    assert big["n_recommendations"] == 54 and big["n_users"] == 18
    assert math.isclose(big["bubble"]["entity_mean"], small["bubble"]["entity_mean"])
    assert math.isclose(big["path_metrics"]["lir"], small["path_metrics"]["lir"])  # recency too
    assert big["personal"]["sampled_users"] == 9


def test_budget_cut_rows_are_marked_and_projections_skip_them():
    cut = {"model": "lightgcn", "fidelity": False, "processes": 1, "slice": 4, "cut": "over"}
    text = export_table([cut])
    assert "**budget-cut: over**" in text and "| lightgcn | 1 |" not in text
    assert _dur(600) == "10 min" and _dur(7200) == "2.0 h" and _dur(None) == "—"
