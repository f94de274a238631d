// statescope-cli sessions: list, show, search, export, import and delete stored sessions.
//   statescope-cli [--db PATH] sessions list [--limit N]
//   statescope-cli [--db PATH] sessions show ID
//   statescope-cli [--db PATH] sessions search QUERY... [--fts] [--limit N]
//   statescope-cli [--db PATH] sessions export ID [--format json|md] [--out FILE]
//   statescope-cli [--db PATH] sessions import FILE        (FILE "-": standard input)
//   statescope-cli [--db PATH] sessions delete ID
// list, show, search, import and delete print JSON; export prints the document (or writes --out).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace statescope::cli {

struct SessionsArgs {
    std::string db;                  // --db PATH; empty: SessionStore::default_path()
    std::string verb;                // list | show | search | export | import | delete
    std::int64_t id = 0;             // show, export, delete
    std::vector<std::string> query;  // search: the words, joined by spaces
    bool fts = false;                // search --fts: the query is FTS5 syntax
    std::int64_t limit = 50;         // list, search --limit
    std::string format = "json";     // export --format json|md
    std::string out;                 // export --out FILE; empty: standard output
    std::string file;                // import FILE
};

// Throws statescope::Error (bad id, unreadable file, damaged database...); returns the exit code.
int run_sessions(const SessionsArgs& args);
int run_sessions(const SessionsArgs& args, std::ostream& out);

// Adds `--db` to `app` and the `sessions` subcommand with its verbs, filling `args`; returns the
// `sessions` subcommand (run_sessions when it parsed()).
CLI::App* add_sessions_command(CLI::App& app, SessionsArgs& args);

}  // namespace statescope::cli
