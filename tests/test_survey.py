"""The survey writer end to end: a real agent on the sample store, the fake model behind real litellm."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import bibtexparser
import pytest

from agent.api import SurveyAgent
from agent.core.citations import parse_keys
from agent.core.errors import SurveyError
from agent.survey import Survey

import fake_llm

TOPIC = "long video understanding benchmarks"
LAUNCHER = Path(__file__).with_name("fake_survey.py")
INVENTED = ("NoSuchPaper2099", "AlsoFake")


def make_agent(store: Path, cache: Path, **overrides) -> SurveyAgent:
    """A real agent on `store` talking to the fake model (the shipped offline judge verifies)."""
    return SurveyAgent(store=store, model="fake/rules", cache_dir=cache, llm_retry_wait=0.01, **overrides)


def body_of(markdown: str) -> str:
    """The Markdown before its reference list."""
    return markdown.split("\n## References\n", 1)[0]


def h2(markdown: str) -> list[str]:
    return [line[3:].strip() for line in markdown.splitlines() if line.startswith("## ")]


def drafting_prompt(messages: list[dict]) -> str | None:
    """The prompt of a writer's drafting call (one paper, or a comparison, over its group's cards), else None."""
    prompt = messages[-1]["content"]
    return prompt if "These papers belong to" in prompt else None


def group_of(prompt: str) -> str:
    """The shared prefix of a drafting prompt: its group's cards."""
    return prompt.split("These papers belong to", 1)[0]


@dataclass
class Written:
    agent: SurveyAgent
    survey: Survey
    md: Path

    @property
    def markdown(self) -> str:
        return self.md.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def written(sample_store: Path, tmp_path_factory: pytest.TempPathFactory):
    """One survey written for the read-only assertions of this module."""
    root = tmp_path_factory.mktemp("survey")
    fake_llm.FAKE.reset()
    agent = make_agent(sample_store, root / "cache")
    survey = agent.write(TOPIC, papers=10, output=root / "x.md", fresh=True)
    fake_llm.FAKE.reset()
    yield Written(agent, survey, root / "x.md")
    agent.close()


# --- the written survey ---------------------------------------------------------------------------
def test_files_are_written_side_by_side(written: Written) -> None:
    """Markdown, BibTeX, JSON and the editable outline lie beside each other; the JSON is the survey."""
    md = written.md
    for suffix in (".md", ".bib", ".json"):
        assert md.with_suffix(suffix).is_file()
    assert md.with_name("x.outline.md").is_file()
    assert written.survey.files["markdown"] == str(md)
    data = json.loads(md.with_suffix(".json").read_text(encoding="utf-8"))
    assert {"sections", "references", "verification"} <= set(data)
    assert Survey.from_dict(data).cited == written.survey.cited


def test_headings_follow_the_outline(written: Written) -> None:
    """`## N. <theme>` per theme in order, framed by the fixed sections."""
    survey = written.survey
    themes = [t["name"] for t in survey.settings["themes"]]
    assert len(themes) >= 2
    assert [s.title for s in survey.sections if s.kind == "theme"] == themes
    expected = ["1. Introduction", *(f"{n}. {name}" for n, name in enumerate(themes, 2))]
    if survey.table:
        expected.append("Comparison table")
    n = len(themes) + 2
    expected += [f"{n}. Open problems", f"{n + 1}. Conclusion", "References", "Appendix: verification"]
    assert h2(written.markdown) == expected


def test_every_citation_resolves(written: Written) -> None:
    """Body citations are store keys, and exactly the References list and `survey.references`."""
    markdown = written.markdown
    cited = parse_keys(body_of(markdown))
    assert cited
    assert all(written.agent.paper(k) is not None for k in cited)
    references = markdown.split("\n## References\n", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\d+\. \[@([^\]]+)\]", references, re.M)
    assert len(listed) == len(set(listed))
    assert set(cited) == set(listed) == {r["key"] for r in written.survey.references}
    assert listed == [r["key"] for r in written.survey.references] == written.survey.cited


def test_bibtex_parses_and_ingests_back(written: Written, tmp_path: Path) -> None:
    """One entry per cited paper; the ingester reads the .bib back to the same keys, titles, abstracts."""
    bib = written.md.with_suffix(".bib")
    library = bibtexparser.parse_string(bib.read_text(encoding="utf-8"))
    assert not library.failed_blocks
    keys = [e.key for e in library.entries]
    cited = parse_keys(body_of(written.markdown))
    assert len(keys) == len(set(keys)) == len(cited)
    assert set(keys) == set(cited)
    with SurveyAgent(store=tmp_path / "s2", embedding_model="none") as again:
        report = again.ingest([bib])
        assert not report.rejected
        back = {p.key: p for p in again.papers()}
    assert set(back) == set(cited)
    def plain(text: str) -> str:
        return " ".join(text.replace("\\&", "&").replace("~", " ").split())

    for key, paper in back.items():
        original = written.agent.paper(key)
        # A listing page's abstract may carry LaTeX ("visual \\& audio", "MiniGPT-4~zhu2023"): a .bib means
        # it as LaTeX, so it reads back decoded, as the ingester decodes any .bib.
        assert (paper.title, plain(paper.abstract)) == (original.title, plain(original.abstract))


def test_appendix_agrees_with_the_verifier(written: Written) -> None:
    """`verify_text` on the Markdown finds each kept sentence, judged as the survey says."""
    survey, markdown = written.survey, written.markdown
    report = written.agent.verify_text(markdown)
    assert report.unknown_keys == []
    cited = [c for c in report.checks if c.claim.keys]
    sentences = [s for sec in survey.sections for s in sec.sentences]
    assert len(cited) == len(sentences) > 0
    # Same sentences, same order, same verdicts (introduction and conclusion cite nothing).
    assert [c.claim.source for c in cited] == [s.text for s in sentences]
    for check, sentence in zip(cited, sentences):
        assert check.status == sentence.status, sentence.text
        assert all(isinstance(v, dict) for v in sentence.verdicts), (sentence.text, sentence.verdicts)
        assert [(v.key, v.label) for v in check.verdicts] == [(v["key"], v["label"]) for v in sentence.verdicts]
        assert sorted(check.relevant) == sorted(sentence.relevant), sentence.text
        assert isinstance(sentence.group, int)
    recall = sum(s.status == "supported" for s in sentences) / len(sentences)
    assert abs(sum(c.status == "supported" for c in cited) / len(cited) - recall) < 1e-6
    # The only claims without a citation would be code-written prose of introduction and conclusion (none: each
    # sentence is about the survey itself, which `split_claims` reads as no claim).
    prose = " ".join(s.text for s in survey.sections if s.kind in ("introduction", "conclusion"))
    assert all(c.claim.source in prose for c in report.checks if not c.claim.keys)
    # The appendix's total row is the survey's own numbers.
    total = re.search(r"^\| \*\*All\*\* \| (\d+) \| (\d+) \| ([\d.]+) \| ([\d.]+) \| (\d+) \|$", markdown, re.M)
    assert total is not None
    survey_recall, survey_precision = survey.citation_scores()
    themed = [s for s in survey.sections if s.kind not in ("introduction", "conclusion")]
    assert int(total.group(1)) == survey.claims == sum(s.claims for s in themed)
    assert int(total.group(2)) == sum(len(s.sentences) for s in themed)
    assert (total.group(3), total.group(4)) == (f"{survey_recall:.2f}", f"{survey_precision:.2f}")


def test_outline_is_deterministic(written: Written, sample_store: Path, tmp_path: Path, fake) -> None:
    """The same topic on the same store gives the same themes with the same papers."""
    again = make_agent(sample_store, tmp_path / "cache").write(TOPIC, papers=10, output=tmp_path / "y.md", fresh=True)
    assert again.settings["themes"] == written.survey.settings["themes"]
    assert [(s.title, s.keys) for s in again.sections] == [(s.title, s.keys) for s in written.survey.sections]


# --- citations the model invents ------------------------------------------------------------------
def test_invented_keys_never_reach_the_output(sample_store: Path, tmp_path: Path, fake) -> None:
    """A drafting reply citing invented keys: dropped, reported in `problems`, absent from every file."""
    fake.script += [f"Paper one does X [@{INVENTED[0]}]. Paper two does Y [@{INVENTED[1]}]."]
    survey = make_agent(sample_store, tmp_path / "cache").write(TOPIC, papers=8, sections=1, output=tmp_path / "x.md")
    first = drafting_prompt(fake.calls[0]["messages"])
    assert first is not None  # the scripted reply answered the first drafting call
    assert not fake.script
    problems = " ".join(p for s in survey.sections for p in s.problems)
    assert all(k in problems for k in INVENTED)
    assert survey.cited  # the papers were written about on their own instead
    for suffix in (".md", ".bib"):
        text = (tmp_path / "x.md").with_suffix(suffix).read_text(encoding="utf-8")
        assert not any(k in text for k in INVENTED), suffix
    data = json.loads((tmp_path / "x.json").read_text(encoding="utf-8"))
    for section in data["sections"]:
        section.pop("problems")  # the one place the invented keys belong: the report of what was dropped
    assert not any(k in json.dumps(data) for k in INVENTED)


# --- user outline ---------------------------------------------------------------------------------
def test_user_outline_is_followed(sample_store: Path, tmp_path: Path, fake) -> None:
    """Headings and `- @key` lines of a user outline become the themes, in order, with those papers."""
    agent = make_agent(sample_store, tmp_path / "cache")
    keys = [h.key for h in agent.search("video benchmark", k=6)]
    assert len(keys) == 6
    outline = tmp_path / "outline.md"
    outline.write_text("# Outline: video benchmarks\n\n## Benchmarks for long videos\n\n"
                       + "".join(f"- @{k} some title\n" for k in keys[:3])
                       + "\n## How models are tested\n\n" + "".join(f"- @{k}\n" for k in keys[3:]), encoding="utf-8")
    survey = agent.write("video benchmarks", outline=outline, output=tmp_path / "x.md")
    themes = [s for s in survey.sections if s.kind == "theme"]
    assert [(s.title, s.keys) for s in themes] == [("Benchmarks for long videos", keys[:3]),
                                                   ("How models are tested", keys[3:])]
    assert [t["named_by"] for t in survey.settings["themes"]] == ["user", "user"]
    assert h2((tmp_path / "x.md").read_text(encoding="utf-8"))[1:3] == ["2. Benchmarks for long videos",
                                                                          "3. How models are tested"]
    assert set(survey.scope.keys) == set(keys)
    assert not any(c["messages"][-1]["content"].startswith("These papers form one theme") for c in fake.calls)

    bad = tmp_path / "bad.md"
    bad.write_text(f"## Benchmarks\n\n- @{keys[0]}\n- @NoSuchPaper2099\n", encoding="utf-8")
    with pytest.raises(SurveyError) as err:
        agent.write("video benchmarks", outline=bad, output=tmp_path / "bad-out.md")
    assert "NoSuchPaper2099" in str(err.value) and str(bad) in str(err.value)
    assert not (tmp_path / "bad-out.md").exists()


# --- resume, overwrite ----------------------------------------------------------------------------
def test_interrupted_write_resumes_from_finished_stages(sample_store: Path, tmp_path: Path, fake, monkeypatch) -> None:
    """A failure at the 2nd drafting group leaves the finished stages; the rerun does not redo them."""
    groups: list[str] = []
    real_reply = fake.reply

    def failing_reply(model: str, messages: list[dict]) -> str:
        prompt = drafting_prompt(messages)
        if prompt is not None and group_of(prompt) not in groups:
            groups.append(group_of(prompt))
            if len(groups) == 2:
                fake.calls.append({"model": model, "messages": messages})
                raise fake_llm.auth_error()
        return real_reply(model, messages)

    monkeypatch.setattr(fake, "reply", failing_reply)
    output = tmp_path / "x.md"
    args = dict(papers=10, sections=1, output=output)  # one theme of 10 papers: two drafting groups
    with pytest.raises(SurveyError, match="credentials"):
        make_agent(sample_store, tmp_path / "cache", llm_cache=False).write(TOPIC, **args)
    assert len(groups) == 2 and groups[0] != groups[1]
    assert not output.exists()
    run = tmp_path / "x.run"
    for stage in ("scope", "cards", "outline"):
        assert (run / f"{stage}.json").is_file(), stage
    drafts = sorted(p.name for p in run.glob("draft-*.json"))
    assert len(drafts) == 1 and drafts[0].endswith("-0.json")

    monkeypatch.undo()
    fake.calls.clear()
    survey = make_agent(sample_store, tmp_path / "cache", llm_cache=False).write(TOPIC, **args)
    assert output.is_file()
    again = {group_of(p) for c in fake.calls if (p := drafting_prompt(c["messages"])) is not None}
    assert groups[0] not in again  # the first group was reused from its stage file
    assert groups[1] in again
    theme = next(s for s in survey.sections if s.kind == "theme")
    assert {s.group for s in theme.sentences} == {0, 1}
    assert set(theme.cited) == set(theme.keys)


def test_existing_file_is_not_clobbered(sample_store: Path, tmp_path: Path, fake) -> None:
    """A user's file needs --force; a file this command wrote (and nobody changed) does not."""
    output = tmp_path / "x.md"
    output.write_text("# My own notes\n", encoding="utf-8")
    agent = make_agent(sample_store, tmp_path / "cache")
    args = dict(papers=8, sections=1, output=output)
    with pytest.raises(SurveyError, match="--force"):
        agent.write(TOPIC, **args)
    assert output.read_text(encoding="utf-8") == "# My own notes\n"
    assert not fake.calls

    agent.write(TOPIC, force=True, **args)
    first = output.read_text(encoding="utf-8")
    assert first.startswith("---\n") and "My own notes" not in first
    survey = agent.write(TOPIC, **args)  # the same command again: its own output, no --force needed
    assert survey.files["markdown"] == str(output) and output.read_text(encoding="utf-8").startswith("---\n")

    output.write_text(output.read_text(encoding="utf-8") + "\nA line the user added.\n", encoding="utf-8")
    with pytest.raises(SurveyError, match="--force"):
        agent.write(TOPIC, **args)
    assert output.read_text(encoding="utf-8").endswith("A line the user added.\n")


# --- related work ---------------------------------------------------------------------------------
def test_related_work_cites_every_cite_key(sample_store: Path, tmp_path: Path, fake) -> None:
    """--cite keys far from the user's topic are still discussed, and reported as covered."""
    agent = make_agent(sample_store, tmp_path / "cache")
    far = [h.key for h in agent.search("medical pathology report", k=3)][:2]
    title = "Memory banks for hour-long video question answering"
    abstract = ("We study long video understanding with multimodal models. A memory bank keeps what the model saw "
                "and our method answers questions about hour-long videos better than sampling frames.")
    assert not set(far) & {h.key for h in agent.search(title, k=5)}  # not what the title would find first
    survey = agent.related_work(title, abstract, cite=far, papers=8, output=tmp_path / "rw.md")
    cited = parse_keys(body_of((tmp_path / "rw.md").read_text(encoding="utf-8")))
    assert set(far) <= set(cited)
    assert survey.coverage["must_cite"] == {far[0]: True, far[1]: True}
    assert set(far) <= {r["key"] for r in survey.references}
    # Each paragraph ends by positioning the user's paper: the model's phrase + the abstract's "we study ...".
    positions = [s.text for sec in survey.sections for s in sec.sentences if s.kind == "position"]
    assert positions and positions[0] == ("Unlike these works, which study one paper at a time, our paper "
                                          "studies long video understanding with multimodal models.")


# --- the command line -----------------------------------------------------------------------------
def fake_cli(*args: str, cwd: Path) -> subprocess.Popen:
    """`survey ...` with the fake model registered, in a fresh process (started, not waited for)."""
    env = {**os.environ, "SURVEY_MODEL": "fake/rules", "SURVEY_CACHE_DIR": str(cwd / "cache")}
    return subprocess.Popen([sys.executable, str(LAUNCHER), *args, "-m", "fake/rules"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)


def test_cli_bad_input_is_one_clear_line(sample_store: Path, tmp_path: Path) -> None:
    """Empty store, a topic nothing matches, an unwritable output: exit 2 (input error), one `error:` line, no traceback."""
    (tmp_path / "empty").mkdir()
    runs = {  # started together: each process spends most of its time importing
        "empty": fake_cli("write", "long video", "--store", str(tmp_path / "empty"), "-o", str(tmp_path / "a.md"),
                          cwd=tmp_path),
        "nothing": fake_cli("write", "zqxj wvvk plorf", "--store", str(sample_store), "-o", str(tmp_path / "b.md"),
                            cwd=tmp_path),
        "unwritable": fake_cli("write", TOPIC, "--store", str(sample_store), "-o", "/proc/nope/x.md", cwd=tmp_path),
    }
    results = {name: (p.wait(timeout=300), *p.communicate()) for name, p in runs.items()}
    for name, (code, out, err) in results.items():
        assert code == 2, (name, err)
        assert "Traceback" not in err, name
        errors = [line for line in err.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and err.rstrip().splitlines()[-1] == errors[0], (name, err)
    assert results["empty"][2].strip().splitlines() == [results["empty"][2].strip()]  # nothing else on stderr
    assert "survey ingest" in results["empty"][2]
    assert "zqxj wvvk plorf" in results["nothing"][2] and "no paper" in results["nothing"][2]
    assert "/proc/nope" in results["unwritable"][2] and "-o" in results["unwritable"][2]
    assert not (tmp_path / "a.md").exists() and not (tmp_path / "b.md").exists()


def test_cli_write_json_prints_only_json(sample_store: Path, tmp_path: Path) -> None:
    """`survey write --json`: stdout is one JSON document with the survey's structure."""
    proc = fake_cli("write", TOPIC, "--papers", "6", "--sections", "1", "--store", str(sample_store),
                    "-o", str(tmp_path / "j.md"), "--json", cwd=tmp_path)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    data = json.loads(out)
    assert {"sections", "references", "verification"} <= set(data)
    assert data["verification"]["claims"] > 0 and data["verification"]["cited_papers"] == len(data["references"])
    assert data["files"]["markdown"] == str(tmp_path / "j.md") and (tmp_path / "j.md").is_file()


def test_abstract_sentences_are_put_in_the_third_person() -> None:
    from agent.survey.draft import third_person

    assert third_person("In this paper, we propose X, which our users like.") == \
        "The authors propose X, which the authors' users like."
    assert third_person("InfiniBench shows that models fail.") == "InfiniBench shows that models fail."


def test_position_joins_their_phrase_to_the_users_contribution() -> None:
    from agent.survey.position import contribution, position_sentence, their_phrase

    abstract = ("Long videos are hard. In this paper, we propose a retrieval step that selects frames, and we "
                "evaluate it on three benchmarks.")
    ours = contribution(abstract)
    assert ours == "proposes a retrieval step that selects frames"
    assert contribution("Long videos are hard. Models fail on them.") == ""  # nothing says what the paper does
    # Any verb, not a fixed list; a release or a result only when nothing else says what the paper does.
    assert contribution("Screening is slow. We are the first. We decompose criteria into yes/no questions (population, "
                        "outcome), ask a small model each question about each record, and read its first-token "
                        "log-probabilities instead of the generated text. We release the code.") == (
        "decomposes criteria into yes/no questions")
    assert contribution("Screening is slow. We release the code and the judgments.") == "releases the code and the judgments"
    # A long clause keeps its apposition (a cut at the first comma left only the method's name, and no
    # positioning sentence at all) and ends at an "and" past 20 words.
    assert contribution("We propose AdaDraft, a lightweight controller that reads the draft model's hidden state and "
                        "token entropy at each step and decides whether to keep drafting or hand the block to the "
                        "target model.") == ("proposes AdaDraft, a lightweight controller that reads the draft "
                                             "model's hidden state and token entropy at each step")
    assert contribution("We fine-tuned a model for screening reviews.") == "fine-tuned a model for screening reviews"
    assert their_phrase("These papers build benchmarks for long-video QA.", abstract) == "build benchmarks for long-video QA"
    assert their_phrase("We propose a retrieval step that selects frames", abstract) == ""  # the user's own words
    assert their_phrase("evaluate, build, propose, propose, propose", abstract) == ""
    assert their_phrase("NOT IN STORE", abstract) == ""
    assert position_sentence("build benchmarks", ours) == \
        "Unlike these works, which build benchmarks, our paper proposes a retrieval step that selects frames."


def test_empty_model_replies_do_not_end_a_survey(sample_store: Path, tmp_path: Path, fake) -> None:
    """An empty reply is an error for `ask`, but the writer's steps fall back (theme by keywords, a sentence
    reworded from the card) instead of stopping the whole survey."""
    fake.script += ["", "", "", ""]  # the first four calls of the run get an empty reply
    survey = make_agent(sample_store, tmp_path / "cache").write(TOPIC, papers=6, sections=1, output=tmp_path / "e.md")
    assert not fake.script and survey.claims > 0 and (tmp_path / "e.md").is_file()


def test_requests_check_their_values_the_same_for_every_door(tmp_path: Path) -> None:
    """The CLI, MCP and the library build one request; it tidies and checks its values on construction."""
    from agent.survey.models import RelatedWorkRequest, SurveyRequest

    request = SurveyRequest("  long   video\nbenchmarks ", include=["InfiniBench"])
    assert (request.topic, request.papers, request.default_name) == ("long video benchmarks", 60,
                                                                    "long-video-benchmarks")
    related = RelatedWorkRequest(" Watching  Long Videos ", " We propose X. ")
    assert (related.title, related.abstract, related.papers) == ("Watching Long Videos", "We propose X.", 15)
    assert related.default_name == "related-work-watching-long-videos"
    for build, message in [(lambda: SurveyRequest(" "), "empty topic; say what the survey is about"),
                           (lambda: SurveyRequest("x", papers=0), "--papers must be at least 1"),
                           (lambda: SurveyRequest("x", sections=0), "--sections must be at least 1"),
                           (lambda: RelatedWorkRequest("", "a"), "empty title; pass --title"),
                           (lambda: RelatedWorkRequest("t", "\n"), "empty abstract; pass --abstract")]:
        with pytest.raises(SurveyError) as caught:
            build()
        assert str(caught.value).startswith(message)
    agent = SurveyAgent(store=tmp_path / "store")
    with pytest.raises(SurveyError, match="empty topic"):
        agent.write("  ")  # the keyword arguments build the same request, checked before the store is read
    with pytest.raises(SurveyError, match="not both"):
        agent.write("x", request=request)
    with pytest.raises(SurveyError, match="not both"):
        agent.related_work("t", request=related)


def test_read_draft_finds_title_and_abstract(tmp_path: Path) -> None:
    from agent.survey.manuscript import read_draft

    draft = tmp_path / "draft.md"
    draft.write_text('---\ntitle: "Watching Long Videos"\n---\n\n# Other\n\n## Abstract\n\n**Abstract.** We propose\n'
                     "a benchmark.\n\n## Introduction\n\nText.\n", encoding="utf-8")
    assert read_draft(draft) == ("Watching Long Videos", "We propose a benchmark.")
    draft.write_text("# Watching Long Videos\n\nWe propose a benchmark.\n\nMore text.\n", encoding="utf-8")
    assert read_draft(draft) == ("Watching Long Videos", "We propose a benchmark.")  # the first paragraph
    for text, message in [("Only a paragraph.\n", "no title found"), ("# A title\n\n## Intro\n", "no abstract found")]:
        draft.write_text(text, encoding="utf-8")
        with pytest.raises(SurveyError, match=f"^{re.escape(str(draft))}: {message}"):
            read_draft(draft)
    with pytest.raises(SurveyError, match="cannot read"):
        read_draft(tmp_path / "missing.md")


def test_a_one_paper_sentence_naming_another_paper_of_its_group_is_caught() -> None:
    from agent.survey.draft import names_another
    from agent.survey.models import PaperCard

    aim = PaperCard(key="AIM", title="AIM: Adaptive Inference", year=2024, venue=None, authors=[], name="AIM")
    fopru = PaperCard(key="FoPru", title="FoPru: Focal Pruning", year=2024, venue=None, authors=[], name="FoPru")
    smith = PaperCard(key="smith2024", title="Token merging at scale", year=2024, venue=None, authors=["J. Smith", "K. Li"],
                      name="Smith et al.")
    group = [aim, fopru, smith]
    assert names_another("AIM, like FoPru, prunes visual tokens [@AIM].", aim, group) == "FoPru"
    assert names_another("AIM merges tokens as Smith et al. do [@AIM].", aim, group) == "Smith et al."
    assert names_another("AIM prunes visual tokens without training [@AIM].", aim, group) == ""
    assert names_another("FoPru-style pruning is not named here: AIMS is another word [@AIM].", fopru, group) == ""


# --- no sentence twice; references a reader can follow --------------------------------------------
def body_sentences(markdown: str) -> list[str]:
    """Every sentence of a written file's prose before its References: front matter, headings and table rows
    left out, bullets and quote marks stripped, whitespace normalised."""
    from agent.check.claims import cited_sentences

    body = body_of(markdown).split("\n---\n", 1)[1]  # after the front matter
    out = []
    for line in body.splitlines():
        line = line.strip().lstrip(">").strip()
        if not line or line.startswith(("#", "|")):
            continue
        out += [" ".join(s.text.split()) for s in cited_sentences(line)]
    return out


def test_no_sentence_repeats_in_a_survey(written: Written) -> None:
    """Introduction and conclusion are the survey's own sentences: no body sentence said twice, and none
    of theirs read by `survey verify` as an uncited claim."""
    sentences = body_sentences(written.markdown)
    assert len(sentences) > 10
    assert len(sentences) == len(set(sentences)), [s for s in sentences if sentences.count(s) > 1]
    intro, conclusion = (next(s for s in written.survey.sections if s.kind == k) for k in ("introduction", "conclusion"))
    assert not intro.sentences and not conclusion.sentences  # code-written text only, citing nothing
    themes = [s for s in written.survey.sections if s.kind == "theme"]
    assert intro.text.startswith(f"This survey covers {sum(len(s.keys) for s in themes)} papers on {TOPIC}")
    for n, theme in enumerate(themes, 2):
        assert f"Section {n} covers *{theme.title}* ({len(theme.keys)} papers)" in intro.text
    assert "This survey cites" in conclusion.text and "drafted sentences" in conclusion.text
    report = written.agent.verify_text(written.markdown)
    assert [c.claim.text for c in report.checks if c.status == "uncited"] == []


def test_no_sentence_repeats_in_related_work(sample_store: Path, tmp_path: Path, fake) -> None:
    agent = make_agent(sample_store, tmp_path / "cache")
    agent.related_work("Memory banks for hour-long video question answering",
                       "We study long video understanding with multimodal models. A memory bank keeps what the model "
                       "saw and our method answers questions about hour-long videos better than sampling frames.",
                       papers=8, output=tmp_path / "rw.md")
    sentences = body_sentences((tmp_path / "rw.md").read_text(encoding="utf-8"))
    assert len(sentences) > 3
    assert len(sentences) == len(set(sentences)), [s for s in sentences if sentences.count(s) > 1]


def test_a_repeated_sentence_is_dropped_and_reported() -> None:
    """The writer's last guard: a sentence said again (whitespace aside) is removed, listed among the
    section's flagged ones, its section's scores recounted, and a paper it alone cited is reported."""
    from agent.survey.models import Section, Sentence
    from agent.survey.writer import drop_repeats

    def sentence(text: str, keys: list[str]) -> Sentence:
        return Sentence(text, text, keys, "supported", verdicts=[{"key": k, "label": "SUPPORTED", "score": 1.0} for k in keys],
                        relevant=keys)

    first = Section("A", "theme", ["a", "b"], sentences=[sentence("X does Y [@a].", ["a"]), sentence("Z does W [@b].", ["b"])])
    second = Section("B", "theme", ["c"], sentences=[sentence("X  does Y [@a].", ["a"]), sentence("Q does R [@c].", ["c"])])
    third = Section("C", "open_problems", ["b"], sentences=[sentence("Z does W [@b].", ["b"])],
                    text="This survey says one thing. This survey says one thing.")
    missing = drop_repeats([first, second, third])
    assert [s.text for s in first.sentences] == ["X does Y [@a].", "Z does W [@b]."]
    assert [s.text for s in second.sentences] == ["Q does R [@c]."]
    assert third.sentences == [] and third.text == "This survey says one thing."
    assert [f["repair"] for f in second.flagged + third.flagged] == ["removed as a repeat"] * 2
    assert missing == {}  # every paper is still cited once
    lone = Section("D", "theme", ["d"], sentences=[sentence("Q does R [@c].", ["c", "d"])])
    assert drop_repeats([second, lone]) == {"d": "its only sentence repeated an earlier one and was removed"}
    # Nearly the same words on the same paper is a repeat too; on another paper, or a different point, it is not.
    said = Section("E", "theme", ["t"], sentences=[
        sentence("TextHawk is a MLLM designed for document-oriented tasks, preserving general capabilities [@t].", ["t"]),
        sentence("TextHawk presents a MLLM designed for document-oriented tasks, while preserving general skills [@t].", ["t"]),
        sentence("TextHawk still struggles with handwritten charts, which remain open [@t].", ["t"]),
        sentence("DocOwl presents a MLLM designed for document-oriented tasks, while preserving general skills [@o].", ["o"])])
    drop_repeats([said])
    assert [s.text.split()[1] for s in said.sentences] == ["is", "still", "presents"]


REFS_TOPIC = "token pruning for video language models"
ARXIV_RECORDS = [
    {"id": "2401.01234", "title": "FastPrune: Token Pruning for Video Language Models",
     "authors": "Ada Lovelace and Alan Turing and Grace Hopper and Edsger Dijkstra", "update_date": "2024-01-05",
     "abstract": "We propose FastPrune, a token pruning method for video language models that drops redundant "
                 "visual tokens before the language model reads them. FastPrune keeps accuracy on MSR-VTT while "
                 "using 40% fewer tokens. Token pruning for video language models makes long clips affordable."},
    {"id": "2302.04567", "title": "MergeTok: Merging Visual Tokens in Video Language Models",
     "authors": "Barbara Liskov and Donald Knuth", "update_date": "2023-02-10",
     "abstract": "MergeTok merges similar visual tokens across frames so that video language models process "
                 "fewer tokens. On ActivityNet-QA MergeTok improves accuracy by 2.1 points at half the compute. "
                 "Token merging complements token pruning for video language models."},
    {"id": "2205.07890", "title": "SparseClip: Sparse Frame Token Selection for Video Language Models",
     "authors": "Ken Thompson", "update_date": "2022-05-20",
     "abstract": "SparseClip selects a sparse subset of frame tokens with a learned scorer for video language "
                 "models. Token pruning with SparseClip reaches 61.3% accuracy on NExT-QA. The scorer is trained "
                 "jointly with the video language model."},
]
BIB_ENTRIES = """
@inproceedings{Hinton2021Prune,
  title = {Attention-Guided Token Pruning in Video Language Models},
  author = {Hinton, Geoffrey and Bengio, Yoshua and LeCun, Yann},
  booktitle = {Proceedings of CVPR},
  year = {2021},
  doi = {10.1109/CVPR.2021.00123},
  abstract = {We prune video tokens guided by cross-attention scores in video language models. Attention-guided token pruning removes 70% of visual tokens on How2QA with under one point of accuracy lost. Pruning decisions are made per frame and per layer.}
}
@article{Perlman2020Drop,
  title = {DropFrames: Learning Which Frames Video Language Models Can Skip},
  author = {Perlman, Radia and Hamilton, Margaret and Goldwasser, Shafi and Micali, Silvio},
  journal = {Transactions on Machine Learning Research},
  year = {2020},
  eprint = {2011.05555},
  archivePrefix = {arXiv},
  abstract = {DropFrames learns which frames a video language model can skip, a form of token pruning at the frame level. On TVQA DropFrames halves the number of frames with a 0.8 point accuracy drop. The policy network is small and fast.}
}
"""


def test_references_carry_authors_year_and_a_linked_identifier(tmp_path: Path, fake) -> None:
    """Papers from arXiv JSONL and from BibTeX: each reference has its authors (shortened after three), year
    and arXiv id or DOI as a link; the .bib carries the same; the comparison table's year is the store's."""
    (tmp_path / "arxiv.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ARXIV_RECORDS), encoding="utf-8")
    (tmp_path / "refs.bib").write_text(BIB_ENTRIES, encoding="utf-8")
    agent = make_agent(tmp_path / "store", tmp_path / "cache", embedding_model="none")
    report = agent.ingest([tmp_path / "arxiv.jsonl", tmp_path / "refs.bib"])
    assert report.new == 5 and not report.rejected
    survey = agent.write(REFS_TOPIC, papers=5, sections=2, output=tmp_path / "x.md")
    markdown = (tmp_path / "x.md").read_text(encoding="utf-8")
    references = markdown.split("\n## References\n", 1)[1].split("\n## ", 1)[0]
    entries = dict(re.findall(r"^\d+\. \[@([^\]]+)\] (.*)$", references, re.M))
    assert set(entries) == set(survey.cited) and len(entries) >= 4
    expected = {
        "2401.01234": ("Ada Lovelace et al. (2024).", "[arXiv:2401.01234](https://arxiv.org/abs/2401.01234)"),
        "2302.04567": ("Barbara Liskov and Donald Knuth (2023).", "[arXiv:2302.04567](https://arxiv.org/abs/2302.04567)"),
        "2205.07890": ("Ken Thompson (2022).", "[arXiv:2205.07890](https://arxiv.org/abs/2205.07890)"),
        "10.1109/cvpr.2021.00123": ("Geoffrey Hinton, Yoshua Bengio and Yann LeCun (2021).",
                                    "[doi:10.1109/cvpr.2021.00123](https://doi.org/10.1109/cvpr.2021.00123)"),
        "2011.05555": ("Radia Perlman et al. (2020).", "[arXiv:2011.05555](https://arxiv.org/abs/2011.05555)"),
    }
    papers = {r["key"]: r for r in survey.references}
    for key, text in entries.items():
        ident = papers[key]["arxiv_id"] or papers[key]["doi"]
        who, link = expected[ident.lower()]
        assert text.startswith(who + " *"), text
        assert link in text.lower() if ident.startswith("10.") else link in text, text
    # The .bib: author, year and the identifier of each cited paper.
    library = bibtexparser.parse_string((tmp_path / "x.bib").read_text(encoding="utf-8"))
    assert {e.key for e in library.entries} == set(entries)
    for entry in library.entries:
        fields = {f.key.lower(): f.value for f in entry.fields}
        paper = papers[entry.key]
        assert fields["year"] == str(paper["year"])
        assert fields["author"].split(" and ") == paper["authors"]
        if paper["arxiv_id"]:
            assert (fields["eprint"], fields["archiveprefix"]) == (paper["arxiv_id"], "arXiv")
        else:
            assert fields["doi"] == paper["doi"]
    # The comparison table's Year column: the store's year of each row's paper.
    rows = re.findall(r"^\| .*\(`([^`]+)`\) \| ([^|]+) \|", markdown, re.M)
    assert rows and survey.table
    assert all(year.strip() == str(papers[key]["year"]) for key, year in rows)


def test_a_checked_sentence_naming_a_paper_it_no_longer_cites_is_removed(sample_store: Path, tmp_path: Path, fake) -> None:
    """Repair may drop one citation of a comparison: "A and B both ..." left citing A alone is half unchecked."""
    from agent.check.checker import Checker
    from agent.core.text import split_sentences
    from agent.survey.cards import make_card
    from agent.survey.draft import Drafter
    from agent.survey.models import SentenceKind

    agent = make_agent(sample_store, tmp_path / "cache")
    a, b = agent.paper("InfiniBench"), agent.paper("FoPru")
    cards = [make_card(a, TOPIC), make_card(b, TOPIC)]
    own = split_sentences(a.abstract)[0].rstrip(".")
    drafter = Drafter(agent.llm, Checker(agent.store, agent.settings, agent.llm), TOPIC, None)
    plain = drafter.check([f"{own} [@InfiniBench]."], ["InfiniBench", "FoPru"], SentenceKind.PAPER, [], cards)
    assert [s.text for s in plain.sentences] == [f"{own} [@InfiniBench]."]  # supported, so kept
    named = drafter.check([f"Like FoPru, {own[:1].lower()}{own[1:]} [@InfiniBench]."], ["InfiniBench", "FoPru"],
                          SentenceKind.PAPER, [], cards)
    assert named.sentences == []
    assert [f["repair"] for f in named.flagged] == ["removed: names a paper it does not cite"]
    agent.close()


def test_a_comparison_citing_both_papers_it_names_is_not_flagged() -> None:
    from agent.survey.draft import uncited_name
    from agent.survey.models import PaperCard

    cards = [PaperCard(key=k, title=f"{k}: x", year=None, venue=None, authors=[], name=k) for k in ("AIM", "FoPru", "DyVTE")]
    assert uncited_name("FoPru and AIM both prune tokens [@AIM; @FoPru].", ["AIM", "FoPru"], cards) == ""
    assert uncited_name("FoPru and AIM both prune tokens [@FoPru].", ["FoPru"], cards) == "AIM"
    assert uncited_name("DyVTE, AIM and FoPru prune [@FoPru; @AIM].", ["FoPru", "AIM"], cards) == "DyVTE"
