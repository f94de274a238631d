// First and last names for the phone-book probe (the source draws them from the `names` Python
// package, which reads the 1990 US Census lists; these are 64 + 64 common entries of such lists,
// fixed here so that a seed gives the same book everywhere).
#pragma once

#include <span>
#include <string_view>

namespace statescope {

std::span<const std::string_view> first_names();
std::span<const std::string_view> last_names();

}  // namespace statescope
