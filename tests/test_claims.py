"""Splitting Markdown into claims with the papers each one cites."""

from __future__ import annotations

import pytest

from agent.check.claims import Claim, split_claims


def only(markdown: str, known_keys: set[str] | None = None) -> Claim:
    claims = split_claims(markdown, known_keys).claims
    assert len(claims) == 1, claims
    return claims[0]


def test_single_pandoc_citation() -> None:
    claim = only("InfiniBench evaluates hour-long videos [@infinibench].")
    assert claim.keys == ["infinibench"]
    assert claim.text == "InfiniBench evaluates hour-long videos."
    assert claim.source == "InfiniBench evaluates hour-long videos [@infinibench]."
    assert claim.unknown == [] and claim.line == 1 and claim.section == ""


@pytest.mark.parametrize("group", ["[@a; @b]", "[@a, @b]", "[@a; @b; @a]", "[@a][@b]", "[see @a, p. 3; @b]"])
def test_several_keys_in_order_without_duplicates(group: str) -> None:
    claim = only(f"Long context helps retrieval {group}.")
    assert claim.keys == ["a", "b"]
    assert claim.text == "Long context helps retrieval."


def test_citation_after_the_period_belongs_to_that_sentence() -> None:
    claims = split_claims("Models forget early frames. [@a] Memory banks fix this. [@b]").claims
    assert [(c.text, c.keys) for c in claims] == [("Models forget early frames.", ["a"]), ("Memory banks fix this.", ["b"])]


def test_citation_glued_to_the_period() -> None:
    claims = split_claims("Models forget early frames.[@a] Memory banks fix this.").claims
    assert [c.keys for c in claims] == [["a"], []]


def test_leading_citation_belongs_to_its_own_sentence() -> None:
    claims = split_claims("Video models are costly to run. [@a] shows that pruning tokens halves the cost.").claims
    assert [c.keys for c in claims] == [[], ["a"]]
    assert claims[1].text == "Pruning tokens halves the cost."  # judged on the finding
    first = only("[@b] shows that pruning tokens halves the cost.")
    assert first.keys == ["b"]


def test_according_to_leaves_no_dangling_comma() -> None:
    assert only("According to [@a], models hallucinate objects often.").text == "models hallucinate objects often."


NUMERIC = """# Results

Token pruning halves the cost [1]. Memory banks help [2, 3]. Benchmarks disagree [1-3].
Longer clips hurt accuracy [3][2]. En dashes work as ranges [1–2].

## References

1. Smith et al. Token pruning. @smith2024
[2] Jones. *Memory Banks for Video*. 2023.
- [3] [@kim2022] Kim. A benchmark.
"""


def test_numeric_citations_resolve_through_the_reference_list() -> None:
    doc = split_claims(NUMERIC)
    assert doc.references == {"1": "smith2024", "2": "Jones. Memory Banks for Video. 2023.", "3": "kim2022"}
    keys = [c.keys for c in doc.claims]
    title = "Jones. Memory Banks for Video. 2023."
    assert keys == [["smith2024"], [title, "kim2022"], ["smith2024", title, "kim2022"], ["kim2022", title], ["smith2024", title]]
    assert all(c.unknown == [] for c in doc.claims)
    assert doc.claims[2].text == "Benchmarks disagree."


def test_reference_list_entries_are_not_claims() -> None:
    texts = [c.text for c in split_claims(NUMERIC).claims]
    assert not any("Kim" in t or "Jones" in t or "Smith" in t for t in texts)


def test_numeric_label_without_an_entry_is_unknown() -> None:
    claim = only("Pruning halves the cost [1, 7].\n\n## Bibliography\n\n1. @smith2024\n")
    assert claim.keys == ["smith2024"]
    assert claim.unknown == ["7"]


def test_numeric_citations_without_any_reference_list_are_unknown() -> None:
    assert only("Pruning halves the cost [4-5].").unknown == ["4", "5"]


def test_known_keys_filter_and_respell() -> None:
    claim = only("Pruning halves the cost [@InfiniBench; @ghost2099].", known_keys={"infinibench"})
    assert claim.keys == ["infinibench"]
    assert claim.unknown == ["ghost2099"]


def test_known_keys_report_unresolved_titles_as_unknown() -> None:
    claim = only("Memory banks help [2].\n\n# Works Cited\n\n[2] Jones. Memory Banks.\n", known_keys={"smith2024"})
    assert claim.keys == []
    assert claim.unknown == ["Jones. Memory Banks."]


def test_line_numbers_across_a_paragraph_and_after_headings() -> None:
    markdown = "# Intro\n\nFirst claim spans\ntwo lines here [@a]. Second claim starts\non line four [@b].\n\n## Method\nThird claim sits on line eight [@c].\n"
    claims = split_claims(markdown).claims
    assert [(c.line, c.section) for c in claims] == [(3, "Intro"), (4, "Intro"), (8, "Method")]
    assert claims[0].source == "First claim spans\ntwo lines here [@a]."
    assert claims[0].text == "First claim spans two lines here."


def test_section_is_the_nearest_heading_with_markup_removed() -> None:
    markdown = "Opening claims come before any heading.\n\n## 2. *Long* video {#sec:long}\n\nLong videos need memory [@a].\n\nSetext Title\n------------\nSetext sections count too [@b].\n"
    assert [c.section for c in split_claims(markdown).claims] == ["", "2. Long video", "Setext Title"]


def test_non_claims_are_skipped() -> None:
    markdown = """---
title: A survey of long video models
---
# Heading that is long enough to be a claim

<!-- a comment that is long enough
to be a claim if it were text -->
```python
print("code that is long enough to be a claim.")
```

| Model | Context length in frames |
|-------|--------------------------|

---

The only real claim is here [@a].

### References

1. Something @a
"""
    claim = only(markdown)
    assert claim.text == "The only real claim is here."
    assert claim.line == 17


@pytest.mark.parametrize(
    "sentence",
    [
        "Smith et al. report gains on many benchmarks [@a].",
        "Several tasks, e.g. Counting, remain hard for models [@a].",
        "The effect is shown in Fig. 3 for every model [@a].",
        "GPT-3.5 scores 3.5 points lower than GPT-4 [@a].",
        "Dense models vs. Sparse ones differ in cost [@a].",
        "Details are in Sec. 4 of the paper [@a].",
    ],
)
def test_abbreviations_and_decimals_do_not_split(sentence: str) -> None:
    assert only(sentence).source == sentence


def test_list_items_are_claims_without_their_markers() -> None:
    markdown = "Findings:\n\n- Pruning halves the cost [@a].\n* Memory banks help a lot\n  across long clips [@b].\n1. Benchmarks disagree widely [@c].\n- [x] Checked items count too.\n"
    claims = split_claims(markdown).claims
    assert [(c.text, c.keys, c.line) for c in claims] == [
        ("Pruning halves the cost.", ["a"], 3),
        ("Memory banks help a lot across long clips.", ["b"], 4),
        ("Benchmarks disagree widely.", ["c"], 6),
        ("Checked items count too.", [], 7),
    ]


def test_uncited_sentences_are_kept_unless_short_questions_or_list_intros() -> None:
    markdown = "Video models remain expensive to run. Why is that? Very true. The main reasons are:\n"
    claims = split_claims(markdown).claims
    assert [(c.text, c.keys) for c in claims] == [("Video models remain expensive to run.", [])]


def test_uncited_sentences_about_the_document_itself_are_not_claims() -> None:
    """A survey's own scope and structure ("This survey ...", "Section 2 ...") cite nothing and claim nothing
    about a paper; cited, such a sentence is judged like any other."""
    markdown = ("This survey covers 12 papers on token pruning, published 2021–2024. Section 2 covers *Pruning* "
                "(4 papers); Section 3 covers *Merging* (8 papers). Sections 2–3 group them by method. "
                "This section compares their costs. Pruning halves the cost. This survey shows pruning works [@a].\n")
    claims = split_claims(markdown).claims
    assert [(c.text, c.keys) for c in claims] == [("Pruning halves the cost.", []),
                                                  ("This survey shows pruning works.", ["a"])]


def test_short_cited_sentence_is_kept() -> None:
    assert only("See also [@a].").keys == ["a"]


def test_emphasis_code_and_links_are_reduced_to_text() -> None:
    claim = only("**InfiniBench** uses *hour-long* `mp4` clips from [the site](https://x.org/a_(b)) and _TV_ shows [@a].")
    assert claim.text == "InfiniBench uses hour-long mp4 clips from the site and TV shows."
    assert only("The snake_case name stays_intact in text [@a].").text == "The snake_case name stays_intact in text."


def test_link_with_a_number_is_not_a_numeric_citation() -> None:
    claim = only("Results are on the [1](https://x.org) leaderboard page.")
    assert claim.keys == [] and claim.unknown == []
    assert claim.text == "Results are on the 1 leaderboard page."


def test_table_rows_are_claims_but_header_and_separator_are_not() -> None:
    markdown = "| Model | Frames |\n|---|---|\n| LongVA handles many frames | 2000 [@longva] |\n"
    claim = only(markdown)
    assert claim.keys == ["longva"] and claim.line == 3
    assert claim.text == "LongVA handles many frames; 2000"


def test_references_named_on_a_bold_line_end_the_claims() -> None:
    doc = split_claims("Pruning halves the cost [1].\n\n**References:**\n[1] Smith. Token Pruning.\n")
    assert doc.references == {"1": "Smith. Token Pruning."}
    assert [c.keys for c in doc.claims] == [["Smith. Token Pruning."]]


def test_blockquote_markers_are_stripped() -> None:
    claim = only("> Quoted models forget early frames [@a].")
    assert claim.text == "Quoted models forget early frames." and claim.keys == ["a"]


def test_citation_syntax_inside_inline_code_is_not_a_citation() -> None:
    claim = only("Write citations as `[@key]` or `[1]` in every answer.")
    assert claim.keys == [] and claim.unknown == []
    assert claim.text == "Write citations as [@key] or [1] in every answer."


def test_space_before_a_dotted_word_is_kept() -> None:
    assert only("Settings are read from a `.env` file [@a].").text == "Settings are read from a .env file."


def test_leading_citation_with_reporting_verb_is_judged_on_the_finding() -> None:
    doc = split_claims("[@tiktalk] mentions that TikTalk has 38,703 dialogues. [@b] proposes a benchmark for video.\n\n"
                       "- [@c] found that the drug works.\n\nThe survey shows that [@d] is fast.")
    assert [(c.text, c.keys) for c in doc.claims] == [
        ("TikTalk has 38,703 dialogues.", ["tiktalk"]),
        ("proposes a benchmark for video.", ["b"]),  # no "that": the verb is the claim's predicate
        ("The drug works.", ["c"]),
        ("The survey shows that is fast.", ["d"]),  # not leading: left as written
    ]


def test_a_cited_full_stop_ends_a_sentence_before_a_lower_case_name() -> None:
    """"... [@u]. m3P proposes ..." is two claims: names such as m3P, iPhone or word2vec start lower-case."""
    from agent.check.claims import cited_sentences

    found = cited_sentences("A unified model uses curriculum learning [@u]. m3P proposes a prompt framework [@m].")
    assert [(s.text, s.keys) for s in found] == [
        ("A unified model uses curriculum learning [@u].", ["u"]),
        ("m3P proposes a prompt framework [@m].", ["m"]),
    ]
