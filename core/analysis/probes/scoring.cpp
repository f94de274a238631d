#include "core/analysis/probes/scoring.h"

namespace statescope {
namespace {

bool is_space(char c) {
    return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\v';
}

}  // namespace

bool contains_match(std::string_view reply, std::string_view expected) {
    return !expected.empty() && reply.find(expected) != std::string_view::npos;
}

bool whole_word_match(std::string_view reply, std::string_view expected) {
    if (expected.empty()) return false;
    std::size_t start = 0;
    while (start <= reply.size()) {
        std::size_t end = reply.find_first_of(" \n", start);
        if (end == std::string_view::npos) end = reply.size();
        if (reply.substr(start, end - start) == expected) return true;
        start = end + 1;
    }
    return false;
}

std::string first_line(std::string_view reply) {
    std::string_view line = reply.substr(0, reply.find('\n'));
    while (!line.empty() && is_space(line.front())) line.remove_prefix(1);
    while (!line.empty() && is_space(line.back())) line.remove_suffix(1);
    return std::string(line);
}

bool first_line_match(std::string_view reply, std::string_view expected) {
    return !expected.empty() && first_line(reply) == expected;
}

}  // namespace statescope
