#include "core/store/schema.h"

#include <string>

#include "core/error.h"
#include "core/store/sqlite_handle.h"

namespace statescope {
namespace {

// v1: the first schema. Generation parameters and stats were one JSON text each on the message row,
// which made "sort by tok/s" or "all runs on cuda" a scan with json_extract.
constexpr std::string_view kV1 = R"sql(
PRAGMA application_id = 1398035267;
CREATE TABLE models (
  id INTEGER PRIMARY KEY,
  path TEXT NOT NULL,
  model_type TEXT NOT NULL,
  content_hash TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  last_used INTEGER NOT NULL,
  UNIQUE (path, content_hash)
);
CREATE TABLE sessions (
  id INTEGER PRIMARY KEY,
  title TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  model_id INTEGER REFERENCES models(id) ON DELETE SET NULL,
  head_message_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,
  metadata TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX sessions_by_updated ON sessions(updated_at);
CREATE INDEX sessions_by_head ON sessions(head_message_id);
CREATE TABLE messages (
  id INTEGER PRIMARY KEY,
  session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  parent_id INTEGER REFERENCES messages(id) ON DELETE CASCADE,
  role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
  text TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT 'complete'
    CHECK (status IN ('complete', 'generating', 'interrupted', 'cancelled', 'failed')),
  created_at INTEGER NOT NULL,
  model_id INTEGER REFERENCES models(id) ON DELETE SET NULL,
  params_json TEXT,
  stats_json TEXT
);
CREATE INDEX messages_by_session ON messages(session_id, id);
CREATE INDEX messages_by_parent ON messages(parent_id);
CREATE INDEX messages_by_model ON messages(model_id);
CREATE TABLE analysis_runs (
  id INTEGER PRIMARY KEY,
  session_id INTEGER REFERENCES sessions(id) ON DELETE CASCADE,
  message_id INTEGER REFERENCES messages(id) ON DELETE CASCADE,
  model_id INTEGER REFERENCES models(id) ON DELETE SET NULL,
  kind TEXT NOT NULL,
  params TEXT NOT NULL DEFAULT '{}',
  result TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL
);
CREATE INDEX analysis_by_session ON analysis_runs(session_id);
CREATE INDEX analysis_by_message ON analysis_runs(message_id);
CREATE INDEX analysis_by_model ON analysis_runs(model_id);
CREATE TABLE comparisons (
  id INTEGER PRIMARY KEY,
  title TEXT NOT NULL DEFAULT '',
  prompt TEXT NOT NULL,
  settings TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL
);
CREATE TABLE comparison_entries (
  comparison_id INTEGER NOT NULL REFERENCES comparisons(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  session_id INTEGER REFERENCES sessions(id) ON DELETE SET NULL,
  model_id INTEGER REFERENCES models(id) ON DELETE SET NULL,
  PRIMARY KEY (comparison_id, position)
);
CREATE INDEX comparison_entries_by_session ON comparison_entries(session_id);
CREATE INDEX comparison_entries_by_model ON comparison_entries(model_id);
CREATE TABLE benchmark_runs (
  id INTEGER PRIMARY KEY,
  model_id INTEGER REFERENCES models(id) ON DELETE SET NULL,
  kind TEXT NOT NULL,
  params TEXT NOT NULL DEFAULT '{}',
  result TEXT NOT NULL DEFAULT '{}',
  machine TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL
);
CREATE INDEX benchmark_runs_by_model ON benchmark_runs(model_id);
)sql";

// v2: typed generation columns (moved out of the v1 JSON, with tok/s derived), content-addressed
// blobs with reference counts kept by triggers, FTS5 over message text kept in sync by triggers,
// and triggers that make the message tree append-only.
constexpr std::string_view kV2 = R"sql(
CREATE TABLE generations (
  message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
  sampler TEXT NOT NULL DEFAULT '{}',
  seed INTEGER,
  backend TEXT NOT NULL DEFAULT '',
  dtype TEXT NOT NULL DEFAULT '',
  device TEXT NOT NULL DEFAULT '',
  prompt_tokens INTEGER,
  generated_tokens INTEGER,
  ttft_s REAL,
  prefill_s REAL,
  decode_s REAL,
  prefill_tok_s REAL,
  decode_tok_s REAL,
  peak_memory_bytes INTEGER,
  state_bytes INTEGER,
  stop_reason TEXT NOT NULL DEFAULT ''
);
INSERT INTO generations (message_id, sampler, seed, backend, dtype, prompt_tokens,
                         generated_tokens, ttft_s, prefill_s, decode_s, prefill_tok_s, decode_tok_s)
SELECT id,
       coalesce(json_extract(params_json, '$.sampler'), '{}'),
       json_extract(params_json, '$.seed'),
       coalesce(json_extract(params_json, '$.backend'), ''),
       coalesce(json_extract(params_json, '$.dtype'), ''),
       json_extract(stats_json, '$.prompt_tokens'),
       json_extract(stats_json, '$.generated_tokens'),
       json_extract(stats_json, '$.ttft_s'),
       json_extract(stats_json, '$.prefill_s'),
       json_extract(stats_json, '$.decode_s'),
       CASE WHEN json_extract(stats_json, '$.prefill_s') > 0
            THEN json_extract(stats_json, '$.prompt_tokens') / json_extract(stats_json, '$.prefill_s')
       END,
       CASE WHEN json_extract(stats_json, '$.decode_s') > 0
            THEN json_extract(stats_json, '$.generated_tokens') / json_extract(stats_json, '$.decode_s')
       END
FROM messages WHERE params_json IS NOT NULL OR stats_json IS NOT NULL;
ALTER TABLE messages DROP COLUMN params_json;
ALTER TABLE messages DROP COLUMN stats_json;

CREATE TABLE blobs (
  hash TEXT PRIMARY KEY CHECK (length(hash) = 64),
  size INTEGER NOT NULL,
  ref_count INTEGER NOT NULL DEFAULT 0 CHECK (ref_count >= 0),
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX blobs_unreferenced ON blobs(ref_count) WHERE ref_count = 0;
CREATE TABLE message_blobs (
  message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  hash TEXT NOT NULL REFERENCES blobs(hash),
  PRIMARY KEY (message_id, name)
) WITHOUT ROWID;
CREATE INDEX message_blobs_by_hash ON message_blobs(hash);
CREATE TABLE analysis_blobs (
  analysis_id INTEGER NOT NULL REFERENCES analysis_runs(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  hash TEXT NOT NULL REFERENCES blobs(hash),
  PRIMARY KEY (analysis_id, name)
) WITHOUT ROWID;
CREATE INDEX analysis_blobs_by_hash ON analysis_blobs(hash);
CREATE TRIGGER message_blobs_ref AFTER INSERT ON message_blobs BEGIN
  UPDATE blobs SET ref_count = ref_count + 1 WHERE hash = NEW.hash;
END;
CREATE TRIGGER message_blobs_unref AFTER DELETE ON message_blobs BEGIN
  UPDATE blobs SET ref_count = ref_count - 1 WHERE hash = OLD.hash;
END;
CREATE TRIGGER message_blobs_fixed BEFORE UPDATE ON message_blobs BEGIN
  SELECT RAISE(ABORT, 'blob references are replaced (delete + insert), never updated');
END;
CREATE TRIGGER analysis_blobs_ref AFTER INSERT ON analysis_blobs BEGIN
  UPDATE blobs SET ref_count = ref_count + 1 WHERE hash = NEW.hash;
END;
CREATE TRIGGER analysis_blobs_unref AFTER DELETE ON analysis_blobs BEGIN
  UPDATE blobs SET ref_count = ref_count - 1 WHERE hash = OLD.hash;
END;
CREATE TRIGGER analysis_blobs_fixed BEFORE UPDATE ON analysis_blobs BEGIN
  SELECT RAISE(ABORT, 'blob references are replaced (delete + insert), never updated');
END;

CREATE TRIGGER messages_parent_in_session BEFORE INSERT ON messages
WHEN NEW.parent_id IS NOT NULL
 AND (SELECT session_id FROM messages WHERE id = NEW.parent_id) IS NOT NEW.session_id BEGIN
  SELECT RAISE(ABORT, 'the parent message is not in this session');
END;
CREATE TRIGGER messages_do_not_move BEFORE UPDATE OF session_id, parent_id ON messages BEGIN
  SELECT RAISE(ABORT, 'messages never move: an edit or a regeneration is a new sibling');
END;
CREATE TRIGGER messages_final_text BEFORE UPDATE OF text ON messages
WHEN OLD.status <> 'generating' BEGIN
  SELECT RAISE(ABORT, 'a finished message is never rewritten: an edit is a new sibling');
END;
CREATE TRIGGER sessions_head_in_session BEFORE UPDATE OF head_message_id ON sessions
WHEN NEW.head_message_id IS NOT NULL
 AND (SELECT session_id FROM messages WHERE id = NEW.head_message_id) IS NOT NEW.id BEGIN
  SELECT RAISE(ABORT, 'the head message is not in this session');
END;

CREATE VIRTUAL TABLE message_fts USING fts5(
  text, content = 'messages', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2');
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
  INSERT INTO message_fts (rowid, text) VALUES (NEW.id, NEW.text);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
  INSERT INTO message_fts (message_fts, rowid, text) VALUES ('delete', OLD.id, OLD.text);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
  INSERT INTO message_fts (message_fts, rowid, text) VALUES ('delete', OLD.id, OLD.text);
  INSERT INTO message_fts (rowid, text) VALUES (NEW.id, NEW.text);
END;
INSERT INTO message_fts (message_fts) VALUES ('rebuild');
)sql";

}  // namespace

const std::vector<Migration>& migrations() {
    static const std::vector<Migration> kAll = {
        {1, "sessions, message tree, models, analysis runs, comparisons, benchmark runs", kV1},
        {2, "typed generation stats, blobs, append-only tree, full-text search", kV2},
    };
    return kAll;
}

void migrate(Connection& db, int target) {
    for (const auto& step : migrations()) {
        if (step.version > target) break;
        Transaction tx(db);
        const auto current = db.query_int("PRAGMA user_version");
        if (current >= step.version) continue;  // done before, or by another process just now
        if (current != step.version - 1) {
            throw Error("session database " + db.path().string() + " is at schema v" +
                        std::to_string(current) + ", which no migration starts from");
        }
        try {
            db.exec(step.sql);
            db.exec("PRAGMA user_version = " + std::to_string(step.version));
            tx.commit();
        } catch (const Error& e) {
            throw Error("upgrading " + db.path().string() + " to schema v" +
                        std::to_string(step.version) + " (" + std::string(step.summary) +
                        ") failed; it stays at v" + std::to_string(current) +
                        " with its data as it was: " + e.what());
        }
    }
}

}  // namespace statescope
