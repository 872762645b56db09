#!/usr/bin/env bash
# Installs the test dependencies, builds, and runs every test through ctest:
# unit (cmocka), spec (router vs api-spec), fuzz corpus replay, integration
# (pytest with the real docker CLI and docker-py), style, and the quick bench.
#
# Environment: BERTH_BUILD_DIR (default build-test), BERTH_CMAKE_ARGS (e.g.
# -DBERTH_SANITIZE=ON), BERTH_CTEST_ARGS (e.g. -L 'unit|integration').
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --test
build=${BERTH_BUILD_DIR:-build-test}
# shellcheck disable=SC2086  # word splitting of the args variables is intended
cmake -S . -B "$build" -DBERTH_TESTS=ON ${BERTH_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j"$(nproc)"
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1}
# shellcheck disable=SC2086
eval ctest --test-dir "$build" --output-on-failure ${BERTH_CTEST_ARGS:-}
