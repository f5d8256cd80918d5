#include <gtest/gtest.h>

#include "ringlane/vmm/nic/nic.h"

namespace ringlane::vmm {
namespace {

std::string error_of(const std::string& text) {
  Result<NicSpec> spec = parse_nic_spec(text, 0);
  return spec.ok() ? std::string("(accepted)") : spec.error().message();
}

TEST(NicSpec, PassthroughTakesAPciAddress) {
  Result<NicSpec> spec = parse_nic_spec("mode=passthrough,pci=00:02.0", 1);
  ASSERT_TRUE(spec.ok()) << spec.error().message();
  EXPECT_EQ(spec->mode, NicMode::passthrough);
  EXPECT_EQ(spec->pci, "0000:00:02.0");  // the long form sysfs uses
  EXPECT_EQ(spec->name, "net1");
  EXPECT_STREQ(to_string(spec->mode), "passthrough");
}

TEST(NicSpec, PassthroughRefusesWhatItCannotHonour) {
  EXPECT_EQ(error_of("mode=passthrough"), "pci= is required in mode passthrough");
  EXPECT_NE(error_of("mode=passthrough,pci=0000:00:20.0").find("is not a PCI address"),
            std::string::npos);
  EXPECT_NE(error_of("mode=passthrough,pci=00:02.0,tap=tap0").find("takes only pci="),
            std::string::npos);
  EXPECT_NE(error_of("mode=passthrough,pci=00:02.0,mac=52:54:00:00:00:01").find("only pci="),
            std::string::npos);
  EXPECT_EQ(error_of("mode=virtio,tap=tap0,pci=00:02.0"), "pci= is only for mode passthrough");
}

TEST(NicSpec, OtherModesUnchanged) {
  Result<NicSpec> spec = parse_nic_spec("mode=e1000,tap=tap0", 0);
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->mode, NicMode::emulated);
  EXPECT_TRUE(spec->pci.empty());
  EXPECT_NE(error_of("mode=bridge,tap=tap0").find("virtio, vhost or passthrough"),
            std::string::npos);
}

TEST(NicSpec, RefusesMalformedUnknownAndRepeatedKeys) {
  EXPECT_EQ(error_of("mode=virtio,tap"), "expected key=value, got 'tap'");
  EXPECT_EQ(error_of("mode=virtio,tap=tap0,colour=red"),
            "unknown key 'colour' (known: mode, tap, socket, daemon, port, peer, pci, mac, "
            "queue-size)");
  EXPECT_EQ(error_of("mode=virtio,tap=tap0,mode=vhost"), "'mode' given twice");
  EXPECT_EQ(error_of("tap=tap0"), "mode= is required");
}

}  // namespace
}  // namespace ringlane::vmm
