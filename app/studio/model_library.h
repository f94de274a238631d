// Where models come from (folders the user added, the Hugging Face cache, the bundled demo) and
// what the architecture card says about one. Reads only config.json and the safetensors headers.
#pragma once

#include <QString>
#include <QStringList>
#include <QVector>
#include <cstdint>

namespace statescope::studio {

struct ModelEntry {
    QString name;    // folder name, or "org/name" from the HF cache
    QString path;    // the folder holding config.json
    QString source;  // "demo", "folder", "HF cache"
};

struct ModelCard {
    QString path;
    QString error;  // non-empty: the folder cannot load, and why in words a user can act on
    QString model_type, architecture, weight_dtype;
    QString layer_pattern;  // one letter per block: M (Mamba-1), 2 (Mamba-2)
    std::int64_t n_layers = 0, d_model = 0, vocab_size = 0, n_params = 0;
    std::int64_t weight_bytes = 0;  // the checkpoint's weight files (memory-mapped)
    std::int64_t state_bytes = 0;   // recurrent state of one conversation, fp32
    bool has_tokenizer = false, has_chat_template = false;
};

// HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub.
QString hf_hub_cache_dir();
// The bundled demo models (the zoo: zoo-hybrid, zoo-llama, zoo-mamba, zoo-mamba2): the folder in
// STATESCOPE_DEMO_MODELS, else the installed share/statescope/models, else the source tree's
// resources/models.
QStringList demo_model_dirs();
// A folder holding config.json is one model; otherwise its subfolders that hold one.
QVector<ModelEntry> scan_folder(const QString& folder, const QString& source);
// models--org--name/snapshots/<rev>: the revision refs/main names, else the newest snapshot.
QVector<ModelEntry> scan_hf_cache(const QString& hub_dir);
QVector<ModelEntry> scan_models(const QStringList& user_folders);

ModelCard describe_model(const QString& dir);
// The engine's message (what is wrong) plus what to do about it, when the folder shows it.
QString explain_load_error(const QString& dir, const std::string& what);
QString format_bytes(std::int64_t bytes);
QString format_count(std::int64_t n);  // 1.2M, 130M, 2.7B

}  // namespace statescope::studio
