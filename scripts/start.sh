#!/usr/bin/env bash
# Sets up, builds (Release) and starts the ActorMQ broker with its embedded
# defaults: config from config/actormq.toml, data under ./data.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DACTORMQ_TESTS=OFF >/dev/null
cmake --build build-release -j "${JOBS:-$(nproc)}" --target actormq-broker actormq
exec ./build-release/app/broker/actormq-broker --config config/actormq.toml --data-dir ./data "$@"
