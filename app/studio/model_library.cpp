#include "app/studio/model_library.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <filesystem>
#include <variant>

#include "core/model/config.h"
#include "core/model/model_spec.h"
#include "core/model/safetensors.h"

namespace statescope::studio {

namespace fs = std::filesystem;

QString hf_hub_cache_dir() {
    const QByteArray hub = qgetenv("HF_HUB_CACHE");
    if (!hub.isEmpty()) return QString::fromLocal8Bit(hub);
    const QByteArray home = qgetenv("HF_HOME");
    if (!home.isEmpty()) return QDir(QString::fromLocal8Bit(home)).filePath("hub");
    return QDir::home().filePath(".cache/huggingface/hub");
}

QStringList demo_model_dirs() {
    const QByteArray env = qgetenv("STATESCOPE_DEMO_MODELS");
    if (!env.isEmpty()) return {QString::fromLocal8Bit(env)};
    const QString installed =
        QDir(QCoreApplication::applicationDirPath()).filePath("../share/statescope/models");
    if (QFileInfo(installed).isDir()) return {QDir(installed).canonicalPath()};
#ifdef STATESCOPE_SOURCE_DIR
    // a build run from its source tree: the demo zoo in resources/models
    return {QStringLiteral(STATESCOPE_SOURCE_DIR "/resources/models")};
#else
    return {};
#endif
}

QVector<ModelEntry> scan_folder(const QString& folder, const QString& source) {
    QVector<ModelEntry> out;
    QDir dir(folder);
    if (dir.exists("config.json")) {
        out.push_back({dir.dirName(), dir.absolutePath(), source});
        return out;
    }
    for (const QString& sub : dir.entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name)) {
        QDir d(dir.filePath(sub));
        if (d.exists("config.json")) out.push_back({sub, d.absolutePath(), source});
    }
    return out;
}

QVector<ModelEntry> scan_hf_cache(const QString& hub_dir) {
    QVector<ModelEntry> out;
    QDir hub(hub_dir);
    for (const QString& repo : hub.entryList({"models--*"}, QDir::Dirs, QDir::Name)) {
        QDir repo_dir(hub.filePath(repo));
        QString rev;
        QFile ref(repo_dir.filePath("refs/main"));
        if (ref.open(QIODevice::ReadOnly)) rev = QString::fromUtf8(ref.readAll()).trimmed();
        QDir snaps(repo_dir.filePath("snapshots"));
        if (rev.isEmpty() || !snaps.exists(rev)) {
            const QStringList by_time =
                snaps.entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Time);
            if (by_time.isEmpty()) continue;
            rev = by_time.first();
        }
        QDir snap(snaps.filePath(rev));
        if (!snap.exists("config.json")) continue;
        // models--state-spaces--mamba-130m-hf -> state-spaces/mamba-130m-hf
        QString name = repo.mid(int(qstrlen("models--")));
        name.replace("--", "/");
        out.push_back({name, snap.absolutePath(), QStringLiteral("HF cache")});
    }
    return out;
}

QVector<ModelEntry> scan_models(const QStringList& user_folders) {
    QVector<ModelEntry> out;
    for (const QString& d : demo_model_dirs()) out += scan_folder(d, QStringLiteral("demo"));
    for (const QString& d : user_folders) out += scan_folder(d, QStringLiteral("folder"));
    out += scan_hf_cache(hf_hub_cache_dir());
    return out;
}

QString explain_load_error(const QString& dir_q, const std::string& what) {
    const fs::path dir(dir_q.toStdString());
    QString msg = QString::fromStdString(what);
    bool has_st = false, has_bin = false;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        const auto ext = e.path().extension();
        if (ext == ".safetensors") has_st = true;
        if (ext == ".bin" || ext == ".pt" || ext == ".pth") has_bin = true;
    }
    if (!fs::exists(dir / "config.json"))
        msg += QObject::tr("\nPick the folder that holds config.json and the .safetensors files.");
    else if (!has_st && has_bin)
        msg += QObject::tr(
            "\nThis folder has only PyTorch .bin weights. Statescope reads safetensors: download "
            "the "
            "safetensors revision, or convert once with transformers "
            "(model.save_pretrained(dir, safe_serialization=True)).");
    else if (!has_st)
        msg += QObject::tr("\nNo .safetensors weights here: the download may be incomplete.");
    return msg;
}

namespace {

// The recurrent state of one Mamba part (0 for other parts: their KV cache grows with the context).
std::int64_t state_floats(const PartSpec& p) {
    if (const auto* m1 = std::get_if<Mamba1Spec>(&p.mixer))
        return m1->d_inner * (m1->d_state + m1->d_conv - 1);  // ssm [I, N] + conv [K-1, I]
    if (const auto* m2 = std::get_if<Mamba2Spec>(&p.mixer))
        // ssm_state [H, P, N] + conv_state [K-1, conv_dim], as the mixers allocate them
        return m2->n_heads * m2->head_dim * m2->d_state + m2->conv_dim() * (m2->d_conv - 1);
    return 0;
}

}  // namespace

ModelCard describe_model(const QString& dir_q) {
    ModelCard card;
    card.path = dir_q;
    const fs::path dir(dir_q.toStdString());
    try {
        if (!fs::is_directory(dir)) throw std::runtime_error(dir.string() + " is not a folder");
        WeightStore weights = WeightStore::open_dir(dir);
        ModelSpec spec = load_model_spec(dir, weights);
        card.model_type = QString::fromStdString(spec.model_type);
        card.architecture = QString::fromStdString(spec.architecture);
        card.weight_dtype = QString::fromStdString(spec.weight_dtype);
        card.n_layers = spec.n_layers();
        card.d_model = spec.d_model;
        card.vocab_size = spec.vocab_size;
        card.n_params = spec.n_params;
        // One cell per part; '+' (a part running beside the previous one) is not a cell.
        card.layer_pattern = QString::fromStdString(spec.layer_pattern()).remove(QChar('+'));
        for (const auto& b : spec.blocks)
            for (const auto& part : b.parts) card.state_bytes += state_floats(part) * 4;
        card.weight_bytes = static_cast<std::int64_t>(weights.total_bytes());
        card.has_tokenizer = fs::exists(dir / "tokenizer.json");
        card.has_chat_template = fs::exists(dir / "chat_template.jinja");
        if (!card.has_chat_template && fs::exists(dir / "tokenizer_config.json")) {
            try {
                card.has_chat_template =
                    Config::load(dir / "tokenizer_config.json").has("chat_template");
            } catch (const std::exception&) {
            }
        }
        if (!card.has_tokenizer)
            card.error = QObject::tr(
                             "%1 has no tokenizer.json: the weights load, but chat needs "
                             "the tokenizer. Copy tokenizer.json from the model's repository.")
                             .arg(dir_q);
    } catch (const std::exception& e) {
        card.error = explain_load_error(dir_q, e.what());
    }
    return card;
}

QString format_bytes(std::int64_t bytes) {
    const double b = double(bytes);
    if (b >= 1e9) return QString::number(b / 1e9, 'f', 2) + " GB";
    if (b >= 1e6) return QString::number(b / 1e6, 'f', 1) + " MB";
    if (b >= 1e3) return QString::number(b / 1e3, 'f', 1) + " kB";
    return QString::number(bytes) + " B";
}

QString format_count(std::int64_t n) {
    const double v = double(n);
    if (v >= 1e9) return QString::number(v / 1e9, 'f', 2) + "B";
    if (v >= 1e6) return QString::number(v / 1e6, 'f', 1) + "M";
    if (v >= 1e3) return QString::number(v / 1e3, 'f', 1) + "k";
    return QString::number(n);
}

}  // namespace statescope::studio
