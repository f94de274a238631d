// The one exception type the engine throws: a message a user can act on, naming the file, tensor or
// line at fault (docs/STYLE.md §8). Callers at the edges (CLI, GUI) print what() and nothing else.
#pragma once

#include <stdexcept>
#include <string>

namespace statescope {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace statescope
