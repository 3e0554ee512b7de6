#pragma once
// The inspector's web page (app/broker/web/), compiled into the broker by
// cmake/embed_files.cmake: served from memory, no files needed at run time,
// nothing fetched from elsewhere (works offline).

#include <cstddef>
#include <vector>

namespace actormq::broker {

struct web_asset {
  const char* path;          ///< "/index.html", "/inspector.js", ...
  const char* content_type;  ///< with charset for text
  const unsigned char* data;
  size_t size;
};

const std::vector<web_asset>& web_assets();

}  // namespace actormq::broker
