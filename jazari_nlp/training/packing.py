"""Training data for causal LMs at corpus scale: documents tokenized on disk, packed into blocks whose documents
do not see each other.

1. :func:`tokenize_documents`: one ``input_ids`` row per document (EOS before and after it: evaluation scores a
   document's first token after EOS, so training must learn that; without the leading EOS the first token of
   every document was never trained, which cost the quickstart 0.19 held-out bits per byte), written by ``datasets.map``
   (``batched``, ``num_proc`` worker processes) as Arrow files in ``cache_dir``. The cache key is the sha256 of
   the tokenizer's files (as ``save_pretrained`` writes them: in-memory changes count) and of the inputs, so a
   second call with the same tokenizer and text reads the files back instead of tokenizing again.
2. :func:`pack_blocks`: the documents laid end to end and cut into blocks of ``block_size`` tokens, streamed
   over Arrow batches with numpy (linear in the tokens, never a Python list of all ids), no padding (the last,
   incomplete block is dropped and counted). Each block has

   - ``position_ids`` restarting at 0 where a document starts, and at 0 at every block start: the rest of a
     document cut across blocks counts again from 0 (its positions stay below ``block_size``, within the
     positions a model was trained on; GPT-2's learned positions could not even index past them);
   - ``labels`` = ``input_ids`` except -100 on the first token of each document that starts inside the block,
     so that the last token (EOS) of one document is never trained to predict the next document.

3. :func:`collate_packed` stacks blocks for a DataLoader/``Trainer`` without any ``attention_mask``:
   transformers (5.x, ``masking_utils.find_packed_sequence_indices``) then reads the document boundaries from
   ``position_ids`` (a new document wherever the position does not grow by 1) and builds a block-diagonal
   causal mask for the sdpa, eager and flex implementations (flash-attention uses the same ``position_ids`` as
   variable-length sequences). It does so only when the forward has no KV cache: a model config saying
   ``use_cache: true`` (the default) makes the forward build one and the documents see each other again.
   ``Trainer`` sets ``use_cache`` from ``TrainingArguments.use_cache`` (False); a hand-written loop calls
   :func:`enable_packed_attention`, which turns it off and checks the isolation on the model itself.

Example::

    docs = tokenize_documents(texts, tokenizer, run / "cache", num_proc=4)
    blocks = pack_blocks(docs, 1024, run / "cache")
    enable_packed_attention(model)
    loader = DataLoader(blocks, batch_size=8, collate_fn=collate_packed)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import Field

from jazari_nlp.errors import InputError
from jazari_nlp.hf_logging import without_length_warning
from jazari_nlp.schema import ConfigPath, StrictModel
from jazari_nlp.training.mixing import MixConfig

log = logging.getLogger("jazari_nlp.train")

# Bump when the layout of the cached files changes: older caches are then ignored, never misread.
TOKENS_VERSION = "tokens-v2"  # v2: each document starts with EOS, as evaluation scores it
BLOCKS_VERSION = "blocks-v1"
_TEXT_BATCH = 10_000  # texts per Arrow record batch when an iterable of strings is written to the cache


class PackingConfig(StrictModel):
    """How training text becomes blocks: parallel tokenization cached on disk, packing, source mixing.

    Example::

        packing: {block_size: 1024, num_proc: 8, mix: {weights: {zgh_Tfng: 2.0}, alpha: 0.5,
                  token_budget: 200_000_000}}
    """

    block_size: int = Field(1024, ge=8, description="Tokens per packed block (no padding; position ids and "
                            "attention restart at each document).")
    num_proc: int = Field(1, ge=1, description="Worker processes that tokenize (datasets.map num_proc).")
    cache_dir: ConfigPath | None = Field(None, description="Folder of the tokenized and packed Arrow files "
                                         "(None: a folder of the run directory).")
    mix: MixConfig = Field(default_factory=MixConfig, description="Weighted mixing of sources or languages.")


# ------------------------------------------------------------------------------------------------ tokenizing


def tokenizer_fingerprint(tokenizer: Any) -> str:
    """sha256 of the files ``tokenizer.save_pretrained`` writes (vocabulary, merges, added and special tokens,
    chat template): two tokenizers with the same fingerprint give the same ids wherever they were loaded from.
    Example: ``tokenizer_fingerprint(AutoTokenizer.from_pretrained("runs/q/tokenizer"))[:8]``."""
    h = hashlib.sha256(type(tokenizer).__name__.encode())
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer.save_pretrained(tmp)
        for f in sorted(Path(tmp).rglob("*")):
            if f.is_file():
                h.update(f.relative_to(tmp).as_posix().encode() + b"\0")
                h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


def tokenize_documents(texts: Iterable[str] | Any, tokenizer: Any, cache_dir: Path, *, num_proc: int = 1,
                       text_field: str = "text", add_eos: bool = True, lead_eos: bool = True) -> Any:
    """A ``datasets.Dataset`` with one ``input_ids`` row (int32) per non-empty document, EOS before (``lead_eos``)
    and after it (``add_eos``), written in
    ``cache_dir``; the same tokenizer and inputs again read the cached files. ``texts``: a ``datasets.Dataset``
    with a ``text_field`` column, or any iterable of strings (streamed once into an Arrow file of text, hashed
    on the way). Empty documents give no row (their count is logged).

    Example: ``tokenize_documents(["azul", "salam"], tok, Path("/tmp/c"))["input_ids"]`` → ``[[2, ..., 2], [2, ..., 2]]``.
    """
    from datasets import Dataset, Features, List, Value

    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    if add_eos and tokenizer.eos_token_id is None:
        raise InputError(f"the tokenizer {getattr(tokenizer, 'name_or_path', '')!r} has no EOS token, and packed "
                         "documents are separated by EOS: set `eos_token` in its tokenizer_config.json")
    if isinstance(texts, Dataset):
        if text_field not in texts.column_names:
            raise InputError(f"the data set has no column {text_field!r} (columns: {', '.join(texts.column_names)})"
                             ": set text_field to the column that holds the text")
        docs, source = texts.select_columns([text_field]), texts._fingerprint
    else:
        docs = _texts_to_arrow(texts, cache_dir, text_field)
        source = docs._fingerprint
    key = _sha(TOKENS_VERSION, tokenizer_fingerprint(tokenizer), source, text_field, str(add_eos), str(lead_eos))[:32]
    eos = [tokenizer.eos_token_id] if add_eos else []
    lead = eos if lead_eos else []
    without_length_warning(tokenizer)  # whole documents are tokenized, then cut into blocks

    def encode(batch: dict[str, list], indices: list[int]) -> dict[str, list]:
        texts_ = batch[text_field]
        for i, t in zip(indices, texts_, strict=True):
            if not isinstance(t, str):
                raise InputError(f"row {i} of the data set: {text_field!r} is {type(t).__name__}, not text: "
                                 "remove the row or fill its text")
        ids = tokenizer([t for t in texts_ if t.strip()], add_special_tokens=False)["input_ids"]
        return {"input_ids": [lead + x + eos for x in ids]}

    out = docs.map(encode, batched=True, batch_size=1000, with_indices=True,
                   num_proc=num_proc if num_proc > 1 else None, remove_columns=[text_field], features=Features({"input_ids": List(Value("int32"))}),
                   cache_file_name=str(cache_dir / f"tokens-{key}.arrow"), new_fingerprint=key,
                   desc="tokenizing")
    if len(out) < len(docs):
        log.info("tokenizing: %d of %d documents are empty and give no tokens", len(docs) - len(out), len(docs))
    return out


def _texts_to_arrow(texts: Iterable[str], cache_dir: Path, text_field: str) -> Any:
    """Stream ``texts`` into ``cache_dir/texts-<sha256>.arrow`` (record batches; the hash of the texts names the
    file, so the same texts map to the same file and the tokenization cache finds them)."""
    import pyarrow as pa
    from datasets import Dataset, Features, Value
    from datasets.arrow_writer import ArrowWriter

    h = hashlib.sha256(text_field.encode())
    fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".texts-", suffix=".arrow")
    os.close(fd)
    try:
        writer = ArrowWriter(features=Features({text_field: Value("string")}), path=tmp)
        batch: list[str] = []
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise InputError(f"text {i} is {type(t).__name__}, not a string: give one string per document")
            h.update(len(t.encode("utf-8")).to_bytes(8, "little") + t.encode("utf-8"))
            batch.append(t)
            if len(batch) == _TEXT_BATCH:
                writer.write_table(pa.table({text_field: pa.array(batch, pa.string())}))
                batch = []
        if batch:
            writer.write_table(pa.table({text_field: pa.array(batch, pa.string())}))
        writer.finalize()
        writer.close()
        key = h.hexdigest()[:32]
        path = cache_dir / f"texts-{key}.arrow"
        if path.exists():
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    ds = Dataset.from_file(str(path))
    ds._fingerprint = key  # content-addressed, as datasets does for the files it writes itself
    return ds


def _sha(*parts: str | None) -> str:
    return hashlib.sha256("\0".join(p or "" for p in parts).encode()).hexdigest()


def count_tokens(docs: Any, column: str = "input_ids") -> int:
    """Total tokens of a tokenized data set, from the Arrow list lengths (no ids are read into Python).
    Example: ``count_tokens(tokenize_documents(texts, tok, cache))``."""
    import pyarrow.compute as pc

    total = 0
    for table in docs.select_columns([column]).with_format("arrow").iter(batch_size=100_000):
        total += int(pc.sum(pc.list_value_length(table.column(column))).as_py() or 0)
    return total


# ------------------------------------------------------------------------------------------------ packing


def pack_blocks(docs: Any, block_size: int, cache_dir: Path, *, docs_per_batch: int = 1000) -> Any:
    """Blocks of ``block_size`` tokens (``input_ids``, ``position_ids``, ``labels``; int32) from the
    ``input_ids`` rows of ``docs``, written to ``cache_dir/blocks-<key>.arrow`` (reused for the same documents
    and block size), with a ``.json`` beside it counting documents, tokens, blocks and the dropped tail.

    >>> from datasets import Dataset
    >>> b = pack_blocks(Dataset.from_dict({"input_ids": [[5, 6, 2], [7, 2], [8, 9, 2]]}), 4, Path("/tmp/c"))
    >>> b[0]["input_ids"], b[0]["position_ids"], b[0]["labels"]
    ([5, 6, 2, 7], [0, 1, 2, 0], [5, 6, 2, -100])
    >>> b[1]["position_ids"], b[1]["labels"]   # "2" ends the document of the previous block: positions restart
    ([0, 0, 1, 2], [2, -100, 9, 2])
    """
    import numpy as np
    import pyarrow as pa
    from datasets import Dataset, Features, List, Value
    from datasets.arrow_writer import ArrowWriter

    if block_size < 2:
        raise InputError(f"block_size {block_size}: a block needs at least 2 tokens")
    if "input_ids" not in docs.column_names:
        raise InputError(f"the documents have no input_ids column (columns: {', '.join(docs.column_names)}): "
                         "tokenize them with tokenize_documents first")
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = _sha(BLOCKS_VERSION, docs._fingerprint, str(block_size))[:32]
    path = cache_dir / f"blocks-{key}.arrow"
    if not path.exists():
        features = Features({k: List(Value("int32")) for k in ("input_ids", "position_ids", "labels")})
        fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".blocks-", suffix=".arrow")
        os.close(fd)
        stats = {"block_size": block_size, "documents": 0, "tokens": 0, "blocks": 0}
        try:
            writer = ArrowWriter(features=features, path=tmp)
            carry_ids = np.zeros(0, np.int32)
            carry_start = np.zeros(0, bool)
            for table in docs.select_columns(["input_ids"]).with_format("arrow").iter(batch_size=docs_per_batch):
                ids, starts = _flat_batch(table.column("input_ids"))
                stats["documents"] += int(starts.sum())
                stats["tokens"] += len(ids)
                ids, starts = np.concatenate([carry_ids, ids]), np.concatenate([carry_start, starts])
                n = len(ids) // block_size * block_size
                if n:
                    writer.write_table(_blocks_table(ids[:n], starts[:n], block_size, np, pa))
                    stats["blocks"] += n // block_size
                carry_ids, carry_start = ids[n:], starts[n:]
            writer.finalize()
            writer.close()
            stats["dropped_tail_tokens"] = len(carry_ids)
            if not stats["blocks"]:
                raise InputError(f"not enough text for one training block of {block_size} tokens "
                                 f"({stats['tokens']} tokens in {stats['documents']} documents): lower "
                                 "block_size or add data")
            path.with_suffix(".json").write_text(json.dumps(stats, indent=1))
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        log.info("packed %d tokens of %d documents into %d blocks of %d (%d tail tokens dropped)", stats["tokens"],
                 stats["documents"], stats["blocks"], block_size, stats["dropped_tail_tokens"])
    ds = Dataset.from_file(str(path))
    ds._fingerprint = key
    return ds


def pack_stats(blocks: Any) -> dict[str, int]:
    """The counts :func:`pack_blocks` wrote beside its blocks: documents, tokens, blocks, dropped_tail_tokens.
    Example: ``pack_stats(pack_blocks(docs, 512, cache))["dropped_tail_tokens"]``."""
    return json.loads(Path(blocks.cache_files[0]["filename"]).with_suffix(".json").read_text())


def _flat_batch(column: Any) -> tuple[Any, Any]:
    """The ids of a batch of documents end to end, and a flag on each document's first token."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    col = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    ids = col.flatten().to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    lengths = pc.fill_null(pc.list_value_length(col), 0).to_numpy(zero_copy_only=False)
    firsts = np.concatenate([[0], np.cumsum(lengths)[:-1]])[lengths > 0]  # empty documents start nothing
    starts = np.zeros(len(ids), bool)
    starts[firsts] = True
    return ids, starts


def _blocks_table(ids: Any, starts: Any, block_size: int, np: Any, pa: Any) -> Any:
    """``len(ids) // block_size`` blocks as an Arrow table: positions count from the last document start or
    block start, labels drop each document start that is not a block start."""
    idx = np.arange(len(ids), dtype=np.int64)
    at_block_start = idx % block_size == 0
    last_start = np.maximum.accumulate(np.where(starts | at_block_start, idx, 0))
    positions = (idx - last_start).astype(np.int32)
    labels = ids.copy()
    labels[starts & ~at_block_start] = -100
    offsets = pa.array(np.arange(0, len(ids) + 1, block_size, dtype=np.int32))
    return pa.table({name: pa.ListArray.from_arrays(offsets, pa.array(values))
                     for name, values in (("input_ids", ids), ("position_ids", positions), ("labels", labels))})


# ------------------------------------------------------------------------------------------------ training


def collate_packed(batch: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack packed blocks into int64 tensors ``input_ids``, ``position_ids``, ``labels`` (no attention_mask:
    the model reads document boundaries from ``position_ids``). For ``DataLoader(collate_fn=...)`` or
    ``Trainer(data_collator=...)``. Example: ``collate_packed([blocks[0], blocks[1]])["input_ids"].shape``
    → ``torch.Size([2, block_size])``."""
    import numpy as np
    import torch

    if not batch:
        raise ValueError("collate_packed: empty batch")
    out = {}
    for key in ("input_ids", "position_ids", "labels"):
        rows = [np.asarray(ex[key], dtype=np.int64) for ex in batch]
        if len({len(r) for r in rows}) != 1:
            raise ValueError(f"collate_packed: blocks of different lengths in {key!r}; give blocks from pack_blocks")
        out[key] = torch.from_numpy(np.stack(rows))
    return out


def enable_packed_attention(model: Any, check: bool = True) -> Any:
    """Make ``model`` keep packed documents apart: no KV cache in its forward (with one, transformers skips the
    packed-sequence mask), then, when ``check``, one tiny forward proving that a document packed after another
    gives the logits it gives alone. An attention implementation that ignores packed ``position_ids`` is an
    error naming it. Returns the model. Example: ``enable_packed_attention(AutoModelForCausalLM.from_config(c))``.
    """
    import torch

    model.config.use_cache = False
    if not check:
        return model
    device = next(model.parameters()).device
    vocab = model.get_input_embeddings().weight.shape[0]
    gen = torch.Generator().manual_seed(0)
    a, b = (torch.randint(0, vocab, (1, n), generator=gen).to(device) for n in (5, 4))
    positions = torch.cat([torch.arange(5), torch.arange(4)]).unsqueeze(0).to(device)
    was_training = model.training
    model.eval()  # no dropout in the comparison
    try:
        with torch.no_grad():
            alone = model(input_ids=b).logits.float()
            packed = model(input_ids=torch.cat([a, b], 1), position_ids=positions).logits[:, 5:].float()
    finally:
        model.train(was_training)
    diff = float((packed - alone).abs().max())
    if diff > 1e-3 * max(1.0, float(alone.abs().max())):
        impl = getattr(model.config, "_attn_implementation", None)
        raise InputError(f"the {type(model).__name__} model (attention {impl!r}) lets packed documents attend to "
                         f"each other (logits differ by {diff:.3g}): load it with attn_implementation='sdpa', "
                         "'eager' or 'flex_attention', or train without packing")
    return model
