// Writes the seed corpus of every harness (tests/fuzz/corpus/<harness>/)
// from real files and records: the storage classes and the coordinators'
// encoders write them, so the seeds follow the formats as they are. Run it
// after a format changes and commit its output:
//   fuzz_make_corpus tests/fuzz/corpus
// The config seeds are the shipped config/*.toml and a cluster member's.

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "actors/cluster/broker_registration.h"
#include "actors/cluster/partition_state.h"
#include "actors/cluster/producer_id_block.h"
#include "actors/delay/delay_schedule_record.h"
#include "actors/delay/schedule_envelope.h"
#include "actors/group/offset_record.h"
#include "actors/partition/producer_state_table.h"
#include "actors/retry/retry_headers.h"
#include "actors/topic/topic_config.h"
#include "actors/txn/txn_state_record.h"
#include "storage/leader_epoch_cache.h"
#include "storage/log.h"
#include "storage/offset_checkpoint.h"
#include "storage/offset_store.h"
#include "storage/record_batch.h"
#include "storage/record_batch_builder.h"
#include "storage/schedule_store.h"
#include "storage/txn_log.h"

using namespace actormq;
using namespace actormq::storage;
namespace fs = std::filesystem;

namespace {

#define MUST(x)                                                                  \
  do {                                                                           \
    if (!(x)) {                                                                  \
      std::fprintf(stderr, "make_corpus: %s failed at line %d\n", #x, __LINE__); \
      std::exit(1);                                                              \
    }                                                                            \
  } while (0)

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

template <class T>
std::string le(T v) {
  return std::string(reinterpret_cast<const char*>(&v), sizeof v);
}
std::string sized(const std::string& s) {
  return le<uint32_t>(static_cast<uint32_t>(s.size())) + s;
}

std::string batch(int records, bool headers, int64_t producer = -1) {
  record_batch_builder b;
  if (producer >= 0) b.set_producer(producer, 0, 0);
  for (int i = 0; i < records; ++i) {
    std::vector<record_header> h;
    if (headers) h.push_back({"amq-delivery-count", "2"});
    b.add(std::string_view("key-" + std::to_string(i)),
          std::string_view("value " + std::to_string(i)), timestamp_ms(1700000000000 + i), h);
  }
  return b.build();
}

void record_batches(const fs::path& out) {
  auto dir = out / "record_batch";
  write(dir, "one-record", batch(1, false));
  write(dir, "three-with-headers", batch(3, true));
  write(dir, "idempotent", batch(2, false, 77));
  write(dir, "back-to-back", batch(1, false) + batch(2, true) + batch(4, false, 5));
}

std::string segment_run(const fs::path& dir, uint64_t base) {
  char name[32];
  std::snprintf(name, sizeof name, "%020llu", static_cast<unsigned long long>(base));
  return sized(read_file(dir / (std::string(name) + ".log"))) +
         sized(read_file(dir / (std::string(name) + ".index"))) +
         sized(read_file(dir / (std::string(name) + ".timeindex")));
}

void log_recovery(const fs::path& out, const fs::path& tmp) {
  auto dir = out / "log_recovery";
  auto ldir = tmp / "log";
  log_config cfg;
  cfg.segment_bytes = 600;  // a roll after a few batches
  cfg.index_interval_bytes = 64;
  auto l = log::open(ldir, cfg);
  MUST(l);
  for (int i = 0; i < 6; ++i) {
    auto b = batch(1 + i % 3, i % 2 == 0);
    MUST((*l)->append({reinterpret_cast<uint8_t*>(b.data()), b.size()}));
  }
  MUST((*l)->flush());
  std::vector<uint64_t> bases;
  for (const auto& e : fs::directory_iterator(ldir)) {
    if (e.path().extension() == ".log") bases.push_back(std::stoull(e.path().stem().string()));
  }
  std::sort(bases.begin(), bases.end());
  MUST(bases.size() >= 2);
  // Unclean (still open): the active segment alone, and two segments.
  const uint64_t last = bases.back(), before = bases[bases.size() - 2];
  (void)before;
  write(dir, "active-segment", std::string(1, '\0') + le<uint32_t>(0) + segment_run(ldir, last));
  MUST((*l)->close());
  write(dir, "clean-first-segment",
        std::string(1, '\1') + le<uint32_t>(0) + segment_run(ldir, bases.front()));
  write(dir, "clean-two-segments",
        std::string(1, '\3') + le<uint32_t>(static_cast<uint32_t>(bases[1])) +
            segment_run(ldir, bases.front()) + segment_run(ldir, bases[1]));
}

void storage_files(const fs::path& out, const fs::path& tmp) {
  auto dir = out / "storage_files";
  {
    auto d = tmp / "offsets";
    auto s = offset_store::open(d);
    MUST(s);
    offset_commit c[2] = {{"orders", 0, offset(10), ""}, {"orders", 1, offset(3), "meta"}};
    MUST((*s)->commit("billing", c, timestamp_ms(1700000000000)));
    MUST((*s)->delete_group("old", timestamp_ms(1700000000001)));
    MUST((*s)->close());
    write(dir, "offsets-log", std::string(1, '\0') + read_file(d / "offsets.log"));
  }
  {
    auto d = tmp / "txn";
    auto l = txn_log::open(d);
    MUST(l);
    auto a = (*l)->append_half({"g", "orders", 1, 0, 5000, batch(1, false)}, timestamp_ms(1));
    MUST(a);
    auto b =
        (*l)->append_half({"g", "orders", 0, 1700000009000, 0, batch(2, false)}, timestamp_ms(2));
    MUST(b);
    MUST((*l)->append_decision(*a, txn_decision::commit, timestamp_ms(3)));
    MUST((*l)->append_check(*b, 1, timestamp_ms(9000), timestamp_ms(4)));
    MUST((*l)->close());
    write(dir, "txn-log", std::string(1, '\1') + read_file(d / "txn.log"));
  }
  {
    auto d = tmp / "sched";
    schedule_store_config cfg;
    cfg.bucket_width = std::chrono::milliseconds(1000);
    auto s = schedule_store::open(d, cfg);
    MUST(s);
    const int64_t start = 1700000000000;
    MUST((*s)->add({timestamp_ms(start + 10), 1, 5}));
    MUST((*s)->add({timestamp_ms(start + 20), 1, 6}));
    MUST((*s)->cancel({timestamp_ms(start + 10), 1, 5}));
    MUST((*s)->add({timestamp_ms(start + 30), 1, 7}));
    MUST((*s)->mark_delivered(timestamp_ms(start + 20)));
    MUST((*s)->flush());
    write(dir, "schedule-bucket",
          std::string(1, '\2') + le<uint32_t>(static_cast<uint32_t>(start / 1000)) +
              read_file(d / schedule_store::file_name(timestamp_ms(start))));
  }
  {
    auto d = tmp / "epochs";
    fs::create_directories(d);
    auto c = leader_epoch_cache::open(d);
    MUST(c);
    MUST(c->assign(1, offset(0)));
    MUST(c->assign(3, offset(120)));
    write(dir, "leader-epochs",
          std::string(1, '\3') + read_file(d / leader_epoch_cache::file_name));
  }
  {
    auto d = tmp / "hw";
    fs::create_directories(d);
    offset_checkpoint c(d / "high-watermark");
    MUST(c.write(offset(4242)));
    write(dir, "high-watermark", std::string(1, '\4') + read_file(d / "high-watermark"));
  }
}

void coordinator_records(const fs::path& out) {
  auto dir = out / "coordinator_records";
  auto kv = [](char sel, const std::string& k, const std::string& v) {
    return std::string(1, sel) + sized(k) + sized(v);
  };
  write(dir, "offset",
        kv(0, group::encode_offset_key({"billing", "orders", 3}),
           group::encode_offset_value({42, 1700000000000, "m"})));
  txn::txn_event_record half;
  half.type = txn::event_type::half;
  half.id = txn::make_txn_id(2, 9);
  half.time_ms = 1700000000000;
  half.half = {"g", "orders", 1, 0, 5000, batch(1, false)};
  half.request_id = "req-1";
  write(dir, "txn-half", kv(1, txn::encode_txn_key(half), txn::encode_txn_value(half)));
  txn::txn_event_record check;
  check.type = txn::event_type::check;
  check.id = half.id;
  check.count = 2;
  check.next_check_ms = 1700000060000;
  write(dir, "txn-check", kv(1, txn::encode_txn_key(check), txn::encode_txn_value(check)));
  delay::envelope_record env{1700000005000, "orders", 2, batch(1, false)};
  write(dir, "schedule-envelope",
        kv(2, delay::encode_key(delay::schedule_kind::envelope), delay::encode_value(env)));
  delay::dispatch_record d{4, {{"orders", 2, 10, 1, {{7, 1700000005000}}}}};
  write(dir, "schedule-dispatch",
        kv(2, delay::encode_key(delay::schedule_kind::dispatch), delay::encode_value(d)));
  delay::sequences_record seq{5, 4, {{{"orders", 2}, 11}}};
  write(dir, "schedule-sequences",
        kv(2, delay::encode_key(delay::schedule_kind::sequences), delay::encode_value(seq)));
  delay::schedule_envelope e{"orders", 1, 1700000005000, batch(2, false)};
  write(dir, "envelope", std::string(1, 3) + e.encode(1700000000000));
  write(dir, "retry-headers",
        std::string(1, 4) + sized(std::string(retry::header::delivery_count)) + sized("3") +
            sized(std::string(retry::header::original_topic)) + sized("orders") +
            sized(std::string(retry::header::original_offset)) + sized("17") +
            sized(std::string(retry::header::dlq_reason)) + sized("rejected"));
  producer_state_table t;
  auto pb = batch(2, false, 31);
  auto h = decode_header({reinterpret_cast<const uint8_t*>(pb.data()), pb.size()});
  h.base_offset = offset(5);
  t.record(h);
  write(dir, "producer-state", std::string(1, 5) + t.encode(7));
  topic_config tc;
  tc.partitions = 6;
  tc.replication_factor = 3;
  write(dir, "topic-config", std::string(1, 6) + tc.encode());
  cluster::partition_state ps;
  ps.leader = 2;
  ps.leader_epoch = 4;
  ps.replicas = {1, 2, 3};
  ps.isr = {2, 3};
  write(dir, "partition-state", std::string(1, 7) + ps.encode());
  cluster::broker_registration br{2, "127.0.0.1:9092", "127.0.0.1:9192", 17};
  write(dir, "broker-registration", std::string(1, 8) + br.encode());
  cluster::producer_id_block block{2, 1000, 1999};
  write(dir, "producer-id-block", std::string(1, 9) + block.encode());
}

void config(const fs::path& out) {
  auto dir = out / "config";
  for (const auto& e : fs::directory_iterator(ACTORMQ_CONFIG_DIR)) {
    if (e.path().extension() == ".toml")
      write(dir, e.path().filename().string(), read_file(e.path()));
  }
  write(dir, "cluster-member.toml",
        "[broker]\nlisten = \"127.0.0.1:9092\"\nhttp = \"127.0.0.1:9100\"\n"
        "[cluster]\ncluster_id = \"prod\"\nbroker_id = 2\netcd = \"http://127.0.0.1:2379\"\n"
        "[delay]\nbucket_ms = 1000\n[retry]\nbackoff = \"1s 5s 30s\"\nmax_retries = 3\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  fs::path out(argv[1]);
  auto tmp = fs::temp_directory_path() / ("actormq-corpus-" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  record_batches(out);
  log_recovery(out, tmp);
  storage_files(out, tmp);
  coordinator_records(out);
  config(out);
  fs::remove_all(tmp);
  std::printf("seeds written under %s\n", out.c_str());
  return 0;
}
