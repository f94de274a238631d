#include "app/studio/inspector_controller.h"

#include <QDockWidget>
#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QStatusBar>
#include <QTextBrowser>
#include <QToolButton>
#include <algorithm>

#include "app/studio/engine_worker.h"
#include "app/studio/main_window.h"
#include "widgets/chat_view.h"
#include "widgets/inspector/attention_map.h"
#include "widgets/inspector/decay_heatmap.h"
#include "widgets/inspector/delta_strip.h"
#include "widgets/inspector/logit_lens_table.h"
#include "widgets/inspector/lyapunov_plot.h"
#include "widgets/inspector/receptive_field_view.h"
#include "widgets/inspector/retention_plot.h"
#include "widgets/inspector/state_norm_plot.h"
#include "widgets/inspector/token_link.h"

namespace statescope::studio {

InspectorController::InspectorController(MainWindow* window, EngineWorker* worker,
                                         widgets::ChatView* chat)
    : QObject(window),
      window_(window),
      worker_(worker),
      chat_(chat),
      link_(new widgets::TokenLink(this)) {
    strip_ = new widgets::DeltaStrip;
    heatmap_ = new widgets::DecayHeatmap;
    retention_ = new widgets::RetentionPlot;
    receptive_ = new widgets::ReceptiveFieldView;
    lyapunov_ = new widgets::LyapunovPlot;
    states_ = new widgets::StateNormPlot;
    attention_ = new widgets::AttentionMap;
    lens_ = new widgets::LogitLensTable;
    panels_ = {strip_, heatmap_, retention_, receptive_, lyapunov_, states_, attention_, lens_};
    const QStringList names = {tr("Δ strip"),          tr("Decay"),     tr("Retention"),
                               tr("Receptive fields"), tr("Lyapunov"),  tr("State norms"),
                               tr("Attention"),        tr("Logit lens")};
    const QStringList ids = {"deltaDock",    "decayDock",      "retentionDock", "receptiveDock",
                             "lyapunovDock", "stateNormsDock", "attentionDock", "lensDock"};
    for (int i = 0; i < panels_.size(); ++i) {
        auto* dock = new QDockWidget(names[i], window);
        dock->setObjectName(ids[i]);
        dock->setWidget(panels_[i]);
        panels_[i]->setTokenLink(link_);
        panels_[i]->setData(data_);
        window->addDockWidget(i == 0 ? Qt::BottomDockWidgetArea : Qt::RightDockWidgetArea, dock);
        if (i > 1) window->tabifyDockWidget(docks_[1], dock);
        // a tab brought to the front draws the analysis it was handed while behind
        connect(dock, &QDockWidget::visibilityChanged, this, [this, i](bool on) {
            on_screen_[i] = on;
            if (on && panels_[i]->pending()) panels_[i]->applyPending();
        });
        on_screen_ << false;
        dock->hide();
        docks_ << dock;
    }

    window->setTabPosition(Qt::RightDockWidgetArea, QTabWidget::North);

    // progress and cancel in the status bar
    auto* box = new QWidget;
    auto* h = new QHBoxLayout(box);
    h->setContentsMargins(0, 0, 0, 0);
    status_ = new QLabel(box);
    progress_ = new QProgressBar(box);
    progress_->setMaximumWidth(160);
    progress_->setFormat(tr("analysing %p%"));
    cancel_ = new QToolButton(box);
    cancel_->setText(tr("Cancel"));
    cancel_->setAccessibleName(tr("Cancel the analysis"));
    auto* again = new QToolButton(box);
    again->setText(tr("Analyse"));
    again->setObjectName("analyseButton");
    again->setToolTip(tr("Analyse the conversation on screen again"));
    h->addWidget(status_);
    h->addWidget(progress_);
    h->addWidget(cancel_);
    h->addWidget(again);
    connect(again, &QToolButton::clicked, this, [this] { analyseNow(); });
    progress_->hide();
    cancel_->hide();
    window->statusBar()->addPermanentWidget(box);
    connect(cancel_, &QToolButton::clicked, this, [this] { worker_->request_analysis_stop(); });

    connect(this, &InspectorController::requestAnalyse, worker_, &EngineWorker::analyse,
            Qt::QueuedConnection);
    connect(worker_, &EngineWorker::analysisProgress, this,
            [this](quint64 id, qint64 done, qint64 total) {
                if (id != pending_) return;
                progress_->setRange(0, int(total));
                progress_->setValue(int(done));
            });
    connect(worker_, &EngineWorker::analysisReady, this, &InspectorController::on_ready);
    connect(worker_, &EngineWorker::analysisFailed, this, [this](quint64 id, const QString& m) {
        if (id != pending_) return;
        pending_ = 0;
        progress_->hide();
        cancel_->hide();
        status_->setText(tr("Inspector: %1").arg(m));
        emit analysisFailed(m);
    });
    // A chat message first: a running analysis stops at its next stage. Direct connection: this
    // runs on the UI thread as the request is emitted, before the worker picks it up.
    connect(window_, &MainWindow::requestGenerate, this, [this] {
        if (pending_) worker_->request_analysis_stop();
    });
    connect(window_, &MainWindow::replyFinished, this, [this] {
        if (active_) analyseNow();
    });

    connect(chat_, &widgets::ChatView::textClicked, this, [this](int bubble, int pos) {
        const int t = tokenAt(bubble, pos);
        if (t >= 0) link_->setCurrent(t);
    });
    connect(link_, &widgets::TokenLink::currentChanged, this, [this] { highlight(); });
    connect(link_, &widgets::TokenLink::hoveredChanged, this, [this] { highlight(); });
    connect(strip_, &widgets::DeltaStrip::longMambaToggled, this,
            [this](bool on) { setLongMamba(on); });
    connect(receptive_, &widgets::ReceptiveFieldView::longMambaToggled, this,
            [this](bool on) { setLongMamba(on); });
}

QVector<ChatTurn> InspectorController::turns() const {
    QVector<ChatTurn> out;
    for (int i = 0; i < chat_->count(); ++i) {
        const auto& it = chat_->bubble(i)->item();
        if (!it.streaming) out.push_back({it.role, it.text});
    }
    return out;
}

void InspectorController::setActive(bool on) {
    if (on == active_) return;
    active_ = on;
    // The inspector takes the right dock area from the sampling dock while it is shown.
    if (auto* sampling = window_->findChild<QDockWidget*>("samplingDock")) {
        if (on) sampling_visible_ = sampling->isVisible();
        sampling->setVisible(on ? false : sampling_visible_);
    }
    for (auto* d : docks_) d->setVisible(on);
    if (on) {
        docks_[1]->raise();
        window_->resizeDocks({docks_[1]}, {int(window_->width() * 0.5)}, Qt::Horizontal);
        window_->resizeDocks({docks_[0]}, {int(window_->height() * 0.34)}, Qt::Vertical);
        const auto t = turns();
        bool same = t.size() == analysed_.size();
        for (int i = 0; same && i < t.size(); ++i)
            same = t[i].role == analysed_[i].role && t[i].text == analysed_[i].text;
        if (!same && !pending_) analyseNow();
    }
}

void InspectorController::analyseNow() {
    const auto t = turns();
    if (t.isEmpty() || !window_->hasModel()) {
        status_->setText(tr("Inspector: send a message to analyse it"));
        return;
    }
    if (pending_) worker_->request_analysis_stop();
    AnalysisRequest r;
    r.id = pending_ = next_id_++;
    r.turns = t;
    analysed_ = t;
    progress_->setRange(0, 0);
    progress_->show();
    cancel_->show();
    status_->setText(tr("Inspector:"));
    emit requestAnalyse(r);
}

void InspectorController::on_ready(const widgets::InspectorData& d) {
    if (d.id != pending_) return;
    pending_ = 0;
    progress_->hide();
    cancel_->hide();
    status_->setText(tr("Inspector: %n token(s) analysed", "", int(d.core->tokens)));
    data_ = d;
    link_->setCurrent(-1);
    // only the views on screen draw now (the Δ strip and the front tab)
    for (int i = 0; i < panels_.size(); ++i) panels_[i]->setData(data_, on_screen_[i] ? 1 : 0);
    map_bubbles();
    highlight();
    emit analysisReady();
}

void InspectorController::map_bubbles() {
    bubble_base_.clear();
    int from = 0;
    for (int i = 0; i < chat_->count(); ++i) {
        const QString text = chat_->bubble(i)->body()->toPlainText();
        const int at = text.isEmpty() ? -1 : data_.text.indexOf(text, from);
        bubble_base_ << at;
        if (at >= 0) from = at + int(text.size());
    }
}

// The chat may have been rebuilt since the analysis (another branch or session): a bubble maps to
// the analysed text only while its text is still where the analysis found it.
bool InspectorController::bubble_matches(int i) const {
    if (i < 0 || i >= bubble_base_.size() || i >= chat_->count() || bubble_base_[i] < 0)
        return false;
    const QString text = chat_->bubble(i)->body()->toPlainText();
    return data_.text.mid(bubble_base_[i], text.size()) == text;
}

int InspectorController::tokenAt(int bubble, int pos) const {
    if (data_.empty() || bubble < 0 || bubble >= bubble_base_.size() || bubble >= chat_->count() ||
        bubble_base_[bubble] < 0)
        return -1;
    // the chat may have been rebuilt since (another branch or session): its text must still be
    // where the analysis found it
    const QString text = chat_->bubble(bubble)->body()->toPlainText();
    if (data_.text.mid(bubble_base_[bubble], text.size()) != text) return -1;
    const int c = bubble_base_[bubble] + pos;
    const auto it = std::upper_bound(data_.offsets.begin(), data_.offsets.end(), c);
    return std::max(0, int(it - data_.offsets.begin()) - 1);
}

void InspectorController::setLongMamba(bool on) {
    if (on == longmamba_) return;  // the two toggles report back
    longmamba_ = on;
    strip_->setLongMamba(on);
    receptive_->setLongMamba(on);
    highlight();
}

void InspectorController::showPanel(widgets::PlotPanel* panel) {
    const int i = int(panels_.indexOf(panel));
    if (i >= 0) {
        docks_[i]->show();
        docks_[i]->raise();
    }
}

QStringList InspectorController::panelNames() {
    return {"delta",    "decay",       "retention", "receptive",
            "lyapunov", "state-norms", "attention", "lens"};
}

bool InspectorController::showPanel(const QString& name) {
    const int i = int(panelNames().indexOf(name));
    if (i < 0) return false;
    showPanel(panels_[i]);
    return true;
}

void InspectorController::highlight() {
    if (data_.empty()) return;
    // token -> selection in the bubble that holds it
    QVector<QList<QTextEdit::ExtraSelection>> sel(chat_->count());
    auto add = [&](int t, const QColor& colour) {
        if (t < 0 || t >= data_.offsets.size()) return;
        const int a = data_.offsets[t], b = a + int(data_.tokens[t].size());
        for (int i = 0; i < bubble_base_.size(); ++i) {
            if (!bubble_matches(i)) continue;
            auto* body = chat_->bubble(i)->body();
            const int len = int(body->document()->characterCount()) - 1;
            const int from = std::max(0, a - bubble_base_[i]),
                      to = std::min(len, b - bubble_base_[i]);
            if (from >= to) continue;
            QTextEdit::ExtraSelection s;
            s.cursor = QTextCursor(body->document());
            s.cursor.setPosition(from);
            s.cursor.setPosition(to, QTextCursor::KeepAnchor);
            s.format.setBackground(colour);
            sel[i] << s;
        }
    };
    if (longmamba_ && !data_.core->layers.empty() &&
        !data_.core->layers.front().kept_share.empty()) {
        // green, stronger the more of the first Mamba layer's global units keep the token
        const auto& share = data_.core->layers.front().kept_share;
        for (int t = 0; t < int(share.size()); ++t)
            if (share[std::size_t(t)] > 0)
                add(t, QColor(60, 190, 60, 50 + int(150.0f * share[std::size_t(t)])));
    }
    add(link_->hovered(), QColor(255, 210, 0, 150));
    add(link_->current(), QColor(0, 160, 255, 130));
    for (int i = 0; i < chat_->count(); ++i) chat_->bubble(i)->body()->setExtraSelections(sel[i]);
}

}  // namespace statescope::studio
