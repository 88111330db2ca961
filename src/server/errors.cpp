#include "detail/errors.h"

namespace slipway::server::detail {

HttpError http_error_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return {200, "OK"};
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kValidationFailed: return {400, "INVALID_PARAMETER_VALUE"};
    case ErrorCode::kParseError: return {400, "MALFORMED_REQUEST"};
    case ErrorCode::kNotFound: return {404, "RESOURCE_DOES_NOT_EXIST"};
    case ErrorCode::kAlreadyExists: return {400, "RESOURCE_ALREADY_EXISTS"};  // MLflow answers 400 here
    case ErrorCode::kFailedPrecondition: return {500, "INVALID_STATE"};
    case ErrorCode::kCancelled: return {503, "TEMPORARILY_UNAVAILABLE"};
    case ErrorCode::kIoError: return {500, "IO_ERROR"};
    case ErrorCode::kCorrupt: return {500, "DATA_LOSS"};
    case ErrorCode::kUnsupportedVersion:
    case ErrorCode::kInternal: return {500, "INTERNAL_ERROR"};
  }
  return {500, "INTERNAL_ERROR"};
}

Response error_response(const Status& status) {
  HttpError e = http_error_for(status.code());
  return default_error_response(e.status, e.code, status.message());
}

}  // namespace slipway::server::detail
