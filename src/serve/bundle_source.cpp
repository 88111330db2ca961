// Serving a bundle file, hot-swapped when a new file is moved over it.
#include <sys/stat.h>

#include <fmt/format.h>

#include "slipway/model/bundle.h"
#include "slipway/serve/service.h"

namespace slipway::serve {
namespace {

class BundleFileSource final : public ModelSource {
 public:
  explicit BundleFileSource(std::string path) : path_(std::move(path)) {}

  std::string describe() const override { return path_; }

  Result<SourceVersion> current() override {
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0) {
      return make_error(ErrorCode::kNotFound, "model bundle '{}' not found", path_);
    }
    std::string key = fmt::format("{}:{}:{}.{}", st.st_ino, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    if (key != last_key_) {
      // A new file: the next version number (the first one seen is "1").
      last_key_ = key;
      ++counter_;
    }
    return SourceVersion{std::to_string(counter_), key};
  }

  Result<model::Model> load(const SourceVersion& /*version*/) override { return model::load_bundle(path_); }

 private:
  std::string path_;
  std::string last_key_;
  int64_t counter_ = 0;
};

}  // namespace

std::unique_ptr<ModelSource> bundle_file_source(std::string path) {
  return std::make_unique<BundleFileSource>(std::move(path));
}

}  // namespace slipway::serve
