// slipway data profile, slipway data diff.
#include <cstdio>
#include <set>

#include "data_commands.h"
#include "output.h"
#include "slipway/data/profile.h"

namespace slipway::cli {

namespace {

bool has_numbers(const data::ColumnProfile& c) { return c.mean.has_value(); }

std::string quantile(const data::ColumnProfile& c, double q) {
  for (const auto& [qq, v] : c.quantiles) {
    if (std::abs(qq - q) < 1e-9) return format_number(v);
  }
  return "-";
}

std::string value_or_dash(const std::optional<double>& v) { return v ? format_number(*v) : "-"; }

std::string render_value(const data::ColumnProfile& c, const std::optional<double>& v) {
  if (!v) return "-";
  if (c.type == table::DataType::kTimestamp) return table::format_timestamp(static_cast<int64_t>(*v)).substr(0, 19);
  return format_number(*v);
}

std::string distinct_text(const data::ColumnProfile& c) {
  return (c.distinct_exact ? "" : "~") + human_count(c.distinct);
}

std::string top_text(const data::ColumnProfile& c, size_t n) {
  std::string out;
  for (size_t i = 0; i < c.top_values.size() && i < n; ++i) {
    out += (i ? " · " : "") + (c.top_values[i].value.empty() ? "\"\"" : c.top_values[i].value) + " " +
           human_count(c.top_values[i].count);
  }
  return out.empty() ? "-" : out;
}

void print_profile(const std::string& title, const data::DatasetProfile& p) {
  std::printf("%s — %s rows, %zu columns\n\n", title.c_str(), human_count(p.row_count).c_str(), p.columns.size());
  TextTable numeric({"column", "type", "missing", "distinct", "min", "p25", "median", "p75", "max", "mean", "std"});
  TextTable categorical({"column", "type", "missing", "distinct", "length", "top values"});
  bool any_sketch = false;
  bool any_hll = false;
  for (const auto& c : p.columns) {
    std::string missing = human_count(c.missing);
    any_hll |= !c.distinct_exact;
    if (has_numbers(c) && c.type != table::DataType::kBool) {
      any_sketch |= c.quantile_rank_error > 0;
      bool ts = c.type == table::DataType::kTimestamp;
      numeric.add_row({c.name, table::data_type_name(c.type), missing, distinct_text(c), render_value(c, c.min),
                       ts ? "" : quantile(c, 0.25), ts ? "" : quantile(c, 0.5), ts ? "" : quantile(c, 0.75),
                       render_value(c, c.max), ts ? "" : value_or_dash(c.mean), ts ? "" : value_or_dash(c.stddev)});
    } else {
      std::string length =
          c.min_length && c.max_length ? fmt::format("{}..{}", *c.min_length, *c.max_length) : std::string("-");
      categorical.add_row({c.name, table::data_type_name(c.type), missing, distinct_text(c), length, top_text(c, 5)});
    }
  }
  if (!numeric.empty()) std::fputs(numeric.render({2, 3, 4, 5, 6, 7, 8, 9, 10}).c_str(), stdout);
  if (!numeric.empty() && !categorical.empty()) std::fputs("\n", stdout);
  if (!categorical.empty()) std::fputs(categorical.render({2, 3}).c_str(), stdout);
  if (any_sketch) std::fputs("\n(quantiles above 100,000 values come from a sketch; --json gives the rank error)\n", stdout);
  if (any_hll) std::fputs("(~ marks a HyperLogLog estimate, relative standard error 0.81%)\n", stdout);
}

}  // namespace

void register_profile_commands(CLI::App& data, Context& ctx, Command& run) {
  auto spec = std::make_shared<std::string>();
  auto* profile = data.add_subcommand("profile", "Per-column statistics of a version");
  profile->add_option("version", *spec, "NAME@REF")->required();
  profile->footer("Example:\n  slipway data profile flights@main\n  slipway data profile flights@q1 --json");
  add_json_flag(profile, ctx);
  profile->callback([&ctx, &run, spec] {
    run = [&ctx, spec] {
      auto r = resolve_version(ctx, *spec);
      if (!r.ok()) return report_error(r.status());
      if (ctx.json) {
        print_json({{"version", r->id}, {"dataset", r->manifest.dataset}, {"profile", data::to_json(r->manifest.profile)}});
      } else {
        print_profile(fmt::format("{} ({})", *spec, short_id(r->id)), r->manifest.profile);
      }
      return kExitOk;
    };
  });

  auto a_spec = std::make_shared<std::string>();
  auto b_spec = std::make_shared<std::string>();
  auto* diff = data.add_subcommand("diff", "Files, row counts, schema and statistics of two versions side by side");
  diff->add_option("a", *a_spec, "NAME@REF")->required();
  diff->add_option("b", *b_spec, "NAME@REF")->required();
  diff->footer("Example:\n  slipway data diff flights@q1 flights@q2");
  add_json_flag(diff, ctx);
  diff->callback([&ctx, &run, a_spec, b_spec] {
    run = [&ctx, a_spec, b_spec] {
      auto a = resolve_version(ctx, *a_spec);
      if (!a.ok()) return report_error(a.status());
      auto b = resolve_version(ctx, *b_spec);
      if (!b.ok()) return report_error(b.status());
      const auto& ma = a->manifest;
      const auto& mb = b->manifest;
      // Files by name: added, removed, changed (different bytes), unchanged.
      nlohmann::json files = nlohmann::json::array();
      std::map<std::string, const data::FileEntry*> fa, fb;
      for (const auto& f : ma.files) fa[f.name] = &f;
      for (const auto& f : mb.files) fb[f.name] = &f;
      std::set<std::string> names;
      for (const auto& [n, _] : fa) names.insert(n);
      for (const auto& [n, _] : fb) names.insert(n);
      for (const auto& n : names) {
        auto ia = fa.find(n);
        auto ib = fb.find(n);
        // Same bytes: the same content id, or (a format-1 and a format-2 manifest, whose ids are
        // computed differently) the same chunk list.
        auto same = [](const data::FileEntry& x, const data::FileEntry& y) {
          if (x.sha256 == y.sha256) return true;
          if (x.size != y.size || x.chunks.size() != y.chunks.size() || x.chunks.empty()) return false;
          for (size_t i = 0; i < x.chunks.size(); ++i) {
            if (x.chunks[i].id != y.chunks[i].id || x.chunks[i].size != y.chunks[i].size) return false;
          }
          return true;
        };
        std::string change = ia == fa.end() ? "added" : ib == fb.end() ? "removed"
                             : same(*ia->second, *ib->second) ? "unchanged" : "changed";
        files.push_back({{"name", n}, {"change", change},
                         {"size_a", ia == fa.end() ? nlohmann::json(nullptr) : nlohmann::json(ia->second->size)},
                         {"size_b", ib == fb.end() ? nlohmann::json(nullptr) : nlohmann::json(ib->second->size)}});
      }
      nlohmann::json columns = nlohmann::json::array();
      auto stat = [](const data::ColumnProfile* c, auto get) -> nlohmann::json {
        if (c == nullptr) return nullptr;
        auto v = get(*c);
        return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
      };
      TextTable t({"column", "type", "missing a → b", "distinct a → b", "mean a → b", "std a → b", "min a → b", "max a → b"});
      std::vector<std::string> ordered;
      for (const auto& c : ma.schema.columns) ordered.push_back(c.name);
      for (const auto& c : mb.schema.columns) {
        if (!ma.profile.find(c.name)) ordered.push_back(c.name);
      }
      for (const auto& n : ordered) {
        const auto* ca = ma.profile.find(n);
        const auto* cb = mb.profile.find(n);
        std::string type = ca && cb ? (ca->type == cb->type ? table::data_type_name(ca->type)
                                                            : fmt::format("{} → {}", table::data_type_name(ca->type), table::data_type_name(cb->type)))
                           : ca ? fmt::format("{} (removed)", table::data_type_name(ca->type))
                                : fmt::format("{} (added)", table::data_type_name(cb->type));
        auto pair = [&](auto get) {
          auto va = ca ? get(*ca) : std::optional<double>{};
          auto vb = cb ? get(*cb) : std::optional<double>{};
          return fmt::format("{} → {}", va ? format_number(*va) : "-", vb ? format_number(*vb) : "-");
        };
        auto missing = [](const data::ColumnProfile& c) { return std::optional<double>(static_cast<double>(c.missing)); };
        auto distinct = [](const data::ColumnProfile& c) { return std::optional<double>(static_cast<double>(c.distinct)); };
        auto mean = [](const data::ColumnProfile& c) { return c.mean; };
        auto sd = [](const data::ColumnProfile& c) { return c.stddev; };
        auto mn = [](const data::ColumnProfile& c) { return c.min; };
        auto mx = [](const data::ColumnProfile& c) { return c.max; };
        t.add_row({n, type, pair(missing), pair(distinct), pair(mean), pair(sd), pair(mn), pair(mx)});
        columns.push_back({{"name", n},
                           {"type_a", ca ? nlohmann::json(table::data_type_name(ca->type)) : nlohmann::json(nullptr)},
                           {"type_b", cb ? nlohmann::json(table::data_type_name(cb->type)) : nlohmann::json(nullptr)},
                           {"missing", {stat(ca, missing), stat(cb, missing)}},
                           {"distinct", {stat(ca, distinct), stat(cb, distinct)}},
                           {"mean", {stat(ca, mean), stat(cb, mean)}},
                           {"stddev", {stat(ca, sd), stat(cb, sd)}},
                           {"min", {stat(ca, mn), stat(cb, mn)}},
                           {"max", {stat(ca, mx), stat(cb, mx)}}});
      }
      if (ctx.json) {
        print_json({{"a", {{"spec", *a_spec}, {"version", a->id}, {"rows", ma.rows}, {"bytes", ma.bytes}}},
                    {"b", {{"spec", *b_spec}, {"version", b->id}, {"rows", mb.rows}, {"bytes", mb.bytes}}},
                    {"files", files},
                    {"columns", columns}});
        return kExitOk;
      }
      std::printf("a  %s  %s  %s rows  %s\n", a_spec->c_str(), short_id(a->id).c_str(), human_count(ma.rows).c_str(), human_bytes(ma.bytes).c_str());
      std::printf("b  %s  %s  %s rows  %s\n", b_spec->c_str(), short_id(b->id).c_str(), human_count(mb.rows).c_str(), human_bytes(mb.bytes).c_str());
      int64_t delta = static_cast<int64_t>(mb.rows) - static_cast<int64_t>(ma.rows);
      std::printf("rows %+lld\n\nfiles\n", static_cast<long long>(delta));
      for (const auto& f : files) {
        std::printf("  %-9s %s\n", f["change"].get<std::string>().c_str(), f["name"].get<std::string>().c_str());
      }
      std::printf("\ncolumns\n");
      std::fputs(t.render().c_str(), stdout);
      return kExitOk;
    };
  });
}

}  // namespace slipway::cli
