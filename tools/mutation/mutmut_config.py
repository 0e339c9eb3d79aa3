"""mutmut 2's hook (copied into the measured copy's root, never into the kit): run, for each mutant, only the
tests that execute the function the mutant is in (from .covmap.json, made by tools/covmap.py), in their file
order, instead of all the module's tests. A mutant outside any function body (module or class level, a def
line's defaults, a decorator) or in a function no test runs gets all of the module's tests."""
import ast, json, shlex

_map = json.load(open(".covmap.json"))
_lines = {int(k): v for k, v in _map["lines"].items()}
_spans = None


def _functions(filename):
    tree = ast.parse(open(filename).read())
    return [(n.body[0].lineno, n.end_lineno) for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def pre_mutation(context):
    global _spans
    if context.filename != _map["module"]:
        return
    if _spans is None:
        _spans = _functions(context.filename)
    line = context.current_line_index + 1
    inside = [s for s in _spans if s[0] <= line <= s[1]]
    if not inside:
        return
    start, end = max(inside)                                  # the innermost function body holding the line
    chosen = set().union(*(_lines.get(i, []) for i in range(start, end + 1)))
    if not chosen:
        return
    tests = [t for t in _map["tests"] if t in chosen]
    cmd = context.config.test_command
    head = cmd[:cmd.index("-m 'not slow'") + len("-m 'not slow'")]
    context.config.test_command = head + " " + " ".join(shlex.quote(t) for t in tests)
