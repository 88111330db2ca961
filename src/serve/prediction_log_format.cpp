// The prediction log's on-disk format (docs/prediction-log.md): CRC32C, the segment header, record
// frames and the record payload. Everything little-endian.
#include <array>
#include <cstring>

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

void put_u16(std::string& out, uint16_t v) {
  char b[2] = {static_cast<char>(v & 0xFF), static_cast<char>(v >> 8)};
  out.append(b, 2);
}
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
void put_str(std::string& out, std::string_view s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
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
  std::string str() {
    auto n = static_cast<size_t>(u(4));
    if (!ok_ || data_.size() - pos_ < n) {
      ok_ = false;
      return {};
    }
    std::string s(data_.substr(pos_, n));
    pos_ += n;
    return s;
  }

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

void append_frame(const PredictionRecord& r, std::string& out) {
  size_t frame = out.size();
  out.append(kFrameHeaderBytes, '\0');
  put_u16(out, kPayloadVersion);
  put_u64(out, static_cast<uint64_t>(r.time_us));
  put_u64(out, static_cast<uint64_t>(r.version));
  put_u64(out, static_cast<uint64_t>(r.latency_us));
  put_str(out, r.request_id);
  put_str(out, r.model);
  put_str(out, r.inputs_json);
  put_str(out, r.outputs_json);
  put_u32(out, static_cast<uint32_t>(r.tags.size()));
  for (const auto& [key, value] : r.tags) {
    put_str(out, key);
    put_str(out, value);
  }
  size_t payload = out.size() - frame - kFrameHeaderBytes;
  char* h = out.data() + frame;
  store_u32(h, kRecordSync);
  store_u32(h + 4, static_cast<uint32_t>(payload));
  store_u32(h + 8, crc32c(h + kFrameHeaderBytes, payload));
  store_u32(h + 12, crc32c(h, 12));
}

Result<PredictionRecord> decode_payload(std::string_view payload) {
  PayloadCursor in(payload);
  PredictionRecord r;
  auto payload_version = static_cast<uint16_t>(in.u(2));
  r.time_us = static_cast<int64_t>(in.u(8));
  r.version = static_cast<int64_t>(in.u(8));
  r.latency_us = static_cast<int64_t>(in.u(8));
  r.request_id = in.str();
  r.model = in.str();
  r.inputs_json = in.str();
  r.outputs_json = in.str();
  auto tags = in.u(4);
  if (in.ok() && tags > payload.size() / 8) return make_error(ErrorCode::kCorrupt, "tag count {} is too large", tags);
  for (uint64_t i = 0; i < tags && in.ok(); ++i) {
    std::string key = in.str();
    std::string value = in.str();
    r.tags.emplace_back(std::move(key), std::move(value));
  }
  if (!in.ok()) return make_error(ErrorCode::kCorrupt, "record payload is truncated");
  if (payload_version == 0) return make_error(ErrorCode::kCorrupt, "record payload version 0");
  // A newer payload_version only appends fields: what follows is ignored by this reader.
  return r;
}

std::string segment_file_name(uint64_t number) { return fmt::format("{:06d}.log", number); }

}  // namespace log_format

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
