#include "app/cli/template_command.h"

#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "core/chat/chat_template.h"
#include "core/error.h"

namespace statescope::cli {

namespace {

std::string read_text(const std::string& path) {
    if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot read the file");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

int run_template(const TemplateArgs& args) {
    return run_template(args, std::cout);
}

int run_template(const TemplateArgs& args, std::ostream& out) {
    if (args.template_file.empty() == args.model_dir.empty())
        throw Error("template: give exactly one of --template FILE and --model DIR");
    std::string source, name, bos = args.bos, eos = args.eos;
    if (!args.model_dir.empty()) {
        const auto found = find_chat_template(args.model_dir, args.template_name);
        if (!found) throw Error(args.model_dir + ": the model has no chat template");
        source = found->source;
        name = found->file.string();
        if (bos.empty()) bos = found->bos_token;
        if (eos.empty()) eos = found->eos_token;
    } else {
        source = read_text(args.template_file);
        name = args.template_file;
    }

    nlohmann::ordered_json messages = nlohmann::ordered_json::array();
    nlohmann::ordered_json extra = nlohmann::ordered_json::object();
    if (args.messages_file) {
        nlohmann::ordered_json doc;
        try {
            doc = nlohmann::ordered_json::parse(read_text(*args.messages_file));
        } catch (const nlohmann::json::exception& e) {
            throw Error(*args.messages_file + ": not valid JSON (" + e.what() + ")");
        }
        if (doc.is_array()) {
            messages = std::move(doc);
        } else if (doc.is_object() && doc.contains("messages") && doc["messages"].is_array()) {
            messages = doc["messages"];
            for (auto it = doc.begin(); it != doc.end(); ++it)
                if (it.key() != "messages") extra[it.key()] = it.value();
        } else {
            throw Error(*args.messages_file +
                        ": expected a JSON array of messages or an object with \"messages\"");
        }
    }

    std::function<std::time_t()> clock;
    if (args.now) {
        const std::time_t pinned = local_noon(*args.now);
        clock = [pinned] { return pinned; };
    }
    const ChatTemplate t = ChatTemplate::parse(source, name);
    const std::string text =
        t.render(messages, args.add_generation_prompt, bos, eos, extra, std::move(clock));
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.flush();
    return 0;
}

}  // namespace statescope::cli
