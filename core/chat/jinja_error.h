// The failure raised inside the template engine. It carries the template line of the innermost node
// being evaluated (0 until a node claims it); ChatTemplate turns it into statescope::Error with the
// template's name and that line, e.g. `chat template line 12: unknown filter "frobnicate"`.
#pragma once

#include <stdexcept>
#include <string>

namespace statescope::jinja {

class Failure : public std::runtime_error {
  public:
    explicit Failure(const std::string& message, int line = 0)
        : std::runtime_error(message), line_(line) {}
    int line() const { return line_; }
    void set_line(int line) { line_ = line; }

  private:
    int line_;
};

// Python-exception-shaped messages: "TypeError: ...", so a user comparing with transformers'
// traceback recognises the failure.
[[noreturn]] inline void fail(const std::string& message) {
    throw Failure(message);
}
[[noreturn]] inline void type_error(const std::string& message) {
    throw Failure("TypeError: " + message);
}
[[noreturn]] inline void value_error(const std::string& message) {
    throw Failure("ValueError: " + message);
}

}  // namespace statescope::jinja
