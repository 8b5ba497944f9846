"""Section names: distinctive keywords per group of papers, and the checks every name passes.

A name must be grounded (its content words, the survey topic's aside, occur in at least half of its
papers' texts), must not be vague ("Survey", "Challenges and Solutions") and never carries markup
("textbf", a URL). A model's name that fails falls back to one built from the grounded keywords.
"""

from __future__ import annotations

import re

from agent.core.text import STOP, stems

# Words every group of papers uses: never distinctive, never a section's name.
GENERIC = set("""model models large language method methods approach approaches paper papers propose proposed
results result task tasks performance data based new using existing work works framework study novel show
shows achieve achieves significant significantly different various multiple extensive experiments
demonstrate state art sota benchmark benchmarks evaluation evaluate introduce present address remarkable
exhibiting exhibit experimental comprehensive diverse recent advancements advances high-quality effective
promising powerful strong various abilities capabilities capability ability extensive improve improves
improved improving leverage leveraging enhance enhanced enhancing including include includes furthermore
additionally specifically particular paper's outperform outperforms outperforming achieving demonstrates
designed propose proposes introduces presents approach's key challenge challenges""".split())
# Markup that abstracts carry (LaTeX, HTML, links): never a keyword, never a word of a name.
MARKUP = set("""textbf textit texttt textsc textrm emph cite citep citet ref eqref label url href http https www
com org html pdf github io mathbf mathrm mathcal mathit frac footnote footnotemark underline item begin end
left right sim times cdot approx leq geq amp nbsp quot lt gt""".split())
# Words that say nothing about what a group of papers does: a name made only of them is refused.
VAGUE = set("""survey surveys comprehensive overview overviews review reviews challenge challenges solution
solutions recent advance advances advancement advancements other others work works approach approaches method
methods technique techniques framework frameworks study studies analysis trend trends future direction
directions perspective perspectives general various miscellaneous misc emerging key new novel current progress
development developments issue issues problem problems opportunity opportunities application applications
introduction conclusion conclusions related topic topics aspect aspects insight insights toward towards
lesson lessons paradigm paradigms landscape remain remains gap gaps lack ground limited limitation limitations
need needs way ways use uses question questions case cases type types kind kinds set sets part parts level
levels number order field fields area areas input inputs output outputs""".split())
_VAGUE_STEMS = stems(" ".join(VAGUE))
_LATEX = re.compile(r"\\[A-Za-z]+\*?|\$[^$]{0,80}\$|https?://\S+|www\.\S+|[{}]")
_WORD = re.compile(r"(?u)\b[A-Za-z][A-Za-z0-9\-]{2,}\b")


def strip_markup(text: str) -> str:
    """`text` without LaTeX commands, inline math, braces and links (and bare markup words)."""
    text = _LATEX.sub(" ", text)
    return " ".join(w for w in text.split() if w.strip(".,;:()[]").lower() not in MARKUP)


def acronyms(topic: str) -> set[str]:
    """Short forms a topic's papers use for it: "multimodal large language models" -> mllm(s), llm(s)."""
    words = [w for w in re.findall(r"[a-z]+", topic.lower()) if w not in {"of", "for", "in", "and", "the", "on"}]
    out: set[str] = set()
    for i in range(len(words)):
        for j in range(i + 2, len(words) + 1):
            short = "".join(w[0] for w in words[i:j])
            out |= {short, short + "s"}
    return out


def topic_words(topic: str) -> set[str]:
    """Words (and stems, short forms) of the topic, with the generic ones: never a distinctive keyword."""
    words = {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z0-9\-]+", topic)}
    return words | stems(topic) | GENERIC | MARKUP | acronyms(topic)


def content(name: str, topic: str) -> set[str]:
    """The stems of `name` that say something: the topic's words and stop words aside."""
    return stems(name) - stems(topic) - STOP - {w.lower() for w in acronyms(topic)}


def grounded(name: str, texts: list[str], topic: str) -> bool:
    """The content words of `name` (it has one) are in most of `texts`: on average in at least half of
    them, and each in at least a third ("Hallucination detection" over papers that detect citation
    hallucinations, some saying "detect" and others "verify")."""
    words = content(name, topic)
    if not words or not texts:
        return False
    bags = [stems(strip_markup(t)) for t in texts]
    shares = [sum(w in bag for bag in bags) / len(bags) for w in words]
    return sum(shares) / len(shares) >= 0.5 and min(shares) * 3 >= 1


def vague(name: str, topic: str) -> bool:
    """A name that could head any survey's section: only vague words once the topic's are aside."""
    return not (content(name, topic) - _VAGUE_STEMS)


def has_markup(name: str) -> bool:
    return bool(_LATEX.search(name)) or any(w.lower() in MARKUP for w in re.findall(r"[A-Za-z]+", name))


def keywords(texts_by_group: list[list[str]], exclude: set[str], n: int = 8) -> list[list[str]]:
    """Distinctive words and bigrams per group, best first: class-based TF-IDF (a group's texts as one
    document), each used by at least two papers of its group (one paper's word is its own name)."""
    import numpy as np
    from sklearn.feature_extraction.text import CountVectorizer

    texts_by_group = [[strip_markup(t) for t in texts] for texts in texts_by_group]
    docs = [" ".join(texts) for texts in texts_by_group]
    vectorizer = CountVectorizer(stop_words="english", token_pattern=_WORD.pattern, ngram_range=(1, 2), lowercase=True)
    counts = vectorizer.fit_transform(docs).toarray().astype(float)
    words = vectorizer.get_feature_names_out()
    papers_using = np.stack([(vectorizer.transform(texts).toarray() > 0).sum(axis=0) for texts in texts_by_group])
    counts = np.where(papers_using >= min(2, *(len(t) for t in texts_by_group)), counts, 0.0)
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    avg = counts.sum() / max(len(docs), 1)
    idf = np.log(1 + avg / np.maximum(counts.sum(axis=0), 1))
    # With a handful of groups idf alone barely separates them: weight by how much of a word's use
    # falls in this group, so words every section uses ("content", "information") sink.
    share = counts / np.maximum(counts.sum(axis=0, keepdims=True), 1)
    scores = tf * idf * share
    out: list[list[str]] = []
    for row in scores:
        picked: list[str] = []
        for i in np.argsort(-row, kind="stable"):
            word = str(words[i])
            if row[i] <= 0 or any(p in exclude for p in word.split()) or any(word in q or q in word for q in picked):
                continue
            picked.append(word)
            if len(picked) == n:
                break
        out.append(picked)
    return out


_NOUNISH = re.compile(r"(?:ing|tion|sion|ment|ance|ence|ity|ness|ics|ysis|ure|age|ers|ors|ies|[^su]s)$")
# A heading of one adjective ("Unified", "Computational", "Trained") says nothing: such words are only
# ever the first word of a two-word name.
_ADJECTIVE = re.compile(r"(?:al|ive|ed|ous|ic|ful|able|ible|less|like|free|wise|level|based|aware)$")
_NOT_ADJECTIVE = {"retrieval", "proposal", "removal", "signal", "journal", "interval", "trial", "tutorial", "material",
                  "embed", "speed", "need", "feed", "metric", "topic", "logic", "music", "rubric", "objective",
                  "alternative", "narrative", "archive", "perspective"}


def adjective(word: str) -> bool:
    """A word that reads as an adjective (by its ending): not a heading by itself nor a phrase's last word."""
    w = word.lower()
    return w not in _NOT_ADJECTIVE and bool(_ADJECTIVE.search(w))


def surface(phrase: str, texts: list[str]) -> str:
    """The phrase as the papers most often spell it ("mmeb" -> "MMEB"); "" when no text has it as written
    (a bigram CountVectorizer made across a dropped stop word: "screening systematic")."""
    forms: dict[str, int] = {}
    pattern = re.compile(r"\b" + r"[\s\-]+".join(map(re.escape, phrase.split())) + r"\b", re.IGNORECASE)
    for text in texts:
        for m in pattern.finditer(strip_markup(text)):
            forms[m.group(0)] = forms.get(m.group(0), 0) + 1
    if not forms:
        return ""
    best = max(sorted(forms), key=lambda f: (forms[f], f.islower()))
    # A word spelt in capitals mid-sentence is a name; a sentence-initial capital is not.
    return " ".join(w if sum(c.isupper() for c in w) >= 2 else w.lower() for w in best.split())


def heading(text: str) -> str:
    return text[:1].upper() + text[1:]


def _readable(phrase: str, texts: list[str], topic: str) -> bool:
    """Grounded, not vague, ends in a noun-like word, and written so in the papers."""
    return (grounded(phrase, texts, topic) and not vague(phrase, topic) and not adjective(phrase.split()[-1])
            and bool(surface(phrase, texts)))


def shared_phrases(texts: list[str], topic: str) -> list[str]:
    """Words and two-word phrases of `texts`, the topic's and vague ones aside, most papers first."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    skip = topic_words(topic) | VAGUE | STOP | set(ENGLISH_STOP_WORDS)
    used: dict[str, int] = {}
    for text in texts:
        tokens = [w.lower() for w in _WORD.findall(strip_markup(text))]
        seen = {w for w in tokens if w not in skip}
        seen |= {f"{a} {b}" for a, b in zip(tokens, tokens[1:]) if a not in skip and b not in skip}
        for phrase in seen:
            used[phrase] = used.get(phrase, 0) + 1
    return sorted(used, key=lambda p: (-used[p], -len(p.split()), p))


# Short adjectives the ending test misses; alone they are no heading ("Long", "Fine").
_PLAIN_ADJECTIVES = {"long", "short", "large", "small", "high", "low", "fine", "coarse", "dense", "sparse", "deep",
                     "fast", "slow", "open", "single", "joint", "full", "free", "rich", "hard", "easy", "new", "better"}


def _bare_adjective(word: str) -> bool:
    return " " not in word and (adjective(word) or word.lower() in _PLAIN_ADJECTIVES)


def keyword_name(words: list[str], texts: list[str], topic: str) -> str:
    """A heading from the group's keywords: the best grounded two-word phrase ("Citation verification"),
    else the best grounded word, with a second when both read as nouns ("Retrieval and reranking").
    Without a grounded keyword: the phrase most of the papers share; "" when there is none."""
    usable = [w for w in words if _readable(w, texts, topic) and not _bare_adjective(w)]
    if not usable:
        usable = [w for w in shared_phrases(texts, topic)[:40] if _readable(w, texts, topic) and not _bare_adjective(w)]
    if not usable:
        return ""
    bigram = next((w for w in usable[:3] if " " in w), None)
    if bigram is not None:
        return heading(surface(bigram, texts))
    first = usable[0]
    second = next((w for w in usable[1:] if " " not in w), None)
    if second and _NOUNISH.search(first) and _NOUNISH.search(second):
        return heading(f"{surface(first, texts)} and {surface(second, texts)}")
    return heading(surface(first, texts))


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
    return heading(kept) if len(words) >= 1 and re.search(r"[A-Za-z]{3}", kept) else name


def clean_name(reply: str, topic: str, texts: list[str] | None = None) -> str:
    """The model's name if it is a short plain heading, not vague, without markup and (given the
    papers' `texts`) grounded in them; else ""."""
    lines = [line for line in reply.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    name = re.sub(r"^(?:theme(?: name)?|name|title|section|heading)\s*[:\-]\s*", "", lines[0].strip(), flags=re.I)
    name = name.strip().strip("\"'*#`.:").strip()
    if ":" in name:  # "Multimodal LLMs: Visual Alignment" echoes the topic before the colon
        name = next((p.strip() for p in reversed(name.split(":")) if len(p.split()) >= 2), name.split(":")[-1].strip())
    if name.count(",") >= 2:  # "LLM, Image, Visual, Temporal": a list of terms, not a heading
        return ""
    if not 1 <= len(name.split()) <= 8 or re.search(r"[\[\]@{}<>|\\]|https?:", name) or len(name) > 70:
        return ""
    name = re.sub(r"^(?:an? )?(?:survey|review|overview)s? (?:on|of)\s+", "", name, flags=re.I).strip()
    if name.lower() == topic.lower().strip() or name.upper() == "NOT IN STORE" or not re.search(r"[A-Za-z]{3}", name):
        return ""
    name = strip_topic(name, topic)
    if has_markup(name) or vague(name, topic) or (texts is not None and not grounded(name, texts, topic)):
        return ""
    return heading(name)



def fallback_name(texts: list[str], topic: str) -> str:
    """The phrase most of `texts` share (grounded or not: the papers have nothing better in common)."""
    for phrase in shared_phrases(texts, topic):
        if not adjective(phrase.split()[-1]) and surface(phrase, texts):
            return heading(surface(phrase, texts))
    return heading(topic)
