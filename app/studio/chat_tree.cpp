#include "app/studio/chat_tree.h"

#include <algorithm>
#include <map>

namespace statescope::studio {

int ChatTree::add(int parent, ChatNode node) {
    node.parent = parent;
    const int index = static_cast<int>(nodes_.size());
    nodes_.push_back(std::move(node));
    if (parent >= 0) nodes_[std::size_t(parent)].children.push_back(index);
    set_head(index);
    return index;
}

std::vector<int> ChatTree::path() const {
    std::vector<int> out;
    for (int n = head_; n >= 0; n = nodes_[std::size_t(n)].parent) out.push_back(n);
    std::reverse(out.begin(), out.end());
    return out;
}

std::vector<int> ChatTree::siblings(int node) const {
    const ChatNode& self = nodes_[std::size_t(node)];
    std::vector<int> out;
    if (self.parent >= 0) {
        for (int c : nodes_[std::size_t(self.parent)].children)
            if (nodes_[std::size_t(c)].role == self.role) out.push_back(c);
    } else {
        for (std::size_t i = 0; i < nodes_.size(); ++i)
            if (nodes_[i].parent < 0 && nodes_[i].role == self.role) out.push_back(int(i));
    }
    return out;
}

void ChatTree::set_head(int node) {
    head_ = node;
    for (int n = node; n >= 0 && nodes_[std::size_t(n)].parent >= 0;
         n = nodes_[std::size_t(n)].parent)
        nodes_[std::size_t(nodes_[std::size_t(n)].parent)].active_child = n;
}

void ChatTree::switch_to(int node) {
    int n = node;
    while (!nodes_[std::size_t(n)].children.empty()) {
        const ChatNode& c = nodes_[std::size_t(n)];
        n = c.active_child >= 0 ? c.active_child : c.children.back();
    }
    set_head(n);
}

ChatTree ChatTree::from_session(const Session& session) {
    ChatTree tree;
    std::map<std::int64_t, int> index_of;
    for (const Message& m : session.messages) {  // by id: parents come first
        ChatNode node;
        node.role = m.role;
        node.text = m.text;
        node.status = m.status;
        node.generation = m.generation;
        node.row = RowRef(m.id);
        int parent = -1;
        if (m.parent_id) {
            auto it = index_of.find(*m.parent_id);
            if (it != index_of.end()) parent = it->second;
        }
        index_of[m.id] = tree.add(parent, std::move(node));
    }
    if (session.head_message_id) {
        auto it = index_of.find(*session.head_message_id);
        if (it != index_of.end()) tree.set_head(it->second);
    }
    return tree;
}

}  // namespace statescope::studio
