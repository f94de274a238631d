// `statescope-cli chat --save`: the conversation kept in the session store as the studio keeps it.
// Each reply writes the messages of the active path the store does not have yet, under the parent
// they have in the Conversation, so /regen adds a sibling reply and /system a new branch: the same
// tree `sessions show` and the studio read back.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "core/chat/conversation.h"
#include "core/runtime/generate.h"
#include "core/store/session_store.h"

namespace statescope::cli {

class ChatRecorder {
  public:
    // Opens (or creates) the store at `db` and starts a new session for the model in `model_dir`.
    ChatRecorder(const std::filesystem::path& db, const std::filesystem::path& model_dir,
                 std::string backend, std::string dtype);

    // Saves what the reply `r` added to `c` (its node and the messages before it not saved yet).
    void save(const Conversation& c, const Conversation::Reply& r, const GenerateOptions& options);

    // /reset: the next message starts a new session.
    void restart();

    // Waits for the writes; the id of the current session (0 before the first reply).
    std::int64_t session_id();

  private:
    RowRef saved_row(const Conversation& c, int node);

    SessionStore store_;
    RowRef model_;
    std::string backend_, dtype_;
    RowRef session_;
    std::map<int, RowRef> rows_;  // Conversation node -> stored message
};

}  // namespace statescope::cli
