#include "slipway/store/object_store.h"

#include <zstd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <system_error>

#include "slipway/core/fs.h"

namespace slipway::store {

namespace {

constexpr char kMagic[4] = {'S', 'L', 'W', 'O'};
constexpr size_t kHeaderSize = 16;
constexpr uint8_t kCodecRaw = 0;
constexpr uint8_t kCodecZstd = 1;

void put_u64_le(char* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
uint64_t get_u64_le(const char* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(in[i])) << (8 * i);
  return v;
}

bool is_hex_id(std::string_view id) {
  if (id.size() != 64) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Cheap check of an existing object file: right magic, a known codec, the expected raw size and a
// plausible file size (a raw object's size is exact; a zstd frame must declare the raw size).
bool header_is_sound(const std::filesystem::path& path, uint64_t raw_size) {
  std::error_code ec;
  auto file_size = std::filesystem::file_size(path, ec);
  if (ec || file_size < kHeaderSize) return false;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  char head[kHeaderSize + 18];
  size_t n = std::fread(head, 1, sizeof head, f);
  std::fclose(f);
  if (n < kHeaderSize || std::memcmp(head, kMagic, 4) != 0 || get_u64_le(head + 8) != raw_size) return false;
  uint8_t codec = static_cast<uint8_t>(head[5]);
  if (codec == kCodecRaw) return file_size == kHeaderSize + raw_size;
  if (codec == kCodecZstd) {
    return n > kHeaderSize && ZSTD_getFrameContentSize(head + kHeaderSize, n - kHeaderSize) == raw_size;
  }
  return false;
}

// One compression and one decompression context per thread, reused: ZSTD_compress() and
// ZSTD_decompress() would allocate and initialise a fresh one for every object.
ZSTD_CCtx* compression_context() {
  thread_local std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  return cctx.get();
}

// Compresses `content` into `out` (zstd frame with the content size); a zstd error code on failure.
// With small_match_table the match finder is zstd's fast strategy over a 256-entry table that looks
// for repeats of 7 bytes or more: on typical data files (numbers as text) nearly all of level 1's
// gain comes from entropy-coding the literals, which this keeps, while the match search it mostly
// skips was half of level 1's time. Measured on 256 KiB chunks: numeric CSV 2.13x at ~420 MB/s
// (level 1: 2.24x at ~210 MB/s), mixed CSV with strings 3.63x (level 1: 3.70x). Frames are
// ordinary zstd frames either way: readers do not need to know.
size_t compress(char* out, size_t capacity, std::string_view content, const ObjectStoreOptions& options) {
  ZSTD_CCtx* cctx = compression_context();
  ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, options.zstd_level);
  if (options.small_match_table && options.zstd_level <= 1) {
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_strategy, ZSTD_fast);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_hashLog, 8);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_minMatch, 7);
  }
  return ZSTD_compress2(cctx, out, capacity, content.data(), content.size());
}

ZSTD_DCtx* decompression_context() {
  thread_local std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  return dctx.get();
}

}  // namespace

Status ObjectStore::sync() const { return sync_filesystem(dir_); }

ObjectStore::ObjectStore(std::filesystem::path dir, ObjectStoreOptions options)
    : dir_(std::move(dir)), options_(options) {}

std::filesystem::path ObjectStore::path_for(std::string_view id) const {
  return dir_ / std::string(id.substr(0, 2)) / std::string(id.substr(2));
}

bool ObjectStore::contains(std::string_view id) const {
  std::error_code ec;
  return is_hex_id(id) && std::filesystem::exists(path_for(id), ec);
}

Result<PutResult> ObjectStore::put(std::string_view content) {
  return put_with_digest(sha256(content), content);
}

Result<PutResult> ObjectStore::put_with_digest(const Sha256Digest& digest, std::string_view content) {
  PutResult result;
  result.id = to_hex(digest);
  auto path = path_for(result.id);
  // An object already present is reused (deduplication) when its header is sound; a file cut short
  // by a power loss before it was synced is written again.
  if (header_is_sound(path, content.size())) return result;

  std::string file(kHeaderSize, '\0');
  std::memcpy(file.data(), kMagic, 4);
  file[4] = static_cast<char>(kObjectFormatVersion);
  put_u64_le(file.data() + 8, content.size());
  uint8_t codec = kCodecRaw;
  if (content.size() >= 512) {
    size_t bound = ZSTD_compressBound(content.size());
    file.resize(kHeaderSize + bound);
    size_t n = compress(file.data() + kHeaderSize, bound, content, options_);
    if (!ZSTD_isError(n) && n <= content.size() - content.size() / 10) {
      codec = kCodecZstd;
      file.resize(kHeaderSize + n);
    }
  }
  if (codec == kCodecRaw) {
    file.resize(kHeaderSize);
    file.append(content);
  }
  file[5] = static_cast<char>(codec);
  SLIPWAY_RETURN_IF_ERROR(make_directories(path.parent_path()));
  SLIPWAY_RETURN_IF_ERROR(write_file_atomic(path, file, /*durable=*/false));
  result.written = true;
  result.stored_bytes = file.size();
  return result;
}

Result<std::string> ObjectStore::get(std::string_view id) const {
  if (!is_hex_id(id)) return make_error(ErrorCode::kInvalidArgument, "'{}' is not an object id", id);
  auto path = path_for(id);
  auto file = read_file(path);
  if (!file.ok()) {
    if (file.status().code() == ErrorCode::kNotFound) {
      return make_error(ErrorCode::kCorrupt, "object {} is missing ({})", id, path.string());
    }
    return file.status();
  }
  const std::string& bytes = *file;
  auto corrupt = [&](std::string_view why) {
    return make_error(ErrorCode::kCorrupt, "object {} is damaged: {} ({})", id, why, path.string());
  };
  if (bytes.size() < kHeaderSize || std::memcmp(bytes.data(), kMagic, 4) != 0) return corrupt("bad header");
  if (static_cast<uint8_t>(bytes[4]) > kObjectFormatVersion) {
    return make_error(ErrorCode::kUnsupportedVersion,
                      "object {} was written by a newer slipway (object format {}); upgrade slipway", id,
                      static_cast<int>(static_cast<uint8_t>(bytes[4])));
  }
  uint64_t raw_size = get_u64_le(bytes.data() + 8);
  std::string content;
  uint8_t codec = static_cast<uint8_t>(bytes[5]);
  if (codec == kCodecRaw) {
    if (bytes.size() - kHeaderSize != raw_size) return corrupt("size does not match header");
    content.assign(bytes.data() + kHeaderSize, raw_size);
  } else if (codec == kCodecZstd) {
    unsigned long long frame = ZSTD_getFrameContentSize(bytes.data() + kHeaderSize, bytes.size() - kHeaderSize);
    if (frame != raw_size) return corrupt("compressed size does not match header");
    content.resize(raw_size);
    size_t n = ZSTD_decompressDCtx(decompression_context(), content.data(), raw_size, bytes.data() + kHeaderSize,
                                   bytes.size() - kHeaderSize);
    if (ZSTD_isError(n) || n != raw_size) return corrupt("zstd payload does not decompress");
  } else {
    return corrupt("unknown codec");
  }
  if (to_hex(sha256(content)) != id) return corrupt("content does not match its id");
  return content;
}

Status ObjectStore::verify(std::string_view id) const {
  auto r = get(id);
  return r.ok() ? Status{} : r.status();
}

Result<uint64_t> ObjectStore::stored_size(std::string_view id) const {
  std::error_code ec;
  auto size = std::filesystem::file_size(path_for(id), ec);
  if (ec) return make_error(ErrorCode::kNotFound, "object {} is missing", id);
  return static_cast<uint64_t>(size);
}

Status ObjectStore::for_each(const std::function<void(const std::string&)>& on_object,
                             const std::function<void(const std::filesystem::path&)>& on_temp) const {
  std::error_code ec;
  if (!std::filesystem::exists(dir_, ec)) return {};
  for (auto it = std::filesystem::directory_iterator(dir_, ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    if (!it->is_directory()) continue;
    std::string prefix = it->path().filename().string();
    std::error_code ec2;
    for (auto jt = std::filesystem::directory_iterator(it->path(), ec2);
         !ec2 && jt != std::filesystem::directory_iterator(); jt.increment(ec2)) {
      std::string name = jt->path().filename().string();
      if (name.find(".tmp.") != std::string::npos) {
        on_temp(jt->path());
      } else {
        on_object(prefix + name);
      }
    }
    if (ec2) return make_error(ErrorCode::kIoError, "cannot list {}: {}", it->path().string(), ec2.message());
  }
  if (ec) return make_error(ErrorCode::kIoError, "cannot list {}: {}", dir_.string(), ec.message());
  return {};
}

}  // namespace slipway::store
