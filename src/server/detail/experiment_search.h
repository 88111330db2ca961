// MLflow's search_experiments over the experiment list: a filter of comparisons joined by AND on
// `name` (=, !=, LIKE, ILIKE) and `tags.KEY` / tags."KEY" (=, !=, LIKE, ILIKE), an order
// (name, experiment_id, creation_time, last_update_time; ASC or DESC; default creation_time DESC
// then experiment_id), and pages of max_results with an opaque page token.
#pragma once

#include <string>
#include <vector>

#include "slipway/core/status.h"
#include "slipway/track/tracking.h"

namespace slipway::server::detail {

struct ExperimentSearch {
  std::string filter;
  std::vector<std::string> order_by;
  size_t max_results = 1000;
  std::string page_token;
};

struct ExperimentPage {
  std::vector<track::Experiment> experiments;
  std::string next_page_token;
};

Result<ExperimentPage> search_experiments(std::vector<track::Experiment> all, const ExperimentSearch& search);

// SQL LIKE: '%' any run of characters, '_' one character; `fold_case` for ILIKE.
bool like_match(std::string_view text, std::string_view pattern, bool fold_case);

}  // namespace slipway::server::detail
