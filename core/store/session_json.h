// A session as one JSON document (format "statescope-session", version 1): the whole tree, every
// generation's parameters and stats, analysis runs with their results and blob bytes (base64).
// Lossless: importing a document and exporting the new session gives the same document.
// Reading is strict: a document this build does not fully understand is refused whole, with the
// JSON path at fault, before anything is written.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/store/session_reader.h"

namespace statescope {

constexpr int kSessionFormatVersion = 1;

// Keys in a fixed order (format, version, session, models, messages, analysis_runs, blobs).
nlohmann::ordered_json to_json(const SessionDocument& doc);
// `source` names the input in errors ("import session.json").
SessionDocument document_from_json(const nlohmann::json& j, const std::string& source);
// Parses text first; Error for text that is not JSON at all.
SessionDocument document_from_text(const std::string& text, const std::string& source);

}  // namespace statescope
