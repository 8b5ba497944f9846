"""The deterministic checks that can veto SUPPORTED: numbers and names a claim states and a paper never does."""

from __future__ import annotations

import pytest

from agent.check import rules as checks
from agent.check.checker import Checker


@pytest.mark.parametrize(
    ("claim", "paper", "missing"),
    [
        ("Accuracy rises to 45%.", "Accuracy rises to 45 % on the test set.", []),
        ("Accuracy rises to 45%.", "Accuracy rises to 54% on the test set.", ["45"]),
        ("The corpus has 1,000 dialogues.", "We collect 1000 dialogues.", []),
        ("It uses two encoders.", "It uses 2 encoders.", []),  # single digits are too common to veto on
        ("The model has 350 layers.", "The model has three hundred and fifty layers.", ["350"]),
        # A magnitude word in a claim states no number: "several hundred" must not ask the paper for 100.
        ("We recorded several hundred hours of video.", "We record 350 hours of video.", []),
        ("Results from 2021 show a gain.", "Earlier results show a gain.", []),  # years are ignored
    ],
)
def test_missing_numbers(claim: str, paper: str, missing: list[str]) -> None:
    assert checks.missing_numbers(claim, paper) == missing


@pytest.mark.parametrize(
    ("claim", "paper", "missing"),
    [
        ("InfiniBench evaluates GPT-4o.", "We evaluate GPT-4o on InfiniBench.", []),
        ("InfiniBench evaluates LLaVA.", "We evaluate GPT-4o on InfiniBench.", ["LLaVA"]),
        ("Gemini is evaluated.", "We evaluate GPT-4o.", []),  # one capital: a sentence-initial word, not a name
        ("HIV-positive adults were enrolled.", "We enrolled HIV positive adults.", []),
        ("Chronic kidney disease (CKD) progresses.", "Kidney disease progresses slowly.", []),
        ("Training needs 8 GPUs.", "Training used one GPU node.", []),
    ],
)
def test_missing_names(claim: str, paper: str, missing: list[str]) -> None:
    assert checks.missing_names(claim, paper) == missing


def test_problems_name_both_kinds() -> None:
    found = checks.problems("LLaVA reaches 61.2% on MMBench.", "LLaVA reaches 58.0% on SEED-Bench.")
    assert found == ("number 61.2 not in the paper", "name MMBench not in the paper")


def test_direction_and_negation() -> None:
    assert checks.direction("Exercise increases insulin sensitivity.") == 1
    assert checks.direction("Exercise reduces insulin resistance.") == -1
    assert checks.direction("Exercise affects insulin.") == 0
    assert checks.negated("The drug did not improve survival.")
    assert not checks.negated("The drug improved survival.")


PAPER = ("We propose X. On ImageNet, X reaches a top-1 accuracy of 80.5 with 25M parameters. "
         "Training takes 3 days on 8 GPUs.")


@pytest.mark.parametrize(
    ("claim", "conflict"),
    [
        ("X reaches a top-1 accuracy of 85.1% on ImageNet.", ("85.1", "80.5")),  # another value: contradicted
        ("X reaches a top-1 accuracy of 80.5 on ImageNet.", None),  # the paper's value
        ("X was trained on 4000 GPUs.", None),  # not stated at all: unsupported, not contradicted
        ("X reaches a top-1 accuracy of 35.2 on ImageNet.", None),  # another magnitude: not the same quantity
    ],
)
def test_a_number_the_paper_states_differently_is_a_conflict(claim: str, conflict: tuple | None) -> None:
    found = checks.conflicting_numbers(claim, PAPER)
    assert (found[0][:2] if found else None) == conflict


def test_overrule_marks_a_conflicting_number_contradicted() -> None:
    from agent.check.judges import overrule
    from agent.check.verdict import CONTRADICTED, NOT_ENOUGH_INFO, Case, Verdict

    case = Case("X reaches a top-1 accuracy of 85.1% on ImageNet.", "x", "X", PAPER.split(". "))
    verdict = overrule(Verdict(case.claim, "x", NOT_ENOUGH_INFO, 0.6), case)
    assert verdict.label == CONTRADICTED
    assert "80.5" in verdict.evidence[0] and any("states 80.5" in p for p in verdict.problems)


def test_a_rounded_number_is_the_same_number() -> None:
    """"76 minutes" for the paper's "76.34 minutes" rounds; "77" or "76.4" states another value."""
    paper = "InfiniBench has the longest video duration, averaging 76.34 minutes per video."
    assert checks.missing_numbers("InfiniBench videos average 76 minutes.", paper) == []
    assert checks.missing_numbers("InfiniBench videos average 76.3 minutes.", paper) == []
    assert checks.missing_numbers("InfiniBench videos average 77 minutes.", paper) == ["77"]
    assert checks.conflicting_numbers("InfiniBench videos average 76.4 minutes.", paper)


# --- rules for one drafted sentence, as the Checker applies them ----------------------------------
REVIEW = ("Seconds to Hours: Reviewing MultiModal Large Language Models on Long Video",
          "The authors review how video models summarize long inputs.")
BENCH = ("InfiniBench: A Benchmark for Very Long Video Understanding",
         "InfiniBench features the longest video duration and the largest number of question-answer pairs.")


def test_a_sentence_that_is_only_the_title_is_caught() -> None:
    title = BENCH[0]
    assert Checker.attribution("InfiniBench: a benchmark for very long video understanding [@bench].", "bench",
                               title, BENCH[1], {}, "long video") == "@bench: the model wrote only the paper's title"
    assert Checker.attribution("InfiniBench features the longest video duration [@bench].", "bench", title,
                               BENCH[1], {}, "long video") == ""


def test_a_sentence_describing_a_neighbouring_card_is_caught() -> None:
    wrong = "The authors present a benchmark with the longest video duration and most question-answer pairs [@review]."
    right = "The authors review how video models summarize long inputs [@review]."
    others = {"bench": " ".join(BENCH)}
    assert Checker.attribution(wrong, "review", REVIEW[0], " ".join(REVIEW), others, "long video") == \
        "@review: its sentence describes @bench's card, not its own; dropped"
    assert Checker.attribution(right, "review", REVIEW[0], " ".join(REVIEW), others, "long video") == ""


def test_a_comparison_that_names_nothing_specific_is_caught() -> None:
    cited = [" ".join(REVIEW), " ".join(BENCH)]
    vague = "Both papers study long video but from different angles [@review; @bench]."
    assert Checker.comparison(vague, cited, "long video").startswith("dropped a comparison that names nothing specific")
    specific = ("The review summarizes how models handle long inputs, while InfiniBench offers the longest video "
                "duration and most question-answer pairs [@review; @bench].")
    assert Checker.comparison(specific, cited, "long video") == ""


def test_a_near_copy_of_its_source_is_caught() -> None:
    sources = [BENCH[1]]
    assert Checker.copied("InfiniBench features the longest video duration and the largest number of "
                          "question-answer pairs [@bench].", sources)
    assert not Checker.copied("InfiniBench holds hour-long videos with many questions about each [@bench].", sources)
