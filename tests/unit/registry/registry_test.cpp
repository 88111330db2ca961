// Registering versions (from bundle files, runs and MLflow sources), numbering, resolution of
// NAME / NAME/N / NAME@ALIAS, aliases, archive, descriptions and tags, and the audit trail.
#include <cmath>

#include "registry_test_util.h"

namespace slipway::registry {
namespace {

TEST(ModelSpec, ParsesTheThreeForms) {
  auto alias = parse_model_spec("churn@champion");
  ASSERT_TRUE(alias.ok());
  EXPECT_EQ(alias->name, "churn");
  EXPECT_EQ(alias->alias, "champion");
  EXPECT_FALSE(alias->version);
  auto version = parse_model_spec("churn/12");
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(version->name, "churn");
  EXPECT_EQ(version->version, 12);
  auto latest = parse_model_spec("churn");
  ASSERT_TRUE(latest.ok());
  EXPECT_FALSE(latest->version);
  EXPECT_FALSE(latest->alias);
  auto explicit_latest = parse_model_spec("churn@latest");
  ASSERT_TRUE(explicit_latest.ok());
  EXPECT_FALSE(explicit_latest->alias);
  EXPECT_EQ(spec_text(*version), "churn/12");
  EXPECT_EQ(spec_text(*alias), "churn@champion");
}

TEST(ModelSpec, ErrorsNameThePart) {
  EXPECT_EQ(parse_model_spec("churn/x").status().message(), "model version 'x' in 'churn/x' is not a positive integer");
  EXPECT_EQ(parse_model_spec("churn/0").status().message(), "model version '0' in 'churn/0' is not a positive integer");
  EXPECT_EQ(parse_model_spec("churn/").status().message(), "model version '' in 'churn/' is not a positive integer");
  EXPECT_EQ(parse_model_spec("churn@a b").status().message(),
            "in 'churn@a b': invalid alias 'a b': aliases may contain only letters, digits, '_' and '-'");
  EXPECT_EQ(parse_model_spec("churn@").status().message(), "in 'churn@': alias must not be empty");
  EXPECT_EQ(parse_model_spec("@champion").status().message(), "in '@champion': model name must not be empty");
  EXPECT_EQ(parse_model_spec("").status().message(), "model name must not be empty");
  EXPECT_EQ(parse_model_spec("churn@v3").status().message(),
            "in 'churn@v3': invalid alias 'v3': aliases of the form v<number> are reserved for versions");
  EXPECT_EQ(parse_model_spec("churn@x").status().code(), ErrorCode::kOk);
  EXPECT_EQ(validate_alias("latest").message(),
            "invalid alias 'latest': it is reserved (NAME@latest means the latest version that is not archived)");
  EXPECT_EQ(validate_model_name(" churn").message(),
            "invalid model name ' churn': names must not start or end with a space");
}

TEST_F(RegistryTest, RegisteringABundleNumbersVersionsAndKeepsTheSignature) {
  ModelVersion v1 = register_file("churn");
  ModelVersion v2 = register_file("churn");
  EXPECT_EQ(v1.version, 1);
  EXPECT_EQ(v2.version, 2);
  EXPECT_EQ(v1.bundle_object_id, v2.bundle_object_id);  // same bytes, one object
  EXPECT_TRUE(store_->objects().contains(v1.bundle_object_id));
  EXPECT_EQ(v1.source, kLinearBundle.string());
  EXPECT_EQ(v1.user, "alice");
  EXPECT_EQ(v1.signature.task, "binary");
  EXPECT_FALSE(v1.signature.inputs.empty());
  EXPECT_EQ(v1.signature.outputs, std::vector<std::string>{"probability"});

  auto model = registry_->get_model("churn");
  ASSERT_TRUE(model.ok());
  EXPECT_EQ(model->latest_version, 2);
  EXPECT_EQ(model->version_count, 2);

  auto latest = registry_->resolve("churn");
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->version, 2);
  EXPECT_EQ(latest->bundle_object_id, v2.bundle_object_id);
  EXPECT_EQ(registry_->resolve("churn/1")->version, 1);
  EXPECT_EQ(registry_->resolve("churn@latest")->version, 2);

  // The bundle loads back through the registry.
  auto loaded = registry_->load_model(*latest);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->task, model::Task::kBinary);
}

TEST_F(RegistryTest, ResolveErrorsNameWhatIsMissing) {
  EXPECT_EQ(registry_->resolve("churn").status().message(), "registered model 'churn' not found");
  EXPECT_EQ(registry_->resolve("churn").status().code(), ErrorCode::kNotFound);
  register_file("churn");
  EXPECT_EQ(registry_->resolve("churn/7").status().message(), "model version churn/7 not found");
  EXPECT_EQ(registry_->resolve("churn@champion").status().message(), "model 'churn' has no alias 'champion'");
  EXPECT_EQ(registry_->resolve("churn/x").status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(RegistryTest, VersionNumbersAreNeverReused) {
  register_file("churn");
  register_file("churn");
  ASSERT_OK(registry_->delete_version("churn", 2, alice()));
  EXPECT_EQ(register_file("churn").version, 3);
  EXPECT_EQ(registry_->get_version("churn", 2).status().message(), "model version churn/2 not found");
}

TEST_F(RegistryTest, RegisteringARunTakesItsModelMetricsAndInputs) {
  track::CreateRunRequest request;
  request.run_name = "train";
  auto run = tracking_->create_run(request);
  ASSERT_TRUE(run.ok());
  auto bytes = read_file(kLinearBundle);
  ASSERT_TRUE(bytes.ok());
  auto put = store_->objects().put(*bytes);
  ASSERT_TRUE(put.ok());

  EXPECT_EQ(registry_->version_from_run(run->run_id).status().message(),
            "run " + run->run_id +
                " has no output model (only runs of `slipway train` record one); register a bundle file instead");

  ASSERT_OK(tracking_->set_output_model(run->run_id, put->id));
  ASSERT_OK(tracking_->log_metric(run->run_id, {"test-auc", 0.91, 1000, 3}));
  ASSERT_OK(tracking_->log_metric(run->run_id, {"odd", std::nan(""), 1000, 0}));
  ASSERT_OK(tracking_->log_inputs(run->run_id, {{"flights", std::string(64, 'a'), "training"}}));

  auto v = registry_->version_from_run(run->run_id.substr(0, 8));  // an abbreviated id works
  ASSERT_TRUE(v.ok()) << v.status().message();
  v->name = "churn";
  auto created = registry_->register_version(*v, alice());
  ASSERT_TRUE(created.ok()) << created.status().message();
  EXPECT_EQ(created->source, "runs:/" + run->run_id);
  EXPECT_EQ(created->run_id, run->run_id);
  EXPECT_EQ(created->bundle_object_id, put->id);
  EXPECT_DOUBLE_EQ(created->metrics.at("test-auc"), 0.91);
  EXPECT_TRUE(std::isnan(created->metrics.at("odd")));
  bool found = false;
  for (const auto& d : created->datasets) {
    if (d.dataset == "flights" && d.version_id == std::string(64, 'a') && d.context == "training") found = true;
  }
  EXPECT_TRUE(found);

  // Searching by run finds it.
  SearchVersionsRequest search;
  search.run_id = run->run_id;
  auto page = registry_->search_versions(search);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->versions.size(), 1u);
  EXPECT_EQ(page->versions[0].version, 1);
}

TEST_F(RegistryTest, MlflowSourcesMapToTheRunsOutputModel) {
  auto with_model = tracking_->create_run({});
  auto without = tracking_->create_run({});
  ASSERT_TRUE(with_model.ok() && without.ok());
  auto put = store_->objects().put(*read_file(kLinearBundle));
  ASSERT_OK(tracking_->set_output_model(with_model->run_id, put->id));
  ASSERT_TRUE(registry_->create_model("churn", "", {}, alice()).ok());

  auto a = registry_->version_from_mlflow_source("runs:/" + with_model->run_id + "/model", std::nullopt);
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->bundle_object_id, put->id);
  EXPECT_EQ(a->run_id, with_model->run_id);
  EXPECT_EQ(a->source, "runs:/" + with_model->run_id + "/model");

  auto b = registry_->version_from_mlflow_source("mlflow-artifacts:/0/" + with_model->run_id + "/artifacts/model",
                                                 std::nullopt);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->bundle_object_id, put->id);

  auto c = registry_->version_from_mlflow_source("s3://bucket/model", without->run_id);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->bundle_object_id.empty());
  EXPECT_EQ(c->run_id, without->run_id);
  c->name = "churn";
  auto created = registry_->register_version(*c, alice());
  ASSERT_TRUE(created.ok()) << created.status().message();
  auto ref = registry_->resolve("churn/1");
  ASSERT_TRUE(ref.ok());
  EXPECT_TRUE(ref->bundle_object_id.empty());
  EXPECT_EQ(registry_->load_model(*ref).status().message(),
            "model version churn/1 has no model bundle (it was registered from a source slipway cannot load); "
            "register a bundle with `slipway models register RUN|BUNDLE.slw --name churn`");

  auto d = registry_->version_from_mlflow_source("/some/path", std::nullopt);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->run_id);
}

TEST_F(RegistryTest, AliasesMoveAndResolve) {
  register_file("churn", {"champion"});
  register_file("churn");
  EXPECT_EQ(registry_->resolve("churn@champion")->version, 1);
  ASSERT_OK(registry_->set_alias("churn", "champion", 2, alice("better auc")));
  ASSERT_OK(registry_->set_alias("churn", "challenger", 1, alice()));
  EXPECT_EQ(registry_->resolve("churn@champion")->version, 2);
  auto model = registry_->get_model("churn");
  ASSERT_TRUE(model.ok());
  EXPECT_EQ(model->aliases, (std::map<std::string, int64_t>{{"challenger", 1}, {"champion", 2}}));
  EXPECT_EQ(registry_->get_version("churn", 2)->aliases, std::vector<std::string>{"champion"});

  EXPECT_EQ(registry_->set_alias("churn", "champion", 9, alice()).message(), "model version churn/9 not found");
  EXPECT_EQ(registry_->set_alias("nope", "champion", 1, alice()).message(), "registered model 'nope' not found");
  EXPECT_EQ(registry_->set_alias("churn", "bad alias", 1, alice()).message(),
            "invalid alias 'bad alias': aliases may contain only letters, digits, '_' and '-'");

  ASSERT_OK(registry_->delete_alias("churn", "challenger", alice()));
  EXPECT_EQ(registry_->delete_alias("churn", "challenger", alice()).message(), "model 'churn' has no alias 'challenger'");
  // Deleting a version removes its aliases.
  ASSERT_OK(registry_->delete_version("churn", 2, alice()));
  EXPECT_EQ(registry_->resolve("churn@champion").status().message(), "model 'churn' has no alias 'champion'");
}

TEST_F(RegistryTest, ArchivedVersionsAreSkippedByTheBareName) {
  register_file("churn");
  register_file("churn", {"champion"});
  ASSERT_OK(registry_->archive_version("churn", 2, alice()));
  EXPECT_EQ(registry_->archive_version("churn", 2, alice()).message(), "model version churn/2 is already archived");
  EXPECT_EQ(registry_->resolve("churn")->version, 1);
  EXPECT_EQ(registry_->resolve("churn/2")->version, 2);           // still there by number
  EXPECT_EQ(registry_->resolve("churn@champion")->version, 2);    // and through its alias
  EXPECT_TRUE(registry_->get_version("churn", 2)->archived);
  ASSERT_OK(registry_->archive_version("churn", 1, alice()));
  EXPECT_EQ(registry_->resolve("churn").status().message(), "model 'churn' has no version that is not archived");
  ASSERT_OK(registry_->unarchive_version("churn", 2, alice()));
  EXPECT_EQ(registry_->resolve("churn")->version, 2);
  EXPECT_EQ(registry_->unarchive_version("churn", 2, alice()).message(), "model version churn/2 is not archived");

  SearchVersionsRequest search;
  search.name = "churn";
  search.include_archived = false;
  auto page = registry_->search_versions(search);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->versions.size(), 1u);
  EXPECT_EQ(page->versions[0].version, 2);
}

TEST_F(RegistryTest, DescriptionsTagsAndRename) {
  ASSERT_TRUE(registry_->create_model("churn", "first", {{"team", "growth"}}, alice()).ok());
  EXPECT_EQ(registry_->create_model("churn", "", {}, alice()).status().message(),
            "registered model 'churn' already exists");
  register_file("churn");
  ASSERT_OK(registry_->set_model_description("churn", "30-day churn", alice()));
  ASSERT_OK(registry_->set_model_tag("churn", "owner", "bob", alice()));
  ASSERT_OK(registry_->delete_model_tag("churn", "team", alice()));
  EXPECT_EQ(registry_->delete_model_tag("churn", "team", alice()).message(),
            "registered model 'churn' has no tag 'team'");
  ASSERT_OK(registry_->set_version_description("churn", 1, "baseline", alice()));
  ASSERT_OK(registry_->set_version_tag("churn", 1, "validated", "yes", alice()));
  EXPECT_EQ(registry_->set_version_tag("churn", 1, "", "x", alice()).message(), "tag key must not be empty");
  auto m = registry_->get_model("churn");
  EXPECT_EQ(m->description, "30-day churn");
  EXPECT_EQ(m->tags, (std::map<std::string, std::string>{{"owner", "bob"}}));
  auto v = registry_->get_version("churn", 1);
  EXPECT_EQ(v->description, "baseline");
  EXPECT_EQ(v->tags.at("validated"), "yes");

  ASSERT_OK(registry_->rename_model("churn", "churn-30d", alice()));
  EXPECT_EQ(registry_->resolve("churn-30d/1")->version, 1);
  EXPECT_EQ(registry_->resolve("churn").status().message(), "registered model 'churn' not found");
  ASSERT_TRUE(registry_->create_model("other", "", {}, alice()).ok());
  EXPECT_EQ(registry_->rename_model("other", "churn-30d", alice()).message(),
            "registered model 'churn-30d' already exists");
  EXPECT_EQ(registry_->rename_model("other", "a/b", alice()).message(),
            "invalid model name 'a/b': names must not contain '/' or '@' (they separate the version and the alias: "
            "NAME/N, NAME@ALIAS)");
}

TEST_F(RegistryTest, SearchModelsPages) {
  for (const char* name : {"a1", "a2", "a3", "b1"}) ASSERT_TRUE(registry_->create_model(name, "", {}, alice()).ok());
  SearchModelsRequest request;
  request.name_like = "a%";
  request.max_results = 2;
  auto first = registry_->search_models(request);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->models.size(), 2u);
  EXPECT_EQ(first->models[0].name, "a1");
  ASSERT_FALSE(first->next_page_token.empty());
  request.page_token = first->next_page_token;
  auto second = registry_->search_models(request);
  ASSERT_EQ(second->models.size(), 1u);
  EXPECT_EQ(second->models[0].name, "a3");
  EXPECT_TRUE(second->next_page_token.empty());
  request.page_token = "zz";
  EXPECT_EQ(registry_->search_models(request).status().message(), "invalid page token 'zz'");
}

TEST_F(RegistryTest, EveryChangeIsAudited) {
  register_file("churn", {"champion"});
  register_file("churn");
  ASSERT_OK(registry_->set_alias("churn", "champion", 2, {"bob", "v2 beats v1 on AUC"}));
  ASSERT_OK(registry_->archive_version("churn", 1, alice("superseded")));
  ASSERT_OK(registry_->set_model_description("churn", "d", alice()));
  ASSERT_OK(registry_->rename_model("churn", "churn2", alice()));
  ASSERT_OK(registry_->delete_model("churn2", alice("cleanup")));

  auto history = registry_->history("churn");
  ASSERT_TRUE(history.ok()) << history.status().message();
  std::vector<std::string> actions;
  for (const auto& e : *history) actions.push_back(e.action);
  EXPECT_EQ(actions, (std::vector<std::string>{"create", "register", "alias", "register", "alias", "archive", "update",
                                               "rename", "delete"}));
  const AuditEntry& move = (*history)[4];
  EXPECT_EQ(move.user, "bob");
  EXPECT_EQ(move.reason, "v2 beats v1 on AUC");
  EXPECT_EQ(move.detail, "champion: 1 -> 2");
  EXPECT_EQ(move.version, 2);
  EXPECT_EQ((*history)[2].detail, "champion -> 1");
  EXPECT_EQ((*history)[5].reason, "superseded");
  EXPECT_EQ((*history)[7].detail, "churn -> churn2");
  EXPECT_EQ((*history)[8].detail, "2 version(s) deleted");
  EXPECT_GT((*history)[0].time_ms, 0);
  // The same trail under the later name; a model that never existed has none.
  EXPECT_EQ(registry_->history("churn2")->size(), history->size());
  EXPECT_EQ(registry_->history("nope").status().message(), "registered model 'nope' not found");

  // A new model under the old name starts versions at 1 again and extends the trail.
  EXPECT_EQ(register_file("churn").version, 1);
  EXPECT_EQ(registry_->history("churn")->size(), history->size() + 2);
}

}  // namespace
}  // namespace slipway::registry
