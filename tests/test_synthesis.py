"""Synthesis: facets found in each paper's own text, drafting groups planned on what papers share, grouping
and contrast sentences citing exactly the papers they are about, open problems and positioning."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent.api import SurveyAgent
from agent.check.checker import Checker
from agent.core.names import introduced_name
from agent.survey.cards import make_card
from agent.survey.draft import Drafter
from agent.survey.facets import Vocabulary, contributes, stated_limitation
from agent.survey.models import Sentence, SentenceKind
from agent.survey.synthesis import plan_groups, subjects, with_contrast

from conftest import write_listing

PRUNING = [
    ("FastPrune: Visual Token Pruning for Fast Multimodal Models",
     "Multimodal models process hundreds of image tokens, which makes inference slow. We propose FastPrune, "
     "which applies visual token pruning after the second layer of the language model. Visual token pruning "
     "with FastPrune removes half of the image tokens and keeps accuracy on six benchmarks within one point."),
    ("RankDrop: Ranking Image Tokens by Text Attention",
     "Image tokens dominate the cost of multimodal inference. We introduce RankDrop, a visual token pruning "
     "method that ranks image tokens by the attention they receive from the question. RankDrop keeps 30% of "
     "the tokens and matches the full model on visual question answering, without any retraining."),
    ("MergeVis: Merging Similar Patches in Vision Encoders",
     "Vision encoders emit many redundant patches. We present MergeVis, which merges similar patches inside "
     "the vision encoder and also performs visual token pruning before the language model. MergeVis speeds "
     "up inference by 2x; however, very small text in documents remains difficult to read after merging."),
]
DECODING = [
    ("DraftFast: Speculative Decoding with a Small Draft Model",
     "Autoregressive decoding is slow because each token needs a full forward pass. We propose DraftFast, "
     "which uses speculative decoding with a small draft model whose proposals the large model verifies in "
     "parallel. DraftFast reaches a 2.5x speed-up on summarization with identical outputs."),
    ("TreeSpec: Tree-Structured Speculative Decoding",
     "Speculative decoding verifies one draft sequence at a time. We introduce TreeSpec, which verifies a "
     "tree of draft continuations at once, raising the accepted length. TreeSpec improves speculative "
     "decoding throughput by 40% on code generation, but long trees still fail to pay off at small batch sizes."),
]
OTHER = [
    ("Audio Captioning with Retrieval",
     "Captioning sounds needs knowledge of rare events that captioning datasets lack. In this paper, we "
     "retrieve similar clips and their captions and condition the captioner on them, improving CIDEr by "
     "eight points on AudioCaps and Clotho."),
]


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synthesis")
    listing = write_listing(root / "papers.txt", PRUNING + DECODING + OTHER)
    store = root / "store"
    with SurveyAgent(store=store) as agent:
        assert agent.ingest([listing]).new == len(PRUNING + DECODING + OTHER)
    return store


def papers_of(agent: SurveyAgent):  # type: ignore[no-untyped-def]
    return agent.store.catalog.papers(list(agent.store.catalog.keys()))


def test_facets_are_spans_of_the_papers_own_text(small_store: Path) -> None:
    """Every facet value is found in the paper's title or abstract; nothing is made up."""
    with SurveyAgent(store=small_store) as agent:
        papers = papers_of(agent)
        vocabulary = Vocabulary({p.key: f"{p.title}. {p.abstract}" for p in papers}, "efficient multimodal models")
        for p in papers:
            card = make_card(p, "efficient multimodal models")
            text = f"{p.title}. {p.abstract}".lower()
            kind = vocabulary.method_kind(p.key, card.method)
            for value in [kind, card.headline, *card.datasets, card.limitation]:
                assert value.lower() in text, (p.key, value)
            for surface in vocabulary.phrases[p.key].values():
                assert surface.lower() in text
        by_title = {p.title.split(":")[0]: p for p in papers}
        assert introduced_name(by_title["FastPrune"].abstract) == "FastPrune"
        assert make_card(by_title["RankDrop"], "x").training == "training-free"
        limitation, prior = stated_limitation(by_title["MergeVis"].abstract)
        assert "remains difficult" in limitation and not prior
        assert stated_limitation(by_title["DraftFast"].abstract) == ("", False)
        assert contributes("We propose a new pruning method.") and not contributes("Small text remains hard to read.")


def test_groups_are_planned_on_a_shared_phrase(small_store: Path) -> None:
    """The pruning papers are drafted together around "visual token pruning", the decoding ones around
    "speculative decoding"; the unrelated paper joins a group without being said to share its phrase."""
    with SurveyAgent(store=small_store) as agent:
        papers = papers_of(agent)
        vocabulary = Vocabulary({p.key: f"{p.title}. {p.abstract}" for p in papers}, "efficient models")
        keys = [p.key for p in papers]
        groups = plan_groups(keys, vocabulary, size=4)
        titled = {p.key: p.title.split(":")[0] for p in papers}
        shared = {g.facet.lower(): sorted(titled[k] for k in g.shared_by) for g in groups if g.facet}
        assert shared["visual token pruning"] == ["FastPrune", "MergeVis", "RankDrop"]
        assert shared["speculative decoding"] == ["DraftFast", "TreeSpec"]
        assert sorted(k for g in groups for k in g.keys) == sorted(keys)  # every paper drafted exactly once
        for g in groups:
            for key in g.shared_by:
                assert g.facet.lower() in g.evidence[key].lower()


def test_grouping_sentence_cites_exactly_the_papers_sharing_the_phrase(small_store: Path, tmp_path: Path, fake) -> None:
    """Through the real drafter and checker (the fake model phrases): the grouping sentence cites the
    three pruning papers and no other, and a contrast joins two verified one-paper sentences."""
    with SurveyAgent(store=small_store, model="fake/rules", cache_dir=tmp_path / "cache", llm_retry_wait=0.01) as agent:
        papers = papers_of(agent)
        vocabulary = Vocabulary({p.key: f"{p.title}. {p.abstract}" for p in papers}, "efficient models")
        pruning = [p.key for p in papers if "pruning" in p.abstract]
        other = [p.key for p in papers if p.title.startswith("Audio")]
        group = next(g for g in plan_groups(pruning + other, vocabulary, size=4) if g.facet)
        cards = [make_card(p, "efficient models") for p in papers if p.key in group.keys]
        drafter = Drafter(agent.llm, Checker(agent.store, agent.settings, agent.llm), "efficient models", "fake/rules")
        draft = drafter.draft(cards, "Token pruning", group=group, names=subjects(cards))
        prompts = [c["messages"][-1]["content"] for c in fake.calls]
        asked = [p for p in prompts if p.startswith("Sentences from")]
        assert len(asked) == 1 and "FastPrune, MergeVis and RankDrop" in asked[0]
        written = draft.sentences + [Sentence(f["text"], f["text"], f["keys"], f["status"]) for f in draft.flagged]
        grouping = [s for s in written if s.text.startswith("FastPrune, MergeVis and RankDrop all use")]
        assert len(grouping) == 1 and sorted(grouping[0].keys) == sorted(group.shared_by)
        assert not set(grouping[0].keys) & set(other)


def test_contrast_joins_two_verified_sentences_clause_by_clause() -> None:
    first = Sentence("FastPrune drops image tokens after layer two [@a].", "x", ["a"], "supported")
    second = Sentence("RankDrop ranks tokens by text attention [@b].", "y", ["b"], "supported")
    lone = Sentence("A third study does something else [@c].", "z", ["c"], "supported")
    out = with_contrast([first, second, lone], {"a": "FastPrune", "b": "RankDrop", "c": "One study"}, ["a", "b"])
    assert out[0].text == ("FastPrune drops image tokens after layer two, whereas RankDrop ranks tokens by text "
                           "attention [@a; @b].")
    assert out[0].kind == SentenceKind.COMPARISON and out[0].keys == ["a", "b"] and out[1] is lone
    # A sentence that does not open with its paper's name cannot be joined: nothing is composed.
    odd = Sentence("It ranks tokens [@b].", "y", ["b"], "supported")
    assert with_contrast([first, odd], {"a": "FastPrune", "b": "RankDrop"}, ["a", "b"]) == [first, odd]


def test_open_problems_cite_only_papers_stating_a_limitation(small_store: Path, tmp_path: Path, fake) -> None:
    with SurveyAgent(store=small_store, model="fake/rules", cache_dir=tmp_path / "cache", llm_retry_wait=0.01) as agent:
        survey = agent.write("efficient inference for multimodal and language models", papers=6,
                             output=tmp_path / "s.md")
        stating = {p.key for p in papers_of(agent) if (s := stated_limitation(p.abstract)[0]) and not contributes(s)}
        section = next(s for s in survey.sections if s.kind == "open_problems")
        assert section.keys and set(section.keys) <= stating
        assert {k for s in section.sentences for k in s.keys} <= stating
        assert all(s.text.startswith("According to") for s in section.sentences)
        if len(section.keys) < 3:
            assert section.text.startswith("This section is short")


def test_related_work_paragraphs_end_with_distinct_positioning(small_store: Path, tmp_path: Path, fake) -> None:
    abstract = ("Multimodal models are slow on long inputs. We propose a visual token pruning rule learned from "
                "attention statistics. We also design a speculative decoding scheme whose draft model reads the "
                "pruned tokens, and we evaluate both on video question answering.")
    with SurveyAgent(store=small_store, model="fake/rules", cache_dir=tmp_path / "cache", llm_retry_wait=0.01) as agent:
        survey = agent.related_work("Pruning and speculating for fast multimodal inference", abstract, sections=2,
                                    cite=["DraftFast", "TreeSpec"], output=tmp_path / "rw.md")
        endings = [s.sentences[-1] for s in survey.sections if s.sentences]
        positions = [x.text for x in endings if x.kind == SentenceKind.POSITION]
        assert len(positions) >= 2 and len(set(positions)) == len(positions)
        # Each names the paragraph's closest works rather than "these works", and says a different thing of ours.
        ours = [re.sub(r".*our paper ", "", p) for p in positions]
        assert len(set(ours)) == len(ours)
