"""Personal data scrubbing: emails, Moroccan phone numbers, CIN, IBAN/RIB, IP addresses → typed placeholders.

Patterns run in a fixed order (long digit runs first) so that a RIB is never half-eaten by the phone pattern.
They match on a copy of the text with Arabic-Indic (٠-٩) and Eastern Arabic-Indic (۰-۹) digits mapped to ASCII
(same length, so the spans found there are cut out of the original text).

Example::

    >>> scrub("3yet l 0612345678 wla +212 6 12 34 56 78")
    ('3yet l <PHONE> wla <PHONE>', {'PHONE': 2})
"""

from __future__ import annotations

import re

PLACEHOLDERS = {"EMAIL": "<EMAIL>", "IBAN": "<IBAN>", "IP": "<IP>", "PHONE": "<PHONE>", "CIN": "<CIN>"}

_D = r"[\s.\-]?"  # optional separator between digit groups
_IPV4 = r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d.])"
PATTERNS: dict[str, re.Pattern[str]] = {
    "EMAIL": re.compile(r"\b[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)*\.[A-Za-z]{2,}\b"),
    # IBAN MA + 2 check digits + 24-digit RIB (spaces allowed every 4), or a bare 24-digit RIB
    "IBAN": re.compile(r"\bMA\d{2}(?:\s?\d){24}\b|(?<![\d])(?:\d[\s]?){23}\d(?![\d])", re.IGNORECASE),
    "IP": re.compile(rf"{_IPV4}|\b(?:[0-9a-fA-F]{{1,4}}:){{7}}[0-9a-fA-F]{{1,4}}\b"),  # IPv4 or IPv6
    # +212 / 00212 / 0 followed by 5, 6 or 7 and eight more digits, in groups. A number glued to a word is
    # still a number ("l0612345678", "ل0612345678"): only a digit, "+" or a decimal point before it stops it.
    "PHONE": re.compile(
        rf"(?<![0-9+])(?<![0-9][.,])(?:(?:\+|00)212{_D}\(?0?\)?{_D}|0)[5-7](?:{_D}[0-9]){{8}}(?![0-9])"
    ),
    # national identity card: 1-2 Latin letters then 5-6 digits (BK123456, A12345)
    "CIN": re.compile(r"\b[A-Z]{1,2}\d{5,6}\b"),
}


_IPV4_ONLY = re.compile(_IPV4)
_DIGIT = re.compile(r"\d")
# Arabic-Indic and Eastern Arabic-Indic digits → ASCII, one character for one (offsets hold).
_TO_ASCII = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_NON_ASCII_DIGIT = re.compile("[٠-٩۰-۹]")


_DIGIT_DOT_DIGIT = re.compile(r"\d\.\d")  # inside every IPv4 address (an octet ends and the next starts with one)
# Digits (``\d``) each pattern's match holds at least: a text with fewer can't match it.
_MIN_DIGITS = {"IBAN": 24, "PHONE": 10, "CIN": 5, "IP": 4}


def _may_contain(text: str) -> set[str]:
    r"""Kinds whose pattern can match at all (exact necessary conditions, far cheaper than the patterns, which
    try a lookbehind at every character): '@' for an email; for the others a number of digits (``\d``, which
    holds the Arabic-Indic digits the patterns see as ASCII), and for an IPv4 address a digit, a dot and a
    digit in a row (an IPv6 address can be hex letters only, but has 7 colons). Replacements only put
    placeholders (no digit, dot or colon) in place of matches, so what the original text lacks, every later
    version lacks too: checking it once is enough. Example: ``_may_contain("call 0612345678")`` →
    ``{'PHONE', 'CIN'}``."""
    kinds = {"EMAIL"} if "@" in text else set()
    digits = len(_DIGIT.findall(text)) if _DIGIT.search(text) else 0
    kinds.update(k for k, n in _MIN_DIGITS.items() if digits >= n)
    if "IP" in kinds and not _DIGIT_DOT_DIGIT.search(text):
        kinds.discard("IP")
    if text.count(":") >= 7:
        kinds.add("IP")
    return kinds


def scrub(text: str, kinds: tuple[str, ...] = tuple(PATTERNS)) -> tuple[str, dict[str, int]]:
    """Replace each kind of personal data by its placeholder; return the text and counts per kind."""
    counts: dict[str, int] = {}
    possible = _may_contain(text)
    if not possible:  # most documents
        return text, counts
    # placeholders hold no digit: a text without Arabic-Indic digits keeps none after a replacement
    non_ascii = _NON_ASCII_DIGIT.search(text) is not None
    for kind in PATTERNS:
        if kind not in kinds or kind not in possible:
            continue
        pattern = PATTERNS[kind]
        if kind == "IP" and text.count(":") < 7:  # no IPv6 address possible: its alternative, tried at every
            pattern = _IPV4_ONLY  # word start, is a third of the pattern's time; the matches are the same
        if non_ascii:  # (the general form: where the text has no such digit left it is pattern.subn)
            text, n = _sub_on_ascii_digits(pattern, PLACEHOLDERS[kind], text)
        else:
            text, n = pattern.subn(PLACEHOLDERS[kind], text)
        if n:
            counts[kind] = n
    return text, counts


def _sub_on_ascii_digits(pattern: re.Pattern[str], placeholder: str, text: str) -> tuple[str, int]:
    """``pattern.subn`` where the matching sees ASCII digits; the unmatched text keeps its own digits."""
    parts, last, n = [], 0, 0
    for m in pattern.finditer(text.translate(_TO_ASCII)):
        parts += [text[last:m.start()], placeholder]
        last, n = m.end(), n + 1
    return "".join(parts) + text[last:], n
