// PredictionLogReader: walks one model's segments in order, verifying every frame, skipping damage
// it can step over and stopping cleanly at a torn tail (docs/prediction-log.md, "Damage").
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "slipway/serve/prediction_log.h"

namespace slipway::serve {

namespace {

constexpr size_t kReadChunk = size_t{1} << 20;

uint32_t load_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<uint8_t>(p[i])} << (8 * i);
  return v;
}

Result<std::vector<uint64_t>> list_segments(const std::filesystem::path& folder) {
  std::vector<uint64_t> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
    std::string name = entry.path().filename().string();
    if (!name.ends_with(".log") || name.size() <= 4) continue;
    uint64_t n = 0;
    auto [ptr, err] = std::from_chars(name.data(), name.data() + name.size() - 4, n);
    if (err == std::errc() && ptr == name.data() + name.size() - 4) out.push_back(n);
  }
  if (ec) return make_error(ErrorCode::kIoError, "cannot list {}: {}", folder.string(), ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

struct PredictionLogReader::State {
  std::filesystem::path folder;
  PredictionLogFilter filter;
  std::vector<uint64_t> segments;  // as last listed
  uint64_t segment = 0;            // number of the open (or next) segment
  std::filesystem::path path;
  int fd = -1;
  uint64_t offset = 0;  // of the next frame in the open segment
  bool header_checked = false;
  std::string buf;          // file bytes [buf_offset, buf_offset + buf.size())
  uint64_t buf_offset = 0;
  uint64_t file_size = 0;   // as of the last fstat
  std::vector<LogCorruption> corruptions;
  uint64_t torn_tail_bytes = 0;
  uint64_t unfinished_tail_bytes = 0;
  uint64_t records_read = 0;

  ~State() { close(); }
  void close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
    buf.clear();
    buf_offset = 0;
    file_size = 0;
    offset = 0;
    header_checked = false;
  }

  Status refresh_size() {
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      return make_error(ErrorCode::kIoError, "cannot stat {}: {}", path.string(), std::strerror(errno));
    }
    file_size = static_cast<uint64_t>(st.st_size);
    return {};
  }

  // The `n` bytes at file offset `at`, or an empty view when the file (as of now) is shorter.
  Result<std::string_view> bytes(uint64_t at, size_t n) {
    if (at >= buf_offset && at + n <= buf_offset + buf.size()) {
      return std::string_view(buf).substr(static_cast<size_t>(at - buf_offset), n);
    }
    if (at + n > file_size) {
      SLIPWAY_RETURN_IF_ERROR(refresh_size());
      if (at + n > file_size) return std::string_view();
    }
    size_t want = static_cast<size_t>(std::min<uint64_t>(std::max(n, kReadChunk), file_size - at));
    buf.resize(want);
    size_t got = 0;
    while (got < want) {
      ssize_t r = ::pread(fd, buf.data() + got, want - got, static_cast<off_t>(at + got));
      if (r < 0) {
        if (errno == EINTR) continue;
        buf.clear();
        return make_error(ErrorCode::kIoError, "cannot read {}: {}", path.string(), std::strerror(errno));
      }
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    buf.resize(got);
    buf_offset = at;
    if (got < n) return std::string_view();
    return std::string_view(buf).substr(0, n);
  }

  // Is there a complete, valid frame at `at`? Fills `payload` when so.
  Result<bool> valid_frame(uint64_t at, std::string_view& payload) {
    SLIPWAY_ASSIGN_OR_RETURN(std::string_view h, bytes(at, log_format::kFrameHeaderBytes));
    if (h.empty()) return false;
    if (load_u32(h.data()) != log_format::kRecordSync) return false;
    if (load_u32(h.data() + 12) != log_format::crc32c(h.data(), 12)) return false;
    uint32_t length = load_u32(h.data() + 4);
    uint32_t crc = load_u32(h.data() + 8);
    if (length > log_format::kMaxPayloadBytes) return false;
    SLIPWAY_ASSIGN_OR_RETURN(std::string_view p, bytes(at + log_format::kFrameHeaderBytes, length));
    if (p.size() != length) return false;
    if (log_format::crc32c(p.data(), p.size()) != crc) return false;
    payload = p;
    return true;
  }
};

PredictionLogReader::PredictionLogReader(std::unique_ptr<State> state) : state_(std::move(state)) {}
PredictionLogReader::PredictionLogReader(PredictionLogReader&&) noexcept = default;
PredictionLogReader& PredictionLogReader::operator=(PredictionLogReader&&) noexcept = default;
PredictionLogReader::~PredictionLogReader() = default;

Result<PredictionLogReader> PredictionLogReader::open(const std::filesystem::path& dir, std::string_view model,
                                                      PredictionLogFilter filter) {
  auto state = std::make_unique<State>();
  state->folder = dir / model_folder_name(model);
  state->filter = filter;
  std::error_code ec;
  if (!std::filesystem::is_directory(state->folder, ec)) {
    return make_error(ErrorCode::kNotFound, "no predictions logged for model '{}' (no folder {})", model,
                      state->folder.string());
  }
  SLIPWAY_ASSIGN_OR_RETURN(state->segments, list_segments(state->folder));
  state->segment = state->segments.empty() ? 1 : state->segments.front();
  return PredictionLogReader(std::move(state));
}

Result<std::vector<uint64_t>> PredictionLogReader::segments() const { return list_segments(state_->folder); }

Status PredictionLogReader::seek_to_segment(uint64_t first_segment) {
  State& s = *state_;
  s.close();
  SLIPWAY_ASSIGN_OR_RETURN(s.segments, list_segments(s.folder));
  auto it = std::lower_bound(s.segments.begin(), s.segments.end(), first_segment);
  s.segment = it == s.segments.end() ? first_segment : *it;
  return {};
}

LogPosition PredictionLogReader::position() const { return {state_->segment, state_->offset}; }
const std::vector<LogCorruption>& PredictionLogReader::corruptions() const { return state_->corruptions; }
uint64_t PredictionLogReader::torn_tail_bytes() const { return state_->torn_tail_bytes; }
uint64_t PredictionLogReader::unfinished_tail_bytes() const { return state_->unfinished_tail_bytes; }
uint64_t PredictionLogReader::records_read() const { return state_->records_read; }

Result<bool> PredictionLogReader::next(PredictionRecord& out) {
  State& s = *state_;
  // The segment after the open one, if a writer has started it (which makes the open one final).
  auto newer_segment = [&s]() -> Result<std::optional<uint64_t>> {
    SLIPWAY_ASSIGN_OR_RETURN(s.segments, list_segments(s.folder));
    auto it = std::upper_bound(s.segments.begin(), s.segments.end(), s.segment);
    if (it == s.segments.end()) return std::optional<uint64_t>();
    return std::optional<uint64_t>(*it);
  };
  // At the end of what the open segment holds now: move on if it is final, else wait for more.
  // Returns true when it moved to the next segment.
  auto at_end = [&]() -> Result<bool> {
    SLIPWAY_ASSIGN_OR_RETURN(auto newer, newer_segment());
    SLIPWAY_RETURN_IF_ERROR(s.refresh_size());
    if (!newer) {
      s.unfinished_tail_bytes = s.file_size > s.offset ? s.file_size - s.offset : 0;
      return false;
    }
    if (s.file_size > s.offset) s.torn_tail_bytes += s.file_size - s.offset;
    s.close();
    s.segment = *newer;
    return true;
  };

  for (;;) {
    if (s.fd < 0) {
      if (std::find(s.segments.begin(), s.segments.end(), s.segment) == s.segments.end()) {
        SLIPWAY_ASSIGN_OR_RETURN(s.segments, list_segments(s.folder));
        auto it = std::lower_bound(s.segments.begin(), s.segments.end(), s.segment);
        if (it == s.segments.end()) return false;
        s.segment = *it;
      }
      s.path = s.folder / log_format::segment_file_name(s.segment);
      s.fd = ::open(s.path.c_str(), O_RDONLY | O_CLOEXEC);
      if (s.fd < 0) {
        return make_error(ErrorCode::kIoError, "cannot open {}: {}", s.path.string(), std::strerror(errno));
      }
      s.offset = 0;
      s.header_checked = false;
    }
    if (!s.header_checked) {
      SLIPWAY_ASSIGN_OR_RETURN(std::string_view h, s.bytes(0, log_format::kSegmentHeaderBytes));
      if (h.empty()) {  // a segment being created, or one a killed writer left before its header
        SLIPWAY_ASSIGN_OR_RETURN(bool moved, at_end());
        if (!moved) return false;
        continue;
      }
      bool magic = std::memcmp(h.data(), log_format::kSegmentMagic, sizeof(log_format::kSegmentMagic)) == 0;
      bool crc_ok = load_u32(h.data() + 28) == log_format::crc32c(h.data(), 28);
      uint32_t version = load_u32(h.data() + 8);
      if (magic && crc_ok && version > log_format::kFormatVersion) {
        return make_error(ErrorCode::kUnsupportedVersion,
                          "{}: prediction log format version {} was written by a newer slipway (this one reads "
                          "up to {})",
                          s.path.string(), version, log_format::kFormatVersion);
      }
      s.header_checked = true;
      s.offset = log_format::kSegmentHeaderBytes;
      if (!magic || !crc_ok || version == 0) {
        // Not a segment we can trust: report it and skip the whole file.
        SLIPWAY_RETURN_IF_ERROR(s.refresh_size());
        s.corruptions.push_back({s.path, 0, s.file_size, !magic ? "not a prediction log segment (bad magic)"
                                                                : "segment header checksum mismatch"});
        s.offset = s.file_size;
        SLIPWAY_ASSIGN_OR_RETURN(bool moved, at_end());
        if (!moved) return false;
        continue;
      }
    }

    std::string_view payload;
    SLIPWAY_ASSIGN_OR_RETURN(bool valid, s.valid_frame(s.offset, payload));
    if (!valid) {
      // Incomplete at the end (a record still being written, or torn) or damaged. Look for the next
      // valid frame: found means damage in the middle (reported, skipped); not found means the bad
      // bytes run to the end, which is a torn tail.
      SLIPWAY_ASSIGN_OR_RETURN(std::string_view h, s.bytes(s.offset, log_format::kFrameHeaderBytes));
      std::string reason = "incomplete record";
      if (!h.empty()) {
        if (load_u32(h.data()) != log_format::kRecordSync || load_u32(h.data() + 12) != log_format::crc32c(h.data(), 12)) {
          reason = "bad record header";
        } else if (load_u32(h.data() + 4) > log_format::kMaxPayloadBytes) {
          reason = "record length out of range";
        } else {
          SLIPWAY_ASSIGN_OR_RETURN(std::string_view whole,
                                   s.bytes(s.offset + log_format::kFrameHeaderBytes, load_u32(h.data() + 4)));
          reason = whole.empty() ? "incomplete record" : "record checksum mismatch";
        }
      }
      std::optional<uint64_t> found;
      if (reason != "incomplete record") {
        SLIPWAY_RETURN_IF_ERROR(s.refresh_size());
        for (uint64_t at = s.offset + 1; at + log_format::kFrameHeaderBytes <= s.file_size; ++at) {
          SLIPWAY_ASSIGN_OR_RETURN(std::string_view sync, s.bytes(at, 4));
          if (sync.empty() || load_u32(sync.data()) != log_format::kRecordSync) continue;
          std::string_view p;
          SLIPWAY_ASSIGN_OR_RETURN(bool ok, s.valid_frame(at, p));
          if (ok) {
            found = at;
            break;
          }
        }
      }
      if (!found) {
        SLIPWAY_ASSIGN_OR_RETURN(bool moved, at_end());
        if (!moved) return false;
        continue;
      }
      s.corruptions.push_back({s.path, s.offset, *found - s.offset, reason});
      s.offset = *found;
      continue;
    }

    // Decoded into `out` in place (its buffers are reused record after record); on a record the
    // filter rejects, `out` is overwritten by the next one.
    Status decoded = log_format::decode_payload_into(payload, out);
    uint64_t frame_bytes = log_format::kFrameHeaderBytes + payload.size();
    if (!decoded.ok()) {
      // The checksum matched, so the writer itself wrote this; skip the record and say so.
      s.corruptions.push_back({s.path, s.offset, frame_bytes, decoded.message()});
      s.offset += frame_bytes;
      continue;
    }
    s.offset += frame_bytes;
    s.unfinished_tail_bytes = 0;
    ++s.records_read;
    if (!s.filter.matches(out)) continue;
    return true;
  }
}

Result<std::vector<std::string>> logged_models(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return out;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.is_directory()) out.push_back(model_from_folder_name(entry.path().filename().string()));
  }
  if (ec) return make_error(ErrorCode::kIoError, "cannot list {}: {}", dir.string(), ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace slipway::serve
