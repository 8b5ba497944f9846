"""The verifier on real claims about the sample papers, with the shipped trained judge."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.api import SurveyAgent
from agent.check.evaluate import CONTRADICTED, NOT_ENOUGH_INFO, SUPPORTED, clean_claim, load_pairs, score
from agent.check.repair import UNVERIFIED, Repairer
from agent.check.rules import quoted_in
from agent.check.verify import Verifier
from agent.cli import app
from agent.core.text import split_sentences


@pytest.fixture(scope="module")
def agent(sample_store: Path):
    with SurveyAgent(store=sample_store) as a:
        yield a


def test_faithful_paraphrase_is_supported_with_its_evidence(agent: SurveyAgent) -> None:
    verdict = agent.verify_claim("InfiniBench's videos last 76.34 minutes on average.", "InfiniBench")
    assert verdict.label == SUPPORTED, verdict
    assert "76.34 minutes" in verdict.evidence[0]
    assert verdict.score == verdict.probabilities[SUPPORTED] and verdict.score > 1 / 3


def test_changed_number_is_not_supported(agent: SurveyAgent) -> None:
    verdict = agent.verify_claim("InfiniBench's videos last 45 minutes on average.", "InfiniBench")
    assert verdict.label != SUPPORTED
    assert any("45" in p for p in verdict.problems)


def test_swapped_dataset_is_not_supported(agent: SurveyAgent) -> None:
    verdict = agent.verify_claim(
        "On SEED-Bench-2, the best models such as Gemini reach only 42.72% average accuracy.", "InfiniBench"
    )
    assert verdict.label != SUPPORTED
    assert any("SEED-Bench-2" in p for p in verdict.problems)


def test_negated_finding_is_not_supported(agent: SurveyAgent) -> None:
    verdict = agent.verify_claim(
        "Existing benchmarks do not focus on short clips; most already cover very long videos.", "InfiniBench"
    )
    assert verdict.label != SUPPORTED


def test_true_fact_cited_to_the_wrong_paper_is_not_supported(agent: SurveyAgent) -> None:
    right = agent.verify_claim("TikTalk collects 38K videos and 367K conversations from a video-sharing platform.", "TikTalk")
    wrong = agent.verify_claim("TikTalk collects 38K videos and 367K conversations from a video-sharing platform.", "InfiniBench")
    assert right.label == SUPPORTED
    assert wrong.label == NOT_ENOUGH_INFO


def test_two_citations_only_one_supports(agent: SurveyAgent) -> None:
    report = agent.verify_text(
        "In its second stage, mPLUG-Owl fine-tunes a LoRA module on the LLM with language-only and "
        "multi-modal supervised data [@mPLUG-Owl; @TikTalk]."
    )
    (check,) = report.checks
    labels = {v.key: v.label for v in check.verdicts}
    assert labels["mPLUG-Owl"] == SUPPORTED and labels["TikTalk"] != SUPPORTED
    assert check.status == "supported"
    assert report.citation_recall == 1.0 and report.citation_precision == 0.5


def test_unknown_key_and_uncited_claim_are_reported(agent: SurveyAgent) -> None:
    report = agent.verify_text(
        "# Notes\n\nInfiniBench videos average 76.34 minutes [@InfiniBench].\n\n"
        "Video models have solved long videos [@NoSuchPaper2099].\n\nAll benchmarks are saturated by now.\n"
    )
    assert report.unknown_keys == ["NoSuchPaper2099"]
    statuses = [c.status for c in report.checks]
    assert statuses == ["supported", "unsupported", "uncited"]
    assert report.citation_recall == pytest.approx(1 / 3)
    assert report.citation_precision == pytest.approx(1 / 2)  # one supporting citation, one unknown
    assert [c.claim.line for c in report.checks] == [3, 5, 7]


def test_numeric_citations_resolve_through_the_references(agent: SurveyAgent) -> None:
    report = agent.verify_text(
        "TikTalk gathers 367K conversations posted beneath 38K videos [1]. "
        "InfiniBench asks 108.2K questions [2].\n\n## References\n\n"
        "1. TikTalk: A Video-Based Dialogue Dataset for Multi-Modal Chitchat in Real World. 2023.\n"
        "2. [@InfiniBench]\n"
    )
    assert [c.claim.keys for c in report.checks] == [["TikTalk"], ["InfiniBench"]]
    assert [[v.key for v in c.verdicts] for c in report.checks] == [["TikTalk"], ["InfiniBench"]]
    assert report.checks[0].status == "supported", report.to_dict()


def test_repair_recites_or_removes_unsupported_generated_sentences(agent: SurveyAgent) -> None:
    verifier = Verifier(agent.store, agent.settings)
    text = (
        "TikTalk collects 38K videos and 367K conversations from a video-sharing platform [@InfiniBench]. "
        "Gemini reaches 99% accuracy on every video benchmark [@InfiniBench]."
    )
    fixed, report = Repairer(verifier, ["recite", "remove"]).repair(text, verifier.verify_text(text))
    assert "[@TikTalk]" in fixed and "99%" not in fixed
    assert [c.status for c in report.checks] == ["supported"]
    assert report.checks[0].repair == "re-cited to @TikTalk"
    flagged, _ = Repairer(verifier, ["flag"]).repair(text, verifier.verify_text(text))
    assert flagged.count(UNVERIFIED) == 2


def test_user_files_are_reported_not_changed(agent: SurveyAgent, tmp_path: Path) -> None:
    doc = tmp_path / "survey.md"
    doc.write_text("Gemini reaches 99% accuracy on every video benchmark [@InfiniBench].\n", encoding="utf-8")
    before = doc.read_bytes()
    result = CliRunner().invoke(app, ["verify", str(doc), "--store", str(agent.settings.store), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["claims"][0]["status"] != "supported" and data["failing"]
    assert {"citation_recall", "citation_precision", "unknown_keys"} <= set(data)
    assert doc.read_bytes() == before
    strict = CliRunner().invoke(app, ["verify", str(doc), "--store", str(agent.settings.store), "--strict"])
    assert strict.exit_code == 1 and "0/1 claims supported" in strict.stdout
    # The shipped judge's cross-validated accuracy is told with every report, read from its meta.json.
    assert re.search(r"balanced accuracy 0\.\d\d \(macro-F1 0\.\d\d", data["judge_caveat"])
    assert "balanced accuracy" in " ".join(strict.stdout.split())


def test_cli_single_claim_json(agent: SurveyAgent) -> None:
    args = ["verify", "--claim", "InfiniBench has 108.2K question-answer pairs.", "--paper", "InfiniBench"]
    result = CliRunner().invoke(app, [*args, "--store", str(agent.settings.store), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["label"] == SUPPORTED and 0 < data["score"] <= 1 and "108.2K" in data["evidence"][0]


def test_cli_unknown_paper_is_one_line(agent: SurveyAgent, tmp_path: Path) -> None:
    from conftest import run_cli

    result = run_cli("verify", "--claim", "x is y", "--paper", "Nope-1999", "--store", str(agent.settings.store))
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error:") and "Nope-1999" in result.stderr
    assert "Traceback" not in result.stderr


def test_ask_output_carries_its_verification(sample_store: Path, llm_settings: dict, fake) -> None:
    fake.script += [
        "InfiniBench videos average 76.34 minutes [@InfiniBench]. Gemini reaches 99% accuracy on it [@InfiniBench]."
    ]
    with SurveyAgent(store=sample_store, **{**llm_settings, "verify": True}) as a:
        answer = a.ask("How long are the videos in InfiniBench on average?")
    report = answer.verification
    assert report is not None and report.checks[0].status == "supported"
    assert "99%" not in answer.answer and "76.34" in answer.answer
    data = answer.to_dict()["verification"]
    assert data["citation_recall"] == 1.0 and data["claims"][0]["verdicts"][0]["label"] == SUPPORTED


def test_claim_cleaning_and_scores() -> None:
    assert clean_claim("lncRNAs act as miR sponges [<|multi_cit|>,7].") == "lncRNAs act as miR sponges."
    assert clean_claim("X inhibits Y.<|cit|> Liu et al. show Z.") == "X inhibits Y. Liu et al. show Z."
    s = score([SUPPORTED, SUPPORTED, CONTRADICTED, NOT_ENOUGH_INFO], [SUPPORTED, NOT_ENOUGH_INFO, CONTRADICTED, SUPPORTED])
    assert s.accuracy == 0.5 and s.binary_bacc == pytest.approx((0.5 + 0.5) / 2)
    assert s.confusion[SUPPORTED][NOT_ENOUGH_INFO] == 1 and s.f1[CONTRADICTED] == 1.0


def _benchmark_files(folder: Path) -> tuple[Path, Path]:
    """A small SciFact-format benchmark built from the sample papers' own sentences."""
    corpus = [
        {"doc_id": 1, "title": "InfiniBench", "abstract": [
            "Understanding long videos presents unique challenges.",
            "InfiniBench has the longest video duration, averaging 76.34 minutes.",
            "The best models such as Gemini reach 42.72% average accuracy."]},
        {"doc_id": 2, "title": "TikTalk", "abstract": [
            "We introduce a video-based multi-modal dialogue dataset called TikTalk.",
            "We collect 38K videos from a popular video-sharing platform with 367K conversations."]},
    ]
    claims = [
        {"id": 1, "claim": "InfiniBench videos average 76.34 minutes.", "evidence": {"1": [{"sentences": [1], "label": "SUPPORT"}]}, "cited_doc_ids": [1]},
        {"id": 2, "claim": "TikTalk has 38K videos.", "evidence": {"2": [{"sentences": [1], "label": "SUPPORT"}]}, "cited_doc_ids": [2, 1]},
        {"id": 3, "claim": "Gemini reaches 90% average accuracy on InfiniBench.", "evidence": {"1": [{"sentences": [2], "label": "CONTRADICT"}]}, "cited_doc_ids": [1]},
    ]
    c, k = folder / "claims.jsonl", folder / "corpus.jsonl"
    c.write_text("".join(json.dumps(x) + "\n" for x in claims))
    k.write_text("".join(json.dumps(x) + "\n" for x in corpus))
    return c, k


def test_eval_cli_reports_the_metrics(tmp_path: Path) -> None:
    claims, corpus = _benchmark_files(tmp_path)
    pairs = load_pairs(claims, corpus)
    assert [p.label for p in pairs] == [SUPPORTED, SUPPORTED, NOT_ENOUGH_INFO, CONTRADICTED]
    result = CliRunner().invoke(app, ["eval", "scifact", "--claims", str(claims), "--corpus", str(corpus), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["n"] == 4 and {"accuracy", "macro_f1", "binary_bacc", "pairs_per_s", "confusion"} <= set(data)
    assert data["confusion"][SUPPORTED][SUPPORTED] >= 1  # the near-verbatim InfiniBench claim
    assert data["confusion"][NOT_ENOUGH_INFO][SUPPORTED] == 0  # TikTalk's fact is not in InfiniBench
    assert data["pairs_per_s"] > 0


def test_eval_bad_file_is_one_line(tmp_path: Path) -> None:
    from conftest import run_cli

    claims, corpus = _benchmark_files(tmp_path)
    claims.write_text('{"id": 1, "claim": "x", "cited_doc_ids": [1]}\nnot json\n')
    result = run_cli("eval", "scifact", "--claims", str(claims), "--corpus", str(corpus))
    assert result.returncode == 2 and f"{claims}:2: not JSON" in result.stderr and "Traceback" not in result.stderr
    missing = run_cli("eval", "citation-integrity", "--claims", str(tmp_path / "nope.jsonl"), "--corpus", str(corpus))
    assert missing.returncode == 2 and "nope.jsonl: claims file not found" in missing.stderr


def test_llm_judge_through_litellm_reads_label_and_sentence(sample_store: Path, llm_settings: dict, fake) -> None:
    fake.script += ["CONTRADICTED 2", "I think the answer is: supported", "no idea"]
    with SurveyAgent(store=sample_store, **{**llm_settings, "verify_model": "fake/judge"}) as a:
        first = a.verify_claim("Gemini performs well on InfiniBench.", "InfiniBench")
        second = a.verify_claim("InfiniBench videos average 76.34 minutes.", "InfiniBench")
        third = a.verify_claim("InfiniBench has 108.2K question-answer pairs.", "InfiniBench")
    prompt = fake.calls[0]["messages"][-1]["content"]
    assert fake.calls[0]["model"].endswith("judge") and "Claim: Gemini performs well on InfiniBench." in prompt
    shown = [line[3:] for line in prompt.splitlines() if line[:3] in ("1. ", "2. ", "3. ", "4. ", "5. ", "6. ")]
    assert first.label == CONTRADICTED and first.evidence == [shown[1]] and first.judge == "fake/judge"
    assert second.label == SUPPORTED
    assert third.label == NOT_ENOUGH_INFO and third.score == 0.0 and "unreadable" in third.problems[0]


def test_minicheck_format_for_ollama_bespoke_minicheck(sample_store: Path, llm_settings: dict, fake) -> None:
    fake.script += ["Yes", "No"]
    with SurveyAgent(store=sample_store, **{**llm_settings, "verify_model": "fake/bespoke-minicheck"}) as a:
        yes = a.verify_claim("InfiniBench videos average 76.34 minutes.", "InfiniBench")
        no = a.verify_claim("InfiniBench videos are short.", "InfiniBench")
    prompt = fake.calls[0]["messages"][-1]["content"]
    assert prompt.startswith("Document: ") and prompt.rstrip().endswith("Claim: InfiniBench videos average 76.34 minutes.")
    assert (yes.label, no.label) == (SUPPORTED, NOT_ENOUGH_INFO)


def test_checks_overrule_an_llm_judge_on_numbers(sample_store: Path, llm_settings: dict, fake) -> None:
    fake.script += ["SUPPORTED 1"]
    with SurveyAgent(store=sample_store, **{**llm_settings, "verify_model": "fake/judge"}) as a:
        verdict = a.verify_claim("InfiniBench videos average 45.5 minutes.", "InfiniBench")
    # The paper says 76.34 minutes: not merely missing, the claim's number is contradicted.
    assert verdict.label == CONTRADICTED
    assert verdict.problems == ["number 45.5 not in the paper", "the paper states 76.34 where the claim says 45.5"]


def test_repair_rewrite_keeps_only_a_verified_restatement(sample_store: Path, llm_settings: dict, fake) -> None:
    # The second restatement states a number the paper never does: no judge can pass it.
    fake.script += ["InfiniBench's videos average 76.34 minutes in length.", "InfiniBench holds 9,999 cartoons."]
    with SurveyAgent(store=sample_store, **{**llm_settings, "verify": True}) as a:
        verifier = Verifier(a.store, a.settings, a.llm)
        text = "InfiniBench videos average 45.5 minutes, longer than any movie [@InfiniBench]."
        fixed, report = Repairer(verifier, ["rewrite", "remove"], a.llm).repair(text, verifier.verify_text(text))
        assert fixed == "InfiniBench's videos average 76.34 minutes in length [@InfiniBench]."
        assert report.checks[0].repair == "rewritten from the evidence" and report.checks[0].status == "supported"
        assert "Evidence from [@InfiniBench]" in fake.calls[0]["messages"][-1]["content"]
        other = "InfiniBench has 9,999 hours of cartoons [@InfiniBench]."
        removed, report = Repairer(verifier, ["rewrite", "remove"], a.llm).repair(other, verifier.verify_text(other))
        assert removed == "" and report.checks == []


def test_joint_support_and_alce_relevance(sample_store: Path, llm_settings: dict, fake) -> None:
    """Papers that support a sentence only together: supported, and a citation is irrelevant only if
    the others still support the sentence without it (ALCE), which is what `drop` removes."""
    # No names in the claim: the name check would (rightly) veto support by papers that never state them.
    claim = "New benchmarks target hour-long videos while new datasets and models target video dialogue."
    # Each paper alone: not enough; all three pooled: supported; without InfiniBench: still supported;
    # without TikTalk or without mPLUG-Owl: not.
    fake.script += ["NOT_ENOUGH_INFO"] * 3 + ["SUPPORTED 1", "SUPPORTED 1", "NOT_ENOUGH_INFO", "NOT_ENOUGH_INFO"]
    with SurveyAgent(store=sample_store, **{**llm_settings, "verify_model": "fake/judge"}) as a:
        report = a.verify_text(f"{claim[:-1]} [@InfiniBench; @TikTalk; @mPLUG-Owl].")
        (check,) = report.checks
        assert [v.label for v in check.verdicts] == [NOT_ENOUGH_INFO] * 3
        assert check.joint is not None and check.joint.key == "InfiniBench+TikTalk+mPLUG-Owl"
        assert check.status == "supported" and check.relevant == ["TikTalk", "mPLUG-Owl"]
        assert report.citation_recall == 1.0 and abs(report.citation_precision - 2 / 3) < 1e-9
        pooled_prompt = fake.calls[3]["messages"][-1]["content"]
        fixed, _ = Repairer(a.verifier, ["drop"]).repair(check.claim.source, report)
    assert "InfiniBench" in pooled_prompt and "TikTalk" in pooled_prompt and "mPLUG" in pooled_prompt
    assert fixed.endswith("[@TikTalk; @mPLUG-Owl].") and len(fake.calls) == 7
    assert report.to_dict()["claims"][0]["relevant"] == ["TikTalk", "mPLUG-Owl"]


def test_facts_from_two_papers_are_each_checked_against_their_own_paper(agent: SurveyAgent) -> None:
    report = agent.verify_text("TikTalk collects 38K videos from a video-sharing platform, and InfiniBench videos "
                               "average 76.34 minutes [@TikTalk; @InfiniBench].")
    (check,) = report.checks
    assert all(v.label != SUPPORTED for v in check.verdicts)  # each paper states only half (the checks see it)
    first, second = check.to_dict()["clauses"]  # each half named by its paper, judged against that paper alone
    assert [v["key"] for v in first["verdicts"]] == ["TikTalk"] and first["verdicts"][0]["label"] == SUPPORTED
    assert [v["key"] for v in second["verdicts"]] == ["InfiniBench"] and "76.34 minutes" in second["verdicts"][0]["evidence"]
    assert check.status == "supported" and check.relevant == ["TikTalk", "InfiniBench"] and check.joint is None
    assert (report.citation_recall, report.citation_precision) == (1.0, 1.0)


def test_a_number_the_paper_states_otherwise_is_contradicted(agent: SurveyAgent) -> None:
    verdict = agent.verify_claim("InfiniBench's videos last 45 minutes on average.", "InfiniBench")
    assert verdict.label == CONTRADICTED
    assert "76.34" in verdict.evidence[0] and any("states 76.34" in p for p in verdict.problems)


def test_a_claim_cited_to_the_wrong_paper_names_the_one_that_supports_it(agent: SurveyAgent) -> None:
    text = "TikTalk collects 38K videos and 367K conversations from a video-sharing platform [@InfiniBench].\n"
    check = agent.verify_text(text, suggest=True).checks[0]
    assert check.status != "supported" and check.instead == "TikTalk"
    assert check.to_dict()["supported_instead_by"] == "TikTalk"


def test_a_claim_quoting_its_paper_is_supported_whatever_the_model_says(sample_store: Path) -> None:
    sentences = ["We study long videos.", "Notably, our 34B model outperforms GPT-4V on the MVBench benchmark.", "Code is out."]
    assert quoted_in("notably our 34B model outperforms GPT-4V on the MVBench benchmark", sentences) == sentences[1]
    assert quoted_in("our 34B model outperforms GPT-4V on MVBench", sentences) is None  # a word left out: not a quote
    assert quoted_in("Code is out.", sentences) is None  # too short to count
    assert quoted_in("We study long videos. Notably, our 34B model", sentences) == sentences[0]  # over two sentences
    with SurveyAgent(store=sample_store) as agent:
        abstract = agent.store.catalog.get("InfiniBench").abstract
        for sentence in split_sentences(abstract):
            if len(sentence.split()) >= 6:
                verdict = agent.verify_claim(sentence, "InfiniBench")
                assert verdict.label == SUPPORTED and verdict.evidence == [sentence], sentence
