#pragma once
// The whole broker in one call: the actor system, the coordinators, the RPC
// and fetch-stream listeners, the inspector's HTTP port and, in a cluster,
// the control plane and replication. main() parses the command line and
// calls it; the RPC fuzz harness (tests/fuzz/rpc_fuzz.cpp) runs it on a
// thread of its own.

#include <cstdint>
#include <functional>

#include "app/broker/broker_config.h"

namespace actormq::broker {

struct broker_run_hooks {
  /// Called on the broker's KJ thread once it serves, with the RPC port
  /// (the actual one when cfg asked for port 0) and a function that stops
  /// the broker cleanly, like SIGTERM, from any thread (once; later calls
  /// and calls after run_broker returned do nothing).
  std::function<void(uint16_t rpc_port, std::function<void()> stop)> on_listening;
  /// Stop cleanly on SIGTERM/SIGINT, which the caller captured with
  /// kj::UnixEventPort::captureSignal before starting any thread (main
  /// does). Without it the broker serves until a listener breaks.
  bool stop_on_signals = true;
};

/// Runs the broker until it is stopped; returns the process exit code (0
/// after a clean stop, 1 when it could not start or a listener broke).
int run_broker(const broker_config& cfg, const broker_run_hooks& hooks = {});

}  // namespace actormq::broker
