// Harness: the broker's config file loader (app/broker/broker_config.h),
// the TOML every broker reads at start.
// Input: the file's text.
// Invariants: any text gives a config or an error text, never a crash or
// an exception; an error names the file; an accepted config holds values
// inside the documented ranges the loader enforces.

#include <cstdint>
#include <string_view>

#include "app/broker/broker_config.h"
#include "tests/fuzz/fuzz_check.h"

using namespace actormq::broker;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  broker_config cfg;
  auto err = load_config_text(text, "fuzz.toml", cfg);
  if (err) {
    FUZZ_CHECK(err->rfind("fuzz.toml", 0) == 0);
    return 0;
  }
  FUZZ_CHECK(cfg.max_connections >= 1);
  FUZZ_CHECK(cfg.max_batch_bytes >= 1024);
  FUZZ_CHECK(cfg.inspect_timeout_ms >= 10);
  (void)check_cluster_config(cfg.cluster);  // valid or not, an answer
  return 0;
}
