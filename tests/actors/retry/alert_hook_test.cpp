#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "actors/retry/alert_hook.h"
#include "support/temp_dir.h"

using namespace actormq::retry;
using namespace std::chrono_literals;

namespace {

bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds limit = 10s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

}  // namespace

TEST_CASE("the alert hook runs the command with the fields as environment", "[retry][alerts]") {
  actormq::test::temp_dir dir("alert-hook");
  auto out = dir.path() / "out.txt";
  alert_hook hook("echo \"$AMQ_REASON $AMQ_TOPIC\" >> " + out.string());
  REQUIRE(hook.fire({{{"AMQ_REASON", "rejected"}, {"AMQ_TOPIC", "orders"}}}));
  REQUIRE(wait_for([&] { return hook.ran() == 1; }));
  std::ifstream in(out);
  std::stringstream ss;
  ss << in.rdbuf();
  CHECK(ss.str() == "rejected orders\n");
  CHECK(hook.failed() == 0);
}

TEST_CASE("the alert hook kills a command that runs past its timeout and its children",
          "[retry][alerts]") {
  actormq::test::temp_dir dir("alert-hook");
  auto pid_file = dir.path() / "child.pid";
  // The shell's child records its pid and outlives the shell unless the
  // whole process group is killed.
  alert_hook hook("sleep 30 & echo $! > " + pid_file.string() + "; wait", 10, 300ms);
  auto start = std::chrono::steady_clock::now();
  REQUIRE(hook.fire({}));
  REQUIRE(wait_for([&] { return hook.ran() == 1; }));
  CHECK(hook.failed() == 1);
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  std::ifstream in(pid_file);
  long child = 0;
  REQUIRE(in >> child);
  REQUIRE(child > 0);
  // Gone, or a zombie waiting for its new parent to reap it.
  auto dead = [&] {
    std::ifstream stat("/proc/" + std::to_string(child) + "/stat");
    std::string pid_text, comm, state;
    if (!(stat >> pid_text >> comm >> state)) return true;
    return state == "Z";
  };
  CHECK(wait_for(dead, 5s));
}

TEST_CASE("the alert hook drops alerts beyond its queue bound", "[retry][alerts]") {
  alert_hook hook("sleep 1", 2, 2s);
  int accepted = 0;
  for (int i = 0; i < 10; ++i) accepted += hook.fire({}) ? 1 : 0;
  CHECK(accepted <= 3);  // one may already be running
  CHECK(hook.dropped() >= 7);
}
