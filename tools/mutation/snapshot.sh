#!/bin/bash
# snapshot.sh DEST: a copy of /work/main's working tree (tracked and untracked files, not .git, data/, models/:
# those two are symlinked, read only) to measure in, so that mutmut never writes into the shared tree.
set -e
dest=$1; rm -rf "$dest"; mkdir -p "$dest"
cd /work/main
tar -c --exclude=./.git --exclude=./data --exclude=./models --exclude=./outputs --exclude=./runs --exclude=__pycache__ \
    --exclude=.pytest_cache --exclude='*.egg-info' --exclude=./.benchmarks --exclude=./.hypothesis . | tar -x -C "$dest"
ln -s /work/main/data "$dest/data"; ln -s /work/main/models "$dest/models"
date > "$dest/SNAPSHOT_TAKEN"; git diff --stat -- mnist_gan_utils tests > "$dest/SNAPSHOT_DIFFSTAT"; git status --short > "$dest/SNAPSHOT_STATUS"
