// Unit: buffered_read_stream, the read buffer under the broker's and the
// client's RPC connections (one read(2) for the pieces of the messages
// that arrived together). Over a socketpair; a counting layer between
// the two says how often the buffer read the pipe.
#include <kj/async-io.h>
#include <kj/vector.h>
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "app/kj_support/buffered_read_stream.h"
#include "app/kj_support/forwarding_stream.h"

using actormq::kj_support::buffered_read_stream;

namespace {

/// Passes everything to the pipe's end and counts the reads made of it.
class counting_stream final : public actormq::kj_support::forwarding_stream {
 public:
  counting_stream(kj::AsyncIoStream& inner, int& reads)
      : forwarding_stream(kj::Own<kj::AsyncIoStream>(&inner, kj::NullDisposer::instance)),
        reads_(reads) {}
  kj::Promise<size_t> tryRead(void* buffer, size_t min_bytes, size_t max_bytes) override {
    ++reads_;
    return forwarding_stream::tryRead(buffer, min_bytes, max_bytes);
  }

 private:
  int& reads_;
};

struct fixture {
  kj::AsyncIoContext io = kj::setupAsyncIo();
  kj::TwoWayPipe pipe = io.provider->newTwoWayPipe();  // a socketpair, as a connection is
  int reads = 0;
  buffered_read_stream stream{kj::heap<counting_stream>(*pipe.ends[1], reads), 64};

  kj::Vector<kj::Promise<void>> writes;

  /// Writes bytes in one write(2) when the socket takes them; completes
  /// while the test reads (a write larger than the socket's buffer waits
  /// for those reads).
  void send(const std::string& bytes) {
    auto copy = kj::heapArray<char>(bytes.data(), bytes.size());
    writes.add(pipe.ends[0]
                   ->write(copy.begin(), copy.size())
                   .attach(kj::mv(copy))
                   .eagerlyEvaluate(nullptr));
  }
  void finish_writes() {
    for (auto& w : writes) w.wait(io.waitScope);
    writes.clear();
  }
  /// tryRead(min, max) on the buffered end.
  std::string read(size_t min, size_t max) {
    std::string out(max, '\0');
    size_t n = stream.tryRead(out.data(), min, max).wait(io.waitScope);
    out.resize(n);
    return out;
  }
};

std::string bytes(size_t n, char first) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(first + i % 23);
  return s;
}

}  // namespace

TEST_CASE("pieces that arrived together are read from the socket once",
          "[kj_support][buffered_read_stream]") {
  fixture f;
  // Two small messages as Cap'n Proto reads them: first word, the rest of
  // the segment table, the segment; all written at once.
  auto a = bytes(8, 'a'), b = bytes(8, 'b'), c = bytes(24, 'c'), d = bytes(8, 'd');
  f.send(a + b + c + d);
  CHECK(f.read(8, 8) == a);
  CHECK(f.read(8, 8) == b);
  CHECK(f.read(24, 24) == c);
  CHECK(f.read(8, 8) == d);
  CHECK(f.reads == 1);
  CHECK(f.stream.buffered() == 0);
}

TEST_CASE("a read of at least the buffer's size goes straight to the caller's buffer",
          "[kj_support][buffered_read_stream]") {
  fixture f;
  auto head = bytes(8, 'h');
  auto body = bytes(100'000, 'x');  // a large batch: far more than the 64-byte buffer
  f.send(head + body);
  CHECK(f.read(8, 8) == head);
  // What the buffer holds past the head is handed out first, the rest read
  // into the caller's memory directly; nothing is lost or reordered.
  CHECK(f.read(body.size(), body.size()) == body);
  CHECK(f.stream.buffered() == 0);
  // One read filled the 64-byte buffer, one more took the rest straight:
  // through the buffer it would have taken about 1,560.
  CHECK(f.reads == 2);
}

TEST_CASE("a read that needs more than the buffer holds waits for the rest",
          "[kj_support][buffered_read_stream]") {
  fixture f;
  auto first = bytes(8, 'f');
  f.send(first + "abcd");
  CHECK(f.read(8, 8) == first);
  CHECK(f.stream.buffered() == 4);
  // Ten bytes wanted, four buffered: the read completes once six more come.
  std::string out(10, '\0');
  auto pending = f.stream.tryRead(out.data(), 10, 10);
  f.send("efghij");
  CHECK(pending.wait(f.io.waitScope) == 10);
  CHECK(out == "abcdefghij");
}

TEST_CASE("the end of the stream gives a short read, then zero",
          "[kj_support][buffered_read_stream]") {
  fixture f;
  f.send("12345");
  f.finish_writes();
  f.pipe.ends[0]->shutdownWrite();
  CHECK(f.read(8, 8) == "12345");
  CHECK(f.read(1, 8).empty());
}
