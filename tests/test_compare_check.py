"""Comparison sentences checked clause by clause (agent/check/compare.py), on a real store of three papers
with the shipped trained judge: contrasts, lists false of one paper, empty comparisons, over-citation."""

from __future__ import annotations

import json

import pytest

from agent.api import SurveyAgent
from agent.check.checker import Checker
from agent.check.clauses import EACH, JOINT, ONE, parts, without
from agent.check.compare import Obligation, decide
from agent.check.names import name_spans, paper_names
from agent.check.verdict import NOT_ENOUGH_INFO, SUPPORTED, Verdict
from agent.check.wording import borrowed, negated_in, spelled, split_negated

RECORDS = [
    {"title": "SnipVT: Training-Free Pruning of Visual Tokens",
     "abstract": "Multimodal language models spend most of their compute on visual tokens. This work prunes redundant "
                 "visual tokens at inference time. SnipVT is a training-free method that ranks tokens by the attention "
                 "they receive from the vision encoder and keeps the most salient ones. On six image benchmarks it "
                 "removes 80% of the tokens with little loss in accuracy."},
    {"title": "TrimMo: Merging Visual Tokens Before the Language Model",
     "abstract": "Long visual token sequences make multimodal models slow. This work prunes redundant visual tokens at "
                 "inference time. TrimMo merges similar tokens before the language model and does not require any "
                 "retraining. Experiments on video and image tasks show a fourfold speed-up at equal accuracy."},
    {"title": "ChatClip: A Dialogue Model for Long Videos",
     "abstract": "Video dialogue needs models that follow a conversation over long clips. This work trains a dialogue "
                 "model on long videos. ChatClip is trained on 50K conversations collected from a video platform and "
                 "answers questions about events that lie far apart in time. It outperforms prior video assistants on "
                 "three dialogue benchmarks."},
]
KEYS = ["SnipVT", "TrimMo", "ChatClip"]


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("compare")
    papers = folder / "papers.jsonl"
    papers.write_text("".join(json.dumps(r) + "\n" for r in RECORDS), encoding="utf-8")
    with SurveyAgent(store=folder / "store") as a:
        report = a.ingest([papers])
        assert report.new == 3 and sorted(a.store.catalog.keys()) == sorted(KEYS)
        yield a


def checked(agent: SurveyAgent, text: str):  # type: ignore[no-untyped-def]
    """What the survey writer does with a drafted sentence: gate, verify, repair (never re-cite)."""
    return Checker(agent.store, agent.settings).check(text, KEYS, uncited="drop", without=("recite",))


def test_a_true_contrast_survives_though_no_abstract_supports_all_of_it(agent: SurveyAgent) -> None:
    text = ("SnipVT prunes redundant visual tokens at inference time, whereas ChatClip trains a dialogue model on "
            "long videos [@SnipVT; @ChatClip].")
    (check,) = agent.verify_text(text).checks
    assert all(v.label != SUPPORTED for v in check.verdicts)  # neither paper alone says both halves
    assert [(c["kind"], [v["key"] for v in c["verdicts"]]) for c in check.to_dict()["clauses"]] == [
        (ONE, ["SnipVT"]), (ONE, ["ChatClip"])]
    assert check.status == "supported" and check.relevant == ["SnipVT", "ChatClip"]
    result = checked(agent, text)
    assert result.text == text and result.report.citation_recall == 1.0


def test_a_contrast_with_a_citation_per_clause_survives(agent: SurveyAgent) -> None:
    text = ("SnipVT [@SnipVT] prunes redundant visual tokens at inference time, while ChatClip [@ChatClip] trains a "
            "dialogue model on long videos.")
    assert agent.verify_text(text).checks[0].status == "supported"
    assert checked(agent, text).text == text


def test_swapped_clauses_are_caught(agent: SurveyAgent) -> None:
    text = ("SnipVT trains a dialogue model on long videos, whereas ChatClip prunes redundant visual tokens at "
            "inference time [@SnipVT; @ChatClip].")
    (check,) = agent.verify_text(text).checks
    assert check.status != "supported" and set(check.comparison.failing) == {"SnipVT", "ChatClip"}
    assert checked(agent, text).text == ""  # a contrast false of its papers is removed, never trimmed


def test_a_list_false_of_one_paper_drops_that_paper_name_and_citation(agent: SurveyAgent) -> None:
    text = "SnipVT, TrimMo and ChatClip all prune redundant visual tokens at inference time [@SnipVT; @TrimMo; @ChatClip]."
    (check,) = agent.verify_text(text).checks
    assert check.status != "supported" and check.comparison.failing == ["ChatClip"]
    result = checked(agent, text)
    assert result.text == "SnipVT and TrimMo both prune redundant visual tokens at inference time [@SnipVT; @TrimMo]."
    assert result.checks[0].repair.startswith("dropped @ChatClip") and result.report.checks[0].status == "supported"


def test_a_pair_false_of_one_paper_is_removed(agent: SurveyAgent) -> None:
    text = "Both TrimMo [@TrimMo] and ChatClip [@ChatClip] prune redundant visual tokens at inference time."
    result = checked(agent, text)
    assert result.text == "" and result.checks[0].repair == "removed"  # one paper left: no list to keep


def test_an_empty_comparison_is_caught_by_the_term_it_borrows(agent: SurveyAgent) -> None:
    text = "SnipVT and ChatClip propose different approaches to training-free token pruning [@SnipVT; @ChatClip]."
    (check,) = agent.verify_text(text).checks
    chatclip = [v for c in check.to_dict()["clauses"] for v in c["verdicts"] if v["key"] == "ChatClip"]
    assert check.status != "supported" and "training-free" in chatclip[0]["problem"]


def test_alce_precision_marks_an_over_citation_and_drop_removes_it(agent: SurveyAgent) -> None:
    text = "SnipVT prunes redundant visual tokens at inference time [@SnipVT; @ChatClip]."
    report = agent.verify_text(text)
    (check,) = report.checks
    # ChatClip is not named: it must support the sentence alone or be needed by it; it is neither.
    assert check.status == "supported" and check.relevant == ["SnipVT"] and check.comparison.parts.extra == ["ChatClip"]
    assert (report.citation_recall, report.citation_precision) == (1.0, 0.5)
    assert checked(agent, text).text == "SnipVT prunes redundant visual tokens at inference time [@SnipVT]."


def test_survey_verify_json_shows_each_clause(agent: SurveyAgent) -> None:
    text = "SnipVT prunes redundant visual tokens at inference time, whereas ChatClip trains a dialogue model on long videos [@SnipVT; @ChatClip]."
    clauses = agent.verify_text(text).to_dict()["claims"][0]["clauses"]
    assert clauses[1]["verdicts"][0] | {"score": 0} == {
        "key": "ChatClip", "claim": "This work trains a dialogue model on long videos.", "label": SUPPORTED, "score": 0,
        "problem": "", "evidence": "This work trains a dialogue model on long videos."}


# --- the parts, without a store --------------------------------------------------------------------------------

NAMES = {"x": ["X-Net"], "y": ["Ymir"], "z": ["Zed"]}


def test_clauses_of_a_contrast_a_list_and_a_relation() -> None:
    contrast = parts("X-Net prunes tokens early, whereas Ymir merges them late [@x; @y].", ["x", "y"], NAMES)
    assert [(c.kind, c.keys) for c in contrast.clauses] == [(ONE, ["x"]), (ONE, ["y"])]
    listed = parts("X-Net, Ymir and Zed all prune tokens at inference [@x; @y; @z].", ["x", "y", "z"], NAMES)
    assert [(c.kind, c.keys) for c in listed.clauses] == [(EACH, ["x", "y", "z"])]
    relation = parts("X-Net outperforms Ymir on long videos [@x; @y].", ["x", "y"], NAMES)
    assert [(c.kind, c.keys) for c in relation.clauses] == [(JOINT, ["x", "y"])]
    mixed = parts("X-Net and Ymir both prune tokens, though Ymir needs retraining [@x; @y].", ["x", "y"], NAMES)
    assert [(c.kind, c.keys) for c in mixed.clauses] == [(EACH, ["x", "y"]), (ONE, ["y"])]
    unnamed = parts("Several methods prune tokens at inference [@x; @y].", ["x", "y"], NAMES)
    assert [c.keys for c in unnamed.clauses] == [[]] and unnamed.extra == ["x", "y"]  # ALCE support citations


def test_a_described_paper_ends_a_list_and_a_paper_leaves_it_cleanly() -> None:
    listed = parts("X-Net, Ymir, and a text-guided recovery method all prune tokens [@x; @y; @z].", ["x", "y", "z"],
                   {"x": ["X-Net"], "y": ["Ymir"], "z": []})
    (clause,) = listed.clauses
    assert clause.kind == EACH and clause.items["z"] == "a text-guided recovery method"
    assert without(listed, ["y"]) == "X-Net and a text-guided recovery method both prune tokens [@x; @z]."
    assert without(listed, ["x", "y"]) is None  # one left: no list
    inline = parts("Both X-Net [@x], Ymir [@y] and Zed [@z] prune tokens.", ["x", "y", "z"], NAMES)
    assert without(inline, ["z"]) == "Both X-Net [@x] and Ymir [@y] prune tokens."


def test_names_come_from_the_title_the_abstract_and_the_key() -> None:
    found = paper_names("FoPru", "FoPru: Focal Pruning for Efficient Large Vision-Language Models",
                        "We propose Focal Pruning (FoPru), a training-free method for MLLMs.")
    assert set(found) == {"FoPru", "Focal Pruning"}
    assert "DyVTE" in paper_names("Accel", "Accelerating MLLMs via Token Exit",
                                  "We propose a simple method, termed dynamic visual-token exit (DyVTE).")
    assert paper_names("Wings", "Wings: Learning Multimodal LLMs without Text-only Forgetting", "") == ["Wings"]
    # A name two cited papers share names neither.
    assert name_spans("MoD helps", {"a": ["MoD"], "b": ["MoD", "p-MoD"]}) == []


def test_wording_checks() -> None:
    assert split_negated("This work prunes tokens without any training.") == ("This work prunes tokens.", ["training"])
    assert negated_in("training", "We propose a training-free method.")
    assert negated_in("retraining", "It works without retraining on long videos.")
    assert not negated_in("training", "The model is trained on a mixed dataset of images and videos.")
    assert borrowed("This work is a training-free pruning method.", "We train a video model.", "A training-free method.") == ["training-free"]
    assert borrowed("This work is a vision-language model.", "We train a model.", "A vision-language model.") == []
    assert spelled("It builds on mixture-of-depths layers.", "Inspired by the mixture of depths in NLP") == \
        "It builds on mixture of depths layers."


def test_alce_relevance_of_named_and_unnamed_citations() -> None:
    parted = parts("X-Net prunes tokens at inference [@x; @y; @z].", ["x", "y", "z"], NAMES | {"y": [], "z": []})
    met = Verdict("c", "x", SUPPORTED, 0.9)
    alone = {"x": met, "y": Verdict("c", "y", NOT_ENOUGH_INFO, 0.9), "z": Verdict("c", "z", NOT_ENOUGH_INFO, 0.9)}
    # x's clause held by x alone: y and z are over-citations (each alone fails, the rest still support it).
    assert decide(parted, [Obligation(0, "x", "c", verdict=met)], alone).relevant == ["x"]
    # x's clause held only with y's abstract pooled in (ALCE joint support): y is needed, z still is not.
    helped = Obligation(0, "x", "c", verdict=met, helped=["y"])
    assert decide(parted, [helped], alone).relevant == ["x", "y"]
