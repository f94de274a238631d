#include "core/chat/py_strftime.h"

#include <cstdio>

namespace statescope::py {

namespace {

const char* const kDays[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                             "Thursday", "Friday", "Saturday"};
const char* const kMonths[] = {"January",   "February", "March",    "April",
                               "May",       "June",     "July",     "August",
                               "September", "October",  "November", "December"};

// A number with glibc's flag: '-' no padding, '_' space padding, otherwise the default `pad`.
std::string number(long v, int width, char flag, char pad = '0') {
    std::string digits = std::to_string(v < 0 ? -v : v);
    const char fill = flag == '_' ? ' ' : flag == '0' ? '0' : pad;
    if (flag != '-')
        while (static_cast<int>(digits.size()) < width) digits.insert(digits.begin(), fill);
    return (v < 0 ? "-" : "") + digits;
}

int iso_weekday(const std::tm& tm) {
    return tm.tm_wday == 0 ? 7 : tm.tm_wday;
}

}  // namespace

std::string strftime(std::string_view format, const std::tm& tm) {
    std::string out;
    for (std::size_t i = 0; i < format.size(); ++i) {
        if (format[i] != '%' || i + 1 >= format.size()) {
            out += format[i];
            continue;
        }
        char flag = 0;
        char c = format[++i];
        if ((c == '-' || c == '_' || c == '0' || c == '^') && i + 1 < format.size()) {
            flag = c;
            c = format[++i];
        }
        const int month = tm.tm_mon >= 0 && tm.tm_mon < 12 ? tm.tm_mon : 0;
        const int wday = tm.tm_wday >= 0 && tm.tm_wday < 7 ? tm.tm_wday : 0;
        const long year = tm.tm_year + 1900L;
        std::string piece;
        switch (c) {
            case 'a':
                piece = std::string(kDays[wday], 3);
                break;
            case 'A':
                piece = kDays[wday];
                break;
            case 'b':
            case 'h':
                piece = std::string(kMonths[month], 3);
                break;
            case 'B':
                piece = kMonths[month];
                break;
            case 'd':
                piece = number(tm.tm_mday, 2, flag);
                break;
            case 'e':
                piece = number(tm.tm_mday, 2, flag, ' ');
                break;
            case 'H':
                piece = number(tm.tm_hour, 2, flag);
                break;
            case 'I':
                piece = number(tm.tm_hour % 12 == 0 ? 12 : tm.tm_hour % 12, 2, flag);
                break;
            case 'j':
                piece = number(tm.tm_yday + 1, 3, flag);
                break;
            case 'm':
                piece = number(tm.tm_mon + 1, 2, flag);
                break;
            case 'M':
                piece = number(tm.tm_min, 2, flag);
                break;
            case 'S':
                piece = number(tm.tm_sec, 2, flag);
                break;
            case 'p':
                piece = tm.tm_hour < 12 ? "AM" : "PM";
                break;
            case 'y':
                piece = number(year % 100, 2, flag);
                break;
            case 'Y':
                piece = number(year, 1, flag);
                break;
            case 'C':
                piece = number(year / 100, 2, flag);
                break;
            case 'u':
                piece = number(iso_weekday(tm), 1, flag);
                break;
            case 'w':
                piece = number(tm.tm_wday, 1, flag);
                break;
            case 'U':
                piece = number((tm.tm_yday + 7 - tm.tm_wday) / 7, 2, flag);
                break;
            case 'W':
                piece = number((tm.tm_yday + 7 - (iso_weekday(tm) - 1)) / 7, 2, flag);
                break;
            case 'F':
                piece = number(year, 4, 0) + "-" + number(tm.tm_mon + 1, 2, 0) + "-" +
                        number(tm.tm_mday, 2, 0);
                break;
            case 'D':
                piece = number(tm.tm_mon + 1, 2, 0) + "/" + number(tm.tm_mday, 2, 0) + "/" +
                        number(year % 100, 2, 0);
                break;
            case 'T':
                piece = number(tm.tm_hour, 2, 0) + ":" + number(tm.tm_min, 2, 0) + ":" +
                        number(tm.tm_sec, 2, 0);
                break;
            case 'R':
                piece = number(tm.tm_hour, 2, 0) + ":" + number(tm.tm_min, 2, 0);
                break;
            case 'c':
                piece = std::string(kDays[wday], 3) + " " + std::string(kMonths[month], 3) + " " +
                        number(tm.tm_mday, 2, 0, ' ') + " " + number(tm.tm_hour, 2, 0) + ":" +
                        number(tm.tm_min, 2, 0) + ":" + number(tm.tm_sec, 2, 0) + " " +
                        number(year, 1, 0);
                break;
            case 'x':
                piece = number(tm.tm_mon + 1, 2, 0) + "/" + number(tm.tm_mday, 2, 0) + "/" +
                        number(year % 100, 2, 0);
                break;
            case 'X':
                piece = number(tm.tm_hour, 2, 0) + ":" + number(tm.tm_min, 2, 0) + ":" +
                        number(tm.tm_sec, 2, 0);
                break;
            case 'f':
                piece = "000000";
                break;
            case 'z':
            case 'Z':
                break;
            case 'n':
                piece = "\n";
                break;
            case 't':
                piece = "\t";
                break;
            case '%':
                piece = "%";
                break;
            default:
                piece = std::string("%") + (flag ? std::string(1, flag) : "") + c;
        }
        if (flag == '^')
            for (auto& ch : piece) ch = static_cast<char>(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
        out += piece;
    }
    return out;
}

}  // namespace statescope::py
