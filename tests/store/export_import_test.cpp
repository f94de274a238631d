// Export/import: JSON is lossless (import(export(x)) exports as x, into the same database or
// another), Markdown shows the branch on screen, and a bad document writes nothing at all.
#include "core/error.h"
#include "core/store/session_json.h"
#include "core/store/session_markdown.h"
#include "tests/store/store_test_util.h"

namespace statescope {
namespace {

using namespace statescope::test;
using nlohmann::json;

json export_json(SessionStore& store, std::int64_t id) {
    return to_json(store.reader().export_document(id));
}

std::size_t count_files(const fs::path& dir) {
    std::size_t n = 0;
    if (!fs::exists(dir)) return 0;
    for (const auto& e : fs::recursive_directory_iterator(dir)) n += e.is_regular_file();
    return n;
}

TEST(store_export_import, JsonRoundTripIsExact) {
    ScratchDir dir;
    SessionStore store(dir / "a.db");
    const auto ids = make_sample_session(store);
    const json first = export_json(store, ids.session);
    const std::string text = first.dump(2);

    // Into the same database: a new session, the same document.
    const auto copy = store.import_document(document_from_text(text, "test"));
    EXPECT_NE(copy, ids.session);
    EXPECT_EQ(export_json(store, copy).dump(2), text);

    // Into another database: the same again, blobs included.
    SessionStore other(dir / "b.db");
    const auto moved = other.import_document(document_from_text(text, "test"));
    EXPECT_EQ(export_json(other, moved).dump(2), text);
    const auto run = other.reader().session(moved)->analysis_runs.at(0);
    EXPECT_EQ(other.reader().read_blob(run.blobs[0].hash), std::vector<std::uint8_t>(3000, 7));

    // The document really carries everything (guards against a round trip of an empty shell).
    EXPECT_EQ(first["messages"].size(), 6u);
    EXPECT_EQ(first["analysis_runs"].size(), 1u);
    EXPECT_EQ(first["blobs"].size(), 3u);
    EXPECT_EQ(first["models"].size(), 1u);
    EXPECT_EQ(first["session"]["head"], 6);
    EXPECT_EQ(first["messages"][3]["text"], "Gulf Stream, mostly.");
    EXPECT_EQ(first["messages"][2]["generation"]["decode_tok_s"],
              sample_stats().decode_tok_s.value());
    EXPECT_EQ(first["messages"][2]["generation"]["seed"], 1234567890123LL);
    EXPECT_EQ(first["session"]["metadata"]["template"], "chatml");

    // Times survive too, not only content.
    const auto a = store.reader().session(ids.session);
    const auto b = other.reader().session(moved);
    EXPECT_EQ(a->created_at_ms, b->created_at_ms);
    EXPECT_EQ(a->updated_at_ms, b->updated_at_ms);
    EXPECT_EQ(a->messages[4].created_at_ms, b->messages[4].created_at_ms);
}

TEST(store_export_import, MarkdownShowsTheVisibleBranch) {
    ScratchDir dir;
    SessionStore store(dir / "a.db");
    const auto ids = make_sample_session(store, "Tides & currents");
    auto r = store.reader();
    const auto s = r.session(ids.session);
    std::map<std::int64_t, ModelInfo> models;
    for (const auto& m : r.models()) models[m.id] = m.info;
    const std::string md = to_markdown(*s, models);
    EXPECT_EQ(md.rfind("# Tides & currents\n", 0), 0u) << md;
    EXPECT_NE(md.find("## System\n\nYou are terse.\n"), std::string::npos) << md;
    EXPECT_NE(md.find("## User\n\nTell me about tides (edited)\n"), std::string::npos) << md;
    EXPECT_NE(md.find("## Assistant\n\nThe moon pulls.\n"), std::string::npos) << md;
    EXPECT_EQ(md.find("Currents move heat"), std::string::npos) << "not on the branch shown";
    EXPECT_EQ(md.find("ocean currents"), std::string::npos) << "the pre-edit question is not shown";
    EXPECT_NE(md.find("version 2 of 2"), std::string::npos) << md;
    EXPECT_NE(md.find("temperature=0.7"), std::string::npos) << md;
    EXPECT_NE(md.find("`/models/mamba-130m` (mamba)"), std::string::npos) << md;
    EXPECT_NE(md.find("6 messages"), std::string::npos) << md;
}

struct BadCase {
    const char* name;
    std::function<void(json&)> damage;
    const char* expected;  // part of the message: the JSON path at fault
};

TEST(store_export_import, MalformedDocumentsWriteNothing) {
    ScratchDir dir;
    const fs::path db = dir / "a.db";
    SessionStore store(db);
    const auto ids = make_sample_session(store);
    const json good = export_json(store, ids.session);
    const std::string hash = good["blobs"].begin().key();
    const std::vector<BadCase> cases = {
        {"wrong format", [](json& j) { j["format"] = "chat"; }, "format"},
        {"newer version", [](json& j) { j["version"] = 2; }, "newer Statescope"},
        {"no session", [](json& j) { j.erase("session"); }, "session: is missing"},
        {"forward parent", [](json& j) { j["messages"][1]["parent"] = 5; }, "messages[1].parent"},
        {"self parent", [](json& j) { j["messages"][2]["parent"] = 3; }, "messages[2].parent"},
        {"duplicate id", [](json& j) { j["messages"][3]["id"] = 1; }, "messages[3].id"},
        {"bad role", [](json& j) { j["messages"][0]["role"] = "robot"; }, "messages[0].role"},
        {"bad status", [](json& j) { j["messages"][0]["status"] = "ok"; }, "messages[0].status"},
        {"text not string", [](json& j) { j["messages"][0]["text"] = 5; }, "messages[0].text"},
        {"time not integer", [](json& j) { j["messages"][0]["created_at"] = "today"; },
         "created_at"},
        {"bad head", [](json& j) { j["session"]["head"] = 99; }, "session.head"},
        {"bad model index", [](json& j) { j["messages"][2]["model"] = 3; }, "messages[2].model"},
        {"unknown field", [](json& j) { j["messages"][0]["mood"] = "happy"; }, "messages[0].mood"},
        {"stats wrong type", [](json& j) { j["messages"][2]["generation"]["ttft_s"] = "fast"; },
         "generation.ttft_s"},
        {"blob bytes tampered", [&](json& j) { j["blobs"][hash] = "AAAA"; }, "do not match"},
        {"blob not base64", [&](json& j) { j["blobs"][hash] = "!!!"; }, "not valid base64"},
        {"blob missing", [&](json& j) { j["blobs"].erase(hash); }, "no bytes for referenced blob"},
        {"blob unreferenced", [](json& j) { j["blobs"][std::string(64, 'e')] = ""; },
         "not referenced"},
        {"blob bad hash", [](json& j) { j["messages"][5]["blobs"][0]["hash"] = "x"; },
         "messages[5].blobs[0].hash"},
        {"run message", [](json& j) { j["analysis_runs"][0]["message"] = 42; },
         "analysis_runs[0].message"},
        {"not an object",
         [](json& j) {
             j = json::array({1, 2});
         },
         "must be an object"},
    };
    const auto sessions_before = store.reader().session_count();
    const auto files_before = count_files(BlobFiles(db).folder());
    for (const auto& c : cases) {
        json j = good;
        c.damage(j);
        try {
            store.import_document(document_from_text(j.dump(), "import bad.json"));
            ADD_FAILURE() << c.name << ": accepted";
        } catch (const Error& e) {
            const std::string msg = e.what();
            EXPECT_NE(msg.find(c.expected), std::string::npos) << c.name << ": " << msg;
            EXPECT_EQ(msg.rfind("import bad.json: ", 0), 0u) << c.name << ": " << msg;
        }
    }
    for (const char* text : {"", "{", "{\"format\": \"statescope-session\",", "null", "[]"}) {
        EXPECT_THROW(document_from_text(text, "import bad.json"), Error) << text;
    }
    EXPECT_EQ(store.reader().session_count(), sessions_before);
    EXPECT_EQ(count_files(BlobFiles(db).folder()), files_before);
    // The good document still imports: the cases above failed for their damage alone.
    EXPECT_NO_THROW(store.import_document(document_from_json(good, "good")));
}

TEST(store_export_import, FailureHalfWayThroughTheTransactionLeavesNothing) {
    // Valid documents can still fail while being written (here: the blob folder cannot be
    // created); the session rows written before that point must roll back with it.
    ScratchDir dir;
    SessionStore source(dir / "a.db");
    const auto ids = make_sample_session(source);
    const auto doc = source.reader().export_document(ids.session);

    const fs::path db = dir / "b.db";
    SessionStore store(db);
    write_file(BlobFiles(db).folder(), "a file where the blob folder should be");
    try {
        store.import_document(doc);
        FAIL() << "the import should fail on the blob folder";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("blob"), std::string::npos) << e.what();
    }
    auto r = store.reader();
    EXPECT_EQ(r.session_count(), 0);
    EXPECT_EQ(r.connection().query_int("SELECT count(*) FROM messages"), 0);
    EXPECT_EQ(r.connection().query_int("SELECT count(*) FROM models"), 0);
    EXPECT_EQ(r.connection().query_int("SELECT count(*) FROM blobs"), 0);
    EXPECT_TRUE(r.search("ocean").empty());
    EXPECT_EQ(r.integrity_check(), "ok");
    fs::remove(BlobFiles(db).folder());
    EXPECT_GT(store.import_document(doc), 0);
}

TEST(store_export_import, ExportOfAMissingSessionIsAnError) {
    ScratchDir dir;
    SessionStore store(dir / "a.db");
    try {
        store.reader().export_document(5);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("session 5 not found"), std::string::npos);
    }
}

}  // namespace
}  // namespace statescope
