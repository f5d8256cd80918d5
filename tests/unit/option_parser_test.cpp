// parse_options: the one key=value[,key=value] parser behind --port and --nic. It keeps the
// items in order and refuses, naming the culprit, what no spec may hold.
#include "ringlane/base/option_parser.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ringlane {
namespace {

constexpr std::array<std::string_view, 3> kKeys = {"name", "path", "queues"};

// The error message of a failed parse ("(accepted)" when it unexpectedly succeeded).
std::string error_of(std::string_view spec) {
  Result<OptionList> options = parse_options(spec, kKeys);
  return options.ok() ? std::string("(accepted)") : options.error().message();
}

std::vector<std::pair<std::string, std::string>> items_of(std::string_view spec) {
  Result<OptionList> options = parse_options(spec, kKeys);
  EXPECT_TRUE(options.ok()) << spec << ": " << options.error().message();
  std::vector<std::pair<std::string, std::string>> items;
  if (options.ok()) {
    for (const Option& option : *options) items.emplace_back(option.key, option.value);
  }
  return items;
}

TEST(ParseOptions, KeepsTheOrderGiven) {
  using Items = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(items_of("path=/tmp/a.sock,name=a"), (Items{{"path", "/tmp/a.sock"}, {"name", "a"}}));
  EXPECT_EQ(items_of("queues=2"), (Items{{"queues", "2"}}));
}

TEST(ParseOptions, ValueIsEverythingAfterTheFirstEquals) {
  using Items = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(items_of("name=a=b,path="), (Items{{"name", "a=b"}, {"path", ""}}));
}

TEST(ParseOptions, ContainsTellsWhichKeysWereGiven) {
  Result<OptionList> options = parse_options("name=a,queues=4", kKeys);
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->size(), 2u);
  EXPECT_TRUE(options->contains("name"));
  EXPECT_TRUE(options->contains("queues"));
  EXPECT_FALSE(options->contains("path"));
}

TEST(ParseOptions, RefusesItemsThatAreNotKeyValue) {
  EXPECT_EQ(error_of(""), "expected key=value, got ''");
  EXPECT_EQ(error_of("name"), "expected key=value, got 'name'");
  EXPECT_EQ(error_of("name=a,"), "expected key=value, got ''");
  EXPECT_EQ(error_of("name=a,,path=b"), "expected key=value, got ''");
  EXPECT_EQ(error_of("=a"), "expected key=value, got '=a'");
}

TEST(ParseOptions, RefusesUnknownKeysListingTheKnownOnes) {
  EXPECT_EQ(error_of("name=a,colour=blue"), "unknown key 'colour' (known: name, path, queues)");
  // Keys are matched exactly: no case folding, no prefixes, no trimming.
  EXPECT_EQ(error_of("Name=a"), "unknown key 'Name' (known: name, path, queues)");
  EXPECT_EQ(error_of("nam=a"), "unknown key 'nam' (known: name, path, queues)");
  EXPECT_EQ(error_of(" name=a"), "unknown key ' name' (known: name, path, queues)");
}

TEST(ParseOptions, RefusesAKeyGivenTwice) {
  EXPECT_EQ(error_of("name=a,name=b"), "'name' given twice");
  EXPECT_EQ(error_of("name=a,path=x,name=a"), "'name' given twice");
}

TEST(ParseOptions, AQuotedValueMayHoldCommas) {
  using Items = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(items_of("name=\"a,b=c\",path=x"), (Items{{"name", "a,b=c"}, {"path", "x"}}));
  EXPECT_EQ(items_of("path=x,name=\"net_af_packet0,iface=eth0\""),
            (Items{{"path", "x"}, {"name", "net_af_packet0,iface=eth0"}}));
  EXPECT_EQ(error_of("name=\"a,b"), "unterminated quote in 'name=\"a,b'");
  EXPECT_EQ(error_of("name=\"a\"b,path=x"),
            "expected ',' after the quoted value in 'name=\"a\"b,path=x'");
  // A quote that does not open the value is an ordinary character.
  EXPECT_EQ(items_of("name=a\"b"), (Items{{"name", "a\"b"}}));
}

}  // namespace
}  // namespace ringlane
