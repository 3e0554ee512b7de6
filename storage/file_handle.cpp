#include "storage/file_handle.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "storage/errc.h"
#include "storage/fault_injector.h"
#include "storage/logger.h"

namespace actormq::storage {

namespace {
std::error_code last_error(const char* what, const std::filesystem::path& p) {
  int e = errno;
  logger().error("{} {}: {}", what, p.string(), std::strerror(e));
  return from_errno(e);
}

/// An injected failure of op on p (fault_injector.h): sets errno and returns
/// true when the call must fail.
bool injected(fault_op op, const std::filesystem::path& p) {
  auto f = fault_injector::instance().check(op, p);
  if (!f || f->error == 0) return false;
  errno = f->error;
  return true;
}
}  // namespace

result<std::shared_ptr<file_handle>> file_handle::open(const std::filesystem::path& path,
                                                       bool create) {
  int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0);
  int fd = injected(fault_op::open, path) ? -1 : ::open(path.c_str(), flags, 0644);
  if (fd < 0) {
    int e = errno;
    if (e != ENOENT || create) logger().error("open {}: {}", path.string(), std::strerror(e));
    return from_errno(e);
  }
  return std::shared_ptr<file_handle>(new file_handle(fd, path));
}

file_handle::~file_handle() {
  if (fd_ >= 0) ::close(fd_);
}

result<uint64_t> file_handle::size() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) return last_error("fstat", path_);
  return static_cast<uint64_t>(st.st_size);
}

status file_handle::write_at(file_position pos, std::span<const uint8_t> data) {
  uint64_t at = pos();
  while (!data.empty()) {
    size_t len = data.size();
    int fault = 0;  // an injected errno, after `len` bytes (a torn or short write)
    if (auto f = fault_injector::instance().check(fault_op::write, path_, len)) {
      fault = f->error;
      len = f->allow ? static_cast<size_t>(*f->allow) : 0;
      if (fault == 0 && len == 0) len = data.size();  // nothing to inject
    }
    if (len > 0) {
      ssize_t n = ::pwrite(fd_, data.data(), len, static_cast<off_t>(at));
      if (n < 0) {
        if (errno == EINTR) continue;
        return last_error("pwrite", path_);
      }
      data = data.subspan(static_cast<size_t>(n));
      at += static_cast<uint64_t>(n);
    }
    if (fault == EINTR) continue;
    if (fault != 0) {
      errno = fault;
      return last_error("pwrite", path_);
    }
  }
  return {};
}

result<size_t> file_handle::read_some_at(file_position pos, std::span<uint8_t> out) const {
  size_t got = 0;
  while (got < out.size()) {
    if (injected(fault_op::read, path_)) {
      if (errno == EINTR) continue;
      return last_error("pread", path_);
    }
    ssize_t n = ::pread(fd_, out.data() + got, out.size() - got, static_cast<off_t>(pos() + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return last_error("pread", path_);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return got;
}

status file_handle::read_at(file_position pos, std::span<uint8_t> out) const {
  auto n = read_some_at(pos, out);
  if (!n) return n.error();
  if (*n != out.size()) return errc::invalid_argument;
  return {};
}

status file_handle::truncate(uint64_t size) {
  if (injected(fault_op::truncate, path_) || ::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
    return last_error("ftruncate", path_);
  }
  return {};
}

status file_handle::datasync() {
  if (injected(fault_op::sync, path_) || ::fdatasync(fd_) != 0) {
    return last_error("fdatasync", path_);
  }
  return {};
}

status sync_directory(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return last_error("open dir", dir);
  int rc = injected(fault_op::sync, dir) ? -1 : ::fsync(fd);
  int e = errno;
  ::close(fd);
  if (rc != 0) {
    errno = e;
    return last_error("fsync dir", dir);
  }
  return {};
}

status write_file_atomic(const std::filesystem::path& path, std::span<const uint8_t> data) {
  auto tmp = path;
  tmp += ".tmp";
  {
    auto f = file_handle::open(tmp, true);
    if (!f) return f.error();
    if (auto st = (*f)->truncate(0); !st) return st;
    if (auto st = (*f)->write_at(file_position(0), data); !st) return st;
    if (auto st = (*f)->datasync(); !st) return st;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return last_error("rename", tmp);
  return sync_directory(path.parent_path().empty() ? "." : path.parent_path());
}

status write_file_at(const std::filesystem::path& path, file_position at,
                     std::span<const uint8_t> data, bool truncate_first) {
  auto f = file_handle::open(path, true);
  if (!f) return f.error();
  if (truncate_first) {
    if (auto st = (*f)->truncate(0); !st) return st;
  }
  return (*f)->write_at(at, data);
}

status remove_file(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
  return ec ? from_errno(ec.value()) : std::error_code{};
}

result<std::string> read_file(const std::filesystem::path& path) {
  auto f = file_handle::open(path, false);
  if (!f) return f.error();
  auto sz = (*f)->size();
  if (!sz) return sz.error();
  std::string out(*sz, '\0');
  auto n =
      (*f)->read_some_at(file_position(0), {reinterpret_cast<uint8_t*>(out.data()), out.size()});
  if (!n) return n.error();
  out.resize(*n);
  return out;
}

}  // namespace actormq::storage
