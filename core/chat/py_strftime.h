// datetime.strftime for HF's strftime_now global, with C-locale (English) names whatever the
// process locale is (a Qt app sets LC_ALL from the environment; Python's strftime stays in the C
// locale for LC_TIME unless told otherwise). glibc's padding flags (%-d, %_d, %0e) are honoured as
// on Linux.
#pragma once

#include <ctime>
#include <string>
#include <string_view>

namespace statescope::py {

// `tm` is a broken-down local time (localtime_r). %f is 000000 (the clock has whole seconds);
// %z and %Z are empty, as for Python's naive datetime.now().
std::string strftime(std::string_view format, const std::tm& tm);

}  // namespace statescope::py
