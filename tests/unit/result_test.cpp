// RINGLANE_TRY and RINGLANE_ASSIGN_OR_RETURN: the early returns that pass an error up unchanged,
// and (for the second) bind the value when there is none; the expression is evaluated once.
#include "ringlane/base/result.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace ringlane {
namespace {

Result<int> number(bool ok, int value = 7) {
  if (!ok) return Error(ENOENT, "no number");
  return value;
}

Result<std::unique_ptr<int>> boxed(bool ok) {
  if (!ok) return Error(ENOMEM, "no box");
  return std::make_unique<int>(42);
}

Result<int> twice(bool ok) {
  RINGLANE_ASSIGN_OR_RETURN(int n, number(ok));
  return 2 * n;
}

TEST(AssignOrReturn, BindsTheValueOrPassesTheErrorUp) {
  Result<int> good = twice(true);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 14);
  Result<int> bad = twice(false);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ENOENT);
  EXPECT_EQ(bad.error().message(), "no number");
}

// Into an existing lvalue, and out of a Result holding a move-only value.
Status fill(bool ok, std::unique_ptr<int>& out) {
  RINGLANE_ASSIGN_OR_RETURN(out, boxed(ok));
  return {};
}

TEST(AssignOrReturn, MovesIntoAnExistingLvalue) {
  std::unique_ptr<int> box;
  ASSERT_TRUE(fill(true, box).ok());
  ASSERT_NE(box, nullptr);
  EXPECT_EQ(*box, 42);
  std::unique_ptr<int> untouched = std::make_unique<int>(1);
  Status s = fill(false, untouched);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ENOMEM);
  EXPECT_EQ(*untouched, 1);
}

// Two in one scope (distinct hidden names), an expression with commas, evaluated once each.
Result<int> sum(int& calls) {
  auto counted = [&calls](bool ok, int value) {
    ++calls;
    return number(ok, value);
  };
  RINGLANE_ASSIGN_OR_RETURN(const int a, counted(true, 2));
  RINGLANE_ASSIGN_OR_RETURN(const int b, counted(true, 3));
  return a + b;
}

TEST(AssignOrReturn, TwoInOneScopeEachEvaluatedOnce) {
  int calls = 0;
  Result<int> s = sum(calls);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, 5);
  EXPECT_EQ(calls, 2);
}

Status check(bool ok) {
  RINGLANE_TRY(number(ok));
  return {};
}

TEST(Try, PassesTheErrorUp) {
  EXPECT_TRUE(check(true).ok());
  Status s = check(false);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(), "no number");
}

}  // namespace
}  // namespace ringlane
