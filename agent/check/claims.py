"""Split a Markdown document into the claims it makes, each with the papers it cites."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from itertools import accumulate, pairwise

from agent.core.citations import CITE_GROUP, CITE_KEY, REPORTING, CitedSentence, keys_in, parse_keys

# [1], [1, 3], [1-3], but not the link [1](url)
_NUM = r"\[(\d+(?:\s*[-–—]\s*\d+)?(?:\s*[,;]\s*\d+(?:\s*[-–—]\s*\d+)?)*)\](?!\()"
ANY_CITE = re.compile(f"{CITE_GROUP.pattern}|{_NUM}")  # group 1: pandoc inside, group 2: numeric inside
_CODE_OR_CITE = re.compile(rf"`([^`\n]*)`|{ANY_CITE.pattern}")  # a citation inside inline code is literal text
_LEAD = re.compile(rf"(?:(?:{ANY_CITE.pattern})\s*)+")
_LINK = re.compile(r"!?\[([^\[\]]*)\]\((?:[^()]|\([^()]*\))*\)")
_PROTECTED = re.compile(f"{ANY_CITE.pattern}|{_LINK.pattern}|`[^`\n]*`")
_BARE_KEY = re.compile(rf"(?<![\w@])(?:{CITE_KEY.pattern})")  # @key, but not the host of an e-mail address
_END = re.compile(r"[.!?][\"'”’)*_]*")
_OPENERS = "\"'“‘*_`"
_ABBREV = {"al", "fig", "figs", "vs", "sec", "secs", "eq", "eqs", "cf", "approx", "resp", "vol", "p", "pp", "ch",
           "tab", "ref", "refs", "no", "dr", "prof", "mr", "mrs", "ms", "st", "jr", "viz", "ca"}  # fmt: skip
# Sections of a generated survey that hold no prose claims: a table of results, the verification appendix.
_SKIP_NAME = re.compile(r"(?:\d+(?:\.\d+)*\.?\s+)?(?:appendix\b.*|comparison table)", re.IGNORECASE)
_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:\s+(.*?))?(?:\s+#+)?\s*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)\s*$")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_RULE = re.compile(r"^[\s|:\-*_=]+$")  # thematic breaks, setext underlines, table separator lines
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(?:\[[ xX]\]\s+)?")
_QUOTE = re.compile(r"^\s*(?:>\s?)+")
_REF_ENTRY = re.compile(r"^\s*(?:[-*+]\s+)?(?:\[(\d+)\]:?|(\d+)[.)])\s+(.*)$")
_REFS_NAME = re.compile(
    r"(?:\d+(?:\.\d+)*\.?\s+)?(?:references|bibliography|works cited|literature cited|sources)\s*:?", re.IGNORECASE
)


@dataclass
class Claim:
    """One sentence of a document and what it cites."""

    text: str  # citation markers and Markdown removed
    source: str  # as written
    keys: list[str]  # deduplicated, numeric labels resolved
    line: int  # 1-based line where the sentence starts
    unknown: list[str]  # labels or keys that could not be resolved
    section: str  # nearest heading above, "" if none


@dataclass
class Document:
    """The claims of a document and its numbered reference list."""

    claims: list[Claim]
    references: dict[str, str]  # numeric label -> key (or the entry's text when it names no @key)


# A sentence about the document itself ("This survey covers ...", "Section 3 lists ..."): its structure and
# scope, which no paper is cited for. Uncited, it is not a claim (cited, it is judged like any other).
_ABOUT_DOCUMENT = re.compile(r"(?:This (?:survey|review|section)|Sections? \d+)\b")


def about_document(sentence: str) -> bool:
    """Whether a sentence is about the document's own scope or structure ("This survey ...", "Section 2 ...")."""
    return bool(_ABOUT_DOCUMENT.match(plain(sentence)))


_LEADS_WITH_CITATION = re.compile(r"\s*(?:[-*+]\s+|\d+\.\s+)?\[(?:@|\d)")
_REPORTING = re.compile(rf"^{REPORTING}(\w)")


def plain(text: str) -> str:
    """Text without citations, links, emphasis, HTML tags, and spaces before punctuation."""
    text = re.sub(rf"(?i)\b(?:according to|see|cf\.)\s+(?={ANY_CITE.pattern})", "", text)  # no "According to, X"
    text = re.sub(r"\[\^[^\]\s]+\]:?", "", text)  # footnote marks
    text = _CODE_OR_CITE.sub(lambda m: m.group(1) or "", text)
    text = _LINK.sub(r"\1", text)
    text = re.sub(r"<(https?://[^>\s]+)>", r"\1", text)
    text = re.sub(r"</?[A-Za-z][^>]*>", "", text)
    for _ in range(2):  # twice, for emphasis nested in emphasis
        text = re.sub(r"(\*{1,3}|~~)(?=\S)(.+?)(?<=\S)\1", r"\2", text)
        text = re.sub(r"(?<!\w)(_{1,3})(?=\S)(.+?)(?<=\S)\1(?!\w)", r"\2", text)
    text = re.sub(r"\s*\|\s*", "; ", text)  # table cells
    text = re.sub(r"\(\s*[,;]?\s*\)", "", text)  # what "([@a])" leaves behind
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s+([.,;:!?)\]])(?!\w)", r"\1", text)  # "X ." but not "a .env file"
    return re.sub(r"([(\[])\s+", r"\1", text).strip(" ,;")


def _labels(inner: str) -> list[str]:
    """Numeric labels of `1, 3-5` -> ["1", "3", "4", "5"]."""
    out: list[str] = []
    for part in re.split(r"\s*[,;]\s*", inner.strip()):
        span = re.fullmatch(r"(\d+)\s*[-–—]\s*(\d+)", part)
        if span:
            lo, hi = int(span.group(1)), int(span.group(2))
            out += [str(n) for n in range(lo, hi + 1)] if 0 <= hi - lo <= 100 else [str(lo), str(hi)]
        else:
            out.append(str(int(part)))
    return out


def _is_abbreviation(text: str, dot: int) -> bool:
    word = re.search(r"[A-Za-z][A-Za-z.]*$", text[:dot])
    if not word:
        return False
    return word.group().lower() in _ABBREV or bool(re.fullmatch(r"(?:[A-Za-z]\.)+[A-Za-z]", word.group()))  # e.g, U.S


def _starts_sentence(rest: str) -> bool:
    first = rest.lstrip().lstrip(_OPENERS)[:1]
    return first.isupper() or first.isdigit() or first in ("[", "(")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of one paragraph; citation groups after a sentence end join it."""
    protected = [m.span() for m in _PROTECTED.finditer(text)]
    cuts = [0]
    for end in _END.finditer(text):
        if any(a <= end.start() < b for a, b in protected):
            continue
        if end.group()[0] == "." and _is_abbreviation(text, end.start()):
            continue
        after = end.end()
        if glued := _LEAD.match(text, after):  # "claim.[@a] Next": the group ends the sentence
            after += len(text[after:glued.end()].rstrip())
        # "... [@a]. m3P proposes ...": a cited full stop ends a sentence even before a lower-case name.
        cited_stop = bool(re.search(r"@[^\[\]]+\]\s*$", text[:end.start()]))
        if text[after:after + 1].isspace() and (_starts_sentence(text[after:]) or cited_stop):
            cuts.append(after)
    cuts.append(len(text))
    spans: list[list[int]] = []
    for a, b in pairwise(cuts):
        a += len(text[a:b]) - len(text[a:b].lstrip())
        lead = _LEAD.match(text, a, b)
        # "claim. [@a] Next." closes the previous sentence; "[@a] shows that X." is its own sentence.
        if lead and spans and not text[lead.end():b].lstrip().lstrip(_OPENERS)[:1].islower():
            spans[-1][1] = a + len(text[a:lead.end()].rstrip())
            a = lead.end()
        if text[a:b].strip():
            spans.append([a, a + len(text[a:b].rstrip())])
    return [(a, b) for a, b in spans]


def cited_sentences(text: str) -> list[CitedSentence]:
    """Sentences of generated text with the keys each cites: the one splitter for drafts and answers.

    Abbreviation-aware ("et al. 2024", "e.g.", "Fig. 3" do not end a sentence); a citation group right
    after a sentence's full stop, or glued to it, belongs to that sentence. Lines are paragraphs;
    list bullets are dropped.
    """
    out: list[CitedSentence] = []
    for line in text.splitlines():
        line = _BULLET.sub("", line, count=1).strip() if _BULLET.match(line) else line.strip()
        for a, b in sentence_spans(line):
            out.append(CitedSentence(line[a:b], parse_keys(line[a:b])))
    return out


def _scan(lines: list[str]) -> tuple[list[tuple[str, list[tuple[int, str]]]], dict[str, str]]:
    """Paragraph/list-item blocks as (section, [(line number, text)]), and the numbered references."""
    blocks: list[tuple[str, list[tuple[int, str]]]] = []
    entries: dict[str, list[str]] = {}
    section, fence, ref_level, skip_level = "", "", 0, 0
    block: list[tuple[int, str]] | None = None
    entry: list[str] | None = None
    start = 0
    if lines and lines[0].strip() == "---":  # YAML front matter, when it is closed
        start = next((j + 1 for j in range(1, len(lines)) if lines[j].strip() in ("---", "...")), 0)
    for i in range(start, len(lines)):
        raw, bare = lines[i], lines[i].strip()
        if fence:
            fence = "" if bare.startswith(fence) and not bare.strip(fence[0]) else fence
            continue
        if fenced := _FENCE.match(raw):
            fence, block = fenced.group(1), None
            continue
        atx = _HEADING.match(raw)
        setext = (bare and not _RULE.match(raw) and not _BULLET.match(raw) and not _QUOTE.match(raw)
                  and not bare.startswith("|") and i + 1 < len(lines) and _SETEXT.match(lines[i + 1]))
        if atx or setext:
            level = len(atx.group(1)) if atx else (1 if setext.group(1)[0] == "=" else 2)
            title = re.sub(r"\s*\{[^}]*\}$", "", (atx.group(2) or "") if atx else bare)
            section, block, entry = plain(title), None, None
            ref_level = level if _REFS_NAME.fullmatch(section) else (0 if level <= ref_level else ref_level)
            skip_level = level if _SKIP_NAME.fullmatch(section) else (0 if level <= skip_level else skip_level)
            continue
        if skip_level:
            continue
        if not bare or _RULE.match(raw):
            block = entry = None
            continue
        if _REFS_NAME.fullmatch(plain(bare)):  # "**References**" or "Sources:" on a line of its own
            ref_level, block = 7, None
            continue
        if ref_level:
            if ref := _REF_ENTRY.match(raw):
                entry = entries.setdefault(str(int(ref.group(1) or ref.group(2))), [])
                entry.append(ref.group(3))
            elif entry is not None:
                entry.append(bare)
            continue
        text = raw[q.end():] if (q := _QUOTE.match(raw)) else raw
        if item := _BULLET.match(text):
            text, block = text[item.end():], None
        if table := text.strip().startswith("|"):
            if i + 1 < len(lines) and _RULE.match(lines[i + 1]) and "-" in lines[i + 1]:
                continue  # a table's header row names columns, it claims nothing
            text, block = text.strip().strip("|"), None
        if block is None:
            blocks.append((section, block := []))
        block.append((i + 1, text))
        if table:
            block = None
    return blocks, {label: _entry_key(" ".join(parts)) for label, parts in entries.items()}


def _entry_key(entry: str) -> str:
    """The @key a reference entry names, else its text (so that unknown papers are reported by title)."""
    key = _BARE_KEY.search(entry)
    return (key.group(1) or key.group(2)) if key else plain(entry)


def split_claims(markdown: str, known_keys: set[str] | None = None) -> Document:
    """Every claim of a Markdown document with its resolved citations."""
    # Comments become blank lines so that line numbers stay right.
    markdown = re.sub(r"<!--.*?-->", lambda m: "\n" * m.group().count("\n"), markdown, flags=re.DOTALL)
    blocks, references = _scan([line.rstrip("\r") for line in markdown.split("\n")])
    known = {k.lower(): k for k in known_keys} if known_keys is not None else None
    claims: list[Claim] = []
    for section, rows in blocks:
        starts = list(accumulate((len(row) + 1 for _, row in rows[:-1]), initial=0))
        paragraph = "\n".join(row for _, row in rows)
        for a, b in sentence_spans(paragraph):
            source = paragraph[a:b]
            keys: list[str] = []
            unknown: list[str] = []
            for group in _CODE_OR_CITE.finditer(source):
                if group.group(2) is not None:
                    found = keys_in(group.group(2))
                elif group.group(3) is not None:
                    found = [references.get(label, "") for label in _labels(group.group(3))]
                    unknown += [label for label in _labels(group.group(3)) if label not in references]
                else:
                    continue
                for key in filter(None, found):
                    if known is None or key.lower() in known:
                        keys.append(key if known is None else known[key.lower()])
                    else:
                        unknown.append(key)
            text = plain(source)
            if _LEADS_WITH_CITATION.match(source):
                # "[@x] shows that Y" states Y: judge the finding, not "shows that Y".
                text = _REPORTING.sub(lambda m: m.group(1).upper(), text, count=1)
            if not re.search(r"\w", text):
                continue
            if not keys and not unknown and (len(text.split()) < 4 or text.endswith((":", "?")) or about_document(text)):
                continue
            line = rows[bisect.bisect_right(starts, a) - 1][0]
            claims.append(Claim(text, source, list(dict.fromkeys(keys)), line, list(dict.fromkeys(unknown)), section))
    return Document(claims, references)
