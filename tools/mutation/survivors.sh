#!/bin/bash
# survivors.sh REPO NAME LABEL: the diff of every surviving mutant (REPO's .mutmut-cache, just measured).
cd "$1" || exit 1
ids=$(/tmp/mutation32/venv/bin/python -c "
import sqlite3
c = sqlite3.connect('.mutmut-cache')
print(' '.join(str(r[0]) for r in c.execute(\"select id from Mutant where status='bad_survived' order by id\")))")
for id in $ids; do /tmp/mutation32/venv/bin/mutmut show $id 2>&1 | sed -n '/^---/,$p' | grep -v '^--- \|^+++ ' | sed "s/^@@/[$id] @@/"; done
