#include "detail/ubjson.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <string>

#include "detail/import_common.h"

namespace slipway::model::detail {
namespace {

using json = nlohmann::json;

class UbjsonDecoder {
 public:
  UbjsonDecoder(std::string_view bytes, const std::string& source) : bytes_(bytes), source_(source) {}

  Result<json> decode() {
    json value;
    uint8_t marker = 0;
    SLIPWAY_RETURN_IF_ERROR(next_marker(marker));
    SLIPWAY_RETURN_IF_ERROR(value_of(marker, 0, value));
    if (pos_ != bytes_.size()) return fail(pos_, "unexpected data after the end of the top-level value");
    return value;
  }

 private:
  Status fail(size_t at, const std::string& what) const {
    return make_error(ErrorCode::kParseError, "{}: invalid UBJSON at byte {}: {}", source_, at, what);
  }

  size_t remaining() const { return bytes_.size() - pos_; }

  Status need(size_t n) const {
    if (n > remaining()) return fail(pos_, "the file ends early (truncated)");
    return {};
  }

  // Reads the next marker, skipping no-op 'N' markers.
  Status next_marker(uint8_t& marker) {
    do {
      SLIPWAY_RETURN_IF_ERROR(need(1));
      marker = static_cast<uint8_t>(bytes_[pos_++]);
    } while (marker == 'N');
    return {};
  }

  template <typename T>
  T read_be() {  // caller checked need(sizeof(T))
    T value = 0;
    for (size_t i = 0; i < sizeof(T); ++i) value = static_cast<T>((value << 8) | static_cast<uint8_t>(bytes_[pos_ + i]));
    pos_ += sizeof(T);
    return value;
  }

  static size_t payload_size(uint8_t marker) {
    switch (marker) {
      case 'i': case 'U': case 'C': return 1;
      case 'I': return 2;
      case 'l': case 'd': return 4;
      case 'L': case 'D': return 8;
      default: return 0;
    }
  }

  // Integer value with the given marker (for lengths and counts).
  Status integer_of(uint8_t marker, int64_t& out) {
    const size_t start = pos_ - 1;
    switch (marker) {
      case 'i': SLIPWAY_RETURN_IF_ERROR(need(1)); out = static_cast<int8_t>(read_be<uint8_t>()); return {};
      case 'U': SLIPWAY_RETURN_IF_ERROR(need(1)); out = read_be<uint8_t>(); return {};
      case 'I': SLIPWAY_RETURN_IF_ERROR(need(2)); out = static_cast<int16_t>(read_be<uint16_t>()); return {};
      case 'l': SLIPWAY_RETURN_IF_ERROR(need(4)); out = static_cast<int32_t>(read_be<uint32_t>()); return {};
      case 'L': SLIPWAY_RETURN_IF_ERROR(need(8)); out = static_cast<int64_t>(read_be<uint64_t>()); return {};
      default: return fail(start, fmt::format("expected an integer marker, found {}", describe(marker)));
    }
  }

  Status length(size_t& out) {
    uint8_t marker = 0;
    SLIPWAY_RETURN_IF_ERROR(next_marker(marker));
    const size_t start = pos_ - 1;
    int64_t n = 0;
    SLIPWAY_RETURN_IF_ERROR(integer_of(marker, n));
    if (n < 0) return fail(start, fmt::format("negative length {}", n));
    out = static_cast<size_t>(n);
    return {};
  }

  Status string_body(std::string& out) {
    size_t n = 0;
    SLIPWAY_RETURN_IF_ERROR(length(n));
    if (n > remaining()) return fail(pos_, fmt::format("a string of {} bytes runs past the end of the file", n));
    if (const size_t bad = invalid_utf8_at(bytes_.substr(pos_, n)); bad != std::string_view::npos) {
      return fail(pos_ + bad, "a string is not valid UTF-8");
    }
    out.assign(bytes_.data() + pos_, n);
    pos_ += n;
    return {};
  }

  static std::string describe(uint8_t marker) {
    if (marker >= 0x20 && marker < 0x7f) return fmt::format("'{}'", static_cast<char>(marker));
    return fmt::format("byte 0x{:02x}", marker);
  }

  Status value_of(uint8_t marker, int depth, json& out) {
    const size_t start = pos_ - 1;
    switch (marker) {
      case 'Z': out = nullptr; return {};
      case 'T': out = true; return {};
      case 'F': out = false; return {};
      case 'i': case 'I': case 'l': case 'L': {
        int64_t v = 0;
        SLIPWAY_RETURN_IF_ERROR(integer_of(marker, v));
        out = v;
        return {};
      }
      case 'U': SLIPWAY_RETURN_IF_ERROR(need(1)); out = static_cast<uint64_t>(read_be<uint8_t>()); return {};
      case 'd': SLIPWAY_RETURN_IF_ERROR(need(4)); out = static_cast<double>(std::bit_cast<float>(read_be<uint32_t>())); return {};
      case 'D': SLIPWAY_RETURN_IF_ERROR(need(8)); out = std::bit_cast<double>(read_be<uint64_t>()); return {};
      case 'C': SLIPWAY_RETURN_IF_ERROR(need(1)); out = std::string(1, bytes_[pos_++]); return {};
      case 'S': {
        std::string s;
        SLIPWAY_RETURN_IF_ERROR(string_body(s));
        out = std::move(s);
        return {};
      }
      case 'H': {  // high-precision number, written as its decimal text
        std::string s;
        SLIPWAY_RETURN_IF_ERROR(string_body(s));
        json parsed = json::parse(s, nullptr, /*allow_exceptions=*/false);
        if (!parsed.is_number()) return fail(start, fmt::format("high-precision number '{}' is not a number", s));
        out = std::move(parsed);
        return {};
      }
      case '[': case '{':
        if (depth >= kMaxUbjsonDepth) return fail(start, fmt::format("nesting deeper than {} levels", kMaxUbjsonDepth));
        return container(marker == '{', depth + 1, out);
      default: return fail(start, fmt::format("unknown marker {}", describe(marker)));
    }
  }

  Status container(bool is_object, int depth, json& out) {
    out = is_object ? json::object() : json::array();
    uint8_t type = 0;  // 0: untyped
    bool counted = false;
    size_t count = 0;
    SLIPWAY_RETURN_IF_ERROR(need(1));
    if (bytes_[pos_] == '$') {
      ++pos_;
      SLIPWAY_RETURN_IF_ERROR(need(1));
      const size_t at = pos_;
      type = static_cast<uint8_t>(bytes_[pos_++]);
      if (type == 'N' || type == ']' || type == '}') {
        return fail(at, fmt::format("unsupported container element type {}", describe(type)));
      }
      SLIPWAY_RETURN_IF_ERROR(need(1));
      if (bytes_[pos_] != '#') return fail(pos_, "a typed container must give its count ('#')");
    }
    SLIPWAY_RETURN_IF_ERROR(need(1));
    if (bytes_[pos_] == '#') {
      ++pos_;
      const size_t at = pos_;
      SLIPWAY_RETURN_IF_ERROR(length(count));
      counted = true;
      // Every element takes at least one byte (a marker, a key length or a payload byte), except
      // typed elements without payload, which we refuse so a tiny file cannot ask for billions.
      const size_t min_element = type == 0 ? 1 : (payload_size(type) > 0 ? payload_size(type) : 0);
      if (type != 0 && min_element == 0 && type != 'S' && type != 'H' && type != '[' && type != '{') {
        return fail(at, fmt::format("typed container of {} elements has no payload", describe(type)));
      }
      const size_t per = std::max<size_t>(min_element, 1) + (is_object ? 1 : 0);
      if (count > remaining() / per) {
        return fail(at, fmt::format("count {} is larger than the rest of the file can hold", count));
      }
    }
    if (!is_object && type != 0 && counted && payload_size(type) > 0) {
      out.get_ref<json::array_t&>().reserve(count);
    }
    for (size_t i = 0;; ++i) {
      if (counted && i == count) break;
      json value;
      if (is_object) {
        if (!counted) {
          uint8_t m = 0;
          SLIPWAY_RETURN_IF_ERROR(next_marker(m));
          if (m == '}') break;
          --pos_;  // it was the key length's integer marker: keys carry no 'S'
        }
        std::string key;
        SLIPWAY_RETURN_IF_ERROR(string_body(key));
        uint8_t marker = type;
        if (type == 0) SLIPWAY_RETURN_IF_ERROR(next_marker(marker));
        SLIPWAY_RETURN_IF_ERROR(value_of(marker, depth, value));
        out[std::move(key)] = std::move(value);
      } else {
        uint8_t marker = type;  // typed elements have no marker of their own
        if (type == 0) {
          SLIPWAY_RETURN_IF_ERROR(next_marker(marker));
          if (!counted && marker == ']') break;
        }
        SLIPWAY_RETURN_IF_ERROR(value_of(marker, depth, value));
        out.push_back(std::move(value));
      }
    }
    return {};
  }

  std::string_view bytes_;
  const std::string& source_;
  size_t pos_ = 0;
};

}  // namespace

Result<nlohmann::json> parse_ubjson(std::string_view bytes, const std::string& source_name) {
  if (bytes.empty()) return make_error(ErrorCode::kParseError, "{}: invalid UBJSON: the file is empty", source_name);
  UbjsonDecoder decoder(bytes, source_name);
  return decoder.decode();
}

}  // namespace slipway::model::detail
