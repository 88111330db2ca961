// The fast path for JSON infer bodies (see detail/fast_json.h). Any doubt -> return false.
#include "detail/fast_json.h"

#include <charconv>
#include <cstring>
#include <limits>

namespace slipway::serve::detail {
namespace {

class Parser {
 public:
  explicit Parser(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

  void ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  bool eat(char c) {
    ws();
    if (p_ < end_ && *p_ == c) {
      ++p_;
      return true;
    }
    return false;
  }
  bool peek(char c) {
    ws();
    return p_ < end_ && *p_ == c;
  }
  bool at_end() {
    ws();
    return p_ == end_;
  }

  // A string without escapes or control characters (else: give up).
  bool string(std::string_view& out) {
    if (!eat('"')) return false;
    const char* start = p_;
    while (p_ < end_ && *p_ != '"') {
      auto c = static_cast<unsigned char>(*p_);
      if (c == '\\' || c < 0x20 || c >= 0x80) return false;  // escapes, control, non-ASCII: general parser
      ++p_;
    }
    if (p_ == end_) return false;
    out = std::string_view(start, static_cast<size_t>(p_ - start));
    ++p_;
    return true;
  }

  // A JSON number; `integral` says whether it had no fraction and no exponent.
  bool number(std::string_view& text, bool& integral) {
    ws();
    const char* start = p_;
    if (p_ < end_ && *p_ == '-') ++p_;
    if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
    if (*p_ == '0') {
      ++p_;
    } else {
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    integral = true;
    if (p_ < end_ && *p_ == '.') {
      integral = false;
      ++p_;
      if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      integral = false;
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    text = std::string_view(start, static_cast<size_t>(p_ - start));
    return true;
  }

  bool int64(int64_t& out) {
    std::string_view text;
    bool integral = false;
    if (!number(text, integral) || !integral) return false;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && ptr == text.data() + text.size();
  }

  bool real(double& out) {
    // Clinger's fast path: at most 15 significant digits and a power of ten within 10^+-22 are both
    // exact doubles, so one multiplication or division is correctly rounded (what from_chars gives).
    {
      const char* p = p_;
      while (p < end_ && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')) ++p;
      const char* q = p;
      bool negative = false;
      if (q < end_ && *q == '-') {
        negative = true;
        ++q;
      }
      uint64_t mantissa = 0;
      int digits = 0;
      int exponent = 0;
      const char* int_start = q;
      while (q < end_ && *q >= '0' && *q <= '9') {
        mantissa = mantissa * 10 + static_cast<uint64_t>(*q - '0');
        if (mantissa != 0) ++digits;
        ++q;
      }
      const size_t int_digits = static_cast<size_t>(q - int_start);
      bool ok = int_digits > 0 && !(int_digits > 1 && *int_start == '0');
      if (ok && q < end_ && *q == '.') {
        ++q;
        const char* frac_start = q;
        while (q < end_ && *q >= '0' && *q <= '9') {
          mantissa = mantissa * 10 + static_cast<uint64_t>(*q - '0');
          if (mantissa != 0) ++digits;
          --exponent;
          ++q;
        }
        ok = q > frac_start;
      }
      if (ok && q < end_ && (*q == 'e' || *q == 'E')) ok = false;  // exponents: the general path
      static constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                          1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
      if (ok && digits <= 15 && exponent >= -22) {
        double v = static_cast<double>(mantissa);
        v = exponent < 0 ? v / kPow10[-exponent] : v;
        out = negative ? -v : v;
        p_ = q;
        return true;
      }
    }
    std::string_view text;
    bool integral = false;
    if (!number(text, integral)) return false;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (ec != std::errc() || ptr != text.data() + text.size()) return false;
    // Out-of-range integers: nlohmann reads them as (u)int64 first; leave those to it.
    if (integral && text.size() > 15) return false;
    return std::abs(out) <= std::numeric_limits<double>::max();
  }

  // Skips a balanced array (strings may hold brackets); the values are parsed later by data().
  bool skip_array() {
    ws();
    int depth = 0;
    while (p_ < end_) {
      char c = *p_++;
      if (c == '"') {
        while (p_ < end_ && *p_ != '"') {
          if (*p_ == '\\') return false;
          ++p_;
        }
        if (p_ == end_) return false;
        ++p_;
      } else if (c == '[') {
        ++depth;
      } else if (c == ']') {
        if (--depth == 0) return true;
      } else if (c == '{' || c == '}') {
        return false;
      }
    }
    return false;
  }

  bool literal(const char* word) {
    ws();
    size_t n = std::strlen(word);
    if (static_cast<size_t>(end_ - p_) < n || std::memcmp(p_, word, n) != 0) return false;
    p_ += n;
    return true;
  }

 private:
  const char* p_;
  const char* end_;
};

bool parameters(Parser& in, Parameters& out) {
  if (!in.eat('{')) return false;
  if (in.eat('}')) return true;
  do {
    std::string_view key;
    if (!in.string(key) || !in.eat(':')) return false;
    for (const auto& p : out) {
      if (p.name == key) return false;  // duplicate keys: nlohmann keeps the last; let it
    }
    Parameter p{std::string(key), false};
    if (in.literal("true")) {
      p.value = true;
    } else if (in.literal("false")) {
      p.value = false;
    } else if (in.peek('"')) {
      std::string_view s;
      if (!in.string(s)) return false;
      p.value = std::string(s);
    } else {
      int64_t i = 0;
      if (!in.int64(i)) return false;  // doubles and others: general parser
      p.value = i;
    }
    out.push_back(std::move(p));
  } while (in.eat(','));
  return in.eat('}');
}

// Flat or nested arrays of values of the tensor's type; writes at `index`.
bool data(Parser& in, Tensor& t, size_t count, size_t& index, int depth) {
  if (depth > 8 || !in.eat('[')) return false;
  if (in.eat(']')) return true;
  do {
    if (in.peek('[')) {
      if (!data(in, t, count, index, depth + 1)) return false;
      continue;
    }
    if (index >= count) return false;
    switch (t.datatype) {
      case DataType::kBytes: {
        std::string_view s;
        if (!in.string(s)) return false;
        t.strings.emplace_back(s);
        break;
      }
      case DataType::kFp32:
      case DataType::kFp64: {
        double x = 0;
        if (!in.real(x)) return false;  // null, strings, ...: general parser
        if (t.datatype == DataType::kFp32) {
          auto f = static_cast<float>(x);
          std::memcpy(t.raw.data() + index * 4, &f, 4);
        } else {
          std::memcpy(t.raw.data() + index * 8, &x, 8);
        }
        break;
      }
      case DataType::kInt32:
      case DataType::kInt64: {
        int64_t x = 0;
        if (!in.int64(x)) return false;
        if (t.datatype == DataType::kInt32) {
          if (x < std::numeric_limits<int32_t>::min() || x > std::numeric_limits<int32_t>::max()) return false;
          auto y = static_cast<int32_t>(x);
          std::memcpy(t.raw.data() + index * 4, &y, 4);
        } else {
          std::memcpy(t.raw.data() + index * 8, &x, 8);
        }
        break;
      }
      default: return false;
    }
    ++index;
  } while (in.eat(','));
  return in.eat(']');
}

bool input(Parser& in, Tensor& t) {
  if (!in.eat('{')) return false;
  bool has_name = false, has_type = false, has_shape = false, has_data = false;
  // "data" may come before "shape"/"datatype": remember where it starts and parse it last.
  Parser data_at = in;
  do {
    std::string_view key;
    if (!in.string(key) || !in.eat(':')) return false;
    if (key == "name" && !has_name) {
      std::string_view s;
      if (!in.string(s)) return false;
      t.name.assign(s);
      has_name = true;
    } else if (key == "datatype" && !has_type) {
      std::string_view s;
      if (!in.string(s)) return false;
      auto type = parse_datatype(s);
      if (!type || !(*type == DataType::kFp32 || *type == DataType::kFp64 || *type == DataType::kInt32 ||
                     *type == DataType::kInt64 || *type == DataType::kBytes)) {
        return false;
      }
      t.datatype = *type;
      has_type = true;
    } else if (key == "shape" && !has_shape) {
      if (!in.eat('[')) return false;
      if (!in.eat(']')) {
        do {
          int64_t d = 0;
          if (!in.int64(d) || d < 0 || d > kMaxTensorElements) return false;
          t.shape.push_back(d);
        } while (in.eat(','));
        if (!in.eat(']')) return false;
      }
      has_shape = true;
    } else if (key == "data" && !has_data) {
      data_at = in;
      // Skip it for now: a balanced scan of brackets and strings.
      if (!in.peek('[')) return false;
      if (!in.skip_array()) return false;
      has_data = true;
    } else {
      return false;  // parameters (binary data), unknown or repeated keys: general parser
    }
  } while (in.eat(','));
  if (!in.eat('}') || !has_name || !has_type || !has_shape || !has_data) return false;
  int64_t count = t.element_count();
  if (count <= 0) return false;
  if (t.datatype == DataType::kBytes) {
    t.strings.reserve(static_cast<size_t>(count));
  } else {
    t.raw.resize(static_cast<size_t>(count) * datatype_size(t.datatype));
  }
  size_t index = 0;
  return data(data_at, t, static_cast<size_t>(count), index, 0) && index == static_cast<size_t>(count);
}

}  // namespace

bool fast_parse_infer_request(std::string_view json, InferRequest& out) {
  Parser in(json);
  if (!in.eat('{')) return false;
  bool has_inputs = false, has_id = false, has_outputs = false, has_parameters = false;
  if (in.eat('}')) return false;
  do {
    std::string_view key;
    if (!in.string(key) || !in.eat(':')) return false;
    if (key == "id" && !has_id) {
      std::string_view s;
      if (!in.string(s)) return false;
      out.id.assign(s);
      has_id = true;
    } else if (key == "inputs" && !has_inputs) {
      if (!in.eat('[') || in.peek(']')) return false;
      do {
        out.inputs.emplace_back();
        if (!input(in, out.inputs.back())) return false;
      } while (in.eat(','));
      if (!in.eat(']')) return false;
      has_inputs = true;
    } else if (key == "outputs" && !has_outputs) {
      if (!in.eat('[')) return false;
      if (!in.eat(']')) {
        do {
          if (!in.eat('{')) return false;
          RequestedOutput o;
          bool named = false;
          do {
            std::string_view k;
            if (!in.string(k) || !in.eat(':')) return false;
            if (k == "name" && !named) {
              std::string_view s;
              if (!in.string(s)) return false;
              o.name.assign(s);
              named = true;
            } else if (k == "parameters" && o.parameters.empty()) {
              if (!parameters(in, o.parameters)) return false;
              for (const auto& p : o.parameters) {
                if (p.name == "classification") return false;
              }
            } else {
              return false;
            }
          } while (in.eat(','));
          if (!in.eat('}') || !named) return false;
          out.outputs.push_back(std::move(o));
        } while (in.eat(','));
        if (!in.eat(']')) return false;
      }
      has_outputs = true;
    } else if (key == "parameters" && !has_parameters) {
      if (!parameters(in, out.parameters)) return false;
      if (const auto* timeout = find_parameter(out.parameters, "timeout")) {
        const auto* us = std::get_if<int64_t>(timeout);
        if (us == nullptr || *us < 0) return false;
        out.timeout = std::chrono::microseconds(*us);
      }
      has_parameters = true;
    } else {
      return false;
    }
  } while (in.eat(','));
  return in.eat('}') && in.at_end() && has_inputs;
}

}  // namespace slipway::serve::detail
