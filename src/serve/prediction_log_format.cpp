// The prediction log's on-disk format (docs/prediction-log.md): CRC32C, the segment header, record
// frames and the record payload. Everything little-endian.
#include <algorithm>
#include <array>
#include <cassert>
#include <cstring>
#include <functional>

#include <nlohmann/json.hpp>

#include "slipway/serve/prediction_log.h"

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace slipway::serve {

namespace log_format {

namespace {

// CRC32C (Castagnoli, reflected polynomial 0x82F63B78): the checksum iSCSI, ext4 and LevelDB use,
// with an SSE4.2 instruction on x86-64. Software path: slicing-by-8 tables.
struct Crc32cTables {
  std::array<std::array<uint32_t, 256>, 8> t{};
  constexpr Crc32cTables() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i) {
      for (size_t s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
    }
  }
};
constexpr Crc32cTables kTables;

uint32_t crc32c_software(const uint8_t* p, size_t n, uint32_t c) {
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    v ^= c;
    c = kTables.t[7][v & 0xFF] ^ kTables.t[6][(v >> 8) & 0xFF] ^ kTables.t[5][(v >> 16) & 0xFF] ^
        kTables.t[4][(v >> 24) & 0xFF] ^ kTables.t[3][(v >> 32) & 0xFF] ^ kTables.t[2][(v >> 40) & 0xFF] ^
        kTables.t[1][(v >> 48) & 0xFF] ^ kTables.t[0][v >> 56];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = (c >> 8) ^ kTables.t[0][(c ^ *p++) & 0xFF];
  return c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t crc32c_sse42(const uint8_t* p, size_t n, uint32_t c) {
  uint64_t c64 = c;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c64 = _mm_crc32_u64(c64, v);
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<uint32_t>(c64);
  while (n-- > 0) c32 = _mm_crc32_u8(c32, *p++);
  return c32;
}
const bool kHaveSse42 = __builtin_cpu_supports("sse4.2");
#endif

void put_u32(std::string& out, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  out.append(b, 4);
}
void put_u64(std::string& out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  out.append(b, 8);
}
void store_u32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

// Reads the payload front to back; any read past the end marks it bad.
class PayloadCursor {
 public:
  explicit PayloadCursor(std::string_view data) : data_(data) {}
  bool ok() const { return ok_; }
  uint64_t u(size_t bytes) {
    if (!ok_ || data_.size() - pos_ < bytes) {
      ok_ = false;
      return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < bytes; ++i) v |= uint64_t{static_cast<uint8_t>(data_[pos_ + i])} << (8 * i);
    pos_ += bytes;
    return v;
  }
  // A u32 length and that many bytes, as a view into the payload.
  std::string_view view() {
    auto n = static_cast<size_t>(u(4));
    if (!ok_ || data_.size() - pos_ < n) {
      ok_ = false;
      return {};
    }
    std::string_view s = data_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  size_t remaining() const { return data_.size() - pos_; }

 private:
  std::string_view data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace

uint32_t crc32c(const void* data, size_t size, uint32_t crc) {
  const auto* p = static_cast<const uint8_t*>(data);
#if defined(__x86_64__)
  if (kHaveSse42) return ~crc32c_sse42(p, size, ~crc);
#endif
  return ~crc32c_software(p, size, ~crc);
}

std::string encode_segment_header(int64_t created_us) {
  std::string h(kSegmentMagic, sizeof(kSegmentMagic));
  put_u32(h, kFormatVersion);
  put_u32(h, static_cast<uint32_t>(kSegmentHeaderBytes));
  put_u64(h, static_cast<uint64_t>(created_us));
  put_u32(h, 0);  // reserved
  put_u32(h, crc32c(h.data(), h.size()));
  return h;
}

namespace {

// Tensor blocks of payload version 2: one byte saying which form follows.
constexpr uint8_t kTensorsBinary = 0;  // u32 count, then per tensor: name, datatype, shape, data
constexpr uint8_t kTensorsJson = 1;    // one string: a KServe v2 JSON array of tensors
constexpr size_t kMaxDims = 32;

// Writes little-endian integers and length-prefixed bytes into a buffer sized beforehand.
class Writer {
 public:
  explicit Writer(char* p) : p_(p) {}
  template <typename T>
  void u(T v) {
    for (size_t i = 0; i < sizeof(T); ++i) *p_++ = static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xFF);
  }
  void bytes(std::string_view s) {
    u(static_cast<uint32_t>(s.size()));
    if (!s.empty()) std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  char* at() const { return p_; }

 private:
  char* p_;
};

void put_tensors(Writer& out, const std::vector<Tensor>& tensors, const std::string& json) {
  if (tensors.empty() && !json.empty()) {
    out.u(kTensorsJson);
    out.bytes(json);
    return;
  }
  out.u(kTensorsBinary);
  out.u(static_cast<uint32_t>(tensors.size()));
  for (const Tensor& t : tensors) {
    out.bytes(t.name);
    out.u(static_cast<uint8_t>(t.datatype));
    const size_t dims = std::min(t.shape.size(), kMaxDims);
    out.u(static_cast<uint8_t>(dims));
    for (size_t d = 0; d < dims; ++d) out.u(static_cast<uint64_t>(t.shape[d]));
    if (t.datatype == DataType::kBytes) {
      out.u(static_cast<uint32_t>(t.strings.size()));
      for (const auto& v : t.strings) out.bytes(v);
    } else {
      out.bytes(t.raw);
    }
  }
}

// The exact size put_tensors() writes.
size_t tensors_bytes(const std::vector<Tensor>& tensors, const std::string& json) {
  if (tensors.empty() && !json.empty()) return 1 + 4 + json.size();
  size_t n = 1 + 4;
  for (const Tensor& t : tensors) {
    n += 4 + t.name.size() + 2 + 8 * std::min(t.shape.size(), kMaxDims) + 4;
    if (t.datatype == DataType::kBytes) {
      for (const auto& v : t.strings) n += 4 + v.size();
    } else {
      n += t.raw.size();
    }
  }
  return n;
}

// Reads into `s`, reusing its storage.
void get_str(PayloadCursor& in, std::string& s) {
  std::string_view v = in.view();
  s.assign(v.data(), v.size());
}

bool get_tensors(PayloadCursor& in, std::vector<Tensor>& tensors, std::string& json) {
  auto form = static_cast<uint8_t>(in.u(1));
  if (!in.ok()) return false;
  if (form == kTensorsJson) {
    tensors.clear();
    get_str(in, json);
    return in.ok();
  }
  if (form != kTensorsBinary) return false;
  json.clear();
  auto count = static_cast<size_t>(in.u(4));
  if (!in.ok() || count > in.remaining() / 6) return false;
  tensors.resize(count);
  for (Tensor& t : tensors) {
    get_str(in, t.name);
    auto type = static_cast<uint8_t>(in.u(1));
    auto dims = static_cast<size_t>(in.u(1));
    if (!in.ok() || type > static_cast<uint8_t>(DataType::kBytes) || dims > kMaxDims) return false;
    t.datatype = static_cast<DataType>(type);
    t.shape.resize(dims);
    for (auto& d : t.shape) d = static_cast<int64_t>(in.u(8));
    if (t.datatype == DataType::kBytes) {
      t.raw.clear();
      auto n = static_cast<size_t>(in.u(4));
      if (!in.ok() || n > in.remaining() / 4) return false;
      t.strings.resize(n);
      for (auto& v : t.strings) get_str(in, v);
    } else {
      t.strings.clear();
      get_str(in, t.raw);
    }
    if (!in.ok()) return false;
  }
  return true;
}

}  // namespace

void append_frame(const PredictionRecord& r, std::string& out) {
  size_t tags = 4;
  for (const auto& [key, value] : r.tags) tags += 8 + key.size() + value.size();
  const size_t payload = 2 + 3 * 8 + 4 + r.request_id.size() + 4 + r.model.size() +
                         tensors_bytes(r.inputs, r.inputs_json) + tensors_bytes(r.outputs, r.outputs_json) + tags;
  const size_t frame = out.size();
  out.resize(frame + kFrameHeaderBytes + payload);
  char* h = out.data() + frame;
  Writer w(h + kFrameHeaderBytes);
  w.u(kPayloadVersion);
  w.u(static_cast<uint64_t>(r.time_us));
  w.u(static_cast<uint64_t>(r.version));
  w.u(static_cast<uint64_t>(r.latency_us));
  w.bytes(r.request_id);
  w.bytes(r.model);
  put_tensors(w, r.inputs, r.inputs_json);
  put_tensors(w, r.outputs, r.outputs_json);
  w.u(static_cast<uint32_t>(r.tags.size()));
  for (const auto& [key, value] : r.tags) {
    w.bytes(key);
    w.bytes(value);
  }
  assert(w.at() == h + kFrameHeaderBytes + payload);
  store_u32(h, kRecordSync);
  store_u32(h + 4, static_cast<uint32_t>(payload));
  store_u32(h + 8, crc32c(h + kFrameHeaderBytes, payload));
  store_u32(h + 12, crc32c(h, 12));
}

Status decode_payload_into(std::string_view payload, PredictionRecord& r) {
  PayloadCursor in(payload);
  auto payload_version = static_cast<uint16_t>(in.u(2));
  r.time_us = static_cast<int64_t>(in.u(8));
  r.version = static_cast<int64_t>(in.u(8));
  r.latency_us = static_cast<int64_t>(in.u(8));
  get_str(in, r.request_id);
  get_str(in, r.model);
  if (!in.ok()) return make_error(ErrorCode::kCorrupt, "record payload is truncated");
  if (payload_version == 0) return make_error(ErrorCode::kCorrupt, "record payload version 0");
  if (payload_version == 1) {
    r.inputs.clear();
    r.outputs.clear();
    get_str(in, r.inputs_json);
    get_str(in, r.outputs_json);
  } else if (!get_tensors(in, r.inputs, r.inputs_json) || !get_tensors(in, r.outputs, r.outputs_json)) {
    if (!in.ok()) return make_error(ErrorCode::kCorrupt, "record payload is truncated");
    return make_error(ErrorCode::kCorrupt, "record tensors do not decode");
  }
  auto tags = in.u(4);
  if (in.ok() && tags > payload.size() / 8) return make_error(ErrorCode::kCorrupt, "tag count {} is too large", tags);
  r.tags.resize(in.ok() ? static_cast<size_t>(tags) : 0);
  for (auto& [key, value] : r.tags) {
    get_str(in, key);
    get_str(in, value);
  }
  if (!in.ok()) return make_error(ErrorCode::kCorrupt, "record payload is truncated");
  // A newer payload_version only appends fields: what follows is ignored by this reader.
  return {};
}

Result<PredictionRecord> decode_payload(std::string_view payload) {
  PredictionRecord r;
  SLIPWAY_RETURN_IF_ERROR(decode_payload_into(payload, r));
  return r;
}

std::string segment_file_name(uint64_t number) { return fmt::format("{:06d}.log", number); }

}  // namespace log_format

std::string PredictionRecord::inputs_as_json() const {
  if (inputs.empty()) return inputs_json;
  std::string out;
  append_tensors_json(inputs, out);
  return out;
}

std::string PredictionRecord::outputs_as_json() const {
  if (outputs.empty()) return outputs_json;
  std::string out;
  append_tensors_json(outputs, out);
  return out;
}

namespace {

// rows() of one tensor block: {first dimension of the first tensor's shape, or -1 without a shape;
// the longest tensor's element count}.
std::pair<int64_t, size_t> block_rows(const std::vector<Tensor>& tensors, const std::string& json) {
  if (!tensors.empty() || json.empty()) {
    if (tensors.empty()) return {-1, 0};
    const auto& shape = tensors.front().shape;
    return {shape.empty() ? 1 : shape.front(), 0};
  }
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_array() || j.empty()) return {-1, 0};
  if (j[0].is_object()) {
    auto shape = j[0].find("shape");
    if (shape != j[0].end() && shape->is_array()) {
      if (shape->empty()) return {1, 0};
      if ((*shape)[0].is_number_integer()) return {(*shape)[0].get<int64_t>(), 0};
    }
  }
  std::function<size_t(const nlohmann::json&)> leaves = [&](const nlohmann::json& v) -> size_t {
    if (!v.is_array()) return 1;
    size_t n = 0;
    for (const auto& e : v) n += leaves(e);
    return n;
  };
  size_t longest = 0;
  for (const auto& t : j) {
    if (t.is_object() && t.contains("data")) longest = std::max(longest, leaves(t["data"]));
  }
  return {-1, longest};
}

}  // namespace

size_t PredictionRecord::rows() const {
  auto [out_first, out_longest] = block_rows(outputs, outputs_json);
  if (out_first >= 0) return static_cast<size_t>(std::max<int64_t>(1, out_first));
  auto [in_first, in_longest] = block_rows(inputs, inputs_json);
  if (in_first >= 0) return static_cast<size_t>(std::max<int64_t>(1, in_first));
  return std::max<size_t>({1, out_longest, in_longest});
}

std::filesystem::path prediction_log_dir(const std::filesystem::path& store_root) {
  return store_root / "logs" / "predictions";
}

std::string model_folder_name(std::string_view model) {
  std::string out;
  for (size_t i = 0; i < model.size(); ++i) {
    auto c = static_cast<unsigned char>(model[i]);
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                 c == '-' || (c == '.' && i > 0);
    if (plain) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string model_from_folder_name(std::string_view folder) {
  std::string out;
  for (size_t i = 0; i < folder.size(); ++i) {
    if (folder[i] == '%' && i + 2 < folder.size()) {
      auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
      };
      int hi = hex(folder[i + 1]);
      int lo = hex(folder[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += folder[i];
  }
  return out;
}

}  // namespace slipway::serve
