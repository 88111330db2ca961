#include "detail/experiment_search.h"

#include <algorithm>
#include <cctype>

#include "detail/params.h"

namespace slipway::server::detail {

namespace {

char fold(char c, bool fold_case) {
  return fold_case ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : c;
}

struct Comparison {
  std::string field;  // "name" or a tag key
  bool is_tag = false;
  std::string op;     // "=", "!=", "LIKE", "ILIKE"
  std::string value;
};

class FilterParser {
 public:
  explicit FilterParser(std::string_view text) : text_(text) {}

  Result<std::vector<Comparison>> parse() {
    std::vector<Comparison> out;
    skip_space();
    if (at_end()) return out;
    while (true) {
      SLIPWAY_ASSIGN_OR_RETURN(auto comparison, parse_comparison());
      out.push_back(std::move(comparison));
      skip_space();
      if (at_end()) break;
      size_t at = pos_;
      std::string word = read_word();
      if (!iequal(word, "AND")) return error_at(at, fmt::format("expected AND, got '{}'", word));
    }
    return out;
  }

 private:
  Result<Comparison> parse_comparison() {
    Comparison c;
    skip_space();
    size_t start = pos_;
    std::string ident = read_word();
    if (ident.empty()) return error("expected a field name ('name' or 'tags.KEY')");
    if (iequal(ident, "name") || iequal(ident, "attribute.name") || iequal(ident, "attributes.name")) {
      c.field = "name";
    } else if (ident.starts_with("tags.") || ident.starts_with("tag.")) {
      c.is_tag = true;
      c.field = ident.substr(ident.find('.') + 1);
      if (c.field.empty() && pos_ < text_.size() && (text_[pos_] == '"' || text_[pos_] == '`')) {
        SLIPWAY_ASSIGN_OR_RETURN(c.field, read_quoted());
      }
      if (c.field.empty()) return error_at(start, "expected a tag key after 'tags.'");
    } else {
      return error_at(start, fmt::format("unsupported field '{}' (supported: name, tags.KEY)", ident));
    }
    skip_space();
    if (text_.substr(pos_).starts_with("!=")) {
      c.op = "!=";
      pos_ += 2;
    } else if (text_.substr(pos_).starts_with("=")) {
      c.op = "=";
      pos_ += 1;
    } else {
      size_t at = pos_;
      std::string word = read_word();
      if (iequal(word, "LIKE")) {
        c.op = "LIKE";
      } else if (iequal(word, "ILIKE")) {
        c.op = "ILIKE";
      } else {
        return error_at(at, fmt::format("expected =, !=, LIKE or ILIKE, got '{}'", word));
      }
    }
    skip_space();
    SLIPWAY_ASSIGN_OR_RETURN(c.value, read_quoted());
    return c;
  }

  static bool iequal(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
  }
  bool at_end() const { return pos_ >= text_.size(); }
  void skip_space() {
    while (!at_end() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  std::string read_word() {
    size_t start = pos_;
    while (!at_end()) {
      char ch = text_[pos_];
      if (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' || ch == '-') {
        ++pos_;
      } else {
        break;
      }
    }
    return std::string(text_.substr(start, pos_ - start));
  }
  Result<std::string> read_quoted() {
    if (at_end() || (text_[pos_] != '\'' && text_[pos_] != '"' && text_[pos_] != '`')) {
      return error("expected a quoted string");
    }
    char quote = text_[pos_++];
    std::string out;
    while (!at_end()) {
      char ch = text_[pos_++];
      if (ch == quote) {
        if (!at_end() && text_[pos_] == quote) {  // '' inside '...'
          out.push_back(quote);
          ++pos_;
          continue;
        }
        return out;
      }
      out.push_back(ch);
    }
    return error("unterminated string");
  }
  Status error(std::string_view message) const { return error_at(pos_, message); }
  Status error_at(size_t at, std::string_view message) const {
    return make_error(ErrorCode::kInvalidArgument, "Invalid filter '{}': column {}: {}", text_, at + 1, message);
  }

  std::string_view text_;
  size_t pos_ = 0;
};

bool matches(const track::Experiment& e, const Comparison& c) {
  const std::string* value = nullptr;
  if (c.is_tag) {
    auto it = e.tags.find(c.field);
    if (it == e.tags.end()) return false;
    value = &it->second;
  } else {
    value = &e.name;
  }
  if (c.op == "=") return *value == c.value;
  if (c.op == "!=") return *value != c.value;
  return like_match(*value, c.value, c.op == "ILIKE");
}

}  // namespace

bool like_match(std::string_view text, std::string_view pattern, bool fold_case) {
  // Iterative wildcard matching with backtracking to the last '%'.
  size_t t = 0, p = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '_' || fold(pattern[p], fold_case) == fold(text[t], fold_case))) {
      ++t;
      ++p;
    } else if (p < pattern.size() && pattern[p] == '%') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '%') ++p;
  return p == pattern.size();
}

Result<ExperimentPage> search_experiments(std::vector<track::Experiment> all, const ExperimentSearch& search) {
  if (search.max_results < 1 || search.max_results > 50000) {
    return make_error(ErrorCode::kInvalidArgument, "max_results must be between 1 and 50000, got {}",
                      search.max_results);
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto comparisons, FilterParser(search.filter).parse());
  std::erase_if(all, [&](const track::Experiment& e) {
    return !std::all_of(comparisons.begin(), comparisons.end(), [&](const Comparison& c) { return matches(e, c); });
  });

  struct Key {
    std::string field;
    bool descending;
  };
  std::vector<Key> keys;
  for (const auto& entry : search.order_by) {
    std::string text(entry);
    bool descending = false;
    auto lower = text;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
    if (lower.ends_with(" desc")) {
      descending = true;
      text = text.substr(0, text.size() - 5);
    } else if (lower.ends_with(" asc")) {
      text = text.substr(0, text.size() - 4);
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    if (text.starts_with("attribute.")) text = text.substr(10);
    if (text != "name" && text != "experiment_id" && text != "creation_time" && text != "last_update_time") {
      return make_error(ErrorCode::kInvalidArgument,
                        "Invalid order_by '{}': order by name, experiment_id, creation_time or last_update_time, "
                        "optionally followed by ASC or DESC",
                        entry);
    }
    keys.push_back({text, descending});
  }
  if (keys.empty()) keys.push_back({"creation_time", true});
  keys.push_back({"experiment_id", false});
  std::stable_sort(all.begin(), all.end(), [&](const track::Experiment& a, const track::Experiment& b) {
    for (const auto& k : keys) {
      int c = 0;
      if (k.field == "name") {
        c = a.name.compare(b.name);
      } else {
        auto pick = [&](const track::Experiment& e) {
          return k.field == "experiment_id"   ? e.id
                 : k.field == "creation_time" ? e.creation_time_ms
                                              : e.last_update_time_ms;
        };
        c = pick(a) < pick(b) ? -1 : pick(a) > pick(b) ? 1 : 0;
      }
      if (c != 0) return k.descending ? c > 0 : c < 0;
    }
    return false;
  });

  size_t offset = 0;
  if (!search.page_token.empty()) {
    auto parsed = parse_int64(search.page_token);
    if (!parsed || *parsed <= 0) {
      return make_error(ErrorCode::kInvalidArgument, "invalid page_token '{}'", search.page_token);
    }
    offset = static_cast<size_t>(*parsed);
  }
  ExperimentPage page;
  for (size_t i = offset; i < all.size() && page.experiments.size() < search.max_results; ++i) {
    page.experiments.push_back(std::move(all[i]));
  }
  if (offset + page.experiments.size() < all.size()) {
    page.next_page_token = std::to_string(offset + page.experiments.size());
  }
  return page;
}

}  // namespace slipway::server::detail
