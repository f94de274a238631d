// Real chat templates rendered byte for byte: the golden cases transformers 5.17 rendered
// (chat-templates-dev.json) and richer conversations rendered by jinja2 3.1.6 set up as
// transformers does (chat-templates-jinja2.json: tools, tool calls and results, thinking,
// documents).
#include <regex>

#include "tests/chat/chat_test_util.h"

namespace statescope::chat_test {
namespace {

using Json = nlohmann::ordered_json;

Json load_json(const std::string& name) {
    return Json::parse(read_file(data_path(name)));
}

TEST(chat_golden, TransformersCasesByteForByte) {
    const Json golden = load_json("chat-templates-dev.json");
    int checked = 0;
    for (auto it = golden.begin(); it != golden.end(); ++it) {
        const std::string name = it.key();
        const auto t = ChatTemplate::parse(read_file(data_path(name + ".jinja")), name);
        for (const auto& c : it.value()) {
            const std::string rendered =
                t.render(c["messages"], c["add_generation_prompt"].get<bool>(),
                         c["bos_token"].get<std::string>(), c["eos_token"].get<std::string>(),
                         Json::object(), pinned_now);
            EXPECT_EQ(rendered, c["rendered"].get<std::string>())
                << name << " case " << c.dump().substr(0, 200);
            ++checked;
        }
    }
    EXPECT_EQ(checked, 30);
}

TEST(chat_golden, Jinja2ReferenceCasesByteForByte) {
    const Json ref = load_json("chat-templates-jinja2.json");
    int rendered_cases = 0, error_cases = 0;
    for (auto it = ref["cases"].begin(); it != ref["cases"].end(); ++it) {
        const std::string name = it.key();
        const auto t = ChatTemplate::parse(read_file(data_path(name + ".jinja")), name);
        for (const auto& c : it.value()) {
            const Json& messages = ref["conversations"][c["conversation"].get<std::size_t>()];
            const Json& extra = ref["extras"][c["extra"].get<std::size_t>()];
            const std::string where =
                name + " conversation " + c["conversation"].dump() + " extra " + c["extra"].dump();
            if (c.contains("rendered")) {
                EXPECT_EQ(t.render(messages, c["add_generation_prompt"].get<bool>(), "<s>", "</s>",
                                   extra, pinned_now),
                          c["rendered"].get<std::string>())
                    << where;
                ++rendered_cases;
            } else {
                // jinja2 failed (e.g. Llama's "single tool-calls" check, or content parts a
                // template cannot concatenate): so must we, with the same message text.
                try {
                    (void)t.render(messages, c["add_generation_prompt"].get<bool>(), "<s>", "</s>",
                                   extra, pinned_now);
                    ADD_FAILURE() << where << ": expected an error";
                } catch (const Error& e) {
                    EXPECT_NE(std::string(e.what()).find(c["error"].get<std::string>()),
                              std::string::npos)
                        << where << ": " << e.what();
                }
                ++error_cases;
            }
        }
    }
    EXPECT_GT(rendered_cases, 300);
    EXPECT_GT(error_cases, 5);
}

TEST(chat_golden, StrftimeNowUsesTheClock) {
    const auto t =
        ChatTemplate::parse(read_file(data_path("meta-llama-Llama-3.2-3B-Instruct.jinja")));
    const Json messages = Json::parse(R"([{"role": "user", "content": "Hello!"}])");
    const std::string pinned = t.render(messages, true, "<|begin_of_text|>", "<|eot_id|>",
                                        Json::object(), [] { return local_noon("2024-07-26"); });
    EXPECT_NE(pinned.find("Today Date: 26 Jul 2024\n"), std::string::npos) << pinned;
    // Unpinned, the system clock gives today's date in the same format.
    const std::string today = t.render(messages, true, "<|begin_of_text|>", "<|eot_id|>");
    EXPECT_TRUE(std::regex_search(today, std::regex("Today Date: \\d\\d [A-Z][a-z]{2} \\d{4}\n")))
        << today;
    // A variable the caller passes wins over the template's default, as with HF's kwargs.
    const std::string given = t.render(messages, true, "", "", Json{{"date_string", "1 Jan 2000"}});
    EXPECT_NE(given.find("Today Date: 1 Jan 2000\n"), std::string::npos);
}

TEST(chat_golden, HfContextDefaults) {
    // apply_chat_template always passes tools and documents (None when absent), so `is defined`
    // holds and `is none` tells; extra variables override bos/eos like HF's **kwargs.
    const auto t = ChatTemplate::parse(
        "{{ tools is defined }}{{ tools is none }}{{ documents is none }}|{{ bos_token }}{{ "
        "eos_token }}|{{ add_generation_prompt }}|{{ messages|length }}|{{ enable_thinking }}");
    EXPECT_EQ(t.render(Json::array(), true, "<s>", "</s>"), "TrueTrueTrue|<s></s>|True|0|");
    EXPECT_EQ(
        t.render(Json::parse(R"([{"role": "user", "content": "x"}])"), false, "<s>", "</s>",
                 Json{{"tools", Json::array()}, {"enable_thinking", false}, {"eos_token", "E"}}),
        "TrueFalseTrue|<s>E|False|1|False");
}

}  // namespace
}  // namespace statescope::chat_test
