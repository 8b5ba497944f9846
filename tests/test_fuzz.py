"""Property-based fuzzing of every source parser through `agent.sources.parse_file`.

The property: a file either is refused whole with a `SourceError`, or gives a `Parsed` whose papers can be
stored (no lone surrogates, no control characters in shown text, a visible title) and whose rejections
are one line each; no other exception escapes, and good records next to bad ones survive.
"""

from __future__ import annotations

import gzip
import json
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.sources import FORMATS, Parsed, SourceError, parse_file

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

GOOD_A = {
    "title": "Sparse Attention for Long Documents",
    "summary": "We read long documents sparsely.",
    "authors": "Ada Lovelace and Alan Turing",
    "id": "2401.01234",
}
GOOD_B = {"title": "Dense Retrieval Revisited", "abstract": "We revisit dense retrieval.", "year": 2019}
VALID_JSONL = (json.dumps(GOOD_A) + "\n" + json.dumps(GOOD_B) + "\n").encode()
VALID_BIB = (
    '@string{nips = "Advances in Neural Information Processing Systems"}\n'
    "@inproceedings{vaswani2017,\n  title = {Attention Is All You Need},\n  author = {Vaswani, Ashish and Shazeer, Noam},\n"
    '  booktitle = nips,\n  year = {2017},\n  abstract = {The dominant sequence transduction models {\\"u}ber $x^2$ --- all.}\n}\n\n'
    "@article{devlin2019,\n  title = {{BERT}: Pre-training of Deep Bidirectional Transformers},\n  year = 2019\n}\n"
).encode()
ABSTRACT = (
    "We introduce a small benchmark for checking that listing pages are parsed correctly, with forty "
    "questions and a short passage for each, and report three baselines and their errors in detail."
)
VALID_LISTING = f"Daily Papers\n\nAlpha: A Benchmark\n\n{ABSTRACT}\n\nBeta Networks\n\n{ABSTRACT}\n".encode()
NAMES = ["papers.jsonl", "papers.jsonl.gz", "refs.bib", "paper.pdf", "page.txt", "download"]

# Text that stresses normalization: controls, ANSI escapes, lone surrogates, invisible and exotic characters.
_NASTY = [
    "\x00",
    "\x07",
    "\x1b[31m",
    "\x1b]0;title\x07",
    "\x9b2J",
    "\x85",
    "\u2028",
    "\ud800",
    "\udfff",
    "\u200b",
    "\ufeff",
    "\u202e",
    "\u200d",
    "\\",
    "{",
    "}",
    "$",
    "%",
    "&",
    "~",
    "--",
    "é",
    "日本",
    "👩‍💻",
]
nasty_text = st.lists(st.one_of(st.sampled_from(_NASTY), st.text(max_size=8)), max_size=12).map("".join)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), nasty_text)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=10,
)
FIELDS = [
    "title",
    "summary",
    "abstract",
    "authors",
    "authors_parsed",
    "id",
    "arxiv_id",
    "arxiv",
    "doi",
    "url",
    "link",
    "year",
    "published",
    "update_date",
    "date",
    "versions",
    "categories",
    "venue",
    "journal",
    "journal-ref",
    "key",
    "citation_key",
]


def _check(name: str, data: bytes, fmt: str | None = None) -> Parsed | None:
    """parse_file's contract: SourceError (None here) or a Parsed whose every paper could be stored."""
    try:
        parsed = parse_file(Path(name), data, fmt)
    except SourceError as exc:
        assert str(exc) and "\n" not in str(exc)
        return None
    for paper in parsed.papers:
        json.dumps(paper.to_dict(full_text=True), ensure_ascii=False).encode("utf-8")  # no lone surrogates
        assert any(unicodedata.category(c)[0] in "LNPS" for c in paper.title), repr(paper.title)
        for text in (paper.title, paper.abstract, paper.venue or "", *paper.authors, paper.key):
            assert not any(unicodedata.category(c) in ("Cc", "Cs") for c in text), repr(text)
            assert "\x1b" not in text
        assert paper.year is None or isinstance(paper.year, int)
    for rejection in parsed.rejected:
        assert rejection.reason and "\n" not in str(rejection), str(rejection)
        assert rejection.line is None or rejection.line >= 1
    return parsed


def _pdf() -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    for line in [
        "Sparse Attention for Long Documents",
        "Ada Lovelace, Alan Turing",
        "Abstract",
        ABSTRACT,
        "1 Introduction",
        ABSTRACT,
    ]:
        pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


VALID = {
    "papers.jsonl": VALID_JSONL,
    "papers.jsonl.gz": gzip.compress(VALID_JSONL),
    "refs.bib": VALID_BIB,
    "page.txt": VALID_LISTING,
}


def test_valid_fixtures_parse():
    """The fixtures the fuzzing cuts and flips are themselves good files."""
    assert len(_check("papers.jsonl", VALID_JSONL).papers) == 2
    assert len(_check("refs.bib", VALID_BIB).papers) == 2
    assert len(_check("page.txt", VALID_LISTING).papers) == 2
    assert len(_check("paper.pdf", _pdf()).papers) == 1


@FUZZ
@given(name=st.sampled_from(NAMES), fmt=st.sampled_from([None, *FORMATS]), data=st.binary(max_size=3000))
def test_random_bytes(name, fmt, data):
    _check(name, data, fmt)


@FUZZ
@given(
    name=st.sampled_from(sorted(VALID)),
    cut=st.floats(0, 1),
    flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=4),
)
def test_truncated_and_corrupted_text_files(name, cut, flips):
    data = bytearray(VALID[name])
    for where, byte in flips:
        data[int(where * (len(data) - 1))] = byte
    _check(name, bytes(data[: int(cut * len(data))]))


@pytest.fixture(scope="module")
def pdf_bytes() -> bytes:
    return _pdf()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.floats(0, 1), flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=6))
def test_truncated_and_corrupted_pdf(pdf_bytes, cut, flips):
    """pypdf raises many exception types on damaged files: each must become a SourceError or a Rejection."""
    data = bytearray(pdf_bytes)
    for where, byte in flips:
        data[int(where * (len(data) - 1))] = byte
    _check("paper.pdf", bytes(data[: max(1, int(cut * len(data)))]))


@FUZZ
@given(field=st.sampled_from(FIELDS), value=json_values)
def test_jsonl_wrong_type_in_any_field_costs_only_its_record(field, value):
    bad = {**GOOD_B, "title": "The Odd One", field: value}
    lines = [json.dumps(GOOD_A), json.dumps(bad), json.dumps(GOOD_B)]
    parsed = _check("mixed.jsonl", ("\n".join(lines) + "\n").encode())
    titles = [p.title for p in parsed.papers]
    assert titles[0] == GOOD_A["title"] and titles[-1] == GOOD_B["title"]
    assert [r.line for r in parsed.rejected] in ([], [2])
    assert len(parsed.papers) + len(parsed.rejected) == 3


@FUZZ
@given(
    lines=st.lists(
        st.one_of(st.just("good"), json_values.map(json.dumps), st.binary(max_size=40)), min_size=1, max_size=8
    )
)
def test_jsonl_every_good_line_survives_and_every_bad_line_is_named(lines):
    """Bad lines (any JSON value, random bytes, other encodings) among good records: goods kept, bads named by line."""
    raw, good_lines = [], []
    for number, line in enumerate(lines, start=1):
        if line == "good":
            raw.append(json.dumps(dict(GOOD_A, title=f"Good record {number}")).encode())
            good_lines.append(number)
        else:
            raw.append(line.replace(b"\n", b" ") if isinstance(line, bytes) else line.encode())
    parsed = _check("mixed.jsonl", b"\n".join(raw))
    if parsed is None:  # refused whole: only when most lines are not UTF-8 or the first bytes look binary
        return
    titles = {p.title for p in parsed.papers}
    assert {f"Good record {n}" for n in good_lines} <= titles
    assert not {r.line for r in parsed.rejected} & set(good_lines)


@pytest.mark.parametrize("depth", [10, 900, 1000, 5000, 100_000])
@pytest.mark.parametrize("where", ["line", "field"])
def test_jsonl_deep_nesting_rejects_only_its_line(depth, where):
    nested = "[" * depth + "]" * depth
    bad = nested if where == "line" else '{"title": "Deep", "authors": ' + nested + "}"
    parsed = _check("deep.jsonl", "\n".join([json.dumps(GOOD_A), bad, json.dumps(GOOD_B)]).encode())
    assert [p.title for p in parsed.papers][0] == GOOD_A["title"]
    assert [p.title for p in parsed.papers][-1] == GOOD_B["title"]
    assert all(r.line == 2 for r in parsed.rejected)


@FUZZ
@given(title=nasty_text, abstract=nasty_text, key=nasty_text)
def test_nasty_text_in_every_format_is_normalized(title, abstract, key):
    """Controls, ANSI escapes, lone surrogates and invisible characters never reach a stored paper."""
    record = {"title": title, "abstract": abstract, "key": key}
    _check("n.jsonl", (json.dumps(record) + "\n").encode())  # \\ud800 escapes: lone surrogates after loading

    def encodable(s: str) -> str:
        return s.encode("utf-8", "replace").decode("utf-8")  # a file on disk holds no surrogates

    bib = "@article{k,\n  title = {" + encodable(title) + "},\n  abstract = {" + encodable(abstract) + "}\n}\n"
    _check("n.bib", bib.encode())
    _check("n.txt", f"{encodable(title)}\n\n{encodable(abstract) + ' ' + ABSTRACT}\n".encode())


@settings(max_examples=10, deadline=None)
@given(fmt=st.sampled_from(["jsonl", "bibtex", "listing"]), size=st.sampled_from([100_001, 2_000_000]))
def test_huge_field_is_rejected_by_name_quickly(fmt, size):
    body = ("word \\'e " if fmt == "bibtex" else "word ") * (size // 5 + 1)
    if fmt == "jsonl":
        data = json.dumps(GOOD_A) + "\n" + json.dumps({"title": "Huge", "summary": body}) + "\n"
    elif fmt == "bibtex":
        data = "@article{ok, title={Fine}}\n@article{huge,\n  title = {Huge},\n  abstract = {" + body + "}\n}\n"
    else:
        data = f"Fine\n\n{ABSTRACT}\n\nHuge\n\n{body}\n"
    parsed = _check("huge", data.encode(), fmt)
    assert len(parsed.papers) == 1 and parsed.papers[0].title != "Huge"
    assert any("over the 100,000 limit" in r.reason for r in parsed.rejected)
