// Private helpers shared by the ONNX importer and exporter: attribute lookup and tensor decoding over
// the onnx_proto types. Only src/model/onnx_*.cpp include this; protobuf types never reach public
// headers.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <onnx/onnx_pb.h>

namespace slipway::model::onnx_detail {

inline const onnx::AttributeProto* find_attribute(const onnx::NodeProto& node, std::string_view name) {
  for (const auto& a : node.attribute()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

inline std::vector<int64_t> attr_ints(const onnx::NodeProto& node, std::string_view name) {
  const auto* a = find_attribute(node, name);
  if (a == nullptr) return {};
  return {a->ints().begin(), a->ints().end()};
}

inline std::vector<float> attr_floats(const onnx::NodeProto& node, std::string_view name) {
  const auto* a = find_attribute(node, name);
  if (a == nullptr) return {};
  return {a->floats().begin(), a->floats().end()};
}

inline std::vector<std::string> attr_strings(const onnx::NodeProto& node, std::string_view name) {
  const auto* a = find_attribute(node, name);
  if (a == nullptr) return {};
  return {a->strings().begin(), a->strings().end()};
}

inline std::string attr_string(const onnx::NodeProto& node, std::string_view name, std::string fallback) {
  const auto* a = find_attribute(node, name);
  return a == nullptr ? fallback : a->s();
}

inline int64_t attr_int(const onnx::NodeProto& node, std::string_view name, int64_t fallback) {
  const auto* a = find_attribute(node, name);
  return a == nullptr ? fallback : a->i();
}

inline float attr_float(const onnx::NodeProto& node, std::string_view name, float fallback) {
  const auto* a = find_attribute(node, name);
  return a == nullptr ? fallback : a->f();
}

// Element count of a tensor from its dims; -1 when a dim is negative or the product is absurd.
inline int64_t tensor_element_count(const onnx::TensorProto& t) {
  int64_t n = 1;
  for (int64_t d : t.dims()) {
    if (d < 0 || (d != 0 && n > (int64_t{1} << 40) / d)) return -1;
    n *= d;
  }
  return n;
}

// Decodes a numeric tensor (FLOAT, DOUBLE, INT32, INT64; typed fields or little-endian raw_data) into
// doubles. Returns false when the type is not numeric or the stored data disagrees with the dims.
inline bool tensor_to_doubles(const onnx::TensorProto& t, std::vector<double>& out) {
  const int64_t n = tensor_element_count(t);
  if (n < 0) return false;
  out.clear();
  auto from_raw = [&](size_t width, auto decode) {
    const std::string& raw = t.raw_data();
    if (raw.size() != static_cast<size_t>(n) * width) return false;
    out.reserve(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) out.push_back(decode(raw.data() + i * width));
    return true;
  };
  const bool raw = t.has_raw_data();
  switch (t.data_type()) {
    case onnx::TensorProto::FLOAT:
      if (raw) {
        return from_raw(4, [](const char* p) { float v; std::memcpy(&v, p, 4); return static_cast<double>(v); });
      }
      if (t.float_data_size() != n) return false;
      out.assign(t.float_data().begin(), t.float_data().end());
      return true;
    case onnx::TensorProto::DOUBLE:
      if (raw) return from_raw(8, [](const char* p) { double v; std::memcpy(&v, p, 8); return v; });
      if (t.double_data_size() != n) return false;
      out.assign(t.double_data().begin(), t.double_data().end());
      return true;
    case onnx::TensorProto::INT64:
      if (raw) {
        return from_raw(8, [](const char* p) { int64_t v; std::memcpy(&v, p, 8); return static_cast<double>(v); });
      }
      if (t.int64_data_size() != n) return false;
      for (int64_t v : t.int64_data()) out.push_back(static_cast<double>(v));
      return true;
    case onnx::TensorProto::INT32:
      if (raw) {
        return from_raw(4, [](const char* p) { int32_t v; std::memcpy(&v, p, 4); return static_cast<double>(v); });
      }
      if (t.int32_data_size() != n) return false;
      for (int32_t v : t.int32_data()) out.push_back(static_cast<double>(v));
      return true;
    default:
      return false;
  }
}

// A float tensor [dims...] with the values written as float_data (small tensors) or raw_data.
inline onnx::TensorProto make_float_tensor(const std::string& name, const std::vector<int64_t>& dims,
                                           const std::vector<float>& values) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t.add_dims(d);
  t.set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
  return t;
}

inline onnx::TensorProto make_int64_tensor(const std::string& name, const std::vector<int64_t>& dims,
                                           const std::vector<int64_t>& values) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::INT64);
  for (int64_t d : dims) t.add_dims(d);
  for (int64_t v : values) t.add_int64_data(v);
  return t;
}

}  // namespace slipway::model::onnx_detail
