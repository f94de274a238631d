#include "core/store/records.h"

#include <unordered_map>

namespace statescope {
namespace {

constexpr std::string_view kRoles[] = {"system", "user", "assistant", "tool"};
constexpr std::string_view kStatuses[] = {"complete", "generating", "interrupted", "cancelled",
                                          "failed"};

}  // namespace

std::string_view to_string(Role role) {
    return kRoles[static_cast<int>(role)];
}

std::string_view to_string(MessageStatus status) {
    return kStatuses[static_cast<int>(status)];
}

std::optional<Role> role_from_string(std::string_view s) {
    for (int i = 0; i < 4; ++i) {
        if (kRoles[i] == s) return static_cast<Role>(i);
    }
    return std::nullopt;
}

std::optional<MessageStatus> status_from_string(std::string_view s) {
    for (int i = 0; i < 5; ++i) {
        if (kStatuses[i] == s) return static_cast<MessageStatus>(i);
    }
    return std::nullopt;
}

std::vector<const Message*> visible_branch(const Session& session) {
    if (session.messages.empty()) return {};
    std::unordered_map<std::int64_t, const Message*> by_id;
    for (const auto& m : session.messages) by_id[m.id] = &m;
    const Message* leaf = &session.messages.back();
    if (session.head_message_id) {
        auto it = by_id.find(*session.head_message_id);
        if (it != by_id.end()) leaf = it->second;
    }
    std::vector<const Message*> path;
    // Parents precede children (ids grow), so the walk ends; the size bound guards a damaged tree.
    for (const Message* m = leaf; m != nullptr && path.size() <= session.messages.size();) {
        path.push_back(m);
        if (!m->parent_id) break;
        auto it = by_id.find(*m->parent_id);
        m = it == by_id.end() ? nullptr : it->second;
    }
    return {path.rbegin(), path.rend()};
}

}  // namespace statescope
