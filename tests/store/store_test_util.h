// Shared by the store tests: a scratch folder per test, file bytes, and a small populated session.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/store/session_store.h"
#include "tests/test_data.h"

namespace statescope::test {

namespace fs = std::filesystem;

inline const fs::path kStoreData = statescope::test::test_data_dir() / "store";

// A fresh folder under $TMPDIR, removed with everything in it at the end of the test.
class ScratchDir {
  public:
    ScratchDir() {
        std::string pattern = (fs::temp_directory_path() / "statescope-store-XXXXXX").string();
        if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~ScratchDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }
    fs::path operator/(const std::string& name) const { return path_ / name; }

  private:
    fs::path path_;
};

inline std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

inline void write_file(const fs::path& p, const std::string& bytes) {
    std::ofstream out(p, std::ios::binary);
    out << bytes;
}

inline GenerationParams sample_params() {
    GenerationParams p;
    p.sampler = {{"temperature", 0.7}, {"top_p", 0.9}, {"max_new_tokens", 64}};
    p.seed = 1234567890123LL;
    p.backend = "cpu";
    p.dtype = "float32";
    p.device = "test CPU";
    return p;
}

inline GenerationStats sample_stats() {
    GenerationStats s;
    s.prompt_tokens = 12;
    s.generated_tokens = 64;
    s.ttft_s = 0.0421;
    s.prefill_s = 0.031;
    s.decode_s = 0.5333333333333333;
    s.prefill_tok_s = 12 / 0.031;
    s.decode_tok_s = 64 / 0.5333333333333333;
    s.peak_memory_bytes = 123456789;
    s.state_bytes = 1572864;
    s.stop_reason = "eos";
    return s;
}

struct SampleIds {
    std::int64_t session = 0, system = 0, question = 0, reply_a = 0, reply_b = 0, edit = 0,
                 edit_reply = 0, run = 0;
};

// A session with a branch: system -> question -> {reply_a, reply_b (regenerated)}, and an edited
// question (a sibling of question) with its own reply, which is the head. Plus an analysis run
// with a result and two blobs, and a model.
inline SampleIds make_sample_session(SessionStore& store,
                                     const std::string& title = "Sample chat") {
    SampleIds ids;
    auto model = store.touch_model({"/models/mamba-130m", "mamba", std::string(64, 'a')});
    NewSession ns;
    ns.title = title;
    ns.model = model;
    ns.metadata = {{"template", "chatml"}};
    auto s = store.create_session(ns);
    auto sys = store.add_message(s, {}, Role::System, "You are terse.");
    auto q = store.add_message(s, sys, Role::User, "Tell me about the ocean currents");
    NewMessage a_msg;
    a_msg.role = Role::Assistant;
    a_msg.text = "Currents move heat.";
    a_msg.model = model;
    a_msg.generation = Generation{sample_params(), sample_stats()};
    auto a = store.add_message(s, q, a_msg);
    StreamStart start;
    start.model = model;
    start.params = sample_params();
    auto b = store.begin_message(s, q, start);
    store.append_text(b, "Gulf ");
    store.append_text(b, "Stream, ");
    store.append_text(b, "mostly.");
    store.finish_message(b, sample_stats());
    auto e = store.add_message(s, sys, Role::User, "Tell me about tides (edited)");
    NewMessage er_msg;
    er_msg.role = Role::Assistant;
    er_msg.text = "The moon pulls.";
    er_msg.model = model;
    er_msg.generation = Generation{sample_params(), {}};
    er_msg.blobs = {BlobData{"ssm_state", {1, 2, 3, 4, 5}}};
    auto er = store.add_message(s, e, er_msg);
    NewAnalysisRun run_in;
    run_in.session = s;
    run_in.message = a;
    run_in.model = model;
    run_in.kind = "logit_lens";
    run_in.params = {{"layers", {0, 1, 2}}};
    run_in.result = {{"top_tokens", {"sea", "wave"}}, {"score", 0.25}};
    run_in.blobs = {BlobData{"capture", std::vector<std::uint8_t>(3000, 7)},
                    BlobData{"states", {9, 9, 9}}};
    auto run = store.add_analysis_run(run_in);
    store.flush();
    ids.session = s.id();
    ids.system = sys.id();
    ids.question = q.id();
    ids.reply_a = a.id();
    ids.reply_b = b.id();
    ids.edit = e.id();
    ids.edit_reply = er.id();
    ids.run = run.id();
    return ids;
}

}  // namespace statescope::test
