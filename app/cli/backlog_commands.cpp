#include "backlog_commands.h"

#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "actormq/client/backlog_diversion.h"
#include "cli_common.h"

namespace actormq::cli {

namespace {

using steady = std::chrono::steady_clock;

struct backlog_options {
  client::diversion_plan plan;
  std::string temp;
  bool watch = false;
  bool force = false;
};

std::string duration_text(double seconds) {
  if (seconds < 0) return "?";
  auto s = static_cast<long long>(seconds + 0.5);
  if (s < 120) return std::to_string(s) + " s";
  if (s < 7200) return std::to_string(s / 60) + " min " + std::to_string(s % 60) + " s";
  return std::to_string(s / 3600) + " h " + std::to_string((s % 3600) / 60) + " min";
}

/// Rate of a counter between two samples, and the time left at it.
struct rate_meter {
  steady::time_point at{};
  uint64_t value = 0;
  bool primed = false;
  double rate = 0;
  void sample(uint64_t v) {
    auto now = steady::now();
    if (primed) {
      double dt = std::chrono::duration<double>(now - at).count();
      if (dt > 0) rate = static_cast<double>(v - std::min(v, value)) / dt;
    }
    at = now;
    value = v;
    primed = true;
  }
  std::string left(uint64_t remaining) const {
    if (remaining == 0) return "0 s";
    return rate > 0 ? duration_text(static_cast<double>(remaining) / rate) : "?";
  }
};

void print_progress(const client::diversion_progress& p, const rate_meter& moving,
                    const rate_meter* draining) {
  double pct =
      p.backlog ? 100.0 * static_cast<double>(p.moved) / static_cast<double>(p.backlog) : 100.0;
  std::printf("moved %llu of %llu (%.1f%%) %.0f msg/s, %s left", (unsigned long long)p.moved,
              (unsigned long long)p.backlog, pct, moving.rate,
              moving.left(p.backlog - std::min(p.backlog, p.moved)).c_str());
  if (draining != nullptr) {
    std::printf(
        "; drained %llu of %llu by %s %.0f msg/s, %s left", (unsigned long long)p.drained,
        (unsigned long long)p.in_temp, p.plan.drain_group.c_str(), draining->rate,
        p.moving_done() ? draining->left(p.in_temp - std::min(p.in_temp, p.drained)).c_str() : "?");
  }
  std::printf("\n");
  std::fflush(stdout);
}

/// Steps d until all is moved (or stop), printing progress each second.
int run_moves(client::backlog_diversion& d, const std::atomic<bool>& stop) {
  rate_meter moving;
  client::diversion_progress last;
  while (!d.done()) {
    if (stop) {
      std::printf("interrupted at the last checkpoint; go on with: actormq backlog resume %s\n",
                  last.plan.temp.c_str());
      return 130;
    }
    auto p = d.step(std::chrono::milliseconds(1000));
    if (!p) return fail("backlog divert", p.err());
    moving.sample(p->moved);
    print_progress(*p, moving, nullptr);
    last = *p;
  }
  if (d.skipped_on_resume() > 0) {
    std::printf(
        "%llu message(s) were in %s already (moved before the interruption), not moved "
        "again\n",
        (unsigned long long)d.skipped_on_resume(), last.plan.temp.c_str());
  }
  std::printf(
      "moved the backlog of group %s on %s into %s (%u partitions); drain it with\n"
      "  actormq consume %s --group %s --from-beginning   (as many as %u consumers)\n"
      "then: actormq backlog finish %s\n",
      last.plan.group.c_str(), last.plan.topic.c_str(), last.plan.temp.c_str(),
      last.plan.partitions, last.plan.temp.c_str(), last.plan.drain_group.c_str(),
      last.plan.partitions, last.plan.temp.c_str());
  return 0;
}

int run_status(const std::string& broker, const backlog_options& o, const std::atomic<bool>& stop) {
  rate_meter moving, draining;
  while (true) {
    auto p = client::backlog_diversion::status(connection_for(broker), o.temp);
    if (!p) return fail("backlog status " + o.temp, p.err());
    moving.sample(p->moved);
    draining.sample(p->drained);
    if (!o.watch) {
      std::printf("topic %s group %s -> %s (%u partitions), drain group %s\n",
                  p->plan.topic.c_str(), p->plan.group.c_str(), p->plan.temp.c_str(),
                  p->plan.partitions, p->plan.drain_group.c_str());
    }
    print_progress(*p, moving, &draining);
    if (!o.watch || stop || p->drained_all()) {
      if (p->drained_all()) std::printf("drained: actormq backlog finish %s\n", o.temp.c_str());
      return 0;
    }
    for (int i = 0; i < 10 && !stop; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

std::function<int(const std::string&)> add_backlog_commands(CLI::App& app,
                                                            const std::atomic<bool>& stop) {
  auto o = std::make_shared<backlog_options>();
  auto* backlog = app.add_subcommand(
      "backlog", "divert a group's backlog to a temporary topic with more partitions");
  backlog->require_subcommand(1);
  auto* divert = backlog->add_subcommand(
      "divert",
      "move the group's unconsumed messages into a new topic with more partitions (the group "
      "must have no live members); prints progress until all is moved");
  divert->add_option("topic", o->plan.topic, "the backlogged topic")->required();
  divert->add_option("--group,-g", o->plan.group, "whose backlog moves")->required();
  divert->add_option("--to", o->plan.temp, "the temporary topic to create")->required();
  divert->add_option("--partitions,-p", o->plan.partitions, "of the temporary topic")
      ->required()
      ->check(CLI::Range(1u, 10000u));
  divert->add_option("--drain-group", o->plan.drain_group,
                     "the group that will drain it (default: GROUP.drain)");
  auto* resume = backlog->add_subcommand("resume", "go on with an interrupted divert");
  resume->add_option("temp", o->temp, "the temporary topic")->required();
  auto* status = backlog->add_subcommand("status", "moved, drained, rate and time left");
  status->add_option("temp", o->temp, "the temporary topic")->required();
  status->add_flag("--watch,-w", o->watch, "refresh every second until drained");
  auto* finish = backlog->add_subcommand(
      "finish", "delete the temporary topic, its state and the drain group once drained");
  finish->add_option("temp", o->temp, "the temporary topic")->required();
  finish->add_flag("--force", o->force, "also when not drained (what is left is lost)");

  return [=, &stop](const std::string& broker) {
    if (divert->parsed()) {
      auto d = client::backlog_diversion::start(connection_for(broker), o->plan);
      if (!d) return fail("backlog divert", d.err());
      return run_moves(**d, stop);
    }
    if (resume->parsed()) {
      auto d = client::backlog_diversion::resume(connection_for(broker), o->temp);
      if (!d) return fail("backlog resume " + o->temp, d.err());
      return run_moves(**d, stop);
    }
    if (status->parsed()) return run_status(broker, *o, stop);
    if (finish->parsed()) {
      if (auto r = client::backlog_diversion::finish(connection_for(broker), o->temp, o->force);
          !r) {
        return fail("backlog finish " + o->temp, r.err());
      }
      std::printf("deleted %s, %s and its drain group\n", o->temp.c_str(),
                  client::diversion_state_topic(o->temp).c_str());
      return 0;
    }
    return -1;
  };
}

}  // namespace actormq::cli
