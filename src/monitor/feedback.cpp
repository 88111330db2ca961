// Feedback: parsing (JSON, JSON Lines, CSV), the request-id index over the prediction log, and the
// monitor_feedback table (feedback.h).
#include "slipway/monitor/feedback.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "slipway/serve/prediction_log.h"
#include "slipway/table/reader.h"

namespace slipway::monitor {

using json = nlohmann::json;

namespace {

const char* kind_of(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a bool";
    case json::value_t::string: return "a string";
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    default: return "a number";
  }
}

std::optional<double> as_number(std::string_view text) {
  double v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

Result<FeedbackItem> item_from_json(const json& j, const std::string& where) {
  if (!j.is_object()) return make_error(ErrorCode::kInvalidArgument, "{}: expected an object, got {}", where, kind_of(j));
  FeedbackItem item;
  item.where = where;
  for (const auto& [key, v] : j.items()) {
    if (key == "id" || key == "request_id") {
      if (!v.is_string() || v.get_ref<const std::string&>().empty()) {
        return make_error(ErrorCode::kInvalidArgument, "{}.{}: expected the request id as a non-empty string, got {}",
                          where, key, kind_of(v));
      }
      item.request_id = v.get<std::string>();
    } else if (key == "label") {
      if (v.is_boolean()) {
        item.label = v.get<bool>() ? "1" : "0";
        item.label_number = v.get<bool>() ? 1.0 : 0.0;
      } else if (v.is_number()) {
        double x = v.get<double>();
        if (!std::isfinite(x)) return make_error(ErrorCode::kInvalidArgument, "{}.label: must be finite", where);
        item.label_number = x;
        item.label = v.dump();
      } else if (v.is_string()) {
        item.label = v.get<std::string>();
        item.label_number = as_number(*item.label);
      } else {
        return make_error(ErrorCode::kInvalidArgument, "{}.label: expected a number, string or bool, got {}", where,
                          kind_of(v));
      }
    } else if (key == "values") {
      if (!v.is_object()) {
        return make_error(ErrorCode::kInvalidArgument, "{}.values: expected an object of named numbers, got {}", where,
                          kind_of(v));
      }
      for (const auto& [name, x] : v.items()) {
        if (!x.is_number() || !std::isfinite(x.get<double>())) {
          return make_error(ErrorCode::kInvalidArgument, "{}.values.{}: expected a finite number, got {}", where, name,
                            kind_of(x));
        }
        item.values.emplace_back(name, x.get<double>());
      }
    } else {
      return make_error(ErrorCode::kInvalidArgument, "{}: unknown field '{}' (expected id, label, values)", where, key);
    }
  }
  if (item.request_id.empty()) return make_error(ErrorCode::kInvalidArgument, "{}: missing 'id' (the request id)", where);
  if (!item.label && item.values.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "{}: carries neither 'label' nor 'values'", where);
  }
  return item;
}

}  // namespace

Result<std::vector<FeedbackItem>> parse_feedback_json(std::string_view body, std::string_view source,
                                                      std::string_view item_prefix) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) {
    // nlohmann does not say where when exceptions are off; parse again for the position.
    try {
      json again = json::parse(body);
      (void)again;
    } catch (const json::parse_error& e) {
      return make_error(ErrorCode::kParseError, "{}: not valid JSON at byte {}: {}", source, e.byte, e.what());
    }
    return make_error(ErrorCode::kParseError, "{}: not valid JSON", source);
  }
  const json* list = &j;
  if (j.is_object()) {
    auto it = j.find("feedback");
    if (it == j.end()) {
      return make_error(ErrorCode::kInvalidArgument, "{}: expected {{\"feedback\": [...]}} or a JSON array", source);
    }
    list = &*it;
  }
  if (!list->is_array()) {
    return make_error(ErrorCode::kInvalidArgument, "{}: 'feedback' must be an array, got {}", source, kind_of(*list));
  }
  std::vector<FeedbackItem> items;
  items.reserve(list->size());
  for (size_t i = 0; i < list->size(); ++i) {
    SLIPWAY_ASSIGN_OR_RETURN(auto item, item_from_json((*list)[i], fmt::format("{}feedback[{}]", item_prefix, i)));
    items.push_back(std::move(item));
  }
  return items;
}

Result<std::vector<FeedbackItem>> read_feedback_file(const std::filesystem::path& path) {
  const std::string ext = path.extension().string();
  const std::string name = path.string();
  if (ext == ".csv") {
    SLIPWAY_ASSIGN_OR_RETURN(auto reader, table::open_csv(path, table::CsvOptions{}));
    const auto& names = reader->column_names();
    int id_col = -1, label_col = -1;
    for (size_t c = 0; c < names.size(); ++c) {
      if (names[c] == "id" || names[c] == "request_id") id_col = static_cast<int>(c);
      if (names[c] == "label") label_col = static_cast<int>(c);
    }
    if (id_col < 0) {
      return make_error(ErrorCode::kInvalidArgument, "{}:1: no 'id' column (the request id each row answers)", name);
    }
    std::vector<FeedbackItem> items;
    table::RecordBatch batch;
    for (;;) {
      SLIPWAY_ASSIGN_OR_RETURN(bool more, reader->next(batch, 4096));
      if (!more) break;
      for (size_t r = 0; r < batch.num_rows; ++r) {
        FeedbackItem item;
        item.where = fmt::format("{}:{}", name, batch.line_numbers[r]);
        if (batch.nulls[id_col][r] || batch.columns[id_col][r].empty()) {
          return make_error(ErrorCode::kInvalidArgument, "{}: empty 'id'", item.where);
        }
        item.request_id = std::string(batch.columns[id_col][r]);
        for (size_t c = 0; c < names.size(); ++c) {
          if (static_cast<int>(c) == id_col || batch.nulls[c][r]) continue;
          std::string_view text = batch.columns[c][r];
          if (static_cast<int>(c) == label_col) {
            item.label = std::string(text);
            item.label_number = as_number(text);
            continue;
          }
          auto x = as_number(text);
          if (!x) {
            return make_error(ErrorCode::kInvalidArgument, "{}: column '{}': expected a number, got '{}'", item.where,
                              names[c], text);
          }
          item.values.emplace_back(names[c], *x);
        }
        if (!item.label && item.values.empty()) {
          return make_error(ErrorCode::kInvalidArgument, "{}: carries neither a label nor any value", item.where);
        }
        items.push_back(std::move(item));
      }
    }
    return items;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kIoError, "cannot read {}", name);
  if (ext == ".jsonl" || ext == ".ndjson") {
    std::vector<FeedbackItem> items;
    std::string line;
    size_t number = 0;
    while (std::getline(in, line)) {
      ++number;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const std::string where = fmt::format("{}:{}", name, number);
      json j = json::parse(line, nullptr, false);
      if (j.is_discarded()) return make_error(ErrorCode::kParseError, "{}: not valid JSON", where);
      SLIPWAY_ASSIGN_OR_RETURN(auto item, item_from_json(j, where));
      items.push_back(std::move(item));
    }
    return items;
  }
  if (ext != ".json") {
    return make_error(ErrorCode::kInvalidArgument, "{}: feedback files are .csv, .json or .jsonl, not '{}'", name, ext);
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_feedback_json(buffer.str(), name, name + ": ");
}

// ---- RequestIdIndex ----

struct RequestIdIndex::State {
  std::filesystem::path store_root;
  std::string model;
  std::optional<serve::PredictionLogReader> reader;
  std::unordered_map<std::string, uint32_t> rows;  // request id -> rows in the request
};

RequestIdIndex::RequestIdIndex(std::filesystem::path store_root, std::string model)
    : state_(std::make_unique<State>()) {
  state_->store_root = std::move(store_root);
  state_->model = std::move(model);
}
RequestIdIndex::~RequestIdIndex() = default;
RequestIdIndex::RequestIdIndex(RequestIdIndex&&) noexcept = default;
RequestIdIndex& RequestIdIndex::operator=(RequestIdIndex&&) noexcept = default;
size_t RequestIdIndex::size() const { return state_->rows.size(); }

namespace {

// nullopt: unknown (yet). An error: the id names a request, but not one row of it.
Result<std::optional<std::string>> lookup(const std::unordered_map<std::string, uint32_t>& rows, std::string_view id) {
  if (auto it = rows.find(std::string(id)); it != rows.end()) {
    if (it->second <= 1) return std::optional<std::string>(it->first);
    return make_error(ErrorCode::kInvalidArgument,
                      "request '{}' has {} rows: give feedback per row as '{}#0' ... '{}#{}'", id, it->second, id, id,
                      it->second - 1);
  }
  auto hash = id.rfind('#');
  if (hash == std::string_view::npos) return std::optional<std::string>();
  uint32_t row = 0;
  auto digits = id.substr(hash + 1);
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), row);
  if (ec != std::errc() || p != digits.data() + digits.size()) return std::optional<std::string>();
  auto base = std::string(id.substr(0, hash));
  auto it = rows.find(base);
  if (it == rows.end()) return std::optional<std::string>();
  if (row >= it->second) {
    return make_error(ErrorCode::kInvalidArgument, "request '{}' has {} row{}: there is no row {}", base, it->second,
                      it->second == 1 ? "" : "s", row);
  }
  return std::optional<std::string>(it->second == 1 ? base : std::string(id));
}

}  // namespace

Result<std::optional<std::string>> RequestIdIndex::canonical(std::string_view row_id) {
  {
    SLIPWAY_ASSIGN_OR_RETURN(auto found, lookup(state_->rows, row_id));
    if (found) return found;
  }
  // Catch up with what was logged since the last look.
  if (!state_->reader) {
    auto reader = serve::PredictionLogReader::open(serve::prediction_log_dir(state_->store_root), state_->model);
    if (!reader.ok()) {
      if (reader.status().code() == ErrorCode::kNotFound) return std::optional<std::string>();
      return reader.status();
    }
    state_->reader.emplace(std::move(reader).value());
  }
  serve::PredictionRecord record;
  for (;;) {
    SLIPWAY_ASSIGN_OR_RETURN(bool more, state_->reader->next(record));
    if (!more) break;
    state_->rows[record.request_id] = static_cast<uint32_t>(std::min<size_t>(record.rows(), UINT32_MAX));
  }
  return lookup(state_->rows, row_id);
}

// ---- The table ----

Result<FeedbackOutcome> record_feedback(store::Store& store, const std::string& model, std::vector<FeedbackItem> items,
                                        RequestIdIndex& index, const FeedbackOptions& options, int64_t now_us) {
  FeedbackOutcome outcome;
  if (options.before_unknown_check) options.before_unknown_check();
  std::vector<FeedbackItem> known;
  known.reserve(items.size());
  for (auto& item : items) {
    auto found = index.canonical(item.request_id);
    if (!found.ok()) {
      // A bare id of a request of several rows, or a row past its end: cannot be joined either.
      if (options.skip_unknown && found.status().code() == ErrorCode::kInvalidArgument) {
        ++outcome.skipped_unknown;
        continue;
      }
      return found.status().with_context(item.where);
    }
    if (!*found) {
      if (options.skip_unknown) {
        ++outcome.skipped_unknown;
        continue;
      }
      return make_error(ErrorCode::kNotFound,
                        "{}: unknown request id '{}' for model '{}': no logged prediction has it (was the model "
                        "served with --log-predictions? is the id from another model?)",
                        item.where, item.request_id, model);
    }
    item.request_id = std::move(**found);
    known.push_back(std::move(item));
  }
  auto& db = store.db();
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  SLIPWAY_ASSIGN_OR_RETURN(auto* exists, db.cached("SELECT 1 FROM monitor_feedback WHERE model = ?1 AND request_id = ?2"));
  SLIPWAY_ASSIGN_OR_RETURN(auto* upsert, db.cached(R"sql(
    INSERT INTO monitor_feedback (model, request_id, label, label_number, "values", received_time)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6)
    ON CONFLICT (model, request_id) DO UPDATE SET
      label = COALESCE(excluded.label, label),
      label_number = CASE WHEN excluded.label IS NULL THEN label_number ELSE excluded.label_number END,
      "values" = json_patch("values", excluded."values"),
      received_time = excluded.received_time,
      duplicates = duplicates + 1)sql"));
  for (const auto& item : known) {
    exists->bind(1, model).bind(2, item.request_id);
    SLIPWAY_ASSIGN_OR_RETURN(bool had, exists->step());
    exists->reset();
    json values = json::object();
    for (const auto& [k, v] : item.values) values[k] = v;
    upsert->bind(1, model).bind(2, item.request_id).bind(3, item.label);
    if (item.label_number) {
      upsert->bind(4, *item.label_number);
    } else {
      upsert->bind(4, nullptr);
    }
    upsert->bind(5, values.dump()).bind(6, now_us);
    SLIPWAY_RETURN_IF_ERROR(upsert->run());
    (had ? outcome.replaced : outcome.accepted) += 1;
  }
  SLIPWAY_RETURN_IF_ERROR(txn.commit());
  return outcome;
}

Result<std::unordered_map<std::string, FeedbackRow>> load_feedback(store::Store& store, const std::string& model) {
  std::unordered_map<std::string, FeedbackRow> out;
  SLIPWAY_ASSIGN_OR_RETURN(auto stmt, store.db().prepare(
      R"sql(SELECT request_id, label, label_number, "values", received_time, duplicates
            FROM monitor_feedback WHERE model = ?1)sql"));
  stmt.bind(1, model);
  for (;;) {
    SLIPWAY_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) break;
    FeedbackRow f;
    f.label = stmt.column_optional_text(1);
    if (!stmt.column_is_null(2)) f.label_number = stmt.column_double(2);
    auto values = json::parse(stmt.column_text(3), nullptr, false);
    if (values.is_object()) {
      for (const auto& [k, v] : values.items()) {
        if (v.is_number()) f.values.emplace_back(k, v.get<double>());
      }
    }
    f.received_us = stmt.column_int64(4);
    f.duplicates = stmt.column_int64(5);
    out.emplace(stmt.column_text(0), std::move(f));
  }
  return out;
}

}  // namespace slipway::monitor
