#!/usr/bin/env bash
# Installs every Debian 12 package ActorMQ needs to build, test and benchmark.
# Idempotent: when everything is present it only runs dpkg-query and exits.
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build pkg-config git
  libcaf-dev libcapnp-dev capnproto libssl-dev
  libspdlog-dev libfmt-dev catch2
  libtomlplusplus-dev libcli11-dev libisal-dev
  clang-format
)
# Optional extras for benchmarks (fio) are installed with --bench.
if [[ "${1:-}" == "--bench" ]]; then
  PKGS+=(fio)
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
