// Manifest format 2: a file is identified by the SHA-256 of its chunk list. The chunker's output,
// mapped or read, is the same; format 1 manifests (whole-file SHA-256) still load, keep their id
// and check out; checkout and fsck catch a file id that does not match the chunk list.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>
#include <string>

#include "../../../src/data/detail/chunk_store.h"
#include "slipway/core/hash.h"
#include "slipway/data/dataset.h"
#include "slipway/data/ingest.h"
#include "slipway/store/store.h"

namespace slipway::data {
namespace {

namespace fs = std::filesystem;

std::string le64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(v >> (8 * i));
  return out;
}

// Text with enough entropy for content-defined cuts, deterministic.
std::string sample_bytes(size_t n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::string s;
  s.reserve(n + 32);
  while (s.size() < n) s += std::to_string(rng() % 1000003) + (rng() % 7 == 0 ? "\n" : ",");
  s.resize(n);
  return s;
}

class FileIdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("slipway-file-id-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path write(const std::string& name, const std::string& bytes) {
    fs::path p = root_ / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }

  fs::path root_;
};

TEST(FileIdFromChunks, IsTheSha256OfPrefixDigestsAndSizes) {
  const std::string a = "hello", b = "world!";
  std::vector<ChunkRef> chunks = {{sha256_hex(a), a.size()}, {sha256_hex(b), b.size()}};
  std::string preimage = "slipway.file.v2\n";
  for (const std::string* s : {&a, &b}) {
    const Sha256Digest d = sha256(*s);
    preimage.append(reinterpret_cast<const char*>(d.data()), d.size());
    preimage += le64(s->size());
  }
  auto id = file_id_from_chunks(chunks);
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_EQ(*id, sha256_hex(preimage));
  // Order and sizes are part of the id.
  std::swap(chunks[0], chunks[1]);
  EXPECT_NE(*file_id_from_chunks(chunks), *id);
  EXPECT_EQ(*file_id_from_chunks({}), sha256_hex("slipway.file.v2\n"));
  auto bad = file_id_from_chunks({{"xyz", 1}});
  EXPECT_FALSE(bad.ok());
}

TEST_F(FileIdTest, MappedChunkingMatchesTheInMemoryChunker) {
  // Over 40 MiB so the mapping is populated and released in several windows.
  const std::string bytes = sample_bytes((40u << 20) + 12345, 7);
  const fs::path p = write("big.csv", bytes);
  auto stored = detail::chunk_and_store(nullptr, p, ChunkerOptions{}, nullptr, 2);
  ASSERT_TRUE(stored.ok()) << stored.status().message();
  const std::vector<size_t> lengths = chunk_buffer(bytes);
  ASSERT_EQ(stored->chunks.size(), lengths.size());
  size_t at = 0;
  for (size_t i = 0; i < lengths.size(); ++i) {
    ASSERT_EQ(stored->chunks[i].size, lengths[i]) << i;
    ASSERT_EQ(stored->chunks[i].id, sha256_hex(std::string_view(bytes).substr(at, lengths[i]))) << i;
    at += lengths[i];
  }
  EXPECT_EQ(stored->size, bytes.size());
  EXPECT_EQ(stored->id, *file_id_from_chunks(stored->chunks));
}

TEST_F(FileIdTest, ReadPathMatchesMappedPath) {
  const std::string bytes = sample_bytes((9u << 20) + 77, 11);
  const fs::path p = write("f.csv", bytes);
  auto mapped = detail::chunk_and_store(nullptr, p, ChunkerOptions{}, nullptr, 2);
  ASSERT_TRUE(mapped.ok());
  // A FIFO cannot be mapped: the same bytes through the read path.
  const fs::path fifo = root_ / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::thread writer([&] { std::ofstream(fifo, std::ios::binary) << bytes; });
  auto read = detail::chunk_and_store(nullptr, fifo, ChunkerOptions{}, nullptr, 2);
  writer.join();
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(read->id, mapped->id);
  EXPECT_EQ(read->size, mapped->size);
  ASSERT_EQ(read->chunks.size(), mapped->chunks.size());
  for (size_t i = 0; i < read->chunks.size(); ++i) EXPECT_EQ(read->chunks[i].id, mapped->chunks[i].id);
}

TEST_F(FileIdTest, EmptyFile) {
  auto stored = detail::chunk_and_store(nullptr, write("e.csv", ""), ChunkerOptions{}, nullptr, 2);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->size, 0u);
  EXPECT_TRUE(stored->chunks.empty());
  EXPECT_EQ(stored->id, sha256_hex("slipway.file.v2\n"));
}

TEST_F(FileIdTest, MissingFileIsNotFound) {
  auto stored = detail::chunk_and_store(nullptr, root_ / "nope.csv", ChunkerOptions{}, nullptr, 2);
  ASSERT_FALSE(stored.ok());
  EXPECT_EQ(stored.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(stored.status().message().find("nope.csv"), std::string::npos);
}

// A version committed by hand from `bytes` in two chunks, as format `format_version` records it.
VersionManifest manual_version(store::Store& store, const std::string& bytes, int format_version) {
  VersionManifest m;
  m.format_version = format_version;
  m.dataset = "d";
  m.created_at = "2026-01-01T00:00:00Z";
  FileEntry f;
  f.name = "f.csv";
  f.format = "csv";
  f.compression = "none";
  f.size = bytes.size();
  const size_t half = bytes.size() / 2;
  for (std::string_view part : {std::string_view(bytes).substr(0, half), std::string_view(bytes).substr(half)}) {
    auto put = store.objects().put(part);
    EXPECT_TRUE(put.ok());
    f.chunks.push_back({put->id, part.size()});
  }
  f.sha256 = format_version >= 2 ? *file_id_from_chunks(f.chunks) : sha256_hex(bytes);
  m.files.push_back(f);
  return m;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST_F(FileIdTest, FormatOneStillLoadsKeepsItsIdAndChecksOut) {
  auto store = store::Store::create(root_ / "store");
  ASSERT_TRUE(store.ok()) << store.status().message();
  const std::string bytes = "a,b\n1,2\n3,4\n5,6\n";
  VersionManifest m = manual_version(**store, bytes, 1);
  Datasets datasets(**store);
  auto id = datasets.commit(m, "main");
  ASSERT_TRUE(id.ok()) << id.status().message();
  const std::string text = canonical_manifest_text(m);
  EXPECT_NE(text.find("\"sha256\":\"" + sha256_hex(bytes) + "\""), std::string::npos);
  EXPECT_EQ(text.find("\"id\":"), std::string::npos);

  auto loaded = datasets.load(*id);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->format_version, 1);
  EXPECT_EQ(loaded->files[0].sha256, sha256_hex(bytes));
  // Written back, a format 1 manifest is the very text it was: its version id does not change.
  EXPECT_EQ(sha256_hex(canonical_manifest_text(*loaded)), *id);

  ASSERT_TRUE(datasets.checkout(*id, root_ / "out").ok());
  EXPECT_EQ(read_all(root_ / "out" / "f.csv"), bytes);
  EXPECT_TRUE(datasets.fsck().empty());
}

TEST_F(FileIdTest, FormatTwoRecordsTheChunkListId) {
  auto store = store::Store::create(root_ / "store");
  ASSERT_TRUE(store.ok());
  const std::string bytes = "a,b\n1,2\n3,4\n5,6\n7,8\n";
  VersionManifest m = manual_version(**store, bytes, 2);
  Datasets datasets(**store);
  auto id = datasets.commit(m, "main");
  ASSERT_TRUE(id.ok());
  const std::string text = canonical_manifest_text(m);
  EXPECT_NE(text.find("\"id\":\"" + *file_id_from_chunks(m.files[0].chunks) + "\""), std::string::npos);
  EXPECT_EQ(text.find("\"sha256\""), std::string::npos);
  auto loaded = datasets.load(*id);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->format_version, 2);
  EXPECT_EQ(loaded->files[0].sha256, m.files[0].sha256);
  ASSERT_TRUE(datasets.checkout(*id, root_ / "out").ok());
  EXPECT_EQ(read_all(root_ / "out" / "f.csv"), bytes);
  EXPECT_TRUE(datasets.fsck().empty());
}

TEST_F(FileIdTest, CheckoutAndFsckCatchAWrongFileId) {
  auto store = store::Store::create(root_ / "store");
  ASSERT_TRUE(store.ok());
  const std::string bytes = "x\n1\n2\n3\n";
  VersionManifest m = manual_version(**store, bytes, 2);
  m.files[0].sha256 = std::string(64, '0');
  Datasets datasets(**store);
  auto id = datasets.commit(m, "main");
  ASSERT_TRUE(id.ok());
  Status st = datasets.checkout(*id, root_ / "out");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), ErrorCode::kCorrupt);
  EXPECT_EQ(st.message(), "f.csv: restored bytes do not match the recorded file id");
  EXPECT_FALSE(fs::exists(root_ / "out" / "f.csv"));
  auto problems = datasets.fsck();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].what, "id of f.csv does not match its chunk list");
}

TEST_F(FileIdTest, NewerFormatIsRefusedByName) {
  nlohmann::json j = {{"format_version", kManifestFormatVersion + 1}};
  auto m = manifest_from_json(j);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), ErrorCode::kUnsupportedVersion);
}

}  // namespace
}  // namespace slipway::data
