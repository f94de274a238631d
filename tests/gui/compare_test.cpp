// Offscreen tests of the Compare view (issue 10): the real MainWindow compares two tiny
// random-weight models (a Mamba and a Llama) and the test checks what the view shows against the
// engine: the stats table, the per-token loss against a direct log-softmax through core, the memory
// plot (constant state vs growing KV cache), plot export (PNG, SVG, PDF, CSV), save and reopen, and
// the probe grids.
// Each state is saved as a PNG under tests/gui/screenshots for a person to look at.
#include <QElapsedTimer>
#include <QFile>
#include <QImage>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QSignalSpy>
#include <QStackedWidget>
#include <QSvgRenderer>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTimer>
#include <QtTest>
#include <cmath>
#include <memory>

#include "app/studio/compare_view.h"
#include "app/studio/main_window.h"
#include "core/runtime/backends.h"
#include "core/runtime/model.h"
#include "core/runtime/sequence.h"
#include "core/store/session_store.h"
#include "gui_test_support.h"
#include "probe_run_fixture.h"
#include "widgets/common/plot_export.h"
#include "widgets/compare/aligned_outputs.h"
#include "widgets/compare/loss_text_view.h"
#include "widgets/compare/probe_grid_panel.h"
#include "widgets/compare/series_plot.h"

using statescope::studio::CompareView;
using statescope::studio::MainWindow;
namespace gt = statescope::gui_test;

namespace {
const QString kMamba = statescope::gui_test::golden_model("mamba-tiny");
const QString kLlama = statescope::gui_test::golden_model("llama-tiny");
const QString kText = QStringLiteral("Mamba keeps a state; Llama keeps a cache. Ünïcode too.");
}  // namespace

class CompareTest : public QObject {
    Q_OBJECT

  private slots:
    void initTestCase();
    void cleanupTestCase();
    void compareTwoModelsFillsTheStatsTable();
    void lossColouringMatchesADirectComputation();
    void memoryPlotShowsConstantStateAndGrowingCache();
    void exportWritesPngSvgPdfCsv();
    void saveAndReopen();
    void probeGridsShowAndSaveWithTheComparison();
    void stopEndsTheRun();

  private:
    QTemporaryDir dir_;
    std::unique_ptr<MainWindow> window_;
    CompareView* view_ = nullptr;
    double longest_ui_gap_ms_ = 0;
};

void CompareTest::initTestCase() {
    QVERIFY(dir_.isValid());
    window_ = gt::open_studio(dir_, {1500, 950});
    QVERIFY(window_->hasModel());
    view_ = window_->compareView();
    QVERIFY(view_);

    // One comparison for the tests below; the UI thread is timed while it runs.
    window_->setView("compare");
    view_->setModels({kMamba, kLlama});
    // The prompt typed as a user would, over two lines (the line break must reach the engine).
    QPlainTextEdit* prompt = nullptr;
    for (auto* e : view_->findChildren<QPlainTextEdit*>())
        if (e->accessibleName() == "Prompt") prompt = e;
    QVERIFY(prompt);
    prompt->setFocus();
    prompt->selectAll();
    QTest::keyClicks(prompt, "Ada: 7123");
    QTest::keyClick(prompt, Qt::Key_Return);
    QTest::keyClicks(prompt, "Ada:");
    view_->setText(kText);
    view_->setMaxNewTokens(24);
    view_->setContextLengths({16, 64, 256, 1024});
    QSignalSpy finished(view_, &CompareView::finished);
    QElapsedTimer clock;
    QTimer tick;
    double last = 0;
    connect(&tick, &QTimer::timeout, this, [&] {
        const double now = double(clock.nsecsElapsed()) / 1e6;
        longest_ui_gap_ms_ = std::max(longest_ui_gap_ms_, now - last);
        last = now;
    });
    clock.start();
    tick.start(5);
    view_->run();
    QVERIFY(view_->isRunning());
    QVERIFY(finished.wait(120000));
    tick.stop();
}

void CompareTest::cleanupTestCase() {
    window_.reset();
}

void CompareTest::compareTwoModelsFillsTheStatsTable() {
    QTableWidget* t = view_->statsTable();
    QCOMPARE(t->rowCount(), 2);
    QCOMPARE(t->item(0, CompareView::ColModel)->text(), QString("mamba-tiny"));
    QCOMPARE(t->item(1, CompareView::ColModel)->text(), QString("llama-tiny"));
    for (int r = 0; r < 2; ++r) {
        for (int c : {CompareView::ColPrefill, CompareView::ColDecode, CompareView::ColTtft,
                      CompareView::ColState}) {
            QVERIFY2(t->item(r, c), qPrintable(QString("row %1 column %2 is empty").arg(r).arg(c)));
            QVERIFY2(t->item(r, c)->data(Qt::UserRole).toDouble() > 0,
                     qPrintable(t->item(r, c)->text()));
        }
        QCOMPARE(t->item(r, CompareView::ColBackend)->text(), QString("cpu"));
    }
    // The Transformer has a KV cache, the Mamba none.
    QCOMPARE(t->item(0, CompareView::ColKvPerToken)->data(Qt::UserRole).toDouble(), 0.0);
    QVERIFY(t->item(1, CompareView::ColKvPerToken)->data(Qt::UserRole).toDouble() > 0);
    QCOMPARE(view_->result().request.prompt, std::string("Ada: 7123\nAda:"));
    // Aligned outputs: one column per model, with the reply the worker measured.
    QCOMPARE(view_->outputs()->columns().size(), 2);
    QCOMPARE(view_->outputs()->columns()[1].text,
             QString::fromStdString(view_->result().models[1].output));
    // The comparison ran on the worker thread: the UI thread never stalled for long.
    QVERIFY2(longest_ui_gap_ms_ < 250, qPrintable(QString::number(longest_ui_gap_ms_)));
    view_->showTab("memory");
    QVERIFY(gt::save_screenshot(window_.get(), "compare-01-memory"));
}

void CompareTest::lossColouringMatchesADirectComputation() {
    view_->showTab("loss");
    QVERIFY(gt::save_screenshot(window_.get(), "compare-02-loss"));
    const auto& rows = view_->lossView()->rows();
    QCOMPARE(rows.size(), 2);
    // These models have no tokenizer.json: the compare view scores UTF-8 bytes, one token each.
    const QByteArray bytes = kText.toUtf8();
    std::vector<std::int32_t> ids;
    for (char c : bytes) ids.push_back(std::int32_t(static_cast<unsigned char>(c)));
    auto backend = statescope::make_backend("cpu");
    for (int m = 0; m < 2; ++m) {
        QCOMPARE(rows[m].nll.size(), qsizetype(ids.size()));
        QCOMPARE(rows[m].pieces.size(), qsizetype(ids.size()));
        QCOMPARE(rows[m].pieces.join(QString()), kText);
        QVERIFY(std::isnan(rows[m].nll[0]));  // nothing predicts the first token

        // -log softmax(logits[t])[ids[t+1]] straight from the engine, one forward pass.
        auto model = statescope::Model::load((m == 0 ? kMamba : kLlama).toStdString(), *backend);
        statescope::Sequence seq(*model);
        std::vector<float> logits;
        model->forward(seq, std::span(ids).first(ids.size() - 1), statescope::LogitRows::All,
                       &logits);
        const std::int64_t V = model->spec().vocab_size;
        for (std::size_t t = 0; t + 1 < ids.size(); ++t) {
            const float* row = logits.data() + t * std::size_t(V);
            double mx = row[0], sum = 0;
            for (std::int64_t v = 1; v < V; ++v) mx = std::max(mx, double(row[v]));
            for (std::int64_t v = 0; v < V; ++v) sum += std::exp(double(row[v]) - mx);
            const double want = std::log(sum) + mx - double(row[ids[t + 1]]);
            const double got = rows[m].nll[qsizetype(t + 1)];
            QVERIFY2(
                std::abs(got - want) <= 1e-3 * std::max(1.0, std::abs(want)),
                qPrintable(
                    QString("model %1 token %2: %3 vs %4").arg(m).arg(t + 1).arg(got).arg(want)));
        }
    }
    // The colour follows the loss: the worst token reddest, the best palest, the first none.
    const double top = view_->lossView()->scaleMax();
    const QColor hi = statescope::widgets::LossTextView::colorFor(top, top);
    const QColor lo = statescope::widgets::LossTextView::colorFor(0, top);
    QVERIFY(hi.green() < lo.green());
    QCOMPARE(statescope::widgets::LossTextView::colorFor(std::nan(""), top).alpha(), 0);
    // The text on screen carries one coloured span per shown token.
    const QString html = view_->lossView()->browser()->toHtml();
    QVERIFY(html.contains("background-color:" +
                          statescope::widgets::LossTextView::colorFor(rows[1].nll[1], top).name()));
}

void CompareTest::memoryPlotShowsConstantStateAndGrowingCache() {
    auto* plot = view_->memoryPlot();
    QCOMPARE(plot->graphCount(), 2);
    auto values = [](QCPGraph* g) {
        QVector<double> out;
        for (auto it = g->data()->constBegin(); it != g->data()->constEnd(); ++it) out << it->value;
        return out;
    };
    const QVector<double> mamba = values(plot->graph(0)), llama = values(plot->graph(1));
    QCOMPARE(mamba.size(), 4);
    QCOMPARE(llama.size(), 4);
    for (double v : mamba) QCOMPARE(v, mamba[0]);  // constant state
    for (int i = 1; i < llama.size(); ++i) QVERIFY(llama[i] >= llama[i - 1]);
    QVERIFY(llama.last() > 4 * llama.first());  // the cache grows with the context
    // Measured, and it agrees with the runtime's own accounting once the cache is at capacity:
    // 1024 tokens x kv_bytes_per_token + the fixed state.
    const auto& m = view_->result().models[1];
    QCOMPARE(m.memory.back().context, std::int64_t(1024));
    QCOMPARE(m.memory.back().used_bytes, m.recurrent_state_bytes + 1024 * m.kv_bytes_per_token);
    QVERIFY(m.memory.back().allocated_bytes >= m.memory.back().used_bytes);
    QCOMPARE(view_->result().models[0].memory.back().allocated_bytes,
             view_->result().models[0].recurrent_state_bytes);
}

void CompareTest::exportWritesPngSvgPdfCsv() {
    namespace w = statescope::widgets;
    QTemporaryDir out;
    auto* plot = view_->memoryPlot();
    const w::CsvRows rows = w::plot_rows(plot);
    auto save = [&](const QString& name) { return w::export_plot(plot, rows, out.filePath(name)); };
    QCOMPARE(save("memory.png"), QString());
    QImage img(out.filePath("memory.png"));
    QVERIFY(!img.isNull());
    QVERIFY(img.width() >= plot->width());
    QCOMPARE(save("memory.svg"), QString());
    QSvgRenderer svg(out.filePath("memory.svg"));
    QVERIFY(svg.isValid());
    QCOMPARE(svg.viewBox(),
             QRect(0, 0, std::max(plot->width(), 640), std::max(plot->height(), 400)));
    QCOMPARE(save("memory.pdf"), QString());
    QFile pdf(out.filePath("memory.pdf"));
    QVERIFY(pdf.open(QIODevice::ReadOnly));
    QVERIFY(pdf.read(5) == "%PDF-");
    QCOMPARE(save("memory.csv"), QString());
    QFile csv(out.filePath("memory.csv"));
    QVERIFY(csv.open(QIODevice::ReadOnly | QIODevice::Text));
    const QStringList lines = QString::fromUtf8(csv.readAll()).split('\n', Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 1 + 2 * 4);  // header + 4 context lengths x 2 models
    QCOMPARE(lines[0], QString("series,x,y"));
    QVERIFY(lines[1].startsWith("mamba-tiny,16,"));
    QVERIFY(lines[8].startsWith("llama-tiny,1024,"));
    QCOMPARE(lines[8].split(',')[2].toDouble(),
             plot->graph(1)->data()->at(3)->value);  // the plotted value itself
    const QString refused = save("memory.bmp");
    QVERIFY2(refused.contains("memory.bmp") && refused.contains(".svg"), qPrintable(refused));
    for (const char* f : {"gone/memory.svg", "gone/memory.csv"})
        QVERIFY2(save(f).contains(out.filePath(f)), qPrintable(save(f)));  // a folder not there
    // Decay plot: the Mamba's layers only; the Llama has none and still gets a legend entry.
    auto* decay = view_->decayPlot();
    QCOMPARE(decay->graphCount(), 2);
    QCOMPARE(decay->graph(0)->data()->size(), 3);
    QCOMPARE(decay->graph(1)->data()->size(), 0);
    QVERIFY(decay->graph(1)->name().contains("no Mamba layers"));
    QCOMPARE(w::plot_rows(decay).size(), 1 + 3);
    view_->showTab("decay");
    QVERIFY(gt::save_screenshot(window_.get(), "compare-03-decay"));
}

void CompareTest::saveAndReopen() {
    const auto id = view_->save();
    QVERIFY2(id.has_value(), qPrintable(view_->statusLabel()->text()));
    auto reader = window_->store().reader();
    auto s = reader.session(*id);
    QVERIFY(s);
    QVERIFY(CompareView::isCompareSession(*s));
    QCOMPARE(s->metadata["models"].size(), std::size_t(2));
    QCOMPARE(s->analysis_runs.size(), std::size_t(1));
    QCOMPARE(s->analysis_runs[0].kind, std::string("compare"));
    bool listed = false;
    for (const auto& c : reader.comparisons())
        if (c.entries.size() == 2 && c.entries[0].session_id == *id) listed = true;
    QVERIFY(listed);

    // A fresh view on the same store shows the same comparison.
    CompareView other(&window_->store());
    QVERIFY(other.openSaved(*id));
    QCOMPARE(other.statsTable()->rowCount(), 2);
    QCOMPARE(other.models(), view_->models());
    for (int c : {int(CompareView::ColDecode), int(CompareView::ColMeanNll)})
        QCOMPARE(other.statsTable()->item(1, c)->text(), view_->statsTable()->item(1, c)->text());
    QCOMPARE(other.lossView()->rows().size(), 2);
    QCOMPARE(other.lossView()->rows()[0].nll.size(), view_->lossView()->rows()[0].nll.size());
    QCOMPARE(other.memoryPlot()->graph(1)->data()->size(), 4);
    QCOMPARE(other.result().models[1].output, view_->result().models[1].output);

    // Through the window: the session list opens it in the compare view.
    window_->setView("chat");
    window_->openSession(*id);
    QCOMPARE(window_->findChild<QStackedWidget*>()->currentWidget(), static_cast<QWidget*>(view_));
    // A chat session is not a comparison.
    QVERIFY(!other.openSaved(*id + 1000));
}

// Grids from the core writer's documents (probe_grid_test.cpp checks the reading cell by cell):
// one plot per model, saved with the comparison and reopened.
void CompareTest::probeGridsShowAndSaveWithTheComparison() {
    QVector<statescope::widgets::ProbeGrid> grids;
    for (const QString& dir : {kMamba, kLlama}) {
        QString error;
        auto g = statescope::widgets::probe_grid_from_json(
            gt::tiny_probe_document(dir.toStdString()), dir, &error);
        QVERIFY2(g, qPrintable(error));
        grids << *g;
    }
    view_->setProbeGrids(grids);
    QCOMPARE(view_->probePanel()->plots().size(), 2);
    QCOMPARE(view_->probePanel()->grids()[1].model, QString("llama-tiny"));
    view_->showTab("probes");
    QVERIFY(gt::save_screenshot(window_.get(), "compare-04-probes"));
    const auto id = view_->save();
    QVERIFY2(id, qPrintable(view_->statusLabel()->text()));
    CompareView other(&window_->store());
    QVERIFY(other.openSaved(*id));
    QCOMPARE(other.probePanel()->grids().size(), 2);
    for (int i = 0; i < 2; ++i)
        QCOMPARE(statescope::widgets::probe_grid_rows(other.probePanel()->grids()[i]),
                 statescope::widgets::probe_grid_rows(grids[i]));
    QVERIFY2(!other.statusLabel()->text().contains("probe"),
             qPrintable(other.statusLabel()->text()));

    // A comparison saved by an older build kept its grids one row per depth ("probe_grids"): the
    // view says so instead of drawing them sideways.
    statescope::NewSession ns;
    ns.title = "older comparison";
    ns.metadata = {{"kind", "compare"}};
    const statescope::RowRef session = window_->store().create_session(ns);
    statescope::NewAnalysisRun run;
    run.session = session;
    run.kind = "compare";
    run.result = statescope::studio::to_json(view_->result());
    run.result["probe_grids"] = nlohmann::json::array(
        {{{"model", "m"},
          {"summary",
           {{"lengths", {256}}, {"depths", {0.0, 1.0}}, {"accuracy", {{1.0}, {0.5}}}}}}});
    window_->store().add_analysis_run(std::move(run));
    window_->store().flush();
    CompareView old(&window_->store());
    QVERIFY(old.openSaved(session.id()));
    QVERIFY(old.probePanel()->grids().isEmpty());
    QVERIFY2(old.statusLabel()->text().contains("older layout"),
             qPrintable(old.statusLabel()->text()));
}

void CompareTest::stopEndsTheRun() {
    view_->setContextLengths({16, 64, 256, 1024, 4096});
    view_->setMaxNewTokens(2000);
    QSignalSpy finished(view_, &CompareView::finished);
    view_->run();
    QTest::qWait(100);
    view_->stop();
    QVERIFY(finished.wait(60000));
    QVERIFY(!view_->isRunning());
    bool any_cancelled = false;
    for (const auto& m : view_->result().models) any_cancelled = any_cancelled || m.cancelled;
    QVERIFY(any_cancelled);
    QVERIFY(view_->statusLabel()->text().contains("Stopped"));
}

STATESCOPE_GUI_TEST_MAIN(CompareTest)

#include "compare_test.moc"
