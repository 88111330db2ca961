#include "context.h"

namespace slipway::cli {

void register_train_commands(CLI::App& app, Context& ctx, Command& run) {
  (void)app;
  (void)ctx;
  (void)run;
}

}  // namespace slipway::cli
