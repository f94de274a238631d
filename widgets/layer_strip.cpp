#include "widgets/layer_strip.h"

#include <QPainter>

namespace statescope::widgets {

LayerStrip::LayerStrip(QWidget* parent) : QWidget(parent) {
    setMinimumHeight(18);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
}

void LayerStrip::setPattern(const QString& pattern) {
    pattern_ = pattern;
    setAccessibleDescription(tr("Layer pattern: %1").arg(pattern));
    setToolTip(
        tr("%n layer part(s) in Nemotron-H's letters: M Mamba, * attention, - MLP, E MoE, "
           "H Zamba2 shared block",
           "", int(pattern.size())));
    update();
}

QSize LayerStrip::sizeHint() const {
    return {240, 18};
}

QColor LayerStrip::colorFor(QChar kind) {
    switch (kind.unicode()) {
        case 'M':
            return QColor(0x3b, 0x82, 0xc4);
        case '*':
            return QColor(0xe0, 0x8a, 0x1e);
        case '-':
            return QColor(0x2f, 0xa1, 0x6b);
        case 'E':
            return QColor(0x9b, 0x59, 0xb6);
        case 'H':
            return QColor(0xc0, 0x39, 0x2b);
        default:
            return QColor(0x8a, 0x8a, 0x8a);
    }
}

void LayerStrip::paintEvent(QPaintEvent*) {
    if (pattern_.isEmpty()) return;
    QPainter p(this);
    const int n = int(pattern_.size());
    const double w = double(width()) / n;
    for (int i = 0; i < n; ++i) {
        const QRectF cell(i * w, 0, std::max(1.0, w - (w > 4 ? 1.0 : 0.0)), height());
        p.fillRect(cell, colorFor(pattern_[i]));
        if (w >= 12) {
            p.setPen(Qt::white);
            p.drawText(cell, Qt::AlignCenter, QString(pattern_[i]));
        }
    }
}

}  // namespace statescope::widgets
