// "From sessions…" in the Compare view (issue 10): probe runs kept in the session store, picked
// in the dialog, reach the probe grid panel as loaded files do. The runs are written with core's
// own code into the studio's scratch store: a passkey and a phone book grid run on the tiny golden
// Mamba (a byte per token, as tests/analysis/probes_test.cpp runs them), the core writer's fixture
// grid for mamba2-tiny (partial accuracies, a cell that never ran), and a broken document. The
// test checks the dialog's rows and the panel's cells against the documents the store holds, that
// mixing probes is refused naming the runs, and saves screenshots of each state.
#include <qcustomplot.h>
#include <QDialogButtonBox>
#include <QLabel>
#include <QPushButton>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>
#include <cmath>
#include <map>
#include <memory>

#include "app/studio/compare_view.h"
#include "app/studio/main_window.h"
#include "core/analysis/probes/probe_store.h"
#include "core/runtime/backends.h"
#include "core/runtime/model.h"
#include "core/store/model_fingerprint.h"
#include "core/store/session_store.h"
#include "gui_test_support.h"
#include "probe_run_fixture.h"
#include "tests/analysis/byte_codec.h"
#include "widgets/compare/probe_grid_panel.h"
#include "widgets/compare/stored_probe_dialog.h"

using statescope::studio::CompareView;
using statescope::studio::MainWindow;
using statescope::widgets::StoredProbeDialog;
namespace gt = statescope::gui_test;
using nlohmann::json;

namespace {

using statescope::testing_ref::byte_codec;

// A probe grid run on the model, as `statescope-cli probe KIND` runs it (smaller).
json run_grid(const QString& dir, statescope::ProbeKind kind) {
    auto backend = statescope::make_backend("cpu");
    auto model = statescope::Model::load(dir.toStdString(), *backend);
    statescope::ProbeOptions o;
    o.kind = kind;
    o.lengths = {300, 400};
    o.depths = {0.0, 0.5, 1.0};
    o.seed = 5;
    o.max_new_tokens = 6;
    o.prefill_chunk = 256;
    return statescope::probe_run_json(statescope::run_probe(*model, byte_codec(), o, nullptr));
}

// Keeps `doc` as `statescope-cli probe ... --save` does: params from the options, the model
// object in the document unless `with_model` is false (a writer that leaves it out).
std::int64_t save(statescope::SessionStore& store, const QString& dir, json doc,
                  bool with_model = true) {
    const statescope::ModelInfo info = statescope::model_info_for(dir.toStdString());
    if (with_model)
        doc["model"] = {{"path", info.path},
                        {"model_type", info.model_type},
                        {"content_hash", info.content_hash}};
    doc["backend"] = "cpu";
    json params = doc.value("options", json::object());
    params["backend"] = "cpu";
    const std::string probe = doc.value("probe", std::string());
    const statescope::RowRef ref = save_probe_run(store, info, probe, params, doc);
    store.flush();
    return ref.id();
}

QString title_of(QCustomPlot* plot) {
    for (int i = 0; i < plot->plotLayout()->elementCount(); ++i)
        if (auto* t = qobject_cast<QCPTextElement*>(plot->plotLayout()->elementAt(i)))
            return t->text();
    return {};
}

}  // namespace

class StoredProbesTest : public QObject {
    Q_OBJECT

  private slots:
    void initTestCase();
    void theStoreIsReadOffTheUiThread();
    void dialogListsTheStoredRuns();
    void pickedRunsShowTheStoredAccuracies();
    void mixingProbesIsRefusedNamingTheRuns();

  private:
    StoredProbeDialog* openDialog();
    // Selects the rows whose probe is in `probes` and presses "Show in the grid".
    void pick(StoredProbeDialog* dialog, const QStringList& probes);

    QTemporaryDir dir_;
    std::unique_ptr<MainWindow> window_;
    CompareView* view_ = nullptr;
    std::int64_t mamba_passkey_ = 0, mamba2_passkey_ = 0, mamba_phonebook_ = 0, broken_ = 0;
    std::map<std::int64_t, json> stored_;  // run id -> the document as the store returns it
};

void StoredProbesTest::initTestCase() {
    QVERIFY(dir_.isValid());
    window_ = gt::open_studio(dir_, {1500, 950});
    QVERIFY(window_->hasModel());
    view_ = window_->compareView();
    window_->setView("compare");

    auto& store = window_->store();
    const QString mamba = gt::golden_model("mamba-tiny"), mamba2 = gt::golden_model("mamba2-tiny");
    mamba_passkey_ = save(store, mamba, run_grid(mamba, statescope::ProbeKind::Passkey));
    mamba2_passkey_ =
        save(store, mamba2, statescope::probe_run_json(gt::tiny_probe_run()), /*with_model=*/false);
    mamba_phonebook_ = save(store, mamba, run_grid(mamba, statescope::ProbeKind::PhoneBook));
    json broken = gt::tiny_probe_document("ignored");
    broken["summary"].erase("count");
    broken_ = save(store, gt::golden_model("llama-tiny"), broken);
    // A perplexity run has no grid and is not offered.
    save(store, mamba, {{"format", "statescope-probe"}, {"version", 1}, {"probe", "perplexity"}});

    statescope::SessionReader reader = store.reader();
    for (const auto& p : statescope::stored_probes(reader)) stored_[p.run_id] = p.result;
    QCOMPARE(stored_.size(), std::size_t(5));
}

StoredProbeDialog* StoredProbesTest::openDialog() {
    auto* button = view_->findChild<QPushButton*>("compareStoredProbes");
    if (!button || !button->isVisible()) return nullptr;
    QTest::mouseClick(button, Qt::LeftButton);
    StoredProbeDialog* dialog = nullptr;
    (void)QTest::qWaitFor(
        [&] {
            for (auto* d : view_->findChildren<StoredProbeDialog*>())
                if (d->isVisible()) dialog = d;
            return dialog != nullptr;
        },
        5000);
    return dialog;
}

void StoredProbesTest::pick(StoredProbeDialog* dialog, const QStringList& probes) {
    QTableWidget* t = dialog->table();
    t->clearSelection();
    for (int row = 0; row < t->rowCount(); ++row)
        if (probes.contains(t->item(row, StoredProbeDialog::ColProbe)->text()))
            t->selectionModel()->select(t->model()->index(row, 0),
                                        QItemSelectionModel::Select | QItemSelectionModel::Rows);
    QPushButton* ok = dialog->buttons()->button(QDialogButtonBox::Ok);
    QVERIFY(ok->isEnabled());
    QTest::mouseClick(ok, Qt::LeftButton);
    QTRY_VERIFY(!dialog->isVisible());
}

// The click starts the read and returns: its result can only come back through the event loop,
// so right after the click the button is disabled and the status says the store is being read;
// once the dialog is up the button is enabled again and the status counts the runs it lists.
void StoredProbesTest::theStoreIsReadOffTheUiThread() {
    auto* button = view_->findChild<QPushButton*>("compareStoredProbes");
    auto* status = view_->findChild<QLabel*>("compareStatus");
    QVERIFY(button && status);
    QVERIFY(button->isEnabled());
    QTest::mouseClick(button, Qt::LeftButton);
    QVERIFY(!button->isEnabled());
    QVERIFY2(status->text().contains("Reading the probe runs"), qPrintable(status->text()));
    QVERIFY(view_->findChildren<StoredProbeDialog*>().isEmpty());
    StoredProbeDialog* dialog = nullptr;
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
            for (auto* d : view_->findChildren<StoredProbeDialog*>())
                if (d->isVisible()) dialog = d;
            return dialog != nullptr;
        }(),
        5000);
    QVERIFY(button->isEnabled());
    QVERIFY2(status->text().contains("3 stored probe run(s) found"), qPrintable(status->text()));
    QCOMPARE(dialog->table()->rowCount(), 3);
    dialog->reject();
    QTRY_VERIFY(!dialog->isVisible());
}

void StoredProbesTest::dialogListsTheStoredRuns() {
    StoredProbeDialog* dialog = openDialog();
    QVERIFY(dialog);
    QTableWidget* t = dialog->table();
    // The three readable grid runs; the broken one is named under the table, perplexity is not.
    QCOMPARE(t->rowCount(), 3);
    QVERIFY(!dialog->buttons()->button(QDialogButtonBox::Ok)->isEnabled());  // nothing picked
    QMap<QString, QString> overall;  // "model probe" -> the overall column
    for (int row = 0; row < 3; ++row) {
        const QString key = t->item(row, StoredProbeDialog::ColModel)->text() + ' ' +
                            t->item(row, StoredProbeDialog::ColProbe)->text();
        overall[key] = t->item(row, StoredProbeDialog::ColOverall)->text();
        QCOMPARE(t->item(row, StoredProbeDialog::ColLengths)->text(),
                 key.startsWith("mamba2") ? QString("256, 1024, 4096") : QString("300, 400"));
        QVERIFY(!t->item(row, StoredProbeDialog::ColDate)->text().isEmpty());
    }
    auto percent = [&](std::int64_t id) {
        return QString::number(stored_[id]["summary"]["overall"].get<double>() * 100, 'f', 1) + '%';
    };
    QCOMPARE(overall.value("mamba-tiny passkey"), percent(mamba_passkey_));
    QCOMPARE(overall.value("mamba-tiny phonebook"), percent(mamba_phonebook_));
    // Written without a model object: named after the store's model row.
    QCOMPARE(overall.value("mamba2-tiny passkey"), percent(mamba2_passkey_));
    QCOMPARE(overall.value("mamba2-tiny passkey"), QString("60.0%"));  // 6 of 10 in the fixture
    auto* problems = dialog->findChild<QLabel*>("storedProbeProblems");
    QVERIFY(problems);
    QVERIFY2(problems->text().contains(
                 QString("stored run %1: field \"summary.count\" missing").arg(broken_)),
             qPrintable(problems->text()));
    t->selectRow(0);
    QVERIFY(gt::save_screenshot(dialog, "stored-probes-01-dialog"));
    dialog->reject();
    QTRY_VERIFY(!dialog->isVisible());
    QVERIFY(view_->probePanel()->grids().isEmpty());  // cancelled: nothing shown
}

void StoredProbesTest::pickedRunsShowTheStoredAccuracies() {
    StoredProbeDialog* dialog = openDialog();
    QVERIFY(dialog);
    pick(dialog, {"passkey"});
    const auto grids = view_->probePanel()->grids();
    const auto plots = view_->probePanel()->plots();
    QCOMPARE(grids.size(), 2);
    QCOMPARE(plots.size(), 2);
    for (int k = 0; k < 2; ++k) {
        const auto& g = grids[k];
        const std::int64_t id = g.model == "mamba-tiny" ? mamba_passkey_ : mamba2_passkey_;
        QCOMPARE(g.source, QString("stored run %1").arg(id));
        QCOMPARE(title_of(plots[k]), g.model + " · passkey");
        // Every cell the plot draws is the stored document's accuracy[length][depth].
        const json& s = stored_[id]["summary"];
        auto* map = qobject_cast<QCPColorMap*>(plots[k]->plottable(0));
        QVERIFY(map);
        QCOMPARE(std::size_t(map->data()->keySize()), s["lengths"].size());
        QCOMPARE(std::size_t(map->data()->valueSize()), s["depths"].size());
        for (std::size_t i = 0; i < s["lengths"].size(); ++i)
            for (std::size_t j = 0; j < s["depths"].size(); ++j) {
                const json& a = s["accuracy"][i][j];
                const double shown = map->data()->cell(int(i), int(j));
                if (a.is_null())
                    QVERIFY(std::isnan(shown) && std::isnan(g.accuracy[int(i)][int(j)]));
                else
                    QCOMPARE(shown, a.get<double>());
                QCOMPARE(g.count[int(i)][int(j)], s["count"][i][j].get<qint64>());
            }
    }
    QVERIFY2(view_->statusLabel()->text().contains("2 probe result"),
             qPrintable(view_->statusLabel()->text()));
    QVERIFY(gt::save_screenshot(window_.get(), "stored-probes-02-grids"));
}

void StoredProbesTest::mixingProbesIsRefusedNamingTheRuns() {
    StoredProbeDialog* dialog = openDialog();
    QVERIFY(dialog);
    pick(dialog, {"passkey", "phonebook"});
    // Refused: the passkey grids stay, and the status names every run picked.
    QCOMPARE(view_->probePanel()->grids().size(), 2);
    for (const auto& g : view_->probePanel()->grids()) QCOMPARE(g.probe, QString("passkey"));
    const QString msg = view_->statusLabel()->text();
    QVERIFY2(msg.contains("passkey and phonebook") || msg.contains("phonebook and passkey"),
             qPrintable(msg));
    for (std::int64_t id : {mamba_passkey_, mamba2_passkey_, mamba_phonebook_})
        QVERIFY2(msg.contains(QString("(stored run %1)").arg(id)), qPrintable(msg));
    QVERIFY2(msg.contains("mamba-tiny · phonebook"), qPrintable(msg));
    QVERIFY(view_->statusLabel()->isVisible());
    QVERIFY(gt::save_screenshot(window_.get(), "stored-probes-03-mixed-refused"));

    // One probe alone is shown: the phone book run replaces the passkey grids.
    dialog = openDialog();
    QVERIFY(dialog);
    pick(dialog, {"phonebook"});
    QCOMPARE(view_->probePanel()->grids().size(), 1);
    QCOMPARE(title_of(view_->probePanel()->plots()[0]), QString("mamba-tiny · phonebook"));
}

STATESCOPE_GUI_TEST_MAIN(StoredProbesTest)

#include "stored_probes_test.moc"
