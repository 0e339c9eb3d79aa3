"""covmap.py MODULE TESTS...: which tests run each line of MODULE, for mutmut_config.py's test selection.

Runs the tests once under coverage, each test in its own coverage context (its pytest node id), and writes
.covmap.json in the current folder: {"module": MODULE, "tests": [every node id], "lines": {line: [node ids]}}."""
import json, os, sys

import coverage
import pytest

sys.path.insert(0, os.getcwd())  # the measured copy's package, not the editable install's

module, tests = sys.argv[1], sys.argv[2:]
cov = coverage.Coverage(include=[os.path.abspath(module)], data_file=None)
nodeids = []


class Contexts:
    def pytest_collection_modifyitems(self, items):
        nodeids.extend(item.nodeid for item in items)

    def pytest_runtest_setup(self, item):
        cov.switch_context(item.nodeid)


cov.start()
rc = pytest.main(["-q", "-p", "no:cacheprovider", "-o", "addopts=", "-m", "not slow", *tests], plugins=[Contexts()])
cov.stop()
data = cov.get_data()
lines = {}
for f in data.measured_files():
    for line, ctxs in data.contexts_by_lineno(f).items():
        lines[line] = sorted(c for c in ctxs if c)
json.dump({"module": module, "tests": nodeids, "lines": lines}, open(".covmap.json", "w"), indent=0)
print(f"covmap: {len(nodeids)} tests, {len(lines)} lines measured, pytest rc {rc}")
sys.exit(int(rc))
