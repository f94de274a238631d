// statescope-cli template (app/cli/template_command.cpp): prints the rendered text byte for byte.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "app/cli/template_command.h"
#include "tests/chat/chat_test_util.h"

namespace statescope::chat_test {
namespace {

namespace fs = std::filesystem;

class ChatCliFixture : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("statescope-chat-cli-" +
                std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    std::string write(const std::string& name, const std::string& text) {
        std::ofstream(dir_ / name, std::ios::binary) << text;
        return (dir_ / name).string();
    }
    std::string run(const cli::TemplateArgs& a) {
        std::ostringstream out;
        EXPECT_EQ(cli::run_template(a, out), 0);
        return out.str();
    }
    fs::path dir_;
};
// ctest -R chat selects the chat tests by name, so the suite is spelled in lower case.
using chat_cli = ChatCliFixture;

TEST_F(chat_cli, RendersGoldenCaseExactly) {
    const auto golden =
        nlohmann::ordered_json::parse(read_file(data_path("chat-templates-dev.json")));
    const auto& c = golden["meta-llama-Llama-3.2-3B-Instruct"][2];
    cli::TemplateArgs a;
    a.template_file = data_path("meta-llama-Llama-3.2-3B-Instruct.jinja");
    a.messages_file = write("m.json", c["messages"].dump());
    a.add_generation_prompt = c["add_generation_prompt"].get<bool>();
    a.bos = c["bos_token"].get<std::string>();
    a.eos = c["eos_token"].get<std::string>();
    a.now = "2026-11-28";
    EXPECT_EQ(run(a), c["rendered"].get<std::string>());
}

TEST_F(chat_cli, MessagesObjectCarriesExtraVariables) {
    cli::TemplateArgs a;
    a.template_file = write("t.jinja", "{{ messages|length }} {{ tools|tojson }} {{ flag }}\n");
    a.messages_file = write("m.json", R"({"messages": [{"role": "user", "content": "x"}],
                                          "tools": [{"name": "f"}], "flag": false})");
    EXPECT_EQ(run(a), "1 [{\"name\": \"f\"}] False");  // the final newline is Jinja's to drop
}

TEST_F(chat_cli, ModelFolderSuppliesTemplateAndTokens) {
    write("chat_template.jinja", "{{ bos_token }}|{{ eos_token }}");
    write("tokenizer_config.json", R"({"bos_token": "<s>", "eos_token": "</s>"})");
    cli::TemplateArgs a;
    a.model_dir = dir_.string();
    EXPECT_EQ(run(a), "<s>|</s>");
    a.bos = "B";  // an explicit --bos wins
    EXPECT_EQ(run(a), "B|</s>");
}

TEST_F(chat_cli, BadInputIsAnError) {
    cli::TemplateArgs a;
    EXPECT_THROW(run(a), Error);  // neither --template nor --model
    a.template_file = write("t.jinja", "{{ x }}");
    a.messages_file = write("m.json", "{\"no_messages\": 1}");
    std::ostringstream out;
    EXPECT_THROW(cli::run_template(a, out), Error);
    a.messages_file = (dir_ / "missing.json").string();
    EXPECT_THROW(cli::run_template(a, out), Error);
    a.messages_file.reset();
    a.now = "2026-13-01";
    EXPECT_THROW(cli::run_template(a, out), Error);
}

}  // namespace
}  // namespace statescope::chat_test
