// Shared pieces of the `slipway data` commands.
#pragma once

#include <memory>
#include <string>

#include "context.h"
#include "slipway/data/dataset.h"

namespace slipway::cli {

struct ResolvedVersion {
  std::unique_ptr<store::Store> store;
  std::string id;
  data::VersionManifest manifest;
};

// Opens the store and resolves NAME@REF to a loaded manifest.
Result<ResolvedVersion> resolve_version(Context& ctx, const std::string& spec);

void register_profile_commands(CLI::App& data, Context& ctx, Command& run);   // profile, diff
void register_validate_commands(CLI::App& data, Context& ctx, Command& run);  // schema infer, validate, compare
void register_version_commands(CLI::App& data, Context& ctx, Command& run);   // checkout, branch, tag, hash

}  // namespace slipway::cli
