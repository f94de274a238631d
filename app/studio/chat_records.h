// The session store's records as the chat shows them (a reply's statistics come from the engine
// already in the store's form: core/chat/reply_stats.h).
#pragma once

#include <QString>
#include <string>

#include "core/store/records.h"

namespace statescope::studio {

inline QString to_qstring(const std::string& s) {
    return QString::fromStdString(s);
}

// "system", "user", "assistant": the role names chat templates expect.
QString role_name(Role r);

// One line under a reply: token counts, TTFT, speeds, state size, backend and why it stopped.
QString stats_line(const Generation& g);

}  // namespace statescope::studio
