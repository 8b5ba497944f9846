"""Offline switches, applied before any heavy library is imported.

litellm fetches a price map at import, huggingface_hub retries the hub, Chroma sends
telemetry, and onnxruntime records a device id and telemetry events in
~/.cache/Microsoft/DeveloperTools/.onnxruntime/ as soon as it is imported, unless told otherwise. The project must never reach for the network unless the
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
    # Read once, when onnxruntime is imported: `disable_telemetry_events()` afterwards does not stop the
    # file from being written (measured with onnxruntime 1.32 and a temporary HOME).
    "ORT_DISABLE_TELEMETRY": "1",
}


def quiet_onnxruntime() -> None:
    """Turn onnxruntime's telemetry events off in this process too: the switch above is too late when
    onnxruntime was imported before `agent` (by the host program of the library)."""
    import onnxruntime

    onnxruntime.disable_telemetry_events()


def apply() -> None:
    """Set every offline switch the user has not set explicitly."""
    for name, value in _SWITCHES.items():
        os.environ.setdefault(name, value)


apply()
