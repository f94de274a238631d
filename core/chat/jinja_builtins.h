// Registry of the Jinja2 filters and tests a chat template can name (jinja2.filters / jinja2.tests,
// plus HF's `tojson`), looked up by the parser and by select/map-style filters at render time.
#pragma once

#include <string_view>

#include "core/chat/jinja_ast.h"

namespace statescope::jinja {

FilterFn find_filter(std::string_view name);  // nullptr if unknown
TestFn find_test(std::string_view name);

}  // namespace statescope::jinja
