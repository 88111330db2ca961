// Feeds arbitrary bytes to the KServe v2 JSON infer-request parser, and checks the fast path
// against it: whenever the fast parser accepts a body, the general parser must accept it too and
// produce the same tensors (the fast path's contract, serve/detail/fast_json.h).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "detail/fast_json.h"
#include "slipway/serve/rest.h"

using namespace slipway::serve;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto general = parse_infer_request(body, std::nullopt);
  InferRequest fast;
  if (!detail::fast_parse_infer_request(body, fast)) return 0;
  if (!general.ok()) __builtin_trap();
  if (fast.id != general->id || fast.inputs.size() != general->inputs.size()) __builtin_trap();
  for (size_t i = 0; i < fast.inputs.size(); ++i) {
    const Tensor& a = fast.inputs[i];
    const Tensor& b = general->inputs[i];
    if (a.name != b.name || a.datatype != b.datatype || a.shape != b.shape || a.raw != b.raw ||
        a.strings != b.strings) {
      __builtin_trap();
    }
  }
  return 0;
}
