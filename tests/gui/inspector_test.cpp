// Offscreen tests of the inspector (issue 10): each view opened on the demo model after a real
// chat turn, its plotted data checked against the core analyses recomputed here on the same token
// ids; click-a-token linking between the chat text and the plots; export (PNG decodes, SVG parses,
// CSV has the expected rows); the real attention of a hybrid (nemotron_h-tiny) beside a Mamba head;
// the min/max downsampler. Screenshots of every view go to tests/gui/screenshots/inspector-*.png.
#include <qcustomplot.h>
#include <QApplication>
#include <QDockWidget>
#include <QFile>
#include <QImage>
#include <QMouseEvent>
#include <QSignalSpy>
#include <QSvgRenderer>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTextBlock>
#include <QtTest>
#include <cmath>
#include <memory>

#include "app/studio/inspector_controller.h"
#include "app/studio/main_window.h"
#include "core/analysis/inspection.h"
#include "core/runtime/backends.h"
#include "core/runtime/model.h"
#include "gui_test_support.h"
#include "widgets/chat_view.h"
#include "widgets/inspector/attention_map.h"
#include "widgets/inspector/decay_heatmap.h"
#include "widgets/inspector/delta_strip.h"
#include "widgets/inspector/logit_lens_table.h"
#include "widgets/inspector/lyapunov_plot.h"
#include "widgets/inspector/minmax_bins.h"
#include "widgets/inspector/receptive_field_view.h"
#include "widgets/inspector/retention_plot.h"
#include "widgets/inspector/state_norm_plot.h"
#include "widgets/inspector/token_link.h"

using statescope::SamplerSettings;
using statescope::studio::InspectorController;
using statescope::studio::MainWindow;
namespace w = statescope::widgets;
namespace gt = statescope::gui_test;

class InspectorTest : public QObject {
    Q_OBJECT

  private slots:
    void initTestCase();
    void cleanupTestCase();
    void minMaxBinsKeepExtremes();
    void everyViewPlotsTheCoreResult();
    void clickATokenInTheChatMovesEveryView();
    void hoverInAPlotLightsTheTokenInTheText();
    void exportPngSvgPdfCsv();
    void longMambaToggleHighlightsKeptTokens();
    void hybridRealAttentionBesideMambaHead();
    void screenshotsOfEveryView();
    void aChatMessageCancelsARunningAnalysis();

  private:
    QTemporaryDir dir_;
    std::unique_ptr<MainWindow> window_;
    InspectorController* insp_ = nullptr;
    std::unique_ptr<statescope::kernels::Backend> backend_;
    std::unique_ptr<statescope::Model> model_;
    statescope::Inspection ref_;  // the core analyses, recomputed in the test on the same ids
};

void InspectorTest::initTestCase() {
    QVERIFY(dir_.isValid());
    window_ = gt::open_studio(dir_, {1400, 900});
    QVERIFY(window_->hasModel());
    insp_ = window_->inspector();
    QVERIFY(insp_);
    SamplerSettings s;
    s.temperature = 1.0f;
    s.seed = 42;
    window_->setSampling(s, 40);
    QSignalSpy finished(window_.get(), &MainWindow::replyFinished);
    window_->sendMessage("Once upon a time there was a little fox who lived in the forest");
    QVERIFY(finished.wait(60000));
    QSignalSpy analysed(insp_, &InspectorController::analysisReady);
    window_->setView("inspector");
    QVERIFY(insp_->busy());
    QVERIFY(analysed.wait(60000));
    QVERIFY(!insp_->data().empty());

    backend_ = statescope::make_backend("cpu");
    model_ = statescope::Model::load(gt::demo_model().toStdString(), *backend_);
    ref_ = statescope::inspect(*model_, insp_->data().core->ids, {});
}

void InspectorTest::cleanupTestCase() {
    window_.reset();
}

void InspectorTest::minMaxBinsKeepExtremes() {
    // 1000 tokens x 7 units of smooth values with one spike up and one down: both survive 50 bins
    const std::int64_t X = 1000, Y = 7;
    std::vector<float> v(std::size_t(X * Y));
    for (std::int64_t x = 0; x < X; ++x)
        for (std::int64_t y = 0; y < Y; ++y)
            v[std::size_t(x * Y + y)] = float(std::sin(double(x) * 0.01) + 0.1 * double(y));
    v[std::size_t(437 * Y + 3)] = 9.0f;
    v[std::size_t(811 * Y + 5)] = -9.0f;
    const auto b = w::minmax_bins(v.data(), X, Y, 0, X, 50, 7);
    QCOMPARE(b.nx, 50);
    QCOMPARE(b.ny, 7);
    QCOMPARE(b.max, 9.0f);
    QCOMPARE(b.min, -9.0f);
    // every bin equals a brute-force min/max over its 20 tokens
    for (std::int64_t i = 0; i < 50; ++i)
        for (std::int64_t y = 0; y < Y; ++y) {
            float lo = INFINITY, hi = -INFINITY;
            for (std::int64_t x = i * 20; x < (i + 1) * 20; ++x) {
                lo = std::min(lo, v[std::size_t(x * Y + y)]);
                hi = std::max(hi, v[std::size_t(x * Y + y)]);
            }
            QCOMPARE(b.lo[std::size_t(y * 50 + i)], lo);
            QCOMPARE(b.hi[std::size_t(y * 50 + i)], hi);
        }
    const auto shown = w::pick_extremes(b, 0.5f * (b.min + b.max));
    QCOMPARE(shown[std::size_t(3 * 50 + 437 / 20)], 9.0f);
    QCOMPARE(shown[std::size_t(5 * 50 + 811 / 20)], -9.0f);
    // rows binned too (7 -> 3), a sub-range of columns, no upsampling past the data
    const auto c = w::minmax_bins(v.data(), X, Y, 430, 440, 100, 3);
    QCOMPARE(c.nx, 10);
    QCOMPARE(c.ny, 3);
    QCOMPARE(c.max, 9.0f);
}

void InspectorTest::everyViewPlotsTheCoreResult() {
    const statescope::Inspection& got = *insp_->data().core;
    QCOMPARE(got.tokens, ref_.tokens);
    QCOMPARE(got.layers.size(), ref_.layers.size());
    const std::int64_t T = ref_.tokens;
    const auto& L0 = ref_.layers[0];
    const std::int64_t U = L0.units;

    // Decay heatmap, layer 0: each cell is decay[t, u] (no binning at this size)
    w::DecayHeatmap* hm = insp_->heatmap();
    insp_->showPanel(hm);
    hm->layerCombo()->setCurrentIndex(0);
    hm->setMode(w::DecayHeatmap::Mode::Decay);
    QCOMPARE(hm->bins().nx, T);
    QCOMPARE(hm->bins().ny, U);
    for (std::int64_t t = 0; t < T; ++t)
        for (std::int64_t u = 0; u < U; ++u)
            QCOMPARE(float(hm->colorMap()->data()->cell(int(t), int(u))),
                     L0.decay.decay[std::size_t(t * U + u)]);
    QVERIFY(hm->caption()->text().contains("Layer 0"));

    // Δ strip, all layers: row i = mean over units of delta of Mamba layer i
    w::DeltaStrip* ds = insp_->deltaStrip();
    ds->layerCombo()->setCurrentIndex(0);
    const auto R = std::int64_t(ref_.layers.size());
    QCOMPARE(std::int64_t(ds->matrix().size()), T * R);
    for (std::int64_t t = 0; t < T; ++t)
        for (std::int64_t i = 0; i < R; ++i) {
            const auto& l = ref_.layers[std::size_t(i)];
            double s = 0;
            for (std::int64_t u = 0; u < l.units; ++u) s += l.delta[std::size_t(t * l.units + u)];
            QVERIFY(std::fabs(ds->matrix()[std::size_t(t * R + i)] - s / double(l.units)) < 1e-6);
        }

    // Retention: curve of the first unit drawn = cumulative log10 decay of that unit
    w::RetentionPlot* rp = insp_->retention();
    insp_->showPanel(rp);  // a hidden view draws when shown
    rp->layerCombo()->setCurrentIndex(0);
    const int ru = rp->curveUnits()[0];
    auto g = rp->plot()->graph(0)->data();
    QCOMPARE(g->size(), int(T));
    double acc = 0;
    for (std::int64_t t = 0; t < T; ++t) {
        if (t > 0) acc += std::log10(double(L0.decay.decay[std::size_t(t * U + ru)]));
        QVERIFY(std::fabs(g->at(int(t))->value - acc) < 1e-9 * std::max(1.0, std::fabs(acc)));
    }
    // ... the longest half-life unit first, and the histogram counts every finite half-life
    const auto hl = L0.decay.half_life;
    QCOMPARE(hl[std::size_t(ru)], *std::max_element(hl.begin(), hl.end()));
    double counted = 0;
    for (double c : rp->histCounts()) counted += c;
    QCOMPARE(int(counted), int(std::count_if(hl.begin(), hl.end(),
                                             [](double h) { return std::isfinite(h) && h > 0; })));

    // Lyapunov: the dots are every unit's exponent, layer by layer; the line is each layer's max
    w::LyapunovPlot* lp = insp_->lyapunov();
    insp_->showPanel(lp);  // a hidden view draws when shown
    // (QCPGraph keeps its points sorted by key, so compare each layer's exponents as sorted lists)
    auto dots = lp->plot()->graph(0)->data();
    int k = 0;
    for (const auto& l : ref_.layers) {
        std::vector<double> want = l.lyapunov.exponents, drawn;
        for (auto it = dots->constBegin(); it != dots->constEnd(); ++it)
            if (it->key == double(l.index)) drawn.push_back(it->value);
        std::sort(want.begin(), want.end());
        std::sort(drawn.begin(), drawn.end());
        QCOMPARE(drawn, want);
        k += int(want.size());
    }
    QCOMPARE(dots->size(), k);
    auto zeta = lp->plot()->graph(1)->data();
    for (std::size_t i = 0; i < ref_.layers.size(); ++i)
        QCOMPARE(zeta->at(int(i))->value, ref_.layers[i].lyapunov.max);
    // growth vs bound for layer 0 (when the text is long enough for a run)
    QVERIFY(!ref_.perturbation.empty());
    QCOMPARE(lp->plot()->graphCount(), 4);
    auto measured = lp->plot()->graph(2)->data();
    QCOMPARE(measured->size(), int(ref_.perturbation[0].measured.size()));
    for (int i = 0; i < measured->size(); ++i)
        QCOMPARE(measured->at(i)->value, ref_.perturbation[0].measured[std::size_t(i)]);

    // State norms: mean over units of the RMS at each checkpoint
    w::StateNormPlot* sp = insp_->stateNorms();
    insp_->showPanel(sp);  // a hidden view draws when shown
    sp->layerCombo()->setCurrentIndex(0);
    auto sm = sp->plot()->graph(0)->data();
    QCOMPARE(sm->size(), int(L0.state_stats.size()));
    for (std::size_t i = 0; i < L0.state_stats.size(); ++i) {
        double m = 0;
        for (float r : L0.state_stats[i].rms) m += r;
        QCOMPARE(sm->at(int(i))->key, double(L0.state_stats[i].position));
        QVERIFY(std::fabs(sm->at(int(i))->value - m / double(U)) < 1e-9);
    }

    // Receptive fields: bar heights are log10 tA_prod, split global / local as the core says
    w::ReceptiveFieldView* rf = insp_->receptiveField();
    insp_->showPanel(rf);  // a hidden view draws when shown
    rf->layerCombo()->setCurrentIndex(0);
    QCOMPARE(rf->plot()->plottableCount(), 2);
    auto* global = qobject_cast<QCPBars*>(rf->plot()->plottable(0));
    auto* local = qobject_cast<QCPBars*>(rf->plot()->plottable(1));
    QVERIFY(global && local);
    QCOMPARE(global->data()->size() + local->data()->size(), int(U));
    for (auto* bars : {global, local})
        for (auto it = bars->data()->constBegin(); it != bars->data()->constEnd(); ++it) {
            const auto u = std::size_t(it->key);
            QVERIFY(std::fabs(it->value - L0.log_tA_prod[u] / std::log(10.0)) < 1e-12);
            QCOMPARE(bars == global, bool(L0.global[u]));
        }

    // Implicit attention: the drawn matrix is the core's for the chosen unit
    w::AttentionMap* am = insp_->attention();
    insp_->showPanel(am);  // a hidden view draws when shown
    am->layerCombo()->setCurrentIndex(0);
    const int unit = am->currentUnit();
    const statescope::ImplicitAttention* im = nullptr;
    for (const auto& m : ref_.implicit)
        if (m.layer == 0 && m.unit == unit) im = &m;
    QVERIFY(im);
    QCOMPARE(am->implicitValues().size(), im->map.size());
    for (std::size_t i = 0; i < im->map.size(); ++i)
        QVERIFY(std::fabs(am->implicitValues()[i] - im->map[i]) <=
                1e-6f * std::max(1.0f, std::fabs(im->map[i])));
    QVERIFY(am->caption()->text().contains("no attention layer"));

    // Logit lens: the table lists the core's top-1 probability per layer and token
    w::LogitLensTable* lt = insp_->lens();
    insp_->showPanel(lt);  // a hidden view draws when shown
    QVERIFY(lt->tableMode());
    QCOMPARE(lt->table()->rowCount(), int(ref_.lens.size() * std::size_t(T)));
    for (std::size_t li = 0; li < ref_.lens.size(); ++li)
        for (std::int64_t t = 0; t < T; ++t) {
            const int row = int(li * std::size_t(T) + std::size_t(t));
            QCOMPARE(
                lt->table()->item(row, 4)->text(),
                QString::number(ref_.lens[li].top_probs[std::size_t(t * ref_.lens_k)], 'f', 4));
        }
}

void InspectorTest::clickATokenInTheChatMovesEveryView() {
    w::ChatView* chat = window_->chatView();
    QVERIFY(chat->count() >= 2);
    auto* body = chat->bubble(0)->body();
    const QString text = body->toPlainText();
    const int at = int(text.indexOf("fox"));
    QVERIFY(at > 0);
    QTextCursor c(body->document());
    c.setPosition(at + 1);
    const QPoint p = body->cursorRect(c).center();
    QTest::mouseClick(body->viewport(), Qt::LeftButton, {}, p);
    const int t = insp_->tokenLink()->current();
    QVERIFY(t >= 0);
    QCOMPARE(insp_->data().tokens[t].trimmed(), QString("fox"));
    // the logit lens jumps to the token's rows; the text shows the current token
    w::LogitLensTable* lt = insp_->lens();
    const auto sel = lt->table()->selectedItems();
    QVERIFY(!sel.isEmpty());
    QCOMPARE(lt->table()->item(sel.first()->row(), 1)->text().toInt(), t);
    QVERIFY(!body->extraSelections().isEmpty());
    QCOMPARE(body->extraSelections().last().cursor.selectedText().trimmed(), QString("fox"));
    // a click in a plot (token axis) makes that token current everywhere
    w::DecayHeatmap* hm = insp_->heatmap();
    insp_->showPanel(hm);
    QTest::qWait(50);
    QCustomPlot* plot = hm->plot();
    plot->replot();
    const int x = int(plot->xAxis->coordToPixel(5.0)), y = plot->axisRect()->center().y();
    QTest::mouseClick(plot, Qt::LeftButton, {}, QPoint(x, y));
    QCOMPARE(insp_->tokenLink()->current(), 5);
}

void InspectorTest::hoverInAPlotLightsTheTokenInTheText() {
    w::DecayHeatmap* hm = insp_->heatmap();
    QCustomPlot* plot = hm->plot();
    // the user's token "little": hover its column in the heatmap
    int t = -1;
    for (int i = 0; i < insp_->data().tokens.size(); ++i)
        if (insp_->data().tokens[i].trimmed() == "little") t = i;
    QVERIFY(t >= 0);
    const QPoint p(int(plot->xAxis->coordToPixel(double(t))), plot->axisRect()->center().y());
    QMouseEvent move(QEvent::MouseMove, p, plot->mapToGlobal(p), Qt::NoButton, Qt::NoButton,
                     Qt::NoModifier);
    QApplication::sendEvent(plot, &move);
    QCOMPARE(insp_->tokenLink()->hovered(), t);
    auto* body = window_->chatView()->bubble(0)->body();
    bool lit = false;
    for (const auto& s : body->extraSelections())
        lit |= s.cursor.selectedText().trimmed() == "little";
    QVERIFY(lit);
}

void InspectorTest::exportPngSvgPdfCsv() {
    for (w::PlotPanel* p : insp_->panels()) {
        const QString base = dir_.filePath(p->accessibleName().replace(' ', '-'));
        QVERIFY2(p->exportTo(base + ".png").isEmpty(), qPrintable(p->accessibleName()));
        QImage img(base + ".png");
        QVERIFY2(!img.isNull() && img.width() >= 640, qPrintable(base));
        QCOMPARE(p->exportTo(base + ".svg"), QString());
        QVERIFY2(QSvgRenderer(base + ".svg").isValid(), qPrintable(base));
        QVERIFY(p->exportTo(base + ".pdf").isEmpty());
        QFile pdf(base + ".pdf");
        QVERIFY(pdf.open(QIODevice::ReadOnly));
        QCOMPARE(pdf.read(4), QByteArray("%PDF"));
        QVERIFY(p->exportTo(base + ".csv").isEmpty());
        QFile csv(base + ".csv");
        QVERIFY(csv.open(QIODevice::ReadOnly | QIODevice::Text));
        const auto lines = QString::fromUtf8(csv.readAll()).split('\n', Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), p->csvRows().size());
        QCOMPARE(lines[0], p->csvRows()[0].join(','));
        QVERIFY(!p->exportTo(base + ".bmp").isEmpty());  // refused with a reason
    }
    // expected row counts, independent of the widgets: one per cell / per (layer, token) / unit
    const std::int64_t T = ref_.tokens, U = ref_.layers[0].units;
    insp_->heatmap()->setMode(w::DecayHeatmap::Mode::Decay);
    QCOMPARE(insp_->heatmap()->csvRows().size(), int(T * U) + 1);
    QCOMPARE(insp_->lens()->csvRows().size(), int(ref_.lens.size() * std::size_t(T)) + 1);
    QCOMPARE(insp_->receptiveField()->csvRows().size(), int(U) + 1);
    // data table alternative of a plot
    w::LyapunovPlot* lp = insp_->lyapunov();
    lp->setTableMode(true);
    QCOMPARE(lp->table()->rowCount(), lp->csvRows().size() - 1);
    lp->setTableMode(false);
    // clipboard: image and CSV text
    insp_->heatmap()->copyToClipboard();
    QVERIFY(QApplication::clipboard()->text().startsWith("token_from,"));
    QVERIFY(!QApplication::clipboard()->image().isNull());
}

void InspectorTest::longMambaToggleHighlightsKeptTokens() {
    const auto& l = ref_.layers[0];
    QVERIFY(!l.kept.empty());  // the text is long enough for the calibration
    insp_->setLongMamba(true);
    w::DeltaStrip* ds = insp_->deltaStrip();
    QVERIFY(ds->rowNames().last().startsWith("kept"));
    const std::int64_t T = ref_.tokens, R = ds->rowNames().size();
    for (std::int64_t t = 0; t < T; ++t) {
        std::int64_t g = 0, k = 0;
        for (std::int64_t u = 0; u < l.units; ++u)
            if (l.global[std::size_t(u)]) {
                ++g;
                k += l.kept[std::size_t(t * l.units + u)];
            }
        QCOMPARE(ds->matrix()[std::size_t(t * R + R - 1)], g ? float(k) / float(g) : 1.0f);
    }
    QVERIFY(insp_->receptiveField()->filterToggle()->isChecked());
    QVERIFY(gt::save_screenshot(window_.get(), "inspector-longmamba", 80));
    insp_->setLongMamba(false);
    QVERIFY(!ds->rowNames().last().startsWith("kept"));
}

void InspectorTest::hybridRealAttentionBesideMambaHead() {
    auto model =
        statescope::Model::load(gt::golden_model("nemotron_h-tiny").toStdString(), *backend_);
    std::vector<std::int32_t> ids;
    for (int i = 0; i < 40; ++i) ids.push_back((i * 37 + 11) % 200);
    w::InspectorData d;
    d.core = std::make_shared<statescope::Inspection>(statescope::inspect(*model, ids, {}));
    for (int i = 0; i < 40; ++i) {
        d.offsets << int(d.text.size());
        d.tokens << QString(" t%1").arg(i);
        d.text += d.tokens.last();
    }
    const auto& core = *d.core;
    QCOMPARE(core.attention.size(), std::size_t(1));
    w::AttentionMap map;
    map.resize(900, 480);
    map.setData(d);
    map.show();
    QVERIFY(map.attentionLayerCombo()->count() == 1);
    map.headCombo()->setCurrentIndex(1);
    emit map.headCombo()->activated(1);
    const auto& a = core.attention[0];
    const std::int64_t W = core.tokens - core.window_from;
    QCOMPARE(map.realValues().size(), std::size_t(W * W));
    for (std::int64_t q = 0; q < W; ++q)
        for (std::int64_t j = 0; j < W; ++j)
            QCOMPARE(map.realValues()[std::size_t(q * W + j)], a.at(q, 1, core.window_from + j));
    // the same numbers as a fresh capture of that head
    statescope::AttentionProbsOptions o;
    for (std::int64_t t = core.window_from; t < core.tokens; ++t) o.queries.push_back(t);
    o.key_from = core.window_from;
    o.key_to = core.tokens;
    const auto fresh = statescope::capture_attention_probs(*model, ids, o);
    QCOMPARE(fresh[0].probs, a.probs);
    QVERIFY(map.caption()->text().contains("head 1"));
    QVERIFY(!map.implicitValues().empty());
    QVERIFY(gt::save_screenshot(&map, "inspector-attention-hybrid", 80));
}

void InspectorTest::screenshotsOfEveryView() {
    const QStringList names = {"delta-strip", "decay",       "retention", "receptive-fields",
                               "lyapunov",    "state-norms", "attention", "logit-lens"};
    insp_->tokenLink()->setCurrent(12);
    for (int i = 0; i < insp_->panels().size(); ++i) {
        insp_->showPanel(insp_->panels()[i]);
        QVERIFY(gt::save_screenshot(window_.get(), "inspector-" + names[i], 80));
    }
    insp_->heatmap()->setMode(w::DecayHeatmap::Mode::LayerMeans);
    insp_->showPanel(insp_->heatmap());
    QVERIFY(gt::save_screenshot(window_.get(), "inspector-decay-layer-means", 80));
    insp_->heatmap()->setMode(w::DecayHeatmap::Mode::Decay);
    insp_->receptiveField()->setMapMode(true);
    insp_->showPanel(insp_->receptiveField());
    QCOMPARE(insp_->receptiveField()->csvRows().size(),
             int(ref_.layers.size() * std::size_t(ref_.layers[0].units)) + 1);
    QVERIFY(gt::save_screenshot(window_.get(), "inspector-receptive-map", 80));
    insp_->receptiveField()->setMapMode(false);
    insp_->lyapunov()->setTableMode(true);
    insp_->showPanel(insp_->lyapunov());
    QVERIFY(gt::save_screenshot(window_.get(), "inspector-lyapunov-table", 80));
    insp_->lyapunov()->setTableMode(false);
    // dark theme: the plots take the window's colours
    window_->setDarkTheme(true);
    insp_->showPanel(insp_->retention());
    QTest::qWait(50);
    QCOMPARE(insp_->retention()->plot()->xAxis->tickLabelColor(),
             insp_->retention()->palette().color(QPalette::Text));
    QVERIFY(gt::save_screenshot(window_.get(), "inspector-dark", 80));
    window_->setDarkTheme(false);
}

// The chat never waits on the inspector: a message sent while an analysis runs stops it at its
// next prefill chunk (or it has just finished), the reply comes, and the inspector analyses again.
void InspectorTest::aChatMessageCancelsARunningAnalysis() {
    QSignalSpy ready(insp_, &InspectorController::analysisReady);
    QSignalSpy failed(insp_, &InspectorController::analysisFailed);
    QSignalSpy finished(window_.get(), &MainWindow::replyFinished);
    insp_->analyseNow();
    QVERIFY(insp_->busy());
    window_->sendMessage("And then?");
    QVERIFY(window_->isGenerating());
    QVERIFY(finished.wait(60000));
    // the reply's end starts a fresh analysis of the longer conversation
    QTRY_VERIFY_WITH_TIMEOUT(!insp_->busy(), 60000);
    QVERIFY(!ready.isEmpty());
    for (const auto& f : failed) QCOMPARE(f.at(0).toString(), QString("cancelled"));
    QVERIFY(insp_->data().core->tokens > ref_.tokens);
    // only the views on screen drew the new analysis; a tab behind draws when raised
    QVERIFY(!insp_->retention()->pending());  // the tab in front
    QVERIFY(insp_->lyapunov()->pending());
    insp_->showPanel(insp_->lyapunov());
    QVERIFY(!insp_->lyapunov()->pending());
    QCOMPARE(insp_->retention()->plot()->graph(0)->data()->size(), int(insp_->data().core->tokens));
    // a new chat: the old analysis no longer maps to the text on screen (no stale highlight)
    window_->newSession();
    insp_->tokenLink()->setCurrent(3);
    QCOMPARE(insp_->tokenAt(0, 0), -1);
}

STATESCOPE_GUI_TEST_MAIN(InspectorTest)

#include "inspector_test.moc"
