"""The ask loop on the real sample store, with the fake model behind the real litellm path."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.api import SurveyAgent
from agent.ask import ABSTENTION, UNCITED, Conversation
from agent.check.claims import cited_sentences
from agent.cli import app
from agent.core.citations import normalize, parse_keys
from agent.core.errors import EmptyStoreError, SurveyError

LAUNCHER = Path(__file__).with_name("fake_survey.py")  # `survey` with the fake model registered


def test_citation_parsing_single_and_grouped() -> None:
    text = "Long videos are hard [@InfiniBench]. Both agree [@Video-MME; @InfiniBench]. None here."
    assert parse_keys(text) == ["InfiniBench", "Video-MME"]
    sentences = cited_sentences(text)
    assert [s.keys for s in sentences] == [["InfiniBench"], ["Video-MME", "InfiniBench"], []]
    assert parse_keys("see [@a, @b] and [@mPLUG-Owl]") == ["a", "b", "mPLUG-Owl"]


@pytest.mark.parametrize(
    "draft, expected",
    [
        ("Smith et al. 2024 report 76-minute videos [@a]. Memory helps [@b].",
         [("Smith et al. 2024 report 76-minute videos [@a].", ["a"]), ("Memory helps [@b].", ["b"])]),
        ("Benchmarks (e.g. InfiniBench) are long [@a]. See Fig. 3 for the trend [@b].",
         [("Benchmarks (e.g. InfiniBench) are long [@a].", ["a"]), ("See Fig. 3 for the trend [@b].", ["b"])]),
        ("Models forget early frames. [@a] Memory banks fix this [@b].",
         [("Models forget early frames. [@a]", ["a"]), ("Memory banks fix this [@b].", ["b"])]),
    ],
)
def test_generated_text_splits_like_the_verifier(draft: str, expected: list) -> None:
    """One abbreviation-aware splitter for answers and drafts: no "Smith et al [citation needed]."."""
    assert [(s.text, s.keys) for s in cited_sentences(draft)] == expected


def test_gate_keeps_et_al_sentences_whole() -> None:
    from agent.check.checker import gate

    gated = gate("Smith et al. 2024 report 76-minute videos [@a]. Invented [@zzz].", ["a"])
    assert gated.text.startswith("Smith et al. 2024 report 76-minute videos [@a].")
    assert "[citation needed]" not in gated.text.split(".")[0] and gated.cited == ["a"]
    assert "zzz" not in gated.text and gated.text.endswith("Invented [citation needed].")


def test_near_miss_citations_are_normalized() -> None:
    fixed = normalize("A claim [InfiniBench]. Another (@mmE5). Not a key [1].", ["InfiniBench", "mmE5"])
    assert fixed == "A claim [@InfiniBench]. Another [@mmE5]. Not a key [1]."


def agent_for(store: Path, settings: dict) -> SurveyAgent:
    return SurveyAgent(store=store, **settings)


def test_answer_cites_only_evidence(sample_store: Path, llm_settings: dict, fake) -> None:
    answer = agent_for(sample_store, llm_settings).ask("How long are the videos in InfiniBench on average?")
    assert not answer.abstained
    evidence_keys = [e.key for e in answer.evidence]
    assert evidence_keys[0] == "InfiniBench"
    assert [c.key for c in answer.citations] == parse_keys(answer.answer)
    assert set(parse_keys(answer.answer)) <= set(evidence_keys)
    assert answer.citations[0].title.startswith("InfiniBench")
    assert answer.usage.calls >= 1 and answer.usage.prompt_tokens > 0
    prompt = fake.calls[-1]["messages"][-1]["content"]
    assert prompt.index("[@InfiniBench]") < prompt.index("Question:")  # evidence first, question last


def test_invented_and_unshown_keys_are_dropped(sample_store: Path, llm_settings: dict, fake) -> None:
    fake.script += ["InfiniBench videos average 76 minutes [@InfiniBench; @Made-Up-2024]. "
                    "Gemini is best [@mmE5]. Everything is solved."]
    answer = agent_for(sample_store, llm_settings).ask("How long are the videos in InfiniBench on average?")
    assert parse_keys(answer.answer) == ["InfiniBench"]
    assert "Made-Up-2024" not in answer.answer and "mmE5" not in answer.answer  # mmE5 exists but was not shown
    assert answer.answer.count(UNCITED) == 2
    assert any("Made-Up-2024" in p for p in answer.problems)
    assert answer.draft.startswith("InfiniBench videos average")


def test_abstains_when_the_model_says_the_evidence_does_not_answer(sample_store: Path, llm_settings: dict, fake) -> None:
    answer = agent_for(sample_store, {**llm_settings, "model": "fake/abstain"}).ask("Which benchmark has the longest videos?")
    assert answer.abstained and answer.answer == ABSTENTION and not answer.citations
    assert answer.evidence  # the closest papers are still reported


def test_abstains_without_a_model_call_when_nothing_matches(sample_store: Path, llm_settings: dict, fake) -> None:
    answer = agent_for(sample_store, llm_settings).ask("Zebrafish cardiomyocyte regeneration?")
    assert answer.abstained and answer.answer == ABSTENTION
    assert all(not c["messages"][-1]["content"].startswith("Evidence") for c in fake.calls)


def test_uncited_answer_is_not_passed_off_as_one(sample_store: Path, llm_settings: dict, fake) -> None:
    """Neither an answer nor an abstention: the store may answer, the model did not cite it."""
    from agent.ask import ModelFault

    fake.script += ["Long videos are hard and everyone knows it."]
    with pytest.raises(ModelFault, match="wrote no sentence citing the evidence .*try again") as caught:
        agent_for(sample_store, llm_settings).ask("Why is long video understanding hard?")
    assert "everyone knows it" in str(caught.value) and "\n" not in str(caught.value)


def test_the_model_saying_in_its_own_words_that_the_evidence_does_not_answer_is_an_abstention(
        sample_store: Path, llm_settings: dict, fake) -> None:
    fake.script += ["The evidence does not mention how long the videos are."]
    answer = agent_for(sample_store, llm_settings).ask("How long are the videos in InfiniBench on average?")
    assert answer.abstained and answer.answer == ABSTENTION


def test_weak_retrieval_is_reformulated_once(sample_store: Path, llm_settings: dict, fake) -> None:
    fake.script += ["benchmark very long video understanding"]  # the rewritten query
    answer = agent_for(sample_store, llm_settings).ask("Which evaluation suites cover hour-scale films for LMMs?")
    assert len(answer.queries) == 2 and answer.queries[1] == "benchmark very long video understanding"
    assert fake.calls[0]["messages"][-1]["content"].startswith("Rewrite this question")
    assert "InfiniBench" in [e.key for e in answer.evidence]


def test_follow_up_reuses_the_conversation_prefix(sample_store: Path, llm_settings: dict, fake) -> None:
    agent = agent_for(sample_store, llm_settings)
    conversation = Conversation()
    first = agent.ask("How long are the videos in InfiniBench on average?", conversation=conversation)
    sent_first = fake.calls[-1]["messages"]
    second = agent.ask("How many question-answer pairs does it have?", conversation=conversation)
    sent_second = fake.calls[-1]["messages"]
    assert sent_second[: len(sent_first)] == sent_first  # the whole first turn is a prefix of the second
    assert sent_second[len(sent_first)]["role"] == "assistant"
    assert len(conversation.turns) == 2 and not first.abstained
    assert "InfiniBench" in conversation.evidence and second.queries[0].startswith("How long are the videos")


def test_empty_store_says_ingest_first(tmp_path: Path, llm_settings: dict, fake) -> None:
    with pytest.raises(EmptyStoreError, match="survey ingest"):
        agent_for(tmp_path / "none", llm_settings).ask("anything?")


def test_async_ask(sample_store: Path, llm_settings: dict, fake) -> None:
    answer = asyncio.run(agent_for(sample_store, llm_settings).aask("How long are the videos in InfiniBench on average?"))
    assert answer.citations


def test_cli_ask_json_and_terminal(sample_store: Path, llm_settings: dict, fake) -> None:
    runner = CliRunner()
    env = {"SURVEY_MODEL": "fake/rules", "SURVEY_CACHE_DIR": str(llm_settings["cache_dir"]), "SURVEY_STORE": str(sample_store)}
    result = runner.invoke(app, ["ask", "How long are the videos in InfiniBench on average?", "--json"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"question", "answer", "citations", "evidence", "usage"} <= set(data)
    assert data["citations"][0]["key"] and data["citations"][0]["title"]
    assert data["usage"]["calls"] >= 1
    shown = runner.invoke(app, ["ask", "How long are the videos in InfiniBench on average?"], env=env)
    assert shown.exit_code == 0 and "Sources" in shown.stdout and "[@InfiniBench]" in shown.stdout
    assert "model call" in shown.stdout


@pytest.mark.parametrize("reply", ["", "[@InfiniBench", "@@@ [[[ ]]] ...", "[@] [@ ; ] unfinished"])
def test_malformed_model_output_is_an_error_not_an_abstention(sample_store: Path, llm_settings: dict, fake,
                                                              reply: str) -> None:
    """Issue: empty or broken replies were shown as "the store does not answer" (exit 0), and cached."""
    question = "How long are the videos in InfiniBench on average?"
    fake.script += [reply]
    with pytest.raises(SurveyError, match="try again, or choose another model") as caught:
        agent_for(sample_store, llm_settings).ask(question)
    assert "\n" not in str(caught.value) and ABSTENTION not in str(caught.value)
    recovered = agent_for(sample_store, llm_settings).ask(question)  # same cache: the fault was not stored
    assert not recovered.abstained and recovered.citations


def test_a_failing_model_under_json_prints_only_the_json_error(sample_store: Path, tmp_path: Path) -> None:
    """Issue: litellm's "Give Feedback / Get Help" banner on stdout broke `--json` on every failure."""
    for model in ("fake/fail", "fake/empty", "fake/nochoices"):
        result = subprocess.run(
            [sys.executable, str(LAUNCHER), "ask", "How long are the videos in InfiniBench?", "-m", model, "--json",
             "--store", str(sample_store)], capture_output=True, text=True, timeout=300,
            env={**os.environ, "SURVEY_CACHE_DIR": str(tmp_path / "cache"), "SURVEY_LLM_RETRIES": "1"})
        assert result.returncode == 3, (model, result.stderr)  # a model failure (docs/json.md)
        assert json.loads(result.stdout) == {"error": result.stderr.strip().removeprefix("error: "), "exit_code": 3}, model
        assert "Give Feedback" not in result.stdout + result.stderr and result.stderr.count("\n") == 1


def test_ctrl_c_during_an_answer_prints_one_line_and_exits_130(sample_store: Path, tmp_path: Path) -> None:
    """Issue: Typer swallowed KeyboardInterrupt: exit 130 with nothing printed."""
    started = tmp_path / "started"
    env = {**os.environ, "SURVEY_CACHE_DIR": str(tmp_path / "cache"), "FAKE_LLM_STARTED": str(started)}
    process = subprocess.Popen(
        [sys.executable, str(LAUNCHER), "ask", "How long are the videos in InfiniBench?", "-m", "fake/slow",
         "--store", str(sample_store)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as from a terminal, whatever runs pytest
    deadline = time.monotonic() + 240
    while not started.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert started.exists(), process.communicate(timeout=60)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert err == "interrupted; run the same command again to resume\n" and out == ""


def test_a_true_sentence_that_does_not_answer_is_an_abstention(sample_store: Path, llm_settings: dict, fake) -> None:
    """Issue: an off-topic draft re-cited to a real paper was shown as a verified answer (2/2 supported)."""
    from agent.render import answer_markdown

    fake.script += ["InfiniBench is a comprehensive benchmark for very long video understanding [@InfiniBench]."]
    answer = agent_for(sample_store, llm_settings).ask(
        "Which reinforcement learning algorithm trained AlphaGo Zero on long video benchmarks?")
    assert answer.abstained and answer.answer == ABSTENTION and not answer.citations
    assert any("AlphaGo" in p for p in answer.problems)
    shown = answer_markdown(answer)
    assert "Verified against" not in shown and "claims supported" not in shown  # nothing to score


def test_a_citation_after_the_full_stop_is_shown_inside_its_sentence(sample_store: Path, llm_settings: dict, fake) -> None:
    fake.script += ["InfiniBench videos last 76 minutes on average. [@InfiniBench]"]
    answer = agent_for(sample_store, llm_settings).ask("How long are the videos in InfiniBench on average?")
    assert answer.answer.startswith("InfiniBench videos last 76 minutes on average [@InfiniBench].")
    assert UNCITED not in answer.answer


def test_ask_takes_the_search_filters(sample_store: Path, llm_settings: dict, fake) -> None:
    agent = agent_for(sample_store, llm_settings)
    question = "How long are the videos in InfiniBench on average?"
    nowhere = agent.ask(question, source="no-such-listing")
    assert nowhere.abstained and not nowhere.evidence
    source = agent.paper("InfiniBench").source
    here = agent.ask(question, source=Path(source).name)
    assert not here.abstained and "InfiniBench" in [e.key for e in here.evidence]


def test_a_missing_api_key_is_one_line_and_json_stays_json(sample_store: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue: 4 retries (11 s), 'InternalServerError ... is the model server up?', litellm banners on stdout."""
    from conftest import run_cli

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = run_cli("ask", "How long are the videos in InfiniBench?", "-m", "openai/gpt-4o-mini", "--json",
                     "--store", str(sample_store), env={"SURVEY_CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 3
    assert json.loads(result.stdout) == {"error": result.stderr.strip().removeprefix("error: "), "exit_code": 3}
    assert "OPENAI_API_KEY" in result.stderr and result.stderr.count("\n") == 1


def test_clip_cuts_at_word_boundaries_never_inside_a_number() -> None:
    from agent.core.text import clip

    assert clip("The Transformer reaches a BLEU score of 41.8 on WMT 2014", 45) == "The Transformer reaches a BLEU score of 41.8…"
    assert clip("The Transformer reaches a BLEU score of 41.8 on WMT 2014", 42) == "The Transformer reaches a BLEU score of…"
    assert clip("It is slow because it requires ; many steps", 33) == "It is slow because it requires…"
    assert clip("short", 80) == "short"


def test_a_citation_is_never_the_subject_of_an_answer_sentence(sample_store: Path, llm_settings: dict, fake) -> None:
    """The model wrote the key as the paper's name: the answer names the paper and cites it at the end."""
    fake.script += ["[@InfiniBench] mentions that the benchmark presents 108.2K question-answer pairs. "
                    "The videos average 76.34 minutes, as [@InfiniBench] reports."]
    answer = agent_for(sample_store, llm_settings).ask("How many question-answer pairs does InfiniBench contain?")
    assert answer.answer == ("InfiniBench presents 108.2K question-answer pairs [@InfiniBench]. "
                             "The videos average 76.34 minutes, as InfiniBench reports [@InfiniBench].")
    assert [c.key for c in answer.citations] == ["InfiniBench"]
    assert answer.draft.startswith("[@InfiniBench] mentions")  # what the model wrote is kept beside it


@pytest.mark.parametrize(
    "sentence, expected",
    [
        ("[@a] and [@b] differ in frame sampling.", "VLM2Vec and Lee et al. differ in frame sampling [@a; @b]."),
        ("Memory helps [@a], while [@b] uses retrieval.", "Memory helps [@a], while Lee et al. uses retrieval [@b]."),
        ("Models are evaluated on [@a].", "Models are evaluated on VLM2Vec [@a]."),
        ("According to [@b], memory helps [@a].", "According to Lee et al., memory helps [@b; @a]."),
        ("[@a; @b]: one trains, the other does not.", "One trains, the other does not [@a; @b]."),
        ("[@b] shows that the model is fast.", "Lee et al. shows that the model is fast [@b]."),  # not "Lee et al. is fast"
        ("[@c] proposes a memory.", "“Breaking the Modality Barrier” proposes a memory [@c]."),
        ("Long videos are hard [@a], and memory helps [@b].", "Long videos are hard [@a], and memory helps [@b]."),
    ],
)
def test_citations_used_as_noun_phrases_become_names(sentence: str, expected: str) -> None:
    from agent.core.citations import name_citations
    from agent.core.paper import Paper, sentence_name

    papers = {"a": Paper(title="VLM2Vec: Training Vision-Language Models"), "b": Paper(title="Long video memory",
              authors=["Ann Lee", "Bo Chan"]), "c": Paper(title="Breaking the Modality Barrier: Universal Embeddings")}
    assert name_citations(sentence, {k: sentence_name(p) for k, p in papers.items()}) == expected


def test_a_paper_without_a_name_is_one_paper() -> None:
    from agent.core.paper import Paper, sentence_name

    assert sentence_name(Paper(title="A very long title that names no system at all, and goes on")) == "one paper"
    assert sentence_name(Paper(title="Grounding video answers", authors=["Ann Lee"])) == "Lee"


def test_a_comparison_keeps_all_its_citations_at_the_end() -> None:
    """The survey's comparisons (agent/survey/draft.py) use the same naming, with one closing group."""
    from agent.core.citations import end_cited

    names = {"a": "A", "b": "B"}
    assert end_cited("[@a] uses X [@a], while [@b] uses Y [@b].", names) == "A uses X, while B uses Y [@a; @b]."
    assert end_cited("[@a; @b]: A uses X, while B uses Y.", names) == "A uses X, while B uses Y [@a; @b]."
    assert end_cited("[@a] and [@z] differ.", names) == ""  # no name for @z: not kept
