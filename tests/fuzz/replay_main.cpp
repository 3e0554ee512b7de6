// The replay driver: without libFuzzer (the test suite's g++ build, under
// ASan+UBSan), a harness binary runs each file given, or each file in each
// directory given, through LLVMFuzzerTestOneInput once. ctest runs it over
// the seed corpus and the regression inputs (tests/fuzz/corpus/<harness>,
// tests/fuzz/regressions/<harness>). A path that does not exist is skipped;
// no input at all is a failure (the corpus went missing).
//
// -mutations=N [-seed=S]: then N inputs made from those files by a small
// random mutator (bit flips, bytes set to edge values, insertions, cuts,
// splices of two files), the same N for the same seed and files. No
// coverage guidance (that is libFuzzer's, in scripts/fuzz.sh): the test
// suite uses it for the rpc harness, whose libFuzzer build would compile
// the whole broker a second time. Each mutated input is written to
// ./mutation-input before it runs, so a crash leaves it behind to replay.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

using bytes = std::vector<uint8_t>;

bytes read_file(const std::filesystem::path& f) {
  std::ifstream in(f, std::ios::binary);
  return bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void mutate(bytes& b, const std::vector<bytes>& all, std::mt19937_64& rng) {
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % std::max<size_t>(n, 1)); };
  static constexpr uint8_t edges[] = {0, 1, 0x7f, 0x80, 0xfe, 0xff};
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits; ++e) {
    switch (rng() % 6) {
      case 0:
        if (!b.empty()) b[pick(b.size())] ^= static_cast<uint8_t>(1u << (rng() % 8));
        break;
      case 1:
        if (!b.empty()) b[pick(b.size())] = edges[pick(sizeof edges)];
        break;
      case 2: {  // a run of random bytes
        auto at = b.begin() + static_cast<long>(pick(b.size() + 1));
        bytes run(1 + pick(16));
        for (auto& x : run) x = static_cast<uint8_t>(rng());
        b.insert(at, run.begin(), run.end());
        break;
      }
      case 3:
        if (!b.empty()) {
          auto from = pick(b.size());
          auto n = std::min(b.size() - from, 1 + pick(32));
          b.erase(b.begin() + static_cast<long>(from), b.begin() + static_cast<long>(from + n));
        }
        break;
      case 4:
        if (!b.empty()) {  // a 32-bit field set to an edge value
          auto at = pick(b.size());
          uint32_t v = rng() % 2 ? 0xffffffffu : 0x80000000u;
          std::memcpy(b.data() + at, &v, std::min<size_t>(4, b.size() - at));
        }
        break;
      case 5: {  // the tail of another input
        const auto& other = all[pick(all.size())];
        if (other.empty()) break;
        auto from = pick(other.size());
        b.resize(pick(b.size() + 1));
        b.insert(b.end(), other.begin() + static_cast<long>(from), other.end());
        break;
      }
    }
  }
  if (b.size() > (1u << 16)) b.resize(1u << 16);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::filesystem::path> files;
  long mutations = 0;
  uint64_t seed = 1;
  for (int i = 1; i < argc; ++i) {
    std::string arg(argv[i]);
    if (arg.rfind("-mutations=", 0) == 0) {
      mutations = std::stol(arg.substr(11));
      continue;
    }
    if (arg.rfind("-seed=", 0) == 0) {
      seed = std::stoull(arg.substr(6));
      continue;
    }
    std::filesystem::path p(arg);
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      for (const auto& e : std::filesystem::directory_iterator(p)) {
        if (e.is_regular_file()) files.push_back(e.path());
      }
    } else if (std::filesystem::is_regular_file(p, ec)) {
      files.push_back(p);
    }
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::fprintf(stderr, "no inputs found\n");
    return 1;
  }
  std::vector<bytes> inputs;
  for (const auto& f : files) {
    inputs.push_back(read_file(f));
    std::fprintf(stderr, "%s (%zu bytes)\n", f.c_str(), inputs.back().size());
    LLVMFuzzerTestOneInput(inputs.back().data(), inputs.back().size());
  }
  std::fprintf(stderr, "%zu input(s) ran\n", files.size());
  if (mutations <= 0) return 0;
  std::mt19937_64 rng(seed);
  for (long i = 0; i < mutations; ++i) {
    const size_t from = static_cast<size_t>(rng() % inputs.size());
    bytes b = inputs[from];
    mutate(b, inputs, rng);
    {
      std::ofstream out("mutation-input", std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    }
    std::fprintf(stderr, "mutation %ld of %s (seed %llu, %zu bytes)\n", i, files[from].c_str(),
                 static_cast<unsigned long long>(seed), b.size());
    LLVMFuzzerTestOneInput(b.data(), b.size());
  }
  std::filesystem::remove("mutation-input");
  std::fprintf(stderr, "%ld mutated input(s) ran\n", mutations);
  return 0;
}
