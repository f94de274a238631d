// statescope-cli run as scripts run it: through the shell, stdout and stderr captured in files, the
// exit code. The test target defines STATESCOPE_CLI, the binary's path.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace statescope::test {

struct CliRun {
    int code = -1;  // -1 when the process did not exit normally
    std::string out, err;
};

inline std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// One word for sh whatever it holds: single quotes, an embedded one written as '\''.
inline std::string shell_quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

// `statescope-cli ARGS` with ARGS as shell text (the shell splits and unquotes it). stdout and
// stderr go to `dir`/out and `dir`/err, which stay there after the run; stdin is `input` (written
// to `dir`/in) when given, else the test's own.
inline CliRun run_cli_shell(const std::string& args, const std::filesystem::path& dir,
                            const std::optional<std::string>& input = std::nullopt) {
    std::string cmd = shell_quote(STATESCOPE_CLI) + " " + args;
    if (input) {
        std::ofstream(dir / "in", std::ios::binary) << *input;
        cmd += " <" + shell_quote((dir / "in").string());
    }
    cmd += " >" + shell_quote((dir / "out").string()) + " 2>" + shell_quote((dir / "err").string());
    CliRun r;
    const int status = std::system(cmd.c_str());
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(dir / "out");
    r.err = slurp(dir / "err");
    return r;
}

// The same with each of `args` passed as one argument, as it is.
inline CliRun run_cli(const std::vector<std::string>& args, const std::filesystem::path& dir,
                      const std::optional<std::string>& input = std::nullopt) {
    std::string words;
    for (const auto& a : args) {
        if (!words.empty()) words += ' ';
        words += shell_quote(a);
    }
    return run_cli_shell(words, dir, input);
}

}  // namespace statescope::test
