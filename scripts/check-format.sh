#!/usr/bin/env bash
# Fails when a tracked C file differs from clang-format's output.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=0
while IFS= read -r f; do
    if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
        echo "clang-format: $f needs formatting" >&2
        bad=1
    fi
done < <(git ls-files '*.c' '*.h' 2>/dev/null || find common server handlers runtime storage net tests -name '*.[ch]')
exit $bad
