#include "storage/recovery_report.h"

#include "storage/logger.h"

namespace actormq::storage {

namespace {

const char* verb(recovery_event::kind k) {
  switch (k) {
    case recovery_event::kind::truncated_tail:
      return "truncated tail of";
    case recovery_event::kind::quarantined_segment:
      return "quarantined";
    case recovery_event::kind::rebuilt_index:
      return "rebuilt index of";
    case recovery_event::kind::removed_stray_file:
      return "removed";
  }
  return "?";
}

}  // namespace

void report_event(recovery_report& report, std::string_view source, recovery_event ev) {
  if (ev.first_dropped() >= 0) {
    logger().warn("{} recovery: {} {}: dropped {} bytes (offsets {}..{}): {}", source,
                  verb(ev.what), ev.file.string(), ev.dropped_bytes, ev.first_dropped(),
                  ev.dropped_until(), ev.detail);
  } else {
    logger().warn("{} recovery: {} {}: dropped {} bytes: {}", source, verb(ev.what),
                  ev.file.string(), ev.dropped_bytes, ev.detail);
  }
  report.events.push_back(std::move(ev));
}

}  // namespace actormq::storage
