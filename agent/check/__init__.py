"""Checking generated text: the citation gate and `Checker` (`checker`), claim splitting (`claims`), judges
and their verdict vocabulary (`verdict`, `judges`, `nli`, `calibration`), the deterministic rules (`rules`),
verification reports (`verify`), repair (`repair`) and benchmark scoring (`evaluate`).

May import `agent.store`, `agent.sources`, `agent.llm` and `agent.core`.
"""
