#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <thread>

#include "slipway/core/fs.h"
#include "slipway/serve/prediction_log.h"

namespace slipway::serve {
namespace {

namespace fs = std::filesystem;

class PredictionLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("slipway_plog_{}_{}", ::getpid(), ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static PredictionRecord record(int64_t i, const std::string& model = "flights", int64_t version = 1) {
    PredictionRecord r;
    r.request_id = fmt::format("req-{}", i);
    r.time_us = 1'700'000'000'000'000 + i * 1000;
    r.model = model;
    r.version = version;
    r.inputs_json = fmt::format(R"([{{"name":"distance","datatype":"FP32","shape":[1],"data":[{}]}}])", i);
    r.outputs_json = fmt::format(R"([{{"name":"probability","datatype":"FP32","shape":[1],"data":[0.{}]}}])", i);
    r.latency_us = 100 + i;
    r.tags = {{"variant", "a"}};
    return r;
  }

  std::vector<PredictionRecord> read_all(const std::string& model, PredictionLogFilter filter = {}) {
    auto reader = PredictionLogReader::open(dir_, model, filter);
    EXPECT_TRUE(reader.ok()) << reader.status().message();
    std::vector<PredictionRecord> out;
    PredictionRecord r;
    for (;;) {
      auto more = reader->next(r);
      EXPECT_TRUE(more.ok()) << more.status().message();
      if (!more.ok() || !*more) break;
      out.push_back(r);
    }
    last_corruptions_ = reader->corruptions();
    last_torn_ = reader->torn_tail_bytes();
    last_unfinished_ = reader->unfinished_tail_bytes();
    return out;
  }

  void write(int64_t from, int64_t to, PredictionLogOptions options = {}) {
    auto log = PredictionLog::open(dir_, options);
    ASSERT_TRUE(log.ok()) << log.status().message();
    for (int64_t i = from; i < to; ++i) ASSERT_TRUE((*log)->try_append(record(i)));
  }

  fs::path segment(int n, const std::string& model = "flights") {
    return dir_ / model / log_format::segment_file_name(static_cast<uint64_t>(n));
  }

  fs::path dir_;
  std::vector<LogCorruption> last_corruptions_;
  uint64_t last_torn_ = 0;
  uint64_t last_unfinished_ = 0;
};

// File offsets of the frames in a segment (assumes it is intact).
std::vector<uint64_t> frame_offsets(const fs::path& path) {
  auto bytes = read_file(path);
  EXPECT_TRUE(bytes.ok());
  std::vector<uint64_t> offsets;
  uint64_t offset = log_format::kSegmentHeaderBytes;
  while (offset + log_format::kFrameHeaderBytes <= bytes->size()) {
    offsets.push_back(offset);
    uint32_t length = 0;
    std::memcpy(&length, bytes->data() + offset + 4, 4);
    offset += log_format::kFrameHeaderBytes + length;
  }
  return offsets;
}

void flip_byte(const fs::path& path, uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(c ^ 0x5A));
}

TEST(PredictionLogFormat, Crc32cMatchesTheStandardCheckValue) {
  // RFC 3720 / the CRC catalogue: CRC-32C("123456789") = 0xE3069283.
  EXPECT_EQ(log_format::crc32c("123456789", 9), 0xE3069283u);
  // Chaining equals one pass.
  uint32_t part = log_format::crc32c("12345", 5);
  EXPECT_EQ(log_format::crc32c("6789", 4, part), 0xE3069283u);
  std::string long_text(1000, 'x');
  EXPECT_EQ(log_format::crc32c(long_text.data(), 1000),
            log_format::crc32c(long_text.data() + 3, 997, log_format::crc32c(long_text.data(), 3)));
}

TEST(PredictionLogFormat, FrameRoundTripsAndHeaderIsSelfChecking) {
  PredictionRecord r;
  r.request_id = "abc";
  r.time_us = -5;
  r.model = "m";
  r.version = 7;
  r.inputs_json = "[1]";
  r.outputs_json = "[2]";
  r.latency_us = 42;
  r.tags = {{"k", "v"}, {"shadow", ""}};
  std::string frame;
  log_format::append_frame(r, frame);
  ASSERT_GT(frame.size(), log_format::kFrameHeaderBytes);
  EXPECT_EQ(frame.substr(0, 4), "SLPR");
  auto back = log_format::decode_payload(std::string_view(frame).substr(log_format::kFrameHeaderBytes));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->request_id, "abc");
  EXPECT_EQ(back->time_us, -5);
  EXPECT_EQ(back->version, 7);
  EXPECT_EQ(back->latency_us, 42);
  EXPECT_EQ(back->tags, r.tags);
  auto truncated = log_format::decode_payload(std::string_view(frame).substr(log_format::kFrameHeaderBytes, 20));
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.status().message(), "record payload is truncated");
}

Tensor tensor_of(std::string name, DataType type, std::vector<int64_t> shape, const void* data, size_t bytes) {
  Tensor t;
  t.name = std::move(name);
  t.datatype = type;
  t.shape = std::move(shape);
  t.raw.assign(static_cast<const char*>(data), bytes);
  return t;
}

TEST(PredictionLogFormat, TensorsRoundTripAsRawBytes) {
  PredictionRecord r;
  r.request_id = "t";
  r.model = "m";
  const float f[6] = {0.1f, -2.5f, std::numeric_limits<float>::infinity(), 3e-39f, 7.0f,
                      std::numeric_limits<float>::quiet_NaN()};
  const int64_t ints[2] = {-1, int64_t{1} << 62};
  const uint8_t flags[2] = {1, 0};
  r.inputs.push_back(tensor_of("input__0", DataType::kFp32, {2, 3}, f, sizeof f));
  r.inputs.push_back(tensor_of("id", DataType::kInt64, {2}, ints, sizeof ints));
  r.inputs.push_back(tensor_of("flag", DataType::kBool, {2, 1}, flags, sizeof flags));
  Tensor names;
  names.name = "carrier";
  names.datatype = DataType::kBytes;
  names.shape = {2};
  names.strings = {"UA", std::string("\0\"\\\n", 4)};
  r.inputs.push_back(names);
  const double p[2] = {0.25, 0.75};
  r.outputs.push_back(tensor_of("probability", DataType::kFp64, {2}, p, sizeof p));
  std::string frame;
  log_format::append_frame(r, frame);
  std::string_view payload = std::string_view(frame).substr(log_format::kFrameHeaderBytes);
  EXPECT_EQ(payload[0], 2);  // payload version 2
  PredictionRecord back;
  back.inputs_json = "stale";  // decoding into a used record replaces everything
  back.tags = {{"stale", "x"}};
  ASSERT_TRUE(log_format::decode_payload_into(payload, back).ok());
  EXPECT_EQ(back.inputs_json, "");
  EXPECT_TRUE(back.tags.empty());
  ASSERT_EQ(back.inputs.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(back.inputs[i].name, r.inputs[i].name);
    EXPECT_EQ(back.inputs[i].datatype, r.inputs[i].datatype);
    EXPECT_EQ(back.inputs[i].shape, r.inputs[i].shape);
    EXPECT_EQ(back.inputs[i].raw, r.inputs[i].raw);  // bit for bit, NaN and denormals included
    EXPECT_EQ(back.inputs[i].strings, r.inputs[i].strings);
  }
  ASSERT_EQ(back.outputs.size(), 1u);
  EXPECT_EQ(back.outputs[0].raw, r.outputs[0].raw);
  EXPECT_EQ(back.outputs_as_json(), R"([{"name":"probability","datatype":"FP64","shape":[2],"data":[0.25,0.75]}])");

  // A tensor block that does not decode is named as such.
  std::string bad(payload);
  const size_t form = 2 + 3 * 8 + 4 + 1 + 4 + 1;  // version, times, request id "t", model "m"
  ASSERT_EQ(bad[form], 0);
  bad[form] = 9;  // an unknown tensor form
  auto decoded = log_format::decode_payload(bad);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().message(), "record tensors do not decode");
}

TEST(PredictionLogFormat, RowsComeFromTheFirstOutputsShape) {
  const float f[6] = {1, 2, 3, 4, 5, 6};
  PredictionRecord r;
  EXPECT_EQ(r.rows(), 1u);  // nothing logged
  r.inputs.push_back(tensor_of("x", DataType::kFp32, {6}, f, sizeof f));
  EXPECT_EQ(r.rows(), 6u);  // no outputs: the first input's
  r.outputs.push_back(tensor_of("p", DataType::kFp32, {3, 2}, f, sizeof f));
  EXPECT_EQ(r.rows(), 3u);
  r.outputs[0].shape = {};
  EXPECT_EQ(r.rows(), 1u);  // a scalar
  PredictionRecord text;  // version-1 records: the JSON's shape, or without one the longest data
  text.outputs_json = R"([{"name":"p","datatype":"FP32","shape":[5,2],"data":[1,2,3,4,5,6,7,8,9,10]}])";
  EXPECT_EQ(text.rows(), 5u);
  text.outputs_json = R"([{"name":"p","datatype":"FP32","data":[[1,2],[3,4]]}])";
  EXPECT_EQ(text.rows(), 4u);
}

TEST(PredictionLogFormat, JsonTensorsStillRoundTrip) {
  // A record given its tensors as JSON text (no tensors) keeps the text.
  PredictionRecord r;
  r.inputs_json = R"([{"name":"x","datatype":"FP32","shape":[1],"data":[1]}])";
  r.outputs_json = R"([{"name":"y","datatype":"FP32","shape":[1],"data":[2]}])";
  std::string frame;
  log_format::append_frame(r, frame);
  auto back = log_format::decode_payload(std::string_view(frame).substr(log_format::kFrameHeaderBytes));
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->inputs.empty());
  EXPECT_EQ(back->inputs_as_json(), r.inputs_json);
  EXPECT_EQ(back->outputs_as_json(), r.outputs_json);
}

// A version-1 payload (tensors as JSON text), laid out by hand as slipway 0.1's writer did.
std::string version1_payload(const std::string& id, const std::string& inputs, const std::string& outputs) {
  std::string p;
  auto u = [&p](uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) p += static_cast<char>((v >> (8 * i)) & 0xFF);
  };
  auto str = [&](const std::string& s) {
    u(s.size(), 4);
    p += s;
  };
  u(1, 2);
  u(1'700'000'000'000'000, 8);
  u(3, 8);
  u(55, 8);
  str(id);
  str("flights");
  str(inputs);
  str(outputs);
  u(1, 4);
  str("variant");
  str("b");
  return p;
}

TEST_F(PredictionLogTest, Version1SegmentsStayReadable) {
  fs::create_directories(dir_ / "flights");
  std::string file = log_format::encode_segment_header(0);
  file[8] = 1;  // format version 1
  uint32_t crc = log_format::crc32c(file.data(), 28);
  std::memcpy(file.data() + 28, &crc, 4);
  const std::string in = R"([{"name":"distance","datatype":"FP32","shape":[1],"data":[1400]}])";
  const std::string out = R"([{"name":"probability","datatype":"FP32","shape":[1],"data":[0.5]}])";
  for (int i = 0; i < 2; ++i) {
    std::string payload = version1_payload(fmt::format("old-{}", i), in, out);
    std::string header(log_format::kFrameHeaderBytes, '\0');
    uint32_t fields[3] = {log_format::kRecordSync, static_cast<uint32_t>(payload.size()),
                          log_format::crc32c(payload.data(), payload.size())};
    std::memcpy(header.data(), fields, 12);
    uint32_t hcrc = log_format::crc32c(header.data(), 12);
    std::memcpy(header.data() + 12, &hcrc, 4);
    file += header + payload;
  }
  {
    std::ofstream f(dir_ / "flights" / "000001.log", std::ios::binary);
    f.write(file.data(), static_cast<std::streamsize>(file.size()));
  }
  write(0, 2);  // a newer writer adds a version-2 segment beside it
  auto records = read_all("flights");
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].request_id, "old-0");
  EXPECT_EQ(records[1].request_id, "old-1");
  EXPECT_EQ(records[1].version, 3);
  EXPECT_EQ(records[1].latency_us, 55);
  EXPECT_EQ(records[1].inputs_as_json(), in);
  EXPECT_EQ(records[1].outputs_as_json(), out);
  EXPECT_EQ(records[1].tags, (std::vector<std::pair<std::string, std::string>>{{"variant", "b"}}));
  EXPECT_EQ(records[2].request_id, "req-0");
  EXPECT_TRUE(last_corruptions_.empty());
}

TEST(PredictionLogFormat, ModelNamesMapToSafeFolderNames) {
  EXPECT_EQ(model_folder_name("flights-delay_v2.1"), "flights-delay_v2.1");
  EXPECT_EQ(model_folder_name("../etc"), "%2E.%2Fetc");
  EXPECT_EQ(model_folder_name("a b/c"), "a%20b%2Fc");
  for (std::string name : {"flights", "../etc", "a b/c", "%41", "ünï"}) {
    EXPECT_EQ(model_from_folder_name(model_folder_name(name)), name);
  }
}

TEST_F(PredictionLogTest, RecordsReadBackInOrderAcrossSegmentsAndModels) {
  PredictionLogOptions options;
  options.segment_bytes = 4096;  // forces many segments
  {
    auto log = PredictionLog::open(dir_, options);
    ASSERT_TRUE(log.ok()) << log.status().message();
    for (int64_t i = 0; i < 500; ++i) {
      ASSERT_TRUE((*log)->try_append(record(i, "flights", i < 250 ? 1 : 2)));
      if (i % 5 == 0) {
        ASSERT_TRUE((*log)->try_append(record(i, "other model", 3)));
      }
    }
    (*log)->flush();
    EXPECT_EQ((*log)->written(), 600u);
    EXPECT_EQ((*log)->dropped(), 0u);
  }
  auto records = read_all("flights");
  ASSERT_EQ(records.size(), 500u);
  for (int64_t i = 0; i < 500; ++i) {
    EXPECT_EQ(records[i].request_id, fmt::format("req-{}", i));
    EXPECT_EQ(records[i].inputs_json, record(i).inputs_json);
    EXPECT_EQ(records[i].outputs_json, record(i).outputs_json);
    EXPECT_EQ(records[i].latency_us, 100 + i);
  }
  EXPECT_TRUE(last_corruptions_.empty());
  EXPECT_EQ(last_torn_, 0u);
  EXPECT_EQ(last_unfinished_, 0u);
  EXPECT_EQ(read_all("other model").size(), 100u);
  EXPECT_TRUE(fs::exists(dir_ / "other%20model" / "000001.log"));
  EXPECT_TRUE(fs::exists(segment(2)));
  for (const auto& entry : fs::directory_iterator(dir_ / "flights")) {
    EXPECT_LE(fs::file_size(entry.path()), 4096u) << entry.path();
  }

  auto models = logged_models(dir_);
  ASSERT_TRUE(models.ok());
  EXPECT_EQ(*models, (std::vector<std::string>{"flights", "other model"}));

  PredictionLogFilter v2;
  v2.version = 2;
  EXPECT_EQ(read_all("flights", v2).size(), 250u);
  PredictionLogFilter window;
  window.since_us = record(100).time_us;
  window.until_us = record(110).time_us;
  auto in_window = read_all("flights", window);
  ASSERT_EQ(in_window.size(), 10u);
  EXPECT_EQ(in_window.front().request_id, "req-100");
}

TEST_F(PredictionLogTest, UnknownModelIsNotFound) {
  ASSERT_TRUE(make_directories(dir_).ok());
  auto reader = PredictionLogReader::open(dir_, "nope");
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(reader.status().message(),
            fmt::format("no predictions logged for model 'nope' (no folder {})", (dir_ / "nope").string()));
}

TEST_F(PredictionLogTest, TornTailStopsCleanlyAndANewWriterStartsANewSegment) {
  write(0, 10);
  auto offsets = frame_offsets(segment(1));
  ASSERT_EQ(offsets.size(), 10u);
  auto size = fs::file_size(segment(1));
  fs::resize_file(segment(1), size - 7);  // the last record loses its end
  auto records = read_all("flights");
  EXPECT_EQ(records.size(), 9u);
  EXPECT_TRUE(last_corruptions_.empty());
  EXPECT_EQ(last_unfinished_, size - 7 - offsets[9]);

  write(10, 15);  // a restarted writer never appends after the torn record
  EXPECT_TRUE(fs::exists(segment(2)));
  records = read_all("flights");
  ASSERT_EQ(records.size(), 14u);
  EXPECT_EQ(records[8].request_id, "req-8");
  EXPECT_EQ(records[9].request_id, "req-10");
  EXPECT_TRUE(last_corruptions_.empty());
  EXPECT_EQ(last_torn_, size - 7 - offsets[9]);
  EXPECT_EQ(last_unfinished_, 0u);
}

TEST_F(PredictionLogTest, CorruptRecordInTheMiddleIsReportedWithItsOffsetAndSkipped) {
  write(0, 10);
  auto offsets = frame_offsets(segment(1));
  ASSERT_EQ(offsets.size(), 10u);
  flip_byte(segment(1), offsets[4] + log_format::kFrameHeaderBytes + 30);  // payload of record 4
  flip_byte(segment(1), offsets[7] + 5);                                    // header (length) of record 7

  auto records = read_all("flights");
  ASSERT_EQ(records.size(), 8u);
  EXPECT_EQ(records[3].request_id, "req-3");
  EXPECT_EQ(records[4].request_id, "req-5");
  EXPECT_EQ(records[6].request_id, "req-8");
  ASSERT_EQ(last_corruptions_.size(), 2u);
  EXPECT_EQ(last_corruptions_[0].segment, segment(1));
  EXPECT_EQ(last_corruptions_[0].offset, offsets[4]);
  EXPECT_EQ(last_corruptions_[0].bytes, offsets[5] - offsets[4]);
  EXPECT_EQ(last_corruptions_[0].reason, "record checksum mismatch");
  EXPECT_EQ(last_corruptions_[1].offset, offsets[7]);
  EXPECT_EQ(last_corruptions_[1].bytes, offsets[8] - offsets[7]);
  EXPECT_EQ(last_corruptions_[1].reason, "bad record header");
}

TEST_F(PredictionLogTest, DamageRunningToTheEndIsATornTailNotCorruption) {
  write(0, 5);
  auto size = fs::file_size(segment(1));
  {
    std::ofstream f(segment(1), std::ios::app | std::ios::binary);
    f << std::string(100, '\0');  // what a power cut can leave after a file was extended
  }
  EXPECT_EQ(read_all("flights").size(), 5u);
  EXPECT_TRUE(last_corruptions_.empty());
  EXPECT_EQ(last_unfinished_, 100u);
  EXPECT_EQ(fs::file_size(segment(1)), size + 100);
}

TEST_F(PredictionLogTest, SegmentFromANewerSlipwayIsRefused) {
  write(0, 1);
  std::string header = log_format::encode_segment_header(0);
  header[8] = 3;  // format version 3
  uint32_t crc = log_format::crc32c(header.data(), 28);
  std::memcpy(header.data() + 28, &crc, 4);
  {
    std::fstream f(segment(1), std::ios::in | std::ios::out | std::ios::binary);
    f.write(header.data(), static_cast<std::streamsize>(header.size()));
  }
  auto reader = PredictionLogReader::open(dir_, "flights");
  ASSERT_TRUE(reader.ok());
  PredictionRecord r;
  auto more = reader->next(r);
  ASSERT_FALSE(more.ok());
  EXPECT_EQ(more.status().code(), ErrorCode::kUnsupportedVersion);
  EXPECT_EQ(more.status().message(), segment(1).string() +
                                         ": prediction log format version 3 was written by a newer slipway (this "
                                         "one reads up to 2)");
}

TEST_F(PredictionLogTest, FullQueueDropsAndCountsWithoutBlocking) {
  PredictionLogOptions options;
  options.queue_capacity = 8;
  auto log = PredictionLog::open(dir_, options);
  ASSERT_TRUE(log.ok());
  (*log)->pause();
  int accepted = 0;
  for (int i = 0; i < 20; ++i) accepted += (*log)->try_append(record(i)) ? 1 : 0;
  EXPECT_EQ(accepted, 8);
  EXPECT_EQ((*log)->dropped(), 12u);
  EXPECT_EQ((*log)->queue_depth(), 8u);
  (*log)->resume();
  (*log)->flush();
  EXPECT_EQ((*log)->written(), 8u);
  EXPECT_EQ((*log)->stats().appended, 8u);
  EXPECT_TRUE((*log)->try_append(record(20)));
  log->reset();
  auto records = read_all("flights");
  ASSERT_EQ(records.size(), 9u);
  EXPECT_EQ(records[7].request_id, "req-7");
  EXPECT_EQ(records[8].request_id, "req-20");
}

TEST_F(PredictionLogTest, ByteBudgetBoundsTheQueue) {
  PredictionLogOptions options;
  options.queue_bytes = 1000;
  auto log = PredictionLog::open(dir_, options);
  ASSERT_TRUE(log.ok());
  (*log)->pause();
  PredictionRecord big = record(0);
  big.inputs_json = std::string(2000, 'x');
  EXPECT_TRUE((*log)->try_append(PredictionRecord(big)));  // an empty queue takes one oversized record
  EXPECT_FALSE((*log)->try_append(record(1)));
  EXPECT_EQ((*log)->dropped(), 1u);
}

TEST_F(PredictionLogTest, ReaderFollowsAWriterAcrossRotations) {
  PredictionLogOptions options;
  options.segment_bytes = 4096;
  auto log = PredictionLog::open(dir_, options);
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->try_append(record(0)));
  (*log)->flush();
  auto reader = PredictionLogReader::open(dir_, "flights");
  ASSERT_TRUE(reader.ok());
  std::vector<std::string> ids;
  PredictionRecord r;
  auto drain = [&] {
    for (;;) {
      auto more = reader->next(r);
      ASSERT_TRUE(more.ok()) << more.status().message();
      if (!*more) break;
      ids.push_back(r.request_id);
    }
  };
  drain();
  ASSERT_EQ(ids.size(), 1u);
  for (int i = 1; i < 100; ++i) ASSERT_TRUE((*log)->try_append(record(i)));
  (*log)->flush();
  drain();
  ASSERT_EQ(ids.size(), 100u);
  EXPECT_EQ(ids.back(), "req-99");
  EXPECT_TRUE(reader->corruptions().empty());
  EXPECT_EQ(reader->torn_tail_bytes(), 0u);
}

// A child process logs as fast as it can and is SIGKILLed at a random moment, several times over
// the same folder; afterwards every run's records read back as a gap-free prefix, with no corruption.
TEST_F(PredictionLogTest, SigkillDuringLoggingLeavesAReadableLog) {
  ASSERT_TRUE(make_directories(dir_).ok());
  std::mt19937 rng(12345);
  constexpr int kRuns = 8;
  for (int run = 0; run < kRuns; ++run) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      PredictionLogOptions options;
      options.segment_bytes = 256 << 10;
      options.fsync = FsyncPolicy::kNever;
      auto log = PredictionLog::open(dir_, options);
      if (!log.ok()) ::_exit(3);
      for (int64_t i = 0;; ++i) {
        PredictionRecord r = record(i);
        r.inputs_json.append(static_cast<size_t>(i % 4000), ' ');  // frames of varied sizes
        r.tags = {{"run", std::to_string(run)}};
        while (!(*log)->try_append(PredictionRecord(r))) std::this_thread::yield();
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 120));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << status;
  }
  auto records = read_all("flights");
  EXPECT_TRUE(last_corruptions_.empty()) << last_corruptions_.front().segment << ":" << last_corruptions_.front().offset
                                         << " " << last_corruptions_.front().reason;
  std::vector<int64_t> next(kRuns, 0);
  int last_run = 0;
  for (const auto& r : records) {
    ASSERT_EQ(r.tags.size(), 1u);
    int run = std::stoi(r.tags[0].second);
    ASSERT_GE(run, last_run) << "runs interleaved";
    last_run = run;
    ASSERT_EQ(r.request_id, fmt::format("req-{}", next[run])) << "gap in run " << run;
    ++next[run];
  }
  for (int run = 0; run < kRuns; ++run) EXPECT_GT(next[run], 0) << "run " << run << " logged nothing";
  RecordProperty("records", static_cast<int>(records.size()));
  RecordProperty("torn_tail_bytes", static_cast<int>(last_torn_ + last_unfinished_));
}

}  // namespace
}  // namespace slipway::serve
