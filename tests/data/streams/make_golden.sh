#!/bin/bash
# Makes ONE new golden stream from its JSON, once, when a schema version is released
# (docs/stream-format.md, "Golden streams"). Existing goldens are never regenerated: they
# are what older builds really wrote, and today's reader must keep reading them.
#
#   tests/data/streams/make_golden.sh NAME KIND SCHEMA_MINOR
#     reads tests/data/streams/NAME.json, writes tests/data/streams/NAME.stream
#
# The JSON is the payload in `relay-dump json --stored-only` form; a new golden's JSON is
# usually made from a sample (bazel-bin/migration_stream/write_sample_stream) and then
# edited by hand.
set -euo pipefail
if [[ $# -ne 3 ]]; then
    echo "usage: $0 NAME KIND SCHEMA_MINOR" >&2
    exit 2
fi
name="$1"
kind="$2"
minor="$3"
root="$(cd "$(dirname "$0")/../../.." && pwd)"
json="$root/tests/data/streams/$name.json"
out="$root/tests/data/streams/$name.stream"
if [[ -e "$out" ]]; then
    echo "$out exists: golden streams are made once and kept forever" >&2
    exit 1
fi
cd "$root"
bazel build //tools:relay-dump
bazel-bin/tools/relay-dump make "$json" "$out" --kind "$kind" --schema-minor "$minor"
bazel-bin/tools/relay-dump verify "$out"
