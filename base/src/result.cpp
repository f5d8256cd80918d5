#include "ringlane/base/result.h"

#include <cstring>

namespace ringlane {

std::string Error::to_string() const {
  if (code_ == 0) return message_;
  return message_ + ": " + std::strerror(code_);
}

Error errno_error(std::string message) {
  return Error(errno, std::move(message));
}

}  // namespace ringlane
