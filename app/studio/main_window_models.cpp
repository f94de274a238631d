// MainWindow and the model library: the list, the architecture card, loading a model on the
// engine thread and what the window shows while and after it loads.
#include "app/studio/main_window.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QListWidget>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QStatusBar>

#include "app/studio/model_library.h"
#include "core/store/model_fingerprint.h"
#include "core/store/session_store.h"
#include "widgets/layer_strip.h"

namespace statescope::studio {

void MainWindow::refresh_models() {
    QSettings s;
    const QStringList folders = s.value("models/folders").toStringList();
    model_list_->clear();
    for (const ModelEntry& m : scan_models(folders)) {
        auto* it = new QListWidgetItem(QString("%1\n%2").arg(m.name, m.source), model_list_);
        it->setData(Qt::UserRole, m.path);
        it->setToolTip(m.path);
    }
    if (model_list_->count() > 0) model_list_->setCurrentRow(0);
}

void MainWindow::show_card(const QString& dir) {
    const ModelCard c = describe_model(dir);
    if (c.model_type.isEmpty()) {
        card_->setText(tr("<b>%1</b>").arg(QFileInfo(dir).fileName().toHtmlEscaped()));
    } else {
        card_->setText(
            tr("<b>%1</b><br>%2 · %3<br>%4 layers · d_model %5 · vocab %6<br>%7 parameters · %8<br>"
               "memory: weights %9 (mapped) + state %10 per chat<br>tokenizer: %11 · chat "
               "template: %12")
                .arg(QFileInfo(dir).fileName().toHtmlEscaped(), c.model_type, c.architecture)
                .arg(c.n_layers)
                .arg(c.d_model)
                .arg(c.vocab_size)
                .arg(format_count(c.n_params), c.weight_dtype, format_bytes(c.weight_bytes),
                     format_bytes(c.state_bytes), c.has_tokenizer ? tr("yes") : tr("missing"),
                     c.has_chat_template ? tr("yes") : tr("none (plain transcript)")));
    }
    strip_->setPattern(c.layer_pattern);
    strip_->setVisible(!c.layer_pattern.isEmpty());
    card_error_->setText(c.error);
    card_error_->setVisible(!c.error.isEmpty());
    load_button_->setEnabled(c.error.isEmpty());
}

void MainWindow::add_models_folder() {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Add a folder of models"));
    if (dir.isEmpty()) return;
    QSettings s;
    QStringList folders = s.value("models/folders").toStringList();
    if (!folders.contains(dir)) folders << dir;
    s.setValue("models/folders", folders);
    refresh_models();
}

void MainWindow::loadModel(const QString& dir) {
    if (generating_) stopGeneration();
    model_ready_ = false;
    loading_dir_ = dir;
    model_label_->setText(tr("Loading %1…").arg(QFileInfo(dir).fileName()));
    progress_->setRange(0, 0);  // the engine reports no progress while mapping weights
    progress_->setFormat(tr("loading the model"));
    progress_->show();
    update_actions();
    emit requestLoad(dir, backend_combo_->currentText());
}

void MainWindow::on_model_loaded(const LoadedModel& model) {
    model_ = model;
    model_ready_ = true;
    progress_->hide();
    model_label_->setText(
        tr("<b>%1</b> · %2 · %3").arg(model.name, model.model_type, model.backend));
    QSettings().setValue("models/last", model.dir);
    if (store_) {
        try {
            model_row_ = store_->touch_model(model_info_for(model.dir.toStdString()));
        } catch (const std::exception& e) {
            statusBar()->showMessage(
                tr("The model is not recorded in the session store: %1").arg(e.what()));
        }
    }
    update_banner();
    update_actions();
    emit modelReady(model.name);
}

void MainWindow::on_model_failed(const QString& dir, const QString& message) {
    progress_->hide();
    model_label_->setText(tr("No model"));
    statusBar()->showMessage(tr("Cannot load %1: %2").arg(QFileInfo(dir).fileName(), message));
    update_actions();
    emit modelLoadFailed(message);
}

void MainWindow::update_banner() {
    const QString backend = model_ready_ ? model_.backend : backend_combo_->currentText();
    if (backend == "cuda") {
        banner_->hide();
        return;
    }
    banner_->setText(
        tr("⚠ Running on the CPU, not CUDA: %1. Replies are slower than on a GPU.")
            .arg(cuda_reason_.isEmpty() ? tr("the CPU backend was chosen") : cuda_reason_));
    banner_->show();
}

void MainWindow::update_actions() {
    send_button_->setEnabled(model_ready_ && !generating_);
    stop_button_->setEnabled(generating_);
}

}  // namespace statescope::studio
