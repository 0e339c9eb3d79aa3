"""The figures the kit's prose states about its results, and what backs each one.

A *figure* is a percentage ("99%", "6.5–14.1%"), a ratio ("5.7×", "52x", "14 times", "three times"), a
count with a unit of measurement ("2,811 generator updates", "533,888 parameters"), a time ("883 s",
"about 8 s", "4.5 min", "under a minute", "3 to 11 minutes") or a range of decimals ("0.6 to 0.7").
Bare numbers ("threshold 0.9", "64 numbers", "2×5 grid", "12 epochs", years, lesson numbers) are not
figures: they are settings, shapes or names, and the regular expressions below never pick them up.

Each figure is then, in this order:
1. a *definition* when its context is one of a few definitional ones (``DEFINITIONS``: a lesson's planned
   length, an interval's confidence level, the uniform share of a digit, a hypothetical);
2. a *setting* when it is the value of a setting named right beside it (a notebook's parameters cell, a
   default or constant of the package, the manifest's recorded configuration: "at least 90% sure" and
   ``RECOGNISED_THRESHOLD = 0.9``; "`LR = 2e-3`: ten times the learning rate" against ``LR = 2e-4``);
3. matched by a printed *output* of the same notebook, by the *manifest* entry of a model its sentence
   names (a sentence that names only the generator is held to the generator's figures, never the
   decoder's), or, for run times, by the README's *times table* (the one measured table of notebook run
   times, written by ``python benchmarks/run.py --notebooks``);
4. *allowed* by an explicit, reasoned entry of the caller's allow-list;
5. else *unbacked*: the prose must change.
Rounding is allowed: a figure written with d decimals matches any stored value within half a unit of its
last digit ("69%" and "69.1%" match 0.6907; "52×" matches 52.14; "about 5 minutes" matches 4.5 min).
"""
from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

# Reading figures (figure_text) and what backs them (figure_sources) live beside this module; the tests import
# all of it from here.
from figure_text import Figure, figures, prose_blocks, sentence_figures  # noqa: F401
from figure_sources import (REPO_ROOT, RUN_TIME, Candidate, Names, _within, load_registry,  # noqa: F401
                            manifest_candidates, matches, output_candidates, times_table, without_times_table)


# ---------------------------------------------------------------------------------------------------------
# Settings: numbers that are chosen, not measured

@dataclass
class Setting:
    name: str
    value: float


def package_settings(package: Path = REPO_ROOT / "mnist_gan_utils") -> list[Setting]:
    """Numeric defaults of the package's functions and config fields, and its numeric constants."""
    out = []

    def add(name, node):
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            out.append(Setting(name, float(node.value)))
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = node.args.posonlyargs + node.args.args
                for arg, default in zip(args[len(args) - len(node.args.defaults):], node.args.defaults):
                    add(arg.arg, default)
                for arg, default in zip(node.args.kwonlyargs, node.args.kw_defaults):
                    add(arg.arg, default)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
                add(node.target.id, node.value)
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                    and node.targets[0].id.isupper():
                add(node.targets[0].id, node.value)
    return out


def parameters_cell(cells: list[dict]) -> str:
    return next(("".join(c["source"]) for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])), "")


def parameter_settings(cells: list[dict]) -> list[Setting]:
    """The settings of a notebook's cell tagged ``parameters``."""
    out = []
    for node in ast.parse(parameters_cell(cells)).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out.append(Setting(node.targets[0].id, float(value)))
    return out


def manifest_settings(manifest: dict) -> list[Setting]:
    """The configurations the manifest records for each model."""
    out = []
    for entry in manifest["models"].values():
        for config in (entry.get("config", {}), entry.get("train_config", {})):
            out += [Setting(k, float(v)) for k, v in config.items()
                    if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return out


_NOT_A_NAME = {"max", "min", "per", "num", "size", "the", "use", "default", "epoch", "steps", "step"}
# The words the prose uses for a setting, beside its name's own.
SYNONYMS = {"threshold": ("sure", "at least"), "decay": ("average",)}


def _setting_words(name: str) -> set[str]:
    words = {w for w in name.lower().split("_") if len(w) > 2 and w not in _NOT_A_NAME}
    return words | {s for w in words for s in SYNONYMS.get(w, ())}


NEAR = 40   # characters either side of a figure in which a setting's name must stand


def setting_of(fig: Figure, settings: list[Setting]) -> str | None:
    """The setting ``fig`` states: its value, with the setting's name beside it."""
    if fig.kind == "ratio":   # "`LR = 2e-3`: ten times the DCGAN learning rate": a setting against its default
        for name, value in re.findall(r"`(\w+)\s*=\s*([-+\d.e]+)`", fig.block):
            try:
                stated = float(value)
            except ValueError:
                continue
            for s in settings:
                if s.name == name and s.value and _within(fig.values[0], stated / s.value, fig.step):
                    return f"`{name} = {value}` against {name} = {s.value:g}"
        return None
    if fig.kind not in ("percent", "count") or len(fig.values) != 1:
        return None
    scale = 100 if fig.kind == "percent" else 1
    near = (fig.before[-NEAR:] + fig.text + fig.after[:NEAR]).lower()   # "at least 90% sure", "the critic takes 5"
    for s in settings:
        if (fig.kind == "count" or 0 < s.value <= 1) and _within(fig.values[0], scale * s.value, fig.step) \
                and any(re.search(rf"\b{re.escape(w)}", near) for w in _setting_words(s.name)):
            return f"{s.name} = {s.value:g}"
    return None


# Contexts in which a figure defines or supposes, and states no result of the kit: (why, test).
DEFINITIONS = [
    ("a lesson's planned length (reading and exercises), not a measurement",
     lambda f: f.kind == "time" and re.search(r"What you will learn\**\s*\(\s*about\s*$", f.before)),
    ("the length of a session of the course plan",
     lambda f: f.kind == "time" and re.search(r"\bsessions?\b", f.sentence)),
    ("an interval's confidence level",
     lambda f: f.kind == "percent" and re.match(r"[*\s]*intervals?\b", f.after)),
    ("one digit in ten: the share of each digit in a uniform class histogram",
     lambda f: f.kind == "percent" and f.values == (10.0,)
     and re.search(r"\b(digits?|class|uniform|histogram)\b", f.clause)),
    ("a hypothetical or a definition",
     lambda f: re.search(r"\b(would|you measure|for example|e\.g\.|perfect generator|means)\b", f.clause, re.I)),
]


# ---------------------------------------------------------------------------------------------------------
# The check

@dataclass
class Verdict:
    figure: Figure
    status: str       # setting, definition, output, manifest, times table, allowed, UNBACKED
    why: str


@dataclass
class Document:
    """One file's prose and what backs it: a notebook's markdown cells (and its parameters cell's comments)
    and printed outputs, or a plain markdown file (no outputs)."""
    name: str
    markdown: list[str]                              # its prose, one string per cell
    printed: str = ""                                # every printed output of the notebook
    settings: list = field(default_factory=list)     # its parameters
    own_models: set = field(default_factory=set)     # the models its code loads


def text_outputs(cell: dict):
    """What a cell printed: stream text and text/plain, text/markdown, text/html outputs."""
    for o in cell.get("outputs", []):
        if o["output_type"] == "stream":
            yield "".join(o["text"])
        else:
            for mime in ("text/plain", "text/markdown", "text/html"):
                if mime in o.get("data", {}):
                    yield "".join(o["data"][mime])


def notebook_document(name: str, cells: list[dict], registry) -> Document:
    """A notebook's prose: its markdown cells, and the comments of its parameters cell, which a student
    reads as prose ("EPOCHS = 6  # about 6.5 minutes on 2 CPU cores")."""
    code = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    comments = "\n\n".join(re.findall(r"#\s*(.*)", parameters_cell(cells)))
    return Document(name, ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"] + [comments],
                    "\n".join(t for c in cells for t in text_outputs(c)), parameter_settings(cells),
                    {n for n in registry.RECIPES if re.search(rf"[\"']{n}[\"']", code)})


@dataclass
class Backing:
    manifest: dict
    times: dict          # notebook file name -> Run all seconds (the README's table)
    names: Names
    settings: list       # the package's and the manifest's settings


def check(doc: Document, backing: Backing, allowed: dict | None = None) -> list[Verdict]:
    """A verdict for every figure of ``doc``'s prose. ``allowed``: figure as written -> why it needs no
    backing (an explicit, reviewed exception; never a stale figure)."""
    printed = output_candidates(doc.printed, backing.names) if doc.printed else []
    settings = doc.settings + backing.settings
    return [_verdict(fig, doc, backing, printed, settings, allowed or {})
            for i, markdown in enumerate(doc.markdown) for fig in figures(markdown, f"{doc.name}, part {i}")]


def _verdict(fig, doc, backing, printed, settings, allowed) -> Verdict:
    for why, test in DEFINITIONS:
        if test(fig):
            return Verdict(fig, "definition", why)
    why = setting_of(fig, settings)
    if why:
        return Verdict(fig, "setting", why)
    named, collective = backing.names.named(fig.sentence + " " + _lead(fig.block))
    if not named and not collective:
        named = set(doc.own_models)   # "trains it here": the notebook's own models
    if fig.kind == "time":
        notebooks = set(re.findall(r"\d\d_\w+\.ipynb", fig.block))
        if notebooks or RUN_TIME.search(fig.before):   # a run time: the times table, and nothing else
            for nb in sorted((notebooks or {doc.name}) & set(backing.times)):
                if matches(fig, Candidate("time", (backing.times[nb],), "")):
                    return Verdict(fig, "times table", f"README: {nb} runs in {backing.times[nb]:g} s")
            return _unbacked(fig, allowed, f"the README's times table: {sorted(notebooks or {doc.name})}")
    else:
        for cand in printed:
            if matches(fig, cand, named | collective):
                return Verdict(fig, "output", cand.origin)
    rebuild = bool(re.search(r"pretrain --all|\brebuild", fig.block))
    for cand in manifest_candidates(backing.manifest, named, collective, rebuild, fig.clause, backing.names.partners):
        if matches(fig, cand):
            return Verdict(fig, "manifest", cand.origin)
    return _unbacked(fig, allowed, f"models named: {sorted(named | collective) or 'none'}")


def _lead(block: str) -> str:
    """A list item's bold lead ("**WGAN-GP costs more per generator update.**"): it names the item's subject."""
    m = re.match(r"(?:[-*]|\d+\.)?\s*\*\*(.+?)\*\*", block)
    return m.group(1) if m else ""


def _unbacked(fig, allowed, looked_at) -> Verdict:
    if fig.text in allowed:
        return Verdict(fig, "allowed", allowed[fig.text])
    return Verdict(fig, "UNBACKED", f"nothing backs it ({looked_at})")


def load_backing(readme_text: str | None = None) -> Backing:
    manifest = json.loads((REPO_ROOT / "models" / "manifest.json").read_text())
    readme_text = readme_text if readme_text is not None else (REPO_ROOT / "README.md").read_text()
    return Backing(manifest, times_table(readme_text), Names.from_registry(load_registry()),
                   package_settings() + manifest_settings(manifest))
