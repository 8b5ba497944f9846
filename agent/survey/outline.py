"""Outline: cluster the papers (k-means, k chosen by silhouette), keywords per cluster, a short theme name.

The model only names each theme; which paper goes where is decided by code and is deterministic for a
given store. A user outline (Markdown headings with @keys under them) replaces the clustering.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from agent.core.errors import SurveyError
from agent.core.templates import render_template
from agent.core.text import stems
from agent.survey.models import Outline, PaperCard, Theme

if TYPE_CHECKING:
    from agent.llm.client import LLMClient

# Words every cluster of papers uses: never distinctive, never a theme's name.
GENERIC = set("""model models large language method methods approach approaches paper papers propose proposed
results result task tasks performance data based new using existing work works framework study novel show
shows achieve achieves significant significantly different various multiple extensive experiments
demonstrate state art sota benchmark benchmarks evaluation evaluate introduce present address remarkable
exhibiting exhibit experimental comprehensive diverse recent advancements advances high-quality effective
promising powerful strong various abilities capabilities capability ability extensive improve improves
improved improving leverage leveraging enhance enhanced enhancing""".split())
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


def keywords(texts_by_cluster: list[list[str]], exclude: set[str], n: int = 5) -> list[list[str]]:
    """Distinctive words per cluster: class-based TF-IDF (a cluster's texts as one document)."""
    import numpy as np
    from sklearn.feature_extraction.text import CountVectorizer

    docs = [" ".join(texts) for texts in texts_by_cluster]
    vectorizer = CountVectorizer(stop_words="english", token_pattern=r"(?u)\b[A-Za-z][A-Za-z0-9\-]{2,}\b",
                                 ngram_range=(1, 2), lowercase=True)
    counts = vectorizer.fit_transform(docs).toarray().astype(float)
    words = vectorizer.get_feature_names_out()
    # A word only one paper uses is that paper's name ("ML-Mamba"), not a theme: keep words of >= 2 papers.
    papers_using = np.stack([(vectorizer.transform(texts).toarray() > 0).sum(axis=0) for texts in texts_by_cluster])
    counts = np.where(papers_using >= min(2, *(len(t) for t in texts_by_cluster)), counts, 0.0)

    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    avg = counts.sum() / max(len(docs), 1)
    idf = np.log(1 + avg / np.maximum(counts.sum(axis=0), 1))
    # With a handful of clusters idf alone barely separates them: weight by how much of a word's use
    # falls in this cluster, so words every theme uses ("content", "information") sink.
    share = counts / np.maximum(counts.sum(axis=0, keepdims=True), 1)
    scores = tf * idf * share
    out: list[list[str]] = []
    for row in scores:
        picked: list[str] = []
        for i in np.argsort(-row, kind="stable"):
            word = str(words[i])
            parts = word.split()
            if row[i] <= 0 or any(p in exclude for p in parts) or any(word in q or q in word for q in picked):
                continue
            picked.append(word)
            if len(picked) == n:
                break
        out.append(picked)
    return out


def acronyms(topic: str) -> set[str]:
    """Short forms a topic's papers use for it: "multimodal large language models" -> mllm(s), llm(s)."""
    words = [w for w in re.findall(r"[a-z]+", topic.lower()) if w not in {"of", "for", "in", "and", "the", "on"}]
    out: set[str] = set()
    for i in range(len(words)):
        for j in range(i + 2, len(words) + 1):
            short = "".join(w[0] for w in words[i:j])
            out |= {short, short + "s"}
    return out


def keyword_name(words: list[str]) -> str:
    """A theme name from keywords, when the model gives none usable."""
    if not words:
        return "Other work"
    head = words[:3]
    text = ", ".join(head[:-1]) + (" and " if len(head) > 1 else "") + head[-1]
    return text[:1].upper() + text[1:]


def clean_name(reply: str, topic: str, about: str = "") -> str:
    """The model's theme name if it is a short plain phrase about these papers, else "".

    `about` (keywords and titles): a name sharing no word with it ("Common features") is too vague.
    """
    lines = [line for line in reply.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    name = re.sub(r"^(?:theme(?: name)?|name|title|section)\s*[:\-]\s*", "", lines[0].strip(), flags=re.I)
    name = name.strip().strip("\"'*#`.:").strip()
    if ":" in name:  # "Multimodal LLMs: Visual Alignment" echoes the topic before the colon
        name = next((p.strip() for p in reversed(name.split(":")) if len(p.split()) >= 2), name.split(":")[-1].strip())
    words = name.split()
    if name.count(",") >= 2:  # "LLM, Image, Visual, Temporal": a list of terms, not a heading
        return ""
    if not 1 <= len(words) <= 8 or re.search(r"[\[\]@{}<>|\\]|https?:", name) or len(name) > 70:
        return ""
    name = re.sub(r"^(?:an? )?(?:survey|review|overview)s? (?:on|of)\s+", "", name, flags=re.I).strip()
    if name.lower() == topic.lower().strip() or name.upper() == "NOT IN STORE" or not re.search(r"[A-Za-z]{3}", name):
        return ""
    name = strip_topic(name, topic)
    if about and not (stems(name) - stems(topic)) & stems(about):
        return ""
    return name[:1].upper() + name[1:]


_EDGE = {"with", "for", "in", "of", "on", "and", "the", "a", "an", "via", "using", "from"}


def strip_topic(name: str, topic: str) -> str:
    """A heading without the survey topic's words at its ends: "Universal Embeddings with MLLMs" -> "Universal Embeddings"."""
    topical = stems(topic) | acronyms(topic)
    words = name.split()

    def edge(w: str) -> bool:
        bare = re.sub(r"[^\w\-]", "", w).lower()
        return bare in _EDGE or bare in topical or bool(stems(bare)) and stems(bare) <= topical

    while words and edge(words[0]):
        words.pop(0)
    while words and edge(words[-1]):
        words.pop()
    kept = " ".join(words)
    return kept[:1].upper() + kept[1:] if len(words) >= 1 and re.search(r"[A-Za-z]{3}", kept) else name


def make_outline(
    cards: list[PaperCard],
    vectors: list[list[float]] | None,
    topic: str,
    llm: "LLMClient | None",
    k_range: tuple[int, int] = (2, 6),
    fixed: int | None = None,
    model: str | None = None,
) -> Outline:
    """Themes from the papers' embeddings (TF-IDF when the store has none), named by the model."""
    texts = [f"{c.title}. {' '.join(c.sentences)}" for c in cards]
    if vectors is None:
        vectors = tfidf_vectors(texts)
    # Themes of ~3 to ~8 papers: a section of 13 papers reads as a list, one of 2 as a footnote.
    lo = max(k_range[0], math.ceil(len(cards) / 8))
    hi = max(lo, min(k_range[1], len(cards) // 3))
    labels, tried = cluster(vectors, (min(lo, k_range[1]), hi), fixed)
    order = sorted(set(labels), key=lambda c: (-labels.count(c), labels.index(c)))  # biggest theme first
    groups = [[i for i, lab in enumerate(labels) if lab == c] for c in order]
    topic_words = {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z0-9\-]+", topic)}
    topic_words |= stems(topic) | GENERIC | acronyms(topic)
    words = keywords([[texts[i] for i in g] for g in groups], topic_words)
    themes: list[Theme] = []
    for members, kw in zip(groups, words):
        # Oldest first within a theme, then by key: a stable reading order.
        keys = [cards[i].key for i in sorted(members, key=lambda i: (cards[i].year or 9999, cards[i].key))]
        name, named_by = "", "keywords"
        if llm is not None and len(groups) > 1:
            prompt = render_template("theme_name", topic=topic, keywords=kw, titles=[cards[i].title for i in members[:6]])
            about = " ".join([*kw, *(cards[i].title for i in members)])
            reply = llm.complete([{"role": "user", "content": prompt}], model=model, max_tokens=24,
                                 allow_empty=True).text
            name = clean_name(reply, topic, about)
            named_by = "model" if name else "keywords"
        if len(groups) == 1:
            name, named_by = topic[:1].upper() + topic[1:], "topic"
        taken = {t.name.lower() for t in themes}
        if not name or name.lower() in taken:
            name, named_by = keyword_name(kw), "keywords"
        if name.lower() in taken:
            name = f"{name} ({len(themes) + 1})"
        themes.append(Theme(name, keys, kw, named_by))
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
