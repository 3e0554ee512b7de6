#pragma once
// buffered_read_stream: a KJ stream whose reads go through a small buffer.
// Cap'n Proto 0.9's message reader asks its stream for each message in
// pieces (the first word of the segment table, the rest of the table, then
// the segments), and then for the first word of the next message; straight
// on a socket each piece is a read(2), about four per RPC message and one
// more that finds nothing. Here one read(2) of up to `capacity` bytes
// serves every piece that arrived together. A piece at least `capacity`
// long (a large batch) is read straight into the caller's buffer, not
// copied twice.
//
// Writes and everything else pass straight through (forwarding_stream). The buffer (capacity
// bytes) is allocated at the first read and lives as long as the stream.
//
// Thread-safety: as the inner stream (one KJ thread).

#include <kj/async-io.h>

#include <cstddef>

#include "app/kj_support/forwarding_stream.h"

namespace actormq::kj_support {

class buffered_read_stream final : public forwarding_stream {
 public:
  static constexpr size_t default_capacity = 8 * 1024;

  explicit buffered_read_stream(kj::Own<kj::AsyncIoStream> inner,
                                size_t capacity = default_capacity);

  /// Bytes read from the inner stream and not yet handed out.
  size_t buffered() const { return end_ - begin_; }

  kj::Promise<size_t> tryRead(void* buffer, size_t min_bytes, size_t max_bytes) override;
  void abortRead() override;

 private:
  /// Copies up to max buffered bytes to out; returns how many.
  size_t take(kj::byte* out, size_t max);

  size_t capacity_;
  kj::Array<kj::byte> buf_;
  size_t begin_ = 0;
  size_t end_ = 0;
};

}  // namespace actormq::kj_support
