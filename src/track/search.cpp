// search_runs: MLflow's filter syntax (a conjunction of comparisons) translated into one SQL
// query with bound parameters, ordering, and opaque offset page tokens.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "slipway/track/tracking.h"
#include "detail/tracking_internal.h"

namespace slipway::track {

using detail::BoundValue;

namespace detail {

std::string base64_encode(std::string_view data) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    uint32_t v = (uint32_t(uint8_t(data[i])) << 16) | (uint32_t(uint8_t(data[i + 1])) << 8) | uint8_t(data[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (size_t rest = data.size() - i; rest > 0) {
    uint32_t v = uint32_t(uint8_t(data[i])) << 16;
    if (rest == 2) v |= uint32_t(uint8_t(data[i + 1])) << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (text.size() % 4 != 0) return make_error(ErrorCode::kInvalidArgument, "not base64");
  std::string out;
  for (size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      char c = text[i + k];
      if (c == '=' && i + 4 == text.size() && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad > 0 || (v[k] = value(c)) < 0) return make_error(ErrorCode::kInvalidArgument, "not base64");
    }
    uint32_t x = (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) | uint32_t(v[3]);
    out += char(x >> 16);
    if (pad < 2) out += char((x >> 8) & 255);
    if (pad < 1) out += char(x & 255);
  }
  return out;
}

Status load_run_details(store::Database& db, std::vector<Run>& runs) {
  if (runs.empty()) return {};
  nlohmann::json ids = nlohmann::json::array();
  for (const auto& run : runs) ids.push_back(run.info.run_id);
  const std::string ids_json = ids.dump();
  // One query per table for the whole page: the ids travel as one JSON array parameter, and each
  // row comes back with its run's position in that array (json_each's key), so no row needs its
  // run id read or looked up. json_each drives the join: one primary-key search per run.
  auto each = [&](std::string_view sql, auto&& on_row) -> Status {
    SLIPWAY_ASSIGN_OR_RETURN(store::Statement * stmt, db.cached(sql));
    stmt->bind(1, ids_json);
    while (true) {
      auto row = stmt->step();
      if (!row.ok()) {
        stmt->reset();
        return row.status();
      }
      if (!*row) break;
      const int64_t at = stmt->column_int64(0);
      if (at >= 0 && static_cast<size_t>(at) < runs.size()) on_row(*stmt, runs[static_cast<size_t>(at)]);
    }
    stmt->reset();
    return {};
  };
  constexpr std::string_view kParams =
      "SELECT j.key, t.key, t.value FROM json_each(?1) j CROSS JOIN params t ON t.run_id = j.value";
  constexpr std::string_view kTags =
      "SELECT j.key, t.key, t.value FROM json_each(?1) j CROSS JOIN tags t ON t.run_id = j.value";
  constexpr std::string_view kLatest =
      "SELECT j.key, t.key, t.value, t.timestamp, t.step, t.is_nan FROM json_each(?1) j "
      "CROSS JOIN latest_metrics t ON t.run_id = j.value";
  constexpr std::string_view kInputs =
      "SELECT j.key, t.dataset, t.version_id, t.context FROM json_each(?1) j "
      "CROSS JOIN run_inputs t ON t.run_id = j.value ORDER BY j.key, t.dataset, t.context";
  constexpr std::string_view kOutputs =
      "SELECT j.key, t.model_object_id FROM json_each(?1) j CROSS JOIN run_outputs t ON t.run_id = j.value";
  SLIPWAY_RETURN_IF_ERROR(
      each(kParams, [](const store::Statement& s, Run& r) { r.params.emplace(s.column_text(1), s.column_text(2)); }));
  SLIPWAY_RETURN_IF_ERROR(
      each(kTags, [](const store::Statement& s, Run& r) { r.tags.emplace(s.column_text(1), s.column_text(2)); }));
  SLIPWAY_RETURN_IF_ERROR(each(kLatest, [](const store::Statement& s, Run& r) {
    MetricPoint p;
    p.key = s.column_text(1);
    p.value = s.column_int64(5) != 0 ? std::nan("") : s.column_double(2);
    p.timestamp_ms = s.column_int64(3);
    p.step = s.column_int64(4);
    r.latest_metrics.push_back(std::move(p));
  }));
  // Each run's latest metrics by key (the primary key's order already, but SQL promises no order).
  for (auto& run : runs) {
    auto by_key = [](const MetricPoint& a, const MetricPoint& b) { return a.key < b.key; };
    if (!std::is_sorted(run.latest_metrics.begin(), run.latest_metrics.end(), by_key)) {
      std::sort(run.latest_metrics.begin(), run.latest_metrics.end(), by_key);
    }
  }
  SLIPWAY_RETURN_IF_ERROR(each(kInputs, [](const store::Statement& s, Run& r) {
    r.inputs.push_back({s.column_text(1), s.column_text(2), s.column_text(3)});
  }));
  SLIPWAY_RETURN_IF_ERROR(
      each(kOutputs, [](const store::Statement& s, Run& r) { r.output_model = s.column_text(1); }));
  return {};
}

}  // namespace detail

namespace {

// ---- the filter language ----

enum class TokenKind { kColumn, kString, kNumber, kOperator, kWord, kLeftParen, kRightParen, kComma, kEnd };

struct Token {
  TokenKind kind = TokenKind::kEnd;
  size_t column = 0;   // 1-based position in the filter
  std::string text;    // as written (for messages)
  std::string entity;  // kColumn: the part before the dot, lowercase ("metrics"); empty for a bare name
  std::string key;     // kColumn: the key (quotes removed); kString: the value; kWord: uppercase word
};

bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool is_key_char(char c) { return is_word_char(c) || c == '.' || c == '-' || c == '/' || c == ':'; }

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}
std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

class Lexer {
 public:
  Lexer(std::string_view text, std::string what) : text_(text), what_(std::move(what)) {}

  Result<std::vector<Token>> run() {
    std::vector<Token> out;
    while (true) {
      while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
      if (pos_ >= text_.size()) break;
      SLIPWAY_ASSIGN_OR_RETURN(Token t, next());
      out.push_back(std::move(t));
    }
    Token end;
    end.kind = TokenKind::kEnd;
    end.column = text_.size() + 1;
    end.text = "end of " + what_;
    out.push_back(end);
    return out;
  }

 private:
  Status error(size_t at, const std::string& message) const {
    return make_error(ErrorCode::kInvalidArgument, "{}: column {}: {}", what_, at + 1, message);
  }

  // A quoted text starting at pos_ (the quote character itself); handles a doubled quote as an escape.
  Result<std::string> quoted() {
    const char q = text_[pos_];
    const size_t start = pos_;
    ++pos_;
    std::string value;
    while (true) {
      if (pos_ >= text_.size()) return error(start, fmt::format("unterminated {}", q == '`' ? "backquoted name" : "string"));
      char c = text_[pos_++];
      if (c == q) {
        if (pos_ < text_.size() && text_[pos_] == q) {
          value += q;
          ++pos_;
          continue;
        }
        return value;
      }
      if (c == '\\' && pos_ < text_.size() && (text_[pos_] == q || text_[pos_] == '\\')) c = text_[pos_++];
      value += c;
    }
  }

  Result<Token> next() {
    Token t;
    const size_t start = pos_;
    t.column = start + 1;
    const char c = text_[pos_];
    if (c == '\'' || c == '"') {
      t.kind = TokenKind::kString;
      SLIPWAY_ASSIGN_OR_RETURN(t.key, quoted());
    } else if (c == '`') {
      // A backquoted bare name: treated as an attribute name.
      t.kind = TokenKind::kColumn;
      SLIPWAY_ASSIGN_OR_RETURN(t.key, quoted());
    } else if (c == '(' || c == ')' || c == ',') {
      t.kind = c == '(' ? TokenKind::kLeftParen : c == ')' ? TokenKind::kRightParen : TokenKind::kComma;
      ++pos_;
    } else if (c == '=' || c == '!' || c == '<' || c == '>') {
      t.kind = TokenKind::kOperator;
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '=' || (c == '<' && text_[pos_] == '>'))) ++pos_;
      t.key = std::string(text_.substr(start, pos_ - start));
      if (t.key == "!") return error(start, "expected '!=' , got '!'");
      if (t.key == "<>") t.key = "!=";
      if (t.key == "==") t.key = "=";
    } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+' || c == '.') {
      t.kind = TokenKind::kNumber;
      const char* begin = text_.data() + pos_;
      char* end = nullptr;
      std::string copy(text_.substr(pos_));
      std::strtod(copy.c_str(), &end);
      size_t len = static_cast<size_t>(end - copy.c_str());
      if (len == 0) return error(start, fmt::format("unexpected character '{}'", c));
      (void)begin;
      pos_ += len;
      t.key = std::string(text_.substr(start, len));
    } else if (is_word_char(c)) {
      while (pos_ < text_.size() && is_word_char(text_[pos_])) ++pos_;
      std::string word(text_.substr(start, pos_ - start));
      if (pos_ < text_.size() && text_[pos_] == '.') {
        // entity.key, the key bare, `backquoted` or "double-quoted".
        ++pos_;
        t.kind = TokenKind::kColumn;
        t.entity = lower(word);
        if (pos_ < text_.size() && (text_[pos_] == '`' || text_[pos_] == '"')) {
          SLIPWAY_ASSIGN_OR_RETURN(t.key, quoted());
        } else {
          size_t key_start = pos_;
          while (pos_ < text_.size() && is_key_char(text_[pos_])) ++pos_;
          t.key = std::string(text_.substr(key_start, pos_ - key_start));
          if (t.key.empty()) return error(start, fmt::format("expected a key after '{}.'", word));
        }
      } else {
        const std::string w = upper(word);
        if (w == "AND" || w == "OR" || w == "IN" || w == "NOT" || w == "LIKE" || w == "ILIKE" || w == "ASC" ||
            w == "DESC" || w == "IS" || w == "NULL") {
          t.kind = TokenKind::kWord;
          t.key = w;
        } else {
          t.kind = TokenKind::kColumn;  // a bare attribute name: status, run_name, start_time, ...
          t.key = word;
        }
      }
    } else {
      return error(start, fmt::format("unexpected character '{}'", c));
    }
    t.text = std::string(text_.substr(start, pos_ - start));
    return t;
  }

  std::string_view text_;
  std::string what_;
  size_t pos_ = 0;
};

enum class Entity { kMetric, kParam, kTag, kAttribute };

struct ColumnRef {
  Entity entity = Entity::kAttribute;
  std::string key;        // metric/param/tag key, or the attribute's SQL column
  bool numeric = false;   // compared as a number
};

struct AttributeInfo {
  const char* name;
  const char* sql;
  bool numeric;
};
constexpr AttributeInfo kAttributes[] = {
    {"run_id", "r.run_id", false},         {"run_name", "r.name", false},   {"status", "r.status", false},
    {"user_id", "r.user", false},          {"artifact_uri", "r.artifact_uri", false},
    {"start_time", "r.start_time", true},  {"end_time", "r.end_time", true}, {"created", "r.start_time", true},
};

Result<ColumnRef> resolve_column(const Token& t, const std::string& what) {
  auto error = [&](const std::string& message) {
    return make_error(ErrorCode::kInvalidArgument, "{}: column {}: {}", what, t.column, message);
  };
  if (t.kind != TokenKind::kColumn) {
    return error(fmt::format("expected a column like metrics.auc, params.lr, tags.\"name\" or attributes.status, got '{}'",
                             t.text));
  }
  ColumnRef ref;
  const std::string& e = t.entity;
  if (e == "metrics" || e == "metric") {
    ref.entity = Entity::kMetric;
    ref.numeric = true;
  } else if (e == "params" || e == "param" || e == "parameters" || e == "parameter") {
    ref.entity = Entity::kParam;
  } else if (e == "tags" || e == "tag") {
    ref.entity = Entity::kTag;
  } else if (e.empty() || e == "attributes" || e == "attribute" || e == "attr" || e == "run") {
    ref.entity = Entity::kAttribute;
    std::string name = lower(t.key);
    if (name == "name") name = "run_name";
    if (name == "user") name = "user_id";
    for (const auto& a : kAttributes) {
      if (name == a.name) {
        ref.key = a.sql;
        ref.numeric = a.numeric;
        return ref;
      }
    }
    return error(fmt::format("unknown attribute '{}' (attributes: run_id, run_name, status, user_id, artifact_uri, "
                             "start_time, end_time)",
                             t.key));
  } else {
    return error(fmt::format("unknown column type '{}' in '{}' (expected metrics, params, tags or attributes)",
                             t.entity, t.text));
  }
  ref.key = t.key;
  return ref;
}

// MLflow's LIKE is case-sensitive; SQLite's is not, so LIKE becomes GLOB with the pattern translated
// (% -> *, _ -> ?, GLOB's own metacharacters bracketed to stay literal).
std::string like_to_glob(const std::string& like) {
  std::string out;
  for (char c : like) {
    switch (c) {
      case '%': out += '*'; break;
      case '_': out += '?'; break;
      case '*': out += "[*]"; break;
      case '?': out += "[?]"; break;
      case '[': out += "[[]"; break;
      default: out += c;
    }
  }
  return out;
}

struct SqlPart {
  std::string sql;
  std::vector<BoundValue> binds;
};

// The metric, param and tag values that order_by already joins, by entity and key, to the join's
// alias: a filter on the same key tests the joined row instead of looking it up again.
using JoinedValues = std::map<std::pair<Entity, std::string>, std::string>;

class FilterParser {
 public:
  FilterParser(std::vector<Token> tokens, const JoinedValues& joined) : tokens_(std::move(tokens)), joined_(joined) {}

  // Aliases of the order's joined values that the parsed filter tests (runs without one fail it).
  const std::set<std::string>& tested() const { return tested_; }

  Result<SqlPart> parse() {
    SqlPart out;
    while (true) {
      SLIPWAY_ASSIGN_OR_RETURN(SqlPart c, comparison());
      out.sql += out.sql.empty() ? c.sql : " AND " + c.sql;
      out.binds.insert(out.binds.end(), c.binds.begin(), c.binds.end());
      const Token& t = peek();
      if (t.kind == TokenKind::kEnd) break;
      if (t.kind == TokenKind::kWord && t.key == "AND") {
        ++pos_;
        continue;
      }
      if (t.kind == TokenKind::kWord && t.key == "OR") {
        return error(t, "OR is not supported; a filter is comparisons joined by AND");
      }
      return error(t, fmt::format("expected AND after '{}', got '{}'", previous_text(), t.text));
    }
    return out;
  }

 private:
  const Token& peek() const { return tokens_[pos_]; }
  Status error(const Token& t, const std::string& message) const {
    return make_error(ErrorCode::kInvalidArgument, "filter: column {}: {}", t.column, message);
  }
  std::string previous_text() const {
    std::string s;
    for (size_t i = start_; i < pos_; ++i) s += (s.empty() ? "" : " ") + tokens_[i].text;
    return s;
  }

  Result<BoundValue> value(const ColumnRef& ref) {
    const Token& t = peek();
    if (ref.numeric) {
      if (t.kind != TokenKind::kNumber) {
        return error(t, fmt::format("expected a number after '{}', got '{}'", previous_text(), t.text));
      }
      ++pos_;
      return BoundValue(std::strtod(t.key.c_str(), nullptr));
    }
    if (t.kind != TokenKind::kString) {
      return error(t, fmt::format("expected a quoted string after '{}', got '{}'", previous_text(), t.text));
    }
    ++pos_;
    return BoundValue(t.key);
  }

  Result<SqlPart> comparison() {
    start_ = pos_;
    const Token& col = peek();
    SLIPWAY_ASSIGN_OR_RETURN(ColumnRef ref, resolve_column(col, "filter"));
    ++pos_;
    const Token& op = peek();
    std::string sql_op;
    bool list = false, negate = false;
    if (op.kind == TokenKind::kOperator) {
      sql_op = op.key;
      if (!ref.numeric && sql_op != "=" && sql_op != "!=") {
        return error(op, fmt::format("operator '{}' does not apply to '{}' (a string: use = != LIKE ILIKE IN NOT IN)",
                                     op.text, col.text));
      }
      ++pos_;
    } else if (op.kind == TokenKind::kWord && (op.key == "LIKE" || op.key == "ILIKE" || op.key == "IN" || op.key == "NOT")) {
      if (ref.numeric) {
        return error(op, fmt::format("operator '{}' does not apply to '{}' (a number: use = != < <= > >=)", op.text,
                                     col.text));
      }
      ++pos_;
      if (op.key == "NOT") {
        const Token& in = peek();
        if (!(in.kind == TokenKind::kWord && in.key == "IN")) {
          return error(in, fmt::format("expected IN after '{}', got '{}'", previous_text(), in.text));
        }
        ++pos_;
        negate = true;
        list = true;
      } else if (op.key == "IN") {
        list = true;
      } else {
        sql_op = op.key;
      }
    } else {
      return error(op, fmt::format("expected an operator after '{}', got '{}'", col.text, op.text));
    }

    std::vector<BoundValue> values;
    if (list) {
      const Token& open = peek();
      if (open.kind != TokenKind::kLeftParen) {
        return error(open, fmt::format("expected '(' after '{}', got '{}'", previous_text(), open.text));
      }
      ++pos_;
      while (true) {
        SLIPWAY_ASSIGN_OR_RETURN(BoundValue v, value(ref));
        values.push_back(std::move(v));
        const Token& sep = peek();
        if (sep.kind == TokenKind::kRightParen) {
          ++pos_;
          break;
        }
        if (sep.kind != TokenKind::kComma) {
          return error(sep, fmt::format("expected ',' or ')' in the list after '{}', got '{}'", previous_text(), sep.text));
        }
        ++pos_;
      }
    } else {
      SLIPWAY_ASSIGN_OR_RETURN(BoundValue v, value(ref));
      if (sql_op == "LIKE") v = like_to_glob(std::get<std::string>(v));
      values.push_back(std::move(v));
    }

    // The predicate on `x`, the value column.
    std::string pred;
    if (list) {
      std::string marks;
      for (size_t i = 0; i < values.size(); ++i) marks += i ? ", ?" : "?";
      pred = fmt::format("{{x}} {}IN ({})", negate ? "NOT " : "", marks);
    } else if (sql_op == "LIKE") {
      pred = "{x} GLOB ?";
    } else if (sql_op == "ILIKE") {
      pred = "{x} LIKE ?";  // SQLite's LIKE ignores ASCII case
    } else {
      pred = "{x} " + sql_op + " ?";
    }
    SqlPart out;
    if (auto it = joined_.find({ref.entity, ref.key}); it != joined_.end()) {
      // The LEFT JOIN's row is the run's only row for the key (the primary key), NULL when none:
      // the same test as EXISTS below, without a second lookup.
      const std::string value = fmt::format(fmt::runtime(pred), fmt::arg("x", it->second + ".value"));
      out.sql = ref.entity == Entity::kMetric ? fmt::format("({}.is_nan = 0 AND {})", it->second, value) : value;
      tested_.insert(it->second);
      out.binds = std::move(values);
      return out;
    }
    switch (ref.entity) {
      case Entity::kAttribute:
        out.sql = fmt::format(fmt::runtime(pred), fmt::arg("x", ref.key));
        break;
      case Entity::kMetric:
        out.sql = fmt::format(
            "EXISTS (SELECT 1 FROM latest_metrics f WHERE f.run_id = r.run_id AND f.key = ? AND f.is_nan = 0 AND {})",
            fmt::format(fmt::runtime(pred), fmt::arg("x", "f.value")));
        out.binds.push_back(ref.key);
        break;
      case Entity::kParam:
      case Entity::kTag:
        out.sql = fmt::format("EXISTS (SELECT 1 FROM {} f WHERE f.run_id = r.run_id AND f.key = ? AND {})",
                              ref.entity == Entity::kParam ? "params" : "tags",
                              fmt::format(fmt::runtime(pred), fmt::arg("x", "f.value")));
        out.binds.push_back(ref.key);
        break;
    }
    out.binds.insert(out.binds.end(), values.begin(), values.end());
    return out;
  }

  std::vector<Token> tokens_;
  const JoinedValues& joined_;
  std::set<std::string> tested_;  // aliases of joined values the filter tests (rows without one fail)
  size_t pos_ = 0;
  size_t start_ = 0;  // first token of the comparison being parsed
};

struct OrderPart {
  std::string join;  // LEFT JOIN ... (binds in join_binds)
  std::vector<BoundValue> join_binds;
  std::string order;
  std::optional<std::pair<Entity, std::string>> joined;  // the joined value's entity and key
  std::string alias;
  std::string plain_order;  // `order` when the filter keeps only runs that have the value (no NULL, no NaN)
};

Result<OrderPart> parse_order_by(const std::string& entry, size_t n) {
  const std::string what = fmt::format("order_by '{}'", entry);
  Lexer lexer(entry, what);
  SLIPWAY_ASSIGN_OR_RETURN(auto tokens, lexer.run());
  SLIPWAY_ASSIGN_OR_RETURN(ColumnRef ref, resolve_column(tokens[0], what));
  std::string direction = "ASC";
  size_t i = 1;
  if (tokens[i].kind == TokenKind::kWord && (tokens[i].key == "ASC" || tokens[i].key == "DESC")) {
    direction = tokens[i].key;
    ++i;
  }
  if (tokens[i].kind != TokenKind::kEnd) {
    return make_error(ErrorCode::kInvalidArgument, "{}: column {}: expected ASC or DESC after '{}', got '{}'", what,
                      tokens[i].column, tokens[0].text, tokens[i].text);
  }
  OrderPart out;
  const std::string alias = fmt::format("o{}", n);
  std::string expr;
  switch (ref.entity) {
    case Entity::kAttribute:
      expr = ref.key;
      break;
    case Entity::kMetric:
      out.join = fmt::format(" LEFT JOIN latest_metrics {0} ON {0}.run_id = r.run_id AND {0}.key = ?", alias);
      expr = fmt::format("CASE WHEN {0}.is_nan THEN NULL ELSE {0}.value END", alias);
      break;
    case Entity::kParam:
    case Entity::kTag:
      out.join = fmt::format(" LEFT JOIN {1} {0} ON {0}.run_id = r.run_id AND {0}.key = ?", alias,
                             ref.entity == Entity::kParam ? "params" : "tags");
      expr = fmt::format("{}.value", alias);
      break;
  }
  if (!out.join.empty()) {
    out.join_binds.push_back(ref.key);
    out.joined.emplace(ref.entity, ref.key);
    out.alias = alias;
  }
  // Runs without the value sort last either way, as in MLflow.
  out.order = fmt::format("({} IS NULL), {} {}", expr, expr, direction);
  // The bare column lets SQLite walk the value index in order and stop at the page's end.
  if (!out.join.empty()) out.plain_order = fmt::format("{}.value {}", alias, direction);
  return out;
}

}  // namespace

Result<SearchRunsPage> Tracking::search_runs(const SearchRunsRequest& request) {
  if (request.max_results == 0 || request.max_results > 50000) {
    return make_error(ErrorCode::kInvalidArgument, "max_results must be between 1 and 50000, got {}",
                      request.max_results);
  }
  // Page tokens: in the default order (start_time DESC, run_id) the token names the last run of
  // the page, {"after": [start_time, run_id]}, and the next page starts right after it in the
  // index (no rows skipped); with order_by it is {"offset": N}.
  int64_t offset = 0;
  std::optional<std::pair<int64_t, std::string>> after;
  if (!request.page_token.empty()) {
    auto decoded = detail::base64_decode(request.page_token);
    nlohmann::json doc = decoded.ok() ? nlohmann::json::parse(*decoded, nullptr, false) : nlohmann::json();
    const bool keyset = doc.is_object() && doc.contains("after") && doc["after"].is_array() &&
                        doc["after"].size() == 2 && doc["after"][0].is_number_integer() &&
                        doc["after"][1].is_string() && request.order_by.empty();
    const bool offset_token = doc.is_object() && doc.contains("offset") && doc["offset"].is_number_integer() &&
                              doc["offset"].get<int64_t>() >= 0;
    if (!keyset && !offset_token) {
      return make_error(ErrorCode::kInvalidArgument, "invalid page_token '{}'", request.page_token);
    }
    if (keyset) {
      after.emplace(doc["after"][0].get<int64_t>(), doc["after"][1].get<std::string>());
    } else {
      offset = doc["offset"].get<int64_t>();
    }
  }

  std::string joins;
  std::vector<BoundValue> join_binds, where_binds;
  std::vector<std::string> where;
  switch (request.view) {
    case SearchRunsRequest::ViewType::kActiveOnly: where.push_back("r.lifecycle = 'active'"); break;
    case SearchRunsRequest::ViewType::kDeletedOnly: where.push_back("r.lifecycle = 'deleted'"); break;
    case SearchRunsRequest::ViewType::kAll: break;
  }
  if (!request.experiment_ids.empty()) {
    std::string marks;
    for (int64_t id : request.experiment_ids) {
      marks += marks.empty() ? "?" : ", ?";
      where_binds.push_back(id);
    }
    where.push_back(fmt::format("r.experiment_id IN ({})", marks));
  }
  // order_by before the filter, whose tests on an ordered key reuse the order's join; errors still
  // come in the order of the request's fields (the filter's first).
  std::vector<Result<OrderPart>> order_parts;
  JoinedValues joined;
  std::set<std::string> tested;
  for (size_t i = 0; i < request.order_by.size(); ++i) {
    order_parts.push_back(parse_order_by(request.order_by[i], i));
    if (order_parts.back().ok() && order_parts.back()->joined) {
      joined.emplace(*order_parts.back()->joined, order_parts.back()->alias);
    }
  }
  if (request.filter.find_first_not_of(" \t\r\n") != std::string::npos) {
    Lexer lexer(request.filter, "filter");
    SLIPWAY_ASSIGN_OR_RETURN(auto tokens, lexer.run());
    FilterParser parser(std::move(tokens), joined);
    SLIPWAY_ASSIGN_OR_RETURN(SqlPart part, parser.parse());
    tested = parser.tested();
    where.push_back(part.sql);
    where_binds.insert(where_binds.end(), part.binds.begin(), part.binds.end());
  }
  std::string order;
  for (auto& part : order_parts) {
    if (!part.ok()) return part.status();
    joins += part->join;
    join_binds.insert(join_binds.end(), part->join_binds.begin(), part->join_binds.end());
    order += (tested.count(part->alias) != 0 ? part->plain_order : part->order) + ", ";
  }
  order += "r.start_time DESC, r.run_id ASC";

  // The keyset of the default order is two index seeks, one query each: the rest of the last
  // page's start time (run ids after its last), then the earlier start times. One query with
  // "start_time < ? OR (start_time = ? AND run_id > ?)" would walk the index from the newest run
  // to the page on every page (runs created together share one start time).
  std::vector<std::pair<std::string, std::vector<BoundValue>>> keysets;
  if (after) {
    keysets.push_back({"r.start_time = ? AND r.run_id > ?", {after->first, after->second}});
    keysets.push_back({"r.start_time < ?", {after->first}});
  } else {
    keysets.push_back({"", {}});
  }
  auto& db = store_.db();
  detail::ReadSnapshot snapshot(db);
  SearchRunsPage page;
  const size_t wanted = request.max_results + 1;  // one more tells whether another page follows
  // With order_by the matches are sorted (no index has that order): only their row ids, so the
  // sorter moves a few bytes per run instead of every column; the page's columns are read after,
  // by row id, in the sorted order (json_each's key is the position).
  const bool sorted_ids = !request.order_by.empty();
  std::vector<int64_t> rowids;
  for (const auto& [keyset, keyset_binds] : keysets) {
    if (page.runs.size() >= wanted) break;
    std::string where_sql;
    for (const auto& w : where) where_sql += (where_sql.empty() ? " WHERE " : " AND ") + w;
    if (!keyset.empty()) where_sql += (where_sql.empty() ? " WHERE " : " AND ") + keyset;
    const std::string sql = fmt::format("SELECT {} FROM runs r{}{} ORDER BY {} LIMIT ? OFFSET ?",
                                        sorted_ids ? std::string_view("r.rowid") : detail::kRunColumns, joins,
                                        where_sql, order);
    SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare(sql));
    std::vector<BoundValue> binds = join_binds;
    binds.insert(binds.end(), where_binds.begin(), where_binds.end());
    binds.insert(binds.end(), keyset_binds.begin(), keyset_binds.end());
    binds.push_back(static_cast<int64_t>(wanted - page.runs.size()));
    binds.push_back(offset);
    detail::bind_all(stmt, binds);
    while (true) {
      SLIPWAY_ASSIGN_OR_RETURN(bool row, stmt.step());
      if (!row) break;
      if (sorted_ids) {
        rowids.push_back(stmt.column_int64(0));
        continue;
      }
      Run run;
      run.info = detail::read_run_info(stmt);
      page.runs.push_back(std::move(run));
    }
  }
  if (sorted_ids && !rowids.empty()) {
    std::string ids = "[";
    for (int64_t id : rowids) {
      if (ids.size() > 1) ids += ',';
      ids += std::to_string(id);
    }
    ids += ']';
    static const std::string kByRowid =
        fmt::format("SELECT j.key, {} FROM json_each(?1) j CROSS JOIN runs r ON r.rowid = j.value", detail::kRunColumns);
    SLIPWAY_ASSIGN_OR_RETURN(store::Statement * stmt, db.cached(kByRowid));
    stmt->bind(1, ids);
    page.runs.resize(rowids.size());
    size_t found = 0;
    while (true) {
      auto row = stmt->step();
      if (!row.ok()) {
        stmt->reset();
        return row.status();
      }
      if (!*row) break;
      const int64_t at = stmt->column_int64(0);
      if (at < 0 || static_cast<size_t>(at) >= page.runs.size()) continue;
      page.runs[static_cast<size_t>(at)].info = detail::read_run_info(*stmt, 1);
      ++found;
    }
    stmt->reset();
    // One snapshot: every id found is still there.
    if (found != rowids.size()) {
      return make_error(ErrorCode::kInternal, "search_runs: {} of {} sorted runs not found by row id",
                        rowids.size() - found, rowids.size());
    }
  }
  if (page.runs.size() > request.max_results) {
    page.runs.pop_back();
    if (request.order_by.empty()) {
      const RunInfo& last = page.runs.back().info;
      page.next_page_token = detail::base64_encode(
          nlohmann::json{{"after", nlohmann::json::array({last.start_time_ms, last.run_id})}}.dump());
    } else {
      page.next_page_token = detail::base64_encode(
          nlohmann::json{{"offset", offset + static_cast<int64_t>(request.max_results)}}.dump());
    }
  }
  SLIPWAY_RETURN_IF_ERROR(detail::load_run_details(db, page.runs));
  return page;
}

}  // namespace slipway::track
