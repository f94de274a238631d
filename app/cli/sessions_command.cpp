#include "app/cli/sessions_command.h"

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>

#include "core/error.h"
#include "core/store/session_json.h"
#include "core/store/session_markdown.h"
#include "core/store/session_store.h"

namespace statescope::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json opt(const std::optional<std::int64_t>& v) {
    return v ? json(*v) : json(nullptr);
}

std::string read_input(const std::string& file) {
    if (file == "-") {
        return std::string(std::istreambuf_iterator<char>(std::cin),
                           std::istreambuf_iterator<char>());
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error("import: cannot read " + file);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Written next to the target and renamed over it, so an interrupted export never leaves half a
// file where a previous good one was.
void write_output(const std::string& path, const std::string& text) {
    const std::string temp = path + ".partial";
    {
        std::ofstream out(temp, std::ios::binary | std::ios::trunc);
        if (!out) throw Error("export: cannot write " + temp);
        out << text;
        out.flush();
        if (!out) throw Error("export: cannot write " + temp);
    }
    std::error_code ec;
    fs::rename(temp, path, ec);
    if (ec) throw Error("export: cannot move " + temp + " to " + path + ": " + ec.message());
}

json model_json(SessionReader& r, const std::optional<std::int64_t>& id) {
    if (!id) return nullptr;
    const auto m = r.model(*id);
    if (!m) return nullptr;
    return {{"id", m->id},
            {"path", m->info.path},
            {"model_type", m->info.model_type},
            {"content_hash", m->info.content_hash}};
}

// `show`: the session as stored, with database ids (the export document renumbers them).
json show_json(SessionReader& r, const Session& s) {
    // The export's message layout, here with the database's own ids (message, parent, model).
    const json messages = to_json(SessionDocument{s, {}, {}})["messages"];
    json runs = json::array();
    for (const auto& a : s.analysis_runs) {
        json blobs = json::array();
        for (const auto& b : a.blobs)
            blobs.push_back({{"name", b.name}, {"hash", b.hash}, {"size", b.size}});
        runs.push_back({{"id", a.id},
                        {"message", opt(a.message_id)},
                        {"model", opt(a.model_id)},
                        {"kind", a.kind},
                        {"params", a.params},
                        {"result", a.result},
                        {"created_at", a.created_at_ms},
                        {"blobs", blobs}});
    }
    json branch = json::array();
    for (const Message* m : visible_branch(s)) branch.push_back(m->id);
    return {{"id", s.id},
            {"title", s.title},
            {"created_at", s.created_at_ms},
            {"updated_at", s.updated_at_ms},
            {"model", model_json(r, s.model_id)},
            {"head", opt(s.head_message_id)},
            {"visible_branch", branch},
            {"metadata", s.metadata},
            {"messages", messages},
            {"analysis_runs", runs}};
}

}  // namespace

int run_sessions(const SessionsArgs& args) {
    return run_sessions(args, std::cout);
}

int run_sessions(const SessionsArgs& args, std::ostream& out) {
    const fs::path db = args.db.empty() ? SessionStore::default_path() : fs::path(args.db);
    SessionStore store(db);
    SessionReader r = store.reader();
    const std::string& verb = args.verb;

    if (verb == "list") {
        json list = json::array();
        for (const auto& s : r.list_sessions(args.limit)) {
            list.push_back({{"id", s.id},
                            {"title", s.title},
                            {"created_at", s.created_at_ms},
                            {"updated_at", s.updated_at_ms},
                            {"messages", s.message_count},
                            {"model", s.model_path.empty() ? json(nullptr) : json(s.model_path)}});
        }
        out << list.dump(2) << "\n";
        return 0;
    }
    if (verb == "show") {
        const auto s = r.session(args.id);
        if (!s)
            throw Error("show: session " + std::to_string(args.id) + " not found in " +
                        db.string());
        out << show_json(r, *s).dump(2) << "\n";
        return 0;
    }
    if (verb == "search") {
        std::string query;
        for (const auto& w : args.query) query += (query.empty() ? "" : " ") + w;
        json hits = json::array();
        for (const auto& h :
             r.search(query, args.limit, args.fts ? SearchSyntax::Fts5 : SearchSyntax::Plain)) {
            hits.push_back({{"session_id", h.session_id},
                            {"session_title", h.session_title},
                            {"message_id", h.message_id},
                            {"role", to_string(h.role)},
                            {"snippet", h.snippet},
                            {"rank", h.rank}});
        }
        out << hits.dump(2) << "\n";
        return 0;
    }
    if (verb == "export") {
        std::string text;
        if (args.format == "json") {
            text = to_json(r.export_document(args.id)).dump(2) + "\n";
        } else if (args.format == "md") {
            const auto s = r.session(args.id);
            if (!s)
                throw Error("export: session " + std::to_string(args.id) + " not found in " +
                            db.string());
            std::map<std::int64_t, ModelInfo> models;
            for (const auto& m : r.models()) models[m.id] = m.info;
            text = to_markdown(*s, models);
        } else {
            throw Error("export: --format must be json or md, not \"" + args.format + "\"");
        }
        if (args.out.empty()) {
            out << text;
        } else {
            write_output(args.out, text);
        }
        return 0;
    }
    if (verb == "import") {
        const auto doc = document_from_text(read_input(args.file), "import " + args.file);
        const auto id = store.import_document(doc);
        out << json{{"imported", id}, {"messages", doc.session.messages.size()}}.dump() << "\n";
        return 0;
    }
    if (verb == "delete") {
        if (!store.delete_session(args.id)) {
            throw Error("delete: session " + std::to_string(args.id) + " not found in " +
                        db.string());
        }
        out << json{{"deleted", args.id}}.dump() << "\n";
        return 0;
    }
    throw Error("sessions: unknown verb \"" + verb +
                "\" (list, show, search, export, import, delete)");
}

CLI::App* add_sessions_command(CLI::App& app, SessionsArgs& args) {
    const std::string db_help =
        "session database (default: $XDG_DATA_HOME/statescope/sessions.db or "
        "~/.local/share/statescope/sessions.db)";
    app.add_option("--db", args.db, db_help);
    auto* sessions =
        app.add_subcommand("sessions", "list, show, search, export, import or delete sessions");
    sessions->add_option("--db", args.db, db_help);
    sessions->require_subcommand(1);
    auto verb = [&](const char* name, const char* help) {
        auto* sub = sessions->add_subcommand(name, help);
        // `sessions list --db X` as well as `--db X sessions list`.
        sub->fallthrough();
        sub->callback([&args, name] { args.verb = name; });
        return sub;
    };
    auto* list = verb("list", "sessions as JSON, most recently active first");
    list->add_option("--limit", args.limit, "at most N sessions (default 50; -1: all)");
    auto* show = verb("show", "one session as JSON: every message, branch and run");
    show->add_option("id", args.id, "session id")->required();
    auto* search = verb("search", "full-text search over messages; JSON hits, best first");
    search->add_option("query", args.query, "words to find (all of them)")->required();
    search->add_flag("--fts", args.fts, "the query is FTS5 syntax (\"phrase\", OR, NOT, prefix*)");
    search->add_option("--limit", args.limit, "at most N hits (default 50)");
    auto* exp = verb("export", "a session as lossless JSON or readable Markdown");
    exp->add_option("id", args.id, "session id")->required();
    exp->add_option("--format", args.format, "json (default) or md")
        ->check(CLI::IsMember({"json", "md"}));
    exp->add_option("--out", args.out, "write to FILE instead of standard output");
    auto* imp = verb("import", "a session from an exported JSON file (- for standard input)");
    imp->add_option("file", args.file, "exported JSON")->required();
    auto* del = verb("delete", "delete a session, securely (text removed from file and index)");
    del->add_option("id", args.id, "session id")->required();
    return sessions;
}

}  // namespace statescope::cli
