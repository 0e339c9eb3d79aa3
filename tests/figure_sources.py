"""What backs a figure: the candidates a notebook's printed outputs and the manifest offer, the README's
times table, and which models a sentence names (tests/prose_figures.py says how they are matched)."""
from __future__ import annotations

import importlib.util
import sys
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from figure_text import NUM, Figure, _number, sentence_figures

REPO_ROOT = Path(__file__).resolve().parents[1]

# ---------------------------------------------------------------------------------------------------------
# What backs a figure

@dataclass
class Candidate:
    kind: str                  # as Figure.kind
    values: tuple              # one number, or (low, high)
    origin: str                # what it is, for messages
    models: frozenset = None   # a ratio of two printed table rows: the models of those rows
    topic: str = None          # a printed ratio: what it is a ratio of (its column, or the words before it)


def _within(x: float, v: float, step: float, bound: str = "=") -> bool:
    if bound == "<":
        return v <= x
    if bound == ">":
        return v >= x
    eps = 1e-9 * max(1.0, abs(x))   # rounding half up: 4.5 reads as 5, never as 4
    return x - step / 2 - eps <= v < x + step / 2 - eps


def matches(fig: Figure, cand: Candidate, named: set = frozenset()) -> bool:
    if cand.kind != fig.kind or len(cand.values) != len(fig.values):
        return False
    if cand.models is not None and not cand.models <= named:
        return False   # a ratio of two printed rows: both rows' models named
    if cand.topic is not None and not _speaks_of(fig.clause, cand.topic):
        return False   # "five times the training minutes" is no Fréchet ratio of 4.5×
    return all(_within(x, v, fig.step, fig.bound) for x, v in zip(fig.values, cand.values))


def _tables(text: str) -> list[list[list[str]]]:
    """The markdown tables in printed ``text``: rows of cells, the header first."""
    tables = []
    for table in re.findall(r"(?:^\|.*\|[ \t]*\n?)+", text, re.M):
        rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in table.strip().split("\n")]
        rows = [r for r in rows if not all(re.fullmatch(r":?-+:?", c) for c in r)]
        if len(rows) > 1:
            tables.append(rows)
    return tables


# Printed table columns whose ratios prose may quote ("14 times the DCGAN D's parameters"): budgets.
BUDGET_COLUMN = re.compile(r"parameters|updates|\(min\)|seconds")


def output_candidates(printed: str, names: "Names") -> list[Candidate]:
    """What a notebook's printed outputs state: every number, read as each kind it can back. (Not times:
    run and training times come from the times table and the manifest.)"""
    c = []
    for m in re.finditer(rf"(?<![\w.])({NUM})\s?%?\s?(?:–|-)\s?({NUM})\s?%", printed):
        c.append(Candidate("percent", (_number(m.group(1))[0], _number(m.group(2))[0]), f"printed {m.group(0)}"))
    for m in re.finditer(rf"(?<![\w.])({NUM})\s?%", printed):
        c.append(Candidate("percent", (_number(m.group(1))[0],), f"printed {m.group(0)}"))
    header = []
    for line in printed.splitlines():
        row = line.startswith("|")
        if not row:
            header = []
        elif not header:
            header = [h.strip() for h in line.strip().strip("|").split("|")]
        for m in re.finditer(rf"(?<![\w.])({NUM})\s?[×x]|\b(?:x|ratio )({NUM})", line):
            cell = line[:m.start()].count("|") - 1
            topic = header[cell] if row and 0 <= cell < len(header) else line[:m.start()][-40:]
            c.append(Candidate("ratio", (_number(m.group(1) or m.group(2))[0],), f"printed {m.group(0)!r} ({topic})",
                               topic=topic))
    for m in re.finditer(rf"(?<![\w.])({NUM})(?![\d.])", printed):
        v = _number(m.group(1))[0]
        c += [Candidate("count", (v,), f"printed {m.group(0)}"), Candidate("value", (v,), f"printed {m.group(0)}")]
        if "." in m.group(1) and v <= 1:   # a printed share: "test accuracy: 0.9961" backs "99.6%"
            c.append(Candidate("percent", (100 * v,), f"printed {m.group(0)}"))
    for rows in _tables(printed):
        for j, header in enumerate(rows[0]):
            if not BUDGET_COLUMN.search(header):
                continue
            cells = []   # (the row's model, its number)
            for r in rows[1:]:
                m = re.match(rf"\D*?({NUM})", r[j]) if j < len(r) else None
                model = names.named(r[0], partners=False)[0]
                if m and len(model) == 1:
                    cells.append((next(iter(model)), _number(m.group(1))[0]))
            for (ma, a), (mb, b) in itertools.permutations(cells, 2):
                if b:
                    c.append(Candidate("ratio", (a / b,), f"printed {header!r}: {ma} {a:g} / {mb} {b:g}",
                                       frozenset({ma, mb}), header))
    return c


# What a ratio compares, in the prose's words: a manifest key or a printed column is compared when the
# clause speaks of it ("trained four times longer": training_seconds; "14 times ... parameters").
KEY_WORDS = {"training": r"train|minutes|longer|slower|faster|time", "seconds": r"seconds|minutes|time",
             "frechet": r"fr[ée]chet|floor", "min": r"training|minutes", "recognised": r"recogni"}


def _speaks_of(clause: str, key: str) -> bool:
    words = [w for w in re.split(r"[\W_]+", key.lower()) if len(w) > 2 and w not in ("mean", "rate", "ratio")]
    return any(re.search(KEY_WORDS.get(w, re.escape(w)), clause, re.I) for w in words)


def manifest_candidates(manifest: dict, named: set[str], collective: set[str], rebuild: bool,
                        clause: str = "", partners: dict | None = None) -> list[Candidate]:
    """What the manifest holds for the models a sentence names (``named``; ``collective``: a group it names
    as a whole, "the rungs"), and the rebuild times when it speaks of rebuilding every model."""
    partners = partners or {}
    models = manifest["models"]
    c = []
    for name in sorted((named | collective) & set(models)):
        entry = models[name]
        if isinstance(entry.get("training_seconds"), (int, float)):
            c.append(Candidate("time", (entry["training_seconds"],), f"{name}.training_seconds"))
        if isinstance(entry.get("parameters"), int):
            c.append(Candidate("count", (entry["parameters"],), f"{name}.parameters"))
        metrics = entry.get("metrics", {})
        for key, v in metrics.items():
            origin = f"{name}.metrics.{key}"
            if isinstance(v, list) and v and all(isinstance(x, (int, float)) for x in v):
                c.append(Candidate("value", (min(v), max(v)), origin))
                if max(v) <= 1:
                    c.append(Candidate("percent", (100 * min(v), 100 * max(v)), origin))
                    c += [Candidate("percent", (100 * x,), origin) for x in v]
                c += [Candidate("count", (x,), origin) for x in v if float(x).is_integer()]
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                c.append(Candidate("value", (v,), origin))
                if "seconds" in key:
                    c.append(Candidate("time", (v,), origin))
                elif "ratio" in key:
                    c.append(Candidate("ratio", (v,), origin, topic=key))
                elif 0 <= v <= 1:
                    c.append(Candidate("percent", (100 * v,), origin))
                if float(v).is_integer():
                    c.append(Candidate("count", (v,), origin))
        for prefix in ("", "unconditional_"):
            lo, hi = metrics.get(f"{prefix}min_class_fraction"), metrics.get(f"{prefix}max_class_fraction")
            if lo is not None and hi is not None:
                c.append(Candidate("percent", (100 * lo, 100 * hi), f"{name}: {prefix}min/max_class_fraction"))
    # "3 to 11 minutes" for the rungs: the fastest and the slowest of the models named, or of the group
    specific = sorted(named & set(models) - set(partners.values()))   # a generator stands for its partner
    group = sorted(specific if len(specific) > 1 else collective & set(models))
    times = [models[n]["training_seconds"] for n in group
             if isinstance(models[n].get("training_seconds"), (int, float))]
    if len(times) > 1:
        c.append(Candidate("time", (min(times), max(times)), f"training_seconds of {', '.join(group)}"))
    # "three times the training minutes of rung 1": two named models, compared on what the clause names
    for a, b in itertools.permutations(specific, 2):
        pairs = [(key, models[a].get(key), models[b].get(key)) for key in ("training_seconds", "parameters")]
        pairs += [(key, v, models[b].get("metrics", {}).get(key)) for key, v in models[a].get("metrics", {}).items()]
        for key, va, vb in pairs:
            if isinstance(va, (int, float)) and isinstance(vb, (int, float)) and vb and _speaks_of(clause, key):
                c.append(Candidate("ratio", (va / vb,), f"{a}.{key} / {b}.{key}"))
    if rebuild:
        if isinstance(manifest.get("rebuild_seconds_estimate"), (int, float)):
            c.append(Candidate("time", (manifest["rebuild_seconds_estimate"],), "rebuild_seconds_estimate"))
        c += [Candidate("time", (r["seconds"],), f"rebuilds: {r['command']}") for r in manifest.get("rebuilds", [])
              if isinstance(r.get("seconds"), (int, float))]
    return c


TIMES_COLUMN = "2 CPU cores"


def _times_rows(readme: str):
    """The rows of the README's notebook table: (line, notebook file name, the column "2 CPU cores")."""
    header = None
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else None
        if cells is None:
            header = None
        elif header is None:
            header = cells if TIMES_COLUMN in cells else []
        elif header and len(cells) == len(header):
            name = re.search(r"\d\d_\w+\.ipynb", cells[0])
            if name:
                yield line, name.group(0), cells[header.index(TIMES_COLUMN)]


def times_table(readme: str) -> dict[str, float]:
    """The one measured table of notebook run times (the README's, written by ``python benchmarks/run.py
    --notebooks``): notebook file name -> Run all seconds on 2 CPU cores."""
    times = {}
    for _, name, cell in _times_rows(readme):
        time = sentence_figures(cell)
        if time and time[0].kind == "time":
            times[name] = time[0].values[0]
    return times


def without_times_table(readme: str) -> str:
    """The README without its times table's rows: they are the source, not figures to back."""
    rows = {line for line, _, _ in _times_rows(readme)}
    return "\n".join(line for line in readme.splitlines() if line not in rows)


# A time is a notebook's run time when its sentence says so; else a training or rebuild time.
RUN_TIME = re.compile(r"\bruns? in\b|\bRun all\b|\bTime:")

# ---------------------------------------------------------------------------------------------------------
# Names: which models a sentence speaks of

def load_registry():
    """mnist_gan_utils/registry.py, read on its own while it imports nothing (this check needs no torch)."""
    spec = importlib.util.spec_from_file_location("_registry", REPO_ROOT / "mnist_gan_utils" / "registry.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
    except ImportError:   # it imports the package's modules: import it as the package does
        return importlib.import_module("mnist_gan_utils.registry")
    return module


# The field's words for the models, beside the registry's names and titles (DESIGN.md's vocabulary).
FIELD_WORDS = {"DCGAN": "generator", "plain GAN": "generator", "VAE": "decoder", "cGAN": "conditional_generator",
               "conditional GAN": "conditional_generator", "WGAN-GP": "wgan_gp_generator",
               "self-conditioning": "self_conditioned_generator", "self-conditioned": "self_conditioned_generator",
               "weight average": "averaged_generator", "predictor": "latent_code_predictor",
               "flow-matching": "flow_matching", "second judge": "mlp_classifier", "MLP": "mlp_classifier",
               "second classifier": "mlp_classifier", "C2": "mlp_classifier", "judge": "classifier",
               "notebook 02's run": "generator_6_epochs", "02 run": "generator_6_epochs"}
# Words so common in the prose that they name a model only when the sentence names no other.
WEAK_WORDS = {"generator": "generator", "discriminator": "discriminator", "classifier": "classifier"}
COLLECTIVE = re.compile(r"\b(?:rungs?|ladder)\b(?!\s+\d)")


@dataclass
class Names:
    aliases: list        # (alias, model), longest first
    partners: dict       # generator -> its discriminator or critic
    ladder: list

    @classmethod
    def from_registry(cls, registry) -> "Names":
        aliases = {}
        for name in registry.RECIPES:   # "generator" alone is a common word: weak, below
            for alias in (f"{name}.pth", f'"{name}"', name, name.replace("_", " ")):
                if alias not in WEAK_WORDS:
                    aliases[alias] = name
        short = {}   # titles without their brackets: "flow matching" of "flow matching (guidance 1.5)"
        for titles in (registry.titles(), registry.ladder()):
            for name, title in titles.items():
                title = re.sub(r"^\d+ · \+?\s*", "", title)
                aliases[title] = name
                short.setdefault(re.sub(r"\s*\([^)]*\)", "", title), set()).add(name)
        # only when it is one model's, and not a word of the field ("DCGAN": the kit's generator.pth)
        aliases.update({t: next(iter(n)) for t, n in short.items() if len(n) == 1 and t not in FIELD_WORDS})
        for i, name in enumerate(registry.ladder()):
            aliases[f"rung {i}"] = name
        for word, name in FIELD_WORDS.items():
            aliases.setdefault(word, name)
        ordered = sorted(((a, n) for a, n in aliases.items() if a), key=lambda x: -len(x[0]))
        return cls(ordered, registry.partners(), list(registry.ladder()))

    def named(self, text: str, partners: bool = True) -> tuple[set[str], set[str]]:
        """The models ``text`` names (each generator with its discriminator or critic), and the group it
        names as a whole (the ladder's rungs)."""
        found, rest = set(), text
        for alias, name in self.aliases:
            pattern = re.compile(rf"(?<![\w-]){re.escape(alias)}(?![\w-])", re.I if alias.islower() else 0)
            if pattern.search(rest):
                found.add(name)
                rest = pattern.sub(" ", rest)
        if not found:
            found = {name for word, name in WEAK_WORDS.items() if re.search(rf"\b{word}\b", rest, re.I)}
        if partners:
            found |= {self.partners[n] for n in found if n in self.partners}
        collective = set()
        if COLLECTIVE.search(text):
            collective = set(self.ladder) | ({self.partners[n] for n in self.ladder} if partners else set())
        return found, collective
