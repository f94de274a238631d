// MainWindow's chat: sending, streaming a reply into the tree and the store, stop, regenerate
// and edit as branches, switching branches, and the chat view rebuilt from the branch on screen.
#include "app/studio/main_window.h"

#include <QLabel>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QStatusBar>
#include <algorithm>

#include "app/studio/chat_records.h"
#include "app/studio/engine_worker.h"
#include "app/studio/sampling_panel.h"
#include "core/store/session_store.h"
#include "widgets/chat_view.h"

namespace statescope::studio {

void MainWindow::ensure_session(const QString& first_text) {
    if (!session_row_.is_null() || !store_) return;
    QString title = first_text.section('\n', 0, 0).trimmed();
    if (title.size() > 60) title = title.left(57) + "…";
    session_row_ = store_->create_session(title.toStdString(), model_row_);
    const QString system = sampling_->systemPrompt();
    if (!system.isEmpty() && tree_.empty()) {
        ChatNode n;
        n.role = Role::System;
        n.text = system.toStdString();
        n.row = store_->add_message(session_row_, {}, Role::System, n.text);
        tree_.add(-1, std::move(n));
    }
}

void MainWindow::sendMessage(const QString& raw) {
    const QString text = raw.trimmed();
    if (text.isEmpty() || generating_ || !model_ready_) return;
    if (tree_.empty()) {
        // A new chat: the system prompt goes first, even without a store.
        ensure_session(text);
        if (!store_ && !sampling_->systemPrompt().isEmpty()) {
            ChatNode n;
            n.role = Role::System;
            n.text = sampling_->systemPrompt().toStdString();
            tree_.add(-1, std::move(n));
        }
    }
    int parent = tree_.head();
    if (edit_node_ >= 0) {
        parent = tree_.node(edit_node_).parent;
        edit_node_ = -1;
        edit_label_->hide();
    }
    ChatNode user;
    user.role = Role::User;
    user.text = text.toStdString();
    if (store_) {
        const RowRef parent_row = parent >= 0 ? tree_.node(parent).row : RowRef();
        user.row = store_->add_message(session_row_, parent_row, Role::User, user.text);
    }
    const int node = tree_.add(parent, std::move(user));
    composer_->clear();
    start_reply(node);
}

GenerationRequest MainWindow::request_for(int parent_node) const {
    GenerationRequest r;
    std::vector<int> path;
    for (int n = parent_node; n >= 0; n = tree_.node(n).parent) path.push_back(n);
    for (auto it = path.rbegin(); it != path.rend(); ++it) {
        const ChatNode& n = tree_.node(*it);
        r.turns.push_back({role_name(n.role), to_qstring(n.text), *it});
    }
    r.conversation = conversation_key_;
    r.sampler = sampling_->sampler();
    r.max_new_tokens = sampling_->maxNewTokens();
    r.read_twice = sampling_->readTwice();
    return r;
}

void MainWindow::start_reply(int parent_node) {
    GenerationRequest request = request_for(parent_node);
    request.id = current_request_ = next_request_++;
    ChatNode reply;
    reply.role = Role::Assistant;
    reply.status = MessageStatus::Generating;
    Generation g;
    g.params.backend = model_.backend.toStdString();
    g.params.seed = std::int64_t(request.sampler.seed & 0x7fffffffffffffffULL);
    g.params.sampler = {{"temperature", request.sampler.temperature},
                        {"top_k", request.sampler.top_k},
                        {"top_p", request.sampler.top_p},
                        {"min_p", request.sampler.min_p},
                        {"repetition_penalty", request.sampler.repetition_penalty},
                        {"max_new_tokens", request.max_new_tokens}};
    if (request.read_twice) g.params.sampler["jrt"] = true;
    reply.generation = g;
    if (store_) {
        StreamStart start;
        start.model = model_row_;
        start.params = g.params;
        reply.row = store_->begin_message(session_row_, tree_.node(parent_node).row, start);
    }
    reply_node_ = request.reply_node = tree_.add(parent_node, std::move(reply));
    stored_text_.clear();
    store_streaming_ = true;
    generating_ = true;
    update_actions();
    rebuild_chat();
    emit requestGenerate(request);
}

void MainWindow::on_text(quint64 id, const QString& text) {
    if (id != current_request_ || reply_node_ < 0) return;
    const std::string piece = text.toStdString();
    tree_.node(reply_node_).text += piece;
    // Into the store as it streams, up to the first replacement character: text before one is
    // final, while bytes that are not (yet) UTF-8 may decode differently once more arrive. The
    // rest goes in at the end, from the final text.
    if (piece.find("\xEF\xBF\xBD") != std::string::npos) store_streaming_ = false;
    if (store_streaming_ && store_ && !tree_.node(reply_node_).row.is_null()) {
        store_->append_text(tree_.node(reply_node_).row, piece);
        stored_text_ += piece;
    }
    progress_->hide();
    chat_view_->appendToLast(text);
}

void MainWindow::on_finished(quint64 id, const ReplyStats& stats) {
    if (id != current_request_ || reply_node_ < 0) return;
    ChatNode& n = tree_.node(reply_node_);
    // The final text is authoritative: it is cut before a stop string the batches may have held.
    std::string final_text = stats.text.toStdString();
    const std::string& stop_reason = stats.store_stats.stop_reason;
    if (final_text.empty() && stop_reason == "cancelled") final_text = n.text;
    if (final_text.compare(0, stored_text_.size(), stored_text_) != 0) final_text = n.text;
    if (store_ && !n.row.is_null() && final_text.size() > stored_text_.size())
        store_->append_text(n.row, final_text.substr(stored_text_.size()));
    n.text = final_text;
    const bool cancelled = stop_reason == "cancelled";
    n.status = cancelled ? MessageStatus::Cancelled : MessageStatus::Complete;
    n.generation->stats = stats.store_stats;
    if (store_ && !n.row.is_null()) store_->finish_message(n.row, n.generation->stats, n.status);
    generating_ = false;
    reply_node_ = -1;
    progress_->hide();
    update_actions();
    rebuild_chat();
    emit replyFinished(QString::fromStdString(stop_reason));
}

void MainWindow::on_failed(quint64 id, const QString& message) {
    if (id != current_request_ || reply_node_ < 0) return;
    ChatNode& n = tree_.node(reply_node_);
    n.status = MessageStatus::Failed;
    n.generation->stats.stop_reason = "failed";
    if (store_ && !n.row.is_null()) store_->finish_message(n.row, n.generation->stats, n.status);
    generating_ = false;
    reply_node_ = -1;
    progress_->hide();
    statusBar()->showMessage(tr("The reply failed: %1").arg(message));
    update_actions();
    rebuild_chat();
    emit replyFinished("failed");
}

void MainWindow::stopGeneration() {
    if (edit_node_ >= 0 && !generating_) {
        edit_node_ = -1;
        edit_label_->hide();
        composer_->clear();
        return;
    }
    if (generating_) worker_->request_stop();
}

void MainWindow::regenerate(int node) {
    if (generating_ || !model_ready_) return;
    if (node < 0) {
        for (int n : tree_.path())
            if (tree_.node(n).role == Role::Assistant) node = n;
    }
    if (node < 0 || tree_.node(node).parent < 0) return;
    start_reply(tree_.node(node).parent);
}

void MainWindow::switchBranch(int node, int delta) {
    if (generating_) return;
    const auto sibs = tree_.siblings(node);
    const auto it = std::find(sibs.begin(), sibs.end(), node);
    const int i = int(it - sibs.begin()) + delta;
    if (i < 0 || i >= int(sibs.size())) return;
    tree_.switch_to(sibs[std::size_t(i)]);
    if (store_ && !session_row_.is_null())
        store_->set_head(session_row_, tree_.node(tree_.head()).row);
    rebuild_chat();
}

void MainWindow::beginEdit(int node) {
    if (generating_) return;
    edit_node_ = node;
    composer_->setPlainText(to_qstring(tree_.node(node).text));
    edit_label_->show();
    composer_->setFocus();
}

void MainWindow::rebuild_chat() {
    QVector<widgets::ChatMessageItem> items;
    for (int n : tree_.path()) {
        const ChatNode& c = tree_.node(n);
        widgets::ChatMessageItem it;
        it.node = n;
        it.role = role_name(c.role);
        it.text = to_qstring(c.text);
        it.streaming = n == reply_node_;
        if (c.generation && !it.streaming) {
            it.stats = stats_line(*c.generation);
            if (c.status == MessageStatus::Interrupted) it.stats += tr(" · interrupted");
        }
        const auto sibs = tree_.siblings(n);
        it.branch_count = int(sibs.size());
        it.branch_index = int(std::find(sibs.begin(), sibs.end(), n) - sibs.begin());
        items.push_back(it);
    }
    chat_view_->setMessages(items);
}

}  // namespace statescope::studio
