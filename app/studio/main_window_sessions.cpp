// MainWindow's sessions: new, open, list and search, rename, delete with undo, export and import
// (the store does the work; this keeps the window in step).
#include "app/studio/main_window.h"

#include <QDateTime>
#include <QFileDialog>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QStatusBar>
#include <QTimer>
#include <QWidget>
#include <fstream>
#include <map>
#include <sstream>

#include "app/studio/chat_records.h"
#include "app/studio/compare_view.h"
#include "core/error.h"
#include "core/store/session_json.h"
#include "core/store/session_markdown.h"
#include "core/store/session_store.h"
#include "widgets/chat_view.h"

namespace statescope::studio {

std::optional<std::int64_t> MainWindow::currentSessionId() const {
    if (session_row_.is_null()) return std::nullopt;
    return session_row_.try_id();
}

void MainWindow::newSession() {
    if (generating_) stopGeneration();
    tree_.clear();
    ++conversation_key_;
    session_row_ = RowRef();
    edit_node_ = -1;
    edit_label_->hide();
    session_list_->setCurrentItem(nullptr);
    rebuild_chat();
    composer_->setFocus();
}

void MainWindow::openSession(std::int64_t id) {
    if (generating_ || !reader_) return;
    if (auto cur = currentSessionId(); cur && *cur == id) return;
    try {
        auto s = reader_->session(id);
        if (!s) return;
        if (CompareView::isCompareSession(*s)) {
            if (compare_view_->openSaved(id)) setView("compare");
            return;
        }
        tree_ = ChatTree::from_session(*s);
        ++conversation_key_;
        session_row_ = RowRef(id);
        edit_node_ = -1;
        edit_label_->hide();
        setView("chat");
        rebuild_chat();
    } catch (const std::exception& e) {
        statusBar()->showMessage(tr("Cannot open the chat: %1").arg(e.what()));
    }
}

void MainWindow::refresh_sessions() {
    if (!reader_) return;
    session_list_->clear();
    try {
        const QString query = search_->text().trimmed();
        if (query.isEmpty()) {
            for (const SessionSummary& s : reader_->list_sessions(500)) {
                const QString when =
                    QDateTime::fromMSecsSinceEpoch(s.updated_at_ms).toString("yyyy-MM-dd hh:mm");
                auto* it =
                    new QListWidgetItem(tr("%1\n%2 · %n message(s)", "", int(s.message_count))
                                            .arg(to_qstring(s.title), when),
                                        session_list_);
                it->setData(Qt::UserRole, qlonglong(s.id));
            }
        } else {
            std::map<std::int64_t, bool> seen;
            for (const SearchHit& h : reader_->search(query.toStdString(), 200)) {
                if (seen[h.session_id]) continue;
                seen[h.session_id] = true;
                auto* it = new QListWidgetItem(
                    QString("%1\n…%2…").arg(to_qstring(h.session_title), to_qstring(h.snippet)),
                    session_list_);
                it->setData(Qt::UserRole, qlonglong(h.session_id));
            }
        }
    } catch (const std::exception& e) {
        statusBar()->showMessage(tr("Cannot read the chats: %1").arg(e.what()));
    }
    const auto cur = currentSessionId();
    for (int i = 0; i < session_list_->count(); ++i) {
        const qlonglong id = session_list_->item(i)->data(Qt::UserRole).toLongLong();
        if (cur && id == *cur) session_list_->setCurrentRow(i);
    }
}

void MainWindow::setSearchText(const QString& text) {
    search_->setText(text);
    refresh_sessions();
}

void MainWindow::renameSession(std::int64_t id, const QString& title) {
    if (!store_) return;
    store_->rename_session(RowRef(id), title.toStdString());
}

void MainWindow::deleteSession(std::int64_t id) {
    if (!store_ || !reader_) return;
    try {
        store_->flush();
        deleted_ = reader_->export_document(id);
        store_->delete_session(id);
        if (auto cur = currentSessionId(); cur && *cur == id) newSession();
        undo_label_->setText(tr("Deleted “%1”.").arg(to_qstring(deleted_->session.title)));
        undo_bar_->show();
        QTimer::singleShot(15000, undo_bar_, [this] { undo_bar_->hide(); });
        refresh_sessions();
    } catch (const std::exception& e) {
        statusBar()->showMessage(tr("Cannot delete the chat: %1").arg(e.what()));
    }
}

void MainWindow::undoDelete() {
    if (!deleted_ || !store_) return;
    try {
        const std::int64_t id = store_->import_document(*deleted_);
        deleted_.reset();
        undo_bar_->hide();
        refresh_sessions();
        openSession(id);
    } catch (const std::exception& e) {
        statusBar()->showMessage(tr("Cannot restore the chat: %1").arg(e.what()));
    }
}

bool MainWindow::exportSession(std::int64_t id, const QString& file, const QString& format) {
    if (!store_ || !reader_) return false;
    try {
        store_->flush();
        std::string text;
        if (format == "json") {
            text = to_json(reader_->export_document(id)).dump(2) + "\n";
        } else {
            auto s = reader_->session(id);
            if (!s) return false;
            std::map<std::int64_t, ModelInfo> models;
            for (const auto& m : reader_->models()) models[m.id] = m.info;
            text = to_markdown(*s, models);
        }
        std::ofstream out(file.toStdString(), std::ios::binary);
        out << text;
        if (!out) throw Error("cannot write " + file.toStdString());
        statusBar()->showMessage(tr("Exported to %1").arg(file));
        return true;
    } catch (const std::exception& e) {
        statusBar()->showMessage(tr("Cannot export: %1").arg(e.what()));
        return false;
    }
}

std::optional<std::int64_t> MainWindow::importSession(const QString& file) {
    if (!store_) return std::nullopt;
    try {
        std::ifstream in(file.toStdString(), std::ios::binary);
        if (!in) throw Error("cannot open " + file.toStdString());
        std::stringstream buf;
        buf << in.rdbuf();
        const std::int64_t id =
            store_->import_document(document_from_text(buf.str(), file.toStdString()));
        refresh_sessions();
        return id;
    } catch (const std::exception& e) {
        statusBar()->showMessage(tr("Cannot import %1: %2").arg(file, e.what()));
        return std::nullopt;
    }
}

void MainWindow::export_current(const QString& format) {
    auto id = currentSessionId();
    if (!id) return;
    const QString file = QFileDialog::getSaveFileName(
        this, tr("Export chat"), QString(),
        format == "json" ? tr("JSON (*.json)") : tr("Markdown (*.md)"));
    if (!file.isEmpty()) exportSession(*id, file, format);
}

void MainWindow::import_dialog() {
    const QString file =
        QFileDialog::getOpenFileName(this, tr("Import chat"), QString(), tr("JSON (*.json)"));
    if (file.isEmpty()) return;
    if (auto id = importSession(file)) openSession(*id);
}

}  // namespace statescope::studio
