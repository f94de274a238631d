// Conversions between the engine worker's values, the session store's records and the text the
// chat shows.
#pragma once

#include <QString>
#include <string>

#include "app/studio/engine_types.h"
#include "core/store/records.h"

namespace statescope::studio {

inline QString to_qstring(const std::string& s) {
    return QString::fromStdString(s);
}

// "system", "user", "assistant": the role names chat templates expect.
QString role_name(Role r);

// One line under a reply: token counts, TTFT, speeds, state size, backend and why it stopped.
QString stats_line(const Generation& g);

GenerationStats to_store_stats(const ReplyStats& r);

}  // namespace statescope::studio
