#include "slipway/table/infer.h"

#include <gtest/gtest.h>

#include "table_test_util.h"

namespace slipway::table {
namespace {

Result<std::vector<InferredColumn>> infer(std::string_view csv, const TableSchema* fixed = nullptr,
                                          size_t batch_rows = 1000) {
  SLIPWAY_ASSIGN_OR_RETURN(auto reader, open_csv_buffer(csv, "mem.csv", {}));
  TypeInferrer inferrer(reader->column_names(), reader->source_name(), fixed);
  RecordBatch batch;
  for (;;) {
    SLIPWAY_ASSIGN_OR_RETURN(bool more, reader->next(batch, batch_rows));
    if (!more) break;
    inferrer.add(batch);
  }
  return inferrer.finish();
}

TEST(InferTest, PicksTheNarrowestTypeEveryValueParsesAs) {
  auto cols = infer(
      "b,i,f,t,s,mixed,empty\n"
      "true,1,1.5,2013-01-01,x,1,\n"
      "False,-20,3,2013-01-01T10:00:00Z,y,2013-01-01,NA\n"
      ",7,,2013-01-02 05:00:00,,true,\n");
  ASSERT_TRUE(cols.ok()) << cols.status().message();
  ASSERT_EQ(cols->size(), 7u);
  const auto& c = *cols;
  EXPECT_EQ(c[0].spec.type, DataType::kBool);
  EXPECT_TRUE(c[0].spec.nullable);
  EXPECT_EQ(c[0].missing, 1u);
  EXPECT_EQ(c[0].non_missing, 2u);
  EXPECT_FALSE(c[0].min.has_value());
  EXPECT_EQ(c[1].spec.type, DataType::kInt64);
  EXPECT_FALSE(c[1].spec.nullable);
  EXPECT_EQ(c[1].min, -20.0);
  EXPECT_EQ(c[1].max, 7.0);
  EXPECT_EQ(c[2].spec.type, DataType::kFloat64);
  EXPECT_EQ(c[2].min, 1.5);
  EXPECT_EQ(c[2].max, 3.0);
  EXPECT_EQ(c[3].spec.type, DataType::kTimestamp);
  EXPECT_EQ(c[3].min, 1356998400.0 * 1e6);
  EXPECT_EQ(c[3].max, 1357102800.0 * 1e6);
  EXPECT_EQ(c[4].spec.type, DataType::kString);
  EXPECT_EQ(c[5].spec.type, DataType::kString);
  EXPECT_EQ(c[6].spec.type, DataType::kString);  // nothing but missing values
  EXPECT_EQ(c[6].missing, 3u);
}

TEST(InferTest, IntsThenFloatsWidenAndKeepTheRange) {
  auto cols = infer("x\n5\n-3\n2.5\n", nullptr, 1);
  ASSERT_TRUE(cols.ok());
  EXPECT_EQ((*cols)[0].spec.type, DataType::kFloat64);
  EXPECT_EQ((*cols)[0].min, -3.0);
  EXPECT_EQ((*cols)[0].max, 5.0);
}

TEST(InferTest, MergeEqualsOnePass) {
  std::string text = "a,b\n";
  for (int i = 0; i < 100; ++i) text += std::to_string(i) + "," + (i == 70 ? "x" : std::to_string(i * 0.5)) + "\n";
  auto whole = infer(text);
  ASSERT_TRUE(whole.ok());
  auto splits = csv_split_points(text, 4, {});
  std::vector<std::string> names = {"a", "b"};
  TypeInferrer merged(names, "mem.csv");
  for (size_t i = 0; i < splits.size(); ++i) {
    size_t end = i + 1 < splits.size() ? splits[i + 1].offset : text.size();
    auto reader = open_csv_buffer(std::string_view(text).substr(splits[i].offset, end - splits[i].offset), "mem.csv",
                                  {}, &names, splits[i].first_line, splits[i].first_row);
    ASSERT_TRUE(reader.ok());
    TypeInferrer part(names, "mem.csv");
    RecordBatch batch;
    while (*(*reader)->next(batch, 1000)) part.add(batch);
    merged.merge(part);
  }
  EXPECT_EQ(merged.rows(), 100u);
  auto m = merged.finish();
  ASSERT_TRUE(m.ok());
  for (size_t c = 0; c < 2; ++c) {
    EXPECT_EQ((*m)[c].spec.type, (*whole)[c].spec.type);
    EXPECT_EQ((*m)[c].min, (*whole)[c].min);
    EXPECT_EQ((*m)[c].max, (*whole)[c].max);
    EXPECT_EQ((*m)[c].non_missing, (*whole)[c].non_missing);
  }
  EXPECT_EQ((*m)[0].spec.type, DataType::kInt64);
  EXPECT_EQ((*m)[0].max, 99.0);
  EXPECT_EQ((*m)[1].spec.type, DataType::kString);
}

TEST(InferTest, FixedSchemaReportsTheFirstOffendingValue) {
  TableSchema schema{{{"when", DataType::kTimestamp, true}, {"n", DataType::kInt64, true}}};
  auto cols = infer("n,when,note\n1,2013-01-01,a\n2,yesterday,b\nx,today,c\n", &schema, 1);
  ASSERT_FALSE(cols.ok());
  EXPECT_EQ(cols.status().code(), ErrorCode::kParseError);
  EXPECT_EQ(cols.status().message(),
            "mem.csv:3:2: value 'yesterday' in column 'when' is not a valid timestamp (the schema says timestamp)");
  auto ok = infer("n,when,note\n1,2013-01-01,a\n,2013-01-02,b\n", &schema);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)[0].spec.type, DataType::kInt64);
  EXPECT_EQ((*ok)[1].spec.type, DataType::kTimestamp);
  EXPECT_EQ((*ok)[2].spec.type, DataType::kString);
}

TEST(InferTest, FlightsSample) {
  auto reader = open_csv(testing::data_path("flights_sample.csv"), {});
  ASSERT_TRUE(reader.ok());
  TypeInferrer inferrer((*reader)->column_names(), (*reader)->source_name());
  RecordBatch batch;
  while (*(*reader)->next(batch, 512)) inferrer.add(batch);
  EXPECT_EQ(inferrer.rows(), 2000u);
  auto cols = inferrer.finish();
  ASSERT_TRUE(cols.ok());
  std::string types;
  for (const auto& c : *cols) types += c.spec.name + ":" + data_type_name(c.spec.type) + (c.spec.nullable ? "?" : "") + " ";
  EXPECT_EQ(types,
            "year:int64 month:int64 day:int64 dep_time:int64? sched_dep_time:int64 dep_delay:int64? arr_time:int64? "
            "sched_arr_time:int64 arr_delay:int64? carrier:string flight:int64 tailnum:string? origin:string "
            "dest:string air_time:int64? distance:int64 hour:int64 minute:int64 time_hour:timestamp ");
  EXPECT_EQ((*cols)[0].min, 2013.0);
  EXPECT_EQ((*cols)[0].max, 2013.0);
}

}  // namespace
}  // namespace slipway::table
