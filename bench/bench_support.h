// What every bench records beside its numbers (bench/README.md: command, machine, commit) and the
// median it reports. Standard C++ only: the Qt inspector benches use it too.
#pragma once

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace statescope::bench {

// The middle element (the upper one of an even count); 0 for none.
inline double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
}

// The first line of `path` that starts with `key` (any line when `key` is empty); empty if none.
inline std::string first_line(const std::string& path, const std::string& key = {}) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line))
        if (key.empty() || line.rfind(key, 0) == 0) return line;
    return {};
}

// The CPU's model name from /proc/cpuinfo, "unknown" where there is none.
inline std::string cpu_name() {
    const std::string line = first_line("/proc/cpuinfo", "model name");
    return line.empty() ? "unknown" : line.substr(line.find(':') + 2);
}

// The short commit of the current directory's checkout; empty outside one.
inline std::string git_commit() {
    std::string out;
    if (FILE* p = popen("git rev-parse --short HEAD 2>/dev/null", "r")) {
        char buf[64];
        while (std::fgets(buf, sizeof buf, p)) out += buf;
        pclose(p);
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
}

// argv joined by spaces, as the result records the command.
inline std::string command_line(int argc, char** argv) {
    std::string command;
    for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(argv[i]);
    return command;
}

}  // namespace statescope::bench
