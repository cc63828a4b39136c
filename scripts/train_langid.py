"""Train the shipped language identifier from its recipe.

Example::

    python scripts/train_langid.py configs/langid.yaml
"""

from __future__ import annotations

import json
import sys

from jazari_nlp.text.langid_train import load_train_config, train_langid

if __name__ == "__main__":
    cfg = load_train_config(sys.argv[1] if len(sys.argv) > 1 else "configs/langid.yaml")
    print(json.dumps(train_langid(cfg), indent=2, ensure_ascii=False))
