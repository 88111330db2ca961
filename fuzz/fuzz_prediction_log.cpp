// Feeds arbitrary bytes to the prediction-log record decoder (payload versions 1 and 2). A payload
// that decodes must re-encode to a frame that decodes to the same record, and render as JSON.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "slipway/serve/prediction_log.h"

using namespace slipway::serve;

namespace {

bool same_tensors(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].datatype != b[i].datatype || a[i].shape != b[i].shape ||
        a[i].raw != b[i].raw || a[i].strings != b[i].strings) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view payload(reinterpret_cast<const char*>(data), size);
  auto record = log_format::decode_payload(payload);
  if (!record.ok()) return 0;
  (void)record->inputs_as_json();
  (void)record->outputs_as_json();
  std::string frame;
  log_format::append_frame(*record, frame);
  PredictionRecord again;
  if (!log_format::decode_payload_into(std::string_view(frame).substr(log_format::kFrameHeaderBytes), again).ok()) {
    __builtin_trap();
  }
  if (again.request_id != record->request_id || again.model != record->model || again.time_us != record->time_us ||
      again.version != record->version || again.latency_us != record->latency_us || again.tags != record->tags ||
      !same_tensors(again.inputs, record->inputs) || !same_tensors(again.outputs, record->outputs) ||
      again.inputs_as_json() != record->inputs_as_json() || again.outputs_as_json() != record->outputs_as_json()) {
    __builtin_trap();
  }
  return 0;
}
