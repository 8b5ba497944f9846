"""Checking generated text: the citation gate and `Checker` (`checker`), claim splitting (`claims`), judges
and their verdict vocabulary (`verdict`, `judges`, `nli`, `calibration`), the deterministic rules for a
claim (`rules`) and for one drafted sentence (`sentences`), verification reports (`verify`), repair
(`repair`) and benchmark scoring (`evaluate`).

May import `agent.store`, `agent.sources`, `agent.llm` and `agent.core`.
"""
