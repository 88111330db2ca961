// Errors as values. Every fallible function that crosses a subsystem boundary returns Status or
// Result<T>. The message says what was wrong and where (file, line, column, field) so a person can
// act on it; front ends (CLI, server) map ErrorCode to exit codes / HTTP statuses in one place
// (src/cli/exit_codes.h).
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace slipway {

enum class ErrorCode {
  kOk = 0,
  kInvalidArgument,    // the caller asked for something malformed (bad flag, bad ref syntax)
  kNotFound,           // a dataset, ref, file or object that does not exist
  kAlreadyExists,      // creating something that exists (a tag, a store)
  kParseError,         // outside input that cannot be read (CSV, JSON, YAML, SQL result)
  kValidationFailed,   // input read fine but broke a declared rule (schema on ingest)
  kIoError,            // the operating system said no (permissions, disk full)
  kCorrupt,            // stored data does not match its checksum or structure
  kUnsupportedVersion, // a format written by a newer slipway
  kFailedPrecondition, // the store is not initialised, a lock is held, ...
  kCancelled,
  kInternal,
};

const char* error_code_name(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok_status() { return {}; }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is prefixed with `context: `.
  Status with_context(const std::string& context) const {
    if (ok()) return *this;
    return Status(code_, context + ": " + message_);
  }

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

template <typename... Args>
Status make_error(ErrorCode code, fmt::format_string<Args...> format, Args&&... args) {
  return Status(code, fmt::format(format, std::forward<Args>(args)...));
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : data_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(data_).ok() && "Result constructed from an OK status");
  }

  bool ok() const { return std::holds_alternative<T>(data_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(data_);
  }
  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace slipway

#define SLIPWAY_CONCAT_INNER(a, b) a##b
#define SLIPWAY_CONCAT(a, b) SLIPWAY_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function when `expr` (a Status) is not OK.
#define SLIPWAY_RETURN_IF_ERROR(expr)                 \
  do {                                                \
    ::slipway::Status slipway_status_ = (expr);       \
    if (!slipway_status_.ok()) return slipway_status_; \
  } while (0)

// `SLIPWAY_ASSIGN_OR_RETURN(auto x, make_x());` — unwraps a Result or returns its Status.
#define SLIPWAY_ASSIGN_OR_RETURN(lhs, expr) \
  SLIPWAY_ASSIGN_OR_RETURN_IMPL(SLIPWAY_CONCAT(slipway_result_, __LINE__), lhs, expr)
#define SLIPWAY_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()
