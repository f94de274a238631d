// store_make_fixture VERSION OUT.db: writes the fixture database of schema VERSION that
// tests/data/store/ keeps (see the README there). The schema comes from this build's own migrations
// 1..VERSION, the rows from SQL written against that version's tables, so a fixture is exactly what
// a build of that version left on disk. Every version holds the same conversation, which lets the
// migration test expect one result from all of them.
#include <cstdio>
#include <filesystem>
#include <string>

#include <sqlite3.h>

#include "core/error.h"
#include "core/store/schema.h"
#include "core/store/sqlite_handle.h"

using namespace statescope;

namespace {

// Rows every version has in the same shape.
constexpr const char* kCommon = R"sql(
INSERT INTO models VALUES (1, '/models/mamba-130m', 'mamba',
  'ab12000000000000000000000000000000000000000000000000000000000000', 1700000000000, 1700000500000);
INSERT INTO sessions VALUES (1, 'Ocean chat', 1700000000000, 1700000300000, 1, NULL, '{"template":"chatml"}');
INSERT INTO sessions VALUES (2, 'Second', 1700000400000, 1700000400500, NULL, NULL, '{}');
INSERT INTO analysis_runs VALUES (1, 1, 3, 1, 'logit_lens', '{"layers":[0,1]}', '{"top":["salt"]}', 1700000100000);
INSERT INTO comparisons VALUES (1, 'salt vs blue', 'Why is the ocean salty?', '{}', 1700000200000);
INSERT INTO comparison_entries VALUES (1, 0, 1, 1);
INSERT INTO comparison_entries VALUES (1, 1, 2, NULL);
INSERT INTO benchmark_runs VALUES (1, 1, 'decode', '{"tokens":128}', '{"tok_s":512.5}', '{"cpu":"test"}', 1700000600000);
)sql";

// v1: generation parameters and stats as JSON on the message row.
constexpr const char* kV1Messages = R"sql(
INSERT INTO messages VALUES (1, 1, NULL, 'system', 'You are a marine biologist.', 'complete', 1700000000001, NULL, NULL, NULL);
INSERT INTO messages VALUES (2, 1, 1, 'user', 'Why is the ocean salty?', 'complete', 1700000000002, NULL, NULL, NULL);
INSERT INTO messages VALUES (3, 1, 2, 'assistant', 'Rivers carry dissolved minerals into it.', 'complete', 1700000000003, 1,
  '{"sampler":{"temperature":0.8},"seed":7,"backend":"cpu","dtype":"float32"}',
  '{"prompt_tokens":10,"generated_tokens":20,"ttft_s":0.05,"prefill_s":0.025,"decode_s":0.5}');
INSERT INTO messages VALUES (4, 1, 2, 'assistant', 'Rocks weather into salt.', 'complete', 1700000000004, 1,
  '{"sampler":{"temperature":1.0},"seed":8,"backend":"cpu","dtype":"float32"}',
  '{"prompt_tokens":10,"generated_tokens":5,"prefill_s":0,"decode_s":0.25}');
INSERT INTO messages VALUES (5, 1, 1, 'user', 'Why is the sea blue?', 'complete', 1700000000005, NULL, NULL, NULL);
INSERT INTO messages VALUES (6, 1, 5, 'assistant', 'Water absorbs red light.', 'complete', 1700000000006, 1,
  '{"sampler":{},"seed":9,"backend":"cuda","dtype":"bfloat16"}', NULL);
INSERT INTO messages VALUES (7, 2, NULL, 'user', 'hello waves', 'complete', 1700000400001, NULL, NULL, NULL);
INSERT INTO messages VALUES (8, 2, 7, 'assistant', 'Hel', 'interrupted', 1700000400002, NULL, NULL, NULL);
)sql";

// v2: the same, with typed generation rows.
constexpr const char* kV2Messages = R"sql(
INSERT INTO messages VALUES (1, 1, NULL, 'system', 'You are a marine biologist.', 'complete', 1700000000001, NULL);
INSERT INTO messages VALUES (2, 1, 1, 'user', 'Why is the ocean salty?', 'complete', 1700000000002, NULL);
INSERT INTO messages VALUES (3, 1, 2, 'assistant', 'Rivers carry dissolved minerals into it.', 'complete', 1700000000003, 1);
INSERT INTO messages VALUES (4, 1, 2, 'assistant', 'Rocks weather into salt.', 'complete', 1700000000004, 1);
INSERT INTO messages VALUES (5, 1, 1, 'user', 'Why is the sea blue?', 'complete', 1700000000005, NULL);
INSERT INTO messages VALUES (6, 1, 5, 'assistant', 'Water absorbs red light.', 'complete', 1700000000006, 1);
INSERT INTO messages VALUES (7, 2, NULL, 'user', 'hello waves', 'complete', 1700000400001, NULL);
INSERT INTO messages VALUES (8, 2, 7, 'assistant', 'Hel', 'interrupted', 1700000400002, NULL);
INSERT INTO generations VALUES (3, '{"temperature":0.8}', 7, 'cpu', 'float32', '', 10, 20, 0.05, 0.025, 0.5, 400.0, 40.0, NULL, NULL, '');
INSERT INTO generations VALUES (4, '{"temperature":1.0}', 8, 'cpu', 'float32', '', 10, 5, NULL, 0, 0.25, NULL, 20.0, NULL, NULL, '');
INSERT INTO generations VALUES (6, '{}', 9, 'cuda', 'bfloat16', '', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '');
)sql";

constexpr const char* kHeads = R"sql(
UPDATE sessions SET head_message_id = 6 WHERE id = 1;
UPDATE sessions SET head_message_id = 8 WHERE id = 2;
)sql";

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s VERSION OUT.db\n", argv[0]);
        return 2;
    }
    const int version = std::stoi(argv[1]);
    const std::filesystem::path out = argv[2];
    try {
        if (version < 1 || version > kSchemaVersion)
            throw Error("no schema version " + std::string(argv[1]));
        std::filesystem::remove(out);
        {
            Connection db(out, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
            // A single self-contained file (no -wal) is what goes into git.
            db.exec("PRAGMA journal_mode = DELETE");
            // Small pages keep the binary fixtures in git small; nothing depends on page size.
            db.exec("PRAGMA page_size = 1024");
            migrate(db, version);
            db.exec("BEGIN");
            db.exec(kCommon);
            db.exec(version == 1 ? kV1Messages : kV2Messages);
            db.exec(kHeads);
            db.exec("COMMIT");
            db.exec("VACUUM");
        }
        std::printf("%s: schema v%d\n", out.c_str(), version);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "store_make_fixture: %s\n", e.what());
        return 1;
    }
    return 0;
}
