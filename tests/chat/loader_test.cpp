// find_chat_template: where transformers 5.x takes a checkpoint's template from, and its bos/eos.
#include <filesystem>
#include <fstream>

#include "tests/chat/chat_test_util.h"

namespace statescope::chat_test {
namespace {

namespace fs = std::filesystem;

class ChatLoaderFixture : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("statescope-chat-" +
                std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    void write(const std::string& name, const std::string& text) {
        fs::create_directories((dir_ / name).parent_path());
        std::ofstream(dir_ / name, std::ios::binary) << text;
    }
    fs::path dir_;
};
// ctest -R chat selects the chat tests by name, so the suite is spelled in lower case.
using chat_loader = ChatLoaderFixture;

TEST_F(chat_loader, NoTemplateIsNullopt) {
    EXPECT_FALSE(find_chat_template(dir_).has_value());
    write("tokenizer_config.json", R"({"bos_token": "<s>"})");
    EXPECT_FALSE(find_chat_template(dir_).has_value());
}

TEST_F(chat_loader, StringTemplateAndTokenObjects) {
    write("tokenizer_config.json",
          R"({"chat_template": "{{ bos_token }}hi", "bos_token": {"__type": "AddedToken",
              "content": "<|begin|>", "lstrip": false}, "eos_token": "<|end|>"})");
    const auto t = find_chat_template(dir_);
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(t->source, "{{ bos_token }}hi");
    EXPECT_EQ(t->bos_token, "<|begin|>");
    EXPECT_EQ(t->eos_token, "<|end|>");
    EXPECT_EQ(t->file, dir_ / "tokenizer_config.json");
    EXPECT_EQ(t->name, "default");
}

TEST_F(chat_loader, NamedTemplateList) {
    write("tokenizer_config.json",
          R"({"chat_template": [{"name": "default", "template": "D"},
                                {"name": "tool_use", "template": "T"}], "eos_token": null})");
    EXPECT_EQ(find_chat_template(dir_)->source, "D");
    const auto tool = find_chat_template(dir_, "tool_use");
    EXPECT_EQ(tool->source, "T");
    EXPECT_EQ(tool->eos_token, "");
    EXPECT_EQ(tool->available, (std::vector<std::string>{"default", "tool_use"}));
    try {
        (void)find_chat_template(dir_, "rag");
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("no chat template named \"rag\" (available: default, "
                                             "tool_use)"),
                  std::string::npos)
            << e.what();
    }
}

TEST_F(chat_loader, JinjaFilesTakePriority) {
    // transformers 5.x: chat_template.jinja and additional_chat_templates/*.jinja replace the
    // tokenizer_config.json entry entirely.
    write(
        "tokenizer_config.json",
        R"({"chat_template": [{"name": "default", "template": "old"}, {"name": "rag", "template": "R"}],
              "bos_token": "<s>"})");
    write("chat_template.jinja", "new {{ bos_token }}\n");
    write("additional_chat_templates/tool_use.jinja", "tools!");
    const auto t = find_chat_template(dir_);
    EXPECT_EQ(t->source, "new {{ bos_token }}\n");
    EXPECT_EQ(t->file, dir_ / "chat_template.jinja");
    EXPECT_EQ(t->bos_token, "<s>");
    EXPECT_EQ(find_chat_template(dir_, "tool_use")->source, "tools!");
    EXPECT_THROW((void)find_chat_template(dir_, "rag"), Error);
}

TEST_F(chat_loader, SpecialTokensMapFallback) {
    write("chat_template.jinja", "x");
    write("special_tokens_map.json", R"({"bos_token": {"content": "<B>"}, "eos_token": "<E>"})");
    const auto t = find_chat_template(dir_);
    EXPECT_EQ(t->bos_token, "<B>");
    EXPECT_EQ(t->eos_token, "<E>");
}

TEST_F(chat_loader, MalformedFilesAreErrors) {
    write("tokenizer_config.json", "{not json");
    EXPECT_THROW((void)find_chat_template(dir_), Error);
    write("tokenizer_config.json", R"({"chat_template": 5})");
    EXPECT_THROW((void)find_chat_template(dir_), Error);
    write("tokenizer_config.json", R"({"chat_template": [{"name": "x"}]})");
    EXPECT_THROW((void)find_chat_template(dir_), Error);
    EXPECT_THROW((void)find_chat_template(dir_ / "missing"), Error);
}

TEST_F(chat_loader, RealTemplateFromAFolder) {
    write("chat_template.jinja", read_file(data_path("Qwen-Qwen3-0.6B.jinja")));
    write("tokenizer_config.json", R"({"eos_token": "<|im_end|>"})");
    const auto found = find_chat_template(dir_);
    const auto t = ChatTemplate::parse(found->source, found->file.string());
    EXPECT_EQ(t.render(nlohmann::ordered_json::parse(R"([{"role": "user", "content": "Hi"}])"),
                       true, found->bos_token, found->eos_token),
              "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

}  // namespace
}  // namespace statescope::chat_test
