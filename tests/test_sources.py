"""Source parsing (listing pages, JSONL, BibTeX, PDF), citation keys and chunking.

Every fixture is a real file written into pytest's tmp_path (or the bundled sample corpus) and goes
through the public entry `agent.sources.parse_file`.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from pathlib import Path

import pytest

import agent
from agent.core.paper import Paper
from agent.sources import Parsed, SourceError, parse_file
from agent.store.chunking import chunk_paper
from agent.store.keys import VALID_KEY, assign_key, base_key

SAMPLE_DIR = Path(agent.__file__).resolve().parent / "data" / "sample"
ARXIV_DUMP = Path(__file__).resolve().parents[2] / "shared" / "data" / "arxiv-75k.jsonl.gz"


def _parse(path: Path, fmt: str | None = None) -> Parsed:
    return parse_file(path, path.read_bytes(), fmt)


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


# ---------------------------------------------------------------------------------------------
# 1. Listing pages
# ---------------------------------------------------------------------------------------------

SAMPLE_COUNTS = {
    "000_8a34393494afa678.txt": 91,
    "001_5103593e110b87cd.txt": 86,
    "002_7a44af2fa3d20944.txt": 176,
}
CHROME = {
    "subscribe",
    "daily papers",
    "new",
    "sep 23",
    "byak and the research community",
    "get trending papers in your email inbox!",
    "get trending papers in your email inbox once a day!",
}


def _sample(name: str) -> Parsed:
    return _parse(SAMPLE_DIR / name)


def test_sample_corpus_is_bundled():
    assert sorted(p.name for p in SAMPLE_DIR.glob("*.txt")) == sorted(SAMPLE_COUNTS)


@pytest.mark.parametrize("name,count", sorted(SAMPLE_COUNTS.items()))
def test_sample_listing_paper_counts(name, count):
    parsed = _sample(name)
    assert len(parsed.papers) == count
    assert parsed.rejected == []
    for paper in parsed.papers:
        assert paper.format == "listing"
        assert paper.source == str(SAMPLE_DIR / name)
        assert paper.sources == [str(SAMPLE_DIR / name)]
        assert paper.title and paper.abstract


@pytest.mark.parametrize("name", sorted(SAMPLE_COUNTS))
def test_sample_listing_titles_and_abstracts_are_lines_of_the_page(name):
    lines = {line.strip() for line in (SAMPLE_DIR / name).read_text(encoding="utf-8").splitlines()}
    for paper in _sample(name).papers:
        assert paper.abstract in lines, paper.title
        assert paper.title in lines or "Subscribe" + paper.title in lines, paper.title


@pytest.mark.parametrize("name", sorted(SAMPLE_COUNTS))
def test_sample_listing_page_chrome_is_not_a_paper(name):
    for paper in _sample(name).papers:
        title = paper.title.lower()
        assert title not in CHROME, paper.title
        assert not title.startswith(("subscribe", "daily papers", "get trending papers")), paper.title


def test_back_to_back_layout_strips_glued_subscribe_prefix():
    raw = (SAMPLE_DIR / "002_7a44af2fa3d20944.txt").read_text(encoding="utf-8")
    assert "SubscribeABC: Achieving Better Control" in raw  # the fixture really has the glued prefix
    papers = _sample("002_7a44af2fa3d20944.txt").papers
    assert papers[0].title == "ABC: Achieving Better Control of Multimodal Embeddings using VLMs"
    assert papers[0].abstract.startswith("Visual embedding models excel at zero-shot tasks")


def test_first_paper_of_sample_000():
    first = _sample("000_8a34393494afa678.txt").papers[0]
    assert first.title == (
        "InfiniBench: A Comprehensive Benchmark for Large Multimodal Models in Very Long Video Understanding"
    )
    assert first.abstract.startswith("Understanding long videos")
    assert first.abstract_truncated is False


def test_truncated_abstract_is_flagged_only_for_lingshu():
    raw_lines = (SAMPLE_DIR / "000_8a34393494afa678.txt").read_text(encoding="utf-8").splitlines()
    assert sum(line.rstrip().endswith(("...", "…")) for line in raw_lines) == 1
    papers = _sample("000_8a34393494afa678.txt").papers
    truncated = [p for p in papers if p.abstract_truncated]
    assert len(truncated) == 1
    assert truncated[0].title.startswith("Lingshu: A Generalist Foundation Model")
    assert truncated[0].abstract.endswith("...")
    assert all(not p.abstract.endswith("...") for p in papers if not p.abstract_truncated)
    for name in ("001_5103593e110b87cd.txt", "002_7a44af2fa3d20944.txt"):
        assert not any(p.abstract_truncated for p in _sample(name).papers)


ABS_ALPHA = (
    "We introduce Alpha, a small benchmark for checking that listing pages are parsed correctly. It has "
    "forty questions, each paired with a short passage, and we report the accuracy of three baseline "
    "readers on it together with an analysis of their most frequent errors."
)
ABS_BETA = (
    "Beta networks route every token through one of several narrow experts and then merge the results. "
    "We show that this keeps accuracy on long inputs while halving memory use, and we release the code "
    "and the trained weights for all model sizes."
)
ABS_GAMMA_1 = (
    "Gamma studies how retrieval changes the answers of a language model when the retrieved passages "
    "disagree with each other, and it proposes a simple voting rule that picks the passage supported by "
    "most of the others before the model writes its answer."
)
ABS_GAMMA_2 = (
    "In a second set of experiments we show that the voting rule also helps when half of the passages "
    "are deliberately corrupted, and that its cost is a single extra forward pass of a small encoder "
    "over the candidate passages."
)


def test_hand_written_listing_both_layouts_give_same_papers(tmp_path):
    blank = "\n".join(
        [
            "Daily Papers",
            "",
            "Alpha: A Benchmark for Listing Parsers",
            "",
            ABS_ALPHA,
            "",
            "Beta Networks for Long Inputs",
            "",
            ABS_BETA,
            "",
        ]
    )
    back_to_back = "\n".join(
        [
            "Get trending papers in your email inbox!",
            "SubscribeAlpha: A Benchmark for Listing Parsers",
            ABS_ALPHA,
            "Beta Networks for Long Inputs",
            ABS_BETA,
        ]
    )
    first = _parse(_write(tmp_path, "blank.txt", blank))
    second = _parse(_write(tmp_path, "back.txt", back_to_back))
    expected = [
        ("Alpha: A Benchmark for Listing Parsers", ABS_ALPHA),
        ("Beta Networks for Long Inputs", ABS_BETA),
    ]
    assert [(p.title, p.abstract) for p in first.papers] == expected
    assert [(p.title, p.abstract) for p in second.papers] == expected
    assert first.rejected == [] and second.rejected == []
    assert all(p.format == "listing" for p in first.papers + second.papers)


def test_listing_title_without_abstract_is_rejected_with_line_number(tmp_path):
    text = "\n".join(
        [
            "Alpha: A Benchmark for Listing Parsers",  # 1
            "",  # 2
            ABS_ALPHA,  # 3
            "",  # 4
            "An Orphan Title With No Abstract",  # 5
            "",  # 6
            "Beta Networks for Long Inputs",  # 7
            "",  # 8
            ABS_BETA,  # 9
            "",  # 10
            "A Trailing Title At The End",  # 11
        ]
    )
    path = _write(tmp_path, "orphans.txt", text)
    parsed = _parse(path)
    assert [p.title for p in parsed.papers] == ["Alpha: A Benchmark for Listing Parsers", "Beta Networks for Long Inputs"]
    assert [r.line for r in parsed.rejected] == [5, 11]
    assert "An Orphan Title" in parsed.rejected[0].reason
    assert "without an abstract" in parsed.rejected[0].reason
    assert str(parsed.rejected[0]).startswith(f"{path}:5: ")


def test_listing_back_to_back_orphan_title_line_number(tmp_path):
    text = "\n".join(["Alpha: A Benchmark for Listing Parsers", ABS_ALPHA, "Lonely Title", "Beta Networks for Long Inputs", ABS_BETA])
    parsed = _parse(_write(tmp_path, "orphan_back.txt", text))
    assert [p.title for p in parsed.papers] == ["Alpha: A Benchmark for Listing Parsers", "Beta Networks for Long Inputs"]
    assert [(r.line, "Lonely Title" in r.reason) for r in parsed.rejected] == [(3, True)]


def test_listing_multi_paragraph_abstract_is_joined(tmp_path):
    text = "\n".join(
        ["Gamma: Voting Over Retrieved Passages", "", ABS_GAMMA_1, "", ABS_GAMMA_2, "", "Beta Networks for Long Inputs", "", ABS_BETA]
    )
    parsed = _parse(_write(tmp_path, "multi.txt", text))
    assert [p.title for p in parsed.papers] == ["Gamma: Voting Over Retrieved Passages", "Beta Networks for Long Inputs"]
    assert parsed.papers[0].abstract == f"{ABS_GAMMA_1} {ABS_GAMMA_2}"
    assert parsed.papers[1].abstract == ABS_BETA
    assert parsed.rejected == []


# ---------------------------------------------------------------------------------------------
# 2. JSONL
# ---------------------------------------------------------------------------------------------

ARXIV_RECORD = {
    "id": "2401.01234v2",
    "title": "Sparse Attention\n  for Very Long Documents",
    "summary": "We present an efficient approach\nfor reading long documents with\n  sparse attention.\n",
    "authors": ["Ada Lovelace", "Alan Turing"],
    "categories": ["cs.CL", "cs.LG"],
}
ALT_RECORD = {
    "title": "Dense Retrieval Revisited",
    "abstract": "We revisit dense retrieval for open-domain question answering.",
    "year": 2019,
    "doi": "https://doi.org/10.1000/ABC.123",
    "url": "https://example.org/dense",
    "categories": "cs.IR cs.CL",
    "authors": ["Grace Hopper"],
}


def test_jsonl_arxiv_fields(tmp_path):
    path = _write(tmp_path, "papers.jsonl", json.dumps(ARXIV_RECORD) + "\n")
    parsed = _parse(path)
    assert parsed.rejected == []
    [paper] = parsed.papers
    assert paper.title == "Sparse Attention for Very Long Documents"
    assert paper.abstract == "We present an efficient approach for reading long documents with sparse attention."
    assert paper.authors == ["Ada Lovelace", "Alan Turing"]
    assert paper.categories == ["cs.CL", "cs.LG"]
    assert paper.arxiv_id == "2401.01234"
    assert paper.year == 2024  # from the id: no year field
    assert paper.url == "https://arxiv.org/abs/2401.01234"
    assert paper.doi is None
    assert paper.format == "jsonl" and paper.source == str(path)
    assert paper.abstract_truncated is False


def test_jsonl_alternate_field_names(tmp_path):
    parsed = _parse(_write(tmp_path, "alt.jsonl", json.dumps(ALT_RECORD) + "\n"))
    [paper] = parsed.papers
    assert paper.title == "Dense Retrieval Revisited"
    assert paper.abstract == "We revisit dense retrieval for open-domain question answering."
    assert paper.year == 2019
    assert paper.doi == "10.1000/abc.123"
    assert paper.url == "https://example.org/dense"
    assert paper.categories == ["cs.IR", "cs.CL"]
    assert paper.arxiv_id is None
    assert paper.authors == ["Grace Hopper"]


def test_jsonl_year_field_wins_over_id(tmp_path):
    record = dict(ARXIV_RECORD, year="2025")
    [paper] = _parse(_write(tmp_path, "y.jsonl", json.dumps(record))).papers
    assert paper.year == 2025


def test_jsonl_gz(tmp_path):
    text = json.dumps(ARXIV_RECORD) + "\n" + json.dumps(ALT_RECORD) + "\n"
    path = _write(tmp_path, "papers.jsonl.gz", gzip.compress(text.encode("utf-8")))
    parsed = _parse(path)
    assert [p.title for p in parsed.papers] == ["Sparse Attention for Very Long Documents", "Dense Retrieval Revisited"]
    assert parsed.papers[0].arxiv_id == "2401.01234"
    assert all(p.format == "jsonl" for p in parsed.papers)


def test_jsonl_gz_detected_by_content_without_extension(tmp_path):
    path = _write(tmp_path, "download.bin", gzip.compress((json.dumps(ALT_RECORD) + "\n").encode()))
    parsed = _parse(path)
    assert [p.title for p in parsed.papers] == ["Dense Retrieval Revisited"]


def test_jsonl_bad_line_rejected_good_lines_kept(tmp_path):
    lines = [
        json.dumps(ARXIV_RECORD),  # 1
        "",  # 2 (blank lines are skipped, but still counted)
        '{"title": "Broken", "abstract": ',  # 3
        json.dumps(ALT_RECORD),  # 4
        json.dumps({"abstract": "A record that has no title at all."}),  # 5
    ]
    path = _write(tmp_path, "mixed.jsonl", "\n".join(lines) + "\n")
    parsed = _parse(path)
    assert [p.title for p in parsed.papers] == ["Sparse Attention for Very Long Documents", "Dense Retrieval Revisited"]
    assert [r.line for r in parsed.rejected] == [3, 5]
    assert "invalid JSON" in parsed.rejected[0].reason
    assert "title" in parsed.rejected[1].reason
    assert str(parsed.rejected[0]).startswith(f"{path}:3: ")


def test_jsonl_record_without_title_names_the_field(tmp_path):
    parsed = _parse(_write(tmp_path, "notitle.jsonl", json.dumps({"id": "2401.00001", "summary": "Text."}) + "\n"))
    assert parsed.papers == []
    assert len(parsed.rejected) == 1
    assert parsed.rejected[0].reason == "missing field 'title'"
    assert parsed.rejected[0].line == 1


def test_plain_json_array_is_accepted(tmp_path):
    path = _write(tmp_path, "papers.json", json.dumps([ARXIV_RECORD, ALT_RECORD], indent=2))
    parsed = _parse(path)
    assert [p.title for p in parsed.papers] == ["Sparse Attention for Very Long Documents", "Dense Retrieval Revisited"]
    assert parsed.papers[0].arxiv_id == "2401.01234"
    assert parsed.rejected == []


def test_jsonl_non_string_title_rejects_only_that_line(tmp_path):
    """BUG: a record whose title is not a string crashes the whole file with TypeError."""
    lines = [json.dumps(ARXIV_RECORD), json.dumps({"title": {"en": "Nested title"}, "abstract": "x"}), json.dumps(ALT_RECORD)]
    parsed = _parse(_write(tmp_path, "odd.jsonl", "\n".join(lines) + "\n"))
    assert [p.title for p in parsed.papers] == ["Sparse Attention for Very Long Documents", "Dense Retrieval Revisited"]
    assert [r.line for r in parsed.rejected] == [2]


def test_jsonl_null_author_is_not_an_author_named_none(tmp_path):
    """BUG: a null in an authors list becomes an author literally named "None"."""
    record = {"title": "A Paper", "abstract": "Text.", "authors": ["Ada Lovelace", None]}
    [paper] = _parse(_write(tmp_path, "nullauthor.jsonl", json.dumps(record) + "\n")).papers
    assert paper.authors == ["Ada Lovelace"]


def test_jsonl_real_arxiv_records(tmp_path):
    if not ARXIV_DUMP.exists():
        pytest.skip(f"real arXiv dump not present at {ARXIV_DUMP}")
    with gzip.open(ARXIV_DUMP, "rt", encoding="utf-8") as handle:
        raw = [next(handle) for _ in range(5)]
    records = [json.loads(line) for line in raw]
    path = _write(tmp_path, "real.jsonl.gz", gzip.compress("".join(raw).encode("utf-8")))
    parsed = _parse(path)
    assert parsed.rejected == []
    assert len(parsed.papers) == 5
    for record, paper in zip(records, parsed.papers):
        assert paper.title == " ".join(record["title"].split())
        assert "\n" not in paper.abstract and "  " not in paper.abstract
        assert paper.abstract == " ".join(record["summary"].split())
        assert paper.authors == record["authors"]
        assert re.fullmatch(r"\d{4}\.\d{4,5}", record["id"]), record["id"]  # new-style ids, no version
        assert paper.arxiv_id == record["id"]
        assert paper.year == 2000 + int(record["id"][:2])  # no year field in the dump: from the id
        assert "year" not in record
        assert paper.categories == record["categories"]


# ---------------------------------------------------------------------------------------------
# 3. BibTeX
# ---------------------------------------------------------------------------------------------

BIB = r"""@string{nips = "Advances in Neural Information Processing Systems"}
@comment{Exported by hand for the tests.}

@article{vaswani2017attention,
  title = {Attention Is All You Need},
  author = {Vaswani, Ashish and M{\"u}ller, Klaus},
  year = {2017},
  journal = {Journal of Attention Studies},
  doi = {https://doi.org/10.5555/Attention.2017},
  eprint = {1706.03762v5},
  archivePrefix = {arXiv},
  abstract = {The dominant sequence transduction models are based on complex recurrent networks.}
}

@inproceedings{broken2020,
  title = {A Broken Entry,
  author = {Nobody, Some},
  year = 2020

@inproceedings{notitle2021,
  author = {Doe, Jane},
  year = {2021}
}

@inproceedings{devlin2019bert,
  title = {{BERT}: Pre-training of Deep Bidirectional Transformers},
  author = {Devlin, Jacob and Chang, Ming-Wei},
  booktitle = nips,
  year = {2019}
}
"""


def test_bibtex_entry_fields(tmp_path):
    path = _write(tmp_path, "refs.bib", BIB)
    parsed = _parse(path)
    paper = next(p for p in parsed.papers if p.key == "vaswani2017attention")
    assert paper.title == "Attention Is All You Need"
    assert paper.authors == ["Ashish Vaswani", "Klaus Müller"]
    assert paper.year == 2017
    assert paper.venue == "Journal of Attention Studies"
    assert paper.doi == "10.5555/attention.2017"
    assert paper.arxiv_id == "1706.03762"
    assert paper.abstract == "The dominant sequence transduction models are based on complex recurrent networks."
    assert paper.format == "bibtex" and paper.source == str(path)


def test_bibtex_braces_and_string_macros(tmp_path):
    parsed = _parse(_write(tmp_path, "refs.bib", BIB))
    bert = next(p for p in parsed.papers if p.key == "devlin2019bert")
    assert bert.title == "BERT: Pre-training of Deep Bidirectional Transformers"
    assert bert.authors == ["Jacob Devlin", "Ming-Wei Chang"]
    assert bert.venue == "Advances in Neural Information Processing Systems"


def test_bibtex_malformed_and_titleless_entries_rejected_others_parse(tmp_path):
    parsed = _parse(_write(tmp_path, "refs.bib", BIB))
    # @string and @comment are not papers; the broken and the title-less entries are rejected
    assert sorted(p.key for p in parsed.papers) == ["devlin2019bert", "vaswani2017attention"]
    assert [r.line for r in parsed.rejected] == [15, 20]
    assert "malformed" in parsed.rejected[0].reason
    assert "notitle2021" in parsed.rejected[1].reason and "no title" in parsed.rejected[1].reason


def test_bibtex_detected_by_content(tmp_path):
    parsed = _parse(_write(tmp_path, "export.txt", BIB.split("@inproceedings{broken2020")[0]))
    assert [p.key for p in parsed.papers] == ["vaswani2017attention"]
    assert parsed.papers[0].format == "bibtex"


# ---------------------------------------------------------------------------------------------
# 4. PDF
# ---------------------------------------------------------------------------------------------

PDF_TITLE = "Sparse Attention for Long Documents"
PDF_ABSTRACT = (
    "We study how sparse attention patterns let transformer models read long documents. Our design keeps "
    "a small set of global tokens and a sliding window, which lowers memory use while keeping accuracy on "
    "question answering close to that of dense attention."
)
# Words that cannot start a heading line in agent.chunking, so wrapped prose never looks like one.
_VOCAB = "sparse window token memory layer budget reader span query passage encoder decoder cache stride global local block pattern length score".split()


def _prose(label: str, sentences: int, seed: int) -> str:
    rng = random.Random(seed)
    return " ".join(
        f"The {label} note {i} says " + " ".join(rng.choice(_VOCAB) for _ in range(10)) + "." for i in range(sentences)
    )


INTRO = _prose("introduction", 40, 1)
RELATED = _prose("related", 30, 2)
REFERENCES = [
    "[1] A. M. Turing. Computing machinery and intelligence. Mind, 59(236):433-460, 1950.",
    "[2] A. Lovelace. Sketch of the analytical engine. Taylor's Scientific Memoirs, 1843.",
]


def _pdf_bytes(blocks: list[str]) -> bytes:
    fpdf = pytest.importorskip("fpdf", reason="fpdf2 is needed to generate test PDFs")
    pdf = fpdf.FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    for text in blocks:
        pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _paper_pdf() -> bytes:
    return _pdf_bytes(
        [PDF_TITLE, "Ada Lovelace, Alan Turing", "Abstract", PDF_ABSTRACT, "1 Introduction", INTRO, "2 Related Work", RELATED, "References", *REFERENCES]
    )


@pytest.fixture
def pdf_paper(tmp_path) -> Paper:
    path = _write(tmp_path, "sparse.pdf", _paper_pdf())
    parsed = _parse(path)
    assert parsed.rejected == []
    [paper] = parsed.papers
    return paper


def test_pdf_metadata(pdf_paper, tmp_path):
    assert pdf_paper.title == PDF_TITLE
    assert pdf_paper.authors == ["Ada Lovelace", "Alan Turing"]
    assert pdf_paper.abstract.startswith("We study how sparse attention patterns let transformer models read long documents.")
    assert pdf_paper.abstract.endswith("close to that of dense attention.")
    assert "introduction note" not in pdf_paper.abstract
    assert "Introduction" not in pdf_paper.abstract
    assert pdf_paper.format == "pdf"
    assert pdf_paper.source == str(tmp_path / "sparse.pdf")
    assert pdf_paper.full_text is not None
    full = " ".join(pdf_paper.full_text.split())
    assert "The introduction note 39 says" in full
    assert "The related note 29 says" in full
    assert "Computing machinery and intelligence" in full


def test_pdf_detected_by_magic_bytes(tmp_path):
    parsed = _parse(_write(tmp_path, "download", _paper_pdf()))
    assert [p.title for p in parsed.papers] == [PDF_TITLE]
    assert parsed.papers[0].format == "pdf"


def _chunks(paper: Paper):
    paper.key = assign_key(paper, lambda key: False)
    return chunk_paper(paper)


def _body(chunk) -> str:
    header = f"{chunk.text.split(chr(10), 1)[0]}\n"
    assert header == f"{PDF_TITLE} — {chunk.section}\n"
    return chunk.text[len(header) :]


def test_pdf_chunks(pdf_paper):
    chunks = _chunks(pdf_paper)
    key = pdf_paper.key
    assert key and VALID_KEY.match(key)
    assert [c.kind for c in chunks[:2]] == ["title", "abstract"]
    assert chunks[0].text == PDF_TITLE
    assert PDF_TITLE in chunks[1].text and pdf_paper.abstract in chunks[1].text
    text_chunks = [c for c in chunks if c.kind == "text"]
    assert len(chunks) == 2 + len(text_chunks)
    sections = [c.section for c in text_chunks]
    assert "1 Introduction" in sections and "2 Related Work" in sections
    assert sections.count("1 Introduction") >= 2 and sections.count("2 Related Work") >= 2
    assert set(sections) == {"1 Introduction", "2 Related Work"}
    for chunk in text_chunks:
        assert "Computing machinery" not in chunk.text and "analytical engine" not in chunk.text
        assert not chunk.section.lower().startswith(("references", "abstract"))
    ids = [c.id for c in chunks]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith(key + "#") for i in ids)
    assert all(c.key == key for c in chunks)
    assert [c.ord for c in chunks] == list(range(len(chunks)))


def test_pdf_chunks_cover_every_sentence_in_their_section(pdf_paper):
    text_chunks = [c for c in _chunks(pdf_paper) if c.kind == "text"]
    for label, section, count in (("introduction", "1 Introduction", 40), ("related", "2 Related Work", 30)):
        bodies = " ".join(_body(c) for c in text_chunks if c.section == section)
        for i in range(count):
            assert f"The {label} note {i} says" in bodies, (section, i)


def test_pdf_consecutive_chunks_in_a_section_overlap(pdf_paper):
    text_chunks = [c for c in _chunks(pdf_paper) if c.kind == "text"]
    pairs = [(a, b) for a, b in zip(text_chunks, text_chunks[1:]) if a.section == b.section]
    assert len(pairs) >= 2
    for a, b in pairs:
        body_a, body_b = _body(a), _body(b)
        assert len(body_a) <= 1500
        head = body_b[:40]
        pos = body_a.rfind(head)
        assert pos != -1, (a.id, b.id)
        overlap = body_a[pos:]
        assert body_b.startswith(overlap)
        assert 100 <= len(overlap) <= 300, len(overlap)
    # a new section starts fresh: no overlap across the section boundary
    last_intro = [c for c in text_chunks if c.section == "1 Introduction"][-1]
    first_related = next(c for c in text_chunks if c.section == "2 Related Work")
    assert _body(first_related).startswith("The related note 0 says")
    assert "related note" not in _body(last_intro)


def test_pdf_numbered_references_are_not_chunked(tmp_path):
    """BUG: a numbered reference ("1. A. M. Turing. ...") is taken for a section heading.

    Its continuation line then becomes a full-text chunk, though references are meant to be dropped.
    """
    blocks = [
        PDF_TITLE,
        "Ada Lovelace, Alan Turing",
        "Abstract",
        PDF_ABSTRACT,
        "1 Introduction",
        INTRO,
        "References",
        "1. A. M. Turing. Computing machinery and",
        "intelligence. Mind, 59(236):433-460, 1950.",
        "2. A. Lovelace. Sketch of the analytical",
        "engine. Taylor's Scientific Memoirs, 1843.",
    ]
    [paper] = _parse(_write(tmp_path, "numbered.pdf", _pdf_bytes(blocks))).papers
    assert "Mind, 59(236)" in paper.full_text  # the references really are in the extracted text
    text_chunks = [c for c in _chunks(paper) if c.kind == "text"]
    assert {c.section for c in text_chunks} == {"1 Introduction"}
    for chunk in text_chunks:
        assert "Mind, 59" not in chunk.text and "Scientific Memoirs" not in chunk.text


def test_pdf_body_line_starting_with_heading_word_keeps_its_text(tmp_path):
    """BUG: a wrapped body line that begins with "references"/"abstract" is taken for a heading.

    Short lines like these are what a two-column paper extracts to; the text after such a line is
    then filed under a "references ..." section and dropped from the chunks.
    """
    blocks = [
        PDF_TITLE,
        "Ada Lovelace, Alan Turing",
        "Abstract",
        PDF_ABSTRACT,
        "1 Introduction",
        "Long documents are hard to read for models whose",
        "memory grows with the input; all the cross",
        "references to earlier parts of the input",
        "must be kept in a cache that grows without bound.",
        "We bound the cache by keeping only global tokens.",
        "2 Related Work",
        RELATED,
    ]
    [paper] = _parse(_write(tmp_path, "column.pdf", _pdf_bytes(blocks))).papers
    text_chunks = [c for c in _chunks(paper) if c.kind == "text"]
    intro = " ".join(_body(c) for c in text_chunks if c.section == "1 Introduction")
    assert "Long documents are hard to read" in intro
    assert "grows without bound" in intro
    assert "keeping only global tokens" in intro


def test_truncated_pdf_raises_readable_source_error(tmp_path):
    path = _write(tmp_path, "cut.pdf", _paper_pdf()[:200])
    with pytest.raises(SourceError) as info:
        _parse(path)
    message = str(info.value)
    assert "PDF" in message and "unreadable" in message
    assert "Traceback" not in message and len(message) < 300


def test_text_with_nul_bytes_raises_binary_source_error(tmp_path):
    path = _write(tmp_path, "weird.txt", b"Title line\n\x00\x01\x02 some binary junk\x00\n" * 10)
    with pytest.raises(SourceError, match="binary"):
        _parse(path)


@pytest.mark.parametrize("content", [b"", b"  \n\n\t\n"])
def test_empty_file_raises_source_error(tmp_path, content):
    path = _write(tmp_path, "empty.txt", content)
    with pytest.raises(SourceError, match="empty"):
        _parse(path)


def test_corrupt_gzip_raises_source_error(tmp_path):
    path = _write(tmp_path, "cut.jsonl.gz", gzip.compress(b'{"title": "x"}\n' * 200)[:30])
    with pytest.raises(SourceError, match="gzip"):
        _parse(path)


# ---------------------------------------------------------------------------------------------
# 5. Keys
# ---------------------------------------------------------------------------------------------


def test_base_key_lastname_year_word():
    paper = Paper(title="Attention Is All You Need", authors=["Klaus Müller", "Ada Lovelace"], year=2024)
    assert base_key(paper) == "muller2024attention"


def test_base_key_skips_stop_words_and_reads_comma_names():
    paper = Paper(title="The Power of Scale", authors=["Müller, Klaus"], year=2021)
    assert base_key(paper) == "muller2021power"


def test_base_key_short_name_before_colon():
    assert base_key(Paper(title="InfiniBench: A Comprehensive Benchmark for Large Multimodal Models")) == "InfiniBench"
    assert base_key(Paper(title="mPLUG-Owl: Modularization Empowers Large Language Models with Multimodality")) == "mPLUG-Owl"


def test_base_key_camel_case_without_colon():
    assert base_key(Paper(title="A Review of Multi-Modal Large Language and Vision Models")) == "ReviewMultiModal"
    assert base_key(Paper(title="Multimodal Deep Learning")) == "MultimodalDeepLearning"


def test_assign_key_suffixes():
    paper = Paper(title="Attention Is All You Need", authors=["Ashish Vaswani"], year=2017)
    taken: set[str] = set()
    keys = []
    for _ in range(3):
        key = assign_key(paper, taken.__contains__)
        taken.add(key)
        keys.append(key)
    assert keys == ["vaswani2017attention", "vaswani2017attention-2", "vaswani2017attention-3"]


def test_sample_corpus_keys_are_valid_and_unique():
    taken: set[str] = set()
    total = 0
    for name in sorted(SAMPLE_COUNTS):
        for paper in _sample(name).papers:
            key = assign_key(paper, taken.__contains__)
            assert VALID_KEY.match(key), (key, paper.title)
            assert key not in taken
            taken.add(key)
            total += 1
    assert total == sum(SAMPLE_COUNTS.values()) == len(taken)
    assert "InfiniBench" in taken and "mPLUG-Owl" in taken


def test_bibtex_key_is_kept(tmp_path):
    parsed = _parse(_write(tmp_path, "refs.bib", BIB))
    paper = next(p for p in parsed.papers if p.key == "vaswani2017attention")
    assert base_key(paper) == "vaswani2017attention"
    assert assign_key(paper, lambda key: False) == "vaswani2017attention"
    assert assign_key(paper, {"vaswani2017attention"}.__contains__) == "vaswani2017attention-2"


# ---------------------------------------------------------------------------------------------
# 6. One bad record never costs the others (issue 11): each case seen in the field, reproduced
# ---------------------------------------------------------------------------------------------

GOOD_LINE = json.dumps({"title": "A Good Record", "summary": "An abstract that is fine."})


@pytest.mark.parametrize(
    "bad,kept",
    [
        ('{"title": "Numeric DOI", "doi": 12345}', True),  # was AttributeError in normalize_doi
        ('{"title": "Empty Author Pair", "authors": [[]]}', True),  # was IndexError in _authors
        ('{"title": "Surrogate \\ud800 Title"}', True),  # was UnicodeEncodeError later, in catalog.put
        ("[" * 10_000 + "]" * 10_000, False),  # was RecursionError
        ('{"title": "Authors As Object", "authors": {"a": 1}}', False),
        ('{"n": ' + "9" * 5000 + "}", False),  # an integer json.loads refuses to convert
    ],
)
def test_jsonl_seen_crashes_cost_only_their_line(tmp_path, bad, kept):
    path = _write(tmp_path, "seen.jsonl", "\n".join([GOOD_LINE, bad, GOOD_LINE.replace("Good", "Second")]) + "\n")
    parsed = _parse(path)
    titles = [p.title for p in parsed.papers]
    assert titles[0] == "A Good Record" and titles[-1] == "A Second Record"
    assert len(titles) == (3 if kept else 2)
    assert [r.line for r in parsed.rejected] == ([] if kept else [2])
    for paper in parsed.papers:
        paper.title.encode("utf-8")  # storable: the lone surrogate is gone


def test_jsonl_surrogate_title_is_stored_without_it(tmp_path):
    [paper] = _parse(_write(tmp_path, "s.jsonl", '{"title": "Lone \\ud800 Surrogate", "abstract": "x\\udfff y"}\n')).papers
    assert paper.title == "Lone Surrogate" and paper.abstract == "x y"


def test_jsonl_line_in_another_encoding_costs_only_its_record(tmp_path):
    data = (GOOD_LINE + "\n").encode() + '{"title": "Müller"}\n'.encode("latin-1") + b'{"title": "Second"}\n'
    parsed = _parse(_write(tmp_path, "mixed.jsonl", data))
    assert [p.title for p in parsed.papers] == ["A Good Record", "Second"]
    assert [(r.line, r.reason) for r in parsed.rejected] == [(2, "not UTF-8 text; save the file as UTF-8")]


def test_jsonl_line_separator_inside_a_string_is_not_a_record_break(tmp_path):
    """U+2028 and NEL are legal unescaped in JSON strings; `str.splitlines` used to cut the record there."""
    line = json.dumps({"title": "Line\u2028Separated", "summary": "a\x85b"}, ensure_ascii=False)
    [paper] = _parse(_write(tmp_path, "ls.jsonl", line + "\n")).papers
    assert paper.title == "Line Separated" and paper.abstract == "a b"


def test_jsonl_array_item_rejections_say_which_item(tmp_path):
    path = _write(tmp_path, "arr.json", json.dumps([{"title": "Fine"}, {"title": ["x"]}, 3]))
    parsed = _parse(path)
    assert [p.title for p in parsed.papers] == ["Fine"]
    assert [r.reason for r in parsed.rejected] == ["item 2: field 'title' must be text, not a list",
                                                  "item 3: expected a JSON object, not int"]


def test_jsonl_first_line_a_list_does_not_make_the_file_a_json_array(tmp_path):
    parsed = _parse(_write(tmp_path, "l.jsonl", "[1, 2]\n" + GOOD_LINE + "\n"))
    assert [p.title for p in parsed.papers] == ["A Good Record"]
    assert [r.line for r in parsed.rejected] == [1]


@pytest.mark.parametrize("title", ["\u200b\u200b", "\ufeff \u2060", "\x1b[31m\x1b[0m", "\u200d"])
def test_invisible_title_is_rejected_as_empty(tmp_path, title):
    parsed = _parse(_write(tmp_path, "z.jsonl", json.dumps({"title": title}) + "\n" + GOOD_LINE + "\n"))
    assert [p.title for p in parsed.papers] == ["A Good Record"]
    assert [(r.line, r.reason) for r in parsed.rejected] == [(1, "field 'title' is empty (only spaces or invisible characters)")]
    bib = _parse(_write(tmp_path, "z.bib", "@article{z, title = {" + title + "}}\n@article{ok, title = {Fine}}\n"))
    assert [p.key for p in bib.papers] == ["ok"] and bib.rejected[0].reason == "entry 'z' has no title"


def test_control_characters_and_ansi_escapes_are_stripped_keeping_unicode(tmp_path):
    record = {"title": "\x1b[31mRed\x1b[0m Title\x07 \x1b]0;owned\x07Über 日本 👩\u200d💻",
              "abstract": "Line one.\nLine\ttwo\x00\x9b2J with\u200b zero width.", "authors": ["Ada\x1b[1m Lovelace"]}
    [paper] = _parse(_write(tmp_path, "c.jsonl", json.dumps(record) + "\n")).papers
    assert paper.title == "Red Title Über 日本 👩\u200d💻"
    assert paper.abstract == "Line one. Line two with zero width."
    assert paper.authors == ["Ada Lovelace"]
    bib = "@article{c, title = {\x1b[1mBold\x1b[0m {\\\"U}ber\x7f}, abstract = {A\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ here}}\n"
    [paper] = _parse(_write(tmp_path, "c.bib", bib)).papers
    assert paper.title == "Bold Über" and paper.abstract == "Alink here"


def test_utf16_file_with_bom_is_read(tmp_path):
    text = json.dumps({"title": "Ünïcode Sixteen"}, ensure_ascii=False) + "\n"
    for encoding in ("utf-16", "utf-32"):
        parsed = _parse(_write(tmp_path, f"u.{encoding}", text.encode(encoding)))  # detected by content
        assert [p.title for p in parsed.papers] == ["Ünïcode Sixteen"]
    bib = "@article{u, title = {M{\\\"u}ller Sixteen}}\n"
    assert [p.title for p in _parse(_write(tmp_path, "u.bib", b"\xfe\xff" + bib.encode("utf-16-be"))).papers] == ["Müller Sixteen"]


def test_utf16_without_bom_is_named(tmp_path):
    with pytest.raises(SourceError, match="UTF-16 text without a byte-order mark; save it as UTF-8"):
        _parse(_write(tmp_path, "u.jsonl", (GOOD_LINE + "\n").encode("utf-16-le")))


def test_bibtex_duplicate_key_is_named_and_the_first_kept(tmp_path):
    bib = "@article{dup,\n  title = {First}\n}\n\n@article{dup,\n  title = {Second}\n}\n@article{two, title={T}, title={U}}\n"
    parsed = _parse(_write(tmp_path, "d.bib", bib))
    assert [p.title for p in parsed.papers] == ["First"]
    assert [str(r) for r in parsed.rejected] == [
        f"{tmp_path / 'd.bib'}:5: duplicate key 'dup', first at line 1; the first entry is kept",
        f"{tmp_path / 'd.bib'}:8: entry 'two' has field 'title' twice; keep one",
    ]


def test_bibtex_identifiers_are_not_latex_decoded_and_bare_percent_and_ampersand_stay(tmp_path):
    """A `%` in a URL is not a LaTeX comment, and `Q&A` is not a table cell."""
    bib = ("@article{p, title = {{Q&A} at 50% --- {\\'e}t{\\'e}}, url = {\\url{https://x.org/a%20b}},\n"
           "  doi = {10.1000/a\\_b}, abstract = {Mostly plain words, one $x^2$ and na{\\\"i}ve.}}\n")
    [paper] = _parse(_write(tmp_path, "p.bib", bib)).papers
    assert paper.title == "Q&A at 50% — été"
    assert paper.url == "https://x.org/a%20b" and paper.doi == "10.1000/a_b"
    assert paper.abstract == "Mostly plain words, one $x^2$ and naïve."


def test_bibtex_huge_field_is_rejected_by_name_and_fast(tmp_path):
    """A 10 MB field used to take > 90 s in LaTeX decoding; now the entry is refused, the others kept."""
    import time

    body = "word \\'e " * 1_250_000  # 10 MB, LaTeX everywhere
    bib = "@article{ok, title = {Fine}}\n@article{huge,\n  title = {Huge},\n  abstract = {" + body + "}\n}\n"
    started = time.perf_counter()
    parsed = _parse(_write(tmp_path, "h.bib", bib))
    assert time.perf_counter() - started < 30  # ~2 s on a quiet 2-core machine; the old decoder: > 90 s
    assert [p.key for p in parsed.papers] == ["ok"]
    [rejection] = parsed.rejected
    assert rejection.line == 2
    assert rejection.reason == "entry 'huge': field 'abstract' is 11,250,000 characters, over the 100,000 limit; shorten it"


def test_pdf_exception_types_become_source_errors(tmp_path):
    """Damaged PDFs that made pypdf raise types other than PdfReadError (e.g. a bare header)."""
    for data in (b"%PDF-1.4\n", b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
                 _paper_pdf()[:-300]):
        try:
            parsed = _parse(_write(tmp_path, "bad.pdf", data))
        except SourceError as exc:
            assert "PDF" in str(exc) and "\n" not in str(exc)
        else:
            assert all(p.title for p in parsed.papers)


def test_cli_ingest_keeps_good_records_and_later_files_after_a_bad_file(tmp_path):
    """Through the real CLI: every seen bad line in one file, a good file after it; exit 1, no traceback."""
    from conftest import run_cli

    bad = _write(tmp_path, "a_bad.jsonl", "\n".join([
        json.dumps({"title": "Kept Before The Bad Lines"}),
        '{"title": "Numeric DOI Record", "doi": 12345}',
        '{"title": "Empty Author Record", "authors": [[]]}',
        '{"title": "\\ud800Surrogate Record"}',
        "[" * 10_000 + "]" * 10_000,
        json.dumps({"title": "Kept After The Bad Lines"}),
    ]) + "\n")
    odd = _write(tmp_path, "b_odd.bib", b"@article{x, title={Fine Bib Entry}}\n@article{x, title={Dup}}\n")
    good = _write(tmp_path, "c_good.jsonl", json.dumps({"title": "The Later File's Record"}) + "\n")
    store = tmp_path / "store"
    result = run_cli("ingest", str(bad), str(odd), str(good), "--store", str(store), "--keyword-only", "--json")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert report["new"] == 7
    assert [(Path(r["file"]).name, r["line"]) for r in report["rejected"]] == [("a_bad.jsonl", 5), ("b_odd.bib", 2)]
    assert "nested too deeply" in report["rejected"][0]["reason"]
    assert "duplicate key 'x'" in report["rejected"][1]["reason"]
    listed = run_cli("papers", "--store", str(store), "--json")
    titles = {p["title"] for p in json.loads(listed.stdout)}
    assert {"Kept Before The Bad Lines", "Surrogate Record", "Kept After The Bad Lines", "The Later File's Record",
            "Fine Bib Entry"} <= titles
