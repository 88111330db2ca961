#include "slipway/table/types.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <limits>

namespace slipway::table {

const char* data_type_name(DataType type) {
  switch (type) {
    case DataType::kBool: return "bool";
    case DataType::kInt64: return "int64";
    case DataType::kFloat64: return "float64";
    case DataType::kTimestamp: return "timestamp";
    case DataType::kString: return "string";
  }
  return "unknown";
}

Result<DataType> parse_data_type(std::string_view name) {
  for (DataType t : {DataType::kBool, DataType::kInt64, DataType::kFloat64, DataType::kTimestamp,
                     DataType::kString}) {
    if (name == data_type_name(t)) return t;
  }
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown data type '{}' (expected one of bool, int64, float64, timestamp, string)", name);
}

std::optional<size_t> TableSchema::index_of(std::string_view name) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == name) return i;
  }
  return std::nullopt;
}

bool parse_bool(std::string_view text, bool* out) {
  if (text == "true" || text == "TRUE" || text == "True") {
    *out = true;
    return true;
  }
  if (text == "false" || text == "FALSE" || text == "False") {
    *out = false;
    return true;
  }
  return false;
}

bool parse_int64(std::string_view text, int64_t* out) {
  const char* first = text.data();
  const char* last = first + text.size();
  if (first == last) return false;
  // from_chars rejects a leading '+', which CSV writers do emit; a lone sign is still invalid.
  if (*first == '+') {
    ++first;
    if (first == last || *first == '-') return false;
  }
  // Fast path: up to 18 digits cannot overflow, and most values in data files are short.
  const bool negative = *first == '-';
  const char* digits = first + negative;
  if (digits < last && last - digits <= 18) {
    int64_t v = 0;
    const char* p = digits;
    for (; p < last; ++p) {
      unsigned d = static_cast<unsigned>(*p - '0');
      if (d > 9) return false;
      v = v * 10 + d;
    }
    *out = negative ? -v : v;
    return true;
  }
  auto [ptr, ec] = std::from_chars(first, last, *out);
  return ec == std::errc() && ptr == last;
}

namespace {

// Exact powers of ten up to 1e22, the largest exactly representable in a double.
constexpr double kExactPowersOfTen[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

constexpr uint64_t kPowersOfTen[] = {1ull,         10ull,         100ull,         1000ull,        10000ull,
                                     100000ull,   1000000ull,    10000000ull,    100000000ull};

// Up to 8 bytes from [p, last) in a little-endian word, zero bytes past `last` (never read).
inline uint64_t load_up_to_8(const char* p, const char* last) {
  const size_t n = static_cast<size_t>(last - p);
  uint64_t x = 0;
  if (n >= 8) {
    std::memcpy(&x, p, 8);
  } else if (n >= 4) {
    // Two overlapping 4-byte loads; the shared bytes are equal, so OR-ing them is harmless.
    uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, last - 4, 4);
    x = lo | (static_cast<uint64_t>(hi) << (8 * (n - 4)));
  } else {
    for (size_t i = 0; i < n; ++i) x |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  }
  return x;
}

// Number of leading ASCII digits in the word (0..8). A byte is a digit when its high nibble is 3
// and adding 6 keeps it so; a carry out of a byte >= 0xFA only disturbs bytes after a non-digit.
inline unsigned leading_digits(uint64_t x) {
  constexpr uint64_t kHigh = 0xF0F0F0F0F0F0F0F0ull, kThrees = 0x3030303030303030ull;
  const uint64_t v = ((x & kHigh) ^ kThrees) | (((x + 0x0606060606060606ull) & kHigh) ^ kThrees);
  const uint64_t nonzero = (((v & 0x7F7F7F7F7F7F7F7Full) + 0x7F7F7F7F7F7F7F7Full) | v) & 0x8080808080808080ull;
  return nonzero == 0 ? 8 : static_cast<unsigned>(std::countr_zero(nonzero)) / 8;
}

// Value of the first n (0..8) digits of the word (SWAR, as in fast_float's eight-digit parser):
// the digits are moved to the top so the missing ones become leading zeros.
inline uint64_t digits_value(uint64_t x, unsigned n) {
  const unsigned shift = 4 * (8 - n);
  uint64_t v = ((x & 0x0F0F0F0F0F0F0F0Full) << shift) << shift;
  v = v * 10 + (v >> 8);
  v = (((v & 0x000000FF000000FFull) * 0x000F424000000064ull) +
       (((v >> 16) & 0x000000FF000000FFull) * 0x0000271000000001ull)) >> 32;
  return v;
}

// Reads a run of digits at *p into *m (which may already hold digits); false when the
// significand grows past 19 digits (it could wrap).
inline bool read_digit_run(const char*& p, const char* last, uint64_t* m, int* digits) {
  for (;;) {
    const uint64_t x = load_up_to_8(p, last);
    const unsigned n = leading_digits(x);  // zero bytes past `last` are not digits
    *digits += static_cast<int>(n);
    if (*digits > 19) return false;
    *m = *m * kPowersOfTen[n] + digits_value(x, n);
    p += n;
    if (n < 8) return true;
  }
}

// Clinger's fast path ("How to read floating point numbers accurately", 1990): when the decimal
// significand m is at most 2^53 and the exponent e within +-22, both m and 10^|e| are exact doubles
// and one IEEE multiplication or division rounds the true value correctly, so the result is the
// same double from_chars returns. Covers plain "[-]ddd[.ddd][e[+-]dd]" text, which is nearly every
// value in data files; anything else (or out of range) returns false and the full parser decides.
// Digits are read eight at a time, so the length of a number costs no branch mispredictions.
inline bool parse_float_general(const char* p, const char* last, bool negative, double* out);

inline double scale_exact(uint64_t m, int exponent, bool negative) {
  double v = static_cast<double>(m);
  if (m != 0) v = exponent < 0 ? v / kExactPowersOfTen[-exponent] : v * kExactPowersOfTen[exponent];
  return negative ? -v : v;
}

// Shifts that accept a count of 64 (yielding 0), done as two halves.
inline uint64_t shr(uint64_t x, unsigned bits) { return (x >> (bits / 2)) >> (bits - bits / 2); }
inline uint64_t shl(uint64_t x, unsigned bits) { return (x << (bits / 2)) << (bits - bits / 2); }

// Common shape first: "[-]i.f" with at most 16 bytes after the sign, read as two words so that
// the lengths of the parts cost no branches; everything else goes to the general reader.
inline bool parse_float_fast(const char* p, const char* last, double* out) {
  const bool negative = *p == '-';
  p += negative;
  const auto len = static_cast<unsigned>(last - p);
  if (len - 1 >= 16) return parse_float_general(p, last, negative, out);
  uint64_t lo, hi = 0;
  if (len >= 8) {
    std::memcpy(&lo, p, 8);
    std::memcpy(&hi, last - 8, 8);
    hi = shr(hi, 8 * (16 - len));
  } else {
    lo = load_up_to_8(p, last);
  }
  const unsigned int_digits = leading_digits(lo);
  if (int_digits == 8 || int_digits == len || ((lo >> (8 * int_digits)) & 0xFF) != '.') {
    return parse_float_general(p, last, negative, out);
  }
  const unsigned at = 8 * (int_digits + 1);  // bit offset of the fraction in the 16-byte window
  const uint64_t fraction = shr(lo, at) | shl(hi, 64 - at);
  const unsigned fraction_digits = leading_digits(fraction);
  if (int_digits + 1 + fraction_digits != len || fraction_digits == 8 || len == 1) {
    return parse_float_general(p, last, negative, out);
  }
  // At most 15 digits: exact in a double.
  const uint64_t m = digits_value(lo, int_digits) * kPowersOfTen[fraction_digits] + digits_value(fraction, fraction_digits);
  *out = scale_exact(m, -static_cast<int>(fraction_digits), negative);
  return true;
}

inline bool parse_float_general(const char* p, const char* last, bool negative, double* out) {
  uint64_t m = 0;
  int digits = 0;
  const char* mantissa_start = p;
  if (!read_digit_run(p, last, &m, &digits)) return false;
  int exponent = 0;
  if (p < last && *p == '.') {
    ++p;
    const char* fraction_start = p;
    if (!read_digit_run(p, last, &m, &digits)) return false;
    exponent = -static_cast<int>(p - fraction_start);
    if (p - mantissa_start == 1) return false;  // "." alone
  } else if (p == mantissa_start) {
    return false;
  }
  if (p < last) {
    if ((*p | 0x20) != 'e') return false;
    ++p;
    bool exp_negative = false;
    if (p < last && (*p == '-' || *p == '+')) {
      exp_negative = *p == '-';
      ++p;
    }
    if (p == last) return false;
    int e = 0;
    while (p < last && static_cast<unsigned>(*p - '0') <= 9) {
      if (e < 10000) e = e * 10 + (*p - '0');
      ++p;
    }
    if (p != last) return false;
    exponent += exp_negative ? -e : e;
  }
  if (m > (uint64_t{1} << 53)) return false;
  if (m != 0 && (exponent < -22 || exponent > 22)) return false;
  *out = scale_exact(m, exponent, negative);
  return true;
}

}  // namespace

bool parse_float64(std::string_view text, double* out) {
  const char* first = text.data();
  const char* last = first + text.size();
  if (first == last) return false;
  if (*first == '+') {
    ++first;
    if (first == last || *first == '-') return false;
  }
  if (parse_float_fast(first, last, out)) return true;
  // Hex floats are only produced by from_chars with chars_format::hex, so general is safe here.
  auto [ptr, ec] = std::from_chars(first, last, *out, std::chars_format::general);
  if (ptr != last) return false;
  // Out-of-range literals ("1e999") are still numbers; from_chars reports them but leaves *out
  // unset, so saturate the way strtod does.
  if (ec == std::errc::result_out_of_range) {
    bool negative = text[0] == '-';
    // Mantissa digits before the exponent decide over- vs underflow: exponent sign is enough.
    size_t e = text.find_first_of("eE");
    bool underflow = e != std::string_view::npos && e + 1 < text.size() && text[e + 1] == '-';
    *out = underflow ? (negative ? -0.0 : 0.0)
                     : (negative ? -std::numeric_limits<double>::infinity()
                                 : std::numeric_limits<double>::infinity());
    return true;
  }
  return ec == std::errc();
}

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant, "chrono-compatible low-level
// date algorithms", days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at text[*pos]; advances *pos.
bool read_digits(std::string_view text, size_t* pos, int n, unsigned* out) {
  if (*pos + static_cast<size_t>(n) > text.size()) return false;
  unsigned v = 0;
  for (int i = 0; i < n; ++i) {
    char c = text[*pos + static_cast<size_t>(i)];
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  *pos += static_cast<size_t>(n);
  *out = v;
  return true;
}

}  // namespace

bool parse_timestamp(std::string_view text, int64_t* micros) {
  // Cheap rejection first: inference calls this on every value of every string column.
  if (text.size() < 10 || text[4] != '-' || text[7] != '-') return false;
  size_t pos = 0;
  unsigned year = 0, month = 0, day = 0;
  if (!read_digits(text, &pos, 4, &year)) return false;
  ++pos;
  if (!read_digits(text, &pos, 2, &month) || month < 1 || month > 12) return false;
  ++pos;
  if (!read_digits(text, &pos, 2, &day) || day < 1 || day > days_in_month(year, month)) return false;
  int64_t seconds = days_from_civil(year, month, day) * 86400;
  int64_t fraction = 0;
  if (pos < text.size()) {
    if (text[pos] != 'T' && text[pos] != ' ') return false;
    ++pos;
    unsigned hour, minute, second = 0;
    if (!read_digits(text, &pos, 2, &hour) || hour > 23) return false;
    if (pos >= text.size() || text[pos] != ':') return false;
    ++pos;
    if (!read_digits(text, &pos, 2, &minute) || minute > 59) return false;
    if (pos < text.size() && text[pos] == ':') {
      ++pos;
      // 60 admits a leap second; it is folded into the next minute, as POSIX time does.
      if (!read_digits(text, &pos, 2, &second) || second > 60) return false;
      if (pos < text.size() && text[pos] == '.') {
        ++pos;
        size_t start = pos;
        int64_t scale = 100000;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
          // Digits beyond microseconds are accepted and truncated (nanosecond sources exist).
          if (scale > 0) fraction += (text[pos] - '0') * scale;
          scale /= 10;
          ++pos;
        }
        if (pos == start) return false;
      }
    }
    seconds += hour * 3600 + minute * 60 + second;
    if (pos < text.size()) {
      char c = text[pos];
      if (c == 'Z') {
        ++pos;
      } else if (c == '+' || c == '-') {
        ++pos;
        unsigned oh, om;
        if (!read_digits(text, &pos, 2, &oh) || oh > 23) return false;
        if (pos >= text.size() || text[pos] != ':') return false;
        ++pos;
        if (!read_digits(text, &pos, 2, &om) || om > 59) return false;
        int64_t offset = static_cast<int64_t>(oh) * 3600 + om * 60;
        // Local time = UTC + offset, so UTC = local - offset.
        seconds += c == '+' ? -offset : offset;
      } else {
        return false;
      }
    }
  }
  if (pos != text.size()) return false;
  *micros = seconds * 1000000 + fraction;
  return true;
}

std::string format_timestamp(int64_t micros) {
  int64_t seconds = micros / 1000000;
  int64_t fraction = micros % 1000000;
  if (fraction < 0) {
    fraction += 1000000;
    --seconds;
  }
  int64_t days = seconds / 86400;
  int64_t sod = seconds % 86400;
  if (sod < 0) {
    sod += 86400;
    --days;
  }
  int64_t y;
  unsigned m, d;
  civil_from_days(days, &y, &m, &d);
  if (fraction == 0) {
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", y, m, d, sod / 3600, sod / 60 % 60, sod % 60);
  }
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", y, m, d, sod / 3600, sod / 60 % 60, sod % 60,
                     fraction);
}

bool is_valid_utf8(std::string_view text, size_t* bad_offset) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    // ASCII fast path, 16 bytes at a time: most CSV is pure ASCII.
    while (i + 16 <= n) {
      uint64_t a, b;
      std::memcpy(&a, s + i, 8);
      std::memcpy(&b, s + i + 8, 8);
      if ((a | b) & 0x8080808080808080ull) break;
      i += 16;
    }
    if (i >= n) break;
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;       // overlong
      else if (c == 0xED) hi = 0x9F;  // UTF-16 surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;       // overlong
      else if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      if (bad_offset) *bad_offset = i;
      return false;
    }
    if (i + len > n) {
      if (bad_offset) *bad_offset = i;
      return false;
    }
    if (s[i + 1] < lo || s[i + 1] > hi) {
      if (bad_offset) *bad_offset = i;
      return false;
    }
    for (size_t k = 2; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) {
        if (bad_offset) *bad_offset = i;
        return false;
      }
    }
    i += len;
  }
  return true;
}

}  // namespace slipway::table
