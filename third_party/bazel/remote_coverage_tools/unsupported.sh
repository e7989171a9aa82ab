#!/bin/sh
echo "bazel coverage is not supported offline; use gcov/llvm-cov" >&2
exit 1
