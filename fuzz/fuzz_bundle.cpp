// Feeds arbitrary bytes to the model bundle reader. Odd first byte: the SHA-256 in the header is
// recomputed first, so the fuzzer gets past the checksum into the manifest and blob checks.
// A bundle that parses must describe, re-serialize to a file that parses, and evaluate.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "slipway/core/hash.h"
#include "slipway/model/bundle.h"
#include "slipway/model/engine.h"

using namespace slipway;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  if ((data[0] & 1) != 0 && bytes.size() >= 64) {
    uint64_t manifest_size = 0, blob_size = 0;
    std::memcpy(&manifest_size, bytes.data() + 16, 8);
    std::memcpy(&blob_size, bytes.data() + 24, 8);
    const uint64_t room = bytes.size() - 64;
    if (manifest_size <= room && blob_size <= room - manifest_size) {
      const Sha256Digest digest = sha256(std::string_view(bytes).substr(64, manifest_size + blob_size));
      std::memcpy(bytes.data() + 32, digest.data(), digest.size());
    }
  }
  auto model = model::parse_bundle(bytes, "fuzz.slw");
  if (!model.ok()) return 0;
  (void)model::describe(*model).dump();
  auto again = model::serialize_bundle(*model);
  if (!again.ok() || !model::parse_bundle(*again, "again.slw").ok()) __builtin_trap();
  if (model->n_features() <= 4096 && model->n_outputs() <= 4096) {
    std::vector<float> x(model->n_features() * 2, 0.5f), out(model->n_outputs() * 2);
    if (!x.empty()) x[0] = __builtin_nanf("");
    model::reference_predict(*model, x.data(), 2, out.data());
  }
  return 0;
}
