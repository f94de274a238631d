// statescope-cli generate --chat and chat, driven as scripts drive them: a tiny model folder with a
// chat template written here, stdin from a file (a pipe, not a terminal), stdout and stderr apart.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tests/cli/run_cli.h"
#include "tests/model/st_writer.h"
#include "tests/test_data.h"

namespace statescope {
namespace {

namespace fs = std::filesystem;
const fs::path kGolden = statescope::test::test_data_dir() / "golden";

// ChatML-like turns ended by the eos token (<|endoftext|>, an added special token of this
// tokenizer); the markers themselves are plain text for GPT-NeoX's tokenizer.
constexpr const char* kTemplate =
    "{{ bos_token }}{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + "
    "eos_token + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' "
    "}}{% endif %}";

using test::CliRun;
using test::slurp;

std::vector<std::string> lines_of(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream in(s);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

class ChatCli : public ::testing::Test {
  protected:
    void SetUp() override {
        model_ = tmp_.path() / "model";
        fs::copy(kGolden / "mamba-neox", model_);
        std::ofstream(model_ / "chat_template.jinja") << kTemplate;
        std::ofstream(model_ / "tokenizer_config.json") << R"({
  "tokenizer_class": "GPTNeoXTokenizer",
  "bos_token": "<|padding|>",
  "eos_token": "<|endoftext|>",
  "add_bos_token": false
})";
    }
    // stdin is always a file here (a pipe, not a terminal), empty unless `input` says otherwise.
    CliRun run(const std::vector<std::string>& args, const std::string& input = "") {
        return test::run_cli(args, tmp_.path(), input);
    }
    fs::path tmp(const std::string& name) const { return tmp_.path() / name; }
    testing::TempDir tmp_;
    fs::path model_;
};

TEST_F(ChatCli, GenerateChatRendersTheTemplateAndTokenizesWithoutAddingSpecialTokens) {
    std::ofstream(tmp("msgs.json")) << R"([{"role": "user", "content": "Hello there"}])";
    CliRun rendered = run({"template", "--model", model_.string(), "--messages",
                           tmp("msgs.json").string(), "--add-generation-prompt"});
    ASSERT_EQ(rendered.code, 0) << rendered.err;
    ASSERT_EQ(rendered.out.rfind("<|padding|><|im_start|>user\nHello there<|endoftext|>", 0), 0u)
        << rendered.out;
    CliRun ids = run(
        {"tokenize", "--model", model_.string(), "--no-special-tokens", "--text", rendered.out});
    ASSERT_EQ(ids.code, 0) << ids.err;

    CliRun r = run({"generate", "--model", model_.string(), "--chat", "--prompt", "Hello there",
                    "--max-new", "6", "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["prompt_ids"], nlohmann::json::parse(ids.out));
    EXPECT_EQ(j["prompt_ids"][0], 1);  // bos from tokenizer_config, rendered by the template
    EXPECT_EQ(j["generated_tokens"], 6);
    EXPECT_EQ(j["stop_reason"], "max_tokens");

    // The same reply streamed as text.
    CliRun text = run({"generate", "--model", model_.string(), "--chat", "--prompt", "Hello there",
                       "--max-new", "6"});
    ASSERT_EQ(text.code, 0) << text.err;
    EXPECT_EQ(text.out, j["text"].get<std::string>() + "\n");
}

TEST_F(ChatCli, GenerateChatStopsOnEveryEosOfTheGenerationConfig) {
    CliRun free_run = run({"generate", "--model", model_.string(), "--chat", "--prompt", "Hi",
                           "--max-new", "8", "--temperature", "1", "--seed", "11", "--json"});
    ASSERT_EQ(free_run.code, 0) << free_run.err;
    const auto ids = nlohmann::json::parse(free_run.out)["ids"];
    ASSERT_EQ(ids.size(), 8u);
    // Make the third generated token an end-of-turn id, second in a list, as Llama 3 / Qwen list
    // <|eot_id|> / <|im_end|> next to the eos.
    const int eot = ids[2].get<int>();
    std::ofstream(model_ / "generation_config.json") << "{\"eos_token_id\": [0, " << eot << "]}";
    const auto first = std::find(ids.begin(), ids.end(), ids[2]) - ids.begin();
    CliRun r = run({"generate", "--model", model_.string(), "--chat", "--prompt", "Hi", "--max-new",
                    "8", "--temperature", "1", "--seed", "11", "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["stop_reason"], "eos");
    EXPECT_EQ(j["generated_tokens"], first + 1);
    EXPECT_EQ(j["ids"].back(), eot);
}

TEST_F(ChatCli, GenerateChatStopStringAcrossTokens) {
    CliRun free_run = run({"generate", "--model", model_.string(), "--chat", "--prompt", "Hi",
                           "--max-new", "12", "--temperature", "1", "--seed", "3", "--json"});
    ASSERT_EQ(free_run.code, 0) << free_run.err;
    const auto j0 = nlohmann::json::parse(free_run.out);
    const std::string full = j0["text"];
    ASSERT_GT(full.size(), 12u);
    // A stop string from the middle of the reply, long enough to span tokens.
    const std::string stop = full.substr(full.size() / 2, 5);
    CliRun r = run({"generate", "--model", model_.string(), "--chat", "--prompt", "Hi", "--max-new",
                    "12", "--temperature", "1", "--seed", "3", "--stop", stop});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, full.substr(0, full.find(stop)) + "\n");
}

TEST_F(ChatCli, GenerateChatWithoutATemplateIsAnError) {
    CliRun r =
        run({"generate", "--model", (kGolden / "mamba-neox").string(), "--chat", "--prompt", "Hi"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("has no chat template"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
    EXPECT_TRUE(r.out.empty());
}

TEST_F(ChatCli, ScriptedChatRegenSystemSaveReset) {
    const std::string save = tmp("conv.json").string();
    CliRun r = run({"chat", "--model", model_.string(), "--max-new", "10", "--temperature", "1",
                    "--seed", "5"},
                   "What is a state space model?\n"
                   "/regen\n"
                   "/system You answer in one word.\n"
                   "/save " +
                       save +
                       "\n"
                       "/reset\n"
                       "What is a state space model?\n"
                       "/bogus\n"
                       "/quit\n"
                       "never read\n");
    ASSERT_EQ(r.code, 0) << r.err;
    const auto out = lines_of(r.out);
    ASSERT_EQ(out.size(), 3u) << r.out;
    EXPECT_FALSE(out[0].empty());
    EXPECT_EQ(out[1], out[0]);  // /regen: same seed, same snapshot, same reply
    // After /reset the conversation is one user message again, now under the system prompt, so
    // the prompt differs from the first one.
    const auto err = lines_of(r.err);
    int stats = 0;
    for (const auto& line : err) stats += line.find("tokens, TTFT") != std::string::npos;
    EXPECT_EQ(stats, 3) << r.err;
    EXPECT_NE(r.err.find("(0 from snapshot)"), std::string::npos);
    EXPECT_NE(r.err.find("unknown command /bogus"), std::string::npos) << r.err;

    // /save wrote the branch shown: system, user, the regenerated reply.
    const auto saved = nlohmann::json::parse(slurp(save));
    ASSERT_EQ(saved.size(), 3u);
    EXPECT_EQ(saved[0],
              (nlohmann::json{{"role", "system"}, {"content", "You answer in one word."}}));
    EXPECT_EQ(saved[1]["role"], "user");
    EXPECT_EQ(saved[1]["content"], "What is a state space model?");
    EXPECT_EQ(saved[2]["role"], "assistant");
    EXPECT_EQ(saved[2]["content"], out[1]);
    CliRun t = run({"template", "--model", model_.string(), "--messages", save});
    ASSERT_EQ(t.code, 0) << t.err;
    EXPECT_NE(t.out.find("<|im_start|>system\nYou answer in one word.<|endoftext|>"),
              std::string::npos);
}

TEST_F(ChatCli, ResetForgetsTheConversation) {
    const std::vector<std::string> args = {
        "chat", "--model", model_.string(), "--max-new", "8", "--temperature", "1", "--seed", "9"};
    CliRun once = run(args, "First question\n");
    ASSERT_EQ(once.code, 0) << once.err;
    // Without /reset the second question sees the first exchange; with it, it is a fresh
    // conversation and its reply equals a conversation that starts with it.
    CliRun fresh = run(args, "Second question\n");
    CliRun reset = run(args, "First question\n/reset\nSecond question\n");
    CliRun kept = run(args, "First question\nSecond question\n");
    ASSERT_EQ(reset.code, 0) << reset.err;
    const auto reset_lines = lines_of(reset.out);
    ASSERT_EQ(reset_lines.size(), 2u);
    EXPECT_EQ(reset_lines[0] + "\n", once.out);
    EXPECT_EQ(reset_lines[1] + "\n", fresh.out);
    const auto kept_lines = lines_of(kept.out);
    ASSERT_EQ(kept_lines.size(), 2u);
    EXPECT_NE(kept.err.find("from snapshot"), std::string::npos);
    // The second reply continued from the first turn's state.
    EXPECT_EQ(kept.err.find("(0 from snapshot), stop"), kept.err.rfind("(0 from snapshot), stop"));
}

TEST_F(ChatCli, JrtPromptHasTheLatestMessageExactlyTwice) {
    const std::vector<std::string> args = {"chat", "--model", model_.string(), "--max-new", "4"};
    const std::string input = "Keep 4711 in mind.\n/prompt\nWhich number?\n/prompt\n";
    auto prompts = [](const std::string& out) {  // each /prompt starts with the template's bos
        std::vector<std::string> found;
        for (auto at = out.find("<|padding|><|im_start|>"); at != std::string::npos;) {
            const auto next = out.find("<|padding|><|im_start|>", at + 1);
            found.push_back(out.substr(at, next == std::string::npos ? next : next - at));
            at = next;
        }
        return found;
    };
    auto jrt_args = args;
    jrt_args.push_back("--jrt");
    CliRun jrt = run(jrt_args, input);
    ASSERT_EQ(jrt.code, 0) << jrt.err;
    const auto twice = prompts(jrt.out);
    ASSERT_EQ(twice.size(), 2u) << jrt.out;
    EXPECT_NE(twice[0].find("<|im_start|>user\nKeep 4711 in mind.\n\nKeep 4711 in "
                            "mind.<|endoftext|>\n<|im_start|>assistant\n"),
              std::string::npos)
        << twice[0];
    // The second prompt: the earlier message once (as sent), the latest one twice.
    EXPECT_EQ(twice[1].find("Keep 4711 in mind."), twice[1].rfind("Keep 4711 in mind."));
    EXPECT_NE(twice[1].find("user\nWhich number?\n\nWhich number?<|endoftext|>"), std::string::npos)
        << twice[1];

    CliRun plain = run(args, input);
    ASSERT_EQ(plain.code, 0) << plain.err;
    const auto once = prompts(plain.out);
    ASSERT_EQ(once.size(), 2u) << plain.out;
    EXPECT_NE(once[0].find("user\nKeep 4711 in mind.<|endoftext|>"), std::string::npos);
    EXPECT_EQ(once[1].find("Which number?"), once[1].rfind("Which number?"));
}

// statescope-cli chat as a child process with pipes on stdin/stdout/stderr, for Ctrl-C tests.
class ChatProcess {
  public:
    explicit ChatProcess(const std::vector<std::string>& args) {
        int in[2], out[2], err[2];
        if (pipe(in) || pipe(out) || pipe(err)) throw std::runtime_error("pipe");
        pid_ = fork();
        if (pid_ == 0) {
            dup2(in[0], 0);
            dup2(out[1], 1);
            dup2(err[1], 2);
            for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) close(fd);
            std::vector<char*> argv;
            static std::string cli = STATESCOPE_CLI;
            argv.push_back(cli.data());
            std::vector<std::string> copy = args;
            for (auto& a : copy) argv.push_back(a.data());
            argv.push_back(nullptr);
            execv(cli.c_str(), argv.data());
            _exit(127);
        }
        close(in[0]);
        close(out[1]);
        close(err[1]);
        in_ = in[1];
        out_ = out[0];
        err_ = err[0];
        fcntl(out_, F_SETFL, O_NONBLOCK);
        fcntl(err_, F_SETFL, O_NONBLOCK);
    }
    ~ChatProcess() {
        if (pid_ > 0 && !exited_) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
        for (int fd : {in_, out_, err_})
            if (fd >= 0) close(fd);
    }
    void write_line(const std::string& s) {
        const std::string line = s + "\n";
        ASSERT_EQ(::write(in_, line.data(), line.size()), ssize_t(line.size()));
    }
    // Reads what is available until `pred(out, err)` holds or `seconds` pass.
    bool wait_for(const std::function<bool()>& pred, double seconds) {
        const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
        while (std::chrono::steady_clock::now() < end) {
            drain();
            if (pred()) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        drain();
        return pred();
    }
    void interrupt() { kill(pid_, SIGINT); }
    // The exit code, or -1 while it runs.
    int poll_exit() {
        if (exited_) return code_;
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            exited_ = true;
            code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        return exited_ ? code_ : -1;
    }
    std::string out, err;

  private:
    void drain() {
        char buf[4096];
        ssize_t n;
        while ((n = ::read(out_, buf, sizeof buf)) > 0) out.append(buf, std::size_t(n));
        while ((n = ::read(err_, buf, sizeof buf)) > 0) err.append(buf, std::size_t(n));
    }
    pid_t pid_ = -1;
    int in_ = -1, out_ = -1, err_ = -1;
    bool exited_ = false;
    int code_ = -1;
};

TEST_F(ChatCli, CtrlCStopsTheReplyNotTheProgram) {
    ChatProcess p({"chat", "--model", model_.string(), "--max-new", "1000000", "--temperature", "1",
                   "--seed", "1"});
    p.write_line("Tell me everything.");
    ASSERT_TRUE(p.wait_for([&] { return p.out.size() > 20; }, 60)) << p.err;
    p.interrupt();
    ASSERT_TRUE(p.wait_for([&] { return p.err.find("stop: cancelled") != std::string::npos; }, 30))
        << p.err;
    EXPECT_NE(p.err.find("[stopped]"), std::string::npos);
    EXPECT_EQ(p.poll_exit(), -1);  // still running, back at the prompt
    // It still takes commands; /quit ends it normally.
    p.write_line("/save " + tmp("after.json").string());
    p.write_line("/quit");
    ASSERT_TRUE(p.wait_for([&] { return p.poll_exit() >= 0; }, 30)) << p.err;
    EXPECT_EQ(p.poll_exit(), 0);
    // The partial reply was kept as the assistant message.
    const auto saved = nlohmann::json::parse(slurp(tmp("after.json")));
    ASSERT_EQ(saved.size(), 2u);
    EXPECT_EQ(saved[1]["role"], "assistant");
    EXPECT_FALSE(saved[1]["content"].get<std::string>().empty());
}

TEST_F(ChatCli, CtrlCAtThePromptExits) {
    ChatProcess p({"chat", "--model", model_.string(), "--max-new", "2"});
    p.write_line("Hi");
    ASSERT_TRUE(p.wait_for([&] { return p.err.find("TTFT") != std::string::npos; }, 60)) << p.err;
    // Interrupt until it exits (the first Ctrl-C at the prompt only warns).
    const bool exited = p.wait_for(
        [&] {
            if (p.poll_exit() >= 0) return true;
            p.interrupt();
            return false;
        },
        10);
    ASSERT_TRUE(exited) << p.err;
    EXPECT_EQ(p.poll_exit(), 0);
    EXPECT_NE(p.err.find("Ctrl-C again to exit"), std::string::npos) << p.err;
}

// chat --save keeps the conversation as a tree in the session store: /regen is a sibling reply
// under the same user message, the next turn continues from the regenerated one, /reset starts a
// second session; `sessions show` reads back exactly the texts the chat printed.
TEST_F(ChatCli, SaveKeepsTheTreeInTheStore) {
    const std::string db = tmp("chat.db").string();
    CliRun r = run({"chat", "--model", model_.string(), "--max-new", "5", "--temperature", "1",
                    "--seed", "0", "--save", "--db", db},
                   "First question\n/regen\nSecond question\n/reset\nAnother chat\n");
    ASSERT_EQ(r.code, 0) << r.err;
    const auto replies = lines_of(r.out);
    ASSERT_EQ(replies.size(), 4u) << r.out;
    EXPECT_NE(r.err.find("[saved as session 1]"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("[saved as session 2]"), std::string::npos) << r.err;

    CliRun shown = run({"--db", db, "sessions", "show", "1"});
    ASSERT_EQ(shown.code, 0) << shown.err;
    const auto session = nlohmann::json::parse(shown.out);
    const auto& m = session["messages"];
    ASSERT_EQ(m.size(), 5u) << shown.out;
    EXPECT_EQ(session["title"], "First question");
    // user, reply, regenerated reply (same parent), user after it, its reply
    EXPECT_EQ(m[0]["role"], "user");
    EXPECT_EQ(m[0]["text"], "First question");
    EXPECT_TRUE(m[0]["parent"].is_null());
    EXPECT_EQ(m[1]["parent"], m[0]["id"]);
    EXPECT_EQ(m[2]["parent"], m[0]["id"]);
    EXPECT_EQ(m[3]["text"], "Second question");
    EXPECT_EQ(m[3]["parent"], m[2]["id"]);
    EXPECT_EQ(m[4]["parent"], m[3]["id"]);
    EXPECT_EQ(session["head"], m[4]["id"]);
    for (int i : {1, 2, 4}) {
        EXPECT_EQ(m[i]["role"], "assistant");
        EXPECT_EQ(m[i]["generation"]["generated_tokens"], 5);
        EXPECT_EQ(m[i]["generation"]["sampler"]["temperature"], 1.0);
    }
    EXPECT_EQ(m[1]["text"], replies[0]);
    EXPECT_EQ(m[2]["text"], replies[1]);
    EXPECT_EQ(m[4]["text"], replies[2]);

    CliRun second = run({"--db", db, "sessions", "show", "2"});
    ASSERT_EQ(second.code, 0) << second.err;
    const auto other = nlohmann::json::parse(second.out);
    ASSERT_EQ(other["messages"].size(), 2u);
    EXPECT_EQ(other["messages"][0]["text"], "Another chat");
    EXPECT_EQ(other["messages"][1]["text"], replies[3]);
}

}  // namespace
}  // namespace statescope
