#include "actormq/client/file_processed_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "id_window.h"
#include "storage/crc32c.h"

namespace actormq::client {

namespace {

error io_error(const std::string& what, const std::string& path, int err) {
  return error(errc::storage_error, what + " " + path + ": " + std::strerror(err));
}

void encode(const message_id& id, uint8_t* out) {
  std::memcpy(out, id.bytes().data(), message_id::size);
  uint32_t crc = storage::crc32c(out, message_id::size);
  for (int i = 0; i < 4; ++i) out[message_id::size + i] = static_cast<uint8_t>(crc >> (8 * i));
}

bool decode(const uint8_t* in, message_id& out) {
  uint32_t crc = 0;
  for (int i = 0; i < 4; ++i) crc |= uint32_t{in[message_id::size + i]} << (8 * i);
  if (crc != storage::crc32c(in, message_id::size)) return false;
  auto id = message_id::from_header(
      std::string_view(reinterpret_cast<const char*>(in), message_id::size));
  if (!id) return false;
  out = *id;
  return true;
}

bool write_all(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

file_processed_store::file_processed_store(std::string path, size_t capacity)
    : path_(std::move(path)), window_(std::make_unique<detail::id_window>(capacity)) {}

file_processed_store::~file_processed_store() {
  if (fd_ >= 0) ::close(fd_);
}

result<std::unique_ptr<file_processed_store>> file_processed_store::open(const std::string& path,
                                                                         size_t capacity) {
  std::unique_ptr<file_processed_store> s(new file_processed_store(path, capacity));
  if (auto r = s->load(); !r) return r.err();
  return s;
}

result<void> file_processed_store::load() {
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) return io_error("cannot open", path_, errno);
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return io_error("cannot stat", path_, errno);
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < bytes.size()) {
    ssize_t r = ::pread(fd_, bytes.data() + got, bytes.size() - got, static_cast<off_t>(got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return io_error("cannot read", path_, errno);
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  size_t whole = got / entry_size;
  size_t good = 0;
  for (; good < whole; ++good) {
    message_id id;
    if (!decode(bytes.data() + good * entry_size, id)) break;
    window_->add(id);
  }
  entries_ = good;
  const size_t keep = good * entry_size;
  if (keep < static_cast<size_t>(st.st_size)) {
    // A torn or corrupt tail: every entry from the first bad one is cut.
    truncated_ = (static_cast<size_t>(st.st_size) - keep + entry_size - 1) / entry_size;
    if (::ftruncate(fd_, static_cast<off_t>(keep)) != 0 || ::fdatasync(fd_) != 0) {
      return io_error("cannot truncate the torn tail of", path_, errno);
    }
  }
  if (::lseek(fd_, static_cast<off_t>(keep), SEEK_SET) < 0) {
    return io_error("cannot seek", path_, errno);
  }
  return {};
}

result<bool> file_processed_store::seen(const message_id& id) {
  return window_->contains(id);
}

result<void> file_processed_store::mark(const message_id& id) {
  if (window_->contains(id)) return {};
  if (fd_ < 0) return error(errc::storage_error, "processed-id file " + path_ + " is not open");
  uint8_t entry[entry_size];
  encode(id, entry);
  const off_t at = static_cast<off_t>(entries_ * entry_size);
  if (!write_all(fd_, entry, entry_size) || ::fdatasync(fd_) != 0) {
    int err = errno;
    // Cut what may have been written, so the next mark starts on an entry
    // boundary; the id counts as not processed.
    (void)::ftruncate(fd_, at);
    (void)::lseek(fd_, at, SEEK_SET);
    return io_error("cannot record a processed id in", path_, err);
  }
  ++entries_;
  window_->add(id);
  if (entries_ >= 2 * window_->capacity()) return rewrite();
  return {};
}

result<void> file_processed_store::rewrite() {
  const std::string tmp = path_ + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot create", tmp, errno);
  std::vector<uint8_t> bytes(window_->size() * entry_size);
  size_t i = 0;
  for (const auto& id : window_->ids()) encode(id, bytes.data() + entry_size * i++);
  if (!write_all(fd, bytes.data(), bytes.size()) || ::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return io_error("cannot write", tmp, err);
  }
  if (::rename(tmp.c_str(), path_.c_str()) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return io_error("cannot rename over", path_, err);
  }
  auto dir = std::filesystem::path(path_).parent_path();
  if (dir.empty()) dir = ".";
  if (int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  ::close(fd_);
  fd_ = ::open(path_.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  ::close(fd);
  if (fd_ < 0) return io_error("cannot reopen", path_, errno);
  entries_ = window_->size();
  return {};
}

size_t file_processed_store::size() const {
  return window_->size();
}

}  // namespace actormq::client
