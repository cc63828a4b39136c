"""Rolling log-likelihood metrics (lm-eval's ``loglikelihood_rolling`` tasks): word/byte perplexity and bits
per byte.

Each document gives ``(loglikelihood, count)`` items; the corpus value is computed over the sums, so long
documents weigh more (lm-eval's ``weighted_perplexity`` and ``bits_per_byte``). Words are counted as lm-eval
does, ``len(re.split(r"\\s+", text))`` (so leading or trailing whitespace counts one empty word); bytes are
UTF-8 bytes, which makes models with different tokenizers comparable.

Example::

    score_rolling(-20.0, "ⴰⵣⵓⵍ ⴼⵍⴰⵡⵏ")
    # {'word_perplexity': (-20.0, 2), 'byte_perplexity': (-20.0, 28), 'bits_per_byte': (-20.0, 28)}
"""

from __future__ import annotations

import re
from typing import Any


def count_words(text: str) -> int:
    """lm-eval's word count for word perplexity: ``count_words("salam  3likom") == 2``."""
    return len(re.split(r"\s+", text))


def count_bytes(text: str) -> int:
    """UTF-8 bytes: ``count_bytes("ⴰ") == 3``."""
    return len(text.encode("utf-8"))


def score_rolling(loglikelihood: float, text: str, tokens: int | None = None) -> dict[str, Any]:
    """Per-document items for ``word_perplexity``, ``byte_perplexity``, ``bits_per_byte`` and, when the token
    count is given, ``token_perplexity`` (the tokenizer-dependent perplexity the quickstart reports)."""
    ll = float(loglikelihood)
    n_bytes = count_bytes(text)
    items: dict[str, Any] = {
        "word_perplexity": (ll, count_words(text)),
        "byte_perplexity": (ll, n_bytes),
        "bits_per_byte": (ll, n_bytes),
    }
    if tokens is not None:
        items["token_perplexity"] = (ll, int(tokens))
    return items
