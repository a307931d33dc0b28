"""The grounding checker on a hand-built explanation whose facts are known, and the adversarial
table: each text with the violation kinds it must raise (none for a clean paraphrase).

Evidence for user 0 and "The Martian" (item 0, rank 2, score 0.83):
  P1 you liked "Gravity" (i1) -directed_by-> "Ridley Scott" (e5) -> "The Martian"
  P2 you liked "Moon" (i2) -genre-> "Science Fiction" (e6) -> "The Martian"
  P3 you liked "Interstellar" (i3) -starring-> "Matt Damon" (e8) -> "The Martian"
  attention on Gravity 0.6, Moon 0.3, Interstellar 0.1; entity "Christopher Nolan" (e7) 0.05,
  on no path. Not in the evidence: "Mr. Nobody" (i4), "Drama" (e9), "History" (e10).
"""

from __future__ import annotations

import pytest

from core.explain import api
from core.explain.base import Contribution, Edge, Explanation, Path
from core.explain.evidence import build_evidence
from core.explain.grounding import Checker, summarise
from core.explain.lexicon import Lexicon

NAMES = (
    "The Martian", "Gravity", "Moon", "Interstellar", "Mr. Nobody",
    "Ridley Scott", "Science Fiction", "Christopher Nolan", "Matt Damon", "Drama", "History",
)  # fmt: skip
RELATIONS = ("directed_by", "genre", "starring")


def _path(liked: int, rel: str, ent: int, w: float) -> Path:
    edges = (
        Edge("u:0", "interacted", f"i:{liked}", 0.5),
        Edge(f"i:{liked}", rel, f"e:{ent}", w),
        Edge(f"e:{ent}", f"~{rel}", "i:0", w),
    )
    return Path(edges, 0.5 * w * w, "user-item-entity-item")


def hand_explanation() -> Explanation:
    return Explanation(
        user=0, item=0, score=0.83, rank=2, method="paths", model="hand",
        contributions=(
            Contribution("history_item", "i:1", "Gravity", 0.6),
            Contribution("history_item", "i:2", "Moon", 0.3),
            Contribution("history_item", "i:3", "Interstellar", 0.1),
            Contribution("entity", "e:7", "Christopher Nolan", 0.05),
        ),
        paths=(_path(1, "directed_by", 5, 0.9), _path(2, "genre", 6, 0.6),
               _path(3, "starring", 8, 0.4)),
        sentence='Recommended because you liked "Gravity", which, like "The Martian", is linked '
        'to "Ridley Scott" (directed by).',
        extra={"item_name": "The Martian", "user_name": "u1"},
    )  # fmt: skip


def hand_evidence():
    return build_evidence(hand_explanation(), Lexicon.from_names(NAMES, n_items=5))


def hand_checker() -> Checker:
    return Checker(Lexicon.from_names(NAMES, n_items=5), RELATIONS)


@pytest.fixture
def evidence():
    return hand_evidence()


@pytest.fixture
def checker():
    return hand_checker()


ADVERSARIAL = [
    # clean paraphrases: grounded
    ("We picked The Martian because, like Gravity, which you liked, it was directed by "
     "Ridley Scott [P1].", set()),
    ("The Martian ranks 2nd for you (score 0.83); Moon, which you liked, shares its genre, "
     "Science Fiction [P2].", set()),
    ("the martian stars matt damon, as interstellar does.", set()),
    ("Martian is directed by Ridley Scott, who also directed Gravity.", set()),  # alias
    ("The Martian is like Moonlight.", {"unsupported"}),  # word-bounded: not "Moon", but a name
    ("Moon, from your history, led to The Martian.", set()),  # "history" is a word here
    # foreign entity
    ("The Martian was directed by Ridley Scott, like Mr. Nobody.", {"foreign_entity"}),
    ("The Martian is a Drama, like Moon.", {"foreign_entity"}),
    ("The Martian is a History film.", {"foreign_entity"}),  # ... and a genre here
    ("THE MARTIAN, directed by RIDLEY SCOTT, like MR. NOBODY.", {"foreign_entity"}),
    # cross-wired pairs: both names are in the evidence, the fact between them is not
    ("The Martian is here because Moon was directed by Ridley Scott.", {"relation"}),
    ("The Martian was directed by Christopher Nolan.", {"relation"}),
    ("The Martian is recommended. Interstellar was directed by Christopher Nolan.",
     {"unconnected", "relation"}),
    ("Gravity stars Matt Damon, so you get The Martian.", {"relation"}),
    # invented numbers
    ("The Martian scores 0.95 and is directed by Ridley Scott [P1].", {"number"}),
    ("The Martian is your number 1 pick.", {"number"}),
    ("The Martian is 75% likely to please you.", {"number", "unsupported"}),
    # wrong citations
    ("Moon shares its genre, Science Fiction, with The Martian [P1].", {"citation"}),
    ("The Martian was directed by Ridley Scott [P4].", {"citation"}),
    # the item is not named
    ("You liked Gravity, directed by Ridley Scott [P1].", {"item_missing"}),
    ("", {"empty"}),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), ADVERSARIAL)
def test_adversarial_table(checker, evidence, text, expected):
    report = checker.check(text, evidence)
    kinds = {v.kind for v in report.violations}
    assert kinds == expected, [(v.kind, v.span, v.message) for v in report.violations]
    assert report.grounded == (not expected)
    for v in report.violations:  # every violation points at the text it objects to
        assert text[v.start : v.end] == v.span


def test_violation_spans_name_the_offender(checker, evidence):
    text = "The Martian scores 0.95 and is directed by Ridley Scott, like Mr. Nobody [P9]."
    spans = {v.kind: v.span for v in checker.check(text, evidence).violations}
    assert spans == {"number": "0.95", "foreign_entity": "Mr. Nobody", "citation": "[P9]"}


def test_numbers_match_at_stated_precision(checker, evidence):
    ok = "The Martian (score 0.8, or 83%) is linked to Ridley Scott with weight 0.9 [P1]."
    assert checker.check(ok, evidence).grounded
    bad = "The Martian (score 0.84) is linked to Ridley Scott [P1]."
    assert [v.span for v in checker.check(bad, evidence).violations] == ["0.84"]


def test_coverage_counts_cited_or_named_paths(checker, evidence):
    assert checker.check("The Martian.", evidence).coverage == 0.0
    one = checker.check("The Martian, directed by Ridley Scott.", evidence)
    assert one.coverage == pytest.approx(1 / 3)
    all3 = "The Martian: Gravity [P1], Moon [P2] and Interstellar [P3] lead to it."
    assert checker.check(all3, evidence).coverage == 1.0


def test_metrics_count_hallucinations_not_omissions(checker, evidence):
    reports = [
        checker.check("The Martian was directed by Ridley Scott [P1].", evidence),  # clean
        checker.check("The Martian was directed by Ridley Scott, like Mr. Nobody.", evidence),
        checker.check("You liked Gravity.", evidence),  # omission only
    ]
    m = summarise(reports)
    assert m.n_texts == 3
    assert m.explanation_hallucination == pytest.approx(1 / 3)
    bad = sum(r.n_bad_claims for r in reports)
    assert bad == 1 and m.mention_hallucination == pytest.approx(
        bad / sum(r.n_claims for r in reports)
    )


def test_evidence_is_deterministic_and_bounded(evidence):
    assert evidence.path_ids == ("P1", "P2", "P3")
    assert evidence.item == "i:0" and evidence.item_name == "The Martian"
    assert evidence.entities == {"i:0", "i:1", "i:2", "i:3", "e:5", "e:6", "e:7", "e:8"}
    assert [h.phrase for h in evidence.paths[0].hops] == ["", "directed by", "directed by"]
    facts = evidence.facts()
    assert "[P1]" in facts and "Mr. Nobody" not in facts and "Drama" not in facts


@pytest.mark.parametrize("method", ["attention", "paths", "counterfactual"])
def test_templates_state_nothing_false(kgat_ctx, method):
    """The template sentences of the toy model never hallucinate against their own evidence
    (the attention template may omit the item's name: an omission, not a false claim)."""
    checker = Checker.from_context(kgat_ctx)
    for user in range(3):
        for expl in api.explain_top_k(kgat_ctx, user, 3, method):
            report = checker.check(expl.sentence, build_evidence(expl, checker.lexicon))
            assert not report.hallucinated, (expl.sentence, report.violations)


def test_evidence_keeps_the_paths_the_template_names():
    """The template may name a history item from a later path through the same entity; the
    evidence keeps that path even when it is not among the top 3."""
    paths = tuple(_path(i, "genre", 6, 0.9 - 0.1 * i) for i in (1, 2, 3)) + (
        _path(4, "genre", 6, 0.1),
    )
    names = NAMES[:4] + ("Zed",) + NAMES[5:]
    expl = Explanation(
        user=0, item=0, score=0.5, rank=1, method="paths", model="hand", paths=paths,
        sentence='Recommended because you liked "Gravity" and "Zed", which, like "The Martian", '
        'are linked to "Science Fiction" (genre).', extra={"item_name": "The Martian"},
    )  # fmt: skip
    lex = Lexicon.from_names(names, n_items=5)
    ev = build_evidence(expl, lex)
    assert len(ev.paths) == 3 and "i:4" in ev.entities
    assert Checker(lex, RELATIONS).check(expl.sentence, ev).grounded


def test_evidence_states_path_scores_as_shares(kgat_ctx):
    """The facts a narrator gets give each path as its share of the path evidence (what the
    dashboard shows), not as a raw product of attentions; a text stating it is grounded."""
    expl = api.explain(kgat_ctx, 0, 1, "paths")  # two paths: 0.5 and 1/12 of attention
    checker = Checker.from_context(kgat_ctx)
    ev = build_evidence(expl, checker.lexicon)
    assert [p.share for p in ev.paths] == pytest.approx([6 / 7, 1 / 7])
    facts = ev.facts()
    assert "[P1] (86% of the path evidence)" in facts and "[P2] (14% of the path evidence)" in facts
    assert "score 0.5)" not in facts
    report = checker.check("Ann Lee carries 86% of the evidence [P1].", ev)
    assert not report.hallucinated, report.violations


@pytest.mark.parametrize(
    "text",
    [
        'The user liked "The Martian," which has genre "Science Fiction."',  # SmolLM2's answer
        "You liked The Martian and Gravity, directed by Ridley Scott.",
        "The Martian, which you liked, is directed by Ridley Scott.",
        "The Martian is not directed by Ridley Scott.",  # a denied fact
    ],
)
def test_history_claims_and_denials_are_checked(checker, evidence, text):
    """'you liked X' needs X in the history the evidence gives; the check cannot verify a
    denial, so a negated relation is not attributed (both passed the open-world check)."""
    assert not checker.check(text, evidence).grounded


def test_history_claims_of_history_items_pass(checker, evidence):
    ok = "The Martian is directed by Ridley Scott, like Gravity, which you liked."
    assert checker.check(ok, evidence).grounded
