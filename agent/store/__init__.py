"""The paper store: the SQLite catalog, Chroma vectors, the BM25 keyword index, hybrid search, ingest (files
-> papers -> chunks -> all three indexes) and `doctor` (check and repair a store).

May import `agent.sources`, `agent.llm` and `agent.core`.
"""
