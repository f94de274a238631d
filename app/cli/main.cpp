// statescope-cli: the engine for scripts, tests and benchmarks (docs/DESIGN.md §7).
// Machine-readable output on stdout (JSON, or .npy files); errors are one line on stderr and a
// non-zero exit code.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "app/cli/analyze_command.h"
#include "app/cli/chat_command.h"
#include "app/cli/commands.h"
#include "app/cli/probe_command.h"
#include "app/cli/sessions_command.h"
#include "app/cli/template_command.h"
#include "core/error.h"

using namespace statescope;
using namespace statescope::cli;

namespace {

void add_tokenizer_source(CLI::App* cmd, TokenizerSource& src) {
    auto* m = cmd->add_option("--model", src.model_dir, "checkpoint folder holding tokenizer.json");
    auto* t = cmd->add_option("--tokenizer", src.tokenizer_file, "a tokenizer.json file");
    m->excludes(t);
    cmd->callback([m, t] {
        if (m->count() == 0 && t->count() == 0)
            throw CLI::ValidationError("--model or --tokenizer is required");
    });
}

// Sampling flags, --max-new, --stop and --backend, shared by generate and chat.
void add_generate_flags(CLI::App* cmd, GenerateArgs& gen) {
    cmd->add_option("--max-new", gen.max_new, "tokens to generate (default 64)");
    cmd->add_flag("--greedy", gen.greedy, "greedy decoding whatever the sampling options say");
    cmd->add_option("--temperature", gen.temperature, "sampling temperature; 0 = greedy (default)");
    cmd->add_option("--top-k", gen.top_k, "keep the k most likely tokens (0 = off)");
    cmd->add_option("--top-p", gen.top_p,
                    "nucleus: keep the smallest set with this much mass (1 = off)");
    cmd->add_option("--min-p", gen.min_p, "keep tokens with p >= min_p * p_max (0 = off)");
    cmd->add_option("--repeat-penalty", gen.repeat_penalty,
                    "transformers' repetition penalty (1 = off)");
    cmd->add_option("--presence-penalty", gen.presence_penalty,
                    "subtract from seen tokens' logits (0 = off)");
    cmd->add_option("--frequency-penalty", gen.frequency_penalty,
                    "subtract per occurrence (0 = off)");
    cmd->add_option("--seed", gen.seed, "random seed (same seed, same output)");
    cmd->add_option("--stop", gen.stop, "stop when the reply contains this text (repeatable)");
    cmd->add_option("--backend", gen.backend, "cpu (cuda when built with it)");
    cmd->add_option("--dtype", gen.dtype,
                    "convert weight matrices at load: fp32, bf16 or fp16 (default: as stored)");
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"statescope-cli: run and inspect state-space and hybrid language models"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "statescope-cli 0.1.0");

    InfoArgs info;
    auto* c_info = app.add_subcommand("info", "describe a checkpoint folder as JSON");
    c_info->add_option("--model", info.model_dir, "checkpoint folder")->required();

    TokenizeArgs tok;
    auto* c_tok = app.add_subcommand("tokenize", "text -> JSON array of token ids");
    add_tokenizer_source(c_tok, tok.source);
    auto* o_text = c_tok->add_option("--text", tok.text, "the text");
    auto* o_file =
        c_tok->add_option("--text-file", tok.text_file, "a file whose whole content is the text");
    auto* o_jsonl = c_tok->add_option("--jsonl", tok.jsonl,
                                      "one JSON string per line; one id array per output line");
    o_text->excludes(o_file)->excludes(o_jsonl);
    o_file->excludes(o_jsonl);
    c_tok->add_flag(
        "!--no-special-tokens", tok.add_special_tokens,
        "do not apply the post-processor's special tokens (HF add_special_tokens=False)");

    DetokenizeArgs detok;
    auto* c_detok = app.add_subcommand("detokenize", "token ids -> text");
    add_tokenizer_source(c_detok, detok.source);
    c_detok->add_option("--ids", detok.ids, "ids separated by commas")->required();
    c_detok->add_flag("--skip-special-tokens", detok.skip_special_tokens, "drop special tokens");

    LogitsArgs lg;
    auto* c_lg = app.add_subcommand("logits", "logits of every position as float32 .npy [T, V]");
    c_lg->add_option("--model", lg.model_dir, "checkpoint folder")->required();
    auto* o_ids = c_lg->add_option("--ids", lg.ids, "ids separated by commas");
    auto* o_ids_file = c_lg->add_option("--ids-file", lg.ids_file,
                                        "a file of ids separated by whitespace or commas");
    o_ids->excludes(o_ids_file);
    c_lg->add_option("--decode-from", lg.decode_from,
                     "prefill the first P tokens at once, then feed every later token alone");
    c_lg->add_option("--backend", lg.backend, "cpu (cuda when built with it)");
    c_lg->add_option("--dtype", lg.dtype,
                     "convert weight matrices at load: fp32, bf16 or fp16 (default: as stored)");
    c_lg->add_option("--out", lg.out, "output .npy file")->required();

    GenerateArgs gen;
    auto* c_gen = app.add_subcommand(
        "generate", "continue a prompt, or with --chat reply to it as a user message");
    c_gen->add_option("--model", gen.model_dir, "checkpoint folder")->required();
    auto* o_prompt = c_gen->add_option("--prompt", gen.prompt,
                                       "prompt text (tokenized with the model's tokenizer)");
    auto* o_gids = c_gen->add_option("--ids", gen.ids, "prompt ids separated by commas");
    o_prompt->excludes(o_gids);
    add_generate_flags(c_gen, gen);
    c_gen->add_flag("--chat", gen.chat,
                    "the prompt is one user message rendered through the model's chat template");
    c_gen->add_option("--system", gen.system, "a system message before the prompt (with --chat)");
    c_gen->add_flag("--json", gen.json, "print ids, text and timings as JSON");
    c_gen->add_option("--context-file", gen.context_file,
                      "a document put before --prompt (with --chat: in the user message)");
    c_gen->add_flag("--jrt", gen.jrt,
                    "\"just read twice\": the --context-file document twice before --prompt");
    c_gen->add_option("--longmamba", gen.longmamba,
                      "filter the prompt's tokens per LongMamba with this calibration (analyze "
                      "longmamba-calibrate)");
    c_gen->add_option("--longmamba-c", gen.longmamba_c, "global iff tA_prod > c (default 5e-2)");
    c_gen->add_option("--longmamba-b", gen.longmamba_b, "threshold factor b (default 1)");
    c_gen->add_option("--longmamba-min-tokens", gen.longmamba_min_tokens,
                      "filter only prompts of at least this many tokens (default 3000)");

    ChatArgs chat;
    chat.gen.max_new = 512;
    auto* c_chat = app.add_subcommand(
        "chat", "interactive chat through the model's chat template (stdin: a terminal or a pipe)");
    c_chat->add_option("--model", chat.gen.model_dir, "checkpoint folder")->required();
    add_generate_flags(c_chat, chat.gen);
    c_chat->get_option("--max-new")->description("tokens per reply at most (default 512)");
    c_chat->add_option("--system", chat.system, "system prompt");
    c_chat->add_flag("--jrt", chat.jrt,
                     "\"just read twice\": each reply's prompt has the latest user message twice "
                     "(a context before its last blank line twice, then the question)");
    c_chat->add_flag("--save", chat.save,
                     "keep the conversation in the session store (a new session; /regen and "
                     "/system add branches)");
    c_chat->add_option("--db", chat.db, "session database for --save (default: the user's)");

    TemplateArgs tpl;
    auto* c_tpl = app.add_subcommand(
        "template", "render a chat template exactly as transformers' apply_chat_template does");
    auto* o_tfile = c_tpl->add_option("--template", tpl.template_file, "a .jinja template file");
    auto* o_tmodel =
        c_tpl->add_option("--model", tpl.model_dir, "checkpoint folder: use its own chat template");
    o_tfile->excludes(o_tmodel);
    c_tpl->add_option("--template-name", tpl.template_name,
                      "a named template of --model (default: \"default\")");
    c_tpl->add_option("--messages", tpl.messages_file,
                      "JSON array of messages, or {messages, tools, ...}; - reads stdin");
    c_tpl->add_flag("--add-generation-prompt", tpl.add_generation_prompt,
                    "end with the assistant turn's opening");
    c_tpl->add_option("--bos", tpl.bos, "bos_token (default with --model: the model's)");
    c_tpl->add_option("--eos", tpl.eos, "eos_token (default with --model: the model's)");
    c_tpl->add_option("--now", tpl.now, "pin strftime_now to this date (YYYY-MM-DD)");

    AnalyzeArgs analyze;
    auto* c_analyze = add_analyze_command(app, analyze);

    ProbeArgs probe;
    auto* c_probe = add_probe_command(app, probe);

    SessionsArgs sessions;
    auto* c_sessions = add_sessions_command(app, sessions);

    if (argc > 1 && argv[1][0] != '-') {
        const std::string verb = argv[1];
        std::string verbs;
        bool known = false;
        for (const auto* sub : app.get_subcommands([](CLI::App*) { return true; })) {
            verbs += (verbs.empty() ? "" : ", ") + sub->get_name();
            known = known || sub->get_name() == verb;
        }
        if (!known) {
            std::cerr << "statescope-cli: unknown command \"" << verb << "\" (commands: " << verbs
                      << ")\n";
            return 2;
        }
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        std::cout << app.help();
        return 0;
    } catch (const CLI::CallForVersion& e) {
        std::cout << e.what() << "\n";
        return 0;
    } catch (const CLI::ParseError& e) {
        // One line naming what is wrong, as for every other error.
        std::string sub =
            app.get_subcommands().empty() ? "" : app.get_subcommands().front()->get_name() + ": ";
        std::cerr << "statescope-cli: " << sub << e.what() << " (see --help)\n";
        return 2;
    }
    try {
        if (c_info->parsed()) return run_info(info);
        if (c_analyze->parsed()) return run_analyze(analyze);
        if (c_probe->parsed()) return run_probe(probe);
        if (c_sessions->parsed()) return run_sessions(sessions);
        if (c_tpl->parsed()) {
            if (tpl.template_file.empty() && tpl.model_dir.empty())
                throw Error("template: give --template FILE or --model DIR");
            return run_template(tpl);
        }
        if (c_tok->parsed()) {
            if (!tok.text && !tok.text_file && !tok.jsonl)
                throw Error("tokenize: give --text, --text-file or --jsonl");
            return run_tokenize(tok);
        }
        if (c_detok->parsed()) return run_detokenize(detok);
        if (c_chat->parsed()) {
            if (chat.db.empty()) chat.db = sessions.db;  // `statescope-cli --db X chat --save`
            return run_chat(chat);
        }
        if (c_lg->parsed()) {
            if (!lg.ids && !lg.ids_file) throw Error("logits: give --ids or --ids-file");
            return run_logits(lg);
        }
        if (c_gen->parsed()) {
            if (!gen.prompt && !gen.ids) throw Error("generate: give --prompt or --ids");
            apply_context(gen);
            return run_generate(gen);
        }
    } catch (const std::exception& e) {
        std::string msg = e.what();
        for (auto& ch : msg)
            if (ch == '\n') ch = ' ';
        std::cerr << "statescope-cli: " << msg << "\n";
        return 1;
    }
    return 1;
}
