// KServe v2 gRPC messages <-> the inference core's tensors. The element layout is the same on both
// sides (little-endian, row-major, packed), so raw contents are copied as they are and typed
// contents are packed with one memcpy per tensor where the widths agree.
#include <cstring>
#include <limits>
#include <type_traits>

#include "detail/grpc_translate.h"

namespace slipway::serve::detail {

namespace {

std::string shape_text(const std::vector<int64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

Parameters from_grpc(const google::protobuf::Map<std::string, inference::InferParameter>& in) {
  Parameters out;
  out.reserve(in.size());
  for (const auto& [name, p] : in) {
    switch (p.parameter_choice_case()) {
      case inference::InferParameter::kBoolParam: out.push_back({name, p.bool_param()}); break;
      case inference::InferParameter::kInt64Param: out.push_back({name, p.int64_param()}); break;
      case inference::InferParameter::kStringParam: out.push_back({name, p.string_param()}); break;
      case inference::InferParameter::kDoubleParam: out.push_back({name, p.double_param()}); break;
      case inference::InferParameter::kUint64Param:
        if (p.uint64_param() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          out.push_back({name, static_cast<int64_t>(p.uint64_param())});
        } else {
          out.push_back({name, static_cast<double>(p.uint64_param())});
        }
        break;
      case inference::InferParameter::PARAMETER_CHOICE_NOT_SET: break;
    }
  }
  return out;
}

void to_grpc(const Parameters& in, google::protobuf::Map<std::string, inference::InferParameter>& out) {
  for (const auto& p : in) {
    inference::InferParameter& v = out[p.name];
    std::visit(
        [&v](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, bool>) {
            v.set_bool_param(x);
          } else if constexpr (std::is_same_v<T, int64_t>) {
            v.set_int64_param(x);
          } else if constexpr (std::is_same_v<T, double>) {
            v.set_double_param(x);
          } else {
            v.set_string_param(x);
          }
        },
        p.value);
  }
}

// The typed field a datatype's elements belong in, for messages.
const char* contents_field(DataType type) {
  switch (type) {
    case DataType::kBool: return "bool_contents";
    case DataType::kInt8:
    case DataType::kInt16:
    case DataType::kInt32: return "int_contents";
    case DataType::kInt64: return "int64_contents";
    case DataType::kUint8:
    case DataType::kUint16:
    case DataType::kUint32: return "uint_contents";
    case DataType::kUint64: return "uint64_contents";
    case DataType::kFp32: return "fp32_contents";
    case DataType::kFp64: return "fp64_contents";
    case DataType::kBytes: return "bytes_contents";
    case DataType::kFp16: return "raw_input_contents";
  }
  return "?";
}

// The name of the first non-empty typed field, or nullptr.
const char* filled_field(const inference::InferTensorContents& c) {
  if (c.bool_contents_size() > 0) return "bool_contents";
  if (c.int_contents_size() > 0) return "int_contents";
  if (c.int64_contents_size() > 0) return "int64_contents";
  if (c.uint_contents_size() > 0) return "uint_contents";
  if (c.uint64_contents_size() > 0) return "uint64_contents";
  if (c.fp32_contents_size() > 0) return "fp32_contents";
  if (c.fp64_contents_size() > 0) return "fp64_contents";
  if (c.bytes_contents_size() > 0) return "bytes_contents";
  return nullptr;
}

template <typename Dst, typename Src>
Status pack(const google::protobuf::RepeatedField<Src>& src, Tensor& t) {
  t.raw.resize(static_cast<size_t>(src.size()) * sizeof(Dst));
  if constexpr (std::is_same_v<Dst, Src>) {
    if (!src.empty()) std::memcpy(t.raw.data(), src.data(), t.raw.size());
  } else {
    char* dst = t.raw.data();
    for (int i = 0; i < src.size(); ++i) {
      Src v = src.Get(i);
      if constexpr (!std::is_same_v<Src, bool>) {
        if (v < static_cast<Src>(std::numeric_limits<Dst>::min()) ||
            v > static_cast<Src>(std::numeric_limits<Dst>::max())) {
          return make_error(ErrorCode::kInvalidArgument, "input '{}' value {} ({}) is out of range for {}", t.name, i,
                            v, datatype_name(t.datatype));
        }
      }
      auto d = static_cast<Dst>(v);
      std::memcpy(dst + static_cast<size_t>(i) * sizeof(Dst), &d, sizeof(Dst));
    }
  }
  return {};
}

Status from_contents(const inference::InferTensorContents& c, size_t count, Tensor& t) {
  int n = -1;
  switch (t.datatype) {
    case DataType::kBool: n = c.bool_contents_size(); break;
    case DataType::kInt8:
    case DataType::kInt16:
    case DataType::kInt32: n = c.int_contents_size(); break;
    case DataType::kInt64: n = c.int64_contents_size(); break;
    case DataType::kUint8:
    case DataType::kUint16:
    case DataType::kUint32: n = c.uint_contents_size(); break;
    case DataType::kUint64: n = c.uint64_contents_size(); break;
    case DataType::kFp32: n = c.fp32_contents_size(); break;
    case DataType::kFp64: n = c.fp64_contents_size(); break;
    case DataType::kBytes: n = c.bytes_contents_size(); break;
    case DataType::kFp16:
      return make_error(ErrorCode::kInvalidArgument,
                        "input '{}': FP16 data must be sent in raw_input_contents (it has no typed contents field)",
                        t.name);
  }
  if (n == 0 && count > 0) {
    if (const char* other = filled_field(c)) {
      return make_error(ErrorCode::kInvalidArgument, "input '{}' is {} but its values are in {} (expected {})", t.name,
                        datatype_name(t.datatype), other, contents_field(t.datatype));
    }
  }
  if (static_cast<size_t>(n) != count) {
    return make_error(ErrorCode::kInvalidArgument, "input '{}' has {} values, shape {} needs {}", t.name, n,
                      shape_text(t.shape), count);
  }
  switch (t.datatype) {
    case DataType::kBool: return pack<uint8_t>(c.bool_contents(), t);
    case DataType::kInt8: return pack<int8_t>(c.int_contents(), t);
    case DataType::kInt16: return pack<int16_t>(c.int_contents(), t);
    case DataType::kInt32: return pack<int32_t>(c.int_contents(), t);
    case DataType::kInt64: return pack<int64_t>(c.int64_contents(), t);
    case DataType::kUint8: return pack<uint8_t>(c.uint_contents(), t);
    case DataType::kUint16: return pack<uint16_t>(c.uint_contents(), t);
    case DataType::kUint32: return pack<uint32_t>(c.uint_contents(), t);
    case DataType::kUint64: return pack<uint64_t>(c.uint64_contents(), t);
    case DataType::kFp32: return pack<float>(c.fp32_contents(), t);
    case DataType::kFp64: return pack<double>(c.fp64_contents(), t);
    case DataType::kBytes:
      t.strings.assign(c.bytes_contents().begin(), c.bytes_contents().end());
      return {};
    case DataType::kFp16: break;
  }
  return {};
}

Status from_raw(const std::string& bytes, size_t count, Tensor& t) {
  if (t.datatype != DataType::kBytes) {
    size_t need = count * datatype_size(t.datatype);
    if (bytes.size() != need) {
      return make_error(ErrorCode::kInvalidArgument, "input '{}' has {} bytes in raw_input_contents, shape {} of {} needs {}",
                        t.name, bytes.size(), shape_text(t.shape), datatype_name(t.datatype), need);
    }
    t.raw = bytes;
    return {};
  }
  // BYTES: each element is a 4-byte little-endian length and then that many bytes.
  t.strings.reserve(count);
  size_t at = 0;
  while (at < bytes.size()) {
    uint32_t len = 0;
    if (bytes.size() - at < 4 || (std::memcpy(&len, bytes.data() + at, 4), bytes.size() - at - 4 < len)) {
      return make_error(ErrorCode::kInvalidArgument, "input '{}': raw BYTES element {} is truncated", t.name,
                        t.strings.size());
    }
    t.strings.emplace_back(bytes, at + 4, len);
    at += 4 + len;
  }
  if (t.strings.size() != count) {
    return make_error(ErrorCode::kInvalidArgument, "input '{}' has {} values, shape {} needs {}", t.name,
                      t.strings.size(), shape_text(t.shape), count);
  }
  return {};
}

template <typename Field, typename Src>
void unpack(const Tensor& t, size_t count, Field* field) {
  field->Resize(static_cast<int>(count), {});
  if constexpr (sizeof(typename Field::value_type) == sizeof(Src) &&
                std::is_same_v<typename Field::value_type, Src>) {
    if (count > 0) std::memcpy(field->mutable_data(), t.raw.data(), count * sizeof(Src));
  } else {
    for (size_t i = 0; i < count; ++i) field->Set(static_cast<int>(i), static_cast<typename Field::value_type>(t.at<Src>(i)));
  }
}

void to_contents(const Tensor& t, inference::InferTensorContents& c) {
  size_t count = t.datatype == DataType::kBytes ? t.strings.size() : t.raw.size() / std::max<size_t>(1, datatype_size(t.datatype));
  switch (t.datatype) {
    case DataType::kBool: unpack<google::protobuf::RepeatedField<bool>, uint8_t>(t, count, c.mutable_bool_contents()); break;
    case DataType::kInt8: unpack<google::protobuf::RepeatedField<int32_t>, int8_t>(t, count, c.mutable_int_contents()); break;
    case DataType::kInt16: unpack<google::protobuf::RepeatedField<int32_t>, int16_t>(t, count, c.mutable_int_contents()); break;
    case DataType::kInt32: unpack<google::protobuf::RepeatedField<int32_t>, int32_t>(t, count, c.mutable_int_contents()); break;
    case DataType::kInt64: unpack<google::protobuf::RepeatedField<int64_t>, int64_t>(t, count, c.mutable_int64_contents()); break;
    case DataType::kUint8: unpack<google::protobuf::RepeatedField<uint32_t>, uint8_t>(t, count, c.mutable_uint_contents()); break;
    case DataType::kUint16: unpack<google::protobuf::RepeatedField<uint32_t>, uint16_t>(t, count, c.mutable_uint_contents()); break;
    case DataType::kUint32: unpack<google::protobuf::RepeatedField<uint32_t>, uint32_t>(t, count, c.mutable_uint_contents()); break;
    case DataType::kUint64: unpack<google::protobuf::RepeatedField<uint64_t>, uint64_t>(t, count, c.mutable_uint64_contents()); break;
    case DataType::kFp32: unpack<google::protobuf::RepeatedField<float>, float>(t, count, c.mutable_fp32_contents()); break;
    case DataType::kFp64: unpack<google::protobuf::RepeatedField<double>, double>(t, count, c.mutable_fp64_contents()); break;
    case DataType::kBytes:
      for (const auto& s : t.strings) c.add_bytes_contents(s);
      break;
    case DataType::kFp16: break;  // never typed: to_grpc switches the whole response to raw
  }
}

}  // namespace

Status from_grpc(const inference::ModelInferRequest& in, InferRequest& out) {
  out.id = in.id();
  out.model = in.model_name();
  out.version = in.model_version();
  out.parameters = from_grpc(in.parameters());
  if (const auto* timeout = find_parameter(out.parameters, "timeout")) {
    const auto* us = std::get_if<int64_t>(timeout);
    if (us == nullptr || *us < 0) {
      return make_error(ErrorCode::kInvalidArgument, "request parameter 'timeout' must be a non-negative integer (µs)");
    }
    out.timeout = std::chrono::microseconds(*us);
  }
  const bool raw = in.raw_input_contents_size() > 0;
  if (raw && in.raw_input_contents_size() != in.inputs_size()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "the request has {} raw_input_contents for {} inputs (one per input, in order)",
                      in.raw_input_contents_size(), in.inputs_size());
  }
  out.inputs.resize(static_cast<size_t>(in.inputs_size()));
  for (int i = 0; i < in.inputs_size(); ++i) {
    const auto& src = in.inputs(i);
    Tensor& t = out.inputs[static_cast<size_t>(i)];
    t.name = src.name();
    if (t.name.empty()) return make_error(ErrorCode::kInvalidArgument, "inputs[{}] has no name", i);
    auto type = parse_datatype(src.datatype());
    if (!type) {
      return make_error(ErrorCode::kInvalidArgument,
                        "input '{}' has unknown datatype '{}' (BOOL, INT8..INT64, UINT8..UINT64, FP16, FP32, FP64, BYTES)",
                        t.name, src.datatype());
    }
    t.datatype = *type;
    t.shape.assign(src.shape().begin(), src.shape().end());
    for (int64_t d : t.shape) {
      if (d < 0) {
        return make_error(ErrorCode::kInvalidArgument, "input '{}' shape {} must hold non-negative integers", t.name,
                          shape_text(t.shape));
      }
    }
    const int64_t count = t.element_count();
    if (count < 0) {
      return make_error(ErrorCode::kInvalidArgument, "input '{}' has shape {}: more than {} elements", t.name,
                        shape_text(t.shape), kMaxTensorElements);
    }
    if (raw) {
      if (src.has_contents() && filled_field(src.contents()) != nullptr) {
        return make_error(ErrorCode::kInvalidArgument,
                          "input '{}' has contents although the request uses raw_input_contents (use one or the other)",
                          t.name);
      }
      SLIPWAY_RETURN_IF_ERROR(from_raw(in.raw_input_contents(i), static_cast<size_t>(count), t));
    } else {
      SLIPWAY_RETURN_IF_ERROR(from_contents(src.contents(), static_cast<size_t>(count), t));
    }
  }
  out.outputs.resize(static_cast<size_t>(in.outputs_size()));
  for (int i = 0; i < in.outputs_size(); ++i) {
    out.outputs[static_cast<size_t>(i)].name = in.outputs(i).name();
    out.outputs[static_cast<size_t>(i)].parameters = from_grpc(in.outputs(i).parameters());
  }
  return {};
}

void to_grpc(InferResponse&& in, bool raw, inference::ModelInferResponse& out) {
  out.set_model_name(std::move(in.model_name));
  out.set_model_version(std::move(in.model_version));
  out.set_id(std::move(in.id));
  to_grpc(in.parameters, *out.mutable_parameters());
  for (const auto& t : in.outputs) raw = raw || t.datatype == DataType::kFp16;
  out.mutable_outputs()->Reserve(static_cast<int>(in.outputs.size()));
  for (auto& t : in.outputs) {
    auto* o = out.add_outputs();
    o->set_name(t.name);
    o->set_datatype(datatype_name(t.datatype));
    o->mutable_shape()->Add(t.shape.begin(), t.shape.end());
    if (!raw) {
      to_contents(t, *o->mutable_contents());
    } else if (t.datatype != DataType::kBytes) {
      *out.add_raw_output_contents() = std::move(t.raw);
    } else {
      std::string* bytes = out.add_raw_output_contents();
      for (const auto& s : t.strings) {
        auto len = static_cast<uint32_t>(s.size());
        bytes->append(reinterpret_cast<const char*>(&len), 4);
        bytes->append(s);
      }
    }
  }
}

void to_grpc(const ModelMetadata& in, inference::ModelMetadataResponse& out) {
  out.set_name(in.name);
  for (const auto& v : in.versions) out.add_versions(v);
  out.set_platform(in.platform);
  for (const auto& t : in.inputs) {
    auto* m = out.add_inputs();
    m->set_name(t.name);
    m->set_datatype(datatype_name(t.datatype));
    m->mutable_shape()->Add(t.shape.begin(), t.shape.end());
  }
  for (const auto& t : in.outputs) {
    auto* m = out.add_outputs();
    m->set_name(t.name);
    m->set_datatype(datatype_name(t.datatype));
    m->mutable_shape()->Add(t.shape.begin(), t.shape.end());
  }
}

}  // namespace slipway::serve::detail
