// Reading the training config: YAML text + `--set key=value` overrides -> TrainConfig, with every
// error located at the key (file:line:column, or the --set argument that gave it).
#include "slipway/train/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <variant>

#include "slipway/table/types.h"

namespace slipway::train {

namespace fs = std::filesystem;

std::string DataSource::describe() const { return dataset.empty() ? file.string() : dataset; }

const char* impute_name(Impute impute) {
  switch (impute) {
    case Impute::kNone: return "none";
    case Impute::kMean: return "mean";
    case Impute::kMedian: return "median";
    case Impute::kConstant: return "constant";
  }
  return "none";
}

const char* encoding_name(Encoding encoding) { return encoding == Encoding::kOneHot ? "onehot" : "ordinal"; }

std::string TrainConfig::where(const std::string& key) const {
  std::string k = key;
  for (;;) {
    if (auto it = locations.find(k); it != locations.end()) return it->second + ": ";
    const size_t cut = k.find_last_of(".[");
    if (cut == std::string::npos) return source_name.empty() ? "" : source_name + ": ";
    k.resize(cut);
  }
}

namespace {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string join_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// "[0.1, 0.2]" style text of a node for params and messages.
std::string node_text(const YAML::Node& node) {
  if (!node || node.IsNull()) return "";
  if (node.IsScalar()) return node.Scalar();
  YAML::Emitter out;
  out.SetMapFormat(YAML::Flow);
  out.SetSeqFormat(YAML::Flow);
  out << node;
  return out.c_str();
}

std::string got(const YAML::Node& node) {
  if (!node || node.IsNull()) return "nothing";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  return "'" + node.Scalar() + "'";
}

nlohmann::json to_json(const YAML::Node& node) {
  if (!node || node.IsNull()) return nullptr;
  if (node.IsSequence()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& item : node) out.push_back(to_json(item));
    return out;
  }
  if (node.IsMap()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& kv : node) out[kv.first.Scalar()] = to_json(kv.second);
    return out;
  }
  const std::string& s = node.Scalar();
  if (node.Tag() != "?") return s;  // quoted: always text
  if (s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  bool b = false;
  if (table::parse_bool(s, &b)) return b;
  int64_t i = 0;
  if (table::parse_int64(s, &i)) return i;
  double d = 0;
  if (table::parse_float64(s, &d)) return d;
  return s;
}

// One --set argument, split into its key path and YAML value.
struct SetArg {
  std::string text;  // as given: "split.train=0.8"
  std::string key;   // "split.train"
  std::vector<std::variant<std::string, size_t>> path;
  YAML::Node value;
};

Result<SetArg> parse_set(const std::string& text) {
  SetArg arg;
  arg.text = text;
  const size_t eq = text.find('=');
  auto bad = [&](const std::string& why) {
    return Status(ErrorCode::kParseError,
                  fmt::format("--set {}: {} (expected KEY=VALUE, e.g. --set split.seed=7)", text, why));
  };
  if (eq == std::string::npos) return bad("no '='");
  arg.key = text.substr(0, eq);
  if (arg.key.empty()) return bad("empty key");
  // key: name(.name | [N])*
  size_t i = 0;
  const std::string& k = arg.key;
  while (i < k.size()) {
    if (k[i] == '[') {
      const size_t close = k.find(']', i);
      if (close == std::string::npos || close == i + 1) return bad("unclosed '[' in the key");
      size_t index = 0;
      for (size_t j = i + 1; j < close; ++j) {
        if (k[j] < '0' || k[j] > '9') return bad("a list index must be a number");
        index = index * 10 + static_cast<size_t>(k[j] - '0');
      }
      arg.path.emplace_back(index);
      i = close + 1;
      if (i < k.size() && k[i] == '.') ++i;
      continue;
    }
    const size_t end = k.find_first_of(".[", i);
    std::string name = k.substr(i, end == std::string::npos ? std::string::npos : end - i);
    if (name.empty()) return bad("empty part in the key");
    arg.path.emplace_back(std::move(name));
    if (end == std::string::npos) break;
    i = k[end] == '.' ? end + 1 : end;
    if (k[end] == '.' && i == k.size()) return bad("empty part in the key");
  }
  try {
    arg.value = YAML::Load(text.substr(eq + 1));
  } catch (const YAML::Exception& e) {
    return bad("the value is not valid YAML: " + e.msg);
  }
  return arg;
}

Status apply_set(YAML::Node& root, const SetArg& arg) {
  YAML::Node node = root;
  for (size_t i = 0; i < arg.path.size(); ++i) {
    const bool last = i + 1 == arg.path.size();
    if (const auto* name = std::get_if<std::string>(&arg.path[i])) {
      if (node.IsDefined() && !node.IsNull() && !node.IsMap()) {
        return make_error(ErrorCode::kParseError, "--set {}: the value before '{}' is not a mapping", arg.text, *name);
      }
      if (last) {
        node[*name] = arg.value;
        return {};
      }
      YAML::Node child = node[*name];
      if (!child.IsDefined() || child.IsNull()) node[*name] = YAML::Node(YAML::NodeType::Map);
      YAML::Node next = node[*name];
      node.reset(next);
    } else {
      const size_t index = std::get<size_t>(arg.path[i]);
      if (!node.IsSequence() || index >= node.size()) {
        return make_error(ErrorCode::kParseError, "--set {}: list index [{}] is out of range (the list has {} item(s))",
                          arg.text, index, node.IsSequence() ? node.size() : 0);
      }
      if (last) {
        node[index] = arg.value;
        return {};
      }
      YAML::Node next = node[index];
      node.reset(next);
    }
  }
  return {};
}

class Reader {
 public:
  Reader(TrainConfig& config, std::vector<SetArg> sets, fs::path base_dir)
      : config_(config), sets_(std::move(sets)), base_dir_(std::move(base_dir)) {}

  Status read(const YAML::Node& root) {
    if (!root.IsMap()) return error("", root, "the config must be a mapping of keys (data, model, ...), got {}", got(root));
    SLIPWAY_RETURN_IF_ERROR(check_keys(root, "", {"data", "features", "split", "model", "seed", "threads", "experiment",
                                                  "run_name", "output"}));
    if (auto n = root["seed"]) { SLIPWAY_ASSIGN_OR_RETURN(config_.seed, count(n, "seed")); }
    if (auto n = root["threads"]) {
      SLIPWAY_ASSIGN_OR_RETURN(uint64_t t, count(n, "threads"));
      if (t < 1 || t > 1024) return error("threads", n, "threads must be between 1 and 1024, got {}", t);
      config_.threads = static_cast<int>(t);
    }
    if (auto n = root["experiment"]) { SLIPWAY_ASSIGN_OR_RETURN(config_.experiment, text(n, "experiment")); }
    if (auto n = root["run_name"]) { SLIPWAY_ASSIGN_OR_RETURN(config_.run_name, text(n, "run_name")); }
    if (auto n = root["output"]) {
      SLIPWAY_ASSIGN_OR_RETURN(std::string out, text(n, "output"));
      config_.output = resolve_path("output", out);
    }
    YAML::Node data = root["data"];
    if (!data) return error("", root, "missing key 'data' (the table to train on: data.dataset or data.file)");
    SLIPWAY_RETURN_IF_ERROR(read_data(data));
    if (auto n = root["features"]) SLIPWAY_RETURN_IF_ERROR(read_features(n));
    if (auto n = root["split"]) SLIPWAY_RETURN_IF_ERROR(read_split(n));
    if (auto n = root["model"]) SLIPWAY_RETURN_IF_ERROR(read_model(n));
    if (config_.split.method == "stratified" && config_.model.task == model::Task::kRegression) {
      return error("split.method", root["split"]["method"],
                   "split.method stratified needs a classification target (model.task is regression)");
    }
    return {};
  }

 private:
  // ---- locations and errors ----
  const SetArg* set_for(const std::string& path) const {
    const SetArg* found = nullptr;
    for (const auto& s : sets_) {
      if (path == s.key || path.starts_with(s.key + ".") || path.starts_with(s.key + "[")) found = &s;
    }
    return found;
  }
  std::string location(const std::string& path, const YAML::Node& node) const {
    if (const SetArg* s = set_for(path)) return "--set " + s->text;
    if (node && !node.Mark().is_null()) {
      return fmt::format("{}:{}:{}", config_.source_name, node.Mark().line + 1, node.Mark().column + 1);
    }
    // A node without a position was created by a --set below it (`--set spilt.seed=3` made `spilt`).
    for (const auto& s : sets_) {
      if (s.key.starts_with(path + ".") || s.key.starts_with(path + "[")) return "--set " + s.text;
    }
    return config_.source_name;
  }
  void remember(const std::string& path, const YAML::Node& node) { config_.locations[path] = location(path, node); }

  template <typename... Args>
  Status error(const std::string& path, const YAML::Node& node, fmt::format_string<Args...> format, Args&&... args) const {
    return Status(ErrorCode::kParseError,
                  location(path, node) + ": " + fmt::format(format, std::forward<Args>(args)...));
  }

  static std::string child(const std::string& parent, const std::string& key) {
    return parent.empty() ? key : parent + "." + key;
  }

  Status check_keys(const YAML::Node& map, const std::string& path, const std::vector<std::string>& known) {
    if (!map.IsMap()) return error(path, map, "{} must be a mapping, got {}", path, got(map));
    std::set<std::string> seen;
    for (const auto& kv : map) {
      const std::string key = kv.first.Scalar();
      const std::string key_path = child(path, key);
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        std::string best;
        size_t best_d = 3;
        for (const auto& k : known) {
          const size_t d = edit_distance(key, k);
          if (d < best_d) best_d = d, best = k;
        }
        const std::string in = path.empty() ? "" : " in " + path;
        if (!best.empty()) return error(key_path, kv.first, "unknown key '{}'{} (did you mean '{}'?)", key, in, best);
        return error(key_path, kv.first, "unknown key '{}'{} (known: {})", key, in, join_list(known));
      }
      if (!seen.insert(key).second) return error(key_path, kv.first, "key '{}' is given twice", key_path);
      remember(key_path, kv.second.IsDefined() && !kv.second.Mark().is_null() ? kv.second : kv.first);
    }
    return {};
  }

  // ---- typed values ----
  Result<double> number(const YAML::Node& n, const std::string& path) {
    double v = 0;
    if (!n.IsScalar() || !table::parse_float64(n.Scalar(), &v) || !std::isfinite(v)) {
      return error(path, n, "{} must be a number, got {}", path, got(n));
    }
    return v;
  }
  Result<uint64_t> count(const YAML::Node& n, const std::string& path) {
    int64_t v = 0;
    if (!n.IsScalar() || !table::parse_int64(n.Scalar(), &v) || v < 0) {
      return error(path, n, "{} must be a non-negative integer, got {}", path, got(n));
    }
    return static_cast<uint64_t>(v);
  }
  Result<bool> boolean(const YAML::Node& n, const std::string& path) {
    bool v = false;
    if (!n.IsScalar() || !table::parse_bool(n.Scalar(), &v)) {
      return error(path, n, "{} must be true or false, got {}", path, got(n));
    }
    return v;
  }
  Result<std::string> text(const YAML::Node& n, const std::string& path) {
    if (!n.IsScalar() || n.Scalar().empty()) return error(path, n, "{} must be text, got {}", path, got(n));
    return n.Scalar();
  }
  Result<std::string> choice(const YAML::Node& n, const std::string& path, const std::vector<std::string>& allowed) {
    SLIPWAY_ASSIGN_OR_RETURN(std::string v, text(n, path));
    if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
      return error(path, n, "{} must be one of {}, got '{}'", path, join_list(allowed), v);
    }
    return v;
  }
  // A list of names; a single name is accepted as a list of one.
  Result<std::vector<std::string>> names(const YAML::Node& n, const std::string& path) {
    std::vector<std::string> out;
    if (n.IsScalar() && !n.Scalar().empty()) return std::vector<std::string>{n.Scalar()};
    if (!n.IsSequence()) return error(path, n, "{} must be a list of column names, got {}", path, got(n));
    for (size_t i = 0; i < n.size(); ++i) {
      SLIPWAY_ASSIGN_OR_RETURN(std::string s, text(n[i], fmt::format("{}[{}]", path, i)));
      if (std::find(out.begin(), out.end(), s) != out.end()) {
        return error(path, n[i], "{} lists '{}' twice", path, s);
      }
      out.push_back(std::move(s));
    }
    return out;
  }
  Result<std::vector<double>> numbers(const YAML::Node& n, const std::string& path) {
    if (!n.IsSequence()) return error(path, n, "{} must be a list of numbers, got {}", path, got(n));
    std::vector<double> out;
    for (size_t i = 0; i < n.size(); ++i) {
      SLIPWAY_ASSIGN_OR_RETURN(double v, number(n[i], fmt::format("{}[{}]", path, i)));
      out.push_back(v);
    }
    return out;
  }

  fs::path resolve_path(const std::string& path, const std::string& value) const {
    fs::path p(value);
    if (p.is_absolute()) return p;
    const fs::path base = set_for(path) != nullptr ? fs::current_path() : (base_dir_.empty() ? fs::current_path() : base_dir_);
    return (base / p).lexically_normal();
  }

  Status read_source(const YAML::Node& n, const std::string& path, DataSource& out) {
    YAML::Node dataset = n["dataset"], file = n["file"];
    if (dataset && file) {
      return error(child(path, "file"), file, "{} has both dataset and file; give one", path);
    }
    if (dataset) {
      SLIPWAY_ASSIGN_OR_RETURN(out.dataset, text(dataset, child(path, "dataset")));
    } else if (file) {
      SLIPWAY_ASSIGN_OR_RETURN(std::string f, text(file, child(path, "file")));
      out.file = resolve_path(child(path, "file"), f);
    } else {
      return error(path, n, "{} needs dataset (NAME@REF of a dataset in the store) or file (a CSV or JSON Lines path)", path);
    }
    return {};
  }

  Status read_data(const YAML::Node& n) {
    SLIPWAY_RETURN_IF_ERROR(
        check_keys(n, "data", {"dataset", "file", "target", "features", "exclude", "categorical", "join", "segment"}));
    remember("data", n);
    DataSpec& d = config_.data;
    SLIPWAY_RETURN_IF_ERROR(read_source(n, "data", d.source));
    YAML::Node target = n["target"];
    if (!target) return error("data", n, "missing key data.target (the column to predict)");
    if (target.IsMap()) {
      SLIPWAY_RETURN_IF_ERROR(check_keys(target, "data.target", {"column", "threshold"}));
      if (!target["column"]) return error("data.target", target, "data.target needs column");
      SLIPWAY_ASSIGN_OR_RETURN(d.target.column, text(target["column"], "data.target.column"));
      if (auto t = target["threshold"]) { SLIPWAY_ASSIGN_OR_RETURN(d.target.threshold, number(t, "data.target.threshold")); }
    } else if (target.IsScalar() && !target.Scalar().empty()) {
      d.target.column = target.Scalar();
    } else {
      return error("data.target", target, "data.target must be a column name or {{column: NAME, threshold: NUMBER}}, got {}",
                   got(target));
    }
    if (auto f = n["features"]) { SLIPWAY_ASSIGN_OR_RETURN(d.features, names(f, "data.features")); }
    if (auto f = n["exclude"]) { SLIPWAY_ASSIGN_OR_RETURN(d.exclude, names(f, "data.exclude")); }
    if (auto f = n["categorical"]) { SLIPWAY_ASSIGN_OR_RETURN(d.categorical, names(f, "data.categorical")); }
    if (auto f = n["segment"]) { SLIPWAY_ASSIGN_OR_RETURN(d.segment, text(f, "data.segment")); }
    if (auto j = n["join"]) {
      YAML::Node list = j;
      if (j.IsMap()) {  // one join without the list brackets
        list.reset(YAML::Node(YAML::NodeType::Sequence));
        list.push_back(j);
      }
      if (!list.IsSequence()) return error("data.join", j, "data.join must be a list of joins, got {}", got(j));
      for (size_t i = 0; i < list.size(); ++i) {
        const std::string p = fmt::format("data.join[{}]", i);
        YAML::Node item = list[i];
        SLIPWAY_RETURN_IF_ERROR(check_keys(item, p, {"dataset", "file", "on", "columns"}));
        remember(p, item);
        JoinSpec spec;
        SLIPWAY_RETURN_IF_ERROR(read_source(item, p, spec.source));
        if (!item["on"]) return error(p, item, "{} needs on (the key columns both sides share)", p);
        SLIPWAY_ASSIGN_OR_RETURN(spec.on, names(item["on"], p + ".on"));
        if (spec.on.empty()) return error(p + ".on", item["on"], "{}.on must name at least one key column", p);
        if (auto c = item["columns"]) { SLIPWAY_ASSIGN_OR_RETURN(spec.columns, names(c, p + ".columns")); }
        d.join.push_back(std::move(spec));
      }
    }
    return {};
  }

  Status read_transforms(const YAML::Node& n, const std::string& path, ColumnTransforms& t) {
    SLIPWAY_RETURN_IF_ERROR(check_keys(
        n, path, {"impute", "fill_value", "log1p", "standardize", "minmax", "clip", "bucketize", "encode"}));
    if (auto v = n["impute"]) {
      SLIPWAY_ASSIGN_OR_RETURN(std::string s, choice(v, path + ".impute", {"none", "mean", "median", "constant"}));
      t.impute = s == "none" ? Impute::kNone : s == "mean" ? Impute::kMean : s == "median" ? Impute::kMedian : Impute::kConstant;
    }
    if (auto v = n["fill_value"]) { SLIPWAY_ASSIGN_OR_RETURN(t.fill_value, number(v, path + ".fill_value")); }
    if (t.impute == Impute::kConstant && !t.fill_value) {
      return error(path + ".impute", n["impute"], "{}.impute: constant needs {}.fill_value", path, path);
    }
    if (auto v = n["log1p"]) { SLIPWAY_ASSIGN_OR_RETURN(t.log1p, boolean(v, path + ".log1p")); }
    if (auto v = n["standardize"]) { SLIPWAY_ASSIGN_OR_RETURN(t.standardize, boolean(v, path + ".standardize")); }
    if (auto v = n["minmax"]) { SLIPWAY_ASSIGN_OR_RETURN(t.minmax, boolean(v, path + ".minmax")); }
    if (t.standardize.value_or(false) && t.minmax.value_or(false)) {
      return error(path + ".minmax", n["minmax"], "{}: standardize and minmax exclude each other", path);
    }
    if (auto v = n["clip"]) {
      SLIPWAY_ASSIGN_OR_RETURN(auto c, numbers(v, path + ".clip"));
      if (c.size() != 2 || c[0] > c[1]) {
        return error(path + ".clip", v, "{}.clip must be [low, high] with low <= high, got {}", path, node_text(v));
      }
      t.clip = std::make_pair(c[0], c[1]);
    }
    if (auto v = n["bucketize"]) {
      SLIPWAY_ASSIGN_OR_RETURN(auto edges, numbers(v, path + ".bucketize"));
      if (edges.empty() || !std::is_sorted(edges.begin(), edges.end())) {
        return error(path + ".bucketize", v, "{}.bucketize must be a non-empty list of ascending edges, got {}", path,
                     node_text(v));
      }
      t.bucketize = std::move(edges);
    }
    if (auto v = n["encode"]) {
      SLIPWAY_ASSIGN_OR_RETURN(std::string s, choice(v, path + ".encode", {"onehot", "ordinal"}));
      t.encode = s == "onehot" ? Encoding::kOneHot : Encoding::kOrdinal;
    }
    return {};
  }

  Status read_features(const YAML::Node& n) {
    SLIPWAY_RETURN_IF_ERROR(check_keys(n, "features", {"default", "columns"}));
    if (auto d = n["default"]) SLIPWAY_RETURN_IF_ERROR(read_transforms(d, "features.default", config_.features.defaults));
    if (auto c = n["columns"]) {
      if (!c.IsMap()) return error("features.columns", c, "features.columns must be a mapping of column name to transforms, got {}", got(c));
      for (const auto& kv : c) {
        const std::string name = kv.first.Scalar();
        const std::string p = "features.columns." + name;
        remember(p, kv.first);
        ColumnTransforms t;
        SLIPWAY_RETURN_IF_ERROR(read_transforms(kv.second, p, t));
        config_.features.columns[name] = t;
      }
    }
    return {};
  }

  Status read_split(const YAML::Node& n) {
    SLIPWAY_RETURN_IF_ERROR(check_keys(n, "split", {"method", "train", "validation", "test", "seed", "column"}));
    SplitConfig& s = config_.split;
    if (auto v = n["method"]) { SLIPWAY_ASSIGN_OR_RETURN(s.method, choice(v, "split.method", {"random", "stratified", "group", "time"})); }
    const char* parts[] = {"train", "validation", "test"};
    double* values[] = {&s.train, &s.validation, &s.test};
    bool given[3] = {false, false, false};
    for (int i = 0; i < 3; ++i) {
      if (auto v = n[parts[i]]) {
        const std::string p = std::string("split.") + parts[i];
        SLIPWAY_ASSIGN_OR_RETURN(*values[i], number(v, p));
        if (*values[i] < 0 || *values[i] > 1) return error(p, v, "{} must be between 0 and 1, got {}", p, v.Scalar());
        given[i] = true;
      }
    }
    // Fractions not given share what the given ones leave, in the default 0.15 : 0.15 proportion
    // for validation and test (so `split.train: 0.8` alone means 0.8 / 0.1 / 0.1).
    if (given[0] && !given[1] && !given[2]) s.validation = s.test = (1 - s.train) / 2;
    if (!given[0]) s.train = 1 - (given[1] ? s.validation : 0.15) - (given[2] ? s.test : 0.15);
    if (given[0] && given[1] && !given[2]) s.test = 1 - s.train - s.validation;
    if (given[0] && given[2] && !given[1]) s.validation = 1 - s.train - s.test;
    const double sum = s.train + s.validation + s.test;
    if (std::fabs(sum - 1) > 1e-9 || s.train < 0 || s.validation < -1e-12 || s.test < -1e-12) {
      return error("split", n, "split: train + validation + test must be 1, got {:.6g} + {:.6g} + {:.6g}", s.train, s.validation, s.test);
    }
    s.validation = std::max(0.0, s.validation);
    s.test = std::max(0.0, s.test);
    if (s.train <= 0) return error("split.train", n["train"] ? n["train"] : n, "split.train must be above 0");
    if (auto v = n["seed"]) { SLIPWAY_ASSIGN_OR_RETURN(s.seed, count(v, "split.seed")); }
    if (auto v = n["column"]) { SLIPWAY_ASSIGN_OR_RETURN(s.column, text(v, "split.column")); }
    if ((s.method == "group" || s.method == "time") && s.column.empty()) {
      return error("split.method", n["method"], "split.method {} needs split.column (the {} column)", s.method,
                   s.method == "group" ? "group" : "time");
    }
    return {};
  }

  Status read_model(const YAML::Node& n) {
    SLIPWAY_RETURN_IF_ERROR(check_keys(n, "model", {"kind", "task", "params"}));
    ModelConfig& m = config_.model;
    if (auto v = n["kind"]) { SLIPWAY_ASSIGN_OR_RETURN(m.kind, choice(v, "model.kind", {"xgboost", "linear", "mlp"})); }
    if (auto v = n["task"]) {
      SLIPWAY_ASSIGN_OR_RETURN(std::string t, choice(v, "model.task", {"regression", "binary", "multiclass"}));
      m.task = t == "regression" ? model::Task::kRegression : t == "binary" ? model::Task::kBinary : model::Task::kMulticlass;
    }
    if (auto v = n["params"]) {
      if (!v.IsMap() && !v.IsNull()) return error("model.params", v, "model.params must be a mapping of parameter to value, got {}", got(v));
      if (v.IsMap()) {
        for (const auto& kv : v) remember("model.params." + kv.first.Scalar(), kv.first);
        m.params = to_json(v);
      }
    }
    return {};
  }

  TrainConfig& config_;
  std::vector<SetArg> sets_;
  fs::path base_dir_;
};

void flatten(const YAML::Node& node, const std::string& path, std::vector<std::pair<std::string, std::string>>& out) {
  if (node.IsMap()) {
    for (const auto& kv : node) flatten(kv.second, path.empty() ? kv.first.Scalar() : path + "." + kv.first.Scalar(), out);
    return;
  }
  if (node.IsSequence()) {
    const bool nested = std::any_of(node.begin(), node.end(), [](const YAML::Node& n) { return n.IsMap(); });
    if (nested) {
      for (size_t i = 0; i < node.size(); ++i) flatten(node[i], fmt::format("{}.{}", path, i), out);
      return;
    }
  }
  out.emplace_back(path, node_text(node));
}

}  // namespace

Result<TrainConfig> parse_train_config(std::string_view yaml_text, const std::string& source_name,
                                       const std::vector<std::string>& sets, const fs::path& base_dir) {
  TrainConfig config;
  config.source_name = source_name;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    return make_error(ErrorCode::kParseError, "{}:{}:{}: invalid YAML: {}", source_name, e.mark.line + 1,
                      e.mark.column + 1, e.msg);
  }
  if (!root.IsDefined() || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  std::vector<SetArg> parsed;
  for (const auto& s : sets) {
    SLIPWAY_ASSIGN_OR_RETURN(SetArg arg, parse_set(s));
    if (root.IsMap()) SLIPWAY_RETURN_IF_ERROR(apply_set(root, arg));
    parsed.push_back(std::move(arg));
  }
  Reader reader(config, std::move(parsed), base_dir);
  SLIPWAY_RETURN_IF_ERROR(reader.read(root));
  YAML::Emitter out;
  out << root;
  config.effective_yaml = std::string(out.c_str()) + "\n";
  flatten(root, "", config.flat);
  return config;
}

Result<TrainConfig> load_train_config(const fs::path& path, const std::vector<std::string>& sets) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return make_error(fs::exists(path) ? ErrorCode::kIoError : ErrorCode::kNotFound, "{}: {}", path.string(),
                      fs::exists(path) ? "cannot be read" : "no such file");
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  fs::path base = fs::absolute(path).parent_path();
  return parse_train_config(buffer.str(), path.string(), sets, base);
}

}  // namespace slipway::train
