#include "slipway/table/types.h"

#include <gtest/gtest.h>

#include <cmath>

namespace slipway::table {
namespace {

TEST(TypesTest, DataTypeNamesRoundTrip) {
  for (DataType t : {DataType::kBool, DataType::kInt64, DataType::kFloat64, DataType::kTimestamp, DataType::kString}) {
    auto parsed = parse_data_type(data_type_name(t));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, t);
  }
  auto bad = parse_data_type("integer");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "unknown data type 'integer' (expected one of bool, int64, float64, timestamp, string)");
}

TEST(TypesTest, SchemaIndexOf) {
  TableSchema schema{{{"a", DataType::kInt64, true}, {"b", DataType::kString, false}}};
  EXPECT_EQ(schema.index_of("b"), 1u);
  EXPECT_EQ(schema.index_of("c"), std::nullopt);
}

TEST(TypesTest, ParseBool) {
  bool v = false;
  for (const char* t : {"true", "TRUE", "True"}) {
    ASSERT_TRUE(parse_bool(t, &v)) << t;
    EXPECT_TRUE(v);
  }
  for (const char* t : {"false", "FALSE", "False"}) {
    ASSERT_TRUE(parse_bool(t, &v)) << t;
    EXPECT_FALSE(v);
  }
  for (const char* t : {"", "tRUE", "1", "yes", " true", "true "}) EXPECT_FALSE(parse_bool(t, &v)) << t;
}

TEST(TypesTest, ParseInt64) {
  int64_t v = 0;
  ASSERT_TRUE(parse_int64("-42", &v));
  EXPECT_EQ(v, -42);
  ASSERT_TRUE(parse_int64("+7", &v));
  EXPECT_EQ(v, 7);
  ASSERT_TRUE(parse_int64("9223372036854775807", &v));
  EXPECT_EQ(v, INT64_MAX);
  ASSERT_TRUE(parse_int64("-9223372036854775808", &v));
  EXPECT_EQ(v, INT64_MIN);
  for (const char* t : {"", "+", "-", "+-1", "9223372036854775808", "1.0", "1e3", " 1", "1 ", "0x10", "12a"}) {
    EXPECT_FALSE(parse_int64(t, &v)) << t;
  }
}

TEST(TypesTest, ParseFloat64) {
  double v = 0;
  ASSERT_TRUE(parse_float64("3.25", &v));
  EXPECT_EQ(v, 3.25);
  ASSERT_TRUE(parse_float64("-1e-3", &v));
  EXPECT_EQ(v, -0.001);
  ASSERT_TRUE(parse_float64("+.5", &v));
  EXPECT_EQ(v, 0.5);
  ASSERT_TRUE(parse_float64("7", &v));
  EXPECT_EQ(v, 7.0);
  ASSERT_TRUE(parse_float64("INF", &v));
  EXPECT_TRUE(std::isinf(v) && v > 0);
  ASSERT_TRUE(parse_float64("-inf", &v));
  EXPECT_TRUE(std::isinf(v) && v < 0);
  ASSERT_TRUE(parse_float64("NaN", &v));
  EXPECT_TRUE(std::isnan(v));
  ASSERT_TRUE(parse_float64("1e999", &v));
  EXPECT_TRUE(std::isinf(v));
  ASSERT_TRUE(parse_float64("1e-999", &v));
  EXPECT_EQ(v, 0.0);
  for (const char* t : {"", "+", "abc", "1.5x", " 1.5", "0x1p3", "1,5", "--1"}) EXPECT_FALSE(parse_float64(t, &v)) << t;
}

TEST(TypesTest, ParseTimestamp) {
  int64_t us = 0;
  ASSERT_TRUE(parse_timestamp("1970-01-01", &us));
  EXPECT_EQ(us, 0);
  ASSERT_TRUE(parse_timestamp("2013-01-01T10:00:00Z", &us));
  EXPECT_EQ(us, 1357034400LL * 1000000);
  ASSERT_TRUE(parse_timestamp("2013-01-01 05:00:00", &us));
  EXPECT_EQ(us, 1357016400LL * 1000000);
  ASSERT_TRUE(parse_timestamp("2013-01-01T05:00", &us));
  EXPECT_EQ(us, 1357016400LL * 1000000);
  ASSERT_TRUE(parse_timestamp("2013-01-01T05:00:00-05:00", &us));
  EXPECT_EQ(us, 1357034400LL * 1000000);
  ASSERT_TRUE(parse_timestamp("2013-01-01T10:00:00.25+00:00", &us));
  EXPECT_EQ(us, 1357034400LL * 1000000 + 250000);
  ASSERT_TRUE(parse_timestamp("2013-01-01T10:00:00.123456789Z", &us));
  EXPECT_EQ(us, 1357034400LL * 1000000 + 123456);
  ASSERT_TRUE(parse_timestamp("1969-12-31T23:59:59Z", &us));
  EXPECT_EQ(us, -1000000);
  ASSERT_TRUE(parse_timestamp("2024-02-29", &us));
  for (const char* t : {"", "2013", "2013-1-01", "2023-02-29", "2013-13-01", "2013-01-32", "2013-01-01T25:00",
                        "2013-01-01T10:00:00.", "2013-01-01T10:00:00X", "2013-01-01T10:00:00+5", "2013-01-01 ",
                        "2013/01/01", "20130101"}) {
    EXPECT_FALSE(parse_timestamp(t, &us)) << t;
  }
}

TEST(TypesTest, FormatTimestamp) {
  EXPECT_EQ(format_timestamp(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_timestamp(1357034400LL * 1000000), "2013-01-01T10:00:00Z");
  EXPECT_EQ(format_timestamp(1357034400LL * 1000000 + 250000), "2013-01-01T10:00:00.250000Z");
  EXPECT_EQ(format_timestamp(-1), "1969-12-31T23:59:59.999999Z");
  int64_t us = 0;
  ASSERT_TRUE(parse_timestamp(format_timestamp(-86400LL * 1000000 * 365 * 300 + 17), &us));
  EXPECT_EQ(us, -86400LL * 1000000 * 365 * 300 + 17);
}

TEST(TypesTest, Utf8Validation) {
  size_t bad = 99;
  EXPECT_TRUE(is_valid_utf8("plain ascii that is longer than sixteen bytes", &bad));
  EXPECT_TRUE(is_valid_utf8("Z\xc3\xbcrich \xe2\x82\xac \xf0\x9f\x98\x80", &bad));
  EXPECT_FALSE(is_valid_utf8("abcdefghijklmnopqrstu\xff", &bad));
  EXPECT_EQ(bad, 21u);
  EXPECT_FALSE(is_valid_utf8("a\xc0\xaf", &bad));  // overlong '/'
  EXPECT_EQ(bad, 1u);
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80", &bad));  // surrogate
  EXPECT_EQ(bad, 0u);
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80", &bad));  // above U+10FFFF
  EXPECT_FALSE(is_valid_utf8("ab\xe2\x82", &bad));  // truncated
  EXPECT_EQ(bad, 2u);
  EXPECT_FALSE(is_valid_utf8("\x80", &bad));
}

}  // namespace
}  // namespace slipway::table
