#include "detail/mlflow_json.h"

#include <charconv>

#include "detail/json_writer.h"

namespace slipway::server::detail {

namespace {

void append_key_value_list(std::string& out, const std::map<std::string, std::string>& items) {
  out.push_back('[');
  bool first = true;
  for (const auto& [key, value] : items) {
    if (!first) out.push_back(',');
    first = false;
    out.append("{\"key\":");
    append_json_string(out, key);
    out.append(",\"value\":");
    append_json_string(out, value);
    out.push_back('}');
  }
  out.push_back(']');
}

}  // namespace

void append_mlflow_experiment(std::string& out, const track::Experiment& e) {
  out.append("{\"experiment_id\":\"");
  append_json_int(out, e.id);
  out.push_back('"');
  append_json_key(out, "name");
  append_json_string(out, e.name);
  append_json_key(out, "artifact_location");
  append_json_string(out, e.artifact_location);
  append_json_key(out, "lifecycle_stage");
  append_json_string(out, track::lifecycle_name(e.lifecycle));
  append_json_key(out, "last_update_time");
  append_json_int(out, e.last_update_time_ms);
  append_json_key(out, "creation_time");
  append_json_int(out, e.creation_time_ms);
  append_json_key(out, "tags");
  append_key_value_list(out, e.tags);
  out.push_back('}');
}

void append_mlflow_run_info(std::string& out, const track::RunInfo& info) {
  out.append("{\"run_id\":");
  append_json_string(out, info.run_id);
  append_json_key(out, "run_uuid");
  append_json_string(out, info.run_id);
  append_json_key(out, "run_name");
  append_json_string(out, info.run_name);
  append_json_key(out, "experiment_id");
  out.push_back('"');
  append_json_int(out, info.experiment_id);
  out.push_back('"');
  append_json_key(out, "user_id");
  append_json_string(out, info.user);
  append_json_key(out, "status");
  append_json_string(out, track::run_status_name(info.status));
  append_json_key(out, "start_time");
  append_json_int(out, info.start_time_ms);
  if (info.end_time_ms) {
    append_json_key(out, "end_time");
    append_json_int(out, *info.end_time_ms);
  }
  append_json_key(out, "artifact_uri");
  append_json_string(out, info.artifact_uri);
  append_json_key(out, "lifecycle_stage");
  append_json_string(out, track::lifecycle_name(info.lifecycle));
  out.push_back('}');
}

void append_mlflow_metric(std::string& out, const track::MetricPoint& m) {
  out.append("{\"key\":");
  append_json_string(out, m.key);
  append_json_key(out, "value");
  append_json_double(out, m.value);
  append_json_key(out, "timestamp");
  append_json_int(out, m.timestamp_ms);
  append_json_key(out, "step");
  append_json_int(out, m.step);
  out.push_back('}');
}

void append_mlflow_run(std::string& out, const track::Run& run) {
  out.append("{\"info\":");
  append_mlflow_run_info(out, run.info);
  out.append(",\"data\":{\"metrics\":[");
  for (size_t i = 0; i < run.latest_metrics.size(); ++i) {
    if (i > 0) out.push_back(',');
    append_mlflow_metric(out, run.latest_metrics[i]);
  }
  out.append("],\"params\":");
  append_key_value_list(out, run.params);
  out.append(",\"tags\":");
  append_key_value_list(out, run.tags);
  out.append("},\"inputs\":{\"dataset_inputs\":[");
  for (size_t i = 0; i < run.inputs.size(); ++i) {
    const auto& input = run.inputs[i];
    if (i > 0) out.push_back(',');
    out.append("{\"tags\":[");
    if (!input.context.empty()) {
      out.append("{\"key\":\"mlflow.data.context\",\"value\":");
      append_json_string(out, input.context);
      out.push_back('}');
    }
    out.append("],\"dataset\":{\"name\":");
    append_json_string(out, input.dataset);
    out.append(",\"digest\":");
    append_json_string(out, input.version_id);
    out.append(",\"source_type\":\"slipway\",\"source\":");
    append_json_string(out, input.dataset + "@" + input.version_id);
    out.append("}}");
  }
  out.append("]}}");
}

Result<std::string> mlflow_run_id(const Params& p) {
  SLIPWAY_ASSIGN_OR_RETURN(auto run_id, p.optional_string("run_id"));
  if (run_id && !run_id->empty()) return std::move(*run_id);
  SLIPWAY_ASSIGN_OR_RETURN(auto run_uuid, p.optional_string("run_uuid"));
  if (run_uuid && !run_uuid->empty()) return std::move(*run_uuid);
  return missing_value(p.path("run_id"));
}

Result<int64_t> mlflow_experiment_id(const Params& p, std::string_view name) {
  return p.required_int64(name);
}

Result<track::MetricPoint> mlflow_metric(const Params& p) {
  track::MetricPoint m;
  SLIPWAY_ASSIGN_OR_RETURN(m.key, p.required_string("key"));
  SLIPWAY_ASSIGN_OR_RETURN(m.value, p.required_double("value"));
  SLIPWAY_ASSIGN_OR_RETURN(m.timestamp_ms, p.required_int64("timestamp"));
  SLIPWAY_ASSIGN_OR_RETURN(auto step, p.optional_int64("step"));
  m.step = step.value_or(0);
  return m;
}

Result<track::LogBatch> mlflow_log_batch(const Params& p) {
  track::LogBatch batch;
  SLIPWAY_ASSIGN_OR_RETURN(auto metrics, p.objects("metrics"));
  batch.metrics.reserve(metrics.size());
  for (const auto& m : metrics) {
    SLIPWAY_ASSIGN_OR_RETURN(auto point, mlflow_metric(m));
    batch.metrics.push_back(std::move(point));
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto params, p.objects("params"));
  batch.params.reserve(params.size());
  for (const auto& item : params) {
    SLIPWAY_ASSIGN_OR_RETURN(auto key, item.required_string("key"));
    SLIPWAY_ASSIGN_OR_RETURN(auto value, item.optional_string("value"));
    batch.params.emplace_back(std::move(key), value.value_or(""));
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto tags, p.objects("tags"));
  batch.tags.reserve(tags.size());
  for (const auto& item : tags) {
    SLIPWAY_ASSIGN_OR_RETURN(auto key, item.required_string("key"));
    SLIPWAY_ASSIGN_OR_RETURN(auto value, item.optional_string("value"));
    batch.tags.emplace_back(std::move(key), value.value_or(""));
  }
  return batch;
}

Result<track::RunStatus> mlflow_run_status(const Params& p, std::string_view name) {
  if (auto number = p.optional_int64(name); number.ok() && number->has_value()) {
    static constexpr track::RunStatus kByNumber[] = {track::RunStatus::kRunning, track::RunStatus::kScheduled,
                                                     track::RunStatus::kFinished, track::RunStatus::kFailed,
                                                     track::RunStatus::kKilled};
    int64_t n = **number;
    if (n >= 1 && n <= 5) return kByNumber[n - 1];
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto text, p.required_string(name));
  auto status = track::parse_run_status(text);
  if (!status.ok()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "Invalid value \"{}\" for parameter '{}' supplied: expected one of RUNNING, SCHEDULED, FINISHED, "
                      "FAILED, KILLED",
                      text, p.path(name));
  }
  return *status;
}

Result<track::SearchRunsRequest::ViewType> mlflow_view_type(const Params& p, std::string_view name) {
  using View = track::SearchRunsRequest::ViewType;
  if (!p.has(name)) return View::kActiveOnly;
  if (auto number = p.optional_int64(name); number.ok() && number->has_value()) {
    if (**number == 1) return View::kActiveOnly;
    if (**number == 2) return View::kDeletedOnly;
    if (**number == 3) return View::kAll;
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto text, p.optional_string(name));
  std::string value = text.value_or("");
  if (value == "ACTIVE_ONLY") return View::kActiveOnly;
  if (value == "DELETED_ONLY") return View::kDeletedOnly;
  if (value == "ALL") return View::kAll;
  return make_error(ErrorCode::kInvalidArgument,
                    "Invalid value \"{}\" for parameter '{}' supplied: expected ACTIVE_ONLY, DELETED_ONLY or ALL",
                    value, p.path(name));
}

}  // namespace slipway::server::detail

namespace slipway::server::detail {

namespace {

// A cursor over a JSON text that gives up (returns false) on anything outside the simple shape;
// see fast_mlflow_log_batch.
class SimpleJson {
 public:
  explicit SimpleJson(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

  void ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  bool at_end() {
    ws();
    return p_ == end_;
  }
  bool eat(char c) {
    ws();
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }
  bool peek(char c) {
    ws();
    return p_ < end_ && *p_ == c;
  }
  // A string of printable ASCII without escapes (nlohmann would accept more; those take the slow path).
  bool string(std::string_view& out) {
    if (!eat('"')) return false;
    const char* start = p_;
    while (p_ < end_) {
      auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        out = std::string_view(start, static_cast<size_t>(p_ - start));
        ++p_;
        return true;
      }
      if (c < 0x20 || c >= 0x80 || c == '\\') return false;
      ++p_;
    }
    return false;
  }
  // A JSON number token (strict grammar); `integer` tells whether it has no fraction or exponent.
  bool number(std::string_view& out, bool& integer) {
    ws();
    const char* start = p_;
    if (p_ < end_ && *p_ == '-') ++p_;
    if (p_ == end_) return false;
    if (*p_ == '0') {
      ++p_;
    } else if (*p_ >= '1' && *p_ <= '9') {
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    } else {
      return false;
    }
    integer = true;
    if (p_ < end_ && *p_ == '.') {
      integer = false;
      ++p_;
      if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      integer = false;
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    out = std::string_view(start, static_cast<size_t>(p_ - start));
    return true;
  }
  // Skips any value made of the pieces above (objects, arrays, strings, numbers, true, false).
  bool skip(int depth = 0) {
    if (depth > 64) return false;
    ws();
    if (p_ == end_) return false;
    std::string_view s;
    bool integer = false;
    switch (*p_) {
      case '"': return string(s);
      case '{': {
        ++p_;
        if (eat('}')) return true;
        do {
          if (!string(s) || !eat(':') || !skip(depth + 1)) return false;
        } while (eat(','));
        return eat('}');
      }
      case '[': {
        ++p_;
        if (eat(']')) return true;
        do {
          if (!skip(depth + 1)) return false;
        } while (eat(','));
        return eat(']');
      }
      case 't': return word("true");
      case 'f': return word("false");
      default: return number(s, integer);
    }
  }

 private:
  bool word(std::string_view w) {
    if (static_cast<size_t>(end_ - p_) < w.size() || std::string_view(p_, w.size()) != w) return false;
    p_ += w.size();
    return true;
  }
  const char* p_;
  const char* end_;
};

// As Params::optional_int64 reads a JSON integer or a decimal string (an empty string: absent).
bool read_int64(SimpleJson& in, std::optional<int64_t>& out) {
  std::string_view token;
  if (in.peek('"')) {
    if (!in.string(token)) return false;
    if (token.empty()) {
      out.reset();
      return true;
    }
    out = parse_int64(token);
    return out.has_value();
  }
  bool integer = false;
  if (!in.number(token, integer) || !integer) return false;  // 1.0e3 and friends: the slow path
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), v);
  if (ec != std::errc() || ptr != token.data() + token.size()) return false;
  out = v;
  return true;
}

// As Params::required_double: a number (an integer token converts as nlohmann's int64 does, so
// "-0" is 0), or "NaN" / "Infinity" / a numeric string.
bool read_double(SimpleJson& in, double& out) {
  std::string_view token;
  if (in.peek('"')) {
    if (!in.string(token)) return false;
    auto parsed = parse_double(token);
    if (!parsed) return false;
    out = *parsed;
    return true;
  }
  bool integer = false;
  if (!in.number(token, integer)) return false;
  const char* last = token.data() + token.size();
  if (integer) {
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(token.data(), last, v);
    if (ec != std::errc() || ptr != last) return false;
    out = static_cast<double>(v);
    return true;
  }
  auto [ptr, ec] = std::from_chars(token.data(), last, out);
  return ec == std::errc() && ptr == last;
}

bool read_metric(SimpleJson& in, track::MetricPoint& m) {
  if (!in.eat('{')) return false;
  bool has_key = false, has_value = false, has_timestamp = false, has_step = false;
  if (!in.eat('}')) {
    do {
      std::string_view name;
      if (!in.string(name) || !in.eat(':')) return false;
      if (name == "key") {
        std::string_view key;
        if (has_key || !in.string(key) || key.empty()) return false;
        m.key.assign(key);
        has_key = true;
      } else if (name == "value") {
        if (has_value || !read_double(in, m.value)) return false;
        has_value = true;
      } else if (name == "timestamp") {
        std::optional<int64_t> ts;
        if (has_timestamp || !read_int64(in, ts) || !ts) return false;
        m.timestamp_ms = *ts;
        has_timestamp = true;
      } else if (name == "step") {
        std::optional<int64_t> step;
        if (has_step || !read_int64(in, step)) return false;
        m.step = step.value_or(0);
        has_step = true;
      } else if (!in.skip()) {
        return false;
      }
    } while (in.eat(','));
    if (!in.eat('}')) return false;
  }
  return has_key && has_value && has_timestamp;
}

// [{"key": "...", "value": "..."}, ...] with a non-empty key; a missing value reads as "".
bool read_key_values(SimpleJson& in, std::vector<std::pair<std::string, std::string>>& out) {
  if (!in.eat('[')) return false;
  if (in.eat(']')) return true;
  do {
    if (!in.eat('{')) return false;
    std::optional<std::string_view> key, value;
    if (!in.eat('}')) {
      do {
        std::string_view name, text;
        if (!in.string(name) || !in.eat(':')) return false;
        if (name == "key" || name == "value") {
          auto& slot = name == "key" ? key : value;
          if (slot || !in.string(text)) return false;
          slot = text;
        } else if (!in.skip()) {
          return false;
        }
      } while (in.eat(','));
      if (!in.eat('}')) return false;
    }
    if (!key || key->empty()) return false;
    out.emplace_back(std::string(*key), std::string(value.value_or("")));
  } while (in.eat(','));
  return in.eat(']');
}

}  // namespace

std::optional<FastLogBatch> fast_mlflow_log_batch(std::string_view body) {
  SimpleJson in(body);
  FastLogBatch out;
  std::optional<std::string_view> run_id, run_uuid;
  bool has_metrics = false, has_params = false, has_tags = false;
  if (!in.eat('{')) return std::nullopt;
  if (!in.eat('}')) {
    do {
      std::string_view name, text;
      if (!in.string(name) || !in.eat(':')) return std::nullopt;
      if (name == "run_id" || name == "run_uuid") {
        auto& slot = name == "run_id" ? run_id : run_uuid;
        if (slot || !in.string(text)) return std::nullopt;
        slot = text;
      } else if (name == "metrics") {
        if (has_metrics || !in.eat('[')) return std::nullopt;
        has_metrics = true;
        if (!in.eat(']')) {
          out.batch.metrics.reserve(1000);
          do {
            track::MetricPoint m;
            if (!read_metric(in, m)) return std::nullopt;
            out.batch.metrics.push_back(std::move(m));
          } while (in.eat(','));
          if (!in.eat(']')) return std::nullopt;
        }
      } else if (name == "params" || name == "tags") {
        bool& seen = name == "params" ? has_params : has_tags;
        if (seen || !read_key_values(in, name == "params" ? out.batch.params : out.batch.tags)) return std::nullopt;
        seen = true;
      } else if (!in.skip()) {
        return std::nullopt;
      }
    } while (in.eat(','));
    if (!in.eat('}')) return std::nullopt;
  }
  if (!in.at_end()) return std::nullopt;
  if (run_id && !run_id->empty()) {
    out.run_id.assign(*run_id);
  } else if (run_uuid && !run_uuid->empty()) {
    out.run_id.assign(*run_uuid);
  } else {
    return std::nullopt;  // the slow path words the missing-value error
  }
  return out;
}

}  // namespace slipway::server::detail
