"""Outline: surveys and benchmarks in sections of their own, the other papers clustered by what they do
(k-means over their method sentences, k chosen by silhouette), and a grounded name per section.

The model only names each section; which paper goes where is decided by code and is deterministic for
a given store. A user outline (Markdown headings with @keys under them) replaces the clustering.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Callable

from agent.core.errors import SurveyError
from agent.core.templates import render_template
from agent.core.text import stems
from agent.survey.models import Outline, PaperCard, Theme
from agent.survey.naming import clean_name, fallback_name, heading, keyword_name, keywords, strip_markup, topic_words

if TYPE_CHECKING:
    from agent.llm.client import LLMClient

# Headings the skeleton adds itself: a user outline may carry them, they are not themes.
FIXED = {"introduction", "comparison", "comparison table", "open problems", "conclusion", "conclusions",
         "references", "verification", "related work"}


def _matrix(vectors: list[list[float]]):  # type: ignore[no-untyped-def]
    import numpy as np

    x = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms == 0, 1, norms)


def tfidf_vectors(texts: list[str]) -> list[list[float]]:
    """TF-IDF rows, for stores without dense vectors (keyword-only)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(stop_words="english", sublinear_tf=True).fit_transform(texts).toarray().tolist()


def cluster(vectors: list[list[float]], k_range: tuple[int, int], fixed: int | None = None) -> tuple[list[int], dict[str, float]]:
    """Cluster labels per paper and the silhouette score of each k tried (deterministic: fixed seed)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    x = _matrix(vectors)
    n = len(vectors)
    if n < 3:
        return [0] * n, {}
    lo, hi = k_range
    ks = [min(fixed, n)] if fixed else list(range(max(2, lo), max(2, min(hi, n - 1)) + 1))
    best: tuple[float, int, list[int]] | None = None
    tried: dict[str, float] = {}
    for k in ks:
        if k <= 1:
            return [0] * n, {}
        labels = KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(x).tolist()
        score = float(silhouette_score(x, labels, metric="cosine")) if len(set(labels)) > 1 else -1.0
        tried[str(k)] = round(score, 4)
        if best is None or score > best[0] + 1e-9:
            best = (score, k, labels)
    assert best is not None
    labels = best[2]
    if not fixed:
        labels = _merge_singletons(x, labels)
    return labels, tried


def _merge_singletons(x, labels: list[int]) -> list[int]:  # type: ignore[no-untyped-def]
    """A one-paper cluster joins the nearest other cluster: a section of one paper is not a theme."""
    import numpy as np

    labels = list(labels)
    while True:
        sizes = {c: labels.count(c) for c in set(labels)}
        lonely = sorted(c for c, size in sizes.items() if size == 1)
        if not lonely or len(sizes) <= 2:
            return labels
        c = lonely[0]
        i = labels.index(c)
        centroids = {d: x[[j for j, lab in enumerate(labels) if lab == d]].mean(axis=0) for d in sizes if d != c}
        labels[i] = max(centroids, key=lambda d: (float(np.dot(x[i], centroids[d])), -d))


# Kinds of paper a scientist puts in a section of their own, whatever their subject: told by code.
# A survey says so at the start of its title or after its colon ("A Survey of ...", "X: A Systematic Review"),
# or in its method sentence ("this survey", "this position paper"); "Literature Review Generation" and
# "Completing a Systematic Review in Hours" are about reviews, not reviews themselves.
_SURVEY_TITLE = re.compile(r"(?:^|:\s*)(?:(?:an?\s+(?:[\w\-]+\s+){0,3}(?:survey|review|overview|tutorial))|"
                           r"(?:survey|review|overview)\s+(?:of|on))\b(?!\s+(?:generation|writing|automation|"
                           r"screening|agents?|systems?)\b)", re.IGNORECASE)
_SURVEY_TEXT = re.compile(r"\b(?:this|our|the first) (?:[\w\-]+ ){0,2}(?:survey|position paper)\b(?! generation)|"
                          r"\b(?:this (?:paper|work)|we) argues? that\b", re.IGNORECASE)
_BENCH_TITLE = re.compile(r"(?i:\bbenchmark\w*|\bbench\b|\bdatasets?\b|\bcorpus\b|(?<!self-)\bevaluat\w+|"
                          r"\bleaderboard\b|\btest ?bed\b)|[a-z]Bench\b")
# The paper's own contribution is a benchmark: "We introduce MIEB, a benchmark ...". Not "we propose X,
# evaluated on a benchmark" (no "on"/"with" between), nor a side contribution ("Finally, we introduce").
_BENCH_TEXT = re.compile(r"^(?:(?!finally|additionally|also|moreover|furthermore|further)[^.;])*?"
                         r"\b(?:introduce|present|propose|construct|build|release|curate|create)s?\s+"
                         r"(?:(?!on\b|with\b|using\b|across\b|for\b|to\b|in\b)[\w\-()]+[\s,:]+){0,5}?"
                         r"(?:benchmark|dataset|corpus|test ?bed|evaluation (?:suite|protocol))\b", re.IGNORECASE)
SUBSECTIONS_FROM = 60  # papers: below this, a section of 10+ papers stays one section
KINDS = {"survey": "Surveys and overviews", "benchmark": "Benchmarks and evaluation"}


def paper_kind(card: PaperCard, topic: str) -> str:
    """"survey", "benchmark" or "" (a method): from the title, and for benchmarks the method sentence too.

    A kind word the topic itself uses ("benchmarks for video understanding") tells nothing apart.
    """
    if _SURVEY_TITLE.search(card.title) or _SURVEY_TEXT.search(card.method):
        return "survey"
    if not stems(topic) & {"benchmark", "dataset", "evalu", "bench"} and (
            _BENCH_TITLE.search(card.title) or _BENCH_TEXT.search(card.method)):
        return "benchmark"
    return ""


def what_it_does(card: PaperCard) -> str:
    """The text a paper is grouped by: its title, problem and method sentences (what it does, not the
    vocabulary its whole abstract shares with the field)."""
    return strip_markup(f"{card.title}. {card.problem} {card.method}")


def kind_groups(cards: list[PaperCard], topic: str, fixed: int | None) -> dict[str, list[int]]:
    """Survey and benchmark papers apart from the methods, when each kind has 2+ papers and the methods
    keep 3+ (a kind most papers share is the topic's, not a section)."""
    if fixed is not None and fixed < 2:
        return {}
    found: dict[str, list[int]] = {}
    for i, card in enumerate(cards):
        kind = paper_kind(card, topic)
        if kind:
            found.setdefault(kind, []).append(i)
    groups: dict[str, list[int]] = {}
    left = len(cards)
    for kind in KINDS:
        members = found.get(kind, [])
        if len(members) >= 2 and len(members) * 2 <= len(cards) and left - len(members) >= 3 and \
                (fixed is None or len(groups) + 2 <= fixed):
            groups[kind] = members
            left -= len(members)
    return groups


# Measured on bench/sections.py (5 labeled topics): TF-IDF of what the papers do groups them as a reader
# does better than MiniLM vectors of whole abstracts; mixing in the dense vectors of title + method
# sentence (30%) helps the worst topics without hurting the mean.
DENSE_WEIGHT = 0.3
# At least one section per this many papers: silhouettes over abstracts are low (0.03-0.06 on the labeled
# topics), so left alone they pick 2 sections of 8-10 papers that read as lists.
SECTION_SIZE = 6


def _vectors(cards: list[PaperCard], vectors: list[list[float]] | None,
             embed: Callable[[list[str]], list[list[float]]] | None) -> list[list[float]]:
    """TF-IDF rows of what each paper does, beside (weighted) dense vectors of its title and method
    sentence when an embedder is given; the given `vectors` (whole abstracts) only without one."""
    import numpy as np

    sparse = _matrix(tfidf_vectors([what_it_does(c) for c in cards]))
    if embed is not None:
        dense = _matrix(embed([strip_markup(f"{c.title}. {c.method}") for c in cards]))
    elif vectors is not None:
        dense = _matrix(vectors)
    else:
        return sparse.tolist()  # type: ignore[no-any-return]
    return np.hstack([dense * math.sqrt(DENSE_WEIGHT), sparse * math.sqrt(1 - DENSE_WEIGHT)]).tolist()  # type: ignore[no-any-return]


def _split(vectors: list[list[float]], members: list[int], k_range: tuple[int, int],
           fixed: int | None) -> tuple[list[list[int]], dict[str, float]]:
    """`members` clustered into groups of ~3 to ~8 papers (a section of 13 reads as a list, one of 2 as a
    footnote), biggest first."""
    n = len(members)
    lo = max(k_range[0], math.ceil(n / SECTION_SIZE))
    hi = max(lo, min(k_range[1], n // 3))
    if fixed is None and hi < 2 or n < 3:
        return [list(members)], {}
    labels, tried = cluster([vectors[i] for i in members], (min(lo, max(k_range[1], 1)), hi), fixed)
    order = sorted(set(labels), key=lambda c: (-labels.count(c), labels.index(c)))
    return [[members[j] for j, lab in enumerate(labels) if lab == c] for c in order], tried


def _name(members: list[int], words: list[str], cards: list[PaperCard], topic: str,
          llm: "LLMClient | None", model: str | None, abstracts: dict[str, str]) -> tuple[str, str]:
    """A grounded name and who gave it: the model's when it passes the checks, else the keywords'.

    The model's name is grounded in the papers' titles and whole abstracts (the field's words are often
    outside the card's two or three sentences); the keyword name in the cards, whose words it is made of."""
    texts = [f"{cards[i].title}. {cards[i].text}" for i in members]
    if llm is not None:
        whole = [f"{cards[i].title}. {abstracts.get(cards[i].key) or cards[i].text}" for i in members]
        prompt = render_template("theme_name", topic=topic, keywords=words[:5],
                                 titles=[cards[i].title for i in members[:6]])
        reply = llm.complete([{"role": "user", "content": prompt}], model=model, max_tokens=24, allow_empty=True).text
        name = clean_name(reply, topic, whole)
        if name:
            return name, "model"
    return keyword_name(words, texts, topic) or fallback_name(texts, topic), "keywords"


def make_outline(
    cards: list[PaperCard],
    vectors: list[list[float]] | None,
    topic: str,
    llm: "LLMClient | None",
    k_range: tuple[int, int] = (2, 6),
    fixed: int | None = None,
    model: str | None = None,
    embed: Callable[[list[str]], list[list[float]]] | None = None,
    abstracts: dict[str, str] | None = None,
) -> Outline:
    """Sections of the papers: surveys and benchmarks apart, the methods clustered by what they do
    (`embed`-ded method sentences; else the given `vectors`; else TF-IDF), each with a grounded name.

    With 60+ papers a section of more than ~10 is split into subsections (`Theme.parent`). `abstracts`
    (key -> abstract) ground the model's names.
    """
    kinds = kind_groups(cards, topic, fixed)
    kinded = {i for members in kinds.values() for i in members}
    methods = [i for i in range(len(cards)) if i not in kinded]
    vecs = _vectors(cards, vectors, embed)
    n_kinds = len(kinds)
    groups, tried = _split(vecs, methods, (max(k_range[0] - n_kinds, 1), max(k_range[1] - n_kinds, 1)),
                           None if fixed is None else max(fixed - n_kinds, 1))
    # (members, kind): the method groups, then the kinds' sections.
    sections: list[tuple[list[int], str]] = [*((g, "") for g in groups), *((m, k) for k, m in kinds.items())]
    # Subsections: only for big sets, and only when no number of sections was asked for.
    children: dict[int, list[list[int]]] = {}
    if fixed is None and len(cards) >= SUBSECTIONS_FROM:
        for s, (members, _) in enumerate(sections):
            if len(members) > 10:
                parts, _ = _split(vecs, members, (2, 3), None)
                if len(parts) > 1:
                    children[s] = parts
    exclude = topic_words(topic)
    texts = [f"{c.title}. {c.title}. {c.text}" for c in cards]  # the title counts twice: it names the paper
    by_group: dict[tuple[int, ...], list[str]] = {}
    # Sections' keywords are distinctive among the sections, subsections' among their siblings.
    for level in ([m for m, _ in sections], *children.values()):
        for g, w in zip(level, keywords([[texts[i] for i in g] for g in level], exclude, n=15)):
            by_group[tuple(g)] = w

    themes: list[Theme] = []
    taken: set[str] = set()

    def unique(name: str) -> str:
        base, n = name, 2
        while name.lower() in taken:
            name, n = f"{base} ({n})", n + 1
        taken.add(name.lower())
        return name

    def order(members: list[int]) -> list[str]:  # oldest first, then by key: a stable reading order
        return [cards[i].key for i in sorted(members, key=lambda i: (cards[i].year or 9999, cards[i].key))]

    for s, (members, kind) in enumerate(sections):
        kw = by_group[tuple(members)]
        if kind:
            name, named_by = KINDS[kind], "kind"
        elif len(sections) == 1:
            name, named_by = heading(topic), "topic"
        else:
            name, named_by = _name(members, kw, cards, topic, llm, model, abstracts or {})
        name = unique(name)
        if s not in children:
            themes.append(Theme(name, order(members), kw[:5], named_by))
            continue
        for part in children[s]:
            pkw = by_group[tuple(part)]
            sub, sub_by = _name(part, pkw, cards, topic, llm, model, abstracts or {})
            themes.append(Theme(unique(f"{name}: {sub}"), order(part), pkw[:5], sub_by, parent=name))
    return Outline(themes, tried)


def outline_markdown(outline: Outline, topic: str, titles: dict[str, str]) -> str:
    """The outline as Markdown a user can edit and pass back with --outline."""
    lines = [f"# Outline: {topic}", "",
             "<!-- Edit freely: rename headings, move or delete '- @key' lines, add keys from `survey papers`.",
             f"     Then: survey write \"{topic}\" --outline THIS_FILE -->", ""]
    for theme in outline.themes:
        lines += [f"## {theme.name}", ""]
        lines += [f"- @{k} {titles.get(k, '')}".rstrip() for k in theme.keys]
        lines.append("")
    return "\n".join(lines)


def parse_outline(text: str, known: set[str], source: str) -> Outline:
    """Themes from a Markdown outline: each heading's `@key`s (the first @key of each line) are its papers."""
    themes: list[Theme] = []
    unknown: list[str] = []
    current: Theme | None = None
    lookup = {k.lower(): k for k in known}
    text = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
    for n, line in enumerate(text.splitlines(), 1):
        heading = re.match(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if heading:
            title = heading.group(2).strip()
            if len(heading.group(1)) == 1 and title.lower().startswith("outline"):
                current = None
                continue
            current = None if title.lower() in FIXED else Theme(title, [], [], "user")
            if current is not None:
                themes.append(current)
            continue
        for key in re.findall(r"(?<![\w@])@([A-Za-z0-9_][\w:.\-+/]*[\w])", line)[:1]:
            if key.lower() not in lookup:
                unknown.append(f"{key} (line {n})")
            elif current is None:
                raise SurveyError(f"{source}: line {n}: @{key} is not under a theme heading; put it under a '## Theme' heading")
            elif lookup[key.lower()] not in current.keys:
                current.keys.append(lookup[key.lower()])
    if unknown:
        raise SurveyError(f"{source}: unknown paper key(s) {', '.join(unknown)}; see `survey papers` for the store's keys")
    themes = [t for t in themes if t.keys]
    if not themes:
        raise SurveyError(f"{source}: no theme heading with @keys under it; write '## Theme' then '- @key' lines")
    seen: set[str] = set()
    for theme in themes:  # a paper placed twice stays in its first theme
        theme.keys = [k for k in theme.keys if not (k in seen or seen.add(k))]  # type: ignore[func-returns-value]
    return Outline([t for t in themes if t.keys], {}, source)
