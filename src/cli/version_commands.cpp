// slipway data checkout, branch, tag, hash.
#include <cstdio>

#include "data_commands.h"
#include "output.h"
#include "slipway/data/ingest.h"

namespace slipway::cli {

void register_version_commands(CLI::App& data, Context& ctx, Command& run) {
  struct CheckoutArgs {
    std::string spec;
    std::string out;
  };
  auto co = std::make_shared<CheckoutArgs>();
  auto* checkout = data.add_subcommand("checkout", "Restore a version's original files, byte for byte (verified)");
  checkout->add_option("version", co->spec, "NAME@REF")->required();
  checkout->add_option("-o,--output", co->out, "Folder to write the files into")->required();
  checkout->footer("Example:\n  slipway data checkout flights@q1 -o restored/");
  add_json_flag(checkout, ctx);
  checkout->callback([&ctx, &run, co] {
    run = [&ctx, co] {
      auto r = resolve_version(ctx, co->spec);
      if (!r.ok()) return report_error(r.status());
      data::Datasets datasets(*r->store);
      Status st = datasets.checkout(r->id, co->out);
      if (!st.ok()) return report_error(st);
      if (ctx.json) {
        nlohmann::json files = nlohmann::json::array();
        // The file's content id under the manifest's own name for it (format 2 "id", format 1 "sha256").
        const char* id_key = r->manifest.format_version >= 2 ? "id" : "sha256";
        for (const auto& f : r->manifest.files) files.push_back({{"name", f.name}, {"size", f.size}, {id_key, f.sha256}});
        print_json({{"version", r->id}, {"output", co->out}, {"files", files}});
      } else {
        for (const auto& f : r->manifest.files) {
          std::printf("%s  %s  %s\n", f.sha256.c_str(), human_bytes(f.size).c_str(),
                      (std::filesystem::path(co->out) / f.name).string().c_str());
        }
        std::printf("restored %zu file(s) of %s (%s), verified\n", r->manifest.files.size(), co->spec.c_str(),
                    short_id(r->id).c_str());
      }
      return kExitOk;
    };
  });

  struct RefArgs {
    std::string dataset;
    std::string name;
    std::string from;
  };
  auto br = std::make_shared<RefArgs>();
  auto* branch = data.add_subcommand("branch", "Create a branch of a dataset (at main, or --from REF)");
  branch->add_option("dataset", br->dataset, "Dataset name")->required();
  branch->add_option("branch", br->name, "New branch name")->required();
  branch->add_option("--from", br->from, "Ref or version id to branch from (default main)");
  branch->footer("Example:\n  slipway data branch flights cleanup --from q1");
  add_json_flag(branch, ctx);
  branch->callback([&ctx, &run, br] {
    run = [&ctx, br] {
      auto store = ctx.open_store();
      if (!store.ok()) return report_error(store.status());
      data::Datasets datasets(**store);
      std::string from = br->dataset + "@" + (br->from.empty() ? "main" : br->from);
      Status st = datasets.create_branch(br->dataset, br->name, from);
      if (!st.ok()) return report_error(st);
      auto id = datasets.resolve(br->dataset + "@" + br->name);
      if (!id.ok()) return report_error(id.status());
      if (ctx.json) {
        print_json({{"dataset", br->dataset}, {"branch", br->name}, {"version", *id}});
      } else {
        std::printf("branch %s@%s created at %s\n", br->dataset.c_str(), br->name.c_str(), short_id(*id).c_str());
      }
      return kExitOk;
    };
  });

  auto tg = std::make_shared<RefArgs>();
  auto* tag = data.add_subcommand("tag", "Name a version with a tag that never moves");
  tag->add_option("dataset", tg->dataset, "Dataset name")->required();
  tag->add_option("tag", tg->name, "Tag name")->required();
  tag->add_option("ref", tg->from, "Ref or version id to tag (default main)");
  tag->footer("Example:\n  slipway data tag flights q1\n  slipway data tag flights v1.0 3fa2b1c0");
  add_json_flag(tag, ctx);
  tag->callback([&ctx, &run, tg] {
    run = [&ctx, tg] {
      auto store = ctx.open_store();
      if (!store.ok()) return report_error(store.status());
      data::Datasets datasets(**store);
      std::string spec = tg->dataset + "@" + (tg->from.empty() ? "main" : tg->from);
      Status st = datasets.create_tag(tg->dataset, tg->name, spec);
      if (!st.ok()) return report_error(st);
      auto id = datasets.resolve(tg->dataset + "@" + tg->name);
      if (!id.ok()) return report_error(id.status());
      if (ctx.json) {
        print_json({{"dataset", tg->dataset}, {"tag", tg->name}, {"version", *id}});
      } else {
        std::printf("tag %s@%s → %s\n", tg->dataset.c_str(), tg->name.c_str(), short_id(*id).c_str());
      }
      return kExitOk;
    };
  });

  auto hash_path = std::make_shared<std::string>();
  auto* hash = data.add_subcommand("hash", "Content id and content-defined chunks of a file (no store needed)");
  // The id is the one a version records for the file (manifest format 2: the SHA-256 of its chunk
  // list, docs/formats.md); each chunk id is the SHA-256 of the chunk's bytes.
  hash->add_option("file", *hash_path, "File to hash")->required();
  hash->footer("Example:\n  slipway data hash flights.csv\n  slipway data hash big.csv --json | jq .chunks");
  add_json_flag(hash, ctx);
  hash->callback([&ctx, &run, hash_path] {
    run = [&ctx, hash_path] {
      auto h = data::hash_file(*hash_path);
      if (!h.ok()) return report_error(h.status());
      double gbps = h->seconds > 0 ? static_cast<double>(h->size) / h->seconds / 1e9 : 0;
      if (ctx.json) {
        nlohmann::json chunks = nlohmann::json::array();
        for (const auto& c : h->chunks) chunks.push_back({{"id", c.id}, {"size", c.size}});
        print_json({{"file", *hash_path}, {"id", h->sha256}, {"size", h->size}, {"chunks", chunks},
                    {"seconds", h->seconds}, {"gb_per_s", gbps}});
      } else {
        std::printf("%s  %s\n", h->sha256.c_str(), hash_path->c_str());
        std::printf("%s in %s chunks, %.2f GB/s\n", human_bytes(h->size).c_str(), human_count(h->chunks.size()).c_str(), gbps);
      }
      return kExitOk;
    };
  });
}

}  // namespace slipway::cli
