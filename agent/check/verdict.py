"""The verdict vocabulary: labels, `Verdict` (how one paper stands to one claim), `Case` (what a judge is
shown) and the `Judge` protocol. Shared by judges, reports, calibration and benchmarks; imports nothing heavy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

# The verdict vocabulary, shared by judges, reports and benchmarks.
SUPPORTED, CONTRADICTED, NOT_ENOUGH_INFO = "SUPPORTED", "CONTRADICTED", "NOT_ENOUGH_INFO"
LABELS = [SUPPORTED, CONTRADICTED, NOT_ENOUGH_INFO]
# The trained judge leans to SUPPORTED but without the calibrated margin it needs (meta.json
# `support_threshold`): not a support, and a case for a stronger judge (the cascade). Benchmarks score it
# as NOT_ENOUGH_INFO (3-way) and as not supported (binary).
UNCERTAIN = "UNCERTAIN"


@dataclass
class Verdict:
    """How one paper stands to one claim, and the abstract sentences that decided it."""

    claim: str
    key: str
    label: str
    score: float
    evidence: list[str] = field(default_factory=list)
    probabilities: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    judge: str = ""

    @property
    def supported(self) -> bool:
        return self.label == SUPPORTED

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Case:
    """What a judge is shown: a claim, the cited paper's key and title, and its abstract sentences."""

    claim: str
    key: str
    title: str
    sentences: list[str]

    @property
    def paper_text(self) -> str:
        return " ".join([self.title, *self.sentences])


class Judge(Protocol):
    name: str
    caveat: str  # what is known of the judge's accuracy ("" if nothing was measured)

    def judge(self, cases: list[Case]) -> list[Verdict]: ...
