// Tensor helpers and the one mapping from Status to protocol errors (inference.h).
#include <array>
#include <charconv>
#include <cmath>
#include <iterator>

#include <fmt/format.h>

#include "slipway/serve/inference.h"

namespace slipway::serve {
namespace {

struct TypeInfo {
  DataType type;
  const char* name;
  size_t size;
};
constexpr std::array<TypeInfo, 13> kTypes = {{
    {DataType::kBool, "BOOL", 1},     {DataType::kUint8, "UINT8", 1},   {DataType::kUint16, "UINT16", 2},
    {DataType::kUint32, "UINT32", 4}, {DataType::kUint64, "UINT64", 8}, {DataType::kInt8, "INT8", 1},
    {DataType::kInt16, "INT16", 2},   {DataType::kInt32, "INT32", 4},   {DataType::kInt64, "INT64", 8},
    {DataType::kFp16, "FP16", 2},     {DataType::kFp32, "FP32", 4},     {DataType::kFp64, "FP64", 8},
    {DataType::kBytes, "BYTES", 0},
}};

// IEEE 754 binary16 -> double.
double half_to_double(uint16_t h) {
  int exponent = (h >> 10) & 0x1f;
  int mantissa = h & 0x3ff;
  double sign = (h & 0x8000) ? -1.0 : 1.0;
  if (exponent == 0) return sign * std::ldexp(mantissa, -24);
  if (exponent == 31) return mantissa ? std::nan("") : sign * INFINITY;
  return sign * std::ldexp(mantissa + 1024, exponent - 25);
}

}  // namespace

const char* datatype_name(DataType type) { return kTypes[static_cast<size_t>(type)].name; }

std::optional<DataType> parse_datatype(std::string_view name) {
  for (const auto& t : kTypes) {
    if (name == t.name) return t.type;
  }
  return std::nullopt;
}

size_t datatype_size(DataType type) { return kTypes[static_cast<size_t>(type)].size; }

int64_t Tensor::element_count() const {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return -1;
    if (d == 0) return 0;
    if (n > kMaxTensorElements / d) return -1;
    n *= d;
  }
  return n;
}

double Tensor::number_at(size_t i) const {
  switch (datatype) {
    case DataType::kBool: return at<uint8_t>(i) ? 1.0 : 0.0;
    case DataType::kUint8: return at<uint8_t>(i);
    case DataType::kUint16: return at<uint16_t>(i);
    case DataType::kUint32: return at<uint32_t>(i);
    case DataType::kUint64: return static_cast<double>(at<uint64_t>(i));
    case DataType::kInt8: return at<int8_t>(i);
    case DataType::kInt16: return at<int16_t>(i);
    case DataType::kInt32: return at<int32_t>(i);
    case DataType::kInt64: return static_cast<double>(at<int64_t>(i));
    case DataType::kFp16: return half_to_double(at<uint16_t>(i));
    case DataType::kFp32: return at<float>(i);
    case DataType::kFp64: return at<double>(i);
    case DataType::kBytes: break;
  }
  return std::nan("");
}

const ParameterValue* find_parameter(const Parameters& parameters, std::string_view name) {
  for (const auto& p : parameters) {
    if (p.name == name) return &p.value;
  }
  return nullptr;
}

namespace {

// Shortest round-trip text (std::to_chars: no locale, no allocation).
template <typename T>
void append_chars(std::string& out, T value) {
  char buf[40];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  out.append(buf, ec == std::errc() ? end : buf);
}

}  // namespace

void append_tensors_json(const std::vector<Tensor>& tensors, std::string& out) {
  auto string = [&out](std::string_view s) {
    out += '"';
    for (char ch : s) {
      auto c = static_cast<unsigned char>(ch);
      if (c == '"' || c == '\\') {
        out += '\\';
        out += ch;
      } else if (c < 0x20) {
        fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<unsigned>(c));
      } else {
        out += ch;
      }
    }
    out += '"';
  };
  out += '[';
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    if (i > 0) out += ',';
    out += "{\"name\":";
    string(t.name);
    out += ",\"datatype\":\"";
    out += datatype_name(t.datatype);
    out += "\",\"shape\":[";
    for (size_t d = 0; d < t.shape.size(); ++d) {
      if (d > 0) out += ',';
      append_chars(out, t.shape[d]);
    }
    out += "],\"data\":[";
    const size_t width = datatype_size(t.datatype);
    const size_t n = t.datatype == DataType::kBytes ? t.strings.size() : (width == 0 ? 0 : t.raw.size() / width);
    for (size_t k = 0; k < n; ++k) {
      if (k > 0) out += ',';
      if (t.datatype == DataType::kBytes) {
        string(t.strings[k]);
      } else if (t.datatype == DataType::kBool) {
        out += t.at<uint8_t>(k) ? "true" : "false";
      } else if (t.datatype == DataType::kFp32) {
        float f = t.at<float>(k);
        if (std::isfinite(f)) {
          append_chars(out, f);
        } else {
          out += "null";
        }
      } else {
        double x = t.number_at(k);
        if (std::isfinite(x)) {
          append_chars(out, x);
        } else {
          out += "null";
        }
      }
    }
    out += "]}";
  }
  out += ']';
}

ProtocolError protocol_error(const Status& status) {
  switch (status.code()) {
    case ErrorCode::kOk: return ProtocolError::kNone;
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kParseError:
    case ErrorCode::kValidationFailed: return ProtocolError::kInvalidArgument;
    case ErrorCode::kNotFound: return ProtocolError::kNotFound;
    case ErrorCode::kFailedPrecondition:
    case ErrorCode::kCancelled: return ProtocolError::kUnavailable;
    default: return ProtocolError::kInternal;
  }
}

int http_status(ProtocolError error) {
  switch (error) {
    case ProtocolError::kNone: return 200;
    case ProtocolError::kInvalidArgument: return 400;
    case ProtocolError::kNotFound: return 404;
    case ProtocolError::kUnavailable: return 503;
    case ProtocolError::kInternal: return 500;
  }
  return 500;
}

}  // namespace slipway::serve
