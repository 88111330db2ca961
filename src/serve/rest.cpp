// KServe v2 REST: JSON (and binary-extension) bodies <-> InferRequest / InferResponse, and the routes.
#include "slipway/serve/rest.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <iterator>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "detail/fast_json.h"

namespace slipway::serve {
namespace {

using json = nlohmann::json;
using server::Method;
using server::Request;
using server::Responder;
using server::Response;

std::string shape_text(const std::vector<int64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20) {
      fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<unsigned>(c));
    } else {
      out += ch;
    }
  }
  out += '"';
}

Response error_response(int status, std::string_view message) {
  std::string body = "{\"error\":";
  append_json_string(body, message);
  body += '}';
  return Response::json(status, std::move(body));
}

Response error_response(const Status& status) { return error_response(http_status(protocol_error(status)), status.message()); }

const char* json_kind(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::string: return "a string";
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    default: return "a number";
  }
}

Result<Parameters> parse_parameters(const json& j, std::string_view where) {
  if (!j.is_object()) return make_error(ErrorCode::kInvalidArgument, "{} 'parameters' must be an object, got {}", where, json_kind(j));
  Parameters out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const json& v = it.value();
    Parameter p{it.key(), false};
    if (v.is_boolean()) {
      p.value = v.get<bool>();
    } else if (v.is_number_integer()) {
      p.value = v.get<int64_t>();
    } else if (v.is_number_unsigned()) {
      p.value = static_cast<int64_t>(v.get<uint64_t>());
    } else if (v.is_number_float()) {
      p.value = v.get<double>();
    } else if (v.is_string()) {
      p.value = v.get<std::string>();
    } else {
      return make_error(ErrorCode::kInvalidArgument, "{} parameter '{}' must be a boolean, number or string, got {}", where,
                        it.key(), json_kind(v));
    }
    out.push_back(std::move(p));
  }
  return out;
}

// Element conversion from JSON for a fixed-size datatype, written at `dst`.
Status store_element(const json& v, DataType type, char* dst, const Tensor& t, size_t index) {
  auto wrong = [&](const char* expected) {
    return make_error(ErrorCode::kInvalidArgument, "input '{}' value {} is {}, expected {} ({})", t.name, index,
                      json_kind(v), expected, datatype_name(type));
  };
  auto out_of_range = [&]() {
    return make_error(ErrorCode::kInvalidArgument, "input '{}' value {} ({}) is out of range for {}", t.name, index,
                      v.dump(), datatype_name(type));
  };
  auto store_int = [&](auto tag) -> Status {
    using T = decltype(tag);
    if (!v.is_number_integer() && !v.is_number_unsigned()) return wrong("an integer");
    if (v.is_number_unsigned()) {
      uint64_t x = v.get<uint64_t>();
      if (x > static_cast<uint64_t>(std::numeric_limits<T>::max())) return out_of_range();
      T y = static_cast<T>(x);
      std::memcpy(dst, &y, sizeof(T));
    } else {
      int64_t x = v.get<int64_t>();
      if constexpr (std::is_signed_v<T>) {
        if (x < static_cast<int64_t>(std::numeric_limits<T>::min()) || x > static_cast<int64_t>(std::numeric_limits<T>::max())) {
          return out_of_range();
        }
      } else {
        if (x < 0 || static_cast<uint64_t>(x) > static_cast<uint64_t>(std::numeric_limits<T>::max())) return out_of_range();
      }
      T y = static_cast<T>(x);
      std::memcpy(dst, &y, sizeof(T));
    }
    return {};
  };
  switch (type) {
    case DataType::kBool: {
      if (!v.is_boolean()) return wrong("true or false");
      *dst = v.get<bool>() ? 1 : 0;
      return {};
    }
    case DataType::kUint8: return store_int(uint8_t{});
    case DataType::kUint16: return store_int(uint16_t{});
    case DataType::kUint32: return store_int(uint32_t{});
    case DataType::kUint64: return store_int(uint64_t{});
    case DataType::kInt8: return store_int(int8_t{});
    case DataType::kInt16: return store_int(int16_t{});
    case DataType::kInt32: return store_int(int32_t{});
    case DataType::kInt64: return store_int(int64_t{});
    case DataType::kFp32:
    case DataType::kFp64: {
      double x;
      if (v.is_null()) {
        x = std::numeric_limits<double>::quiet_NaN();  // slipway's extension: null = missing
      } else if (v.is_number()) {
        x = v.get<double>();
      } else {
        return wrong("a number or null");
      }
      if (type == DataType::kFp32) {
        auto f = static_cast<float>(x);
        std::memcpy(dst, &f, sizeof f);
      } else {
        std::memcpy(dst, &x, sizeof x);
      }
      return {};
    }
    case DataType::kFp16:
      return make_error(ErrorCode::kInvalidArgument, "input '{}': FP16 data must be sent as binary data", t.name);
    case DataType::kBytes: break;
  }
  return make_error(ErrorCode::kInternal, "unexpected datatype");
}

// Flattens (possibly nested, row-major) JSON `data` into the tensor.
Status fill_from_json(const json& data, Tensor& t, size_t count, size_t& index) {
  if (data.is_array()) {
    for (const json& v : data) SLIPWAY_RETURN_IF_ERROR(fill_from_json(v, t, count, index));
    return {};
  }
  if (index >= count) {
    return make_error(ErrorCode::kInvalidArgument, "input '{}' has more than {} values, shape {} needs {}", t.name, count,
                      shape_text(t.shape), count);
  }
  if (t.datatype == DataType::kBytes) {
    if (!data.is_string()) {
      return make_error(ErrorCode::kInvalidArgument, "input '{}' value {} is {}, expected a string (BYTES)", t.name, index,
                        json_kind(data));
    }
    t.strings.push_back(data.get<std::string>());
  } else {
    SLIPWAY_RETURN_IF_ERROR(store_element(data, t.datatype, t.raw.data() + index * datatype_size(t.datatype), t, index));
  }
  ++index;
  return {};
}

Status take_binary(Tensor& t, std::string_view bytes) {
  const int64_t count = t.element_count();
  if (t.datatype != DataType::kBytes) {
    size_t need = static_cast<size_t>(count) * datatype_size(t.datatype);
    if (bytes.size() != need) {
      return make_error(ErrorCode::kInvalidArgument, "input '{}' has {} bytes of binary data, shape {} of {} needs {}",
                        t.name, bytes.size(), shape_text(t.shape), datatype_name(t.datatype), need);
    }
    t.raw.assign(bytes.data(), bytes.size());
    return {};
  }
  // BYTES: each element is a 4-byte little-endian length and then that many bytes.
  t.strings.reserve(static_cast<size_t>(count));
  size_t at = 0;
  while (at < bytes.size()) {
    if (bytes.size() - at < 4) {
      return make_error(ErrorCode::kInvalidArgument, "input '{}': binary BYTES element {} is truncated", t.name,
                        t.strings.size());
    }
    uint32_t len;
    std::memcpy(&len, bytes.data() + at, 4);
    at += 4;
    if (bytes.size() - at < len) {
      return make_error(ErrorCode::kInvalidArgument, "input '{}': binary BYTES element {} is truncated", t.name,
                        t.strings.size());
    }
    t.strings.emplace_back(bytes.substr(at, len));
    at += len;
  }
  if (t.strings.size() != static_cast<size_t>(count)) {
    return make_error(ErrorCode::kInvalidArgument, "input '{}' has {} values, shape {} needs {}", t.name, t.strings.size(),
                      shape_text(t.shape), count);
  }
  return {};
}

Status parse_input(const json& j, size_t position, Tensor& t, std::optional<size_t>& binary_size) {
  if (!j.is_object()) {
    return make_error(ErrorCode::kInvalidArgument, "inputs[{}] must be an object, got {}", position, json_kind(j));
  }
  auto name = j.find("name");
  if (name == j.end() || !name->is_string()) {
    return make_error(ErrorCode::kInvalidArgument, "inputs[{}] needs a string 'name'", position);
  }
  t.name = name->get<std::string>();
  auto datatype = j.find("datatype");
  if (datatype == j.end() || !datatype->is_string()) {
    return make_error(ErrorCode::kInvalidArgument, "input '{}' needs a string 'datatype'", t.name);
  }
  auto type = parse_datatype(datatype->get_ref<const std::string&>());
  if (!type) {
    return make_error(ErrorCode::kInvalidArgument,
                      "input '{}' has unknown datatype '{}' (BOOL, INT8..INT64, UINT8..UINT64, FP16, FP32, FP64, BYTES)",
                      t.name, datatype->get_ref<const std::string&>());
  }
  t.datatype = *type;
  auto shape = j.find("shape");
  if (shape == j.end() || !shape->is_array()) {
    return make_error(ErrorCode::kInvalidArgument, "input '{}' needs a 'shape' array", t.name);
  }
  for (const json& d : *shape) {
    if (!(d.is_number_unsigned() || (d.is_number_integer() && d.get<int64_t>() >= 0))) {
      return make_error(ErrorCode::kInvalidArgument, "input '{}' shape {} must hold non-negative integers", t.name,
                        shape->dump());
    }
    const uint64_t dim = d.get<uint64_t>();  // non-negative, checked above
    t.shape.push_back(static_cast<int64_t>(std::min<uint64_t>(dim, std::numeric_limits<int64_t>::max())));
  }
  const int64_t count = t.element_count();
  if (count < 0) {
    return make_error(ErrorCode::kInvalidArgument, "input '{}' has shape {}: more than {} elements", t.name,
                      shape_text(t.shape), kMaxTensorElements);
  }
  binary_size.reset();
  auto params = j.find("parameters");
  if (params != j.end()) {
    SLIPWAY_ASSIGN_OR_RETURN(Parameters p, parse_parameters(*params, fmt::format("input '{}'", t.name)));
    for (const auto& param : p) {
      if (param.name != "binary_data_size") continue;
      const auto* size = std::get_if<int64_t>(&param.value);
      if (size == nullptr || *size < 0) {
        return make_error(ErrorCode::kInvalidArgument, "input '{}' parameter 'binary_data_size' must be a non-negative integer",
                          t.name);
      }
      binary_size = static_cast<size_t>(*size);
    }
  }
  auto data = j.find("data");
  if (binary_size) {
    if (data != j.end()) {
      return make_error(ErrorCode::kInvalidArgument, "input '{}' has both 'data' and 'binary_data_size'", t.name);
    }
    return {};
  }
  if (data == j.end()) return make_error(ErrorCode::kInvalidArgument, "input '{}' has no 'data'", t.name);
  if (t.datatype == DataType::kBytes) {
    t.strings.reserve(static_cast<size_t>(count));
  } else {
    t.raw.resize(static_cast<size_t>(count) * datatype_size(t.datatype));
  }
  size_t index = 0;
  SLIPWAY_RETURN_IF_ERROR(fill_from_json(*data, t, static_cast<size_t>(count), index));
  if (index != static_cast<size_t>(count)) {
    return make_error(ErrorCode::kInvalidArgument, "input '{}' has {} values, shape {} needs {}", t.name, index,
                      shape_text(t.shape), count);
  }
  return {};
}

bool truthy(const ParameterValue* v) {
  if (v == nullptr) return false;
  if (const auto* b = std::get_if<bool>(v)) return *b;
  return false;
}

void append_number(std::string& out, double x) {
  if (std::isfinite(x)) {
    fmt::format_to(std::back_inserter(out), "{}", x);
  } else {
    out += "null";
  }
}

void write_shape(std::string& out, const std::vector<int64_t>& shape) {
  out += '[';
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += ',';
    fmt::format_to(std::back_inserter(out), "{}", shape[i]);
  }
  out += ']';
}

// ---- Route handlers ----

void infer_route(const std::shared_ptr<InferenceApi>& api, const Request& http, Responder responder) {
  const auto received = std::chrono::steady_clock::now();
  std::optional<size_t> json_length;
  std::string_view header = http.header("Inference-Header-Content-Length");
  if (!header.empty()) {
    size_t n = 0;
    auto [end, ec] = std::from_chars(header.data(), header.data() + header.size(), n);
    if (ec != std::errc() || end != header.data() + header.size()) {
      responder.send(error_response(400, fmt::format("Inference-Header-Content-Length '{}' is not a number", header)));
      return;
    }
    json_length = n;
  }
  auto parsed = parse_infer_request(http.body, json_length);
  if (!parsed.ok()) {
    responder.send(error_response(parsed.status()));
    return;
  }
  InferRequest request = std::move(parsed).value();
  request.model = http.param("name");
  request.version = http.param("version");
  request.received_at = received;
  BinaryOutputs binary = binary_outputs_of(request);
  api->infer(std::move(request), [responder = std::move(responder), binary = std::move(binary)](
                                     Result<InferResponse> result) mutable {
    if (!result.ok()) {
      responder.send(error_response(result.status()));
      return;
    }
    Response response;
    response.status = 200;
    auto header_length = write_infer_response(*result, binary, response.body);
    if (header_length) {
      response.content_type = "application/octet-stream";
      response.headers.push_back({"Inference-Header-Content-Length", std::to_string(*header_length)});
    }
    responder.send(std::move(response));
  });
}

json tensor_metadata_json(const std::vector<TensorMetadata>& tensors) {
  json out = json::array();
  for (const auto& t : tensors) out.push_back({{"name", t.name}, {"datatype", datatype_name(t.datatype)}, {"shape", t.shape}});
  return out;
}

}  // namespace

Result<InferRequest> parse_infer_request(std::string_view body, std::optional<size_t> json_length) {
  std::string_view json_text = body;
  std::string_view binary;
  if (json_length) {
    if (*json_length > body.size()) {
      return make_error(ErrorCode::kInvalidArgument, "Inference-Header-Content-Length {} is larger than the body ({} bytes)",
                        *json_length, body.size());
    }
    json_text = body.substr(0, *json_length);
    binary = body.substr(*json_length);
  } else {
    InferRequest fast;
    if (detail::fast_parse_infer_request(json_text, fast)) return fast;
  }
  json j = json::parse(json_text, nullptr, false);
  if (j.is_discarded()) {
    // Parse again with exceptions only to get the position of the error (rare path).
    try {
      json again = json::parse(json_text);
      (void)again;
    } catch (const json::parse_error& e) {
      std::string what = e.what();
      size_t bracket = what.find("] ");
      return make_error(ErrorCode::kInvalidArgument, "malformed JSON in the request body: {}",
                        bracket == std::string::npos ? what : what.substr(bracket + 2));
    }
    return make_error(ErrorCode::kInvalidArgument, "malformed JSON in the request body");
  }
  if (!j.is_object()) {
    return make_error(ErrorCode::kInvalidArgument, "the request body must be a JSON object, got {}", json_kind(j));
  }
  InferRequest request;
  if (auto id = j.find("id"); id != j.end()) {
    if (!id->is_string()) return make_error(ErrorCode::kInvalidArgument, "'id' must be a string, got {}", json_kind(*id));
    request.id = id->get<std::string>();
  }
  if (auto params = j.find("parameters"); params != j.end()) {
    SLIPWAY_ASSIGN_OR_RETURN(request.parameters, parse_parameters(*params, "request"));
    if (const auto* timeout = find_parameter(request.parameters, "timeout")) {
      const auto* us = std::get_if<int64_t>(timeout);
      if (us == nullptr || *us < 0) {
        return make_error(ErrorCode::kInvalidArgument, "request parameter 'timeout' must be a non-negative integer (µs)");
      }
      request.timeout = std::chrono::microseconds(*us);
    }
  }
  auto inputs = j.find("inputs");
  if (inputs == j.end() || !inputs->is_array()) {
    return make_error(ErrorCode::kInvalidArgument, "the request needs an 'inputs' array");
  }
  request.inputs.resize(inputs->size());
  size_t binary_at = 0;
  for (size_t i = 0; i < inputs->size(); ++i) {
    std::optional<size_t> binary_size;
    Tensor& t = request.inputs[i];
    SLIPWAY_RETURN_IF_ERROR(parse_input((*inputs)[i], i, t, binary_size));
    if (binary_size) {
      if (!json_length) {
        return make_error(ErrorCode::kInvalidArgument,
                          "input '{}' has 'binary_data_size' but the request has no Inference-Header-Content-Length header",
                          t.name);
      }
      if (binary.size() - binary_at < *binary_size) {
        return make_error(ErrorCode::kInvalidArgument,
                          "input '{}' needs {} bytes of binary data but only {} remain in the body", t.name, *binary_size,
                          binary.size() - binary_at);
      }
      SLIPWAY_RETURN_IF_ERROR(take_binary(t, binary.substr(binary_at, *binary_size)));
      binary_at += *binary_size;
    }
  }
  if (binary_at != binary.size()) {
    return make_error(ErrorCode::kInvalidArgument, "the body has {} bytes of binary data that no input claims",
                      binary.size() - binary_at);
  }
  if (auto outputs = j.find("outputs"); outputs != j.end()) {
    if (!outputs->is_array()) return make_error(ErrorCode::kInvalidArgument, "'outputs' must be an array");
    for (size_t i = 0; i < outputs->size(); ++i) {
      const json& o = (*outputs)[i];
      auto name = o.is_object() ? o.find("name") : o.end();
      if (!o.is_object() || name == o.end() || !name->is_string()) {
        return make_error(ErrorCode::kInvalidArgument, "outputs[{}] needs a string 'name'", i);
      }
      RequestedOutput out;
      out.name = name->get<std::string>();
      if (auto params = o.find("parameters"); params != o.end()) {
        SLIPWAY_ASSIGN_OR_RETURN(out.parameters, parse_parameters(*params, fmt::format("output '{}'", out.name)));
        if (const auto* c = find_parameter(out.parameters, "classification")) {
          const auto* n = std::get_if<int64_t>(c);
          if (n == nullptr || *n != 0) {
            return make_error(ErrorCode::kInvalidArgument, "output '{}': the classification extension is not supported",
                              out.name);
          }
        }
      }
      request.outputs.push_back(std::move(out));
    }
  }
  return request;
}

BinaryOutputs binary_outputs_of(const InferRequest& request) {
  BinaryOutputs b;
  b.all = truthy(find_parameter(request.parameters, "binary_data_output"));
  for (const auto& o : request.outputs) {
    const ParameterValue* v = find_parameter(o.parameters, "binary_data");
    b.per_output.push_back(v != nullptr ? truthy(v) : b.all);
  }
  return b;
}

std::optional<size_t> write_infer_response(const InferResponse& response, const BinaryOutputs& binary, std::string& body) {
  body.clear();
  body += '{';
  if (!response.id.empty()) {
    body += "\"id\":";
    append_json_string(body, response.id);
    body += ',';
  }
  body += "\"model_name\":";
  append_json_string(body, response.model_name);
  body += ",\"model_version\":";
  append_json_string(body, response.model_version);
  body += ",\"outputs\":[";
  bool any_binary = false;
  for (size_t i = 0; i < response.outputs.size(); ++i) {
    const Tensor& t = response.outputs[i];
    if (i > 0) body += ',';
    body += "{\"name\":";
    append_json_string(body, t.name);
    body += ",\"datatype\":\"";
    body += datatype_name(t.datatype);
    body += "\",\"shape\":";
    write_shape(body, t.shape);
    if (binary.binary(i)) {
      any_binary = true;
      size_t size = t.raw.size();
      if (t.datatype == DataType::kBytes) {
        size = 0;
        for (const auto& s : t.strings) size += 4 + s.size();
      }
      fmt::format_to(std::back_inserter(body), ",\"parameters\":{{\"binary_data_size\":{}}}}}", size);
      continue;
    }
    body += ",\"data\":[";
    const size_t n = t.datatype == DataType::kBytes ? t.strings.size() : t.raw.size() / std::max<size_t>(1, datatype_size(t.datatype));
    for (size_t k = 0; k < n; ++k) {
      if (k > 0) body += ',';
      if (t.datatype == DataType::kBytes) {
        append_json_string(body, t.strings[k]);
      } else if (t.datatype == DataType::kFp32) {
        float f = t.at<float>(k);
        if (std::isfinite(f)) {
          fmt::format_to(std::back_inserter(body), "{}", f);
        } else {
          body += "null";
        }
      } else if (t.datatype == DataType::kBool) {
        body += t.at<uint8_t>(k) ? "true" : "false";
      } else {
        append_number(body, t.number_at(k));
      }
    }
    body += "]}";
  }
  body += "]}";
  if (!any_binary) return std::nullopt;
  const size_t header_length = body.size();
  for (size_t i = 0; i < response.outputs.size(); ++i) {
    if (!binary.binary(i)) continue;
    const Tensor& t = response.outputs[i];
    if (t.datatype == DataType::kBytes) {
      for (const auto& s : t.strings) {
        auto len = static_cast<uint32_t>(s.size());
        body.append(reinterpret_cast<const char*>(&len), 4);
        body += s;
      }
    } else {
      body += t.raw;
    }
  }
  return header_length;
}

Status add_rest_routes(server::Router& router, std::shared_ptr<InferenceApi> api) {
  router.set_error_format("/v2", [](int status, std::string_view, std::string_view message) {
    return error_response(status, message);
  });
  SLIPWAY_RETURN_IF_ERROR(router.add(Method::kGet, "/v2", [api](const Request&, Response& out) {
    ServerMetadata md = api->server_metadata();
    out.body = json{{"name", md.name}, {"version", md.version}, {"extensions", md.extensions}}.dump();
  }));
  SLIPWAY_RETURN_IF_ERROR(router.add(Method::kGet, "/v2/health/live", [api](const Request&, Response& out) {
    if (!api->live()) out = error_response(503, "server is not live");
  }));
  SLIPWAY_RETURN_IF_ERROR(router.add(Method::kGet, "/v2/health/ready", [api](const Request&, Response& out) {
    if (!api->ready()) out = error_response(503, "server is not ready");
  }));
  auto metadata = [api](const Request& request, Response& out) {
    auto md = api->model_metadata(request.param("name"), request.param("version"));
    if (!md.ok()) {
      out = error_response(md.status());
      return;
    }
    out.body = json{{"name", md->name},
                    {"versions", md->versions},
                    {"platform", md->platform},
                    {"inputs", tensor_metadata_json(md->inputs)},
                    {"outputs", tensor_metadata_json(md->outputs)}}
                   .dump();
  };
  auto ready = [api](const Request& request, Response& out) {
    auto r = api->model_ready(request.param("name"), request.param("version"));
    if (!r.ok()) {
      out = error_response(r.status());
    } else if (!*r) {
      out = error_response(503, fmt::format("model '{}' is not ready", request.param("name")));
    }
  };
  auto infer = [api](const Request& request, Responder responder) { infer_route(api, request, std::move(responder)); };
  for (const char* base : {"/v2/models/{name}", "/v2/models/{name}/versions/{version}"}) {
    std::string b = base;
    SLIPWAY_RETURN_IF_ERROR(router.add(Method::kGet, b, metadata));
    SLIPWAY_RETURN_IF_ERROR(router.add(Method::kGet, b + "/ready", ready));
    SLIPWAY_RETURN_IF_ERROR(router.add_async(Method::kPost, b + "/infer", infer));
  }
  SLIPWAY_RETURN_IF_ERROR(router.add(Method::kPost, "/v2/repository/index", [api](const Request&, Response& out) {
    json index = json::array();
    for (const auto& name : api->model_names()) {
      auto md = api->model_metadata(name, "");
      json entry{{"name", name}};
      if (md.ok() && !md->versions.empty()) {
        entry["version"] = md->versions.front();
        entry["state"] = "READY";
      } else {
        entry["state"] = "UNAVAILABLE";
      }
      index.push_back(std::move(entry));
    }
    out.body = index.dump();
  }));
  return {};
}

Status add_metrics_route(server::Router& router, std::shared_ptr<InferenceService> service) {
  return router.add(Method::kGet, "/metrics", [service](const Request&, Response& out) {
    out.content_type = "text/plain; version=0.0.4; charset=utf-8";
    out.body = service->render_metrics();
  });
}

}  // namespace slipway::serve
