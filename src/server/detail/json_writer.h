// Appending JSON straight to a string: responses listing thousands of runs or 100,000 metric points
// are written without building a document tree first.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace slipway::server::detail {

// Escapes '"', '\\' and control characters; other bytes (UTF-8) pass through.
inline void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        out.append("\\u00");
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

// Shortest round-trip form; NaN and infinities as protobuf's JSON mapping writes them ("NaN",
// "Infinity", "-Infinity"), which MLflow's client reads back.
inline void append_json_double(std::string& out, double v) {
  if (std::isnan(v)) {
    out.append("\"NaN\"");
  } else if (std::isinf(v)) {
    out.append(v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
  } else {
    // Into a stack buffer: formatting through a back_inserter costs several times more per number,
    // which shows in responses of 100,000 metric points.
    char buffer[32];
    auto end = fmt::format_to_n(buffer, sizeof(buffer), "{}", v).out;
    out.append(buffer, static_cast<size_t>(end - buffer));
  }
}

inline void append_json_int(std::string& out, int64_t v) {
  fmt::format_int text(v);
  out.append(text.data(), text.size());
}

// "name": (with a leading comma unless `first`).
inline void append_json_key(std::string& out, std::string_view key, bool first = false) {
  if (!first) out.push_back(',');
  out.push_back('"');
  out.append(key);
  out.append("\":");
}

}  // namespace slipway::server::detail
