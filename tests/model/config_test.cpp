// config.json parsing: every spelling of Infinity, typed access with messages naming the field.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "core/model/config.h"

namespace statescope {
namespace {

TEST(Config, InfinityInEverySpelling) {
    auto c = Config::parse(R"({"a": [0.0, {"__float__": "Infinity"}], "b": Infinity, "c": "-Infinity", "d": "inf",
                              "e": 1e30, "s": "Infinity inside a string stays"})",
                           "config.json");
    EXPECT_TRUE(std::isinf(*Config::to_float(c.json()["a"][1])));
    EXPECT_TRUE(std::isinf(c.get_float("b")));
    EXPECT_LT(c.get_float("c"), 0);
    EXPECT_TRUE(std::isinf(c.get_float("c")));
    EXPECT_TRUE(std::isinf(c.get_float("d")));
    EXPECT_EQ(c.get_float("e"), 1e30);
    EXPECT_EQ(c.get_string("s"), "Infinity inside a string stays");
}

TEST(Config, BareNaNAndNegativeInfinity) {
    auto c = Config::parse(R"({"x": NaN, "y": -Infinity, "z": [Infinity, -Infinity]})", "config.json");
    EXPECT_TRUE(std::isnan(c.get_float("x")));
    EXPECT_TRUE(std::isinf(c.get_float("y")) && c.get_float("y") < 0);
    EXPECT_TRUE(std::isinf(*Config::to_float(c.json()["z"][0])));
}

TEST(Config, MissingFieldIsNamed) {
    auto c = Config::parse(R"({"hidden_size": 16})", "dir/config.json");
    try {
        c.get_int("num_hidden_layers");
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "dir/config.json: field \"num_hidden_layers\" is missing");
    }
}

TEST(Config, NonNumericFieldIsNamed) {
    auto c = Config::parse(R"({"hidden_size": "sixteen", "eps": "small", "flag": 1})", "config.json");
    try {
        c.get_int("hidden_size");
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "config.json: field \"hidden_size\" is not an integer (got \"sixteen\")");
    }
    EXPECT_THROW(c.get_float("eps"), Error);
    EXPECT_THROW(c.get_bool("flag"), Error);
    EXPECT_THROW(c.get_float("eps", 1e-5), Error);  // present but wrong: not replaced by the default
}

TEST(Config, IntegralFloatsAreIntegers) {
    auto c = Config::parse(R"({"a": 16.0, "b": 16.5})", "config.json");
    EXPECT_EQ(c.get_int("a"), 16);
    EXPECT_THROW(c.get_int("b"), Error);
}

TEST(Config, NullMeansAbsent) {
    auto c = Config::parse(R"({"a": null})", "config.json");
    EXPECT_EQ(c.get_int("a", 7), 7);
    EXPECT_FALSE(c.has("a"));
}

TEST(Config, EosIdOrList) {
    auto c = Config::parse(R"({"one": 2, "many": [2, 11], "bad": ["x"]})", "config.json");
    EXPECT_EQ(c.get_int_list("one"), (std::vector<std::int64_t>{2}));
    EXPECT_EQ(c.get_int_list("many"), (std::vector<std::int64_t>{2, 11}));
    EXPECT_TRUE(c.get_int_list("absent").empty());
    EXPECT_THROW(c.get_int_list("bad"), Error);
}

TEST(Config, NotJsonOrNotObject) {
    EXPECT_THROW(Config::parse("{", "config.json"), Error);
    EXPECT_THROW(Config::parse("[1,2]", "config.json"), Error);
}

}  // namespace
}  // namespace statescope
