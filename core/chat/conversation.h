// A chat over one Sequence, kept as a message tree (edits and regenerations are siblings, never
// overwrites) with a state snapshot at message boundaries, so that regenerate, edit-as-branch and
// switching branches continue from a snapshot and prefill only the tokens after it.
//
// A message boundary is where the rendered conversation for messages[0..k] ends, measured in
// tokens of the next prompt: the longest common token prefix of the two renderings. For templates
// that are prefix-stable it is the end of message k; for those that are not (ones that drop past
// reasoning, or re-tokenize across the boundary) it is wherever the two still agree, so a snapshot
// is only ever reused for a prompt whose tokens it is an exact prefix of.
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/chat/chat_template.h"
#include "core/runtime/generate.h"
#include "core/runtime/model.h"
#include "core/runtime/sequence.h"
#include "core/tokenizer/tokenizer.h"

namespace statescope {

struct ConversationNode {
    std::string role, content;
    int parent = -1;
    std::vector<int> children;
    // The state after snapshot_ids (a prefix of the prompt for a reply after this message).
    std::optional<SequenceSnapshot> snapshot;
    std::vector<std::int32_t> snapshot_ids;
    std::uint64_t snapshot_used = 0;  // when it was last taken or restored (for eviction)
};

struct ChatFormat {
    ChatTemplate chat_template;
    std::string bos_token, eos_token;
    nlohmann::ordered_json extra = nlohmann::ordered_json::object();  // template variables
    std::function<std::time_t()> now;                                 // pins strftime_now
    // A template writes its own special tokens; a plain transcript (the studio's format for a
    // model without a template) gets the post-processor's, as a plain prompt would.
    bool add_special_tokens = false;
};

class Conversation {
  public:
    // `model` and `tokenizer` must outlive the conversation.
    Conversation(Model& model, const Tokenizer& tokenizer, ChatFormat format);

    // Appends a message after the active leaf; it becomes the leaf. Returns its node id.
    int add(std::string role, std::string content);
    // A sibling of `node` (same parent) with new content, as the leaf of a new branch.
    int edit(int node, std::string content);
    // Makes `node` the active leaf (switches branch). -1: the empty conversation.
    void select(int node);
    // Forgets every message and snapshot.
    void clear();

    int leaf() const { return leaf_; }
    const ConversationNode& node(int id) const { return nodes_.at(std::size_t(id)); }
    std::size_t size() const { return nodes_.size(); }
    std::vector<int> path() const;            // root .. leaf
    nlohmann::ordered_json messages() const;  // the active path as [{role, content}]

    // The prompt for an assistant reply after the active path: rendered with
    // add_generation_prompt=true and tokenized without adding special tokens (the template has
    // them; unless the format says otherwise). Error naming the template when it fails to render.
    std::vector<std::int32_t> prompt_ids() const;
    std::string prompt_text() const;  // what prompt_ids() tokenizes

    // JRT "read twice" (core/analysis/probes/prompts.h, jrt_message): a prompt for a reply reads
    // the latest user message twice. Only the prompt changes; the message is stored once.
    void set_read_twice(bool on);
    bool read_twice() const { return read_twice_; }

    // Any message list in this conversation's format (for a reply when add_generation_prompt,
    // then with JRT as set), and text tokenized as its prompts are: what a preview or an analysis
    // of a conversation that is not (yet) this one must feed to match it.
    std::string render_messages(nlohmann::ordered_json messages, bool add_generation_prompt) const;
    std::vector<std::int32_t> tokenize(const std::string& text) const { return encode(text); }

    struct Prepared {
        std::vector<std::int32_t> prompt;
        std::int64_t reused_tokens = 0;  // restored from a snapshot or kept in the sequence
        std::vector<float> logits;       // of the prompt's last token; empty when cancelled
        bool cancelled = false;
    };
    // Brings the sequence to the end of the prompt from the longest snapshot that is a prefix of
    // it, prefilling only the rest (in chunks of `chunk`, reporting progress) and snapshotting the
    // last two message boundaries on the way.
    Prepared prepare(std::int64_t chunk = 512, const ProgressFn& progress = {});

    struct Reply {
        GenerateStats stats;
        std::vector<std::int32_t> prompt;  // the prompt's tokens (before the reply)
        std::vector<std::int32_t> ids;
        std::int64_t reused_tokens = 0;
        double prepare_seconds = 0;  // restore + prefill of the suffix
        int node = -1;               // the assistant message added (-1 when nothing was)
    };
    // Generates the assistant's reply to the active path and appends it (also a partial reply
    // that was cancelled). The text is decoded without special tokens. stats.time_to_first_token
    // counts from the call, restore and prefill included.
    Reply reply(const GenerateOptions& options, const TokenFn& on_token = {});
    // A new reply in place of the active leaf, which must be an assistant message: the new one is
    // its sibling and becomes the leaf.
    Reply regenerate(const GenerateOptions& options, const TokenFn& on_token = {});

    Sequence& sequence() { return seq_; }
    std::size_t snapshot_bytes() const;
    // Snapshots past this many bytes are dropped, least recently used first (the one just taken
    // stays). A Mamba-2 2.7B state is about 170 MB, so keeping one per message is not free.
    void set_snapshot_budget(std::size_t bytes) { snapshot_budget_ = bytes; }

  private:
    std::string render(std::size_t n_messages, bool add_generation_prompt) const;
    std::vector<std::int32_t> encode(const std::string& text) const;
    void evict_snapshots(int keep);

    Model& model_;
    const Tokenizer& tokenizer_;
    ChatFormat format_;
    Sequence seq_;
    std::vector<std::int32_t> seq_ids_;  // the tokens the sequence holds now
    std::vector<ConversationNode> nodes_;
    int leaf_ = -1;
    std::size_t snapshot_budget_ = std::size_t{1} << 30;
    bool read_twice_ = false;
    std::uint64_t use_clock_ = 0;
    // The last prompt and the path it was rendered for: messages never change in place (an edit
    // is a new node), so regenerating reuses it instead of rendering and tokenizing the whole
    // conversation again. Cleared with the nodes.
    mutable std::vector<int> prompt_path_;
    mutable std::vector<std::int32_t> prompt_cache_;
};

}  // namespace statescope
