// `statescope-cli sessions ...`: the arguments as CLI11 parses them (the same registration main.cpp
// uses) and each verb's output, in process.
#include <CLI/CLI.hpp>

#include "app/cli/sessions_command.h"
#include "core/error.h"
#include "tests/store/store_test_util.h"

namespace statescope {
namespace {

using namespace statescope::test;
using cli::SessionsArgs;
using nlohmann::json;

SessionsArgs parse(const std::string& line) {
    CLI::App app;
    SessionsArgs args;
    auto* sessions = cli::add_sessions_command(app, args);
    app.parse(line, false);
    EXPECT_TRUE(sessions->parsed());
    return args;
}

std::string run(const SessionsArgs& args) {
    std::ostringstream out;
    EXPECT_EQ(cli::run_sessions(args, out), 0);
    return out.str();
}

SessionsArgs verb(const fs::path& db, const std::string& v) {
    SessionsArgs a;
    a.db = db.string();
    a.verb = v;
    return a;
}

TEST(store_sessions_cli, ParsesEveryVerb) {
    auto a = parse("--db /tmp/x.db sessions export 12 --format md --out f.md");
    EXPECT_EQ(a.db, "/tmp/x.db");
    EXPECT_EQ(a.verb, "export");
    EXPECT_EQ(a.id, 12);
    EXPECT_EQ(a.format, "md");
    EXPECT_EQ(a.out, "f.md");
    a = parse("sessions search ocean currents --limit 3 --fts");
    EXPECT_EQ(a.verb, "search");
    EXPECT_EQ(a.query, (std::vector<std::string>{"ocean", "currents"}));
    EXPECT_EQ(a.limit, 3);
    EXPECT_TRUE(a.fts);
    a = parse("sessions list --db other.db");
    EXPECT_EQ(a.verb, "list");
    EXPECT_EQ(a.db, "other.db");
    EXPECT_EQ(parse("sessions import dump.json").file, "dump.json");
    EXPECT_EQ(parse("sessions delete 7").id, 7);
    EXPECT_EQ(parse("sessions show 8").verb, "show");

    CLI::App app;
    SessionsArgs args;
    cli::add_sessions_command(app, args);
    EXPECT_THROW(app.parse("sessions export 1 --format pdf", false), CLI::ParseError);
    EXPECT_THROW(app.parse("sessions show", false), CLI::ParseError);
    EXPECT_THROW(app.parse("sessions", false), CLI::ParseError);
}

TEST(store_sessions_cli, ListShowSearchExportImportDelete) {
    ScratchDir dir;
    const fs::path db = dir / "s.db";
    std::int64_t id = 0;
    {
        SessionStore store(db);
        id = make_sample_session(store).session;
    }
    auto list = json::parse(run(verb(db, "list")));
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0]["id"], id);
    EXPECT_EQ(list[0]["messages"], 6);
    EXPECT_EQ(list[0]["model"], "/models/mamba-130m");

    auto show = verb(db, "show");
    show.id = id;
    const auto shown = json::parse(run(show));
    EXPECT_EQ(shown["messages"].size(), 6u);
    EXPECT_EQ(shown["visible_branch"].size(), 3u);
    EXPECT_EQ(shown["head"], shown["visible_branch"].back());
    EXPECT_EQ(shown["model"]["model_type"], "mamba");
    EXPECT_EQ(shown["analysis_runs"][0]["kind"], "logit_lens");

    auto search = verb(db, "search");
    search.query = {"ocean", "currents"};
    const auto hits = json::parse(run(search));
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0]["session_id"], id);
    EXPECT_EQ(hits[0]["role"], "user");
    EXPECT_EQ(hits[0]["snippet"], "Tell me about the [ocean] [currents]");

    auto exp = verb(db, "export");
    exp.id = id;
    exp.out = (dir / "a.json").string();
    EXPECT_EQ(run(exp), "");
    auto imp = verb(db, "import");
    imp.file = exp.out;
    const auto imported = json::parse(run(imp));
    EXPECT_EQ(imported["messages"], 6);
    exp.id = imported["imported"].get<std::int64_t>();
    exp.out = (dir / "b.json").string();
    run(exp);
    EXPECT_EQ(slurp(dir / "a.json"), slurp(dir / "b.json"));
    EXPECT_FALSE(fs::exists(dir / "b.json.partial"));

    exp.out.clear();
    exp.format = "md";
    EXPECT_EQ(run(exp).rfind("# Sample chat\n", 0), 0u);

    auto del = verb(db, "delete");
    del.id = id;
    EXPECT_EQ(json::parse(run(del))["deleted"], id);
    EXPECT_EQ(json::parse(run(verb(db, "list"))).size(), 1u);
    try {
        run(del);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("session " + std::to_string(id) + " not found"),
                  std::string::npos);
    }

    write_file(dir / "bad.json", "{\"format\": \"statescope-session\", \"version\": 1}");
    imp.file = (dir / "bad.json").string();
    try {
        run(imp);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("import " + imp.file + ": session: is missing"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_EQ(json::parse(run(verb(db, "list"))).size(), 1u);
}

TEST(store_sessions_cli, DefaultDatabaseUnderXdgDataHome) {
    ScratchDir dir;
    const char* old = std::getenv("XDG_DATA_HOME");
    const std::string saved = old ? old : "";
    setenv("XDG_DATA_HOME", dir.path().c_str(), 1);
    SessionsArgs a;
    a.verb = "list";
    EXPECT_EQ(run(a), "[]\n");
    EXPECT_TRUE(fs::exists(dir / "statescope/sessions.db"));
    if (old) {
        setenv("XDG_DATA_HOME", saved.c_str(), 1);
    } else {
        unsetenv("XDG_DATA_HOME");
    }
}

}  // namespace
}  // namespace statescope
