"""Reading a figure: the figures a text states, each with the text around it (what a figure is, and how it
is then matched: tests/prose_figures.py)."""
from __future__ import annotations

import re
from dataclasses import dataclass

# ---------------------------------------------------------------------------------------------------------
# Reading a figure

NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
SEP = r"\s?(?:–|-|to)\s?"
WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
         "eleven": 11, "twelve": 12, "twenty": 20, "hundred": 100}
UNIT_SECONDS = {"s": 1, "sec": 1, "second": 1, "seconds": 1, "min": 60, "minute": 60, "minutes": 60,
                "h": 3600, "hour": 3600, "hours": 3600}
# value in seconds, and the precision the words give (half a unit of it is the tolerance)
TIME_WORDS = {"a minute and a half": (90, 30), "half a minute": (30, 30), "a minute": (60, 60),
              "half an hour": (1800, 1800), "an hour": (3600, 3600)}
COUNT_UNITS = r"(?:generator updates|G updates|critic updates|updates|parameters)"
BOUNDS = {"under": "<", "less than": "<", "below": "<", "within": "<", "over": ">", "more than": ">"}
_START = r"(?<![\w.,×/])"  # a number's start: not inside a word, a decimal, a list of digits or a path

PATTERNS = [  # (kind, pattern); earlier patterns claim their text first
    ("time", re.compile(rf"{_START}(?P<a>{NUM})(?:{SEP}(?P<b>{NUM}))?"
                        r"(?P<unit>\s?(?:seconds?|sec|minutes?|min|hours?)|\s[sh])\b(?![-'’])")),  # "the 4s": digits
    ("time", re.compile(r"\b(?P<words>a minute and a half|half a minute|half an hour|an hour|a minute)\b")),
    ("percent", re.compile(rf"{_START}(?P<a>{NUM})(?:\s?%?{SEP}(?P<b>{NUM}))?\s?%")),
    ("ratio", re.compile(rf"{_START}(?P<a>{NUM})\s?[×x](?![\w×]|\s?\d)")),
    ("ratio", re.compile(rf"(?:{_START}(?P<a>{NUM})|\b(?P<word>{'|'.join(WORDS)}))\s+times\b", re.I)),
    ("count", re.compile(rf"{_START}(?P<a>{NUM})\s+{COUNT_UNITS}\b")),
    ("value", re.compile(rf"{_START}(?P<a>\d+\.\d+){SEP}(?P<b>\d+\.\d+)(?![\d%×])")),
]


def _number(text: str) -> tuple[float, float]:
    """A number as written, and its precision (one unit of its last digit)."""
    text = text.replace(",", "")
    decimals = len(text.partition(".")[2])
    return float(text), 10.0 ** -decimals


@dataclass
class Figure:
    text: str                 # as written: "6.5–14.1%"
    kind: str                 # percent, ratio, count, time (in seconds) or value
    values: tuple             # one number, or (low, high) for a range
    step: float               # the precision it is written to, in the same unit as values
    bound: str                # "=" (about), "<" (under), ">" (over)
    block: str = ""           # its paragraph, list item or table row, code spans included
    sentence: str = ""
    clause: str = ""          # the part of the sentence between ";", ": " or a table's "|"
    before: str = ""          # the sentence's text from the figure before it (or its start) to it
    after: str = ""           # ... from it to the figure after it (or its end)
    where: str = ""           # the file and cell


def _blank(text: str, pattern: str) -> str:
    return re.sub(pattern, lambda m: " " * len(m.group(0)), text, flags=re.S)


def prose_blocks(markdown: str) -> list[str]:
    """Paragraphs, list items and table rows of ``markdown``, without code blocks, images or link targets."""
    text = _blank(markdown, r"```.*?```")
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", " ", text)          # badges
    text = re.sub(r"\]\([^)]*\)", "]", text)                   # link targets: paths, not prose
    text = re.sub(r"</?\w+[^>]*>", " ", text)                   # <details>, <summary>
    blocks = []
    for para in re.split(r"\n\s*\n", text):
        items = re.split(r"\n(?=\s*(?:[-*] |\d+\. |\|))", para)  # list items and table rows
        blocks += [" ".join(line.strip() for line in item.split("\n")).strip() for item in items]
    return [b for b in blocks if b and not re.fullmatch(r"[|\s:-]*", b)]


_ABBREVIATIONS = re.compile(r"\b(e\.g|i\.e|et al|vs|cf)\.")


def _sentences(block: str) -> list[str]:
    protected = _ABBREVIATIONS.sub(lambda m: m.group(0).replace(".", "\0"), block)
    return [s.replace("\0", ".") for s in re.split(r"(?<=[.!?])\**\s+(?=[A-Z0-9*`(\[_])", protected) if s.strip()]


def figures(markdown: str, where: str = "") -> list[Figure]:
    """Every figure the prose of ``markdown`` states, with the text around it."""
    return [f for block in prose_blocks(markdown) for sentence in _sentences(block)
            for f in sentence_figures(sentence, block, where)]


def sentence_figures(sentence: str, block: str = "", where: str = "") -> list[Figure]:
    searched = _blank(sentence, r"`[^`]*`")   # code is not prose: `LR = 2e-3`, `(5, 6)`
    spans = []
    for kind, pattern in PATTERNS:
        for m in pattern.finditer(searched):
            if not any(a < m.end() and m.start() < b for a, b, *_ in spans):
                spans.append((m.start(), m.end(), kind, m))
    spans.sort(key=lambda s: s[0])
    cuts = [0, *(m.end() for m in re.finditer(r";|:\s|\s\|\s", searched)), len(sentence) + 1]
    out = []
    for i, (start, end, kind, m) in enumerate(spans):
        groups = m.groupdict()
        if groups.get("words"):
            value, step = TIME_WORDS[groups["words"].lower()]
            values = (value,)
        elif groups.get("word"):
            values, step = (WORDS[groups["word"].lower()],), 1.0
        else:
            numbers = [_number(groups[k]) for k in ("a", "b") if groups.get(k)]
            scale = UNIT_SECONDS[groups["unit"].strip()] if groups.get("unit") else 1
            values = tuple(v * scale for v, _ in numbers)
            step = max(s for _, s in numbers) * scale
        before = sentence[spans[i - 1][1] if i else 0:start]
        after = sentence[end:spans[i + 1][0] if i + 1 < len(spans) else len(sentence)]
        lo = max(c for c in cuts if c <= start)
        hi = min(c for c in cuts if c >= end)
        bound = next((b for word, b in BOUNDS.items() if re.search(rf"\b{word}\s*$", before, re.I)), "=")
        out.append(Figure(m.group(0).strip(), kind, values, step, bound, block or sentence, sentence,
                          sentence[lo:hi], before, after, where))
    return out
