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
# Telemetry stays off even when the network is allowed.
NO_TELEMETRY_VARS = {"HF_HUB_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1", "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1"}
_set_by_us: set[str] = set()


def apply_network_policy(allow_network: bool = False) -> None:
    """Set (or lift, for ``allow_network=True``) the offline switches of the Hugging Face libraries.

    Example: ``apply_network_policy(False)`` makes ``evaluate``, ``datasets`` and ``transformers`` fail fast
    instead of hanging on retries when something tries to reach the Hub.
    """
    for key, value in NO_TELEMETRY_VARS.items():
        os.environ.setdefault(key, value)
    for key, value in OFFLINE_VARS.items():
        if allow_network:
            if key in _set_by_us:
                os.environ.pop(key, None)
                _set_by_us.discard(key)
        elif key not in os.environ:
            os.environ[key] = value
            _set_by_us.add(key)
