"""Offline-first: no hub, no telemetry, unless a config sets ``allow_network: true``.

The Hugging Face libraries read these variables when they are first imported, so this runs before any of
them is imported (the CLI calls it first thing; ``run_experiment`` calls it again with the config's choice).
"""

from __future__ import annotations

import os

OFFLINE_VARS = {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_EVALUATE_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
}
# Telemetry stays off even when the network is allowed. HF_UPDATE_DOWNLOAD_COUNTS: `datasets.load_dataset` on
# local files otherwise sends a HEAD request to count a "download" of the json/csv loader.
NO_TELEMETRY_VARS = {"HF_HUB_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1", "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
                     "HF_UPDATE_DOWNLOAD_COUNTS": "0"}
_set_by_us: set[str] = set()
_TRUE_OR_AUTO = {"1", "ON", "YES", "TRUE", "AUTO"}  # how datasets and huggingface_hub read these variables


def disable_telemetry() -> None:
    """Turn the Hugging Face libraries' telemetry off, whatever else the process does: the variables (unless the
    user set them), and the values ``datasets`` and ``huggingface_hub`` already read if they were imported
    first. Runs when ``jazari_nlp`` is imported, so that the library, not only the CLI, never phones home.

    Example: ``disable_telemetry(); os.environ["HF_UPDATE_DOWNLOAD_COUNTS"]`` → ``'0'``.
    """
    import sys

    for key, value in NO_TELEMETRY_VARS.items():
        os.environ.setdefault(key, value)
    datasets_config = sys.modules.get("datasets.config")
    if datasets_config is not None and os.environ["HF_UPDATE_DOWNLOAD_COUNTS"].upper() not in _TRUE_OR_AUTO:
        datasets_config.HF_UPDATE_DOWNLOAD_COUNTS = False
    hub_constants = sys.modules.get("huggingface_hub.constants")
    if hub_constants is not None and os.environ["HF_HUB_DISABLE_TELEMETRY"].upper() in _TRUE_OR_AUTO - {"AUTO"}:
        hub_constants.HF_HUB_DISABLE_TELEMETRY = True


def apply_network_policy(allow_network: bool = False) -> None:
    """Set (or lift, for ``allow_network=True``) the offline switches of the Hugging Face libraries.

    Example: ``apply_network_policy(False)`` makes ``evaluate``, ``datasets`` and ``transformers`` fail fast
    instead of hanging on retries when something tries to reach the Hub.
    """
    disable_telemetry()
    for key, value in OFFLINE_VARS.items():
        if allow_network:
            if key in _set_by_us:
                os.environ.pop(key, None)
                _set_by_us.discard(key)
        elif key not in os.environ:
            os.environ[key] = value
            _set_by_us.add(key)
