"""Calibrated verdicts: ECE, temperature scaling, the UNCERTAIN status, and the cascade judge."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from agent.api import SurveyAgent
from agent.check.calibration import calibrate, ece, fit_temperature, supported_probability
from agent.check.evaluate import NOT_ENOUGH_INFO, SUPPORTED, UNCERTAIN, score
from agent.check.judges import CascadeJudge, TrainedJudge, yes_probability
from agent.check.nli import MODEL_DIR, NLIModel
from agent.check.repair import UNVERIFIED, Repairer
from agent.check.verdict import CONTRADICTED, Case, Verdict
from agent.check.verify import Verifier
from agent.cli import app

SAMPLE = Path(__file__).with_name("calibration_sample.jsonl")


def test_ece_on_a_fixed_labeled_file() -> None:
    rows = [json.loads(line) for line in SAMPLE.read_text().splitlines()]
    # By hand, bins of 0.1: |0.025-0|*2 + |0.15-0.5|*2 + 0.35 + 0.55 + 0.55 + 0.35 + 0.25 + 0.85 + |0.975-1|*2, over 12.
    assert ece([r["p_supported"] for r in rows], [r["supported"] for r in rows]) == pytest.approx(3.70 / 12)
    assert ece([0.0, 1.0], [False, True]) == 0.0 and ece([], []) == 0.0


def test_temperature_scaling_fixes_an_overconfident_judge() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 600)
    right = rng.random(600) < 0.6  # right 60% of the time, yet says 0.95
    predicted = np.where(right, labels, (labels + 1) % 3)
    probs = np.full((600, 3), 0.025)
    probs[np.arange(600), predicted] = 0.95
    t = fit_temperature(np.log(probs), labels)
    assert t > 1.5  # softened
    calibrated = calibrate(probs, t)
    before = ece(list(probs[:, 0]), list(labels == 0))
    after = ece(list(calibrated[:, 0]), list(labels == 0))
    assert after < before / 2
    assert (calibrated.argmax(1) == predicted).all()  # a temperature never changes the label


def test_uncertain_scores_as_not_enough_info_and_not_supported() -> None:
    gold = [SUPPORTED, SUPPORTED, NOT_ENOUGH_INFO, CONTRADICTED]
    s = score(gold, [SUPPORTED, UNCERTAIN, UNCERTAIN, CONTRADICTED], [0.9, 0.6, 0.55, 0.1])
    assert s.confusion[SUPPORTED][NOT_ENOUGH_INFO] == 1 and s.confusion[NOT_ENOUGH_INFO][NOT_ENOUGH_INFO] == 1
    assert s.binary_bacc == pytest.approx((0.5 + 1.0) / 2)
    assert s.uncertain_share == 0.5 and 0 < s.ece < 1


def test_supported_probability_of_any_verdict() -> None:
    probs = {SUPPORTED: 0.7, CONTRADICTED: 0.1, NOT_ENOUGH_INFO: 0.2}
    assert supported_probability(Verdict("c", "k", UNCERTAIN, 0.7, [], probs)) == 0.7
    # Overruled by the checks to NOT_ENOUGH_INFO with score 0.5: at most 1 - 0.5.
    assert supported_probability(Verdict("c", "k", NOT_ENOUGH_INFO, 0.5, [], probs)) == 0.5
    assert supported_probability(Verdict("c", "k", SUPPORTED, 1.0)) == 1.0
    assert supported_probability(Verdict("c", "k", NOT_ENOUGH_INFO, 1.0)) == 0.0


def test_yes_probability_reads_label_tokens() -> None:
    top = [(" Yes", math.log(0.6)), ("No", math.log(0.2)), ("yes", math.log(0.2)), ("Maybe", math.log(0.01))]
    assert yes_probability(top) == pytest.approx(0.8)
    assert yes_probability([("Maybe", -0.1)]) is None


def strict_judge(folder: Path, threshold: float = 1.01) -> TrainedJudge:
    """The shipped judge with a margin no verdict reaches: every lean to SUPPORTED is UNCERTAIN."""
    folder.mkdir(exist_ok=True)
    (folder / "model.onnx").symlink_to(MODEL_DIR / "model.onnx")
    meta = json.loads((MODEL_DIR / "meta.json").read_text())
    meta["stacker"]["support_threshold"] = threshold
    (folder / "meta.json").write_text(json.dumps(meta))
    return TrainedJudge(NLIModel(folder))


CASES = [
    # Near verbatim: the shipped judge leans to SUPPORTED.
    Case("InfiniBench videos average 76.34 minutes.", "InfiniBench", "InfiniBench",
         ["Understanding long videos presents unique challenges.",
          "InfiniBench has the longest video duration, averaging 76.34 minutes.",
          "The best models such as Gemini reach 42.72% average accuracy."]),
    Case("TikTalk has 38K videos from a popular video-sharing platform.", "TikTalk", "TikTalk",
         ["We introduce a video-based multi-modal dialogue dataset called TikTalk.",
          "We collect 38K videos from a popular video-sharing platform with 367K conversations."]),
    # Not about this paper at all: never uncertain.
    Case("Protein folding is solved by diffusion over 3D graphs.", "InfiniBench", "InfiniBench",
         ["Understanding long videos presents unique challenges.",
          "InfiniBench has the longest video duration, averaging 76.34 minutes."]),
]


def test_cascade_asks_the_llm_only_for_uncertain_pairs(tmp_path: Path, llm_settings: dict, fake) -> None:
    base = strict_judge(tmp_path / "verifier")
    alone = base.judge(CASES)
    uncertain = [n for n, v in enumerate(alone) if v.label == UNCERTAIN]
    assert uncertain and len(uncertain) < len(CASES)  # some pairs are settled by the encoder alone
    with SurveyAgent(store=tmp_path / "store", **{**llm_settings, "llm_cache": False}) as agent:
        cascade = CascadeJudge(base, agent.llm, "fake/rules")
        verdicts = cascade.judge(CASES)
    asked = [c for c in fake.calls if c["messages"][-1]["content"].rstrip().endswith("Answer Yes or No.")]
    assert len(asked) == len(uncertain) == cascade.asked
    for n, v in enumerate(verdicts):
        if n in uncertain:  # the fake says Yes (0.9) when every claim word is in the sentences shown
            assert v.label == SUPPORTED and v.score == 0.9 and v.probabilities[SUPPORTED] == 0.9
        else:
            assert v.label == alone[n].label
    assert verdicts[2].label != SUPPORTED


def test_cascade_is_a_setting(tmp_path: Path, llm_settings: dict, fake) -> None:
    with SurveyAgent(store=tmp_path / "store", **{**llm_settings, "verify_model": "cascade:fake/rules"}) as agent:
        from agent.check.judges import make_judge

        judge = make_judge(agent.settings.verify_model, agent.llm)
    assert isinstance(judge, CascadeJudge) and judge.model == "fake/rules" and judge.name.startswith("cascade:")
    # The cascade's encoder leaves more pairs UNCERTAIN (for its LLM) than the default judge does.
    stacker = judge.base.model.meta["stacker"]
    assert judge.base.support_threshold == stacker["cascade_threshold"] > stacker["support_threshold"]


def test_uncertain_claim_is_reported_and_repaired(sample_store: Path, tmp_path: Path) -> None:
    with SurveyAgent(store=sample_store) as agent:
        verifier = Verifier(agent.store, agent.settings)
        verifier._judge = strict_judge(tmp_path / "verifier")
        text = "TikTalk collects 38K videos and 367K conversations from a video-sharing platform [@TikTalk]."
        report = verifier.verify_text(text)
        # A user's file is reported on: the claim is uncertain, counts against recall, and is failing.
        data = report.to_dict()
        assert data["claims"][0]["status"] == "uncertain" and data["citation_recall"] == 0.0
        assert data["failing"] == [report.checks[0].claim.text]
        assert report.checks[0].verdicts[0].label == UNCERTAIN
        # Generated text is repaired like an unsupported sentence: flagged, or removed.
        flagged, _ = Repairer(verifier, ["flag"]).repair(text, verifier.verify_text(text))
        assert flagged.endswith(UNVERIFIED)
        removed, kept = Repairer(verifier, ["remove"]).repair(text, verifier.verify_text(text))
        assert removed == "" and kept.checks == []


def test_eval_reports_calibration_and_uncertain_share(tmp_path: Path) -> None:
    from test_verify import _benchmark_files

    claims, corpus = _benchmark_files(tmp_path)
    result = CliRunner().invoke(app, ["eval", "scifact", "--claims", str(claims), "--corpus", str(corpus), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert 0.0 <= data["ece"] <= 1.0 and 0.0 <= data["uncertain_share"] <= 1.0
    text = CliRunner().invoke(app, ["eval", "scifact", "--claims", str(claims), "--corpus", str(corpus)])
    assert "calibration error" in text.stdout and "UNCERTAIN" in text.stdout


@pytest.mark.slow
def test_cascade_reads_real_llama_cpp_logprobs(tmp_path: Path) -> None:
    """The embedded server's OpenAI API returns the first token's top log-probabilities through litellm."""
    from test_local_llm import smollm2

    with SurveyAgent(store=tmp_path / "store", model="local", local_model_path=smollm2(),
                     cache_dir=tmp_path / "cache", llm_cache=False) as agent:
        cascade = CascadeJudge(strict_judge(tmp_path / "verifier"), agent.llm, "local")
        verdicts = cascade.judge(CASES[:1])
    assert cascade.asked == 1 and agent.llm.usage.calls == 1
    verdict = verdicts[0]
    # SmolLM2 is a code-path fixture: whatever it answers, the cascade either read P(Yes) from the
    # log-probabilities (a decided verdict) or said why not (the encoder's UNCERTAIN stands).
    if verdict.label == UNCERTAIN:
        assert any(p.startswith("cascade:") for p in verdict.problems)
    else:
        assert 0.0 <= verdict.probabilities[SUPPORTED] <= 1.0 and verdict.judge.endswith("+local")


def test_eval_names_pairs_labeled_twice_and_the_accuracy_they_cap(tmp_path: Path) -> None:
    from test_verify import _benchmark_files

    claims, corpus = _benchmark_files(tmp_path)
    # Check-COVID's shape: the supported claim again, word for word against the same abstract, as NEI
    # (no evidence), and once more with a different case and spacing.
    rows = claims.read_text().splitlines()
    rows.append(json.dumps({"id": 4, "claim": "InfiniBench videos average 76.34 minutes.", "evidence": {}, "cited_doc_ids": [1]}))
    rows.append(json.dumps({"id": 5, "claim": "infinibench  videos average 76.34 minutes.", "evidence": {}, "cited_doc_ids": [1]}))
    claims.write_text("\n".join(rows) + "\n")
    result = CliRunner().invoke(app, ["eval", "scifact", "--claims", str(claims), "--corpus", str(corpus), "--json"])
    data = json.loads(result.stdout)
    # 6 pairs; one group of 3 (SUPPORTED, NEI, NEI): at best 2 of the 3 are matched -> 5 of 6.
    assert (data["conflicting_groups"], data["conflicting_pairs"]) == (1, 3)
    assert data["accuracy_ceiling"] == pytest.approx(5 / 6, abs=1e-4)
    text = CliRunner().invoke(app, ["eval", "scifact", "--claims", str(claims), "--corpus", str(corpus)]).stdout
    assert "labels more than once" in text and "0.833" in text
    # A file without repeats says nothing of it.
    claims.write_text("\n".join(rows[:3]) + "\n")
    clean = json.loads(CliRunner().invoke(app, ["eval", "scifact", "--claims", str(claims), "--corpus", str(corpus), "--json"]).stdout)
    assert clean["conflicting_groups"] == 0 and clean["accuracy_ceiling"] == 1.0
