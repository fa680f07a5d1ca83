#include "config/persist.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "config/document.hpp"
#include "config/load.hpp"

namespace aigw::config {

namespace {

Status fail(const std::string& what, const std::string& path) {
  return Status::error(what + " " + path + ": " + std::strerror(errno));
}

Status makeDirs(const std::string& dir) {
  std::string partial;
  for (std::size_t i = 0; i <= dir.size(); ++i) {
    if (i == dir.size() || (dir[i] == '/' && i > 0)) {
      partial = dir.substr(0, i);
      if (mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST)
        return fail("cannot create directory", partial);
    }
  }
  return {};
}

}  // namespace

Status atomicWriteFile(const std::string& path, const std::string& content, unsigned mode) {
  const auto slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  if (Status s = makeDirs(dir); !s) return s;
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return fail("cannot write", tmp);
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status s = fail("cannot write", tmp);
      close(fd);
      unlink(tmp.c_str());
      return s;
    }
    done += static_cast<std::size_t>(n);
  }
  if (fsync(fd) != 0) {
    Status s = fail("cannot fsync", tmp);
    close(fd);
    unlink(tmp.c_str());
    return s;
  }
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = fail("cannot rename into", path);
    unlink(tmp.c_str());
    return s;
  }
  // The rename is durable only once the directory entry is.
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return {};
}

Result<ConfigPtr, ConfigErrors> ConfigManager::apply(const nlohmann::json& document,
                                                     const ChangeCheck& check) {
  std::lock_guard lock(write_mu_);
  return applyLocked(document, check);
}

Result<ConfigPtr, ConfigErrors> ConfigManager::applyLocked(const nlohmann::json& document,
                                                           const ChangeCheck& check) {
  if (check) {
    // Checked on the flat document before any ${{ env }} is resolved, so a refused change
    // cannot even tell whether a variable is set.
    if (ConfigErrors problems = check(*store_.current()->source, flatSource(document));
        !problems.empty())
      return Result<ConfigPtr, ConfigErrors>::failure(std::move(problems));
  }
  auto built = build(document, processEnv());
  if (!built) return built;
  if (!data_dir_.empty()) {
    if (Status s = atomicWriteFile(
            persistedPath(),
            (*built)->source->dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
        !s) {
      ConfigErrors errors;
      errors.add("", "configuration not saved: " + s.message());
      return Result<ConfigPtr, ConfigErrors>::failure(std::move(errors));
    }
  }
  store_.publish(*built);
  return built;
}

Result<ConfigPtr, std::string> ConfigManager::loadPersisted() const {
  const std::string path = persistedPath();
  if (path.empty() || access(path.c_str(), F_OK) != 0) return emptyConfig();
  return loadFile(path);
}

}  // namespace aigw::config
