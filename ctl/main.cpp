// ringlane-ctl: drives a running ringlane-vmm through its REST API (--api-sock).
#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "ringlane/ctl/api_client.h"
#include "ringlane/ctl/vm_view.h"

namespace {

using namespace ringlane;
using nlohmann::json;

// Exit status: 0 done, 1 ringlane-vmm refused the request, 2 bad command line, 3 no answer
// (cannot connect, timed out, or an answer that is not HTTP or not JSON).
constexpr int kRefused = 1;
constexpr int kBadUsage = 2;
constexpr int kUnreachable = 3;

struct Options {
  std::string api_sock;
  bool json = false;
  double timeout_s = 5.0;
};

int fail(const std::string& message, int status) {
  std::cerr << "ringlane-ctl: " << message << "\n";
  return status;
}

// One request; prints the answer (raw JSON or through `show`) and returns the exit status.
template <typename Show>
int call(const Options& o, const char* method, const std::string& path, const std::string& body,
         Show show) {
  auto timeout = std::chrono::milliseconds(static_cast<int64_t>(o.timeout_s * 1000.0));
  Result<ctl::ApiResponse> r = ctl::api_request(o.api_sock, method, path, body, timeout);
  if (!r.ok()) {
    const Error& e = r.error();
    // Timeouts and protocol errors say it all; for the rest the errno is the news.
    bool plain = e.code() == ETIMEDOUT || e.code() == EPROTO;
    return fail(plain ? e.message() : e.to_string(), kUnreachable);
  }
  json answer = json::parse(r->body, nullptr, false);
  if (r->status >= 400) {
    std::string message = answer.is_object() && answer.contains("fault_message") &&
                                  answer["fault_message"].is_string()
                              ? answer["fault_message"].get<std::string>()
                              : r->body;
    return fail(message + " (HTTP " + std::to_string(r->status) + ")", kRefused);
  }
  if (answer.is_discarded()) {
    return fail("ringlane-vmm API at " + o.api_sock +
                    " answered with something not JSON: " + r->body.substr(0, 200),
                kUnreachable);
  }
  if (o.json) {
    std::cout << r->body << "\n";
  } else {
    std::cout << show(answer);
  }
  return 0;
}

}  // namespace

int run_ctl(int argc, char** argv) {
  CLI::App app{
      "ringlane-ctl: shows and changes a running ringlane-vmm through the REST API it serves "
      "on --api-sock (HTTP/1.1 on a Unix socket)."};
  app.footer(
      "Commands:\n"
      "  vm status                   machine state, memory, VM exits, API request counts\n"
      "  vm nics                     every NIC: name, mode, model, MAC, frame and byte counters\n"
      "  vm set-mode NAME MODE       switch a NIC live to virtio (VMM thread and TAP) or vhost\n"
      "                              (ringlane over vhost-user; needs socket= on its --nic)\n"
      "Examples:\n"
      "  ringlane-ctl --api-sock /run/vm0.api vm nics\n"
      "  ringlane-ctl --api-sock /run/vm0.api vm set-mode net0 vhost\n"
      "Exit status: 0 done, 1 ringlane-vmm refused the request (its message is printed), 2 bad "
      "command line, 3 no answer (cannot connect, timed out, or not an HTTP/JSON answer).");
  app.require_subcommand(1);
  app.fallthrough();  // global options also after the command
  Options o;
  app.add_option("--api-sock", o.api_sock, "ringlane-vmm's API socket (its --api-sock)")
      ->required();
  app.add_flag("--json", o.json, "print ringlane-vmm's JSON answer as it is");
  app.add_option("--timeout", o.timeout_s, "seconds to wait for the whole exchange (default 5)")
      ->check(CLI::Range(0.001, 3600.0));

  CLI::App* vm = app.add_subcommand("vm", "the virtual machine: status, nics, set-mode");
  vm->require_subcommand(1);
  CLI::App* status = vm->add_subcommand("status", "machine state, memory, VM exits (GET /vm)");
  CLI::App* nics = vm->add_subcommand("nics", "NICs with mode and counters (GET /vm/nics)");
  CLI::App* set_mode =
      vm->add_subcommand("set-mode", "switch a NIC's mode live (PUT /vm/nics/NAME)");
  std::string nic_name, mode;
  set_mode->add_option("NAME", nic_name, "the NIC, as vm nics names it (net0, net1, ...)")
      ->required();
  set_mode->add_option("MODE", mode, "virtio or vhost")
      ->required()
      ->check(CLI::IsMember({"virtio", "vhost"}));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kBadUsage;
  }

  if (status->parsed()) return call(o, "GET", "/vm", "", ctl::format_vm);
  if (nics->parsed()) return call(o, "GET", "/vm/nics", "", ctl::format_nics);
  if (set_mode->parsed()) {
    for (char c : nic_name) {
      if (c <= ' ' || c >= 0x7f || c == '/' || c == '?' || c == '#') {
        return fail("NIC name '" + nic_name + "': printable ASCII without '/', '?' or '#'",
                    kBadUsage);
      }
    }
    return call(o, "PUT", "/vm/nics/" + nic_name, json{{"mode", mode}}.dump(), ctl::format_nic);
  }
  return fail("no command (see --help)", kBadUsage);
}

// Out of memory is the only exception left by here (CLI11 errors are handled above).
int main(int argc, char** argv) {
  try {
    return run_ctl(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "ringlane-ctl: " << e.what() << "\n";
    return 1;
  }
}
