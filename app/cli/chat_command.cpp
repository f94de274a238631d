#include "app/cli/chat_command.h"

#include "app/cli/chat_recorder.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/model/config.h"
#include "core/runtime/backends.h"
#include "core/runtime/generate.h"
#include "core/runtime/model.h"
#include "core/tokenizer/tokenizer.h"

namespace statescope::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Ctrl-C: counted by the handler, read by the token callback (stop the reply) and by the line
// reader (a second one at the prompt exits).
volatile sig_atomic_t g_interrupts = 0;

void on_sigint(int) {
    g_interrupts = g_interrupts + 1;
}

void install_sigint() {
    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: a blocking read at the prompt returns EINTR
    sigaction(SIGINT, &sa, nullptr);
}

enum class LineStatus { Line, Eof, Interrupted };

// One line from fd 0 without the newline. Unbuffered reads of the fd (not std::cin) so that a
// signal interrupts the wait.
class LineReader {
  public:
    LineStatus read(std::string& line) {
        for (;;) {
            const auto nl = buf_.find('\n');
            if (nl != std::string::npos) {
                line = buf_.substr(0, nl);
                buf_.erase(0, nl + 1);
                if (!line.empty() && line.back() == '\r') line.pop_back();
                return LineStatus::Line;
            }
            if (eof_) {
                if (buf_.empty()) return LineStatus::Eof;
                line.swap(buf_);
                buf_.clear();
                return LineStatus::Line;
            }
            char chunk[4096];
            const ssize_t n = ::read(0, chunk, sizeof chunk);
            if (n < 0 && errno == EINTR) return LineStatus::Interrupted;
            if (n <= 0) {
                eof_ = true;
                continue;
            }
            buf_.append(chunk, std::size_t(n));
        }
    }

  private:
    std::string buf_;
    bool eof_ = false;
};

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t");
    if (b == std::string::npos) return "";
    const auto e = s.find_last_not_of(" \t");
    return s.substr(b, e - b + 1);
}

struct ChatSession {
    std::unique_ptr<kernels::Backend> backend;
    std::unique_ptr<Model> model;
    std::unique_ptr<Tokenizer> tokenizer;
    std::unique_ptr<Conversation> conversation;
    GenerateOptions options;
};

ChatSession open_session(const GenerateArgs& a) {
    ChatSession s;
    const fs::path dir(a.model_dir);
    ChatFormat format = load_chat_format(dir);
    const fs::path tok_path = dir / "tokenizer.json";
    if (!fs::exists(tok_path))
        throw Error("chat needs a tokenizer, and " + tok_path.string() + " does not exist");
    const LoadOptions load = load_options(a.dtype);
    s.backend = make_backend(a.backend);
    s.model = Model::load(dir, *s.backend, load);
    s.tokenizer = std::make_unique<Tokenizer>(Tokenizer::from_file(tok_path));
    apply_generate_flags(a, s.options);
    s.options.stop_ids =
        chat_stop_ids(dir, s.model->spec().eos_token_ids, *s.tokenizer, format.eos_token);
    if (isatty(2)) {
        s.options.prefill_progress = [](std::int64_t done, std::int64_t total) {
            if (total > 512)
                std::fprintf(stderr, "\rprefill %lld/%lld", (long long)done, (long long)total);
            if (total > 512 && done == total) std::fprintf(stderr, "\r\033[K");
            return g_interrupts == 0;
        };
    }
    s.conversation = std::make_unique<Conversation>(*s.model, *s.tokenizer, std::move(format));
    return s;
}

void print_stats(const Conversation::Reply& r) {
    const auto& st = r.stats;
    std::fprintf(stderr,
                 "[%lld tokens, TTFT %.0f ms, %.1f tok/s, prompt %lld tokens (%lld from "
                 "snapshot), stop: %s]\n",
                 (long long)st.generated_tokens, st.time_to_first_token * 1e3,
                 st.decode_tokens_per_s(), (long long)st.prompt_tokens, (long long)r.reused_tokens,
                 stop_reason_name(st.stop));
}

constexpr const char* kHelp =
    "Type a message and press Enter. Commands:\n"
    "  /regen          regenerate the last reply (from the state snapshot before it)\n"
    "  /system TEXT    set the system prompt (the messages so far are kept)\n"
    "  /reset          forget the conversation (the system prompt stays)\n"
    "  /save FILE      write the conversation as JSON messages (for `template --messages`)\n"
    "  /prompt         print the prompt the last reply read (what /regen feeds), as rendered\n"
    "  /help           this text\n"
    "  /quit           exit (also Ctrl-D, or Ctrl-C twice at the prompt)\n"
    "Ctrl-C during a reply stops the reply.\n";

// Rebuilds the active path with `system` in front (a new branch; the old one stays in the tree).
void set_system(Conversation& c, const std::string& system) {
    const json msgs = c.messages();
    c.select(-1);
    if (!system.empty()) c.add("system", system);
    for (const auto& m : msgs)
        if (m["role"] != "system")
            c.add(m["role"].get<std::string>(), m["content"].get<std::string>());
}

// The prompt of the reply on the active path (of the next one when the leaf is not a reply).
std::string last_prompt(Conversation& c) {
    const int leaf = c.leaf();
    if (leaf >= 0 && c.node(leaf).role == "assistant") c.select(c.node(leaf).parent);
    std::string text = c.prompt_text();
    c.select(leaf);
    return text;
}

}  // namespace

ChatFormat load_chat_format(const fs::path& model_dir) {
    const auto found = find_chat_template(model_dir);
    if (!found)
        throw Error(model_dir.string() +
                    ": the model has no chat template (no chat_template.jinja, and "
                    "tokenizer_config.json has no \"chat_template\"); use --prompt without --chat");
    return ChatFormat{ChatTemplate::parse(found->source, found->file.string()),
                      found->bos_token,
                      found->eos_token,
                      nlohmann::ordered_json::object(),
                      {},
                      /*add_special_tokens=*/false};
}

std::vector<std::int64_t> chat_stop_ids(const fs::path& model_dir,
                                        const std::vector<std::int64_t>& config_eos,
                                        const Tokenizer& tokenizer, const std::string& eos_token) {
    std::vector<std::int64_t> ids = config_eos;
    const fs::path gen_cfg = model_dir / "generation_config.json";
    if (fs::exists(gen_cfg)) {
        auto listed = Config::load(gen_cfg).get_int_list("eos_token_id");
        if (!listed.empty()) ids = listed;
    }
    if (!eos_token.empty()) {
        if (auto id = tokenizer.token_to_id(eos_token); id && tokenizer.is_special(*id))
            if (std::find(ids.begin(), ids.end(), *id) == ids.end()) ids.push_back(*id);
    }
    return ids;
}

int run_generate_chat(const GenerateArgs& a) {
    if (!a.prompt) throw Error("generate --chat needs --prompt (the user message)");
    ChatSession s = open_session(a);
    Conversation& c = *s.conversation;
    if (a.system) c.add("system", *a.system);
    c.add("user", *a.prompt);
    if (!a.json)
        s.options.on_text = [](std::string_view piece) {
            std::cout.write(piece.data(), std::streamsize(piece.size()));
            std::cout.flush();
        };
    const Conversation::Reply r = c.reply(s.options);
    if (a.json) {
        json out = {
            {"prompt_ids", r.prompt},
            {"ids", r.ids},
            {"text", r.stats.text},
            {"prompt_tokens", r.stats.prompt_tokens},
            {"generated_tokens", r.stats.generated_tokens},
            {"stop_reason", stop_reason_name(r.stats.stop)},
            {"ttft_ms", r.stats.time_to_first_token * 1e3},
            {"prefill_tok_s", r.stats.prefill_tokens_per_s()},
            {"decode_tok_s", r.stats.decode_tokens_per_s()},
            {"backend", s.backend->name()},
        };
        std::cout << out.dump(2) << "\n";
    } else {
        std::cout << "\n";
    }
    return 0;
}

int run_chat(const ChatArgs& a) {
    ChatSession s = open_session(a.gen);
    Conversation& c = *s.conversation;
    std::string system = a.system.value_or("");
    if (!system.empty()) c.add("system", system);
    c.set_read_twice(a.jrt);
    s.options.on_text = [](std::string_view piece) {
        std::cout.write(piece.data(), std::streamsize(piece.size()));
        std::cout.flush();
    };
    install_sigint();
    const bool interactive = isatty(0);
    if (interactive)
        std::fprintf(stderr, "statescope chat: %s (/help for commands)\n", a.gen.model_dir.c_str());
    std::unique_ptr<ChatRecorder> recorder;
    if (a.save)
        recorder = std::make_unique<ChatRecorder>(a.db, a.gen.model_dir, s.backend->name(),
                                                  a.gen.dtype.empty() ? "as stored" : a.gen.dtype);
    auto token_fn = [](std::int32_t) { return g_interrupts == 0; };
    auto finish = [&](const Conversation::Reply& r) {
        std::cout << "\n" << std::flush;
        if (r.stats.stop == StopReason::Cancelled && g_interrupts)
            std::fprintf(stderr, "[stopped]\n");
        print_stats(r);
        if (recorder) recorder->save(c, r, s.options);
        g_interrupts = 0;
    };
    auto report_saved = [&] {
        if (!recorder) return;
        if (const std::int64_t id = recorder->session_id())
            std::fprintf(stderr, "[saved as session %lld]\n", (long long)id);
    };
    LineReader reader;
    int interrupts_at_prompt = 0;
    for (;;) {
        if (interactive) {
            std::cout << "> " << std::flush;
        }
        std::string line;
        g_interrupts = 0;
        const LineStatus st = reader.read(line);
        if (st == LineStatus::Eof) break;
        if (st == LineStatus::Interrupted) {
            if (++interrupts_at_prompt >= 2) break;
            std::fprintf(stderr, "\n(Ctrl-C again to exit, or /quit)\n");
            continue;
        }
        interrupts_at_prompt = 0;
        const std::string text = trim(line);
        if (text.empty()) continue;
        try {
            if (text[0] == '/') {
                const auto sp = text.find(' ');
                const std::string cmd = text.substr(0, sp);
                const std::string arg = sp == std::string::npos ? "" : trim(text.substr(sp + 1));
                if (cmd == "/quit" || cmd == "/exit") break;
                if (cmd == "/help") {
                    std::fputs(kHelp, stderr);
                } else if (cmd == "/reset") {
                    c.clear();
                    if (!system.empty()) c.add("system", system);
                    report_saved();
                    if (recorder) recorder->restart();
                    std::fprintf(stderr, "[conversation cleared]\n");
                } else if (cmd == "/system") {
                    system = arg;
                    set_system(c, system);
                    std::fprintf(stderr, system.empty() ? "[system prompt removed]\n"
                                                        : "[system prompt set]\n");
                } else if (cmd == "/save") {
                    if (arg.empty()) throw Error("/save needs a file name");
                    std::ofstream out(arg, std::ios::binary);
                    if (!out) throw Error("cannot write " + arg);
                    out << c.messages().dump(2) << "\n";
                    if (!out.flush()) throw Error("cannot write " + arg);
                    std::fprintf(stderr, "[saved %zu messages to %s]\n", c.messages().size(),
                                 arg.c_str());
                } else if (cmd == "/prompt") {
                    std::cout << last_prompt(c) << "\n" << std::flush;
                } else if (cmd == "/regen") {
                    finish(c.regenerate(s.options, token_fn));
                } else {
                    throw Error("unknown command " + cmd + " (/help lists them)");
                }
                continue;
            }
            c.add("user", text);
            finish(c.reply(s.options, token_fn));
        } catch (const Error& e) {
            g_interrupts = 0;
            std::fprintf(stderr, "error: %s\n", e.what());
        }
    }
    report_saved();
    return 0;
}

}  // namespace statescope::cli
