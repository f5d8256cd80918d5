// key=value[,key=value...] specs, as ringlane's --port and ringlane-vmm's --nic take them (and
// later disks and uplinks): one parser, so that every spec refuses the same mistakes in the same
// words. It checks the form only (each item key=value, each key known and given once); what a
// value means is the caller's to check.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ringlane/base/result.h"

namespace ringlane {

struct Option {
  std::string key;
  // Everything after the item's first '=' (may be empty, may hold '='); for a value written in
  // double quotes, what is between them (it may hold ',').
  std::string value;
};

// A parsed spec: its options in the order given, each key at most once.
class OptionList {
 public:
  explicit OptionList(std::vector<Option> options) : options_(std::move(options)) {}

  auto begin() const { return options_.begin(); }
  auto end() const { return options_.end(); }
  size_t size() const { return options_.size(); }
  bool contains(std::string_view key) const;

 private:
  std::vector<Option> options_;
};

// Splits `spec` at every ',' (but those inside a value in double quotes, as in
// devargs="net_af_packet0,iface=eth0") into key=value items. Refuses, naming the item or key: an
// item without '=' or with an empty key (an empty spec is one empty item), a key not in `known`
// (the message lists them, in the order given), and a key given twice.
Result<OptionList> parse_options(std::string_view spec, std::span<const std::string_view> known);

}  // namespace ringlane
