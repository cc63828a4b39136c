"""Two narrow switches on transformers' console output, used by the training, evaluation and tokenizer stages.

- :func:`without_length_warning`: transformers warns "Token indices sequence length is longer than the specified
  maximum sequence length" when a tokenized text is longer than ``model_max_length``. jazari tokenizes whole
  documents and cuts them into blocks (training packing, evaluation windows, fertility counts), so the warning
  is wrong there; this silences exactly that one warning on one tokenizer, no other.
- :func:`quiet_transformers`: for ``-q``: transformers' progress bars and log messages below errors off for the
  duration of a block, then put back as they were.

Example::

    tok = without_length_warning(AutoTokenizer.from_pretrained("runs/q/tokenizer"))
    with quiet_transformers(not progress):
        model.save_pretrained(out)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# The key transformers records the warning under once shown (PreTrainedTokenizerBase.deprecation_warnings).
LENGTH_WARNING_KEY = "sequence-length-is-longer-than-the-specified-maximum"


def without_length_warning(tokenizer: Any) -> Any:
    """Mark the too-long-sequence warning as already shown on ``tokenizer``; returns the tokenizer."""
    seen = getattr(tokenizer, "deprecation_warnings", None)
    if isinstance(seen, dict):
        seen[LENGTH_WARNING_KEY] = True
    return tokenizer


@contextmanager
def quiet_transformers(enabled: bool = True) -> Iterator[None]:
    """transformers' and datasets' progress bars off and transformers' logging at ERROR inside the block
    (when ``enabled``)."""
    if not enabled:
        yield
        return
    from datasets.utils import logging as ds_logging
    from transformers.utils import logging as tf_logging

    verbosity, bars = tf_logging.get_verbosity(), tf_logging.is_progress_bar_enabled()
    ds_bars = ds_logging.is_progress_bar_enabled()  # datasets.map's "tokenizing" bars too (-q)
    tf_logging.set_verbosity_error()
    tf_logging.disable_progress_bar()
    ds_logging.disable_progress_bar()
    try:
        yield
    finally:
        tf_logging.set_verbosity(verbosity)
        if bars:
            tf_logging.enable_progress_bar()
        if ds_bars:
            ds_logging.enable_progress_bar()
