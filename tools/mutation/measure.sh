#!/bin/bash
# measure.sh REPO LABEL MODULE TESTS...
#   e.g. measure.sh /tmp/mutation32/before before mnist_gan_utils/checkpoints.py tests/test_checkpoints.py
# mutmut 2.5.1 over MODULE in the copy REPO against TESTS (-m "not slow"), each mutant's run forked from the warm
# server (tools/forkserver.py on $B/fs.sock); keeps the cache, the result ids and each survivor's diff in results/.
set -u
B=/tmp/mutation32; repo=$1; label=$2; module=$3; shift 3
name=$(echo "$module" | sed 's#mnist_gan_utils/##; s#/#_#g; s#\.py$##')
PY=/root/.pyenv/versions/3.11.7/bin/python
cd "$repo" || exit 1
rm -f .mutmut-cache
find mnist_gan_utils tests -name __pycache__ -prune -exec rm -rf {} +
$PY -m compileall -q mnist_gan_utils tests conftest.py >/dev/null   # the unmutated modules' .pyc: a quicker import
runner="$PY -S $B/tools/runtests.py $B/fs.sock -x -q -p no:cacheprovider -o addopts= -m 'not slow' $*"
cp $B/tools/mutmut_config.py .                                   # per-mutant test selection (see its docstring)
MPLBACKEND=Agg PYTHONDONTWRITEBYTECODE=1 PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 nice -n 10 $PY $B/tools/covmap.py "$module" "$@" > $B/results/$name.$label.covmap.log 2>&1 \
    || { echo "the tests fail unmutated: see $B/results/$name.$label.covmap.log"; exit 1; }
tail -1 $B/results/$name.$label.covmap.log
echo "runner: $runner"
start=$(date +%s)
nice -n 10 $B/venv/bin/mutmut run --paths-to-mutate "$module" --runner "$runner" --tests-dir tests \
    --no-progress --simple-output
echo "seconds: $(( $(date +%s) - start ))"
cp .mutmut-cache $B/results/$name.$label.cache
$B/venv/bin/mutmut results > $B/results/$name.$label.results 2>&1
$B/tools/survivors.sh "$repo" $name $label > $B/results/$name.$label.survivors 2>&1
rm -f mutmut_config.py .covmap.json; rm -rf __pycache__
cmp -s /work/main/$module $module && echo "module unchanged vs /work/main: yes" || echo "module differs from /work/main now"
