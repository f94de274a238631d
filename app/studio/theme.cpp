#include "app/studio/theme.h"

#include <QApplication>
#include <QPalette>
#include <QStyle>
#include <QStyleFactory>

namespace statescope::studio {

void apply_theme(bool dark) {
    QApplication::setStyle(QStyleFactory::create("Fusion"));
    QPalette p;
    if (dark) {
        const QColor window(0x23, 0x25, 0x2b), base(0x1b, 0x1d, 0x22), text(0xe6, 0xe6, 0xe6);
        p.setColor(QPalette::Window, window);
        p.setColor(QPalette::WindowText, text);
        p.setColor(QPalette::Base, base);
        p.setColor(QPalette::AlternateBase, QColor(0x2c, 0x2f, 0x36));
        p.setColor(QPalette::Text, text);
        p.setColor(QPalette::Button, window);
        p.setColor(QPalette::ButtonText, text);
        p.setColor(QPalette::ToolTipBase, base);
        p.setColor(QPalette::ToolTipText, text);
        p.setColor(QPalette::PlaceholderText, QColor(0x9a, 0x9d, 0xa6));
        p.setColor(QPalette::Highlight, QColor(0x3b, 0x82, 0xc4));
        p.setColor(QPalette::HighlightedText, Qt::white);
        p.setColor(QPalette::Link, QColor(0x6c, 0xb4, 0xff));
        p.setColor(QPalette::Disabled, QPalette::Text, QColor(0x70, 0x72, 0x78));
        p.setColor(QPalette::Disabled, QPalette::ButtonText, QColor(0x70, 0x72, 0x78));
    } else {
        p = QApplication::style()->standardPalette();
        p.setColor(QPalette::AlternateBase, QColor(0xee, 0xf2, 0xf7));
    }
    QApplication::setPalette(p);
    // Bubbles: the user's tinted, the assistant's on the base colour.
    qApp->setStyleSheet(
        "QFrame#userBubble { background: palette(alternate-base); border: 1px solid palette(mid); "
        "border-radius: 8px; }"
        "QFrame#assistantBubble { background: palette(base); border: 1px solid palette(mid); "
        "border-radius: 8px; }"
        "QFrame#systemBubble { background: transparent; border: 1px dashed palette(mid); "
        "border-radius: 8px; }");
}

}  // namespace statescope::studio
