#include "core/analysis/probes/phonebook_names.h"

#include <array>

namespace statescope {
namespace {

constexpr std::array<std::string_view, 64> kFirst = {
    "James",   "Mary",     "John",    "Patricia", "Robert",  "Linda",   "Michael", "Barbara",
    "William", "Susan",    "David",   "Margaret", "Richard", "Dorothy", "Charles", "Lisa",
    "Joseph",  "Nancy",    "Thomas",  "Karen",    "Daniel",  "Betty",   "Paul",    "Helen",
    "Mark",    "Sandra",   "Donald",  "Donna",    "George",  "Carol",   "Kenneth", "Ruth",
    "Steven",  "Sharon",   "Edward",  "Michelle", "Brian",   "Laura",   "Ronald",  "Sarah",
    "Anthony", "Kimberly", "Kevin",   "Deborah",  "Jason",   "Jessica", "Jeffrey", "Shirley",
    "Gary",    "Cynthia",  "Timothy", "Angela",   "Jose",    "Melissa", "Larry",   "Brenda",
    "Frank",   "Amy",      "Scott",   "Anna",     "Eric",    "Rebecca", "Stephen", "Virginia"};

constexpr std::array<std::string_view, 64> kLast = {
    "Smith",    "Johnson", "Williams", "Jones",    "Brown",     "Davis",     "Miller",     "Wilson",
    "Moore",    "Taylor",  "Anderson", "Thomas",   "Jackson",   "White",     "Harris",     "Martin",
    "Thompson", "Garcia",  "Martinez", "Robinson", "Clark",     "Rodriguez", "Lewis",      "Lee",
    "Walker",   "Hall",    "Allen",    "Young",    "Hernandez", "King",      "Wright",     "Lopez",
    "Hill",     "Scott",   "Green",    "Adams",    "Baker",     "Gonzalez",  "Nelson",     "Carter",
    "Mitchell", "Perez",   "Roberts",  "Turner",   "Phillips",  "Campbell",  "Parker",     "Evans",
    "Edwards",  "Collins", "Stewart",  "Sanchez",  "Morris",    "Rogers",    "Reed",       "Cook",
    "Morgan",   "Bell",    "Murphy",   "Bailey",   "Rivera",    "Cooper",    "Richardson", "Cox"};

}  // namespace

std::span<const std::string_view> first_names() {
    return kFirst;
}
std::span<const std::string_view> last_names() {
    return kLast;
}

}  // namespace statescope
