"""Chat templates saved with a tokenizer, so that SFT and chat evaluation render conversations the same way.

``tokenizer.chat_template`` in a config is ``chatml`` (the default for new tokenizers), a ``.jinja`` file,
inline Jinja, or ``null``. The template is written into ``tokenizer_config.json`` by ``save_pretrained``, and
``AutoTokenizer.from_pretrained(...).apply_chat_template(...)`` uses it. The assistant's turns are wrapped in
``{% generation %}`` so that ``return_assistant_tokens_mask=True`` marks exactly the tokens SFT trains on, in
every assistant turn.

Example::

    template, specials = resolve_chat_template("chatml")
    tok.chat_template = template      # specials ["<|im_start|>", "<|im_end|>"] must be in the vocabulary
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHATML_SPECIALS = ["<|im_start|>", "<|im_end|>"]

CHATML = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' }}"
    "{%- if message['role'] == 'assistant' %}"
    "{% generation %}{{- message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{%- else %}"
    "{{- message['content'] + '<|im_end|>' }}"
    "{%- endif %}"
    "{{- '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

NAMED = {"chatml": (CHATML, CHATML_SPECIALS)}


def _is_inline(v: str) -> bool:
    return "{%" in v or "{{" in v


def check_chat_template(value: str | None, info: Any = None) -> str | None:
    """Validate a config's ``chat_template``: a name, an existing ``.jinja`` file (resolved relative to the
    config file) or inline Jinja that parses. Returns the value to keep (a resolved path for a file)."""
    if value is None or value.strip().lower() in ("none", "null", ""):
        return None
    if value in NAMED:
        return value
    if _is_inline(value):
        _parse(value, "inline chat_template")
        return value
    from jazari_nlp.schema import _resolve

    path = _resolve(value, info) if info is not None else Path(value)
    skip = bool(info is not None and (info.context or {}).get("skip_exists"))
    if not str(path).endswith((".jinja", ".jinja2", ".j2")):
        raise ValueError(f"{value!r} is not a chat template: use one of {', '.join(NAMED)}, a .jinja file, inline "
                         "Jinja ({% for message in messages %}...), or null for none")
    if not skip:
        if not path.is_file():
            raise ValueError(f"chat template file not found: {path}")
        _parse(path.read_text(encoding="utf-8"), str(path))
    return str(path)


def _parse(source: str, where: str) -> None:
    from jinja2 import TemplateSyntaxError
    from jinja2.ext import Extension
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class _Generation(Extension):  # transformers' {% generation %} block, so that such templates parse
        tags = {"generation"}

        def parse(self, parser):
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            from jinja2 import nodes

            return nodes.Scope(body, lineno=lineno)

    try:
        ImmutableSandboxedEnvironment(extensions=[_Generation, "jinja2.ext.loopcontrols"]).parse(source)
    except TemplateSyntaxError as e:
        raise ValueError(f"{where}: the chat template is not valid Jinja (line {e.lineno}: {e.message})") from e


def resolve_chat_template(value: str | None) -> tuple[str | None, list[str]]:
    """The Jinja source of a checked ``chat_template`` value and the special tokens it needs in the vocabulary.

    Example: ``resolve_chat_template("chatml")[1]`` → ``['<|im_start|>', '<|im_end|>']``.
    """
    if value is None:
        return None, []
    if value in NAMED:
        template, specials = NAMED[value]
        return template, list(specials)
    if _is_inline(value):
        return value, []
    return Path(value).read_text(encoding="utf-8"), []


def set_chat_template(tokenizer: Any, value: str | None) -> Any:
    """Give ``tokenizer`` the chat template ``value`` (its special tokens are added when missing)."""
    template, specials = resolve_chat_template(value)
    if template is None:
        return tokenizer
    missing = [t for t in specials if not _has_token(tokenizer, t)]
    if missing:
        tokenizer.add_special_tokens({"additional_special_tokens": missing}, replace_extra_special_tokens=False)
    tokenizer.chat_template = template
    return tokenizer


def _has_token(tokenizer: Any, token: str) -> bool:
    """``token`` is in the vocabulary (or added): one lookup in the fast backend, not a copy of the vocabulary
    (``get_vocab`` builds a 32k-entry dict)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        return backend.token_to_id(token) is not None
    return token in tokenizer.get_vocab()


def write_portable_config(folder: Path) -> None:
    """Make a saved tokenizer folder readable beyond transformers 5: the chat template also goes into
    ``tokenizer_config.json`` (where transformers 4, vLLM and converters look; transformers 5 writes only
    ``chat_template.jinja``, and reads either), and the class is named ``PreTrainedTokenizerFast``, which every
    transformers version loads from ``tokenizer.json`` (``TokenizersBackend`` exists only in 5)."""
    import json

    folder = Path(folder)
    config_file = folder / "tokenizer_config.json"
    config = json.loads(config_file.read_text(encoding="utf-8"))
    jinja = folder / "chat_template.jinja"
    if jinja.is_file():
        config["chat_template"] = jinja.read_text(encoding="utf-8")
    if config.get("tokenizer_class") == "TokenizersBackend":
        config["tokenizer_class"] = "PreTrainedTokenizerFast"
    config_file.write_text(json.dumps(config, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
