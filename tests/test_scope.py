"""Which papers a survey keeps: relevance decides, `--papers` only caps, and the left-out are reported.

A real embedded store of 45 made-up papers: 5 on one subject (graph neural networks for molecular
property prediction), 40 on other subjects. Every one of the 45 abstracts mentions "large language
models", so that phrase is generic in this store.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.api import SurveyAgent
from agent.survey.relevance import BROAD_SHARE, phrases, tokens, topic_pairs, word_pairs
from agent.survey.scope import find_scope

import fake_llm
from conftest import write_listing

SUBJECT = "graph neural networks for molecular property prediction"
TOPIC = f"{SUBJECT} with large language models"
ON_TOPIC = [
    ("MolGNN: Message Passing Graph Neural Networks for Molecular Property Prediction",
     "Graph neural networks predict molecular properties from atoms and bonds."),
    ("Equivariant Graph Neural Networks Improve Molecular Property Prediction",
     "We make graph neural networks equivariant to rotations for molecular property prediction."),
    ("Pretraining Graph Neural Networks on Unlabeled Molecules for Property Prediction",
     "Self-supervised pretraining of graph neural networks on molecules improves molecular property prediction."),
    ("A Benchmark for Molecular Property Prediction with Graph Neural Networks",
     "We release a benchmark of molecular property prediction tasks and evaluate graph neural networks on it."),
    ("Explaining Graph Neural Network Predictions of Molecular Properties",
     "We explain which substructures drive graph neural network predictions of molecular property values."),
]
OTHER_SUBJECTS = [
    "speech recognition in noisy rooms", "protein structure folding", "legal contract review", "stock price forecasting",
    "machine translation of poetry", "code completion in editors", "image captioning for news", "robot grasp planning",
    "weather nowcasting from radar", "music genre tagging", "medical report summarization", "traffic flow control",
    "essay scoring for schools", "recipe generation from photos", "chess opening analysis", "satellite crop mapping",
    "sign language translation", "fake news detection online", "customer support chatbots", "math word problems",
    "video game level design", "handwriting recognition of letters", "earthquake early warning", "dialogue state tracking",
    "fashion outfit recommendation", "patent classification", "emotion recognition in speech", "table question answering",
    "bird song identification", "wildfire spread simulation", "tax form extraction", "sarcasm detection in tweets",
    "urban noise mapping", "cooking robot control", "quantum circuit compilation", "dance motion synthesis",
    "solar panel fault detection", "library book cataloguing", "podcast topic segmentation", "ship route optimization",
]


def _abstract(lead: str, subject: str) -> str:
    return (f"{lead} Large language models are now used widely, and we study {subject} with large language models. "
            f"Experiments on three public datasets show clear gains for {subject}, and we release code and data "
            "for others to build on and to compare against in future work.")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("scope")
    papers = [(title, _abstract(lead, "molecular property prediction")) for title, lead in ON_TOPIC]
    papers += [(f"{s[:1].upper()}{s[1:]} with Large Language Models", _abstract(f"We study {s}.", s))
               for s in OTHER_SUBJECTS]
    listing = write_listing(root / "papers.txt", papers)
    with SurveyAgent(store=root / "store") as agent:
        report = agent.ingest([listing])
    assert report.new == 45
    return root / "store"


def _on_topic_keys(agent: SurveyAgent) -> set[str]:
    titles = {t for t, _ in ON_TOPIC}
    return {p.key for p in agent.papers() if p.title in titles}


def test_word_pairs_and_phrases() -> None:
    assert phrases("visual token compression and pruning for efficient MLLMs") == [
        "visual token compression", "pruning", "efficient MLLMs"]
    assert ("token", "compress") in topic_pairs("visual token compression")
    assert ("compress", "prune") not in topic_pairs("compression and pruning")  # never across a connective
    assert ("token", "compress") in word_pairs(tokens("tokens are compressed"))
    assert ("long", "video") in topic_pairs("hour-long videos")  # a compound's parts, as papers also write them


def test_a_generic_phrase_is_not_searched_and_does_not_widen_the_set(store: Path) -> None:
    with SurveyAgent(store=store) as agent:
        scope = find_scope(agent.store, TOPIC, 40)
        on_topic = _on_topic_keys(agent)
    broad = {b["query"]: b["share"] for b in scope.broad_queries}
    assert "large language models" in broad and broad["large language models"] > BROAD_SHARE
    assert "large language models" not in scope.queries
    # Every paper says "large language models"; only the five about the subject are kept.
    assert set(scope.keys) == on_topic
    assert scope.relevant == 5 and scope.candidates > 5


def test_five_relevant_papers_give_a_five_paper_survey_without_padding(store: Path, tmp_path: Path, fake) -> None:
    with SurveyAgent(store=store, model="fake/rules", cache_dir=tmp_path / "cache", llm_retry_wait=0.01) as agent:
        survey = agent.write(TOPIC, papers=40, output=tmp_path / "s.md")
        on_topic = _on_topic_keys(agent)
    assert set(survey.scope.keys) == on_topic
    assert set(survey.cited) <= on_topic
    md = (tmp_path / "s.md").read_text(encoding="utf-8")
    assert f"5 papers in the store are about {TOPIC}; the survey covers them." in md
    # The left-out papers are listed in the appendix and the JSON, with their scores, never cited.
    appendix = md.split("### Papers considered and left out", 1)[1]
    data = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))
    left = data["scope"]["left_out"]
    assert left and all(x["reason"] == "off-topic" and x["key"] not in on_topic for x in left)
    assert all(f"`{x['key']}`" in appendix for x in left)
    assert all(f"[@{x['key']}]" not in md for x in left)
    assert [x["relevance"] for x in left] == sorted((x["relevance"] for x in left), reverse=True)


def test_the_model_saying_yes_does_not_bring_an_off_topic_paper_in(store: Path, tmp_path: Path, fake) -> None:
    """Relevance is code's call (the 1.5B model's yes/no ranked papers near chance on bench/topics): a model
    that answers Yes to everything changes nothing about which papers are kept."""
    fake.script.extend(["Yes"] * 5)
    with SurveyAgent(store=store, model="fake/rules", cache_dir=tmp_path / "cache", llm_retry_wait=0.01) as agent:
        scope = find_scope(agent.store, TOPIC, 40)
        on_topic = _on_topic_keys(agent)
    assert set(scope.keys) == on_topic
    assert len(fake.script) == 5 and not fake.calls  # the model was not asked


def test_papers_is_a_cap_and_the_rest_are_reported(store: Path) -> None:
    with SurveyAgent(store=store) as agent:
        scope = find_scope(agent.store, TOPIC, 3)
    assert len(scope.keys) == 3 and scope.relevant == 5
    assert "the survey covers the 3 most relevant (--papers 3)" in scope.summary
    capped = [x for x in scope.left_out if x["reason"] == "over the --papers cap"]
    assert len(capped) == 2
    kept_scores = [scope.relevance[k] for k in scope.keys]
    assert min(kept_scores) >= max(x["relevance"] for x in capped)


def test_pinned_paper_is_kept_and_said_so(store: Path) -> None:
    with SurveyAgent(store=store) as agent:
        other = next(p.key for p in agent.papers() if p.title.startswith("Chess opening"))
        scope = find_scope(agent.store, TOPIC, 40, include=[other])
    assert scope.keys[0] == other and len(scope.keys) == 6
    assert scope.summary.endswith("and 1 pinned with --include.")


def test_a_topic_nothing_is_about_is_one_clear_error(store: Path) -> None:
    from agent.core.errors import SurveyError

    with SurveyAgent(store=store) as agent, pytest.raises(SurveyError, match="no paper in the store .* is about"):
        find_scope(agent.store, "superconducting qubit error correction", 40)





def test_a_small_store_is_judged_by_coverage_alone(tmp_path: Path) -> None:
    """Six papers give no background to measure against: the topic's words decide (a user's own .bib)."""
    papers = [(title, _abstract(lead, "molecular property prediction")) for title, lead in ON_TOPIC]
    papers.append(("Chess Opening Analysis with Large Language Models", _abstract("We study chess.", "chess openings")))
    listing = write_listing(tmp_path / "papers.txt", papers)
    with SurveyAgent(store=tmp_path / "store", embedding_model="none") as agent:
        agent.ingest([listing])
        scope = find_scope(agent.store, TOPIC, 40)
        assert set(scope.keys) == _on_topic_keys(agent)
    assert [x["reason"] for x in scope.left_out] == ["off-topic"]
_ = fake_llm  # registers the fake provider


def test_a_keyword_only_store_is_judged_without_embedding_anything(tmp_path: Path) -> None:
    """Opened with the default embedder, a keyword-only store has no vectors to compare: relevance must not
    embed the background sample (1,500 abstracts would take minutes) and still finds the five papers."""
    papers = [(title, _abstract(lead, "molecular property prediction")) for title, lead in ON_TOPIC]
    papers += [(f"{s[:1].upper()}{s[1:]} with Large Language Models", _abstract(f"We study {s}.", s))
               for s in OTHER_SUBJECTS]
    listing = write_listing(tmp_path / "papers.txt", papers)
    with SurveyAgent(store=tmp_path / "store", embedding_model="none") as agent:
        agent.ingest([listing])
    with SurveyAgent(store=tmp_path / "store") as agent:
        assert agent.store.embedder is not None and not agent.store.holds_vectors
        embedded: list[str] = []
        real = agent.store.embedder.embed
        agent.store.embedder.embed = lambda texts: embedded.extend(texts) or real(texts)  # type: ignore[method-assign]
        scope = find_scope(agent.store, TOPIC, 40)
        assert set(scope.keys) == _on_topic_keys(agent)
    assert embedded == []
