#include "ringlane/ctl/spec_json.h"

#include <gtest/gtest.h>

#include "ringlane/ctl/api_call.h"

namespace ringlane::ctl {
namespace {

using nlohmann::json;

TEST(SpecJsonTest, KeysAndValuesAsStrings) {
  Result<json> r = spec_json("name=vm2,path=/tmp/x.sock,queues=2", SpecOf::kPort);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(*r, json::parse(R"({"name": "vm2", "path": "/tmp/x.sock", "queues": "2"})"));
}

TEST(SpecJsonTest, QuotedValuesKeepTheirCommas) {
  Result<json> r =
      spec_json(R"(name=up0,kind=dpdk,devargs="net_pcap0,iface=lo",queues=1)", SpecOf::kPort);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ((*r)["devargs"], "net_pcap0,iface=lo");
  EXPECT_EQ((*r)["queues"], "1");
  EXPECT_EQ(r->size(), 4u);
  // Quoted last, and quoted empty.
  r = spec_json(R"(name=a,devargs="x,y")", SpecOf::kPort);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["devargs"], "x,y");
  r = spec_json(R"(name="",path=p)", SpecOf::kPort);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["name"], "");
}

TEST(SpecJsonTest, ValuesMayHoldEqualsAndBeEmpty) {
  Result<json> r = spec_json("name=a,path=/tmp/a=b,disable=", SpecOf::kPort);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["path"], "/tmp/a=b");
  EXPECT_EQ((*r)["disable"], "");
}

TEST(SpecJsonTest, UnknownKeysAreTheDaemonsToRefuse) {
  Result<json> r = spec_json("name=a,colour=blue", SpecOf::kPort);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["colour"], "blue");
}

TEST(SpecJsonTest, WhatNoSpecCanBe) {
  struct Case {
    const char* spec;
    const char* message;
  };
  for (const Case& c : {
           Case{"", "expected key=value, got ''"},
           Case{"name=a,", "expected key=value, got ''"},
           Case{"name=a,,path=b", "expected key=value, got ''"},
           Case{"name", "expected key=value, got 'name'"},
           Case{"name=a,readonly", "expected key=value, got 'readonly'"},
           Case{"=a", "expected key=value, got '=a'"},
           Case{"name=a,name=b", "'name' given twice"},
           Case{R"(name=a,devargs="x,y)", R"(unterminated quote in 'devargs="x,y')"},
           Case{R"(name=a,devargs="x"y,q=1)",
                R"(expected ',' after the quoted value in 'devargs="x"y,q=1')"},
           Case{"name=a,peer=b", "'peer' is not a port key: give the peer with --peer NAME"},
       }) {
    Result<json> r = spec_json(c.spec, SpecOf::kPort);
    ASSERT_FALSE(r.ok()) << c.spec;
    EXPECT_EQ(r.error().code(), EINVAL);
    EXPECT_EQ(r.error().message(), c.message) << c.spec;
  }
}

TEST(SpecJsonTest, DisksSplitAlikeAndHaveNoPeerRule) {
  Result<json> r =
      spec_json("name=d1,path=/run/d1.sock,file=/var/lib/d1.img,queues=2", SpecOf::kDisk);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(*r, json::parse(R"({"name": "d1", "path": "/run/d1.sock",
      "file": "/var/lib/d1.img", "queues": "2"})"));
  r = spec_json(R"(name=d1,path=p,file="/srv/a,b.img",readonly=on)", SpecOf::kDisk);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ((*r)["file"], "/srv/a,b.img");
  EXPECT_EQ((*r)["readonly"], "on");
  // "peer" is refused for ports only, by ringlane-ctl; for a disk it is the daemon's unknown key.
  r = spec_json("name=d1,peer=x", SpecOf::kDisk);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["peer"], "x");
  // The form is checked alike.
  for (const char* spec : {"", "name=d1,file", "name=d1,name=d2", R"(file="x)"}) {
    r = spec_json(spec, SpecOf::kDisk);
    ASSERT_FALSE(r.ok()) << spec;
    EXPECT_EQ(r.error().code(), EINVAL);
    EXPECT_EQ(r.error().message(), spec_json(spec, SpecOf::kPort).error().message()) << spec;
  }
}

TEST(PathSegmentTest, NamesReachTheApiAsTheyAre) {
  EXPECT_EQ(path_segment("vm0"), "vm0");
  EXPECT_EQ(path_segment("A-z_0.9~"), "A-z_0.9~");
  EXPECT_EQ(path_segment("a b/c?d#e%f"), "a%20b%2Fc%3Fd%23e%25f");
  EXPECT_EQ(path_segment("\xff"), "%FF");
  EXPECT_EQ(path_segment(""), "");
}

}  // namespace
}  // namespace ringlane::ctl
