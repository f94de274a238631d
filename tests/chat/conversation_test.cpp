// Conversation: a reply prepared from a state snapshot has the logits of a fresh prefill of the
// whole conversation; regenerate, edit-as-branch and branch switching reuse snapshots; templates
// that are not prefix-stable (dropping past reasoning) fall back to the common token prefix.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/chat/conversation.h"
#include "core/error.h"
#include "core/runtime/backends.h"
#include "tests/runtime/neox_fixture.h"

namespace statescope {
namespace {

// ChatML-like turns ended by eos_token.
constexpr const char* kTemplate =
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + eos_token + "
    "'\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

// Like Qwen3 / DeepSeek-R1: past assistant turns lose their <think>...</think> part, so the
// rendering of a conversation is not a prefix of the rendering after one more message.
constexpr const char* kDropsReasoning =
    "{% for m in messages %}{% set c = m['content'] %}"
    "{% if m['role'] == 'assistant' and not loop.last %}{% set c = c.split('</think>')[-1] %}"
    "{% endif %}{{ '<|im_start|>' + m['role'] + '\\n' + c + eos_token + '\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

class ConversationTest : public test::NeoxModelTest {
  protected:
    std::unique_ptr<Conversation> make(const char* source = kTemplate) {
        ChatFormat f{
            ChatTemplate::parse(source), "", "<|endoftext|>", nlohmann::ordered_json::object(), {}};
        return std::make_unique<Conversation>(*model_, *tok_, std::move(f));
    }
    // Logits of the last token after one forward pass over all of `ids` on a fresh sequence.
    std::vector<float> fresh_logits(const std::vector<std::int32_t>& ids) {
        Sequence seq(*model_);
        std::vector<float> logits;
        model_->forward(seq, ids, LogitRows::Last, &logits);
        return logits;
    }
    static void expect_same_logits(const std::vector<float>& a, const std::vector<float>& b) {
        ASSERT_EQ(a.size(), b.size());
        ASSERT_FALSE(a.empty());
        float scale = 0, worst = 0;
        for (std::size_t i = 0; i < a.size(); ++i) {
            scale = std::max(scale, std::fabs(b[i]));
            worst = std::max(worst, std::fabs(a[i] - b[i]));
        }
        EXPECT_LE(worst, 1e-6f * scale) << "max |diff| " << worst << ", max |logit| " << scale;
    }
    GenerateOptions greedy(std::int64_t n) {
        GenerateOptions o;
        o.max_new_tokens = n;
        return o;
    }
};

TEST_F(ConversationTest, RegenerateFromSnapshotMatchesFreshPrefill) {
    auto c = make();
    c->add("system", "You are a terse assistant.");
    c->add("user", "What is a state space model?");
    auto r1 = c->reply(greedy(6));
    ASSERT_EQ(r1.ids.size(), 6u);
    c->add("user", "And how does it remember things over a long text?");
    auto r2 = c->reply(greedy(6));
    ASSERT_GE(r2.node, 0);
    // The second prompt reused the state after the first reply's turn, not just the system turn.
    EXPECT_GT(r2.reused_tokens, 0);

    // Prepare the regenerated reply: the snapshot at the last user message plus a short suffix
    // (the generation prompt, "<|im_start|>assistant\n", is about ten tokens of plain text here).
    const int reply_node = c->leaf();
    c->select(c->node(reply_node).parent);
    auto p = c->prepare();
    ASSERT_FALSE(p.cancelled);
    EXPECT_GT(p.reused_tokens, std::int64_t(p.prompt.size()) - 12);
    EXPECT_LT(p.reused_tokens, std::int64_t(p.prompt.size()));
    expect_same_logits(p.logits, fresh_logits(p.prompt));

    // Regenerating (greedy) gives the same reply as generating from a fresh prefill.
    c->select(reply_node);
    auto again = c->regenerate(greedy(6));
    EXPECT_EQ(again.ids, r2.ids);
    EXPECT_NE(again.node, reply_node);
    EXPECT_EQ(c->node(again.node).parent, c->node(reply_node).parent);
    Sequence fresh(*model_);
    std::vector<std::int32_t> fresh_ids;
    generate(*model_, fresh, p.prompt, greedy(6), nullptr, &fresh_ids);
    EXPECT_EQ(again.ids, fresh_ids);
}

TEST_F(ConversationTest, EditAsBranchAndSwitchBranchesRestoreTheRightState) {
    auto c = make();
    c->add("user", "Tell me about Mamba.");
    c->reply(greedy(5));
    const int question_a = c->add("user", "Is it fast on long documents?");
    c->reply(greedy(5));
    const int leaf_a = c->leaf();
    const auto prompt_a_reply = [&] {
        c->select(question_a);
        return c->prompt_ids();
    }();

    // Edit the second question: a sibling branch, continuing from the first reply's snapshot.
    // B is shorter than A, so B's sequence (its prompt and reply) is about as long as A's prompt:
    // only the token check keeps it from being taken for A's state.
    const int question_b = c->edit(question_a, "Why?");
    EXPECT_EQ(c->node(question_b).parent, c->node(question_a).parent);
    auto pb = c->prepare();
    EXPECT_GT(pb.reused_tokens, 0);
    expect_same_logits(pb.logits, fresh_logits(pb.prompt));
    c->reply(greedy(5));

    // Back to branch A: its state comes from A's snapshots, not from B's sequence.
    c->select(question_a);
    auto pa = c->prepare();
    EXPECT_EQ(pa.prompt, prompt_a_reply);
    EXPECT_GT(pa.reused_tokens, std::int64_t(pa.prompt.size()) - 12);
    expect_same_logits(pa.logits, fresh_logits(pa.prompt));
    c->select(leaf_a);
    EXPECT_EQ(c->messages().size(), 4u);
    EXPECT_EQ(c->messages()[2]["content"], "Is it fast on long documents?");
}

TEST_F(ConversationTest, TemplateThatDropsReasoningFallsBackToTheCommonPrefix) {
    auto c = make(kDropsReasoning);
    c->add("user", "What is 2+2?");
    c->prepare();  // snapshots the user turn
    c->add("assistant", "<think>two and two make four, a long chain of thought</think>4");
    // Prepared with the reasoning in the prompt: the sequence now holds it.
    c->add("user", "Are you sure?");
    // Now the reasoning is gone from the rendering, so neither the sequence's own state nor a
    // snapshot taken after the reasoning may be used.
    auto p = c->prepare();
    const auto prompt = c->prompt_ids();
    EXPECT_EQ(p.prompt, prompt);
    const std::string text = tok_->decode(prompt);
    EXPECT_EQ(text.find("chain of thought"), std::string::npos);
    expect_same_logits(p.logits, fresh_logits(p.prompt));
    EXPECT_GT(p.reused_tokens, 0);

    // Continue past a turn with reasoning: the sequence after the reply holds the reasoning, the
    // next prompt does not.
    c->add("assistant", "<think>checking again, still four</think>Yes, 4.");
    auto with_reasoning = c->prepare();  // the last assistant keeps its reasoning here
    EXPECT_NE(tok_->decode(with_reasoning.prompt).find("still four"), std::string::npos);
    expect_same_logits(with_reasoning.logits, fresh_logits(with_reasoning.prompt));
    c->add("user", "Thanks.");
    auto after = c->prepare();
    EXPECT_EQ(tok_->decode(after.prompt).find("still four"), std::string::npos);
    expect_same_logits(after.logits, fresh_logits(after.prompt));
    EXPECT_GT(after.reused_tokens, 0);
}

TEST_F(ConversationTest, CancelledPrefillKeepsTheSequenceConsistent) {
    auto c = make();
    std::string long_text;
    for (int i = 0; i < 60; ++i) long_text += "token " + std::to_string(i) + " ";
    c->add("user", long_text);
    int calls = 0;
    auto p = c->prepare(16, [&](std::int64_t, std::int64_t) { return ++calls < 2; });
    EXPECT_TRUE(p.cancelled);
    auto q = c->prepare(16);
    EXPECT_FALSE(q.cancelled);
    EXPECT_EQ(q.reused_tokens, 32);  // the two chunks done before the cancel are kept
    expect_same_logits(q.logits, fresh_logits(q.prompt));
}

TEST_F(ConversationTest, SnapshotBudgetEvictsLeastRecentlyUsedAndStaysCorrect) {
    auto c = make();
    Sequence probe(*model_);
    const std::size_t one = probe.state_bytes();
    c->set_snapshot_budget(2 * one);
    for (int t = 0; t < 4; ++t) {
        c->add("user", "Turn " + std::to_string(t) + ": tell me more.");
        c->reply(greedy(4));
        EXPECT_LE(c->snapshot_bytes(), 2 * one);
    }
    int with_snapshot = 0;
    for (std::size_t i = 0; i < c->size(); ++i) with_snapshot += c->node(int(i)).snapshot ? 1 : 0;
    EXPECT_EQ(with_snapshot, 2);
    // The newest survive: the last user message keeps its snapshot, so regenerate still reuses it.
    const int last_user = c->node(c->leaf()).parent;
    EXPECT_TRUE(c->node(last_user).snapshot.has_value());
    EXPECT_FALSE(c->node(0).snapshot.has_value());
    // Editing the first message has no snapshot to start from: a full prefill, still exact.
    c->edit(0, "A different first question.");
    auto p = c->prepare();
    EXPECT_EQ(p.reused_tokens, 0);
    expect_same_logits(p.logits, fresh_logits(p.prompt));
}

TEST_F(ConversationTest, RegenerateNeedsAnAssistantReply) {
    auto c = make();
    c->add("user", "hi");
    EXPECT_THROW(c->regenerate(greedy(2)), Error);
}

}  // namespace
}  // namespace statescope

namespace statescope {
namespace {

std::size_t count_of(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

TEST_F(ConversationTest, ReadTwiceRepeatsTheLatestUserMessageInThePromptOnly) {
    auto c = make();
    c->add("user", "Keep 4711 in mind.");
    c->set_read_twice(true);
    EXPECT_EQ(c->prompt_text(),
              "<|im_start|>user\nKeep 4711 in mind.\n\nKeep 4711 in mind.<|endoftext|>\n"
              "<|im_start|>assistant\n");
    EXPECT_EQ(c->prompt_ids(), tok_->encode(c->prompt_text(), false));
    const auto first = c->reply(greedy(3));
    ASSERT_GE(first.node, 0);
    EXPECT_EQ(c->node(0).content, "Keep 4711 in mind.");  // stored once

    // The next turn: its context (before the last blank line) twice, its question once, and the
    // earlier message as it was sent.
    c->add("user", "A document.\n\nWhat number?");
    const std::string prompt = c->prompt_text();
    EXPECT_EQ(count_of(prompt, "Keep 4711 in mind."), 1u) << prompt;
    EXPECT_EQ(count_of(prompt, "A document.\n\n"), 2u) << prompt;
    EXPECT_EQ(count_of(prompt, "What number?"), 1u) << prompt;
    // Whatever the snapshots reused, the reply reads exactly that prompt.
    const auto second = c->reply(greedy(3));
    EXPECT_EQ(second.prompt, tok_->encode(prompt, false));
    ASSERT_GE(second.node, 0);
    c->select(c->node(second.node).parent);
    const auto again = c->prepare();
    EXPECT_EQ(again.prompt, second.prompt);
    expect_same_logits(again.logits, fresh_logits(second.prompt));

    c->set_read_twice(false);
    EXPECT_EQ(count_of(c->prompt_text(), "A document."), 1u);
}

}  // namespace
}  // namespace statescope
