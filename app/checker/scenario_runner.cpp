#include "scenario_runner.h"

#include <actormq/client/producer.h>
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <future>
#include <iostream>
#include <iterator>
#include <map>
#include <set>
#include <thread>

#include "actors/delay/delay_schedule_record.h"
#include "log_reader.h"

namespace actormq::checker {

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int replication_factor = 3;

milliseconds since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t);
}

std::string secs(milliseconds d) {
  return fmt::format("{:.1f} s", d.count() / 1000.0);
}

bool contains(const std::vector<int32_t>& v, int32_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

/// A partition's log as one byte string: its segment files in base-offset
/// order (the zero-padded names sort so).
std::string log_bytes(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> segs;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".log") segs.push_back(e.path());
  }
  std::sort(segs.begin(), segs.end());
  std::string out;
  for (const auto& s : segs) {
    std::ifstream in(s, std::ios::binary);
    out.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return out;
}

}  // namespace

const std::vector<std::string>& scenario_runner::scenario_names() {
  static const std::vector<std::string> names = {
      "kill-leader",      "pause-follower",   "pause-leader",     "kill-two",
      "etcd-down",        "restart-all",      "kill-coordinator", "kill-txn-coordinator",
      "kill-delay-owner", "kill-retry-owner", "kill-single"};
  return names;
}

std::string scenario_result::summary() const {
  auto line = fmt::format(
      "{} seed={} rounds={}: {} acked={} read={} lost={} divergent={} phantom={} reordered={} "
      "duplicates(acked)={} duplicates(unacked retries)={} unacked={} longest_unavailable={} "
      "replicas={} failures={} ({})",
      name, seed, rounds, ok() ? "PASS" : "FAIL", check.acked, check.read, check.lost,
      check.divergent, check.phantom, check.reordered, check.duplicates_acked,
      check.duplicates_unacked, check.failed, secs(longest_unavailable), replicas, failures.size(),
      secs(elapsed));
  if (failovers.empty()) return line;
  auto sorted = failovers;
  std::sort(sorted.begin(), sorted.end());
  std::string each;
  for (auto f : failovers) each += fmt::format("{}{}", each.empty() ? "" : " ", f.count());
  // The median of an even count: the mean of the two middle values.
  auto n = sorted.size();
  auto median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  return line + fmt::format(" failover median={} ms max={} ms per round=[{}] ms", median.count(),
                            sorted.back().count(), each);
}

namespace {

/// kill-retry-owner: the retried values' topic, and the brokers' retry
/// policy (short backoffs, so each value's chain of retries takes 1.4 s and
/// many are pending at any moment).
constexpr uint32_t retry_scenario_partitions = 2;
constexpr uint32_t retry_scenario_max_retries = 3;

/// The brokers' config for a scenario: kill-txn-coordinator wants check-backs
/// within a second or two, not the default 6 s + 30 s; kill-retry-owner
/// retries after 200 ms, not 1 s, and gives up after 3, not 16.
cluster_settings cluster_for(const std::string& name, cluster_settings c) {
  if (name == "kill-single") {
    c.standalone = true;
    c.brokers = 1;
  }
  if (name == "kill-txn-coordinator") {
    c.extra_config +=
        "[transactions]\ntimeout_ms = 1000\ncheck_interval_ms = 1000\ncheck_timeout_ms = 2000\n"
        "max_checks = 1000\n";
  }
  if (name == "kill-retry-owner") {
    c.extra_config += fmt::format("[retry]\nbackoff = \"200ms 400ms 800ms\"\nmax_retries = {}\n",
                                  retry_scenario_max_retries);
  }
  return c;
}

}  // namespace

scenario_runner::scenario_runner(std::string name, scenario_settings s)
    : name_(std::move(name)),
      settings_(std::move(s)),
      rng_(settings_.seed),
      cluster_(cluster_for(name_, settings_.cluster)) {
  result_.name = name_;
  result_.seed = settings_.seed;
  result_.rounds = settings_.rounds;
}

void scenario_runner::log(const std::string& line) const {
  if (settings_.verbose) {
    std::cerr << fmt::format("[{} {:>6.1f}s] {}\n", name_, since(started_).count() / 1000.0, line);
  }
}

void scenario_runner::fail(std::string why) {
  log("FAIL: " + why);
  result_.failures.push_back(std::move(why));
}

void scenario_runner::note(std::string what) {
  log(what);
  result_.notes.push_back(std::move(what));
}

void scenario_runner::pause_random(int min_ms, int max_ms) {
  std::uniform_int_distribution<int> d(min_ms, max_ms);
  std::this_thread::sleep_for(milliseconds(d(rng_)));
}

void scenario_runner::await_new_leader(uint32_t p, int32_t victim, const std::string& after) {
  auto bound = milliseconds(settings_.cluster.lease_ttl_ms + 8000);
  auto took = wait_for(
      [&] {
        auto now = partition(p);
        return now && now->leader >= 0 && now->leader != victim;
      },
      bound);
  if (!took) {
    fail(fmt::format("no new leader for partition {} within {} of {}", p, secs(bound), after));
  } else {
    note(fmt::format("partition {}: new leader after {}", p, secs(*took)));
  }
}

uint32_t scenario_runner::pick_partition() {
  std::uniform_int_distribution<uint32_t> d(0, settings_.partitions - 1);
  return d(rng_);
}

std::optional<std::chrono::milliseconds> scenario_runner::wait_for(
    const std::function<bool()>& pred, std::chrono::milliseconds bound) {
  auto start = clock::now();
  auto deadline = start + bound;
  while (clock::now() < deadline) {
    if (pred()) return since(start);
    std::this_thread::sleep_for(milliseconds(100));
  }
  if (pred()) return since(start);
  return std::nullopt;
}

bool scenario_runner::create_topic(const std::string& name, const client::topic_config& cfg,
                                   const std::string& what) {
  bool created = false;
  std::string why;
  wait_for(
      [&] {
        auto* a = cluster_.admin_at(0);
        if (!a) return false;
        auto st = a->create_topic(name, cfg);
        created = st || st.err().is(client::errc::topic_exists);
        if (!st) why = st.err().to_string();
        return created;
      },
      std::chrono::seconds(20));
  if (!created) fail(what + " not created: " + why);
  return created;
}

std::optional<client::partition_metadata> scenario_runner::partition(uint32_t p) {
  auto md = cluster_.metadata(topic_);
  if (!md || md->topics.empty()) return std::nullopt;
  for (const auto& pm : md->topics.front().partitions) {
    if (pm.partition == p) return pm;
  }
  return std::nullopt;
}

bool scenario_runner::isr_full() {
  // Every live broker's view must say so: right after etcd returns, a
  // broker whose watch has not caught up still shows the state before.
  int missing = 0;
  auto views = cluster_.views(topic_, missing);
  if (missing > 0 || views.empty()) return false;
  for (const auto& md : views) {
    if (md.topics.empty() || md.topics.front().partitions.size() != settings_.partitions) {
      return false;
    }
    const auto& first = views.front().topics.front().partitions;
    for (size_t i = 0; i < md.topics.front().partitions.size(); ++i) {
      const auto& pm = md.topics.front().partitions[i];
      if (pm.leader < 0 || pm.isr.size() != static_cast<size_t>(replication())) return false;
      if (pm.leader != first[i].leader || pm.leader_epoch != first[i].leader_epoch) return false;
    }
  }
  return true;
}

bool scenario_runner::read_pass(const std::string& when, milliseconds timeout) {
  log_reader reader(cluster_.bootstrap(), topic_, settings_.partitions);
  std::vector<observation> records;
  std::string error;
  if (!reader.read_all(timeout, records, error, history_.acked_ends(settings_.partitions))) {
    fail("read " + when + " failed: " + error);
    return false;
  }
  history_.observed(records);
  log(fmt::format("read {}: {} records", when, records.size()));
  return true;
}

bool scenario_runner::setup() {
  if (!cluster_.start()) {
    fail("cluster did not start: " + cluster_.error());
    return false;
  }
  log("cluster up at " + cluster_.bootstrap());
  client::topic_config tc;
  tc.partitions = settings_.partitions;
  tc.replication_factor = replication();
  tc.retention_ms = -1;
  tc.retention_bytes = -1;
  tc.segment_bytes = settings_.segment_bytes;
  if (!create_topic(topic_, tc, "topic")) return false;
  if (!wait_for([&] { return isr_full(); }, seconds(20))) {
    fail("the new topic's partitions never had a leader and a full in-sync set");
    return false;
  }
  workload_settings ws;
  for (int i = 0; i < settings_.producers; ++i) {
    ws.bootstraps.push_back(cluster_.bootstrap(i % cluster_.size()));
  }
  ws.topic = topic_;
  ws.partitions = settings_.partitions;
  ws.interval = settings_.send_interval;
  ws.max_in_flight = settings_.max_in_flight;
  ws.batch_bytes = settings_.batch_bytes;
  // A lone broker's acks=all is acks=leader: what it keeps across a SIGKILL
  // is what it synced.
  if (cluster_.settings().standalone) ws.acks = client::acks::fsync;
  workload_ = std::make_unique<workload>(ws, history_);
  workload_->start();
  auto t0 = clock::now();
  if (!wait_for([&] { return history_.acks_between(t0, clock::now(), t0) > 0; }, seconds(20))) {
    fail("no acknowledgement within 20 s of starting the producers");
    return false;
  }
  if (name_ == "kill-txn-coordinator") {
    if (!create_topic(txn_topic_, tc, "transactional topic")) return false;
    txn_workload_settings ts;
    ts.bootstrap = cluster_.bootstrap();
    ts.topic = txn_topic_;
    ts.partitions = settings_.partitions;
    ts.seed = settings_.seed;
    txns_ = std::make_unique<txn_workload>(ts);
    txns_->start();
    if (!wait_for([&] { return txns_->decided_by_call() > 0; }, seconds(30))) {
      fail("no transaction was decided within 30 s of starting the producers");
      return false;
    }
  }
  if (name_ == "kill-delay-owner") {
    client::topic_config dc = tc;
    dc.partitions = settings_.delay_partitions;
    if (!create_topic(delay_topic_, dc, "delayed messages' topic")) return false;
    // Every partition of the target topic and of __delay_schedule led.
    auto led = [&](const std::string& topic, uint32_t n) {
      auto md = cluster_.metadata(topic);
      if (!md || md->topics.empty() || md->topics.front().partitions.size() < n) return false;
      for (const auto& pm : md->topics.front().partitions) {
        if (pm.leader < 0) return false;
      }
      return true;
    };
    if (!wait_for(
            [&] {
              return led(delay_topic_, settings_.delay_partitions) && led(delay::schedule_topic, 1);
            },
            seconds(30))) {
      fail("the delayed messages' topic or __delay_schedule had no leaders within 30 s");
      return false;
    }
    delay_workload_settings ds;
    ds.bootstrap = cluster_.bootstrap();
    ds.topic = delay_topic_;
    ds.partitions = settings_.delay_partitions;
    ds.messages = settings_.delayed;
    ds.window = settings_.delay_window;
    ds.lead = settings_.delay_lead;
    ds.seed = settings_.seed;
    delays_ = std::make_unique<delay_workload>(ds);
    delays_->start();
    if (!wait_for([&] { return delays_->acked() > 0; }, seconds(30))) {
      fail("no delayed message was acknowledged within 30 s of starting the producers");
      return false;
    }
    log(fmt::format("delayed messages: window {} .. {} (wall ms)", delays_->window_start_ms(),
                    delays_->window_end_ms()));
  }
  if (name_ == "kill-retry-owner") {
    client::topic_config rc = tc;
    rc.partitions = retry_scenario_partitions;
    if (!create_topic(retried_topic_, rc, "retried values' topic")) return false;
    retry_workload_settings rs;
    rs.bootstrap = cluster_.bootstrap();
    rs.topic = retried_topic_;
    rs.partitions = retry_scenario_partitions;
    rs.messages = settings_.retry_messages;
    rs.window = settings_.retry_window;
    rs.max_retries = retry_scenario_max_retries;
    rs.seed = settings_.seed;
    retries_ = std::make_unique<retry_workload>(rs);
    retries_->start();
    if (!wait_for([&] { return retries_->ready(); }, seconds(30)) || !retries_->errors().empty()) {
      auto errors = retries_->errors();
      fail("the retry consumer did not subscribe within 30 s" +
           (errors.empty() ? std::string() : ": " + errors.front()));
      return false;
    }
  }
  if (name_ == "kill-coordinator") {
    group_workload_settings gs;
    gs.bootstrap = cluster_.bootstrap();
    gs.topic = topic_;
    gs.partitions = settings_.partitions;
    group_ = std::make_unique<group_workload>(gs);
    group_->start();
    if (!wait_for([&] { return group_->commits_ok() > 0; }, seconds(30))) {
      fail("the group committed nothing within 30 s of starting its consumers");
      return false;
    }
  }
  return true;
}

std::optional<int32_t> scenario_runner::txn_coordinator() {
  for (int id = 0; id < cluster_.size(); ++id) {
    if (!cluster_.broker_running(id) || cluster_.broker_paused(id)) continue;
    auto* a = cluster_.admin_at(id);
    if (!a) continue;
    auto c = a->find_txn_coordinator(txn_workload_settings{}.producer_group);
    if (c && c->broker_id >= 0) return c->broker_id;
  }
  return std::nullopt;
}

void scenario_runner::kill_txn_coordinator_round() {
  pause_random(300, 1500);
  auto victim = txn_coordinator();
  if (!victim) {
    fail("the producer group has no transaction coordinator before the kill");
    return;
  }
  auto decided_before = txns_->decided_by_call();
  auto checks_before = txns_->checks_answered();
  log(fmt::format("SIGKILL broker {} (transaction coordinator of the producer group)", *victim));
  cluster_.stop_broker(*victim, true);
  auto bound = milliseconds(settings_.cluster.lease_ttl_ms + 8000);
  auto took = wait_for(
      [&] {
        auto now = txn_coordinator();
        return now && *now != *victim;
      },
      bound);
  if (!took) {
    fail(fmt::format("no new transaction coordinator within {} of killing broker {}", secs(bound),
                     *victim));
  } else {
    note(fmt::format("new transaction coordinator after {}", secs(*took)));
  }
  auto resumed = wait_for([&] { return txns_->decided_by_call() > decided_before; }, seconds(30));
  if (!resumed) {
    fail(fmt::format("no commit or rollback succeeded within 30 s of killing broker {}", *victim));
  } else {
    note(fmt::format("decisions resumed after {}", secs(*resumed)));
  }
  // Abandoned transactions (15 %) are checked back, by the new coordinator too.
  if (!wait_for([&] { return txns_->checks_answered() > checks_before; }, seconds(30))) {
    fail(fmt::format("no check-back within 30 s of killing broker {}", *victim));
  }
  pause_random(200, 1500);
  if (!cluster_.start_broker(*victim)) fail("restart: " + cluster_.error());
  if (!wait_for([&] { return isr_full(); }, seconds(30))) {
    fail(fmt::format("broker {} did not rejoin every in-sync set within 30 s", *victim));
  }
}

void scenario_runner::check_txns() {
  txns_->stop();
  txns_->decide_rest();
  auto fates = txns_->fates();
  std::set<std::string> committed;
  for (const auto& [v, f] : fates) {
    if (f == txn_fate::commit) committed.insert(v);
  }
  // Until every committed value is readable (check-backs resolve the
  // abandoned ones within a few check intervals), bounded.
  std::map<std::string, int> seen;
  std::string error;
  auto read = [&] {
    seen.clear();
    std::vector<observation> records;
    log_reader reader(cluster_.bootstrap(), txn_topic_, settings_.partitions);
    if (!reader.read_all(seconds(30), records, error)) return false;
    for (const auto& r : records) ++seen[r.value];
    for (const auto& v : committed) {
      if (!seen.count(v)) return false;
    }
    return true;
  };
  wait_for(read, seconds(90));
  // Rollbacks are checked once the commits are in: give late deliveries
  // (there should be none) a moment, then read once more.
  std::this_thread::sleep_for(seconds(2));
  if (!read() && !error.empty()) fail("final read of the transactional topic: " + error);
  txns_->close();
  int64_t missing = 0, resurrected = 0, foreign = 0, duplicated = 0;
  std::string first_missing, first_resurrected, first_foreign;
  for (const auto& v : committed) {
    if (seen.count(v)) continue;
    if (++missing == 1) first_missing = v;
  }
  for (const auto& [v, n] : seen) {
    auto it = fates.find(v);
    if (it == fates.end()) {
      // A half whose acknowledgement was lost: never decided by anyone, so
      // it must never become visible.
      if (++foreign == 1) first_foreign = v;
    } else if (it->second == txn_fate::rollback) {
      if (++resurrected == 1) first_resurrected = v;
    }
    if (n > 1) ++duplicated;
  }
  if (missing > 0) {
    fail(fmt::format("{} committed transaction(s) never became visible, {} the first", missing,
                     first_missing));
  }
  if (resurrected > 0) {
    fail(fmt::format("{} rolled back transaction(s) became visible, {} the first", resurrected,
                     first_resurrected));
  }
  if (foreign > 0) {
    fail(
        fmt::format("{} value(s) nobody decided became visible, {} the first ({} values in the "
                    "producers' database, {} halves acknowledged)",
                    foreign, first_foreign, fates.size(), txns_->halves()));
  }
  for (const auto& e : txns_->errors()) fail(e);
  note(fmt::format(
      "transactions: {} halves ({} refused), {} committed, {} decided by call ({} calls failed), "
      "{} checks answered, {} delivered more than once",
      txns_->halves(), txns_->halves_failed(), committed.size(), txns_->decided_by_call(),
      txns_->calls_failed(), txns_->checks_answered(), duplicated));
}

void scenario_runner::kill_delay_owner_round(int round) {
  // Round r strikes in the first half of its share of the window, so
  // messages due after the kill remain to show when deliveries resumed.
  const int64_t share = settings_.delay_window.count() / settings_.rounds;
  std::uniform_int_distribution<int64_t> at(share / 10, std::max(share / 10, share / 2));
  const int64_t kill_at = delays_->window_start_ms() + share * round + at(rng_);
  if (auto wait = kill_at - wall_ms(); wait > 0) std::this_thread::sleep_for(milliseconds(wait));
  if (wall_ms() > delays_->window_end_ms() - 1000) {
    fail(fmt::format("round {}: the window of due times was over before its kill", round + 1));
    return;
  }
  auto sched = cluster_.metadata(delay::schedule_topic);
  auto target = cluster_.metadata(delay_topic_);
  if (!sched || sched->topics.empty() || !target || target->topics.empty()) {
    fail("no metadata of __delay_schedule or the delayed messages' topic before the kill");
    return;
  }
  const auto& sps = sched->topics.front().partitions;
  const auto& tps = target->topics.front().partitions;
  const auto n = static_cast<uint32_t>(sps.size());
  auto schedule_leader = [&](uint32_t q) {
    auto sp = delay::schedule_partition_of(delay_topic_, q, n);
    return sp < sps.size() ? sps[sp].leader : -1;
  };
  // A victim among the leaders of the schedule partitions that hold the
  // checked messages.
  std::vector<int32_t> owners;
  for (uint32_t q = 0; q < settings_.delay_partitions; ++q) {
    auto l = schedule_leader(q);
    if (l >= 0 && !contains(owners, l)) owners.push_back(l);
  }
  if (owners.empty()) {
    fail("the schedule partitions of the delayed messages have no leader before the kill");
    return;
  }
  std::sort(owners.begin(), owners.end());
  auto victim = owners[std::uniform_int_distribution<size_t>(0, owners.size() - 1)(rng_)];
  // Partitions whose deliveries stop with it: their schedule partition's
  // leader or their own leader.
  std::vector<uint32_t> affected;
  std::string owned, hit;
  for (uint32_t q = 0; q < settings_.delay_partitions; ++q) {
    bool leads_target = q < tps.size() && tps[q].leader == victim;
    if (schedule_leader(q) == victim || leads_target) {
      affected.push_back(q);
      hit += fmt::format("{}{}{}", hit.empty() ? "" : " ", q, leads_target ? "*" : "");
    }
  }
  std::vector<uint32_t> led_by_victim;
  for (const auto& pm : sps) {
    if (pm.leader != victim) continue;
    led_by_victim.push_back(pm.partition);
    owned += fmt::format("{}{}", owned.empty() ? "" : " ", pm.partition);
  }
  auto pending = delays_->pending();
  log(
      fmt::format("SIGKILL broker {} (leads __delay_schedule partitions [{}]; {} delayed messages "
                  "pending)",
                  victim, owned, pending));
  const int64_t killed_ms = wall_ms();
  cluster_.stop_broker(victim, true);
  auto bound = milliseconds(settings_.cluster.lease_ttl_ms + 8000);
  auto moved = wait_for(
      [&] {
        auto now = cluster_.metadata(delay::schedule_topic);
        if (!now || now->topics.empty()) return false;
        for (auto p : led_by_victim) {
          const auto& parts = now->topics.front().partitions;
          if (p >= parts.size() || parts[p].leader < 0 || parts[p].leader == victim) return false;
        }
        return true;
      },
      bound);
  if (!moved) {
    fail(
        fmt::format("__delay_schedule partitions [{}] had no new leader within {} of killing "
                    "broker {}",
                    owned, secs(bound), victim));
  }
  // Deliveries resumed: the first read of a message due at or after the
  // kill, on every partition the kill touched (the resolution is the gap
  // between due times of one partition).
  auto resume_bound = milliseconds(settings_.cluster.lease_ttl_ms + 15000);
  auto resumed = wait_for(
      [&] {
        for (auto q : affected) {
          if (!delays_->first_seen_due_from(q, killed_ms)) return false;
        }
        return true;
      },
      resume_bound);
  if (!resumed) {
    std::string stuck;
    for (auto q : affected) {
      if (!delays_->first_seen_due_from(q, killed_ms)) stuck += fmt::format(" {}", q);
    }
    fail(
        fmt::format("deliveries to partitions [{} ] of {} did not resume within {} of killing "
                    "broker {}",
                    stuck, delay_topic_, secs(resume_bound), victim));
  } else {
    int64_t failover = 0;
    for (auto q : affected) {
      failover = std::max(failover, *delays_->first_seen_due_from(q, killed_ms) - killed_ms);
    }
    delay_faults_.push_back({killed_ms, failover});
    result_.failovers.push_back(milliseconds(failover));
    note(fmt::format(
        "round {}: broker {} (__delay_schedule [{}], {} pending) killed; schedule leaders moved "
        "after {}; deliveries to partitions [{}] (* led by it) resumed after {} ms",
        round + 1, victim, owned, pending, moved ? secs(*moved) : "-", hit, failover));
  }
  pause_random(200, 1000);
  if (!cluster_.start_broker(victim)) fail("restart: " + cluster_.error());
  if (!wait_for([&] { return isr_full(); }, seconds(30))) {
    fail(fmt::format("broker {} did not rejoin every in-sync set within 30 s", victim));
  }
}

void scenario_runner::check_delays() {
  auto& d = *delays_;
  if (!d.wait_sent(seconds(60))) fail("the delay producers did not finish within 60 s");
  // Every acknowledged message due and read by the observer (bounded).
  auto left = std::max<int64_t>(0, d.window_end_ms() - wall_ms());
  if (!wait_for([&] { return d.all_seen(); }, milliseconds(left + 60000))) {
    fail(fmt::format("{} acknowledged delayed message(s) still unread 60 s after the window",
                     d.pending()));
  }
  // Late duplicates get a moment to show before the read.
  std::this_thread::sleep_for(seconds(1));
  std::vector<observation> records;
  std::string error;
  log_reader reader(cluster_.bootstrap(), delay_topic_, settings_.delay_partitions);
  if (!reader.read_all(seconds(60), records, error)) {
    fail("final read of the delayed messages' topic: " + error);
    return;
  }
  std::map<std::string, int> counts;
  std::vector<int64_t> ends(settings_.delay_partitions, 0);
  for (const auto& r : records) {
    ++counts[r.value];
    if (r.partition < ends.size()) ends[r.partition] = std::max(ends[r.partition], r.offset + 1);
  }
  // The group commits after each poll: its offsets reach the ends once it
  // read everything.
  auto& g = d.group();
  wait_for(
      [&] {
        auto c = g.last_committed();
        for (uint32_t p = 0; p < settings_.delay_partitions; ++p) {
          if (c[p] < ends[p]) return false;
        }
        return true;
      },
      seconds(30));
  d.stop();
  auto msgs = d.messages();
  {
    // Per message, for a look at a failure (kept with the logs).
    std::ofstream csv(settings_.cluster.work_dir / "delayed.csv");
    csv << "value,partition,level,deliver_at_ms,acked_ms,seen_ms,group_ms,stored\n";
    for (const auto& m : msgs) {
      auto at = d.group().first_consumed_ms(m.value);
      auto it = counts.find(m.value);
      csv << fmt::format("{},{},{},{},{},{},{},{}\n", m.value, m.partition, m.level ? *m.level : 0,
                         m.deliver_at_ms, m.acked_ms, m.seen_ms, at ? *at : -1,
                         it == counts.end() ? 0 : it->second);
    }
  }
  auto v = delay_lateness(msgs, counts, delay_faults_, settings_.delay_bound_ms, 5);
  for (const auto& p : v.problems) log("problem: " + p);
  if (v.missing > 0) {
    fail(fmt::format("{} acknowledged delayed message(s) never delivered: {}", v.missing,
                     v.problems.empty() ? "" : v.problems.front()));
  }
  if (v.duplicates > 0) {
    fail(fmt::format("{} delayed message(s) delivered more than once", v.duplicates));
  }
  if (v.early > 0) fail(fmt::format("{} delayed message(s) read before their deliver-at", v.early));
  if (d.foreign() > 0 || counts.size() > static_cast<size_t>(v.delivered + v.maybe_delivered)) {
    fail("the delayed messages' topic holds values that were never sent");
  }
  int64_t longest = 0;
  for (const auto& f : delay_faults_) longest = std::max(longest, f.failover_ms);
  if (v.during.count > 0 && v.during.p99 > longest + settings_.delay_bound_ms) {
    fail(
        fmt::format("lateness p99 of messages due during a failover is {} ms, over the longest "
                    "failover {} ms + {} ms",
                    v.during.p99, longest, settings_.delay_bound_ms));
  }
  if (v.rest.p99 > settings_.delay_bound_ms) {
    fail(fmt::format("lateness p99 of messages due outside failovers is {} ms, over {} ms",
                     v.rest.p99, settings_.delay_bound_ms));
  }
  int64_t skipped = 0;
  std::vector<int64_t> group_late;
  for (const auto& m : msgs) {
    if (m.st != delayed_message::state::acked || !counts.count(m.value)) continue;
    auto at = g.first_consumed_ms(m.value);
    if (!at) {
      ++skipped;
    } else if (!m.sent_late) {
      group_late.push_back(*at - m.deliver_at_ms);
    }
  }
  if (skipped > 0) fail(fmt::format("the group never consumed {} delivered message(s)", skipped));
  for (const auto& r : g.regressions()) fail(r);
  for (const auto& e : g.errors()) fail(e);
  for (const auto& e : d.errors()) fail(e);
  auto c = g.last_committed();
  for (uint32_t p = 0; p < settings_.delay_partitions; ++p) {
    if (c[p] < ends[p]) {
      fail(fmt::format("partition {} of {}: the group's committed offset {} is below the end {}", p,
                       delay_topic_, c[p], ends[p]));
    }
  }
  auto gl = lateness_of(std::move(group_late));
  note(fmt::format(
      "delayed: {} acked, {} delivered, {} duplicates, {} not acked ({} of them delivered), {} "
      "acked after their due time; lateness (observer read - deliver-at) p50/p99/max: all "
      "{}/{}/{} ms (n={}), due during a failover {}/{}/{} ms (n={}), rest {}/{}/{} ms (n={}); "
      "group: p99 {} ms, {} redelivered, {} commits",
      v.acked, v.delivered, v.duplicates, v.maybe, v.maybe_delivered, v.sent_late, v.all.p50,
      v.all.p99, v.all.max, v.all.count, v.during.p50, v.during.p99, v.during.max, v.during.count,
      v.rest.p50, v.rest.p99, v.rest.max, v.rest.count, gl.p99, g.redelivered(), g.commits_ok()));
}

void scenario_runner::kill_retry_owner_round(int round) {
  auto& w = *retries_;
  // Round r sends its share of the values and strikes at a seeded moment in
  // the middle half of the time that takes, so values sent after the kill
  // show nacks resuming.
  const auto share = settings_.retry_window / settings_.rounds;
  w.release(settings_.retry_messages * (round + 1) / settings_.rounds);
  std::uniform_int_distribution<int64_t> at(share.count() / 4,
                                            std::max(share.count() / 4, share.count() * 3 / 4));
  std::this_thread::sleep_for(milliseconds(at(rng_)));
  // Retries pending: nacked and stored, not delivered again yet.
  if (!wait_for([&] { return w.pending_retries() > 0; }, seconds(10))) {
    fail(fmt::format("round {}: no retry pending within 10 s of its moment", round + 1));
    return;
  }
  const auto group = w.settings().group;
  auto victim = coordinator(group);
  if (!victim) {
    fail("the retry consumer's group has no coordinator before the kill");
    return;
  }
  auto pending = w.pending_retries();
  log(
      fmt::format("SIGKILL broker {} (coordinator of the retry consumer's group; {} retries "
                  "pending)",
                  *victim, pending));
  const int64_t killed_ms = wall_ms();
  cluster_.stop_broker(*victim, true);
  // Counted from here: a nack the victim answered before it died says
  // nothing about the failover.
  auto nacks_before = w.nacks_ok();
  auto bound = milliseconds(settings_.cluster.lease_ttl_ms + 8000);
  auto took = wait_for(
      [&] {
        auto now = coordinator(group);
        return now && *now != *victim;
      },
      bound);
  if (!took) {
    fail(
        fmt::format("no new coordinator of the retry consumer's group within {} of killing "
                    "broker {}",
                    secs(bound), *victim));
  }
  // The failover: until a nack is stored again (the new coordinator's RETRY
  // actor answers).
  auto nacking = wait_for([&] { return w.nacks_ok() > nacks_before; }, seconds(30));
  if (!nacking) {
    fail(fmt::format("no nack succeeded within 30 s of killing broker {}", *victim));
  } else {
    result_.failovers.push_back(*nacking);
  }
  // A retry stored since the kill comes back (the first backoff is 200 ms).
  auto redelivered =
      wait_for([&] { return w.first_retry_nacked_since(killed_ms).has_value(); }, seconds(30));
  if (!redelivered) {
    fail(fmt::format("no retry nacked since killing broker {} was delivered within 30 s", *victim));
  }
  auto back = w.first_retry_nacked_since(killed_ms);
  note(fmt::format(
      "round {}: broker {} (group coordinator, {} retries pending) killed; new coordinator "
      "after {}, nacks stored again after {}, the first retry nacked since delivered after {}",
      round + 1, *victim, pending, took ? secs(*took) : "-", nacking ? secs(*nacking) : "-",
      back ? secs(milliseconds(*back - killed_ms)) : "-"));
  pause_random(200, 1000);
  if (!cluster_.start_broker(*victim)) fail("restart: " + cluster_.error());
  if (!wait_for([&] { return isr_full(); }, seconds(30))) {
    fail(fmt::format("broker {} did not rejoin every in-sync set within 30 s", *victim));
  }
}

void scenario_runner::check_retries() {
  auto& w = *retries_;
  w.release(settings_.retry_messages);
  if (!w.wait_sent(settings_.retry_window + seconds(60))) {
    fail("the retry producer did not finish within its window + 60 s");
  }
  // A value's chain of retries takes 1.4 s; the consumer nacks one at a time.
  auto drained = wait_for([&] { return w.settled(); }, seconds(60));
  if (!drained) {
    std::string first;
    auto n = w.unsettled(first);
    fail(
        fmt::format("{} acknowledged value(s) still neither acked nor dead-lettered 60 s after "
                    "the last send, {} the first",
                    n, first));
  } else {
    log(fmt::format("retries drained {} after the last send", secs(*drained)));
  }
  // A nack stored twice (its reply lost) runs a second chain: let late
  // copies show before the reads.
  std::this_thread::sleep_for(seconds(2));
  // The consumer commits after each poll: its committed offsets reach the
  // ends of the topic and of the retry topic once it has read everything.
  std::vector<client::topic_partition> tps;
  for (uint32_t p = 0; p < retry_scenario_partitions; ++p) {
    tps.push_back({retried_topic_, p});
    tps.push_back({w.retry_topic(), p});
  }
  std::map<client::topic_partition, int64_t> ends;
  auto reached = wait_for(
      [&] {
        for (const auto& tp : tps) {
          if (!ends.count(tp)) {
            client::admin* a = nullptr;
            for (int id = 0; id < cluster_.size() && !a; ++id) {
              if (cluster_.broker_running(id)) a = cluster_.admin_at(id);
            }
            if (!a) return false;
            auto end = a->list_offsets(tp, client::admin::latest_timestamp);
            if (!end) return false;
            ends[tp] = *end;
          }
          if (w.sampler().last_committed(tp) < ends[tp]) return false;
        }
        return true;
      },
      seconds(30));
  if (!reached) {
    for (const auto& tp : tps) {
      auto c = w.sampler().last_committed(tp);
      if (!ends.count(tp)) {
        fail(fmt::format("{} partition {}: no end offset after the drain", tp.topic, tp.partition));
      } else if (c < ends[tp]) {
        fail(
            fmt::format("{} partition {}: the group's committed offset {} is below the end {} "
                        "after the drain",
                        tp.topic, tp.partition, c, ends[tp]));
      }
    }
  }
  w.stop();
  for (const auto& r : w.sampler().regressions()) fail(r);
  for (const auto& e : w.errors()) fail(e);
  // The whole DLQ, every copy (bounded: the leader may still be moving).
  std::vector<client::dead_letter> dead;
  std::string why;
  auto read = wait_for(
      [&] {
        auto r = w.read_dead_letters();
        if (!r) {
          why = r.err().to_string();
          return false;
        }
        dead = std::move(*r);
        return true;
      },
      seconds(30));
  if (!read) {
    fail(fmt::format("reading {} back failed: {}", w.dlq_topic(), why));
    return;
  }
  auto msgs = w.messages();
  {
    // Per value, for a look at a failure (kept with the logs).
    std::map<std::string, int> dead_count;
    for (const auto& d : dead) ++dead_count[d.msg.value.value_or("")];
    std::ofstream csv(settings_.cluster.work_dir / "retries.csv");
    csv << "value,x_id,partition,acked_send,deliveries,dead_letters\n";
    for (const auto& m : msgs) {
      std::string ds;
      for (const auto& d : m.deliveries) {
        ds += fmt::format("{}{}{}@{}", ds.empty() ? "" : " ", d.number,
                          d.outcome == retry_outcome::acked    ? "a"
                          : d.outcome == retry_outcome::nacked ? "n"
                                                               : "f",
                          d.at_ms);
      }
      csv << fmt::format("{},{},{},{},{},{}\n", m.value, m.x_id, m.partition,
                         m.st == retry_message::state::acked ? 1 : 0, ds, dead_count[m.value]);
    }
  }
  auto v = retry_verdict_of(msgs, w.foreign(), dead, retried_topic_, w.settings().group,
                            retry_scenario_max_retries);
  // A retry's turnaround: from its nack to its delivery, the backoff (200,
  // 400, 800 ms) plus the consumer's backlog; for the reader to see whether
  // the consumer kept up.
  std::vector<int64_t> turnaround;
  for (const auto& m : msgs) {
    for (size_t j = 1; j < m.deliveries.size(); ++j) {
      const auto& nacked = m.deliveries[j - 1];
      if (nacked.outcome != retry_outcome::nacked || m.deliveries[j].number <= nacked.number) {
        continue;
      }
      turnaround.push_back(m.deliveries[j].at_ms - nacked.at_ms);
    }
  }
  auto ta = lateness_of(std::move(turnaround));
  for (const auto& p : v.problems) log("problem: " + p);
  // The first problem of a kind (only the first few are kept).
  auto first = [&](const std::string& kind) {
    for (const auto& p : v.problems) {
      if (p.find(kind) != std::string::npos) return p;
    }
    return std::string("see retries.csv");
  };
  if (v.never_acked > 0) {
    fail(fmt::format("{} acknowledged r value(s) never acked by the consumer: {}", v.never_acked,
                     first("never acked")));
  }
  if (v.acked_early > 0) {
    fail(fmt::format("{} r value(s) acked before their planned nacks: {}", v.acked_early,
                     first("acked before")));
  }
  if (v.not_dead > 0) {
    fail(fmt::format("{} acknowledged d value(s) not in {}: {}", v.not_dead, w.dlq_topic(),
                     first("not in the DLQ")));
  }
  if (v.bad_dead_letters > 0) {
    fail(fmt::format("{} dead letter(s) without their own headers: {}", v.bad_dead_letters,
                     first("the dead letter of")));
  }
  if (v.wrongly_dead > 0) {
    fail(
        fmt::format("{} r value(s) dead-lettered: {}", v.wrongly_dead, first("was dead-lettered")));
  }
  if (v.past_max > 0) {
    fail(fmt::format("{} deliveries numbered past max_retries + 1: {}", v.past_max,
                     first("past max_retries")));
  }
  if (v.phantom > 0) {
    fail(fmt::format("{} value(s) delivered or dead-lettered that were never planned: {}",
                     v.phantom, first("never planned")));
  }
  note(fmt::format(
      "retries: {} acked sends ({} not acked), {} r acked after their nacks, {} d in the DLQ "
      "({} dead letters); {} deliveries, {} nacks ({} failed and fetched again), {} commits ({} "
      "refused); retry turnaround (nack to delivery) p50/p99/max {}/{}/{} ms; duplicates: {} "
      "values delivered twice with one number ({} deliveries), {} r acked twice, {} d "
      "dead-lettered twice",
      v.acked, v.maybe, v.retried_ok, v.dead, v.dead_letters, v.deliveries, v.nacks, v.nacks_failed,
      w.commits_ok(), w.commits_failed(), ta.p50, ta.p99, ta.max, v.duplicated_values,
      v.duplicate_deliveries, v.acked_twice, v.dead_twice));
  for (const auto& [why, n] : w.nack_failures()) note(fmt::format("{} nacks failed: {}", n, why));
}

std::optional<int32_t> scenario_runner::coordinator(const std::string& group) {
  for (int id = 0; id < cluster_.size(); ++id) {
    if (!cluster_.broker_running(id) || cluster_.broker_paused(id)) continue;
    auto* a = cluster_.admin_at(id);
    if (!a) continue;
    auto c = a->find_coordinator(group);
    if (c && c->broker_id >= 0) return c->broker_id;
  }
  return std::nullopt;
}

void scenario_runner::kill_coordinator_round() {
  pause_random(300, 1500);
  const auto group = group_workload_settings{}.group;
  auto victim = coordinator(group);
  if (!victim) {
    fail("the group has no coordinator before the kill");
    return;
  }
  auto commits_before = group_->commits_ok();
  log(fmt::format("SIGKILL broker {} (coordinator of the group)", *victim));
  cluster_.stop_broker(*victim, true);
  auto bound = milliseconds(settings_.cluster.lease_ttl_ms + 8000);
  auto took = wait_for(
      [&] {
        auto now = coordinator(group);
        return now && *now != *victim;
      },
      bound);
  if (!took) {
    fail(fmt::format("no new coordinator within {} of killing broker {}", secs(bound), *victim));
  } else {
    note(fmt::format("new coordinator after {}", secs(*took)));
  }
  auto resumed = wait_for([&] { return group_->commits_ok() > commits_before; }, seconds(30));
  if (!resumed) {
    fail(fmt::format("no commit succeeded within 30 s of killing broker {}", *victim));
  } else {
    note(fmt::format("commits resumed after {}", secs(*resumed)));
  }
  pause_random(200, 1500);
  if (!cluster_.start_broker(*victim)) fail("restart: " + cluster_.error());
  if (!wait_for([&] { return isr_full(); }, seconds(30))) {
    fail(fmt::format("broker {} did not rejoin every in-sync set within 30 s", *victim));
  }
}

void scenario_runner::check_group() {
  auto acked = history_.acked_values();
  auto all_consumed = [&] {
    for (const auto& v : acked) {
      if (!group_->consumed(v)) return false;
    }
    return true;
  };
  wait_for(all_consumed, seconds(60));
  auto ends = history_.acked_ends(settings_.partitions);
  // The consumers commit after every poll: the sampled offsets reach the
  // acknowledged ends once they have read everything.
  wait_for(
      [&] {
        auto c = group_->last_committed();
        for (uint32_t p = 0; p < settings_.partitions; ++p) {
          if (c[p] < ends[p]) return false;
        }
        return true;
      },
      seconds(30));
  group_->stop();
  int64_t skipped = 0;
  std::string first;
  for (const auto& v : acked) {
    if (group_->consumed(v)) continue;
    if (++skipped == 1) first = v;
  }
  if (skipped > 0) {
    fail(fmt::format("the group never consumed {} acknowledged value(s), {} the first", skipped,
                     first));
  }
  for (const auto& r : group_->regressions()) fail(r);
  for (const auto& e : group_->errors()) fail(e);
  auto c = group_->last_committed();
  for (uint32_t p = 0; p < settings_.partitions; ++p) {
    if (c[p] < ends[p]) {
      fail(
          fmt::format("partition {}: the group's committed offset {} is below the acknowledged "
                      "end {} after the drain",
                      p, c[p], ends[p]));
    }
  }
  note(fmt::format("group: {} values consumed, {} commits ({} refused while it moved)",
                   group_->consumed_count(), group_->commits_ok(), group_->commits_failed()));
}

scenario_result scenario_runner::run() {
  started_ = clock::now();
  auto load_from = clock::now();
  if (setup()) {
    load_from = clock::now();
    for (int r = 0; r < settings_.rounds; ++r) {
      log(fmt::format("round {}", r + 1));
      if (name_ == "kill-leader")
        kill_leader_round();
      else if (name_ == "pause-follower")
        pause_follower_round();
      else if (name_ == "pause-leader")
        pause_leader_round();
      else if (name_ == "kill-two")
        kill_two_round();
      else if (name_ == "etcd-down")
        etcd_down_round(r);
      else if (name_ == "restart-all")
        restart_all_round(r);
      else if (name_ == "kill-single")
        kill_single_round();
      else if (name_ == "kill-coordinator")
        kill_coordinator_round();
      else if (name_ == "kill-txn-coordinator")
        kill_txn_coordinator_round();
      else if (name_ == "kill-delay-owner")
        kill_delay_owner_round(r);
      else if (name_ == "kill-retry-owner")
        kill_retry_owner_round(r);
      else {
        fail("unknown scenario " + name_);
        break;
      }
    }
    result_.longest_unavailable =
        std::chrono::duration_cast<milliseconds>(history_.longest_gap(load_from, clock::now()));
    finish();
  }
  if (workload_) workload_->stop();
  if (group_) group_->stop();
  if (txns_) txns_->close();
  if (delays_) delays_->stop();
  if (retries_) retries_->stop();
  cluster_.shutdown();
  result_.elapsed = since(started_);
  return result_;
}

void scenario_runner::finish() {
  if (!cluster_.heal()) fail("heal: " + cluster_.error());
  if (!wait_for([&] { return isr_full(); }, seconds(60))) {
    fail("after healing, not every partition had a leader and a full in-sync set within 60 s");
  }
  workload_->stop();
  for (const auto& e : workload_->errors()) fail(e);
  std::vector<observation> final_read;
  log_reader reader(cluster_.bootstrap(), topic_, settings_.partitions);
  std::string error;
  if (!reader.read_all(seconds(60), final_read, error, history_.acked_ends(settings_.partitions))) {
    fail("final read failed: " + error);
    return;
  }
  result_.check = history_.check(final_read);
  if (group_) check_group();
  if (txns_) check_txns();
  if (delays_) check_delays();
  if (retries_) check_retries();
  for (const auto& [why, n] : history_.failure_reasons()) {
    note(fmt::format("{} sends finally failed: {}", n, why));
  }
  // Followers pull at most fetch_wait behind; let the last batches arrive.
  std::this_thread::sleep_for(seconds(2));
  compare_replicas();
}

void scenario_runner::compare_replicas() {
  auto md = cluster_.metadata(topic_);
  if (!md || md->topics.empty()) {
    fail("no metadata to compare the replicas with");
    return;
  }
  auto parts = md->topics.front().partitions;
  cluster_.shutdown();
  int identical = 0;
  for (const auto& pm : parts) {
    if (pm.leader < 0) continue;
    auto dir = [&](int32_t b) {
      return cluster_.data_dir(b) / "topics" / topic_ / std::to_string(pm.partition);
    };
    auto leader = log_bytes(dir(pm.leader));
    bool same = true;
    for (auto r : pm.replicas) {
      if (r == pm.leader) continue;
      auto copy = log_bytes(dir(r));
      if (copy == leader) continue;
      same = false;
      auto common = std::min(copy.size(), leader.size());
      auto at = std::mismatch(copy.begin(), copy.begin() + static_cast<std::ptrdiff_t>(common),
                              leader.begin())
                    .first -
                copy.begin();
      fail(
          fmt::format("partition {}: broker {}'s log ({} bytes) differs from leader {}'s ({} "
                      "bytes) from byte {}",
                      pm.partition, r, copy.size(), pm.leader, leader.size(), at));
    }
    identical += same ? 1 : 0;
  }
  result_.replicas = fmt::format("{}/{} identical", identical, parts.size());
}

void scenario_runner::kill_leader_round() {
  pause_random(300, 1500);
  auto p = pick_partition();
  auto pm = partition(p);
  if (!pm || pm->leader < 0) {
    fail(fmt::format("partition {} has no leader before the kill", p));
    return;
  }
  auto victim = pm->leader;
  log(fmt::format("SIGKILL broker {} (leader of partition {})", victim, p));
  auto killed_at = clock::now();
  cluster_.stop_broker(victim, true);
  await_new_leader(p, victim, fmt::format("killing broker {}", victim));
  // The failover window: until the partition acknowledges again (bounded).
  auto bound = milliseconds(settings_.cluster.lease_ttl_ms + 8000);
  if (wait_for(
          [&] {
            return history_.acks_between(killed_at, clock::now(), clock::time_point{}, p) > 0;
          },
          bound)) {
    auto from = killed_at - seconds(1);
    result_.failovers.push_back(
        std::chrono::duration_cast<milliseconds>(history_.longest_gap(from, clock::now(), p)));
  }
  pause_random(200, 1500);
  if (!cluster_.start_broker(victim)) fail("restart: " + cluster_.error());
  if (!wait_for([&] { return isr_full(); }, seconds(30))) {
    fail(fmt::format("broker {} did not rejoin every in-sync set within 30 s", victim));
  }
  read_pass("after the kill", seconds(30));
}

void scenario_runner::pause_follower_round() {
  pause_random(300, 1500);
  auto p = pick_partition();
  auto pm = partition(p);
  if (!pm || pm->leader < 0 || pm->isr.size() < 2) {
    fail(fmt::format("partition {} has no leader and follower in sync before the pause", p));
    return;
  }
  std::vector<int32_t> followers;
  for (auto r : pm->isr) {
    if (r != pm->leader) followers.push_back(r);
  }
  auto victim = followers[std::uniform_int_distribution<size_t>(0, followers.size() - 1)(rng_)];
  log(fmt::format("SIGSTOP broker {} (follower of partition {})", victim, p));
  auto t0 = clock::now();
  cluster_.pause_broker(victim);
  auto bound = milliseconds(settings_.cluster.replica_lag_ms + 3000);
  auto left = wait_for(
      [&] {
        auto now = partition(p);
        return now && now->leader >= 0 && !contains(now->isr, victim);
      },
      bound);
  if (!left) {
    fail(fmt::format("paused follower {} still in partition {}'s in-sync set after {}", victim, p,
                     secs(bound)));
  } else {
    note(fmt::format("partition {}: follower {} left the in-sync set after {}", p, victim,
                     secs(*left)));
    auto t1 = clock::now();
    auto resumed =
        wait_for([&] { return history_.acks_between(t1, clock::now(), t0, p) > 0; }, seconds(10));
    if (!resumed) {
      fail(fmt::format("partition {}: no acknowledgement within 10 s of the in-sync set shrinking",
                       p));
    }
  }
  pause_random(0, 1000);
  log(fmt::format("SIGCONT broker {}", victim));
  cluster_.resume_broker(victim);
  auto back = wait_for([&] { return isr_full(); }, seconds(30));
  if (!back) {
    fail(fmt::format("broker {} did not rejoin every in-sync set within 30 s of SIGCONT", victim));
  } else {
    note(fmt::format("broker {} back in every in-sync set after {}", victim, secs(*back)));
  }
  read_pass("after the pause", seconds(30));
}

void scenario_runner::pause_leader_round() {
  pause_random(300, 1500);
  auto p = pick_partition();
  auto pm = partition(p);
  if (!pm || pm->leader < 0) {
    fail(fmt::format("partition {} has no leader before the pause", p));
    return;
  }
  auto victim = pm->leader;
  log(fmt::format("SIGSTOP broker {} (leader of partition {})", victim, p));
  cluster_.pause_broker(victim);
  await_new_leader(p, victim, fmt::format("pausing its leader {}", victim));
  pause_random(500, 1500);
  log(fmt::format("SIGCONT broker {}", victim));
  cluster_.resume_broker(victim);
  probe_deposed_leader(victim, p);
  if (!wait_for([&] { return isr_full(); }, seconds(30))) {
    fail(fmt::format("broker {} did not rejoin every in-sync set within 30 s of SIGCONT", victim));
  }
  read_pass("after the pause", seconds(30));
}

void scenario_runner::probe_deposed_leader(int32_t old_leader, uint32_t p) {
  // Right after SIGCONT the old leader's view is still the one it froze
  // with: a producer that knows only it sends there first. Whatever is
  // acknowledged goes into the history like any other send, so an ack the
  // deposed leader gave and later truncated shows up as lost.
  client::producer_config cfg;
  cfg.connection.broker = cluster_.address(old_leader);
  cfg.connection.client_id = "checker-probe";
  cfg.connection.connect_timeout_ms = 1000;
  cfg.connection.request_timeout_ms = 3000;
  cfg.acks = client::acks::all;
  cfg.delivery_timeout_ms = 5000;
  cfg.linger_ms = 0;
  auto made = client::producer::create(cfg);
  if (!made) {
    note("probe of the deposed leader not connected: " + made.err().to_string());
    return;
  }
  auto& producer = *made;
  std::vector<std::pair<std::string, std::future<client::delivery_report>>> sent;
  for (int i = 0; i < 20; ++i) {
    auto value = fmt::format("probe-{}-{}", ++probes_, i);
    client::producer_record rec;
    rec.topic = topic_;
    rec.value = value;
    rec.partition = p;
    history_.sent(value, clock::now());
    sent.emplace_back(value, producer->send(std::move(rec)));
  }
  int acked = 0;
  for (auto& [value, f] : sent) {
    if (f.wait_for(seconds(15)) != std::future_status::ready) continue;
    auto r = f.get();
    if (r.ok()) {
      history_.acked(value, r.partition, r.offset, clock::now());
      ++acked;
    } else {
      history_.failed(value, "probe: " + r.err.to_string(), clock::now());
    }
  }
  (void)producer->close(seconds(10));
  note(
      fmt::format("probe through the deposed leader {}: {} of 20 acknowledged", old_leader, acked));
}

void scenario_runner::kill_two_round() {
  pause_random(300, 1500);
  std::vector<int> ids;
  for (int i = 0; i < cluster_.size(); ++i) ids.push_back(i);
  std::shuffle(ids.begin(), ids.end(), rng_);
  int a = ids[0], b = ids[1];
  log(fmt::format("SIGKILL brokers {} and {}", a, b));
  cluster_.stop_broker(a, true);
  cluster_.stop_broker(b, true);
  // From here on one copy is all a new record can get. (What was sent
  // before b died may be on b too, and acknowledged with two copies.)
  auto t0 = clock::now();
  // Long enough for the survivor to drop both from the in-sync set (or for
  // the controller to see them gone) and refuse acks=all.
  std::this_thread::sleep_for(
      milliseconds(settings_.cluster.replica_lag_ms + settings_.cluster.lease_ttl_ms + 2000));
  auto t1 = clock::now();
  if (auto n = history_.acks_between(t0, t1, t0); n > 0) {
    fail(fmt::format("{} records sent after two of three brokers died were acknowledged", n));
  }
  log(fmt::format("restart broker {}", a));
  if (!cluster_.start_broker(a)) fail("restart: " + cluster_.error());
  auto back =
      wait_for([&] { return history_.acks_between(t1, clock::now(), t1) > 0; }, seconds(30));
  if (!back) {
    fail(fmt::format("no acknowledgement within 30 s of broker {} returning", a));
  } else {
    note(fmt::format("acks resumed {} after one broker returned", secs(*back)));
  }
  if (!cluster_.start_broker(b)) fail("restart: " + cluster_.error());
  if (!wait_for([&] { return isr_full(); }, seconds(30))) {
    fail("the in-sync sets were not full within 30 s of restarting both brokers");
  }
  read_pass("after the kills", seconds(30));
}

void scenario_runner::etcd_down_round(int round) {
  pause_random(300, 1500);
  bool kill = round % 2 == 1;
  log(kill ? "SIGKILL etcd" : "SIGSTOP etcd");
  auto t0 = clock::now();
  if (kill) {
    cluster_.stop_etcd(true);
  } else {
    cluster_.pause_etcd();
  }
  // Longer than the lease, so every broker notices; acks go on meanwhile.
  auto down = milliseconds(2 * settings_.cluster.lease_ttl_ms + 1000);
  std::this_thread::sleep_for(down / 2);
  read_pass("with etcd down", seconds(15));
  auto rest = down - since(t0);
  if (rest.count() > 0) std::this_thread::sleep_for(rest);
  auto t1 = clock::now();
  auto during = history_.acks_between(t0 + seconds(1), t1, t0);
  if (during == 0) {
    fail(fmt::format("no acknowledgement while etcd was down for {} with every broker up",
                     secs(since(t0))));
  } else {
    note(fmt::format("{} acks while etcd was down", during));
  }
  log("etcd back");
  if (kill) {
    if (!cluster_.start_etcd()) fail("etcd restart: " + cluster_.error());
  } else {
    cluster_.resume_etcd();
  }
  if (!wait_for([&] { return isr_full(); }, seconds(30))) {
    fail("the in-sync sets were not full within 30 s of etcd returning");
  }
  // Elections work again: kill a leader and watch it replaced.
  kill_leader_round();
}

void scenario_runner::restart_all_round(int round) {
  pause_random(500, 2000);
  bool kill = round % 2 == 0;
  log(kill ? "SIGKILL every broker" : "SIGTERM every broker");
  for (int id = 0; id < cluster_.size(); ++id) cluster_.stop_broker(id, kill);
  pause_random(200, 1000);
  for (int id = 0; id < cluster_.size(); ++id) {
    if (!cluster_.start_broker(id)) fail("restart: " + cluster_.error());
  }
  auto back = wait_for([&] { return isr_full(); }, seconds(60));
  if (!back) {
    fail("the in-sync sets were not full within 60 s of the full restart");
  } else {
    note(fmt::format("every in-sync set full {} after the restart", secs(*back)));
  }
  read_pass("after the restart", seconds(30));
}

int scenario_runner::replication() const {
  return cluster_.settings().standalone ? 1 : replication_factor;
}

void scenario_runner::kill_single_round() {
  pause_random(100, 1200);
  log("SIGKILL the broker");
  auto killed_at = clock::now();
  cluster_.stop_broker(0, true);
  pause_random(50, 500);
  if (!cluster_.start_broker(0)) {
    fail("restart: " + cluster_.error());
    return;
  }
  // Until the producers are acknowledged again (bounded).
  auto back = wait_for(
      [&] { return history_.acks_between(killed_at, clock::now(), clock::time_point{}) > 0; },
      seconds(30));
  if (!back) {
    fail("no acknowledgement within 30 s of the restart");
  } else {
    result_.failovers.push_back(std::chrono::duration_cast<milliseconds>(
        history_.longest_gap(killed_at - seconds(1), clock::now())));
  }
  read_pass("after the restart", seconds(30));
}

}  // namespace actormq::checker
