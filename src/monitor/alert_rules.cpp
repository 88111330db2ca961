// The alert rule language: the expression grammar and the YAML rules file (docs/alerts.md).
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <set>

#include "slipway/core/fs.h"
#include "slipway/monitor/alerts.h"

namespace slipway::monitor {

const char* comparison_symbol(Comparison op) {
  switch (op) {
    case Comparison::kGreater:
      return ">";
    case Comparison::kGreaterEqual:
      return ">=";
    case Comparison::kLess:
      return "<";
    case Comparison::kLessEqual:
      return "<=";
    case Comparison::kEqual:
      return "==";
    case Comparison::kNotEqual:
      return "!=";
  }
  return "?";
}

const char* action_kind_name(AlertActionKind kind) {
  switch (kind) {
    case AlertActionKind::kEvent:
      return "event";
    case AlertActionKind::kWebhook:
      return "webhook";
    case AlertActionKind::kCommand:
      return "command";
  }
  return "?";
}

bool AlertCondition::breaks(double value) const {
  if (std::isnan(value)) return false;
  switch (op) {
    case Comparison::kGreater:
      return value > threshold;
    case Comparison::kGreaterEqual:
      return value >= threshold;
    case Comparison::kLess:
      return value < threshold;
    case Comparison::kLessEqual:
      return value <= threshold;
    case Comparison::kEqual:
      return value == threshold;
    case Comparison::kNotEqual:
      return value != threshold;
  }
  return false;
}

std::string AlertCondition::to_string() const {
  std::string out = metric;
  if (!labels.empty()) {
    out += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!first) out += ',';
      first = false;
      out += k + "=" + v;
    }
    out += '}';
  }
  out += fmt::format(" {} {}", comparison_symbol(op), threshold);
  if (windows > 1) out += fmt::format(" for {} windows", windows);
  return out;
}

namespace {

constexpr int kMaxWindows = 1000;

// An error at a byte offset of the expression.
struct ExpressionError {
  size_t offset = 0;
  std::string what;
};

bool is_name_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_';
}
bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.' || c == ':' || c == '-';
}

class ExpressionParser {
 public:
  explicit ExpressionParser(std::string_view text) : text_(text) {}

  // Fills `out`; on failure returns false with error_ set.
  bool parse(AlertCondition& out) {
    skip_space();
    if (at_end() || !is_name_start(peek())) return fail("expected a metric name (a letter or '_' first)");
    out.metric = name(true);
    skip_space();
    if (!at_end() && peek() == '{') {
      ++pos_;
      if (!parse_labels(out)) return false;
      skip_space();
    }
    if (!parse_op(out.op)) return false;
    skip_space();
    if (!parse_number(out.threshold)) return false;
    skip_space();
    if (at_end()) return true;
    size_t for_at = pos_;
    if (word() != "for") {
      pos_ = for_at;
      return fail("expected 'for N windows' or the end of the expression");
    }
    skip_space();
    size_t n_at = pos_;
    size_t digits = 0;
    while (!at_end() && std::isdigit(static_cast<unsigned char>(peek())) != 0) {
      ++pos_;
      ++digits;
    }
    long long n = digits > 0 && digits <= 6 ? std::stoll(std::string(text_.substr(n_at, digits))) : -1;
    if (n < 1 || n > kMaxWindows || (!at_end() && is_name_char(peek()))) {
      pos_ = n_at;
      return fail(fmt::format("expected a whole number of windows from 1 to {} after 'for'", kMaxWindows));
    }
    out.windows = static_cast<int>(n);
    skip_space();
    size_t unit_at = pos_;
    std::string unit = word();
    if (unit != "windows" && unit != "window") {
      pos_ = unit_at;
      return fail(fmt::format("expected 'windows' after 'for {}'", n));
    }
    skip_space();
    if (!at_end()) return fail("expected the end of the expression");
    return true;
  }

  const ExpressionError& error() const { return error_; }

 private:
  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }
  void skip_space() {
    while (!at_end() && (peek() == ' ' || peek() == '\t')) ++pos_;
  }
  std::string name(bool /*metric*/) {
    size_t start = pos_;
    while (!at_end() && is_name_char(peek())) ++pos_;
    return std::string(text_.substr(start, pos_ - start));
  }
  std::string word() {
    size_t start = pos_;
    while (!at_end() && std::isalpha(static_cast<unsigned char>(peek())) != 0) ++pos_;
    return std::string(text_.substr(start, pos_ - start));
  }
  // What stands at pos_, for "got '…'" (one token, or "the end").
  std::string got() const {
    if (at_end()) return "the end";
    size_t end = pos_;
    if (is_name_char(text_[end])) {
      while (end < text_.size() && is_name_char(text_[end])) ++end;
    } else {
      while (end < text_.size() && !is_name_char(text_[end]) && text_[end] != ' ' && end - pos_ < 3) ++end;
    }
    return fmt::format("'{}'", text_.substr(pos_, std::max<size_t>(end - pos_, 1)));
  }
  bool fail(std::string what) {
    error_ = {pos_, fmt::format("{}, got {}", what, got())};
    return false;
  }

  bool parse_labels(AlertCondition& out) {
    for (;;) {
      skip_space();
      if (at_end() || !is_name_start(peek())) return fail("expected a label name in '{...}'");
      size_t key_at = pos_;
      std::string key = name(false);
      skip_space();
      if (at_end() || peek() != '=') return fail(fmt::format("expected '=' after label '{}'", key));
      ++pos_;
      skip_space();
      std::string value;
      if (!at_end() && (peek() == '"' || peek() == '\'')) {
        char quote = peek();
        size_t open_at = pos_;
        ++pos_;
        while (!at_end() && peek() != quote) value += text_[pos_++];
        if (at_end()) {
          pos_ = open_at;
          return fail(fmt::format("expected a closing {} for the value of label '{}'", quote, key));
        }
        ++pos_;
      } else {
        size_t start = pos_;
        while (!at_end() && is_name_char(peek())) ++pos_;
        if (pos_ == start) return fail(fmt::format("expected a value for label '{}'", key));
        value = std::string(text_.substr(start, pos_ - start));
      }
      if (out.labels.count(key) != 0) {
        pos_ = key_at;
        error_ = {key_at, fmt::format("label '{}' is given twice", key)};
        return false;
      }
      out.labels[key] = value;
      skip_space();
      if (!at_end() && peek() == ',') {
        ++pos_;
        continue;
      }
      if (!at_end() && peek() == '}') {
        ++pos_;
        return true;
      }
      return fail("expected ',' or '}' after a label");
    }
  }

  bool parse_op(Comparison& op) {
    auto next_is = [&](std::string_view s) { return text_.substr(pos_, s.size()) == s; };
    struct Op {
      std::string_view text;
      Comparison op;
    };
    static constexpr Op kOps[] = {{">=", Comparison::kGreaterEqual}, {"<=", Comparison::kLessEqual},
                                  {"==", Comparison::kEqual},        {"!=", Comparison::kNotEqual},
                                  {">", Comparison::kGreater},       {"<", Comparison::kLess}};
    for (const auto& candidate : kOps) {
      if (next_is(candidate.text)) {
        pos_ += candidate.text.size();
        op = candidate.op;
        return true;
      }
    }
    return fail("expected a comparison (>, >=, <, <=, == or !=) after the metric");
  }

  bool parse_number(double& out) {
    size_t start = pos_;
    size_t end = pos_;
    if (end < text_.size() && (text_[end] == '-' || text_[end] == '+')) ++end;
    bool digits = false;
    while (end < text_.size() && (std::isdigit(static_cast<unsigned char>(text_[end])) != 0 || text_[end] == '.')) {
      digits = digits || text_[end] != '.';
      ++end;
    }
    if (digits && end < text_.size() && (text_[end] == 'e' || text_[end] == 'E')) {
      size_t exp = end + 1;
      if (exp < text_.size() && (text_[exp] == '-' || text_[exp] == '+')) ++exp;
      if (exp < text_.size() && std::isdigit(static_cast<unsigned char>(text_[exp])) != 0) {
        end = exp;
        while (end < text_.size() && std::isdigit(static_cast<unsigned char>(text_[end])) != 0) ++end;
      }
    }
    std::string token(text_.substr(start, end - start));
    char* parse_end = nullptr;
    errno = 0;
    double v = digits ? std::strtod(token.c_str(), &parse_end) : 0;
    if (!digits || parse_end != token.c_str() + token.size() || errno == ERANGE ||
        (end < text_.size() && is_name_char(text_[end]))) {
      return fail("expected a number after the comparison");
    }
    pos_ = end;
    out = v;
    return true;
  }

  std::string_view text_;
  size_t pos_ = 0;
  ExpressionError error_;
};

bool parse_expression(std::string_view text, AlertCondition& out, ExpressionError& error) {
  ExpressionParser parser(text);
  if (parser.parse(out)) return true;
  error = parser.error();
  return false;
}

// ---- The YAML file ----

class RulesReader {
 public:
  explicit RulesReader(std::string source) : source_(std::move(source)) {}

  Status error_at(const YAML::Mark& mark, const std::string& what, size_t extra_columns = 0) const {
    int line = mark.line >= 0 ? mark.line + 1 : 1;
    int column = mark.column >= 0 ? mark.column + 1 : 1;
    return make_error(ErrorCode::kInvalidArgument, "{}:{}:{}: {}", source_, line,
                      column + static_cast<int>(extra_columns), what);
  }
  Status error_at(const YAML::Node& node, const std::string& what, size_t extra_columns = 0) const {
    return error_at(node.Mark(), what, extra_columns);
  }

  Result<std::vector<AlertRule>> read(const YAML::Node& root) {
    if (!root.IsDefined() || root.IsNull()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "{}:1:1: expected a mapping with a `rules` list, got an empty file", source_);
    }
    if (!root.IsMap()) return error_at(root, "expected a mapping with a `rules` list");
    // (A default-constructed YAML::Node is a defined null: presence is tracked apart.)
    YAML::Node rules_node;
    bool has_rules = false;
    for (const auto& entry : root) {
      std::string key = entry.first.as<std::string>();
      if (key != "rules") return error_at(entry.first, fmt::format("unknown key '{}' (expected: rules)", key));
      rules_node = entry.second;
      has_rules = true;
    }
    if (!has_rules) return error_at(root, "missing `rules` (a list of rules)");
    if (rules_node.IsNull()) return std::vector<AlertRule>{};
    if (!rules_node.IsSequence()) return error_at(rules_node, "`rules` must be a list of rules");
    std::vector<AlertRule> rules;
    std::map<std::string, int> seen;
    size_t index = 0;
    for (const auto& node : rules_node) {
      ++index;
      SLIPWAY_ASSIGN_OR_RETURN(AlertRule rule, read_rule(node, index));
      auto [it, inserted] = seen.emplace(rule.name, rule.line);
      if (!inserted) {
        return error_at(node, fmt::format("duplicate rule name '{}' (first at line {})", rule.name, it->second));
      }
      rules.push_back(std::move(rule));
    }
    return rules;
  }

 private:
  Result<std::string> scalar(const YAML::Node& node, const std::string& what) const {
    if (!node.IsScalar()) return error_at(node, fmt::format("{} must be a single value", what));
    return node.Scalar();
  }

  Result<int64_t> integer(const YAML::Node& node, const std::string& what, int64_t min, int64_t max) const {
    std::string text = node.IsScalar() ? node.Scalar() : "";
    char* end = nullptr;
    errno = 0;
    long long v = text.empty() ? 0 : std::strtoll(text.c_str(), &end, 10);
    if (!node.IsScalar() || text.empty() || *end != '\0' || errno == ERANGE || v < min || v > max) {
      return error_at(node, fmt::format("{} must be a whole number from {} to {}", what, min, max));
    }
    return static_cast<int64_t>(v);
  }

  Result<AlertRule> read_rule(const YAML::Node& node, size_t index) const {
    if (!node.IsMap()) return error_at(node, fmt::format("rule {} must be a mapping with name and when", index));
    AlertRule rule;
    rule.line = node.Mark().line + 1;
    YAML::Node when;
    YAML::Node actions;
    bool has_when = false;
    bool has_actions = false;
    std::string label = fmt::format("rule {}", index);
    // The name first, so later errors can say which rule.
    if (node["name"]) {
      SLIPWAY_ASSIGN_OR_RETURN(rule.name, scalar(node["name"], "`name`"));
      if (rule.name.empty()) return error_at(node["name"], "`name` must not be empty");
      label = fmt::format("rule '{}'", rule.name);
    }
    for (const auto& entry : node) {
      std::string key = entry.first.as<std::string>();
      if (key == "name") continue;
      if (key == "model") {
        SLIPWAY_ASSIGN_OR_RETURN(auto model, scalar(entry.second, "`model`"));
        if (model.empty()) return error_at(entry.second, fmt::format("{}: `model` must not be empty", label));
        rule.model = model;
      } else if (key == "when") {
        when = entry.second;
        has_when = true;
      } else if (key == "actions") {
        actions = entry.second;
        has_actions = true;
      } else {
        return error_at(entry.first,
                        fmt::format("unknown key '{}' in {} (expected: name, model, when, actions)", key, label));
      }
    }
    if (rule.name.empty()) return error_at(node, fmt::format("rule {} has no `name`", index));
    if (!has_when) return error_at(node, fmt::format("{} has no `when` (e.g. when: drift_share > 0.3)", label));
    SLIPWAY_ASSIGN_OR_RETURN(rule.expression, scalar(when, fmt::format("{}: `when`", label)));
    ExpressionError error;
    if (!parse_expression(rule.expression, rule.condition, error)) {
      // A quoted scalar's mark is at its opening quote.
      size_t quote = when.Tag() == "!" ? 1 : 0;
      return error_at(when, fmt::format("{}: {}", label, error.what), error.offset + quote);
    }
    if (has_actions && !actions.IsNull()) {
      if (!actions.IsSequence()) return error_at(actions, fmt::format("{}: `actions` must be a list", label));
      for (const auto& action_node : actions) {
        SLIPWAY_ASSIGN_OR_RETURN(auto action, read_action(action_node, label));
        if (action) rule.actions.push_back(std::move(*action));
      }
    }
    return rule;
  }

  // nullopt for `event` (always recorded, so not listed).
  Result<std::optional<AlertAction>> read_action(const YAML::Node& node, const std::string& label) const {
    constexpr const char* kExpected = "expected event, webhook: URL or command: COMMAND";
    if (node.IsScalar()) {
      if (node.Scalar() == "event") return std::optional<AlertAction>();
      return error_at(node, fmt::format("{}: unknown action '{}' ({})", label, node.Scalar(), kExpected));
    }
    if (!node.IsMap()) return error_at(node, fmt::format("{}: an action must be {}", label, kExpected));
    AlertAction action;
    if (node["webhook"]) {
      action.kind = AlertActionKind::kWebhook;
      action.timeout_ms = 5000;
      action.retries = 3;
      SLIPWAY_ASSIGN_OR_RETURN(action.target, scalar(node["webhook"], fmt::format("{}: `webhook`", label)));
      if (action.target.rfind("http://", 0) != 0 || action.target.size() <= 7) {
        return error_at(node["webhook"],
                        fmt::format("{}: webhook URL '{}' must start with http:// (https is not supported: put a "
                                    "TLS-terminating proxy on loopback)",
                                    label, action.target));
      }
    } else if (node["command"]) {
      action.kind = AlertActionKind::kCommand;
      action.timeout_ms = 3'600'000;
      SLIPWAY_ASSIGN_OR_RETURN(action.target, scalar(node["command"], fmt::format("{}: `command`", label)));
      if (action.target.empty())
        return error_at(node["command"], fmt::format("{}: `command` must not be empty", label));
    } else if (node["event"]) {
      if (node.size() != 1) {
        return error_at(node, fmt::format("{}: an `event` action takes no options", label));
      }
      return std::optional<AlertAction>();
    } else {
      return error_at(node, fmt::format("{}: an action must be {}", label, kExpected));
    }
    const char* kind = action_kind_name(action.kind);
    for (const auto& entry : node) {
      std::string key = entry.first.as<std::string>();
      if (key == kind) continue;
      if (key == "timeout_ms") {
        SLIPWAY_ASSIGN_OR_RETURN(action.timeout_ms,
                                 integer(entry.second, fmt::format("{}: `timeout_ms`", label), 1, 86'400'000));
      } else if (key == "retries" && action.kind == AlertActionKind::kWebhook) {
        SLIPWAY_ASSIGN_OR_RETURN(auto retries, integer(entry.second, fmt::format("{}: `retries`", label), 0, 10));
        action.retries = static_cast<int>(retries);
      } else {
        return error_at(entry.first,
                        fmt::format("unknown key '{}' in {} action of {} (expected: {}, timeout_ms{})", key, kind,
                                    label, kind, action.kind == AlertActionKind::kWebhook ? ", retries" : ""));
      }
    }
    return std::optional<AlertAction>(std::move(action));
  }

  std::string source_;
};

}  // namespace

Result<AlertCondition> parse_alert_expression(std::string_view text) {
  AlertCondition out;
  ExpressionError error;
  if (!parse_expression(text, out, error)) {
    return make_error(ErrorCode::kInvalidArgument, "column {}: {}", error.offset + 1, error.what);
  }
  return out;
}

Result<std::vector<AlertRule>> parse_alert_rules(std::string_view yaml_text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    return make_error(ErrorCode::kParseError, "{}:{}:{}: {}", source, e.mark.line + 1, e.mark.column + 1, e.msg);
  }
  try {
    RulesReader reader(source);
    return reader.read(root);
  } catch (const YAML::Exception& e) {
    return make_error(ErrorCode::kInvalidArgument, "{}:{}:{}: {}", source, e.mark.line + 1, e.mark.column + 1, e.msg);
  }
}

Result<std::vector<AlertRule>> load_alert_rules(const std::filesystem::path& file) {
  auto text = read_file(file);
  if (!text.ok()) return text.status();  // "no such file: PATH"
  return parse_alert_rules(*text, file.string());
}

}  // namespace slipway::monitor
