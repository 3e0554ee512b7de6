#include "app/broker/fetch_stream.h"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <kj/debug.h>

#include "app/broker/logger.h"

namespace actormq::broker {

namespace {
constexpr uint64_t step_bytes = 1 << 20;
}

fetch_stream::fetch_stream(kj::UnixEventPort& port, kj::Own<kj::AsyncIoStream> stream, int fd)
    : stream_(kj::mv(stream)),
      fd_(fd),
      observer_(kj::heap<kj::UnixEventPort::FdObserver>(
          port, fd, kj::UnixEventPort::FdObserver::OBSERVE_WRITE)),
      tail_(kj::Promise<void>(kj::READY_NOW).fork()) {
  ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
}

fetch_stream::~fetch_stream() {
  // Queued sends go first (one may wait on the observer), then the observer
  // (before the descriptor).
  tail_ = kj::Promise<void>(kj::READY_NOW).fork();
  observer_ = nullptr;
  ::close(fd_);
}

void fetch_stream::send(std::vector<storage::read_slice> slices) {
  auto shared = std::make_shared<std::vector<storage::read_slice>>(std::move(slices));
  tail_ = tail_.addBranch()
              .then([this, shared]() -> kj::Promise<void> {
                if (broken_) return kj::READY_NOW;
                return send_slices(shared, 0, 0);
              })
              .catch_([this](kj::Exception&& e) { fail(e); })
              .fork();
}

void fetch_stream::fail(const kj::Exception& e) {
  if (broken_) return;
  broken_ = true;
  broker_log().info("fetch stream closed: a send failed: {}", e.getDescription().cStr());
  ::shutdown(fd_, SHUT_RDWR);
}

kj::Promise<void> fetch_stream::send_slices(
    std::shared_ptr<std::vector<storage::read_slice>> slices, size_t i, uint64_t done) {
  uint64_t step = 0;
  while (i < slices->size()) {
    auto& s = (*slices)[i];
    if (done >= s.length) {
      ++i;
      done = 0;
      continue;
    }
    off_t pos = static_cast<off_t>(s.position() + done);
    size_t want = static_cast<size_t>(std::min(s.length - done, step_bytes));
    ssize_t n = ::sendfile(fd_, s.file->fd(), &pos, want);
    if (n > 0) {
      done += static_cast<uint64_t>(n);
      step += static_cast<uint64_t>(n);
      if (step >= step_bytes) {
        // Yield to the loop so RPC traffic is not starved by a big transfer.
        return kj::evalLater([this, slices, i, done]() { return send_slices(slices, i, done); });
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return observer_->whenBecomesWritable().then(
          [this, slices, i, done]() { return send_slices(slices, i, done); });
    }
    if (n == 0) {
      KJ_FAIL_REQUIRE("segment file ended before the fetched range was sent",
                      s.file->path().c_str());
    }
    KJ_FAIL_SYSCALL("sendfile", errno);
  }
  return kj::READY_NOW;
}

}  // namespace actormq::broker
