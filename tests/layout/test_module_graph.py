"""Which module may include which (docs/architecture.md, "Dependency graph"): every
`#include "ringlane/<module>/..."` in production code must follow an edge of the graph below, a
module's private headers (anything outside its include/ringlane/<module>/ tree) are included only
from inside that module, and inside ringlane-vmm each room includes only the rooms below it. A new
edge is a design decision: add it here and in the document, with the reason."""
import os
import re
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import report  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))

# module -> the modules it may include (not transitively: each edge is written out).
MODULES = {
    "base": set(),
    "http": {"base"},
    "virtio": {"base"},
    "net": {"base", "virtio"},
    "vhost_user": {"base", "virtio", "net"},
    "blk": {"base", "virtio", "vhost_user"},
    "control": {"base", "virtio"},
    "vfio": {"base"},
    "uplink": {"base", "net"},
    "ethdev": {"base"},
    "sriov": {"base", "vfio"},
    "vmm": {"base", "http", "virtio", "net", "vhost_user", "vfio", "uplink"},
    "ctl": {"base", "http", "vfio", "sriov"},
    "dataplane": {"base", "http", "virtio", "net", "vhost_user", "blk", "control", "uplink",
                  "ethdev"},
}

# ringlane-vmm's rooms, lowest first: a room may include the rooms listed for it.
VMM_ROOMS = {
    "kvm": set(),
    "pci": {"kvm"},
    "devices": set(),
    "x86": {"kvm", "pci"},
    "machine": {"kvm", "pci", "devices", "x86"},
    "virtio": {"kvm", "pci", "machine"},
    "nic": {"kvm", "pci", "machine", "virtio"},
    "api": {"machine", "nic"},
    "main": {"kvm", "x86", "pci", "devices", "machine", "virtio", "nic", "api"},
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def sources(top):
    for d, _, names in os.walk(os.path.join(ROOT, top)):
        for n in names:
            if n.endswith((".cpp", ".h")):
                yield os.path.join(d, n)


def includes(path):
    with open(path, encoding="utf-8") as f:
        return INCLUDE.findall(f.read())


def vmm_room(path):
    rel = os.path.relpath(path, os.path.join(ROOT, "vmm"))
    parts = rel.split(os.sep)
    if parts[0] == "src" and len(parts) > 2:
        return parts[1]
    if parts[0] == "include" and len(parts) > 4:
        return parts[3]
    return "main"


class ModuleGraph(unittest.TestCase):
    def test_every_module_is_declared(self):
        on_disk = {d for d in os.listdir(ROOT)
                   if os.path.isfile(os.path.join(ROOT, d, "meson.build"))
                   and os.path.isdir(os.path.join(ROOT, d, "include", "ringlane", d))}
        self.assertEqual(on_disk, set(MODULES), "a module was added or removed: declare its edges here")

    def test_includes_follow_the_graph(self):
        wrong = []
        for module, allowed in MODULES.items():
            for path in sources(module):
                for inc in includes(path):
                    m = re.match(r"ringlane/(\w+)/", inc)
                    if m and m.group(1) != module and m.group(1) not in allowed:
                        wrong.append(f"{os.path.relpath(path, ROOT)} includes {inc}")
        self.assertEqual(wrong, [], "includes outside the module graph")

    def test_no_private_header_crosses_a_module(self):
        wrong = []
        for module in MODULES:
            for path in sources(module):
                for inc in includes(path):
                    if inc.startswith("ringlane/"):
                        continue
                    # A quoted include that is not a public header must be a file of this module.
                    target = os.path.normpath(os.path.join(os.path.dirname(path), inc))
                    inside = target.startswith(os.path.join(ROOT, module) + os.sep)
                    if not inside or not os.path.exists(target):
                        wrong.append(f"{os.path.relpath(path, ROOT)} includes {inc}")
        self.assertEqual(wrong, [], "private headers included from outside their module")

    def test_vmm_rooms_include_only_lower_rooms(self):
        wrong = []
        for path in sources("vmm"):
            room = vmm_room(path)
            self.assertIn(room, VMM_ROOMS, f"{path}: a room not declared here")
            for inc in includes(path):
                m = re.match(r"ringlane/vmm/(\w+)/", inc)
                if m and m.group(1) != room and m.group(1) not in VMM_ROOMS[room]:
                    wrong.append(f"{os.path.relpath(path, ROOT)} ({room}) includes {inc}")
        self.assertEqual(wrong, [], "rooms of ringlane-vmm including rooms above them")

    def test_the_checks_see_the_tree(self):
        # Guards against a check passing because it read nothing.
        self.assertGreater(sum(1 for m in MODULES for _ in sources(m)), 200)
        self.assertGreater(sum(1 for p in sources("vmm") if vmm_room(p) == "nic"), 10)


if __name__ == "__main__":
    report.main("layout_module_graph")
