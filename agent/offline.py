"""Offline switches, applied before any heavy library is imported.

litellm fetches a price map at import, huggingface_hub retries the hub, and Chroma sends
telemetry unless told otherwise. The project must never reach for the network unless the
user configured a remote model, so these are set by the code itself, not only in CI.
"""

import os

_SWITCHES = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
}


def apply() -> None:
    """Set every offline switch the user has not set explicitly."""
    for name, value in _SWITCHES.items():
        os.environ.setdefault(name, value)


apply()
