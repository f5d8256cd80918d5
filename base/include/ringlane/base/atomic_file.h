// State files that survive a crash whole: the new contents go to a temporary file beside the
// target, are flushed, and replace it by rename(), so a reader (or the next run after a crash)
// sees either the old contents or the new, never a torn mix.
#pragma once

#include <string>

#include "ringlane/base/result.h"
#include "ringlane/base/unique_fd.h"

namespace ringlane {

// Replaces `path` with `contents` atomically (mode 0644), creating missing parent directories.
Status write_file_atomically(const std::string& path, const std::string& contents);

// Takes an exclusive flock on "<path>.lock" (created, with missing parent directories), so that
// processes changing the state file at `path` take turns; released when the fd closes. Locks
// belong to the open file: one process must not take the same one twice.
Result<UniqueFd> lock_state_file(const std::string& path);

// The whole file; ENOENT when it does not exist (callers often treat that as "empty state").
Result<std::string> read_file(const std::string& path);

}  // namespace ringlane
