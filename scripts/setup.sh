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
  etcd-server etcd-client curl python3
  nlohmann-json3-dev prometheus chromium chromium-driver
  libsqlite3-dev
  clang libfuzzer-14-dev
)
# Optional extras for benchmarks are installed with --bench: fio and friends
# for the physical limits, and the peer brokers with the C client libraries
# peerbench links (../shared/bench, bench/compare.sh).
if [[ "${1:-}" == "--bench" ]]; then
  PKGS+=(fio iperf3 jq hyperfine nats-server redis-server redis-tools
         libnats-dev libhiredis-dev librabbitmq-dev)
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
