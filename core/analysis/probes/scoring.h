// How each probe decides that a reply is right (docs/ANALYSES.md §5), on the decoded reply text.
#pragma once

#include <string>
#include <string_view>

namespace statescope {

// Passkey (Stuffed Mamba plot.py::is_correct): the expected string occurs anywhere in the reply.
bool contains_match(std::string_view reply, std::string_view expected);

// Needle (LongMamba deci_niah: `gt in response.split(' ')`): the expected string is one of the
// reply's words, words being what lies between spaces or newlines. "12345." is not "12345".
bool whole_word_match(std::string_view reply, std::string_view expected);

// Phone book (Repeat After Me phone_book_evaluation): the reply's first line, stripped of leading
// and trailing whitespace, equals the expected string.
bool first_line_match(std::string_view reply, std::string_view expected);

// The first line of the reply without surrounding whitespace (what first_line_match compares).
std::string first_line(std::string_view reply);

}  // namespace statescope
