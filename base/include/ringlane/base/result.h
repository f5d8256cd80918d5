// Result<T>: an expected-style return type for code that must not throw (the data path).
// An Error carries an errno value and a short human-readable message.
#pragma once

#include <cassert>
#include <cerrno>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace ringlane {

class Error {
 public:
  Error(int code, std::string message) : code_(code), message_(std::move(message)) {}

  int code() const { return code_; }
  const std::string& message() const { return message_; }
  // "message: strerror(code)" when code is non-zero.
  std::string to_string() const;

 private:
  int code_;
  std::string message_;
};

// Builds an Error from errno at the call site ("open /x: No such file or directory").
Error errno_error(std::string message);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value)
      : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }

  const Error& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    assert(!ok_);
    return error_;
  }

 private:
  Error error_{0, {}};
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace ringlane

// Propagates an error from an expression returning Result<...>.
#define RINGLANE_TRY(expr)                 \
  do {                                     \
    auto ringlane_try_result_ = (expr);    \
    if (!ringlane_try_result_.ok()) {      \
      return ringlane_try_result_.error(); \
    }                                      \
  } while (0)

// Evaluates `expr`, a Result<T>: returns its error from the enclosing function, or else moves its
// value into `lhs`, a new variable or an existing lvalue:
//   RINGLANE_ASSIGN_OR_RETURN(UniqueFd fd, listen_unix(path));
//   RINGLANE_ASSIGN_OR_RETURN(port.queue_pairs, parse_queue_pairs(value, where));
// It expands to several statements (the value outlives the macro), so it cannot be the body of an
// unbraced if. Where the error needs context added, test the Result by hand instead.
#define RINGLANE_ASSIGN_OR_RETURN(lhs, ...)                                                    \
  RINGLANE_ASSIGN_OR_RETURN_IMPL_(RINGLANE_CONCAT_(ringlane_assign_result_, __COUNTER__), lhs, \
                                  __VA_ARGS__)
#define RINGLANE_ASSIGN_OR_RETURN_IMPL_(result, lhs, ...) \
  auto result = (__VA_ARGS__);                            \
  if (!result.ok()) return result.error();                \
  lhs = std::move(result).value()  // NOLINT(bugprone-macro-parentheses): lhs may declare
#define RINGLANE_CONCAT_(a, b) RINGLANE_CONCAT_INNER_(a, b)
#define RINGLANE_CONCAT_INNER_(a, b) a##b
