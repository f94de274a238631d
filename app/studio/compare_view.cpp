#include "app/studio/compare_view.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QTabWidget>
#include <QTableWidget>
#include <QVBoxLayout>
#include <cmath>

#include "app/studio/compare_worker.h"
#include "app/studio/model_library.h"
#include "core/runtime/backends.h"
#include "core/store/model_fingerprint.h"
#include "core/store/session_store.h"
#include "widgets/common/export_menu.h"
#include "widgets/compare/aligned_outputs.h"
#include "widgets/compare/loss_text_view.h"
#include "widgets/compare/series_plot.h"

namespace statescope::studio {

namespace {

QString q(const std::string& s) {
    return QString::fromStdString(s);
}

constexpr const char* kDefaultText =
    "The quick brown fox jumps over the lazy dog. A state-space model keeps a fixed-size state, "
    "while a Transformer keeps every key and value it has seen.";

// A table cell showing `text` that sorts and reads back by `value`.
QTableWidgetItem* cell(const QString& text, double value = std::nan("")) {
    auto* it = new QTableWidgetItem(text);
    it->setFlags(Qt::ItemIsSelectable | Qt::ItemIsEnabled);
    if (std::isfinite(value)) {
        it->setData(Qt::UserRole, value);
        it->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    }
    return it;
}

// Saved with a comparison under "probe_results": each grid as a probe document (the writer's
// summary layout, accuracy[length][depth]), read back by the same code that reads the CLI's files.
nlohmann::json grids_to_json(const QVector<widgets::ProbeGrid>& grids) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& g : grids) a.push_back(widgets::probe_grid_to_json(g));
    return a;
}

}  // namespace

CompareView::CompareView(SessionStore* store, QWidget* parent) : QWidget(parent), store_(store) {
    register_compare_types();
    setObjectName("compareView");
    setAccessibleName(tr("Compare"));

    worker_ = new CompareWorker;
    worker_->moveToThread(&thread_);
    connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
    connect(this, &CompareView::requestRun, worker_, &CompareWorker::run, Qt::QueuedConnection);
    connect(worker_, &CompareWorker::progress, this, &CompareView::on_progress);
    connect(worker_, &CompareWorker::modelFinished, this, &CompareView::on_model_finished);
    connect(worker_, &CompareWorker::finished, this, &CompareView::on_finished);
    thread_.setObjectName("statescope-compare");
    thread_.start();

    auto* v = new QVBoxLayout(this);

    // ---- what to compare
    auto* setup = new QHBoxLayout;
    auto* models_box = new QVBoxLayout;
    models_box->addWidget(new QLabel(tr("<b>Models</b> (2–4, in pane order)"), this));
    model_list_ = new QListWidget(this);
    model_list_->setObjectName("compareModels");
    model_list_->setAccessibleName(tr("Models to compare"));
    model_list_->setMaximumHeight(84);
    models_box->addWidget(model_list_);
    auto* model_buttons = new QHBoxLayout;
    library_ = new QComboBox(this);
    library_->setAccessibleName(tr("Model library"));
    library_->setToolTip(tr("Models found in the library folders and the HF cache"));
    add_button_ = new QPushButton(tr("Add"), this);
    connect(add_button_, &QPushButton::clicked, this, [this] {
        const QString dir = library_->currentData().toString();
        if (!dir.isEmpty()) add_model(dir);
    });
    auto* browse = new QPushButton(tr("Folder…"), this);
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Model folder"));
        if (!dir.isEmpty()) add_model(dir);
    });
    remove_button_ = new QPushButton(tr("Remove"), this);
    connect(remove_button_, &QPushButton::clicked, this, [this] {
        delete model_list_->currentItem();
        update_buttons();
    });
    model_buttons->addWidget(library_, 1);
    model_buttons->addWidget(add_button_);
    model_buttons->addWidget(browse);
    model_buttons->addWidget(remove_button_);
    models_box->addLayout(model_buttons);
    setup->addLayout(models_box, 2);

    auto* form = new QFormLayout;
    // Several lines: a recall prompt (a phone book, a document and a question) keeps its line
    // breaks.
    prompt_ = new QPlainTextEdit(tr("The capital of France is"), this);
    prompt_->setAccessibleName(tr("Prompt"));
    prompt_->setMaximumHeight(56);
    form->addRow(tr("Prompt"), prompt_);
    text_ = new QPlainTextEdit(QString::fromUtf8(kDefaultText), this);
    text_->setAccessibleName(tr("Text to score"));
    text_->setToolTip(
        tr("Scored token by token (per-token loss), and repeated to fill the "
           "contexts of the memory measurement"));
    text_->setMaximumHeight(56);
    form->addRow(tr("Text"), text_);
    auto* knobs = new QHBoxLayout;
    max_new_ = new QSpinBox(this);
    max_new_->setRange(1, 4096);
    max_new_->setValue(32);
    max_new_->setPrefix(tr("max new "));
    max_new_->setAccessibleName(tr("Max new tokens"));
    greedy_ = new QCheckBox(tr("greedy"), this);
    greedy_->setChecked(true);
    seed_ = new QSpinBox(this);
    seed_->setRange(0, 1 << 30);
    seed_->setValue(42);
    seed_->setPrefix(tr("seed "));
    seed_->setEnabled(false);
    seed_->setToolTip(tr("Sampling at temperature 1 with this seed when greedy is off"));
    connect(greedy_, &QCheckBox::toggled, seed_, [this](bool g) { seed_->setEnabled(!g); });
    backend_ = new QComboBox(this);
    backend_->setAccessibleName(tr("Backend"));
    for (const auto& b : available_backends()) backend_->addItem(q(b));
    together_ = new QCheckBox(tr("together"), this);
    together_->setToolTip(
        tr("Run the models at the same time when their weights fit in memory "
           "together (their speeds then share the machine)"));
    knobs->addWidget(max_new_);
    knobs->addWidget(greedy_);
    knobs->addWidget(seed_);
    knobs->addWidget(backend_);
    knobs->addWidget(together_);
    knobs->addStretch(1);
    form->addRow(QString(), knobs);
    setup->addLayout(form, 3);
    v->addLayout(setup);

    auto* actions = new QHBoxLayout;
    run_button_ = new QPushButton(tr("Run comparison"), this);
    run_button_->setObjectName("compareRun");
    run_button_->setDefault(true);
    connect(run_button_, &QPushButton::clicked, this, [this] { run(); });
    stop_button_ = new QPushButton(tr("Stop"), this);
    connect(stop_button_, &QPushButton::clicked, this, [this] { stop(); });
    save_button_ = new QPushButton(tr("Save"), this);
    save_button_->setToolTip(tr("Save this comparison as a session"));
    connect(save_button_, &QPushButton::clicked, this, [this] { save(); });
    auto* probes_button = new QPushButton(tr("Load probe results…"), this);
    probes_button->setToolTip(tr("The JSON files statescope-cli probe wrote (--out), one a model"));
    connect(probes_button, &QPushButton::clicked, this, [this] { load_probe_files(); });
    stored_button_ = new QPushButton(tr("From sessions…"), this);
    stored_button_->setObjectName("compareStoredProbes");
    stored_button_->setToolTip(
        tr("Probe runs kept in the session store (statescope-cli probe --save)"));
    connect(stored_button_, &QPushButton::clicked, this, [this] { pickStoredProbes(); });
    progress_ = new QProgressBar(this);
    progress_->setRange(0, 1000);
    progress_->setTextVisible(true);
    progress_->hide();
    status_ = new QLabel(this);
    status_->setObjectName("compareStatus");
    status_->setWordWrap(true);
    actions->addWidget(run_button_);
    actions->addWidget(stop_button_);
    actions->addWidget(save_button_);
    actions->addWidget(probes_button);
    actions->addWidget(stored_button_);
    actions->addWidget(progress_, 1);
    actions->addWidget(status_, 2);
    v->addLayout(actions);

    // ---- results
    auto* split = new QSplitter(Qt::Vertical, this);
    stats_ = new QTableWidget(0, ColCount, split);
    stats_->setObjectName("compareStats");
    stats_->setAccessibleName(tr("Comparison statistics"));
    stats_->setHorizontalHeaderLabels({tr("Model"), tr("Type · layers"), tr("Backend"),
                                       tr("Prompt tok"), tr("TTFT (ms)"), tr("Prefill tok/s"),
                                       tr("Decode tok/s"), tr("Weights"), tr("State (measured)"),
                                       tr("KV / token"), tr("Mean NLL"), tr("Tokenizer")});
    stats_->verticalHeader()->hide();
    stats_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    stats_->horizontalHeader()->setStretchLastSection(true);
    stats_->setAlternatingRowColors(true);
    outputs_ = new widgets::AlignedOutputs(split);
    outputs_->setObjectName("compareOutputs");
    tabs_ = new QTabWidget(split);
    memory_plot_ = new widgets::SeriesPlot(tabs_);
    memory_plot_->setObjectName("compareMemoryPlot");
    memory_plot_->setLabels(tr("Sequence memory against context (measured)"),
                            tr("context length (tokens)"),
                            tr("state + KV cache held by the runtime"));
    memory_plot_->setLogScale(true, false);
    widgets::install_export_menu(memory_plot_, QStringLiteral("compare-memory"));
    loss_view_ = new widgets::LossTextView(tabs_);
    loss_view_->setObjectName("compareLoss");
    decay_plot_ = new widgets::SeriesPlot(tabs_);
    decay_plot_->setObjectName("compareDecayPlot");
    decay_plot_->setLabels(tr("Decay profile: half-life per Mamba layer (median, 10–90%)"),
                           tr("layer"), tr("half-life (tokens)"));
    decay_plot_->setLogScale(false, true);
    decay_plot_->setIntegerX(true);
    widgets::install_export_menu(decay_plot_, QStringLiteral("compare-decay"));
    probes_ = new widgets::ProbeGridPanel(tabs_);
    probes_->setObjectName("compareProbes");
    tabs_->addTab(memory_plot_, tr("Memory vs context"));
    tabs_->addTab(loss_view_, tr("Loss on the text"));
    tabs_->addTab(decay_plot_, tr("Decay"));
    tabs_->addTab(probes_, tr("Probes"));
    split->addWidget(stats_);
    split->addWidget(outputs_);
    split->addWidget(tabs_);
    split->setStretchFactor(0, 2);
    split->setStretchFactor(1, 2);
    split->setStretchFactor(2, 5);
    v->addWidget(split, 1);

    update_buttons();
}

CompareView::~CompareView() {
    waitForStoredRead();
    worker_->request_stop();
    thread_.quit();
    thread_.wait();
}

void CompareView::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    if (library_->count() == 0) fill_library();
}

void CompareView::fill_library() {
    QSettings s;
    const QStringList folders = s.value("models/folders").toStringList();
    for (const ModelEntry& m : scan_models(folders))
        library_->addItem(QStringLiteral("%1 (%2)").arg(m.name, m.source), m.path);
}

void CompareView::add_model(const QString& dir) {
    if (model_list_->count() >= kMaxModels) {
        status_->setText(tr("At most %1 models at once.").arg(kMaxModels));
        return;
    }
    auto* it = new QListWidgetItem(QFileInfo(dir).fileName(), model_list_);
    it->setData(Qt::UserRole, dir);
    it->setToolTip(dir);
    it->setForeground(widgets::series_color(model_list_->count() - 1));
    update_buttons();
}

void CompareView::setModels(const QStringList& dirs) {
    model_list_->clear();
    for (const QString& d : dirs) add_model(d);
}

QStringList CompareView::models() const {
    QStringList out;
    for (int i = 0; i < model_list_->count(); ++i)
        out << model_list_->item(i)->data(Qt::UserRole).toString();
    return out;
}

void CompareView::setPrompt(const QString& prompt) {
    prompt_->setPlainText(prompt);
}
void CompareView::setText(const QString& text) {
    text_->setPlainText(text);
}
void CompareView::setMaxNewTokens(int n) {
    max_new_->setValue(n);
}
void CompareView::setBackend(const QString& backend) {
    const int i = backend_->findText(backend);
    if (i >= 0) backend_->setCurrentIndex(i);
}
void CompareView::setSeed(int seed) {
    greedy_->setChecked(seed < 0);
    if (seed >= 0) seed_->setValue(seed);
}
void CompareView::setContextLengths(const std::vector<std::int64_t>& lengths) {
    context_lengths_ = lengths;
}

void CompareView::update_buttons() {
    const int n = model_list_->count();
    run_button_->setEnabled(!running_ && n >= 1);
    stop_button_->setEnabled(running_);
    save_button_->setEnabled(!running_ && store_ && !result_.models.empty());
    add_button_->setEnabled(n < kMaxModels);
    remove_button_->setEnabled(!running_ && n > 0);
}

CompareRequest CompareView::make_request() const {
    CompareRequest r;
    for (const QString& d : models()) r.model_dirs.push_back(d.toStdString());
    r.prompt = prompt_->toPlainText().toStdString();
    r.text = text_->toPlainText().toStdString();
    r.max_new_tokens = max_new_->value();
    if (!greedy_->isChecked()) {
        r.sampler.temperature = 1.0f;
        r.sampler.seed = std::uint64_t(seed_->value());
    }
    if (!context_lengths_.empty()) r.context_lengths = context_lengths_;
    r.backend = backend_->currentText().toStdString();
    r.together = together_->isChecked();
    return r;
}

void CompareView::run() {
    if (running_ || model_list_->count() == 0) return;
    if (prompt_->toPlainText().trimmed().isEmpty()) {
        status_->setText(tr("Write a prompt first."));
        return;
    }
    const CompareRequest r = make_request();
    result_ = CompareResult{};
    result_.request = r;
    result_.models.resize(r.model_dirs.size());
    running_ = true;
    show_result(result_);
    progress_->setValue(0);
    progress_->show();
    status_->setText(tr("Running %n model(s)…", "", int(r.model_dirs.size())));
    update_buttons();
    emit requestRun(r);
}

void CompareView::stop() {
    if (running_) worker_->request_stop();
}

void CompareView::on_progress(int index, const QString& stage, qint64 done, qint64 total) {
    if (!running_) return;
    static const QStringList stages = {"load", "generate", "memory", "loss", "decay"};
    const int n = std::max<int>(1, int(result_.models.size()));
    const double within = total > 0 ? double(done) / double(total) : 0.0;
    const double s = (std::max<qsizetype>(0, stages.indexOf(stage)) + within) / stages.size();
    progress_->setValue(int(1000.0 * (together_ran_ ? s : (index + s) / n)));
    const QString name =
        index < int(result_.request.model_dirs.size())
            ? QFileInfo(q(result_.request.model_dirs[std::size_t(index)])).fileName()
            : QString();
    progress_->setFormat(QStringLiteral("%1: %2 %3/%4").arg(name, stage).arg(done).arg(total));
}

void CompareView::on_model_finished(int index, const ModelResult& result) {
    if (index < 0 || index >= int(result_.models.size())) return;
    result_.models[std::size_t(index)] = result;
    show_result(result_);  // each model's results appear as soon as they are in
}

void CompareView::on_finished(const CompareResult& result, bool together) {
    running_ = false;
    together_ran_ = together;
    result_ = result;
    show_result(result_);
    progress_->hide();
    int failed = 0, cancelled = 0;
    for (const auto& m : result_.models) {
        failed += !m.error.empty();
        cancelled += m.cancelled;
    }
    QString msg = together ? tr("Done (run together).") : tr("Done (one after another).");
    if (cancelled) msg = tr("Stopped.");
    if (failed) msg += ' ' + tr("%n model(s) failed: see the table.", "", failed);
    status_->setText(msg);
    update_buttons();
    emit finished();
}

void CompareView::show_result(const CompareResult& r) {
    // Stats table: one row per model that has finished.
    stats_->setRowCount(0);
    QVector<widgets::OutputColumn> columns;
    QVector<widgets::PlotSeries> memory, decay;
    QVector<widgets::LossRow> loss;
    double max_bytes = 0;
    for (const auto& m : r.models)
        for (const auto& p : m.memory) max_bytes = std::max(max_bytes, double(p.allocated_bytes));
    const double unit = max_bytes >= 1 << 30   ? double(1 << 30)
                        : max_bytes >= 1 << 20 ? double(1 << 20)
                                               : 1024.0;
    const QString unit_name = unit == double(1 << 30)   ? QStringLiteral("GiB")
                              : unit == double(1 << 20) ? QStringLiteral("MiB")
                                                        : QStringLiteral("KiB");
    memory_plot_->yAxis->setLabel(tr("state + KV cache (%1)").arg(unit_name));

    for (std::size_t i = 0; i < r.models.size(); ++i) {
        const ModelResult& m = r.models[i];
        const QString name = m.name.empty() ? QFileInfo(q(m.dir)).fileName() : q(m.name);
        if (m.dir.empty() && m.name.empty()) {  // not run yet
            const QString pending = i < r.request.model_dirs.size()
                                        ? QFileInfo(q(r.request.model_dirs[i])).fileName()
                                        : QString();
            columns.push_back({pending, tr("waiting…"), QString(), false});
            continue;
        }
        widgets::OutputColumn col;
        col.title = name;
        if (!m.error.empty()) {
            col.subtitle = tr("failed");
            col.text = q(m.error);
            col.failed = true;
        } else if (m.cancelled) {
            col.subtitle = tr("stopped");
        } else {
            col.subtitle = tr("%1 · %2 · %3 new tokens")
                               .arg(q(m.model_type), q(m.layer_pattern))
                               .arg(m.generated_tokens);
            col.text = q(m.output);
        }
        columns.push_back(col);

        const int row = stats_->rowCount();
        stats_->insertRow(row);
        auto* name_cell = cell(name);
        name_cell->setForeground(widgets::series_color(int(i)));
        name_cell->setToolTip(q(m.dir));
        stats_->setItem(row, ColModel, name_cell);
        if (!m.error.empty() || m.cancelled) {
            stats_->setItem(row, ColType, cell(m.cancelled ? tr("stopped") : tr("failed")));
            auto* why = cell(q(m.error));
            stats_->setItem(row, ColTokenizer, why);
            continue;
        }
        stats_->setItem(row, ColType, cell(q(m.model_type + " · " + m.layer_pattern)));
        stats_->setItem(row, ColBackend, cell(q(m.backend)));
        stats_->setItem(row, ColPromptTokens,
                        cell(QString::number(m.prompt_tokens), double(m.prompt_tokens)));
        stats_->setItem(row, ColTtft,
                        cell(QString::number(m.ttft_s * 1e3, 'f', 1), m.ttft_s * 1e3));
        stats_->setItem(row, ColPrefill,
                        cell(QString::number(m.prefill_tok_s, 'f', 0), m.prefill_tok_s));
        stats_->setItem(row, ColDecode,
                        cell(QString::number(m.decode_tok_s, 'f', 1), m.decode_tok_s));
        stats_->setItem(row, ColWeights,
                        cell(format_bytes(m.weight_bytes), double(m.weight_bytes)));
        auto* state = cell(format_bytes(m.state_bytes), double(m.state_bytes));
        state->setToolTip(tr("Measured after the prompt and the reply (%1 tokens)")
                              .arg(m.prompt_tokens + m.generated_tokens));
        stats_->setItem(row, ColState, state);
        stats_->setItem(row, ColKvPerToken,
                        cell(m.kv_bytes_per_token ? format_bytes(m.kv_bytes_per_token) : tr("none"),
                             double(m.kv_bytes_per_token)));
        stats_->setItem(row, ColMeanNll, cell(QString::number(m.mean_nll, 'f', 3), m.mean_nll));
        stats_->setItem(row, ColTokenizer, cell(q(m.tokenizer)));

        widgets::PlotSeries mem;
        mem.name = name;
        for (const auto& p : m.memory) {
            mem.x << double(p.context);
            mem.y << double(p.allocated_bytes) / unit;
        }
        memory << mem;

        widgets::PlotSeries d;
        d.name = m.decay.layers.empty() ? tr("%1 (no Mamba layers)").arg(name) : name;
        for (std::size_t k = 0; k < m.decay.layers.size(); ++k) {
            d.x << double(m.decay.layers[k]);
            d.y << m.decay.median_half_life[k];
            d.low << m.decay.p10_half_life[k];
            d.high << m.decay.p90_half_life[k];
        }
        decay << d;

        widgets::LossRow lr;
        lr.name = name;
        for (const auto& t : m.loss) {
            lr.pieces << q(t.piece);
            lr.nll << t.nll;
        }
        loss << lr;
    }
    outputs_->setColumns(columns);
    memory_plot_->setSeries(memory);
    decay_plot_->setSeries(decay);
    loss_view_->setRows(loss);
    update_buttons();
}

void CompareView::showTab(const QString& name) {
    const QStringList names = {"memory", "loss", "decay", "probes"};
    const int i = int(names.indexOf(name));
    if (i >= 0) tabs_->setCurrentIndex(i);
}

std::optional<std::int64_t> CompareView::save() {
    if (!store_ || running_ || result_.models.empty()) {
        status_->setText(store_ ? tr("Nothing to save yet.") : tr("Sessions are not saved."));
        return std::nullopt;
    }
    try {
        QStringList names;
        nlohmann::json dirs = nlohmann::json::array();
        for (const auto& m : result_.models) {
            names << q(m.name);
            dirs.push_back(m.dir);
        }
        NewSession ns;
        ns.title = tr("Compare: %1").arg(names.join(QStringLiteral(" · "))).toStdString();
        ns.metadata = {{"kind", "compare"}, {"models", dirs}, {"prompt", result_.request.prompt}};
        const RowRef session = store_->create_session(ns);
        NewAnalysisRun run;
        run.session = session;
        run.kind = "compare";
        run.params = to_json(result_.request);
        run.result = to_json(result_);
        run.result["probe_results"] = grids_to_json(probes_->grids());
        store_->add_analysis_run(std::move(run));
        NewComparison c;
        c.title = ns.title;
        c.prompt = result_.request.prompt;
        c.settings = to_json(result_.request);
        for (const auto& m : result_.models) {
            NewComparisonEntry e;
            e.session = session;
            try {
                e.model = store_->touch_model(model_info_for(m.dir));
            } catch (const std::exception&) {
                // A folder that is gone since the run: the entry keeps its session only.
            }
            c.entries.push_back(e);
        }
        store_->add_comparison(std::move(c));
        store_->flush();
        const std::int64_t id = session.id();
        status_->setText(tr("Saved as “%1”.").arg(q(ns.title)));
        emit saved(id);
        return id;
    } catch (const std::exception& e) {
        status_->setText(tr("Cannot save the comparison: %1").arg(e.what()));
        return std::nullopt;
    }
}

bool CompareView::isCompareSession(const Session& session) {
    return session.metadata.is_object() &&
           session.metadata.value("kind", std::string()) == "compare";
}

bool CompareView::openSaved(std::int64_t session_id) {
    if (!store_ || running_) return false;
    try {
        SessionReader reader = store_->reader();
        const auto s = reader.session(session_id);
        if (!s || !isCompareSession(*s)) return false;
        for (const auto& run : s->analysis_runs) {
            if (run.kind != "compare") continue;
            CompareResult r = compare_result_from_json(run.result);
            result_ = r;
            QStringList dirs;
            for (const auto& d : r.request.model_dirs) dirs << q(d);
            setModels(dirs);
            prompt_->setPlainText(q(r.request.prompt));
            text_->setPlainText(q(r.request.text));
            max_new_->setValue(int(r.request.max_new_tokens));
            greedy_->setChecked(r.request.sampler.temperature <= 0);
            seed_->setValue(int(r.request.sampler.seed));
            show_result(result_);
            status_->setText(tr("Saved comparison “%1”.").arg(q(s->title)));
            restore_probe_grids(run.result);
            return true;
        }
        status_->setText(tr("The session “%1” holds no comparison results.").arg(q(s->title)));
    } catch (const std::exception& e) {
        status_->setText(tr("Cannot open the comparison: %1").arg(e.what()));
    }
    return false;
}

}  // namespace statescope::studio
