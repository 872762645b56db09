#!/usr/bin/env bash
# Installs what berth needs from Debian packages; idempotent (apt runs only
# when something is missing). Usage: scripts/deps.sh [--test]
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config libuv1-dev libcjson-dev libmbedtls-dev libzstd-dev libacl1-dev
            libseccomp-dev libarchive-dev node-llhttp)
test_pkgs=(libcmocka-dev python3 python3-pytest python3-docker python3-yaml nghttp2-client
           curl clang libclang-rt-14-dev clang-format util-linux
           docker-registry apache2-utils busybox-static python3-jwt python3-cryptography
           openssl zstd liblz4-dev nettle-dev libxml2-dev)

want=("${build_pkgs[@]}")
if [[ "${1:-}" == "--test" ]]; then
    want+=("${test_pkgs[@]}")
fi

missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# The integration tests drive the stock docker CLI; Debian's docker.io brings
# one. It and docker-registry ship services that must not start: the tests
# run their own instances (policy-rc.d keeps the packaged ones stopped).
if [[ "${1:-}" == "--test" ]] && ! command -v docker >/dev/null 2>&1; then
    missing+=(docker.io)
fi

if ((${#missing[@]} == 0)); then
    exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "deps.sh: missing packages (${missing[*]}); run as root" >&2
    exit 1
fi
echo "deps.sh: installing ${missing[*]}"
created_policy=0
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    created_policy=1
fi
trap '((created_policy)) && rm -f /usr/sbin/policy-rc.d' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
