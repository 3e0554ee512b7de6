#include "message_format.h"

namespace actormq::cli {

message_format::message_format(std::string_view pattern) {
  // Expand backslash escapes once, up front.
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      char n = pattern[i + 1];
      if (n == 'n' || n == 't' || n == '\\') {
        pattern_.push_back(n == 'n' ? '\n' : n == 't' ? '\t' : '\\');
        ++i;
        continue;
      }
    }
    pattern_.push_back(c);
  }
}

void message_format::render_headers(const client::message& m, std::string& out) {
  bool first = true;
  for (const auto& h : m.headers) {
    if (!first) out.push_back(',');
    first = false;
    out += h.key;
    if (h.value) {
      out.push_back('=');
      out += *h.value;
    }
  }
}

void message_format::render(const client::message& m, std::string& out) const {
  for (size_t i = 0; i < pattern_.size(); ++i) {
    char c = pattern_[i];
    if (c != '%' || i + 1 == pattern_.size()) {
      out.push_back(c);
      continue;
    }
    switch (pattern_[++i]) {
      case 'k':
        if (m.key) out += *m.key;
        break;
      case 'v':
        if (m.value) out += *m.value;
        break;
      case 'p':
        out += std::to_string(m.partition);
        break;
      case 'o':
        out += std::to_string(m.offset);
        break;
      case 't':
        out += std::to_string(m.timestamp_ms);
        break;
      case 'T':
        out += m.topic;
        break;
      case 'i':
        out += m.id.to_string();
        break;
      case 'h':
        render_headers(m, out);
        break;
      case '%':
        out.push_back('%');
        break;
      default:
        out.push_back('%');
        out.push_back(pattern_[i]);
    }
  }
  out.push_back('\n');
}

}  // namespace actormq::cli
