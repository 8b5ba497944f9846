"""Outline sections and their names, on made-up cards (no store, no network, no embedder)."""

from __future__ import annotations

from agent.survey.models import PaperCard
from agent.survey.naming import clean_name, grounded, keyword_name, keywords, strip_markup, topic_words, vague
from agent.survey.outline import make_outline, paper_kind

TOPIC = "visual token compression for multimodal large language models"


def card(key: str, title: str, method: str, year: int = 2024) -> PaperCard:
    return PaperCard(key=key, title=title, year=year, venue=None, authors=[], method=method,
                     problem="Visual tokens make inference slow.", result="It keeps accuracy.")


def cards() -> list[PaperCard]:
    pruning = [card(f"prune{i}", f"Attention pruning of visual tokens {i}",
                    f"We propose a training-free attention pruning method that drops \\textbf{{redundant}} tokens ({i}).")
               for i in range(4)]
    merging = [card(f"merge{i}", f"Token merging by clustering {i}",
                    f"We merge similar tokens by clustering their features into fewer merged tokens ({i}).")
               for i in range(4)]
    surveys = [card("surveyA", "A Survey of Token Compression", "This survey organizes token compression methods."),
               card("surveyB", "Token Reduction: A Systematic Review", "We review token reduction methods.")]
    benches = [card("benchA", "CompressBench: A Benchmark for Token Compression",
                    "We introduce CompressBench, a benchmark of 20 tasks for compressed models."),
               card("benchB", "Evaluating Token Compression at Scale",
                    "We present TokEval, a dataset of long documents for measuring compression.")]
    return pruning + merging + surveys + benches


class Replies:
    """A stand-in LLM client that answers every naming prompt with the same reply."""

    def __init__(self, reply: str) -> None:
        self.reply = reply

    def complete(self, messages, **kwargs):  # type: ignore[no-untyped-def]
        return type("Reply", (), {"text": self.reply})()


def test_a_name_not_grounded_in_its_papers_falls_back_to_a_grounded_one() -> None:
    texts = [c.title + " " + c.text for c in cards()[:4]]
    assert clean_name("Reinforcement learning agents", TOPIC, texts) == ""
    outline = make_outline(cards(), None, TOPIC, Replies("Reinforcement learning agents"), fixed=None)  # type: ignore[arg-type]
    for theme in outline.themes:
        assert "Reinforcement" not in theme.name
        assert theme.named_by in ("keywords", "kind")
        papers = [c for c in cards() if c.key in theme.keys]
        if theme.named_by == "keywords":
            assert grounded(theme.name, [f"{c.title}. {c.text}" for c in papers], TOPIC), theme.name


def test_a_grounded_model_name_is_kept() -> None:
    outline = make_outline(cards(), None, TOPIC, Replies("Attention pruning"), fixed=None)  # type: ignore[arg-type]
    pruning = next(t for t in outline.themes if "prune0" in t.keys)
    assert (pruning.name, pruning.named_by) == ("Attention pruning", "model")


def test_vague_names_are_refused() -> None:
    texts = ["A survey of challenges and solutions, recent advances and an overview"] * 3
    for reply in ("Survey", "Comprehensive Survey", "Challenges and Solutions", "Recent Advances", "Overview",
                  "Other work", "Token compression"):
        assert clean_name(reply, TOPIC, texts) == "", reply
    assert vague("Challenges and Solutions", TOPIC) and not vague("Attention pruning", TOPIC)


def test_markup_never_becomes_a_keyword_or_a_name() -> None:
    texts = ["We \\textbf{prune} tokens \\cite{x} see https://github.com/a/b and \\emph{merge} them"] * 3
    assert "textbf" not in strip_markup(texts[0]) and "github" not in strip_markup(texts[0])
    words = keywords([texts, ["textbf emph url cite other words here"] * 2], topic_words(TOPIC))
    assert not {w for ws in words for part in ws for w in part.split()} & {"textbf", "emph", "cite", "url", "https", "github"}
    assert clean_name("Textbf, frame and vlms", TOPIC, texts) == ""
    assert clean_name("Textbf pruning", TOPIC, texts) == ""
    outline = make_outline(cards(), None, TOPIC, None)
    assert all("textbf" not in t.name.lower() and "textbf" not in t.keywords for t in outline.themes)


def test_keyword_names_read_like_headings() -> None:
    texts = [f"Attention pruning of tokens {i}. Attention pruning drops tokens." for i in range(4)]
    name = keyword_name(["pruning", "attention pruning", "drops"], texts, TOPIC)
    assert name == "Attention pruning"
    assert "," not in name
    # A word only one paper uses is that paper's name, never a keyword.
    only_one = keywords([["ZetaNet prunes", "tokens prune"], ["merging tokens", "merging again"]], set())
    assert "zetanet" not in only_one[0]


def test_surveys_and_benchmarks_get_sections_of_their_own() -> None:
    assert paper_kind(cards()[8], TOPIC) == "survey" and paper_kind(cards()[10], TOPIC) == "benchmark"
    # About surveys, not a survey; a benchmark used, not made.
    assert paper_kind(card("g", "Literature Review Generation with Agents", "We propose an agent."), TOPIC) == ""
    assert paper_kind(card("m", "FastPrune", "We propose FastPrune, evaluated on a benchmark of 9 tasks."), TOPIC) == ""
    outline = make_outline(cards(), None, TOPIC, None)
    by_name = {t.name: set(t.keys) for t in outline.themes}
    assert by_name["Surveys and overviews"] == {"surveyA", "surveyB"}
    assert by_name["Benchmarks and evaluation"] == {"benchA", "benchB"}
    methods = [t for t in outline.themes if t.named_by != "kind"]
    assert {frozenset(t.keys) for t in methods} == {frozenset(f"prune{i}" for i in range(4)),
                                                     frozenset(f"merge{i}" for i in range(4))}


def test_outline_is_deterministic_and_order_free() -> None:
    first = make_outline(cards(), None, TOPIC, None)
    again = make_outline(cards(), None, TOPIC, None)
    shuffled = make_outline(list(reversed(cards())), None, TOPIC, None)
    assert first == again
    assert sorted((t.name, tuple(t.keys)) for t in first.themes) == sorted((t.name, tuple(t.keys)) for t in shuffled.themes)


def test_big_sections_of_big_sets_get_subsections() -> None:
    many = [card(f"p{i}", f"Attention pruning variant {i}", f"We prune tokens by attention scores ({i}).") for i in range(32)]
    many += [card(f"m{i}", f"Token merging variant {i}", f"We merge tokens by feature similarity ({i}).") for i in range(32)]
    outline = make_outline(many, None, TOPIC, None)
    assert sorted(k for t in outline.themes for k in t.keys) == sorted(c.key for c in many)
    subsections = [t for t in outline.themes if t.parent]
    assert subsections and all(t.name.startswith(t.parent + ": ") for t in subsections)
    assert len({t.name for t in outline.themes}) == len(outline.themes)


def test_a_name_is_grounded_when_its_words_are_in_most_papers() -> None:
    from agent.survey.naming import grounded

    texts = [f"paper {i} " + ("detects " if i < 6 else "") + ("hallucinated citations" if i < 4 else "fake references")
             for i in range(9)]
    assert grounded("Hallucination detection", texts, "survey writing")  # 4/9 and 6/9: on average over half
    assert not grounded("Hallucination reviews", texts, "survey writing")  # "reviews" is in none
    assert not grounded("Citation detection", texts[4:] + texts[:1], "survey writing")  # "citation": 1 of 6


def test_subsections_are_numbered_under_their_section() -> None:
    from agent.survey.models import numbering

    assert numbering(["", "Video", "Video", "", "Audio", ""]) == ["1", "2.1", "2.2", "3", "4.1", "5"]
    assert numbering(["A", "B"]) == ["1.1", "2.1"]
