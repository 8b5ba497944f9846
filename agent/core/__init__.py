"""Core vocabulary: settings, errors, the offline switches, `Paper`, citation syntax, prompt templates and
the one text toolkit (`text`: clipping, stems, stop words, the sentence splitter).

Imports nothing from the rest of `agent`; every other layer may import it.
"""
