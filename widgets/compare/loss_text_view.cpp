#include "widgets/compare/loss_text_view.h"

#include <QBuffer>
#include <QLabel>
#include <QLinearGradient>
#include <QPainter>
#include <QTextBrowser>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

namespace statescope::widgets {

LossTextView::LossTextView(QWidget* parent) : QWidget(parent) {
    auto* v = new QVBoxLayout(this);
    v->setContentsMargins(0, 0, 0, 0);
    legend_ = new QLabel(this);
    legend_->setAccessibleName(tr("Loss colour scale"));
    v->addWidget(legend_);
    text_ = new QTextBrowser(this);
    text_->setObjectName("lossText");
    text_->setAccessibleName(tr("Per-token loss on the text"));
    text_->setOpenLinks(false);
    v->addWidget(text_, 1);
}

QColor LossTextView::colorFor(double nll, double max) {
    if (!std::isfinite(nll)) return QColor(0, 0, 0, 0);
    const double t = std::clamp(max > 0 ? nll / max : 0.0, 0.0, 1.0);
    // white (0) -> yellow (0.5) -> red (1)
    if (t < 0.5) {
        const double u = t / 0.5;
        return QColor(255, 255, int(std::lround(255 - u * 155)));
    }
    const double u = (t - 0.5) / 0.5;
    return QColor(255, int(std::lround(255 - u * 175)), int(std::lround(100 - u * 40)));
}

void LossTextView::setRows(const QVector<LossRow>& rows) {
    rows_ = rows;
    std::vector<double> all;
    for (const auto& r : rows)
        for (double x : r.nll)
            if (std::isfinite(x)) all.push_back(x);
    scale_max_ = 1;
    if (!all.empty()) {
        const auto k = std::size_t(double(all.size() - 1) * 0.95);
        std::nth_element(all.begin(), all.begin() + std::ptrdiff_t(k), all.end());
        scale_max_ = std::max(all[k], 1e-6);
    }

    // Legend: a gradient bar with its ends labelled.
    QPixmap bar(160, 12);
    {
        QPainter p(&bar);
        for (int x = 0; x < bar.width(); ++x) {
            p.setPen(colorFor(scale_max_ * x / (bar.width() - 1), scale_max_));
            p.drawLine(x, 0, x, bar.height());
        }
        p.setPen(Qt::gray);
        p.drawRect(0, 0, bar.width() - 1, bar.height() - 1);
    }
    QByteArray png;
    {
        QBuffer buf(&png);
        buf.open(QIODevice::WriteOnly);
        bar.save(&buf, "PNG");
    }
    legend_->setText(tr("Loss per token (−log p, nats): 0 <img src=\"data:image/png;base64,%1\"> "
                        "%2 and above.")
                         .arg(QString::fromLatin1(png.toBase64()))
                         .arg(scale_max_, 0, 'f', 1));

    QString html;
    for (const auto& r : rows) {
        double sum = 0;
        int n = 0;
        for (double x : r.nll)
            if (std::isfinite(x)) {
                sum += x;
                ++n;
            }
        const double mean = n ? sum / n : 0.0;
        html += QStringLiteral("<p><b>%1</b> — %2 tokens, mean %3 nats (perplexity %4)</p>")
                    .arg(r.name.toHtmlEscaped())
                    .arg(r.pieces.size())
                    .arg(mean, 0, 'f', 3)
                    .arg(std::exp(mean), 0, 'f', 1);
        html += QStringLiteral("<p style=\"white-space: pre-wrap; font-family: monospace;\">");
        for (int i = 0; i < r.pieces.size(); ++i) {
            const double x = i < r.nll.size() ? r.nll[i] : std::nan("");
            const QColor c = colorFor(x, scale_max_);
            QString piece = r.pieces[i].toHtmlEscaped();
            piece.replace('\n', QStringLiteral("↵<br>"));
            if (piece.isEmpty()) continue;  // a continuation byte: its character is on the lead
            const QString tip =
                std::isfinite(x) ? tr("%1 nats").arg(x, 0, 'f', 3) : tr("first token: no loss");
            html += QStringLiteral(
                        "<span title=\"%3\" style=\"color: #111; background-color: %1;\">%2</span>")
                        .arg(c.alpha() ? c.name() : QStringLiteral("transparent"), piece, tip);
        }
        html += QStringLiteral("</p><hr>");
    }
    text_->setHtml(html);
}

}  // namespace statescope::widgets
