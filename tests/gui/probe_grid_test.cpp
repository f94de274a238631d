// The compare view's probe grids against the probe writer (docs/PROBES-JSON.md): a document written
// by core (probe_run_json) loads back cell for cell, a document that does not fit is refused naming
// the file and the field, and the panel draws lengths across and depths up. No model runs here.
#include <qcustomplot.h>
#include <QFile>
#include <QImage>
#include <QPainter>
#include <QSvgRenderer>
#include <QTemporaryDir>
#include <QtTest>
#include <cmath>

#include "gui_test_support.h"
#include "probe_run_fixture.h"
#include "widgets/common/plot_export.h"
#include "widgets/compare/probe_grid.h"
#include "widgets/compare/probe_grid_panel.h"

namespace gt = statescope::gui_test;
namespace w = statescope::widgets;
using nlohmann::json;

class ProbeGridTest : public QObject {
    Q_OBJECT

  private slots:
    void loadsWhatTheCoreWriterWrites();
    void namesTheFileAndFieldWhenADocumentDoesNotFit();
    void savedGridReadsBack();
    void panelDrawsLengthsAcrossDepthsUp();

  private:
    QString write(const QString& name, const json& doc);
    QTemporaryDir dir_;
};

QString ProbeGridTest::write(const QString& name, const json& doc) {
    QFile f(dir_.filePath(name));
    if (!f.open(QIODevice::WriteOnly)) return {};
    f.write(QByteArray::fromStdString(doc.dump(2)));
    return f.fileName();
}

void ProbeGridTest::loadsWhatTheCoreWriterWrites() {
    const json doc = gt::tiny_probe_document("/models/mamba-130m");
    const json& s = doc["summary"];
    QString error;
    const auto g = w::load_probe_grid(write("passkey.json", doc), &error);
    QVERIFY2(g, qPrintable(error));
    QCOMPARE(g->model, QString("mamba-130m"));  // the folder of model.path
    QCOMPARE(g->probe, QString("passkey"));
    QCOMPARE(g->lengths, QVector<qint64>({256, 1024, 4096}));
    QCOMPARE(g->depths, QVector<double>({0.0, 1.0}));
    // Every cell as the writer has it: accuracy[length][depth], null where nothing ran.
    QCOMPARE(g->accuracy.size(), 3);
    for (std::size_t i = 0; i < 3; ++i) {
        QCOMPARE(g->accuracy[qsizetype(i)].size(), 2);
        for (std::size_t j = 0; j < 2; ++j) {
            const double a = g->accuracy[qsizetype(i)][qsizetype(j)];
            if (s["accuracy"][i][j].is_null())
                QVERIFY(std::isnan(a));
            else
                QCOMPARE(a, s["accuracy"][i][j].get<double>());
            QCOMPARE(g->correct[qsizetype(i)][qsizetype(j)], s["correct"][i][j].get<qint64>());
            QCOMPARE(g->count[qsizetype(i)][qsizetype(j)], s["count"][i][j].get<qint64>());
        }
    }
    // The fixture's cells, independently of the writer: 1/2 at (1024, depth 0), none at (4096, 1).
    QCOMPARE(g->accuracy[1][0], 0.5);
    QCOMPARE(g->accuracy[0][1], 0.5);
    QVERIFY(std::isnan(g->accuracy[2][1]));
    QCOMPARE(g->count[2][1], qint64(0));

    // Without the CLI's model object (probe_run_json alone): the file names the grid.
    const auto bare = w::load_probe_grid(
        write("needle-run.json", statescope::probe_run_json(gt::tiny_probe_run())), &error);
    QVERIFY2(bare, qPrintable(error));
    QCOMPARE(bare->model, QString("needle-run"));
}

void ProbeGridTest::namesTheFileAndFieldWhenADocumentDoesNotFit() {
    const json good = gt::tiny_probe_document("/models/m");
    auto refused = [&](const QString& name, const json& doc, const QString& field) {
        const QString file = write(name, doc);
        QString error;
        const bool loaded = w::load_probe_grid(file, &error).has_value();
        return !loaded && error.startsWith(file + ": ") && error.contains(field);
    };
    json j = good;
    j["summary"].erase("count");
    QVERIFY(refused("no-count.json", j, "field \"summary.count\" missing"));
    j = good;
    j["summary"]["accuracy"][1] = json::array({1.0});
    QVERIFY(
        refused("short-row.json", j, "field \"summary.accuracy[1]\" has 1 entries for 2 depths"));
    j = good;  // one row per depth (the transposed layout) is refused, not read sideways
    j["summary"]["accuracy"] = json::array({{1.0, 0.5, 1.0}, {0.5, 0.0, nullptr}});
    QVERIFY(
        refused("transposed.json", j, "field \"summary.accuracy\" has 2 entries for 3 lengths"));
    j = good;
    j["summary"]["accuracy"][0][0] = "1";
    QVERIFY(
        refused("string-cell.json", j, "field \"summary.accuracy[0][0]\" is not null or in 0..1"));
    j = good;
    j["summary"]["lengths"] = json::array();
    QVERIFY(refused("no-lengths.json", j, "field \"summary.lengths\" is empty"));
    j = good;
    j.erase("summary");
    QVERIFY(refused("no-summary.json", j, "field \"summary\" missing"));
    j = good;
    j["version"] = statescope::kProbeJsonVersion + 1;
    QVERIFY(refused("future.json", j, "field \"version\""));
    QVERIFY(refused("chat.json", json{{"format", "statescope-session"}}, "field \"format\""));
    const statescope::TokenLoss loss;
    QVERIFY(refused("ppl.json", statescope::token_loss_json(loss, {}, {}, 512),
                    "field \"probe\" is \"perplexity\""));
    // Not JSON, and no file at all.
    QFile bad(dir_.filePath("bad.json"));
    QVERIFY(bad.open(QIODevice::WriteOnly));
    bad.write("{\"format\": ");
    bad.close();
    QString error;
    QVERIFY(!w::load_probe_grid(bad.fileName(), &error));
    QVERIFY2(error.startsWith(bad.fileName() + ": not JSON"), qPrintable(error));
    QVERIFY(!w::load_probe_grid(dir_.filePath("missing.json"), &error));
    QVERIFY2(error.contains("missing.json: cannot open it"), qPrintable(error));
}

void ProbeGridTest::savedGridReadsBack() {
    QString error;
    const auto g = w::probe_grid_from_json(gt::tiny_probe_document("/m/mamba-tiny"), "doc", &error);
    QVERIFY2(g, qPrintable(error));
    const auto back = w::probe_grid_from_json(w::probe_grid_to_json(*g), "saved", &error);
    QVERIFY2(back, qPrintable(error));
    QCOMPARE(back->model, g->model);
    QCOMPARE(back->probe, g->probe);
    QCOMPARE(back->lengths, g->lengths);
    QCOMPARE(back->depths, g->depths);
    QCOMPARE(back->count, g->count);
    QCOMPARE(back->correct, g->correct);
    QCOMPARE(w::probe_grid_rows(*back), w::probe_grid_rows(*g));  // accuracy, NaN included
}

void ProbeGridTest::panelDrawsLengthsAcrossDepthsUp() {
    QString error;
    const auto g = w::probe_grid_from_json(gt::tiny_probe_document("/m/mamba-tiny"), "doc", &error);
    QVERIFY2(g, qPrintable(error));
    w::ProbeGridPanel panel;
    panel.resize(500, 360);
    panel.setGrids({*g});
    panel.show();
    QCOMPARE(panel.plots().size(), 1);
    QCustomPlot* plot = panel.plots()[0];
    auto* map = qobject_cast<QCPColorMap*>(plot->plottable(0));
    QVERIFY(map);
    QCOMPARE(map->data()->keySize(), 3);    // lengths across
    QCOMPARE(map->data()->valueSize(), 2);  // depths up
    QCOMPARE(map->data()->cell(1, 0), 0.5);
    QVERIFY(std::isnan(map->data()->cell(2, 1)));
    // The CSV names lengths and depths, one row per cell, accuracy empty where nothing ran.
    const w::CsvRows rows = w::probe_grid_rows(*g);
    QCOMPARE(rows.size(), 1 + 3 * 2);
    QCOMPARE(rows[0].join(','), QString("model,length,depth,accuracy,correct,count"));
    QCOMPARE(rows[3].join(','), QString("mamba-tiny,1024,0,0.5,1,2"));
    QCOMPARE(rows[6].join(','), QString("mamba-tiny,4096,1,,0,0"));
    // The grid's picture exports as SVG too.
    const QString svg = dir_.filePath("grid.svg");
    QCOMPARE(w::export_plot(plot, rows, svg), QString());
    QSvgRenderer renderer(svg);
    QVERIFY(renderer.isValid());
    // and draws the grid: the red of the 0-accuracy cell is in the rendered picture.
    QImage img(renderer.viewBox().size(), QImage::Format_RGB32);
    img.fill(Qt::white);
    QPainter painter(&img);
    renderer.render(&painter);
    painter.end();
    int red = 0;
    for (int y = 0; y < img.height(); ++y)
        for (int x = 0; x < img.width(); ++x) red += img.pixelColor(x, y) == QColor(178, 24, 43);
    QVERIFY2(red > 100, qPrintable(QString::number(red)));
    QVERIFY(gt::save_screenshot(&panel, "probe-grid"));
}

STATESCOPE_GUI_TEST_MAIN(ProbeGridTest)

#include "probe_grid_test.moc"
