// The conversation on screen as a tree (edits and regenerations are siblings), mirrored into the
// session store as it changes: text, stats and store rows, on the UI thread. The engine's side of
// the same tree is core/chat's Conversation on the worker thread (state snapshots, the rendered
// prompt); each GenerationRequest carries the branch by node, so the two stay node for node.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/store/records.h"
#include "core/store/row_ref.h"

namespace statescope::studio {

struct ChatNode {
    int parent = -1;  // -1: a root
    Role role = Role::User;
    std::string text;
    MessageStatus status = MessageStatus::Complete;
    std::optional<Generation> generation;
    RowRef row;  // in the store; null when not stored
    std::vector<int> children;
    int active_child = -1;  // the child last on screen: switching back shows that branch again
};

class ChatTree {
  public:
    const std::vector<ChatNode>& nodes() const { return nodes_; }
    ChatNode& node(int i) { return nodes_[std::size_t(i)]; }
    const ChatNode& node(int i) const { return nodes_[std::size_t(i)]; }
    bool empty() const { return nodes_.empty(); }
    int head() const { return head_; }
    void set_head(int node);  // and remembers the path to it as the branch on screen
    void clear() {
        nodes_.clear();
        head_ = -1;
    }

    // Adds a child of `parent` (-1: a root) and makes it the head.
    int add(int parent, ChatNode node);
    // root .. head
    std::vector<int> path() const;
    // `node` and its siblings (same parent, same role), oldest first.
    std::vector<int> siblings(int node) const;
    // Shows `node`'s branch: the head becomes its descendant along the children last on screen
    // (the newest where none was).
    void switch_to(int node);

    // From a stored session: ids map to nodes, the session's head becomes the head.
    static ChatTree from_session(const Session& session);

  private:
    std::vector<ChatNode> nodes_;
    int head_ = -1;
};

}  // namespace statescope::studio
