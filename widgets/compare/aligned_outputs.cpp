#include "widgets/compare/aligned_outputs.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QScrollBar>
#include <QVBoxLayout>

#include "widgets/compare/series_plot.h"

namespace statescope::widgets {

AlignedOutputs::AlignedOutputs(QWidget* parent) : QWidget(parent) {
    row_ = new QHBoxLayout(this);
    row_->setContentsMargins(0, 0, 0, 0);
}

void AlignedOutputs::setColumns(const QVector<OutputColumn>& columns) {
    columns_ = columns;
    while (QLayoutItem* item = row_->takeAt(0)) {
        if (item->widget()) item->widget()->deleteLater();
        delete item;
    }
    editors_.clear();
    for (int i = 0; i < columns.size(); ++i) {
        const OutputColumn& c = columns[i];
        auto* box = new QWidget(this);
        auto* v = new QVBoxLayout(box);
        v->setContentsMargins(0, 0, 0, 0);
        v->setSpacing(2);
        auto* head = new QLabel(
            QStringLiteral("<span style=\"color:%1\">■</span> <b>%2</b><br>"
                           "<small>%3</small>")
                .arg(series_color(i).name(), c.title.toHtmlEscaped(), c.subtitle.toHtmlEscaped()),
            box);
        head->setWordWrap(true);
        v->addWidget(head);
        auto* text = new QPlainTextEdit(box);
        text->setReadOnly(true);
        text->setPlainText(c.text);
        text->setAccessibleName(tr("Reply of %1").arg(c.title));
        if (c.failed) text->setStyleSheet(QStringLiteral("QPlainTextEdit { color: #b00020; }"));
        v->addWidget(text, 1);
        row_->addWidget(box, 1);
        editors_ << text;
        // Scrolling one column scrolls the others to the same fraction of their text.
        connect(text->verticalScrollBar(), &QScrollBar::valueChanged, this, [this, text](int) {
            if (syncing_) return;
            syncing_ = true;
            const QScrollBar* src = text->verticalScrollBar();
            const double f = src->maximum() > 0 ? double(src->value()) / src->maximum() : 0.0;
            for (QPlainTextEdit* e : editors_)
                if (e != text)
                    e->verticalScrollBar()->setValue(int(f * e->verticalScrollBar()->maximum()));
            syncing_ = false;
        });
    }
}

}  // namespace statescope::widgets
