// Applying and persisting configuration changes. Every accepted change is built and
// validated first, then written atomically (temp file, fsync, rename, fsync of the directory)
// into the data dir, then published; a change that fails any step changes nothing.
// Thread-safety: apply() serialises writers with a mutex (admin path only); readers use the
// ConfigStore and never take it.
#pragma once

#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "config/model.hpp"
#include "config/store.hpp"

namespace aigw::config {

// Writes content to path atomically with the given mode; message on failure.
Status atomicWriteFile(const std::string& path, const std::string& content, unsigned mode = 0600);

// An extra check of a built change, given the running flat document and the new one (the
// admin API limits which ${{ env }} references a write may add). Problems refuse the change.
using ChangeCheck = std::function<ConfigErrors(const nlohmann::json& before_flat,
                                               const nlohmann::json& after_flat)>;

class ConfigManager {
 public:
  ConfigManager(ConfigStore& store, std::string data_dir)
      : store_(store), data_dir_(std::move(data_dir)) {}

  // Builds `document` (nested or flat), runs `check` on the result, persists it, publishes it.
  // On failure nothing changes.
  Result<ConfigPtr, ConfigErrors> apply(const nlohmann::json& document,
                                        const ChangeCheck& check = {});
  // Runs `edit` on a copy of the current flat document and applies the result, all under the
  // writer lock so concurrent edits never lose each other.
  template <typename Edit>
  Result<ConfigPtr, ConfigErrors> update(Edit&& edit, const ChangeCheck& check = {});

  // The persisted flat document, if the data dir has one.
  Result<ConfigPtr, std::string> loadPersisted() const;
  std::string persistedPath() const { return data_dir_.empty() ? "" : data_dir_ + "/aigw.json"; }
  ConfigStore& store() { return store_; }

 private:
  Result<ConfigPtr, ConfigErrors> applyLocked(const nlohmann::json& document,
                                              const ChangeCheck& check);
  ConfigStore& store_;
  std::string data_dir_;
  std::mutex write_mu_;
};

template <typename Edit>
Result<ConfigPtr, ConfigErrors> ConfigManager::update(Edit&& edit, const ChangeCheck& check) {
  std::lock_guard lock(write_mu_);
  nlohmann::json doc = *store_.current()->source;
  if (auto problem = edit(doc); !problem.empty())
    return Result<ConfigPtr, ConfigErrors>::failure(std::move(problem));
  return applyLocked(doc, check);
}

}  // namespace aigw::config
