// Recursive-descent parser for the Jinja2 subset, following jinja2/parser.py's grammar and operator
// precedence (e.g. `**` is left-associative, filters bind tighter than arithmetic, `not x is y` is
// `not (x is y)`). Nesting is bounded so hostile templates cannot exhaust the stack.
#pragma once

#include <string_view>

#include "core/chat/jinja_ast.h"

namespace statescope::jinja {

// Throws jinja::Failure carrying the line of the offending token.
Template parse(std::string_view source, int max_nesting = 200);

}  // namespace statescope::jinja
