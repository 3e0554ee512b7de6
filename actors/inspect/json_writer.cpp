#include "actors/inspect/json_writer.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace actormq {

void json_writer::separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!has_member_.empty()) {
    if (has_member_.back()) out_ += ',';
    has_member_.back() = true;
  }
}

json_writer& json_writer::begin_object() {
  separate();
  out_ += '{';
  has_member_.push_back(false);
  return *this;
}

json_writer& json_writer::end_object() {
  out_ += '}';
  if (!has_member_.empty()) has_member_.pop_back();
  return *this;
}

json_writer& json_writer::begin_array() {
  separate();
  out_ += '[';
  has_member_.push_back(false);
  return *this;
}

json_writer& json_writer::end_array() {
  out_ += ']';
  if (!has_member_.empty()) has_member_.pop_back();
  return *this;
}

json_writer& json_writer::key(std::string_view k) {
  separate();
  out_ += '"';
  escape(out_, k);
  out_ += "\":";
  after_key_ = true;
  return *this;
}

json_writer& json_writer::value(std::string_view s) {
  separate();
  out_ += '"';
  escape(out_, s);
  out_ += '"';
  return *this;
}

json_writer& json_writer::value(bool b) {
  separate();
  out_ += b ? "true" : "false";
  return *this;
}

json_writer& json_writer::value(double d) {
  separate();
  if (!std::isfinite(d)) {
    out_ += "null";
    return *this;
  }
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%.17g", d);
  // %.17g round-trips but prints 0.1 as 0.10000000000000001; take the
  // shortest of 15..17 digits that reads back equal.
  for (int prec = 15; prec < 17; ++prec) {
    char shorter[32];
    int m = std::snprintf(shorter, sizeof shorter, "%.*g", prec, d);
    if (std::strtod(shorter, nullptr) == d) {
      out_.append(shorter, static_cast<size_t>(m));
      return *this;
    }
  }
  out_.append(buf, static_cast<size_t>(n));
  return *this;
}

json_writer& json_writer::null() {
  separate();
  out_ += "null";
  return *this;
}

json_writer& json_writer::raw(std::string_view json) {
  separate();
  out_ += json;
  return *this;
}

std::string json_writer::take() {
  has_member_.clear();
  after_key_ = false;
  std::string out = std::move(out_);
  out_.clear();
  return out;
}

void json_writer::escape(std::string& out, std::string_view s) {
  static const char* hex = "0123456789abcdef";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
}

}  // namespace actormq
